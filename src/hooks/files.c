/*
 * files.c - the hooks on file descriptors: open, close, dup, and the events
 * of reading, writing and changing attributes through an fd.
 *
 * Each open file gets a record (fd/ofd.h) holding what its events need:
 * its inode, its directory and name, whether it was opened for writing.
 * An fd the table does not know (opened before any watch existed, or
 * inherited) is adopted on first use through /proc/self/fd; one that is
 * not a file (a pipe, a socket) is marked so and never looked at again.
 *
 * Directories asked late.  A file opened while no directory is watched
 * anywhere in the domain (domain_dirs_watched()) gets a record without
 * its directory, marked OFD_DIR_LATE: no event could reach a directory
 * then, and the open saves two of its three statx calls.  Once a
 * directory is watched, the first event through the record, and its last
 * close, ask for the directory through the fd (/proc/self/fd: where the
 * file is now, as the kernel's dentry would say) and keep it.  One thread
 * sets it (OFD_DIR_ASKING); another asking at the same time uses its own
 * answer.  A record shared with other processes keeps the mark in the
 * shared table: each process asks through its own fd; the close events
 * that the table gives for a holder that cannot (a file closed by exec's
 * close-on-exec, a holder that died) have no directory.
 *
 * IN_DELETE_SELF of an unlinked file waits for its last close (names.c marks
 * the inode).  At the last close of a record whose inode is so marked, a
 * write lease on the fd tells whether any other process still has the file
 * open: the kernel grants it only to the sole opener.  A removed directory
 * waits the same way; no lease is granted on one, so the fds are looked at
 * instead (dirs.c, hook_dir_last_holder()).
 */
#include "hooks/files.h"


#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/close_range.h>

#include "hooks/families.h"
#include "instance/instance.h"
#include "notify/notify.h"
#include "util/real.h"

static uint32_t isdir_close_mask(const struct ofd *o)
{
	return (o->flags & OFD_WRITE) ? IN_CLOSE_WRITE : IN_CLOSE_NOWRITE;
}

/* A fresh record for obj, not yet in the table. */
static struct ofd *record_make(const struct hook_obj *obj, int open_flags)
{
	struct ofd *o = ofd_new();

	if (!o)
		return NULL;
	o->inode = obj->inode;
	o->names_stamp = hook_rename_epoch();
	if (obj->dir_late) {
		o->flags |= OFD_DIR_LATE;
	} else if (obj->has_dir) {
		o->dir = obj->dir;
		_Static_assert(sizeof o->name == sizeof obj->name, "name sizes");
		memcpy(o->name, obj->name, sizeof o->name);
		o->flags |= OFD_DIR_KNOWN;
	}
	if ((open_flags & O_ACCMODE) != O_RDONLY)
		o->flags |= OFD_WRITE;
	if (S_ISDIR(obj->inode.mode) && notify_dir_opened(&obj->inode.id))
		o->flags |= OFD_OPENS_COUNTED;
	return o;
}

struct ofd *hook_record_new(int fd, const struct hook_obj *obj, int open_flags)
{
	struct ofd *o = record_make(obj, open_flags);

	if (o)
		fdtable_set_file(fd, o);
	return o;
}

/* The record of fd, adopting an fd nobody knew.  Threads that adopt one
 * fd at once agree on one record (fdtable_adopt(): the first to enter its
 * record wins, the others free theirs); the word of a known fd is only
 * read, never taken out and put back. */
struct ofd *hook_fd_record(int fd)
{
	uint64_t word = fdtable_word(fd);
	struct hook_obj obj;
	struct ofd *o;
	int fl;

	if (fdword_kind(word) != FD_NONE)
		return fdword_file(word);
	if (obj_from_fd(fd, &obj) < 0)
		return NULL;
	if (S_ISFIFO(obj.inode.mode) || S_ISSOCK(obj.inode.mode) || !obj.has_dir) {
		fdtable_adopt(fd, NULL);
		return NULL;
	}
	fl = real_fcntl(fd, F_GETFL, 0);
	if (fl < 0 || (fl & O_PATH))
		return NULL;
	o = record_make(&obj, fl);
	if (!o)
		return NULL;
	o->flags |= OFD_ADOPTED;
	word = fdtable_adopt(fd, o);
	if (fdword_file(word) != o) {
		/* another thread adopted it first: nobody saw this one (its
		 * directory open, if counted, is uncounted) */
		hook_dir_uncount(o);
		if (ofd_put(o))
			ofd_free(o);
		return fdword_file(word);
	}
	return o;
}

