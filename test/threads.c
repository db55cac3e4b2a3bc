/*
 * threads.c - threads, fork and exec inside one watched process (issue 5,
 * "Threads"), as a plain program: make check runs it under
 * test/run-test.sh, and make check-tsan runs it under ThreadSanitizer,
 * which cannot run Criterion's tests (Criterion's inheritable arena fails
 * to map beside TSan's shadow memory: Snaipe/Criterion#274).
 *
 *   8 threads, each with an instance of its own and one shared instance,
 *   add and remove watches, create, write, unlink and read, while thread 0
 *   forks and execs touch now and then and thread 1 opens and closes
 *   instances (the per-process queue cache);
 *   SIGALRM fires all along, and its handler creates a file in a watched
 *   directory (util/sigdefer.h).
 * What must hold: it ends (no deadlock), every thread's instance works at
 * the end, and the handler's files all gave their IN_CREATE -- unless the
 * handler's instance got IN_Q_OVERFLOW for events lost, which the bounded
 * lock waits allow (util/shlock.h): a taker behind busy holders gives up
 * at 250 ms, which 8 threads reach on a loaded machine, and every
 * instance of the domain then gets IN_Q_OVERFLOW (core/deliver.c).  An
 * overflow the domain did not count as one for lost events (inotify-shim
 * ps: lost_event_overflows) is a full queue: the pacing failed.
 * Exit 0 on success, 1 with a message on failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define THREADS 8
#define ROUNDS 600
#define MAX_SIG 100000

static char base[64];
static int shared_fd, sig_fd;
/* handlers run in any thread, two at once: atomic */
static int created;
/* The handler paces itself (as test/errno_preservation's does): a file
 * only while fewer than AHEAD of its events wait unread, so that a slow
 * machine, where a handler takes most of a timer period, cannot fill
 * sig_fd's queue faster than thread 2 drains it.  counted: read so far. */
#define AHEAD 2000
static int counted;
static char seen[MAX_SIG];
static int failures;
/* IN_Q_OVERFLOW read: on any instance, and on the handler's */
static int overflows, sig_overflows;
static pthread_mutex_t report = PTHREAD_MUTEX_INITIALIZER;

static void fail(const char *what, long detail)
{
	pthread_mutex_lock(&report);
	fprintf(stderr, "threads: %s (%ld)\n", what, detail);
	failures++;
	pthread_mutex_unlock(&report);
}

/* The handler's file name, built by hand (snprintf is not
 * async-signal-safe): BASE/sig/hN. */
static void on_alarm(int sig)
{
	int saved = errno, n = __atomic_load_n(&created, __ATOMIC_RELAXED);
	int len, digits = 0;
	char name[128];
	(void)sig;

	len = (int)strlen(base);
	memcpy(name, base, (size_t)len);
	memcpy(name + len, "/sig/h", 6);
	len += 6;
	for (int v = n; digits == 0 || v; v /= 10)
		digits++;
	for (int i = digits - 1, v = n; i >= 0; i--, v /= 10)
		name[len + i] = (char)('0' + v % 10);
	name[len + digits] = 0;
	if (n < MAX_SIG && n - __atomic_load_n(&counted, __ATOMIC_RELAXED) < AHEAD) {
		int f = open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (f >= 0) {
			close(f);
			__atomic_store_n(&created, n + 1, __ATOMIC_RELAXED);
		}
	}
	errno = saved;
}

static int queued(int fd)
{
	int n = 0;

	return ioctl(fd, FIONREAD, &n) == 0 ? n : 0;
}

static void drain(int fd, char *mark)
{
	char buf[65536];
	ssize_t n;

	while ((n = read(fd, buf, sizeof buf)) > 0) {
		for (ssize_t off = 0; off < n;) {
			struct inotify_event *e = (struct inotify_event *)(buf + off);
			if (e->mask & IN_Q_OVERFLOW) {
				__atomic_add_fetch(&overflows, 1, __ATOMIC_RELAXED);
				if (fd == sig_fd)
					__atomic_add_fetch(&sig_overflows, 1, __ATOMIC_RELAXED);
			}
			if (mark && (e->mask & IN_CREATE) && e->len && e->name[0] == 'h') {
				long k = atol(e->name + 1);
				if (k >= 0 && k < MAX_SIG) {
					__atomic_add_fetch(&mark[k], 1, __ATOMIC_RELAXED);
					__atomic_add_fetch(&counted, 1, __ATOMIC_RELAXED);
				}
			}
			off += (ssize_t)sizeof *e + e->len;
		}
	}
}

