/*
 * snapshot.c - see snapshot.h.
 *
 * A directory is read through a fresh fd (openat(fd, ".", O_RDONLY |
 * O_DIRECTORY)) with getdents64 and each entry is looked at with statx
 * relative to it: no path is built, so a watched directory moved since it
 * was found is still the one read (the kernel's watch follows the inode
 * too).  The entries are sorted once at the end.
 */
#include "snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define STATX_WANTED (STATX_TYPE | STATX_MODE | STATX_NLINK | STATX_UID | \
		      STATX_GID | STATX_INO | STATX_SIZE | STATX_MTIME | \
		      STATX_CTIME | STATX_BTIME)

static int64_t ns(const struct statx_timestamp *t)
{
	return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

int scan_stat(int dirfd, const char *name, struct scan_attr *out)
{
	struct statx sx;
	int flags = AT_SYMLINK_NOFOLLOW | AT_STATX_SYNC_AS_STAT;

	if (!name[0])
		flags |= AT_EMPTY_PATH;
	if (statx(dirfd, name, flags, STATX_WANTED, &sx) < 0)
		return -errno;
	*out = (struct scan_attr){
		.dev = makedev(sx.stx_dev_major, sx.stx_dev_minor),
		.ino = sx.stx_ino,
		.btime = (sx.stx_mask & STATX_BTIME) ? (uint64_t)ns(&sx.stx_btime) : 0,
		.mode = sx.stx_mode,
		.nlink = sx.stx_nlink,
		.uid = sx.stx_uid,
		.gid = sx.stx_gid,
		.size = sx.stx_size,
		.mtime = ns(&sx.stx_mtime),
		.ctime = ns(&sx.stx_ctime),
	};
	return 0;
}

static int push(struct scan_snap *s, const char *name, const struct scan_attr *a)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 16;
		struct scan_entry *e = realloc(s->e, cap * sizeof *e);
		if (!e)
			return -ENOMEM;
		s->e = e;
		s->cap = cap;
	}
	s->e[s->n].name = strdup(name);
	if (!s->e[s->n].name)
		return -ENOMEM;
	s->e[s->n].a = *a;
	s->e[s->n].flags = 0;
	s->n++;
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct scan_entry *)a)->name,
		      ((const struct scan_entry *)b)->name);
}

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

static int read_entries(int dfd, struct scan_snap *out)
{
	char buf[32768] __attribute__((aligned(8)));
	long n;

	while ((n = syscall(SYS_getdents64, dfd, buf, sizeof buf)) > 0) {
		for (long off = 0; off < n;) {
			struct linux_dirent64 *de = (void *)(buf + off);
			struct scan_attr a;
			const char *name = de->d_name;
			off += de->d_reclen;
			if (name[0] == '.' && (!name[1] || (name[1] == '.' && !name[2])))
				continue;
			if (scan_stat(dfd, name, &a) < 0)
				continue;	/* gone since: as if read later */
			if (push(out, name, &a) < 0)
				return -ENOMEM;
		}
	}
	return n < 0 ? -errno : 0;
}

int scan_snap_dir(int fd, struct scan_snap *out)
{
	int dfd, ret;

	*out = (struct scan_snap){ 0 };
	ret = scan_stat(fd, "", &out->self);
	if (ret < 0)
		return ret;
	dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	ret = read_entries(dfd, out);
	close(dfd);
	if (ret < 0) {
		scan_snap_free(out);
		return ret;
	}
	if (out->n > 1)
		qsort(out->e, out->n, sizeof *out->e, by_name);
	out->present = true;
	return 0;
}

int scan_snap_self(int fd, struct scan_snap *out)
{
	int ret;

	*out = (struct scan_snap){ 0 };
	ret = scan_stat(fd, "", &out->self);
	if (ret == 0)
		out->present = true;
	return ret;
}

int scan_snap_add(struct scan_snap *s, const char *name, const struct scan_attr *a)
{
	size_t i = s->n;
	int ret = push(s, name, a);

	if (ret < 0)
		return ret;
	/* insertion: tests add a handful */
	while (i > 0 && strcmp(s->e[i - 1].name, name) > 0) {
		struct scan_entry t = s->e[i - 1];
		s->e[i - 1] = s->e[i];
		s->e[i] = t;
		i--;
	}
	return 0;
}

struct scan_entry *scan_snap_find(const struct scan_snap *s, const char *name)
{
	struct scan_entry key = { .name = (char *)name };

	if (!s->n)
		return NULL;
	return bsearch(&key, s->e, s->n, sizeof *s->e, by_name);
}

void scan_snap_free(struct scan_snap *s)
{
	for (size_t i = 0; !s->lent && i < s->n; i++)
		free(s->e[i].name);
	s->lent = false;
	free(s->e);
	s->e = NULL;
	s->n = s->cap = 0;
}
