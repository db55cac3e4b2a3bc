/*
 * queue_rules.c - one instance's queue: an event identical to the unread
 * tail merges into it, others do not, nothing merges with IN_IGNORED; at
 * max_queued_events one IN_Q_OVERFLOW (wd -1) and nothing more until the
 * reader drains.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "child_run.h"
#include "helpers.h"

INSTANCE_SUITE(queue_rules, 0, .timeout = 30);

static int file_watched(uint32_t mask)
{
	int fd = open("f", O_CREAT | O_RDWR, 0644);

	cr_assert_geq(fd, 0);
	cr_assert_eq(inotify_add_watch(ifd, "f", mask), 1);
	return fd;
}

Test(queue_rules, identical_consecutive_events_merge)
{
	struct ev ev[8];
	int fd = file_watched(IN_MODIFY);
	int n = -1;

	for (int i = 0; i < 3; i++)
		cr_assert_eq(write(fd, "x", 1), 1);
	cr_assert_eq(ioctl(ifd, FIONREAD, &n), 0);
	cr_assert_eq(n, 16, "three IN_MODIFY are one event");
	cr_assert_eq(read_events(ifd, ev, 8), 1);
	cr_assert_eq(ev[0].mask, IN_MODIFY);
	close(fd);
}

Test(queue_rules, identical_events_with_names_merge)
{
	struct ev ev[8];

	cr_assert_eq(inotify_add_watch(ifd, ".", IN_MODIFY), 1);
	int fd = open("f", O_CREAT | O_RDWR, 0644);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "x", 1), 1);
	cr_assert_eq(write(fd, "y", 1), 1);
	cr_assert_eq(read_events(ifd, ev, 8), 1);
	cr_assert_str_eq(ev[0].name, "f");
	close(fd);
}

Test(queue_rules, different_events_do_not_merge)
{
	struct ev ev[8];
	int fd = file_watched(IN_MODIFY | IN_ATTRIB);

	cr_assert_eq(write(fd, "x", 1), 1);
	cr_assert_eq(write(fd, "x", 1), 1);
	cr_assert_eq(fchmod(fd, 0600), 0);
	cr_assert_eq(write(fd, "x", 1), 1);
	cr_assert_eq(read_events(ifd, ev, 8), 3);
	cr_assert_eq(ev[0].mask, IN_MODIFY);
	cr_assert_eq(ev[1].mask, IN_ATTRIB);
	cr_assert_eq(ev[2].mask, IN_MODIFY);
	close(fd);
}

Test(queue_rules, events_with_different_names_do_not_merge)
{
	struct ev ev[8];

	cr_assert_eq(inotify_add_watch(ifd, ".", IN_MODIFY), 1);
	int a = open("a", O_CREAT | O_RDWR, 0644), b = open("b", O_CREAT | O_RDWR, 0644);
	cr_assert_eq(write(a, "x", 1), 1);
	cr_assert_eq(write(b, "x", 1), 1);
	cr_assert_eq(write(a, "x", 1), 1);
	cr_assert_eq(read_events(ifd, ev, 8), 3);
	close(a);
	close(b);
}

Test(queue_rules, read_events_are_not_merged_into)
{
	struct ev ev[8];
	int fd = file_watched(IN_MODIFY);

	cr_assert_eq(write(fd, "x", 1), 1);
	cr_assert_eq(read_events(ifd, ev, 8), 1);
	cr_assert_eq(write(fd, "x", 1), 1);
	cr_assert_eq(read_events(ifd, ev, 8), 1, "the second IN_MODIFY was lost");
	close(fd);
}

Test(queue_rules, nothing_merges_with_ignored)
{
	struct ev ev[8];
	int fd = file_watched(IN_MODIFY);

	cr_assert_eq(write(fd, "x", 1), 1);
	cr_assert_eq(inotify_rm_watch(ifd, 1), 0);
	cr_assert_eq(inotify_add_watch(ifd, "f", IN_MODIFY | IN_IGNORED), 2);
	cr_assert_eq(inotify_rm_watch(ifd, 2), 0);
	cr_assert_eq(read_events(ifd, ev, 8), 3);
	cr_assert_eq(ev[0].mask, IN_MODIFY);
	cr_assert_eq(ev[1].mask, IN_IGNORED);
	cr_assert_eq(ev[2].mask, IN_IGNORED);
	cr_assert_eq(ev[2].wd, 2);
	close(fd);
}

/* limits_child overflow N: lines "WD MASK NAME", "--", then the rest. */
Test(queue_rules, overflow_queues_one_q_overflow_and_drops_until_drained)
{
	char out[16384], *line, *save;
	int before = 0, overflow = 0, after = 0, after_ok = 0, in_after = 0, last_overflow = 0;

	SHIM_ONLY("the limit is set by INOTIFY_SHIM_MAX_QUEUED_EVENTS; the kernel's is a sysctl");

	child_domain(dir);
	cr_assert_eq(child_run("INOTIFY_SHIM_MAX_QUEUED_EVENTS", "5", "overflow", "12", out,
			       sizeof out), 0, "%s", out);
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		int wd;
		unsigned mask;
		char name[64];

		if (!strcmp(line, "--")) {
			in_after = 1;
			continue;
		}
		cr_assert_eq(sscanf(line, "%d %u %63s", &wd, &mask, name), 3, "line %s", line);
		if (in_after) {
			after++;
			after_ok += wd == 1 && mask == IN_CREATE && !strcmp(name, "after");
			continue;
		}
		if (mask == IN_Q_OVERFLOW) {
			cr_assert_eq(wd, -1, "IN_Q_OVERFLOW with wd %d", wd);
			cr_assert_str_eq(name, "-", "IN_Q_OVERFLOW has no name");
			overflow++;
			last_overflow = before + overflow;
		} else {
			cr_assert_eq(mask, IN_CREATE);
			before++;
		}
	}
	cr_assert_eq(before, 5, "events before the overflow");
	cr_assert_eq(overflow, 1, "exactly one IN_Q_OVERFLOW");
	cr_assert_eq(last_overflow, 6, "the overflow comes last");
	cr_assert_eq(after, 1);
	cr_assert_eq(after_ok, 1, "an event after draining is delivered");
}
