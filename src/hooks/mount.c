/*
 * mount.c - umount and umount2: the end of every watch on the file system
 * that goes away (IN_UNMOUNT, then IN_IGNORED), as the kernel's
 * fsnotify_unmount_inodes() gives them when a super block shuts down.
 *
 * The kernel reports when the last mount of the super block goes, not at
 * every umount: a file system still mounted elsewhere (a bind mount) gives
 * nothing, and a lazy unmount (MNT_DETACH) of a busy one reports at its
 * last close.  This file takes the device of the mount's root before the
 * call (statx without syncing, nothing read from the file system), and
 * after a successful unmount reports only when /proc/self/mountinfo shows no
 * other mount of that device.  What it cannot see, stated in the README:
 * mounts of the device in other mount namespaces (the kernel would wait
 * for them), the files a lazy unmount leaves open (reported at the
 * umount2, not at their last close), and unmounts made outside the shim.
 *
 * Order: the kernel walks the super block's inode list, newest inode
 * first.  The registry does not know when an inode came into memory; it
 * goes by inode number, highest first, which is the kernel's order where
 * numbers are handed out in sequence (tmpfs, and most new files).
 *
 * Lock: registry.lock (domain_lock) for the walk, through notify's
 * delivery (notify.h); no other lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

#include "domain/domain.h"
#include "domain/registry.h"
#include "hooks-real.h"
#include "notify/notify.h"
#include "util/export.h"

#define BATCH 32

/* The device of target's mount root, or 0.  Never changes errno. */
static uint64_t mount_dev(const char *target, int flags)
{
	struct statx sx;
	int saved = errno;
	int at = AT_STATX_DONT_SYNC | AT_NO_AUTOMOUNT |
		 ((flags & UMOUNT_NOFOLLOW) ? AT_SYMLINK_NOFOLLOW : 0);
	uint64_t dev = 0;

	if (target && statx(AT_FDCWD, target, at, STATX_TYPE, &sx) == 0)
		dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
	errno = saved;
	return dev;
}

/* Does this mount namespace still mount dev somewhere?  True when it
 * cannot tell (no event is better than a false end of watches). */
static bool still_mounted(uint64_t dev)
{
	FILE *f = real_fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;
	bool found = false;

	if (!f)
		return true;
	/* each line: mount id, parent id, "major:minor", ... */
	while (!found && real_getline(&line, &cap, f) > 0) {
		unsigned id, parent, ma, mi;
		found = sscanf(line, "%u %u %u:%u", &id, &parent, &ma, &mi) == 4 &&
			makedev(ma, mi) == dev;
	}
	free(line);
	real_fclose(f);
	return found;
}

/* Is record a (inode number ino, index i) before b in the kernel's order
 * (highest number first; the index breaks ties)? */
static bool before(uint64_t ino_a, uint32_t a, uint64_t ino_b, uint32_t b)
{
	return ino_a > ino_b || (ino_a == ino_b && a > b);
}

/* End every watch on an inode of dev: up to BATCH records a pass, taken in
 * the kernel's order below the last one ended. */
static void unmount_watches(uint64_t dev)
{
	struct domain *d = shim_domain;
	uint64_t cur_ino = UINT64_MAX;
	uint32_t cur = UINT32_MAX;
	uint32_t idx[BATCH];
	int n;

	if (!domain_watching() || domain_lock(d) != 0)
		return;
	do {
		uint32_t hwm = d->reg->inode_hwm;
		n = 0;
		for (uint32_t i = 1; i <= hwm && i <= REGISTRY_WATCHES; i++) {
			struct reg_inode *in = reg_inode(d, i);
			int k;
			if (!in || in->state != RECORD_USED || in->id.dev != dev ||
			    !before(cur_ino, cur, in->id.ino, i))
				continue;
			/* keep the BATCH first, sorted */
			for (k = n; k > 0 && before(in->id.ino, i, reg_inode(d, idx[k - 1])->id.ino,
						    idx[k - 1]); k--)
				if (k < BATCH)
					idx[k] = idx[k - 1];
			if (k < BATCH) {
				idx[k] = i;
				n += n < BATCH;
			}
		}
		for (int k = 0; k < n; k++) {
			cur_ino = reg_inode(d, idx[k])->id.ino;
			cur = idx[k];
			notify_unmounted_locked(d, idx[k]);
		}
	} while (n == BATCH);
	domain_unlock(d);
}

static int umount_wrapper(const char *target, int flags, bool two)
{
	uint64_t dev = domain_watching() ? mount_dev(target, flags) : 0;
	int ret = two ? real_umount2(target, flags) : real_umount(target);
	int saved = errno;

	if (ret == 0 && dev && !still_mounted(dev))
		unmount_watches(dev);
	errno = saved;
	return ret;
}

SHIM_EXPORT int umount(const char *target)
{
	return umount_wrapper(target, 0, false);
}

SHIM_EXPORT int umount2(const char *target, int flags)
{
	return umount_wrapper(target, flags, true);
}
