/*
 * slots.c - see slots.h.
 *
 * The mapping cache is one entry per registry slot, private to the process.
 * An entry is published with a compare-and-swap, so two threads mapping the
 * same queue at once keep one mapping and drop the other; no lock is taken
 * and entries are mmap()ed, not malloc()ed, and the files' names are made
 * without snprintf, which keeps slot_queue() usable from a signal handler
 * (malloc and snprintf are not async-signal-safe; mmap, open and the
 * domain's *at() calls are plain system calls).
 *
 * The producer's wake looks in the process's fd table (fd/fdtable.h,
 * a private table of plain words that depends on nothing above this
 * layer) for an fd on the instance that it may write through.
 */
#include "slots.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../domain/registry.h"
#include "../fd/fdtable.h"
#include "../util/log.h"
#include "../util/real.h"

struct cached_queue {
	uint32_t gen;
	struct queue q;
};

static struct cached_queue *cache[REGISTRY_INSTANCES];

static struct cached_queue *entry_new(void)
{
	void *p = mmap(NULL, sizeof(struct cached_queue), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static void entry_free(struct cached_queue *c)
{
	munmap(c, sizeof *c);
}

/* "K-SLOT-GEN", without snprintf (not async-signal-safe): a signal
 * handler's hook may name a queue or a FIFO (slot_queue, the wakes). */
static void slot_name(char kind, struct slot_ref ref, char buf[SLOT_NAME_MAX])
{
	char *p = buf;

	*p++ = kind;
	for (int part = 0; part < 2; part++) {
		uint32_t v = part ? ref.gen : ref.slot;
		char digits[10];
		int n = 0;

		*p++ = '-';
		do
			digits[n++] = (char)('0' + v % 10);
		while ((v /= 10));
		while (n)
			*p++ = digits[--n];
	}
	*p = 0;	/* at most 1 + 2 * 11 bytes and the 0: fits SLOT_NAME_MAX */
}

void slot_fifo_name(struct slot_ref ref, char buf[SLOT_NAME_MAX])
{
	slot_name('f', ref, buf);
}

void slot_queue_name(struct slot_ref ref, char buf[SLOT_NAME_MAX])
{
	slot_name('q', ref, buf);
}

/* Open and map the instance's queue file, by the domain's rule. */
static int map_queue(struct domain *d, struct slot_ref ref, struct queue *q)
{
	char name[SLOT_NAME_MAX], why[96];
	struct stat st;
	int fd, ret;

	slot_queue_name(ref, name);
	fd = domain_openat(d, name, O_RDWR, 0);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0)
		ret = -errno;
	else if (domain_file_refused(d, fd, &st, why, sizeof why)) {
		shim_log_once("domain %s: refused the queue %s: %s", d->dir, name, why);
		ret = -EPROTO;
	} else if ((ret = queue_map(fd, q)) == -EPROTO)
		shim_log_once("domain %s: refused the queue %s: not a whole, backed "
			      "queue of this version (truncated, replaced?)", d->dir, name);
	if (ret == -EPROTO)
		domain_note_refusal();
	real_close(fd);
	return ret;
}

struct queue *slot_queue(struct domain *d, struct slot_ref ref)
{
	struct cached_queue *c, *fresh;
	if (ref.slot == 0 || ref.slot >= REGISTRY_INSTANCES)
		return NULL;
	c = __atomic_load_n(&cache[ref.slot], __ATOMIC_ACQUIRE);
	if (c && c->gen == ref.gen)
		return &c->q;

