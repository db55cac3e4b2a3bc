/*
 * diff.c - see diff.h.
 *
 * What a change of attributes is (scan_attr_events), for an object whose
 * inode stayed at its name:
 *   - IN_MODIFY: a regular file whose size changed, or whose mtime changed
 *     to exactly its ctime (a write sets both to the same instant; a
 *     utimensat to a given time leaves them apart);
 *   - IN_ATTRIB: mode, owner or group changed; mtime changed to other than
 *     the ctime (utimensat); or the ctime alone changed (chmod to the same
 *     mode, setxattr, a directory's utimes);
 *   - a changed link count alone (link, or unlink of another name) is
 *     IN_ATTRIB to the object's own watches only, as the kernel's
 *     fsnotify_link_count; a directory's link count and its mtime change
 *     with its entries, which the kernel does not report on it.
 *   - IN_CLOSE_WRITE (the heuristic): a regular file created or modified at
 *     one look, whose size and mtime are the same at a later look and
 *     whose last change (mtime, ctime) is at least SCAN_CLOSE_QUIET_NS old
 *     then, was closed in between.  Build tools wait for it; it comes one
 *     interval late, at the soonest SCAN_CLOSE_QUIET_NS after the last
 *     write, and a file still open for writing but idle that long also
 *     gets it.  The quiet time is what keeps a writer descheduled between
 *     its open and its write (a loaded machine) from getting an
 *     IN_CLOSE_WRITE before its IN_MODIFY, which the kernel never gives;
 *     a writer idle for longer still does, the heuristic's stated cost.
 *
 * Moves: an inode that left one name and appeared at another (in the
 * same or another directory of the same pass) moved; its two ends get one
 * cookie.  An inode that left a name whose new name is not seen (moved
 * out of what is watched) is a move only when it is itself watched and
 * still linked (its watch sees IN_MOVE_SELF); otherwise it is IN_DELETE,
 * and an inode that appears from outside is IN_CREATE: a scanner cannot
 * tell these from a deletion and a creation.  A move onto a name whose
 * old inode is gone replaces it: no IN_DELETE for that name, as rename(2).
 *
 * Order, when several changes fell between two looks: the order a kernel
 * watcher would most plausibly have seen.
 *   1. IN_CLOSE_WRITE owed from the previous look (those writes were
 *      older than anything seen now);
 *   2. moves, oldest first by the moved inode's ctime (rename sets it);
 *   3. deletions: a watched object's own IN_ATTRIB (non-directories: its
 *      link count fell to 0), IN_DELETE_SELF and IN_IGNORED, then its
 *      parent's IN_DELETE (the hooks' order, and the kernel's);
 *   4. creations, oldest first by birth time, then ctime, then name, so
 *      that a name deleted and created again with a new inode is
 *      IN_DELETE then IN_CREATE;
 *   5. changes of content and attributes, by directory then name:
 *      IN_MODIFY before IN_ATTRIB; a file created with content gets
 *      IN_CREATE, then IN_MODIFY;
 *   6. a watched object's own changes when its parent is not watched, and
 *      its IN_MOVE_SELF when the caller saw it move unseen.
 */
#include "diff.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>

#define SCAN_CLOSE_QUIET_NS (250 * 1000000LL)

static bool same_inode(const struct scan_attr *a, const struct scan_attr *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->btime == b->btime;
}

uint32_t scan_attr_events(const struct scan_attr *a, const struct scan_attr *b,
			  bool *self_only)
{
	bool reg = S_ISREG(b->mode), dir = S_ISDIR(b->mode);
	bool mtime = a->mtime != b->mtime, ctime = a->ctime != b->ctime;
	uint32_t mask = 0;

	*self_only = false;
	if (reg && (a->size != b->size || (mtime && b->mtime == b->ctime)))
		mask |= IN_MODIFY;
	if (a->mode != b->mode || a->uid != b->uid || a->gid != b->gid)
		mask |= IN_ATTRIB;
	else if (mtime && b->mtime != b->ctime)
		mask |= IN_ATTRIB;
	else if (ctime && !mtime && !mask && (dir || a->nlink == b->nlink))
		mask |= IN_ATTRIB;
	if (!mask && !dir && a->nlink != b->nlink) {
		*self_only = true;
		mask = IN_ATTRIB;
	}
	return mask;
}

