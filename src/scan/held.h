/*
 * held.h - a directory looked at through O_PATH fds held on its entries.
 *
 * Why: a statx by name costs a dentry lookup (the hash bucket and the
 * dentry, cold in the cache when 100,000 names are looked at in turn):
 * 1.2 us of CPU per call on the 2-core VM of bench/README, against 0.29 us
 * for a statx of an fd (AT_EMPTY_PATH).  An idle scanner is nothing but
 * those calls, so it holds an fd on each entry it follows and looks at the
 * fd.  An fd pins the inode it was opened on, which is right only while
 * the name still leads there: a directory whose own mtime and ctime did
 * not change has the same names on the same inodes (every link, unlink
 * and rename in it sets them), so the fds are used only then; when they
 * changed, the directory is read again, each name looked at by name, and
 * an fd kept only for a name whose inode is the one it holds.
 *
 * The fds come from a budget (struct scan_budget), so that the process's
 * RLIMIT_NOFILE is never reached: an entry beyond it is looked at by name,
 * as before.  Lifetime: a held set goes with one snapshot, fd[i] with
 * entry i (or -1); scan_snap_look() hands the fds over to the new set it
 * makes and closes those it drops.  Nothing here touches the domain.
 */
#ifndef SHIM_SCAN_HELD_H
#define SHIM_SCAN_HELD_H

#include "snapshot.h"

struct scan_held {
	int *fd;		/* parallel to the snapshot's entries */
	size_t n;		/* 0: none held */
};

struct scan_budget {
	size_t held, cap;	/* fds held, and the most that may be */
};

/* Look at the directory fd, old being its last snapshot (present false:
 * none) with oldh its held fds; make out and its held set newh (which may
 * be oldh itself, when nothing changed: the caller frees oldh's array only
 * when newh->fd differs).  *stats counts the statx made.  0, or SCAN_SAME
 * when the look found old exactly (out is not made: old stays the
 * snapshot), or a negative errno (out then not present, every fd of oldh
 * closed). */
#define SCAN_SAME 1
int scan_snap_look(int fd, struct scan_snap *old, struct scan_held *oldh,
		   struct scan_snap *out, struct scan_held *newh,
		   struct scan_budget *b, uint64_t *stats);

/* Close every fd of h and free its array. */
void scan_held_close(struct scan_held *h, struct scan_budget *b);

#endif
