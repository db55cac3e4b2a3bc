/*
 * log.c - see log.h.  Formatting uses vsnprintf into a stack buffer, which
 * glibc implements without locks or allocation for these formats.
 *
 * Quiet: nothing reaches the host's streams unless debugging is on.  The
 * one exception is a value of INOTIFY_SHIM_DEBUG that does not parse
 * (neither empty, nor a decimal number): that is said once, by
 * shim_log_init() in the constructor of each process, since whoever set
 * it asked for messages and would otherwise be left wondering.
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

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

void shim_log_init(void)
{
	const char *path = getenv("INOTIFY_SHIM_DEBUG_LOG");
	const char *dbg = getenv("INOTIFY_SHIM_DEBUG");
	bool bad_debug = false;

	debug_on = false;
	if (dbg && *dbg) {
		char *end;
		long v = strtol(dbg, &end, 10);
		if (*end == 0 && v >= 0)
			debug_on = v != 0;
		else
			bad_debug = true;
	}
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
	if (bad_debug)
		say("ignoring INOTIFY_SHIM_DEBUG=%.64s: not a number (0 is off, 1 is on)",
		    dbg);
}

bool shim_debug_enabled(void)
{
	return debug_on;
}

static char last[512];	/* the last message of shim_log, printed or not */

/* Format "inotify-shim[PID]: MESSAGE\n"; write it if print. */
static void vlog(bool print, const char *fmt, va_list ap)
{
	char buf[512];
	int saved = errno;
	int n = snprintf(buf, sizeof buf, "inotify-shim[%d]: ", (int)getpid());
	int m = vsnprintf(buf + n, sizeof buf - n - 1, fmt, ap);

	if (m < 0)
		m = 0;
	if ((size_t)(n + m) > sizeof buf - 2)
		m = (int)sizeof buf - 2 - n;
	memcpy(last, buf + n, (size_t)m);
	last[m] = 0;
	buf[n + m] = '\n';
	if (print && real_write(log_fd, buf, (size_t)(n + m + 1)) < 0) {
		/* nowhere left to report to */
	}
	errno = saved;
}

const char *shim_log_last(void)
{
	return last;
}

/* Unconditionally: only for the one message about INOTIFY_SHIM_DEBUG. */
static void say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(true, fmt, ap);
	va_end(ap);
}

/* Formatted even when not printed: the tools report the last one
 * themselves (shim_log_last).  Messages are rare: refusals, failures. */
void shim_log(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(debug_on, fmt, ap);
	va_end(ap);
}

void shim_debug(const char *fmt, ...)
{
	va_list ap;
	if (!debug_on)
		return;
	va_start(ap, fmt);
	vlog(true, fmt, ap);
	va_end(ap);
}