static int emit(struct scan_ops *o, const struct scan_op *op)
{
	if (o->n == o->cap) {
		size_t cap = o->cap ? 2 * o->cap : 32;
		struct scan_op *p = realloc(o->op, cap * sizeof *p);
		if (!p)
			return -ENOMEM;
		o->op = p;
		o->cap = cap;
	}
	o->op[o->n++] = *op;
	return 0;
}

void scan_ops_free(struct scan_ops *o)
{
	free(o->op);
	*o = (struct scan_ops){ 0 };
}

/* An entry that left its name (gone) or took a new one (!gone). */
enum end_state { END_FREE, END_MOVED, END_TARGET };

struct end {
	int item;
	const struct scan_entry *e;
	bool gone;
	enum end_state state;
	struct end *peer;	/* the other end of a move; a move's target */
};

struct pass {
	struct scan_item *items;
	size_t nitems;
	struct end *ends;
	size_t nends, cap;
	struct scan_ops *out;
	int64_t now;	/* CLOCK_REALTIME at the pass, in ns, as mtime */
};

/* The file a's last change is old enough for its IN_CLOSE_WRITE. */
static bool quiet_long_enough(const struct pass *p, const struct scan_attr *a)
{
	int64_t last = a->mtime > a->ctime ? a->mtime : a->ctime;

	return p->now - last >= SCAN_CLOSE_QUIET_NS;
}

static int add_end(struct pass *p, int item, const struct scan_entry *e, bool gone)
{
	if (p->nends == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 32;
		struct end *n = realloc(p->ends, cap * sizeof *n);
		if (!n)
			return -ENOMEM;
		p->ends = n;
		p->cap = cap;
	}
	p->ends[p->nends++] = (struct end){ item, e, gone, END_FREE, NULL };
	return 0;
}

/* An item whose now is its old (a look that found nothing changed,
 * held.h SCAN_SAME) has nothing to compare. */
static bool compared(const struct scan_item *it)
{
	return it->dir && it->old != it->now && it->old->present && it->now->present;
}

/* Entries of two looks at one directory often share their name (a look
 * that found the directory's times unchanged reuses the names). */
static int name_cmp(const char *a, const char *b)
{
	return a == b ? 0 : strcmp(a, b);
}

/* Merge the two sorted entry lists of one directory into ends. */
static int collect(struct pass *p, int item)
{
	const struct scan_snap *a = p->items[item].old, *b = p->items[item].now;
	size_t i = 0, j = 0;
	int ret = 0;

	while (ret == 0 && (i < a->n || j < b->n)) {
		int c = i == a->n ? 1 : j == b->n ? -1 : name_cmp(a->e[i].name, b->e[j].name);
		if (c == 0 && same_inode(&a->e[i].a, &b->e[j].a)) {
			i++, j++;
			continue;
		}
		if (c <= 0)
			ret = add_end(p, item, &a->e[i++], true);
		if (ret == 0 && c >= 0)
			ret = add_end(p, item, &b->e[j++], false);
	}
	return ret;
}

static int by_inode(const void *x, const void *y)
{
	const struct end *a = x, *b = y;
	const struct scan_attr *p = &a->e->a, *q = &b->e->a;

	if (p->dev != q->dev)
		return p->dev < q->dev ? -1 : 1;
	if (p->ino != q->ino)
		return p->ino < q->ino ? -1 : 1;
	if (p->btime != q->btime)
		return p->btime < q->btime ? -1 : 1;
	if (a->gone != b->gone)
		return a->gone ? -1 : 1;	/* the gone end first */
	return a < b ? -1 : 1;
}

/* Pair each gone end with an appearing end of the same inode. */
static void pair_moves(struct pass *p)
{
	if (p->nends > 1)
		qsort(p->ends, p->nends, sizeof *p->ends, by_inode);
	for (size_t i = 0; i + 1 < p->nends; i++) {
		struct end *g = &p->ends[i], *n = &p->ends[i + 1];
		if (!g->gone || n->gone || !same_inode(&g->e->a, &n->e->a))
			continue;
		g->state = n->state = END_MOVED;
		g->peer = n;
		n->peer = g;
		i++;
	}
}

