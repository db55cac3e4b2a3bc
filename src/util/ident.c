/*
 * ident.c - see ident.h.
 */
#include "ident.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/sysmacros.h>

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
