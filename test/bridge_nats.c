/*
 * bridge_nats.c - nats-server processes for the bridge's tests (see
 * bridge_nats.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bridge_nats.h"

const char *nats_program(void)
{
	static const char *const where[] = {
		"/usr/sbin/nats-server", "/usr/bin/nats-server",
		"/usr/local/bin/nats-server", "/usr/local/sbin/nats-server",
	};
	for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++)
		if (access(where[i], X_OK) == 0)
			return where[i];
	return NULL;
}

int nats_free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) ||
	    getsockname(fd, (struct sockaddr *)&a, &len)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return ntohs(a.sin_port);
}

void nats_init(struct nats_srv *s, const char *base, const char *name)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	snprintf(s->dir, sizeof(s->dir), "%s/%s", base, name);
	mkdir(s->dir, 0700);
	s->port = nats_free_port();
	snprintf(s->url, sizeof(s->url), "nats://127.0.0.1:%d", s->port);
}

void nats_init_cluster(struct nats_srv *s, int n, const char *base)
{
	char name[16];

	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		nats_init(&s[i], base, name);
		s[i].cport = nats_free_port();
	}
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++) {
			if (j == i)
				continue;
			size_t l = strlen(s[i].routes);
			snprintf(s[i].routes + l, sizeof(s[i].routes) - l,
				 "%snats://127.0.0.1:%d", l ? "," : "", s[j].cport);
		}
}

static bool log_says(const char *path, const char *needle)
{
	static char buf[1 << 16];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	return strstr(buf, needle) != NULL;
}

static void child(const struct nats_srv *s, const char *log)
{
	char port[16], cluster[64];
	const char *argv[24];
	int n = 0;

	unsetenv("LD_PRELOAD");
	/* a test that crashes takes its servers with it */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	snprintf(port, sizeof(port), "%d", s->port);
	argv[n++] = "nats-server";
	argv[n++] = "-a";
	argv[n++] = "127.0.0.1";
	argv[n++] = "-p";
	argv[n++] = port;
	argv[n++] = "-js";
	argv[n++] = "-sd";
	argv[n++] = s->dir;
	argv[n++] = "-l";
	argv[n++] = log;
	argv[n++] = "-n";
	argv[n++] = s->name;
	if (s->cport) {
		snprintf(cluster, sizeof(cluster), "nats://127.0.0.1:%d", s->cport);
		argv[n++] = "--cluster";
		argv[n++] = cluster;
		argv[n++] = "--cluster_name";
		argv[n++] = "ishim";
		argv[n++] = "--routes";
		argv[n++] = s->routes;
	}
	argv[n] = NULL;
	execv(nats_program(), (char **)argv);
	_exit(127);
}

int nats_start(struct nats_srv *s, int ms)
{
	char log[PATH_MAX + 8];
	struct timespec step = { 0, 20 * 1000000 };

	snprintf(log, sizeof(log), "%s/log", s->dir);
	unlink(log);
	s->pid = fork();
	if (s->pid < 0)
		return -1;
	if (s->pid == 0)
		child(s, log);
	for (int waited = 0; waited < ms; waited += 20) {
		if (log_says(log, "Server is ready"))
			return 0;
		if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
			s->pid = 0;
			return -1;
		}
		nanosleep(&step, NULL);
	}
	nats_kill(s);
	return -1;
}

void nats_kill(struct nats_srv *s)
{
	if (s->pid <= 0)
		return;
	kill(s->pid, SIGKILL);
	while (waitpid(s->pid, NULL, 0) < 0 && errno == EINTR)
		;
	s->pid = 0;
}

const char *nats_urls(const struct nats_srv *s, int n)
{
	static char buf[512];
	size_t l = 0;

	buf[0] = 0;
	for (int i = 0; i < n; i++)
		l += snprintf(buf + l, sizeof(buf) - l, "%s%s", i ? "," : "", s[i].url);
	return buf;
}
