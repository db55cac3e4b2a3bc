/*
 * files.h - open-file records and events through fds, shared by the hook
 * families (files.c, openclose.c, fdevents.c, dirs.c, stdio.c, manual.c).
 */
#ifndef SHIM_HOOKS_FILES_H
#define SHIM_HOOKS_FILES_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "domain/domain.h"
#include "hooks/objects.h"
#include "fd/fdtable.h"
#include <sys/inotify.h>

/* Has a rename that a watch saw happened since o's directory and name
 * were asked?  (fdnames.c, "Renamed open files") */
static inline bool hook_record_moved(const struct ofd *o)
{
	struct domain *d = shim_domain;

	return d && __atomic_load_n(&o->names_stamp, __ATOMIC_RELAXED) !=
		    __atomic_load_n(&d->reg->cookie, __ATOMIC_RELAXED);
}

/* Can no event about o's file reach a watch now?  Its inode and its
 * directory both miss the per-inode filter (domain_maybe_watched(), exact
 * when it says no) and no rename was seen since its directory was asked,
 * or its directory was not asked while no directory is watched anywhere
 * (files.c, "Directories asked late").  Inline: the quiet
 * checks of the fd hooks (families.h) ask it before the call. */
static inline bool hook_record_quiet(const struct ofd *o)
{
	uint32_t fl;

	if (domain_maybe_watched(&o->inode.id))
		return false;
	fl = __atomic_load_n(&o->flags, __ATOMIC_ACQUIRE);
	if (fl & OFD_DIR_LATE)
		return !domain_dirs_watched();
	if (!(fl & OFD_DIR_KNOWN))
		return true;
	/* its directory now, if it was renamed into a watched one */
	return !domain_maybe_watched(&o->dir.id) &&
	       !(domain_dirs_watched() && hook_record_moved(o));
}

/* A record for fd, just opened with open_flags, describing obj. */
struct ofd *hook_record_new(int fd, const struct hook_obj *obj, int open_flags);

/* The record of fd, adopting the fd if the table does not know it; NULL
 * for what is not a watchable file. */
struct ofd *hook_fd_record(int fd);

/* Deliver mask about the record's file.  fd tells IN_EXCL_UNLINK whether
 * the file is unlinked; without one (-1), unlinked says it. */
void hook_record_event(struct ofd *o, int fd, uint32_t mask);
void hook_record_event_closed(struct ofd *o, bool unlinked, uint32_t mask);
void hook_fd_event(int fd, uint32_t mask);
/* The same for a change of the inode through fd (ftruncate, fchmod,
 * fchown, futimens: the kernel's notify_change(), on the dentry), which
 * IN_EXCL_UNLINK does not exclude: it excludes only the events made
 * through the open file (read, write, fallocate, open, close). */
void hook_fd_change(int fd, uint32_t mask);
/* In an attr_fd hook's mask (hooks.table): the call's event is made
 * through the open file (fallocate's fsnotify_modify()), not the dentry. */
#define HOOK_THROUGH_FILE 0x80000000u
#define HOOK_MODIFY_THROUGH_FILE (IN_MODIFY | HOOK_THROUGH_FILE)

/* Names that follow renames (fdnames.c): the domain's move counter; set
 * o's directory and name (false when another thread is setting them);
 * copy them out (false when they could not be read whole); ask them again
 * through fd if a rename was seen since they were asked. */
uint32_t hook_rename_epoch(void);
bool hook_record_names_set(struct ofd *o, const struct inode_info *dir, const char *name,
			   uint32_t stamp);
bool hook_record_names_get(const struct ofd *o, struct inode_info *dir, char *name);
void hook_record_follow(struct ofd *o, int fd);

/* A record whose directory was not asked at open (files.c, "Directories
 * asked late"): ask it through fd now if a directory is watched. */
void hook_record_ask_dir(struct ofd *o, int fd);

/* Before the last close of o's fd: true when this is the last opener of an
 * unlinked inode whose IN_DELETE_SELF waits. */
bool hook_probe_last_opener(int fd, struct ofd *o);

/* Directories removed while open (dirs.c): the last fd here on o is
 * closing: uncount it from its watched inode's opens; is it the last
 * holder of a directory whose IN_DELETE_SELF waits? */
void hook_dir_uncount(struct ofd *o);
bool hook_dir_last_holder(int fd, struct ofd *o);

/* Before the last close of fd: what the close events need to know. */
struct close_facts {
	bool last_opener;	/* its IN_DELETE_SELF was waiting for this */
	bool unlinked;		/* for IN_EXCL_UNLINK */
};
void hook_closing(int fd, uint64_t word, struct close_facts *facts);

/* After fd, whose table word was word, was closed. */
void hook_closed(int fd, uint64_t word, const struct close_facts *facts);

/* Open files held by several processes (share.c). */
/* Around the release of a record by a close (hook_closed): excludes the
 * passes of fork and exec over every record (share.c, "Passes"). */
void share_release_begin(void);
void share_release_end(void);
void share_before_fork(void);
void share_after_fork_child(void);
void share_after_fork_parent(pid_t child);
void share_before_exec(void);
/* Returns the token for share_after_spawn. */
pid_t share_before_spawn(void);
void share_after_spawn(pid_t token, pid_t child);
void share_after_exec(void);
/* The claims share_after_exec() deferred (files.lock was busy at the
 * start), if any: made now, within the lock's bound. */
void share_catch_up(void);
void share_dup(struct ofd *o, int newfd);
/* fd of the shared record o was closed (last: its last fd here); true
 * when no live holder is left: the close events are due. */
bool share_close(struct ofd *o, int fd, bool last);
bool share_others_hold(struct ofd *o);
/* Exit: drop every holder of this process, with the close events due. */
void share_exit_sweep(void);

#endif
