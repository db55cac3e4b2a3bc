/*
 * objects.h - what a hook's arguments name: the inode, the directory that
 * holds it and its name there, as the kernel's dentry would give them.
 *
 * Only called once the hook knows a watch exists somewhere (the fast path
 * never gets here).  Each lookup is made with the real functions, costs
 * one or two stat calls in the common case (a plain last component; three
 * for an fd just opened without O_NOFOLLOW or O_EXCL, which open() and
 * openat() avoid by adding O_NOFOLLOW, openclose.c; one while no directory is
 * watched anywhere), and falls back to
 * resolving through /proc/self/fd when the last component is ".", "..",
 * or a symbolic link to follow.
 */
#ifndef SHIM_HOOKS_OBJECTS_H
#define SHIM_HOOKS_OBJECTS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "notify/notify.h"
#include "util/ident.h"

struct hook_obj {
	struct inode_info inode;
	struct inode_info dir;
	bool has_inode, has_dir;
	bool dir_late;		/* the directory was not asked (obj_from_open) */
	char name[NAME_MAX + 1];
};

/* The object dirfd/path, following a final symbolic link if follow. */
int obj_lookup(int dirfd, const char *path, bool follow, struct hook_obj *o);

/* Only the directory entry: its directory and name (for creations and
 * removals, where the object is looked up separately or is gone). */
int obj_lookup_entry(int dirfd, const char *path, struct hook_obj *o);

/* What an open fd refers to. */
int obj_from_fd(int fd, struct hook_obj *o);

/* What fd, just opened as dirfd/path with flags, refers to: the same as
 * obj_from_fd, but the directory is found from the caller's own path
 * rather than through /proc/self/fd when its last component is a plain
 * name that was not a symbolic link.  dirfd_inode, when not NULL, is what
 * dirfd is known to be (an fd's inode never changes): a path that is a
 * plain name then needs no statx of its directory.  With dir_late (no
 * directory was watched anywhere when the open began), the directory is
 * not asked at all: o->dir_late says so, and only the inode is set. */
int obj_from_open(int dirfd, const char *path, int fd, int flags,
		  const struct inode_info *dirfd_inode, bool dir_late, struct hook_obj *o);

/* The working directory's inode, asked once per thread after each chdir
 * or fchdir the hooks saw (obj_cwd_changed(), before and after the call),
 * or NULL when it cannot be asked.  A working directory is an inode, not a
 * path: renaming it changes nothing here. */
const struct inode_info *obj_cwd(void);
void obj_cwd_changed(void);

/* Is the directory whose fds read path in /proc/PID/fd (with " (deleted)"
 * once removed) and whose identity is id held open by an fd of this
 * process other than skip_fd, or, with others, of another process under
 * the shim?  A scan of /proc (objects.c); processes that the shim is not
 * in do not count: their close would never be seen.  Working directories
 * do not count either (README, "Known differences"). */
bool obj_dir_held(const char *path, const struct ident *id, int skip_fd, bool others);

/* fd's path as /proc/self/fd gives it; 0, or -1. */
int obj_fd_path(int fd, char *path, size_t size);

/* The notify layer's view of o. */
struct notify_obj obj_notify(const struct hook_obj *o, int fd);

#endif
