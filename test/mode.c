/*
 * mode.c - INOTIFY_SHIM_MODE / inotify_shim_configure(): "auto" asks the
 * kernel first and emulates where it cannot serve.  Under make check the
 * kernel's inotify is denied, so auto must fall back to the emulation; the
 * twins always emulate.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"
#include "inotify-shim.h"

TestSuite(mode, .init = scratch_setup, .fini = scratch_leave);

/* Is fd one of the emulation's instances (a FIFO of the domain)? */
static bool emulated(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode);
}

static void set_mode(enum inotify_shim_mode mode)
{
	struct inotify_shim_config c = { .mode = mode };
	cr_assert_eq(inotify_shim_configure(&c), 0, "configure: %s", strerror(errno));
}

Test(mode, auto_falls_back_to_the_emulation_where_the_kernel_denies_inotify)
{
	int fd;

	set_mode(INOTIFY_SHIM_MODE_AUTO);
	fd = inotify_init1(IN_NONBLOCK);
	cr_assert_geq(fd, 0, "inotify_init1: %s", strerror(errno));
	cr_assert(emulated(fd));
	cr_assert_gt(inotify_add_watch(fd, "/", IN_CREATE), 0);
	cr_assert_eq(inotify_rm_watch(fd, 1), 0);
	close(fd);
}

Test(mode, auto_keeps_the_kernels_error_for_bad_flags)
{
	set_mode(INOTIFY_SHIM_MODE_AUTO);
	cr_assert_eq(inotify_init1(12345), -1);
	cr_assert_eq(errno, EINVAL);
}

Test(mode, the_twins_always_emulate)
{
	int fd;

	set_mode(INOTIFY_SHIM_MODE_AUTO);
	fd = inotify_shim_init1(0);
	cr_assert_geq(fd, 0);
	cr_assert(emulated(fd));
	close(fd);
}

Test(mode, configure_refuses_an_unknown_mode)
{
	struct inotify_shim_config c = { .mode = (enum inotify_shim_mode)7 };

	cr_assert_eq(inotify_shim_configure(&c), -1);
	cr_assert_eq(errno, EINVAL);
}

Test(mode, version_function_matches_the_header)
{
	cr_assert_str_eq(inotify_shim_version(), INOTIFY_SHIM_VERSION);
}
