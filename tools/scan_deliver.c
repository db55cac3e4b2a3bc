/*
 * scan_deliver.c - the scanner's events into the domain (see scan.h).
 *
 * Every operation maps onto the notify/ function that the hooks use for
 * the same change, in its *_from twin with the origin CORE_ORIGIN_SCANNER
 * (core.h: the one delivery entry point, core_handle_event, gets every
 * event with its origin; notify/ stamps no hook record for it), so that
 * the watches' masks, IN_ISDIR, cookies (one per move, from the domain's
 * counter), IN_ONESHOT, IN_IGNORED and the reclaiming of dead instances follow the rules every source shares.
 *
 * No double reports: before each operation, the bits that a hook already
 * told are dropped (scan/hookstamp.h says how it knows).
 */
#include <stddef.h>
#include <sys/inotify.h>

#include "domain/registry.h"
#include "notify/notify.h"
#include "scan/hookstamp.h"

#include "scan.h"

static struct inode_info info(const struct scan_attr *a)
{
	return (struct inode_info){ .id = { a->dev, a->ino, a->btime },
				    .mode = a->mode, .nlink = a->nlink };
}

/* The directory of item i as it is now (or was, if it is gone). */
static struct inode_info item_info(const struct scan_item *items, int i)
{
	const struct scan_item *it = &items[i];

	return info(it->now->present ? &it->now->self : &it->old->self);
}

/* The bits of mask about name in the record of id that a hook told. */
static uint32_t told(const struct inode_info *rec, uint32_t mask, const char *name,
		     int64_t t, int64_t since)
{
	struct domain *d = shim_domain;
	struct reg_inode *in;
	uint32_t bits = 0;

	if (domain_lock(d) < 0)
		return 0;
	in = reg_inode(d, registry_find_inode(d, &rec->id));
	if (in && in->state == RECORD_USED)
		bits = hookstamp_told(in, mask, name, t, since);
	domain_unlock(d);
	return bits;
}

static int64_t since(struct scan_obj **objs, int item)
{
	return item >= 0 ? objs[item]->first_ns : 0;
}

/* The operation without what a hook told: false if nothing is left. */
static bool untold(const struct scan_item *items, struct scan_obj **objs,
		   struct scan_op *op)
{
	struct inode_info obj = info(&op->obj), dir;
	int64_t t = op->obj.ctime;

	switch (op->kind) {
	case SCAN_CHILD:
		if (op->item >= 0) {
			dir = item_info(items, op->item);
			op->mask &= ~told(&dir, op->mask, op->name, t, since(objs, op->item));
		} else {
			op->mask &= ~told(&obj, op->mask, NULL, t, 0);
		}
		return op->mask != 0;
	case SCAN_ENTRY:
		dir = item_info(items, op->item);
		if (op->mask & IN_DELETE)	/* it went after the last look began */
			t = objs[op->item]->looked_ns;
		return !told(&dir, op->mask, op->name, t, since(objs, op->item));
	case SCAN_MOVE:
		if (op->item2 >= 0) {
			dir = item_info(items, op->item2);
			return !told(&dir, IN_MOVED_TO, op->name2, t, since(objs, op->item2));
		}
		dir = item_info(items, op->item);
		return !told(&dir, IN_MOVED_FROM, op->name, t, since(objs, op->item));
	case SCAN_SELF:
		op->mask &= ~told(&obj, op->mask, NULL, t, since(objs, op->item));
		return op->mask != 0;
	case SCAN_GONE:		/* a hook's would have ended the watches */
		return true;
	}
	return true;
}

static void one(const struct scan_item *items, struct scan_obj **objs,
		const struct scan_op *orig)
{
	struct scan_op copy = *orig, *op = &copy;
	struct inode_info obj = info(&op->obj), dir, dir2, target;

	if (!untold(items, objs, op))
		return;

	switch (op->kind) {
	case SCAN_CHILD:
		if (op->item >= 0)
			dir = item_info(items, op->item);
		notify_child_from(CORE_ORIGIN_SCANNER, op->mask, &(struct notify_obj){
			.inode = &obj, .dir = op->item >= 0 ? &dir : NULL,
			.name = op->item >= 0 ? op->name : NULL, .fd = -1 });
		break;
	case SCAN_ENTRY:
		dir = item_info(items, op->item);
		notify_entry_from(CORE_ORIGIN_SCANNER, op->mask, &dir, op->name,
				  (op->obj.mode & 0170000) == 0040000, 0);
		break;
	case SCAN_MOVE:
		if (op->item >= 0)
			dir = item_info(items, op->item);
		if (op->item2 >= 0)
			dir2 = item_info(items, op->item2);
		if (op->has_target)
			target = info(&op->target);
		notify_move_from(CORE_ORIGIN_SCANNER, op->item >= 0 ? &dir : NULL, op->name,
				 op->item2 >= 0 ? &dir2 : NULL, op->name2, &obj,
				 op->has_target ? &target : NULL);
		break;
	case SCAN_SELF:
		notify_self_from(CORE_ORIGIN_SCANNER, op->mask, &obj);
		break;
	case SCAN_GONE:
		notify_gone_from(CORE_ORIGIN_SCANNER, &obj);
		if (op->item >= 0)
			objs[op->item]->gone = true;
		break;
	}
}

void scan_deliver(struct scan_set *s, const struct scan_item *items,
		  struct scan_obj **objs, const struct scan_ops *ops)
{
	for (size_t i = 0; i < ops->n; i++)
		one(items, objs, &ops->op[i]);
	s->events += ops->n;
}
