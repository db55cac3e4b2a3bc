/*
 * cmd.c - inotify-shim bridge: one per domain per host, carrying the
 * events under each root between hosts through NATS JetStream.
 *
 *   local writers' hooks -> the bridge's watches (tap.c) -> transport.c
 *   transport.c -> bridge_inject (inject.c) -> notify -> local watches
 *
 * One thread of our own: it polls the bridge's instance and the
 * transport's queue (the library's threads only queue), so the roots'
 * tables, the cookie map (cookies.h) and the domain calls need no lock here.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static const char usage[] =
	"Usage: inotify-shim bridge --server URL[,URL]... --root PATH=NAME... [OPTION]...\n"
	"Carry the inotify events under each root between hosts, through NATS\n"
	"JetStream: what processes under the shim change under PATH here is\n"
	"published, and what other hosts publish for NAME is delivered to the\n"
	"watches under PATH here, as if made here.  One bridge per domain per host.\n"
	"\n"
	"  -s, --server=URLS     the NATS servers, nats://HOST:PORT, comma-separated\n"
	"  -r, --root=PATH=NAME  bridge the tree at PATH as NAME (the same NAME on\n"
	"                        every host; 1 to 64 of A-Z a-z 0-9 _ -); repeatable\n"
	"      --host=ID         this host's id (default: the host name)\n"
	"      --replicas=N      replicas of each root's stream (a cluster: 3)\n"
	"  -v, --verbose         print each event published and delivered on stderr\n"
	"  -d, --domain=D        the domain (default: $INOTIFY_SHIM_DOMAIN, else yours)\n"
	"  -h, --help            show this help\n"
	"  -V, --version         show the version\n"
	"\n"
	"Events lost (the server lost, the bridge fell behind) give every watch\n"
	"under the root IN_Q_OVERFLOW.  See inotify-shim(1), BRIDGE.\n";

#ifndef HAVE_NATS

int cmd_bridge(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(usage, stdout);
			return 0;
		}
	fprintf(stderr, "%s: this inotify-shim was built without NATS (libnats): "
		"no bridge\n", argv[0]);
	return 1;
}

#else

#include "notify/notify.h"

#include "inject.h"
#include "status.h"
#include "tap.h"
#include "transport.h"

#define ROOTS_MAX 64

static const struct option options[] = {
	{ "server", required_argument, NULL, 's' },
	{ "root", required_argument, NULL, 'r' },
	{ "host", required_argument, NULL, 'H' },
	{ "replicas", required_argument, NULL, 'R' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "domain", required_argument, NULL, 'd' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

static struct bridge_root roots[ROOTS_MAX];
static struct cookie_map cookies = { .fresh = notify_new_cookie };
static struct tap tap;
static volatile sig_atomic_t stopping;
static struct bridge_status state;	/* for ps (status.h) */

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static int root_index(const char *name)
{
	for (int i = 0; i < tap.nroots; i++)
		if (!strcmp(roots[i].name, name))
			return i;
	return -1;
}

static void on_event(void *arg, const struct bridge_event *ev)
{
	int i = root_index(ev->root);

	(void)arg;
	if (i < 0)
		return;
	if (tap.verbose) {
		char m[MASK_BUF];
		fprintf(stderr, "deliver %s:%s %s %u %s (from %s #%llu)\n", ev->root,
			ev->path, mask_format(ev->mask, m, sizeof(m)), ev->cookie,
			ev->name, ev->host, (unsigned long long)ev->seq);
	}
	if (ev->mask & IN_Q_OVERFLOW)
		bridge_overflow(&roots[i], tap.fd);
	else
		bridge_inject(&roots[i], ev, &cookies);
}

static void on_lost(void *arg, const char *root)
{
	int i = root_index(root);

	(void)arg;
	if (tap.verbose)
		fprintf(stderr, "lost %s\n", root);
	if (i >= 0)
		bridge_overflow(&roots[i], tap.fd);
}

