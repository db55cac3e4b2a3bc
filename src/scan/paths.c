/*
 * paths.c - see paths.h.
 *
 * The writer runs inside the preloaded library: it uses the real libc
 * functions only (util/real.h), so that it makes no event and enters no
 * hook.
 */
#include "paths.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../domain/domain.h"
#include "../util/real.h"

#define PAD(n) (((n) + 7) & ~(size_t)7)

/* Opened by its absolute path, in one system call, not through a fresh
 * fd on the directory (domain_openat, three more): the record is a hint,
 * which the scanner checks against the watched identity, and a directory
 * replaced since domain_open only means that this hint is lost. */
static int open_table(const struct domain *d)
{
	char why[128], path[PATH_MAX];
	struct stat st;
	int fd;

	if ((size_t)snprintf(path, sizeof path, "%s/" SCAN_PATHS_FILE, d->dir) >= sizeof path)
		return -ENAMETOOLONG;
	fd = real_open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK |
				     O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		real_close(fd);
		return -EINVAL;
	}
	if (st.st_size == 0 && st.st_uid == geteuid())
		domain_file_share(d, fd);	/* made now, or never written */
	else if (domain_file_refused(d, fd, &st, why, sizeof why)) {
		real_close(fd);
		return -EPERM;
	}
	return fd;
}

/* $INOTIFY_SHIM_SCAN, read once: set and not "0". */
static bool wanted(void)
{
	static int want = -1;	/* a benign race: every thread finds the same */
	int w = __atomic_load_n(&want, __ATOMIC_RELAXED);

	if (w < 0) {
		const char *v = getenv("INOTIFY_SHIM_SCAN");
		w = v && *v && strcmp(v, "0");
		__atomic_store_n(&want, w, __ATOMIC_RELAXED);
	}
	return w;
}

void scan_paths_note(const struct ident *id, const char *path)
{
	union {
		struct scan_path_rec rec;
		char bytes[sizeof(struct scan_path_rec) + PATH_MAX + 8];
	} buf;
	size_t dirlen = 0, len = strlen(path), total;
	int saved = errno, fd;

	if (!shim_domain || !len || !wanted())
		return;
	if (path[0] != '/') {
		if (!getcwd(buf.rec.path, PATH_MAX))
			goto out;
		dirlen = strlen(buf.rec.path);
		buf.rec.path[dirlen++] = '/';
	}
	if (dirlen + len >= PATH_MAX)
		goto out;
	memcpy(buf.rec.path + dirlen, path, len + 1);
	total = PAD(sizeof buf.rec + dirlen + len + 1);
	memset(buf.rec.path + dirlen + len + 1, 0, total - (sizeof buf.rec + dirlen + len + 1));
	buf.rec.magic = SCAN_PATHS_MAGIC;
	buf.rec.len = (uint32_t)total;
	buf.rec.id = *id;
	fd = open_table(shim_domain);
	if (fd >= 0) {
		(void)!real_write(fd, &buf, total);
		real_close(fd);
	}
out:
	errno = saved;
}

int scan_paths_read(int fd, off_t *off,
		    void (*fn)(void *ctx, const struct ident *id, const char *path),
		    void *ctx)
{
	static char buf[1 << 16] __attribute__((aligned(8)));
	int count = 0;

	for (;;) {
		ssize_t n = real_pread(fd, buf, sizeof buf, *off);
		size_t at = 0;
		if (n < 0)
			return -errno;
		while ((size_t)n - at >= sizeof(struct scan_path_rec)) {
			struct scan_path_rec *r = (void *)(buf + at);
			size_t plen;
			if (r->magic != SCAN_PATHS_MAGIC || r->len < sizeof *r + 8 ||
			    r->len % 8 || r->len > sizeof *r + PATH_MAX + 8)
				return count ? count : -EINVAL;	/* damaged: stop here */
			if (r->len > (size_t)n - at)
				break;
			plen = strnlen(r->path, r->len - sizeof *r);
			if (plen < r->len - sizeof *r) {
				fn(ctx, &r->id, r->path);
				count++;
			}
			at += r->len;
		}
		*off += (off_t)at;
		if (at == 0 || (size_t)n < sizeof buf)
			return count;
	}
}
