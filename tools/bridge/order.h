/*
 * order.h - what a consumer of one root has seen, to deliver each host's
 * events once and in its order, and to know when some were lost.
 *
 * Two sequences are checked for every message of a root's stream:
 *   - the stream's own sequence: the consumer reads the whole stream of
 *     the root (one stream per root, see transport.c), so consecutive
 *     messages have consecutive stream sequences.  A lower or equal one is
 *     a redelivery (dropped); a jump means messages left the stream before
 *     this consumer read them (the stream's limits), or the client dropped
 *     them (a slow consumer): lost.
 *   - the origin's sequence, per (host, incarnation): the publisher numbers
 *     every event of a root from 1, also those it failed to publish, so a
 *     jump means the publisher lost some (its server was away): lost.  An
 *     equal or lower one is a duplicate the server's deduplication window
 *     did not catch: dropped.
 * The first message after a start or a loss only sets the baselines.
 */
#ifndef SHIM_BRIDGE_ORDER_H
#define SHIM_BRIDGE_ORDER_H

#include <stdint.h>

#include "record.h"

#define ORDER_ORIGINS 64	/* hosts remembered per root, least recent out */

struct order_origin {
	char host[BRIDGE_HOST_MAX + 1];
	uint64_t incarnation;
	uint64_t seq;
	uint64_t used;		/* for the replacement */
};

struct order {
	uint64_t stream_seq;	/* last stream sequence, 0: none yet */
	uint64_t clock;
	int norigins;
	struct order_origin origins[ORDER_ORIGINS];
};

/* order_check's answer: bits. */
#define ORDER_DELIVER 1u	/* new: deliver it */
#define ORDER_LOST 2u		/* some were lost before it: say so first */

/* Forget everything: the next message sets the baselines. */
void order_reset(struct order *o);

/* Check the message at stream sequence stream_seq holding ev (its first
 * record). */
unsigned order_check(struct order *o, uint64_t stream_seq,
			       const struct bridge_event *ev);
/* Check ev, a following record of the message last checked (only its
 * origin's sequence: the stream's is the message's). */
unsigned order_check_next(struct order *o, const struct bridge_event *ev);

#endif
