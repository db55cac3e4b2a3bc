/*
 * hooks_more.c - the hooks added for real programs (issue 3): copies between
 * fds, fallocate, xattrs, temporary files, close_range, stdio's own writes,
 * syscall(), and the close events of a process's exit.  The expected events
 * are the kernel's (checked with test/writers and ../shared/conformance).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "helpers.h"

INSTANCE_SUITE(hooks_more, IN_ALL_EVENTS);

static void expect(const uint32_t *masks, int n)
{
	struct ev ev[32];
	int got = wait_events(ifd, ev, 32, n, 5000);

	for (int i = 0; i < n && i < got; i++)
		cr_expect_eq(ev[i].mask, masks[i], "event %d: %s", i, mask_name(ev[i].mask));
	cr_assert_eq(got, n, "got %d events, wanted %d", got, n);
}

static int make_file(const char *name, const char *text)
{
	int fd = open(name, O_RDWR | O_CREAT | O_TRUNC, 0644);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	struct ev ev[8];
	wait_events(ifd, ev, 8, 4, 5000);	/* create, open, modify, close */
	return 0;
}

Test(hooks_more, copy_file_range_is_access_on_source_then_modify_on_destination)
{
	make_file("src", "hello");
	int a = open("src", O_RDONLY), b = open("dst", O_WRONLY | O_CREAT, 0644);
	uint32_t want[] = { IN_OPEN, IN_CREATE, IN_OPEN, IN_ACCESS, IN_MODIFY };

	cr_assert_eq(copy_file_range(a, NULL, b, NULL, 5, 0), 5);
	expect(want, 5);
	close(a);
	close(b);
}

/* This machine's file systems may not clone (ext4, tmpfs: EOPNOTSUPP);
 * then the failed clone must add nothing between the opens and closes. */
Test(hooks_more, ficlone_is_access_then_modify_only_when_it_clones)
{
	make_file("src", "hello");
	int a = open("src", O_RDONLY), b = open("dst", O_WRONLY | O_CREAT, 0644);
	uint32_t cloned[] = { IN_OPEN, IN_CREATE, IN_OPEN, IN_ACCESS, IN_MODIFY,
			      IN_CLOSE_NOWRITE, IN_CLOSE_WRITE };
	uint32_t refused[] = { IN_OPEN, IN_CREATE, IN_OPEN, IN_CLOSE_NOWRITE,
			       IN_CLOSE_WRITE };
	int ret, err;

	errno = 0;
	ret = ioctl(b, FICLONE, a);
	err = errno;
	close(a);
	close(b);
	if (ret == 0) {
		expect(cloned, 7);
	} else {
		cr_assert(err == EOPNOTSUPP || err == EXDEV || err == EINVAL,
			  "FICLONE: %s", strerror(err));
		expect(refused, 5);
	}
}

Test(hooks_more, sendfile_is_access_on_source_then_modify_on_destination)
{
	make_file("src", "hello");
	int a = open("src", O_RDONLY), b = open("src2", O_WRONLY | O_CREAT, 0644);
	uint32_t want[] = { IN_OPEN, IN_CREATE, IN_OPEN, IN_ACCESS, IN_MODIFY };

	cr_assert_eq(syscall(SYS_sendfile, b, a, NULL, 5), 5);
	expect(want, 5);
	close(a);
	close(b);
}

Test(hooks_more, posix_fallocate_is_modify)
{
	int fd = open("f", O_WRONLY | O_CREAT, 0644);
	uint32_t want[] = { IN_CREATE, IN_OPEN, IN_MODIFY, IN_CLOSE_WRITE };

	cr_assert_eq(posix_fallocate(fd, 0, 4096), 0);
	close(fd);
	expect(want, 4);
}

Test(hooks_more, setxattr_is_attrib)
{
	uint32_t want[] = { IN_ATTRIB };

	make_file("f", "x");
	if (setxattr("f", "user.test", "1", 1, 0) < 0)
		cr_skip_test("no user xattrs here: %s", strerror(errno));
	expect(want, 1);
}

Test(hooks_more, mkstemp_is_create_and_open)
{
	char name[] = "tmpXXXXXX";
	uint32_t want[] = { IN_CREATE, IN_OPEN, IN_CLOSE_WRITE };
	int fd = mkstemp(name);

	cr_assert_geq(fd, 0);
	close(fd);
	expect(want, 3);
}

Test(hooks_more, close_range_gives_each_file_its_close)
{
	/* The shim may open fds of its own on first use, so the two
	 * files are moved to adjacent numbers of the test's choosing;
	 * dup2 keeps the open files, so no close is due before close_range. */
	int a = open("a", O_RDONLY | O_CREAT, 0644);
	int b = open("b", O_WRONLY | O_CREAT, 0644);
	/* released highest first, as the kernel's task work runs them */
	uint32_t want[] = { IN_CREATE, IN_OPEN, IN_CREATE, IN_OPEN, IN_CLOSE_WRITE,
			    IN_CLOSE_NOWRITE };

	cr_assert_geq(a, 0);
	cr_assert_geq(b, 0);
	cr_assert_eq(dup2(a, 900), 900);
	cr_assert_eq(dup2(b, 901), 901);
	cr_assert_eq(close(a), 0);
	cr_assert_eq(close(b), 0);
	cr_assert_eq(close_range(900, 901, 0), 0);
	expect(want, 6);
}

