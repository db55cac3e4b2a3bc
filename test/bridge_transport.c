/*
 * bridge_transport.c - the bridge's transport (tools/bridge/transport.c)
 * against real nats-server processes with JetStream, on 127.0.0.1: round
 * trip, deduplication of a resent message id, each host's order, a server
 * killed and restarted mid-burst, a three-server cluster losing one.
 * Skipped, saying so, when nats-server is not installed.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include "bridge/transport.h"
#include "bridge_nats.h"

#define MAXSEQ 100000

static char base[] = "/tmp/bridge-transport.XXXXXX";
static struct nats_srv srv[3];
static int nsrv;

struct seen {
	int events, losses;
	uint64_t last[3];	/* per host index: last seq */
	int count[3];
	bool disorder;
	struct bridge_event ev;	/* the last one */
};

static int host_index(const char *h)
{
	return h[0] == 'a' ? 0 : h[0] == 'c' ? 1 : 2;
}

static void on_event(void *arg, const struct bridge_event *ev)
{
	struct seen *s = arg;
	int i = host_index(ev->host);

	if (ev->seq <= s->last[i])
		s->disorder = true;
	s->last[i] = ev->seq;
	s->count[i]++;
	s->events++;
	s->ev = *ev;
}

static void on_lost(void *arg, const char *root)
{
	struct seen *s = arg;

	cr_expect_str_eq(root, "proj");
	s->losses++;
}

static void setup(void)
{
	if (!nats_program())
		cr_skip_test("nats-server is not installed: bridge tests skipped");
	cr_assert(mkdtemp(base));
}

static void teardown(void)
{
	char cmd[PATH_MAX + 16];

	for (int i = 0; i < nsrv; i++)
		nats_kill(&srv[i]);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", base);
	if (base[strlen(base) - 1] != 'X')
		cr_expect_eq(system(cmd), 0);
}

static void one_server(void)
{
	nats_init(&srv[0], base, "s");
	nsrv = 1;
	cr_assert_eq(nats_start(&srv[0], 20000), 0, "nats-server did not start");
}

/* A transport for host id, with root "proj"; retried while a cluster
 * elects its leaders. */
static struct bridge_transport *open_host(const char *host, const char *urls,
					  int replicas)
{
	struct bridge_transport_config c = { .servers = urls, .host = host,
					     .replicas = replicas };
	char err[256];
	struct bridge_transport *t = bridge_transport_open(&c, err, sizeof(err));

	cr_assert(t, "open: %s", err);
	for (int i = 0; i < 300; i++) {
		if (bridge_transport_add_root(t, "proj", err, sizeof(err)) == 0)
			return t;
		usleep(100 * 1000);
	}
	cr_assert_fail("add_root: %s", err);
	return NULL;
}

static void event(struct bridge_event *ev, const char *path, const char *name,
		  uint32_t mask)
{
	memset(ev, 0, sizeof(*ev));
	strcpy(ev->root, "proj");
	strcpy(ev->path, path);
	strcpy(ev->name, name);
	ev->mask = mask;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Dispatch b's queue until cond holds or ms pass. */
#define DISPATCH_UNTIL(t, s, cond, ms) do { \
	struct bridge_handlers h_ = { on_event, on_lost, (s) }; \
	int64_t end_ = now_ms() + (ms); \
	while (!(cond) && now_ms() < end_) \
		bridge_transport_dispatch((t), 50, &h_); \
} while (0)

TestSuite(bridge_transport, .init = setup, .fini = teardown, .timeout = 120);

Test(bridge_transport, event_round_trips_between_hosts)
{
	one_server();
	struct bridge_transport *a = open_host("a", srv[0].url, 1);
	struct bridge_transport *b = open_host("b", srv[0].url, 1);
	struct bridge_event ev;
	struct seen s = { 0 };

	event(&ev, "src/lib", "new file", IN_MOVED_TO);
	ev.cookie = 77;
	cr_assert_eq(bridge_transport_publish(a, &ev), 0);
	cr_assert_eq(bridge_transport_flush(a, 5000), 0);
	DISPATCH_UNTIL(b, &s, s.events == 1, 10000);
	cr_assert_eq(s.events, 1);
	cr_expect_str_eq(s.ev.root, "proj");
	cr_expect_str_eq(s.ev.path, "src/lib");
	cr_expect_str_eq(s.ev.name, "new file");
	cr_expect_eq(s.ev.mask, IN_MOVED_TO);
	cr_expect_eq(s.ev.cookie, 77);
	cr_expect_str_eq(s.ev.host, "a");
	cr_expect_eq(s.ev.seq, 1);
	cr_expect_eq(s.losses, 0);
	bridge_transport_close(a);
	bridge_transport_close(b);
}

