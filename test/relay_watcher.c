/*
 * relay_watcher.c - a plain inotify watcher for test/relay.fuzz, run once
 * on the kernel (no shim) and once under the shim with the kernel's
 * inotify denied (test/noinotify), side by side: it watches DIR and each
 * FILE with IN_ALL_EVENTS, says "ready" on stderr, and prints every event
 * as "WATCH MASK COOKIE NAME" (the watch by its argument's position, the
 * cookie by its order of appearance: the two runs' numbers differ) until
 * 300 ms after it printed IN_CREATE of "end" in DIR or IN_IGNORED of its
 * every watch (an unmount: nothing more can come), so that an event told
 * twice shows, or 60 s passed (exit 1).
 * Not linked with the shim: the test preloads it.
 */
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#define MAXW 16

static const char *bits(uint32_t m, char *buf, size_t size)
{
	static const struct { uint32_t bit; const char *name; } names[] = {
		{ IN_ACCESS, "ACCESS" }, { IN_MODIFY, "MODIFY" }, { IN_ATTRIB, "ATTRIB" },
		{ IN_CLOSE_WRITE, "CLOSE_WRITE" }, { IN_CLOSE_NOWRITE, "CLOSE_NOWRITE" },
		{ IN_OPEN, "OPEN" }, { IN_MOVED_FROM, "MOVED_FROM" }, { IN_MOVED_TO, "MOVED_TO" },
		{ IN_CREATE, "CREATE" }, { IN_DELETE, "DELETE" }, { IN_DELETE_SELF, "DELETE_SELF" },
		{ IN_MOVE_SELF, "MOVE_SELF" }, { IN_UNMOUNT, "UNMOUNT" },
		{ IN_Q_OVERFLOW, "Q_OVERFLOW" }, { IN_IGNORED, "IGNORED" }, { IN_ISDIR, "ISDIR" },
	};
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (m & names[i].bit)
			n += (size_t)snprintf(buf + n, size - n, "%s%s", n ? "|" : "", names[i].name);
	return buf;
}

int main(int argc, char **argv)
{
	int fd = inotify_init1(IN_CLOEXEC), wds[MAXW], nw = 0, ignored = 0;
	uint32_t cookies[256];
	unsigned ncookies = 0;
	time_t end = time(NULL) + 60;
	int grace = -1;		/* ms left after "end", or -1 */

	if (argc < 2 || fd < 0)
		return perror("inotify_init1"), 2;
	for (int i = 1; i < argc && nw < MAXW; i++)
		if ((wds[nw++] = inotify_add_watch(fd, argv[i], IN_ALL_EVENTS)) < 0)
			return perror(argv[i]), 2;
	fprintf(stderr, "ready\n");
	while (time(NULL) < end) {
		char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t n;

		int r = poll(&p, 1, grace >= 0 ? grace : 1000);

		if (r == 0 && grace >= 0)
			return 0;
		if (r <= 0)
			continue;
		n = read(fd, buf, sizeof buf);
		for (char *q = buf; n > 0 && q < buf + n;) {
			struct inotify_event *e = (struct inotify_event *)q;
			char m[256];
			int w = 0;
			unsigned c = 0;

			for (int i = 0; i < nw; i++)
				if (wds[i] == e->wd)
					w = i + 1;
			if (e->cookie) {
				for (c = 0; c < ncookies && cookies[c] != e->cookie; c++)
					;
				if (c == ncookies && ncookies < 256)
					cookies[ncookies++] = e->cookie;
				c++;
			}
			printf("%d %s %u%s%s\n", w, bits(e->mask, m, sizeof m), c,
			       e->len ? " " : "", e->len ? e->name : "");
			fflush(stdout);
			if (w == 1 && (e->mask & IN_CREATE) && e->len && !strcmp(e->name, "end"))
				grace = 300;
			if (w && (e->mask & IN_IGNORED) && ++ignored == nw)
				grace = 300;
			q += sizeof *e + e->len;
		}
	}
	return 1;
}
