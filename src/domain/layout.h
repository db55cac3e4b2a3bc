/*
 * layout.h - the shared-memory registry of a domain, as laid out in the file
 * <domain dir>/registry that every process under the shim maps.
 *
 * One registry holds, for every process of the domain:
 *   - instances: one slot per emulated inotify instance (the kernel's
 *     fsnotify_group), with its watch list and wd allocator;
 *   - inodes: one record per watched inode (the kernel's mark connector),
 *     found through a hash of its identity, holding the list of its marks;
 *   - watches: one record per (instance, inode) pair (the kernel's
 *     inotify_inode_mark), linked into its inode's list, its instance's list
 *     and a hash keyed by (instance, wd).
 * Each instance's event queue lives in a file of its own (queue/queue.h).
 *
 * Every link is a record index; 0 means "none", records count from 1.  The
 * arrays are sized once, when the registry is created, and the file is
 * sparse: pages are only backed once a record in them is used.  Everything
 * read from here is validated against these capacities before use, since
 * another process may have written anything.
 *
 * Locking: one robust, process-shared mutex, registry.lock, protects every
 * field below it except the atomics, which are read without it (the hooks'
 * fast path reads watch_count).  The inode hash buckets are written under
 * the lock but with atomic stores, because the hooks' per-inode filter
 * (domain.h: domain_maybe_watched) reads them without it; so are the
 * counts watch_count and dirs_watched.  If a holder dies, the next locker rebuilds
 * every derived structure (hash chains, lists, free lists, counts) from the
 * records' own fields (domain.c: registry_repair).
 */
#ifndef SHIM_DOMAIN_LAYOUT_H
#define SHIM_DOMAIN_LAYOUT_H

#include <pthread.h>
#include <stdint.h>

#include "../util/ident.h"

#define REGISTRY_MAGIC 0x5254534745524e49ULL /* "INREGSTR" */
#define REGISTRY_VERSION 5	/* 2: hash buckets placed by locality; 3: excl_unlink_seen;
				 * 4: dirs_watched, INODE_DIR; 5: reg_inode.hook_* */

#define REGISTRY_INSTANCES 1024	/* slots; slot 0 is never used */
#define REGISTRY_WATCHES (1u << 20)	/* watch records, and inode records */
#define HOLDERS_PER_INSTANCE 16

enum record_state { RECORD_FREE = 0, RECORD_USED = 1 };

#define REG_HOOK_SLOTS 3	/* 32 bytes: a record of 72 */

struct reg_inode {
	struct ident id;
	uint32_t state;
	uint32_t hash_next;	/* next inode in the same hash bucket */
	uint32_t marks;		/* first watch on this inode */
	uint32_t flags;		/* INODE_* */
	/* the changes last delivered to its watches, so that the scanner does
	 * not report them again (scan/hookstamp.h); hints, never validated */
	uint32_t hook_name[REG_HOOK_SLOTS];	/* a hash of the name */
	uint32_t hook_ms[REG_HOOK_SLOTS];	/* realtime ms, rounded up, mod 2^32 */
	uint16_t hook_mask[REG_HOOK_SLOTS];	/* the event (all below 0x1000) */
	uint16_t hook_next;
};

/* The inode was unlinked while open somewhere: its IN_DELETE_SELF waits for
 * the last close. */
#define INODE_DELETE_PENDING 0x1
/* The inode is a directory (set when the record is made; counted in
 * registry.dirs_watched). */
#define INODE_DIR 0x2

struct reg_watch {
	uint32_t state;
	uint32_t inode;		/* its inode record */
	uint32_t instance;	/* its instance slot */
	int32_t wd;
	uint32_t mask;		/* IN_ALL_EVENTS bits asked for */
	uint32_t flags;		/* IN_ONESHOT | IN_EXCL_UNLINK */
	uint32_t inode_next;	/* next mark on the same inode */
	uint32_t inst_next;	/* next watch of the same instance */
	uint32_t wd_next;	/* next watch in the same (instance, wd) bucket */
	uint32_t reserved;
};

struct reg_holder {
	int32_t pid;
	int32_t fd;
};

struct reg_instance {
	uint32_t state;
	uint32_t gen;		/* bumped at every allocation of the slot */
	int32_t last_wd;	/* the cyclic wd allocator's cursor */
	uint32_t nwatches;
	uint32_t watches;	/* first watch of this instance */
	uint32_t max_events;
	uint64_t fifo_dev;	/* identity of the instance's FIFO */
	uint64_t fifo_ino;
	int32_t creator_pid;
	uint32_t nholders;
	struct reg_holder holders[HOLDERS_PER_INSTANCE];
};

struct registry {
	uint64_t magic;
	uint32_t version;
	uint32_t header_size;	/* sizeof(struct registry) */
	uint64_t total_size;
	uint32_t uid;
	uint32_t ninstances;	/* capacities */
	uint32_t ninodes;
	uint32_t nwatches;
	uint32_t ninode_buckets;	/* powers of two */
	uint32_t nwd_buckets;
	uint64_t off_instances;	/* byte offsets from the start of the file */
	uint64_t off_inodes;
	uint64_t off_watches;
	uint64_t off_inode_buckets;
	uint64_t off_wd_buckets;

	/* read without the lock */
	uint32_t watch_count;	/* atomic: live watches, the hooks' fast test */
	uint32_t cookie;	/* atomic: the last move cookie handed out */
	uint32_t excl_unlink_seen;	/* atomic, set once: some watch had
					 * IN_EXCL_UNLINK (the close hook asks) */
	uint32_t dirs_watched;	/* atomic: inode records of directories (the
				 * open hook asks before looking up a
				 * file's directory) */

	pthread_mutex_t lock;
	/* protected by lock */
	uint32_t live_instances;
	uint32_t inode_free;	/* free lists, linked through hash_next/inode_next */
	uint32_t watch_free;
	uint32_t inode_hwm;	/* records above these were never used */
	uint32_t watch_hwm;
	uint32_t repairs;	/* times a dead holder's state was rebuilt */
};

#endif
