/*
 * slots.c - see slots.h.
 *
 * The mapping cache is one entry per registry slot, private to the process.
 * An entry is published with a compare-and-swap, so two threads mapping the
 * same queue at once keep one mapping and drop the other; no lock is taken,
 * which keeps slot_queue() usable from a signal handler.
 */
#include "slots.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
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

void slot_fifo_path(const struct domain *d, struct slot_ref ref, char *buf)
{
	domain_path(d, buf, "f-%u-%u", ref.slot, ref.gen);
}

void slot_queue_path(const struct domain *d, struct slot_ref ref, char *buf)
{
	domain_path(d, buf, "q-%u-%u", ref.slot, ref.gen);
}

struct queue *slot_queue(struct domain *d, struct slot_ref ref)
{
	struct cached_queue *c, *fresh;
	char path[PATH_MAX];

	if (ref.slot == 0 || ref.slot >= REGISTRY_INSTANCES)
		return NULL;
	c = __atomic_load_n(&cache[ref.slot], __ATOMIC_ACQUIRE);
	if (c && c->gen == ref.gen)
		return &c->q;

	fresh = calloc(1, sizeof *fresh);
	if (!fresh)
		return NULL;
	fresh->gen = ref.gen;
	slot_queue_path(d, ref, path);
	if (queue_map(path, &fresh->q) < 0) {
		free(fresh);
		return NULL;
	}
	if (!__atomic_compare_exchange_n(&cache[ref.slot], &c, fresh, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		queue_unmap(&fresh->q);
		free(fresh);
		return c && c->gen == ref.gen ? &c->q : NULL;
	}
	/* The old generation's mapping is left mapped: another thread may
	 * still be using it.  Slots are reused rarely; this is bounded by the
	 * number of reuses seen by this process. */
	return &fresh->q;
}

static int producer_wake(void *arg, uint32_t tokens)
{
	const struct slot_ref *ref = arg;
	char path[PATH_MAX];
	sigset_t pipe_only, old;
	int fd, ret = 0;

	(void)tokens;

	slot_fifo_path(shim_domain, *ref, path);
	fd = real_open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW, 0);
	if (fd < 0)
		return errno == ENXIO || errno == ENOENT ? -ENXIO : -errno;
	/* The last holder may close between our open and our write: keep the
	 * SIGPIPE that would follow from reaching the host program. */
	sigemptyset(&pipe_only);
	sigaddset(&pipe_only, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
	if (real_write(fd, "", 1) < 0) {
		ret = errno == EPIPE ? -ENXIO : -errno;
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
	char path[PATH_MAX];
	int fd;

	if (!inst || inst->state != RECORD_USED)
		return false;
	if (!inst->fifo_ino) {
		/* still being created */
		return inst->creator_pid > 0 &&
		       (kill(inst->creator_pid, 0) == 0 || errno == EPERM);
	}
	ref = (struct slot_ref){ slot, inst->gen };
	slot_fifo_path(d, ref, path);
	fd = real_open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW, 0);
	if (fd >= 0) {
		real_close(fd);
		return true;
	}
	return errno != ENXIO && errno != ENOENT;
}

void slot_reclaim(struct domain *d, uint32_t slot)
{
	struct reg_instance *inst = reg_instance(d, slot);
	struct slot_ref ref;
	char path[PATH_MAX];

	if (!inst || inst->state != RECORD_USED)
		return;
	ref = (struct slot_ref){ slot, inst->gen };
	registry_free_instance(d, slot);
	slot_fifo_path(d, ref, path);
	real_unlink(path);
	slot_queue_path(d, ref, path);
	real_unlink(path);
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
