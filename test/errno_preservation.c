/*
 * errno_preservation.c - the watched program is never changed (issue 5):
 *   - hooked calls give the same result and errno as the kernel's, failures
 *     included (ENOENT, EACCES, EBADF, EEXIST, ENOTEMPTY, EXDEV), with and
 *     without watches: each case's expected answer is what the call gives
 *     on a path the shim does not watch, and the same call on a watched
 *     path must match it;
 *   - the bookkeeping leaks no fd and no heap memory per call (mallinfo2);
 *   - a signal handler writing a watched file while its thread is inside a
 *     hook: no deadlock, and its events are delivered (util/sigdefer.h);
 *   - 8 threads adding and removing watches, reading and writing, with fork
 *     and exec in the middle;
 *   - a program that closes every fd it did not open keeps working.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

TestSuite(errno_preservation, .init = scratch_setup,
	  .fini = scratch_leave, .timeout = 60);

struct result {
	long ret;
	int err;
};

#define CALL(expr) ({ errno = 12345; long r_ = (long)(expr); \
		      (struct result){ r_, r_ < 0 || r_ == 0 ? errno : 0 }; })

/* Run every case in directory dir (which exists, with a file f, a
 * non-empty directory full/ and an empty one empty/). */
static void run_cases(const char *dir, struct result *out, int *n)
{
	char p[512], q[512];
	int k = 0;
#define P(name) (snprintf(p, sizeof p, "%s/%s", dir, name), p)
#define Q(name) (snprintf(q, sizeof q, "%s/%s", dir, name), q)
	out[k++] = CALL(open(P("missing"), O_RDONLY));			/* ENOENT */
	out[k++] = CALL(open(P("f"), O_CREAT | O_EXCL | O_WRONLY, 0600));	/* EEXIST */
	out[k++] = CALL(mkdir(P("full"), 0700));				/* EEXIST */
	out[k++] = CALL(rmdir(P("full")));					/* ENOTEMPTY */
	out[k++] = CALL(unlink(P("missing")));				/* ENOENT */
	out[k++] = CALL(unlink(P("empty")));					/* EISDIR */
	out[k++] = CALL(rename(P("missing"), Q("x")));			/* ENOENT */
	out[k++] = CALL(rename(P("full"), Q("empty/sub")));		/* ok (then back) */
	out[k++] = CALL(rename(Q("empty/sub"), P("full")));
	out[k++] = CALL(write(-1, "x", 1));					/* EBADF */
	out[k++] = CALL(close(-1));						/* EBADF */
	out[k++] = CALL(ftruncate(-1, 0));					/* EBADF */
	out[k++] = CALL(fchmod(9999, 0600));					/* EBADF */
	out[k++] = CALL(chmod(P("missing"), 0600));				/* ENOENT */
	out[k++] = CALL(truncate(P("empty"), 0));				/* EISDIR */
	out[k++] = CALL(link(P("missing"), Q("y")));				/* ENOENT */
	out[k++] = CALL(link(P("f"), P("f")));				/* EEXIST */
	out[k++] = CALL(symlink("t", P("f")));				/* EEXIST */
	out[k++] = CALL(mkdir(P("missing/sub"), 0700));			/* ENOENT */
	out[k++] = CALL(fopen(P("missing"), "r") != NULL ? 1 : 0);		/* ENOENT */
	out[k++] = CALL(renameat2(AT_FDCWD, P("f"), AT_FDCWD, P("full"), RENAME_NOREPLACE));
	out[k++] = CALL(utimes(P("missing"), NULL));
	*n = k;
#undef P
#undef Q
}

static void make_tree(const char *dir)
{
	char p[512];

	mkdir(dir, 0700);
	snprintf(p, sizeof p, "%s/f", dir);
	close(creat(p, 0600));
	snprintf(p, sizeof p, "%s/full", dir);
	mkdir(p, 0700);
	snprintf(p, sizeof p, "%s/full/x", dir);
	close(creat(p, 0600));
	snprintf(p, sizeof p, "%s/empty", dir);
	mkdir(p, 0700);
}

