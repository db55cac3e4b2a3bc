/*
 * inject.h - deliver an event of another host to the local watches of the
 * same root, as a local hook would have: through notify's functions
 * (notify.h), which apply the rules, masks, IN_ISDIR, merging and
 * overflow for every consumer.  bridge_inject is the one place that turns
 * a record into a delivery: when issue 14's delivery entry point lands, it
 * is pointed there, with origin "bridge".
 */
#ifndef SHIM_BRIDGE_INJECT_H
#define SHIM_BRIDGE_INJECT_H

#include "expect.h"
#include "record.h"
#include "roots.h"

/* Deliver ev, of root r (index ridx), to the local domain; note in x what
 * the bridge's own watches will report of it. */
void bridge_inject(struct bridge_root *r, int ridx, const struct bridge_event *ev,
		   struct expect *x);

/* Events under r were lost: every local watch on an inode known under r
 * gets IN_Q_OVERFLOW, once per instance (overflow.c). */
void bridge_overflow(struct bridge_root *r, int own_fd);

#endif
