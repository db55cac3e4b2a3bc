/*
 * relay_table.h - the relay's own bookkeeping (tools/relay.c): its kernel
 * watches by wd and by inode, the kernel events it holds for HOLD_MS, and
 * the hooks' stamps it has read from the ring and not yet matched.
 */
#ifndef SHIM_TOOLS_RELAY_TABLE_H
#define SHIM_TOOLS_RELAY_TABLE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/inotify.h>
#include <sys/types.h>

#include "relay/relay.h"	/* struct domain, struct relay_ring */
#include "util/ident.h"

struct relay_watch {
	int wd;				/* 0: a free entry */
	struct ident id;
	mode_t mode;
	bool removing;			/* rm_watch made: kept until IN_IGNORED,
					 * so that events queued before still
					 * find it */
};

/* Kernel wds (small, increasing) index the entries; a hash of the inode
 * finds a wd (open addressing, -1 free, -2 removed). */
struct relay_table {
	struct relay_watch *w;		/* by wd */
	int cap;			/* entries of w */
	int *hash;
	int hcap;			/* a power of two */
	int hused;			/* slots not free (removed ones too) */
	int n;				/* live watches */
	int cursor;			/* relay_table_next's */
};

int relay_table_init(struct relay_table *t);
int relay_table_find(const struct relay_table *t, const struct ident *id);
int relay_table_add(struct relay_table *t, int wd, const struct ident *id, mode_t mode);
const struct relay_watch *relay_table_get(const struct relay_table *t, int wd);
void relay_table_remove(struct relay_table *t, int wd);
/* The next live watch in a round over them all, or NULL. */
struct relay_watch *relay_table_next(struct relay_table *t);

/* Kernel events held, in the kernel's order. */
#define RELAY_PENDING 8192
struct relay_event {
	uint64_t t;			/* when read */
	int wd;
	uint32_t mask, cookie;
	char name[NAME_MAX + 1];
};
struct relay_pending {
	struct relay_event *e;
	uint32_t head, tail;
};
int relay_pending_init(struct relay_pending *p);
bool relay_pending_full(const struct relay_pending *p);
void relay_pending_push(struct relay_pending *p, uint64_t t, const struct inotify_event *ev);
const struct relay_event *relay_pending_peek(const struct relay_pending *p);
void relay_pending_drop(struct relay_pending *p);

/* Stamps read and not yet consumed (the oldest overwritten when full). */
#define RELAY_KEPT 8192
struct relay_stamps {
	struct relay_stamp s[RELAY_KEPT];
	uint32_t next;
};
void relay_stamps_add(struct relay_stamps *st, const struct relay_stamp *s);
void relay_stamps_expire(struct relay_stamps *st, uint64_t before_ns);
/* Is an unconsumed stamp of (id, mask, name) there?  Consumes it. */
bool relay_stamps_take(struct relay_stamps *st, const struct ident *id, uint32_t mask,
		       uint32_t name);

/* relay_setup.c: the ring (0, or -1 said on stderr) and the socket (its
 * fd, or -1 said), in the domain directory. */
int relay_make_ring(const char *prog, struct domain *d, int *ringfd,
		    struct relay_ring **ring);
int relay_make_socket(const char *prog, struct domain *d);

/* relay_adopt.c: for every watched inode that t does not mirror and that a
 * path recorded in the domain leads to, fn(arg, fd, id) with an O_PATH fd
 * on it (closed after) and its registry identity.  Returns how many. */
typedef void (*relay_adopt_fn)(void *arg, int fd, const struct ident *id);
int relay_adopt(struct domain *d, const struct relay_table *t, relay_adopt_fn fn, void *arg);

#endif
