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
 * arrays are sized once, when the registry is created.  Storage
 * (domain/backing.h): the header, the instances and both hash bucket
 * arrays are backed (fallocated) when the file is made, before it is
 * published, since they are read without the lock at any index; the inode
 * and watch records are backed BACKING_CHUNK bytes at a time, under the
 * lock, before the allocator hands out the first record of a chunk, and
 * inode_backed / watch_backed say how far (the highest index whose record
 * is backed).  Everything read from here is validated against these
 * capacities and against the backed counts before use, since another
 * process may have written anything.
 *
 * Locking: one robust, process-shared mutex, registry.lock, protects every
 * field below it except the atomics, which are read without it (the hooks'
 * fast path reads watch_count).  The inode hash buckets are written under
 * the lock but with atomic stores, because the hooks' per-inode filter
 * (domain.h: domain_maybe_watched) reads them without it; so are the
 * counts watch_count and dirs_watched.  If a process dies holding the lock
 * (EOWNERDEAD), the next locker (domain.c: domain_lock) rebuilds every
 * derived structure (hash chains, lists, free lists, live_instances,
 * watch_count, dirs_watched) from the records' own fields (repair.c:
 * registry_repair), inside an odd repair_seq, so that the filter never
 * reads a watched inode's bucket as empty while it does; the cookie and
 * excl_unlink_seen are kept as they are.  The lock is taken within the
 * bound of util/shlock.h (20 ms, 250 ms at most); lock_rec is its record.
 * What a taker gives up on is covered by IN_Q_OVERFLOW through lost[], a
 * word per instance slot set without the lock (core/slots.h: slot_lost).
 */
#ifndef SHIM_DOMAIN_LAYOUT_H
#define SHIM_DOMAIN_LAYOUT_H

#include <pthread.h>
#include <stdint.h>

#include "../util/ident.h"
#include "../util/shlock.h"

#define REGISTRY_MAGIC 0x5254534745524e49ULL /* "INREGSTR" */
#define REGISTRY_VERSION 8	/* 2: hash buckets placed by locality; 3: excl_unlink_seen;
				 * 4: dirs_watched, INODE_DIR;
				 * 5: backed records, the storage/sharing/quiet counters;
				 * 6: the bounded waits' group (repair_seq, stall, lost);
				 * 7: reg_inode.hook_* (the scanner's hook stamps);
				 * 8: lock_rec (util/shlock.h), not stall alone */

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
/* Bits 16-31: how many open-file records of processes under the shim hold
 * this directory (notify.h notify_dir_opened()); a hint that says when
 * the fds of other processes are worth looking at. */
#define INODE_OPENS_SHIFT 16

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

	/* -- the bounded waits (util/shlock.h, core/slots.h), read and written
	 * without the lock, every one with atomics -- */
	uint32_t repair_seq;	/* odd while registry_repair() rebuilds the
				 * buckets: the filter then says "maybe" */
	uint32_t lost_events;	/* statistics: events covered by an overflow
				 * because they could not be queued */
	uint32_t relay_active;	/* issue 15: RELAY_RUNNING, RELAY_SERVED
				 * (src/relay/relay.h); was padding */
	/* per slot: the gen of the instance that lost events since its last
	 * read (0: none); its next read or locked add queues IN_Q_OVERFLOW */
	uint32_t lost[REGISTRY_INSTANCES];
	struct shlock_rec lock_rec;	/* registry.lock's record (shlock.h):
					 * stall word, progress, holder's pid
					 * namespace */
	/* -- end of the bounded waits' group -- */

	pthread_mutex_t lock;
	/* protected by lock */
	uint32_t live_instances;
	uint32_t inode_free;	/* free lists, linked through hash_next/inode_next */
	uint32_t watch_free;
	uint32_t inode_hwm;	/* records above these were never used */
	uint32_t watch_hwm;
	uint32_t repairs;	/* times a dead holder's state was rebuilt */

	/* ---- storage, sharing and quiet (issue 12) ----------------------
	 * inode_backed, watch_backed: the highest record index backed, grown
	 * under the lock (registry.c: registry_back_records), stored and read
	 * atomically.  The counters are atomic adds, no lock, shown by
	 * inotify-shim ps: what the library no longer prints (util/log.h). */
	uint32_t inode_backed;
	uint32_t watch_backed;
	uint64_t refusals;	/* domain files refused by its processes */
	uint64_t lost_overflows;	/* IN_Q_OVERFLOW queued for events lost
					 * otherwise than to a full queue */
	uint64_t storage_failures;	/* pages the file system could not back */
};

#endif
