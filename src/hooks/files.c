/*
 * files.c - the records of open files: made at an open, adopted for an fd
 * nobody knew, their events, and their last close.  The hooks that open,
 * close and duplicate fds are openclose.c's; those of the events through
 * an fd, fdevents.c's.
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
