/*
 * backing.h - giving every page of a domain file storage before it is used.
 *
 * The domain's files (registry, queues, table of shared open files) are
 * mapped MAP_SHARED.  A page of such a mapping that has no storage behind
 * it is allocated at its first touch -- on tmpfs even by a read -- and when
 * the file system is full that touch is a SIGBUS, in whatever host program
 * made it.  So no page is touched before it has storage: the parts read
 * without a lock are backed when the file is made, before it is published;
 * the parts that grow (registry records, a queue's ring) are backed a chunk
 * at a time, by the process that is about to hand out the first record in
 * the chunk, and only then handed out.  A failure to back is an error the
 * caller reports in the kernel's terms (inotify_init1: ENOMEM;
 * inotify_add_watch: ENOSPC; an event: IN_Q_OVERFLOW), never a fault.
 */
#ifndef SHIM_DOMAIN_BACKING_H
#define SHIM_DOMAIN_BACKING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bytes backed at a time where a file grows on demand. */
#define BACKING_CHUNK (64u * 1024)

/* Give bytes [off, off + len) of the file open on fd storage:
 * fallocate(2) with mode 0 (the caller has checked that the file is at
 * least off + len long, so the size does not change).  Where the file
 * system has no fallocate (EOPNOTSUPP), map is the file's mapping (or
 * NULL) and its pages are populated instead (backing_populate).  Never
 * posix_fallocate's fallback of writing a byte a block, which on a full
 * file system is the very fault this avoids.  0, -ENOSPC, -ENOMEM, or
 * another negative errno. */
int backing_fallocate(int fd, void *map, uint64_t off, uint64_t len);

/* Give the pages of [addr, addr + len), a part of a MAP_SHARED mapping,
 * storage without touching them: madvise(MADV_POPULATE_WRITE), which
 * reports with EFAULT what a touch would have made a SIGBUS (a full file
 * system, or a page beyond the end of a file truncated meanwhile).  0,
 * -ENOSPC (for EFAULT), -ENOMEM, or -EOPNOTSUPP when the kernel has no
 * MADV_POPULATE_WRITE (before Linux 5.14): the caller must then have
 * backed the whole file when it was made. */
int backing_populate(void *addr, size_t len);

/* Is st_blocks of the file open on fd a count of its backed pages that a
 * hole must lower?  On tmpfs (and ramfs) it is, and there a read of a hole
 * allocates a page, so a file with holes where it must be backed is
 * refused by its size in blocks.  Elsewhere a read of a hole allocates
 * nothing, and st_blocks can be lower than the backed size without a hole
 * (a compressing file system stores zeros in no block): not asked. */
bool backing_blocks_count(int fd);

/* Does this kernel have MADV_POPULATE_WRITE?  Asked once, cached. */
int backing_can_populate(void);

#endif
