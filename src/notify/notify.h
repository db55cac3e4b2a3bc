/*
 * notify.h - turn "this happened to this inode, named so in that directory"
 * into events for the matching watches (the kernel's fsnotify.c and
 * inotify_fsnotify.c).
 *
 * The hooks call these after the real call succeeded, with the identities
 * they looked up.  Rules applied here, for every consumer alike:
 *   - delivery to the directory's watches (with the name) before the
 *     object's own watches (without), as fsnotify does for one group;
 *   - IN_ISDIR on events about a directory, but never on IN_DELETE_SELF,
 *     IN_MOVE_SELF or IN_IGNORED;
 *   - IN_EXCL_UNLINK: events about an object reached through an fd on an
 *     unlinked file are not delivered to watches that asked so;
 *   - IN_ONESHOT: the watch ends (IN_IGNORED) after its first event;
 *   - an instance found dead on delivery is reclaimed.
 * Each function takes registry.lock itself, and does nothing, without any
 * system call or lock, when no watch exists in the domain or when the
 * per-inode filter (domain_maybe_watched) says that none of the inodes it
 * is given can be watched.
 */
#ifndef SHIM_NOTIFY_H
#define SHIM_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/inotify.h>

#include "../domain/domain.h"
#include "../util/ident.h"

struct notify_obj {
	const struct inode_info *inode;	/* the object, or NULL if unknown */
	const struct inode_info *dir;	/* its directory, or NULL */
	const char *name;		/* its name in dir */
	int fd;				/* an fd on it (IN_EXCL_UNLINK), or -1 */
	bool unlinked;			/* without an fd: known to be unlinked */
};

/* IN_ACCESS, IN_MODIFY, IN_ATTRIB, IN_OPEN, IN_CLOSE_*: to the directory's
 * watches with the name, then to the object's own. */
void notify_child(uint32_t mask, const struct notify_obj *o);

/* IN_CREATE, IN_DELETE, IN_MOVED_FROM, IN_MOVED_TO on a directory entry. */
void notify_entry(uint32_t mask, const struct inode_info *dir, const char *name,
		  bool isdir, uint32_t cookie);

/* Events of the inode alone: IN_ATTRIB for a link count, IN_MOVE_SELF. */
void notify_self(uint32_t mask, const struct inode_info *inode);

/* The inode is gone: IN_DELETE_SELF, then each watch on it ends. */
void notify_gone(const struct inode_info *inode);

/* A rename of moved from olddir/oldname to newdir/newname, replacing target
 * (NULL if none): IN_MOVED_FROM, IN_MOVED_TO, target's IN_ATTRIB, then
 * IN_MOVE_SELF.  The caller reports the target's deletion after. */
void notify_move(const struct inode_info *olddir, const char *oldname,
		 const struct inode_info *newdir, const char *newname,
		 const struct inode_info *moved, const struct inode_info *target);

/* Is any watch on this inode?  (The hooks ask before costly checks.) */
bool notify_watched(const struct ident *id);

/* Mark the inode as unlinked while still open: notify_gone waits for the
 * last close.  Returns true if the inode is watched and was marked. */
bool notify_mark_delete_pending(const struct ident *id);
/* Clear the mark; true if it was set. */
bool notify_take_delete_pending(const struct ident *id);

/* End watch widx: queue IN_IGNORED to its instance and remove it.
 * Registry lock held. */
void notify_watch_ended_locked(struct domain *d, uint32_t widx);

/* The file system of inode record iidx was unmounted: IN_UNMOUNT to every
 * watch on it (whatever its mask), then each ends (IN_IGNORED), as
 * fsnotify_unmount_inodes() does.  Registry lock held. */
void notify_unmounted_locked(struct domain *d, uint32_t iidx);

#endif
