/*
 * bounded_waits.c - no process waits on another without bound (issue 12).
 *
 * A holder is parked inside each lock of the domain in turn, with the test
 * hook $INOTIFY_SHIM_TEST_HOLD_LOCK=KIND:FLAG (util/shlock.h): the first
 * time it gets that lock it creates FLAG and pauses there; the test then
 * stops it (SIGSTOP) for the rest of the test, as a debugger or Ctrl-Z
 * would.  Meanwhile other processes' writes, reads, inotify_add_watch,
 * inotify_init1 and a program's start (/bin/true) must each return well
 * within a second (the bound is 20 ms, 250 ms at most: util/shlock.h;
 * the slack is for this loaded machine), and the watcher must get
 * IN_Q_OVERFLOW for the events it missed.  Then the holder is killed
 * inside the lock, and nothing is lost without an overflow afterwards.
 *
 *   registry  touch of a watched directory's file (the event's pass)
 *   queue     cat reading the watcher's own instance fd (its queue_read)
 *   files     sh forking with a watched file open (files.lock, to share it)
 *   repair    a touch parked inside registry_repair(), the buckets cleared
 *
 * And at RLIMIT_NOFILE 4 and 5 a writer's event is read or covered by an
 * overflow, never silently lost.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

#define SLACK_MS 1000	/* the bound, plus a loaded machine's slack */

static char base[4096], watched[4096], flag[4200];
static pid_t holder = -1;

static void fresh_dirs(void)
{
	const char *s = scratch_enter();

	snprintf(base, sizeof base, "%s", s);
	path_printf(watched, sizeof watched, "%s/w", base);
	path_printf(flag, sizeof flag, "%s/held", base);
	cr_assert_eq(mkdir(watched, 0700), 0);
	holder = -1;
}

static void cleanup(void)
{
	if (holder > 0) {
		kill(holder, SIGKILL);
		waitpid(holder, NULL, 0);
		holder = -1;
	}
	scratch_leave();
}

TestSuite(bounded_waits, .init = fresh_dirs, .fini = cleanup, .timeout = 120);

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

/* Start argv with the hook armed for kind (stdin from in, if >= 0), wait
 * until it holds the lock, and stop it there. */
static void park(const char *kind, int in, char *const argv[])
{
	char env[4300];

	snprintf(env, sizeof env, "%s:%s", kind, flag);
	holder = fork();
	cr_assert_geq(holder, 0);
	if (holder == 0) {
		if (in >= 0 && dup2(in, 0) < 0)
			_exit(126);
		setenv("INOTIFY_SHIM_TEST_HOLD_LOCK", env, 1);
		execvp(argv[0], argv);
		_exit(127);
	}
	cr_assert(wait_until(file_exists, flag, 20000), "%s never held the %s lock",
		  argv[0], kind);
	cr_assert_eq(kill(holder, SIGSTOP), 0);
}

static void kill_holder(void)
{
	kill(holder, SIGKILL);
	waitpid(holder, NULL, 0);
	holder = -1;
}

/* Run argv; assert that it exits 0 within the slack. */
static void quick_program(char *const argv[])
{
	long t0 = now_ms();
	int st = run_program(argv);
	long took = now_ms() - t0;

	cr_assert_eq(st, 0, "%s exited %d", argv[0], st);
	cr_assert_lt(took, SLACK_MS, "%s took %ld ms with a stopped lock holder", argv[0],
		     took);
}

static void quick_touch(const char *name)
{
	char f[4200];

	path_printf(f, sizeof f, "%s/%s", watched, name);
	char *argv[] = { "touch", f, NULL };
	quick_program(argv);
}

static void quick_true(void)
{
	char *argv[] = { "/bin/true", NULL };
	quick_program(argv);
}

/* Read fd (non-blocking) until want events came or ms passed, each read
 * timed.  Returns how many of out. */
static int timed_events(int fd, struct ev *out, int max, int want, int ms)
{
	long end = now_ms() + ms;
	int n = 0;

	while (n < want && n < max && now_ms() < end) {
		long t0 = now_ms();
		int got;

		wait_readable(fd, 50);
		got = read_events(fd, out + n, max - n);
		cr_assert_lt(now_ms() - t0, SLACK_MS, "a read took %ld ms", now_ms() - t0);
		n += got > 0 ? got : 0;
	}
	return n;
}

static bool has(const struct ev *ev, int n, uint32_t mask, const char *name)
{
	for (int i = 0; i < n; i++)
		if ((ev[i].mask & mask) && (!name || !strcmp(ev[i].name, name)))
			return true;
	return false;
}

static int watcher(uint32_t mask)
{
	int fd = inotify_init1(IN_NONBLOCK);

	cr_assert_geq(fd, 0);
	cr_assert_gt(inotify_add_watch(fd, watched, mask), 0);
	return fd;
}

