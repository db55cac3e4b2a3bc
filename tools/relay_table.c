/*
 * relay_table.c - see relay_table.h.
 */
#include "relay_table.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

static uint32_t hash_of(const struct ident *id)
{
	return (uint32_t)ident_hash(id) * 2654435761u;
}

static int rehash(struct relay_table *t, int hcap)
{
	int *h = malloc(sizeof *h * (size_t)hcap);

	if (!h)
		return -1;
	for (int i = 0; i < hcap; i++)
		h[i] = -1;
	free(t->hash);
	t->hash = h;
	t->hcap = hcap;
	t->hused = 0;
	for (int wd = 1; wd < t->cap; wd++) {
		uint32_t k;
		if (!t->w[wd].wd)
			continue;
		for (k = hash_of(&t->w[wd].id) & (uint32_t)(hcap - 1); h[k] != -1;
		     k = (k + 1) & (uint32_t)(hcap - 1))
			;
		h[k] = wd;
		t->hused++;
	}
	return 0;
}

int relay_table_init(struct relay_table *t)
{
	memset(t, 0, sizeof *t);
	t->cap = 1024;
	t->w = calloc((size_t)t->cap, sizeof *t->w);
	return t->w ? rehash(t, 4096) : -1;
}

int relay_table_find(const struct relay_table *t, const struct ident *id)
{
	for (uint32_t k = hash_of(id) & (uint32_t)(t->hcap - 1), i = 0;
	     t->hash[k] != -1 && i < (uint32_t)t->hcap; k = (k + 1) & (uint32_t)(t->hcap - 1), i++) {
		int wd = t->hash[k];
		if (wd > 0 && !t->w[wd].removing && ident_equal(&t->w[wd].id, id))
			return wd;
	}
	return -1;
}

int relay_table_add(struct relay_table *t, int wd, const struct ident *id, mode_t mode)
{
	uint32_t k;

	if (wd <= 0)
		return -1;
	if (wd >= t->cap) {
		int cap = t->cap;
		struct relay_watch *w;
		while (cap <= wd)
			cap *= 2;
		w = realloc(t->w, sizeof *w * (size_t)cap);
		if (!w)
			return -1;
		memset(w + t->cap, 0, sizeof *w * (size_t)(cap - t->cap));
		t->w = w;
		t->cap = cap;
	}
	if ((t->hused + 1) * 2 > t->hcap && rehash(t, t->hcap * 2) < 0)
		return -1;
	t->w[wd] = (struct relay_watch){ wd, *id, mode, false };
	for (k = hash_of(id) & (uint32_t)(t->hcap - 1); t->hash[k] >= 0;
	     k = (k + 1) & (uint32_t)(t->hcap - 1))
		;
	if (t->hash[k] == -1)
		t->hused++;
	t->hash[k] = wd;
	t->n++;
	return 0;
}

const struct relay_watch *relay_table_get(const struct relay_table *t, int wd)
{
	return wd > 0 && wd < t->cap && t->w[wd].wd ? &t->w[wd] : NULL;
}

void relay_table_remove(struct relay_table *t, int wd)
{
	if (!relay_table_get(t, wd))
		return;
	for (uint32_t k = hash_of(&t->w[wd].id) & (uint32_t)(t->hcap - 1), i = 0;
	     t->hash[k] != -1 && i < (uint32_t)t->hcap; k = (k + 1) & (uint32_t)(t->hcap - 1), i++)
		if (t->hash[k] == wd) {
			t->hash[k] = -2;
			break;
		}
	t->w[wd].wd = 0;
	t->n--;
}

struct relay_watch *relay_table_next(struct relay_table *t)
{
	for (int i = 0; i < t->cap; i++) {
		int wd = t->cursor++ % t->cap;
		if (t->w[wd].wd && !t->w[wd].removing)
			return &t->w[wd];
	}
	return NULL;
}

int relay_pending_init(struct relay_pending *p)
{
	p->head = p->tail = 0;
	p->e = malloc(sizeof *p->e * RELAY_PENDING);
	return p->e ? 0 : -1;
}

bool relay_pending_full(const struct relay_pending *p)
{
	return p->head - p->tail >= RELAY_PENDING;
}

void relay_pending_push(struct relay_pending *p, uint64_t t, const struct inotify_event *ev)
{
	struct relay_event *e = &p->e[p->head++ % RELAY_PENDING];
	size_t len = strnlen(ev->name, ev->len);

	e->t = t;
	e->wd = ev->wd;
	e->mask = ev->mask;
	e->cookie = ev->cookie;
	if (len > NAME_MAX)
		len = NAME_MAX;
	memcpy(e->name, ev->len ? ev->name : "", ev->len ? len : 0);
	e->name[ev->len ? len : 0] = '\0';
}

const struct relay_event *relay_pending_peek(const struct relay_pending *p)
{
	return p->head != p->tail ? &p->e[p->tail % RELAY_PENDING] : NULL;
}

void relay_pending_drop(struct relay_pending *p)
{
	p->tail++;
}

void relay_stamps_add(struct relay_stamps *st, const struct relay_stamp *s)
{
	st->s[st->next++ % RELAY_KEPT] = *s;
}

void relay_stamps_expire(struct relay_stamps *st, uint64_t before_ns)
{
	for (uint32_t i = 0; i < RELAY_KEPT; i++)
		if (st->s[i].ns && st->s[i].ns < before_ns)
			st->s[i].ns = 0;
}

bool relay_stamps_take(struct relay_stamps *st, const struct ident *id, uint32_t mask,
		       uint32_t name)
{
	/* the oldest first: a hook's deliveries cancel kernel events in order */
	for (uint32_t i = 0; i < RELAY_KEPT; i++) {
		struct relay_stamp *s = &st->s[(st->next + i) % RELAY_KEPT];
		if (s->ns && s->dev == id->dev && s->ino == id->ino && s->mask == mask &&
		    s->name == name) {
			s->ns = 0;
			return true;
		}
	}
	return false;
}
