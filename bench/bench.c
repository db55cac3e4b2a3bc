/*
 * bench.c - inotify-shim against the kernel's inotify, workload by workload,
 * in the same run.
 *
 * usage: bench -s SHIM.so -x NOINOTIFY [-d limit|filter] [-r REPEATS] [-t TMPDIR]
 *              [WORKLOAD[=N]...]
 *        bench --child MODE N DATADIR     (one measurement; used by the driver)
 *
 * The driver prepares the data once (files, a directory tree), then runs
 * every workload REPEATS times on each side, alternating which side goes
 * first: the kernel (the child run plainly) and the shim (the child run
 * with LD_PRELOAD=SHIM.so and the kernel's inotify denied, so that only the
 * emulation can answer), each shim run in a fresh private domain.  It
 * prints the medians of both, and their ratio shim/kernel.
 *
 * How the kernel's inotify is denied (-d):
 *   limit   (the default where the machine allows it) the child runs in a
 *           user namespace of its own, with the same uid and gid inside,
 *           whose inotify instance limit is 0: inotify_init fails with
 *           EMFILE, as when max_user_instances is used up.  It costs
 *           nothing per system call.
 *   filter  the child runs under NOINOTIFY's seccomp filter, which makes
 *           the inotify calls fail with ENOSYS and runs on every system
 *           call (2-5 % of a pwrite here): the shim's side pays it.
 * For the overhead workloads a third side runs in the rotation, the kernel
 * under the same denial without the shim, so that shim / denied kernel is
 * the shim's own cost whatever the denial costs.
 *
 * Each time metric prints the medians and their ratio; the overhead
 * workloads then print the minima and theirs.  There, one process makes
 * system calls in a loop, and noise (a VM) only ever adds time, in bursts:
 * on the machine of bench/README some runs of either side take 1.5x the
 * others.  The medians say what a run is likely to see; the minima are the
 * nearest to what each side's code costs, the better figure for a ratio
 * near 1 when the spreads are wide.  (Not for the workloads of several
 * processes: there the fastest run is a lucky placement on the CPUs, not
 * the code's cost.)
 *
 * Workloads (default N in parentheses):
 *   overhead    (200000) pwrite, and open+close, of an unwatched file;
 *               nothing watched anywhere
 *   overhead10k (200000) the same while another process holds 10,000
 *               watches elsewhere in the domain
 *   events      (200000) one process makes N events and reads them
 *   xproc       (200000) a child makes N events, the parent reads them
 *   latency     (20000)  N round trips: child writes, parent wakes on it
 *   watches     (10000)  N add_watch, then one event each
 *   tree        (100000) inotifywait -r: a recursive add over N directories
 *   million     (1000000) N watches; the domain's bytes per watch
 *   writers     (80000)  8 writer processes, N events in all, one reader
 *   writers_q1k (80000) the same with a queue of 1024 events, read only
 *               once the writers are done: the queue overflows, and the
 *               reader checks that nothing was lost before IN_Q_OVERFLOW
 *
 * As root, the driver raises /proc/sys/fs/inotify/max_user_watches for the
 * run when the kernel side needs more, and max_queued_events for
 * writers_q1k, and puts both back afterwards.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* paths are checked for length where it matters; truncation is harmless */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#define NWRITERS 8
#define MAX_WRITERS 64
#define ELSEWHERE 10000

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

/* ------------------------------------------------------------------ */
/* the measurements: run in a child, print one line of key=value       */

/* Read whatever is pending; count events and overflows. */
static long drain(int fd, int wait_ms, long *overflows)
{
	static char buf[1 << 16] __attribute__((aligned(8)));
	long count = 0;
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (poll(&p, 1, wait_ms) <= 0)
		return 0;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n <= 0)
			break;
		for (char *q = buf; q < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)q;
			if (ev->mask & IN_Q_OVERFLOW)
				(*overflows)++;
			count++;
			q += sizeof *ev + ev->len;
		}
	}
	return count;
}

static int open_or_die(const char *path, int flags)
{
	int fd = open(path, flags, 0644);
	if (fd < 0)
		die(path);
	return fd;
}

/* A process holding ELSEWHERE watches on DATA/files until told to stop.
 * Returns the pipe whose closing ends it. */
static int hold_watches_elsewhere(const char *data, pid_t *pid)
{
	int ready[2], stop[2];
	char path[PATH_MAX], c;

	if (pipe(ready) || pipe(stop))
		die("pipe");
	*pid = fork();
	if (*pid < 0)
		die("fork");
	if (*pid == 0) {
		close(ready[0]);
		close(stop[1]);
		int in = inotify_init1(IN_NONBLOCK);
		if (in < 0)
			_exit(1);
		for (long i = 0; i < ELSEWHERE; i++) {
			snprintf(path, sizeof path, "%s/files/%ld/%ld", data, i / 1000, i % 1000);
			if (inotify_add_watch(in, path, IN_ALL_EVENTS) < 0)
				_exit(1);
		}
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		while (read(stop[0], &c, 1) > 0)
			;
		_exit(0);
	}
	close(ready[1]);
	close(stop[0]);
	if (read(ready[0], &c, 1) != 1) {
		fprintf(stderr, "bench: the watch holder failed\n");
		exit(1);
	}
	close(ready[0]);
	return stop[1];
}

