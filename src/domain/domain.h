/*
 * domain.h - the domain: the directory and shared registry that every
 * process under the shim shares with the others of its user.
 *
 * Where: $INOTIFY_SHIM_DOMAIN if it is an absolute directory; otherwise
 * $XDG_RUNTIME_DIR/inotify-shim[-NAME], else /dev/shm/inotify-shim-UID[-NAME].
 * Who shares it (the rule is written out at the top of domain.c): a domain
 * is private to its user (directory 0700, files 0600, owned by the user),
 * or, only when named by an absolute path, shared with a group the user is
 * in (directory 0770 or 2770 of that group, files 0660 of that group).
 * Every file of it is opened with openat() from the directory checked at
 * domain_open, O_NOFOLLOW | O_CLOEXEC, and checked by fstat of the fd.
 *
 * Files in it:
 *   registry       the shared registry (layout.h), mapped by every process
 *   q-SLOT-GEN     an instance's event queue (queue.h)
 *   f-SLOT-GEN     an instance's FIFO: its fd is the read end (instance.h)
 *
 * The process maps the registry once, in the library constructor, and keeps
 * no fd open on it.  shim_domain is NULL when the domain could not be opened:
 * the hooks are then inert and the inotify calls fail with ENOMEM.
 *
 * Refusals (each with one message, printed only when INOTIFY_SHIM_DEBUG
 * is set (util/log.h) and counted in the registry for inotify-shim ps;
 * nothing followed):
 *   - the directory is a symbolic link or a file, or fails the rule of
 *     domain.c (another uid's private directory, open to others, shared
 *     with a group the user is not in, with an ACL, of an owner outside
 *     its group): no domain (the inotify calls fail with ENOMEM, as the
 *     kernel's do when it cannot allocate; a private domain elsewhere
 *     would silently miss every other process's events);
 *   - the registry is a link, not a regular file, fails the rule of
 *     domain.c for files (owner, group, mode, ACL), is of the wrong size
 *     (truncated), magic, version or geometry, or has a hole where a page
 *     must be backed: it is renamed to registry.refused-PID and a fresh
 *     one is made.
 * Everything read from the mapped registry afterwards is validated before
 * use (registry.h); the capacities used are the compiled ones, never the
 * header's.
 *
 * Storage (backing.h): every page of the registry is backed before any
 * process touches it, so a full file system is an error (inotify_init1
 * ENOMEM, inotify_add_watch ENOSPC, an event IN_Q_OVERFLOW), never a
 * SIGBUS.  Backed for an empty domain: the header, the instances and both
 * bucket arrays, 8,372 KiB of the 90,300 KiB file; each 64 KiB chunk of
 * inode or watch records (1,638 of either) is backed under the lock when
 * the first record in it is handed out: 8,500 KiB for 1,000 watches.
 *
 * A file that shrinks, vanishes or is replaced while in use:
 *   - a process that starts after, or re-opens the file (to back more
 *     records, to map a queue), checks it by fstat against the geometry
 *     (size, identity; st_blocks on tmpfs) before it maps or extends
 *     anything, and refuses it: it never faults;
 *   - a process that had the file mapped when it was truncated can still
 *     die of SIGBUS at its next touch of a page past the new end: the
 *     kernel unmaps those pages and faults the access, and the library
 *     installs no signal handler in host programs (it would change their
 *     behaviour for every other fault), nor can it seal a file that every
 *     process of the domain must be able to open by name (only memfds
 *     take F_SEAL_SHRINK).  Only the file's owner, a member of a shared
 *     domain, or root can truncate it; any of them can equally kill or
 *     ptrace the process.  A file replaced (renamed over) or removed
 *     leaves such a process its old, whole mapping: it keeps working on a
 *     registry no one else sees, and refuses the new file when it next
 *     backs records (inotify_add_watch then fails with ENOSPC).
 *
 * Lock order (the kernel's, with the domain's names), and every wait's
 * bound (util/shlock.h: 20 ms, up to 250 ms while the holder runs):
 *   registry.lock                    instances, inodes, watches, wds
 *     queue.lock of one instance     that instance's events
 *   files.lock                       a leaf (openfiles.h), alone
 * A queue lock is never held while taking the registry lock.  No process
 * waits on another without bound: a taker that gives up covers what it
 * could not do with IN_Q_OVERFLOW (core/slots.h: slot_lost), and the
 * hooks' filter and the constructor take no lock at all.
 */
#ifndef SHIM_DOMAIN_H
#define SHIM_DOMAIN_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "layout.h"

/* Room left in a path for the name of a file of the domain. */
#define DOMAIN_DIR_MAX (PATH_MAX - 256)

struct domain {
	char dir[DOMAIN_DIR_MAX];
	dev_t dir_dev;		/* the directory checked at domain_open */
	ino_t dir_ino;
	bool shared;		/* shared with the group gid (domain.c) */
	gid_t gid;
	struct registry *reg;
	size_t size;
	dev_t reg_dev;		/* the registry file mapped at domain_open */
	ino_t reg_ino;
	struct reg_instance *instances;
	struct reg_inode *inodes;
	struct reg_watch *watches;
	uint32_t *inode_buckets;
	uint32_t *wd_buckets;
};

extern struct domain *shim_domain;

/* Open (creating if needed) the domain named by shim_config.  Returns 0 or
 * a negative errno; on failure shim_domain stays NULL.  Idempotent. */
int domain_open(void);

/* The hooks' fast test: can any watch of the domain match anything? */
static inline bool domain_watching(void)
{
	struct domain *d = shim_domain;
	return d && __atomic_load_n(&d->reg->watch_count, __ATOMIC_RELAXED) != 0;
}

