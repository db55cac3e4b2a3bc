/*
 * snapshot.h - a consistent copy of the domain's instances, taken under
 * registry.lock and read afterwards without it: what ps prints and what gc
 * reports.  Queue figures are read from each instance's queue file.
 */
#ifndef SHIM_TOOLS_SNAPSHOT_H
#define SHIM_TOOLS_SNAPSHOT_H

#include <stdbool.h>
#include <stdint.h>

#include "domain/layout.h"

struct snap_watch {
	int32_t wd;
	uint32_t mask;		/* events and flags (IN_ONESHOT ...) */
	uint64_t dev, ino;
	char *path;		/* where known, else NULL */
};

struct snap_instance {
	uint32_t slot, gen;
	bool alive;
	int32_t creator_pid;
	uint32_t nholders;
	struct reg_holder holders[HOLDERS_PER_INSTANCE];
	uint32_t max_events;
	uint32_t nwatches;
	struct snap_watch *watches;	/* nwatches of them, when asked for */
	/* from the queue file; queue_ok false when it could not be read */
	bool queue_ok;
	uint32_t events;
	uint64_t bytes, overflows, total_events;
};

struct snapshot {
	uint32_t count;
	struct snap_instance *inst;
};

/* Copy every used slot of the open domain.  with_watches: also each watch
 * (and its path where cheaply known).  Returns 0 or a negative errno. */
int snapshot_take(struct snapshot *s, bool with_watches);
void snapshot_free(struct snapshot *s);

#endif
