/*
 * repair.c - rebuild the registry after a process died holding its lock.
 *
 * The records' state fields are the truth; every link, list, hash chain,
 * free list and count is derived from them here.  A watch whose instance or
 * inode is not USED, or whose fields are out of range, is dropped.
 *
 * Other processes' hooks read the inode buckets without the lock
 * (domain.h: domain_maybe_watched).  The rebuild clears them first, so it
 * is bracketed by repair_seq, a seqlock's sequence: odd from before the
 * first bucket is cleared until after the last one is rebuilt, and a read
 * that overlaps it answers "maybe watched".  No watched inode is ever
 * skipped because a repair ran: its event waits for the lock (within the
 * bound of util/shlock.h) or is covered by IN_Q_OVERFLOW.
 */
#include "domain.h"
#include "registry.h"

#include "../util/shlock.h"

#include <string.h>

void registry_repair(struct domain *d)
{
	struct registry *r = d->reg;
	uint32_t live = 0, count = 0, dirs = 0;
	uint32_t seq = __atomic_load_n(&r->repair_seq, __ATOMIC_RELAXED);

	/* odd, even if a holder died inside an earlier repair */
	__atomic_store_n(&r->repair_seq, (seq | 1) + 2, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);

	/* no record above what is backed was ever handed out (layout.h) */
	if (r->inode_hwm > registry_inodes_backed(d))
		r->inode_hwm = registry_inodes_backed(d);
	if (r->watch_hwm > registry_watches_backed(d))
		r->watch_hwm = registry_watches_backed(d);
	/* the capacities are the compiled ones, never the header's copy */
	memset(d->inode_buckets, 0, (size_t)REGISTRY_WATCHES * sizeof(uint32_t));
	memset(d->wd_buckets, 0, (size_t)REGISTRY_WATCHES * sizeof(uint32_t));

	for (uint32_t s = 1; s < REGISTRY_INSTANCES; s++) {
		struct reg_instance *inst = &d->instances[s];
		if (inst->state != RECORD_USED) {
			__atomic_store_n(&inst->state, RECORD_FREE, __ATOMIC_RELAXED);
			continue;
		}
		inst->watches = 0;
		__atomic_store_n(&inst->nwatches, 0, __ATOMIC_RELAXED);
		if (inst->nholders > HOLDERS_PER_INSTANCE)
			inst->nholders = HOLDERS_PER_INSTANCE;
		live++;
	}
	r->live_instances = live;
	shlock_test_point(SHLOCK_REPAIR);	/* test/bounded_waits.c */

	r->inode_free = 0;
	for (uint32_t i = r->inode_hwm; i >= 1; i--) {
		struct reg_inode *in = &d->inodes[i];
		if (!(i & 4095))
			shlock_progress(&r->lock_rec);	/* a long section: it runs */
		in->marks = 0;
		if (in->state == RECORD_USED) {
			uint32_t b = registry_inode_bucket(d, &in->id);
			in->hash_next = d->inode_buckets[b];
			d->inode_buckets[b] = i;
		} else {
			in->state = RECORD_FREE;
		}
	}

	r->watch_free = 0;
	for (uint32_t i = r->watch_hwm; i >= 1; i--) {
		struct reg_watch *w = &d->watches[i];
		struct reg_instance *inst = reg_instance(d, w->instance);
		struct reg_inode *in = reg_inode(d, w->inode);
		if (!(i & 4095))
			shlock_progress(&r->lock_rec);
		if (w->state == RECORD_USED && inst && inst->state == RECORD_USED &&
		    in && in->state == RECORD_USED && w->wd > 0) {
			uint32_t b = registry_wd_bucket(d, w->instance, w->wd);
			w->wd_next = d->wd_buckets[b];
			d->wd_buckets[b] = i;
			w->inode_next = in->marks;
			in->marks = i;
			w->inst_next = inst->watches;
			inst->watches = i;
			__atomic_add_fetch(&inst->nwatches, 1, __ATOMIC_RELAXED);
			count++;
		} else {
			w->state = RECORD_FREE;
			w->inode_next = r->watch_free;
			r->watch_free = i;
		}
	}

	/* inode records left without marks go back to the free list */
	for (uint32_t i = r->inode_hwm; i >= 1; i--) {
		struct reg_inode *in = &d->inodes[i];
		if (!(i & 4095))
			shlock_progress(&r->lock_rec);
		if (in->state == RECORD_USED && !in->marks) {
			uint32_t *link = &d->inode_buckets[registry_inode_bucket(d, &in->id)];
			struct chain_guard g = CHAIN_GUARD_INIT;
			struct reg_inode *p;
			while (*link != i && (p = reg_inode(d, *link)) && chain_guard_ok(&g, *link))
				link = &p->hash_next;
			if (*link == i)
				*link = in->hash_next;
			in->state = RECORD_FREE;
		}
		if (in->state == RECORD_FREE) {
			in->hash_next = r->inode_free;
			r->inode_free = i;
		} else if (in->flags & INODE_DIR) {
			dirs++;
		}
	}
	__atomic_store_n(&r->watch_count, count, __ATOMIC_RELAXED);
	__atomic_store_n(&r->dirs_watched, dirs, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	__atomic_store_n(&r->repair_seq, (seq | 1) + 3, __ATOMIC_RELAXED);
}
