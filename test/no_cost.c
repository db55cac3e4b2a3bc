/*
 * no_cost.c - with nothing watched in the domain, a hook makes no system
 * call: strace shows the same system calls in a loop of writes with the
 * shim preloaded as without it (exactly the writes).  With a watch
 * elsewhere, the per-inode filter keeps that true of pwrite and close.
 * A read of an empty instance makes only the read of its FIFO.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "child_run.h"
#include "helpers.h"

#define WRITES 200

static int fds_before;
static const char *dir;

static void setup(void)
{
	dir = scratch_enter();
	fds_before = count_fds();
}

static void teardown(void)
{
	cr_expect_eq(count_fds(), fds_before, "fd leaked");
	scratch_leave();
}

TestSuite(no_cost, .init = setup, .fini = teardown, .timeout = 60);

/* The system calls between the two getppid() markers of the traced
 * "limits_child MODE": how many, and how many were write(). */
static int sigmasks;	/* rt_sigprocmask calls in the last loop traced */
static int readlinks;	/* readlink calls in the last loop traced */

static void mode_syscalls(const char *mode, const char *preload, int *total,
			  int *writes, int *statx)
{
	char cmd[8192], line[1024];
	int in_loop = 0;
	FILE *f;

	snprintf(cmd, sizeof cmd,
		 "env -u LD_PRELOAD strace -f -qq -o trace.txt %s%s%s %s %s %d",
		 preload ? "-E 'LD_PRELOAD=" : "", preload ? preload : "",
		 preload ? "'" : "",
		 limits_child_path(), mode, WRITES);
	cr_assert_eq(run_shell(cmd), 0, "%s", cmd);
	f = fopen("trace.txt", "r");
	cr_assert_not_null(f);
	*total = *writes = *statx = sigmasks = readlinks = 0;
	while (fgets(line, sizeof line, f)) {
		const char *call = line + strspn(line, "0123456789");
		call += strspn(call, " ");	/* "PID  call(...)" */
		if (!strncmp(call, "getppid(", 8)) {
			in_loop = !in_loop;
			continue;
		}
		if (!in_loop)
			continue;
		(*total)++;
		*writes += !strncmp(call, "write(", 6) || !strncmp(call, "pwrite64(", 9);
		*statx += !strncmp(call, "statx(", 6);
		sigmasks += !strncmp(call, "rt_sigprocmask(", 15);
		readlinks += !strncmp(call, "readlink(", 9);
	}
	fclose(f);
	unlink("trace.txt");
}

/* For a test that traces: skipped without strace; the library to preload,
 * and a domain of the test's own (nothing watched in it yet). */
static const char *traced_preload(void)
{
	const char *preload = getenv("INOTIFY_SHIM_TEST_PRELOAD");

	if (run_shell("strace -V >/dev/null 2>&1") != 0)
		cr_skip_test("strace is not installed");
	cr_assert_not_null(preload);
	child_domain(dir);
	return preload;
}

/* The statx the shim adds to MODE's loop, which must read no /proc link;
 * *other: the system calls it adds besides statx and writes (the wakes). */
static int added_statx(const char *mode, const char *preload, int *other)
{
	int total, writes, statx, total_shim, writes_shim, statx_shim;

	mode_syscalls(mode, NULL, &total, &writes, &statx);
	mode_syscalls(mode, preload, &total_shim, &writes_shim, &statx_shim);
	cr_assert_eq(readlinks, 0, "%s: %d readlink in %d rounds", mode, readlinks, WRITES);
	*other = (total_shim - statx_shim - writes_shim) - (total - statx - writes);
	return statx_shim - statx;
}

static void loop_syscalls(const char *preload, int *total, int *writes)
{
	int statx;

	mode_syscalls("writes", preload, total, writes, &statx);
}

Test(no_cost, writes_with_nothing_watched_make_no_extra_system_call)
{
	const char *preload = traced_preload();
	int total, writes, total_shim, writes_shim;

	loop_syscalls(NULL, &total, &writes);
	cr_assert_eq(writes, WRITES, "without the shim: %d writes of %d calls", writes, total);
	loop_syscalls(preload, &total_shim, &writes_shim);
	cr_assert_eq(writes_shim, WRITES, "with the shim: %d writes", writes_shim);
	cr_assert_eq(total_shim, total, "the shim added %d system calls to %d writes",
		     total_shim - total, WRITES);
}

/* The statx calls the shim adds to MODE's open+pwrite+close loop, which
 * must add nothing else: no readlink of /proc/self/fd, no other call. */
