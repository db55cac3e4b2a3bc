/*
 * output.c - what the runner prints, normalised so that two inotify
 * implementations that behave alike print the same text: events by wd,
 * mask names, the name as bytes; cookies, which are arbitrary numbers,
 * become c1, c2 ... in the order they first appear in this process.
 *
 * Every line is flushed as it is made: the programs a scenario starts
 * (shell, spawn) write to the same stdout, and their lines must fall
 * between the runner's where they happened.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>

#include "scenario.h"

void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
}

/* "rm d/a: unlink ENOENT": the line, the call that failed, its errno. */
void say_failed(const struct step *s, const char *call, int err)
{
	say("%s: %s %s\n", s->text, call, errno_name(err));
}

static struct {
	uint32_t *v;
	unsigned n, cap;
} cookies;

/* The cookie's number in order of appearance, from 1. */
static unsigned cookie_number(uint32_t cookie)
{
	for (unsigned i = 0; i < cookies.n; i++)
		if (cookies.v[i] == cookie)
			return i + 1;
	if (cookies.n == cookies.cap) {
		unsigned cap = cookies.cap ? 2 * cookies.cap : 64;
		uint32_t *v = realloc(cookies.v, cap * sizeof *v);

		if (!v) {
			perror("runner: cookies");
			exit(2);
		}
		cookies.v = v;
		cookies.cap = cap;
	}
	cookies.v[cookies.n++] = cookie;
	return cookies.n;
}

/* The name up to its first NUL (the rest is padding), quoted, with every
 * byte that is not printable ASCII, and " and \, escaped. */
static void name_print(const char *name, uint32_t len)
{
	size_t n = strnlen(name, len);

	putchar('"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
			printf("\\x%02x", c);
		else
			putchar(c);
	}
	putchar('"');
}

/* "  wd=1 IN_MOVED_FROM cookie=c1 name="a" len=16" */
static void event_print(const struct inotify_event *ev, const char *name)
{
	char mask[256];

	mask_format(ev->mask, mask, sizeof mask);
	printf("  wd=%d %s", ev->wd, mask);
	if (ev->cookie)
		printf(" cookie=c%u", cookie_number(ev->cookie));
	if (ev->len) {
		printf(" name=");
		name_print(name, ev->len);
		printf(" len=%u", ev->len);
	}
	putchar('\n');
	fflush(stdout);
}

/* The events in buf[0..n), as read(2) returned them; quiet only counts.
 * A record cut short (which no inotify may return) is said, and ends the
 * buffer.  Returns the number of events; *overflows counts IN_Q_OVERFLOW. */
unsigned events_print(const char *buf, size_t n, int quiet, unsigned *overflows)
{
	unsigned count = 0;
	size_t at = 0;

	while (at < n) {
		struct inotify_event ev;

		if (n - at < sizeof ev) {
			say("  %zu bytes left over, short of an event\n", n - at);
			break;
		}
		memcpy(&ev, buf + at, sizeof ev);
		if (ev.len > n - at - sizeof ev) {
			say("  an event's name of %u bytes, past the %zu read\n", ev.len, n);
			break;
		}
		if (ev.mask & IN_Q_OVERFLOW)
			(*overflows)++;
		if (!quiet)
			event_print(&ev, buf + at + sizeof ev);
		count++;
		at += sizeof ev + ev.len;
	}
	return count;
}
