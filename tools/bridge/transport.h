/*
 * transport.h - carrying bridge events through NATS JetStream (see the top
 * of transport.c for the design: streams, ids, consumers, loss).
 *
 * One transport per bridge process.  Events are published from any one
 * thread; received events and losses are queued by the library's threads
 * and handed to the caller by bridge_transport_dispatch, in the caller's
 * thread, so that the caller needs no lock of its own.  bridge_transport_fd
 * becomes readable when something is queued.
 */
#ifndef SHIM_BRIDGE_TRANSPORT_H
#define SHIM_BRIDGE_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "record.h"

struct bridge_transport;

struct bridge_transport_config {
	const char *servers;	/* "nats://h:p[,nats://h:p...]" */
	const char *host;	/* this host's id (a token, record.h) */
	int replicas;		/* of each root's stream; 0: 1 */
	int64_t max_msgs;	/* stream limit per root; 0: 1,000,000 */
	int64_t max_age_ms;	/* stream limit per root; 0: one hour */
	int queue_max;		/* messages received and not yet dispatched
				 * before the root is lost; 0: 200,000 */
};

/* Called by bridge_transport_dispatch: an event of another host, in that
 * host's order, once; or "events under root were lost". */
struct bridge_handlers {
	void (*event)(void *arg, const struct bridge_event *ev);
	void (*lost)(void *arg, const char *root);
	void *arg;
};

/* Connect.  Returns NULL with the reason in err. */
struct bridge_transport *bridge_transport_open(const struct bridge_transport_config *c,
					       char *err, size_t errsize);

/* Bridge the root NAME: make its stream if needed and consume it from now
 * on.  Returns 0, or -1 with the reason in err. */
int bridge_transport_add_root(struct bridge_transport *t, const char *name,
			      char *err, size_t errsize);

/* Publish ev (root, path, name, mask, cookie, isdir set by the caller;
 * host, incarnation and the root's next sequence set here).  Asynchronous:
 * returns 0 once queued, -1 if not (counted, and seen as a gap by every
 * consumer).  */
int bridge_transport_publish(struct bridge_transport *t, struct bridge_event *ev);

/* The same for n events of one root (ev[0].root), in their order, as one
 * message: n at most BRIDGE_BATCH, their records at most
 * BRIDGE_BATCH_BYTES together. */
#define BRIDGE_BATCH 256
#define BRIDGE_BATCH_BYTES (64 * 1024)
int bridge_transport_publish_batch(struct bridge_transport *t, struct bridge_event *ev,
				   int n);

/* Publish ev as it is, its host, incarnation and seq included (a resend;
 * for the tests of deduplication). */
int bridge_transport_publish_raw(struct bridge_transport *t,
				 const struct bridge_event *ev);

/* Wait up to timeout_ms for every publication to be acknowledged.
 * Returns 0, or -1 if some were not. */
int bridge_transport_flush(struct bridge_transport *t, int timeout_ms);

/* Readable while events or losses are queued (an eventfd). */
int bridge_transport_fd(struct bridge_transport *t);

/* Hand what is queued to h; wait up to timeout_ms for the first (0: do not
 * wait).  Re-creates consumers after a reconnection.  Returns how many
 * events and losses were handed. */
int bridge_transport_dispatch(struct bridge_transport *t, int timeout_ms,
			      const struct bridge_handlers *h);

/* Messages in root's stream (for the tests and for ps), or -1. */
int64_t bridge_transport_stream_msgs(struct bridge_transport *t, const char *name);

/* Counters for ps and the tests. */
struct bridge_stats {
	uint64_t published, publish_failed, received, duplicates, losses;
	uint64_t dropped;	/* received while the queue was full or lost */
	int connected;
};
void bridge_transport_stats(struct bridge_transport *t, struct bridge_stats *s);

/* How far behind the consumer of root NAME is (for ps): the messages that
 * the stream held after the last one dispatched (as the server said with
 * it), plus those received and not yet dispatched (the library's and
 * ours); and the age of the last one when it was dispatched (its stream
 * time stamp against this host's clock; -1 before the first).  Returns 0,
 * or -1 for an unknown root. */
struct bridge_root_lag {
	uint64_t events;
	int64_t last_ms;
};
int bridge_transport_root_lag(struct bridge_transport *t, const char *name,
			      struct bridge_root_lag *lag);

void bridge_transport_close(struct bridge_transport *t);

#endif
