/*
 * ident.h - the identity of an inode: (st_dev, st_ino, birth time).
 *
 * Watches are keyed by it.  The birth time (0 where statx gives none) keeps a
 * reused inode number from inheriting a stale watch.
 */
#ifndef SHIM_IDENT_H
#define SHIM_IDENT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

struct ident {
	uint64_t dev;
	uint64_t ino;
	uint64_t btime;	/* nanoseconds since the epoch, or 0 */
};

struct inode_info {
	struct ident id;
	mode_t mode;		/* S_IFMT bits and permissions */
	uint32_t nlink;
};

static inline bool ident_equal(const struct ident *a, const struct ident *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->btime == b->btime;
}

/* The inode number plus a scrambled device: inodes made together (one
 * directory's files, usually numbered in a row) hash to neighbouring
 * buckets, so that adding their watches touches few new pages of the
 * shared registry (a first touch of a page costs more than the rest of an
 * add_watch), while inode numbers, unique on a device, spread evenly. */
static inline uint64_t ident_hash(const struct ident *id)
{
	return id->ino + ((id->dev * 0x9e3779b97f4a7c15ULL) >> 24);
}

/* statx of dirfd/path (flags: AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH).  Returns
 * 0 or a negative errno, and never changes errno. */
int ident_stat(int dirfd, const char *path, int flags, struct inode_info *out);
int ident_fstat(int fd, struct inode_info *out);

/* Was the name that fd was opened by unlinked (the kernel's d_unlinked(),
 * which IN_EXCL_UNLINK tests)?  now is fd's inode, as ident_fstat gave it.
 * True with no link left, or when /proc/self/fd names it "(deleted)" and
 * that name no longer leads to it (another link may remain). */
bool ident_fd_unlinked(int fd, const struct inode_info *now);

#endif
