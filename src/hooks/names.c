/*
 * names.c - the hooks on names: creating, linking, removing and renaming
 * directory entries, and changing attributes by path.
 *
 * Event order is the kernel's (fs/namei.c, include/linux/fsnotify.h):
 *   link     IN_ATTRIB on the inode, then IN_CREATE in the directory
 *   unlink   IN_ATTRIB on the inode, IN_DELETE_SELF and IN_IGNORED if it
 *            was the last link and nobody has it open, then IN_DELETE
 *   rmdir    IN_DELETE_SELF and IN_IGNORED, then IN_DELETE | IN_ISDIR; if
 *            an fd still holds the directory, only IN_DELETE | IN_ISDIR,
 *            and the rest at its last close (files.c)
 *   rename   IN_MOVED_FROM, IN_MOVED_TO, IN_ATTRIB on a replaced target,
 *            IN_MOVE_SELF, then the target's IN_DELETE_SELF
 * The state before the call (the inode about to go, its link count, whether
 * it is open elsewhere) is read in the pre function.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hooks/families.h"
#include "hooks/files.h"
#include "notify/notify.h"
#include "util/real.h"

uint32_t hook_chown_mask(uid_t owner, gid_t group)
{
	return owner == (uid_t)-1 && group == (gid_t)-1 ? 0 : IN_ATTRIB;
}

/* fsnotify_change(): both times is a utime call, IN_ATTRIB; only the
 * access time IN_ACCESS, only the modification time IN_MODIFY. */
uint32_t hook_utimens_mask(const struct timespec times[2])
{
	bool atime, mtime;

	if (!times)
		return IN_ATTRIB;
	atime = times[0].tv_nsec != UTIME_OMIT;
	mtime = times[1].tv_nsec != UTIME_OMIT;
	if (atime && mtime)
		return IN_ATTRIB;
	if (atime)
		return IN_ACCESS;
	if (mtime)
		return IN_MODIFY;
	return 0;
}

/* Is the regular file at dirfd/path open anywhere?  A write lease is only
 * granted to its sole opener. */
static bool open_elsewhere(int dirfd, const char *path)
{
	int fd = real_openat(dirfd, path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0);
	bool busy = false;

	if (fd < 0)
		return false;
	if (real_fcntl(fd, F_SETLEASE, (long)F_WRLCK) == 0)
		real_fcntl(fd, F_SETLEASE, (long)F_UNLCK);
	else
		busy = errno == EAGAIN;
	real_close(fd);
	return busy;
}

/* Will the object go with this removal, and is it still open somewhere?
 * Only asked when the object is watched.  A watched directory is held
 * through c->fd (an O_PATH fd, closed by report_gone()) so that its
 * holders can be looked for once it is removed (report_dir_gone()). */
static void removal_fate(struct hook_ctx *c, int dirfd, const char *path,
			 const struct inode_info *in)
{
	struct inode_info now;

	c->gone = S_ISDIR(in->mode) || in->nlink <= 1;
	c->pending = false;
	c->fd = -1;
	if (!c->gone || !notify_watched(&in->id))
		return;
	if (S_ISREG(in->mode)) {
		c->pending = open_elsewhere(dirfd, path);
	} else if (S_ISDIR(in->mode)) {
		c->fd = real_openat(dirfd, path, O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC, 0);
		if (c->fd >= 0 && (ident_fstat(c->fd, &now) < 0 || !ident_equal(&now.id, &in->id))) {
			real_close(c->fd);
			c->fd = -1;
		}
	}
}

/* A watched directory was removed: its IN_DELETE_SELF waits for the last
 * close if an fd still holds it (the kernel's dentry is not released
 * before).  The mark comes before the look, and the holder that finds it
 * at its last close gives the event (files.c): whoever takes the mark
 * back gives it, so it comes once, even if that close runs meanwhile. */
static void report_dir_gone(int held_fd, const struct inode_info *in)
{
	char path[PATH_MAX];
	bool known = obj_fd_path(held_fd, path, sizeof path) == 0;

	real_close(held_fd);	/* not a holder: closed before the look */
	if (!known || !notify_mark_delete_pending(&in->id)) {
		notify_gone(in);
		return;
	}
	if (!obj_dir_held(path, &in->id, -1, notify_dir_maybe_open(&in->id)) &&
	    notify_take_delete_pending(&in->id))
		notify_gone(in);
}

static void report_gone(struct hook_ctx *c, const struct inode_info *in)
{
	if (c->fd >= 0) {
		report_dir_gone(c->fd, in);
		c->fd = -1;
		return;
	}
	if (c->pending && notify_mark_delete_pending(&in->id))
		return;
	notify_gone(in);
}

/* The pre function's fd, if the call failed. */
static void drop_held(struct hook_ctx *c)
{
	if (c->fd >= 0)
		real_close(c->fd);
	c->fd = -1;
}

/* ---- creations: mkdir, mknod, mkfifo, symlink */

int hook_pre_create(struct hook_ctx *c, int dirfd, const char *path, uint32_t isdir)
{
	if (!domain_watching())
		return HOOK_SKIP;
	c->dirfd = dirfd;
	c->path = path;
	c->mask = isdir;
	return HOOK_RUN;
}

