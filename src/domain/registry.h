/*
 * registry.h - the records of the shared registry: instances, watched
 * inodes and watches, and the indexes that find them.
 *
 * Every function here is called with registry.lock held (domain_lock) and
 * validates every index it reads from shared memory: an index out of range
 * reads as "none".
 *
 * Lifetimes:
 *   - an instance slot is LIVE from registry_alloc_instance() until
 *     registry_free_instance(), which the reaper calls once no process holds
 *     the instance's fd any more;
 *   - a watch lives from registry_add_watch() to registry_remove_watch();
 *   - an inode record lives while at least one watch is on it.
 * A record is marked USED only once every field is set, and FREE before it
 * is unlinked, so registry_repair() can rebuild the links from the states.
 */
#ifndef SHIM_DOMAIN_REGISTRY_H
#define SHIM_DOMAIN_REGISTRY_H

#include <stdbool.h>
#include <stdint.h>

#include "domain.h"

/* Walking a chain of records (a hash bucket, an inode's marks, an
 * instance's watches).  Its links live in shared memory, where another
 * process may have written anything: a chain may loop.  A walk asks
 * chain_guard_ok() with each index it reaches and stops when told.  It is
 * Brent's cycle finding: at steps 1, 2, 4, 8, ... the guard remembers the
 * index it is at, and stops when it meets the remembered one again, so a
 * loop is left within about twice its length plus its way in, a compare
 * and a test a step, instead of at the capacity (a million steps, each of
 * which may cost system calls in delivery).  The capacity still bounds a
 * walk whose links change under it. */
struct chain_guard {
	uint32_t seen;		/* the remembered index; 0 ends every chain */
	uint32_t steps;
};
#define CHAIN_GUARD_INIT { 0, 0 }

static inline bool chain_guard_ok(struct chain_guard *g, uint32_t idx)
{
	if (idx == g->seen)
		return false;
	g->steps++;
	if ((g->steps & (g->steps - 1)) == 0) {	/* a power of two */
		if (g->steps > REGISTRY_WATCHES)
			return false;
		g->seen = idx;
	}
	return true;
}

/* Storage of the records (layout.h, domain/backing.h): the highest inode
 * and watch index whose record is backed, clamped to the capacity; every
 * index read from shared memory is checked against them (reg_inode,
 * reg_watch).  registry_back_records backs the chunk holding record idx
 * (and those below it) of the inodes or the watches, before the allocator
 * hands it out; false when it cannot (a full file system, or a registry
 * file replaced or truncated since it was mapped: counted, no fault). */
uint32_t registry_inodes_backed(struct domain *d);
uint32_t registry_watches_backed(struct domain *d);
bool registry_back_records(struct domain *d, bool watches, uint32_t idx);

struct reg_instance *reg_instance(struct domain *d, uint32_t slot);
struct reg_inode *reg_inode(struct domain *d, uint32_t idx);
struct reg_watch *reg_watch(struct domain *d, uint32_t idx);

/* The hash buckets of an inode identity and of an (instance, wd) pair. */
uint32_t registry_inode_bucket(struct domain *d, const struct ident *id);
uint32_t registry_wd_bucket(struct domain *d, uint32_t slot, int32_t wd);

/* The inode record of id, or 0. */
uint32_t registry_find_inode(struct domain *d, const struct ident *id);

/* The watch of instance slot on inode record idx, or 0. */
uint32_t registry_find_mark(struct domain *d, uint32_t inode, uint32_t slot);

/* The watch of instance slot with descriptor wd, or 0. */
uint32_t registry_find_wd(struct domain *d, uint32_t slot, int32_t wd);

/* A new watch of instance slot on inode id (a directory if isdir), with
 * the next cyclic wd.  Returns the watch index, or -ENOSPC when the
 * domain's watches (limit or capacity) are used up. */
int registry_add_watch(struct domain *d, uint32_t slot, const struct ident *id,
		       bool isdir, uint32_t mask, uint32_t flags, long limit);

/* Unlink and free a watch, and its inode record if it was the last mark. */
void registry_remove_watch(struct domain *d, uint32_t widx);
/* A watch now has these flags (IN_EXCL_UNLINK, IN_ONESHOT ...): keeps
 * the domain's set-once hints (domain_excl_unlink_seen()). */
void registry_note_flags(struct domain *d, uint32_t flags);

/* A free instance slot, made LIVE.  Returns the slot or -EMFILE. */
int registry_alloc_instance(struct domain *d, uint32_t max_events, long limit);

/* Remove every watch of instance slot, without IN_IGNORED. */
void registry_remove_watches(struct domain *d, uint32_t slot);
/* Remove every watch of the instance (without events) and free its slot. */
void registry_free_instance(struct domain *d, uint32_t slot);

/* Holders: the (pid, fd) pairs known to hold an instance's fd.  The list
 * has HOLDERS_PER_INSTANCE places; when it is full, the holders that are
 * gone (dead, or their fd closed) are dropped first.  With that many live
 * holders, a new one is not listed (false): nothing depends on the list
 * but the after-exec adoption, which then finds the process's fds by
 * their FIFO (instance.c), and what others see (inotify-shim ps, another
 * process's /proc/PID/fdinfo).  A listed holder is never dropped while it
 * holds the fd. */
bool registry_add_holder(struct domain *d, uint32_t slot, int pid, int fd);
void registry_remove_holder(struct domain *d, uint32_t slot, int pid, int fd);

#endif