	fresh = entry_new();
	if (!fresh)
		return NULL;
	fresh->gen = ref.gen;
	if (map_queue(d, ref, &fresh->q) < 0) {
		entry_free(fresh);
		return NULL;
	}
	fresh->q.lost = &d->reg->lost[ref.slot];
	fresh->q.lost_gen = ref.gen;
	if (!__atomic_compare_exchange_n(&cache[ref.slot], &c, fresh, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		queue_unmap(&fresh->q);
		entry_free(fresh);
		return c && c->gen == ref.gen ? &c->q : NULL;
	}
	/* The old generation's mapping is left mapped: another thread may
	 * still be using it.  Slots are reused rarely; this is bounded by the
	 * number of reuses seen by this process. */
	return &fresh->q;
}

/* Producer wakes.  The cheapest way into the FIFO is an fd on it that
 * this process holds already: the instance's own fd, when the producer
 * holds the instance (a forked writer, or a watcher that writes).  It is
 * found in the fd table and remembered per slot; the fd table is checked
 * again before every use, so an fd the program closed or reused is never
 * written to.  That fd is O_RDWR, so the write never meets a FIFO without
 * a reader (no EPIPE, no SIGPIPE) -- and needs no liveness test: we hold
 * the instance.  It may be a blocking fd: it is used only while the FIFO
 * holds fewer than QUEUE_TOKENS_SAFE tokens, so the write cannot block.
 *
 * Otherwise the FIFO is opened by name (the liveness test: ENXIO when no
 * holder is left) and written with pwritev2(RWF_NOSIGNAL) where the kernel
 * has it (EPIPE without SIGPIPE; this 6.18 kernel does), else with SIGPIPE
 * blocked around the write.  The fd is then kept, O_WRONLY, for the next
 * wakes of that (slot, gen): moved to OWN_FD_BASE or above, out of the
 * program's way, close-on-exec, and tagged in the fd table.  The program
 * may close it, dup2 over it or close_range it (closefrom, daemons): those
 * go through the hooks, which wipe the tag, and an fd without our tag is
 * never written to again.  EPIPE on it is the liveness test: nobody holds
 * the instance any more.  At most OWN_FDS_MAX are kept per process.
 *
 * Known gaps: an fd closed by a raw system call, not through libc, keeps
 * its tag (the program's next file could get its number: the shim would
 * then write a byte into it); so would one closed by another thread between
 * our check and our write.  The kept fds are visible in /proc/self/fd. */

#define HELD_NONE 0xffffffffu	/* scanned: this process holds no fd on it */

static uint64_t held[REGISTRY_INSTANCES];	/* gen << 32 | fd, or HELD_NONE */
static int no_rwf_nosignal;

#ifndef RWF_NOSIGNAL
#define RWF_NOSIGNAL 0x00000100
#endif

static bool holds(int fd, struct slot_ref ref)
{
	uint64_t w = fdtable_word(fd);
	struct slot_ref r = fdword_instance(w);

	return fdword_kind(w) == FD_INSTANCE && r.slot == ref.slot && r.gen == ref.gen;
}

/* An fd of this process on instance ref, or -1. */
static int held_fd(struct slot_ref ref)
{
	uint64_t h = __atomic_load_n(&held[ref.slot], __ATOMIC_RELAXED);
	uint32_t fd = (uint32_t)h;
	int high;

	if (h && (uint32_t)(h >> 32) == ref.gen) {
		if (fd == HELD_NONE)
			return -1;
		if (holds((int)fd, ref))
			return (int)fd;
	}
	high = fdtable_high();
	fd = HELD_NONE;
	for (int i = 0; i <= high; i++) {
		if (holds(i, ref)) {
			fd = (uint32_t)i;
			break;
		}
	}
	__atomic_store_n(&held[ref.slot], (uint64_t)ref.gen << 32 | fd, __ATOMIC_RELAXED);
	return fd == HELD_NONE ? -1 : (int)fd;
}

static int write_blocking_sigpipe(int fd)
{
	sigset_t pipe_only, old, pending;
	bool had_one;
	int ret = 0;

	/* The last holder may close between our open and our write: keep the
	 * SIGPIPE that would follow from reaching the host program.  SIGPIPE
	 * may be blocked already (by the program, or by sigdefer while a lock
	 * is held): ours is taken back unless one was pending before. */
	sigemptyset(&pipe_only);
	sigaddset(&pipe_only, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
	had_one = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE);
	if (real_write(fd, "", 1) < 0) {
		ret = -errno;
		if (errno == EPIPE && !had_one) {
			struct timespec zero = { 0, 0 };
			sigtimedwait(&pipe_only, NULL, &zero);
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return ret;
}

/* One byte into a FIFO opened O_WRONLY: 0, or -errno. */
static int write_token(int fd)
{
	if (!__atomic_load_n(&no_rwf_nosignal, __ATOMIC_RELAXED)) {
		struct iovec iov = { (void *)"", 1 };
		if (real_pwritev2(fd, &iov, 1, -1, RWF_NOSIGNAL) == 1)
			return 0;
		if (errno != EOPNOTSUPP && errno != EINVAL)
			return -errno;
		__atomic_store_n(&no_rwf_nosignal, 1, __ATOMIC_RELAXED);
	}
	return write_blocking_sigpipe(fd);
}

#define OWN_FD_BASE 900	/* as the log's fd (util/log.c) */
#define OWN_FDS_MAX 8

static uint64_t own[REGISTRY_INSTANCES];	/* gen << 32 | fd + 1, or 0 */
static uint32_t own_count;

static uint64_t own_tag(uint32_t slot, uint32_t gen)
{
	return (uint64_t)(slot & 0xfff) << 32 | gen;
}

static int own_fd(struct slot_ref ref)
{
	uint64_t o = __atomic_load_n(&own[ref.slot], __ATOMIC_ACQUIRE);
	int fd = (int)(uint32_t)o - 1;

	if (!o)
		return -1;
	if ((uint32_t)(o >> 32) == ref.gen && fdtable_is_own(fd, own_tag(ref.slot, ref.gen)))
		return fd;
	if ((uint32_t)(o >> 32) != ref.gen)
		return -1;	/* an older generation's: own_keep replaces it */
	/* closed or replaced through the hooks: the number is the program's */
	if (__atomic_compare_exchange_n(&own[ref.slot], &o, 0, false, __ATOMIC_ACQ_REL,
					__ATOMIC_RELAXED))
		__atomic_fetch_sub(&own_count, 1, __ATOMIC_RELAXED);
	return -1;
}

/* Our fd on a dead instance: close it. */
static void own_drop(struct slot_ref ref, int fd)
{
	uint64_t o = (uint64_t)ref.gen << 32 | (uint32_t)(fd + 1);

	if (!__atomic_compare_exchange_n(&own[ref.slot], &o, 0, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_RELAXED))
		return;
	__atomic_fetch_sub(&own_count, 1, __ATOMIC_RELAXED);
	if (fdtable_is_own(fd, own_tag(ref.slot, ref.gen))) {
		fdtable_clear(fd);
		real_close(fd);
	}
}

/* Keep a copy of fd (open on instance ref's FIFO) for the next wakes. */
static void own_keep(struct slot_ref ref, int fd)
{
	uint64_t old = __atomic_load_n(&own[ref.slot], __ATOMIC_ACQUIRE), fresh;
	int high, oldfd = (int)(uint32_t)old - 1;

	if (!old && __atomic_load_n(&own_count, __ATOMIC_RELAXED) >= OWN_FDS_MAX)
		return;
	high = real_fcntl(fd, F_DUPFD_CLOEXEC, (long)OWN_FD_BASE);
	if (high < 0)
		return;
	fdtable_set_own(high, own_tag(ref.slot, ref.gen));
	fresh = (uint64_t)ref.gen << 32 | (uint32_t)(high + 1);
	if (!__atomic_compare_exchange_n(&own[ref.slot], &old, fresh, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
		fdtable_clear(high);
		real_close(high);
		return;
	}
	if (!old) {
		__atomic_fetch_add(&own_count, 1, __ATOMIC_RELAXED);
	} else if (fdtable_is_own(oldfd, own_tag(ref.slot, (uint32_t)(old >> 32)))) {
		fdtable_clear(oldfd);
		real_close(oldfd);
	}
}

static int producer_wake(void *arg, uint32_t tokens)
{
	const struct slot_ref *ref = arg;
	char name[SLOT_NAME_MAX];
	int fd, ret;

	fd = ref->slot < REGISTRY_INSTANCES && tokens < QUEUE_TOKENS_SAFE ? held_fd(*ref) : -1;
	if (fd >= 0) {
		if (real_write(fd, "", 1) == 1)
			return 0;
		if (errno == EAGAIN)
			return -EAGAIN;
		/* anything else: by name, as if we held nothing */
	}
	fd = ref->slot < REGISTRY_INSTANCES ? own_fd(*ref) : -1;
	if (fd >= 0) {
		ret = write_token(fd);
		if (ret == 0 || ret == -EAGAIN)
			return ret;
		if (ret == -EPIPE) {
			own_drop(*ref, fd);
			return -ENXIO;
		}
	}
	slot_fifo_name(*ref, name);
	fd = domain_openat(shim_domain, name, O_WRONLY | O_NONBLOCK, 0);
	if (fd < 0)
		return fd == -ENXIO || fd == -ENOENT ? -ENXIO : fd;
	ret = write_token(fd);
	if ((ret == 0 || ret == -EAGAIN) && ref->slot < REGISTRY_INSTANCES)
		own_keep(*ref, fd);
	real_close(fd);
	return ret == -EPIPE ? -ENXIO : ret;
}

static uint32_t producer_unwake(void *arg, uint32_t max)
{
	/* Producers never take tokens out; only readers do. */
	(void)arg;
	(void)max;
	return 0;
}

void slot_producer_waker(struct slot_ref *ref, struct queue_waker *out)
{
	out->wake = producer_wake;
	out->unwake = producer_unwake;
	out->arg = ref;
}

bool slot_alive(struct domain *d, uint32_t slot)
{
	struct reg_instance *inst = reg_instance(d, slot);
	struct slot_ref ref;
	char name[SLOT_NAME_MAX];
	int fd;

	if (!inst || inst->state != RECORD_USED)
		return false;
	if (!inst->fifo_ino) {
		/* still being created */
		return inst->creator_pid > 0 &&
		       (kill(inst->creator_pid, 0) == 0 || errno == EPERM);
	}
	ref = (struct slot_ref){ slot, inst->gen };
	slot_fifo_name(ref, name);
	fd = domain_openat(d, name, O_WRONLY | O_NONBLOCK, 0);
	if (fd >= 0) {
		real_close(fd);
		return true;
	}
	return fd != -ENXIO && fd != -ENOENT;
}

void slot_reclaim(struct domain *d, uint32_t slot)
{
	struct reg_instance *inst = reg_instance(d, slot);
	struct slot_ref ref;
	char name[SLOT_NAME_MAX];

	if (!inst || inst->state != RECORD_USED)
		return;
	ref = (struct slot_ref){ slot, inst->gen };
	registry_free_instance(d, slot);
	slot_fifo_name(ref, name);
	domain_unlinkat(d, name);
	slot_queue_name(ref, name);
	domain_unlinkat(d, name);
	shim_debug("reclaimed instance %u.%u", ref.slot, ref.gen);
}

int slot_reap(struct domain *d)
{
	int n = 0;

	for (uint32_t slot = 1; slot < REGISTRY_INSTANCES; slot++) {
		if (d->instances[slot].state != RECORD_USED)
			continue;
		if (!slot_alive(d, slot)) {
			slot_reclaim(d, slot);
			n++;
		}
	}
	return n;
}

/* Wakes that could not be made (no fd left to map the queue or open the
 * FIFO), made again at this process's next pass and at its exit. */
#define UNWOKEN_MAX 8
static uint64_t unwoken[UNWOKEN_MAX];	/* gen << 32 | slot, 0: none */
static uint32_t unwoken_count;

static bool wake_lost(struct domain *d, struct slot_ref ref)
{
	struct queue_waker waker;
	struct queue *q = slot_queue(d, ref);

	if (!q)
		return false;
	slot_producer_waker(&ref, &waker);
	queue_wake_lost(q, &waker);
	return true;
}

static void remember_unwoken(struct slot_ref ref)
{
	uint64_t w = (uint64_t)ref.gen << 32 | ref.slot, zero;

	for (int i = 0; i < UNWOKEN_MAX; i++) {
		zero = 0;
		if (__atomic_load_n(&unwoken[i], __ATOMIC_RELAXED) == w)
			return;
		if (__atomic_compare_exchange_n(&unwoken[i], &zero, w, false, __ATOMIC_ACQ_REL,
						__ATOMIC_RELAXED)) {
			__atomic_add_fetch(&unwoken_count, 1, __ATOMIC_RELAXED);
			return;
		}
	}
	/* more than 8 at once: the readers find the mark at their next read */
}

void slot_wake_unwoken(struct domain *d)
{
	if (__builtin_expect(!__atomic_load_n(&unwoken_count, __ATOMIC_RELAXED), 1) || !d)
		return;
	for (int i = 0; i < UNWOKEN_MAX; i++) {
		uint64_t w = __atomic_exchange_n(&unwoken[i], 0, __ATOMIC_ACQ_REL);
		struct slot_ref ref = { (uint32_t)w, (uint32_t)(w >> 32) };

		if (!w)
			continue;
		__atomic_sub_fetch(&unwoken_count, 1, __ATOMIC_RELAXED);
		/* only if it is still unread, and still that instance */
		if (__atomic_load_n(&d->reg->lost[ref.slot], __ATOMIC_ACQUIRE) == ref.gen &&
		    !wake_lost(d, ref))
			remember_unwoken(ref);
	}
}

__attribute__((destructor)) static void wake_unwoken_at_exit(void)
{
	int saved = errno;

	slot_wake_unwoken(shim_domain);
	errno = saved;
}

void slot_lost(struct domain *d, struct slot_ref ref)
{
	if (ref.slot == 0 || ref.slot >= REGISTRY_INSTANCES || ref.gen == 0)
		return;
	__atomic_add_fetch(&d->reg->lost_events, 1, __ATOMIC_RELAXED);
	if (__atomic_exchange_n(&d->reg->lost[ref.slot], ref.gen, __ATOMIC_ACQ_REL) == ref.gen)
		return;	/* pending already: its reader was woken then */
	if (!wake_lost(d, ref))
		remember_unwoken(ref);	/* no fd: woken later */
}

void slot_lost_all(struct domain *d)
{
	/* a repair under way recounts nwatches from 0: every instance then */
	bool repairing = __atomic_load_n(&d->reg->repair_seq, __ATOMIC_ACQUIRE) & 1;

	for (uint32_t slot = 1; slot < REGISTRY_INSTANCES; slot++) {
		struct reg_instance *inst = &d->instances[slot];
		struct slot_ref ref;

		if (__atomic_load_n(&inst->state, __ATOMIC_RELAXED) != RECORD_USED ||
		    (!repairing && !__atomic_load_n(&inst->nwatches, __ATOMIC_RELAXED)))
			continue;
		ref = (struct slot_ref){ slot, __atomic_load_n(&inst->gen, __ATOMIC_RELAXED) };
		slot_lost(d, ref);
	}
}
