/*
 * config_threads.c - issue 13, item 13: inotify_shim_configure() while
 * other threads use the shim.  Two threads change the limits and the mode
 * over and over while two others create instances, add watches and read
 * events; every call must succeed, and every instance must get the queue
 * size one of the configurations gave (the ones it can see: 64 or 128
 * events, counted by overflowing it).  A plain program, so that make
 * check-tsan runs it under ThreadSanitizer, which reports the unlocked
 * writes of the configuration that this test was written for.
 * Exit 0 on success, 1 with a message.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "inotify-shim.h"

#define ROUNDS 300

static char dir[64];
static int failed;

static void fail(const char *what, int err)
{
	fprintf(stderr, "config_threads: %s: %s\n", what, strerror(err));
	__atomic_store_n(&failed, 1, __ATOMIC_RELAXED);
}

static void *configurer(void *arg)
{
	long n = (long)arg;

	for (int i = 0; i < ROUNDS * 4 && !__atomic_load_n(&failed, __ATOMIC_RELAXED); i++) {
		struct inotify_shim_config c = {
			.max_queued_events = (i + n) % 2 ? 64 : 128,
			.max_user_watches = 100000 + i,
			.mode = (i + n) % 3 ? INOTIFY_SHIM_MODE_EMULATE : INOTIFY_SHIM_MODE_DEFAULT,
		};
		if (inotify_shim_configure(&c) != 0)
			fail("configure", errno);
	}
	return NULL;
}

/* One instance: IN_CREATE on dir, files made until it overflows; the
 * events it held before IN_Q_OVERFLOW are its queue size. */
static void *user(void *arg)
{
	char name[128], buf[64 * 1024] __attribute__((aligned(8)));
	long n = (long)arg;

	for (int i = 0; i < ROUNDS && !__atomic_load_n(&failed, __ATOMIC_RELAXED); i++) {
		int in = inotify_shim_init1(IN_NONBLOCK | IN_CLOEXEC), events = 0, overflow = 0;
		ssize_t got;

		if (in < 0) {
			fail("init1", errno);
			break;
		}
		if (inotify_shim_add_watch(in, dir, IN_CREATE) < 0)
			fail("add_watch", errno);
		for (int f = 0; f < 130; f++) {
			snprintf(name, sizeof name, "%s/t%ld-%d-%d", dir, n, i, f);
			int fd = open(name, O_CREAT | O_WRONLY, 0600);
			if (fd < 0) {
				fail("open", errno);
				break;
			}
			close(fd);
			unlink(name);
		}
		while ((got = read(in, buf, sizeof buf)) > 0)
			for (char *p = buf; p < buf + got;) {
				struct inotify_event *e = (struct inotify_event *)p;
				if (e->mask & IN_Q_OVERFLOW)
					overflow = 1;
				else if ((e->mask & IN_CREATE) && !overflow)
					events++;	/* those before the overflow */
				p += sizeof *e + e->len;
			}
		/* the other user's files count too: at least the 130 made here
		 * went past a queue of 64 or 128 */
		if (!overflow || (events != 64 && events != 128)) {
			fprintf(stderr, "config_threads: a queue held %d events (overflow %d)\n",
				events, overflow);
			__atomic_store_n(&failed, 1, __ATOMIC_RELAXED);
		}
		close(in);
	}
	return NULL;
}

int main(void)
{
	pthread_t t[4];

	snprintf(dir, sizeof dir, "/tmp/config-threads.XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	for (long i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, i < 2 ? configurer : user, (void *)i);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	rmdir(dir);
	return failed;
}
