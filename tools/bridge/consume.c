/*
 * consume.c - the consuming side of the transport (transport.c says the
 * design): each root's consumer, the queue that the library's threads
 * fill, and the dispatch that decodes, orders and hands events over in
 * the caller's thread.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "transport_int.h"

void tr_wake(struct bridge_transport *t)
{
	uint64_t one = 1;
	ssize_t r = write(t->efd, &one, sizeof(one));
	(void)r;
}

/* t->lock held. */
static void tr_enqueue_locked(struct bridge_transport *t, struct item *it)
{
	it->next = NULL;
	*t->tail = it;
	t->tail = &it->next;
	t->queued++;
}

/* t->lock held. */
void tr_lost_locked(struct root *r, bool resub)
{
	struct bridge_transport *t = r->t;

	if (resub)
		r->resub = true;
	if (r->lost_queued)
		return;
	struct item *it = calloc(1, sizeof(*it));
	if (!it)
		return;		/* retried by the next loss; nothing else to do */
	it->root = r;
	it->gen = r->gen;
	r->lost_queued = true;
	tr_enqueue_locked(t, it);
}

static void on_msg(natsConnection *nc, natsSubscription *sub, natsMsg *msg,
		   void *closure)
{
	struct root *r = closure;
	struct bridge_transport *t = r->t;
	jsMsgMetaData *meta = NULL;
	struct item *it = NULL;

	(void)nc;
	(void)sub;
	if (natsMsg_GetMetaData(&meta, msg) == NATS_OK)
		it = malloc(sizeof(*it));
	pthread_mutex_lock(&t->lock);
	bool wake = !t->head;	/* the dispatcher takes the whole queue at once */
	if (it && t->queued < t->queue_max && !r->lost_queued) {
		it->root = r;
		it->gen = r->gen;
		it->msg = msg;
		it->stream_seq = meta->Sequence.Stream;
		it->num_pending = meta->NumPending;
		it->stamp_ns = meta->Timestamp;
		r->queued++;
		tr_enqueue_locked(t, it);
		msg = NULL;
		it = NULL;
	} else {
		t->stats.dropped++;
		tr_lost_locked(r, false);
	}
	wake |= r->lost_queued;
	pthread_mutex_unlock(&t->lock);
	if (wake)
		tr_wake(t);
	free(it);
	jsMsgMetaData_Destroy(meta);
	natsMsg_Destroy(msg);
}

/* Make r's consumer at "new"; called without t->lock. */
natsStatus tr_subscribe(struct bridge_transport *t, struct root *r,
			    jsErrCode *jerr)
{
	jsSubOptions so;
	natsSubscription *sub = NULL;

	jsSubOptions_Init(&so);
	so.Stream = r->stream;
	so.Config.DeliverPolicy = js_DeliverNew;
	so.Config.AckPolicy = js_AckNone;
	so.Config.FlowControl = true;
	so.Config.Heartbeat = (int64_t)1000 * 1000000;
	natsStatus s = js_Subscribe(&sub, t->js, r->filter, on_msg, r, NULL, &so, jerr);
	if (s == NATS_OK)
		natsSubscription_SetPendingLimits(sub, 1 << 20, 256 << 20);
	pthread_mutex_lock(&t->lock);
	natsSubscription *old = r->sub;
	if (s == NATS_OK) {
		r->sub = sub;
		r->gen++;
		r->resub = false;
	} else {
		r->resub = true;
		r->resub_after = nats_Now() + RESUB_RETRY_MS;
	}
	pthread_mutex_unlock(&t->lock);
	if (s == NATS_OK && old) {
		natsSubscription_Unsubscribe(old);
		natsSubscription_Destroy(old);
	}
	return s;
}

int bridge_transport_fd(struct bridge_transport *t)
{
	return t->efd;
}

/* Make again the consumers that need it (their retry time come). */
static void resubscribe_due(struct bridge_transport *t)
{
	for (int i = 0; i < t->nroots; i++) {
		struct root *r = t->roots[i];
		jsErrCode jerr = 0;
		pthread_mutex_lock(&t->lock);
		bool due = r->resub && t->stats.connected &&
			   nats_Now() >= r->resub_after;
		pthread_mutex_unlock(&t->lock);
		/* the stream is made again too: in memory, it went with a
		 * restarted server */
		if (due && tr_ensure_stream(t, r, &jerr) != NATS_OK) {
			pthread_mutex_lock(&t->lock);
			r->resub_after = nats_Now() + RESUB_RETRY_MS;
			pthread_mutex_unlock(&t->lock);
			continue;
		}
		if (due)
			tr_subscribe(t, r, &jerr);
	}
}

