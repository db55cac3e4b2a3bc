/*
 * queue.c - see queue.h.
 *
 * Ring records are whole wire events, each contiguous.  When the next one
 * does not fit before the end of the ring, a padding record (wd PAD_WD)
 * fills the rest and the event starts again at offset 0.  Every size is a
 * multiple of 16 and so is the capacity, so padding is never shorter than a
 * header.
 *
 * Lock order and bounds (queue.h, domain.h): queue.lock is taken after
 * registry.lock, never before it, and waited for within util/shlock.h's
 * bound: 20 ms, more only while it changes hands or its holder runs,
 * 250 ms at most.  A producer that gives up returns -ETIMEDOUT (its
 * caller marks the instance lost); the reader (SHLOCK_QUEUE_READER) always
 * waits its 20 ms, and then reads what it can without the lock.
 */
#include "queue.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../domain/backing.h"
#include "../domain/domain.h"
#include "../util/log.h"
#include "../util/real.h"
#include "../util/shlock.h"
#include "../util/sigdefer.h"

#define HEADER_BYTES 4096
#define PAD_WD INT32_MIN
#define MAX_EVENT_BYTES (16 + 256)

struct wire {
	int32_t wd;
	uint32_t mask;
	uint32_t cookie;
	uint32_t len;
};

/* count and tokens are read without the lock by queue_idle(); every write,
 * made under the lock, is an atomic store so that those reads see whole
 * values. */
static void store_u32(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static uint64_t ring_capacity(uint32_t max_events)
{
	uint64_t c = ((uint64_t)max_events + 2) * MAX_EVENT_BYTES;
	return (c + 4095) & ~(uint64_t)4095;
}

static void init_robust_mutex(pthread_mutex_t *m)
{
	pthread_mutexattr_t a;

	pthread_mutexattr_init(&a);
	pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
	pthread_mutex_init(m, &a);
	pthread_mutexattr_destroy(&a);
}

/* Storage (domain/backing.h).  The header page and the first chunk of the
 * ring are backed when the file is made; the rest of the ring is backed a
 * chunk at a time by the producer that is about to write past what it
 * knows to be backed (ring_room), with madvise(MADV_POPULATE_WRITE) on its
 * mapping, which needs no fd.  Each process keeps its own count (q->backed:
 * nothing read from the shared header decides what may be touched); pages
 * another process backed already cost it a populate that allocates
 * nothing.  Where the kernel has no MADV_POPULATE_WRITE, the whole file is
 * backed when it is made.  The first chunk holds an event of any size with
 * room for an IN_Q_OVERFLOW after it, and every event is written only with
 * 16 more bytes backed after it, so that an overflow can always be stored
 * where the next event could not. */
static uint64_t first_chunk(uint64_t cap)
{
	return cap < BACKING_CHUNK ? cap : BACKING_CHUNK;
}

static int map_fd(int fd, struct queue *q)
{
	struct stat st;
	struct queue_header *h;
	uint64_t cap, backed;
	uint32_t max_events;
	void *map;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_size < HEADER_BYTES + 4096)
		return -EPROTO;
	map = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		return -errno;
	/* nothing is read before it is known to be backed: a hole punched in
	 * the header, or a file truncated and grown again, is refused here
	 * instead of faulting on a full file system */
	if (backing_can_populate()) {
		backed = first_chunk((uint64_t)st.st_size - HEADER_BYTES);
		if (backing_populate(map, HEADER_BYTES + backed) < 0) {
			munmap(map, (size_t)st.st_size);
			return -EPROTO;
		}
	} else {
		backed = (uint64_t)st.st_size - HEADER_BYTES;
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
	    cap + HEADER_BYTES != (uint64_t)st.st_size) {
		munmap(map, (size_t)st.st_size);
		return -EPROTO;
	}
	q->h = h;
	q->ring = (unsigned char *)map + HEADER_BYTES;
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
	uint64_t cap = ring_capacity(max_events), size = cap + HEADER_BYTES;
	struct queue_header *h;
	int ret;

	if (real_ftruncate(fd, (off_t)size) < 0)
		return -errno;
	h = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (h == MAP_FAILED)
		return -errno;
	ret = backing_fallocate(fd, h, 0, backing_can_populate() ?
				HEADER_BYTES + first_chunk(cap) : size);
	if (ret < 0) {
		munmap(h, size);
		domain_note_storage_failure();
		return ret == -ENOSPC || ret == -ENOMEM ? -ENOMEM : ret;
	}
	h->version = QUEUE_VERSION;
	h->header_size = sizeof *h;
	h->capacity = cap;
	h->max_events = max_events;
	init_robust_mutex(&h->lock);
	__atomic_store_n(&h->magic, QUEUE_MAGIC, __ATOMIC_RELEASE);
	munmap(h, size);
	return map_fd(fd, q);
}

