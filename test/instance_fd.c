/*
 * instance_fd.c - the emulated instance's fd behaves as the kernel's:
 * read sizes and errnos, FIONREAD, poll, fcntl, lseek, write.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"

static int ifd;

static void setup(void)
{
	scratch_enter();
	ifd = inotify_init1(IN_NONBLOCK);
	cr_assert_geq(ifd, 0, "inotify_init1: %s", strerror(errno));
}

static void teardown(void)
{
	close(ifd);
	scratch_leave();
}

TestSuite(instance_fd, .init = setup, .fini = teardown);

Test(instance_fd, read_of_empty_nonblocking_instance_is_eagain)
{
	char buf[256];

	cr_assert_eq(read(ifd, buf, sizeof buf), -1);
	cr_assert_eq(errno, EAGAIN);
}

Test(instance_fd, event_from_mkdir_is_readable_with_its_name)
{
	struct ev ev[4];

	cr_assert_gt(inotify_add_watch(ifd, ".", IN_CREATE), 0);
	cr_assert_eq(mkdir("sub", 0755), 0);
	cr_assert_eq(wait_events(ifd, ev, 4, 1, 5000), 1);
	cr_assert_eq(ev[0].mask, IN_CREATE | IN_ISDIR, "got %s", mask_name(ev[0].mask));
	cr_assert_str_eq(ev[0].name, "sub");
	cr_assert_eq(ev[0].len, 16);
}
