/*
 * queue.c - see queue.h.  The queue's file, its lock and its operations;
 * the ring's records are ring.c, the FIFO's tokens tokens.c (ring.h).
 *
 * Lock order and bounds (queue.h, domain.h): queue.lock is taken after
 * registry.lock, never before it, and waited for within util/shlock.h's
 * bound: 20 ms, more only while it changes hands or its holder runs,
 * 250 ms at most.  A producer that gives up returns -ETIMEDOUT (its
 * caller marks the instance lost); the reader (SHLOCK_QUEUE_READER) always
 * waits its 20 ms, and then reads what it can without the lock.  No other
 * lock is taken while queue.lock is held; ring.c and tokens.c take none
 * of their own (tokens.c takes queue.lock again, through queue_lock_as,
 * only after it was released).
 */
#include "queue.h"

#include <errno.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ring.h"
#include "../domain/backing.h"
#include "../domain/domain.h"
#include "../util/real.h"
#include "../util/shlock.h"
#include "../util/sigdefer.h"

static int map_fd(int fd, struct queue *q)
{
	struct stat st;
	struct queue_header *h;
	uint64_t cap, backed;
	uint32_t max_events;
	void *map;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_size < QUEUE_HEADER_BYTES + 4096)
		return -EPROTO;
	map = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		return -errno;
	/* nothing is read before it is known to be backed: a hole punched in
	 * the header, or a file truncated and grown again, is refused here
	 * instead of faulting on a full file system */
	if (backing_can_populate()) {
		backed = ring_first_chunk((uint64_t)st.st_size - QUEUE_HEADER_BYTES);
		if (backing_populate(map, QUEUE_HEADER_BYTES + backed) < 0) {
			munmap(map, (size_t)st.st_size);
			return -EPROTO;
		}
	} else {
		backed = (uint64_t)st.st_size - QUEUE_HEADER_BYTES;
		if (backing_blocks_count(fd) &&
		    (uint64_t)st.st_blocks * 512 < (uint64_t)st.st_size) {
			munmap(map, (size_t)st.st_size);
			return -EPROTO;
		}
	}
	h = map;
	/* read each field once: what is checked is what is kept */
	cap = __atomic_load_n(&h->capacity, __ATOMIC_RELAXED);
	max_events = __atomic_load_n(&h->max_events, __ATOMIC_RELAXED);
	if (__atomic_load_n(&h->magic, __ATOMIC_ACQUIRE) != QUEUE_MAGIC ||
	    h->version != QUEUE_VERSION || h->header_size != sizeof *h ||
	    cap != ring_capacity(max_events) ||
	    cap + QUEUE_HEADER_BYTES != (uint64_t)st.st_size) {
		munmap(map, (size_t)st.st_size);
		return -EPROTO;
	}
	q->h = h;
	q->ring = (unsigned char *)map + QUEUE_HEADER_BYTES;
	q->map_size = (size_t)st.st_size;
	q->cap = cap;
	q->max_events = max_events;
	q->backed = backed;
	return 0;
}

/* Returns -ENOMEM, inotify_init1's errno, when the file system cannot back
 * the queue's first pages (ENOSPC is not among inotify_init1's errors; a
 * program that handles one handles ENOMEM, "insufficient kernel memory"). */
int queue_create(int fd, uint32_t max_events, struct queue *q)
{
	uint64_t cap = ring_capacity(max_events), size = cap + QUEUE_HEADER_BYTES;
	struct queue_header *h;
	int ret;

	if (real_ftruncate(fd, (off_t)size) < 0)
		return -errno;
	h = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (h == MAP_FAILED)
		return -errno;
	ret = backing_fallocate(fd, h, 0, backing_can_populate() ?
				QUEUE_HEADER_BYTES + ring_first_chunk(cap) : size);
	if (ret < 0) {
		munmap(h, size);
		domain_note_storage_failure();
		return ret == -ENOSPC || ret == -ENOMEM ? -ENOMEM : ret;
	}
	h->version = QUEUE_VERSION;
	h->header_size = sizeof *h;
	h->capacity = cap;
	h->max_events = max_events;
	shlock_init(&h->lock);
	__atomic_store_n(&h->magic, QUEUE_MAGIC, __ATOMIC_RELEASE);
	munmap(h, size);
	return map_fd(fd, q);
}

int queue_map(int fd, struct queue *q)
{
	return map_fd(fd, q);
}

void queue_unmap(struct queue *q)
{
	if (q->h)
		munmap(q->h, q->map_size);
	q->h = NULL;
	q->ring = NULL;
}

/* Is the instance's lost word set for this generation? */
static bool lost_pending(struct queue *q)
{
	return q->lost && __atomic_load_n(q->lost, __ATOMIC_ACQUIRE) == q->lost_gen;
}

bool queue_take_lost(struct queue *q)
{
	uint32_t gen = q->lost_gen;

	return lost_pending(q) &&
	       __atomic_compare_exchange_n(q->lost, &gen, 0, false, __ATOMIC_ACQ_REL,
					   __ATOMIC_RELAXED);
}

static void mark_lost(struct queue *q)
{
	if (q->lost)
		__atomic_store_n(q->lost, q->lost_gen, __ATOMIC_RELEASE);
}

static void repair_queue(void *q)
{
	ring_repair(q);
}

/* Take the queue's lock within the bound (util/shlock.h).  A holder that
 * died leaves the ring checked and the instance marked lost; tokens
 * written without the lock are counted in again. */
