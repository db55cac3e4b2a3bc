/*
 * diff.h - the difference of two snapshots (snapshot.h) of the watched
 * objects, as the operations that a kernel watcher's events come from.
 *
 * One call compares every object looked at in one pass, so that a move
 * between two watched directories is seen as one move (its two ends are
 * paired by inode).  Each operation maps onto one call of notify/ (the
 * delivery, tools/scan.c), which applies the watches' masks, IN_ISDIR,
 * cookies, IN_ONESHOT and IN_IGNORED by the rules every source shares:
 *   SCAN_CHILD  mask about the object obj, named name in directory item
 *               (item -1: the object's own watches only)   notify_child
 *   SCAN_ENTRY  IN_CREATE or IN_DELETE of name in item     notify_entry
 *   SCAN_MOVE   obj moved from (item, name) to (item2, name2); either end
 *               -1 when not watched; replacing target      notify_move
 *   SCAN_SELF   mask about item's own object               notify_self
 *   SCAN_GONE   item's object is gone                      notify_gone
 * The order of the operations, and how attributes become event types,
 * are written at the top of diff.c.
 */
#ifndef SHIM_SCAN_DIFF_H
#define SHIM_SCAN_DIFF_H

#include "snapshot.h"

enum scan_op_kind { SCAN_CHILD, SCAN_ENTRY, SCAN_MOVE, SCAN_SELF, SCAN_GONE };

struct scan_op {
	enum scan_op_kind kind;
	uint32_t mask;
	int item, item2;
	const char *name, *name2;	/* point into the snapshots */
	struct scan_attr obj;
	bool has_target;
	struct scan_attr target;
};

struct scan_ops {
	size_t n, cap;
	struct scan_op *op;
};

/* One watched object, as looked at now and before. */
struct scan_item {
	const struct scan_snap *old;	/* !old->present: a first look, no events */
	struct scan_snap *now;		/* its SCAN_DIRTY flags are set here;
					 * old itself: nothing changed */
	bool dir;			/* its entries are compared */
	bool parent_watched;		/* its own changes are told by its parent's
					 * entry (SCAN_CHILD reaches its watches) */
	bool moved;			/* the caller saw its path leave it */
};

/* Compare items[0..n): append the operations to out (which the caller
 * zeroes first and frees with scan_ops_free).  0 or -ENOMEM. */
int scan_diff(struct scan_item *items, size_t n, struct scan_ops *out);
void scan_ops_free(struct scan_ops *o);

/* The attribute rules alone (diff.c): the events a change from a to b of
 * one object makes, IN_MODIFY and/or IN_ATTRIB; *self_only is set when
 * the change is one the kernel tells the object's own watches alone
 * (a link count). */
uint32_t scan_attr_events(const struct scan_attr *a, const struct scan_attr *b,
			  bool *self_only);

#endif
