/*
 * transport.c - bridge events through NATS JetStream, with the NATS C
 * client (libnats); no protocol code of our own.
 *
 * Streams: one stream per root, "ISHIM_<NAME>", subjects
 * "ishim.<NAME>.<host>".  Why not one stream with a subject per root: a
 * stream's limits (messages, age) and its sequence are per stream, so
 *   - a busy root cannot push another root's events out of the limits;
 *   - a consumer reads its root's whole stream, so consecutive messages
 *     have consecutive stream sequences and a jump is an exact, per-root
 *     sign of loss (order.h), which one shared stream with filtered
 *     consumers would not give;
 *   - "events under root R were lost" is then the stream's own fact.
 * The cost is one stream and one consumer per root: roots are few.
 * The streams are in memory (replicated in a cluster): no consumer ever
 * replays them (below), so a file store would only slow every event; a
 * restarted server loses what it held, which its consumers report as
 * lost anyway, and the stream is made again when they resubscribe.
 *
 * Publishing: asynchronous (js_PublishAsync), with the JetStream message id
 * "<host>.<incarnation>.<seq>" so that a resend within the stream's
 * duplicate window (two minutes) is stored once.  What the bridge read at
 * once is published as one message of up to BRIDGE_BATCH records (its id
 * the first's seq; record.h): the cost of a message (its publication, the
 * server's store and acknowledgement, its delivery to every consumer) is
 * paid once per batch, and a lone event still goes at once.  seq counts every event of
 * the root, also those whose publication failed, so consumers see the gap.
 *
 * Consuming: per root, an ephemeral push consumer that starts at "new"
 * (DeliverNew), acknowledges nothing (AckNone: loss is detected, not
 * repaired), with flow control and heartbeats.  Never a durable one: a
 * restarted bridge starts from what is published after it subscribed, so
 * it never delivers an event that happened while it was not running, nor
 * one from before a watch it serves existed (bounded by the latency of the
 * events in flight when the watch is made).  Own-host events (host equal to
 * ours) are dropped, so that no host re-injects what it published.
 *
 * Loss, each turned into one "lost" for the root (coalesced until it was
 * dispatched), after which the order's baselines are reset:
 *   - the connection lost (disconnected callback): every root; once
 *     reconnected, each root's consumer is made again at "new" (the old
 *     one may be gone with its server), in the dispatching thread;
 *   - a slow consumer, missed heartbeats or a sequence mismatch reported
 *     by the library: that root, and its consumer is made again;
 *   - a jump in the stream's or the origin's sequence (order.c);
 *   - our own queue full (the dispatcher fell behind), or a record that
 *     cannot be decoded.
 *
 * Threads: the library's threads (message callbacks, connection callbacks)
 * only queue, under t->lock; decoding, ordering and the handlers run in
 * bridge_transport_dispatch's thread.  Lock order: t->lock is a leaf.
 *
 * This file: the connection, the streams, publication, closing; consume.c:
 * the consumers, the queue and the dispatch.
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

static void on_disconnected(natsConnection *nc, void *closure)
{
	struct bridge_transport *t = closure;

	(void)nc;
	pthread_mutex_lock(&t->lock);
	t->stats.connected = 0;
	if (!t->closing)
		for (int i = 0; i < t->nroots; i++)
			tr_lost_locked(t->roots[i], true);
	pthread_mutex_unlock(&t->lock);
	tr_wake(t);
}

/* The library's last callback for the connection: after it, t may go. */
static void on_closed(natsConnection *nc, void *closure)
{
	struct bridge_transport *t = closure;

	(void)nc;
	pthread_mutex_lock(&t->lock);
	t->closed = true;
	pthread_cond_broadcast(&t->closed_cond);
	pthread_mutex_unlock(&t->lock);
}

static void on_reconnected(natsConnection *nc, void *closure)
{
	struct bridge_transport *t = closure;

	(void)nc;
	pthread_mutex_lock(&t->lock);
	t->stats.connected = 1;
	for (int i = 0; i < t->nroots; i++)
		t->roots[i]->resub = true;
	pthread_mutex_unlock(&t->lock);
	tr_wake(t);
}

