/*
 * overflow.c - events under a root were lost (the bridge lost its server,
 * fell behind past the stream's limits, or a host could not publish): give
 * every local watch on an inode known under the root IN_Q_OVERFLOW, once
 * per instance, as the kernel gives one when its queue lost events.
 *
 * There is no delivery entry point for that yet (issue 14): this walks the
 * registry under registry.lock as notify.c does and queues through the
 * queue's own call, so the queue's rules (merging with a queued overflow,
 * the reader's wakeup) hold.  The bridge's own instance is left out: it
 * publishes, it does not read for a watcher.
 */
#include <sys/inotify.h>

#include "core/slots.h"
#include "domain/registry.h"
#include "fd/fdtable.h"
#include "queue/queue.h"

#include "inject.h"

#define MAX_TOLD 1024

struct told {
	struct domain *d;
	uint32_t own;
	uint32_t slots[MAX_TOLD];
	int n;
};

static void tell_instance(struct told *t, uint32_t slot)
{
	for (int i = 0; i < t->n; i++)
		if (t->slots[i] == slot)
			return;
	if (t->n == MAX_TOLD || slot == t->own)
		return;
	t->slots[t->n++] = slot;
	struct reg_instance *inst = reg_instance(t->d, slot);
	if (!inst || inst->state != RECORD_USED)
		return;
	struct slot_ref ref = { slot, inst->gen };
	struct queue *q = slot_queue(t->d, ref);
	struct queue_waker waker;
	if (!q)
		return;
	slot_producer_waker(&ref, &waker);
	queue_add(q, -1, IN_Q_OVERFLOW, 0, NULL, &waker);
}

static void tell_inode(void *arg, const struct inode_info *in)
{
	struct told *t = arg;
	uint32_t idx = registry_find_inode(t->d, &in->id);
	struct reg_inode *ri = idx ? reg_inode(t->d, idx) : NULL;
	struct chain_guard g = CHAIN_GUARD_INIT;
	struct reg_watch *w;

	if (!ri || ri->state != RECORD_USED)
		return;
	for (uint32_t widx = ri->marks; widx && (w = reg_watch(t->d, widx)) &&
					    chain_guard_ok(&g, widx);
	     widx = w->inode_next)
		if (w->state == RECORD_USED)
			tell_instance(t, w->instance);
}

void bridge_overflow(struct bridge_root *r, int own_fd)
{
	static struct told t;
	struct slot_ref own;

	t.d = shim_domain;
	t.n = 0;
	t.own = fdtable_instance(own_fd, &own) ? own.slot : UINT32_MAX;
	if (!t.d || !domain_watching() || domain_lock(t.d) != 0)
		return;
	idcache_each(r, tell_inode, &t);
	domain_unlock(t.d);
}
