/*
 * order.c - per-root ordering, deduplication and gap detection (order.h).
 */
#include <string.h>

#include "order.h"

void order_reset(struct order *o)
{
	memset(o, 0, sizeof(*o));
}

static struct order_origin *origin_find(struct order *o,
					const struct bridge_event *ev,
					int *fresh)
{
	struct order_origin *oldest = NULL;

	for (int i = 0; i < o->norigins; i++) {
		struct order_origin *r = &o->origins[i];
		if (r->incarnation == ev->incarnation && !strcmp(r->host, ev->host)) {
			*fresh = 0;
			return r;
		}
		if (!oldest || r->used < oldest->used)
			oldest = r;
	}
	*fresh = 1;
	if (o->norigins < ORDER_ORIGINS)
		oldest = &o->origins[o->norigins++];
	strcpy(oldest->host, ev->host);
	oldest->incarnation = ev->incarnation;
	oldest->seq = 0;
	return oldest;
}

unsigned order_check(struct order *o, uint64_t stream_seq,
		     const struct bridge_event *ev)
{
	unsigned v = 0;

	if (o->stream_seq && stream_seq <= o->stream_seq)
		return 0;
	if (o->stream_seq && stream_seq != o->stream_seq + 1)
		v |= ORDER_LOST;
	o->stream_seq = stream_seq;
	return v | order_check_next(o, ev);
}

unsigned order_check_next(struct order *o, const struct bridge_event *ev)
{
	unsigned v = 0;
	int fresh;

	struct order_origin *r = origin_find(o, ev, &fresh);
	r->used = ++o->clock;
	if (!fresh && ev->seq <= r->seq)
		return v;
	if (!fresh && ev->seq != r->seq + 1)
		v |= ORDER_LOST;
	r->seq = ev->seq;
	return v | ORDER_DELIVER;
}
