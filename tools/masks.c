/*
 * masks.c - inotify masks by name: formatting for ps and watch, and the
 * event list of watch -e (inotifywait's names).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/inotify.h>

#include "cli.h"

#ifndef IN_MASK_CREATE
#define IN_MASK_CREATE 0x10000000
#endif

static const struct {
	uint32_t bit;
	const char *name;	/* without IN_ */
} bits[] = {
	{ IN_ACCESS, "ACCESS" },
	{ IN_MODIFY, "MODIFY" },
	{ IN_ATTRIB, "ATTRIB" },
	{ IN_CLOSE_WRITE, "CLOSE_WRITE" },
	{ IN_CLOSE_NOWRITE, "CLOSE_NOWRITE" },
	{ IN_OPEN, "OPEN" },
	{ IN_MOVED_FROM, "MOVED_FROM" },
	{ IN_MOVED_TO, "MOVED_TO" },
	{ IN_CREATE, "CREATE" },
	{ IN_DELETE, "DELETE" },
	{ IN_DELETE_SELF, "DELETE_SELF" },
	{ IN_MOVE_SELF, "MOVE_SELF" },
	{ IN_UNMOUNT, "UNMOUNT" },
	{ IN_Q_OVERFLOW, "Q_OVERFLOW" },
	{ IN_IGNORED, "IGNORED" },
	{ IN_ONLYDIR, "ONLYDIR" },
	{ IN_DONT_FOLLOW, "DONT_FOLLOW" },
	{ IN_EXCL_UNLINK, "EXCL_UNLINK" },
	{ IN_MASK_CREATE, "MASK_CREATE" },
	{ IN_MASK_ADD, "MASK_ADD" },
	{ IN_ISDIR, "ISDIR" },
	{ IN_ONESHOT, "ONESHOT" },
};

/* Names that stand for several bits, for -e only. */
static const struct {
	uint32_t mask;
	const char *name;
} groups[] = {
	{ IN_CLOSE, "CLOSE" },
	{ IN_MOVE, "MOVE" },
	{ IN_ALL_EVENTS, "ALL" },
	{ IN_ALL_EVENTS, "ALL_EVENTS" },
};

static const char *format(uint32_t mask, char *buf, size_t size,
			  const char *prefix, const char *sep)
{
	size_t len = 0;

	buf[0] = 0;
	if ((mask & IN_ALL_EVENTS) == IN_ALL_EVENTS) {
		len += snprintf(buf, size, "%sALL_EVENTS", prefix);
		mask &= ~(uint32_t)IN_ALL_EVENTS;
	}
	for (size_t i = 0; i < sizeof bits / sizeof bits[0]; i++) {
		if (!(mask & bits[i].bit))
			continue;
		mask &= ~bits[i].bit;
		len += snprintf(buf + len, len < size ? size - len : 0, "%s%s%s",
				len ? sep : "", prefix, bits[i].name);
	}
	if (mask || !len)
		len += snprintf(buf + len, len < size ? size - len : 0, "%s0x%x",
				len ? sep : "", mask);
	return buf;
}

const char *mask_format(uint32_t mask, char *buf, size_t size)
{
	return format(mask, buf, size, "IN_", "|");
}

const char *mask_format_short(uint32_t mask, char *buf, size_t size)
{
	return format(mask, buf, size, "", ",");
}

static int lookup(const char *name, uint32_t *mask)
{
	if (!strncasecmp(name, "IN_", 3))
		name += 3;
	for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++)
		if (!strcasecmp(name, groups[i].name)) {
			*mask |= groups[i].mask;
			return 0;
		}
	for (size_t i = 0; i < sizeof bits / sizeof bits[0]; i++)
		if ((bits[i].bit & IN_ALL_EVENTS) && !strcasecmp(name, bits[i].name)) {
			*mask |= bits[i].bit;
			return 0;
		}
	return -1;
}

int mask_parse_events(const char *list, uint32_t *mask, char *bad, size_t badsize)
{
	char name[64];
	const char *p = list;

	*mask = 0;
	for (;;) {
		size_t n = strcspn(p, ",");
		if (n == 0 || n >= sizeof name) {
			snprintf(bad, badsize, "%.*s", (int)n, p);
			return -1;
		}
		memcpy(name, p, n);
		name[n] = 0;
		if (lookup(name, mask) < 0) {
			snprintf(bad, badsize, "%s", name);
			return -1;
		}
		if (!p[n])
			return 0;
		p += n + 1;
	}
}
