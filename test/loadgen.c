/*
 * loadgen.c - the load test (issue 5, "Load"), a standalone program so that
 * the same workload runs on the shim (make check runs it under
 * test/run-test.sh, the kernel's inotify denied) and on the kernel (run it
 * by hand without LD_PRELOAD: ./test/loadgen).
 *
 *   8 writer processes each create FILES files (INOTIFY_SHIM_LOAD_FILES,
 *   default 2,000; the full figure is 50,000) in 4 watched
 *   directories, two writers to a directory;
 *   3 watcher instances in 2 processes (2 + 1) watch all 4 directories for
 *   IN_CREATE and read everything.
 *
 * What must hold, for each instance:
 *   - every event is accounted for: received, or covered by an IN_Q_OVERFLOW
 *     reported after the last event received from that writer;
 *   - no event arrives twice, and each writer's order is kept;
 *   - it all ends within the bound (INOTIFY_SHIM_LOAD_SECONDS, default 120):
 *     no deadlock, no crash.
 * It prints the events delivered per second (events read by the three
 * instances together / wall time of the writers' phase until the last read).
 *
 * Figures on the development machine (2 CPUs), events/s:
 *                       8 x 2,000 files     8 x 50,000 files
 *   kernel inotify         225,000              168,000
 *   inotify-shim            42,000               15,000
 * (kernel: INOTIFY_SHIM_LOAD_FILES=50000 ./test/loadgen, no preload;
 *  shim: INOTIFY_SHIM_LOAD_FILES=50000 test/run-test.sh test/loadgen.)
 * The kernel's figure is printed beside the shim's, since make check cannot
 * reach the kernel's inotify.  test/load_overflow.sh runs the same workload
 * with a 64-event queue, so that overflows happen and are accounted for.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WRITERS 8
#define DIRS 4
#define INSTANCES 3

/* events/s measured by hand with the kernel's inotify (see above) */
#ifndef LOAD_KERNEL_FIGURE
#define LOAD_KERNEL_FIGURE "225,000 for 8 x 2,000 files, 168,000 for 8 x 50,000"
#endif

static char base[PATH_MAX];
static long nfiles;

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

struct account {
	long next[WRITERS];	/* next expected sequence number */
	unsigned long epoch_at[WRITERS];	/* overflows seen at that writer's last event */
	unsigned long overflows;
	long received, dups, unexcused_gaps, bad;
};

static void account(struct account *a, const struct inotify_event *e)
{
	int w;
	long seq;

	if (e->mask & IN_Q_OVERFLOW) {
		a->overflows++;
		return;
	}
	if (!(e->mask & IN_CREATE) || e->len == 0 ||
	    sscanf(e->name, "w%d-%ld", &w, &seq) != 2 || w < 0 || w >= WRITERS) {
		a->bad++;
		return;
	}
	a->received++;
	if (seq < a->next[w]) {
		a->dups++;	/* twice, or out of order */
		return;
	}
	if (seq > a->next[w] && a->overflows == a->epoch_at[w])
		a->unexcused_gaps++;
	a->next[w] = seq + 1;
	a->epoch_at[w] = a->overflows;
}

/* Read one instance until EAGAIN; 0 when it was empty. */
static long drain(int fd, struct account *a)
{
	char buf[65536] __attribute__((aligned(8)));
	long got = 0;

	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n <= 0) {
			if (n < 0 && errno != EAGAIN && errno != EINTR) {
				fprintf(stderr, "loadgen: read: %s\n", strerror(errno));
				a->bad++;
			}
			return got;
		}
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *e = (const void *)p;
			account(a, e);
			got++;
			p += sizeof *e + e->len;
		}
	}
}

/* A watcher process with ninst instances: report "ready" on readyfd, read
 * until "done" arrives on donefd and the queues are empty, then write its
 * accounts to resfd. */
static void watcher(int ninst, int readyfd, int donefd, int resfd)
{
	int fds[INSTANCES];
	struct account acc[INSTANCES];
	char dir[PATH_MAX + 16];

	memset(acc, 0, sizeof acc);
	for (int i = 0; i < ninst; i++) {
		fds[i] = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
		if (fds[i] < 0) {
			fprintf(stderr, "loadgen: inotify_init1: %s\n", strerror(errno));
			_exit(2);
		}
		for (int d = 0; d < DIRS; d++) {
			snprintf(dir, sizeof dir, "%s/d%d", base, d);
			if (inotify_add_watch(fds[i], dir, IN_CREATE) < 0) {
				fprintf(stderr, "loadgen: inotify_add_watch: %s\n", strerror(errno));
				_exit(2);
			}
		}
	}
	if (write(readyfd, "r", 1) != 1)
		_exit(2);
	for (bool done = false;;) {
		struct pollfd p[INSTANCES + 1];
		for (int i = 0; i < ninst; i++)
			p[i] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
		p[ninst] = (struct pollfd){ .fd = donefd, .events = POLLIN };
		if (poll(p, (nfds_t)ninst + (done ? 0 : 1), done ? 0 : 1000) < 0 && errno != EINTR)
			_exit(2);
		long got = 0;
		for (int i = 0; i < ninst; i++)
			got += drain(fds[i], &acc[i]);
		if (!done && (p[ninst].revents & (POLLIN | POLLHUP)))
			done = true;	/* every event is queued: drain to empty */
		else if (done && got == 0)
			break;
	}
	if (write(resfd, acc, sizeof acc[0] * (size_t)ninst) < 0)
		_exit(2);
	_exit(0);
}

