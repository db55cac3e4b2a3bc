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
 *   - IN_EXCL_UNLINK: events made through an open file (the kernel's
 *     path events: read, write, open, close) on an unlinked file are not
 *     delivered to watches that asked so; the caller says which events
 *     those are by giving the fd (notify_obj.fd), and changes of the inode
 *     through an fd (ftruncate, fchmod ...) are given without it;
 *   - IN_ONESHOT: the watch ends (IN_IGNORED) after its first event;
 *   - an instance found dead on delivery is reclaimed.
 * Each event is handed to core's entry point (core_handle_event), which
 * queues it: notify decides, core delivers.  The functions below make
 * events of origin CORE_ORIGIN_HOOK; their *_from twins take the origin,
 * for the other sources (relay, scanner, bridge: core.h).
 * Each function takes registry.lock itself (through core's pass), and does nothing, without any
 * system call or lock, when no watch exists in the domain or when the
 * per-inode filter (domain_maybe_watched) says that none of the inodes it
 * is given can be watched.
 */
#ifndef SHIM_NOTIFY_H
#define SHIM_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/inotify.h>

#include "../core/core.h"
#include "../domain/domain.h"
#include "../util/ident.h"

struct notify_obj {
	const struct inode_info *inode;	/* the object, or NULL if unknown */
	const struct inode_info *dir;	/* its directory, or NULL */
	const char *name;		/* its name in dir */
	int fd;				/* the open file the event is made
					 * through (IN_EXCL_UNLINK), or -1 */
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

/* The same, from a source other than a hook (core.h, enum core_origin). */
void notify_child_from(enum core_origin origin, uint32_t mask, const struct notify_obj *o);
void notify_entry_from(enum core_origin origin, uint32_t mask, const struct inode_info *dir,
		       const char *name, bool isdir, uint32_t cookie);
void notify_self_from(enum core_origin origin, uint32_t mask, const struct inode_info *inode);
void notify_gone_from(enum core_origin origin, const struct inode_info *inode);
void notify_move_from(enum core_origin origin, const struct inode_info *olddir,
		      const char *oldname, const struct inode_info *newdir,
		      const char *newname, const struct inode_info *moved,
		      const struct inode_info *target);

/* A move cookie of the domain, never 0, never one handed out recently
 * (the domain's counter): for a source whose moves were numbered
 * elsewhere (the bridge remaps another host's cookies to these). */
uint32_t notify_new_cookie(void);

/* Is any watch on this inode?  (The hooks ask before costly checks.) */
bool notify_watched(const struct ident *id);

/* Mark the inode as unlinked while still open: notify_gone waits for the
 * last close.  Returns true if the inode is watched and was marked. */
bool notify_mark_delete_pending(const struct ident *id);
/* Clear the mark; true if it was set. */
bool notify_take_delete_pending(const struct ident *id);

/* Open directories, counted on their watched inode so that the removal of
 * one looks at other processes' fds only when one may hold it (objects.h
 * obj_dir_held()): a record of this process was made on the directory
 * (true if it was watched and is counted), its last fd here is closing,
 * and may another process's record hold it?  Only a hint: a killed holder
 * leaves it too high, which costs a look; a record made before the watch
 * is not counted. */
bool notify_dir_opened(const struct ident *id);
void notify_dir_closed(const struct ident *id);
bool notify_dir_maybe_open(const struct ident *id);

/* A directory is watched that was not: open files renamed into it before
 * (by a rename no watch saw) ask their names again (hooks/fdnames.c).
 * Registry lock held. */
void notify_dir_newly_watched_locked(struct domain *d);

/* End watch widx: queue IN_IGNORED to its instance and remove it.
 * Registry lock held. */
void notify_watch_ended_locked(struct domain *d, uint32_t widx);

/* The file system of inode record iidx was unmounted: IN_UNMOUNT to every
 * watch on it (whatever its mask), then each ends (IN_IGNORED), as
 * fsnotify_unmount_inodes() does.  Registry lock held. */
void notify_unmounted_locked(struct domain *d, uint32_t iidx);
/* The same from a source other than a hook (the relay: the kernel's
 * IN_UNMOUNT). */
void notify_unmounted_from_locked(enum core_origin origin, struct domain *d, uint32_t iidx);

#endif
