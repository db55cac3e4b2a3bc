/*
 * read_interrupts.c - a blocking read() whose queue's lock is held by a
 * stopped process stays interruptible, as the kernel's read is (issue 12).
 *
 * A holder (cat, reading the watcher's fd) is parked inside the watcher's
 * queue lock with the test hook of util/shlock.h
 * ($INOTIFY_SHIM_TEST_HOLD_LOCK=queue:FLAG) and stopped there (SIGSTOP).
 * A reader process then blocks in read() of the same fd, and gets SIGUSR1
 * every 50 ms:
 *   - handler without SA_RESTART: the read fails with EINTR;
 *   - handler with SA_RESTART: the read goes on through several handlers,
 *     and returns the events once the holder is killed (the lock's repair
 *     gives the queued event and an IN_Q_OVERFLOW).
 * The kernel's, from a run of the same program on a kernel inotify fd
 * (this machine, Linux 6.18): without SA_RESTART read() = -1 EINTR after
 * the first handler; with SA_RESTART three handlers ran and the read then
 * returned the 32 bytes of the IN_CREATE that came after them.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

#define SLACK_MS 1000	/* the 20 ms bound, plus a loaded machine's slack */

static char watched[4096], flag[4200];
static pid_t holder = -1, reader = -1;

/* shared with the reader process */
struct shared {
	int hits;	/* handler runs */
	int reading;	/* 1 just before read() */
	int done;	/* 1 once read() returned */
	long ret;
	int err;
	uint32_t masks[4];
};
static struct shared *sh;

static void fresh(void)
{
	const char *s = scratch_enter();

	path_printf(watched, sizeof watched, "%s/w", s);
	path_printf(flag, sizeof flag, "%s/held", s);
	cr_assert_eq(mkdir(watched, 0700), 0);
	sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(sh, MAP_FAILED);
	holder = reader = -1;
}

static void reap(pid_t *p)
{
	if (*p > 0) {
		kill(*p, SIGKILL);
		waitpid(*p, NULL, 0);
		*p = -1;
	}
}

static void cleanup(void)
{
	reap(&reader);
	reap(&holder);
	munmap(sh, sizeof *sh);
	scratch_leave();
}

TestSuite(read_interrupts, .init = fresh, .fini = cleanup, .timeout = 120);

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

static bool file_exists(void *path)
{
	return access(path, F_OK) == 0;
}

static bool flag_set(void *p)
{
	return __atomic_load_n((int *)p, __ATOMIC_ACQUIRE) != 0;
}

/* A watcher whose queue holds one event, and cat parked (stopped) inside
 * that queue's lock, reading the same fd.  Returns the blocking fd. */
static int parked_watcher(void)
{
	char f[4200], env[4300];
	int w = inotify_init1(0);

	cr_assert_geq(w, 0);
	cr_assert_gt(inotify_add_watch(w, watched, IN_CREATE), 0);
	path_printf(f, sizeof f, "%s/first", watched);
	close(creat(f, 0600));
	snprintf(env, sizeof env, "queue:%s", flag);
	holder = fork();
	cr_assert_geq(holder, 0);
	if (holder == 0) {
		if (dup2(w, 0) < 0)
			_exit(126);
		setenv("INOTIFY_SHIM_TEST_HOLD_LOCK", env, 1);
		execlp("cat", "cat", (char *)NULL);
		_exit(127);
	}
	cr_assert(wait_until(file_exists, flag, 20000), "cat never held the queue's lock");
	cr_assert_eq(kill(holder, SIGSTOP), 0);
	return w;
}

static void on_usr1(int sig)
{
	(void)sig;
	__atomic_add_fetch(&sh->hits, 1, __ATOMIC_ACQ_REL);
}

/* A process that blocks in read(w) with a SIGUSR1 handler. */
static void start_reader(int w, bool restart)
{
	reader = fork();
	cr_assert_geq(reader, 0);
	if (reader == 0) {
		struct sigaction sa = { .sa_handler = on_usr1, .sa_flags = restart ? SA_RESTART : 0 };
		char buf[4096];

		sigemptyset(&sa.sa_mask);
		if (sigaction(SIGUSR1, &sa, NULL) < 0)
			_exit(126);
		__atomic_store_n(&sh->reading, 1, __ATOMIC_RELEASE);
		sh->ret = read(w, buf, sizeof buf);
		sh->err = errno;
		for (long off = 0, i = 0; sh->ret > 0 && off < sh->ret && i < 4; i++) {
			struct inotify_event *ev = (struct inotify_event *)(buf + off);
			sh->masks[i] = ev->mask;
			off += (long)sizeof *ev + ev->len;
		}
		__atomic_store_n(&sh->done, 1, __ATOMIC_RELEASE);
		_exit(0);
	}
	cr_assert(wait_until(flag_set, &sh->reading, 20000), "the reader never started");
}

