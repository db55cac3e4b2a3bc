/*
 * tap.h - the publish side: how the bridge sees the local domain's events
 * under its roots.
 *
 * Until issue 14 gives the domain one delivery entry point where a tap can
 * sit, the bridge holds watches of its own, through the library's API (an
 * emulated instance of the bridge process, as inotify-shim watch does), on
 * every directory under each root, recursively, following directories as
 * they appear: the hooks of every writer under the shim deliver to it as
 * to any other instance, so it sees changes under a root that no local
 * watch covers.  The cost to a writer is that of a watched directory: the
 * hook's registry lookup finds a watch and queues an event, where with no
 * watch it would have made no system call at all (bench/bridge reports).
 * The events the bridge injects never come back here: they are made with
 * origin CORE_ORIGIN_BRIDGE, which core does not queue to this instance
 * (core_set_source_instance, set by tap_open), so none is published again.
 */
#ifndef SHIM_BRIDGE_TAP_H
#define SHIM_BRIDGE_TAP_H

#include <stdbool.h>

#include "roots.h"
#include "transport.h"

struct tap_watch {
	int root;		/* -1: free */
	char *rel;
};

struct tap {
	int fd;			/* the bridge's instance */
	struct tap_watch *w;	/* by wd */
	int nw;
	struct bridge_root *roots;
	int nroots;
	struct bridge_transport *t;
	bool verbose;
	unsigned long published;
};

/* Make the instance and watch every directory under every root.  Returns
 * 0, or a negative errno (the message printed, prefixed with prog). */
int tap_open(struct tap *tp, const char *prog);

/* Read what the instance has, one buffer of it, and publish it (as
 * messages of up to BRIDGE_BATCH events).  Returns 1 if it read some (call
 * again: more may be there), 0 if there was none, or a negative errno
 * from the read. */
int tap_drain(struct tap *tp);

void tap_close(struct tap *tp);

#endif
