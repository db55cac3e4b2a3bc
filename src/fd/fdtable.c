/*
 * fdtable.c - the per-fd word table; see fdtable.h.
 *
 * Word layout: bits 60-63 kind; FD_INSTANCE: bits 32-43 slot, 0-31 gen;
 * FD_FILE: bits 0-31 record index + 1.
 */
#include "fdtable.h"

#include <errno.h>
#include <sys/mman.h>

uint64_t *fdtable_words;	/* FDTABLE_SIZE words, or NULL before init */
static int high_fd = -1;	/* the highest fd ever given a word */

int fdtable_init(void)
{
	void *t;

	if (fdtable_words)
		return 0;
	t = mmap(NULL, FDTABLE_SIZE * sizeof(uint64_t), PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (t == MAP_FAILED)
		return -ENOMEM;
	if (ofd_pool_init() < 0) {
		munmap(t, FDTABLE_SIZE * sizeof(uint64_t));
		return -ENOMEM;
	}
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
	return (uint64_t)FD_FILE << 60 | ofd_index(o);
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
