/*
 * sharing.c - see sharing.h.
 *
 * The files are read a line at a time through a fixed buffer (no stdio,
 * no allocation); a line longer than the buffer is skipped, and so is any
 * line that does not parse: what cannot be read proves no membership.
 */
#include "sharing.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "../util/real.h"

static bool has_xattr(int fd, const char *name)
{
	return fgetxattr(fd, name, NULL, 0) >= 0 || errno == ERANGE || errno == E2BIG;
}

bool sharing_has_acl(int fd)
{
	int e = errno;
	bool acl = has_xattr(fd, "system.posix_acl_access") ||
		   has_xattr(fd, "system.posix_acl_default");

	errno = e;
	return acl;
}

/* Call line(arg, fields, n) for each line of path split at ':' (at most 8
 * fields); stop when it returns true, and return that. */
static bool each_line(const char *path, bool (*line)(void *arg, char **f, int n), void *arg)
{
	char buf[8192];
	size_t have = 0;
	bool found = false, skipping = false;
	int fd = real_open(path, O_RDONLY | O_CLOEXEC, 0);

	if (fd < 0)
		return false;
	while (!found) {
		ssize_t r = real_read(fd, buf + have, sizeof buf - 1 - have);
		if (r <= 0)
			break;
		have += (size_t)r;
		char *start = buf, *nl;
		while (!found && (nl = memchr(start, '\n', have - (size_t)(start - buf)))) {
			char *f[8];
			int n = 0;
			*nl = 0;
			if (!skipping) {
				char *cur = start, *t;
				while (n < 8 && (t = strsep(&cur, ":")))
					f[n++] = t;
				found = line(arg, f, n);
			}
			skipping = false;
			start = nl + 1;
		}
		have -= (size_t)(start - buf);
		memmove(buf, start, have);
		if (have == sizeof buf - 1) {	/* a line too long: skip it */
			have = 0;
			skipping = true;
		}
	}
	real_close(fd);
	return found;
}

struct who {
	uid_t uid;
	gid_t gid;
	bool primary;
	char name[256];
};

static bool parse_id(const char *s, unsigned long *v)
{
	char *end;

	if (!*s)
		return false;
	*v = strtoul(s, &end, 10);
	return *end == 0;
}

/* name:passwd:uid:gid:... */
static bool passwd_line(void *arg, char **f, int n)
{
	struct who *w = arg;
	unsigned long uid, gid;

	if (n < 4 || !parse_id(f[2], &uid) || !parse_id(f[3], &gid) || uid != w->uid ||
	    strlen(f[0]) >= sizeof w->name)
		return false;
	strcpy(w->name, f[0]);
	w->primary = gid == w->gid;
	return true;
}

/* name:passwd:gid:member,member,... */
static bool group_line(void *arg, char **f, int n)
{
	struct who *w = arg;
	unsigned long gid;
	char *m = n >= 4 ? f[3] : NULL, *t;

	if (n < 4 || !parse_id(f[2], &gid) || gid != w->gid)
		return false;
	while ((t = strsep(&m, ",")))
		if (!strcmp(t, w->name))
			return true;
	return false;
}

bool sharing_owner_is_member(uid_t owner, gid_t gid)
{
	struct who w = { .uid = owner, .gid = gid };
	int e = errno;
	bool member;

	if (owner == 0 || owner == geteuid())
		return true;
	member = each_line("/etc/passwd", passwd_line, &w) &&
		 (w.primary || each_line("/etc/group", group_line, &w));
	errno = e;
	return member;
}