static void m_overhead(long n, const char *data, const char *work, bool elsewhere)
{
	char path[PATH_MAX];
	pid_t holder = 0;
	int stop = -1;

	if (elsewhere)
		stop = hold_watches_elsewhere(data, &holder);
	snprintf(path, sizeof path, "%s/f", work);
	int fd = open_or_die(path, O_RDWR | O_CREAT);
	/* warm up: caches, the shim's fd table, page tables */
	for (long i = 0; i < n / 10; i++)
		if (pwrite(fd, "x", 1, 0) != 1)
			die("pwrite");
	double t0 = now();
	for (long i = 0; i < n; i++)
		if (pwrite(fd, "x", 1, 0) != 1)
			die("pwrite");
	double t1 = now();
	for (long i = 0; i < n; i++)
		close(open_or_die(path, O_RDONLY));
	double t2 = now();
	close(fd);
	printf("pwrite_ns=%.1f open_close_ns=%.1f\n", (t1 - t0) / n * 1e9,
	       (t2 - t1) / n * 1e9);
	if (elsewhere) {
		close(stop);
		waitpid(holder, NULL, 0);
	}
}

/* Two files written in turn so that no two neighbouring events merge. */
static void m_events(long n, const char *work)
{
	char a[PATH_MAX], b[PATH_MAX];
	long got = 0, over = 0;

	snprintf(a, sizeof a, "%s/a", work);
	snprintf(b, sizeof b, "%s/b", work);
	int in = inotify_init1(IN_NONBLOCK);
	if (in < 0)
		die("inotify_init1");
	if (inotify_add_watch(in, work, IN_MODIFY) < 0)
		die("inotify_add_watch");
	int fa = open_or_die(a, O_WRONLY | O_CREAT), fb = open_or_die(b, O_WRONLY | O_CREAT);
	double t0 = now();
	for (long i = 0; i < n; i++) {
		if (pwrite(i & 1 ? fb : fa, "x", 1, 0) != 1)
			die("pwrite");
		if ((i & 1023) == 1023)
			got += drain(in, 0, &over);
	}
	got += drain(in, 0, &over);
	double t1 = now();
	printf("ns_per_event=%.1f received=%ld overflows=%ld\n", (t1 - t0) / n * 1e9, got, over);
}

static void m_xproc(long n, const char *work)
{
	char a[PATH_MAX], b[PATH_MAX];
	long got = 0, over = 0;

	snprintf(a, sizeof a, "%s/a", work);
	snprintf(b, sizeof b, "%s/b", work);
	int fa = open_or_die(a, O_WRONLY | O_CREAT), fb = open_or_die(b, O_WRONLY | O_CREAT);
	int in = inotify_init1(IN_NONBLOCK);
	if (in < 0)
		die("inotify_init1");
	if (inotify_add_watch(in, work, IN_MODIFY) < 0)
		die("inotify_add_watch");
	double t0 = now();
	pid_t pid = fork();
	if (pid == 0) {
		for (long i = 0; i < n; i++)
			if (pwrite(i & 1 ? fb : fa, "x", 1, 0) != 1)
				_exit(1);
		_exit(0);
	}
	int status, done = 0;
	while (got + over < n) {
		long k = drain(in, done ? 200 : 50, &over);
		got += k;
		if (!done && waitpid(pid, &status, WNOHANG) == pid)
			done = 1;
		else if (done && k == 0)
			break;
	}
	if (!done)
		waitpid(pid, &status, 0);
	double t1 = now();
	printf("ns_per_event=%.1f received=%ld overflows=%ld\n", (t1 - t0) / n * 1e9, got, over);
}

static void m_latency(long n, const char *work)
{
	char a[PATH_MAX];
	long over = 0, lost = 0;
	int go[2];

	snprintf(a, sizeof a, "%s/a", work);
	int fa = open_or_die(a, O_WRONLY | O_CREAT);
	int in = inotify_init1(IN_NONBLOCK);
	if (in < 0 || pipe(go))
		die("setup");
	if (inotify_add_watch(in, a, IN_MODIFY) < 0)
		die("inotify_add_watch");
	pid_t pid = fork();
	if (pid == 0) {
		char c;
		close(go[1]);
		while (read(go[0], &c, 1) == 1)
			if (pwrite(fa, "x", 1, 0) != 1)
				_exit(1);
		_exit(0);
	}
	double t0 = now();
	for (long i = 0; i < n; i++) {
		if (write(go[1], "g", 1) != 1)
			die("write");
		if (drain(in, 1000, &over) == 0)
			lost++;
	}
	double t1 = now();
	close(go[1]);
	waitpid(pid, NULL, 0);
	printf("ns_per_roundtrip=%.1f lost=%ld\n", (t1 - t0) / n * 1e9, lost);
}

