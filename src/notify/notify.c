/*
 * notify.c - see notify.h.
 *
 * Lock order: registry.lock is taken here; queue locks are taken inside
 * queue_add() while it is held (domain.h).
 *
 * Bounded waits (util/shlock.h): an event whose pass cannot have
 * registry.lock within the bound cannot be matched to its watches (their
 * lists are walked under the lock), so every instance that has a watch is
 * marked lost (slot_lost_all: lock-free, from the instances' records) and
 * gets IN_Q_OVERFLOW, a superset of those the event would have reached.
 * An instance whose queue lock is not had in time, or whose queue cannot
 * be mapped (no fd left), is marked lost alone (slot_lost).
 */
#include "notify.h"

#include <errno.h>
#include <sys/stat.h>

#include "../core/slots.h"
#include "../domain/registry.h"
#include "../queue/queue.h"
#include "../relay/relay.h"

#define MAX_DEAD 8

/* One delivery pass: instances found dead are reclaimed once it ends, so
 * that no watch list changes under the walk. */
struct pass {
	struct domain *d;
	uint32_t dead[MAX_DEAD];
	int ndead;
	int fd;			/* for IN_EXCL_UNLINK, or -1 */
	int unlinked;		/* -1 until asked */
	bool timedout;		/* begin() gave up on registry.lock */
};

static bool begin(struct pass *p, int fd)
{
	int r;

	p->d = shim_domain;
	p->ndead = 0;
	p->fd = fd;
	p->unlinked = fd >= 0 ? -1 : 0;
	p->timedout = false;
	if (!domain_watching())
		return false;
	slot_wake_unwoken(p->d);
	r = domain_lock(p->d);
	if (r == -ETIMEDOUT)
		p->timedout = true;
	return r == 0;
}

/* begin() for a pass that gives events: one it cannot make is lost to
 * every instance that may have wanted it. */
static bool begin_events(struct pass *p, int fd)
{
	if (begin(p, fd))
		return true;
	if (p->timedout)
		slot_lost_all(p->d);
	return false;
}

static void end(struct pass *p)
{
	for (int i = 0; i < p->ndead; i++)
		slot_reclaim(p->d, p->dead[i]);
	domain_unlock(p->d);
}

static bool object_unlinked(struct pass *p)
{
	if (p->unlinked < 0) {
		struct inode_info info;
		p->unlinked = p->fd >= 0 && ident_fstat(p->fd, &info) == 0 &&
			      ident_fd_unlinked(p->fd, &info);
	}
	return p->unlinked;
}

/* Queue one event to the instance of watch w.  Registry lock held. */
static void queue_to(struct pass *p, struct reg_watch *w, int32_t wd,
		     uint32_t mask, uint32_t cookie, const char *name)
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
	ret = queue_add(q, wd, mask, cookie, name, &waker);
	if (ret == -ETIMEDOUT)
		slot_lost(p->d, ref);
	if (ret == -ENXIO) {
		for (int i = 0; i < p->ndead; i++)
			if (p->dead[i] == w->instance)
				return;
		if (p->ndead < MAX_DEAD)
			p->dead[p->ndead++] = w->instance;
	}
}

void notify_watch_ended_locked(struct domain *d, uint32_t widx)
{
	struct pass p = { .d = d, .fd = -1, .unlinked = 0 };
	struct reg_watch *w = reg_watch(d, widx);

	if (!w || w->state != RECORD_USED)
		return;
	queue_to(&p, w, w->wd, IN_IGNORED, 0, NULL);
	registry_remove_watch(d, widx);
	/* a dead instance found here is left to the next reap */
}

void notify_unmounted_locked(struct domain *d, uint32_t iidx)
{
	struct pass p = { .d = d, .fd = -1, .unlinked = 0 };
	struct reg_inode *in = reg_inode(d, iidx);
	struct chain_guard g = CHAIN_GUARD_INIT;
	struct reg_watch *w;
	uint32_t isdir;

	if (!in || in->state != RECORD_USED)
		return;
	isdir = (in->flags & INODE_DIR) ? IN_ISDIR : 0;
	for (uint32_t widx = in->marks; widx && (w = reg_watch(d, widx)) &&
					      chain_guard_ok(&g, widx);
	     widx = w->inode_next)
		if (w->state == RECORD_USED)
			queue_to(&p, w, w->wd, IN_UNMOUNT | isdir, 0, NULL);
	/* then every watch ends; the inode record goes with the last */
	for (uint32_t guard = 0; in->state == RECORD_USED && in->marks &&
				 guard <= REGISTRY_WATCHES; guard++) {
		uint32_t widx = in->marks;
		notify_watch_ended_locked(d, widx);
		if (in->marks == widx)	/* not unlinked: a damaged list */
			break;
	}
	/* a dead instance found here is left to the next reap */
}

