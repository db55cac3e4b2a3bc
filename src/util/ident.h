/*
 * ident.h - the identity of an inode: (st_dev, st_ino, birth time).
 *
 * Watches are keyed by it.  The rule:
 *
 *   Two identities are the same inode when st_dev and st_ino are equal and
 *   their birth times are equal or either is 0 ("unknown").
 *
 * The birth time is there for one case: an inode freed where the shim did
 * not see it (unlinked by a program outside the shim, or while no process
 * of the domain ran), whose number a new file then takes.  A watch on an
 * inode whose last link goes through the shim ends then (IN_DELETE_SELF,
 * IN_IGNORED), as on the kernel, so no record is left for a new file to
 * find; a stale record, left by a deletion the shim could not see, keeps
 * the old birth time and matches no newer file of that number.
 *
 * 0 is the birth time where statx gives none (then all identities on that
 * file system have 0, and (dev, ino) decides alone), and the one a watch
 * on an overlay file system is keyed with (ident_stat_watch()): overlayfs
 * keeps st_dev and st_ino across a copy-up, as the kernel's watch is kept,
 * but the birth time it gives is the layer's file's, which copy-up
 * changes.  So on an overlay a stale record of an inode deleted outside
 * the shim can be found by a new file that takes its number (README,
 * "Known differences").
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
	return a->dev == b->dev && a->ino == b->ino &&
	       (a->btime == b->btime || !a->btime || !b->btime);
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

/* ident_stat for the inode a watch is added on (inotify_add_watch): the
 * same, but with the birth time 0 on an overlay file system (above). */
int ident_stat_watch(int dirfd, const char *path, int flags, struct inode_info *out);

/* Was the name that fd was opened by unlinked (the kernel's d_unlinked(),
 * which IN_EXCL_UNLINK tests)?  now is fd's inode, as ident_fstat gave it.
 * True with no link left, or when /proc/self/fd names it "(deleted)" and
 * that name no longer leads to it (another link may remain). */
bool ident_fd_unlinked(int fd, const struct inode_info *now);

#endif
