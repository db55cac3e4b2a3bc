/*
 * unmount.c - a file system unmounted by a process under the shim: every
 * watch on it gets IN_UNMOUNT (with IN_ISDIR for a directory), then
 * IN_IGNORED, newest inode first, and its wd is gone (inotify_rm_watch:
 * EINVAL).  A file system still mounted elsewhere gives nothing until its
 * last mount goes.  Each test mounts a tmpfs in a mount namespace of its own
 * (Criterion runs every test in its own process), so it needs the right to
 * mount (root here): without it, the test is skipped and says so.
 *
 * Every expected sequence is the kernel's: test/kernel-check.sh runs this
 * file against the kernel's inotify (run as root).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "helpers.h"

static int ifd;

static void setup(void)
{
	instance_enter(&ifd);
}

static void teardown(void)
{
	close(ifd);
	umount2("mnt2", MNT_DETACH);
	umount2("mnt", MNT_DETACH);
	scratch_leave();
}

TestSuite(unmount, .init = setup, .fini = teardown);

/* A private mount namespace with a fresh tmpfs on ./mnt, or the test is
 * skipped. */
static void mount_tmpfs(const char *dir)
{
	static bool unshared;

	if (!unshared) {
		if (unshare(CLONE_NEWNS) != 0)
			cr_skip_test("cannot make a mount namespace (%s): "
				     "mounting needs root or a user namespace", strerror(errno));
		cr_assert_eq(mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL), 0,
			     "private mounts: %s", strerror(errno));
		unshared = true;
	}
	mkdir(dir, 0755);
	if (mount("shimtest", dir, "tmpfs", 0, "size=1m") != 0)
		cr_skip_test("cannot mount a tmpfs (%s)", strerror(errno));
}

static void expect(int fd, const int *wds, const uint32_t *masks, int n)
{
	struct ev ev[32];
	int got = wait_events(fd, ev, 32, n, 5000);

	if (got == n && wait_readable(fd, 50))
		got += read_events(fd, ev + got, 32 - got);
	for (int i = 0; i < n && i < got; i++) {
		cr_expect_eq(ev[i].wd, wds[i], "event %d: wd %d, wanted %d", i, ev[i].wd, wds[i]);
		cr_expect_eq(ev[i].mask, masks[i], "event %d: %s, wanted %s", i,
			     mask_name(ev[i].mask), mask_name(masks[i]));
		cr_expect_eq(ev[i].len, 0u, "event %d has a name", i);
	}
	cr_assert_eq(got, n, "got %d events, wanted %d", got, n);
}

static int watch(int fd, const char *path, uint32_t mask)
{
	int wd = inotify_add_watch(fd, path, mask);

	cr_assert_gt(wd, 0, "watch %s: %s", path, strerror(errno));
	return wd;
}

Test(unmount, every_watch_on_it_gets_in_unmount_then_in_ignored_newest_first)
{
	int root, a, d, b, outside;

	mount_tmpfs("mnt");
	close(creat("mnt/a", 0644));
	cr_assert_eq(mkdir("mnt/d", 0755), 0);
	close(creat("mnt/b", 0644));
	outside = watch(ifd, ".", IN_ALL_EVENTS);
	root = watch(ifd, "mnt", IN_ALL_EVENTS);
	b = watch(ifd, "mnt/b", IN_ALL_EVENTS);
	a = watch(ifd, "mnt/a", IN_MODIFY);	/* IN_UNMOUNT is given whatever the mask */
	d = watch(ifd, "mnt/d", IN_ALL_EVENTS);
	cr_assert_eq(umount("mnt"), 0, "umount: %s", strerror(errno));
	{
		int wds[] = { b, b, d, d, a, a, root, root };
		uint32_t masks[] = { IN_UNMOUNT, IN_IGNORED, IN_UNMOUNT | IN_ISDIR, IN_IGNORED,
				     IN_UNMOUNT, IN_IGNORED, IN_UNMOUNT | IN_ISDIR, IN_IGNORED };
		expect(ifd, wds, masks, 8);
	}
	errno = 0;
	cr_expect_eq(inotify_rm_watch(ifd, root), -1);
	cr_expect_eq(errno, EINVAL, "rm_watch of an unmounted watch: %s", strerror(errno));
	/* the watch on the mount point's own file system stays */
	cr_expect_eq(inotify_rm_watch(ifd, outside), 0, "%s", strerror(errno));
}

Test(unmount, every_instance_watching_it_is_told)
{
	int other = inotify_init1(IN_NONBLOCK);
	int mine, theirs;

	cr_assert_geq(other, 0);
	mount_tmpfs("mnt");
	close(creat("mnt/f", 0644));
	mine = watch(ifd, "mnt/f", IN_ALL_EVENTS);
	theirs = watch(other, "mnt/f", IN_ATTRIB);
	cr_assert_eq(umount2("mnt", 0), 0, "umount2: %s", strerror(errno));
	{
		int wds[] = { mine, mine };
		uint32_t masks[] = { IN_UNMOUNT, IN_IGNORED };
		expect(ifd, wds, masks, 2);
	}
	{
		int wds[] = { theirs, theirs };
		uint32_t masks[] = { IN_UNMOUNT, IN_IGNORED };
		expect(other, wds, masks, 2);
	}
	close(other);
}

Test(unmount, through_syscall_umount2)
{
	int wd;

	mount_tmpfs("mnt");
	wd = watch(ifd, "mnt", IN_CREATE);
	cr_assert_eq(syscall(SYS_umount2, "mnt", 0), 0, "%s", strerror(errno));
	{
		int wds[] = { wd, wd };
		uint32_t masks[] = { IN_UNMOUNT | IN_ISDIR, IN_IGNORED };
		expect(ifd, wds, masks, 2);
	}
}

Test(unmount, a_busy_file_system_that_stays_mounted_gives_nothing)
{
	int fd, wd;

	mount_tmpfs("mnt");
	close(creat("mnt/f", 0644));
	wd = watch(ifd, "mnt/f", IN_ALL_EVENTS);
	fd = open("mnt/f", O_RDONLY);
	cr_assert_geq(fd, 0);
	errno = 0;
	cr_assert_eq(umount("mnt"), -1);
	cr_assert_eq(errno, EBUSY, "%s", strerror(errno));
	close(fd);
	{
		int wds[] = { wd, wd };
		uint32_t masks[] = { IN_OPEN, IN_CLOSE_NOWRITE };
		expect(ifd, wds, masks, 2);
	}
}

Test(unmount, a_file_system_mounted_twice_is_reported_when_the_last_mount_goes)
{
	int wd;

	mount_tmpfs("mnt");
	mkdir("mnt2", 0755);
	cr_assert_eq(mount("mnt", "mnt2", "none", MS_BIND, NULL), 0, "bind: %s", strerror(errno));
	wd = watch(ifd, "mnt", IN_ALL_EVENTS);
	cr_assert_eq(umount("mnt"), 0, "%s", strerror(errno));
	cr_expect_not(wait_readable(ifd, 200), "an event while mnt2 still mounts it");
	cr_assert_eq(umount("mnt2"), 0, "%s", strerror(errno));
	{
		int wds[] = { wd, wd };
		uint32_t masks[] = { IN_UNMOUNT | IN_ISDIR, IN_IGNORED };
		expect(ifd, wds, masks, 2);
	}
}
