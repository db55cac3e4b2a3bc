/*
 * core.h - the inotify core: instances and the kernel's watch rules, with
 * one entry point per operation of the seed's core API.  Both consumers
 * are built on it and on nothing else:
 *   - the fd front end (instance/), inotify_user.c's counterpart, and
 *   - the consumer API (consumer.c), handles with an operations table.
 * There is no second path for the rules.  Events reach an instance through
 * notify/, which applies the delivery rules (IN_ONESHOT, IN_EXCL_UNLINK,
 * self-deletion) for every consumer alike.
 *
 * Functions return a negative errno on failure, never touch errno, and
 * take registry.lock themselves (never held on entry), within the bound of
 * util/shlock.h: past it an inotify call fails with ENOMEM (as the
 * kernel's do when it cannot allocate), and holder bookkeeping (dup, fork,
 * close) is skipped (liveness is the FIFO's open count, not the records).
 */
#ifndef SHIM_CORE_H
#define SHIM_CORE_H

#include <stdint.h>
#include <sys/types.h>

#include "slots.h"

/* The inotify bits a watch mask may carry (the kernel's ALL_INOTIFY_BITS). */
#define CORE_VALID_MASK                                                        \
	(IN_ALL_EVENTS | IN_UNMOUNT | IN_Q_OVERFLOW | IN_IGNORED | IN_ONLYDIR | \
	 IN_DONT_FOLLOW | IN_EXCL_UNLINK | IN_MASK_CREATE | IN_MASK_ADD |       \
	 IN_ISDIR | IN_ONESHOT)

#ifndef IN_MASK_CREATE
#define IN_MASK_CREATE 0x10000000
#endif

/* The checks that come before the fd is looked at: EINVAL for a mask that
 * is empty or carries unknown bits. */
int core_check_mask(uint32_t mask);

/* The checks that come after it: EINVAL for IN_MASK_ADD | IN_MASK_CREATE. */
int core_check_mask_flags(uint32_t mask);

/* A new instance whose fd (the FIFO's read end, opened O_RDWR) is returned
 * in *fd, with O_NONBLOCK and O_CLOEXEC as asked.  -EMFILE at the instance
 * limit, -ENOMEM when the domain is unavailable. */
int core_create(int nonblock, int cloexec, struct slot_ref *ref, int *fd);

/* The kernel's inotify_update_existing_watch: update the mask of the watch
 * on path's inode (IN_MASK_ADD or replace), -ENOENT if there is none,
 * -EEXIST with IN_MASK_CREATE. */
int core_find_update_watch(struct slot_ref ref, const char *path, uint32_t mask);

/* A new watch on path's inode: -EEXIST if this instance already has one. */
int core_new_watch(struct slot_ref ref, const char *path, uint32_t mask);

/* inotify_add_watch's rule: update if watched, else a new watch. */
int core_add_watch(struct slot_ref ref, const char *path, uint32_t mask);

/* Remove watch wd, queueing IN_IGNORED.  -EINVAL if there is none. */
int core_rm_wd(struct slot_ref ref, int32_t wd);

/* Remove every watch without an event (the seed's inotify_destroy). */
void core_destroy_watches(struct slot_ref ref);

/* Read whole events into buf.  fd is the instance's FIFO, used to block
 * (when its file is blocking) and for the readiness token.  Returns bytes,
 * or -EAGAIN, -EINTR, -EINVAL. */
ssize_t core_read(struct slot_ref ref, int fd, void *buf, size_t count);

/* The instance's fd is watched edge-triggered (EPOLLET) or signals
 * (O_ASYNC): a wake for every queued event from now on (queue.h). */
void core_set_edge(struct slot_ref ref);

/* Bytes queued (FIONREAD). */
int core_queued_bytes(struct slot_ref ref, int *bytes);

/* Record that this process holds (or no longer holds) the instance's fd;
 * after a close, reclaim the instance if nobody holds it any more. */
void core_hold(struct slot_ref ref, int fd);
void core_release(struct slot_ref ref, int fd);

/* This process no longer holds ref at fd (exec closed it): forget the
 * holder the next time the registry lock is had.  Takes no lock. */
void core_forget_holder(struct slot_ref ref, int fd);

/* Is ref a live instance? */
int core_valid(struct slot_ref ref);

#endif