static void park_in_registry(void)
{
	char f[4200];

	path_printf(f, sizeof f, "%s/by-the-holder", watched);
	char *argv[] = { "touch", f, NULL };
	park("registry", -1, argv);
}

Test(bounded_waits, a_stopped_registry_holder_stalls_no_other_process)
{
	struct ev ev[16];
	int w = watcher(IN_CREATE);

	park_in_registry();
	quick_touch("a");
	quick_true();

	long t0 = now_ms();
	int other = inotify_init1(IN_NONBLOCK);
	cr_assert_lt(now_ms() - t0, SLACK_MS, "inotify_init1 took %ld ms", now_ms() - t0);
	if (other >= 0)
		close(other);
	else
		cr_assert_eq(errno, ENOMEM, "inotify_init1: %s", strerror(errno));
	t0 = now_ms();
	int wd = inotify_add_watch(w, base, IN_CREATE);
	cr_assert_lt(now_ms() - t0, SLACK_MS, "inotify_add_watch took %ld ms", now_ms() - t0);
	cr_assert(wd > 0 || errno == ENOMEM, "inotify_add_watch: %s", strerror(errno));

	int n = timed_events(w, ev, 16, 1, 5000);
	cr_assert(has(ev, n, IN_Q_OVERFLOW, NULL), "the lost IN_CREATE came without an overflow");
	cr_assert_eq(ev[0].wd, -1);
	close(w);
}

Test(bounded_waits, a_registry_holder_killed_inside_loses_nothing_unreported)
{
	struct ev ev[16];
	int w = watcher(IN_CREATE);

	park_in_registry();
	quick_touch("a");	/* lost: covered by an overflow */
	kill_holder();
	quick_touch("b");	/* after the repair: delivered */

	int n = timed_events(w, ev, 16, 2, 5000);
	cr_assert(has(ev, n, IN_Q_OVERFLOW, NULL), "no overflow for the lost event");
	cr_assert(has(ev, n, IN_CREATE, "b"), "the event after the repair did not come");
	close(w);
}

/* A repair parked with the buckets cleared: a writer's lock-free filter
 * must not read the watched directory as unwatched (it would skip the
 * event silently); it waits for the lock, gives up, and the watcher gets
 * an overflow. */
Test(bounded_waits, a_repair_in_progress_skips_no_watched_inode_silently)
{
	struct ev ev[16];
	char f[4200], flag2[4300], env[4400];
	int w = watcher(IN_CREATE);

	park_in_registry();
	kill_holder();	/* the registry's lock is left to the next taker */
	path_printf(flag2, sizeof flag2, "%s/repairing", base);
	snprintf(env, sizeof env, "repair:%s", flag2);
	path_printf(f, sizeof f, "%s/repairer", watched);
	/* spawned, not forked: a forked child's own bookkeeping (its
	 * inherited instance fd) would take the lock, and repair, first */
	char *argv[] = { "touch", f, NULL };
	setenv("INOTIFY_SHIM_TEST_HOLD_LOCK", env, 1);
	holder = start_program(argv, -1);
	unsetenv("INOTIFY_SHIM_TEST_HOLD_LOCK");
	cr_assert_gt(holder, 0);
	cr_assert(wait_until(file_exists, flag2, 20000), "the repair never started");
	cr_assert_eq(kill(holder, SIGSTOP), 0);

	quick_touch("during");
	int n = timed_events(w, ev, 16, 1, 5000);
	cr_assert(has(ev, n, IN_Q_OVERFLOW, NULL),
		  "an event during the repair was skipped without an overflow");
	kill_holder();	/* dies inside the repair: the next taker does it again */
	quick_touch("after");
	n = timed_events(w, ev, 16, 1, 5000);
	cr_assert(has(ev, n, IN_CREATE, "after"), "the event after the repair did not come");
	close(w);
}

/* cat reads the watcher's own fd: its read takes the queue lock (the
 * queue holds an event, so it does not wait on the FIFO first). */
static void park_in_queue(int w)
{
	char f[4200];

	path_printf(f, sizeof f, "%s/first", watched);
	close(creat(f, 0600));
	char *argv[] = { "cat", NULL };
	park("queue", w, argv);
}

Test(bounded_waits, a_stopped_queue_holder_stalls_no_other_process)
{
	struct ev ev[16];
	int w = watcher(IN_CREATE);

	park_in_queue(w);
	quick_touch("a");	/* its queue_add gives up: lost */
	quick_true();

	long t0 = now_ms();
	int wd = inotify_add_watch(w, base, IN_CREATE);
	cr_assert_lt(now_ms() - t0, SLACK_MS, "inotify_add_watch took %ld ms", now_ms() - t0);
	cr_assert_gt(wd, 0, "inotify_add_watch: %s", strerror(errno));

	/* the read reports what it can: the overflow, without the lock */
	int n = timed_events(w, ev, 16, 1, 5000);
	cr_assert_eq(n, 1);
	cr_assert_eq(ev[0].mask, IN_Q_OVERFLOW);
	cr_assert_eq(ev[0].wd, -1);
	close(w);
}