/* Bytes of the domain's files actually allocated (the registry is sparse). */
static void domain_bytes(double *registry, double *all)
{
	const char *dom = getenv("INOTIFY_SHIM_DOMAIN");
	char path[PATH_MAX];
	struct stat st;
	DIR *d;
	struct dirent *e;

	*registry = *all = 0;
	if (!dom || !(d = opendir(dom)))
		return;
	while ((e = readdir(d))) {
		snprintf(path, sizeof path, "%s/%s", dom, e->d_name);
		if (e->d_name[0] == '.' || lstat(path, &st) || !S_ISREG(st.st_mode))
			continue;
		*all += st.st_blocks * 512.0;
		if (!strcmp(e->d_name, "registry"))
			*registry = st.st_blocks * 512.0;
	}
	closedir(d);
}

/* N watches on DATA/files/I/J, then one event on each (chmod). */
static void m_watches(long n, const char *data, bool report_memory)
{
	char path[PATH_MAX];
	long got = 0, over = 0;

	int in = inotify_init1(IN_NONBLOCK);
	if (in < 0)
		die("inotify_init1");
	double t0 = now();
	for (long i = 0; i < n; i++) {
		snprintf(path, sizeof path, "%s/files/%ld/%ld", data, i / 1000, i % 1000);
		if (inotify_add_watch(in, path, IN_ATTRIB) < 0)
			die("inotify_add_watch");
	}
	double t1 = now();
	long events = report_memory ? 0 : n;
	for (long i = 0; i < events; i++) {
		snprintf(path, sizeof path, "%s/files/%ld/%ld", data, i / 1000, i % 1000);
		if (chmod(path, i & 1 ? 0600 : 0644))
			die("chmod");
		if ((i & 1023) == 1023)
			got += drain(in, 0, &over);
	}
	got += drain(in, 0, &over);
	double t2 = now();
	printf("add_ns=%.1f", (t1 - t0) / n * 1e9);
	if (events)
		printf(" event_ns=%.1f received=%ld", (t2 - t1) / events * 1e9, got);
	if (report_memory) {
		double reg, all;
		domain_bytes(&reg, &all);
		if (all > 0)
			printf(" registry_bytes_per_watch=%.1f domain_bytes_per_watch=%.1f",
			       reg / n, all / n);
	}
	printf("\n");
	close(in);
}

/* inotifywait -r: watch a directory, list it, recurse into each
 * subdirectory. */
