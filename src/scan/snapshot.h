/*
 * snapshot.h - what the scanner remembers of a watched object between two
 * looks: a watched directory's entries, each with its attributes, and the
 * watched object's own attributes.
 *
 * Attributes come from one statx per entry, to the nanosecond (size, mtime,
 * ctime, mode, nlink, owner, inode and birth time): nothing is compared to
 * the whole second.  Entries are kept sorted by name, so that two
 * snapshots of one directory are compared in one merge (diff.h).
 *
 * Lifetime: a snapshot owns its names; scan_snap_free() releases them.
 * Nothing here touches the domain: these are plain files and directories,
 * and the unit tests build snapshots by hand.
 */
#ifndef SHIM_SCAN_SNAPSHOT_H
#define SHIM_SCAN_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct scan_attr {
	uint64_t dev, ino, btime;	/* the identity (util/ident.h) */
	uint32_t mode, nlink, uid, gid;
	uint64_t size;
	int64_t mtime, ctime;		/* nanoseconds since the epoch */
};

/* SCAN_DIRTY: its size or mtime changed at the last look; an
 * IN_CLOSE_WRITE is owed once they stop changing (diff.c). */
#define SCAN_DIRTY 0x1
/* SCAN_ARRIVED: within scan_diff() only, the entry arrived by a move. */
#define SCAN_ARRIVED 0x2

struct scan_entry {
	char *name;
	struct scan_attr a;
	uint32_t flags;		/* SCAN_* */
};

struct scan_snap {
	bool present;		/* the object could be looked at */
	struct scan_attr self;
	uint32_t self_flags;	/* SCAN_* for the object itself */
	size_t n, cap;
	struct scan_entry *e;	/* sorted by name (strcmp) */
	bool lent;		/* its names now belong to a later snapshot
				 * (held.h, scan_snap_look): freed without them */
};

/* The attributes of dirfd/name (name "" with AT_EMPTY_PATH: dirfd's own),
 * never following a last symbolic link.  0 or a negative errno. */
int scan_stat(int dirfd, const char *name, struct scan_attr *out);

/* Snapshot the directory that fd is open on (O_PATH is enough): its own
 * attributes and every entry but . and ..  An entry gone between reading
 * the directory and its statx is left out, as if the read had come later.
 * 0 or a negative errno; on error out is left empty. */
int scan_snap_dir(int fd, struct scan_snap *out);

/* Snapshot a non-directory: its own attributes only. */
int scan_snap_self(int fd, struct scan_snap *out);

/* Add an entry (tests build snapshots so); keeps the order.  0 or -ENOMEM. */
int scan_snap_add(struct scan_snap *s, const char *name, const struct scan_attr *a);
/* The entry of that name, or NULL. */
struct scan_entry *scan_snap_find(const struct scan_snap *s, const char *name);

void scan_snap_free(struct scan_snap *s);

#endif