static void note_lag(struct bridge_transport *t, struct root *r, const struct item *it)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	int64_t ms = ((int64_t)now.tv_sec * 1000000000 + now.tv_nsec - it->stamp_ns) / 1000000;
	pthread_mutex_lock(&t->lock);
	r->server_pending = it->num_pending;
	r->lag_ms = ms < 0 ? 0 : ms;
	pthread_mutex_unlock(&t->lock);
}

/* The dispatching thread only: it alone replaces r->sub (tr_subscribe),
 * so the library is asked outside t->lock (a leaf). */
int bridge_transport_root_lag(struct bridge_transport *t, const char *name,
			      struct bridge_root_lag *lag)
{
	struct root *r = NULL;
	int msgs = 0;

	for (int i = 0; i < t->nroots; i++)
		if (!strcmp(t->roots[i]->name, name))
			r = t->roots[i];
	if (!r)
		return -1;
	if (r->sub && natsSubscription_GetPending(r->sub, &msgs, NULL) != NATS_OK)
		msgs = 0;
	pthread_mutex_lock(&t->lock);
	lag->events = r->server_pending + (uint64_t)r->queued + (uint64_t)(msgs > 0 ? msgs : 0);
	lag->last_ms = r->lag_ms;
	pthread_mutex_unlock(&t->lock);
	return 0;
}

static int lost(struct bridge_transport *t, struct root *r,
		const struct bridge_handlers *h)
{
	order_reset(&r->order);
	t->stats.losses++;
	h->lost(h->arg, r->name);
	return 1;
}

/* One queued item: decode its records, order, hand over.  Returns how
 * many events and losses were handed. */
static int dispatch_one(struct bridge_transport *t, struct item *it,
			const struct bridge_handlers *h)
{
	struct root *r = it->root;
	static struct bridge_event ev;

	if (!it->msg)
		return lost(t, r, h);
	if (it->gen != r->gen)
		return 0;	/* from a consumer replaced after a loss */
	note_lag(t, r, it);
	const unsigned char *p = (const unsigned char *)natsMsg_GetData(it->msg);
	size_t len = (size_t)natsMsg_GetDataLength(it->msg);
	int n = 0;
	for (bool first = true; len || first; first = false) {
		int l = bridge_record_decode_next(p, len, &ev);
		if (l < 0 || strcmp(ev.root, r->name))
			return n + lost(t, r, h);
		p += l;
		len -= (size_t)l;
		unsigned v = first ? order_check(&r->order, it->stream_seq, &ev)
				   : order_check_next(&r->order, &ev);
		if (v & ORDER_LOST)
			n += lost(t, r, h);
		if (!(v & ORDER_DELIVER)) {
			t->stats.duplicates++;
			continue;
		}
		if (!strcmp(ev.host, t->host))
			continue;	/* our own, back from the server (each
					 * record checked: its seq follows) */
		t->stats.received++;
		h->event(h->arg, &ev);
		n++;
	}
	return n;
}

int bridge_transport_dispatch(struct bridge_transport *t, int timeout_ms,
			      const struct bridge_handlers *h)
{
	struct pollfd p = { .fd = t->efd, .events = POLLIN };
	uint64_t count;
	int n = 0;

	resubscribe_due(t);
	pthread_mutex_lock(&t->lock);
	bool empty = !t->head;
	pthread_mutex_unlock(&t->lock);
	if (empty && timeout_ms > 0)
		poll(&p, 1, timeout_ms);
	if (read(t->efd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		return -1;
	pthread_mutex_lock(&t->lock);
	struct item *list = t->head;
	t->head = NULL;
	t->tail = &t->head;
	t->queued = 0;
	for (struct item *it = list; it; it = it->next) {
		if (!it->msg)
			it->root->lost_queued = false;
		else
			it->root->queued--;
	}
	pthread_mutex_unlock(&t->lock);
	while (list) {
		struct item *it = list;
		list = it->next;
		n += dispatch_one(t, it, h);
		natsMsg_Destroy(it->msg);
		free(it);
	}
	resubscribe_due(t);
	return n;
}

