/*
 * snapshot.c - see snapshot.h.
 *
 * Lock order as everywhere (domain.h): registry.lock is released before
 * the queues are read, and each queue_stat takes only that queue's lock.
 *
 * Paths: the registry keeps inodes, not names.  A watched inode's path is
 * known cheaply when it is the working directory of one of the instance's
 * holders (the common "watch ." case), read from /proc/PID/cwd; otherwise
 * it is left unknown and only dev:ino is printed.
 */
#include "snapshot.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/slots.h"
#include "domain/registry.h"
#include "queue/queue.h"

static int copy_watches(struct domain *d, struct reg_instance *inst,
			struct snap_instance *out)
{
	uint32_t n = 0, idx = inst->watches;

	out->watches = calloc(inst->nwatches ? inst->nwatches : 1, sizeof *out->watches);
	if (!out->watches)
		return -ENOMEM;
	for (uint32_t guard = 0; idx && n < inst->nwatches && guard <= REGISTRY_WATCHES; guard++) {
		struct reg_watch *w = reg_watch(d, idx);
		struct reg_inode *in;
		if (!w || w->state != RECORD_USED)
			break;
		in = reg_inode(d, w->inode);
		out->watches[n] = (struct snap_watch){
			.wd = w->wd,
			.mask = w->mask | w->flags,
			.dev = in ? in->id.dev : 0,
			.ino = in ? in->id.ino : 0,
		};
		n++;
		idx = w->inst_next;
	}
	out->nwatches = n;
	return 0;
}

static int copy_locked(struct domain *d, struct snapshot *s, bool with_watches)
{
	for (uint32_t slot = 1; slot < REGISTRY_INSTANCES; slot++) {
		struct reg_instance *inst = reg_instance(d, slot);
		struct snap_instance *o;
		if (!inst || inst->state != RECORD_USED)
			continue;
		o = &s->inst[s->count++];
		o->slot = slot;
		o->gen = inst->gen;
		o->alive = slot_alive(d, slot);
		o->creator_pid = inst->creator_pid;
		o->nholders = inst->nholders < HOLDERS_PER_INSTANCE ? inst->nholders
								     : HOLDERS_PER_INSTANCE;
		memcpy(o->holders, inst->holders, o->nholders * sizeof o->holders[0]);
		o->max_events = inst->max_events;
		o->nwatches = inst->nwatches;
		if (with_watches && copy_watches(d, inst, o) < 0)
			return -ENOMEM;
	}
	return 0;
}

static void read_queue(struct domain *d, struct snap_instance *o)
{
	struct queue *q = slot_queue(d, (struct slot_ref){ o->slot, o->gen });

	if (!q || queue_stat(q, &o->bytes, &o->events) < 0)
		return;
	o->overflows = __atomic_load_n(&q->h->overflows, __ATOMIC_RELAXED);
	o->total_events = __atomic_load_n(&q->h->total_events, __ATOMIC_RELAXED);
	o->queue_ok = true;
}

/* The path of a watched inode, if it is a holder's working directory. */
static void find_path(struct snap_instance *o, struct snap_watch *w)
{
	for (uint32_t i = 0; i < o->nholders; i++) {
		char link[64], path[PATH_MAX];
		struct stat st;
		ssize_t n;
		snprintf(link, sizeof link, "/proc/%d/cwd", (int)o->holders[i].pid);
		if (stat(link, &st) < 0 || st.st_dev != w->dev || st.st_ino != w->ino)
			continue;
		n = readlink(link, path, sizeof path - 1);
		if (n <= 0)
			continue;
		path[n] = 0;
		w->path = strdup(path);
		return;
	}
}

int snapshot_take(struct snapshot *s, bool with_watches)
{
	struct domain *d = shim_domain;
	int ret;

	s->count = 0;
	s->inst = calloc(REGISTRY_INSTANCES, sizeof *s->inst);
	if (!s->inst)
		return -ENOMEM;
	if (!d)
		return -ENOENT;
	ret = domain_lock(d);
	if (ret < 0)
		return ret;
	ret = copy_locked(d, s, with_watches);
	domain_unlock(d);
	if (ret < 0)
		return ret;
	for (uint32_t i = 0; i < s->count; i++) {
		struct snap_instance *o = &s->inst[i];
		if (o->alive)
			read_queue(d, o);
		for (uint32_t j = 0; o->watches && j < o->nwatches; j++)
			find_path(o, &o->watches[j]);
	}
	return 0;
}

void snapshot_free(struct snapshot *s)
{
	for (uint32_t i = 0; s->inst && i < s->count; i++) {
		for (uint32_t j = 0; s->inst[i].watches && j < s->inst[i].nwatches; j++)
			free(s->inst[i].watches[j].path);
		free(s->inst[i].watches);
	}
	free(s->inst);
	s->inst = NULL;
	s->count = 0;
}
