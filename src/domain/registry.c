/*
 * registry.c - see registry.h.  Called with registry.lock held.
 */
#include "registry.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include "../util/log.h"
#include "../util/real.h"
#include "backing.h"

static uint32_t backed(const uint32_t *field)
{
	uint32_t b = __atomic_load_n(field, __ATOMIC_ACQUIRE);
	return b < REGISTRY_WATCHES ? b : REGISTRY_WATCHES;
}

uint32_t registry_inodes_backed(struct domain *d)
{
	return backed(&d->reg->inode_backed);
}

uint32_t registry_watches_backed(struct domain *d)
{
	return backed(&d->reg->watch_backed);
}

/* Is the registry file still the one mapped, whole?  One that was
 * replaced or truncated is refused: nothing more is backed in it. */
static int open_mapped_registry(struct domain *d)
{
	struct stat st;
	int fd = domain_openat(d, "registry", O_RDWR | O_NONBLOCK, 0);

	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0 || st.st_dev != d->reg_dev || st.st_ino != d->reg_ino ||
	    (uint64_t)st.st_size != d->size) {
		real_close(fd);
		return -ESTALE;
	}
	return fd;
}

bool registry_back_records(struct domain *d, bool watches, uint32_t idx)
{
	uint32_t *field = watches ? &d->reg->watch_backed : &d->reg->inode_backed;
	size_t size = watches ? sizeof(struct reg_watch) : sizeof(struct reg_inode);
	uint64_t base = watches ? (uint64_t)((char *)d->watches - (char *)d->reg)
				: (uint64_t)((char *)d->inodes - (char *)d->reg);
	uint64_t array = (uint64_t)(REGISTRY_WATCHES + 1) * size, from, to;
	uint32_t have = backed(field);
	int fd, ret;

	if (idx <= have)
		return true;
	if (idx > REGISTRY_WATCHES)
		return false;
	from = have ? ((uint64_t)have + 1) * size : 0;
	to = ((uint64_t)idx + 1) * size;
	to = (to + BACKING_CHUNK - 1) / BACKING_CHUNK * BACKING_CHUNK;
	if (to > array)
		to = array;
	fd = open_mapped_registry(d);
	if (fd == -ESTALE || fd == -ENOENT || fd == -ELOOP || fd == -ENOTDIR) {
		__atomic_add_fetch(&d->reg->refusals, 1, __ATOMIC_RELAXED);
		shim_log_once("domain %s: its registry was replaced, truncated or moved "
			      "while in use (%s); refused: no more watches in it",
			      d->dir, strerror(-fd));
		return false;
	}
	if (fd < 0) {	/* EMFILE, ENFILE, ...: nothing wrong with the file */
		shim_log_once("domain %s: cannot open the registry to back more "
			      "records: %s", d->dir, strerror(-fd));
		return false;
	}
	ret = backing_fallocate(fd, d->reg, base + from, to - from);
	real_close(fd);
	if (ret < 0) {
		__atomic_add_fetch(&d->reg->storage_failures, 1, __ATOMIC_RELAXED);
		shim_log_once("domain %s: cannot back the registry's records: %s",
			      d->dir, strerror(-ret));
		return false;
	}
	uint64_t n = to / size - 1;
	__atomic_store_n(field, n < REGISTRY_WATCHES ? (uint32_t)n : REGISTRY_WATCHES,
			 __ATOMIC_RELEASE);
	return true;
}

struct reg_instance *reg_instance(struct domain *d, uint32_t slot)
{
	if (slot == 0 || slot >= REGISTRY_INSTANCES)
		return NULL;
	return &d->instances[slot];
}

struct reg_inode *reg_inode(struct domain *d, uint32_t idx)
{
	if (idx == 0 || idx > REGISTRY_WATCHES || idx > d->reg->inode_hwm ||
	    idx > registry_inodes_backed(d))
		return NULL;
	return &d->inodes[idx];
}

