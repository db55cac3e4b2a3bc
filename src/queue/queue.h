/*
 * queue.h - one instance's event queue (the kernel's notification.c).
 *
 * The queue is a file of the domain (q-SLOT-GEN), mapped by the instance's
 * holders and by every producer that delivers to it.  Events are stored in
 * the kernel's wire format (struct inotify_event, name zero-padded to a
 * multiple of 16), one after the other in a ring, so read() is a copy.
 *
 * Rules (today's kernel):
 *   - an event equal to the unread tail (mask, wd, name; never after
 *     IN_IGNORED) merges into it;
 *   - once max_events events are queued, one IN_Q_OVERFLOW (wd -1) is
 *     queued and later events are dropped until the queue has room again;
 *     the overflow event counts in the length, as the kernel's does;
 *   - read copies whole events only: EINVAL when the first one does not fit.
 *
 * Readiness: the instance's FIFO holds bytes (tokens) exactly while the
 * queue is non-empty.  Tokens are written under the queue's lock through
 * the waker the caller passes, so poll, select and epoll on the FIFO see
 * the queue's state as soon as the producer's call returns.  A blocked
 * reader takes one token out of the FIFO itself (that is how it waits); it
 * then reports that with queue_token_taken() before reading, and the
 * invariant is restored under the lock.
 *
 * Draining: the reader that empties the queue takes the tokens out after
 * it has released the lock, so that no producer waits on the lock while
 * the reader makes its system calls.  Under the lock it moves them from
 * tokens to draining (the bytes that some reader is about to take out);
 * after the unlock it takes at most that many, never blocking, and then
 * subtracts what it took from draining.  Every byte any reader takes is
 * so accounted: bytes in the FIFO + taken and not yet reported == tokens
 * + draining.  A reader that finds draining smaller than what it took (a
 * blocked reader took some of the same bytes and reported first) took a
 * producer's token: it reports the rest against tokens under the lock,
 * which writes the token again.  In the window between the unlock and the
 * drain, a poll may see the FIFO readable with the queue empty, as it
 * could before between the last event's copy and the drain.
 *
 * Edges: the kernel wakes the instance's waiters (and sends SIGIO) for
 * every event it queues, the IN_Q_OVERFLOW event included, and not for an
 * event merged into the tail or dropped after an overflow; with EPOLLET
 * each of those wakes is an edge.  A pipe write is such a wake too.  So
 * once the instance is marked edge-triggered (queue_set_edge(): epoll_ctl
 * with EPOLLET, or O_ASYNC, seen on its fd), every queued event writes one
 * more token; until then one token stands for the whole queue, which costs
 * a system call per empty->non-empty transition only.  The reader takes
 * every token out when the queue becomes empty.  The mark is never taken
 * off: an fd's epoll registrations are not visible to us once made.
 *
 * Lock: queue.lock, robust and process-shared, taken within the bounds of
 * util/shlock.h (20 ms, up to 250 ms while its holder runs; its record
 * is the header's lock_rec).  It is taken after registry.lock when both
 * are held (domain.h).  If a holder died, the ring is checked record by
 * record; if it does not hold up, the queue is emptied; either way one
 * IN_Q_OVERFLOW tells the reader that events may have been lost (a reader
 * that died inside the lock may have taken events nobody will read).
 *
 * Lost events, without the lock: a producer that could not queue an event
 * (the lock was not had within the bound, the queue could not be mapped)
 * sets the instance's lost word (the registry's lost[slot], pointed to by
 * q->lost) to the instance's gen, and wakes the reader once through
 * queue_wake_lost(): a token written without the lock and counted in
 * stray, which the next locker folds into tokens.  Whoever next has the
 * lock in queue_add() or queue_read() clears the word and queues one
 * IN_Q_OVERFLOW (none when the newest event already is one).  A reader
 * that cannot have the lock clears it itself and returns that
 * IN_Q_OVERFLOW alone (queue_take_lost()): a read reports what it can.
 */
#ifndef SHIM_QUEUE_H
#define SHIM_QUEUE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../util/shlock.h"

#define QUEUE_MAGIC 0x4555455551534e49ULL /* "INSQUEUE" */
#define QUEUE_VERSION 3	/* 3: lock_rec */

struct queue_header {
	uint64_t magic;
	uint32_t version;
	uint32_t header_size;
	uint64_t capacity;	/* bytes of ring after the header page */
	uint32_t max_events;
	struct shlock_rec lock_rec;	/* the lock's record (util/shlock.h), atomic */
	pthread_mutex_t lock;
	/* protected by lock */
	uint32_t count;		/* queued events, the overflow event included */
	uint32_t overflow_queued;
	uint64_t head;		/* ring offsets */
	uint64_t tail;
	uint64_t used;		/* ring bytes in use, padding included */
	uint64_t bytes;		/* FIONREAD: bytes of queued events */
	uint64_t last;		/* offset of the newest event, if count > 0 */
	uint32_t tokens;	/* bytes written to the FIFO and not taken out */
	uint32_t edge;		/* a token per queued event (set once, atomic) */
	uint32_t draining;	/* bytes a reader is taking out (atomic) */
	uint32_t stray;		/* tokens written without the lock (atomic) */
	uint64_t total_events;	/* statistics, for inotify-shim ps */
	uint64_t overflows;
};

