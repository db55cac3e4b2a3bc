/*
 * notify.c - see notify.h.
 *
 * notify decides; core queues.  Each pass here walks the watches of the
 * inodes it is given, decides which match and what each gets, and hands
 * every event to core's entry point (core_handle_event, core.h), under a
 * pass that core begins and ends (registry.lock, the bounded wait and the
 * lost-event marking are core's: core/deliver.c).  No queue or slot is
 * touched here.
 */
#include "notify.h"

#include <errno.h>
#include <sys/stat.h>

#include "../core/core.h"
#include "../domain/registry.h"
#include "../relay/relay.h"
#include "../scan/hookstamp.h"

/* One pass of this module: core's, and what IN_EXCL_UNLINK asks. */
struct pass {
	struct core_pass core;	/* .d, .timedout: core.h */
	enum core_origin origin;
	int fd;			/* for IN_EXCL_UNLINK, or -1 */
	int unlinked;		/* -1 until asked */
};

static bool start(struct pass *p, int fd, enum core_origin origin, bool events)
{
	bool ok = core_pass_begin(&p->core, events);

	p->origin = origin;
	p->fd = fd;
	p->unlinked = fd >= 0 ? -1 : 0;
	return ok;
}

static bool begin(struct pass *p, int fd)
{
	return start(p, fd, CORE_ORIGIN_HOOK, false);
}

/* begin() for a pass that gives events: one it cannot make is lost to
 * every instance that may have wanted it (core_pass_begin). */
static bool begin_events(struct pass *p, int fd, enum core_origin origin)
{
	return start(p, fd, origin, true);
}

/* A pass inside the caller's registry.lock. */
static void begin_locked(struct pass *p, struct domain *d, enum core_origin origin)
{
	core_pass_locked(&p->core, d);
	p->origin = origin;
	p->fd = -1;
	p->unlinked = 0;
}

