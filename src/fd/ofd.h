/*
 * ofd.h - the pool of open-file records.
 *
 * Open-file records (struct ofd) stand for the kernel's open file
 * descriptions: dup and fork share one, and the close events come when
 * the last fd on it closes.  A record is free while refs is 0; it is taken
 * with a compare-and-swap, so allocation is lock-free and signal-safe.
 * The fd table (fdtable.h) maps fds to records; this file knows nothing of
 * fds.
 *
 * Lifetime: the pool is private memory, made at first use (fdtable_init())
 * and inherited by fork.  A record that another process or the next image
 * may hold (fork, exec, posix_spawn) is also entered in the domain's table
 * of shared open files (domain/openfiles.h, hooks/share.c), which decides
 * whose close is last.
 */
#ifndef SHIM_FD_OFD_H
#define SHIM_FD_OFD_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "../domain/openfiles.h"
#include "../util/ident.h"

#define OFD_WRITE 0x1		/* opened for writing: IN_CLOSE_WRITE */
#define OFD_DIR_KNOWN 0x2	/* dir and name are set */
#define OFD_LISTING 0x4		/* readdir has started on it */
#define OFD_SHARED 0x8		/* a fork since: other processes may hold it */
#define OFD_ADOPTED 0x10	/* found open, not seen opening (inherited?) */
#define OFD_EXITED 0x20		/* its exit events were given */
#define OFD_DIR_LATE 0x40	/* dir not asked yet (files.c, "Directories
				 * asked late") */
#define OFD_DIR_ASKING 0x80	/* a thread is setting dir and name */
#define OFD_OPENS_COUNTED 0x100	/* a directory counted in its watched
				 * inode's opens (notify_dir_opened()) */
/* what a shared entry keeps */
#define OFD_DATA_FLAGS (OFD_WRITE | OFD_DIR_KNOWN | OFD_DIR_LATE)

struct ofd {
	uint32_t refs;		/* fds on it in this process; 0 = free */
	uint32_t flags;		/* OFD_*; changed with atomics once the
				 * record is in the table */
	struct inode_info inode;
	struct inode_info dir;
	char name[NAME_MAX + 1];
	int64_t exit_off;	/* offset before the exit's stdio flush */
	struct of_ref share;	/* its entry in the shared table, or idx 0 */
	/* dir and name follow renames (hooks/files.c, "Renamed open
	 * files"): changed under names_seq, odd while one is written, and
	 * asked again when names_stamp is no longer the domain's last move
	 * cookie.  Zero in a new record. */
	uint32_t names_seq;
	uint32_t names_stamp;
};

/* The table's size (fdtable.h), which bounds the pool's. */
#define FDTABLE_SIZE (1u << 20)
/* One record per fd the table can hold: a record is in use only while an
 * fd of this process is on it, so the pool cannot run out while the table
 * tracks the fds.  The first OFD_POOL_HOT records are searched first, so
 * that a process with fewer open files than that touches no more memory
 * than it did when the pool had only those (the rest is reserved, not
 * touched: MAP_NORESERVE). */
#define OFD_POOL_SIZE FDTABLE_SIZE
#define OFD_POOL_HOT (1u << 16)

/* Map the pool (all of it reserved, only the hot part usable); called by
 * fdtable_init().  Returns 0 or -ENOMEM. */
int ofd_pool_init(void);

/* The pool, or NULL before init. */
extern struct ofd *fdtable_pool;
/* 1 + the index of o in the pool (the fd table's word for it), and back:
 * NULL for an index that is not a record. */
static inline uint32_t ofd_index(const struct ofd *o)
{
	return (uint32_t)(o - fdtable_pool + 1);
}
static inline struct ofd *ofd_at(uint32_t idx)
{
	struct ofd *pool = __atomic_load_n(&fdtable_pool, __ATOMIC_ACQUIRE);

	if (idx == 0 || idx > OFD_POOL_SIZE || !pool)
		return NULL;
	return &pool[idx - 1];
}

/* A fresh record with refs 1, or NULL when the pool is full (it cannot
 * be while every fd below FDTABLE_SIZE holds at most one record: a NULL
 * means records leaked, and is logged once). */
struct ofd *ofd_new(void);
void ofd_get(struct ofd *o);
/* Drop one reference; true when it was the last. */
bool ofd_put(struct ofd *o);
/* Release the memory of a record whose last reference was dropped. */
void ofd_free(struct ofd *o);
/* Records in use in this process, and those of them entered in the shared
 * table (read without a lock: the fork and exec hooks' fast test). */
extern uint32_t ofd_live, ofd_shared;
/* ofd_live is not exported: test/fd_objects.c, the regression test of
 * records leaked by concurrent adoption, finds it in the library's symbol
 * table (test/internals.c). */

#endif
