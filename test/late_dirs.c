/*
 * late_dirs.c - files opened while no directory is watched anywhere in the
 * domain: their directory is not looked up at open, and must be asked
 * before the first event once one is (src/hooks/files.c, "Directories
 * asked late").  Each test watches a file first, so that something is
 * watched but no directory, opens, and only then watches the directory.
 *
 * The domain is the run's, shared by the tests of this file: a directory
 * watched by one test would make another's open look its directory up at
 * once, and test nothing.  main() runs them one at a time.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

static int in;

static void setup(void)
{
	scratch_enter();
	in = inotify_init1(IN_NONBLOCK);
	cr_assert_geq(in, 0);
	close(open("file-watch", O_CREAT | O_WRONLY, 0644));
	/* something watched, and no directory */
	cr_assert_gt(inotify_add_watch(in, "file-watch", IN_OPEN), 0);
	cr_assert_eq(mkdir("a", 0755), 0);
	cr_assert_eq(mkdir("b", 0755), 0);
}

static void teardown(void)
{
	close(in);
	scratch_leave();
}

TestSuite(late_dirs, .init = setup, .fini = teardown);

/* n events come, each on wd, naming name, with the masks of want in
 * order. */
static void expect_named(int wd, const char *name, const uint32_t *want, int n)
{
	struct ev ev[16];
	int got = wait_events(in, ev, 16, n, 5000);

	cr_assert_eq(got, n, "got %d events, wanted %d", got, n);
	for (int i = 0; i < n; i++) {
		cr_expect_eq(ev[i].wd, wd, "event %d: wd %d", i, ev[i].wd);
		cr_expect_eq(ev[i].mask, want[i], "event %d: %s", i, mask_name(ev[i].mask));
		cr_expect_str_eq(ev[i].name, name, "event %d", i);
	}
}

/* Watch dir, write through fd and close it: dir sees both, naming name. */
static void watch_write_close(int fd, const char *dir, const char *name)
{
	int wd = inotify_add_watch(in, dir, IN_MODIFY | IN_CLOSE_WRITE);

	cr_assert_gt(wd, 0);
	cr_assert_eq(pwrite(fd, "y", 1, 0), 1);
	close(fd);
	expect_named(wd, name, (uint32_t[]){ IN_MODIFY, IN_CLOSE_WRITE }, 2);
}

Test(late_dirs, a_directory_watched_after_a_file_was_opened_sees_its_modify_and_close)
{
	int fd = open("a/f", O_RDWR | O_CREAT, 0644);

	cr_assert_geq(fd, 0);
	cr_assert_eq(pwrite(fd, "x", 1, 0), 1);
	watch_write_close(fd, "a", "f");
}

/* The kernel names the file where its dentry is when the event happens. */
Test(late_dirs, a_file_moved_before_its_directory_was_asked_is_named_in_its_new_directory)
{
	int fd = open("a/f", O_RDWR | O_CREAT, 0644);

	cr_assert_geq(fd, 0);
	cr_assert_eq(rename("a/f", "b/g"), 0);
	watch_write_close(fd, "b", "g");
}

/* The child of fork asks through its own copy of the fd; the parent's
 * close, the last, asks through its own. */
Test(late_dirs, a_forked_child_writing_a_file_opened_before_any_directory_watch_names_it)
{
	int fd = open("a/f", O_RDWR | O_CREAT, 0644), go[2], wd, status;
	pid_t pid;
	char c;

	cr_assert_geq(fd, 0);
	cr_assert_eq(pipe(go), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		close(go[1]);
		if (read(go[0], &c, 1) != 1 || pwrite(fd, "y", 1, 0) != 1)
			_exit(1);
		_exit(0);
	}
	close(go[0]);
	wd = inotify_add_watch(in, "a", IN_MODIFY | IN_CLOSE_WRITE);
	cr_assert_gt(wd, 0);
	cr_assert_eq(write(go[1], "g", 1), 1);
	close(go[1]);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(fd);
	expect_named(wd, "f", (uint32_t[]){ IN_MODIFY, IN_CLOSE_WRITE }, 2);
}

struct writer {
	int fd;
	pthread_barrier_t *start;
};

static void *write_once(void *arg)
{
	struct writer *w = arg;

	pthread_barrier_wait(w->start);
	return (void *)(intptr_t)(pwrite(w->fd, "z", 1, 0) == 1);
}

/* Two threads writing through one record at once both ask for its
 * directory; one keeps the answer, the other uses its own.  Every event
 * names the file (identical neighbours may merge into one). */
Test(late_dirs, two_threads_asking_for_one_files_directory_at_once_both_name_it)
{
	int fd = open("a/f", O_RDWR | O_CREAT, 0644), wd, got;
	pthread_barrier_t start;
	pthread_t t[2];
	struct writer w[2];
	struct ev ev[16];
	void *ok;

	cr_assert_geq(fd, 0);
	wd = inotify_add_watch(in, "a", IN_MODIFY);
	cr_assert_gt(wd, 0);
	pthread_barrier_init(&start, NULL, 2);
	for (int i = 0; i < 2; i++) {
		w[i] = (struct writer){ .fd = fd, .start = &start };
		cr_assert_eq(pthread_create(&t[i], NULL, write_once, &w[i]), 0);
	}
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(pthread_join(t[i], &ok), 0);
		cr_assert(ok, "thread %d: pwrite failed", i);
	}
	pthread_barrier_destroy(&start);
	got = wait_events(in, ev, 16, 1, 5000);
	cr_assert(got == 1 || got == 2, "got %d events", got);
	for (int i = 0; i < got; i++) {
		cr_expect_eq(ev[i].wd, wd);
		cr_expect_eq(ev[i].mask, IN_MODIFY, "%s", mask_name(ev[i].mask));
		cr_expect_str_eq(ev[i].name, "f");
	}
	close(fd);
}

int main(int argc, char **argv)
{
	return criterion_main_serial(argc, argv);
}
