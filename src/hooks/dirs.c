/*
 * dirs.c - the hooks on directory streams: opendir, readdir, rewinddir,
 * closedir.  libc opens and closes the directory's fd internally, where no
 * hook sees it, so the events are made here: IN_OPEN at opendir, IN_ACCESS
 * for each getdents the kernel would see, IN_CLOSE_NOWRITE at closedir,
 * all with IN_ISDIR.
 *
 * libc calls getdents when its buffer is empty: at the first readdir and
 * at the one that finds the end (which returns NULL).  A listing that fits
 * one buffer, the common case, gets the kernel's two IN_ACCESS events.
 * A directory removed while open lists nothing and gives no IN_ACCESS;
 * its close events and IN_DELETE_SELF come at closedir, as close()'s
 * (files.c), which asks here whether it is the last holder.  A record of
 * a watched directory is counted on its inode in the registry while it is
 * open (notify.h notify_dir_opened()), so that a removal looks at other
 * processes' fds only when one may hold it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>

#include "hooks/families.h"
#include "hooks/files.h"
#include "notify/notify.h"

int hook_pre_opendir(struct hook_ctx *c, const char *path)
{
	(void)path;
	(void)c;
	return domain_watching() ? HOOK_RUN : HOOK_SKIP;
}

void hook_post_opendir(struct hook_ctx *c, intptr_t ret)
{
	DIR *dir = (DIR *)ret;
	struct hook_obj obj;
	struct ofd *o;
	int fd;

	(void)c;
	if (!dir || (fd = dirfd(dir)) < 0)
		return;
	fdtable_clear(fd);
	if (obj_from_fd(fd, &obj) < 0)
		return;
	o = hook_record_new(fd, &obj, O_RDONLY);
	if (o)
		hook_record_event(o, fd, IN_OPEN);
}

static struct ofd *dir_record(DIR *dir, int *fdp)
{
	int fd = dir ? dirfd(dir) : -1;

	*fdp = fd;
	return fd >= 0 ? fdtable_file(fd) : NULL;
}

static bool removed(int fd)
{
	struct inode_info now;

	return ident_fstat(fd, &now) == 0 && now.nlink == 0;
}

int hook_pre_readdir(struct hook_ctx *c, DIR *dir)
{
	c->ptr = dir;
	if (!dir || !domain_watching())
		return HOOK_SKIP;
	return HOOK_RUN;
}

void hook_post_readdir(struct hook_ctx *c, intptr_t ret)
{
	int fd;
	struct ofd *o = dir_record(c->ptr, &fd);

	if (!o)
		return;
	/* getdents of a removed directory fails with ENOENT and gives no
	 * IN_ACCESS (the kernel's iterate_dir()); libc's readdir takes the
	 * ENOENT for the end of the listing and restores errno, so ask */
	if (!ret && !hook_record_quiet(o) && removed(fd))
		return;
	if (ret && (__atomic_load_n(&o->flags, __ATOMIC_RELAXED) & OFD_LISTING))
		return;		/* served from libc's buffer */
	if (ret)
		__atomic_or_fetch(&o->flags, OFD_LISTING, __ATOMIC_RELAXED);
	else
		__atomic_and_fetch(&o->flags, ~OFD_LISTING, __ATOMIC_RELAXED);
	hook_record_event(o, fd, IN_ACCESS);
}

int hook_pre_rewinddir(struct hook_ctx *c, DIR *dir)
{
	c->ptr = dir;
	return dir && fdtable_kind(dirfd(dir)) == FD_FILE ? HOOK_RUN : HOOK_SKIP;
}

void hook_post_rewinddir(struct hook_ctx *c, intptr_t ret)
{
	int fd;
	struct ofd *o = dir_record(c->ptr, &fd);

	(void)ret;
	if (o)
		__atomic_and_fetch(&o->flags, ~OFD_LISTING, __ATOMIC_RELAXED);
}

int hook_pre_closedir(struct hook_ctx *c, DIR *dir)
{
	int fd = dir ? dirfd(dir) : -1;

	c->fd = fd;
	c->word = fd >= 0 ? fdtable_clear(fd) : 0;
	if (!c->word)
		return HOOK_SKIP;
	hook_closing(fd, c->word, &c->facts);
	return HOOK_RUN;
}

void hook_post_closedir(struct hook_ctx *c, intptr_t ret)
{
	(void)ret;
	hook_closed(c->fd, c->word, &c->facts);
}

/* ---- directories removed while open (names.c report_dir_gone()) */

/* The last fd here on a counted directory record is closing: uncount it,
 * unless another process holds the record too (fork; that one uncounts
 * it at its own last close; an exec'd image's copy is not counted, and
 * leaves the count high, which costs only a look). */
void hook_dir_uncount(struct ofd *o)
{
	uint32_t fl = __atomic_load_n(&o->flags, __ATOMIC_RELAXED);

	if (!(fl & OFD_OPENS_COUNTED) || (o->share.idx && share_others_hold(o)))
		return;
	fl = __atomic_fetch_and(&o->flags, ~(uint32_t)OFD_OPENS_COUNTED, __ATOMIC_RELAXED);
	if (fl & OFD_OPENS_COUNTED)
		notify_dir_closed(&o->inode.id);
}

/* Before the last close of fd on the record o of a directory removed
 * while fds held it (names.c): is this its last holder?  A lease cannot
 * tell for a directory (files.c probe_last_opener()), so the fds are
 * looked at (objects.h obj_dir_held()). */
bool hook_dir_last_holder(int fd, struct ofd *o)
{
	char path[PATH_MAX];

	if (!notify_take_delete_pending(&o->inode.id))
		return false;
	if (obj_fd_path(fd, path, sizeof path) < 0 ||
	    !obj_dir_held(path, &o->inode.id, fd, notify_dir_maybe_open(&o->inode.id)))
		return true;
	notify_mark_delete_pending(&o->inode.id);
	return false;
}

/* ---- chdir, fchdir: the working directory the open hook keeps
 * (objects.h obj_cwd()) is asked again after them */

int hook_pre_chdir(struct hook_ctx *c, int unused)
{
	(void)c;
	(void)unused;
	obj_cwd_changed();
	return HOOK_RUN;
}

void hook_post_chdir(struct hook_ctx *c, intptr_t ret)
{
	(void)c;
	(void)ret;
	obj_cwd_changed();
}
