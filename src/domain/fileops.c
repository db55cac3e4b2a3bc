/*
 * fileops.c - the files of the domain, always reached through the directory
 * checked at domain_open (domain.h), and the rule of domain.c applied to
 * each of them.
 */
#include "domain.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../util/real.h"
#include "sharing.h"

int domain_dir_open(const struct domain *d)
{
	struct stat st;
	int fd = real_open(d->dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || st.st_dev != d->dir_dev || st.st_ino != d->dir_ino) {
		real_close(fd);
		return -ESTALE;
	}
	return fd;
}

/* Is the directory at d->dir still the one checked at domain_open?  By
 * path, without an fd. */
static bool dir_still_ours(const struct domain *d)
{
	struct stat st;

	return lstat(d->dir, &st) == 0 && S_ISDIR(st.st_mode) && st.st_dev == d->dir_dev &&
	       st.st_ino == d->dir_ino;
}

/* With one fd left (RLIMIT_NOFILE nearly reached: issue 12), the file is
 * opened by its path instead of through a directory fd, between two checks
 * of the directory's identity, and the file must be on its device.  A
 * same-user process could swap the directory between those checks; it
 * could ptrace us as well. */
static int openat_one_fd(const struct domain *d, const char *name, int flags, mode_t mode)
{
	char path[PATH_MAX];
	struct stat st;
	int fd, e;

	if (strchr(name, '/') ||
	    snprintf(path, sizeof path, "%s/%s", d->dir, name) >= (int)sizeof path)
		return -ENAMETOOLONG;
	if (!dir_still_ours(d))
		return -ESTALE;
	fd = real_open(path, flags | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		e = errno;
		real_close(fd);
		return -e;
	}
	if (st.st_dev != d->dir_dev || !dir_still_ours(d)) {
		real_close(fd);
		return -ESTALE;
	}
	return fd;
}

int domain_openat(const struct domain *d, const char *name, int flags, mode_t mode)
{
	int dfd = domain_dir_open(d), fd, e;

	if (dfd == -EMFILE || dfd == -ENFILE)
		return openat_one_fd(d, name, flags, mode);
	if (dfd < 0)
		return dfd;
	fd = real_openat(dfd, name, flags | O_NOFOLLOW | O_CLOEXEC, mode);
	e = errno;
	real_close(dfd);
	if (fd < 0 && (e == EMFILE || e == ENFILE))
		return openat_one_fd(d, name, flags, mode);
	return fd < 0 ? -e : fd;
}

int domain_unlinkat(const struct domain *d, const char *name)
{
	int dfd = domain_dir_open(d), ret, e;

	if (dfd < 0)
		return dfd;
	ret = real_unlinkat(dfd, name, 0);
	e = errno;
	real_close(dfd);
	return ret < 0 ? -e : 0;
}

int domain_renameat(const struct domain *d, const char *from, const char *to)
{
	int dfd = domain_dir_open(d), ret, e;

	if (dfd < 0)
		return dfd;
	ret = real_renameat(dfd, from, dfd, to);
	e = errno;
	real_close(dfd);
	return ret < 0 ? -e : 0;
}

const char *domain_file_refused(const struct domain *d, int fd, const struct stat *st,
				char *why, size_t len)
{
	if (d->shared && sharing_has_acl(fd))
		snprintf(why, len, "it carries a POSIX ACL");
	else if (!d->shared && st->st_uid != geteuid())
		snprintf(why, len, "it belongs to uid %u", (unsigned)st->st_uid);
	else if (!d->shared && (st->st_mode & 077))
		snprintf(why, len, "it is open to others (mode %o)",
			 (unsigned)(st->st_mode & 0777));
	else if (d->shared && st->st_gid != d->gid)
		snprintf(why, len, "its group is %u, not the domain's %u",
			 (unsigned)st->st_gid, (unsigned)d->gid);
	else if (d->shared && (st->st_mode & 07))
		snprintf(why, len, "it is open to others (mode %o)",
			 (unsigned)(st->st_mode & 0777));
	else if (st->st_mode & (S_ISUID | S_ISGID))
		snprintf(why, len, "it is set-id (mode %o)", (unsigned)(st->st_mode & 07777));
	else
		return NULL;
	return why;
}

int domain_file_share(const struct domain *d, int fd)
{
	struct stat st;

	if (d->shared) {
		if (fstat(fd, &st) < 0)
			return -errno;
		if (st.st_gid != d->gid && real_fchown(fd, (uid_t)-1, d->gid) < 0)
			return -errno;
	}
	return real_fchmod(fd, d->shared ? 0660 : 0600) < 0 ? -errno : 0;
}
