/*
 * tool_watch.c - inotify-shim watch prints, in its stable format, the
 * events that other processes under the shim make: one directory, -e, -r
 * and --format.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"
#include "tool_helpers.h"

static void setup(void)
{
	scratch_enter();
	cr_assert_eq(mkdir("w", 0700), 0);
}

TestSuite(watch, .init = setup, .fini = scratch_leave, .timeout = 30);

static pid_t start_watcher(const char *args)
{
	pid_t pid;

	unlink("out");	/* not to read a previous watcher's */
	unlink("err");
	pid = tool_start("out", "err", "watch %s", args);

	cr_assert_gt(pid, 0);
	cr_assert(wait_file_contains("err", "Watches established.", 10000), "%s", slurp("err"));
	return pid;
}

Test(watch, prints_an_event_made_by_another_process)
{
	pid_t pid = start_watcher("-c 1 w");

	cr_assert_eq(run_shell("echo hello > w/greeting"), 0);
	cr_assert_eq(wait_exit(pid, 10000), 0, "%s", slurp("err"));
	cr_assert_str_eq(slurp("out"), "1 IN_CREATE 0 greeting\n");
}

Test(watch, e_picks_the_events_and_the_line_of_the_watched_inode_has_no_name)
{
	pid_t pid = start_watcher("-e delete,DELETE_SELF,in_move_self -c 3 w");

	cr_assert_eq(run_shell("touch w/a && rm w/a && rmdir w"), 0);
	cr_assert_eq(wait_exit(pid, 10000), 0, "%s", slurp("err"));
	cr_assert_str_eq(slurp("out"), "1 IN_DELETE 0 a\n1 IN_DELETE_SELF 0\n1 IN_IGNORED 0\n");
}

Test(watch, format_and_moves)
{
	pid_t pid = start_watcher("--format '%e|%w|%f|%p|%x|%%' -e move -c 2 w");
	const char *out;
	unsigned cookie1, cookie2;

	cr_assert_eq(run_shell("touch w/a && mv w/a w/b"), 0);
	cr_assert_eq(wait_exit(pid, 10000), 0, "%s", slurp("err"));
	cr_assert_str_eq(slurp("out"), "MOVED_FROM|w|a|w/a|0x00000040|%\n"
				       "MOVED_TO|w|b|w/b|0x00000080|%\n");
	pid = start_watcher("-e moved_from,moved_to -c 2 w");
	cr_assert_eq(run_shell("mv w/b w/c"), 0);
	cr_assert_eq(wait_exit(pid, 10000), 0);
	out = slurp("out");
	cr_assert_eq(sscanf(out, "1 IN_MOVED_FROM %u b\n1 IN_MOVED_TO %u c\n", &cookie1,
			    &cookie2), 2, "%s", out);
	cr_assert_eq(cookie1, cookie2);
	cr_assert_neq(cookie1, 0);
}

Test(watch, r_follows_directories_that_appear)
{
	pid_t pid;
	char probe[64];
	bool seen = false;

	cr_assert_eq(mkdir("w/old", 0700), 0);
	pid = start_watcher("-r -e create,moved_to --format '%p %e' w");
	cr_assert_eq(run_shell("touch w/old/f"), 0);
	cr_assert(wait_file_contains("out", "w/old/f CREATE\n", 10000), "%s", slurp("out"));

	cr_assert_eq(run_shell("mkdir w/new"), 0);
	cr_assert(wait_file_contains("out", "w/new CREATE,ISDIR\n", 10000), "%s", slurp("out"));
	/* The watch on w/new is added right after that line is printed:
	 * probe until a file made in it is reported (with a deadline). */
	for (int i = 0; i < 100 && !seen; i++) {
		snprintf(probe, sizeof probe, "touch w/new/p%d", i);
		cr_assert_eq(run_shell(probe), 0);
		snprintf(probe, sizeof probe, "w/new/p%d CREATE\n", i);
		seen = wait_file_contains("out", probe, 100);
	}
	cr_assert(seen, "%s", slurp("out"));

	cr_assert_eq(run_shell("mkdir w/src && mv w/src w/old/moved"), 0);
	cr_assert(wait_file_contains("out", "w/old/moved MOVED_TO,ISDIR\n", 10000), "%s",
		  slurp("out"));
	kill(pid, SIGTERM);
	wait_exit(pid, 10000);
}

Test(watch, exits_when_every_watch_is_gone)
{
	pid_t pid = start_watcher("w");

	cr_assert_eq(run_shell("rmdir w"), 0);
	cr_assert_eq(wait_exit(pid, 10000), 0, "%s", slurp("err"));
	cr_assert_str_eq(slurp("out"), "1 IN_DELETE_SELF 0\n1 IN_IGNORED 0\n");
}

/* The command links the core: a preloaded copy of the library in the same
 * process would take the registry lock inside the core's queue lock. */
Test(watch, runs_without_the_preloaded_library)
{
	pid_t pid = start_watcher("w");
	char maps[64];

	cr_assert(getenv("LD_PRELOAD") && strstr(getenv("LD_PRELOAD"), "libinotify-shim"));
	snprintf(maps, sizeof maps, "/proc/%d/maps", (int)pid);
	cr_assert(strstr(slurp(maps), "inotify-shim"), "%s", slurp(maps));
	cr_assert_null(strstr(slurp(maps), "libinotify-shim.so"), "%s", slurp(maps));
	kill(pid, SIGTERM);
	wait_exit(pid, 10000);
}

Test(watch, names_the_path_it_cannot_watch)
{
	cr_assert_eq(tool("watch no-such-dir"), 1);
	cr_assert(strstr(slurp("err"), "no-such-dir: No such file or directory"), "%s",
		  slurp("err"));
}