static void writer(int w, int gofd)
{
	char path[PATH_MAX + 64], c;

	if (read(gofd, &c, 1) != 0)	/* EOF is the start signal */
		_exit(2);
	for (long i = 0; i < nfiles; i++) {
		snprintf(path, sizeof path, "%s/d%d/w%d-%ld", base, w % DIRS, w, i);
		int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
		if (fd < 0) {
			fprintf(stderr, "loadgen: %s: %s\n", path, strerror(errno));
			_exit(2);
		}
		close(fd);
	}
	_exit(0);
}

static pid_t kids[WRITERS + 2];
static int nkids;

static void on_alarm(int sig)
{
	(void)sig;
	static const char msg[] = "loadgen: FAIL: not finished within the bound "
				  "(deadlock?)\n";
	if (write(2, msg, sizeof msg - 1) < 0) {
		/* exiting anyway */
	}
	for (int i = 0; i < nkids; i++)
		kill(kids[i], SIGKILL);
	_exit(1);
}

int main(void)
{
	const char *s = getenv("INOTIFY_SHIM_LOAD_FILES");
	const char *b = getenv("INOTIFY_SHIM_LOAD_SECONDS");
	const char *pre = getenv("LD_PRELOAD");
	int ready[2], done[2], res[2], go[2];
	struct account acc[INSTANCES];
	double t0, t1;
	int fails = 0;

	nfiles = s ? atol(s) : 2000;
	if (nfiles <= 0)
		nfiles = 2000;
	snprintf(base, sizeof base, "%s/loadgen.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(base)) {
		perror("loadgen: mkdtemp");
		return 99;
	}
	for (int d = 0; d < DIRS; d++) {
		char dir[PATH_MAX + 16];
		snprintf(dir, sizeof dir, "%s/d%d", base, d);
		mkdir(dir, 0700);
	}
	signal(SIGALRM, on_alarm);
	alarm(b ? (unsigned)atoi(b) : 120);
	if (pipe(ready) || pipe(done) || pipe(res) || pipe(go))
		return 99;

	/* watchers: one process with two instances, one with one */
	for (int p = 0; p < 2; p++) {
		pid_t pid = fork();
		if (pid == 0) {
			close(done[1]);
			close(go[0]);
			close(go[1]);
			watcher(p == 0 ? 2 : 1, ready[1], done[0], res[1]);
		}
		kids[nkids++] = pid;
	}
	for (int p = 0; p < 2; p++) {
		char c;
		if (read(ready[0], &c, 1) != 1)
			return 99;
	}
	for (int w = 0; w < WRITERS; w++) {
		pid_t pid = fork();
		if (pid == 0) {
			close(go[1]);
			writer(w, go[0]);
		}
		kids[nkids++] = pid;
	}
	close(go[0]);
	t0 = now();
	close(go[1]);	/* all writers start together */
	for (int w = 0; w < WRITERS; w++) {
		int st;
		if (waitpid(kids[2 + w], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) {
			fprintf(stderr, "loadgen: FAIL: writer %d died (status %x)\n", w, st);
			fails++;
		}
	}
	close(done[1]);
	close(done[0]);
	/* the watchers' accounts arrive in either order, each written whole
	 * (less than PIPE_BUF); only their sum and each one's verdict matter */
	for (int p = 0; p < 2; p++) {
		int st;
		if (waitpid(kids[p], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) {
			fprintf(stderr, "loadgen: FAIL: watcher %d died (status %x)\n", p, st);
			fails++;
		}
	}
	t1 = now();
	alarm(0);
	close(res[1]);
	size_t have = 0;
	ssize_t n;
	while (have < sizeof acc && (n = read(res[0], (char *)acc + have, sizeof acc - have)) > 0)
		have += (size_t)n;
	if (have != sizeof acc) {
		fprintf(stderr, "loadgen: FAIL: %zu bytes of accounts\n", have);
		return 1;
	}

	long total = 0;
	for (int i = 0; i < INSTANCES; i++) {
		struct account *a = &acc[i];
		long tail_missing = 0;
		for (int w = 0; w < WRITERS; w++)
			if (a->next[w] < nfiles && a->overflows == a->epoch_at[w])
				tail_missing += nfiles - a->next[w];
		printf("instance %d: %ld received, %lu overflows, %ld twice or out of order, "
		       "%ld unexcused gaps, %ld missing at the end, %ld malformed\n",
		       i, a->received, a->overflows, a->dups, a->unexcused_gaps,
		       tail_missing, a->bad);
		if (a->dups || a->unexcused_gaps || tail_missing || a->bad)
			fails++;
		total += a->received;
	}
	printf("%d writers x %ld files, %d instances: %ld events in %.2f s: "
	       "%.0f events/s on %s (kernel inotify, measured by hand: %s)\n",
	       WRITERS, nfiles, INSTANCES, total, t1 - t0, total / (t1 - t0),
	       pre && strstr(pre, "inotify-shim") ? "the shim" : "this inotify",
	       LOAD_KERNEL_FIGURE);

	/* clean up without watchers: the hooks' fast path */
	char cmd[PATH_MAX + 32];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
	if (system(cmd) != 0)
		fprintf(stderr, "loadgen: could not remove %s\n", base);
	if (fails)
		fprintf(stderr, "loadgen: FAIL\n");
	return fails ? 1 : 0;
}