int queue_lock_as(struct queue *q, enum shlock_kind kind)
{
	uint32_t stray;
	int r;

	r = shlock_take_repair(&q->h->lock, &q->h->lock_rec, kind, repair_queue, q);
	if (r < 0)
		return r;
	if (r > 0)
		mark_lost(q);
	else if (!ring_header_sane(q))
		ring_repair(q);
	stray = __atomic_exchange_n(&q->h->stray, 0, __ATOMIC_ACQ_REL);
	if (stray)
		store_u32(&q->h->tokens, q->h->tokens + stray);
	return 0;
}

static int lock(struct queue *q)
{
	return queue_lock_as(q, SHLOCK_QUEUE);
}

void queue_unlock(struct queue *q)
{
	pthread_mutex_unlock(&q->h->lock);
	sigdefer_end();
}

/* Lock held: if events were lost, queue one IN_Q_OVERFLOW for them, unless
 * the newest event is one already.  The ring has room for it beyond
 * max_events (ring_capacity).  Returns true if it was queued. */
static bool queue_lost_locked(struct queue *q)
{
	struct queue_header *h = q->h;

	if (!queue_take_lost(q))
		return false;
	if (h->count && (ring_at(q, h->last)->mask & IN_Q_OVERFLOW))
		return false;
	if (!ring_append(q, -1, IN_Q_OVERFLOW, 0, NULL, 0))
		return false;
	h->overflow_queued = 1;
	h->overflows++;
	domain_note_lost_overflow();
	return true;
}

int queue_add(struct queue *q, int32_t wd, uint32_t mask, uint32_t cookie,
	      const char *name, const struct queue_waker *waker)
{
	struct queue_header *h = q->h;
	size_t namelen = name ? strnlen(name, 255) : 0;
	bool queued = false;
	uint32_t drain = 0;
	int ret;

	ret = lock(q);
	if (ret < 0)
		return ret;
	queued = queue_lost_locked(q);
	if (h->count >= q->max_events) {
		if (!h->overflow_queued && ring_append(q, -1, IN_Q_OVERFLOW, 0, NULL, 0)) {
			h->overflow_queued = 1;
			h->overflows++;
			queued = true;
		}
		ret = 0;
	} else if (ring_same_as_last(q, wd, mask, name, namelen)) {
		ret = 0;
	} else {
		ret = ring_append(q, wd, mask, cookie, name, namelen) ? 1 : 0;
		queued |= ret == 1;
		/* not stored (no storage for it): lost, and said so */
		if (!ret && !h->overflow_queued &&
		    ring_append(q, -1, IN_Q_OVERFLOW, 0, NULL, 0)) {
			h->overflow_queued = 1;
			h->overflows++;
			domain_note_lost_overflow();
			queued = true;
		}
	}
	{
		int w = tokens_settle(q, waker, queued, &drain);
		if (w < 0)
			ret = w;
	}
	queue_unlock(q);
	tokens_finish_drain(q, waker, drain);	/* only after a repair emptied it */
	return ret;
}

ssize_t queue_read(struct queue *q, void *buf, size_t count,
		   const struct queue_waker *waker)
{
	struct queue_header *h = q->h;
	unsigned char *out = buf;
	size_t done = 0;
	uint32_t drain = 0;
	ssize_t ret;

	ret = queue_lock_as(q, SHLOCK_QUEUE_READER);
	if (ret < 0)
		return ret;
	queue_lost_locked(q);
	while (h->count) {
		struct wire *w = ring_at(q, h->head);
		uint64_t size = 16 + (uint64_t)w->len;

		if (w->len % 16 || h->head + size > q->cap || size > h->used) {
			ring_wreck(q);	/* never trust the ring blindly */
			continue;
		}
		if (w->wd == QUEUE_PAD_WD) {
			h->used -= size;
			h->head = 0;
			continue;
		}
		if (size > count - done) {
			if (!done)
				ret = -EINVAL;
			break;
		}
		memcpy(out + done, w, size);
		done += size;
		if (w->mask & IN_Q_OVERFLOW)
			h->overflow_queued = 0;
		h->head = h->head + size == q->cap ? 0 : h->head + size;
		h->used -= size;
		h->bytes -= size;
		store_u32(&h->count, h->count - 1);
	}
	if (!h->count)
		h->head = h->tail = h->used = h->bytes = 0;
	tokens_settle(q, waker, false, &drain);
	queue_unlock(q);
	tokens_finish_drain(q, waker, drain);
	return ret < 0 ? ret : (ssize_t)done;
}

bool queue_idle(struct queue *q)
{
	return !__atomic_load_n(&q->h->count, __ATOMIC_ACQUIRE) &&
	       !__atomic_load_n(&q->h->tokens, __ATOMIC_ACQUIRE) &&
	       !__atomic_load_n(&q->h->stray, __ATOMIC_ACQUIRE) && !lost_pending(q);
}

int queue_stat(struct queue *q, uint64_t *bytes, uint32_t *count)
{
	int ret = queue_lock_as(q, SHLOCK_QUEUE_READER);

	if (ret == -ETIMEDOUT) {
		/* what it can: the counts as last stored, without the lock */
		*bytes = __atomic_load_n(&q->h->bytes, __ATOMIC_RELAXED);
		*count = __atomic_load_n(&q->h->count, __ATOMIC_RELAXED);
		if (lost_pending(q)) {
			*bytes += 16;
			++*count;
		}
		return 0;
	}
	if (ret < 0)
		return ret;
	*bytes = q->h->bytes;
	*count = q->h->count;
	if (lost_pending(q) && !(*count && (ring_at(q, q->h->last)->mask & IN_Q_OVERFLOW))) {
		*bytes += 16;	/* the IN_Q_OVERFLOW that the next read queues */
		++*count;
	}
	queue_unlock(q);
	return 0;
}