Test(bounded_waits, a_queue_holder_killed_inside_loses_nothing_unreported)
{
	struct ev ev[16];
	int w = watcher(IN_CREATE);

	park_in_queue(w);
	kill_holder();
	quick_touch("b");

	/* the event queued before, an overflow (the dead reader may have
	 * taken events), and the event after */
	int n = timed_events(w, ev, 16, 3, 5000);
	cr_assert(has(ev, n, IN_CREATE, "first"));
	cr_assert(has(ev, n, IN_Q_OVERFLOW, NULL), "no overflow after the holder died");
	cr_assert(has(ev, n, IN_CREATE, "b"), "the event after the death did not come");
	close(w);
}

/* sh forks with a watched file open for writing: to share it with the
 * child, the fork takes files.lock. */
static void shell_forking(const char *name, char *cmd, size_t len)
{
	snprintf(cmd, len, "exec 3>'%s/%s'; /bin/true & wait", watched, name);
}

Test(bounded_waits, a_stopped_files_holder_stalls_no_other_process)
{
	struct ev ev[16];
	char cmd[4400];
	int w = watcher(IN_CREATE | IN_CLOSE_WRITE);

	shell_forking("f", cmd, sizeof cmd);
	char *hold[] = { "sh", "-c", cmd, NULL };
	park("files", -1, hold);

	char cmd2[4400];
	shell_forking("g", cmd2, sizeof cmd2);
	char *other[] = { "sh", "-c", cmd2, NULL };
	quick_program(other);	/* its fork gives up on files.lock */
	quick_touch("a");
	quick_true();

	int n = timed_events(w, ev, 16, 3, 5000);
	cr_assert(has(ev, n, IN_CREATE, "g") && has(ev, n, IN_CREATE, "a"));
	cr_assert(has(ev, n, IN_Q_OVERFLOW, NULL) || has(ev, n, IN_CLOSE_WRITE, "g"),
		  "g's close event was neither given nor covered by an overflow");
	close(w);
}

Test(bounded_waits, a_files_holder_killed_inside_loses_nothing_unreported)
{
	struct ev ev[16];
	char cmd[4400];
	int w = watcher(IN_CREATE | IN_CLOSE_WRITE);

	shell_forking("f", cmd, sizeof cmd);
	char *hold[] = { "sh", "-c", cmd, NULL };
	park("files", -1, hold);
	kill_holder();

	char cmd2[4400];
	shell_forking("g", cmd2, sizeof cmd2);
	char *other[] = { "sh", "-c", cmd2, NULL };
	quick_program(other);
	int n = timed_events(w, ev, 16, 3, 5000);
	cr_assert(has(ev, n, IN_CREATE, "g"));
	cr_assert(has(ev, n, IN_CLOSE_WRITE, "g") || has(ev, n, IN_Q_OVERFLOW, NULL),
		  "g's close event was neither given nor covered by an overflow");
	close(w);
}

/* A writer with nofile fds at most. */
static void touch_with_limit(int nofile, const char *name)
{
	char f[4200];
	int st;

	path_printf(f, sizeof f, "%s/%s", watched, name);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct rlimit rl = { (rlim_t)nofile, (rlim_t)nofile };
		for (int fd = 3; fd < 1024; fd++)
			close(fd);
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			_exit(126);
		execlp("touch", "touch", f, (char *)NULL);
		_exit(127);
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "touch at %d fds: %x", nofile, st);
}

static void no_silence_at(int nofile)
{
	struct ev ev[16];
	int w = watcher(IN_CREATE);

	touch_with_limit(nofile, "x");
	int n = timed_events(w, ev, 16, 1, 3000);
	cr_assert(has(ev, n, IN_CREATE, "x") || has(ev, n, IN_Q_OVERFLOW, NULL),
		  "at RLIMIT_NOFILE %d the event was lost silently", nofile);
	close(w);
}

Test(bounded_waits, at_four_fds_an_event_is_read_or_overflowed)
{
	no_silence_at(4);
}

Test(bounded_waits, at_five_fds_an_event_is_read_or_overflowed)
{
	no_silence_at(5);
}

/* One test at a time: the domain is the binary's, and a holder parked in
 * one test's registry lock would stall the others' (late_dirs.c does the
 * same). */
int main(int argc, char **argv)
{
	return criterion_main_serial(argc, argv);
}
