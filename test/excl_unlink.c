/*
 * excl_unlink.c - IN_EXCL_UNLINK: a watch that asks it gets no events about
 * a file reached through an fd whose name was unlinked (the kernel tests
 * d_unlinked() of the fd's dentry), including the events that the shim
 * makes after the fd is gone: the flush and close of fclose, and the close
 * events of a process's exit.  Every expected sequence is the kernel's:
 * test/kernel-check.sh runs this file against it.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

INSTANCE_SUITE(excl_unlink, 0);

static void watch_dir(uint32_t flags)
{
	cr_assert_gt(inotify_add_watch(ifd, ".", IN_ALL_EVENTS | flags), 0);
}

/* The events queued now are exactly masks. */
static void expect(const uint32_t *masks, int n)
{
	expect_masks(ifd, masks, n);
}

Test(excl_unlink, write_and_close_after_unlink_are_not_reported)
{
	uint32_t want[] = { IN_OPEN, IN_DELETE };
	int fd;

	close(creat("f", 0644));
	watch_dir(IN_EXCL_UNLINK);
	fd = open("f", O_RDWR);
	cr_assert_geq(fd, 0);
	cr_assert_eq(unlink("f"), 0);
	cr_assert_eq(write(fd, "x", 1), 1);
	cr_assert_eq(close(fd), 0);
	expect(want, 2);
}

Test(excl_unlink, without_the_flag_the_unlinked_file_is_reported)
{
	uint32_t want[] = { IN_OPEN, IN_DELETE, IN_MODIFY, IN_CLOSE_WRITE };
	int fd;

	close(creat("f", 0644));
	watch_dir(0);
	fd = open("f", O_RDWR);
	cr_assert_geq(fd, 0);
	cr_assert_eq(unlink("f"), 0);
	cr_assert_eq(write(fd, "x", 1), 1);
	cr_assert_eq(close(fd), 0);
	expect(want, 4);
}

Test(excl_unlink, fclose_flushing_into_an_unlinked_file_is_not_reported)
{
	uint32_t want[] = { IN_CREATE, IN_OPEN, IN_DELETE };
	FILE *f;

	watch_dir(IN_EXCL_UNLINK);
	f = fopen("f", "w");
	cr_assert_not_null(f);
	fputs("pending", f);
	cr_assert_eq(unlink("f"), 0);
	cr_assert_eq(fclose(f), 0);
	expect(want, 3);
}

Test(excl_unlink, a_name_unlinked_while_another_link_remains_is_excluded)
{
	uint32_t want[] = { IN_OPEN, IN_DELETE };
	int fd;

	close(creat("f", 0644));
	cr_assert_eq(link("f", "g"), 0);
	watch_dir(IN_EXCL_UNLINK);
	fd = open("f", O_RDWR);
	cr_assert_geq(fd, 0);
	cr_assert_eq(unlink("f"), 0);
	cr_assert_eq(write(fd, "x", 1), 1);
	cr_assert_eq(close(fd), 0);
	expect(want, 2);
}

Test(excl_unlink, exit_closing_an_unlinked_file_is_not_reported)
{
	uint32_t want[] = { IN_CREATE, IN_OPEN, IN_DELETE };
	int status;
	pid_t pid;

	watch_dir(IN_EXCL_UNLINK);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		FILE *f = fopen("f", "w");
		fputs("pending", f);
		unlink("f");
		exit(0);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	expect(want, 3);
}

Test(excl_unlink, a_watch_on_the_file_itself_keeps_its_self_events)
{
	uint32_t want[] = { IN_OPEN, IN_ATTRIB, IN_DELETE_SELF, IN_IGNORED };
	int fd;

	close(creat("f", 0644));
	cr_assert_gt(inotify_add_watch(ifd, "f", IN_ALL_EVENTS | IN_EXCL_UNLINK), 0);
	fd = open("f", O_RDWR);
	cr_assert_geq(fd, 0);
	cr_assert_eq(unlink("f"), 0);
	cr_assert_eq(write(fd, "x", 1), 1);
	cr_assert_eq(close(fd), 0);
	expect(want, 4);
}
