/*
 * expect.c - the injected events the bridge's own watches will report
 * (expect.h).  A ring: the newest note overwrites the oldest.
 */
#include <string.h>
#include <time.h>

#include "expect.h"

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t mix(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

uint64_t expect_hash(int root, const char *rel, const char *name, uint32_t mask,
		     uint32_t cookie)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	h = mix(h, &root, sizeof(root));
	h = mix(h, rel, strlen(rel) + 1);
	h = mix(h, name, strlen(name) + 1);
	h = mix(h, &mask, sizeof(mask));
	h = mix(h, &cookie, sizeof(cookie));
	return h | 1;	/* 0 marks a free slot */
}

void expect_add(struct expect *x, uint64_t hash)
{
	if (x->head - x->tail == EXPECT_SLOTS)
		x->tail++;	/* full: the oldest note goes */
	unsigned i = x->head++ % EXPECT_SLOTS;
	x->hash[i] = hash;
	x->when[i] = now_ms();
}

bool expect_take(struct expect *x, uint64_t hash)
{
	int64_t old = now_ms() - EXPECT_TTL_MS;

	/* drop taken and expired notes at the front */
	while (x->tail != x->head) {
		unsigned i = x->tail % EXPECT_SLOTS;
		if (x->hash[i] && x->when[i] >= old)
			break;
		x->tail++;
	}
	/* the tap reads in the order of injection: the match is at the front,
	 * or near it when local events came between */
	for (unsigned k = x->tail; k != x->head; k++) {
		unsigned i = k % EXPECT_SLOTS;
		if (x->hash[i] == hash) {
			x->hash[i] = 0;
			return true;
		}
	}
	return false;
}