Test(errno_preservation, failures_match_with_and_without_watches)
{
	struct result plain[64], watched[64];
	int n1, n2, fd = inotify_init1(IN_NONBLOCK);

	make_tree("plain");
	make_tree("watched");
	cr_assert_gt(inotify_add_watch(fd, "watched", IN_ALL_EVENTS), 0);
	cr_assert_gt(inotify_add_watch(fd, "watched/full", IN_ALL_EVENTS), 0);
	cr_assert_gt(inotify_add_watch(fd, "watched/f", IN_ALL_EVENTS), 0);
	run_cases("plain", plain, &n1);
	run_cases("watched", watched, &n2);
	cr_assert_eq(n1, n2);
	for (int i = 0; i < n1; i++) {
		cr_assert_eq(plain[i].ret, watched[i].ret, "case %d: %ld vs %ld", i,
			     plain[i].ret, watched[i].ret);
		cr_assert_eq(plain[i].err, watched[i].err, "case %d: errno %s vs %s", i,
			     strerror(plain[i].err), strerror(watched[i].err));
	}
	/* and the expected errnos really are the kernel's failures */
	cr_assert_eq(plain[0].err, ENOENT);
	cr_assert_eq(plain[1].err, EEXIST);
	cr_assert_eq(plain[3].err, ENOTEMPTY);
	cr_assert_eq(plain[9].err, EBADF);
	/* a successful call leaves errno alone, as the kernel does */
	errno = 4242;
	close(creat("watched/ok", 0600));
	cr_assert_eq(errno, 4242);
	close(fd);
}

Test(errno_preservation, exdev_across_file_systems)
{
	struct stat a, b;
	int fd = inotify_init1(IN_NONBLOCK);

	if (stat("/dev/shm", &a) < 0 || stat(".", &b) < 0 || a.st_dev == b.st_dev)
		cr_skip_test("/dev/shm and the scratch directory share a file system");
	close(creat("f", 0600));
	cr_assert_gt(inotify_add_watch(fd, ".", IN_ALL_EVENTS), 0);
	errno = 0;
	cr_assert_eq(rename("f", "/dev/shm/inotify-shim-exdev-test"), -1);
	cr_assert_eq(errno, EXDEV);
	close(fd);
}

Test(errno_preservation, eacces_as_another_user)
{
	if (geteuid() != 0)
		cr_skip_test("needs root to switch users");
	make_tree("locked");
	chmod("locked", 0700);
	int fd = inotify_init1(IN_NONBLOCK);
	cr_assert_gt(inotify_add_watch(fd, "locked", IN_ALL_EVENTS), 0);
	pid_t pid = fork();
	if (pid == 0) {
		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(2);
		errno = 0;
		if (open("locked/f", O_RDONLY) != -1 || errno != EACCES)
			_exit(3);
		errno = 0;
		if (creat("locked/new", 0600) != -1 || errno != EACCES)
			_exit(4);
		errno = 0;
		if (unlink("locked/f") != -1 || errno != EACCES)
			_exit(5);
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %x", st);
	close(fd);
}

/* Heap in use.  (Not RSS: the shared registry is a sparse file whose pages
 * count in RSS as they are first touched, which is no leak.) */
static long heap_kb(void)
{
	return (long)(mallinfo2().uordblks / 1024);
}

Test(errno_preservation, no_fd_or_memory_growth_per_call)
{
	int fd = inotify_init1(IN_NONBLOCK);
	char buf[65536];

	mkdir("d", 0700);
	cr_assert_gt(inotify_add_watch(fd, "d", IN_ALL_EVENTS), 0);
	int fds0 = 0;
	long rss0 = 0;
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 3000; i++) {
			int f = open("d/x", O_CREAT | O_WRONLY | O_TRUNC, 0600);
			if (write(f, "x", 1) != 1)
				cr_assert_fail("write");
			close(f);
			rename("d/x", "d/y");
			unlink("d/y");
			open("d/missing", O_RDONLY);
			if (i % 50 == 0)
				while (read(fd, buf, sizeof buf) > 0)
					;
		}
		while (read(fd, buf, sizeof buf) > 0)
			;
		if (round == 0) {
			fds0 = count_fds();
			rss0 = heap_kb();
		}
	}
	cr_assert_eq(count_fds(), fds0, "fds grew: %d -> %d", fds0, count_fds());
	cr_assert_lt(heap_kb() - rss0, 64, "the heap grew by %ld kB over 12,000 calls",
		     heap_kb() - rss0);
	close(fd);
}

