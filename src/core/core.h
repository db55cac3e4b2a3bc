/*
 * core.h - the inotify core: instances and the kernel's watch rules, with
 * one entry point per operation of the seed's core API.  Both consumers
 * are built on it and on nothing else:
 *   - the fd front end (instance/), inotify_user.c's counterpart, and
 *   - the consumer API (consumer.c), handles with an operations table.
 * There is no second path for the rules, and none for events: notify/
 * decides which watches an event matches and what each gets (IN_ONESHOT,
 * IN_EXCL_UNLINK, self-deletion, for every consumer alike), and hands each
 * to core_handle_event(), the one entry point through which an event
 * enters the domain (below, "Delivery"); core queues it.
 *
 * Origin: every event says where it came from (enum core_origin): a hook
 * of this process today; issue 11's relay and scanner and issue 12's
 * bridge later.  It is there so that sources can be told apart: an event
 * that two sources see (a hook's and the scanner's of the same change) is
 * delivered once (deduplication), and an event that a bridge or relay
 * made is never sent back to where it came from (loop prevention).
 *
 * Functions return a negative errno on failure, never touch errno, and
 * take registry.lock themselves (never held on entry), within the bound of
 * util/shlock.h: past it an inotify call fails with ENOMEM (as the
 * kernel's do when it cannot allocate), and holder bookkeeping (dup, fork,
 * close) is skipped (liveness is the FIFO's open count, not the records).
 */
#ifndef SHIM_CORE_H
#define SHIM_CORE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "slots.h"
#include "../util/ident.h"

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

/* ---- Delivery: the one entry point of events (see the top) */

enum core_origin {
	CORE_ORIGIN_HOOK,	/* a hook of this process (notify_*) */
	CORE_ORIGIN_RELAY,	/* issue 15: from the kernel's inotify (inotify-shim relay) */
	CORE_ORIGIN_SCANNER,	/* issue 15: found by scanning (inotify-shim scan) */
	CORE_ORIGIN_BRIDGE,	/* issue 16: from another host (the bridge) */
};

/* One event for one watch, as the seed's handle_event gets it (the wd is
 * the watch's). */
struct core_event {
	enum core_origin origin;
	uint32_t mask;
	uint32_t cookie;
	const char *name;	/* or NULL */
};

/* What core does with an event for a watch: the seed's inotify_operations.
 * Today one table, which queues to the watch's instance (merge, overflow,
 * lost-event marking: queue.h, slots.h). */
struct reg_watch;
struct core_pass;
struct core_event_ops {
	void (*handle_event)(struct core_pass *p, const struct reg_watch *w,
			     const struct core_event *ev);
};

/* One delivery pass, under registry.lock: instances found dead are
 * reclaimed once it ends, so that no watch list changes under the walk. */
#define CORE_PASS_MAX_DEAD 8
struct core_pass {
	struct domain *d;
	uint32_t dead[CORE_PASS_MAX_DEAD];
	int ndead;
	bool timedout;		/* begin gave up on registry.lock */
};

/* Begin a pass: false, with nothing held, when no watch exists in the
 * domain or registry.lock was not had within the bound (p->timedout);
 * then, for a pass that gives events (events), every instance that has a
 * watch is marked lost (slot_lost_all).  Wakes first what this process
 * left unwoken (slot_wake_unwoken). */
bool core_pass_begin(struct core_pass *p, bool events);
/* A pass inside a caller's registry.lock (the *_locked calls): its dead
 * instances are left to the next reap; there is no core_pass_end. */
void core_pass_locked(struct core_pass *p, struct domain *d);
/* Reclaim the dead found, and release registry.lock. */
void core_pass_end(struct core_pass *p);

/* The entry point: ev to the instance of watch widx (registry.lock held,
 * by the pass).  A watch that is gone is skipped, and so is the source's
 * own instance for the events of its origin (below). */
void core_handle_event(struct core_pass *p, uint32_t widx, const struct core_event *ev);

/* Loop prevention for a source that also reads the domain through an
 * instance of its own (the bridge publishes what its instance reads):
 * from now on, the events of origin that this process makes are not
 * queued to ref, but IN_IGNORED (its watch ends all the same).  One per
 * process; set it before the first event of that origin. */
void core_set_source_instance(enum core_origin origin, struct slot_ref ref);

/* ---- The front end's look-ups (instance/ takes no registry lock) */

/* The instance whose FIFO fd is (fstat), under the lock: 1 and *ref, or
 * 0 (not a FIFO, none, no lock within the bound). */
int core_find_by_fifo(int fd, struct slot_ref *ref);

/* The same from st, without the lock (each field read once): trusted only
 * because the caller's fstat of its own fd matched. */
bool core_fifo_instance_unlocked(const struct stat *st, struct slot_ref *ref);

/* After exec, without any lock: adopt(fd, ref, arg) for every fd that the
 * records say this pid holds and that still is that instance's FIFO;
 * core_forget_holder for the others (closed by exec).  Returns true when
 * some instance's holder list is full, so that this process may hold an
 * fd of it that no record names (the caller then looks at its fds with
 * core_fifo_instance_unlocked). */
bool core_adopt_after_exec(void (*adopt)(int fd, struct slot_ref ref, void *arg),
			   void *arg);

/* The instance that another process pid holds at fd, by its records and
 * its /proc/pid/fd/fd still leading to the instance's FIFO. */
bool core_find_holder(long pid, long fd, struct slot_ref *ref);

/* Watch wd of ref: its record index (0 if none) and inode. */
uint32_t core_watch_ident(struct slot_ref ref, int32_t wd, struct ident *id);

/* The instance's watches, newest first (its list's order, as the
 * kernel's): how many, with *out malloc'd, or -1. */
struct core_mark {
	uint32_t widx;
	int32_t wd;
	uint32_t mask;		/* IN_ALL_EVENTS, IN_EXCL_UNLINK, IN_ONESHOT */
	struct ident id;
};
int core_marks(struct slot_ref ref, struct core_mark **out);

/* The domain's file of watch handles (instance/fdinfo.h), O_RDWR, made
 * when create and absent; a negative errno. */
int core_handles_open(bool create);

/* Is this process attached to a domain? */
bool core_attached(void);

#endif
