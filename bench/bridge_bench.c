/*
 * bridge_bench.c - one side of the bridge's benchmark (bench/bridge.sh
 * runs it): a watcher or a writer on a directory, meeting the other side
 * through a shared file of timestamps, so that the time from the writer's
 * call to the watcher's read is measured across processes (and across
 * domains, through two bridges and a nats-server) with one clock.
 *
 *   bridge_bench watch latency|rate DIR N SHM   (start first)
 *   bridge_bench write latency|rate DIR N SHM [RATE]
 *   bridge_bench overhead DIR N      (alone: ns per pwrite, the best of 5)
 *
 * latency: N pwrites, alternating two files, each after the watcher read
 * the one before; the watcher prints p50 and p99 of writer-call-to-read.
 * rate: N pwrites paced at RATE/s (0: as fast as they go); the watcher
 * prints the events it read, IN_Q_OVERFLOWs, and events/s from the first
 * write to the last read.  Nothing may be lost: received must equal N.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MAXN 2000000

struct shared {
	volatile int64_t ready;		/* the watcher's watch is in place */
	volatile int64_t seen;		/* events read */
	volatile int64_t start;		/* the writer's first call */
	volatile int64_t t0[MAXN];	/* latency: the writer's call i */
};

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static struct shared *map(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT, 0600);
	if (fd < 0 || ftruncate(fd, sizeof(struct shared)) < 0) {
		perror(path);
		exit(1);
	}
	struct shared *s = mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (s == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	return s;
}

static int cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static int watch(const char *mode, const char *dir, long n, struct shared *s)
{
	char buf[64 * 1024];
	int fd = inotify_init1(IN_CLOEXEC);
	long got = 0, overflows = 0;
	int64_t last = 0, *lat = calloc((size_t)n, sizeof(*lat));

	if (fd < 0 || inotify_add_watch(fd, dir, IN_MODIFY) < 0 || !lat) {
		perror("inotify");
		return 1;
	}
	s->ready = 1;
	while (got < n) {
		ssize_t r = read(fd, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		int64_t t = now_ns();
		for (ssize_t off = 0; off < r;) {
			struct inotify_event *ev = (void *)(buf + off);
			off += (ssize_t)sizeof(*ev) + ev->len;
			if (ev->mask & IN_Q_OVERFLOW) {
				overflows++;
				continue;
			}
			if (!(ev->mask & IN_MODIFY) || got >= n)
				continue;
			if (mode[0] == 'l')
				lat[got] = t - s->t0[got];
			last = t;
			s->seen = ++got;
		}
		if (overflows && mode[0] == 'r')
			break;
	}
	if (mode[0] == 'l') {
		qsort(lat, (size_t)got, sizeof(*lat), cmp);
		printf("latency: %ld events, p50 %.1f us, p99 %.1f us, max %.1f us\n", got,
		       lat[got / 2] / 1e3, lat[got * 99 / 100] / 1e3, lat[got - 1] / 1e3);
	} else {
		double secs = (last - s->start) / 1e9;
		printf("rate: %ld of %ld events received, %ld overflows, %.0f events/s\n",
		       got, n, overflows, secs > 0 ? got / secs : 0);
	}
	return got == n && !overflows ? 0 : 1;
}

static int wait_seen(struct shared *s, long i)
{
	int64_t end = now_ns() + 5000000000LL;

	while (s->seen < i)
		if (now_ns() > end)
			return -1;	/* lost: the watcher never read it */
		else
			sched_yield();
	return 0;
}

static int write_side(const char *mode, const char *dir, long n, struct shared *s,
		      double rate)
{
	char path[PATH_MAX];
	int fd[2];

	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%c", dir, 'a' + i);
		fd[i] = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fd[i] < 0) {
			perror(path);
			return 1;
		}
	}
	while (!s->ready)
		usleep(1000);
	s->start = now_ns();
	for (long i = 0; i < n; i++) {
		if (mode[0] == 'l') {
			s->t0[i] = now_ns();
		} else if (rate > 0) {
			int64_t due = s->start + (int64_t)(i * 1e9 / rate);
			while (now_ns() < due)
				;
		}
		if (pwrite(fd[i & 1], "x", 1, 0) != 1) {
			perror("pwrite");
			return 1;
		}
		if (mode[0] == 'l' && wait_seen(s, i + 1) < 0) {
			fprintf(stderr, "event %ld never read\n", i);
			return 1;
		}
	}
	return 0;
}

/* What a writer pays per call: N pwrites to one file, five times. */
static int overhead(const char *dir, long n)
{
	char path[PATH_MAX];
	double best = 0;

	snprintf(path, sizeof(path), "%s/o", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		perror(path);
		return 1;
	}
	for (int round = 0; round < 5; round++) {
		int64_t t = now_ns();
		for (long i = 0; i < n; i++)
			if (pwrite(fd, "x", 1, 0) != 1)
				return 1;
		double per = (double)(now_ns() - t) / n;
		if (!round || per < best)
			best = per;
	}
	printf("overhead: %.1f ns per pwrite (best of 5 x %ld)\n", best, n);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "overhead"))
		return overhead(argv[2], strtol(argv[3], NULL, 10));
	if (argc < 6 || (strcmp(argv[2], "latency") && strcmp(argv[2], "rate"))) {
		fprintf(stderr, "usage: %s watch|write latency|rate DIR N SHM [RATE]\n", argv[0]);
		return 2;
	}
	long n = strtol(argv[4], NULL, 10);
	if (n <= 0 || n > MAXN)
		return 2;
	struct shared *s = map(argv[5]);
	if (!strcmp(argv[1], "watch"))
		return watch(argv[2], argv[3], n, s);
	return write_side(argv[2], argv[3], n, s, argc > 6 ? atof(argv[6]) : 0);
}