/* A move onto a name whose inode left it replaces that inode. */
static void find_targets(struct pass *p)
{
	for (size_t i = 0; i < p->nends; i++) {
		struct end *to = &p->ends[i];
		if (to->gone || to->state != END_MOVED)
			continue;
		for (size_t k = 0; k < p->nends; k++) {
			struct end *t = &p->ends[k];
			if (t->gone && t->state == END_FREE && t->item == to->item &&
			    !strcmp(t->e->name, to->e->name)) {
				t->state = END_TARGET;
				to->peer->peer = t;	/* the gone end keeps the target */
				break;
			}
		}
	}
}

/* The item watching this inode, or -1. */
static int watched_item(const struct pass *p, const struct scan_attr *a)
{
	for (size_t i = 0; i < p->nitems; i++)
		if (p->items[i].old->present && same_inode(&p->items[i].old->self, a))
			return (int)i;
	return -1;
}

static bool alive(const struct scan_item *it)
{
	return it->now->present && it->now->self.nlink > 0;
}

static int emit_gone(struct pass *p, int item, bool *done)
{
	struct scan_item *it = &p->items[item];
	int ret = 0;

	if (done[item])
		return 0;
	done[item] = true;
	if (!S_ISDIR(it->old->self.mode))
		ret = emit(p->out, &(struct scan_op){ .kind = SCAN_SELF, .mask = IN_ATTRIB,
						      .item = item, .item2 = -1,
						      .obj = it->old->self });
	if (ret == 0)
		ret = emit(p->out, &(struct scan_op){ .kind = SCAN_GONE, .item = item,
						      .item2 = -1, .obj = it->old->self });
	return ret;
}

/* A new name of an inode the directory already had: link(2), whose
 * content is not new. */
static bool linked(const struct scan_snap *a, const struct scan_attr *x)
{
	if (x->nlink < 2)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (same_inode(&a->e[i].a, x))
			return true;
	return false;
}

/* Phase 1 and 5: the entries that kept their inode, and the new ones. */
static int changes(struct pass *p, int item, bool closes)
{
	struct scan_item *it = &p->items[item];
	const struct scan_snap *a = it->old;
	struct scan_snap *b = it->now;
	size_t i = 0;
	int ret = 0;

	for (size_t j = 0; ret == 0 && j < b->n; j++) {
		struct scan_entry *e = &b->e[j];
		const struct scan_entry *o;
		struct scan_op op = { .kind = SCAN_CHILD, .item = item, .item2 = -1,
				      .name = e->name, .obj = e->a };
		bool self_only;
		while (i < a->n && name_cmp(a->e[i].name, e->name) < 0)
			i++;
		o = i < a->n && !name_cmp(a->e[i].name, e->name) &&
		    same_inode(&a->e[i].a, &e->a) ? &a->e[i] : NULL;
		if (!o) {	/* new here: created, or moved in */
			if (e->flags & SCAN_ARRIVED) {	/* moved: told by its move */
				if (!closes)
					e->flags &= ~SCAN_ARRIVED;
				continue;
			}
			if (closes || !S_ISREG(e->a.mode) || linked(a, &e->a))
				continue;
			e->flags |= SCAN_DIRTY;
			if (e->a.size == 0)
				continue;
			op.mask = IN_MODIFY;
			ret = emit(p->out, &op);
			continue;
		}
		op.mask = scan_attr_events(&o->a, &e->a, &self_only);
		if (closes) {
			if (!(o->flags & SCAN_DIRTY) || (op.mask & IN_MODIFY))
				continue;
			if (!quiet_long_enough(p, &e->a)) {
				e->flags |= SCAN_DIRTY;	/* owed still: a later look */
				continue;
			}
			op.mask = IN_CLOSE_WRITE;
			ret = emit(p->out, &op);
			continue;
		}
		if (op.mask & IN_MODIFY)
			e->flags |= SCAN_DIRTY;
		if (!op.mask)
			continue;
		if (self_only)
			op = (struct scan_op){ .kind = SCAN_SELF, .mask = IN_ATTRIB,
					       .item = -1, .item2 = -1, .obj = e->a };
		ret = emit(p->out, &op);
	}
	return ret;
}

