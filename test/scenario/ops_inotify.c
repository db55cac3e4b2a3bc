/*
 * ops_inotify.c - the inotify calls of the language.  Each prints its
 * result as "LINE = RESULT" ("watch w d IN_CREATE = 1",
 * "rmwatch w = -1 EINVAL"), and the events it read below it, so that
 * what a program would see of the instance is all in the output.
 *
 * @J names the instance (I, made at the start, unless given); an instance
 * never made, or closed, is fd -1, and its calls fail as the kernel's do
 * on a bad fd.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "ops.h"

/* Enough for every event a read can return at once (the kernel queues
 * 16384 by default; a read takes what fits). */
static char events_buf[1 << 16] __attribute__((aligned(8)));

static int instance_fd(const struct step *s)
{
	return label_get(LABEL_INSTANCE, s->inst, -1);
}

/* "LINE = 3", or "LINE = -1 ENAME" when r < 0 (errno is the call's). */
static void say_result(const struct step *s, long r)
{
	if (r < 0)
		say("%s = -1 %s\n", s->text, errno_name(errno));
	else
		say("%s = %ld\n", s->text, r);
}

void op_init(const struct step *s)
{
	int flags = 0, fd;

	for (unsigned i = 1; i < s->nargs; i++)
		init_flag_parse(s->arg[i], &flags);
	fd = inotify_init1(flags);
	if (fd < 0)
		say_result(s, fd);
	label_set(LABEL_INSTANCE, s->arg[0], fd);
}

void op_closeinst(const struct step *s)
{
	if (close(instance_fd(s)) < 0)
		say_failed(s, "close", errno);
	label_set(LABEL_INSTANCE, s->inst, -1);
}

/* A label that names no watch keeps the one it had: the failed call made
 * none. */
void op_watch(const struct step *s)
{
	uint32_t mask;
	int wd;

	mask_parse(s->arg[2], &mask);
	wd = inotify_add_watch(instance_fd(s), s->arg[1], mask);
	say_result(s, wd);
	if (wd >= 0)
		label_set(LABEL_WATCH, s->arg[0], wd);
}

/* The argument is a watch's label, or a wd as a number; anything else is
 * wd -1. */
void op_rmwatch(const struct step *s)
{
	long wd = label_get(LABEL_WATCH, s->arg[0], -1);

	if (wd == -1 && number_parse(s->arg[0], 10, &wd))
		wd = -1;
	say_result(s, inotify_rm_watch(instance_fd(s), (int)wd));
}

void drain_print(const char *what, int fd, int quiet)
{
	unsigned events = 0, overflows = 0;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 0) <= 0 || !(p.revents & POLLIN))
			break;
		n = read(fd, events_buf, sizeof events_buf);
		if (n < 0 && errno != EAGAIN)
			say("  read %s\n", errno_name(errno));
		if (n <= 0)
			break;
		events += events_print(events_buf, (size_t)n, quiet, &overflows);
	}
	if (quiet)
		say("%s = %u events, %u overflow\n", what, events, overflows);
	else
		say("%s = %u events\n", what, events);
}

void op_drain(const struct step *s)
{
	drain_print(s->text, instance_fd(s), 0);
}

void op_drainq(const struct step *s)
{
	drain_print(s->text, instance_fd(s), 1);
}

/* One read(2) of SIZE bytes (at most the buffer's). */
void op_read(const struct step *s)
{
	long size = step_num(s, 0, 0);
	unsigned overflows = 0;
	ssize_t n;

	if (size < 0 || (size_t)size > sizeof events_buf)
		size = sizeof events_buf;
	n = read(instance_fd(s), events_buf, (size_t)size);
	say_result(s, n);
	if (n > 0)
		events_print(events_buf, (size_t)n, 0, &overflows);
}

void op_fionread(const struct step *s)
{
	int pending = 0;

	if (ioctl(instance_fd(s), FIONREAD, &pending) < 0)
		say_result(s, -1);
	else
		say_result(s, pending);
}

/* "poll 100 = 1 POLLIN": the count and the revents set. */
void op_poll(const struct step *s)
{
	static const struct { short bit; const char *name; } bits[] = {
		{ POLLIN, "POLLIN" }, { POLLPRI, "POLLPRI" }, { POLLOUT, "POLLOUT" },
		{ POLLERR, "POLLERR" }, { POLLHUP, "POLLHUP" }, { POLLNVAL, "POLLNVAL" },
	};
	struct pollfd p = { .fd = instance_fd(s), .events = POLLIN };
	int r = poll(&p, 1, (int)step_num(s, 0, 0));
	char set[64] = "";
	size_t used = 0;

	if (r < 0) {
		say_result(s, r);
		return;
	}
	for (size_t i = 0; i < sizeof bits / sizeof bits[0]; i++)
		if (p.revents & bits[i].bit)
			used += (size_t)snprintf(set + used, sizeof set - used, " %s",
						 bits[i].name);
	say("%s = %d%s\n", s->text, r, set);
}