static void end(struct pass *p)
{
	core_pass_end(&p->core);
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

/* The event to watch widx, through core's entry point. */
static void give(struct pass *p, uint32_t widx, uint32_t mask, uint32_t cookie,
		 const char *name)
{
	struct core_event ev = { p->origin, mask, cookie, name };

	core_handle_event(&p->core, widx, &ev);
}

/* End watch widx: IN_IGNORED, of the origin of the event that ended it,
 * in a pass of its own (a dead instance found here is left to the next
 * reap).  Registry lock held. */
static void end_watch(struct domain *d, uint32_t widx, enum core_origin origin)
{
	struct pass p;
	struct reg_watch *w = reg_watch(d, widx);

	if (!w || w->state != RECORD_USED)
		return;
	begin_locked(&p, d, origin);
	give(&p, widx, IN_IGNORED, 0, NULL);
	registry_remove_watch(d, widx);
}

void notify_watch_ended_locked(struct domain *d, uint32_t widx)
{
	end_watch(d, widx, CORE_ORIGIN_HOOK);
}

void notify_unmounted_locked(struct domain *d, uint32_t iidx)
{
	notify_unmounted_from_locked(CORE_ORIGIN_HOOK, d, iidx);
}

void notify_unmounted_from_locked(enum core_origin origin, struct domain *d, uint32_t iidx)
{
	struct pass p;
	struct reg_inode *in = reg_inode(d, iidx);
	struct chain_guard g = CHAIN_GUARD_INIT;
	struct reg_watch *w;
	uint32_t isdir;

	if (!in || in->state != RECORD_USED)
		return;
	begin_locked(&p, d, origin);
	isdir = (in->flags & INODE_DIR) ? IN_ISDIR : 0;
	for (uint32_t widx = in->marks; widx && (w = reg_watch(d, widx)) &&
					      chain_guard_ok(&g, widx);
	     widx = w->inode_next)
		if (w->state == RECORD_USED)
			give(&p, widx, IN_UNMOUNT | isdir, 0, NULL);
	/* then every watch ends; the inode record goes with the last */
	for (uint32_t guard = 0; in->state == RECORD_USED && in->marks &&
				 guard <= REGISTRY_WATCHES; guard++) {
		uint32_t widx = in->marks;
		end_watch(d, widx, origin);
		if (in->marks == widx)	/* not unlinked: a damaged list */
			break;
	}
	/* a dead instance found here is left to the next reap */
}

/* Deliver to every watch on inode record iidx that wants the event. */
static void deliver(struct pass *p, uint32_t iidx, uint32_t mask,
		    uint32_t cookie, const char *name)
{
	struct reg_inode *in = reg_inode(p->core.d, iidx);
	struct chain_guard g = CHAIN_GUARD_INIT;
	struct reg_watch *w;
	uint32_t next;

	if (!in || in->state != RECORD_USED)
		return;
	/* for the scanner: told already */
	hookstamp_note(in, mask, name, p->origin == CORE_ORIGIN_SCANNER);
	relay_stamp(p->core.d, &in->id, mask, name);	/* the relay's dedup */
	for (uint32_t widx = in->marks; widx && (w = reg_watch(p->core.d, widx)) &&
					      chain_guard_ok(&g, widx);
	     widx = next) {
		next = w->inode_next;
		if (w->state != RECORD_USED || !(w->mask & mask & IN_ALL_EVENTS))
			continue;
		if ((w->flags & IN_EXCL_UNLINK) && object_unlinked(p))
			continue;
		give(p, widx, mask, cookie, name);
		if (w->flags & IN_ONESHOT)
			end_watch(p->core.d, widx, p->origin);
	}
}

/* The filter, before any lock: can a watch be on this inode? */
static bool may_match(const struct inode_info *info)
{
	return info && domain_maybe_watched(&info->id);
}

static uint32_t find(struct pass *p, const struct inode_info *info)
{
	return info ? registry_find_inode(p->core.d, &info->id) : 0;
}

static uint32_t isdir_bit(const struct inode_info *info)
{
	return info && S_ISDIR(info->mode) ? IN_ISDIR : 0;
}

void notify_child_from(enum core_origin origin, uint32_t mask, const struct notify_obj *o)
{
	struct pass p;
	uint32_t dir, self;

	if (!may_match(o->inode) && !(o->name && o->name[0] && may_match(o->dir)))
		return;
	if (!begin_events(&p, o->fd, origin))
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

void notify_child(uint32_t mask, const struct notify_obj *o)
{
	notify_child_from(CORE_ORIGIN_HOOK, mask, o);
}

void notify_entry_from(enum core_origin origin, uint32_t mask, const struct inode_info *dir,
		       const char *name, bool isdir, uint32_t cookie)
{
	struct pass p;
	uint32_t idx;

	if (!may_match(dir) || !begin_events(&p, -1, origin))
		return;
	idx = find(&p, dir);
	if (idx)
		deliver(&p, idx, mask | (isdir ? IN_ISDIR : 0), cookie, name);
	end(&p);
}

void notify_entry(uint32_t mask, const struct inode_info *dir, const char *name,
		  bool isdir, uint32_t cookie)
{
	notify_entry_from(CORE_ORIGIN_HOOK, mask, dir, name, isdir, cookie);
}

void notify_self_from(enum core_origin origin, uint32_t mask, const struct inode_info *inode)
{
	struct pass p;
	uint32_t idx;

	if (!may_match(inode) || !begin_events(&p, -1, origin))
		return;
	if (!(mask & (IN_MOVE_SELF | IN_DELETE_SELF)))
		mask |= isdir_bit(inode);
	idx = find(&p, inode);
	if (idx)
		deliver(&p, idx, mask, 0, NULL);
	end(&p);
}

void notify_self(uint32_t mask, const struct inode_info *inode)
{
	notify_self_from(CORE_ORIGIN_HOOK, mask, inode);
}

void notify_gone_from(enum core_origin origin, const struct inode_info *inode)
{
	struct pass p;
	uint32_t idx;
	struct reg_inode *in;

	if (!may_match(inode) || !begin_events(&p, -1, origin))
		return;
	idx = find(&p, inode);
	if (idx)
		deliver(&p, idx, IN_DELETE_SELF, 0, NULL);
	/* every watch left on it ends; the inode record goes with the last */
	for (uint32_t guard = 0; (in = reg_inode(p.core.d, idx)) && in->state == RECORD_USED &&
				 in->marks && guard <= REGISTRY_WATCHES; guard++) {
		uint32_t widx = in->marks;
		end_watch(p.core.d, widx, p.origin);
		if (in->marks == widx)	/* not unlinked: a damaged list */
			break;
	}
	end(&p);
}

void notify_gone(const struct inode_info *inode)
{
	notify_gone_from(CORE_ORIGIN_HOOK, inode);
}

void notify_dir_newly_watched_locked(struct domain *d)
{
	/* the move counter is what the records' names are stamped with */
	__atomic_add_fetch(&d->reg->cookie, 1, __ATOMIC_RELAXED);
}

uint32_t notify_new_cookie(void)
{
	struct domain *d = shim_domain;
	uint32_t c;

	do
		c = __atomic_add_fetch(&d->reg->cookie, 1, __ATOMIC_RELAXED);
	while (c == 0);
	return c;
}

void notify_move_from(enum core_origin origin, const struct inode_info *olddir,
		      const char *oldname, const struct inode_info *newdir,
		      const char *newname, const struct inode_info *moved,
		      const struct inode_info *target)
{
	struct pass p;
	uint32_t cookie, isdir, idx;

	if (!may_match(olddir) && !may_match(newdir) && !may_match(moved) &&
	    !may_match(target))
		return;
	if (!begin_events(&p, -1, origin))
		return;
	cookie = notify_new_cookie();
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

void notify_move(const struct inode_info *olddir, const char *oldname,
		 const struct inode_info *newdir, const char *newname,
		 const struct inode_info *moved, const struct inode_info *target)
{
	notify_move_from(CORE_ORIGIN_HOOK, olddir, oldname, newdir, newname, moved, target);
}

bool notify_watched(const struct ident *id)
{
	struct pass p;
	bool watched;

	if (!domain_maybe_watched(id))
		return false;
	if (!begin(&p, -1))
		return p.core.timedout;	/* not known: maybe */
	watched = registry_find_inode(p.core.d, id) != 0;
	end(&p);
	return watched;
}

bool notify_mark_delete_pending(const struct ident *id)
{
	struct pass p;
	struct reg_inode *in;

	if (!domain_maybe_watched(id) || !begin_events(&p, -1, CORE_ORIGIN_HOOK))
		return false;
	in = reg_inode(p.core.d, registry_find_inode(p.core.d, id));
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
	in = reg_inode(p.core.d, registry_find_inode(p.core.d, id));
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
	in = reg_inode(p.core.d, registry_find_inode(p.core.d, id));
	open = in && (in->flags >> INODE_OPENS_SHIFT) != 0;
	end(&p);
	return open;
}

bool notify_take_delete_pending(const struct ident *id)
{
	struct pass p;
	struct reg_inode *in;
	bool was = false;

	if (!domain_maybe_watched(id) || !begin_events(&p, -1, CORE_ORIGIN_HOOK))
		return false;
	in = reg_inode(p.core.d, registry_find_inode(p.core.d, id));
	if (in && (in->flags & INODE_DELETE_PENDING)) {
		in->flags &= ~INODE_DELETE_PENDING;
		was = true;
	}
	end(&p);
	return was;
}