/* Deliver to every watch on inode record iidx that wants the event. */
static void deliver(struct pass *p, uint32_t iidx, uint32_t mask,
		    uint32_t cookie, const char *name)
{
	struct reg_inode *in = reg_inode(p->d, iidx);
	struct chain_guard g = CHAIN_GUARD_INIT;
	struct reg_watch *w;
	uint32_t next;

	if (!in || in->state != RECORD_USED)
		return;
	relay_stamp(p->d, &in->id, mask, name);	/* the relay's dedup */
	for (uint32_t widx = in->marks; widx && (w = reg_watch(p->d, widx)) &&
					      chain_guard_ok(&g, widx);
	     widx = next) {
		next = w->inode_next;
		if (w->state != RECORD_USED || !(w->mask & mask & IN_ALL_EVENTS))
			continue;
		if ((w->flags & IN_EXCL_UNLINK) && object_unlinked(p))
			continue;
		queue_to(p, w, w->wd, mask, cookie, name);
		if (w->flags & IN_ONESHOT)
			notify_watch_ended_locked(p->d, widx);
	}
}

/* The filter, before any lock: can a watch be on this inode? */
static bool may_match(const struct inode_info *info)
{
	return info && domain_maybe_watched(&info->id);
}

static uint32_t find(struct pass *p, const struct inode_info *info)
{
	return info ? registry_find_inode(p->d, &info->id) : 0;
}

static uint32_t isdir_bit(const struct inode_info *info)
{
	return info && S_ISDIR(info->mode) ? IN_ISDIR : 0;
}

void notify_child(uint32_t mask, const struct notify_obj *o)
{
	struct pass p;
	uint32_t dir, self;

	if (!may_match(o->inode) && !(o->name && o->name[0] && may_match(o->dir)))
		return;
	if (!begin_events(&p, o->fd))
		return;
	if (o->fd < 0)
		p.unlinked = o->unlinked;
	mask |= isdir_bit(o->inode);
	dir = o->name && o->name[0] ? find(&p, o->dir) : 0;
	self = find(&p, o->inode);
	if (dir)
		deliver(&p, dir, mask, 0, o->name);
	if (self)
		deliver(&p, self, mask, 0, NULL);
	end(&p);
}

void notify_entry(uint32_t mask, const struct inode_info *dir, const char *name,
		  bool isdir, uint32_t cookie)
{
	struct pass p;
	uint32_t idx;

	if (!may_match(dir) || !begin_events(&p, -1))
		return;
	idx = find(&p, dir);
	if (idx)
		deliver(&p, idx, mask | (isdir ? IN_ISDIR : 0), cookie, name);
	end(&p);
}

void notify_self(uint32_t mask, const struct inode_info *inode)
{
	struct pass p;
	uint32_t idx;

	if (!may_match(inode) || !begin_events(&p, -1))
		return;
	if (!(mask & (IN_MOVE_SELF | IN_DELETE_SELF)))
		mask |= isdir_bit(inode);
	idx = find(&p, inode);
	if (idx)
		deliver(&p, idx, mask, 0, NULL);
	end(&p);
}

void notify_gone(const struct inode_info *inode)
{
	struct pass p;
	uint32_t idx;
	struct reg_inode *in;

	if (!may_match(inode) || !begin_events(&p, -1))
		return;
	idx = find(&p, inode);
	if (idx)
		deliver(&p, idx, IN_DELETE_SELF, 0, NULL);
	/* every watch left on it ends; the inode record goes with the last */
	for (uint32_t guard = 0; (in = reg_inode(p.d, idx)) && in->state == RECORD_USED &&
				 in->marks && guard <= REGISTRY_WATCHES; guard++) {
		uint32_t widx = in->marks;
		notify_watch_ended_locked(p.d, widx);
		if (in->marks == widx)	/* not unlinked: a damaged list */
			break;
	}
	end(&p);
}