Test(bridge_transport, own_events_are_not_delivered_back)
{
	one_server();
	struct bridge_transport *a = open_host("a", srv[0].url, 1);
	struct bridge_transport *b = open_host("b", srv[0].url, 1);
	struct bridge_event ev;
	struct seen sa = { 0 }, sb = { 0 };

	event(&ev, "", "x", IN_CREATE);
	cr_assert_eq(bridge_transport_publish(a, &ev), 0);
	event(&ev, "", "y", IN_CREATE);
	cr_assert_eq(bridge_transport_publish(b, &ev), 0);
	cr_assert_eq(bridge_transport_flush(a, 5000), 0);
	cr_assert_eq(bridge_transport_flush(b, 5000), 0);
	DISPATCH_UNTIL(b, &sb, sb.events == 1, 10000);
	DISPATCH_UNTIL(a, &sa, sa.events == 1, 10000);
	/* each has read the other's event, so its own came back before it
	 * (one stream, in order) and was dropped */
	DISPATCH_UNTIL(a, &sa, false, 300);
	DISPATCH_UNTIL(b, &sb, false, 300);
	cr_expect_eq(sa.events, 1);
	cr_expect_str_eq(sa.ev.name, "y");
	cr_expect_eq(sb.events, 1);
	cr_expect_str_eq(sb.ev.name, "x");
	bridge_transport_close(a);
	bridge_transport_close(b);
}

Test(bridge_transport, resent_message_id_is_stored_once)
{
	one_server();
	struct bridge_transport *a = open_host("a", srv[0].url, 1);
	struct bridge_transport *b = open_host("b", srv[0].url, 1);
	struct bridge_event ev, next;
	struct seen s = { 0 };

	event(&ev, "d", "f", IN_CLOSE_WRITE);
	cr_assert_eq(bridge_transport_publish(a, &ev), 0);
	cr_assert_eq(bridge_transport_publish_raw(a, &ev), 0);	/* a resend */
	cr_assert_eq(bridge_transport_flush(a, 5000), 0);
	event(&next, "d", "g", IN_CLOSE_WRITE);
	cr_assert_eq(bridge_transport_publish(a, &next), 0);
	cr_assert_eq(bridge_transport_flush(a, 5000), 0);
	cr_expect_eq(bridge_transport_stream_msgs(a, "proj"), 2);
	DISPATCH_UNTIL(b, &s, s.events == 2, 10000);
	DISPATCH_UNTIL(b, &s, false, 300);
	cr_expect_eq(s.events, 2);
	cr_expect_str_eq(s.ev.name, "g");
	cr_expect_eq(s.losses, 0);
	bridge_transport_close(a);
	bridge_transport_close(b);
}

Test(bridge_transport, each_hosts_events_arrive_in_its_order)
{
	one_server();
	struct bridge_transport *a = open_host("a", srv[0].url, 1);
	struct bridge_transport *c = open_host("c", srv[0].url, 1);
	struct bridge_transport *b = open_host("b", srv[0].url, 1);
	struct bridge_event ev;
	struct seen s = { 0 };
	char name[32];

	for (int i = 0; i < 2000; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		event(&ev, "", name, IN_MODIFY);
		cr_assert_eq(bridge_transport_publish(i % 3 ? a : c, &ev), 0);
	}
	cr_assert_eq(bridge_transport_flush(a, 10000), 0);
	cr_assert_eq(bridge_transport_flush(c, 10000), 0);
	DISPATCH_UNTIL(b, &s, s.events == 2000, 20000);
	cr_expect_eq(s.count[0], 1333);
	cr_expect_eq(s.count[1], 667);
	cr_expect_eq(s.last[0], 1333);
	cr_expect_eq(s.last[1], 667);
	cr_expect(!s.disorder);
	cr_expect_eq(s.losses, 0);
	bridge_transport_close(a);
	bridge_transport_close(b);
	bridge_transport_close(c);
}

