/*
 * scan_tick.c - one tick of the scanner: choose what to look at, look,
 * compare and deliver (see scan.h and the schedule at the top of
 * scan_set.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "scan.h"

struct tick {
	struct scan_set *s;
	struct scan_obj **objs;
	struct scan_item *items;
	struct scan_snap *snaps;
	struct scan_held *helds;	/* the directories' new held sets */
	struct scan_look *lk;
	bool *same;			/* the look found o->snap exactly */
	bool *due;
	size_t n;
};

static int64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static bool times_same(const struct scan_attr *a, const struct scan_attr *b)
{
	return a->mtime == b->mtime && a->ctime == b->ctime;
}

/* A look in this thread: a non-directory (its O_PATH fd is the cheap
 * statx already), or a directory no shard could look at (by name).  0,
 * SCAN_SAME (held.h) or a negative errno. */
static int look_here(struct scan_set *s, struct scan_obj *o, struct scan_snap *out,
		     struct scan_held *held)
{
	struct scan_held none = { 0 };
	struct scan_budget zero = { 0 };
	uint64_t stats = 0;
	int ret;

	s->looks++;
	*held = (struct scan_held){ 0 };
	if (!o->dir)
		return s->stats++, scan_snap_self(o->fd, out);
	ret = scan_snap_look(o->fd, &o->snap, &none, out, held, &zero, &stats);
	s->stats += stats;
	return ret;
}

/* Has the object moved away from its path unseen? (Only asked when its
 * parent is not watched and its ctime changed, as rename sets it.) */
static bool moved(struct scan_obj *o, const struct scan_snap *now)
{
	char link[64], path[4096];
	ssize_t n;

	if (o->parent_watched || !o->snap.present || !now->present ||
	    now->self.ctime == o->snap.self.ctime || !o->path)
		return false;
	snprintf(link, sizeof link, "/proc/self/fd/%d", o->fd);
	n = readlink(link, path, sizeof path - 1);
	if (n <= 0)
		return false;
	path[n] = 0;
	if (!strcmp(path, o->path) || now->self.nlink == 0)
		return false;
	free(o->path);
	o->path = strdup(path);
	return true;
}

static void add(struct tick *t, size_t i)
{
	struct scan_obj *o = &t->s->o[i];

	if (t->due[i] || o->gone || o->fd < 0)
		return;
	t->due[i] = true;
	t->objs[t->n++] = o;
}

/* Directories whose own times changed, not in the pass yet. */
static void add_changed_dirs(struct tick *t)
{
	struct scan_attr a;

	for (size_t i = 0; i < t->s->n; i++) {
		struct scan_obj *o = &t->s->o[i];
		if (t->due[i] || !o->dir || o->gone || o->fd < 0 || !o->snap.present)
			continue;
		t->s->stats++;
		if (scan_stat(o->fd, "", &a) == 0 && !times_same(&a, &o->snap.self))
			add(t, i);
	}
}

static int look_all(struct tick *t, size_t from)
{
	size_t nd = 0;
	int ret = 0;

	for (size_t k = from; k < t->n; k++) {
		struct scan_obj *o = t->objs[k];
		t->helds[k] = (struct scan_held){ 0 };
		t->same[k] = false;
		if (o->dir)
			t->lk[nd++] = (struct scan_look){ .o = o, .out = &t->snaps[k] };
		else
			look_here(t->s, o, &t->snaps[k], &t->helds[k]);
	}
	ret = scan_shards_look(t->lk, nd);
	for (size_t i = 0; i < nd; i++) {
		struct scan_look *l = &t->lk[i];
		size_t k = (size_t)(l->out - t->snaps);
		if (l->unlooked) {
			l->ret = look_here(t->s, l->o, l->out, &t->helds[k]);
			l->same = l->ret == SCAN_SAME;
		} else {
			t->s->looks++;
			t->s->stats += l->stats;
			t->helds[k] = l->held;
		}
		t->same[k] = l->same;
		if (l->ret == -ENOMEM)
			ret = -ENOMEM;
	}
	for (size_t k = from; k < t->n; k++) {
		struct scan_obj *o = t->objs[k];
		t->items[k] = (struct scan_item){ .old = &o->snap,
						  .now = t->same[k] ? &o->snap : &t->snaps[k],
						  .dir = o->dir,
						  .parent_watched = o->parent_watched };
		t->items[k].moved = moved(o, t->items[k].now);
	}
	return ret;
}

