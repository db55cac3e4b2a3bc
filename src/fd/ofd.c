/*
 * ofd.c - the pool of open-file records; see ofd.h.
 */
#include "ofd.h"

#include "../util/log.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>

struct ofd *fdtable_pool;	/* OFD_POOL_SIZE records, or NULL before init */
static uint32_t pool_hint;
/* 1 + the index of the record this thread freed last: the next ofd_new()
 * tries it first, so that a program opening and closing files reuses one
 * record still in the cache instead of walking the whole pool (64K
 * records of about 370 bytes) cold.  Only a hint: refs decide. */
static __thread uint32_t freed_hint __attribute__((tls_model("initial-exec")));
/* Records [0, pool_usable) are mapped read-write; the rest of the pool is
 * reserved PROT_NONE until the usable part is all in use (grow()). */
static uint32_t pool_usable;
uint32_t ofd_live, ofd_shared;

int ofd_pool_init(void)
{
	void *p;

	if (fdtable_pool)
		return 0;
	/* all of it reserved, only the hot part usable (and committed) */
	p = mmap(NULL, OFD_POOL_SIZE * sizeof(struct ofd), PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -ENOMEM;
	if (mprotect(p, OFD_POOL_HOT * sizeof(struct ofd), PROT_READ | PROT_WRITE) < 0) {
		munmap(p, OFD_POOL_SIZE * sizeof(struct ofd));
		return -ENOMEM;
	}
	pool_usable = OFD_POOL_HOT;
	__atomic_store_n(&fdtable_pool, p, __ATOMIC_RELEASE);
	return 0;
}

/* Take the record at i if it is free. */
static struct ofd *take(uint32_t i)
{
	struct ofd *o = &fdtable_pool[i];
	uint32_t zero = 0;

	if (__atomic_load_n(&o->refs, __ATOMIC_RELAXED) != 0 ||
	    !__atomic_compare_exchange_n(&o->refs, &zero, UINT32_MAX, false,
					 __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return NULL;
	/* all but the name, which OFD_DIR_KNOWN guards (the whole record's
	 * memset was the largest single cost of an open with watches
	 * elsewhere) */
	memset((char *)o + sizeof o->refs, 0, offsetof(struct ofd, name) - sizeof o->refs);
	o->name[0] = 0;
	memset((char *)o + offsetof(struct ofd, exit_off), 0,
	       sizeof *o - offsetof(struct ofd, exit_off));
	__atomic_store_n(&o->refs, 1, __ATOMIC_RELEASE);
	__atomic_add_fetch(&ofd_live, 1, __ATOMIC_RELAXED);
	return o;
}

/* Make OFD_POOL_HOT more records usable, one thread at a time.  Signal-
 * safe: one mprotect, no lock, no wait (a thread that loses the race, or a
 * handler that interrupts the winner, gets false unless the records were
 * made usable meanwhile).  False when nothing more is usable than seen. */
static bool grow(uint32_t seen)
{
	static uint32_t growing;
	uint32_t zero = 0;

	if (seen >= OFD_POOL_SIZE)
		return false;
	if (!__atomic_compare_exchange_n(&growing, &zero, 1, false, __ATOMIC_ACQUIRE,
					 __ATOMIC_RELAXED))
		return __atomic_load_n(&pool_usable, __ATOMIC_ACQUIRE) > seen;
	if (__atomic_load_n(&pool_usable, __ATOMIC_ACQUIRE) == seen &&
	    mprotect(fdtable_pool + seen, OFD_POOL_HOT * sizeof(struct ofd),
		     PROT_READ | PROT_WRITE) == 0)
		__atomic_store_n(&pool_usable, seen + OFD_POOL_HOT, __ATOMIC_RELEASE);
	__atomic_store_n(&growing, 0, __ATOMIC_RELEASE);
	return __atomic_load_n(&pool_usable, __ATOMIC_ACQUIRE) > seen;
}

struct ofd *ofd_new(void)
{
	uint32_t hint = freed_hint, start, usable;
	struct ofd *o;

	if (!fdtable_pool)
		return NULL;
	freed_hint = 0;
	if (hint && (o = take(hint - 1)))
		return o;
	/* the hot part, from a spreading start; then the rest, in order,
	 * made usable as it is needed */
	start = __atomic_fetch_add(&pool_hint, 1, __ATOMIC_RELAXED) % OFD_POOL_HOT;
	for (uint32_t i = 0; i < OFD_POOL_HOT; i++)
		if ((o = take((start + i) % OFD_POOL_HOT)))
			return o;
	for (uint32_t i = OFD_POOL_HOT; i < OFD_POOL_SIZE;) {
		usable = __atomic_load_n(&pool_usable, __ATOMIC_ACQUIRE);
		if (i >= usable) {
			if (!grow(usable))
				break;
			continue;
		}
		if ((o = take(i)))
			return o;
		i++;
	}
	shim_debug("every open-file record is in use (leaked?): no events through new fds");
	return NULL;
}

void ofd_get(struct ofd *o)
{
	__atomic_add_fetch(&o->refs, 1, __ATOMIC_RELAXED);
}

bool ofd_put(struct ofd *o)
{
	uint32_t r = __atomic_load_n(&o->refs, __ATOMIC_RELAXED);

	while (r != 0 && r != UINT32_MAX) {
		if (__atomic_compare_exchange_n(&o->refs, &r, r == 1 ? UINT32_MAX : r - 1,
						false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
			return r == 1;
	}
	return false;
}

void ofd_free(struct ofd *o)
{
	if (o->share.idx) {
		o->share.idx = 0;
		__atomic_sub_fetch(&ofd_shared, 1, __ATOMIC_RELAXED);
	}
	__atomic_sub_fetch(&ofd_live, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&o->refs, 0, __ATOMIC_RELEASE);
	if (o >= fdtable_pool && o < fdtable_pool + OFD_POOL_SIZE)
		freed_hint = (uint32_t)(o - fdtable_pool) + 1;
}
