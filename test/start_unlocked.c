/*
 * start_unlocked.c - a program's start waits on no domain lock longer than
 * the bound (issue 12), even when its parent shares open files, which
 * makes the new image's constructor look at the table of shared open
 * files (hooks/share.c, share_after_exec: files.lock).
 *
 * The test process holds a watched file open for writing and forks, so
 * that it is a holder in the table.  A holder is then parked inside
 * files.lock ($INOTIFY_SHIM_TEST_HOLD_LOCK=files:FLAG, util/shlock.h) and
 * stopped.  A program started by the test process (test/start_marker, with the
 * library's debug log in a file) must reach main within the slack: its
 * constructor waits for files.lock the bound at most (it must try: the
 * close events of the files exec closed come before main, as the
 * kernel's, test/hooks_share), then defers the claims.  After the holder
 * is gone, the deferred claims are made at the program's exit, and a
 * watcher's events still come.
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

static char base[4096], watched[4096], flag[4200], logf[4200], mark[4200];
static pid_t holder = -1;

static void fresh(void)
{
	const char *s = scratch_enter();

	snprintf(base, sizeof base, "%s", s);
	path_printf(watched, sizeof watched, "%s/w", base);
	path_printf(flag, sizeof flag, "%s/held", base);
	path_printf(logf, sizeof logf, "%s/debug.log", base);
	path_printf(mark, sizeof mark, "%s/main", base);
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

TestSuite(start_unlocked, .init = fresh, .fini = cleanup, .timeout = 120);

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

/* This process becomes a holder in the table: a watched file open for
 * writing, and a fork (which enters it). */
static int share_a_file(void)
{
	char f[4200];
	int st, fd;

	path_printf(f, sizeof f, "%s/shared", watched);
	fd = open(f, O_WRONLY | O_CREAT, 0600);
	cr_assert_geq(fd, 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0)
		_exit(0);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	return fd;
}

/* sh forking with a watched file open: its fork takes files.lock, and
 * the hook parks it there; then it is stopped. */
static void park_in_files(void)
{
	char cmd[4400], env[4300];

	snprintf(cmd, sizeof cmd, "exec 3>'%s/parked'; /bin/true & wait", watched);
	snprintf(env, sizeof env, "files:%s", flag);
	holder = fork();
	cr_assert_geq(holder, 0);
	if (holder == 0) {
		setenv("INOTIFY_SHIM_TEST_HOLD_LOCK", env, 1);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	cr_assert(wait_until(file_exists, flag, 20000), "sh never held files.lock");
	cr_assert_eq(kill(holder, SIGSTOP), 0);
}

/* Run test/start_marker, debug log in logf: the first thing its main does
 * is to append "main" to the log; it then marks mark and exits. */
static int start_marked(void)
{
	const char *build = getenv("INOTIFY_SHIM_TEST_BUILDDIR");
	char prog[4200];
	int st;

	cr_assert(build, "INOTIFY_SHIM_TEST_BUILDDIR is not set (test/run-test.sh sets it)");
	path_printf(prog, sizeof prog, "%s/test/start_marker", build);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		setenv("INOTIFY_SHIM_DEBUG", "1", 1);
		setenv("INOTIFY_SHIM_DEBUG_LOG", logf, 1);
		execl(prog, "start_marker", logf, (char *)NULL);
		_exit(127);
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		close(creat(mark, 0600));
	return st;
}

/* The log's text up to the line "main" (the constructor's part). */
static void log_before_main(char *out, size_t len)
{
	FILE *f = fopen(logf, "r");
	char line[1024];
	size_t n = 0;

	out[0] = 0;
	cr_assert(f, "no debug log");
	while (fgets(line, sizeof line, f) && strcmp(line, "main\n") != 0) {
		size_t l = strlen(line);
		if (n + l < len) {
			memcpy(out + n, line, l + 1);
			n += l;
		}
	}
	fclose(f);
}

Test(start_unlocked, a_program_starts_within_the_bound_beside_a_stopped_files_holder)
{
	char before[16384];
	int w = inotify_init1(IN_NONBLOCK);	/* files are shared while watched */

	cr_assert_geq(w, 0);
	cr_assert_gt(inotify_add_watch(w, watched, IN_CREATE), 0);
	int fd = share_a_file();

	park_in_files();
	long t0 = now_ms();
	int st = start_marked();
	long took = now_ms() - t0;

	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "start_marker: status %#x", st);
	/* one wait of the bound at most before main (shlock.c logs "gave up
	 * on a lock" when a wait ends in nothing), then the claims deferred */
	log_before_main(before, sizeof before);
	const char *gave = strstr(before, "gave up on a lock");
	cr_assert(!gave || !strstr(gave + 1, "gave up on a lock"),
		  "the start waited on a lock more than once:\n%s", before);
	cr_assert_lt(took, SLACK_MS, "the program took %ld ms", took);
	close(fd);
	close(w);
}

Test(start_unlocked, events_still_come_after_a_deferred_start)
{
	struct ev ev[16];
	char f[4200];
	int w = inotify_init1(IN_NONBLOCK);
	int fd;

	cr_assert_geq(w, 0);
	cr_assert_gt(inotify_add_watch(w, watched, IN_CREATE | IN_CLOSE_WRITE), 0);
	fd = share_a_file();
	park_in_files();
	cr_assert_eq(start_marked(), 0);
	kill(holder, SIGKILL);
	waitpid(holder, NULL, 0);
	holder = -1;
	/* the parent's file: its last holder closes it now */
	close(fd);
	path_printf(f, sizeof f, "%s/after", watched);
	close(creat(f, 0600));
	int n = wait_events(w, ev, 16, 4, 5000);
	bool closed = false, after = false;
	for (int i = 0; i < n; i++) {
		closed |= (ev[i].mask & IN_CLOSE_WRITE) && !strcmp(ev[i].name, "shared");
		closed |= (ev[i].mask & IN_Q_OVERFLOW) != 0;
		after |= (ev[i].mask & IN_CREATE) && !strcmp(ev[i].name, "after");
	}
	cr_assert(closed, "the shared file's close was neither given nor covered by an overflow");
	cr_assert(after, "the event after the holder's death did not come");
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
