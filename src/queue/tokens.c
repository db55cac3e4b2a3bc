/*
 * tokens.c - readiness: the instance FIFO's tokens (queue.h, "Readiness",
 * "Draining", "Edges").  tokens_settle() and tokens_report_taken() run
 * with the queue's lock held; tokens_finish_drain(), queue_wake_lost() and
 * the FIFO reads run without it, and take it (queue.c) only to report.
 */
#include "ring.h"

#include <errno.h>

/* Take up to n bytes off draining, atomically: drainers report without
 * the lock.  Returns how many were taken. */
static uint32_t claim_draining(struct queue_header *h, uint32_t n)
{
	uint32_t d = __atomic_load_n(&h->draining, __ATOMIC_ACQUIRE), take;

	do {
		take = d < n ? d : n;
	} while (take && !__atomic_compare_exchange_n(&h->draining, &d, d - take, false,
						      __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));
	return take;
}

/* Make "tokens in the FIFO" equal "events queued": one token for a
 * non-empty queue, and one more for each event queued (queued) when the
 * instance is edge-triggered.  An empty queue's tokens become draining,
 * and *drain tells the caller how many to take out once it has unlocked.
 * Returns the waker's error, if any. */
int tokens_settle(struct queue *q, const struct queue_waker *waker, bool queued,
		  uint32_t *drain)
{
	struct queue_header *h = q->h;
	bool edge = __atomic_load_n(&h->edge, __ATOMIC_RELAXED);
	int ret = 0;

	if (h->count && (!h->tokens || (queued && edge))) {
		ret = waker->wake(waker->arg, h->tokens);
		if (ret == 0) {
			store_u32(&h->tokens, h->tokens + 1);
		} else if (ret == -EAGAIN) {
			/* full: the FIFO is readable, which is what counts */
			if (!h->tokens)
				store_u32(&h->tokens, 1);
			ret = 0;
		}
	} else if (!h->count && h->tokens) {
		__atomic_add_fetch(&h->draining, h->tokens, __ATOMIC_ACQ_REL);
		*drain += h->tokens;
		store_u32(&h->tokens, 0);
	}
	return ret;
}

/* n bytes were taken out of the FIFO: they were being drained, or, for
 * what draining does not cover, they were tokens.  Lock held. */
void tokens_report_taken(struct queue_header *h, uint32_t n)
{
	n -= claim_draining(h, n);
	store_u32(&h->tokens, h->tokens > n ? h->tokens - n : 0);
}

/* Take out the want bytes that tokens_settle() moved to draining, after
 * the unlock.  Bytes that another reader took meanwhile were reported by
 * it; a byte taken here beyond what is still draining was a producer's
 * token, and is reported under the lock, which writes it again. */
void tokens_finish_drain(struct queue *q, const struct queue_waker *waker, uint32_t want)
{
	struct queue_header *h = q->h;

	for (int round = 0; want && round < 4; round++) {
		uint32_t claim = __atomic_load_n(&h->draining, __ATOMIC_ACQUIRE);
		uint32_t took, rest;

		if (!claim)
			return;	/* other readers took them all, and said so */
		took = waker->unwake(waker->arg, want < claim ? want : claim);
		if (!took)
			return;
		rest = took - claim_draining(h, took);
		if (!rest)
			return;
		if (queue_lock_as(q, SHLOCK_QUEUE) < 0)
			return;
		want = 0;
		tokens_report_taken(h, rest);
		tokens_settle(q, waker, false, &want);
		queue_unlock(q);
	}
}

void queue_wake_lost(struct queue *q, const struct queue_waker *waker)
{
	struct queue_header *h = q->h;
	uint32_t tokens = __atomic_load_n(&h->tokens, __ATOMIC_RELAXED) +
			  __atomic_load_n(&h->stray, __ATOMIC_RELAXED);

	/* Counted before it is written, never after: a blocked reader takes
	 * the byte the moment it lands, and reports it under the lock; were
	 * it counted only then, that report would find nothing to take it
	 * from (clamped at 0) and the late count, folded in by the next
	 * locker, would be a token that is in no FIFO: the next event would
	 * then write none, and a reader blocked in read() would never wake
	 * (test/relay_queue; test/relay_events.fuzz, the relay's kernel
	 * overflow, hung so).  Counted first, a locker may fold it in before
	 * it lands: a reader that empties the queue then drains what is not
	 * there yet (taking nothing, never blocking), and the byte, when it
	 * lands, is one being drained, which whoever takes it reports
	 * (queue.h, Draining).  A write refused (a full FIFO, which is
	 * readable anyway, or no reader left) leaves the count: one token too
	 * many is only a drain that takes less. */
	__atomic_add_fetch(&h->stray, 1, __ATOMIC_ACQ_REL);
	(void)waker->wake(waker->arg, tokens);
}

void queue_token_taken(struct queue *q, const struct queue_waker *waker)
{
	uint32_t drain = 0;

	if (queue_lock_as(q, SHLOCK_QUEUE) < 0)
		return;
	tokens_report_taken(q->h, 1);
	tokens_settle(q, waker, false, &drain);
	queue_unlock(q);
	tokens_finish_drain(q, waker, drain);
}

void queue_set_edge(struct queue *q)
{
	__atomic_store_n(&q->h->edge, 1, __ATOMIC_RELAXED);
}