static void on_error(natsConnection *nc, natsSubscription *sub, natsStatus err,
		     void *closure)
{
	struct bridge_transport *t = closure;

	(void)nc;
	if (!sub)
		return;
	pthread_mutex_lock(&t->lock);
	for (int i = 0; i < t->nroots; i++)
		if (t->roots[i]->sub == sub)
			tr_lost_locked(t->roots[i], err != NATS_SLOW_CONSUMER);
	pthread_mutex_unlock(&t->lock);
	tr_wake(t);
}

static void on_pub_error(jsCtx *js, jsPubAckErr *pae, void *closure)
{
	struct bridge_transport *t = closure;

	(void)js;
	(void)pae;
	__atomic_add_fetch(&t->stats.publish_failed, 1, __ATOMIC_RELAXED);
}

static int set_servers(natsOptions *o, const char *list)
{
	char *copy = strdup(list), *save = NULL;
	const char *urls[16];
	int n = 0;

	if (!copy)
		return -1;
	for (char *u = strtok_r(copy, ",", &save); u && n < 16;
	     u = strtok_r(NULL, ",", &save))
		urls[n++] = u;
	natsStatus s = n ? natsOptions_SetServers(o, urls, n) : NATS_INVALID_ARG;
	free(copy);
	return s == NATS_OK ? 0 : -1;
}

static natsStatus make_options(struct bridge_transport *t, const char *servers)
{
	natsStatus s = natsOptions_Create(&t->opts);

	if (s == NATS_OK && set_servers(t->opts, servers))
		s = NATS_INVALID_ARG;
	/* one event is one message, sent at once: the library's flusher
	 * would hold it for up to a millisecond */
	if (s == NATS_OK)
		s = natsOptions_SetSendAsap(t->opts, true);
	if (s == NATS_OK)
		s = natsOptions_SetMaxReconnect(t->opts, -1);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectWait(t->opts, 100);
	if (s == NATS_OK)
		s = natsOptions_SetTimeout(t->opts, 2000);
	if (s == NATS_OK)
		s = natsOptions_SetPingInterval(t->opts, 1000);
	if (s == NATS_OK)
		s = natsOptions_SetMaxPingsOut(t->opts, 2);
	if (s == NATS_OK)
		s = natsOptions_SetDisconnectedCB(t->opts, on_disconnected, t);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectedCB(t->opts, on_reconnected, t);
	if (s == NATS_OK)
		s = natsOptions_SetClosedCB(t->opts, on_closed, t);
	if (s == NATS_OK)
		s = natsOptions_SetErrorHandler(t->opts, on_error, t);
	return s;
}

struct bridge_transport *bridge_transport_open(const struct bridge_transport_config *c,
					       char *err, size_t errsize)
{
	struct bridge_transport *t = calloc(1, sizeof(*t));
	jsOptions jo;

	if (!t) {
		snprintf(err, errsize, "out of memory");
		return NULL;
	}
	if (!bridge_token_valid(c->host)) {
		snprintf(err, errsize, "host id '%s': 1 to 64 of A-Z a-z 0-9 _ -", c->host);
		free(t);
		return NULL;
	}
	strcpy(t->host, c->host);
	while (!t->incarnation)
		if (getrandom(&t->incarnation, sizeof(t->incarnation), 0) < 0)
			t->incarnation = (uint64_t)nats_NowInNanoSeconds() ^ (uint64_t)getpid();
	t->replicas = c->replicas > 0 ? c->replicas : 1;
	t->max_msgs = c->max_msgs > 0 ? c->max_msgs : 1000000;
	t->max_age_ms = c->max_age_ms > 0 ? c->max_age_ms : 3600 * 1000;
	t->queue_max = c->queue_max > 0 ? c->queue_max : QUEUE_MAX;
	t->tail = &t->head;
	t->stats.connected = 1;
	pthread_mutex_init(&t->lock, NULL);
	pthread_cond_init(&t->closed_cond, NULL);
	t->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	natsStatus s = t->efd < 0 ? NATS_SYS_ERROR : nats_Open(-1);
	if (s == NATS_OK)
		s = make_options(t, c->servers);
	if (s == NATS_OK)
		s = natsConnection_Connect(&t->nc, t->opts);
	if (s == NATS_OK) {
		jsOptions_Init(&jo);
		jo.PublishAsync.ErrHandler = on_pub_error;
		jo.PublishAsync.ErrHandlerClosure = t;
		jo.PublishAsync.MaxPending = 65536;
		/* a publication that finds 65,536 unacknowledged waits 50 ms at
		 * most, then fails (counted: a gap, an overflow at the
		 * receivers): the bridge never stalls on a server gone */
		jo.PublishAsync.StallWait = 50;
		s = natsConnection_JetStream(&t->js, t->nc, &jo);
	}
	if (s != NATS_OK) {
		snprintf(err, errsize, "%s: %s", c->servers, natsStatus_GetText(s));
		bridge_transport_close(t);
		return NULL;
	}
	return t;
}