struct queue {
	struct queue_header *h;
	unsigned char *ring;
	size_t map_size;
	/* copies made when the file was mapped and validated: the header's own
	 * fields are shared memory, and may have been changed since */
	uint64_t cap;
	uint32_t max_events;
	/* the instance's lost word in the registry and its gen (set by
	 * core/slots.c once mapped; NULL: none) */
	uint32_t *lost;
	uint32_t lost_gen;
	uint64_t backed;	/* ring bytes this process knows are backed
				 * (ring.c, "Storage"); atomic */
};

/* Below this many tokens a write into the FIFO cannot block, whatever
 * the pipe's capacity (one page at the least): a waker may then write
 * through a blocking fd.  Above it, it must use a non-blocking one. */
#define QUEUE_TOKENS_SAFE 3000

/* How the queue puts a token into the FIFO and takes tokens out again.
 * wake is called with queue.lock held and told how many tokens the FIFO
 * holds already; it returns 0 when it wrote one byte, -EAGAIN when the
 * FIFO is full, or -ENXIO when nobody holds the instance any more.
 * unwake is called without the lock: it takes at most max bytes out of
 * the FIFO without blocking and returns how many it took.  Producers
 * never drain: only queue_read() and queue_token_taken() call it. */
struct queue_waker {
	int (*wake)(void *arg, uint32_t tokens);
	uint32_t (*unwake)(void *arg, uint32_t max);
	void *arg;
};

/* Lay out a queue for max_events events in fd, a file just created (empty)
 * by the caller, and map it.  The caller gives the file its mode and owner
 * and closes fd; the mapping stays.  -ENOMEM when the file system cannot
 * back its first pages (ring.c, "Storage"). */
int queue_create(int fd, uint32_t max_events, struct queue *q);
/* Map the queue file open on fd; validates its type, size and header.  Who
 * may own it is the caller's rule (the domain's), checked before. */
int queue_map(int fd, struct queue *q);
void queue_unmap(struct queue *q);

/* Queue one event (name NULL or "" for none).  Returns 1 if queued, 0 if
 * merged or dropped, -ETIMEDOUT if the lock was not had within its bound
 * (nothing queued: the caller marks the event lost), or a negative errno
 * from the waker (-ENXIO: the instance is dead). */
int queue_add(struct queue *q, int32_t wd, uint32_t mask, uint32_t cookie,
	      const char *name, const struct queue_waker *waker);

/* Copy whole events into buf.  Returns the bytes copied, 0 when the queue is
 * empty, -EINVAL when the first event does not fit in count bytes, or
 * -ETIMEDOUT when the lock was not had within its bound. */
ssize_t queue_read(struct queue *q, void *buf, size_t count,
		   const struct queue_waker *waker);

/* True when the queue holds no event and the FIFO no token, read without
 * the lock: a read would copy nothing and settle nothing, so the reader
 * may go straight to the FIFO, as it does after a queue_read() that
 * returned 0 (a producer that queues meanwhile writes a token there, which
 * the reader takes as a blocked reader does).  Both fields are single
 * aligned words stored under the lock.  Stale or insane non-zero values
 * only send the caller to queue_read(), which locks and checks; a holder
 * that died inside the lock before queueing anything is then repaired by
 * the next locked call (the next producer's) instead of by this read. */
bool queue_idle(struct queue *q);

/* Events were lost (q->lost is set): put one token into the FIFO without
 * the lock, so that a waiting reader wakes and finds the overflow. */
void queue_wake_lost(struct queue *q, const struct queue_waker *waker);

/* For a reader that could not have the lock: if the lost word is set,
 * clear it and return true (the caller reports one IN_Q_OVERFLOW). */
bool queue_take_lost(struct queue *q);

/* A blocked reader took one token out of the FIFO. */
void queue_token_taken(struct queue *q, const struct queue_waker *waker);

/* Give this instance a token per queued event from now on (see above). */
void queue_set_edge(struct queue *q);

/* The bytes a read would return (FIONREAD), and the event count; with the
 * lock given up, the counts as last stored (what it can). */
int queue_stat(struct queue *q, uint64_t *bytes, uint32_t *count);

/* Size on the wire of an event with this name. */
static inline size_t event_wire_size(size_t namelen)
{
	return namelen ? 16 + ((namelen + 1 + 15) & ~(size_t)15) : 16;
}

#endif