static bool entries_changed(const struct tick *t)
{
	for (size_t k = 0; k < t->n; k++)
		if (t->objs[k]->dir && t->objs[k]->snap.present && t->items[k].now->present &&
		    !times_same(&t->items[k].now->self, &t->objs[k]->snap.self))
			return true;
	return false;
}

static int pass(struct tick *t)
{
	struct scan_ops ops = { 0 };
	int64_t now = scan_now_ms(), start_ns = realtime_ns();
	size_t first = t->n;
	int ret = look_all(t, 0);

	if (ret == 0 && entries_changed(t)) {
		add_changed_dirs(t);
		ret = look_all(t, first);
	}
	if (ret == 0)
		ret = scan_diff(t->items, t->n, &ops);
	if (ret == 0)
		scan_deliver(t->s, t->items, t->objs, &ops);
	for (size_t i = 0; i < ops.n; i++) {
		if (ops.op[i].item >= 0)
			t->objs[ops.op[i].item]->changed_ms = now;
		if (ops.op[i].item2 >= 0)
			t->objs[ops.op[i].item2]->changed_ms = now;
	}
	for (size_t k = 0; k < t->n; k++) {
		struct scan_obj *o = t->objs[k];
		if (!o->snap.present)
			o->first_ns = start_ns;
		o->looked_ns = start_ns;
		if (!t->same[k]) {
			scan_snap_free(&o->snap);
			o->snap = t->snaps[k];
		}
		if (o->held.fd != t->helds[k].fd)
			free(o->held.fd);	/* its fds are in the new set */
		o->held = t->helds[k];
		o->looked_ms = now;
		if (o->snap.present && o->dir)	/* entries dirty until stable */
			for (size_t i = 0; i < o->snap.n; i++)
				if (o->snap.e[i].flags & SCAN_DIRTY)
					o->changed_ms = now;
		if (o->snap.self_flags & SCAN_DIRTY)
			o->changed_ms = now;
	}
	scan_ops_free(&ops);
	t->s->passes++;
	return ret;
}

/* The tick's arrays, kept between ticks (the scanner has one thread). */
static struct tick buf;
static size_t buf_cap;

static int reserve(size_t n)
{
	struct tick t = { 0 };

	if (n <= buf_cap)
		return 0;
	t.objs = calloc(n, sizeof *t.objs);
	t.items = calloc(n, sizeof *t.items);
	t.snaps = calloc(n, sizeof *t.snaps);
	t.helds = calloc(n, sizeof *t.helds);
	t.lk = calloc(n, sizeof *t.lk);
	t.same = calloc(n, sizeof *t.same);
	t.due = calloc(n, sizeof *t.due);
	if (!t.objs || !t.items || !t.snaps || !t.helds || !t.lk || !t.same || !t.due) {
		free(t.objs), free(t.items), free(t.snaps), free(t.helds), free(t.lk),
			free(t.same), free(t.due);
		return -ENOMEM;
	}
	free(buf.objs), free(buf.items), free(buf.snaps), free(buf.helds), free(buf.lk),
		free(buf.same), free(buf.due);
	buf = t;
	buf_cap = n;
	return 0;
}

int scan_set_tick(struct scan_set *s, int64_t hot_ms, int64_t cycle_ms, int64_t tick_ms)
{
	int64_t now = scan_now_ms();
	size_t batch;
	int ret;

	if (!s->n)
		return 0;
	ret = reserve(s->n);
	if (ret < 0)
		return ret;
	buf.s = s;
	buf.n = 0;
	for (size_t i = 0; i < s->n; i++)
		if (now - s->o[i].changed_ms < hot_ms || !s->o[i].snap.present)
			add(&buf, i);
	batch = (size_t)((s->n * tick_ms + cycle_ms - 1) / cycle_ms);
	for (size_t k = 0; k < batch && k < s->n; k++) {
		add(&buf, s->cursor);
		s->cursor = (s->cursor + 1) % s->n;
	}
	ret = buf.n ? pass(&buf) : 0;
	for (size_t k = 0; k < buf.n; k++)
		buf.due[buf.objs[k] - s->o] = false;
	return ret;
}