natsStatus tr_ensure_stream(struct bridge_transport *t, struct root *r,
				jsErrCode *jerr)
{
	jsStreamInfo *si = NULL;
	jsStreamConfig sc;
	const char *subjects[] = { r->filter };

	natsStatus s = js_GetStreamInfo(&si, t->js, r->stream, NULL, jerr);
	if (s == NATS_OK) {
		jsStreamInfo_Destroy(si);
		return s;
	}
	if (s != NATS_NOT_FOUND)
		return s;
	jsStreamConfig_Init(&sc);
	sc.Name = r->stream;
	sc.Subjects = subjects;
	sc.SubjectsLen = 1;
	sc.Storage = js_MemoryStorage;	/* see the top: nothing is replayed */
	sc.Discard = js_DiscardOld;
	sc.MaxMsgs = t->max_msgs;
	sc.MaxAge = t->max_age_ms * 1000000;
	sc.Replicas = t->replicas;
	sc.Duplicates = (int64_t)120 * 1000000000;
	s = js_AddStream(&si, t->js, &sc, NULL, jerr);
	jsStreamInfo_Destroy(si);
	if (s != NATS_OK &&
	    (*jerr == JSStreamNameExistErr || *jerr == JSStreamSubjectOverlapErr)) {
		/* Another bridge made it meanwhile.  The server answers a
		 * creation that races another with either error (the name, or
		 * the subjects of the stream being made), so it is asked again
		 * whether the stream is there now: it is the same stream. */
		si = NULL;
		*jerr = 0;
		s = js_GetStreamInfo(&si, t->js, r->stream, NULL, jerr);
		jsStreamInfo_Destroy(si);
	}
	return s;
}

int bridge_transport_add_root(struct bridge_transport *t, const char *name,
			      char *err, size_t errsize)
{
	jsErrCode jerr = 0;
	struct root *r;

	if (!bridge_token_valid(name)) {
		snprintf(err, errsize, "root name '%s': 1 to 64 of A-Z a-z 0-9 _ -", name);
		return -1;
	}
	if (t->nroots == ROOTS_MAX || !(r = calloc(1, sizeof(*r)))) {
		snprintf(err, errsize, "too many roots");
		return -1;
	}
	r->t = t;
	r->lag_ms = -1;
	strcpy(r->name, name);
	snprintf(r->stream, sizeof(r->stream), "ISHIM_%s", name);
	snprintf(r->filter, sizeof(r->filter), "ishim.%s.>", name);
	snprintf(r->subject, sizeof(r->subject), "ishim.%s.%s", name, t->host);
	natsStatus s = tr_ensure_stream(t, r, &jerr);
	if (s == NATS_OK) {
		pthread_mutex_lock(&t->lock);
		t->roots[t->nroots++] = r;
		pthread_mutex_unlock(&t->lock);
		s = tr_subscribe(t, r, &jerr);
		if (s == NATS_OK)
			return 0;
		pthread_mutex_lock(&t->lock);
		t->nroots--;
		pthread_mutex_unlock(&t->lock);
	}
	snprintf(err, errsize, "root %s: %s (JetStream error %d)", name,
		 natsStatus_GetText(s), (int)jerr);
	free(r);
	return -1;
}

static struct root *root_find(struct bridge_transport *t, const char *name)
{
	for (int i = 0; i < t->nroots; i++)
		if (!strcmp(t->roots[i]->name, name))
			return t->roots[i];
	return NULL;
}

/* Publish n records (one root, one host, consecutive seqs) as one
 * message, its id that of the first. */