int queue_map(int fd, struct queue *q)
{
	return map_fd(fd, q);
}

/* Are ring bytes [0, end) backed, as far as this process can tell?  Backs
 * the chunks up to end if not.  Called with the queue's lock held. */
static bool ring_room(struct queue *q, uint64_t end)
{
	uint64_t have = __atomic_load_n(&q->backed, __ATOMIC_RELAXED), to;

	if (end <= have)
		return true;
	if (end > q->cap)
		return false;
	to = (end + BACKING_CHUNK - 1) / BACKING_CHUNK * BACKING_CHUNK;
	if (to > q->cap)
		to = q->cap;
	if (backing_populate(q->ring + have, to - have) < 0) {
		domain_note_storage_failure();
		shim_log_once("an instance's queue cannot grow (the file system is "
			      "full?); IN_Q_OVERFLOW is queued for the events lost");
		return false;
	}
	__atomic_store_n(&q->backed, to, __ATOMIC_RELAXED);
	return true;
}

void queue_unmap(struct queue *q)
{
	if (q->h)
		munmap(q->h, q->map_size);
	q->h = NULL;
	q->ring = NULL;
}

static struct wire *at(struct queue *q, uint64_t off)
{
	return (struct wire *)(q->ring + off);
}

static void reset(struct queue_header *h)
{
	store_u32(&h->count, 0);
	h->overflow_queued = 0;
	h->head = h->tail = h->used = h->bytes = h->last = 0;
}

/* Empty the ring and say so with one IN_Q_OVERFLOW. */
static void wreck(struct queue *q)
{
	struct queue_header *h = q->h;

	reset(h);
	store_u32(&h->count, 1);
	h->overflow_queued = 1;
	*at(q, 0) = (struct wire){ .wd = -1, .mask = IN_Q_OVERFLOW };
	h->tail = h->used = h->bytes = 16;
	domain_note_lost_overflow();
	shim_log_once("an instance's queue was found damaged; its events were "
		      "dropped and IN_Q_OVERFLOW queued");
}

/* After a holder died, or when a header field is out of range: walk the
 * ring from head to tail; empty it if any record is out of shape.  Only
 * q->cap, our own copy, bounds the walk. */
static void repair(struct queue *q)
{
	struct queue_header *h = q->h;
	uint64_t off = h->head, used = 0, bytes = 0, last = 0, cap = q->cap;
	uint32_t count = 0;
	bool ok = h->head < cap && h->tail < cap && h->used <= cap &&
		  h->head % 16 == 0 && h->tail % 16 == 0;

	while (ok && used < h->used) {
		struct wire *w = at(q, off);
		uint64_t size = 16 + (uint64_t)w->len;
		if (w->len % 16 || off + size > cap || used + size > h->used) {
			ok = false;
			break;
		}
		used += size;
		if (w->wd != PAD_WD) {
			bytes += size;
			last = off;
			count++;
		}
		off = off + size == cap ? 0 : off + size;
	}
	if (ok && used == h->used && off == h->tail && count <= q->max_events + 1) {
		store_u32(&h->count, count);
		h->bytes = bytes;
		h->last = last;
		return;
	}
	wreck(q);
}