/* Ask for the directory of a late record o through fd, when a directory
 * is watched now; *asked holds the answer.  Returns o's flags after. */
static uint32_t ask_dir(struct ofd *o, int fd, struct hook_obj *asked)
{
	uint32_t fl = __atomic_load_n(&o->flags, __ATOMIC_ACQUIRE), stamp;

	asked->has_dir = false;
	if (!(fl & OFD_DIR_LATE) || fd < 0 || !domain_dirs_watched())
		return fl;
	stamp = hook_rename_epoch();
	if (obj_from_fd(fd, asked) < 0)
		asked->has_dir = false;
	fl = __atomic_fetch_or(&o->flags, OFD_DIR_ASKING, __ATOMIC_ACQUIRE);
	if (fl & OFD_DIR_ASKING)
		return fl;	/* another thread sets it; this one uses its answer */
	if (!(fl & OFD_DIR_LATE))	/* another thread has set it */
		return __atomic_and_fetch(&o->flags, ~(uint32_t)OFD_DIR_ASKING, __ATOMIC_RELEASE);
	if (asked->has_dir && hook_record_names_set(o, &asked->dir, asked->name, stamp))
		__atomic_or_fetch(&o->flags, OFD_DIR_KNOWN, __ATOMIC_RELEASE);
	/* without an answer, the directory stays unknown, as an adopted
	 * fd's whose path cannot be found */
	return __atomic_and_fetch(&o->flags, ~(uint32_t)(OFD_DIR_LATE | OFD_DIR_ASKING),
				  __ATOMIC_RELEASE);
}

void hook_record_ask_dir(struct ofd *o, int fd)
{
	struct hook_obj asked;

	ask_dir(o, fd, &asked);
}

/* excl_fd: the fd that tells IN_EXCL_UNLINK whether the file is unlinked,
 * or -1 with unlinked saying it. */
static void record_event(struct ofd *o, int fd, int excl_fd, bool unlinked, uint32_t mask)
{
	struct hook_obj asked;
	struct notify_obj t = {
		.inode = &o->inode,
		.fd = excl_fd,
		.unlinked = unlinked,
	};
	struct inode_info dir;
	char name[NAME_MAX + 1] __attribute__((aligned(8)));
	uint32_t fl;

	if (hook_record_quiet(o))	/* the IN_OPEN and close of most files */
		return;
	fl = ask_dir(o, fd, &asked);
	if (fl & OFD_DIR_KNOWN) {
		hook_record_follow(o, fd);	/* fdnames.c */
		if (hook_record_names_get(o, &dir, name)) {
			t.dir = &dir;
			t.name = name;
		}
	} else if (asked.has_dir) {
		t.dir = &asked.dir;
		t.name = asked.name;
	}
	notify_child(mask, &t);
}

void hook_record_event(struct ofd *o, int fd, uint32_t mask)
{
	record_event(o, fd, fd, false, mask);
}

void hook_record_event_closed(struct ofd *o, bool unlinked, uint32_t mask)
{
	record_event(o, -1, -1, unlinked, mask);
}

void hook_fd_event(int fd, uint32_t mask)
{
	struct ofd *o = hook_fd_record(fd);

	if (o)
		hook_record_event(o, fd, mask);
}

void hook_fd_change(int fd, uint32_t mask)
{
	struct ofd *o = hook_fd_record(fd);

	if (o)
		record_event(o, fd, -1, false, mask);
}

/* Before the real close of the last fd on a record: is this the last
 * opener of an inode whose deletion waits? */
static bool probe_last_opener(int fd, struct ofd *o)
{
	bool last;

	if (!notify_take_delete_pending(&o->inode.id))
		return false;
	if (real_fcntl(fd, F_SETLEASE, (long)F_WRLCK) == 0) {
		real_fcntl(fd, F_SETLEASE, (long)F_UNLCK);
		last = true;
	} else {
		/* EAGAIN: open elsewhere.  EACCES, EINVAL: we cannot tell;
		 * take this close as the last rather than never report. */
		last = errno != EAGAIN;
	}
	if (!last)
		notify_mark_delete_pending(&o->inode.id);
	return last;
}