static int elsewhere_statx(const char *mode)
{
	const char *preload = traced_preload();
	int total, writes, statx, total_shim, writes_shim, statx_shim;

	mode_syscalls(mode, NULL, &total, &writes, &statx);
	cr_assert_eq(writes, WRITES, "without the shim: %d pwrites of %d calls", writes, total);
	mode_syscalls(mode, preload, &total_shim, &writes_shim, &statx_shim);
	cr_assert_eq(writes_shim, WRITES, "with the shim: %d pwrites", writes_shim);
	cr_assert_eq(readlinks, 0, "%s: %d readlink in %d rounds", mode, readlinks, WRITES);
	cr_assert_eq(total_shim - statx_shim, total - statx,
		     "the shim added %d other system calls to %d open+pwrite+close",
		     (total_shim - statx_shim) - (total - statx), WRITES);
	return statx_shim - statx;
}

/* With a watch on another file of the domain and no directory watched, the
 * per-inode filter lets pwrite and close of an unwatched file through
 * without a system call, and open pays one statx: the file's own (its
 * directory is asked only once a directory is watched). */
Test(no_cost, a_watch_on_another_file_costs_open_one_statx_and_close_and_pwrite_nothing)
{
	int statx = elsewhere_statx("elsewhere");

	cr_assert_eq(statx, WRITES, "the shim made %d statx for %d opens", statx, WRITES);
}

/* With a directory watched elsewhere, open of a plain name pays one statx,
 * the file's: the working directory is known once asked, and the entry is
 * the file since open with O_NOFOLLOW added succeeded. */
Test(no_cost, a_directory_watched_elsewhere_costs_open_one_statx)
{
	int statx = elsewhere_statx("elsewhere-dir");

	cr_assert(statx >= WRITES && statx <= WRITES + 1,
		  "the shim made %d statx for %d opens", statx, WRITES);
}

/* A file written in a watched directory: open pays its one statx, the
 * close event costs no system call of its own (hook_closing() asks for
 * the file's link count and /proc only for a watch on the file itself or
 * one with IN_EXCL_UNLINK); the events' wake tokens are writes. */
Test(no_cost, closing_a_file_in_a_watched_directory_makes_no_system_call_of_its_own)
{
	const char *preload = traced_preload();
	int other, statx = added_statx("indir", preload, &other);

	cr_assert(statx >= WRITES && statx <= WRITES + 1,
		  "the shim made %d statx for %d open+close", statx, WRITES);
	cr_assert_eq(other, 0, "the shim added %d system calls other than statx and writes",
		     other);
}

/* The same through openat() and a directory fd the shim has a record of:
 * the directory is that fd's inode, and open pays one statx. */
Test(no_cost, a_file_opened_relative_to_a_known_directory_fd_costs_one_statx)
{
	const char *preload = traced_preload();
	int other, statx = added_statx("dirfd", preload, &other);

	cr_assert_eq(statx, WRITES, "the shim made %d statx for %d open+close", statx,
		     WRITES);
}

/* O_CREAT|O_EXCL succeeds only by creating: the shim does not ask whether
 * the file existed before.  The new fd: one statx (the working directory
 * once). */
Test(no_cost, a_file_created_with_o_excl_in_a_watched_directory_costs_one_statx)
{
	const char *preload = traced_preload();
	int other, statx = added_statx("createx", preload, &other);

	cr_assert(statx >= WRITES && statx <= WRITES + 1, "the shim made %d statx for %d creates",
		  statx, WRITES);
}

/* A read of an instance whose queue is empty (and has no token to take
 * back) goes straight to the FIFO: one read() system call, the EAGAIN,
 * and neither the queue lock nor the signal mask around it. */
Test(no_cost, a_read_of_an_empty_instance_makes_one_system_call)
{
	const char *preload = traced_preload();
	int total, reads, statx;

	mode_syscalls("idleread", preload, &total, &reads, &statx);
	cr_assert_eq(reads, 0, "counted %d writes", reads);
	cr_assert_eq(total, WRITES, "%d system calls for %d reads of an empty instance",
		     total, WRITES);
}

/* Signals are blocked around the shim's locked sections only where a
 * handler could re-enter a hook (util/sigdefer.h). */
Test(no_cost, events_of_a_process_without_signal_handlers_block_no_signals)
{
	const char *preload = traced_preload();
	int total, writes, statx;

	mode_syscalls("watched", preload, &total, &writes, &statx);
	cr_assert_geq(writes, WRITES, "%d writes", writes);	/* and the wake's */
	cr_assert_eq(sigmasks, 0, "%d rt_sigprocmask calls for %d watched pwrites",
		     sigmasks, WRITES);
}

Test(no_cost, events_of_a_process_with_a_signal_handler_block_signals)
{
	const char *preload = traced_preload();
	int total, writes, statx;

	mode_syscalls("watched-handler", preload, &total, &writes, &statx);
	cr_assert_geq(writes, WRITES, "%d writes", writes);	/* and the wake's */
	cr_assert_geq(sigmasks, 2 * WRITES, "%d rt_sigprocmask calls for %d watched pwrites",
		      sigmasks, WRITES);
}