/* Is every header field within the ring?  Checked at every lock. */
static bool header_sane(struct queue *q)
{
	struct queue_header *h = q->h;
	uint64_t cap = q->cap;

	if (h->head >= cap || h->tail >= cap || h->last >= cap || h->used > cap ||
	    h->bytes > h->used || (h->head | h->tail | h->last) % 16 ||
	    h->count > q->max_events + 1)
		return false;
	if (h->count) {
		const struct wire *last = at(q, h->last);
		if (last->len % 16 || h->last + 16 + (uint64_t)last->len > cap)
			return false;
	} else if (h->used || h->bytes) {
		return false;
	}
	return true;
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
	repair(q);
}

/* Take the queue's lock within the bound (util/shlock.h).  A holder that
 * died leaves the ring checked and the instance marked lost; tokens
 * written without the lock are counted in again. */
static int lock_as(struct queue *q, enum shlock_kind kind)
{
	uint32_t stray;
	int r;

	r = shlock_take_repair(&q->h->lock, &q->h->stall, kind, repair_queue, q);
	if (r < 0)
		return r;
	if (r > 0)
		mark_lost(q);
	else if (!header_sane(q))
		repair(q);
	stray = __atomic_exchange_n(&q->h->stray, 0, __ATOMIC_ACQ_REL);
	if (stray)
		store_u32(&q->h->tokens, q->h->tokens + stray);
	return 0;
}

static int lock(struct queue *q)
{
	return lock_as(q, SHLOCK_QUEUE);
}

static void unlock(struct queue *q)
{
	pthread_mutex_unlock(&q->h->lock);
	sigdefer_end();
}

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
static int settle_token(struct queue *q, const struct queue_waker *waker, bool queued,
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
static void report_taken_locked(struct queue_header *h, uint32_t n)
{
	n -= claim_draining(h, n);
	store_u32(&h->tokens, h->tokens > n ? h->tokens - n : 0);
}

/* Take out the want bytes that settle_token() moved to draining, after
 * the unlock.  Bytes that another reader took meanwhile were reported by
 * it; a byte taken here beyond what is still draining was a producer's
 * token, and is reported under the lock, which writes it again. */
static void finish_drain(struct queue *q, const struct queue_waker *waker, uint32_t want)
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
		if (lock(q) < 0)
			return;
		want = 0;
		report_taken_locked(h, rest);
		settle_token(q, waker, false, &want);
		unlock(q);
	}
}

static bool same_as_last(struct queue *q, int32_t wd, uint32_t mask,
			 const char *name, size_t namelen)
{
	struct queue_header *h = q->h;
	struct wire *last;

	if (!h->count)
		return false;
	last = at(q, h->last);
	if (last->mask & IN_IGNORED)
		return false;
	if (last->mask != mask || last->wd != wd)
		return false;
	if (!namelen)
		return last->len == 0;
	return last->len == event_wire_size(namelen) - 16 &&
	       strcmp((const char *)(last + 1), name) == 0;
}

/* Append one record; the caller checked that count allows it. */
static bool append(struct queue *q, int32_t wd, uint32_t mask, uint32_t cookie,
		   const char *name, size_t namelen)
{
	struct queue_header *h = q->h;
	uint64_t size = event_wire_size(namelen);
	uint64_t end = h->tail + size > q->cap ? size : h->tail + size;
	struct wire *w;

	/* storage first (ring_room): the record, and 16 bytes after it for
	 * the overflow that may have to follow; an overflow needs only itself */
	if (!(mask & IN_Q_OVERFLOW))
		end = end + 16 < q->cap ? end + 16 : q->cap;
	if (!ring_room(q, h->tail + 16 > end ? h->tail + 16 : end))
		return false;
	if (h->tail + size > q->cap) {
		uint64_t pad = q->cap - h->tail;
		if (h->used + pad + size > q->cap)
			return false;
		*at(q, h->tail) = (struct wire){ .wd = PAD_WD, .len = (uint32_t)(pad - 16) };
		h->used += pad;
		h->tail = 0;
	}
	if (h->used + size > q->cap)
		return false;
	w = at(q, h->tail);
	*w = (struct wire){ .wd = wd, .mask = mask, .cookie = cookie,
			    .len = (uint32_t)(size - 16) };
	if (namelen) {
		memset(w + 1, 0, size - 16);
		memcpy(w + 1, name, namelen);
	}
	h->last = h->tail;
	h->tail = h->tail + size == q->cap ? 0 : h->tail + size;
	h->used += size;
	h->bytes += size;
	store_u32(&h->count, h->count + 1);
	h->total_events++;
	return true;
}

