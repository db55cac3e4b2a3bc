/*
 * inject.h - deliver an event of another host to the local watches of the
 * same root, as a local hook would have: through notify's functions
 * (notify.h), which apply the rules, masks, IN_ISDIR, merging and
 * overflow for every consumer, then core's entry point, with origin
 * CORE_ORIGIN_BRIDGE.  bridge_inject is the one place that turns a record
 * into a delivery.
 */
#ifndef SHIM_BRIDGE_INJECT_H
#define SHIM_BRIDGE_INJECT_H

#include "cookies.h"
#include "record.h"
#include "roots.h"

/* Deliver ev, of root r, to the local domain; its move cookie through cm. */
void bridge_inject(struct bridge_root *r, const struct bridge_event *ev,
		   struct cookie_map *cm);

/* Events under r were lost: every local watch on an inode known under r
 * gets IN_Q_OVERFLOW, once per instance (overflow.c). */
void bridge_overflow(struct bridge_root *r, int own_fd);

#endif