void hook_closing(int fd, uint64_t word, struct close_facts *facts)
{
	struct ofd *o = fdword_file(word);
	struct inode_info now;
	struct hook_obj asked;
	uint32_t fl;
	bool self, excl;

	facts->last_opener = facts->unlinked = false;
	if (!o || __atomic_load_n(&o->refs, __ATOMIC_RELAXED) != 1)
		return;
	hook_dir_uncount(o);	/* dirs.c */
	if (hook_record_quiet(o))
		return;
	/* the close events come after the fd is gone */
	fl = ask_dir(o, fd, &asked);
	if (fl & OFD_DIR_KNOWN)
		hook_record_follow(o, fd);
	/* The facts matter only to a watch on the file (last_opener:
	 * IN_DELETE_SELF) or, when one has IN_EXCL_UNLINK, on its directory
	 * (unlinked).  A file closed in a watched directory, the common case,
	 * costs no system call here. */
	self = domain_maybe_watched(&o->inode.id);
	excl = domain_excl_unlink_seen();
	if (!self && !(excl && (fl & OFD_DIR_KNOWN) && domain_maybe_watched(&o->dir.id)))
		return;
	if (ident_fstat(fd, &now) < 0)
		return;
	facts->unlinked = excl ? ident_fd_unlinked(fd, &now) : now.nlink == 0;
	/* another process holding this open file keeps the inode alive */
	if (now.nlink == 0 && !(o->share.idx && share_others_hold(o)))
		facts->last_opener = S_ISDIR(now.mode) ? hook_dir_last_holder(fd, o)
						       : probe_last_opener(fd, o);
}

/* fd, on record o, was closed: drop its reference, and give the close
 * events with the last (share.c: in a release, not during a pass). */
static void release_record(struct ofd *o, int fd, const struct close_facts *facts)
{
	bool last = ofd_put(o);

	/* shared with other processes: the last close is the last live
	 * holder's (share.c) */
	if (o->share.idx && !share_close(o, fd, last) && last) {
		ofd_free(o);
		return;
	}
	if (!last)
		return;
	if (domain_watching()) {
		hook_record_event_closed(o, facts && facts->unlinked, isdir_close_mask(o));
		if (facts && facts->last_opener)
			notify_gone(&o->inode);
	}
	ofd_free(o);
}

void hook_closed(int fd, uint64_t word, const struct close_facts *facts)
{
	struct ofd *o;

	switch (fdword_kind(word)) {
	case FD_INSTANCE:
		frontend_closed(fd, fdword_instance(word));
		break;
	case FD_FILE:
		o = fdword_file(word);
		if (!o)
			break;
		share_release_begin();
		release_record(o, fd, facts);
		share_release_end();
		break;
	default:
		break;
	}
}

/* ---- open
 *
 * Opening with O_NOFOLLOW added.  open() and openat() (manual.c) ask the
 * kernel with O_NOFOLLOW when the caller did not (hook_open_flags()): a
 * last component that is not a symbolic link opens the same file either
 * way, and then the post hook knows that the entry is the file opened
 * without a statx of it (obj_from_open()).  One that is a link fails with
 * ELOOP (ENOTDIR with O_DIRECTORY) before anything is created or
 * truncated, and the call is made again as the caller made it
 * (hook_open_again()), whose result, failure or not, is the caller's.
 * Not for O_PATH (skipped), O_TMPFILE (its path is a directory),
 * O_CREAT|O_EXCL (never follows), a path ending in '/' (follows anyway),
 * or while the directory is asked late (no entry is asked then). */

int hook_open_flags(struct hook_ctx *c)
{
	const char *path = c->path;
	int flags = c->flags;

	c->nofollow = !c->dir_late && path && path[0] && path[strlen(path) - 1] != '/' &&
		      !(flags & O_NOFOLLOW) && (flags & O_TMPFILE) != O_TMPFILE &&
		      (flags & (O_CREAT | O_EXCL)) != (O_CREAT | O_EXCL);
	return c->nofollow ? flags | O_NOFOLLOW : flags;
}

bool hook_open_again(struct hook_ctx *c, int ret, int err)
{
	if (ret >= 0 || !c->nofollow ||
	    !(err == ELOOP || (err == ENOTDIR && (c->flags & O_DIRECTORY))))
		return false;
	c->nofollow = false;
	return true;
}