static void *worker(void *arg)
{
	long id = (long)arg;
	char dir[128], path[160];
	int own = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);

	if (own < 0) {
		fail("inotify_init1 in a thread", errno);
		return NULL;
	}
	snprintf(dir, sizeof dir, "%s/t%ld", base, id);
	mkdir(dir, 0700);
	for (int i = 0; i < ROUNDS; i++) {
		int wd = inotify_add_watch(i % 2 ? own : shared_fd, dir, IN_ALL_EVENTS);
		snprintf(path, sizeof path, "%s/f%d", dir, i % 5);
		int f = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
		if (f >= 0) {
			if (write(f, "z", 1) < 0) {
				/* EINTR is fine */
			}
			close(f);
		}
		if (i % 3 == 0)
			unlink(path);
		drain(own, NULL);
		drain(shared_fd, NULL);
		if (wd > 0 && i % 4 == 0)
			inotify_rm_watch(i % 2 ? own : shared_fd, wd);
		if (id == 0 && i % 150 == 75) {
			pid_t pid = fork();
			if (pid == 0) {
				snprintf(path, sizeof path, "%s/forked", dir);
				execlp("touch", "touch", path, (char *)NULL);
				_exit(127);
			}
			if (pid > 0)
				waitpid(pid, NULL, 0);
		}
		if (id == 1 && i % 10 == 0) {
			int tmp = inotify_init1(IN_NONBLOCK);
			if (tmp >= 0) {
				inotify_add_watch(tmp, dir, IN_CREATE);
				close(tmp);
			}
		}
		/* paced by what is queued, not by rounds: the handler makes
		 * events at the timer's rate however slowly the rounds go */
		if (id == 2 && queued(sig_fd) > 1024 * 32)
			drain(sig_fd, seen);
	}
	/* the own instance still works */
	if (inotify_add_watch(own, dir, IN_CREATE) <= 0)
		fail("inotify_add_watch at the end", errno);
	snprintf(path, sizeof path, "%s/end", dir);
	close(open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
	struct pollfd p = { own, POLLIN, 0 };
	if (poll(&p, 1, 5000) != 1)
		fail("no event on a thread's instance at the end", id);
	close(own);
	return NULL;
}

/* The domain's count of IN_Q_OVERFLOW given for events lost (not for a
 * full queue), from inotify-shim ps --json; -1 if it cannot be read. */
static long lost_event_overflows(void)
{
	const char *b = getenv("INOTIFY_SHIM_TEST_BUILDDIR");
	char cmd[4200], out[65536];
	size_t got;
	const char *p;
	FILE *f;

	snprintf(cmd, sizeof cmd, "'%s/tools/inotify-shim' ps --json", b ? b : ".");
	f = popen(cmd, "r");
	if (!f)
		return -1;
	got = fread(out, 1, sizeof out - 1, f);
	out[got] = 0;
	if (pclose(f) != 0)
		return -1;
	p = strstr(out, "\"lost_event_overflows\":");
	return p ? atol(p + strlen("\"lost_event_overflows\":")) : -1;
}

int main(void)
{
	pthread_t th[THREADS];
	struct itimerval it = { { 0, 500 }, { 0, 500 } };
	char sigdir[128];
	int missing = 0, twice = 0;

	snprintf(base, sizeof base, "%s/threads.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (strlen(base) > 60 || !mkdtemp(base)) {
		fprintf(stderr, "threads: no scratch directory\n");
		return 99;
	}
	snprintf(sigdir, sizeof sigdir, "%s/sig", base);
	mkdir(sigdir, 0700);
	shared_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	sig_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (shared_fd < 0 || sig_fd < 0 || inotify_add_watch(sig_fd, sigdir, IN_CREATE) <= 0) {
		fprintf(stderr, "threads: inotify: %s\n", strerror(errno));
		return 1;
	}
	/* the handler runs in whichever thread the kernel picks */
	signal(SIGALRM, on_alarm);
	setitimer(ITIMER_REAL, &it, NULL);
	for (long i = 0; i < THREADS; i++)
		if (pthread_create(&th[i], NULL, worker, (void *)i) != 0) {
			fprintf(stderr, "threads: pthread_create failed\n");
			return 1;
		}
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	it = (struct itimerval){ { 0, 0 }, { 0, 0 } };
	setitimer(ITIMER_REAL, &it, NULL);
	signal(SIGALRM, SIG_IGN);
	drain(sig_fd, seen);
	for (int k = 0; k < created; k++) {
		missing += seen[k] == 0;
		twice += seen[k] > 1;
	}
	if (overflows) {
		long lost = lost_event_overflows();

		printf("threads: %d IN_Q_OVERFLOW read (%d on the handler's instance); "
		       "the domain gave %ld for events lost\n", overflows, sig_overflows, lost);
		if (lost <= 0)
			fail("IN_Q_OVERFLOW for a full queue (the pacing failed)", lost);
	}
	if (missing && !sig_overflows)
		fail("IN_CREATE events of the handler's files lost", missing);
	if (missing && sig_overflows)
		printf("threads: %d of the handler's IN_CREATE events lost, and covered by "
		       "IN_Q_OVERFLOW\n", missing);
	if (twice)
		fail("IN_CREATE events of the handler's files came twice", twice);
	close(shared_fd);
	close(sig_fd);
	printf("threads: %d threads x %d rounds, %d files made by the signal handler%s\n",
	       THREADS, ROUNDS, (int)created,
	       failures ? "" : missing ? ", the lost ones covered by IN_Q_OVERFLOW" : ", all seen");
	char cmd[200];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
	if (system(cmd) != 0) {
		/* leftovers in TMPDIR only */
	}
	return failures ? 1 : 0;
}
