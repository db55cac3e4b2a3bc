/*
 * instance_calls.c - issue 13, item 12: every write-like and seek-like call
 * on an instance fd gives the kernel's answer, and none of them leaves a
 * byte in the FIFO under the instance (a false POLLIN, a read that is not
 * whole events).  The expected answers are this kernel's, from its own
 * inotify fd: the file runs unchanged against the kernel with
 *   test/kernel-check.sh BUILDDIR test/instance_calls.c
 * (uname -r 6.x; the same answers since at least 5.10).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#include "helpers.h"

static int in, file, pipefd[2];

static void setup(void)
{
	scratch_enter();
	in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	cr_assert_geq(in, 0, "inotify_init1: %s", strerror(errno));
	file = open("file", O_CREAT | O_RDWR, 0600);
	cr_assert_geq(file, 0);
	cr_assert_eq(write(file, "hello", 5), 5);
	cr_assert_eq(pipe2(pipefd, O_CLOEXEC), 0);
	cr_assert_eq(write(pipefd[1], "abc", 3), 3);
}

static void teardown(void)
{
	close(pipefd[0]);
	close(pipefd[1]);
	close(file);
	close(in);
	scratch_leave();
}

TestSuite(instance_calls, .init = setup, .fini = teardown, .timeout = 30);

/* call gives want_ret, and errno want_err when it fails */
#define EXPECT(call, want_ret, want_err)                                       \
	do {                                                                   \
		errno = 0;                                                     \
		long r_ = (long)(call);                                        \
		int e_ = errno;                                                \
		cr_expect_eq(r_, (long)(want_ret), "%s: %ld, want %ld", #call, r_, \
			     (long)(want_ret));                                \
		if (r_ == -1)                                                  \
			cr_expect_eq(e_, want_err, "%s: errno %s, want %s", #call, \
				     strerror(e_), strerror(want_err));        \
	} while (0)

/* Nothing was put in the instance: no POLLIN, nothing queued, and it
 * still gives exactly its events. */
static void expect_untouched(void)
{
	struct pollfd p = { .fd = in, .events = POLLIN };
	struct ev ev[4];
	int bytes = -1;

	cr_expect_eq(poll(&p, 1, 0), 0, "POLLIN with nothing queued");
	cr_expect_eq(ioctl(in, FIONREAD, &bytes), 0);
	cr_expect_eq(bytes, 0, "FIONREAD: %d", bytes);
	cr_assert_eq(inotify_add_watch(in, ".", IN_CREATE), 1);
	close(open("made", O_CREAT | O_WRONLY, 0600));
	cr_assert_eq(wait_events(in, ev, 4, 1, 5000), 1);
	cr_expect_eq(ev[0].mask, IN_CREATE);
	cr_expect_str_eq(ev[0].name, "made");
}

Test(instance_calls, writes_are_ebadf)
{
	char b[8] = "x";
	struct iovec iov = { b, 1 };

	EXPECT(write(in, b, 1), -1, EBADF);
	EXPECT(writev(in, &iov, 1), -1, EBADF);
	EXPECT(pwritev2(in, &iov, 1, -1, 0), -1, EBADF);
	EXPECT(dprintf(in, "hi"), -1, EBADF);
	EXPECT(dprintf(in, "%d", 42), -1, EBADF);
	expect_untouched();
}

Test(instance_calls, writes_at_an_offset_are_espipe)
{
	char b[8] = "x";
	struct iovec iov = { b, 1 };

	EXPECT(pwrite(in, b, 1, 0), -1, ESPIPE);
	EXPECT(pwritev(in, &iov, 1, 0), -1, ESPIPE);
	EXPECT(pwritev2(in, &iov, 1, 0, 0), -1, ESPIPE);
	expect_untouched();
}

Test(instance_calls, splice_tee_and_vmsplice_into_it_are_ebadf)
{
	char b[8] = "x";
	struct iovec iov = { b, 1 };

	EXPECT(splice(pipefd[0], NULL, in, NULL, 3, 0), -1, EBADF);
	EXPECT(splice(file, NULL, in, NULL, 3, 0), -1, EBADF);
	EXPECT(tee(pipefd[0], in, 3, 0), -1, EBADF);
	EXPECT(vmsplice(in, &iov, 1, 0), -1, EBADF);
	/* the pipe kept its bytes */
	cr_expect_eq(read(pipefd[0], b, sizeof b), 3);
	expect_untouched();
}