int hook_pre_open(struct hook_ctx *c, int dirfd, const char *path, int flags, mode_t mode)
{
	struct inode_info before;

	(void)mode;
	if (!domain_watching() || (flags & O_PATH))
		return HOOK_SKIP;
	c->dirfd = dirfd;
	c->path = path;
	c->flags = flags;
	c->existed = true;
	/* no directory watched: no IN_CREATE can be due, and the file's
	 * directory is not asked (above, "Directories asked late") */
	c->dir_late = !domain_dirs_watched();
	c->nofollow = false;	/* hook_open_flags() */
	/* O_CREAT|O_EXCL succeeds only by creating the file: no need to ask */
	if ((flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL))
		c->existed = false;
	else if ((flags & O_CREAT) && path && !c->dir_late)
		c->existed = ident_stat(dirfd, path, (flags & O_NOFOLLOW) ? AT_SYMLINK_NOFOLLOW : 0,
					&before) == 0;
	return HOOK_RUN;
}

void hook_post_open(struct hook_ctx *c, intptr_t ret)
{
	int fd = (int)ret;
	struct hook_obj obj;
	struct ofd *o, *dir;
	const struct inode_info *dir_inode;

	if (fd < 0)
		return;
	fdtable_clear(fd);
	/* the directory of a plain name, without a statx: a directory fd
	 * the table knows, or the working directory */
	if (c->dir_late || !c->path || strchr(c->path, '/')) {
		dir_inode = NULL;
	} else if (c->dirfd == AT_FDCWD) {
		dir_inode = obj_cwd();
	} else {
		dir = c->dirfd >= 0 ? fdtable_file(c->dirfd) : NULL;
		dir_inode = dir && S_ISDIR(dir->inode.mode) ? &dir->inode : NULL;
	}
	if (obj_from_open(c->dirfd, c->path, fd, c->nofollow ? c->flags | O_NOFOLLOW : c->flags,
			  dir_inode, c->dir_late, &obj) < 0)
		return;
	o = hook_record_new(fd, &obj, c->flags);
	if (!o)
		return;
	if (!c->existed && obj.has_dir)
		notify_entry(IN_CREATE, &obj.dir, obj.name, false, 0);
	hook_record_event(o, fd, IN_OPEN);
	if ((c->flags & O_TRUNC) && c->existed && S_ISREG(obj.inode.mode))
		hook_record_event(o, fd, IN_MODIFY);
}

/* ---- close */

int hook_pre_close(struct hook_ctx *c, int fd)
{
	struct ofd *o;

	c->fd = fd;
	c->word = 0;
	if (fd < 0)
		return HOOK_SKIP;
	share_catch_up();	/* one load, unless the start deferred its claims */
	c->word = fdtable_clear(fd);
	if (!c->word) {
		if (!domain_watching())
			return HOOK_SKIP;
		/* unknown: learn what it is before it is gone */
		o = hook_fd_record(fd);
		c->word = fdtable_clear(fd);
		if (!o)
			return HOOK_RUN;
	}
	hook_closing(fd, c->word, &c->facts);
	return HOOK_RUN;
}

void hook_post_close(struct hook_ctx *c, intptr_t ret)
{
	/* Linux releases the fd even when close fails, except with EBADF,
	 * where there was no fd to release (and the entry was stale). */
	if (ret < 0 && c->err == EBADF)
		return;
	hook_closed(c->fd, c->word, &c->facts);
}

/* ---- dup, dup2, dup3 */

int hook_pre_dup(struct hook_ctx *c, int oldfd, int newfd)
{
	c->fd = oldfd;
	c->fd2 = newfd;
	c->word = fdtable_kind(oldfd) ? 1 : 0;
	c->word2 = 0;
	c->facts = (struct close_facts){ false, false };
	if (newfd >= 0 && newfd != oldfd && fdtable_kind(newfd) != FD_NONE) {
		hook_closing(newfd, fdtable_word(newfd), &c->facts);
		return HOOK_RUN;
	}
	if (c->word)
		return HOOK_RUN;
	if (!domain_watching())
		return HOOK_SKIP;
	/* Unknown files: adopt them now, so that both fds share one record
	 * and the one that dup2 closes gets its close event. */
	hook_fd_record(oldfd);
	if (newfd >= 0 && newfd != oldfd)
		hook_fd_record(newfd);
	return HOOK_RUN;
}