void hook_post_create(struct hook_ctx *c, intptr_t ret)
{
	if (ret != 0 || obj_lookup_entry(c->dirfd, c->path, &c->obj) < 0 || !c->obj.has_dir)
		return;
	notify_entry(IN_CREATE, &c->obj.dir, c->obj.name, c->mask != 0, 0);
}

/* ---- link, linkat */

int hook_pre_link(struct hook_ctx *c, int olddirfd, const char *old, int newdirfd,
		  const char *new, int flags)
{
	(void)olddirfd;
	(void)old;
	(void)flags;
	if (!domain_watching())
		return HOOK_SKIP;
	c->dirfd2 = newdirfd;
	c->path2 = new;
	return HOOK_RUN;
}

void hook_post_link(struct hook_ctx *c, intptr_t ret)
{
	if (ret != 0 || obj_lookup(c->dirfd2, c->path2, false, &c->obj) < 0)
		return;
	notify_self(IN_ATTRIB, &c->obj.inode);
	if (c->obj.has_dir)
		notify_entry(IN_CREATE, &c->obj.dir, c->obj.name, S_ISDIR(c->obj.inode.mode), 0);
}

/* ---- unlink, unlinkat, rmdir, remove */

int hook_pre_unlink(struct hook_ctx *c, int dirfd, const char *path, int flags)
{
	if (!domain_watching())
		return HOOK_SKIP;
	c->dirfd = dirfd;
	c->path = path;
	c->flags = flags;
	if (obj_lookup(dirfd, path, false, &c->obj) < 0)
		return HOOK_SKIP;	/* the call will fail as well */
	removal_fate(c, dirfd, path, &c->obj.inode);
	return HOOK_RUN;
}

void hook_post_unlink(struct hook_ctx *c, intptr_t ret)
{
	bool isdir = S_ISDIR(c->obj.inode.mode);

	if (ret != 0) {
		drop_held(c);
		return;
	}
	if (!isdir)
		notify_self(IN_ATTRIB, &c->obj.inode);
	if (c->gone)
		report_gone(c, &c->obj.inode);
	drop_held(c);
	if (c->obj.has_dir)
		notify_entry(IN_DELETE, &c->obj.dir, c->obj.name, isdir, 0);
}

/* ---- rename, renameat, renameat2 */

int hook_pre_rename(struct hook_ctx *c, int olddirfd, const char *old, int newdirfd,
		    const char *new, unsigned flags)
{
	if (!domain_watching())
		return HOOK_SKIP;
	c->flags = (int)flags;
	if (obj_lookup(olddirfd, old, false, &c->obj) < 0)
		return HOOK_SKIP;
	c->have_target = obj_lookup(newdirfd, new, false, &c->obj2) == 0;
	if (!c->have_target && obj_lookup_entry(newdirfd, new, &c->obj2) < 0)
		return HOOK_SKIP;
	/* renaming a link onto another link of the same inode does nothing */
	c->noop = c->have_target && ident_equal(&c->obj.inode.id, &c->obj2.inode.id);
	c->gone = c->pending = false;
	c->fd = -1;
	if (c->have_target && !c->noop && !(flags & RENAME_EXCHANGE))
		removal_fate(c, newdirfd, new, &c->obj2.inode);
	return HOOK_RUN;
}

void hook_post_rename(struct hook_ctx *c, intptr_t ret)
{
	struct hook_obj *from = &c->obj, *to = &c->obj2;

	if (ret != 0 || c->noop || !from->has_dir || !to->has_dir) {
		drop_held(c);
		return;
	}
	if (c->flags & RENAME_EXCHANGE) {
		notify_move(&from->dir, from->name, &to->dir, to->name, &from->inode, NULL);
		notify_move(&to->dir, to->name, &from->dir, from->name, &to->inode, NULL);
		return;
	}
	notify_move(&from->dir, from->name, &to->dir, to->name, &from->inode,
		    c->have_target ? &to->inode : NULL);
	if (c->have_target && c->gone)
		report_gone(c, &to->inode);
	drop_held(c);
}

/* ---- attributes by path: chmod, chown, utimes, truncate ... */

int hook_pre_attr_path(struct hook_ctx *c, int dirfd, const char *path, int flags, uint32_t mask)
{
	if (!mask || !domain_watching())
		return HOOK_SKIP;
	c->dirfd = dirfd;
	c->path = path;
	c->flags = flags;
	c->mask = mask;
	return HOOK_RUN;
}

void hook_post_attr_path(struct hook_ctx *c, intptr_t ret)
{
	struct notify_obj t;

	if (ret != 0)
		return;
	if ((c->flags & AT_EMPTY_PATH) && c->path && !c->path[0]) {
		if (c->dirfd != AT_FDCWD)
			hook_fd_change(c->dirfd, c->mask);
		return;
	}
	if (obj_lookup(c->dirfd, c->path, !(c->flags & AT_SYMLINK_NOFOLLOW), &c->obj) < 0)
		return;
	t = obj_notify(&c->obj, -1);
	notify_child(c->mask, &t);
}

/* ---- mkdtemp: mkdir of the name it fills into the template */

int hook_pre_mkdtemp(struct hook_ctx *c, char *template)
{
	return hook_pre_create(c, AT_FDCWD, template, IN_ISDIR);
}

void hook_post_mkdtemp(struct hook_ctx *c, intptr_t ret)
{
	if (ret)
		hook_post_create(c, 0);
}