struct reg_watch *reg_watch(struct domain *d, uint32_t idx)
{
	if (idx == 0 || idx > REGISTRY_WATCHES || idx > d->reg->watch_hwm ||
	    idx > registry_watches_backed(d))
		return NULL;
	return &d->watches[idx];
}

uint32_t registry_inode_bucket(struct domain *d, const struct ident *id)
{
	/* the bucket counts are constants (domain.c: compute_geometry), never
	 * read back from shared memory, which another process may have changed */
	(void)d;
	return domain_inode_bucket(id);
}

uint32_t registry_wd_bucket(struct domain *d, uint32_t slot, int32_t wd)
{
	/* An instance's wds are handed out in a row: consecutive buckets, so
	 * that adding watches touches few new pages of the registry. */
	(void)d;
	return (slot * 0x9e3779b1u + (uint32_t)wd) & (REGISTRY_WATCHES - 1);
}

uint32_t registry_find_inode(struct domain *d, const struct ident *id)
{
	struct chain_guard g = CHAIN_GUARD_INIT;
	struct reg_inode *in;

	for (uint32_t i = d->inode_buckets[registry_inode_bucket(d, id)];
	     i && (in = reg_inode(d, i)) && chain_guard_ok(&g, i); i = in->hash_next)
		if (in->state == RECORD_USED && ident_equal(&in->id, id))
			return i;
	return 0;
}

uint32_t registry_find_mark(struct domain *d, uint32_t inode, uint32_t slot)
{
	struct chain_guard g = CHAIN_GUARD_INIT;
	struct reg_inode *in = reg_inode(d, inode);
	struct reg_watch *w;

	if (!in)
		return 0;
	for (uint32_t i = in->marks; i && (w = reg_watch(d, i)) && chain_guard_ok(&g, i);
	     i = w->inode_next)
		if (w->state == RECORD_USED && w->instance == slot)
			return i;
	return 0;
}

uint32_t registry_find_wd(struct domain *d, uint32_t slot, int32_t wd)
{
	struct chain_guard g = CHAIN_GUARD_INIT;
	struct reg_watch *w;

	for (uint32_t i = d->wd_buckets[registry_wd_bucket(d, slot, wd)];
	     i && (w = reg_watch(d, i)) && chain_guard_ok(&g, i); i = w->wd_next)
		if (w->state == RECORD_USED && w->instance == slot && w->wd == wd)
			return i;
	return 0;
}

static uint32_t alloc_inode(struct domain *d)
{
	struct registry *r = d->reg;
	uint32_t idx = r->inode_free;
	struct reg_inode *in = reg_inode(d, idx);

	if (in && in->state == RECORD_FREE) {
		r->inode_free = in->hash_next;
		return idx;
	}
	r->inode_free = 0;
	if (r->inode_hwm >= REGISTRY_WATCHES ||
	    !registry_back_records(d, false, r->inode_hwm + 1))
		return 0;
	return ++r->inode_hwm;
}

static uint32_t alloc_watch(struct domain *d)
{
	struct registry *r = d->reg;
	uint32_t idx = r->watch_free;
	struct reg_watch *w = reg_watch(d, idx);

	if (w && w->state == RECORD_FREE) {
		r->watch_free = w->inode_next;
		return idx;
	}
	r->watch_free = 0;
	if (r->watch_hwm >= REGISTRY_WATCHES ||
	    !registry_back_records(d, true, r->watch_hwm + 1))
		return 0;
	return ++r->watch_hwm;
}

static uint32_t get_inode(struct domain *d, const struct ident *id, bool isdir)
{
	uint32_t idx = registry_find_inode(d, id);
	uint32_t b;
	struct reg_inode *in;

	if (idx)
		return idx;
	idx = alloc_inode(d);
	if (!idx)
		return 0;
	in = &d->inodes[idx];
	b = registry_inode_bucket(d, id);
	in->id = *id;
	in->marks = 0;
	in->flags = isdir ? INODE_DIR : 0;
	if (isdir)
		__atomic_add_fetch(&d->reg->dirs_watched, 1, __ATOMIC_RELAXED);
	in->hash_next = d->inode_buckets[b];
	__atomic_store_n(&in->state, RECORD_USED, __ATOMIC_RELEASE);
	/* the hooks' filter reads the buckets without the lock */
	__atomic_store_n(&d->inode_buckets[b], idx, __ATOMIC_RELAXED);
	return idx;
}

