/*
 * openclose.c - the hooks that make and end fds: open, openat (through
 * manual.c), close, dup, dup2, dup3, close_range and closefrom.  The
 * records they make and release, and the events of a record's open and
 * last close, are files.c's.
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
	 * directory is not asked (files.c, "Directories asked late") */
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
