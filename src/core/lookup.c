/*
 * lookup.c - the front end's look-ups of instances and watches (core.h):
 * by FIFO, after exec, by another process's holder record, and the
 * watches that fdinfo shows, and the domain's file of their handles.  These are the walks of d->instances and the
 * registry.lock that instance/ does not take itself.
 *
 * core_fifo_instance_unlocked and core_adopt_after_exec take no lock (the
 * constructor of a new image must not be stopped by a stopped holder):
 * the records are read each field once, and what they give is trusted
 * only because an fstat of the process's own fd matches it, which no
 * stale read can fake.
 */
#include "core.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "../domain/registry.h"
#include "../util/real.h"

int core_find_by_fifo(int fd, struct slot_ref *ref)
{
	struct domain *d = shim_domain;
	struct stat st;
	int found = 0;

	if (!d || fstat(fd, &st) < 0 || !S_ISFIFO(st.st_mode))
		return 0;
	if (domain_lock(d) < 0)
		return 0;
	for (uint32_t slot = 1; slot < REGISTRY_INSTANCES && !found; slot++) {
		struct reg_instance *inst = &d->instances[slot];
		if (inst->state == RECORD_USED && inst->fifo_ino == st.st_ino &&
		    inst->fifo_dev == st.st_dev) {
			*ref = (struct slot_ref){ slot, inst->gen };
			found = 1;
		}
	}
	domain_unlock(d);
	return found;
}

bool core_fifo_instance_unlocked(const struct stat *st, struct slot_ref *ref)
{
	struct domain *d = shim_domain;

	if (!d)
		return false;
	for (uint32_t slot = 1; slot < REGISTRY_INSTANCES; slot++) {
		struct reg_instance *inst = &d->instances[slot];

		if (__atomic_load_n(&inst->state, __ATOMIC_RELAXED) != RECORD_USED)
			continue;
		if (__atomic_load_n(&inst->fifo_ino, __ATOMIC_RELAXED) == st->st_ino &&
		    __atomic_load_n(&inst->fifo_dev, __ATOMIC_RELAXED) == st->st_dev) {
			*ref = (struct slot_ref){ slot,
						  __atomic_load_n(&inst->gen, __ATOMIC_RELAXED) };
			return true;
		}
	}
	return false;
}

bool core_adopt_after_exec(void (*adopt)(int fd, struct slot_ref ref, void *arg),
			   void *arg)
{
	struct domain *d = shim_domain;
	int pid = (int)getpid();
	bool full = false;

	if (!d)
		return false;
	for (uint32_t slot = 1; slot < REGISTRY_INSTANCES; slot++) {
		struct reg_instance *inst = &d->instances[slot];
		uint32_t n;
		struct slot_ref ref;
		uint64_t dev, ino;

		if (__atomic_load_n(&inst->state, __ATOMIC_RELAXED) != RECORD_USED)
			continue;
		n = __atomic_load_n(&inst->nholders, __ATOMIC_RELAXED);
		if (n >= HOLDERS_PER_INSTANCE)
			full = true;	/* this process may hold it unlisted */
		ref = (struct slot_ref){ slot, __atomic_load_n(&inst->gen, __ATOMIC_RELAXED) };
		dev = __atomic_load_n(&inst->fifo_dev, __ATOMIC_RELAXED);
		ino = __atomic_load_n(&inst->fifo_ino, __ATOMIC_RELAXED);
		for (uint32_t h = 0; h < n && h < HOLDERS_PER_INSTANCE; h++) {
			struct stat st;
			int fd = __atomic_load_n(&inst->holders[h].fd, __ATOMIC_RELAXED);

			if (__atomic_load_n(&inst->holders[h].pid, __ATOMIC_RELAXED) != pid)
				continue;
			/* The fd survived exec only if it still is this FIFO. */
			if (fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode) && ino &&
			    st.st_ino == ino && st.st_dev == dev)
				adopt(fd, ref, arg);
			else
				core_forget_holder(ref, fd);	/* closed by exec */
		}
	}
	return full;
}

/* Does /proc/pid/fd/fd still lead to inst's FIFO? */
static bool holds_fifo(long pid, long fd, const struct reg_instance *inst)
{
	char link[64];
	struct stat st;

	snprintf(link, sizeof link, "/proc/%ld/fd/%ld", pid, fd);
	return stat(link, &st) == 0 && st.st_ino == inst->fifo_ino && st.st_dev == inst->fifo_dev;
}

bool core_find_holder(long pid, long fd, struct slot_ref *ref)
{
	struct domain *d = shim_domain;
	bool found = false;

	if (!d || domain_lock(d) < 0)
		return false;
	for (uint32_t slot = 1; slot < REGISTRY_INSTANCES && !found; slot++) {
		struct reg_instance *inst = reg_instance(d, slot);
		if (!inst || inst->state != RECORD_USED)
			continue;
		for (uint32_t h = 0; h < inst->nholders && h < HOLDERS_PER_INSTANCE; h++)
			if (inst->holders[h].pid == pid && inst->holders[h].fd == fd &&
			    holds_fifo(pid, fd, inst)) {
				*ref = (struct slot_ref){ slot, inst->gen };
				found = true;
				break;
			}
	}
	domain_unlock(d);
	return found;
}

uint32_t core_watch_ident(struct slot_ref ref, int32_t wd, struct ident *id)
{
	struct domain *d = shim_domain;
	uint32_t widx;

	if (!d || domain_lock(d) < 0)
		return 0;
	widx = registry_find_wd(d, ref.slot, wd);
	if (widx) {
		struct reg_inode *in = reg_inode(d, reg_watch(d, widx)->inode);
		if (in)
			*id = in->id;
		else
			widx = 0;
	}
	domain_unlock(d);
	return widx;
}

int core_marks(struct slot_ref ref, struct core_mark **out)
{
	struct domain *d = shim_domain;
	struct chain_guard g = CHAIN_GUARD_INIT;
	struct reg_instance *inst;
	struct core_mark *m = NULL;
	int n = 0, cap = 0;

	if (!d || domain_lock(d) < 0)
		return -1;
	inst = reg_instance(d, ref.slot);
	if (!inst || inst->state != RECORD_USED || inst->gen != ref.gen) {
		domain_unlock(d);
		return -1;
	}
	for (uint32_t i = inst->watches; i && chain_guard_ok(&g, i);) {
		struct reg_watch *w = reg_watch(d, i);
		struct reg_inode *in = w ? reg_inode(d, w->inode) : NULL;
		if (!w || !in)
			break;
		if (n == cap) {
			struct core_mark *bigger =
				realloc(m, (size_t)(cap = cap ? cap * 2 : 16) * sizeof *m);
			if (!bigger)
				break;
			m = bigger;
		}
		m[n++] = (struct core_mark){ i, w->wd,
					     (w->mask & IN_ALL_EVENTS) |
						     (w->flags & (IN_EXCL_UNLINK | IN_ONESHOT)),
					     in->id };
		i = w->inst_next;
	}
	domain_unlock(d);
	*out = m;
	return n;
}

bool core_attached(void)
{
	return shim_domain != NULL;
}

int core_handles_open(bool create)
{
	struct domain *d = shim_domain;
	int fd;

	if (!d)
		return -ENOENT;
	fd = domain_openat(d, "handles", O_RDWR, 0);
	if (fd != -ENOENT || !create)
		return fd;
	fd = domain_openat(d, "handles", O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd == -EEXIST)
		return domain_openat(d, "handles", O_RDWR, 0);
	if (fd >= 0 && domain_file_share(d, fd) < 0) {
		real_close(fd);
		return -EACCES;
	}
	return fd;
}
