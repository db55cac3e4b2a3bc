/*
 * config.c - see config.h.
 */
#include "config.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "real.h"

/* The kernel's defaults, for machines without /proc/sys/fs/inotify. */
#define DEFAULT_MAX_QUEUED_EVENTS 16384
#define DEFAULT_MAX_USER_WATCHES 8192
#define DEFAULT_MAX_USER_INSTANCES 128

struct shim_config shim_config = {
	.max_queued_events = DEFAULT_MAX_QUEUED_EVENTS,
	.max_user_watches = DEFAULT_MAX_USER_WATCHES,
	.max_user_instances = DEFAULT_MAX_USER_INSTANCES,
	.mode = SHIM_MODE_EMULATE,
};

long shim_config_parse_limit(const char *s)
{
	char *end;
	long v;

	if (!s || !*s)
		return -1;
	v = strtol(s, &end, 10);
	if (*end || v <= 0 || v > (1L << 30))
		return -1;
	return v;
}

static long read_proc_limit(const char *name, long fallback)
{
	char path[96], buf[32];
	long v;
	ssize_t n;
	int fd;

	snprintf(path, sizeof path, "/proc/sys/fs/inotify/%s", name);
	fd = real_open(path, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return fallback;
	n = real_read(fd, buf, sizeof buf - 1);
	real_close(fd);
	if (n <= 0)
		return fallback;
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	v = shim_config_parse_limit(buf);
	return v > 0 ? v : fallback;
}

static long env_limit(const char *var, long fallback)
{
	const char *s = getenv(var);
	long v;

	if (!s)
		return fallback;
	v = shim_config_parse_limit(s);
	if (v < 0) {
		shim_log("ignoring %s=%s: not a positive number", var, s);
		return fallback;
	}
	return v;
}

void shim_config_load(void)
{
	const char *s;

	shim_config.max_queued_events =
		env_limit("INOTIFY_SHIM_MAX_QUEUED_EVENTS",
			  read_proc_limit("max_queued_events", DEFAULT_MAX_QUEUED_EVENTS));
	shim_config.max_user_watches =
		env_limit("INOTIFY_SHIM_MAX_USER_WATCHES",
			  read_proc_limit("max_user_watches", DEFAULT_MAX_USER_WATCHES));
	shim_config.max_user_instances =
		env_limit("INOTIFY_SHIM_MAX_USER_INSTANCES",
			  read_proc_limit("max_user_instances", DEFAULT_MAX_USER_INSTANCES));

	s = getenv("INOTIFY_SHIM_DOMAIN");
	if (s && *s) {
		if (strlen(s) >= sizeof shim_config.domain)
			shim_log("ignoring INOTIFY_SHIM_DOMAIN: longer than %zu bytes",
				 sizeof shim_config.domain - 1);
		else
			strcpy(shim_config.domain, s);
	}
	s = getenv("INOTIFY_SHIM_MODE");
	if (s && *s) {
		if (!strcmp(s, "auto"))
			shim_config.mode = SHIM_MODE_AUTO;
		else if (!strcmp(s, "emulate"))
			shim_config.mode = SHIM_MODE_EMULATE;
		else
			shim_log("ignoring INOTIFY_SHIM_MODE=%s: not emulate or auto", s);
	}
}

int shim_config_update(int (*edit)(struct shim_config *next, const void *arg), const void *arg)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	struct shim_config next;
	int ret;

	pthread_mutex_lock(&lock);
	next = shim_config;	/* the writers are serialised: whole */
	ret = edit(&next, arg);
	if (ret == 0) {
		__atomic_store_n(&shim_config.max_queued_events, next.max_queued_events,
				 __ATOMIC_RELAXED);
		__atomic_store_n(&shim_config.max_user_watches, next.max_user_watches,
				 __ATOMIC_RELAXED);
		__atomic_store_n(&shim_config.max_user_instances, next.max_user_instances,
				 __ATOMIC_RELAXED);
		__atomic_store_n(&shim_config.mode, next.mode, __ATOMIC_RELAXED);
		if (strcmp(next.domain, shim_config.domain) != 0)
			memcpy(shim_config.domain, next.domain, sizeof next.domain);
	}
	pthread_mutex_unlock(&lock);
	return ret;
}
