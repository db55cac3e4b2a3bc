/*
 * slots.c - see slots.h.
 *
 * The mapping cache is one entry per registry slot, private to the process.
 * An entry is published with a compare-and-swap, so two threads mapping the
 * same queue at once keep one mapping and drop the other; no lock is taken
 * and entries are mmap()ed, not malloc()ed, which keeps slot_queue() usable
 * from a signal handler (malloc is not async-signal-safe; mmap is a plain
 * system call).
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
#include <unistd.h>

#include "../domain/registry.h"
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

void slot_fifo_name(struct slot_ref ref, char buf[SLOT_NAME_MAX])
{
	snprintf(buf, SLOT_NAME_MAX, "f-%u-%u", ref.slot, ref.gen);
}

void slot_queue_name(struct slot_ref ref, char buf[SLOT_NAME_MAX])
{
	snprintf(buf, SLOT_NAME_MAX, "q-%u-%u", ref.slot, ref.gen);
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
	else if (domain_file_refused(d, &st, why, sizeof why)) {
		shim_log_once("domain %s: refused the queue %s: %s", d->dir, name, why);
		ret = -EPROTO;
	} else
		ret = queue_map(fd, q);
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

static int producer_wake(void *arg)
{
	const struct slot_ref *ref = arg;
	char name[SLOT_NAME_MAX];
	sigset_t pipe_only, old;
	int fd, ret = 0;

	slot_fifo_name(*ref, name);
	fd = domain_openat(shim_domain, name, O_WRONLY | O_NONBLOCK, 0);
	if (fd < 0)
		return fd == -ENXIO || fd == -ENOENT ? -ENXIO : fd;
	/* The last holder may close between our open and our write: keep the
	 * SIGPIPE that would follow from reaching the host program. */
	sigemptyset(&pipe_only);
	sigaddset(&pipe_only, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
	if (real_write(fd, "", 1) < 0) {
		ret = errno == EPIPE ? -ENXIO : (errno == EAGAIN ? 0 : -errno);
		if (errno == EPIPE && !sigismember(&old, SIGPIPE)) {
			struct timespec zero = { 0, 0 };
			sigtimedwait(&pipe_only, NULL, &zero);
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	real_close(fd);
	return ret;
}

static void producer_unwake(void *arg)
{
	/* Producers never take the token out; only readers do. */
	(void)arg;
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