Test(hooks_more, syscall_close_gives_the_close_event)
{
	int fd = open("f", O_WRONLY | O_CREAT, 0644);
	uint32_t want[] = { IN_CREATE, IN_OPEN, IN_CLOSE_WRITE };

	cr_assert_eq(syscall(SYS_close, fd), 0);
	expect(want, 3);
}

Test(hooks_more, stdio_buffer_flush_inside_fwrite_is_modify)
{
	char block[BUFSIZ * 4];
	FILE *f = fopen("f", "w");
	uint32_t want[] = { IN_CREATE, IN_OPEN, IN_MODIFY };

	memset(block, 'x', sizeof block);
	cr_assert_eq(fwrite(block, 1, sizeof block, f), sizeof block);
	expect(want, 3);
	fclose(f);
}

Test(hooks_more, stdio_fgets_that_reads_the_file_is_access)
{
	char line[64];
	uint32_t want[] = { IN_OPEN, IN_ACCESS };

	make_file("f", "one\ntwo\n");
	FILE *f = fopen("f", "r");
	cr_assert_not_null(fgets(line, sizeof line, f));
	cr_assert_not_null(fgets(line, sizeof line, f));	/* from the buffer */
	expect(want, 2);
	fclose(f);
}

Test(hooks_more, exit_flushes_and_closes_files_still_open)
{
	uint32_t want[] = { IN_CREATE, IN_OPEN, IN_MODIFY, IN_CLOSE_WRITE };
	pid_t pid = fork();
	int status;

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		FILE *f = fopen("f", "w");
		fputs("pending", f);
		exit(0);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	expect(want, 4);
}

Test(hooks_more, forked_child_exit_does_not_close_the_parents_file)
{
	int fd = open("f", O_WRONLY | O_CREAT, 0644);
	uint32_t want[] = { IN_CREATE, IN_OPEN, IN_CLOSE_WRITE };
	pid_t pid = fork();
	int status;

	cr_assert_geq(pid, 0);
	if (pid == 0)
		_exit(0);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	close(fd);
	expect(want, 3);
}

Test(hooks_more, splice_from_a_pipe_into_a_file_is_modify)
{
	int p[2], fd;
	uint32_t want[] = { IN_CREATE, IN_OPEN, IN_MODIFY };

	cr_assert_eq(pipe(p), 0);
	cr_assert_eq(write(p[1], "data", 4), 4);
	fd = open("f", O_WRONLY | O_CREAT, 0644);
	cr_assert_eq(splice(p[0], NULL, fd, NULL, 4, 0), 4);
	expect(want, 3);
	close(fd);
	close(p[0]);
	close(p[1]);
}

Test(hooks_more, remove_of_a_file_is_delete)
{
	uint32_t want[] = { IN_DELETE };

	make_file("f", "x");
	cr_assert_eq(remove("f"), 0);
	expect(want, 1);
}

Test(hooks_more, remove_of_a_directory_is_delete_isdir)
{
	uint32_t want[] = { IN_CREATE | IN_ISDIR, IN_DELETE | IN_ISDIR };

	cr_assert_eq(mkdir("d", 0755), 0);
	cr_assert_eq(remove("d"), 0);
	expect(want, 2);
}

Test(hooks_more, syscall_copy_file_range_is_access_then_modify)
{
	make_file("src", "hello");
	int in = open("src", O_RDONLY);
	int out = open("dst", O_WRONLY | O_CREAT, 0644);
	uint32_t want[] = { IN_OPEN, IN_CREATE, IN_OPEN, IN_ACCESS, IN_MODIFY };

	cr_assert_eq(syscall(SYS_copy_file_range, in, NULL, out, NULL, 5, 0), 5);
	expect(want, 5);
	close(in);
	close(out);
}

Test(hooks_more, syscall_inotify_calls_are_the_emulation)
{
	int fd = (int)syscall(SYS_inotify_init1, IN_NONBLOCK);
	uint32_t want[] = { IN_CREATE };
	struct ev ev[4];

	cr_assert_geq(fd, 0);
	cr_assert_eq(syscall(SYS_inotify_add_watch, fd, ".", IN_CREATE), 1);
	close(creat("f", 0644));
	cr_assert_eq(wait_events(fd, ev, 4, 1, 5000), 1);
	cr_expect_eq(ev[0].mask, want[0]);
	cr_assert_eq(syscall(SYS_inotify_rm_watch, fd, 1), 0);
	close(fd);
}

/* An fd opened while neither the file nor its directory was watched takes
 * the hooks' quiet path (families.h hook_fd_quiet: the per-inode filter
 * misses both) until a watch appears: then its writes and reads must be
 * seen at once, on the directory and on the file. */