static long add_tree(int in, char *path, size_t len)
{
	long count = 1;
	DIR *d;
	struct dirent *e;

	if (inotify_add_watch(in, path, IN_ALL_EVENTS) < 0)
		die("inotify_add_watch");
	if (!(d = opendir(path)))
		die(path);
	while ((e = readdir(d))) {
		if (e->d_type != DT_DIR || !strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		size_t l = strlen(e->d_name);
		if (len + 1 + l + 1 > PATH_MAX)
			continue;
		path[len] = '/';
		memcpy(path + len + 1, e->d_name, l + 1);
		count += add_tree(in, path, len + 1 + l);
		path[len] = 0;
	}
	closedir(d);
	return count;
}

static void m_tree(const char *data)
{
	char path[PATH_MAX];

	int in = inotify_init1(IN_NONBLOCK);
	if (in < 0)
		die("inotify_init1");
	snprintf(path, sizeof path, "%s/tree", data);
	double t0 = now();
	long count = add_tree(in, path, strlen(path));
	double t1 = now();
	printf("ns_per_dir=%.1f total_ms=%.1f dirs=%ld\n", (t1 - t0) / count * 1e9,
	       (t1 - t0) * 1e3, count);
	close(in);
}

/* 8 writers create files named wW-SEQ in a watched directory; the reader
 * checks, writer by writer, that the sequence has no gap before the first
 * IN_Q_OVERFLOW it reads. */
struct wthread {
	const char *dir;
	int w;
	long per;
};

/* One writer: per files w<W>-<i>, created and closed, in order. */
static void *write_files(void *arg)
{
	const struct wthread *t = arg;
	char p[PATH_MAX];

	for (long i = 0; i < t->per; i++) {
		snprintf(p, sizeof p, "%s/w%d-%ld", t->dir, t->w, i);
		int f = open(p, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (f < 0)
			_exit(1);
		close(f);
	}
	return NULL;
}

/* nw writers (processes, or threads of one process when threads), n files
 * in all, in one watched directory of work; one reader checks each
 * writer's sequence.  late: read only once the writers are done. */
static void m_writers(long n, const char *work, bool late, int nw, bool threads)
{
	static char buf[1 << 16] __attribute__((aligned(8)));
	long per = n / nw, got = 0, over = 0, gaps_before = 0, disorder = 0;
	long next[MAX_WRITERS] = { 0 };
	struct wthread t[MAX_WRITERS];
	pid_t pid[MAX_WRITERS];
	char dir[PATH_MAX];
	int running = threads ? 1 : nw;

	snprintf(dir, sizeof dir, "%s/w", work);
	if (mkdir(dir, 0755))
		die("mkdir");
	int in = inotify_init1(IN_NONBLOCK);
	if (in < 0)
		die("inotify_init1");
	if (inotify_add_watch(in, dir, IN_CREATE) < 0)
		die("inotify_add_watch");
	for (int w = 0; w < nw; w++)
		t[w] = (struct wthread){ dir, w, per };
	double t0 = now();
	if (threads) {
		pid[0] = fork();
		if (pid[0] < 0)
			die("fork");
		if (pid[0] == 0) {
			pthread_t th[MAX_WRITERS];
			close(in);	/* writers are other programs: no fd on the instance */
			for (int w = 0; w < nw; w++)
				if (pthread_create(&th[w], NULL, write_files, &t[w]))
					_exit(1);
			for (int w = 0; w < nw; w++)
				pthread_join(th[w], NULL);
			_exit(0);
		}
	} else {
		for (int w = 0; w < nw; w++) {
			pid[w] = fork();
			if (pid[w] < 0)
				die("fork");
			if (pid[w] == 0) {
				close(in);
				write_files(&t[w]);
				_exit(0);
			}
		}
	}
	struct pollfd pf = { .fd = in, .events = POLLIN };
	if (late)	/* a reader that falls behind: let the queue overflow */
		for (; running; running--)
			waitpid(-1, NULL, 0);
	for (;;) {
		int r = poll(&pf, 1, running ? 50 : 200);
		if (r > 0) {
			ssize_t len;
			while ((len = read(in, buf, sizeof buf)) > 0) {
				for (char *q = buf; q < buf + len;) {
					struct inotify_event *ev = (struct inotify_event *)q;
					int w;
					long seq;
					q += sizeof *ev + ev->len;
					if (ev->mask & IN_Q_OVERFLOW) {
						over++;
						continue;
					}
					got++;
					if (sscanf(ev->name, "w%d-%ld", &w, &seq) != 2 || w < 0 ||
					    w >= nw) {
						disorder++;
						continue;
					}
					if (seq < next[w])
						disorder++;
					else if (seq > next[w] && !over)
						gaps_before += seq - next[w];
					next[w] = seq + 1;
				}
			}
		}
		while (running && waitpid(-1, NULL, WNOHANG) > 0)
			running--;
		if (!running && r <= 0)
			break;
	}
	double t1 = now();
	/* CPU time of the reader and of the writers (waited for, all of them):
	 * less moved by other load on the machine than the wall time */
	struct rusage self, kids;
	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &kids);
	double cpu = self.ru_utime.tv_sec + self.ru_stime.tv_sec + kids.ru_utime.tv_sec +
		     kids.ru_stime.tv_sec + (self.ru_utime.tv_usec + self.ru_stime.tv_usec +
					     kids.ru_utime.tv_usec + kids.ru_stime.tv_usec) / 1e6;
	/* with no overflow, every event must have come */
	long lost = over ? gaps_before : per * nw - got;
	printf("ns_per_event=%.1f events_per_s=%.0f received=%ld overflows=%ld "
	       "lost_before_overflow=%ld out_of_order=%ld cpu_ns_per_event=%.1f\n",
	       (t1 - t0) / (per * nw) * 1e9, per * nw / (t1 - t0), got, over, lost, disorder,
	       cpu / (per * nw) * 1e9);
	close(in);
}

/* The scaling workloads (issue 12) run on tmpfs, whatever $TMPDIR is, so
 * that the disk is not the figure. */
static void m_writers_tmpfs(long n, bool threads)
{
	char work[] = "/dev/shm/inotify-shim-bench-w.XXXXXX", cmd[64];

	if (!mkdtemp(work))
		die("mkdtemp");
	m_writers(n, work, false, threads ? 64 : 8, threads);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", work);
	if (system(cmd) != 0)
		fprintf(stderr, "bench: could not remove %s\n", work);
}

static int child(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "bench: --child MODE N DATADIR\n");
		return 2;
	}
	const char *mode = argv[2], *data = argv[4];
	long n = atol(argv[3]);
	char work[PATH_MAX];

	snprintf(work, sizeof work, "%s/work-XXXXXX", data);
	if (!mkdtemp(work))
		die("mkdtemp");
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(mode, "overhead")) m_overhead(n, data, work, false);
	else if (!strcmp(mode, "overhead10k")) m_overhead(n, data, work, true);
	else if (!strcmp(mode, "events")) m_events(n, work);
	else if (!strcmp(mode, "xproc")) m_xproc(n, work);
	else if (!strcmp(mode, "latency")) m_latency(n, work);
	else if (!strcmp(mode, "watches")) m_watches(n, data, false);
	else if (!strcmp(mode, "million")) m_watches(n, data, true);
	else if (!strcmp(mode, "tree")) m_tree(data);
	else if (!strcmp(mode, "writers")) m_writers(n, work, false, NWRITERS, false);
	else if (!strcmp(mode, "writers_q1k")) m_writers(n, work, true, NWRITERS, false);
	else if (!strcmp(mode, "writers8")) m_writers_tmpfs(n, false);
	else if (!strcmp(mode, "threads64")) m_writers_tmpfs(n, true);
	else {
		fprintf(stderr, "bench: unknown mode %s\n", mode);
		return 2;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* the driver                                                          */

enum kind { TIME, INFO, SHIM_ONLY };

struct metric {
	const char *key;
	enum kind kind;
	double target;		/* ratio (TIME) or absolute bound (SHIM_ONLY); 0: none */
};

struct workload {
	const char *name;
	long n;
	int reps;		/* 0: the -r default */
	const char *what;
	struct metric m[8];
	const char *control;	/* side 2, the kernel under the filter, runs this
				 * mode (overhead10k's holder needs an inotify) */
	double values[3][8][64];	/* [side][metric][rep] */
	int nvalues[3];
};

static struct workload workloads[] = {
	{ .name = "overhead", .n = 200000, .reps = 0, .what = "nothing watched anywhere",
	  .m = { { "pwrite_ns", TIME, 1.03 }, { "open_close_ns", TIME, 1.03 } }, .control = "overhead" },
	{ .name = "overhead10k", .n = 200000, .reps = 0, .what = "10,000 watches elsewhere in the domain",
	  .m = { { "pwrite_ns", TIME, 1.10 }, { "open_close_ns", TIME, 1.10 } }, .control = "overhead" },
	{ .name = "events", .n = 200000, .reps = 0, .what = "made and read by one process",
	  .m = { { "ns_per_event", TIME, 1.0 }, { "received", INFO, 0 } } },
	{ .name = "xproc", .n = 200000, .reps = 0, .what = "made by a child, read by the parent",
	  .m = { { "ns_per_event", TIME, 1.3 }, { "received", INFO, 0 } } },
	{ .name = "latency", .n = 20000, .reps = 0, .what = "round trips, writer child to reader",
	  .m = { { "ns_per_roundtrip", TIME, 1.3 }, { "lost", INFO, 0 } } },
	{ .name = "watches", .n = 10000, .reps = 0, .what = "N add_watch, then one event each",
	  .m = { { "add_ns", TIME, 1.2 }, { "event_ns", TIME, 0 }, { "received", INFO, 0 } } },
	{ .name = "tree", .n = 100000, .reps = 3, .what = "inotifywait -r over N directories",
	  .m = { { "ns_per_dir", TIME, 0 }, { "total_ms", TIME, 0 }, { "dirs", INFO, 0 } } },
	{ .name = "million", .n = 1000000, .reps = 1, .what = "N watches",
	  .m = { { "add_ns", TIME, 0 }, { "registry_bytes_per_watch", SHIM_ONLY, 128 },
	    { "domain_bytes_per_watch", SHIM_ONLY, 0 } } },
	{ .name = "writers", .n = 80000, .reps = 3, .what = "8 writer processes, one reader",
	  .m = { { "ns_per_event", TIME, 0 }, { "events_per_s", INFO, 0 }, { "received", INFO, 0 },
	    { "overflows", INFO, 0 }, { "lost_before_overflow", INFO, 0 },
	    { "out_of_order", INFO, 0 } } },
	{ .name = "writers8", .n = 400000, .reps = 3, .what = "8 writer processes x 50,000 creates, tmpfs",
	  .m = { { "ns_per_event", TIME, 1.3 }, { "events_per_s", INFO, 0 }, { "received", INFO, 0 },
	    { "overflows", INFO, 0 }, { "lost_before_overflow", INFO, 0 },
	    { "out_of_order", INFO, 0 }, { "cpu_ns_per_event", TIME, 0 } } },
	{ .name = "threads64", .n = 32000, .reps = 3, .what = "64 writer threads x 500 creates, tmpfs",
	  .m = { { "ns_per_event", TIME, 1.3 }, { "events_per_s", INFO, 0 }, { "received", INFO, 0 },
	    { "overflows", INFO, 0 }, { "lost_before_overflow", INFO, 0 },
	    { "out_of_order", INFO, 0 }, { "cpu_ns_per_event", TIME, 0 } } },
	{ .name = "writers_q1k", .n = 80000, .reps = 1, .what = "queues of 1024 events, read late",
	  .m = { { "ns_per_event", TIME, 0 }, { "events_per_s", INFO, 0 }, { "received", INFO, 0 },
	    { "overflows", INFO, 0 }, { "lost_before_overflow", INFO, 0 },
	    { "out_of_order", INFO, 0 } } },
};
#define NWORKLOADS (sizeof workloads / sizeof workloads[0])

static const char *shim_lib, *noinotify, *self;
static enum { DENY_LIMIT, DENY_FILTER } denial = DENY_LIMIT;
static char data_dir[PATH_MAX];
static long saved_watches = -1, saved_queued = -1;

static long read_proc(const char *name)
{
	char path[128];
	long v = -1;
	snprintf(path, sizeof path, "/proc/sys/fs/inotify/%s", name);
	FILE *f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static bool write_proc(const char *name, long v)
{
	char path[128];
	snprintf(path, sizeof path, "/proc/sys/fs/inotify/%s", name);
	FILE *f = fopen(path, "w");
	if (!f)
		return false;
	bool ok = fprintf(f, "%ld\n", v) > 0;
	return fclose(f) == 0 && ok;
}

static bool write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY);
	if (fd < 0)
		return false;
	bool ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
	return close(fd) == 0 && ok;
}

