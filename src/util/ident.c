/*
 * ident.c - see ident.h.
 */
#include "ident.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>

#include "real.h"

#ifndef OVERLAYFS_SUPER_MAGIC
#define OVERLAYFS_SUPER_MAGIC 0x794c7630
#endif

int ident_stat(int dirfd, const char *path, int flags, struct inode_info *out)
{
	struct statx sx;
	int saved = errno, ret = 0;

	if (statx(dirfd, path, flags | AT_STATX_SYNC_AS_STAT,
		  STATX_TYPE | STATX_MODE | STATX_INO | STATX_NLINK | STATX_BTIME,
		  &sx) < 0) {
		ret = -errno;
	} else {
		out->id.dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
		out->id.ino = sx.stx_ino;
		out->id.btime = (sx.stx_mask & STATX_BTIME) ?
			(uint64_t)sx.stx_btime.tv_sec * 1000000000u + sx.stx_btime.tv_nsec : 0;
		out->mode = sx.stx_mode;
		out->nlink = sx.stx_nlink;
	}
	errno = saved;
	return ret;
}

int ident_fstat(int fd, struct inode_info *out)
{
	return ident_stat(fd, "", AT_EMPTY_PATH, out);
}

int ident_stat_watch(int dirfd, const char *path, int flags, struct inode_info *out)
{
	struct inode_info again;
	struct statfs fs;
	int ret = ident_stat(dirfd, path, flags, out), saved = errno, fd;

	/* an overlay's devices, its own and the pseudo devices of its layers,
	 * are anonymous (major 0): other file systems are not asked */
	if (ret < 0 || !out->id.btime || major(out->id.dev) != 0)
		return ret;
	fd = real_openat(dirfd, path, O_PATH | O_CLOEXEC |
			 ((flags & AT_SYMLINK_NOFOLLOW) ? O_NOFOLLOW : 0), 0);
	if (fd < 0) {
		errno = saved;
		return ret;
	}
	if (fstatfs(fd, &fs) == 0 && fs.f_type == OVERLAYFS_SUPER_MAGIC &&
	    ident_fstat(fd, &again) == 0 && ident_equal(&again.id, &out->id))
		out->id.btime = 0;
	real_close(fd);
	errno = saved;
	return ret;
}

bool ident_fd_unlinked(int fd, const struct inode_info *now)
{
	static const char deleted[] = " (deleted)";
	const size_t dlen = sizeof deleted - 1;
	char link[64], path[PATH_MAX];
	struct inode_info there;
	int saved = errno;
	ssize_t n;

	if (now->nlink == 0)
		return true;
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof path - 1);
	errno = saved;
	if (n <= (ssize_t)dlen || path[0] != '/')
		return false;
	path[n] = 0;
	if (strcmp(path + n - dlen, deleted))
		return false;
	/* a live file whose name ends so: its name still leads to it */
	path[n - dlen] = 0;
	return ident_stat(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, &there) < 0 ||
	       !ident_equal(&there.id, &now->id);
}
