/*
 * scan.h - the scanner command's parts: the set of watched objects it
 * follows (scan_set.c) and the delivery of what it finds (scan_deliver.c).
 *
 * Everything here runs in the scanner's one thread.  The registry is read
 * under registry.lock only in scan_set_sync(), which copies the watched
 * identities and lets the lock go before any file is looked at.
 */
#ifndef SHIM_TOOLS_SCAN_H
#define SHIM_TOOLS_SCAN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "scan/diff.h"
#include "scan/held.h"
#include "util/ident.h"

struct scan_obj {
	struct ident id;
	bool dir;
	bool gone;		/* told IN_DELETE_SELF: no more looks */
	int fd;			/* O_PATH on it, or -1 while not found */
	int shard;		/* the shard that looks at it (a directory), or -1 */
	int sfd;		/* fd in its shard's table, or -1 */
	struct scan_held held;	/* its entries' fds in its shard's table */
	char *path;		/* where it was last known to be */
	struct ident parent;	/* its directory's identity, when known */
	bool has_parent;
	bool parent_watched;
	struct scan_snap snap;	/* the last look (present false: none yet) */
	int64_t changed_ms;	/* monotonic time of its last change seen */
	int64_t looked_ms;	/* of its last look */
	int64_t first_ns;	/* realtime of its first look: older hook
				 * stamps say nothing (scan/hookstamp.h) */
	int64_t looked_ns;	/* realtime of the start of its last look */
};

struct scan_itab {		/* identity -> value, open addressing */
	struct ident *key;
	uintptr_t *val;
	size_t cap, n;
};

struct scan_set {
	struct scan_obj *o;
	size_t n;
	struct scan_itab index;	/* identity -> index + 1 in o */
	struct scan_itab paths;	/* identity -> strdup'd path */
	off_t paths_off;
	uint32_t watch_count;	/* the registry's, at the last sync */
	int64_t synced_ms;
	size_t cursor;		/* the rotation's next object */
	/* figures */
	uint64_t looks, stats, events, passes;
};

int64_t scan_now_ms(void);

/* Follow the registry: add the watched inodes not followed yet (found by
 * their path in the side table, scan/paths.h), drop the unwatched ones.
 * Cheap when the registry's watch count has not changed and the last sync
 * is recent.  Returns the number of watched inodes, or a negative errno. */
int scan_set_sync(struct scan_set *s, bool force);

/* One tick: look at the recently changed objects and the next batch of the
 * rotation (a whole cycle in cycle_ms), and deliver what changed. */
int scan_set_tick(struct scan_set *s, int64_t hot_ms, int64_t cycle_ms,
		  int64_t tick_ms);

/* The watched inodes whose path no process recorded (made by a process
 * without $INOTIFY_SHIM_SCAN, scan/paths.h): the scanner cannot follow
 * them. */
size_t scan_set_unrecorded(const struct scan_set *s);

void scan_set_free(struct scan_set *s);

/* The one place where the scanner's events enter the domain: each
 * operation of scan_diff() becomes one call of notify/'s *_from, with the
 * origin CORE_ORIGIN_SCANNER (core_handle_event). */
void scan_deliver(struct scan_set *s, const struct scan_item *items,
		  struct scan_obj **objs, const struct scan_ops *ops);

/* Looks at directories by the shard threads (scan_shard.c). */
struct scan_look {
	struct scan_obj *o;
	struct scan_snap *out;	/* the look */
	struct scan_held held;	/* its entries' fds, to replace o->held */
	int ret;
	bool unlooked;		/* no shard could: the caller looks by name */
	bool same;		/* nothing changed: o->snap stays (SCAN_SAME) */
	uint64_t stats;
};
/* Look at v[0..n) (each a directory found), every shard at once; returns
 * when all are done.  0 or -ENOMEM (some then unlooked). */
int scan_shards_look(struct scan_look *v, size_t n);
/* o leaves the set: its fds in its shard's table are closed there. */
void scan_shards_drop(struct scan_obj *o);
/* The fds held in all shards, and their number in *count. */
size_t scan_shards_held(int *count);
void scan_shards_stop(void);

/* The state file (scan_status.c): written by the scanner, printed by ps
 * (json: as a member ,"scanner":{...} of ps's object). */
void scan_status_write(const struct scan_set *s, int64_t last_pass_ms,
		       long interval, long cycle);
void scan_status_remove(void);
void scan_status_print(FILE *f, bool json);

/* The identity table. */
uintptr_t scan_itab_get(const struct scan_itab *t, const struct ident *id);
int scan_itab_put(struct scan_itab *t, const struct ident *id, uintptr_t val);
void scan_itab_free(struct scan_itab *t);

#endif