/* ---- a signal handler writing a watched file ---------------------------- */

static volatile sig_atomic_t handled;

static void on_alarm(int sig)
{
	int saved = errno;
	(void)sig;
	int f = open("sig/h", O_WRONLY | O_CREAT | O_APPEND, 0600);
	if (f >= 0) {
		if (write(f, "s", 1) < 0) {
			/* ignored */
		}
		close(f);
	}
	handled++;
	errno = saved;
}

Test(errno_preservation, signal_handler_writing_a_watched_file_does_not_deadlock)
{
	int fd = inotify_init1(IN_NONBLOCK);
	char buf[65536];
	struct itimerval it = { { 0, 500 }, { 0, 500 } };
	struct timespec start, now;

	mkdir("sig", 0700);
	cr_assert_gt(inotify_add_watch(fd, "sig", IN_ALL_EVENTS), 0);
	signal(SIGALRM, on_alarm);
	setitimer(ITIMER_REAL, &it, NULL);
	/* Bounded in time as well as in work: on a loaded machine the
	 * handler can take most of each timer period. */
	clock_gettime(CLOCK_MONOTONIC, &start);
	now = start;
	for (int i = 0; i < 20000 && now.tv_sec - start.tv_sec < 5; i++) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		int f = open("sig/m", O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (f >= 0) {
			if (write(f, "m", 1) < 0) {
				/* EINTR is fine */
			}
			close(f);
		}
		if (i % 100 == 0)
			while (read(fd, buf, sizeof buf) > 0)
				;
	}
	it = (struct itimerval){ { 0, 0 }, { 0, 0 } };
	setitimer(ITIMER_REAL, &it, NULL);
	cr_assert_gt(handled, 10, "the handler ran only %d times", (int)handled);
	/* still working */
	while (read(fd, buf, sizeof buf) > 0)
		;
	close(creat("sig/after", 0600));
	struct ev ev[8];
	int n = wait_events(fd, ev, 8, 1, 5000);
	cr_assert_geq(n, 1);
	close(fd);
}

/* Every file a signal handler creates in a watched directory gives its
 * IN_CREATE, although the handler often interrupts its thread inside a hook
 * that holds a domain lock (the main loop below spends most of its time
 * there): the shim blocks signals while it holds a lock (util/sigdefer.h),
 * so the handler runs when the lock is free and its event is delivered. */
static volatile sig_atomic_t created;
/* The handler paces itself, as test/cross_process's two-reader writer
 * does: it makes a file only while fewer than ahead of its events wait
 * unread (counted is what the loop has read).  On a slow machine a
 * handler can take most of each timer period; unpaced, it filled the
 * queue faster than the loop, which barely ran between two ticks, could
 * drain it. */
static volatile sig_atomic_t counted, ahead;