void hook_post_dup(struct hook_ctx *c, intptr_t ret)
{
	int newfd = (int)ret;
	uint64_t word;

	if (newfd < 0)
		return;
	if (c->fd2 >= 0 && c->fd2 != c->fd) {
		/* dup2 over an open fd closes it first */
		uint64_t old = fdtable_clear(newfd);
		hook_closed(newfd, old, &c->facts);
	}
	if (newfd == c->fd)
		return;
	word = fdtable_dup(c->fd, newfd);
	if (fdword_kind(word) == FD_FILE)
		share_dup(fdword_file(word), newfd);
	if (fdword_kind(word) == FD_INSTANCE) {
		fdtable_clear(newfd);
		frontend_adopt(newfd, fdword_instance(word));
	}
}

/* ---- close_range, closefrom
 *
 * The fds of the range that the table knows are closed first, one by one,
 * each as close() would, from the highest down: the kernel closes them in
 * ascending order but defers each release to the task's work list, which
 * runs last-in first-out, so the close events come highest first.  Then
 * the real call closes the rest.  With
 * CLOSE_RANGE_CLOEXEC nothing closes now.  Invalid arguments are left to
 * the real call, before anything is closed. */

int hook_pre_close_range(struct hook_ctx *c, unsigned first, unsigned last, int flags)
{
	int high = fdtable_high();

	(void)c;
	if (high < 0 || first > (unsigned)high || first > last ||
	    (flags & ~(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC)) ||
	    (flags & CLOSE_RANGE_CLOEXEC))
		return HOOK_SKIP;
	if (last > (unsigned)high)
		last = (unsigned)high;
	for (unsigned fd = last + 1; fd-- > first;) {
		struct hook_ctx one;
		int ret;

		if (fdtable_kind((int)fd) == FD_NONE && !domain_watching())
			continue;
		if (hook_pre_close(&one, (int)fd) == HOOK_SKIP)
			continue;
		ret = real_close((int)fd);
		one.err = errno;
		hook_post_close(&one, ret);
	}
	return HOOK_RUN;
}

void hook_post_close_range(struct hook_ctx *c, intptr_t ret)
{
	(void)c;
	(void)ret;
}

/* ---- sendfile, copy_file_range, splice: the source read, then the
 * destination written */

int hook_pre_transfer(struct hook_ctx *c, int in_fd, int out_fd)
{
	c->fd = in_fd;
	c->fd2 = out_fd;
	return domain_watching() ? HOOK_RUN : HOOK_SKIP;
}

void hook_post_transfer(struct hook_ctx *c, intptr_t ret)
{
	if (ret <= 0)
		return;
	hook_fd_event(c->fd, IN_ACCESS);
	hook_fd_event(c->fd2, IN_MODIFY);
}

/* ---- events through an fd */

int hook_pre_access(struct hook_ctx *c, int fd)
{
	c->fd = fd;
	return domain_watching() ? HOOK_RUN : HOOK_SKIP;
}

void hook_post_access(struct hook_ctx *c, intptr_t ret)
{
	if (ret > 0)
		hook_fd_event(c->fd, IN_ACCESS);
}

int hook_pre_modify(struct hook_ctx *c, int fd, int stream)
{
	struct slot_ref ref;

	if (stream && instance_of(fd, &ref)) {
		c->err = EBADF;
		return HOOK_FAIL;
	}
	c->fd = fd;
	return domain_watching() ? HOOK_RUN : HOOK_SKIP;
}

void hook_post_modify(struct hook_ctx *c, intptr_t ret)
{
	if (ret > 0)
		hook_fd_event(c->fd, IN_MODIFY);
}

int hook_pre_attr_fd(struct hook_ctx *c, int fd, uint32_t mask)
{
	c->fd = fd;
	c->mask = mask;
	return mask && domain_watching() ? HOOK_RUN : HOOK_SKIP;
}

void hook_post_attr_fd(struct hook_ctx *c, intptr_t ret)
{
	if (ret != 0)
		return;
	if (c->mask & HOOK_THROUGH_FILE)
		hook_fd_event(c->fd, c->mask & ~HOOK_THROUGH_FILE);
	else
		hook_fd_change(c->fd, c->mask);
}

int hook_pre_seek(struct hook_ctx *c, int fd)
{
	struct slot_ref ref;

	if (instance_of(fd, &ref)) {
		c->ret = 0;
		return HOOK_RETURN;
	}
	return HOOK_SKIP;
}

void hook_post_seek(struct hook_ctx *c, intptr_t ret)
{
	(void)c;
	(void)ret;
}
