/*
 * cookies.h - another host's move cookies, remapped to this domain's.
 *
 * A watcher pairs IN_MOVED_FROM with IN_MOVED_TO by cookie, and the
 * cookies of each domain come from its own counter: a move injected from
 * host A with A's cookie could carry the cookie of a local move of this
 * domain, and the watcher would pair the wrong two.  So every remote
 * cookie is replaced by a fresh one of this domain (notify_new_cookie),
 * the same for both halves of one move: the first half seen of (origin
 * host, incarnation, cookie) draws it and remembers it, the second takes
 * it and forgets it.  Either half may come first (a move between two
 * roots comes through two streams); a half whose other half never comes
 * (a move into or out of a root) is forgotten when COOKIE_MAP newer
 * halves have come.  Cookie 0 (no move) stays 0.
 */
#ifndef SHIM_BRIDGE_COOKIES_H
#define SHIM_BRIDGE_COOKIES_H

#include <stdint.h>

#include "record.h"

#define COOKIE_MAP 1024

struct cookie_entry {
	uint64_t key;		/* hash of host, incarnation, cookie; 0: free */
	uint32_t remote, local;
	uint64_t incarnation;
	char host[BRIDGE_HOST_MAX + 1];
};

struct cookie_map {
	struct cookie_entry e[COOKIE_MAP];
	unsigned next;		/* the slot the next new half takes */
	uint32_t (*fresh)(void);	/* a new local cookie: notify_new_cookie */
};

/* The local cookie for the move cookie of ev (IN_MOVED_FROM or _TO). */
uint32_t cookie_local(struct cookie_map *m, const struct bridge_event *ev);

#endif
