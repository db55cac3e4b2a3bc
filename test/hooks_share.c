/*
 * hooks_share.c - the close event comes with the last descriptor of an
 * open file across processes: fork, exec (close-on-exec too), posix_spawn
 * (with a file action moving the file), and a killed holder.  Each
 * expected sequence is the kernel's: run this binary without the shim
 * (./test/hooks_share) and it passes on the kernel's inotify too.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

extern char **environ;
static int ifd;

static void setup(void)
{
	scratch_enter();
	ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	cr_assert_geq(ifd, 0, "inotify_init1: %s", strerror(errno));
	cr_assert_gt(inotify_add_watch(ifd, ".", IN_ALL_EVENTS & ~IN_ACCESS), 0);
}

static void teardown(void)
{
	close(ifd);
	scratch_leave();
}

TestSuite(hooks_share, .init = setup, .fini = teardown);

static void expect(const uint32_t *masks, int n, int ms)
{
	struct ev ev[32];
	int got = wait_events(ifd, ev, 32, n ? n : 1, ms);

	for (int i = 0; i < n && i < got; i++)
		cr_expect_eq(ev[i].mask, masks[i], "event %d: %s", i, mask_name(ev[i].mask));
	cr_assert_eq(got, n, "got %d events, wanted %d (first %s)", got, n,
		     got ? mask_name(ev[0].mask) : "-");
}

/* Nothing comes within a short deadline. */
static void expect_none(void)
{
	expect(NULL, 0, 300);
}

static int create_file(void)
{
	int fd = open("f", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	uint32_t want[] = { IN_CREATE, IN_OPEN };

	cr_assert_geq(fd, 0);
	expect(want, 2, 5000);
	return fd;
}

static void reap(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		cr_assert_eq(errno, EINTR);
}

static const uint32_t close_write[] = { IN_CLOSE_WRITE };

Test(hooks_share, fork_child_exit_leaves_parent_file_open)
{
	int fd = create_file();
	pid_t pid = fork();

	if (pid == 0)
		exit(0);
	reap(pid);
	expect_none();
	close(fd);
	expect(close_write, 1, 5000);
}

Test(hooks_share, fork_child_close_is_not_the_last)
{
	int fd = create_file();
	pid_t pid = fork();

	if (pid == 0) {
		close(fd);
		_exit(0);
	}
	reap(pid);
	expect_none();
	close(fd);
	expect(close_write, 1, 5000);
}

Test(hooks_share, fork_parent_closes_first_child_exit_is_the_last)
{
	int fd = create_file(), p[2];
	char c;
	pid_t pid;

	cr_assert_eq(pipe(p), 0);
	pid = fork();
	if (pid == 0) {
		close(p[1]);
		read(p[0], &c, 1);
		_exit(0);
	}
	close(p[0]);
	close(fd);
	expect_none();
	close(p[1]);
	reap(pid);
	expect(close_write, 1, 5000);
}

Test(hooks_share, exec_image_closes_inherited_file_at_exit)
{
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open("f", O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 1);
		close(fd);
		execl("/bin/echo", "echo", "hi", (char *)NULL);
		_exit(127);
	}
	reap(pid);
	uint32_t want[] = { IN_CREATE, IN_OPEN, IN_MODIFY, IN_CLOSE_WRITE };
	expect(want, 4, 5000);
}

Test(hooks_share, exec_image_exit_leaves_parent_file_open)
{
	int fd = create_file();
	pid_t pid = fork();

	if (pid == 0) {
		dup2(fd, 1);
		execlp("echo", "echo", "hi", (char *)NULL);
		_exit(127);
	}
	reap(pid);
	uint32_t modify[] = { IN_MODIFY };
	expect(modify, 1, 5000);
	expect_none();
	close(fd);
	expect(close_write, 1, 5000);
}

Test(hooks_share, exec_closes_close_on_exec_file_before_the_program_runs)
{
	int p[2];
	pid_t pid;

	cr_assert_eq(pipe(p), 0);
	pid = fork();
	if (pid == 0) {
		int fd = open("f", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		(void)fd;
		dup2(p[0], 0);
		close(p[0]);
		close(p[1]);
		execl("/bin/cat", "cat", (char *)NULL);
		_exit(127);
	}
	close(p[0]);
	/* cat waits on its stdin: the close must come from exec itself */
	uint32_t want[] = { IN_CREATE, IN_OPEN, IN_CLOSE_WRITE };
	expect(want, 3, 5000);
	close(p[1]);
	reap(pid);
	expect_none();
}

static pid_t spawn_cat(int in, int file, bool move)
{
	posix_spawn_file_actions_t fa;
	char *argv[] = { "cat", NULL };
	pid_t pid;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in, 0);
	if (move) {
		posix_spawn_file_actions_adddup2(&fa, file, 1);
		posix_spawn_file_actions_addclose(&fa, file);
	}
	cr_assert_eq(posix_spawn(&pid, "/bin/cat", &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	return pid;
}

Test(hooks_share, posix_spawn_child_holds_inherited_file)
{
	int fd = create_file(), p[2];
	pid_t pid;

	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	pid = spawn_cat(p[0], fd, false);
	close(p[0]);
	close(fd);
	expect_none();
	close(p[1]);
	reap(pid);
	expect(close_write, 1, 5000);
}

Test(hooks_share, posix_spawn_file_moved_by_dup2_action_is_held)
{
	int fd = create_file(), p[2];
	pid_t pid;

	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	pid = spawn_cat(p[0], fd, true);
	close(p[0]);
	close(fd);
	expect_none();
	cr_assert_eq(write(p[1], "x\n", 2), 2);
	uint32_t modify[] = { IN_MODIFY };
	expect(modify, 1, 5000);
	close(p[1]);
	reap(pid);
	expect(close_write, 1, 5000);
}

Test(hooks_share, posix_spawn_close_on_exec_file_stays_with_parent)
{
	int fd = open("f", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644), p[2];
	uint32_t want[] = { IN_CREATE, IN_OPEN };
	pid_t pid;

	expect(want, 2, 5000);
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	pid = spawn_cat(p[0], fd, false);
	close(p[0]);
	close(p[1]);
	reap(pid);
	expect_none();
	close(fd);
	expect(close_write, 1, 5000);
}

Test(hooks_share, killed_child_does_not_keep_the_file_open)
{
	int fd = create_file(), p[2];
	char c;
	pid_t pid;

	cr_assert_eq(pipe(p), 0);
	pid = fork();
	if (pid == 0) {
		close(p[1]);
		read(p[0], &c, 1);
		_exit(0);
	}
	close(p[0]);
	kill(pid, SIGKILL);
	reap(pid);
	close(fd);
	expect(close_write, 1, 5000);
	close(p[1]);
}

Test(hooks_share, killed_child_zombie_does_not_keep_the_file_open)
{
	int fd = create_file(), p[2];
	siginfo_t si;
	char c;
	pid_t pid;

	cr_assert_eq(pipe(p), 0);
	pid = fork();
	if (pid == 0) {
		close(p[1]);
		read(p[0], &c, 1);
		_exit(0);
	}
	close(p[0]);
	kill(pid, SIGKILL);
	/* wait for its death, but leave it a zombie */
	cr_assert_eq(waitid(P_PID, pid, &si, WEXITED | WNOWAIT), 0);
	close(fd);
	expect(close_write, 1, 5000);
	reap(pid);
	close(p[1]);
}