Test(instance_calls, splice_and_tee_from_it_are_einval)
{
	EXPECT(splice(in, NULL, pipefd[1], NULL, 3, 0), -1, EINVAL);
	EXPECT(splice(in, NULL, file, NULL, 3, 0), -1, EINVAL);
	EXPECT(tee(in, pipefd[1], 3, 0), -1, EINVAL);
	/* the other fd is asked first */
	EXPECT(splice(in, NULL, pipefd[0], NULL, 3, 0), -1, EBADF);
	EXPECT(splice(in, NULL, 999, NULL, 3, 0), -1, EBADF);
	expect_untouched();
}

Test(instance_calls, sendfile_and_copy_file_range_give_the_kernels_errno)
{
	off_t off = 0;
	loff_t loff = 0;

	EXPECT(sendfile(in, file, &off, 3), -1, EBADF);
	EXPECT(sendfile(in, file, NULL, 3), -1, EBADF);
	EXPECT(sendfile(in, pipefd[0], NULL, 3), -1, EBADF);
	EXPECT(sendfile(in, pipefd[0], &off, 3), -1, ESPIPE);
	EXPECT(sendfile(file, in, NULL, 3), -1, EINVAL);
	EXPECT(sendfile(file, in, &off, 3), -1, ESPIPE);
	EXPECT(sendfile(pipefd[0], in, NULL, 3), -1, EBADF);
	EXPECT(copy_file_range(file, &loff, in, NULL, 3, 0), -1, EINVAL);
	EXPECT(copy_file_range(in, NULL, file, NULL, 3, 0), -1, EINVAL);
	expect_untouched();
}

Test(instance_calls, fallocate_and_ftruncate_give_the_kernels_errno)
{
	EXPECT(fallocate(in, 0, 0, 10), -1, EBADF);
	EXPECT(fallocate(in, 0, 0, 0), -1, EINVAL);
	EXPECT(fallocate(in, 0, -1, 10), -1, EINVAL);
	EXPECT(posix_fallocate(in, 0, 10), EBADF, 0);
	EXPECT(ftruncate(in, 0), -1, EINVAL);
	expect_untouched();
}

Test(instance_calls, attribute_changes_are_eopnotsupp_and_change_nothing)
{
	struct stat before, after;

	cr_assert_eq(fstat(in, &before), 0);
	EXPECT(fchmod(in, 0666), -1, EOPNOTSUPP);
	EXPECT(fchown(in, (uid_t)-1, (gid_t)-1), -1, EOPNOTSUPP);
	EXPECT(futimens(in, NULL), -1, EOPNOTSUPP);
	EXPECT(futimes(in, NULL), -1, EOPNOTSUPP);
	cr_assert_eq(fstat(in, &after), 0);
	cr_expect_eq(after.st_mode, before.st_mode);
	cr_expect_eq(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
	cr_expect_eq(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
	expect_untouched();
}

Test(instance_calls, seeks_answer_0_and_reads_at_an_offset_espipe)
{
	char b[64];
	struct iovec iov = { b, sizeof b };

	EXPECT(lseek(in, 0, SEEK_SET), 0, 0);
	EXPECT(lseek(in, 5, SEEK_SET), 0, 0);
	EXPECT(lseek(in, 0, SEEK_END), 0, 0);
	EXPECT(lseek(in, -1, SEEK_CUR), 0, 0);
	EXPECT(lseek(in, 0, SEEK_HOLE), 0, 0);
	EXPECT(lseek(in, 0, 5), -1, EINVAL);
	EXPECT(lseek(in, 0, -1), -1, EINVAL);
	EXPECT(lseek64(in, 1, SEEK_CUR), 0, 0);
	EXPECT(pread(in, b, 1, 0), -1, ESPIPE);
	EXPECT(preadv(in, &iov, 1, 0), -1, ESPIPE);
	EXPECT(preadv2(in, &iov, 1, 0, 0), -1, ESPIPE);
	expect_untouched();
}

Test(instance_calls, fdopen_for_writing_is_einval)
{
	static const char *const modes[] = { "w", "a", "r+", "w+", "a+" };

	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
		int d = dup(in);
		FILE *f;

		cr_assert_geq(d, 0);
		errno = 0;
		f = fdopen(d, modes[i]);
		cr_expect_null(f, "fdopen \"%s\" made a stream", modes[i]);
		cr_expect_eq(errno, EINVAL, "fdopen \"%s\": %s", modes[i], strerror(errno));
		if (f)
			fclose(f);
		else
			close(d);
	}
	expect_untouched();
}
