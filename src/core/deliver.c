/*
 * deliver.c - the delivery entry point (core.h, "Delivery"): the one place
 * where an event enters the domain, the user-space form of the seed's
 * ih->in_ops->handle_event(watch, wd, mask, cookie, name).
 *
 * Lock order: registry.lock is taken by core_pass_begin(); queue locks are
 * taken inside queue_add() while it is held (domain.h).
 *
 * Bounded waits (util/shlock.h): a pass that cannot have registry.lock
 * within the bound cannot be matched to its watches (their lists are
 * walked under the lock), so every instance that has a watch is marked
 * lost (slot_lost_all: lock-free, from the instances' records) and gets
 * IN_Q_OVERFLOW, a superset of those the event would have reached.  An
 * instance whose queue lock is not had in time, or whose queue cannot be
 * mapped (no fd left), is marked lost alone (slot_lost).
 */
#include "core.h"

#include <errno.h>
#include <sys/inotify.h>

#include "../domain/registry.h"

bool core_pass_begin(struct core_pass *p, bool events)
{
	int r;

	p->d = shim_domain;
	p->ndead = 0;
	p->timedout = false;
	if (!domain_watching())
		return false;
	slot_wake_unwoken(p->d);
	r = domain_lock(p->d);
	if (r == -ETIMEDOUT) {
		p->timedout = true;
		if (events)	/* an event not made is lost to all */
			slot_lost_all(p->d);
	}
	return r == 0;
}

void core_pass_locked(struct core_pass *p, struct domain *d)
{
	p->d = d;
	p->ndead = 0;
	p->timedout = false;
}

void core_pass_end(struct core_pass *p)
{
	for (int i = 0; i < p->ndead; i++)
		slot_reclaim(p->d, p->dead[i]);
	domain_unlock(p->d);
}

/* An instance found dead on delivery, reclaimed when the pass ends (a
 * pass made under another's lock leaves it to the next reap). */
static void note_dead(struct core_pass *p, uint32_t slot)
{
	for (int i = 0; i < p->ndead; i++)
		if (p->dead[i] == slot)
			return;
	if (p->ndead < CORE_PASS_MAX_DEAD)
		p->dead[p->ndead++] = slot;
}

/* The queueing operation: the event to the instance of watch w. */
static void queue_event(struct core_pass *p, const struct reg_watch *w,
			const struct core_event *ev)
{
	struct reg_instance *inst = reg_instance(p->d, w->instance);
	struct slot_ref ref;
	struct queue_waker waker;
	struct queue *q;
	int ret;

	if (!inst || inst->state != RECORD_USED)
		return;
	ref = (struct slot_ref){ w->instance, inst->gen };
	q = slot_queue(p->d, ref);
	if (!q) {
		slot_lost(p->d, ref);	/* no fd to map it: an overflow */
		return;
	}
	slot_producer_waker(&ref, &waker);
	ret = queue_add(q, w->wd, ev->mask, ev->cookie, ev->name, &waker);
	if (ret == -ETIMEDOUT)
		slot_lost(p->d, ref);
	if (ret == -ENXIO)
		note_dead(p, w->instance);
}

static const struct core_event_ops queue_ops = {
	.handle_event = queue_event,
};

/* The source instance of this process (core_set_source_instance). */
static struct {
	bool set;
	enum core_origin origin;
	struct slot_ref ref;
} source;

void core_set_source_instance(enum core_origin origin, struct slot_ref ref)
{
	source.origin = origin;
	source.ref = ref;
	source.set = true;
}

static bool own_event(struct core_pass *p, const struct reg_watch *w,
		      const struct core_event *ev)
{
	if (!source.set || ev->origin != source.origin || w->instance != source.ref.slot ||
	    (ev->mask & IN_IGNORED))
		return false;
	const struct reg_instance *inst = reg_instance(p->d, w->instance);
	return inst && inst->gen == source.ref.gen;
}

void core_handle_event(struct core_pass *p, uint32_t widx, const struct core_event *ev)
{
	const struct reg_watch *w = reg_watch(p->d, widx);

	if (!w || w->state != RECORD_USED || own_event(p, w, ev))
		return;
	queue_ops.handle_event(p, w, ev);
}
