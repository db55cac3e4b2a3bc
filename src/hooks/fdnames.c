/*
 * fdnames.c - the directory and name of an open file, as they follow
 * renames (files.h).
 *
 * Renamed open files.  The kernel reports an event through an fd under the
 * name its dentry has now: a file opened as a/f, then renamed to b/g, is
 * b's child g.  A record keeps the directory and name it was opened by;
 * they are asked again through the fd (/proc/self/fd, as "Directories
 * asked late" in files.c) when the record is next used after a rename that
 * any watch saw, wherever it was made: every such rename hands out a move
 * cookie from the domain's counter (notify.c), and the record keeps the
 * counter's value of when it last asked (names_stamp).  A rename that no
 * watch saw (neither directory nor the file watched) needs no new answer
 * until a directory that was not watched is: the first watch on a
 * directory bumps the counter too (notify_dir_newly_watched_locked()), and
 * every record asks again once.  The quiet checks cost two loads more,
 * and nothing while no directory is watched.
 *
 * An fd whose name was unlinked keeps the name it had (the kernel's dentry
 * keeps it, and its parent still gets the events).
 *
 * Concurrency: the record's directory and name change while other threads
 * (and signal handlers) read them: names_seq is a sequence counter, odd
 * while a writer writes; readers copy and retry a few times, and give up
 * the name (the event reaches the file's own watches only) rather than
 * spin on a writer that a signal handler interrupted.  Words are copied
 * with relaxed atomics, so the copy races with nothing.
 */
#include <string.h>

#include "hooks/files.h"

typedef uint64_t __attribute__((may_alias)) word_t;
#define DIR_WORDS (sizeof(struct inode_info) / sizeof(word_t))
#define NAME_WORDS ((NAME_MAX + 1) / sizeof(word_t))
_Static_assert(sizeof(struct inode_info) % sizeof(word_t) == 0, "inode_info in words");
_Static_assert((NAME_MAX + 1) % sizeof(word_t) == 0, "name in words");
_Static_assert(offsetof(struct ofd, dir) % sizeof(word_t) == 0, "dir aligned");
_Static_assert(offsetof(struct ofd, name) % sizeof(word_t) == 0, "name aligned");

static void copy_words(word_t *to, const word_t *from, size_t n, bool store)
{
	for (size_t i = 0; i < n; i++) {
		if (store)
			__atomic_store_n(&to[i], from[i], __ATOMIC_RELAXED);
		else
			to[i] = __atomic_load_n(&from[i], __ATOMIC_RELAXED);
	}
}

uint32_t hook_rename_epoch(void)
{
	struct domain *d = shim_domain;

	return d ? __atomic_load_n(&d->reg->cookie, __ATOMIC_ACQUIRE) : 0;
}

bool hook_record_names_set(struct ofd *o, const struct inode_info *dir, const char *name,
			   uint32_t stamp)
{
	uint32_t seq = __atomic_load_n(&o->names_seq, __ATOMIC_RELAXED);
	char padded[NAME_MAX + 1] __attribute__((aligned(8)));
	size_t len = strnlen(name, NAME_MAX);

	do {
		if (seq & 1)
			return false;	/* another writer: its answer is as new */
	} while (!__atomic_compare_exchange_n(&o->names_seq, &seq, seq + 1, true,
					      __ATOMIC_ACQUIRE, __ATOMIC_RELAXED));
	__atomic_thread_fence(__ATOMIC_RELEASE);
	memcpy(padded, name, len);
	memset(padded + len, 0, sizeof padded - len);
	copy_words((word_t *)&o->dir, (const word_t *)dir, DIR_WORDS, true);
	copy_words((word_t *)o->name, (const word_t *)padded, NAME_WORDS, true);
	__atomic_store_n(&o->names_stamp, stamp, __ATOMIC_RELAXED);
	__atomic_store_n(&o->names_seq, seq + 2, __ATOMIC_RELEASE);
	return true;
}

bool hook_record_names_get(const struct ofd *o, struct inode_info *dir, char *name)
{
	for (int tries = 0; tries < 16; tries++) {
		uint32_t seq = __atomic_load_n(&o->names_seq, __ATOMIC_ACQUIRE);

		if (seq & 1)
			continue;
		copy_words((word_t *)dir, (const word_t *)&o->dir, DIR_WORDS, false);
		copy_words((word_t *)name, (const word_t *)o->name, NAME_WORDS, false);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&o->names_seq, __ATOMIC_RELAXED) == seq) {
			name[NAME_MAX] = 0;
			return true;
		}
	}
	return false;
}

void hook_record_follow(struct ofd *o, int fd)
{
	uint32_t now = hook_rename_epoch();
	struct hook_obj asked;

	if (fd < 0 || __atomic_load_n(&o->names_stamp, __ATOMIC_RELAXED) == now)
		return;
	if (obj_from_fd(fd, &asked) == 0 && asked.has_dir &&
	    !(asked.inode.nlink > 0 && ident_fd_unlinked(fd, &asked.inode))) {
		hook_record_names_set(o, &asked.dir, asked.name, now);
		return;
	}
	/* unlinked, or not to be found: the name stays; asked again after
	 * the next rename */
	__atomic_store_n(&o->names_stamp, now, __ATOMIC_RELAXED);
}