static void on_alarm_create(int sig)
{
	int saved = errno;
	char name[32] = "sig2/h";
	int n = created, len = 6, digits = 0;
	(void)sig;
	if (n - counted >= ahead)
		return;
	/* the name by hand: snprintf is not async-signal-safe */
	for (int v = n; digits == 0 || v; v /= 10)
		digits++;
	for (int i = digits - 1, v = n; i >= 0; i--, v /= 10)
		name[len + i] = (char)('0' + v % 10);
	name[len + digits] = 0;
	int f = open(name, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (f >= 0) {
		close(f);
		created = n + 1;
	}
	errno = saved;
}

static void count_handler_creates(int fd, char *seen, int max, bool *overflow)
{
	char buf[65536];
	ssize_t n;

	while ((n = read(fd, buf, sizeof buf)) > 0) {
		for (ssize_t off = 0; off < n;) {
			struct inotify_event *e = (struct inotify_event *)(buf + off);
			if (e->mask & IN_Q_OVERFLOW)
				*overflow = true;
			if ((e->mask & IN_CREATE) && e->len && e->name[0] == 'h') {
				int k = atoi(e->name + 1);
				if (k >= 0 && k < max) {
					seen[k]++;
					counted = counted + 1;
				}
			}
			off += (ssize_t)sizeof *e + e->len;
		}
	}
}

static int queued_bytes(int fd)
{
	int n = 0;

	return ioctl(fd, FIONREAD, &n) == 0 ? n : 0;
}

/* The queue's size: the shim's setting, else the kernel's. */
static int queue_events(void)
{
	const char *s = getenv("INOTIFY_SHIM_MAX_QUEUED_EVENTS");
	FILE *f;
	int n = 0;

	if (s && atoi(s) > 0)
		return atoi(s);
	f = fopen("/proc/sys/fs/inotify/max_queued_events", "r");
	if (f) {
		if (fscanf(f, "%d", &n) != 1)
			n = 0;
		fclose(f);
	}
	return n > 0 ? n : 16384;
}

/* The scenario, as a plain program (its messages on stdout): 0, or 1 with
 * the failure said.  It runs in a domain of its own (helpers.h,
 * run_child_in_own_domain()): it counts every event, and in the suite's
 * domain a lock wait given up on a loaded machine by the process of a test
 * running beside it overflowed this test's queue as well (CI's package
 * build: "the queue overflowed: the test cannot count", and the fixture's
 * "fd leaked: 11 open at the start, 12 at the end" for the instance the
 * failed assertion left open). */
static int handler_events(void)
{
	enum { MAX = 100000 };
	static char seen[MAX];
	int fds = count_fds(), fd = inotify_init1(IN_NONBLOCK);
	struct itimerval it = { { 0, 300 }, { 0, 300 } };
	bool overflow = false;
	int missing = 0, twice = 0, drain_at = queue_events() / 4 * 32;

	/* the handler's 3 events a file, at most an eighth of the queue's
	 * worth of files ahead; the loop's own events drained at a quarter */
	ahead = queue_events() / 8;
	counted = 0;

	mkdir("sig2", 0700);
	if (fd < 0 || inotify_add_watch(fd, "sig2", IN_ALL_EVENTS) <= 0) {
		printf("inotify: %s\n", strerror(errno));
		return 1;
	}
	signal(SIGALRM, on_alarm_create);
	setitimer(ITIMER_REAL, &it, NULL);
	for (int i = 0; i < 8000 && created < MAX - 1; i++) {
		int f = open("sig2/m", O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (f >= 0) {
			if (write(f, "m", 1) < 0) {
				/* EINTR is fine */
			}
			close(f);
		}
		/* Paced by what is queued, not by iterations: the handler makes
		 * events at the timer's rate, however slowly this loop runs on
		 * a loaded machine.  A quarter of the queue (events of 32 bytes
		 * here) is drained long before the rest can fill between two
		 * checks. */
		if (queued_bytes(fd) > drain_at)
			count_handler_creates(fd, seen, MAX, &overflow);
	}
	it = (struct itimerval){ { 0, 0 }, { 0, 0 } };
	setitimer(ITIMER_REAL, &it, NULL);
	/* a tick may still be pending (valgrind delivers late): ignore it */
	signal(SIGALRM, SIG_IGN);
	/* the last ones: their events are queued before creat returns */
	count_handler_creates(fd, seen, MAX, &overflow);
	close(fd);
	for (int k = 0; k < created; k++) {
		missing += seen[k] == 0;
		twice += seen[k] > 1;
	}
	if (overflow)
		printf("the queue overflowed: the test cannot count\n");
	if (created <= 10)
		printf("the handler ran only %d times\n", (int)created);
	if (missing)
		printf("%d of the handler's %d IN_CREATE events were lost\n", missing,
		       (int)created);
	if (twice)
		printf("%d events came twice\n", twice);
	if (count_fds() != fds)
		printf("fd leaked: %d open at the start, %d at the end\n", fds, count_fds());
	return overflow || created <= 10 || missing || twice || count_fds() != fds;
}

Test(errno_preservation, events_made_in_a_signal_handler_inside_a_hook_are_delivered)
{
	char out[4096];
	int st = run_child_in_own_domain("handler-events", out, sizeof out);

	cr_assert_eq(st, 0, "the scenario failed (status %d):\n%s", st, out);
}

__attribute__((constructor)) static void maybe_child(void)
{
	const char *mode = own_domain_child_mode();

	if (!mode)
		return;
	setvbuf(stdout, NULL, _IONBF, 0);
	if (!strcmp(mode, "handler-events"))
		_exit(handler_events());
	_exit(99);
}

/* ---- threads, fork and exec --------------------------------------------- */

static int shared_fd;
static volatile int stop;

static void *worker(void *arg)
{
	long id = (long)arg;
	char path[64], buf[4096];
	int own = inotify_init1(IN_NONBLOCK);

	snprintf(path, sizeof path, "t/%ld", id);
	mkdir(path, 0700);
	for (int i = 0; !stop && i < 2000; i++) {
		int wd = inotify_add_watch(i % 2 ? own : shared_fd, path, IN_ALL_EVENTS);
		snprintf(path, sizeof path, "t/%ld/f%d", id, i % 5);
		int f = open(path, O_CREAT | O_WRONLY, 0600);
		if (f >= 0) {
			if (write(f, "z", 1) < 0) {
				/* ignored */
			}
			close(f);
		}
		if (i % 3 == 0)
			unlink(path);
		snprintf(path, sizeof path, "t/%ld", id);
		while (read(own, buf, sizeof buf) > 0)
			;
		while (read(shared_fd, buf, sizeof buf) > 0)
			;
		if (wd > 0 && i % 4 == 0)
			inotify_rm_watch(i % 2 ? own : shared_fd, wd);
		if (id == 0 && i % 200 == 100) {
			pid_t pid = fork();
			if (pid == 0) {
				execlp("touch", "touch", "t/0/forked", (char *)NULL);
				_exit(127);
			}
			if (pid > 0)
				waitpid(pid, NULL, 0);
		}
	}
	close(own);
	return NULL;
}

Test(errno_preservation, eight_threads_with_fork_and_exec)
{
	pthread_t th[8];
	struct ev ev[8];

	mkdir("t", 0700);
	shared_fd = inotify_init1(IN_NONBLOCK);
	cr_assert_geq(shared_fd, 0);
	for (long i = 0; i < 8; i++)
		pthread_create(&th[i], NULL, worker, (void *)i);
	for (int i = 0; i < 8; i++)
		pthread_join(th[i], NULL);
	/* everything still works afterwards */
	int fd = inotify_init1(IN_NONBLOCK);
	cr_assert_gt(inotify_add_watch(fd, "t", IN_CREATE), 0);
	close(creat("t/end", 0600));
	cr_assert_eq(wait_events(fd, ev, 8, 1, 5000), 1);
	cr_assert_str_eq(ev[0].name, "end");
	close(fd);
	close(shared_fd);
}

/* ---- a program that closes every fd it did not open --------------------- */

Test(errno_preservation, closing_every_fd_does_not_break_the_shim)
{
	pid_t pid = fork();

	if (pid == 0) {
		/* a daemon's start: close everything but stdio */
		if (syscall(SYS_close_range, 3, ~0U, 0) < 0)
			for (int i = 3; i < 1024; i++)
				close(i);
		mkdir("cr", 0700);
		int fd = inotify_init1(IN_NONBLOCK);
		if (fd < 0 || inotify_add_watch(fd, "cr", IN_CREATE) <= 0)
			_exit(2);
		close(creat("cr/a", 0600));
		struct ev ev[4];
		if (wait_events(fd, ev, 4, 1, 5000) != 1 || strcmp(ev[0].name, "a"))
			_exit(3);
		/* and once more with the loop of close(), instance open */
		for (int i = 3; i < 1024; i++)
			if (i != fd)
				close(i);
		close(creat("cr/b", 0600));
		if (wait_events(fd, ev, 4, 1, 5000) != 1 || strcmp(ev[0].name, "b"))
			_exit(4);
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %x", st);
}