static void free_inode(struct domain *d, uint32_t idx)
{
	struct reg_inode *in = reg_inode(d, idx), *p;
	uint32_t *link = &d->inode_buckets[registry_inode_bucket(d, &in->id)];

	in->state = RECORD_FREE;
	if ((in->flags & INODE_DIR) && __atomic_load_n(&d->reg->dirs_watched, __ATOMIC_RELAXED))
		__atomic_sub_fetch(&d->reg->dirs_watched, 1, __ATOMIC_RELAXED);
	for (struct chain_guard g = CHAIN_GUARD_INIT; *link && chain_guard_ok(&g, *link);) {
		if (*link == idx) {
			__atomic_store_n(link, in->hash_next, __ATOMIC_RELAXED);
			break;
		}
		p = reg_inode(d, *link);
		if (!p)
			break;
		link = &p->hash_next;
	}
	in->hash_next = d->reg->inode_free;
	d->reg->inode_free = idx;
}

/* idr_alloc_cyclic: the next free wd after the last one handed out,
 * wrapping to 1 after INT32_MAX. */
static int32_t next_wd(struct domain *d, uint32_t slot, struct reg_instance *inst)
{
	int32_t wd = inst->last_wd;

	for (uint32_t tries = 0; tries <= REGISTRY_WATCHES; tries++) {
		wd = (wd <= 0 || wd == INT32_MAX) ? 1 : wd + 1;
		if (!registry_find_wd(d, slot, wd))
			return wd;
	}
	return -1;
}

int registry_add_watch(struct domain *d, uint32_t slot, const struct ident *id,
		       bool isdir, uint32_t mask, uint32_t flags, long limit)
{
	struct registry *r = d->reg;
	struct reg_instance *inst = reg_instance(d, slot);
	struct reg_inode *in;
	struct reg_watch *w;
	uint32_t iidx, widx, b;
	int32_t wd;

	if (!inst || inst->state != RECORD_USED)
		return -EINVAL;
	if ((long)__atomic_load_n(&r->watch_count, __ATOMIC_RELAXED) >= limit)
		return -ENOSPC;
	iidx = get_inode(d, id, isdir);
	if (!iidx)
		return -ENOSPC;
	in = &d->inodes[iidx];
	widx = alloc_watch(d);
	wd = next_wd(d, slot, inst);
	if (!widx || wd < 0) {
		if (!in->marks)
			free_inode(d, iidx);
		return -ENOSPC;
	}
	w = &d->watches[widx];
	w->inode = iidx;
	w->instance = slot;
	w->wd = wd;
	w->mask = mask;
	w->flags = flags;
	registry_note_flags(d, flags);
	w->inode_next = in->marks;
	w->inst_next = inst->watches;
	b = registry_wd_bucket(d, slot, wd);
	w->wd_next = d->wd_buckets[b];
	__atomic_store_n(&w->state, RECORD_USED, __ATOMIC_RELEASE);
	in->marks = widx;
	inst->watches = widx;
	__atomic_add_fetch(&inst->nwatches, 1, __ATOMIC_RELAXED);
	inst->last_wd = wd;
	d->wd_buckets[b] = widx;
	__atomic_add_fetch(&r->watch_count, 1, __ATOMIC_RELAXED);
	return (int)widx;
}

/* Remove idx from a singly linked chain that starts at *link. */
static void unlink_watch(struct domain *d, uint32_t *link, uint32_t idx,
			 size_t next_offset)
{
	for (struct chain_guard g = CHAIN_GUARD_INIT; *link && chain_guard_ok(&g, *link);) {
		struct reg_watch *p = reg_watch(d, *link);
		if (!p)
			return;
		if (*link == idx) {
			*link = *(uint32_t *)((char *)p + next_offset);
			return;
		}
		link = (uint32_t *)((char *)p + next_offset);
	}
}