/* The host name, as a token: other bytes become '-'. */
static void default_host(char *out, size_t size)
{
	char h[256] = "host";

	gethostname(h, sizeof(h) - 1);
	snprintf(out, size, "%.*s", (int)size - 1, h);
	for (char *p = out; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
			*p = '-';
}

static int64_t now_ms(int clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* This bridge's state, for ps: written about once a second. */
static void write_state(struct bridge_transport *t)
{
	struct bridge_stats st;

	bridge_transport_stats(t, &st);
	state.connected = st.connected;
	state.updated_ms = now_ms(CLOCK_REALTIME);
	state.published = st.published;
	state.failed = st.publish_failed;
	state.delivered = st.received;
	state.duplicates = st.duplicates;
	state.losses = st.losses;
	state.nroots = tap.nroots;
	for (int i = 0; i < tap.nroots; i++) {
		struct bridge_status_root *sr = &state.roots[i];
		struct bridge_root_lag lag = { 0, -1 };
		bridge_transport_root_lag(t, roots[i].name, &lag);
		snprintf(sr->name, sizeof(sr->name), "%.64s", roots[i].name);
		snprintf(sr->path, sizeof(sr->path), "%s", roots[i].path);
		sr->lag_events = lag.events;
		sr->lag_ms = lag.last_ms;
	}
	bridge_status_write(cli_domain_dir(), &state);
}

static int loop(const char *prog, struct bridge_transport *t)
{
	int64_t next_state = 0;
	struct bridge_handlers h = { on_event, on_lost, NULL };
	struct pollfd p[2] = {
		{ .fd = tap.fd, .events = POLLIN },
		{ .fd = bridge_transport_fd(t), .events = POLLIN },
	};

	int busy = 0;

	while (!stopping) {
		if (poll(p, 2, busy ? 0 : 200) < 0 && errno != EINTR)
			break;
		bridge_transport_dispatch(t, 0, &h);
		if (now_ms(CLOCK_MONOTONIC) >= next_state) {
			write_state(t);
			next_state = now_ms(CLOCK_MONOTONIC) + 1000;
		}
		int r = tap_drain(&tap);
		busy = r > 0;
		if (r < 0) {
			fprintf(stderr, "%s: reading its own instance: %s\n", prog, strerror(-r));
			return 1;
		}
	}
	bridge_transport_flush(t, 2000);
	return 0;
}

static int run(const char *prog, struct bridge_transport_config *c, const char *domain)
{
	char err[512];

	/* the bridge's own instance reads for every host: a queue of 262,144
	 * events, not a watcher's 16,384, unless the user chose */
	setenv("INOTIFY_SHIM_MAX_QUEUED_EVENTS", "262144", 0);
	if (cli_open_domain(prog, domain) < 0)
		return 1;
	struct bridge_transport *t = bridge_transport_open(c, err, sizeof(err));
	if (!t) {
		fprintf(stderr, "%s: %s\n", prog, err);
		return 1;
	}
	tap.t = t;
	tap.roots = roots;
	for (int i = 0; i < tap.nroots; i++)
		if (bridge_transport_add_root(t, roots[i].name, err, sizeof(err)) < 0) {
			fprintf(stderr, "%s: %s\n", prog, err);
			bridge_transport_close(t);
			return 1;
		}
	if (tap_open(&tap, prog) < 0) {
		bridge_transport_close(t);
		return 1;
	}
	state.pid = (long)getpid();
	snprintf(state.host, sizeof(state.host), "%s", c->host);
	snprintf(state.servers, sizeof(state.servers), "%s", c->servers);
	write_state(t);
	fprintf(stderr, "%s: bridging %d root%s of %s through %s as %s.\n", prog,
		tap.nroots, tap.nroots == 1 ? "" : "s", cli_domain_dir(), c->servers, c->host);
	int ret = loop(prog, t);
	bridge_status_remove(cli_domain_dir());
	/* closing waits on the library (its callbacks, a last flush): with the
	 * server gone that has been seen to hang; a stop never waits more
	 * than 10 s (SIGALRM's default action ends the process) */
	alarm(10);
	tap_close(&tap);
	bridge_transport_close(t);
	return ret;
}

int cmd_bridge(int argc, char **argv)
{
	const char *prog = argv[0], *domain = NULL;
	struct bridge_transport_config c = { 0 };
	char host[BRIDGE_HOST_MAX + 1], err[512], *end;
	int ch;

	default_host(host, sizeof(host));
	c.host = host;
	while ((ch = getopt_long(argc, argv, ":s:r:vd:hV", options, NULL)) != -1) {
		switch (ch) {
		case 's':
			c.servers = optarg;
			break;
		case 'r':
			if (tap.nroots == ROOTS_MAX)
				cli_usage_error(prog, "more than %d roots", ROOTS_MAX);
			if (root_parse(&roots[tap.nroots], optarg, err, sizeof(err)) < 0)
				cli_usage_error(prog, "%s", err);
			if (root_index(roots[tap.nroots].name) >= 0)
				cli_usage_error(prog, "root NAME '%s' given twice", roots[tap.nroots].name);
			tap.nroots++;
			break;
		case 'H':
			if (!bridge_token_valid(optarg))
				cli_usage_error(prog, "--host '%s': 1 to 64 of A-Z a-z 0-9 _ -", optarg);
			c.host = optarg;
			break;
		case 'R':
			c.replicas = (int)strtol(optarg, &end, 10);
			if (*end || c.replicas < 1 || c.replicas > 5)
				cli_usage_error(prog, "--replicas: '%s' is not 1 to 5", optarg);
			break;
		case 'v':
			tap.verbose = true;
			break;
		case 'd':
			domain = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		case 'V':
			cli_version();
		default:
			cli_bad_option(prog, argv, ch);
		}
	}
	if (optind < argc)
		cli_usage_error(prog, "unexpected argument '%s'", argv[optind]);
	if (!c.servers)
		cli_usage_error(prog, "no --server given");
	if (!tap.nroots)
		cli_usage_error(prog, "no --root given");
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	tap.fd = -1;
	return run(prog, &c, domain);
}

#endif
