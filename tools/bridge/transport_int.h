/*
 * transport_int.h - what transport.c (connection, streams, publication)
 * and consume.c (consumers, the queue, dispatch) share: the transport's
 * state.  See transport.c for the design and the locking.
 */
#ifndef SHIM_BRIDGE_TRANSPORT_INT_H
#define SHIM_BRIDGE_TRANSPORT_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <nats/nats.h>

#include "order.h"
#include "transport.h"

#define ROOTS_MAX 64
#define QUEUE_MAX 200000	/* default of queue_max */
#define RESUB_RETRY_MS 200

struct root {
	char name[BRIDGE_ROOT_MAX + 1];
	char stream[BRIDGE_ROOT_MAX + 8];
	char filter[BRIDGE_ROOT_MAX + 16];
	char subject[BRIDGE_ROOT_MAX + BRIDGE_HOST_MAX + 16];
	natsSubscription *sub;
	unsigned gen;		/* of sub; queued items of older ones are dropped */
	uint64_t pub_seq;
	bool lost_queued;	/* a "lost" is queued and not yet dispatched */
	bool resub;		/* make the consumer again */
	int64_t resub_after;	/* not before (nats_Now) */
	struct order order;	/* dispatching thread only */
	/* the lag (dispatching thread; read under t->lock by ..._root_lag) */
	uint64_t server_pending;	/* the stream's messages after the last one */
	int64_t lag_ms;		/* its age when it was dispatched, -1: none yet */
	int queued;		/* items of this root in the queue */
	struct bridge_transport *t;
};

struct item {
	struct item *next;
	struct root *root;
	unsigned gen;
	natsMsg *msg;		/* NULL: "lost" */
	uint64_t stream_seq;
	uint64_t num_pending;	/* the stream's messages after this one */
	int64_t stamp_ns;	/* when the stream stored it (UNIX time) */
};

struct bridge_transport {
	char host[BRIDGE_HOST_MAX + 1];
	uint64_t incarnation;
	int replicas;
	int64_t max_msgs, max_age_ms;
	int queue_max;
	natsOptions *opts;
	natsConnection *nc;
	jsCtx *js;
	int efd;

	pthread_mutex_t lock;
	struct root *roots[ROOTS_MAX];
	int nroots;
	struct item *head, **tail;
	int queued;
	bool closing;
	bool closed;		/* the library's closed callback ran */
	pthread_cond_t closed_cond;
	struct bridge_stats stats;
};

/* consume.c */
void tr_wake(struct bridge_transport *t);
/* t->lock held: queue "lost" for r (once until dispatched); resub: make
 * its consumer again. */
void tr_lost_locked(struct root *r, bool resub);
/* Make r's consumer at "new"; called without t->lock. */
natsStatus tr_subscribe(struct bridge_transport *t, struct root *r, jsErrCode *jerr);
/* transport.c: make r's stream unless it exists. */
natsStatus tr_ensure_stream(struct bridge_transport *t, struct root *r, jsErrCode *jerr);

#endif
