/*
 * tool_helpers.c - see tool_helpers.h.
 */
#include "tool_helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

const char *tool_path(void)
{
	static char path[PATH_MAX];
	const char *b = getenv("INOTIFY_SHIM_TEST_BUILDDIR");

	snprintf(path, sizeof path, "%s/tools/inotify-shim", b ? b : ".");
	return path;
}

static char *command(const char *fmt, va_list ap)
{
	char *args, *cmd;

	if (vasprintf(&args, fmt, ap) < 0)
		abort();
	if (asprintf(&cmd, "'%s' %s", tool_path(), args) < 0)
		abort();
	free(args);
	return cmd;
}

int tool(const char *fmt, ...)
{
	va_list ap;
	char *cmd, *full;
	int ret;

	va_start(ap, fmt);
	cmd = command(fmt, ap);
	va_end(ap);
	if (asprintf(&full, "%s >out 2>err", cmd) < 0)
		abort();
	ret = run_shell(full);
	free(cmd);
	free(full);
	return ret;
}

pid_t tool_start(const char *out, const char *err, const char *fmt, ...)
{
	va_list ap;
	char *cmd, *full;
	pid_t pid;

	va_start(ap, fmt);
	cmd = command(fmt, ap);
	va_end(ap);
	if (asprintf(&full, "exec %s >'%s' 2>'%s'", cmd, out, err) < 0)
		abort();
	{
		char *argv[] = { "sh", "-c", full, NULL };
		pid = start_program(argv, -1);
	}
	free(cmd);
	free(full);
	return pid;
}

const char *slurp(const char *path)
{
	static char buf[1 << 16];
	ssize_t n = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	buf[0] = 0;
	if (fd < 0)
		return buf;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	return buf;
}

struct contains {
	const char *path, *needle;
};

static bool file_contains(void *arg)
{
	const struct contains *c = arg;
	return strstr(slurp(c->path), c->needle) != NULL;
}

bool wait_file_contains(const char *path, const char *needle, int ms)
{
	struct contains c = { path, needle };
	return wait_until(file_contains, &c, ms);
}

struct exited {
	pid_t pid;
	int status;
	bool done;
};

static bool has_exited(void *arg)
{
	struct exited *e = arg;
	pid_t r = waitpid(e->pid, &e->status, WNOHANG);
	if (r == e->pid || (r < 0 && errno != EINTR))
		e->done = r == e->pid;
	return r != 0 && !(r < 0 && errno == EINTR);
}

int wait_exit(pid_t pid, int ms)
{
	struct exited e = { pid, 0, false };

	if (!wait_until(has_exited, &e, ms)) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	return e.done && WIFEXITED(e.status) ? WEXITSTATUS(e.status) : -1;
}