/* Phase 1 and 6 for an object whose parent is not watched. */
static int self_changes(struct pass *p, int item, bool closes)
{
	struct scan_item *it = &p->items[item];
	struct scan_op op = { .kind = SCAN_SELF, .item = item, .item2 = -1,
			      .obj = it->now->self };
	bool self_only;

	if (!it->old->present || !alive(it))
		return 0;
	op.mask = scan_attr_events(&it->old->self, &it->now->self, &self_only);
	if (op.mask & IN_MODIFY)
		it->now->self_flags |= SCAN_DIRTY;
	if (it->parent_watched)
		return 0;
	if (closes) {
		if (!(it->old->self_flags & SCAN_DIRTY) || (op.mask & IN_MODIFY))
			return 0;
		if (!quiet_long_enough(p, &it->now->self)) {
			it->now->self_flags |= SCAN_DIRTY;	/* owed still */
			return 0;
		}
		op.mask = IN_CLOSE_WRITE;
	}
	return op.mask ? emit(p->out, &op) : 0;
}

static int by_ctime(const void *x, const void *y)
{
	const struct end *a = *(struct end *const *)x, *b = *(struct end *const *)y;

	if (a->e->a.ctime != b->e->a.ctime)
		return a->e->a.ctime < b->e->a.ctime ? -1 : 1;
	return strcmp(a->e->name, b->e->name);
}

static int by_birth(const void *x, const void *y)
{
	const struct end *a = *(struct end *const *)x, *b = *(struct end *const *)y;

	if (a->e->a.btime != b->e->a.btime)
		return a->e->a.btime < b->e->a.btime ? -1 : 1;
	if (a->e->a.ctime != b->e->a.ctime)
		return a->e->a.ctime < b->e->a.ctime ? -1 : 1;
	if (a->item != b->item)
		return a->item < b->item ? -1 : 1;
	return strcmp(a->e->name, b->e->name);
}

static int by_place(const void *x, const void *y)
{
	const struct end *a = *(struct end *const *)x, *b = *(struct end *const *)y;

	if (a->item != b->item)
		return a->item < b->item ? -1 : 1;
	return strcmp(a->e->name, b->e->name);
}

/* The ends selected by want, sorted by cmp, in list (nends long). */
static size_t select_ends(struct pass *p, struct end **list,
			  bool (*want)(const struct pass *, const struct end *),
			  int (*cmp)(const void *, const void *))
{
	size_t n = 0;

	for (size_t i = 0; i < p->nends; i++)
		if (want(p, &p->ends[i]))
			list[n++] = &p->ends[i];
	if (n > 1)
		qsort(list, n, sizeof *list, cmp);
	return n;
}

/* A gone end not paired: a watched, still linked inode moved out. */
static bool moved_out(const struct pass *p, const struct end *e)
{
	int w;

	if (!e->gone || e->state != END_FREE)
		return false;
	w = watched_item(p, &e->e->a);
	return w >= 0 && alive(&p->items[w]);
}

/* An appearing end not paired: a watched inode seen before, moved in. */
static bool moved_in(const struct pass *p, const struct end *e)
{
	return !e->gone && e->state == END_FREE && watched_item(p, &e->e->a) >= 0;
}

static bool is_move(const struct pass *p, const struct end *e)
{
	return (!e->gone && e->state == END_MOVED) || moved_out(p, e) || moved_in(p, e);
}

static bool is_delete(const struct pass *p, const struct end *e)
{
	return e->gone && e->state == END_FREE && !moved_out(p, e);
}

static bool is_create(const struct pass *p, const struct end *e)
{
	return !e->gone && e->state == END_FREE && !moved_in(p, e);
}