void notify_dir_newly_watched_locked(struct domain *d)
{
	/* the move counter is what the records' names are stamped with */
	__atomic_add_fetch(&d->reg->cookie, 1, __ATOMIC_RELAXED);
}

static uint32_t new_cookie(void)
{
	struct domain *d = shim_domain;
	uint32_t c;

	do
		c = __atomic_add_fetch(&d->reg->cookie, 1, __ATOMIC_RELAXED);
	while (c == 0);
	return c;
}

void notify_move(const struct inode_info *olddir, const char *oldname,
		 const struct inode_info *newdir, const char *newname,
		 const struct inode_info *moved, const struct inode_info *target)
{
	struct pass p;
	uint32_t cookie, isdir, idx;

	if (!may_match(olddir) && !may_match(newdir) && !may_match(moved) &&
	    !may_match(target))
		return;
	if (!begin_events(&p, -1))
		return;
	cookie = new_cookie();
	isdir = isdir_bit(moved);
	if ((idx = find(&p, olddir)))
		deliver(&p, idx, IN_MOVED_FROM | isdir, cookie, oldname);
	if ((idx = find(&p, newdir)))
		deliver(&p, idx, IN_MOVED_TO | isdir, cookie, newname);
	if (target && (idx = find(&p, target)))
		deliver(&p, idx, IN_ATTRIB | isdir_bit(target), 0, NULL);
	if ((idx = find(&p, moved)))
		deliver(&p, idx, IN_MOVE_SELF, 0, NULL);
	end(&p);
}

bool notify_watched(const struct ident *id)
{
	struct pass p;
	bool watched;

	if (!domain_maybe_watched(id))
		return false;
	if (!begin(&p, -1))
		return p.timedout;	/* not known: maybe */
	watched = registry_find_inode(p.d, id) != 0;
	end(&p);
	return watched;
}

bool notify_mark_delete_pending(const struct ident *id)
{
	struct pass p;
	struct reg_inode *in;

	if (!domain_maybe_watched(id) || !begin_events(&p, -1))
		return false;
	in = reg_inode(p.d, registry_find_inode(p.d, id));
	if (in)
		in->flags |= INODE_DELETE_PENDING;
	end(&p);
	return in != NULL;
}

/* Add n (+1 or -1) to the opens of the directory's inode record, held
 * within the field; returns true if it is watched. */
static bool count_opens(const struct ident *id, int n)
{
	const uint32_t max = UINT32_MAX >> INODE_OPENS_SHIFT;
	struct pass p;
	struct reg_inode *in;
	uint32_t opens;

	if (!domain_maybe_watched(id) || !begin(&p, -1))
		return false;
	in = reg_inode(p.d, registry_find_inode(p.d, id));
	if (in) {
		opens = in->flags >> INODE_OPENS_SHIFT;
		if (n > 0 && opens < max)
			opens++;
		else if (n < 0 && opens > 0)
			opens--;
		in->flags = (in->flags & ((1u << INODE_OPENS_SHIFT) - 1)) |
			    (opens << INODE_OPENS_SHIFT);
	}
	end(&p);
	return in != NULL;
}

bool notify_dir_opened(const struct ident *id)
{
	return count_opens(id, 1);
}

void notify_dir_closed(const struct ident *id)
{
	count_opens(id, -1);
}

bool notify_dir_maybe_open(const struct ident *id)
{
	struct pass p;
	struct reg_inode *in;
	bool open;

	if (!domain_maybe_watched(id) || !begin(&p, -1))
		return false;
	in = reg_inode(p.d, registry_find_inode(p.d, id));
	open = in && (in->flags >> INODE_OPENS_SHIFT) != 0;
	end(&p);
	return open;
}

bool notify_take_delete_pending(const struct ident *id)
{
	struct pass p;
	struct reg_inode *in;
	bool was = false;

	if (!domain_maybe_watched(id) || !begin_events(&p, -1))
		return false;
	in = reg_inode(p.d, registry_find_inode(p.d, id));
	if (in && (in->flags & INODE_DELETE_PENDING)) {
		in->flags &= ~INODE_DELETE_PENDING;
		was = true;
	}
	end(&p);
	return was;
}