Test(hooks_more, a_watch_added_while_a_file_is_open_sees_writes_and_reads_through_it)
{
	struct ev ev[8];
	char buf[4];
	int in = inotify_init1(IN_NONBLOCK), fd, wd_dir, wd_file;

	cr_assert_geq(in, 0);
	cr_assert_eq(mkdir("sub", 0755), 0);
	fd = open("sub/f", O_RDWR | O_CREAT, 0644);
	cr_assert_geq(fd, 0);
	cr_assert_eq(pwrite(fd, "a", 1, 0), 1);
	cr_assert_eq(read_events(in, ev, 8), 0);
	wd_dir = inotify_add_watch(in, "sub", IN_MODIFY | IN_ACCESS);
	cr_assert_gt(wd_dir, 0);
	cr_assert_eq(pwrite(fd, "b", 1, 0), 1);
	cr_assert_eq(wait_events(in, ev, 8, 1, 5000), 1);
	cr_expect_eq(ev[0].wd, wd_dir);
	cr_expect_eq(ev[0].mask, IN_MODIFY, "%s", mask_name(ev[0].mask));
	cr_expect_str_eq(ev[0].name, "f");
	wd_file = inotify_add_watch(in, "sub/f", IN_ACCESS);
	cr_assert_gt(wd_file, 0);
	cr_assert_eq(inotify_rm_watch(in, wd_dir), 0);
	cr_assert_eq(wait_events(in, ev, 8, 1, 5000), 1);	/* IN_IGNORED */
	cr_assert_eq(lseek(fd, 0, SEEK_SET), 0);
	cr_assert_eq(read(fd, buf, sizeof buf), 1);
	cr_assert_eq(wait_events(in, ev, 8, 1, 5000), 1);
	cr_expect_eq(ev[0].wd, wd_file);
	cr_expect_eq(ev[0].mask, IN_ACCESS, "%s", mask_name(ev[0].mask));
	close(fd);
	close(in);
}

/* openat(dirfd, name): the directory is dirfd's inode, known from the fd
 * table without asking the kernel; the events name the file there, also
 * when the directory has been renamed since dirfd was opened. */
Test(hooks_more, openat_of_a_name_under_a_directory_fd_reports_on_that_directory)
{
	struct ev ev[8];
	int in = inotify_init1(IN_NONBLOCK), dfd, fd, wd;

	cr_assert_geq(in, 0);
	cr_assert_eq(mkdir("d", 0755), 0);
	dfd = open("d", O_RDONLY | O_DIRECTORY);
	cr_assert_geq(dfd, 0);
	cr_assert_eq(rename("d", "e"), 0);
	wd = inotify_add_watch(in, "e", IN_CREATE | IN_OPEN | IN_CLOSE_WRITE);
	cr_assert_gt(wd, 0);
	fd = openat(dfd, "new", O_WRONLY | O_CREAT, 0644);
	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(wait_events(in, ev, 8, 3, 5000), 3);
	cr_expect_eq(ev[0].mask, IN_CREATE, "%s", mask_name(ev[0].mask));
	cr_expect_eq(ev[1].mask, IN_OPEN, "%s", mask_name(ev[1].mask));
	cr_expect_eq(ev[2].mask, IN_CLOSE_WRITE, "%s", mask_name(ev[2].mask));
	for (int i = 0; i < 3; i++) {
		cr_expect_eq(ev[i].wd, wd);
		cr_expect_str_eq(ev[i].name, "new");
	}
	close(dfd);
	close(in);
}

/* The open hook keeps the working directory's inode (objects.h obj_cwd());
 * chdir, fchdir and syscall(SYS_chdir) must each make it ask again, or a
 * plain name would be reported on the directory left behind. */
Test(hooks_more, a_plain_name_opened_after_chdir_is_reported_on_the_new_directory)
{
	struct ev ev[8];
	int in = inotify_init1(IN_NONBLOCK), wd_a, wd_b, dfd;

	cr_assert_geq(in, 0);
	cr_assert_eq(mkdir("a", 0755), 0);
	cr_assert_eq(mkdir("b", 0755), 0);
	wd_a = inotify_add_watch(in, "a", IN_CREATE);
	wd_b = inotify_add_watch(in, "b", IN_CREATE);
	cr_assert(wd_a > 0 && wd_b > 0);
	dfd = open("b", O_RDONLY | O_DIRECTORY);
	cr_assert_geq(dfd, 0);

	cr_assert_eq(chdir("a"), 0);
	close(creat("one", 0644));
	cr_assert_eq(fchdir(dfd), 0);
	close(creat("two", 0644));
	cr_assert_eq(syscall(SYS_chdir, "../a"), 0);
	close(creat("three", 0644));
	cr_assert_eq(chdir(".."), 0);

	cr_assert_eq(wait_events(in, ev, 8, 3, 5000), 3);
	cr_expect_eq(ev[0].wd, wd_a);
	cr_expect_str_eq(ev[0].name, "one");
	cr_expect_eq(ev[1].wd, wd_b);
	cr_expect_str_eq(ev[1].name, "two");
	cr_expect_eq(ev[2].wd, wd_a);
	cr_expect_str_eq(ev[2].name, "three");
	close(dfd);
	close(in);
}