/* Lock held: if events were lost, queue one IN_Q_OVERFLOW for them, unless
 * the newest event is one already.  The ring has room for it beyond
 * max_events (ring_capacity).  Returns true if it was queued. */
static bool queue_lost_locked(struct queue *q)
{
	struct queue_header *h = q->h;

	if (!queue_take_lost(q))
		return false;
	if (h->count && (at(q, h->last)->mask & IN_Q_OVERFLOW))
		return false;
	if (!append(q, -1, IN_Q_OVERFLOW, 0, NULL, 0))
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
		if (!h->overflow_queued && append(q, -1, IN_Q_OVERFLOW, 0, NULL, 0)) {
			h->overflow_queued = 1;
			h->overflows++;
			queued = true;
		}
		ret = 0;
	} else if (same_as_last(q, wd, mask, name, namelen)) {
		ret = 0;
	} else {
		ret = append(q, wd, mask, cookie, name, namelen) ? 1 : 0;
		queued |= ret == 1;
		/* not stored (no storage for it): lost, and said so */
		if (!ret && !h->overflow_queued &&
		    append(q, -1, IN_Q_OVERFLOW, 0, NULL, 0)) {
			h->overflow_queued = 1;
			h->overflows++;
			domain_note_lost_overflow();
			queued = true;
		}
	}
	{
		int w = settle_token(q, waker, queued, &drain);
		if (w < 0)
			ret = w;
	}
	unlock(q);
	finish_drain(q, waker, drain);	/* only after a repair emptied it */
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

	ret = lock_as(q, SHLOCK_QUEUE_READER);
	if (ret < 0)
		return ret;
	queue_lost_locked(q);
	while (h->count) {
		struct wire *w = at(q, h->head);
		uint64_t size = 16 + (uint64_t)w->len;

		if (w->len % 16 || h->head + size > q->cap || size > h->used) {
			wreck(q);	/* never trust the ring blindly */
			continue;
		}
		if (w->wd == PAD_WD) {
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
	settle_token(q, waker, false, &drain);
	unlock(q);
	finish_drain(q, waker, drain);
	return ret < 0 ? ret : (ssize_t)done;
}

bool queue_idle(struct queue *q)
{
	return !__atomic_load_n(&q->h->count, __ATOMIC_ACQUIRE) &&
	       !__atomic_load_n(&q->h->tokens, __ATOMIC_ACQUIRE) &&
	       !__atomic_load_n(&q->h->stray, __ATOMIC_ACQUIRE) && !lost_pending(q);
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
	 * (test/relay_events.fuzz, the relay's kernel overflow, hung so).
	 * Counted first, a locker may fold it in before it lands: a reader
	 * that empties the queue then drains what is not there yet (taking
	 * nothing, never blocking), and the byte, when it lands, is one
	 * being drained, which whoever takes it reports (queue.h, Draining).
	 * A write refused (a full FIFO, which is readable anyway, or no
	 * reader left) leaves the count: one token too many is only a drain
	 * that takes less. */
	__atomic_add_fetch(&h->stray, 1, __ATOMIC_ACQ_REL);
	(void)waker->wake(waker->arg, tokens);
}

void queue_token_taken(struct queue *q, const struct queue_waker *waker)
{
	uint32_t drain = 0;

	if (lock(q) < 0)
		return;
	report_taken_locked(q->h, 1);
	settle_token(q, waker, false, &drain);
	unlock(q);
	finish_drain(q, waker, drain);
}

void queue_set_edge(struct queue *q)
{
	__atomic_store_n(&q->h->edge, 1, __ATOMIC_RELAXED);
}

int queue_stat(struct queue *q, uint64_t *bytes, uint32_t *count)
{
	int ret = lock_as(q, SHLOCK_QUEUE_READER);

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
	if (lost_pending(q) && !(*count && (at(q, q->h->last)->mask & IN_Q_OVERFLOW))) {
		*bytes += 16;	/* the IN_Q_OVERFLOW that the next read queues */
		++*count;
	}
	unlock(q);
	return 0;
}
