/*
 * names.c - the symbols a scenario writes and the runner prints: inotify's
 * mask bits, open(2)'s flags, inotify_init1's flags, errno names.  Each
 * table is the one place its names are spelled, for reading and printing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>

#include "scenario.h"

#ifndef IN_MASK_CREATE
#define IN_MASK_CREATE 0x10000000
#endif

struct name {
	const char *name;
	uint32_t value;
};

/* In the order of their bits, which is the order they are printed in. */
static const struct name mask_bits[] = {
	{ "IN_ACCESS", IN_ACCESS },
	{ "IN_MODIFY", IN_MODIFY },
	{ "IN_ATTRIB", IN_ATTRIB },
	{ "IN_CLOSE_WRITE", IN_CLOSE_WRITE },
	{ "IN_CLOSE_NOWRITE", IN_CLOSE_NOWRITE },
	{ "IN_OPEN", IN_OPEN },
	{ "IN_MOVED_FROM", IN_MOVED_FROM },
	{ "IN_MOVED_TO", IN_MOVED_TO },
	{ "IN_CREATE", IN_CREATE },
	{ "IN_DELETE", IN_DELETE },
	{ "IN_DELETE_SELF", IN_DELETE_SELF },
	{ "IN_MOVE_SELF", IN_MOVE_SELF },
	{ "IN_UNMOUNT", IN_UNMOUNT },
	{ "IN_Q_OVERFLOW", IN_Q_OVERFLOW },
	{ "IN_IGNORED", IN_IGNORED },
	{ "IN_ONLYDIR", IN_ONLYDIR },
	{ "IN_DONT_FOLLOW", IN_DONT_FOLLOW },
	{ "IN_EXCL_UNLINK", IN_EXCL_UNLINK },
	{ "IN_MASK_CREATE", IN_MASK_CREATE },
	{ "IN_MASK_ADD", IN_MASK_ADD },
	{ "IN_ISDIR", IN_ISDIR },
	{ "IN_ONESHOT", IN_ONESHOT },
	{ NULL, 0 }
};

/* Names for several bits: read, never printed. */
static const struct name mask_groups[] = {
	{ "IN_ALL_EVENTS", IN_ALL_EVENTS },
	{ "IN_CLOSE", IN_CLOSE },
	{ "IN_MOVE", IN_MOVE },
	{ NULL, 0 }
};

/* The access mode is a value, not a bit: rdonly is 0, and the last of
 * rdonly, wronly, rdwr written wins. */
#define ACCESS_MODE 0x80000000u
static const struct name open_flags[] = {
	{ "rdonly", ACCESS_MODE | O_RDONLY },
	{ "wronly", ACCESS_MODE | O_WRONLY },
	{ "rdwr", ACCESS_MODE | O_RDWR },
	{ "creat", O_CREAT },
	{ "excl", O_EXCL },
	{ "trunc", O_TRUNC },
	{ "append", O_APPEND },
	{ "nonblock", O_NONBLOCK },
	{ "directory", O_DIRECTORY },
	{ "nofollow", O_NOFOLLOW },
	{ "cloexec", O_CLOEXEC },
	{ "noatime", O_NOATIME },
	{ "sync", O_SYNC },
	{ "path", O_PATH },
	{ NULL, 0 }
};

static const struct name init_flags[] = {
	{ "nonblock", IN_NONBLOCK },
	{ "cloexec", IN_CLOEXEC },
	{ NULL, 0 }
};

static const struct name *lookup(const struct name *t, const char *s, size_t len)
{
	for (; t->name; t++)
		if (strlen(t->name) == len && !strncmp(t->name, s, len))
			return t;
	return NULL;
}

/* A whole decimal (base 10) or octal (base 8) number; base 0 takes C's
 * prefixes.  -1 if s is not one. */
int number_parse(const char *s, int base, long *value)
{
	char *end;

	if (!s || !*s)
		return -1;
	errno = 0;
	*value = strtol(s, &end, base);
	return errno || *end ? -1 : 0;
}

/* One word of a mask: a bit's name, a group's, or a number. */
static int mask_word(const char *w, size_t len, uint32_t *mask)
{
	const struct name *n = lookup(mask_bits, w, len);
	char num[32];
	long v;

	if (!n)
		n = lookup(mask_groups, w, len);
	if (n) {
		*mask |= n->value;
		return 0;
	}
	if (len >= sizeof num)
		return -1;
	memcpy(num, w, len);
	num[len] = '\0';
	if (number_parse(num, 0, &v) || v < 0 || v > (long)UINT32_MAX)
		return -1;
	*mask |= (uint32_t)v;
	return 0;
}

/* "IN_CREATE|IN_DELETE", "IN_ALL_EVENTS|0x100", "0". */
int mask_parse(const char *s, uint32_t *mask)
{
	*mask = 0;
	for (;;) {
		size_t len = strcspn(s, "|");

		if (!len || mask_word(s, len, mask))
			return -1;
		if (!s[len])
			return 0;
		s += len + 1;
	}
}

/* The bits by name, in bit order; what no name covers as one hex number
 * at the end; "0" for none. */
void mask_format(uint32_t mask, char *buf, size_t size)
{
	size_t used = 0;

	buf[0] = '\0';
	for (const struct name *n = mask_bits; n->name; n++) {
		if (!(mask & n->value))
			continue;
		used += snprintf(buf + used, used < size ? size - used : 0, "%s%s",
				 used ? "|" : "", n->name);
		mask &= ~n->value;
	}
	if (mask || !used)
		snprintf(buf + used, used < size ? size - used : 0, "%s%#x",
			 used ? "|" : "", mask);
}

/* "rdonly", "wronly|creat|trunc": the words of open_flags joined by |. */
int open_flags_parse(const char *s, int *flags)
{
	*flags = O_RDONLY;
	for (;;) {
		size_t len = strcspn(s, "|");
		const struct name *n = lookup(open_flags, s, len);

		if (!n)
			return -1;
		if (n->value & ACCESS_MODE)
			*flags = (*flags & ~O_ACCMODE) | (int)(n->value & ~ACCESS_MODE);
		else
			*flags |= (int)n->value;
		if (!s[len])
			return 0;
		s += len + 1;
	}
}

/* One word of init's flags: nonblock, cloexec, or a number (which may
 * carry bits inotify_init1 refuses: that is the point of writing one). */
int init_flag_parse(const char *s, int *flags)
{
	const struct name *n = lookup(init_flags, s, strlen(s));
	long v;

	if (n) {
		*flags |= (int)n->value;
		return 0;
	}
	if (number_parse(s, 0, &v))
		return -1;
	*flags |= (int)v;
	return 0;
}

/* "ENOENT"; "errno 1234" for a number the C library has no name for. */
const char *errno_name(int e)
{
	static char unnamed[32];
	const char *name = NULL;

#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
	name = strerrorname_np(e);
#endif
	if (name)
		return name;
	snprintf(unnamed, sizeof unnamed, "errno %d", e);
	return unnamed;
}