void registry_note_flags(struct domain *d, uint32_t flags)
{
	if (flags & IN_EXCL_UNLINK)
		__atomic_store_n(&d->reg->excl_unlink_seen, 1, __ATOMIC_RELAXED);
}

void registry_remove_watch(struct domain *d, uint32_t widx)
{
	struct reg_watch *w = reg_watch(d, widx);
	struct reg_instance *inst;
	struct reg_inode *in;

	if (!w || w->state != RECORD_USED)
		return;
	w->state = RECORD_FREE;
	inst = reg_instance(d, w->instance);
	in = reg_inode(d, w->inode);
	unlink_watch(d, &d->wd_buckets[registry_wd_bucket(d, w->instance, w->wd)], widx,
		     offsetof(struct reg_watch, wd_next));
	if (inst) {
		unlink_watch(d, &inst->watches, widx, offsetof(struct reg_watch, inst_next));
		if (inst->nwatches)
			__atomic_sub_fetch(&inst->nwatches, 1, __ATOMIC_RELAXED);
	}
	if (in) {
		unlink_watch(d, &in->marks, widx, offsetof(struct reg_watch, inode_next));
		if (!in->marks && in->state == RECORD_USED)
			free_inode(d, w->inode);
	}
	w->inode_next = d->reg->watch_free;
	d->reg->watch_free = widx;
	if (__atomic_load_n(&d->reg->watch_count, __ATOMIC_RELAXED))
		__atomic_sub_fetch(&d->reg->watch_count, 1, __ATOMIC_RELAXED);
}

/* A free slot made new, under the lock.  The fields that other processes
 * read without the lock (the after-exec adoption, slot_lost_all: state,
 * gen, nwatches, fifo_*, the holders) are stored atomically, as they are
 * read; state stays free until the caller publishes it. */
static void clear_instance(struct reg_instance *inst, uint32_t gen)
{
	__atomic_store_n(&inst->gen, gen, __ATOMIC_RELAXED);
	inst->last_wd = 0;
	__atomic_store_n(&inst->nwatches, 0, __ATOMIC_RELAXED);
	inst->watches = 0;
	inst->max_events = 0;
	__atomic_store_n(&inst->fifo_dev, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&inst->fifo_ino, 0, __ATOMIC_RELAXED);
	inst->creator_pid = 0;
	__atomic_store_n(&inst->nholders, 0, __ATOMIC_RELAXED);
	for (unsigned h = 0; h < HOLDERS_PER_INSTANCE; h++) {
		__atomic_store_n(&inst->holders[h].pid, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&inst->holders[h].fd, 0, __ATOMIC_RELAXED);
	}
}

int registry_alloc_instance(struct domain *d, uint32_t max_events, long limit)
{
	struct registry *r = d->reg;

	if ((long)r->live_instances >= limit)
		return -EMFILE;
	for (uint32_t slot = 1; slot < REGISTRY_INSTANCES; slot++) {
		struct reg_instance *inst = &d->instances[slot];
		if (inst->state != RECORD_FREE)
			continue;
		clear_instance(inst, inst->gen + 1);
		inst->max_events = max_events;
		__atomic_store_n(&inst->state, RECORD_USED, __ATOMIC_RELEASE);
		r->live_instances++;
		return (int)slot;
	}
	return -EMFILE;
}

void registry_remove_watches(struct domain *d, uint32_t slot)
{
	struct reg_instance *inst = reg_instance(d, slot);

	if (!inst || inst->state != RECORD_USED)
		return;
	for (uint32_t guard = 0; inst->watches && guard <= REGISTRY_WATCHES; guard++) {
		uint32_t w = inst->watches;
		if (!reg_watch(d, w) || d->watches[w].instance != slot) {
			inst->watches = 0;
			break;
		}
		registry_remove_watch(d, w);
		if (inst->watches == w) {	/* not unlinked: a damaged list */
			inst->watches = 0;
			break;
		}
	}
}

