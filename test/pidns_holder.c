/*
 * pidns_holder.c - a lock holder in another pid namespace (a watcher or
 * writer in a container, `unshare -p`, sharing the domain) is judged by
 * the lock's progress counter, not by /proc (util/shlock.h, "Pid
 * namespaces"; issue 12).
 *
 * The holder is touch, run by `unshare -pf --mount-proc` (pid 1 of its own
 * namespace, and of its own /proc), with the test hook of util/shlock.h:
 *   - registry+MS:FLAG: it holds registry.lock MS ms while running, with
 *     the progress points of a long section (the counter bumped every
 *     millisecond), then goes on.  This process's inotify_add_watch, made
 *     while it holds the lock, must wait for it and succeed: the futex
 *     word's tid, 1, is another process in this namespace's /proc (before,
 *     that process's state was read, and the wait given up at 20 ms:
 *     ENOMEM);
 *   - registry:FLAG, then stopped: a holder that makes no progress is
 *     still given up on within the bound, and the event lost meanwhile is
 *     covered by IN_Q_OVERFLOW.
 * Skipped, with a message, where `unshare -pf --mount-proc` is not
 * allowed.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

#define SLACK_MS 1000	/* the bound, plus a loaded machine's slack */
#define BUSY_MS 100	/* the running holder's hold: under the 250 ms cap */

static char base[4096], watched[4096], flag[4200];
static pid_t holder = -1;	/* the leader of the holder's process group */

static void fresh(void)
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
		kill(-holder, SIGKILL);
		kill(-holder, SIGCONT);
		waitpid(holder, NULL, 0);
		holder = -1;
	}
	scratch_leave();
}

TestSuite(pidns_holder, .init = fresh, .fini = cleanup, .timeout = 120);

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

static bool exited(void *arg)
{
	int *st = arg;

	return waitpid(holder, st, WNOHANG) == holder;
}

/* Can this process make a pid namespace with its own /proc?  Asked of
 * unshare itself, without the hook. */
static void skip_unless_unshare(void)
{
	char *argv[] = { "unshare", "-pf", "--mount-proc", "/bin/true", NULL };
	int st = run_program(argv);

	if (st != 0)
		cr_skip_test("unshare -pf --mount-proc is not allowed here (exit %d): "
			     "no holder in another pid namespace", st);
}

/* touch NAME in the watched directory, in a pid namespace of its own, with
 * the hook armed as hook:FLAG; its own process group. */
static void start_holder(const char *hook, const char *name)
{
	char f[4200], env[4300];

	path_printf(f, sizeof f, "%s/%s", watched, name);
	snprintf(env, sizeof env, "%s:%s", hook, flag);
	holder = fork();
	cr_assert_geq(holder, 0);
	if (holder == 0) {
		setpgid(0, 0);
		setenv("INOTIFY_SHIM_TEST_HOLD_LOCK", env, 1);
		execlp("unshare", "unshare", "-pf", "--mount-proc", "touch", f, (char *)NULL);
		_exit(127);
	}
	setpgid(holder, holder);
	cr_assert(wait_until(file_exists, flag, 20000), "the holder never held registry.lock");
}

static int watcher(void)
{
	int fd = inotify_init1(IN_NONBLOCK);

	cr_assert_geq(fd, 0);
	cr_assert_gt(inotify_add_watch(fd, watched, IN_CREATE), 0);
	return fd;
}

static bool has(const struct ev *ev, int n, uint32_t mask, const char *name)
{
	for (int i = 0; i < n; i++)
		if ((ev[i].mask & mask) && (!name || !strcmp(ev[i].name, name)))
			return true;
	return false;
}

Test(pidns_holder, a_running_holder_in_another_pid_namespace_is_waited_for)
{
	struct ev ev[16];
	char hook[64];
	int st, w;

	skip_unless_unshare();
	w = watcher();
	snprintf(hook, sizeof hook, "registry+%d", BUSY_MS);
	start_holder(hook, "by-the-holder");
	/* the holder runs inside registry.lock for BUSY_MS: this add_watch
	 * waits for it, within the 250 ms cap */
	long t0 = now_ms();
	int wd = inotify_add_watch(w, base, IN_CREATE);
	long took = now_ms() - t0;
	cr_assert_gt(wd, 0, "inotify_add_watch gave up on a running holder after %ld ms: %s",
		     took, strerror(errno));
	cr_assert_lt(took, SLACK_MS);
	cr_assert(wait_until(exited, &st, 20000), "the holder never finished");
	holder = -1;
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "unshare touch: status %#x", st);
	int n = wait_events(w, ev, 16, 1, 5000);
	cr_assert(has(ev, n, IN_CREATE, "by-the-holder"), "the holder's own event did not come");
	cr_assert(!has(ev, n, IN_Q_OVERFLOW, NULL), "an event was lost to a running holder");
	close(w);
}

Test(pidns_holder, a_stopped_holder_in_another_pid_namespace_is_given_up_on)
{
	struct ev ev[16];
	char f[4200];
	int w;

	skip_unless_unshare();
	w = watcher();
	start_holder("registry", "by-the-holder");
	cr_assert_eq(kill(-holder, SIGSTOP), 0);
	path_printf(f, sizeof f, "%s/a", watched);
	long t0 = now_ms();
	int fd = creat(f, 0600);	/* its event is lost: covered by an overflow */
	long took = now_ms() - t0;
	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_lt(took, SLACK_MS, "a create took %ld ms with a stopped holder", took);
	int n = wait_events(w, ev, 16, 1, 5000);
	cr_assert(has(ev, n, IN_Q_OVERFLOW, NULL), "the lost IN_CREATE came without an overflow");
	close(w);
}

/* One test at a time: a holder parked in one test's lock would stall the
 * others' (bounded_waits.c does the same). */
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
