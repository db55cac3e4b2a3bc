/*
 * scan_set.c - the watched objects the scanner follows, and its schedule
 * (see scan.h).
 *
 * Schedule (esbuild's watcher is the model): every tick looks at
 *   - every object that changed in the last hot_ms (a file being edited,
 *     a directory being built into): a change there is seen within a tick;
 *   - the next objects of a rotation over all of them, as many as make a
 *     whole cycle in cycle_ms: any change is seen within a cycle and a tick.
 * A look at a directory whose own mtime and ctime did not change reuses
 * its entry names and statx's each (no getdents).  When a pass sees a
 * directory's entries change, it also looks at every other directory whose
 * own times changed, so that the two ends of a move between watched
 * directories are compared in one pass (diff.c pairs them) and a burst of
 * changes over a tree is seen at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "domain/registry.h"
#include "scan/paths.h"

#include "scan.h"

#define SYNC_MS 1000	/* the registry is read again at least this often */
#define LOST_MS 50	/* and this often while a watched path is not found
			 * (add_watch writes it just after the watch) */
#define LOST_FOR_MS 2000	/* for so long after the watch appeared */

int64_t scan_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the identity table */

static size_t slot_of(const struct scan_itab *t, const struct ident *id)
{
	size_t i = (size_t)(ident_hash(id) * 0x9e3779b97f4a7c15ULL >> 17) & (t->cap - 1);

	while (t->val[i] && !ident_equal(&t->key[i], id))
		i = (i + 1) & (t->cap - 1);
	return i;
}

uintptr_t scan_itab_get(const struct scan_itab *t, const struct ident *id)
{
	return t->cap ? t->val[slot_of(t, id)] : 0;
}

static int grow(struct scan_itab *t)
{
	struct scan_itab n = { .cap = t->cap ? 2 * t->cap : 1024 };

	n.key = calloc(n.cap, sizeof *n.key);
	n.val = calloc(n.cap, sizeof *n.val);
	if (!n.key || !n.val) {
		free(n.key);
		free(n.val);
		return -ENOMEM;
	}
	for (size_t i = 0; i < t->cap; i++)
		if (t->val[i]) {
			size_t j = slot_of(&n, &t->key[i]);
			n.key[j] = t->key[i];
			n.val[j] = t->val[i];
			n.n++;
		}
	free(t->key);
	free(t->val);
	*t = n;
	return 0;
}

/* val != 0.  The old value, if any, is replaced (the caller frees it). */
int scan_itab_put(struct scan_itab *t, const struct ident *id, uintptr_t val)
{
	size_t i;

	if ((t->n + 1) * 2 > t->cap && grow(t) < 0)
		return -ENOMEM;
	i = slot_of(t, id);
	if (!t->val[i])
		t->n++;
	t->key[i] = *id;
	t->val[i] = val;
	return 0;
}

void scan_itab_free(struct scan_itab *t)
{
	free(t->key);
	free(t->val);
	*t = (struct scan_itab){ 0 };
}

/* ---- following the registry */

static void note_path(void *ctx, const struct ident *id, const char *path)
{
	struct scan_set *s = ctx;
	char *copy = strdup(path);
	char *old = (char *)scan_itab_get(&s->paths, id);

	if (!copy)
		return;
	if (scan_itab_put(&s->paths, id, (uintptr_t)copy) < 0) {
		free(copy);
		return;
	}
	free(old);
}

static void read_paths(struct scan_set *s)
{
	int fd = domain_openat(shim_domain, SCAN_PATHS_FILE, O_RDONLY, 0);

	if (fd < 0)
		return;
	scan_paths_read(fd, &s->paths_off, note_path, s);
	close(fd);
}

static bool same(const struct scan_attr *a, const struct ident *id)
{
	return a->dev == id->dev && a->ino == id->ino && a->btime == id->btime;
}