static int publish_records(struct bridge_transport *t, const struct bridge_event *ev,
			   int n)
{
	static unsigned char buf[BRIDGE_BATCH_BYTES + BRIDGE_RECORD_MAX];
	char id[BRIDGE_HOST_MAX + 48];
	jsPubOptions po;
	char subject[BRIDGE_ROOT_MAX + BRIDGE_HOST_MAX + 16];
	size_t len = 0;

	for (int i = 0; i < n; i++) {
		int l = bridge_record_encode(&ev[i], buf + len, sizeof(buf) - len);
		if (l < 0)
			return -1;
		len += (size_t)l;
	}
	snprintf(subject, sizeof(subject), "ishim.%s.%s", ev->root, ev->host);
	snprintf(id, sizeof(id), "%s.%016" PRIx64 ".%" PRIu64, ev->host,
		 ev->incarnation, ev->seq);
	jsPubOptions_Init(&po);
	po.MsgId = id;
	if (js_PublishAsync(t->js, subject, buf, (int)len, &po) != NATS_OK) {
		__atomic_add_fetch(&t->stats.publish_failed, (uint64_t)n, __ATOMIC_RELAXED);
		return -1;
	}
	__atomic_add_fetch(&t->stats.published, (uint64_t)n, __ATOMIC_RELAXED);
	return 0;
}

int bridge_transport_publish_raw(struct bridge_transport *t,
				 const struct bridge_event *ev)
{
	return publish_records(t, ev, 1);
}

int bridge_transport_publish_batch(struct bridge_transport *t, struct bridge_event *ev,
				   int n)
{
	if (n <= 0)
		return 0;
	pthread_mutex_lock(&t->lock);
	struct root *r = root_find(t, ev->root);
	for (int i = 0; r && i < n; i++)
		ev[i].seq = ++r->pub_seq;
	pthread_mutex_unlock(&t->lock);
	if (!r)
		return -1;
	for (int i = 0; i < n; i++) {
		strcpy(ev[i].host, t->host);
		ev[i].incarnation = t->incarnation;
	}
	return publish_records(t, ev, n);
}

int bridge_transport_publish(struct bridge_transport *t, struct bridge_event *ev)
{
	return bridge_transport_publish_batch(t, ev, 1);
}

int bridge_transport_flush(struct bridge_transport *t, int timeout_ms)
{
	jsPubOptions po;

	jsPubOptions_Init(&po);
	po.MaxWait = timeout_ms;
	return js_PublishAsyncComplete(t->js, &po) == NATS_OK ? 0 : -1;
}


int64_t bridge_transport_stream_msgs(struct bridge_transport *t, const char *name)
{
	char stream[BRIDGE_ROOT_MAX + 8];
	jsStreamInfo *si = NULL;
	jsErrCode jerr = 0;

	snprintf(stream, sizeof(stream), "ISHIM_%s", name);
	if (js_GetStreamInfo(&si, t->js, stream, NULL, &jerr) != NATS_OK)
		return -1;
	int64_t n = (int64_t)si->State.Msgs;
	jsStreamInfo_Destroy(si);
	return n;
}

void bridge_transport_stats(struct bridge_transport *t, struct bridge_stats *s)
{
	pthread_mutex_lock(&t->lock);
	*s = t->stats;
	s->published = __atomic_load_n(&t->stats.published, __ATOMIC_RELAXED);
	s->publish_failed = __atomic_load_n(&t->stats.publish_failed, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&t->lock);
}

void bridge_transport_close(struct bridge_transport *t)
{
	if (!t)
		return;
	pthread_mutex_lock(&t->lock);
	t->closing = true;
	pthread_mutex_unlock(&t->lock);
	for (int i = 0; i < t->nroots; i++) {
		if (t->roots[i]->sub) {
			natsSubscription_Unsubscribe(t->roots[i]->sub);
			natsSubscription_Destroy(t->roots[i]->sub);
		}
	}
	jsCtx_Destroy(t->js);
	if (t->nc) {
		/* the callbacks run on the library's thread, after the close
		 * returns: wait for the last one (bounded) before freeing t */
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 5;
		natsConnection_Close(t->nc);
		pthread_mutex_lock(&t->lock);
		while (!t->closed &&
		       pthread_cond_timedwait(&t->closed_cond, &t->lock, &until) == 0)
			;
		pthread_mutex_unlock(&t->lock);
	}
	natsConnection_Destroy(t->nc);
	natsOptions_Destroy(t->opts);
	for (struct item *it = t->head, *next; it; it = next) {
		next = it->next;
		natsMsg_Destroy(it->msg);
		free(it);
	}
	for (int i = 0; i < t->nroots; i++)
		free(t->roots[i]);
	if (t->efd >= 0)
		close(t->efd);
	pthread_mutex_destroy(&t->lock);
	pthread_cond_destroy(&t->closed_cond);
	free(t);
}