void registry_free_instance(struct domain *d, uint32_t slot)
{
	struct reg_instance *inst = reg_instance(d, slot);

	if (!inst || inst->state != RECORD_USED)
		return;
	registry_remove_watches(d, slot);
	__atomic_store_n(&inst->state, RECORD_FREE, __ATOMIC_RELEASE);
	if (d->reg->live_instances)
		d->reg->live_instances--;
}

/* Is holder h of inst gone: its process dead, or its fd no longer the
 * instance's FIFO (closed, or reused for another file)?  Asked only when
 * the list is full.  A holder that cannot be asked (another uid's
 * process) is taken as alive. */
static bool holder_gone(const struct reg_instance *inst, const struct reg_holder *h)
{
	char link[64];
	struct stat st;
	int saved = errno;
	bool gone;

	if (h->pid <= 0)
		return true;
	if (kill(h->pid, 0) < 0 && errno == ESRCH) {
		gone = true;
	} else {
		snprintf(link, sizeof link, "/proc/%d/fd/%d", (int)h->pid, (int)h->fd);
		if (stat(link, &st) == 0)
			gone = st.st_ino != inst->fifo_ino || st.st_dev != inst->fifo_dev;
		else
			gone = errno == ENOENT;
	}
	errno = saved;
	return gone;
}

/* Holders are written under the lock and read without it by a new
 * image's adoption (core/lookup.c): every store is atomic, as the loads. */
static void set_holder(struct reg_instance *inst, uint32_t i, struct reg_holder h)
{
	__atomic_store_n(&inst->holders[i].pid, h.pid, __ATOMIC_RELAXED);
	__atomic_store_n(&inst->holders[i].fd, h.fd, __ATOMIC_RELAXED);
}

/* Drop the holders that are gone; returns how many are left. */
static uint32_t prune_holders(struct reg_instance *inst)
{
	uint32_t n = inst->nholders < HOLDERS_PER_INSTANCE ? inst->nholders
							    : HOLDERS_PER_INSTANCE;

	for (uint32_t i = 0; i < n;) {
		if (holder_gone(inst, &inst->holders[i]))
			set_holder(inst, i, inst->holders[--n]);
		else
			i++;
	}
	__atomic_store_n(&inst->nholders, n, __ATOMIC_RELAXED);
	return n;
}

bool registry_add_holder(struct domain *d, uint32_t slot, int pid, int fd)
{
	struct reg_instance *inst = reg_instance(d, slot);

	if (!inst || inst->state != RECORD_USED)
		return false;
	for (uint32_t i = 0; i < inst->nholders && i < HOLDERS_PER_INSTANCE; i++)
		if (inst->holders[i].pid == pid && inst->holders[i].fd == fd)
			return true;
	if (inst->nholders >= HOLDERS_PER_INSTANCE && prune_holders(inst) >= HOLDERS_PER_INSTANCE)
		return false;	/* every listed holder is alive (registry.h) */
	set_holder(inst, inst->nholders, (struct reg_holder){ pid, fd });
	__atomic_store_n(&inst->nholders, inst->nholders + 1, __ATOMIC_RELAXED);
	return true;
}

void registry_remove_holder(struct domain *d, uint32_t slot, int pid, int fd)
{
	struct reg_instance *inst = reg_instance(d, slot);
	uint32_t n;

	if (!inst || inst->state != RECORD_USED)
		return;
	n = inst->nholders < HOLDERS_PER_INSTANCE ? inst->nholders : HOLDERS_PER_INSTANCE;
	for (uint32_t i = 0; i < n; i++) {
		if (inst->holders[i].pid == pid && inst->holders[i].fd == fd) {
			set_holder(inst, i, inst->holders[n - 1]);
			__atomic_store_n(&inst->nholders, n - 1, __ATOMIC_RELAXED);
			return;
		}
	}
}
