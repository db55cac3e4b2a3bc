/*
 * fdinfo.c - see fdinfo.h.
 */
#include "fdinfo.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "../core/core.h"
#include "../util/real.h"

#ifndef AT_HANDLE_FID
#define AT_HANDLE_FID 0x200	/* Linux 6.5: the handle fdinfo shows */
#endif
#define HANDLE_MAX 128		/* MAX_HANDLE_SZ */

/* One slot of the domain's "handles" file, at the watch record's index. */
struct fh_slot {
	struct ident id;	/* the inode it is the handle of */
	uint32_t bytes;		/* 0: none */
	int32_t type;
	unsigned char h[HANDLE_MAX];
};

void fdinfo_note_handle(struct slot_ref ref, int wd, const char *path, uint32_t mask)
{
	struct {
		struct file_handle fh;
		unsigned char h[HANDLE_MAX];
	} buf;
	struct fh_slot s;
	uint32_t widx = 0;
	int follow = (mask & IN_DONT_FOLLOW) ? 0 : AT_SYMLINK_FOLLOW;
	int mnt, fd;

	if (!core_attached() || wd <= 0)
		return;
	memset(&s, 0, sizeof s);
	buf.fh.handle_bytes = HANDLE_MAX;
	if (name_to_handle_at(AT_FDCWD, path, &buf.fh, &mnt, follow | AT_HANDLE_FID) < 0) {
		buf.fh.handle_bytes = HANDLE_MAX;
		if (errno != EINVAL ||
		    name_to_handle_at(AT_FDCWD, path, &buf.fh, &mnt, follow) < 0)
			buf.fh.handle_bytes = 0;	/* none: the line says none */
	}
	if (buf.fh.handle_bytes > HANDLE_MAX)
		buf.fh.handle_bytes = 0;
	s.bytes = buf.fh.handle_bytes;
	s.type = buf.fh.handle_type;
	memcpy(s.h, buf.fh.f_handle, s.bytes);
	widx = core_watch_ident(ref, wd, &s.id);
	if (!widx || (fd = core_handles_open(true)) < 0)
		return;
	/* on failure, no handle to show: the line says none */
	(void)!real_pwrite(fd, &s, sizeof s, (off_t)widx * (off_t)sizeof s);
	real_close(fd);
}

/* ---- which fd of which process a path names */

static bool digits(const char **p, long *out)
{
	char *end;

	if (**p < '0' || **p > '9')
		return false;
	*out = strtol(*p, &end, 10);
	*p = end;
	return true;
}

static bool skip(const char **p, const char *word)
{
	size_t n = strlen(word);

	if (strncmp(*p, word, n))
		return false;
	*p += n;
	return true;
}

/* /proc/{self,thread-self,PID}[/task/TID]/fdinfo/N: *pid (0 for this
 * process) and *fd. */
static bool parse(const char *path, long *pid, long *fd)
{
	const char *p = path + 6;	/* "/proc/" */
	long tid;

	if (skip(&p, "self/") || skip(&p, "thread-self/"))
		*pid = 0;
	else if (!digits(&p, pid) || !skip(&p, "/"))
		return false;
	if (skip(&p, "task/") && (!digits(&p, &tid) || !skip(&p, "/")))
		return false;
	return skip(&p, "fdinfo/") && digits(&p, fd) && !*p && *fd >= 0 && *fd < INT32_MAX;
}

/* The instance that pid (0: this process) holds at fd. */
static bool find(long pid, long fd, struct slot_ref *ref)
{
	if (pid == 0 || pid == getpid() || pid == gettid())
		return fdtable_instance((int)fd, ref);
	return core_find_holder(pid, fd, ref);
}

/* ---- the text */

struct text {
	char *s;
	size_t len, cap;
};

static void add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!t->s)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			free(t->s);
			t->s = NULL;
			return;
		}
		if ((size_t)n < t->cap - t->len)
			break;
		char *bigger = realloc(t->s, t->cap * 2 + (size_t)n);
		if (!bigger) {
			free(t->s);
			t->s = NULL;
			return;
		}
		t->s = bigger;
		t->cap = t->cap * 2 + (size_t)n;
	}
	t->len += (size_t)n;
}

/* The FIFO fd's own lines, with the flags the kernel's inotify fd would
 * have: O_RDONLY and what F_SETFL can set (not the FIFO's O_RDWR,
 * O_NOFOLLOW, O_LARGEFILE), and O_CLOEXEC as fdinfo adds it. */
static int fifo_lines(const char *path, struct text *t)
{
	char buf[4096], *line, *save;
	int fd = real_openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = real_read(fd, buf, sizeof buf - 1);
	real_close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "flags:", 6)) {
			unsigned long fl = strtoul(line + 6, NULL, 8);
			fl &= O_APPEND | O_NONBLOCK | O_ASYNC | O_DIRECT | O_NOATIME | O_CLOEXEC;
			add(t, "flags:\t0%lo\n", fl | O_RDONLY);
		} else {
			add(t, "%s\n", line);
		}
	}
	return 0;
}

static void mark_line(struct text *t, const struct core_mark *m, int hfd)
{
	struct fh_slot s;

	add(t, "inotify wd:%x ino:%llx sdev:%x mask:%x ignored_mask:0 ", (unsigned)m->wd,
	    (unsigned long long)m->id.ino,
	    (unsigned)(major(m->id.dev) << 20 | minor(m->id.dev)), m->mask);
	if (hfd >= 0 && real_pread(hfd, &s, sizeof s, (off_t)m->widx * (off_t)sizeof s) == sizeof s &&
	    ident_equal(&s.id, &m->id) && s.bytes && s.bytes <= HANDLE_MAX) {
		add(t, "fhandle-bytes:%x fhandle-type:%x f_handle:", s.bytes, (unsigned)s.type);
		for (uint32_t i = 0; i < s.bytes; i++)
			add(t, "%02x", s.h[i]);
	}
	add(t, "\n");
}

static int to_memfd(const struct text *t, int flags)
{
	int fd = memfd_create("inotify-shim fdinfo", (flags & O_CLOEXEC) ? MFD_CLOEXEC : 0);
	size_t done = 0;

	if (fd < 0)
		return -errno;
	while (done < t->len) {
		ssize_t n = real_write(fd, t->s + done, t->len - done);
		if (n <= 0) {
			real_close(fd);
			return -ENOMEM;
		}
		done += (size_t)n;
	}
	if (real_lseek(fd, 0, SEEK_SET) < 0) {
		real_close(fd);
		return -ENOMEM;
	}
	return fd;
}

int fdinfo_open(const char *path, int flags)
{
	struct text t = { malloc(1024), 0, 1024 };
	struct slot_ref ref;
	struct core_mark *m = NULL;
	long pid, fd;
	int n, ret, hfd;

	if (!core_attached() || (flags & O_ACCMODE) != O_RDONLY || !parse(path, &pid, &fd) ||
	    !find(pid, fd, &ref)) {
		free(t.s);
		return FDINFO_PASS;
	}
	ret = fifo_lines(path, &t);
	n = ret < 0 ? -1 : core_marks(ref, &m);
	if (n < 0) {
		free(t.s);
		return ret < 0 ? ret : FDINFO_PASS;
	}
	hfd = n ? core_handles_open(false) : -1;
	for (int i = 0; i < n; i++)
		mark_line(&t, &m[i], hfd);
	if (hfd >= 0)
		real_close(hfd);
	free(m);
	ret = t.s ? to_memfd(&t, flags) : -ENOMEM;
	free(t.s);
	return ret;
}