Test(bridge_transport, falling_behind_gives_one_loss_then_events_again)
{
	one_server();
	struct bridge_transport *a = open_host("a", srv[0].url, 1);
	struct bridge_transport_config c = { .servers = srv[0].url, .host = "b",
					     .queue_max = 100 };
	char err[256];
	struct bridge_transport *b = bridge_transport_open(&c, err, sizeof(err));
	struct bridge_event ev;
	struct bridge_stats st;
	struct seen s = { 0 };

	cr_assert(b, "%s", err);
	cr_assert_eq(bridge_transport_add_root(b, "proj", err, sizeof(err)), 0, "%s", err);
	for (int i = 0; i < 1000; i++) {
		event(&ev, "", "f", i % 2 ? IN_MODIFY : IN_ACCESS);
		cr_assert_eq(bridge_transport_publish(a, &ev), 0);
	}
	cr_assert_eq(bridge_transport_flush(a, 10000), 0);
	/* b does not dispatch until all 1000 reached it: 100 queued, the rest
	 * dropped */
	int64_t end = now_ms() + 20000;
	do
		bridge_transport_stats(b, &st);
	while (st.dropped < 900 && now_ms() < end && usleep(10000) == 0);
	cr_assert_eq(st.dropped, 900);
	DISPATCH_UNTIL(b, &s, s.losses == 1, 10000);
	cr_expect_eq(s.events, 100);
	cr_expect_eq(s.last[0], 100);
	cr_expect_eq(s.losses, 1);
	/* and it goes on */
	event(&ev, "", "g", IN_CREATE);
	cr_assert_eq(bridge_transport_publish(a, &ev), 0);
	cr_assert_eq(bridge_transport_flush(a, 5000), 0);
	DISPATCH_UNTIL(b, &s, s.events == 101, 10000);
	cr_expect_eq(s.events, 101);
	cr_expect_str_eq(s.ev.name, "g");
	cr_expect_eq(s.ev.seq, 1001);
	cr_expect_eq(s.losses, 1);
	bridge_transport_close(a);
	bridge_transport_close(b);
}

/* A publisher thread: host "a", events as fast as the client queues them,
 * until stop; seq of the last one. */
struct burst {
	struct bridge_transport *t;
	volatile bool stop;
	volatile uint64_t last;
};

static void *burst_run(void *arg)
{
	struct burst *p = arg;
	struct bridge_event ev;

	while (!p->stop) {
		event(&ev, "dir", "file", IN_MODIFY);
		bridge_transport_publish(p->t, &ev);
		p->last = ev.seq;
		if (ev.seq % 64 == 0)
			usleep(1000);
	}
	return NULL;
}

/* While a bursts, kill server k; losses and order must hold, and events
 * published after the kill must arrive. */
static void kill_mid_burst(struct bridge_transport *a, struct bridge_transport *b,
			   int k, bool restart)
{
	struct burst p = { .t = a };
	struct seen s = { 0 };
	pthread_t th;

	cr_assert_eq(pthread_create(&th, NULL, burst_run, &p), 0);
	DISPATCH_UNTIL(b, &s, s.events >= 500, 20000);
	cr_assert_geq(s.events, 500, "no events before the kill");
	nats_kill(&srv[k]);
	if (restart)
		cr_assert_eq(nats_start(&srv[k], 20000), 0, "restart failed");
	uint64_t at_kill = p.last;
	/* events published well after the kill arrive */
	DISPATCH_UNTIL(b, &s, s.last[0] > at_kill + 500, 60000);
	p.stop = true;
	pthread_join(th, NULL);
	cr_expect_gt(s.last[0], at_kill + 500, "no events after the kill");
	cr_expect(!s.disorder, "events out of order or duplicated");
	if ((uint64_t)s.events < s.last[0])
		cr_expect_geq(s.losses, 1, "%d events of %lu lost silently",
			      (int)(s.last[0] - s.events), (unsigned long)s.last[0]);
	if (restart)
		cr_expect_geq(s.losses, 1, "server restart without a loss");
}

Test(bridge_transport, server_restarted_mid_burst_gives_loss_then_events)
{
	one_server();
	struct bridge_transport *a = open_host("a", srv[0].url, 1);
	struct bridge_transport *b = open_host("b", srv[0].url, 1);

	kill_mid_burst(a, b, 0, true);
	bridge_transport_close(a);
	bridge_transport_close(b);
}

Test(bridge_transport, cluster_of_three_survives_one_server_killed)
{
	nats_init_cluster(srv, 3, base);
	nsrv = 3;
	for (int i = 0; i < 3; i++)
		cr_assert_eq(nats_start(&srv[i], 30000), 0, "server %d", i);
	/* a on the first server, b on the second; the first is killed */
	char urls_a[512], urls_b[512];
	snprintf(urls_a, sizeof(urls_a), "%s,%s,%s", srv[0].url, srv[1].url, srv[2].url);
	snprintf(urls_b, sizeof(urls_b), "%s,%s,%s", srv[1].url, srv[2].url, srv[0].url);
	struct bridge_transport *a = open_host("a", urls_a, 3);
	struct bridge_transport *b = open_host("b", urls_b, 3);

	kill_mid_burst(a, b, 0, false);
	bridge_transport_close(a);
	bridge_transport_close(b);
}
