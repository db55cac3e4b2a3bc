/*
 * ring.c - the ring's records (ring.h; queue.h says what they are).
 *
 * Ring records are whole wire events, each contiguous.  When the next one
 * does not fit before the end of the ring, a padding record (wd
 * QUEUE_PAD_WD) fills the rest and the event starts again at offset 0.
 * Every size is a multiple of 16 and so is the capacity, so padding is
 * never shorter than a header.  Everything here runs with the queue's lock
 * held (queue.c).
 */
#include "ring.h"

#include <string.h>
#include <sys/inotify.h>

#include "../domain/backing.h"
#include "../domain/domain.h"
#include "../util/log.h"

#define MAX_EVENT_BYTES (16 + 256)

uint64_t ring_capacity(uint32_t max_events)
{
	uint64_t c = ((uint64_t)max_events + 2) * MAX_EVENT_BYTES;
	return (c + 4095) & ~(uint64_t)4095;
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
uint64_t ring_first_chunk(uint64_t cap)
{
	return cap < BACKING_CHUNK ? cap : BACKING_CHUNK;
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

static void reset(struct queue_header *h)
{
	store_u32(&h->count, 0);
	h->overflow_queued = 0;
	h->head = h->tail = h->used = h->bytes = h->last = 0;
}

/* Empty the ring and say so with one IN_Q_OVERFLOW. */
void ring_wreck(struct queue *q)
{
	struct queue_header *h = q->h;

	reset(h);
	store_u32(&h->count, 1);
	h->overflow_queued = 1;
	*ring_at(q, 0) = (struct wire){ .wd = -1, .mask = IN_Q_OVERFLOW };
	h->tail = h->used = h->bytes = 16;
	domain_note_lost_overflow();
	shim_log_once("an instance's queue was found damaged; its events were "
		      "dropped and IN_Q_OVERFLOW queued");
}

/* After a holder died, or when a header field is out of range: walk the
 * ring from head to tail; empty it if any record is out of shape.  Only
 * q->cap, our own copy, bounds the walk. */
void ring_repair(struct queue *q)
{
	struct queue_header *h = q->h;
	uint64_t off = h->head, used = 0, bytes = 0, last = 0, cap = q->cap;
	uint32_t count = 0;
	bool ok = h->head < cap && h->tail < cap && h->used <= cap &&
		  h->head % 16 == 0 && h->tail % 16 == 0;

	while (ok && used < h->used) {
		struct wire *w = ring_at(q, off);
		uint64_t size = 16 + (uint64_t)w->len;
		if (w->len % 16 || off + size > cap || used + size > h->used) {
			ok = false;
			break;
		}
		used += size;
		if (w->wd != QUEUE_PAD_WD) {
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
	ring_wreck(q);
}

/* Is every header field within the ring?  Checked at every lock. */
bool ring_header_sane(struct queue *q)
{
	struct queue_header *h = q->h;
	uint64_t cap = q->cap;

	if (h->head >= cap || h->tail >= cap || h->last >= cap || h->used > cap ||
	    h->bytes > h->used || (h->head | h->tail | h->last) % 16 ||
	    h->count > q->max_events + 1)
		return false;
	if (h->count) {
		const struct wire *last = ring_at(q, h->last);
		if (last->len % 16 || h->last + 16 + (uint64_t)last->len > cap)
			return false;
	} else if (h->used || h->bytes) {
		return false;
	}
	return true;
}

bool ring_same_as_last(struct queue *q, int32_t wd, uint32_t mask,
		       const char *name, size_t namelen)
{
	struct queue_header *h = q->h;
	struct wire *last;

	if (!h->count)
		return false;
	last = ring_at(q, h->last);
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
bool ring_append(struct queue *q, int32_t wd, uint32_t mask, uint32_t cookie,
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
		*ring_at(q, h->tail) = (struct wire){ .wd = QUEUE_PAD_WD, .len = (uint32_t)(pad - 16) };
		h->used += pad;
		h->tail = 0;
	}
	if (h->used + size > q->cap)
		return false;
	w = ring_at(q, h->tail);
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