static int emit_move(struct pass *p, const struct end *e, bool *told, bool *done)
{
	const struct end *from = e->gone ? e : e->state == END_MOVED ? e->peer : NULL;
	const struct end *to = e->gone ? NULL : e;
	const struct end *target = from ? from->peer : NULL;
	struct scan_op op = { .kind = SCAN_MOVE, .item = from ? from->item : -1,
			      .name = from ? from->e->name : NULL,
			      .item2 = to ? to->item : -1, .name2 = to ? to->e->name : NULL,
			      .obj = e->e->a };
	int w = watched_item(p, &e->e->a), ret;

	if (to)	/* the entry is in the caller's snapshot: mark it moved */
		((struct scan_entry *)to->e)->flags |= SCAN_ARRIVED;

	if (target == to || (target && !target->gone))
		target = NULL;
	if (target) {
		op.has_target = true;
		op.target = target->e->a;
	}
	if (w >= 0)
		told[w] = true;
	ret = emit(p->out, &op);
	if (ret == 0 && target && (w = watched_item(p, &target->e->a)) >= 0 &&
	    !alive(&p->items[w]))
		ret = emit_gone(p, w, done);
	return ret;
}

static int deletes(struct pass *p, struct end **list, bool *done)
{
	size_t n = select_ends(p, list, is_delete, by_place);
	int ret = 0;

	for (size_t i = 0; ret == 0 && i < n; i++) {
		int w = watched_item(p, &list[i]->e->a);
		if (w >= 0 && !alive(&p->items[w]))
			ret = emit_gone(p, w, done);
		if (ret == 0)
			ret = emit(p->out, &(struct scan_op){
				.kind = SCAN_ENTRY, .mask = IN_DELETE, .item = list[i]->item,
				.item2 = -1, .name = list[i]->e->name, .obj = list[i]->e->a });
	}
	for (size_t i = 0; ret == 0 && i < p->nitems; i++)
		if (p->items[i].old->present && !alive(&p->items[i]))
			ret = emit_gone(p, (int)i, done);
	return ret;
}

static int phases(struct pass *p, struct end **list, bool *told, bool *done)
{
	size_t n;
	int ret = 0;

	for (size_t i = 0; ret == 0 && i < p->nitems; i++)
		ret = compared(&p->items[i]) ? changes(p, (int)i, true) : 0;
	for (size_t i = 0; ret == 0 && i < p->nitems; i++)
		ret = self_changes(p, (int)i, true);
	n = select_ends(p, list, is_move, by_ctime);
	for (size_t i = 0; ret == 0 && i < n; i++)
		ret = emit_move(p, list[i], told, done);
	if (ret == 0)
		ret = deletes(p, list, done);
	n = select_ends(p, list, is_create, by_birth);
	for (size_t i = 0; ret == 0 && i < n; i++)
		ret = emit(p->out, &(struct scan_op){
			.kind = SCAN_ENTRY, .mask = IN_CREATE, .item = list[i]->item,
			.item2 = -1, .name = list[i]->e->name, .obj = list[i]->e->a });
	for (size_t i = 0; ret == 0 && i < p->nitems; i++)
		ret = compared(&p->items[i]) ? changes(p, (int)i, false) : 0;
	for (size_t i = 0; ret == 0 && i < p->nitems; i++)
		ret = self_changes(p, (int)i, false);
	for (size_t i = 0; ret == 0 && i < p->nitems; i++)
		if (p->items[i].moved && !told[i] && alive(&p->items[i]))
			ret = emit(p->out, &(struct scan_op){
				.kind = SCAN_SELF, .mask = IN_MOVE_SELF, .item = (int)i,
				.item2 = -1, .obj = p->items[i].now->self });
	return ret;
}

int scan_diff(struct scan_item *items, size_t n, struct scan_ops *out)
{
	struct pass p = { .items = items, .nitems = n, .out = out };
	struct end **list = NULL;
	struct timespec ts;
	bool *flags = calloc(2 * n + 1, sizeof *flags);
	int ret = flags ? 0 : -ENOMEM;

	clock_gettime(CLOCK_REALTIME, &ts);
	p.now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	for (size_t i = 0; ret == 0 && i < n; i++)
		ret = compared(&items[i]) ? collect(&p, (int)i) : 0;
	if (ret == 0 && p.nends && !(list = malloc(p.nends * sizeof *list)))
		ret = -ENOMEM;
	if (ret == 0) {
		pair_moves(&p);
		find_targets(&p);
		ret = phases(&p, list, flags, flags + n);
	}
	free(list);
	free(flags);
	free(p.ends);
	return ret;
}
