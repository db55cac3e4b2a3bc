/*
 * ring.h - the queue's internals, shared by its three files (not part of
 * queue.h's interface; only src/queue/ includes it):
 *   queue.c   the file (create, map), the lock and its order, the lost
 *             word, and the operations (queue_add, queue_read, queue_stat);
 *   ring.c    the ring's records: storage, append, merge with the tail,
 *             the checks and the repair of a ring a dead holder left;
 *   tokens.c  readiness: the FIFO's tokens, draining, edges.
 * Every function here that touches the header or the ring is called with
 * the queue's lock held, unless its comment says otherwise.
 */
#ifndef SHIM_QUEUE_RING_H
#define SHIM_QUEUE_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "queue.h"
#include "../util/shlock.h"

#define QUEUE_HEADER_BYTES 4096
#define QUEUE_PAD_WD INT32_MIN

struct wire {
	int32_t wd;
	uint32_t mask;
	uint32_t cookie;
	uint32_t len;
};

/* count and tokens are read without the lock by queue_idle(); every write,
 * made under the lock, is an atomic store so that those reads see whole
 * values. */
static inline void store_u32(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static inline struct wire *ring_at(struct queue *q, uint64_t off)
{
	return (struct wire *)(q->ring + off);
}

/* ring.c */
uint64_t ring_capacity(uint32_t max_events);
uint64_t ring_first_chunk(uint64_t cap);
void ring_wreck(struct queue *q);
void ring_repair(struct queue *q);
bool ring_header_sane(struct queue *q);
bool ring_same_as_last(struct queue *q, int32_t wd, uint32_t mask, const char *name,
		       size_t namelen);
bool ring_append(struct queue *q, int32_t wd, uint32_t mask, uint32_t cookie,
		 const char *name, size_t namelen);

/* tokens.c */
int tokens_settle(struct queue *q, const struct queue_waker *waker, bool queued,
		  uint32_t *drain);
void tokens_report_taken(struct queue_header *h, uint32_t n);
void tokens_finish_drain(struct queue *q, const struct queue_waker *waker, uint32_t want);

/* queue.c: the lock (its order and bounds are written there) */
int queue_lock_as(struct queue *q, enum shlock_kind kind);
void queue_unlock(struct queue *q);

#endif
