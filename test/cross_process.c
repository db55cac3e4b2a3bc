/*
 * cross_process.c - events cross processes through the shared domain:
 * synchronously (readable when the causing call returns), into instances
 * held by different processes, and the instance of a killed holder is
 * reclaimed so that it does not count against max_user_instances.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "child_run.h"
#include "helpers.h"

static int ifd;
static int fds_before;
static const char *dir;

static void setup(void)
{
	dir = scratch_enter();
	fds_before = count_fds();
	ifd = inotify_init1(IN_NONBLOCK);
	cr_assert_geq(ifd, 0, "inotify_init1: %s", strerror(errno));
}

static void teardown(void)
{
	close(ifd);
	cr_expect_eq(count_fds(), fds_before, "fd leaked");
	scratch_leave();
}

TestSuite(cross_process, .init = setup, .fini = teardown, .timeout = 60);

Test(cross_process, event_from_a_shell_child_is_queued_when_it_returns)
{
	struct ev ev[8];
	int n = -1;

	cr_assert_eq(inotify_add_watch(ifd, ".", IN_CREATE), 1);
	cr_assert_eq(run_shell(": > made_by_sh"), 0);
	/* no waiting: the child's open returned, so the event is there */
	cr_assert_eq(ioctl(ifd, FIONREAD, &n), 0);
	cr_assert_eq(n, 32, "FIONREAD %d right after the child exited", n);
	cr_assert_eq(read_events(ifd, ev, 8), 1);
	cr_assert_eq(ev[0].mask, IN_CREATE);
	cr_assert_str_eq(ev[0].name, "made_by_sh");
}

Test(cross_process, events_from_a_coreutils_child_arrive_in_order)
{
	struct ev ev[8];
	char *argv[] = { "mkdir", "sub", NULL };

	cr_assert_eq(inotify_add_watch(ifd, ".", IN_CREATE | IN_DELETE), 1);
	cr_assert_eq(run_program(argv), 0);
	cr_assert_eq(rmdir("sub"), 0);
	cr_assert_eq(read_events(ifd, ev, 8), 2);
	cr_assert_eq(ev[0].mask, IN_CREATE | IN_ISDIR, "got %s", mask_name(ev[0].mask));
	cr_assert_eq(ev[1].mask, IN_DELETE | IN_ISDIR, "got %s", mask_name(ev[1].mask));
}

Test(cross_process, two_instances_in_two_processes_each_get_their_events)
{
	int ready[2], done[2], st;
	char c;
	pid_t pid;
	struct ev ev[8];

	cr_assert_eq(mkdir("mine", 0755), 0);
	cr_assert_eq(mkdir("theirs", 0755), 0);
	cr_assert_eq(inotify_add_watch(ifd, "mine", IN_CREATE), 1);
	cr_assert_eq(pipe(ready), 0);
	cr_assert_eq(pipe(done), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct ev cev[8];
		int fd = inotify_init1(IN_NONBLOCK), n;
		close(ifd);
		if (fd < 0 || inotify_add_watch(fd, "theirs", IN_CREATE) != 1)
			_exit(3);
		if (write(ready[1], "r", 1) != 1 || read(done[0], &c, 1) != 1)
			_exit(4);
		n = read_events(fd, cev, 8);
		_exit(n == 1 && !strcmp(cev[0].name, "t") ? 0 : 5);
	}
	close(ready[1]);
	close(done[0]);
	cr_assert_eq(read(ready[0], &c, 1), 1);
	close(open("theirs/t", O_CREAT | O_WRONLY, 0644));
	close(open("mine/m", O_CREAT | O_WRONLY, 0644));
	cr_assert_eq(write(done[1], "d", 1), 1);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	close(ready[0]);
	close(done[1]);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %d", WEXITSTATUS(st));
	cr_assert_eq(read_events(ifd, ev, 8), 1);
	cr_assert_str_eq(ev[0].name, "m");
}

static bool line_ready(void *arg)
{
	int fd = *(int *)arg;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	return poll(&p, 1, 0) == 1;
}

Test(cross_process, instance_of_a_killed_holder_is_reclaimed)
{
	char *argv[] = { (char *)limits_child_path(), "hold", NULL };
	char out[256] = "";
	int p[2], st;
	pid_t pid;

	child_domain(dir);
	cr_assert_eq(setenv("INOTIFY_SHIM_MAX_USER_INSTANCES", "1", 1), 0);
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	pid = start_program(argv, p[1]);
	close(p[1]);
	cr_assert_gt(pid, 0);
	cr_assert(wait_until(line_ready, &p[0], 10000), "the holder never got ready");
	cr_assert_gt(read(p[0], out, sizeof out - 1), 0);
	cr_assert_str_eq(out, "ready\n");
	close(p[0]);

	cr_assert_eq(child_run(NULL, NULL, "instances", "1", out, sizeof out), 0);
	cr_assert_eq(strncmp(out, "-1 24", 5), 0, "the live holder's instance counts:\n%s", out);

	cr_assert_eq(kill(pid, SIGKILL), 0);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert_eq(child_run(NULL, NULL, "instances", "1", out, sizeof out), 0);
	cr_assert_eq(strncmp(out, "-1", 2) != 0, 1, "the dead instance still counts:\n%s", out);
	unsetenv("INOTIFY_SHIM_MAX_USER_INSTANCES");
}

/* A writer that does not hold the instance keeps an fd on its FIFO for
 * the next wakes (core/slots.c), out of the program's way.  The program
 * closing every fd, or dup2-ing its own file over that one, must neither
 * lose an event nor get a byte written into its file. */

static int kept_fifo_fd(void)
{
	for (int fd = 900; fd < 1100; fd++) {
		struct stat st;
		if (fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode))
			return fd;
	}
	return -1;
}

static int make_in_child(const char *name, int mode)
{
	pid_t pid = fork();

	if (pid == 0) {
		close(ifd);
		close(creat("first", 0600));	/* the wake keeps an fd */
		int kept = kept_fifo_fd();
		if (kept < 0)
			_exit(10);
		if (mode == 0) {
			int f = open("victim", O_CREAT | O_WRONLY | O_TRUNC, 0600);
			if (f < 0 || dup2(f, kept) != kept)
				_exit(11);
			close(f);
		} else if (syscall(SYS_close_range, 3, ~0U, 0) < 0 &&
			   close_range(3, ~0U, 0) < 0) {
			_exit(12);
		}
		close(creat(name, 0600));
		if (mode == 0) {
			struct stat st;
			if (stat("victim", &st) < 0 || st.st_size != 0)
				_exit(13);
		}
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st);
}

Test(cross_process, a_writer_that_dup2s_over_the_shims_kept_fd_loses_no_event_and_no_byte)
{
	struct ev ev[4];

	cr_assert_eq(inotify_add_watch(ifd, ".", IN_CREATE), 1);
	cr_assert_eq(make_in_child("second", 0), 0);
	cr_assert_eq(wait_events(ifd, ev, 4, 3, 5000), 3);
	cr_assert_str_eq(ev[0].name, "first");
	cr_assert_str_eq(ev[1].name, "victim");
	cr_assert_str_eq(ev[2].name, "second");
}

Test(cross_process, a_writer_that_closes_every_fd_loses_no_event)
{
	struct ev ev[4];

	cr_assert_eq(inotify_add_watch(ifd, ".", IN_CREATE), 1);
	cr_assert_eq(make_in_child("second", 1), 0);
	cr_assert_eq(wait_events(ifd, ev, 4, 2, 5000), 2);
	cr_assert_str_eq(ev[0].name, "first");
	cr_assert_str_eq(ev[1].name, "second");
}
