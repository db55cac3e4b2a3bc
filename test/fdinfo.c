/*
 * fdinfo.c - issue 13, item 7: /proc/PID/fdinfo/N of an instance reads as
 * the kernel's inotify fd's (fs/notify/fdinfo.c): the fd's pos, flags,
 * mnt_id and ino lines, then one line per watch, newest first,
 *   inotify wd:%x ino:%lx sdev:%x mask:%x ignored_mask:0 fhandle-bytes:%x fhandle-type:%x f_handle:%02x...
 * whether the process opens it with open or fopen, as /proc/self,
 * /proc/thread-self or /proc/PID, and from another process.  The expected
 * lines are built from stat and name_to_handle_at here, and the same file
 * passes against the kernel (test/kernel-check.sh BUILDDIR test/fdinfo.c).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "helpers.h"

#ifndef AT_HANDLE_FID
#define AT_HANDLE_FID 0x200
#endif

TestSuite(fdinfo, .init = scratch_setup, .fini = scratch_leave, .timeout = 30);

/* The kernel's line for a watch wd with mask on path (followed). */
static void expected_line(char *out, size_t size, int wd, const char *path, uint32_t mask)
{
	struct {
		struct file_handle fh;
		unsigned char h[128];
	} buf;
	struct stat st;
	int mnt, n;

	cr_assert_eq(stat(path, &st), 0);
	n = snprintf(out, size, "inotify wd:%x ino:%lx sdev:%x mask:%x ignored_mask:0 ", wd,
		     (unsigned long)st.st_ino, major(st.st_dev) << 20 | minor(st.st_dev), mask);
	buf.fh.handle_bytes = sizeof buf.h;
	if (name_to_handle_at(AT_FDCWD, path, &buf.fh, &mnt, AT_SYMLINK_FOLLOW | AT_HANDLE_FID) == 0) {
		n += snprintf(out + n, size - n, "fhandle-bytes:%x fhandle-type:%x f_handle:",
			      buf.fh.handle_bytes, buf.fh.handle_type);
		/* the handle's bytes, f_handle[], run on into buf.h */
		const unsigned char *handle =
			(const unsigned char *)&buf + offsetof(struct file_handle, f_handle);

		for (unsigned i = 0; i < buf.fh.handle_bytes; i++)
			n += snprintf(out + n, size - n, "%02x", handle[i]);
	}
}

static void slurp(FILE *f, char *text, size_t size)
{
	size_t n = fread(text, 1, size - 1, f);

	text[n] = 0;
}

/* text is fdinfo of an instance made with flags and these watches (newest
 * last in lines[]). */
static void expect_text(const char *text, const char *flags, const char *const *lines, int n)
{
	char want[64];
	const char *p = text;

	cr_expect(!strncmp(p, "pos:\t0\n", 7), "first line: %s", text);
	snprintf(want, sizeof want, "\nflags:\t%s\n", flags);
	cr_expect(strstr(text, want), "no \"%s\" in:\n%s", flags, text);
	cr_expect(strstr(text, "\nmnt_id:\t"), "no mnt_id in:\n%s", text);
	cr_expect(strstr(text, "\nino:\t"), "no ino in:\n%s", text);
	p = strstr(text, "inotify ");
	cr_assert_not_null(p, "no watch lines in:\n%s", text);
	for (int i = n - 1; i >= 0; i--) {
		size_t len = strlen(lines[i]);
		cr_expect(!strncmp(p, lines[i], len) && p[len] == '\n',
			  "watch line %d:\n%.*s\nwant\n%s", i, (int)strcspn(p, "\n"), p, lines[i]);
		p += strcspn(p, "\n");
		if (*p)
			p++;
	}
	cr_expect_eq(*p, 0, "more after the watches: %s", p);
}

static int in;
static char lines[3][512];
static const char *const line_ptrs[3] = { lines[0], lines[1], lines[2] };

static void three_watches(int flags)
{
	in = inotify_init1(flags);
	cr_assert_geq(in, 0);
	close(open("f", O_CREAT | O_WRONLY, 0600));
	cr_assert_eq(mkdir("d", 0700), 0);
	cr_assert_eq(inotify_add_watch(in, ".", IN_CREATE | IN_DELETE), 1);
	expected_line(lines[0], sizeof lines[0], 1, ".", IN_CREATE | IN_DELETE);
	cr_assert_eq(inotify_add_watch(in, "f", IN_MODIFY | IN_EXCL_UNLINK | IN_ONESHOT), 2);
	expected_line(lines[1], sizeof lines[1], 2, "f", IN_MODIFY | IN_EXCL_UNLINK | IN_ONESHOT);
	cr_assert_eq(inotify_add_watch(in, "d", IN_ALL_EVENTS), 3);
	expected_line(lines[2], sizeof lines[2], 3, "d", IN_ALL_EVENTS);
}

Test(fdinfo, open_of_proc_self_fdinfo_reads_the_kernels_lines)
{
	char path[64], text[8192];
	ssize_t n;
	int fd;

	three_watches(IN_NONBLOCK);
	snprintf(path, sizeof path, "/proc/self/fdinfo/%d", in);
	fd = open(path, O_RDONLY);
	cr_assert_geq(fd, 0, "open %s: %s", path, strerror(errno));
	n = read(fd, text, sizeof text - 1);
	cr_assert_gt(n, 0);
	text[n] = 0;
	close(fd);
	expect_text(text, "04000", line_ptrs, 3);
	close(in);
}

Test(fdinfo, fopen_of_proc_pid_and_thread_self_read_the_same)
{
	char path[64], text[8192];
	FILE *f;

	three_watches(IN_CLOEXEC);
	snprintf(path, sizeof path, "/proc/%d/fdinfo/%d", (int)getpid(), in);
	f = fopen(path, "r");
	cr_assert_not_null(f, "fopen %s: %s", path, strerror(errno));
	slurp(f, text, sizeof text);
	fclose(f);
	expect_text(text, "02000000", line_ptrs, 3);
	snprintf(path, sizeof path, "/proc/thread-self/fdinfo/%d", in);
	f = fopen(path, "re");
	cr_assert_not_null(f, "fopen %s: %s", path, strerror(errno));
	slurp(f, text, sizeof text);
	fclose(f);
	expect_text(text, "02000000", line_ptrs, 3);
	close(in);
}

Test(fdinfo, another_process_reads_an_instances_fdinfo)
{
	char cmd[128], text[8192];
	FILE *f;

	three_watches(IN_NONBLOCK);
	snprintf(cmd, sizeof cmd, "cat /proc/%d/fdinfo/%d >fdinfo.out", (int)getpid(), in);
	cr_assert_eq(run_shell(cmd), 0);
	f = fopen("fdinfo.out", "r");
	cr_assert_not_null(f);
	slurp(f, text, sizeof text);
	fclose(f);
	expect_text(text, "04000", line_ptrs, 3);
	close(in);
}

Test(fdinfo, removed_watches_are_not_listed)
{
	char path[64], text[8192];
	FILE *f;

	three_watches(0);
	cr_assert_eq(inotify_rm_watch(in, 2), 0);
	snprintf(path, sizeof path, "/proc/self/fdinfo/%d", in);
	f = fopen(path, "r");
	cr_assert_not_null(f);
	slurp(f, text, sizeof text);
	fclose(f);
	snprintf(lines[1], sizeof lines[1], "%s", lines[2]);
	expect_text(text, "00", line_ptrs, 2);
	close(in);
}