/* Deny the kernel's inotify to this process and what it runs (-d limit):
 * a user namespace of its own, the same uid and gid inside, whose inotify
 * instance limit is 0.  True once inotify_init1 fails with EMFILE. */
static bool deny_by_limit(void)
{
	char map[64];
	uid_t uid = getuid();
	gid_t gid = getgid();

	if (unshare(CLONE_NEWUSER))
		return false;
	snprintf(map, sizeof map, "%u %u 1\n", (unsigned)uid, (unsigned)uid);
	if (!write_file("/proc/self/uid_map", map) || !write_file("/proc/self/setgroups", "deny\n"))
		return false;
	snprintf(map, sizeof map, "%u %u 1\n", (unsigned)gid, (unsigned)gid);
	if (!write_file("/proc/self/gid_map", map) ||
	    !write_file("/proc/sys/user/max_inotify_instances", "0\n"))
		return false;
	long fd = syscall(SYS_inotify_init1, 0);
	if (fd >= 0) {
		close((int)fd);
		return false;
	}
	return errno == EMFILE;
}

/* Can this machine deny by the limit?  Asked once, in a child. */
static bool limit_works(void)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		die("fork");
	if (pid == 0)
		_exit(deny_by_limit() ? 0 : 1);
	return waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)ftw;
	return flag == FTW_DP ? rmdir(p) : unlink(p);
}

