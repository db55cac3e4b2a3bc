/*
 * fdtable.c - see fdtable.h.
 *
 * Word layout: bits 60-63 kind; FD_INSTANCE: bits 32-43 slot, 0-31 gen;
 * FD_FILE: bits 0-31 record index + 1.
 */
#include "fdtable.h"

#include "../util/export.h"
#include "../util/log.h"
#include "../util/real.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <string.h>
#include <sys/mman.h>

uint64_t *fdtable_words;	/* FDTABLE_SIZE words, or NULL before init */
struct ofd *fdtable_pool;	/* OFD_POOL_SIZE records, or NULL before init */
static uint32_t pool_hint;
/* 1 + the index of the record this thread freed last: the next ofd_new()
 * tries it first, so that a program opening and closing files reuses one
 * record still in the cache instead of walking the whole pool (64K
 * records of about 370 bytes) cold.  Only a hint: refs decide. */
static __thread uint32_t freed_hint __attribute__((tls_model("initial-exec")));
static int high_fd = -1;	/* the highest fd ever given a word */
/* Records [0, pool_usable) are mapped read-write; the rest of the pool is
 * reserved PROT_NONE until the usable part is all in use (grow()). */
static uint32_t pool_usable;
uint32_t ofd_live, ofd_shared;

int fdtable_init(void)
{
	void *t, *p;

	if (fdtable_words)
		return 0;
	t = mmap(NULL, FDTABLE_SIZE * sizeof(uint64_t), PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (t == MAP_FAILED)
		return -ENOMEM;
	/* all of it reserved, only the hot part usable (and committed) */
	p = mmap(NULL, OFD_POOL_SIZE * sizeof(struct ofd), PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED || mprotect(p, OFD_POOL_HOT * sizeof(struct ofd),
					PROT_READ | PROT_WRITE) < 0) {
		if (p != MAP_FAILED)
			munmap(p, OFD_POOL_SIZE * sizeof(struct ofd));
		munmap(t, FDTABLE_SIZE * sizeof(uint64_t));
		return -ENOMEM;
	}
	pool_usable = OFD_POOL_HOT;
	fdtable_pool = p;
	__atomic_store_n(&fdtable_words, t, __ATOMIC_RELEASE);
	return 0;
}

static uint64_t *slot_of(int fd)
{
	uint64_t *t = __atomic_load_n(&fdtable_words, __ATOMIC_ACQUIRE);

	if (!t || fd < 0 || (unsigned)fd >= FDTABLE_SIZE)
		return NULL;
	return &t[fd];
}

struct slot_ref fdword_instance(uint64_t word)
{
	return (struct slot_ref){ (uint32_t)(word >> 32) & 0xfff, (uint32_t)word };
}

/* The slot of fd, about to be written: raise the high-water mark. */
static uint64_t *slot_for_write(int fd)
{
	uint64_t *s = slot_of(fd);
	int h = __atomic_load_n(&high_fd, __ATOMIC_RELAXED);

	while (s && fd > h &&
	       !__atomic_compare_exchange_n(&high_fd, &h, fd, false, __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED))
		;
	return s;
}

int fdtable_high(void)
{
	return __atomic_load_n(&high_fd, __ATOMIC_RELAXED);
}

static uint64_t load(int fd)
{
	uint64_t *s = slot_of(fd);
	return s ? __atomic_load_n(s, __ATOMIC_ACQUIRE) : 0;
}

uint64_t fdtable_word(int fd)
{
	return load(fd);
}

enum fd_kind fdtable_kind(int fd)
{
	return fdword_kind(load(fd));
}

bool fdtable_instance(int fd, struct slot_ref *ref)
{
	uint64_t w = load(fd);

	if (fdword_kind(w) != FD_INSTANCE)
		return false;
	*ref = fdword_instance(w);
	return true;
}

struct ofd *fdtable_file(int fd)
{
	return fdword_file(load(fd));
}

static uint64_t file_word(const struct ofd *o)
{
	return (uint64_t)FD_FILE << 60 | (uint64_t)(o - fdtable_pool + 1);
}

void fdtable_set_instance(int fd, struct slot_ref ref)
{
	uint64_t *s = slot_for_write(fd);

	if (s)
		__atomic_store_n(s, (uint64_t)FD_INSTANCE << 60 |
				    (uint64_t)(ref.slot & 0xfff) << 32 | ref.gen,
				 __ATOMIC_RELEASE);
}

void fdtable_set_file(int fd, struct ofd *o)
{
	uint64_t *s = slot_for_write(fd);

	if (s && o)
		__atomic_store_n(s, file_word(o), __ATOMIC_RELEASE);
}

void fdtable_set_other(int fd)
{
	uint64_t *s = slot_for_write(fd);

	if (s)
		__atomic_store_n(s, (uint64_t)FD_OTHER << 60, __ATOMIC_RELEASE);
}

#define OWN_BIT (1ULL << 59)

void fdtable_set_own(int fd, uint64_t tag)
{
	uint64_t *s = slot_for_write(fd);

	if (s)
		__atomic_store_n(s, (uint64_t)FD_OTHER << 60 | OWN_BIT | tag, __ATOMIC_RELEASE);
}

bool fdtable_is_own(int fd, uint64_t tag)
{
	uint64_t *s = slot_of(fd);

	return s && __atomic_load_n(s, __ATOMIC_ACQUIRE) ==
			    ((uint64_t)FD_OTHER << 60 | OWN_BIT | tag);
}

uint64_t fdtable_clear(int fd)
{
	uint64_t *s = slot_of(fd);
	return s ? __atomic_exchange_n(s, 0, __ATOMIC_ACQ_REL) : 0;
}

uint64_t fdtable_adopt(int fd, struct ofd *o)
{
	uint64_t *s = slot_for_write(fd);
	uint64_t want = o ? file_word(o) : (uint64_t)FD_OTHER << 60, seen = 0;

	if (!s)
		return 0;
	if (__atomic_compare_exchange_n(s, &seen, want, false, __ATOMIC_ACQ_REL,
					__ATOMIC_ACQUIRE))
		return want;
	return seen;
}

uint64_t fdtable_dup(int oldfd, int newfd)
{
	uint64_t w = load(oldfd);
	uint64_t *s = slot_for_write(newfd);
	struct ofd *o = fdword_file(w);

	if (!s)
		return 0;
	if (o)
		ofd_get(o);
	__atomic_store_n(s, w, __ATOMIC_RELEASE);
	return w;
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

SHIM_EXPORT uint32_t inotify_shim__test_records_live(void)
{
	return __atomic_load_n(&ofd_live, __ATOMIC_RELAXED);
}

int fdtable_scan_proc(void (*fn)(int fd, void *arg), void *arg)
{
	char buf[4096] __attribute__((aligned(8)));
	int dfd = real_openat(AT_FDCWD, "/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	long n;

	if (dfd < 0)
		return -errno;
	while ((n = getdents64(dfd, buf, sizeof buf)) > 0) {
		for (long off = 0; off < n;) {
			struct dirent64 *e = (struct dirent64 *)(buf + off);
			char *end;
			long fd = strtol(e->d_name, &end, 10);

			off += e->d_reclen;
			if (*end || end == e->d_name || fd == dfd || fd < 0 || fd > INT_MAX)
				continue;
			fn((int)fd, arg);
		}
	}
	real_close(dfd);
	return n < 0 ? -EIO : 0;
}

void fdtable_for_each_instance(void (*fn)(int fd, struct slot_ref ref, void *arg),
			       void *arg)
{
	uint64_t *t = __atomic_load_n(&fdtable_words, __ATOMIC_ACQUIRE);
	int high = fdtable_high();

	if (!t)
		return;
	/* Callers ask only when the process holds an instance (fork).  Every
	 * fd the table holds (fds from FDTABLE_SIZE up, possible only with
	 * fs.nr_open raised, are never instances: frontend_init1). */
	for (int fd = 0; fd <= high; fd++) {
		uint64_t w = __atomic_load_n(&t[fd], __ATOMIC_ACQUIRE);
		if (fdword_kind(w) == FD_INSTANCE)
			fn((int)fd, fdword_instance(w), arg);
	}
}