/* Has any watch of the domain ever had IN_EXCL_UNLINK?  Until one has,
 * whether a closing fd's name was unlinked matters to no watch, and the
 * close hook does not ask /proc.  Set once, never cleared. */
static inline bool domain_excl_unlink_seen(void)
{
	struct domain *d = shim_domain;
	return d && __atomic_load_n(&d->reg->excl_unlink_seen, __ATOMIC_RELAXED) != 0;
}

/* Is any directory watched in the domain?  Until one is, no event can
 * reach a file's directory, and the open hook does not look it up (the
 * record's directory is asked later, hooks/files.c "Directories asked
 * late").  Exact at the time of the read, like domain_maybe_watched(). */
static inline bool domain_dirs_watched(void)
{
	struct domain *d = shim_domain;
	return d && __atomic_load_n(&d->reg->dirs_watched, __ATOMIC_RELAXED) != 0;
}

/* The hash bucket of an inode identity (registry.h). */
static inline uint32_t domain_inode_bucket(const struct ident *id)
{
	return (uint32_t)ident_hash(id) & (REGISTRY_WATCHES - 1);
}

/* The hooks' per-inode filter: can a watch be on this inode?  It reads the
 * inode's hash bucket without the lock: an empty bucket means that no
 * watched inode hashes there, so false is exact at the time of the read;
 * true may come from another inode of the same bucket (about 1 % of inodes
 * with 10,000 watched ones), and the caller then looks properly, under the
 * lock.  A watch added while the hook runs may or may not see its event, as
 * with the kernel's own marks.  While registry_repair() rebuilds the
 * buckets (a holder died), they may read empty: the repair makes
 * registry.repair_seq odd before and even again after, and a read that
 * overlaps it (a seqlock's reader) answers "maybe", so that the caller
 * waits for the lock and finds the watch once it is rebuilt. */
static inline bool domain_maybe_watched(const struct ident *id)
{
	struct domain *d = shim_domain;
	uint32_t seq, bucket;

	if (!d || __atomic_load_n(&d->reg->watch_count, __ATOMIC_RELAXED) == 0)
		return false;
	seq = __atomic_load_n(&d->reg->repair_seq, __ATOMIC_ACQUIRE);
	bucket = __atomic_load_n(&d->inode_buckets[domain_inode_bucket(id)],
				 __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return bucket != 0 || (seq & 1) ||
	       __atomic_load_n(&d->reg->repair_seq, __ATOMIC_RELAXED) != seq;
}

/* Take and release registry.lock.  domain_lock waits within the bounds of
 * util/shlock.h; it repairs the registry if the previous holder died.  It
 * returns 0, -ETIMEDOUT when it gave up (the holder is stopped, or slow
 * past the bound), or another negative errno when the lock is unusable:
 * the caller then gives up the operation and covers what it loses with
 * IN_Q_OVERFLOW (notify.c) or fails it (core.c: ENOMEM).
 *
 * Signals: asynchronous signals are blocked from before the lock is taken
 * until after it is released (util/sigdefer.h), so a signal handler that
 * runs a hooked call never finds its own thread holding the lock: it runs
 * once the lock is free, and its event is delivered after the one of the
 * call it interrupted.  The same holds for queue.lock and files.lock.  The
 * lock is also PTHREAD_MUTEX_ERRORCHECK, so a re-entry that still happened
 * (a synchronous signal's handler) fails with EDEADLK instead of hanging,
 * and that event is skipped.  Other threads wait for the lock, within the
 * bound.
 *
 * Test hook: $INOTIFY_SHIM_TEST_HOLD_LOCK (util/shlock.h) parks the
 * process inside this lock, a queue lock or files.lock. */
int domain_lock(struct domain *d);
void domain_unlock(struct domain *d);

/* The files of the domain, always reached through its directory:
 *
 * domain_dir_open opens the directory afresh (O_PATH | O_DIRECTORY |
 * O_NOFOLLOW | O_CLOEXEC) and checks by fstat that it is still the one
 * validated at domain_open; the caller closes it.  No fd is kept between
 * calls: programs close fds they did not open (close_range, daemons), and
 * a cached number could by then name anything.
 *
 * The others open the directory, do one *at() call with a NAME (no '/')
 * relative to it and close it again.  domain_openat always adds O_NOFOLLOW
 * and O_CLOEXEC.  Each returns its result or a negative errno (-ESTALE: the
 * directory was replaced since domain_open). */
int domain_dir_open(const struct domain *d);
int domain_openat(const struct domain *d, const char *name, int flags, mode_t mode);
int domain_unlinkat(const struct domain *d, const char *name);
int domain_renameat(const struct domain *d, const char *from, const char *to);

/* Is the file open on fd, st its fstat, acceptable by the rule of
 * domain.c?  Returns NULL, or why not (written into why). */
const char *domain_file_refused(const struct domain *d, int fd, const struct stat *st,
				char *why, size_t len);

/* Give a file this process just created in the domain its mode, whatever
 * the umask: 0600, or in a shared domain 0660 and the domain's group.
 * 0 or a negative errno. */
int domain_file_share(const struct domain *d, int fd);

/* The counters of layout.h that inotify-shim ps shows, for what the
 * library no longer prints: atomic adds, no lock, nothing when there is
 * no domain.  lost_overflow: an IN_Q_OVERFLOW queued for events lost
 * otherwise than to a full queue (no storage, a damaged queue, ...);
 * storage_failure: the file system could not back a page; refusal: a file
 * of the domain was refused. */
void domain_note_lost_overflow(void);
void domain_note_storage_failure(void);
void domain_note_refusal(void);

/* Rebuild every derived structure of the registry from the records.
 * Called with the lock held, after a holder died.  The buckets are
 * rebuilt inside an odd repair_seq (domain_maybe_watched). */
void registry_repair(struct domain *d);

#endif
