/*
 * shlock.h - the bounded wait on a lock of the domain.
 *
 * Every lock of the domain (registry.lock, each queue's lock, files.lock)
 * is a robust, process-shared, error-checking pthread mutex, and every
 * taker goes through shlock_take(): no process waits on another without
 * bound, whatever the holder does (stopped by SIGSTOP, Ctrl-Z, a debugger
 * or a frozen cgroup, or just slow).
 *
 * The bounds:
 *   SHLOCK_WAIT_MS (20 ms): a taker first tries the lock, then waits for
 *     it (pthread_mutex_clocklock, CLOCK_MONOTONIC) until 20 ms after it
 *     began.  It then looks at the lock: if it changed hands meanwhile
 *     (other waiters won it: contention, not a stuck holder), or if its
 *     holder bumped the lock's progress counter since the last look (its
 *     record, struct shlock_rec: every acquisition bumps it, and so does
 *     a holder at the progress points of a long section, shlock_progress),
 *     or, for a holder in this process's own pid namespace only (the
 *     record says which namespace its holder is in), if that holder (the
 *     owner tid of the futex word, in /proc/TID/stat) is running or
 *     runnable ('R'), in uninterruptible sleep ('D'), or asleep on a futex
 *     (/proc/TID/wchan: waiting for a lock nested inside this one, a wait
 *     bounded in turn), it is making progress, only slowed by a loaded
 *     machine, and the wait goes on, 20 ms at a time, looked at again
 *     after each, to
 *   SHLOCK_SLOW_MS (250 ms) at the most, whatever the holder's state.
 *     A holder that is stopped ('T', 't'), asleep otherwise ('S': paused,
 *     or frozen in a cgroup v2 freezer), gone from /proc or not found is
 *     given up on at 20 ms.
 *   Pid namespaces: the futex word's tid is the holder's own (its pid
 *     namespace's numbering), meaningless in another namespace's /proc (a
 *     watcher in a container, `unshare -p`, sharing the domain).  A holder
 *     in another namespace is judged by the counter, and, when its
 *     namespace is below ours (a container's, seen from its host), by its
 *     state in our /proc, found by a walk of /proc/N/status's NSpid lines
 *     (once per wait, after its first 20 ms; the first thread of a
 *     process only).  One in a namespace not below ours, or not known, is
 *     judged by the counter alone: one that does not bump it (stopped, or
 *     a short section preempted for 20 ms) is given up on at 20 ms, and
 *     what is given up is covered as below.  The
 *     namespace is the inode of /proc/self/ns/pid, and this process's own
 *     /proc counts as its namespace's only when /proc/self is its pid.
 *   SHLOCK_STALL_MS (1 s): once a taker gave up on a holder that made no
 *     progress (not one that reached 250 ms behind busy holders), the lock is marked
 *     stalled (a time stamp in the record's stall word, shared where the
 *     lock is); for the next second every taker only tries it, without
 *     waiting, so that a stopped holder costs each later operation nothing
 *     but a failed compare-and-swap.  Whoever gets the lock clears the mark.
 *     A queue's reader does not take that shortcut (below).
 * Giving up is the caller's business: an event is then covered by
 * IN_Q_OVERFLOW on the instances it would have reached (core/slots.h:
 * slot_lost), a read returns what it can, an inotify call fails (ENOMEM).
 *
 * Signals: the caller blocks them (util/sigdefer.h) before shlock_take and
 * unblocks them after the unlock, or at once when shlock_take failed.
 *
 * Test hook: $INOTIFY_SHIM_TEST_HOLD_LOCK=[LOCK[+MS]:]PATH, with LOCK one
 * of registry (the default), queue or files and PATH absolute: the first
 * time this process gets that lock, it creates PATH and then pauses
 * forever with the lock held, so that a test can stop or kill it there
 * (test/bounded_waits.c, test/faults.c).  With +MS it runs instead: it
 * holds the lock MS milliseconds, bumping its progress counter every
 * millisecond as a long section's progress points do (shlock_progress),
 * then goes on (test/pidns_holder.c).  LOCK repair parks it inside
 * registry_repair() instead, with the buckets cleared (shlock_test_point).
 * Unset, it costs one predicted branch per lock.
 */
#ifndef SHIM_UTIL_SHLOCK_H
#define SHIM_UTIL_SHLOCK_H

#include <pthread.h>
#include <stdint.h>

#define SHLOCK_WAIT_MS 20
#define SHLOCK_SLOW_MS 250
#define SHLOCK_STALL_MS 1000

/* SHLOCK_QUEUE_READER is a queue's lock taken by its reader: it always
 * waits the 20 ms, stalled or not, so that a program that polls a
 * level-triggered fd whose queue's lock is stuck loops at most 50 times a
 * second instead of spinning. */
enum shlock_kind { SHLOCK_REGISTRY, SHLOCK_QUEUE, SHLOCK_FILES, SHLOCK_REPAIR,
		   SHLOCK_KINDS, SHLOCK_QUEUE_READER = SHLOCK_KINDS };

/* What a lock shares beside its mutex, in the same shared memory; every
 * field read and written with atomics, without the lock. */
struct shlock_rec {
	uint32_t stall;		/* the stall mark (above) */
	uint32_t progress;	/* bumped by the holder: at each acquisition,
				 * and by shlock_progress() */
	uint64_t pidns;		/* the holder's pid namespace (the inode of
				 * /proc/self/ns/pid), 0: not known */
};

/* Make m a robust, process-shared, error-checking mutex. */
void shlock_init(pthread_mutex_t *m);

/* Take m within the bounds above.  rec is the lock's record (shared
 * memory beside the lock).
 * Returns 0, EOWNERDEAD (the holder died: the caller repairs what the lock
 * protects, then calls pthread_mutex_consistent), ETIMEDOUT (given up), or
 * another error of pthread_mutex_clocklock. */
int shlock_take(pthread_mutex_t *m, struct shlock_rec *rec, enum shlock_kind kind);

/* The one way the domain's locks are taken: shlock_take() with the
 * process's signals deferred while the lock is held (util/sigdefer.h:
 * sigdefer_begin() before the wait, sigdefer_end() when it is not taken),
 * and, when its holder died, repair(arg) run under the lock before the
 * lock is made consistent again.  Returns 0 (held), 1 (held, after a
 * repair: the caller adds what it marks or logs), or -errno (not held:
 * -ETIMEDOUT given up, or another error of shlock_take). */
int shlock_take_repair(pthread_mutex_t *m, struct shlock_rec *rec, enum shlock_kind kind,
		       void (*repair)(void *), void *arg);

/* A progress point of a long locked section (a repair, a walk of every
 * record): tells the takers waiting that the holder runs, in whatever pid
 * namespace it is.  One relaxed atomic add. */
static inline void shlock_progress(struct shlock_rec *rec)
{
	__atomic_add_fetch(&rec->progress, 1, __ATOMIC_RELAXED);
}

/* shlock_take_repair() without the wait: one trylock.  -EBUSY when the
 * lock is held (nothing else is done: the caller defers its work, and
 * nothing is marked stalled). */
int shlock_try_repair(pthread_mutex_t *m, struct shlock_rec *rec, enum shlock_kind kind,
		      void (*repair)(void *), void *arg);

/* The test hook's park, at a point that is not a lock (SHLOCK_REPAIR). */
void shlock_test_point(enum shlock_kind kind);

/* Milliseconds of CLOCK_MONOTONIC (for callers that measure waits). */
uint64_t shlock_now_ms(void);

#endif
