/*
 * held.c - see held.h.
 */
#include "held.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool times_same(const struct scan_attr *a, const struct scan_attr *b)
{
	return a->mtime == b->mtime && a->ctime == b->ctime;
}

void scan_held_close(struct scan_held *h, struct scan_budget *b)
{
	for (size_t i = 0; i < h->n; i++)
		if (h->fd[i] >= 0) {
			close(h->fd[i]);
			b->held--;
		}
	free(h->fd);
	*h = (struct scan_held){ 0 };
}

/* An fd on dirfd/name if it is still the inode of a, within the budget. */
static int hold(int dirfd, const char *name, const struct scan_attr *a,
		struct scan_budget *b, uint64_t *stats)
{
	struct scan_attr now;
	int fd;

	if (b->held >= b->cap)
		return -1;
	fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE)
			b->cap = b->held;	/* the limit is lower than told */
		return -1;
	}
	(*stats)++;
	if (scan_stat(fd, "", &now) < 0 || now.dev != a->dev || now.ino != a->ino) {
		close(fd);
		return -1;
	}
	b->held++;
	return fd;
}

/* The held set of now from old's (both sorted by name): an fd is kept for
 * a name on the same inode, others are opened, the rest closed. */
static void rehold(int dirfd, const struct scan_snap *old, struct scan_held *oldh,
		   const struct scan_snap *now, struct scan_held *newh,
		   struct scan_budget *b, uint64_t *stats)
{
	size_t j = 0;

	*newh = (struct scan_held){ 0 };
	if (now->n)
		newh->fd = malloc(now->n * sizeof *newh->fd);
	for (size_t i = 0; newh->fd && i < now->n; i++) {
		const struct scan_entry *e = &now->e[i];
		int c = 1;
		newh->fd[i] = -1;
		while (oldh->n == old->n && j < old->n &&
		       (c = strcmp(old->e[j].name, e->name)) < 0)
			j++;
		if (c == 0 && oldh->fd[j] >= 0 && old->e[j].a.ino == e->a.ino &&
		    old->e[j].a.dev == e->a.dev) {
			newh->fd[i] = oldh->fd[j];	/* handed over */
			oldh->fd[j] = -1;
			continue;
		}
		newh->fd[i] = hold(dirfd, e->name, &e->a, b, stats);
	}
	if (newh->fd)
		newh->n = now->n;
	scan_held_close(oldh, b);
}

/* The attributes of a held fd: fstat, cheaper than statx here (175 against
 * 271 ns, bench/README), and the birth time, which fstat does not give, is
 * the one the fd was opened on (an fd holds one inode). */
static int held_stat(int fd, const struct scan_attr *was, struct scan_attr *out)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	*out = (struct scan_attr){
		.dev = st.st_dev, .ino = st.st_ino, .btime = was->btime,
		.mode = st.st_mode, .nlink = (uint32_t)st.st_nlink,
		.uid = st.st_uid, .gid = st.st_gid, .size = (uint64_t)st.st_size,
		.mtime = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec,
		.ctime = (int64_t)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec,
	};
	return 0;
}

static bool attr_eq(const struct scan_attr *a, const struct scan_attr *b)
{
	return !memcmp(a, b, sizeof *a);
}

/* out's entries: old's names, the attributes of the first n from old. */
static int start_copy(const struct scan_snap *old, size_t n, struct scan_snap *out)
{
	if (!old->n)
		return 0;
	out->e = malloc(old->n * sizeof *out->e);
	if (!out->e)
		return -ENOMEM;
	for (size_t j = 0; j < n; j++)
		out->e[j] = (struct scan_entry){ .name = old->e[j].name, .a = old->e[j].a };
	return 0;
}

/* scan_snap_relook() through the held fds where there are some.  -ESTALE
 * when a name has gone, or a held inode lost its last link (the directory
 * is read again then, as for a name gone).  SCAN_SAME, out left empty,
 * when every attribute is the one of old and nothing in old waits for an
 * IN_CLOSE_WRITE: no snapshot is made (an idle directory costs its statx
 * and nothing else). */
static int relook(int fd, struct scan_snap *old, const struct scan_held *h,
		  const struct scan_attr *self, struct scan_snap *out, uint64_t *stats)
{
	bool use = h->n && h->n == old->n;
	bool same = !old->self_flags && attr_eq(self, &old->self);

	*out = (struct scan_snap){ .present = true, .self = *self };
	if (!same && start_copy(old, 0, out) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < old->n; i++) {
		struct scan_attr a;
		int held = use ? h->fd[i] : -1;
		int ret = held >= 0 ? held_stat(held, &old->e[i].a, &a) :
				      scan_stat(fd, old->e[i].name, &a);
		(*stats)++;
		if (ret < 0 || (held >= 0 && a.nlink == 0 && old->e[i].a.nlink)) {
			free(out->e);
			*out = (struct scan_snap){ 0 };
			return -ESTALE;
		}
		if (same && !old->e[i].flags && attr_eq(&a, &old->e[i].a))
			continue;
		if (same && start_copy(old, i, out) < 0)
			return -ENOMEM;
		same = false;
		out->e[i] = (struct scan_entry){ .name = old->e[i].name, .a = a };
	}
	if (same) {
		*out = (struct scan_snap){ 0 };
		return SCAN_SAME;
	}
	out->n = out->cap = old->n;
	old->lent = true;
	return 0;
}

int scan_snap_look(int fd, struct scan_snap *old, struct scan_held *oldh,
		   struct scan_snap *out, struct scan_held *newh,
		   struct scan_budget *b, uint64_t *stats)
{
	struct scan_attr self;
	int ret;

	(*stats)++;
	if (old->present && scan_stat(fd, "", &self) == 0 &&
	    times_same(&self, &old->self) && self.nlink > 0) {
		ret = relook(fd, old, oldh, &self, out, stats);
		if (ret >= 0 && oldh->n == old->n && (old->n == 0 || oldh->fd)) {
			*newh = *oldh;		/* the same fds, the same names */
			return ret;
		}
		if (ret >= 0) {		/* none held yet: hold them now */
			rehold(fd, old, oldh, ret == SCAN_SAME ? old : out, newh, b, stats);
			return ret;
		}
		if (ret != -ESTALE) {
			scan_held_close(oldh, b);
			*newh = (struct scan_held){ 0 };
			return ret;
		}
	}
	(*stats)++;
	ret = scan_snap_dir(fd, out);
	*stats += out->n;
	if (ret < 0) {
		scan_held_close(oldh, b);
		*newh = (struct scan_held){ 0 };
		return ret;
	}
	rehold(fd, old, oldh, out, newh, b, stats);
	return 0;
}
