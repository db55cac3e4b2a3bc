/*
 * bridge_nats.h - real nats-server processes for the bridge's tests: on
 * 127.0.0.1 only, on ports found free by binding port 0, with JetStream
 * and its store in the test's scratch directory; started, killed and
 * restarted by the test, always reaped.
 */
#ifndef TEST_BRIDGE_NATS_H
#define TEST_BRIDGE_NATS_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

struct nats_srv {
	pid_t pid;
	int port;		/* client port */
	int cport;		/* cluster port, 0: no cluster */
	char routes[512];	/* "nats://127.0.0.1:P,..." of the others */
	char name[16];
	char dir[PATH_MAX];	/* store and log */
	char url[64];
};

/* The nats-server program, or NULL when it is not installed. */
const char *nats_program(void);

/* A port that was free on 127.0.0.1 a moment ago. */
int nats_free_port(void);

/* Start s (ports and dir set; name for a cluster) and wait up to ms for
 * it to be ready.  Returns 0 or -1. */
int nats_start(struct nats_srv *s, int ms);

/* Set up one server in scratch directory base/name. */
void nats_init(struct nats_srv *s, const char *base, const char *name);

/* Set up n servers as a cluster (routes to each other). */
void nats_init_cluster(struct nats_srv *s, int n, const char *base);

/* SIGKILL and reap. */
void nats_kill(struct nats_srv *s);

/* "nats://127.0.0.1:P1,nats://127.0.0.1:P2,..." of n servers. */
const char *nats_urls(const struct nats_srv *s, int n);

#endif
