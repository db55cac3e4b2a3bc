/*
 * fdtable.h - what this process knows about its own fds.
 *
 * One 64-bit word per fd number, read and written atomically, so that any
 * thread and any signal handler can ask "is fd an emulated instance?" with
 * one load and no lock.  A word holds:
 *   FD_NONE       nothing known: the hooks treat the fd as the kernel would;
 *   FD_INSTANCE   an emulated instance's fd, with its (slot, gen);
 *   FD_FILE       a file opened under the shim, with its open-file record;
 *   FD_OTHER      not a file that can be watched (a pipe, a socket): the
 *                 hooks need not look at it again until it is closed.
 *                 The shim's own cached fds (core/slots.c) are FD_OTHER
 *                 with a tag: the hooks treat them as any pipe, and any
 *                 close, dup2 or close_range of the fd through them wipes
 *                 the tag, which is how the shim learns that the fd is no
 *                 longer its own.
 *
 * Open-file records (struct ofd) stand for the kernel's open file
 * descriptions: dup and fork share one, and the close events come when
 * the last fd on it closes.  A record is free while refs is 0; it is taken
 * with a compare-and-swap, so allocation is lock-free and signal-safe.
 *
 * Lifetime: the table and the records are private memory, made at first
 * use and inherited by fork; after exec, the instance fds the process still
 * holds are found again from the registry's holder lists (instance.c).
 * A record that another process or the next image may hold (fork, exec,
 * posix_spawn) is also entered in the domain's table of shared open files
 * (domain/openfiles.h, hooks/share.c), which decides whose close is last.
 */
#ifndef SHIM_FDTABLE_H
#define SHIM_FDTABLE_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "../core/slots.h"
#include "../domain/openfiles.h"
#include "../util/ident.h"

enum fd_kind { FD_NONE = 0, FD_INSTANCE = 1, FD_FILE = 2, FD_OTHER = 3 };

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

#define FDTABLE_SIZE (1u << 20)
/* One record per fd the table can hold: a record is in use only while an
 * fd of this process is on it, so the pool cannot run out while the table
 * tracks the fds.  The first OFD_POOL_HOT records are searched first, so
 * that a process with fewer open files than that touches no more memory
 * than it did when the pool had only those (the rest is reserved, not
 * touched: MAP_NORESERVE). */
#define OFD_POOL_SIZE FDTABLE_SIZE
#define OFD_POOL_HOT (1u << 16)

/* Make the table; called by the constructor.  Returns 0 or -ENOMEM. */
int fdtable_init(void);

/* The word of fd, its kind, and its instance or record. */
uint64_t fdtable_word(int fd);
/* fdtable_word(), inline, for the hooks' quiet checks (families.h). */
extern uint64_t *fdtable_words;
static inline uint64_t fdtable_peek(int fd)
{
	uint64_t *t = __atomic_load_n(&fdtable_words, __ATOMIC_ACQUIRE);

	if (!t || fd < 0 || (unsigned)fd >= FDTABLE_SIZE)
		return 0;
	return __atomic_load_n(&t[fd], __ATOMIC_ACQUIRE);
}
enum fd_kind fdtable_kind(int fd);
bool fdtable_instance(int fd, struct slot_ref *ref);
struct ofd *fdtable_file(int fd);

void fdtable_set_instance(int fd, struct slot_ref ref);
void fdtable_set_file(int fd, struct ofd *ofd);
void fdtable_set_other(int fd);
/* The shim's own fd, tagged (tag < 2^44); is fd still that one? */
void fdtable_set_own(int fd, uint64_t tag);
bool fdtable_is_own(int fd, uint64_t tag);
/* Forget fd; returns what it was (for the caller to act on). */
uint64_t fdtable_clear(int fd);
/* Adoption of an fd nobody knew (FD_NONE): the word of fd becomes o's
 * record (or FD_OTHER, for o NULL) only if it is still FD_NONE, with a
 * compare-and-swap, so that two threads adopting one fd agree on one
 * record.  Returns the word the table holds after: o's when o won, the
 * winner's otherwise (the caller then frees o, which nobody saw). */
uint64_t fdtable_adopt(int fd, struct ofd *o);

/* newfd now refers to what oldfd does (dup).  Returns the new word. */
uint64_t fdtable_dup(int oldfd, int newfd);

/* The highest fd that was ever given a word, or -1: fds above it are
 * FD_NONE (close_range scans no further). */
int fdtable_high(void);

/* Decode a word returned above. */
static inline enum fd_kind fdword_kind(uint64_t word)
{
	return (enum fd_kind)(word >> 60);
}

struct slot_ref fdword_instance(uint64_t word);

extern struct ofd *fdtable_pool;
static inline struct ofd *fdword_file(uint64_t word)
{
	uint32_t idx = (uint32_t)word;
	struct ofd *pool = __atomic_load_n(&fdtable_pool, __ATOMIC_ACQUIRE);

	if (fdword_kind(word) != FD_FILE || idx == 0 || idx > OFD_POOL_SIZE || !pool)
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
/* Test only (not in the public header): ofd_live, for the regression
 * test of records leaked by concurrent adoption (test/fd_objects.c). */
uint32_t inotify_shim__test_records_live(void);

/* Visit every fd open in this process, as /proc/self/fd lists them (the
 * table's knowledge aside), through the real calls: no hook runs, no lock
 * is taken, nothing is allocated.  Returns 0, or a negative errno when the
 * list cannot be read. */
int fdtable_scan_proc(void (*fn)(int fd, void *arg), void *arg);

/* Visit every fd known as an instance (fork, exit). */
void fdtable_for_each_instance(void (*fn)(int fd, struct slot_ref ref, void *arg),
			       void *arg);

#endif