/* Open the watched object by its recorded path, if it still leads there. */
static void find(struct scan_set *s, struct scan_obj *o)
{
	const char *path = (const char *)scan_itab_get(&s->paths, &o->id);
	struct scan_attr a;
	char buf[PATH_MAX], canon[PATH_MAX];
	ssize_t n = -1;

	if (!path)
		return;
	for (int follow = 1; follow >= 0 && o->fd < 0; follow--) {
		int fd = open(path, O_PATH | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
		if (fd < 0)
			continue;
		if (scan_stat(fd, "", &a) == 0 && same(&a, &o->id))
			o->fd = fd;
		else
			close(fd);
	}
	if (o->fd < 0)
		return;
	/* its canonical path, as /proc names it: MOVE_SELF compares with it */
	snprintf(buf, sizeof buf, "/proc/self/fd/%d", o->fd);
	n = readlink(buf, canon, sizeof canon - 1);
	if (n > 0)
		canon[n] = 0;
	free(o->path);
	o->path = strdup(n > 0 ? canon : path);
	snprintf(buf, sizeof buf, "%s", o->path);
	if (scan_stat(AT_FDCWD, dirname(buf), &a) == 0) {
		o->parent = (struct ident){ a.dev, a.ino, a.btime };
		o->has_parent = true;
	}
}

static void drop(struct scan_obj *o)
{
	scan_shards_drop(o);
	if (o->fd >= 0)
		close(o->fd);
	free(o->path);
	scan_snap_free(&o->snap);
}

/* The watched identities, copied under the registry lock into a buffer
 * kept between syncs and grown before the lock is taken: nothing is
 * allocated while the hooks may wait for the lock. */
struct wid {
	struct ident id;
	bool dir;
};
static struct wid *ids;
static size_t ids_cap;

static uint32_t inode_hwm(struct domain *d)
{
	uint32_t hwm = __atomic_load_n(&d->reg->inode_hwm, __ATOMIC_RELAXED);

	return hwm >= REGISTRY_WATCHES ? REGISTRY_WATCHES - 1 : hwm;
}

static int copy_watched(size_t *n)
{
	struct domain *d = shim_domain;

	for (int tries = 0; tries < 8; tries++) {
		size_t want = (size_t)inode_hwm(d) + 1;
		int ret;
		if (want > ids_cap) {
			struct wid *p = realloc(ids, (want + want / 4 + 64) * sizeof *p);
			if (!p)
				return -ENOMEM;
			ids = p;
			ids_cap = want + want / 4 + 64;
		}
		ret = domain_lock(d);
		if (ret < 0)
			return ret;
		if ((size_t)inode_hwm(d) + 1 > ids_cap) {	/* grew meanwhile */
			domain_unlock(d);
			continue;
		}
		*n = 0;
		for (uint32_t i = 1, hwm = inode_hwm(d); i <= hwm; i++) {
			struct reg_inode *in = reg_inode(d, i);
			if (!in || in->state != RECORD_USED || !in->marks)
				continue;
			ids[*n].id = in->id;
			ids[(*n)++].dir = in->flags & INODE_DIR;
		}
		domain_unlock(d);
		return 0;
	}
	return -EAGAIN;
}

static int rebuild_index(struct scan_set *s)
{
	scan_itab_free(&s->index);
	for (size_t i = 0; i < s->n; i++)
		if (scan_itab_put(&s->index, &s->o[i].id, i + 1) < 0)
			return -ENOMEM;
	for (size_t i = 0; i < s->n; i++)
		s->o[i].parent_watched = s->o[i].has_parent &&
					 scan_itab_get(&s->index, &s->o[i].parent);
	return 0;
}

int scan_set_sync(struct scan_set *s, bool force)
{
	uint32_t count = __atomic_load_n(&shim_domain->reg->watch_count, __ATOMIC_RELAXED);
	int64_t now = scan_now_ms();
	bool lost = false;
	struct scan_obj *o;
	size_t n;
	int ret;

	/* a watch not found yet, made in the last seconds: its path may be
	 * on its way (a watch of a process that did not record its path
	 * stays unfound, and is not asked for again and again) */
	for (size_t i = 0; i < s->n && !lost; i++)
		lost = s->o[i].fd < 0 && now - s->o[i].changed_ms < LOST_FOR_MS;
	if (!force && count == s->watch_count && now - s->synced_ms < SYNC_MS &&
	    !(lost && now - s->synced_ms >= LOST_MS))
		return (int)s->n;
	read_paths(s);
	ret = copy_watched(&n);
	if (ret < 0)
		return ret == -EAGAIN ? (int)s->n : ret;
	o = calloc(n ? n : 1, sizeof *o);
	if (!o)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		o[i].id = ids[i].id;
		o[i].dir = ids[i].dir;
		uintptr_t k = scan_itab_get(&s->index, &o[i].id);
		if (k && !s->o[k - 1].gone) {
			bool dir = o[i].dir;
			o[i] = s->o[k - 1];
			o[i].dir = dir;
			s->o[k - 1].fd = -1;
			s->o[k - 1].path = NULL;
			s->o[k - 1].snap = (struct scan_snap){ 0 };
			s->o[k - 1].shard = s->o[k - 1].sfd = -1;
			s->o[k - 1].held = (struct scan_held){ 0 };
		} else {
			o[i].fd = o[i].shard = o[i].sfd = -1;
			o[i].changed_ms = now;
		}
		if (o[i].fd < 0)
			find(s, &o[i]);
	}
	for (size_t i = 0; i < s->n; i++)
		drop(&s->o[i]);
	free(s->o);
	s->o = o;
	s->n = n;
	s->watch_count = count;
	s->synced_ms = now;
	if (s->cursor >= n)
		s->cursor = 0;
	ret = rebuild_index(s);
	return ret < 0 ? ret : (int)n;
}

size_t scan_set_unrecorded(const struct scan_set *s)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n; i++)
		n += s->o[i].fd < 0 && !scan_itab_get(&s->paths, &s->o[i].id);
	return n;
}

void scan_set_free(struct scan_set *s)
{
	free(ids);
	ids = NULL;
	ids_cap = 0;
	for (size_t i = 0; i < s->n; i++)
		drop(&s->o[i]);
	scan_shards_stop();
	free(s->o);
	scan_itab_free(&s->index);
	for (size_t i = 0; i < s->paths.cap; i++)
		free((char *)s->paths.val[i]);
	scan_itab_free(&s->paths);
	*s = (struct scan_set){ 0 };
}