/* SIGUSR1 to the reader every 50 ms until pred(arg) or ms passed. */
static bool signal_until(bool (*pred)(void *), void *arg, int ms)
{
	long end = now_ms() + ms;

	while (now_ms() < end) {
		if (pred(arg))
			return true;
		kill(reader, SIGUSR1);
		struct timespec t = { 0, 50 * 1000000L };
		nanosleep(&t, NULL);
	}
	return pred(arg);
}

static bool three_hits(void *arg)
{
	(void)arg;
	return __atomic_load_n(&sh->hits, __ATOMIC_ACQUIRE) >= 3;
}

Test(read_interrupts, a_signal_without_sa_restart_interrupts_a_read_behind_a_stopped_holder)
{
	int w = parked_watcher();

	start_reader(w, false);
	long t0 = now_ms();
	cr_assert(signal_until(flag_set, &sh->done, 10000),
		  "the read was not interrupted (%d handlers ran)", sh->hits);
	cr_assert_lt(now_ms() - t0, SLACK_MS, "the read took %ld ms to be interrupted",
		     now_ms() - t0);
	cr_assert_eq(sh->ret, -1, "read returned %ld", sh->ret);
	cr_assert_eq(sh->err, EINTR, "read: %s", strerror(sh->err));
	cr_assert_geq(sh->hits, 1);
	close(w);
}

Test(read_interrupts, a_signal_with_sa_restart_restarts_a_read_behind_a_stopped_holder)
{
	int w = parked_watcher();

	start_reader(w, true);
	cr_assert(signal_until(three_hits, NULL, 10000), "the handler ran %d times", sh->hits);
	cr_assert_eq(__atomic_load_n(&sh->done, __ATOMIC_ACQUIRE), 0,
		     "the read returned %ld (%s) after a handler with SA_RESTART", sh->ret,
		     strerror(sh->err));
	/* the holder dies inside the lock: the restarted read gets the lock
	 * within its bound, the repaired queue's event and an overflow */
	reap(&holder);
	cr_assert(wait_until(flag_set, &sh->done, 10000), "the read never returned");
	cr_assert_gt(sh->ret, 0, "read returned %ld (%s)", sh->ret, strerror(sh->err));
	cr_assert_eq(sh->masks[0], IN_CREATE);
	cr_assert(sh->masks[1] == IN_Q_OVERFLOW || sh->masks[1] == 0,
		  "unexpected second event %#x", sh->masks[1]);
	close(w);
}

/* A signal held back while the reader waited for the lock itself (signals
 * are deferred there: util/sigdefer.h) interrupts the read too: the
 * reader's process is stopped until its read is inside that wait, the
 * signal is sent, and the process continued. */
static bool reader_sleeping(void *arg)
{
	char path[64], buf[512], *p;
	FILE *f;

	(void)arg;
	snprintf(path, sizeof path, "/proc/%d/stat", (int)reader);
	f = fopen(path, "r");
	if (!f)
		return false;
	p = fgets(buf, sizeof buf, f) ? strrchr(buf, ')') : NULL;
	fclose(f);
	return p && p[1] == ' ' && p[2] == 'S';
}

Test(read_interrupts, a_read_interrupted_only_once_returns_eintr)
{
	int w = parked_watcher();

	start_reader(w, false);
	cr_assert(wait_until(reader_sleeping, NULL, 10000), "the reader never blocked");
	long t0 = now_ms();
	cr_assert_eq(kill(reader, SIGUSR1), 0);
	cr_assert(wait_until(flag_set, &sh->done, SLACK_MS),
		  "one signal did not interrupt the read (%d handlers ran)", sh->hits);
	cr_assert_lt(now_ms() - t0, SLACK_MS);
	cr_assert_eq(sh->ret, -1);
	cr_assert_eq(sh->err, EINTR, "read: %s", strerror(sh->err));
	cr_assert_eq(sh->hits, 1);
	close(w);
}

/* One test at a time: a holder parked in one test's lock must not stall
 * another's (bounded_waits.c does the same). */
int main(int argc, char **argv)
{
	struct criterion_test_set *tests = criterion_initialize();
	int result = 0;

	if (criterion_handle_args(argc, argv, true)) {
		criterion_options.jobs = 1;
		result = !criterion_run_all_tests(tests);
	}
	criterion_finalize(tests);
	return result;
}
