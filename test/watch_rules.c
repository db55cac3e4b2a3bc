/*
 * watch_rules.c - the kernel's rules for inotify_add_watch and
 * inotify_rm_watch: one watch per inode, mask replace and IN_MASK_ADD,
 * IN_MASK_CREATE, IN_ONLYDIR, IN_DONT_FOLLOW, IN_ONESHOT, IN_IGNORED, wd
 * allocation, the order of the errors, and the limits.  Expected values
 * were checked against this machine's kernel.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child_run.h"
#include "helpers.h"

INSTANCE_SUITE(watch_rules, 0, .timeout = 30);

static void expect_error(int ret, int err, const char *what)
{
	int e = errno;

	cr_assert_eq(ret, -1, "%s: returned %d, expected %s", what, ret, strerror(err));
	cr_assert_eq(e, err, "%s: %s, expected %s", what, strerror(e), strerror(err));
}

Test(watch_rules, same_inode_through_another_path_returns_same_wd)
{
	char abs[PATH_MAX];

	cr_assert_eq(mkdir("d", 0755), 0);
	snprintf(abs, sizeof abs, "%s/d", dir);
	cr_assert_eq(inotify_add_watch(ifd, "d", IN_CREATE), 1);
	cr_assert_eq(inotify_add_watch(ifd, "./d/", IN_CREATE), 1);
	cr_assert_eq(inotify_add_watch(ifd, abs, IN_CREATE), 1);
	cr_assert_eq(inotify_add_watch(ifd, "d/../d", IN_CREATE), 1);
}

Test(watch_rules, same_inode_through_hard_link_returns_same_wd)
{
	touch("a");
	cr_assert_eq(link("a", "b"), 0);
	cr_assert_eq(inotify_add_watch(ifd, "a", IN_ATTRIB), 1);
	cr_assert_eq(inotify_add_watch(ifd, "b", IN_ATTRIB), 1);
}

Test(watch_rules, same_inode_through_symlink_returns_same_wd)
{
	touch("a");
	cr_assert_eq(symlink("a", "sym"), 0);
	cr_assert_eq(inotify_add_watch(ifd, "a", IN_ATTRIB), 1);
	cr_assert_eq(inotify_add_watch(ifd, "sym", IN_ATTRIB), 1);
}

Test(watch_rules, second_add_replaces_the_mask)
{
	struct ev ev[4];

	cr_assert_eq(inotify_add_watch(ifd, ".", IN_CREATE), 1);
	cr_assert_eq(inotify_add_watch(ifd, ".", IN_DELETE), 1);
	touch("a");
	cr_assert_eq(read_events(ifd, ev, 4), 0, "IN_CREATE was replaced");
	cr_assert_eq(unlink("a"), 0);
	cr_assert_eq(read_events(ifd, ev, 4), 1);
	cr_assert_eq(ev[0].mask, IN_DELETE, "got %s", mask_name(ev[0].mask));
}

Test(watch_rules, mask_add_ors_into_the_mask)
{
	struct ev ev[4];

	cr_assert_eq(inotify_add_watch(ifd, ".", IN_CREATE), 1);
	cr_assert_eq(inotify_add_watch(ifd, ".", IN_DELETE | IN_MASK_ADD), 1);
	touch("a");
	cr_assert_eq(unlink("a"), 0);
	cr_assert_eq(read_events(ifd, ev, 4), 2);
	cr_assert_eq(ev[0].mask, IN_CREATE, "got %s", mask_name(ev[0].mask));
	cr_assert_eq(ev[1].mask, IN_DELETE, "got %s", mask_name(ev[1].mask));
}

Test(watch_rules, mask_create_on_an_existing_watch_is_eexist)
{
	cr_assert_eq(inotify_add_watch(ifd, ".", IN_CREATE | IN_MASK_CREATE), 1);
	expect_error(inotify_add_watch(ifd, ".", IN_DELETE | IN_MASK_CREATE), EEXIST,
		     "second IN_MASK_CREATE");
}

Test(watch_rules, mask_create_leaves_the_existing_mask_alone)
{
	struct ev ev[4];

	cr_assert_eq(inotify_add_watch(ifd, ".", IN_CREATE), 1);
	expect_error(inotify_add_watch(ifd, ".", IN_DELETE | IN_MASK_CREATE), EEXIST,
		     "IN_MASK_CREATE");
	touch("a");
	cr_assert_eq(unlink("a"), 0);
	cr_assert_eq(read_events(ifd, ev, 4), 1);
	cr_assert_eq(ev[0].mask, IN_CREATE, "got %s", mask_name(ev[0].mask));
}

Test(watch_rules, mask_create_with_mask_add_is_einval)
{
	expect_error(inotify_add_watch(ifd, ".", IN_CREATE | IN_MASK_ADD | IN_MASK_CREATE),
		     EINVAL, "IN_MASK_ADD|IN_MASK_CREATE");
}

Test(watch_rules, onlydir_on_a_file_is_enotdir)
{
	touch("a");
	expect_error(inotify_add_watch(ifd, "a", IN_ATTRIB | IN_ONLYDIR), ENOTDIR, "IN_ONLYDIR");
	cr_assert_eq(inotify_add_watch(ifd, ".", IN_ATTRIB | IN_ONLYDIR), 1);
}

Test(watch_rules, onlydir_follows_a_symlink_to_a_directory)
{
	cr_assert_eq(symlink(".", "dsym"), 0);
	cr_assert_eq(inotify_add_watch(ifd, "dsym", IN_CREATE | IN_ONLYDIR), 1);
	expect_error(inotify_add_watch(ifd, "dsym", IN_CREATE | IN_ONLYDIR | IN_DONT_FOLLOW),
		     ENOTDIR, "IN_ONLYDIR|IN_DONT_FOLLOW on a symlink");
}

Test(watch_rules, dont_follow_watches_the_symlink_itself)
{
	struct ev ev[4];
	int wd_file, wd_link;

	touch("a");
	cr_assert_eq(symlink("a", "sym"), 0);
	wd_file = inotify_add_watch(ifd, "a", IN_ATTRIB);
	wd_link = inotify_add_watch(ifd, "sym", IN_ATTRIB | IN_DONT_FOLLOW);
	cr_assert_eq(wd_file, 1);
	cr_assert_eq(wd_link, 2, "the link is an inode of its own");
	cr_assert_eq(chmod("a", 0600), 0);
	cr_assert_eq(read_events(ifd, ev, 4), 1);
	cr_assert_eq(ev[0].wd, wd_file, "the target's event went to wd %d", ev[0].wd);
}

Test(watch_rules, dont_follow_on_a_symlink_loop_is_not_eloop)
{
	cr_assert_eq(symlink("loop", "loop"), 0);
	expect_error(inotify_add_watch(ifd, "loop", IN_ATTRIB), ELOOP, "following a loop");
	cr_assert_eq(inotify_add_watch(ifd, "loop", IN_ATTRIB | IN_DONT_FOLLOW), 1);
}

Test(watch_rules, oneshot_gives_one_event_then_ignored)
{
	struct ev ev[8];

	cr_assert_eq(inotify_add_watch(ifd, ".", IN_CREATE | IN_ONESHOT), 1);
	touch("a");
	touch("b");
	cr_assert_eq(read_events(ifd, ev, 8), 2);
	cr_assert_eq(ev[0].mask, IN_CREATE, "got %s", mask_name(ev[0].mask));
	cr_assert_str_eq(ev[0].name, "a");
	cr_assert_eq(ev[1].mask, IN_IGNORED, "got %s", mask_name(ev[1].mask));
	cr_assert_eq(ev[1].wd, 1);
	expect_error(inotify_rm_watch(ifd, 1), EINVAL, "rm_watch of a spent oneshot");
}

Test(watch_rules, rm_watch_queues_ignored)
{
	struct ev ev[4];

	cr_assert_eq(inotify_add_watch(ifd, ".", IN_CREATE), 1);
	cr_assert_eq(inotify_rm_watch(ifd, 1), 0);
	cr_assert_eq(read_events(ifd, ev, 4), 1);
	cr_assert_eq(ev[0].wd, 1);
	cr_assert_eq(ev[0].mask, IN_IGNORED, "got %s", mask_name(ev[0].mask));
	cr_assert_eq(ev[0].len, 0);
	touch("a");
	cr_assert_eq(read_events(ifd, ev, 4), 0, "an event after rm_watch");
}

Test(watch_rules, second_rm_watch_is_einval)
{
	cr_assert_eq(inotify_add_watch(ifd, ".", IN_CREATE), 1);
	cr_assert_eq(inotify_rm_watch(ifd, 1), 0);
	expect_error(inotify_rm_watch(ifd, 1), EINVAL, "second rm_watch");
}

Test(watch_rules, rm_watch_of_an_unknown_wd_is_einval)
{
	expect_error(inotify_rm_watch(ifd, 1), EINVAL, "wd 1 never given");
	expect_error(inotify_rm_watch(ifd, -1), EINVAL, "wd -1");
	expect_error(inotify_rm_watch(ifd, 0), EINVAL, "wd 0");
}

Test(watch_rules, rm_watch_on_a_closed_fd_is_ebadf_and_on_another_fd_einval)
{
	int fd = open("f", O_CREAT | O_RDWR, 0644);

	cr_assert_geq(fd, 0);
	expect_error(inotify_rm_watch(-1, 1), EBADF, "fd -1");
	expect_error(inotify_rm_watch(fd, 1), EINVAL, "a regular file's fd");
	close(fd);
}

Test(watch_rules, wds_are_cyclic_from_one_and_not_reused)
{
	cr_assert_eq(mkdir("d1", 0755), 0);
	cr_assert_eq(mkdir("d2", 0755), 0);
	cr_assert_eq(mkdir("d3", 0755), 0);
	cr_assert_eq(inotify_add_watch(ifd, "d1", IN_CREATE), 1);
	cr_assert_eq(inotify_add_watch(ifd, "d2", IN_CREATE), 2);
	cr_assert_eq(inotify_rm_watch(ifd, 2), 0);
	cr_assert_eq(inotify_add_watch(ifd, "d3", IN_CREATE), 3, "wd 2 reused");
	cr_assert_eq(inotify_rm_watch(ifd, 1), 0);
	cr_assert_eq(inotify_add_watch(ifd, "d1", IN_CREATE), 4, "wd 1 reused");
	cr_assert_eq(inotify_add_watch(ifd, "d2", IN_CREATE), 5);
}

Test(watch_rules, wds_are_per_instance)
{
	int other = inotify_init1(IN_NONBLOCK);

	cr_assert_geq(other, 0);
	cr_assert_eq(inotify_add_watch(ifd, ".", IN_CREATE), 1);
	cr_assert_eq(inotify_add_watch(other, ".", IN_CREATE), 1);
	close(other);
}

Test(watch_rules, bad_mask_bits_are_einval_before_ebadf)
{
	expect_error(inotify_add_watch(-1, ".", 0), EINVAL, "empty mask, fd -1");
	expect_error(inotify_add_watch(-1, ".", IN_CREATE | 0x00400000), EINVAL,
		     "unknown bit, fd -1");
}

Test(watch_rules, closed_fd_is_ebadf_before_the_path_and_mask_flags)
{
	expect_error(inotify_add_watch(-1, "missing", IN_CREATE), EBADF, "fd -1, missing path");
	expect_error(inotify_add_watch(-1, ".", IN_CREATE | IN_MASK_ADD | IN_MASK_CREATE),
		     EBADF, "fd -1, IN_MASK_ADD|IN_MASK_CREATE");
}

Test(watch_rules, non_inotify_fd_is_einval_before_the_path)
{
	int fd = open("f", O_CREAT | O_RDWR, 0644);

	cr_assert_geq(fd, 0);
	expect_error(inotify_add_watch(fd, "missing", IN_CREATE), EINVAL, "regular file fd");
	close(fd);
}

Test(watch_rules, mask_add_with_mask_create_is_einval_before_the_path)
{
	expect_error(inotify_add_watch(ifd, "missing", IN_CREATE | IN_MASK_ADD | IN_MASK_CREATE),
		     EINVAL, "missing path");
}

Test(watch_rules, path_errors_are_the_lookups)
{
	touch("a");
	cr_assert_eq(symlink("loop", "loop"), 0);
	expect_error(inotify_add_watch(ifd, "missing", IN_CREATE), ENOENT, "missing");
	expect_error(inotify_add_watch(ifd, "", IN_CREATE), ENOENT, "empty path");
	expect_error(inotify_add_watch(ifd, "a/x", IN_CREATE), ENOTDIR, "through a file");
	expect_error(inotify_add_watch(ifd, "loop", IN_CREATE), ELOOP, "symlink loop");
}

Test(watch_rules, unreadable_path_is_eacces_for_a_user)
{
	pid_t pid;
	int st;

	cr_assert_eq(chmod(".", 0755), 0);
	touch("secret");
	cr_assert_eq(chmod("secret", 0), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int r;
		if (geteuid() == 0 && (setresgid(65534, 65534, 65534) < 0 ||
				       setresuid(65534, 65534, 65534) < 0))
			_exit(10);
		r = inotify_add_watch(ifd, "secret", IN_ATTRIB);
		_exit(r == -1 && errno == EACCES ? 0 : r == -1 ? 20 + errno % 100 : 2);
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st));
	cr_assert_neq(WEXITSTATUS(st), 10, "could not drop to uid 65534");
	cr_assert_eq(WEXITSTATUS(st), 0, "expected EACCES, child said %d", WEXITSTATUS(st));
}

static int count_lines(const char *out, const char *line)
{
	int n = 0;
	size_t l = strlen(line);

	for (const char *p = out; (p = strstr(p, line)); p += l)
		if (p == out || p[-1] == '\n')
			n++;
	return n;
}

Test(watch_rules, watches_beyond_max_user_watches_are_enospc)
{
	char out[4096], expect[32];

	SHIM_ONLY("the limit is set by INOTIFY_SHIM_MAX_USER_WATCHES; the kernel's is a sysctl");

	child_domain(dir);
	cr_assert_eq(child_run("INOTIFY_SHIM_MAX_USER_WATCHES", "3", "watches", "4", out,
			       sizeof out), 0, "%s", out);
	cr_assert_eq(count_lines(out, "-1 "), 1, "output:\n%s", out);
	snprintf(expect, sizeof expect, "1 0\n2 0\n3 0\n-1 %d\n", ENOSPC);
	cr_assert_str_eq(out, expect);
}

Test(watch_rules, instances_beyond_max_user_instances_are_emfile)
{
	char out[4096];
	int r[3], e[3];

	SHIM_ONLY("the limit is set by INOTIFY_SHIM_MAX_USER_INSTANCES; the kernel's is a sysctl");

	child_domain(dir);
	cr_assert_eq(child_run("INOTIFY_SHIM_MAX_USER_INSTANCES", "2", "instances", "3", out,
			       sizeof out), 0, "%s", out);
	cr_assert_eq(sscanf(out, "%d %d\n%d %d\n%d %d\n", &r[0], &e[0], &r[1], &e[1], &r[2],
			    &e[2]), 6, "output:\n%s", out);
	cr_assert(r[0] >= 0 && r[1] >= 0, "output:\n%s", out);
	cr_assert(r[2] == -1 && e[2] == EMFILE, "output:\n%s", out);
}
