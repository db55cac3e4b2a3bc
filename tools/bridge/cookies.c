/*
 * cookies.c - remote move cookies to local ones (cookies.h).
 */
#include <string.h>

#include "cookies.h"

static uint64_t key_of(const struct bridge_event *ev)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (const char *p = ev->host; *p; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
	h = (h ^ ev->incarnation) * 0x100000001b3ULL;
	h = (h ^ ev->cookie) * 0x100000001b3ULL;
	return h | 1;
}

uint32_t cookie_local(struct cookie_map *m, const struct bridge_event *ev)
{
	uint64_t key;

	if (!ev->cookie)
		return 0;
	key = key_of(ev);
	for (unsigned i = 0; i < COOKIE_MAP; i++) {
		struct cookie_entry *e = &m->e[i];
		if (e->key == key && e->remote == ev->cookie &&
		    e->incarnation == ev->incarnation && !strcmp(e->host, ev->host)) {
			e->key = 0;	/* the other half: the pair is made */
			return e->local;
		}
	}
	struct cookie_entry *e = &m->e[m->next++ % COOKIE_MAP];
	e->key = key;
	e->remote = ev->cookie;
	e->incarnation = ev->incarnation;
	strcpy(e->host, ev->host);
	e->local = m->fresh();
	return e->local;
}
