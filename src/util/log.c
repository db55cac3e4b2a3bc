/*
 * log.c - see log.h.  Formatting uses vsnprintf into a stack buffer, which
 * glibc implements without locks or allocation for these formats.
 */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "real.h"

static int log_fd = 2;
static bool debug_on;

void shim_log_init(void)
{
	const char *path = getenv("INOTIFY_SHIM_DEBUG_LOG");
	const char *dbg = getenv("INOTIFY_SHIM_DEBUG");

	debug_on = dbg && *dbg && strcmp(dbg, "0") != 0;
	if (path && *path) {
		int fd = real_open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (fd >= 0) {
			/* Keep the log out of the way of the host's own fds. */
			int high = real_fcntl(fd, F_DUPFD_CLOEXEC, 900L);
			if (high >= 0) {
				real_close(fd);
				fd = high;
			}
			log_fd = fd;
			debug_on = true;
		}
	}
}

bool shim_debug_enabled(void)
{
	return debug_on;
}

static void vlog(const char *fmt, va_list ap)
{
	char buf[512];
	int saved = errno;
	int n = snprintf(buf, sizeof buf, "inotify-shim[%d]: ", (int)getpid());
	int m = vsnprintf(buf + n, sizeof buf - n - 1, fmt, ap);

	if (m < 0)
		m = 0;
	if ((size_t)(n + m) > sizeof buf - 2)
		m = (int)sizeof buf - 2 - n;
	buf[n + m] = '\n';
	if (real_write(log_fd, buf, (size_t)(n + m + 1)) < 0) {
		/* nowhere left to report to */
	}
	errno = saved;
}

void shim_log(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
}

void shim_debug(const char *fmt, ...)
{
	va_list ap;
	if (!debug_on)
		return;
	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
}
