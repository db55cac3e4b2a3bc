/*
 * openfiles.h - open files shared between processes: who holds them.
 *
 * The kernel gives IN_CLOSE_* when the last reference to an open file
 * description goes, and fork, exec and posix_spawn hand those references
 * to other processes and process images.  Each process keeps its own
 * fd -> record map (fd/fdtable.h); a record that another process
 * (or the next image of this one) may hold is entered here, in the file
 * <domain dir>/files that every process maps, with one holder per
 * (pid, fd) that refers to it.  The process that removes the last live
 * holder gives the close events.
 *
 * Holders:
 *   (pid, fd)    process pid holds the file at fd;
 *   (pid, -1)    process pid holds it at an fd we could not find (a
 *                posix_spawn file action moved it): held until pid ends;
 *   (-pid, fd)   a placeholder: a child that pid is forking or spawning
 *                will hold it at fd.  The child claims it (fork's child
 *                handler, or the new image's constructor after
 *                posix_spawn), or the parent turns it into the child's pid
 *                once fork/posix_spawn returns, or removes it on failure.
 * A holder whose process is gone (killed, or an image outside the shim
 * that exited; a zombie counts as gone) is dropped whenever an entry is
 * asked whether it is still held: the close event then comes with the
 * last live holder.
 *
 * Lifetime: the file is created (published whole, as the registry is) the
 * first time a process shares a record, and lives with the domain.  An
 * entry lives from openfiles_alloc() until its last holder is removed; its
 * gen is bumped at every allocation so that a process holding a stale
 * (idx, gen) never touches a reused entry.
 *
 * Locking: one robust, process-shared mutex, files.lock, protects every
 * field below it but pid_refs (read without it as a hint).  It is a leaf:
 * it is taken with no other lock of the domain held (never inside
 * registry.lock or a queue lock) and nothing else is locked while it is
 * held; the close events are given after it is released.  A holder that
 * died with it held leaves entries that are repaired at the next lock
 * (counts clamped, empty entries freed, pid_refs recounted).  It is taken
 * within the bound of util/shlock.h (20 ms, up to 250 ms while its holder
 * runs); openfiles_lock() then fails with -ETIMEDOUT, the caller gives up
 * what it was doing, and, since a close event may be lost with it, every
 * instance that has a watch is marked lost (core/slots.h: slot_lost_all),
 * so that it gets IN_Q_OVERFLOW.
 *
 * Everything read from the file is validated: the header against the
 * compiled geometry, every index and count against the compiled
 * capacities.
 */
#ifndef SHIM_DOMAIN_OPENFILES_H
#define SHIM_DOMAIN_OPENFILES_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "../util/ident.h"
#include "../util/shlock.h"

#define OPENFILES_MAGIC 0x53454c4946534e49ULL /* "INSFILES" */
#define OPENFILES_VERSION 2	/* 2: lock_rec */
#define OPENFILES_ENTRIES 4096	/* entry 0 is never used */
#define OPENFILE_HOLDERS 30
#define OPENFILES_PID_BUCKETS 1024

struct of_holder {
	int32_t pid;
	int32_t fd;
};

/* What the close events need, copied from the record that was shared. */
struct of_data {
	uint32_t flags;		/* OFD_WRITE, OFD_DIR_KNOWN */
	struct inode_info inode;
	struct inode_info dir;
	char name[NAME_MAX + 1];
};

struct of_entry {
	uint32_t state;		/* 0 free, 1 used */
	uint32_t gen;
	uint32_t nholders;
	uint32_t overflow;	/* holders that did not fit: never released */
	struct of_data data;
	struct of_holder holders[OPENFILE_HOLDERS];
};

struct openfiles {
	uint64_t magic;
	uint32_t version;
	uint32_t header_size;
	uint64_t total_size;
	uint32_t uid;
	uint32_t nentries;
	uint32_t nholders;
	uint32_t entry_size;
	/* holders per bucket of |pid|: a hint read without the lock */
	uint32_t pid_refs[OPENFILES_PID_BUCKETS];
	struct shlock_rec lock_rec;	/* files.lock's record (util/shlock.h) */
	pthread_mutex_t lock;
	/* protected by lock */
	uint32_t hwm;		/* entries above it were never used */
	uint32_t repairs;
};

struct of_ref {
	uint32_t idx, gen;
};

/* The number of holders of e, read once and held to the capacity: every
 * loop over e->holders is bounded by it, at every step, since anyone with
 * the file mapped may write the count while we read it. */
static inline uint32_t openfiles_holders(const struct of_entry *e)
{
	uint32_t n = __atomic_load_n(&e->nholders, __ATOMIC_RELAXED);

	return n < OPENFILE_HOLDERS ? n : OPENFILE_HOLDERS;
}

/* Map <domain>/files, creating it if create and it does not exist.
 * Returns 0 or a negative errno.  Idempotent; needs shim_domain. */
int openfiles_map(bool create);
/* Is the file mapped (openfiles_map succeeded)? */
bool openfiles_mapped(void);
/* May pid hold or have placeholders here?  (hint, no lock) */
bool openfiles_maybe_holder(pid_t pid);

int openfiles_lock(void);
/* openfiles_lock() without the wait: -EBUSY while another holds it (for
 * a program's start, which takes no domain lock that it would wait for:
 * hooks/share.c, share_after_exec). */
int openfiles_trylock(void);
void openfiles_unlock(void);

/* The functions below are called with files.lock held. */

/* A new entry holding data, with no holders.  idx 0 when full. */
struct of_ref openfiles_alloc(const struct of_data *data);
/* The entry of ref, or NULL if it is no longer that allocation. */
struct of_entry *openfiles_get(struct of_ref ref);
struct of_entry *openfiles_at(uint32_t idx);	/* by index, used or not */
uint32_t openfiles_hwm(void);

bool openfiles_has(struct of_entry *e, int32_t pid, int32_t fd);
void openfiles_add(struct of_entry *e, int32_t pid, int32_t fd);
/* Remove one holder (pid, fd); fd -2 removes every holder of pid. */
bool openfiles_remove(struct of_entry *e, int32_t pid, int32_t fd);
/* Turn one holder (pid, fd) into (npid, nfd). */
bool openfiles_replace(struct of_entry *e, int32_t pid, int32_t fd,
		       int32_t npid, int32_t nfd);
/* Drop the holders of dead processes; if none is left, copy the entry's
 * data into *out, free the entry and return true (its close is due). */
bool openfiles_release_if_unheld(struct of_entry *e, struct of_data *out);
/* Would the entry still be held by a live process other than pid? */
bool openfiles_held_by_others(struct of_entry *e, int32_t pid);

#endif
