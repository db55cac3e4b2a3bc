/*
 * helpers.c - see helpers.h.
 */
#include "helpers.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static char scratch[PATH_MAX];
static char previous[PATH_MAX];

const char *scratch_enter(void)
{
	const char *base = getenv("TMPDIR");

	snprintf(scratch, sizeof scratch, "%s/inotify-shim-scratch.XXXXXX",
		 base && *base ? base : "/tmp");
	if (!mkdtemp(scratch))
		abort();
	if (!getcwd(previous, sizeof previous) || chdir(scratch) < 0)
		abort();
	return scratch;
}

void scratch_leave(void)
{
	char cmd[PATH_MAX + 32];

	if (!scratch[0])
		return;
	if (chdir(previous) < 0 && chdir("/") < 0)
		abort();
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", scratch);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", scratch);
	scratch[0] = 0;
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

bool wait_readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int r;

	do
		r = poll(&p, 1, ms);
	while (r < 0 && errno == EINTR);
	return r > 0 && (p.revents & POLLIN);
}

int read_events(int fd, struct ev *out, int max)
{
	char buf[65536] __attribute__((aligned(8)));
	int n = 0;

	while (n < max && wait_readable(fd, 0)) {
		ssize_t got = read(fd, buf, sizeof buf);
		if (got <= 0)
			break;
		for (char *p = buf; p < buf + got && n < max;) {
			struct inotify_event *e = (struct inotify_event *)p;
			out[n].wd = e->wd;
			out[n].mask = e->mask;
			out[n].cookie = e->cookie;
			out[n].len = e->len;
			snprintf(out[n].name, sizeof out[n].name, "%s", e->len ? e->name : "");
			n++;
			p += sizeof *e + e->len;
		}
	}
	return n;
}

int wait_events(int fd, struct ev *out, int max, int n, int ms)
{
	long deadline = now_ms() + ms;
	int got = 0;

	while (got < n && got < max) {
		long left = deadline - now_ms();
		if (left <= 0 || !wait_readable(fd, (int)left))
			break;
		got += read_events(fd, out + got, max - got);
	}
	return got;
}

bool wait_until(bool (*pred)(void *arg), void *arg, int ms)
{
	long deadline = now_ms() + ms;
	struct timespec tick = { 0, 1000000 };

	for (;;) {
		if (pred(arg))
			return true;
		if (now_ms() >= deadline)
			return false;
		nanosleep(&tick, NULL);
	}
}

pid_t start_program(char *const argv[], int stdout_fd)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int r;

	posix_spawn_file_actions_init(&fa);
	if (stdout_fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, stdout_fd, 1);
	r = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	return r == 0 ? pid : -1;
}

int run_program(char *const argv[])
{
	pid_t pid = start_program(argv, -1);
	int st;

	if (pid < 0)
		return -1;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

void path_printf(char *dst, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(dst, size, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size) {
		fprintf(stderr, "path_printf: \"%s\" does not fit in %zu bytes\n", fmt, size);
		abort();
	}
}

int run_shell(const char *cmd)
{
	char *argv[] = { "sh", "-c", (char *)cmd, NULL };
	return run_program(argv);
}

int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		struct stat st;
		int fd = atoi(e->d_name);
		if (e->d_name[0] == '.')
			continue;
		/* not a leak: the FIFO fds a writer keeps for its next wakes
		 * of an instance it does not hold (core/slots.c), at 900 and up */
		if (fd >= 900 && fd != dirfd(d) && fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode))
			continue;
		n++;
	}
	closedir(d);
	return n - 1;	/* the directory's own fd */
}

const char *mask_name(uint32_t mask)
{
	static const struct { uint32_t bit; const char *name; } bits[] = {
		{ IN_ACCESS, "IN_ACCESS" }, { IN_MODIFY, "IN_MODIFY" },
		{ IN_ATTRIB, "IN_ATTRIB" }, { IN_CLOSE_WRITE, "IN_CLOSE_WRITE" },
		{ IN_CLOSE_NOWRITE, "IN_CLOSE_NOWRITE" }, { IN_OPEN, "IN_OPEN" },
		{ IN_MOVED_FROM, "IN_MOVED_FROM" }, { IN_MOVED_TO, "IN_MOVED_TO" },
		{ IN_CREATE, "IN_CREATE" }, { IN_DELETE, "IN_DELETE" },
		{ IN_DELETE_SELF, "IN_DELETE_SELF" }, { IN_MOVE_SELF, "IN_MOVE_SELF" },
		{ IN_Q_OVERFLOW, "IN_Q_OVERFLOW" }, { IN_IGNORED, "IN_IGNORED" },
		{ IN_ISDIR, "IN_ISDIR" },
	};
	static __thread char buf[256];

	buf[0] = 0;
	for (size_t i = 0; i < sizeof bits / sizeof bits[0]; i++)
		if (mask & bits[i].bit) {
			if (buf[0])
				strcat(buf, "|");
			strcat(buf, bits[i].name);
		}
	if (!buf[0])
		snprintf(buf, sizeof buf, "0x%x", mask);
	return buf;
}