static void rm_rf(const char *p)
{
	nftw(p, rm_one, 64, FTW_DEPTH | FTW_PHYS);
}

static void restore(void)
{
	if (saved_watches > 0)
		write_proc("max_user_watches", saved_watches);
	if (saved_queued > 0)
		write_proc("max_queued_events", saved_queued);
	saved_watches = saved_queued = -1;
	if (data_dir[0]) {
		rm_rf(data_dir);
		data_dir[0] = 0;
	}
}

static void on_signal(int sig)
{
	restore();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* DATA/files/I/J for I*1000+J < n */
static void make_files(long n)
{
	static long made;
	char path[PATH_MAX];

	for (long i = made; i < n; i++) {
		if (i % 1000 == 0) {
			snprintf(path, sizeof path, "%s/files/%ld", data_dir, i / 1000);
			if (mkdir(path, 0755) && errno != EEXIST)
				die(path);
		}
		snprintf(path, sizeof path, "%s/files/%ld/%ld", data_dir, i / 1000, i % 1000);
		close(open_or_die(path, O_WRONLY | O_CREAT));
	}
	if (n > made)
		made = n;
}

/* N directories, fan-out 50 at each level, breadth first. */
static void make_tree(long n)
{
	static long made_n;
	long fan = 50, made = 1;
	char (*queue)[64];
	long head = 0, tail = 0;

	if (made_n == n)
		return;
	char root[PATH_MAX];
	snprintf(root, sizeof root, "%s/tree", data_dir);
	rm_rf(root);
	if (mkdir(root, 0755))
		die(root);
	queue = malloc((size_t)(n + 1) * sizeof *queue);
	if (!queue)
		die("malloc");
	strcpy(queue[tail++], "");
	while (made < n && head < tail) {
		char *parent = queue[head++];
		for (long k = 0; k < fan && made < n; k++, made++) {
			char path[PATH_MAX];
			snprintf(queue[tail], sizeof queue[tail], "%s/%ld", parent, k);
			snprintf(path, sizeof path, "%s%s", root, queue[tail]);
			if (mkdir(path, 0755))
				die(path);
			tail++;
		}
	}
	free(queue);
	made_n = n;
}

/* Run one measurement; parse its key=value line into w's metrics. */
static bool run_side(struct workload *w, int side)
{
	char nbuf[32], dom[PATH_MAX] = "", domvar[PATH_MAX + 32], line[1024] = "";
	int out[2];
	const char *kernel_argv[] = { self, "--child", w->name, nbuf, data_dir, NULL };
	const char *shim_argv[] = { noinotify, self, "--child", w->name, nbuf, data_dir, NULL };
	const char *control_argv[] = { noinotify, self, "--child", w->control, nbuf, data_dir, NULL };
	/* denied by the limit, the shim's and the control's children run
	 * without NOINOTIFY in front */
	int skip = denial == DENY_LIMIT ? 1 : 0;
	bool q1k = !strcmp(w->name, "writers_q1k");

	snprintf(nbuf, sizeof nbuf, "%ld", w->n);
	if (side == 1) {
		strcpy(dom, "/dev/shm/inotify-shim-bench.XXXXXX");
		if (!mkdtemp(dom))
			die("mkdtemp");
		chmod(dom, 0700);
		snprintf(domvar, sizeof domvar, "%s/domain", dom);
	} else if (q1k && !write_proc("max_queued_events", 1024)) {
		fprintf(stderr, "bench: cannot set max_queued_events (not root?)\n");
	}
	if (pipe(out))
		die("pipe");
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		dup2(out[1], 1);
		close(out[0]);
		close(out[1]);
		if (side != 0 && denial == DENY_LIMIT && !deny_by_limit()) {
			printf("the user namespace with no inotify instances could not be made\n");
			_exit(126);
		}
		if (side == 1) {
			setenv("LD_PRELOAD", shim_lib, 1);
			setenv("INOTIFY_SHIM_DOMAIN", domvar, 1);
			setenv("INOTIFY_SHIM_MAX_USER_WATCHES", "2000000", 1);
			if (q1k)
				setenv("INOTIFY_SHIM_MAX_QUEUED_EVENTS", "1024", 1);
			execv(shim_argv[skip], (char **)shim_argv + skip);
		} else if (side == 2) {
			execv(control_argv[skip], (char **)control_argv + skip);
		} else {
			execv(self, (char **)kernel_argv);
		}
		_exit(127);
	}
	close(out[1]);
	size_t len = 0;
	ssize_t r;
	while ((r = read(out[0], line + len, sizeof line - 1 - len)) > 0)
		len += (size_t)r;
	line[len] = 0;
	close(out[0]);
	int status;
	waitpid(pid, &status, 0);
	if (side == 0 && q1k)
		write_proc("max_queued_events", saved_queued > 0 ? saved_queued : 16384);
	if (dom[0])
		rm_rf(dom);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "bench: %s on the %s failed: %s", w->name,
			side == 1 ? "shim" : side == 2 ? "denied kernel" : "kernel", line);
		return false;
	}
	int k = w->nvalues[side]++;
	for (int m = 0; m < 8 && w->m[m].key; m++) {
		char pat[80];
		snprintf(pat, sizeof pat, "%s=", w->m[m].key);
		char *p = line;
		w->values[side][m][k] = NAN;
		while ((p = strstr(p, pat))) {
			if (p == line || p[-1] == ' ') {
				w->values[side][m][k] = atof(p + strlen(pat));
				break;
			}
			p++;
		}
	}
	return true;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(const double *v, int n)
{
	double s[64];
	memcpy(s, v, (size_t)n * sizeof *s);
	qsort(s, (size_t)n, sizeof *s, cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static void report(struct workload *w)
{
	int nk = w->nvalues[0], ns = w->nvalues[1];

	printf("%-12s N=%-8ld %s (median of %d)\n", w->name, w->n, w->what, nk < ns ? nk : ns);
	for (int m = 0; m < 8 && w->m[m].key; m++) {
		const struct metric *mt = &w->m[m];
		double k = nk ? median(w->values[0][m], nk) : NAN;
		double s = ns ? median(w->values[1][m], ns) : NAN;
		if (mt->kind == SHIM_ONLY) {
			printf("  %-26s %14s %14.1f", mt->key, "-", s);
			if (mt->target > 0)
				printf("   target <= %g: %s", mt->target, s <= mt->target ? "met" : "MISSED");
			printf("\n");
			continue;
		}
		printf("  %-26s %14.1f %14.1f", mt->key, k, s);
		if (mt->kind == TIME) {
			double ratio = s / k;
			printf("   ratio %6.3f", ratio);
			if (mt->target > 0)
				printf("   target <= %.2f: %s", mt->target,
				       ratio <= mt->target ? "met" : "MISSED");
			if (nk > 1 && ns > 1) {
				double kmin = w->values[0][m][0], kmax = kmin, smin = w->values[1][m][0], smax = smin;
				for (int i = 1; i < nk; i++) {
					kmin = fmin(kmin, w->values[0][m][i]);
					kmax = fmax(kmax, w->values[0][m][i]);
				}
				for (int i = 1; i < ns; i++) {
					smin = fmin(smin, w->values[1][m][i]);
					smax = fmax(smax, w->values[1][m][i]);
				}
				printf("   (spread k %.0f%% s %.0f%%)", (kmax - kmin) / k * 100,
				       (smax - smin) / s * 100);
				if (w->control) {
					printf("\n  %-26s %14.1f %14.1f   ratio %6.3f", "  minima",
					       kmin, smin, smin / kmin);
					if (mt->target > 0)
						printf("   target <= %.2f: %s", mt->target,
						       smin / kmin <= mt->target ? "met" : "MISSED");
				}
			}
			if (w->nvalues[2]) {
				double f = median(w->values[2][m], w->nvalues[2]);
				printf("\n  %-26s %14.1f %14s   ratio %6.3f   (shim / kernel under the same denial)",
				       "  kernel, denied", f, "", s / f);
			}
		}
		printf("\n");
	}
	fflush(stdout);
}

static void usage(void)
{
	fprintf(stderr, "usage: bench -s SHIM.so -x NOINOTIFY [-d limit|filter] [-r REPEATS] "
			"[-t TMPDIR] [WORKLOAD[=N]...]\n       workloads:");
	for (size_t i = 0; i < NWORKLOADS; i++)
		fprintf(stderr, " %s", workloads[i].name);
	fprintf(stderr, "\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static char selfpath[PATH_MAX];
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	int reps = 5, opt;
	bool chosen[NWORKLOADS] = { false }, any = false, denial_asked = false;

	if (argc > 1 && !strcmp(argv[1], "--child"))
		return child(argc, argv);
	while ((opt = getopt(argc, argv, "s:x:d:r:t:")) != -1) {
		switch (opt) {
		case 's': shim_lib = optarg; break;
		case 'd':
			if (!strcmp(optarg, "limit"))
				denial = DENY_LIMIT;
			else if (!strcmp(optarg, "filter"))
				denial = DENY_FILTER;
			else
				usage();
			denial_asked = true;
			break;
		case 'x': noinotify = optarg; break;
		case 'r': reps = atoi(optarg); break;
		case 't': tmp = optarg; break;
		default: usage();
		}
	}
	if (!shim_lib || !noinotify || reps < 1 || reps > 64)
		usage();
	for (int i = optind; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		size_t l = eq ? (size_t)(eq - argv[i]) : strlen(argv[i]);
		size_t k;
		for (k = 0; k < NWORKLOADS; k++)
			if (strlen(workloads[k].name) == l && !strncmp(workloads[k].name, argv[i], l))
				break;
		if (k == NWORKLOADS)
			usage();
		chosen[k] = any = true;
		if (eq)
			workloads[k].n = atol(eq + 1);
	}
	if (!any)
		for (size_t k = 0; k < NWORKLOADS; k++)
			chosen[k] = true;
	ssize_t sl = readlink("/proc/self/exe", selfpath, sizeof selfpath - 1);
	if (sl < 0)
		die("readlink");
	self = selfpath;
	if (access(shim_lib, R_OK) || access(noinotify, X_OK))
		die("the shim library or noinotify");
	if (denial == DENY_LIMIT && !limit_works()) {
		if (denial_asked) {
			fprintf(stderr, "bench: -d limit: no user namespace with a zero inotify "
					"instance limit can be made here\n");
			exit(1);
		}
		denial = DENY_FILTER;
	}

	/* data for every workload, made once, outside the shim */
	long files = ELSEWHERE, dirs = 0;
	for (size_t k = 0; k < NWORKLOADS; k++) {
		if (!chosen[k])
			continue;
		if ((!strcmp(workloads[k].name, "watches") || !strcmp(workloads[k].name, "million")) &&
		    workloads[k].n > files)
			files = workloads[k].n;
		if (!strcmp(workloads[k].name, "tree"))
			dirs = workloads[k].n;
	}
	snprintf(data_dir, sizeof data_dir, "%s/inotify-shim-bench.XXXXXX", tmp);
	if (!mkdtemp(data_dir))
		die("mkdtemp");
	atexit(restore);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	saved_queued = read_proc("max_queued_events");
	long watches = read_proc("max_user_watches");
	if (watches >= 0 && watches < files + ELSEWHERE + dirs + 1000) {
		if (write_proc("max_user_watches", files + ELSEWHERE + dirs + 1000))
			saved_watches = watches;
		else
			fprintf(stderr, "bench: max_user_watches is %ld; the kernel side of "
					"the big workloads will fail (run as root)\n", watches);
	}
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/files", data_dir);
	mkdir(path, 0755);
	fprintf(stderr, "bench: preparing %ld files, %ld directories in %s\n", files, dirs, data_dir);
	make_files(files);
	if (dirs)
		make_tree(dirs);

	printf("the kernel's inotify is denied to the shim's side by %s\n",
	       denial == DENY_LIMIT ? "a zero instance limit in a user namespace of its own (-d limit)"
				    : "noinotify's seccomp filter (-d filter)");
	printf("%-26s %24s %14s\n", "", "kernel", "shim");
	for (size_t k = 0; k < NWORKLOADS; k++) {
		struct workload *w = &workloads[k];
		int r = w->reps ? (w->reps < reps ? w->reps : reps) : reps;
		if (!chosen[k])
			continue;
		if (any && w->reps)
			r = reps;	/* asked for by name: as many as -r says */
		for (int i = 0; i < r; i++) {
			/* rotate which side goes first */
			int sides = w->control ? 3 : 2;
			for (int j = 0; j < sides; j++)
				if (!run_side(w, (i + j) % sides))
					exit(1);
			/* work directories are left in data_dir; drop them */
			DIR *d = opendir(data_dir);
			struct dirent *e;
			while (d && (e = readdir(d)))
				if (!strncmp(e->d_name, "work-", 5)) {
					snprintf(path, sizeof path, "%s/%s", data_dir, e->d_name);
					rm_rf(path);
				}
			if (d)
				closedir(d);
		}
		report(w);
	}
	return 0;
}
