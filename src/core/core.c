/*
 * core.c - see core.h: instances made, watches added and removed, the
 * holders of instance fds.  The read of an instance fd is read.c's.
 *
 * Lock order: registry.lock, then the queue lock of one instance (taken
 * inside queue_add/queue_read).  Path lookups and permission checks are
 * made before the registry lock is taken, as the kernel resolves the path
 * before it locks the group.
 */
#include "core.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../domain/registry.h"
#include "../notify/notify.h"
#include "../scan/paths.h"
#include "../util/config.h"
#include "../relay/relay.h"
#include "../util/real.h"

#define WATCH_FLAGS (IN_ONESHOT | IN_EXCL_UNLINK)

int core_check_mask(uint32_t mask)
{
	if (mask & ~(uint32_t)CORE_VALID_MASK)
		return -EINVAL;
	if (!(mask & CORE_VALID_MASK))
		return -EINVAL;
	return 0;
}

int core_check_mask_flags(uint32_t mask)
{
	if ((mask & IN_MASK_ADD) && (mask & IN_MASK_CREATE))
		return -EINVAL;
	return 0;
}

/* Holders that exec closed, found by the constructor without the lock
 * (lookup.c: core_adopt_after_exec) and forgotten at the next lock. */
#define FORGET_MAX 64
static struct {
	struct slot_ref ref;
	int fd;
} forget[FORGET_MAX];
static uint32_t nforget;

void core_forget_holder(struct slot_ref ref, int fd)
{
	uint32_t i = __atomic_load_n(&nforget, __ATOMIC_RELAXED);

	if (i >= FORGET_MAX)
		return;	/* left in the record: only inotify-shim ps shows it */
	forget[i].ref = ref;
	forget[i].fd = fd;
	__atomic_store_n(&nforget, i + 1, __ATOMIC_RELEASE);
}

static void forget_locked(struct domain *d)
{
	uint32_t n = __atomic_exchange_n(&nforget, 0, __ATOMIC_ACQ_REL);
	int pid = (int)getpid();

	for (uint32_t i = 0; i < n && i < FORGET_MAX; i++) {
		struct reg_instance *inst = reg_instance(d, forget[i].ref.slot);

		if (!inst || inst->state != RECORD_USED || inst->gen != forget[i].ref.gen)
			continue;
		registry_remove_holder(d, forget[i].ref.slot, pid, forget[i].fd);
		if (!slot_alive(d, forget[i].ref.slot))
			slot_reclaim(d, forget[i].ref.slot);
	}
}

/* registry.lock (domain_lock, bounded), then what the constructor left. */
static int core_lock(struct domain *d)
{
	int ret = domain_lock(d);

	if (ret == 0 && __builtin_expect(__atomic_load_n(&nforget, __ATOMIC_RELAXED) != 0, 0))
		forget_locked(d);
	return ret;
}

static struct reg_instance *live_instance(struct domain *d, struct slot_ref ref)
{
	struct reg_instance *inst = reg_instance(d, ref.slot);

	if (!inst || inst->state != RECORD_USED || inst->gen != ref.gen)
		return NULL;
	return inst;
}

int core_valid(struct slot_ref ref)
{
	struct domain *d = shim_domain;
	int ret;

	if (!d)
		return -ENOMEM;
	ret = core_lock(d);
	if (ret < 0)
		return ret;
	ret = live_instance(d, ref) ? 0 : -EINVAL;
	domain_unlock(d);
	return ret;
}

static void undo_create(struct domain *d, struct slot_ref ref)
{
	char name[SLOT_NAME_MAX];

	slot_fifo_name(ref, name);
	domain_unlinkat(d, name);
	slot_queue_name(ref, name);
	domain_unlinkat(d, name);
	if (core_lock(d) == 0) {
		registry_free_instance(d, ref.slot);
		domain_unlock(d);
	}
}

/* A free instance record of d for this process, *ref naming it; the
 * slot, or a negative errno. */
static int create_slot(struct domain *d, struct slot_ref *ref)
{
	struct reg_instance *inst;
	int slot;

	if (core_lock(d) < 0)
		return -ENOMEM;
	slot = registry_alloc_instance(d, (uint32_t)SHIM_CONFIG(max_queued_events),
				       SHIM_CONFIG(max_user_instances));
	if (slot == -EMFILE && slot_reap(d) > 0)
		slot = registry_alloc_instance(d, (uint32_t)SHIM_CONFIG(max_queued_events),
					       SHIM_CONFIG(max_user_instances));
	if (slot >= 0) {
		inst = &d->instances[slot];
		inst->creator_pid = (int32_t)getpid();
		*ref = (struct slot_ref){ (uint32_t)slot, inst->gen };
	}
	domain_unlock(d);
	return slot;
}

/* The queue file of ref, made afresh in the domain's directory dfd. */
static int create_queue_file(struct domain *d, int dfd, struct slot_ref ref)
{
	char name[SLOT_NAME_MAX];
	int fd, ret;

	slot_queue_name(ref, name);
	real_unlinkat(dfd, name, 0); /* a leftover of a crashed generation */
	fd = real_openat(dfd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	ret = domain_file_share(d, fd);
	if (ret == 0) {
		struct queue fresh;
		ret = queue_create(fd, (uint32_t)SHIM_CONFIG(max_queued_events), &fresh);
		if (ret == 0)
			queue_unmap(&fresh);
	}
	real_close(fd);
	return ret;
}

/* The FIFO of ref, made afresh in dfd and opened: the instance fd, or a
 * negative errno. */
static int create_fifo(int dfd, struct slot_ref ref, int nonblock, int cloexec)
{
	char name[SLOT_NAME_MAX];
	int fd;

	slot_fifo_name(ref, name);
	real_unlinkat(dfd, name, 0);
	if (real_mkfifoat(dfd, name, 0600) < 0)
		return -errno;
	fd = real_openat(dfd, name, O_RDWR | O_NOFOLLOW | (nonblock ? O_NONBLOCK : 0) |
					    (cloexec ? O_CLOEXEC : 0), 0);
	if (fd < 0)
		return errno == EMFILE || errno == ENFILE ? -errno : -ENOMEM;
	return fd;
}

int core_create(int nonblock, int cloexec, struct slot_ref *ref, int *fdp)
{
	struct domain *d = shim_domain;
	struct reg_instance *inst;
	struct stat st;
	int slot, fd, dfd = -1, ret;

	if (!d)
		return -ENOMEM;
	slot = create_slot(d, ref);
	if (slot < 0)
		return slot;
	inst = &d->instances[slot];

	/* The queue file and the FIFO are made and opened through one fd of
	 * the checked directory (domain.h). */
	dfd = domain_dir_open(d);
	if (dfd < 0) {
		ret = -ENOMEM;
		goto fail;
	}
	ret = create_queue_file(d, dfd, *ref);
	if (ret < 0)
		goto fail;
	if (!slot_queue(d, *ref)) {
		ret = -ENOMEM;
		goto fail;
	}
	fd = create_fifo(dfd, *ref, nonblock, cloexec);
	if (fd < 0) {
		ret = fd;
		goto fail;
	}
	real_close(dfd);
	dfd = -1;
	if (fstat(fd, &st) < 0 || !S_ISFIFO(st.st_mode) || domain_file_share(d, fd) < 0) {
		real_close(fd);
		ret = -ENOMEM;
		goto fail;
	}
	ret = core_lock(d);
	if (ret < 0) {
		real_close(fd);
		ret = -ENOMEM;
		goto fail;
	}
	__atomic_store_n(&inst->fifo_dev, (uint64_t)st.st_dev, __ATOMIC_RELAXED);
	__atomic_store_n(&inst->fifo_ino, (uint64_t)st.st_ino, __ATOMIC_RELAXED);
	registry_add_holder(d, ref->slot, (int)getpid(), fd);
	domain_unlock(d);
	*fdp = fd;
	return 0;
fail:
	if (dfd >= 0)
		real_close(dfd);
	undo_create(d, *ref);
	return ret < 0 ? ret : -ENOMEM;
}

/* The path's inode, by the kernel's lookup rules for inotify_add_watch. */
static int resolve(const char *path, uint32_t mask, struct inode_info *info)
{
	int nofollow = (mask & IN_DONT_FOLLOW) ? AT_SYMLINK_NOFOLLOW : 0;
	int ret;

	if (!path)
		return -EFAULT;
	ret = ident_stat_watch(AT_FDCWD, path, nofollow, info);
	if (ret < 0)
		return ret;
	if ((mask & IN_ONLYDIR) && !S_ISDIR(info->mode))
		return -ENOTDIR;
	if (faccessat(AT_FDCWD, path, R_OK, AT_EACCESS | nofollow) < 0) {
		int e = errno;
		return e == EACCES ? -EACCES : -e;
	}
	return 0;
}

static void apply_mask(struct reg_watch *w, uint32_t mask)
{
	if (mask & IN_MASK_ADD) {
		w->mask |= mask & IN_ALL_EVENTS;
		w->flags |= mask & WATCH_FLAGS;
	} else {
		w->mask = mask & IN_ALL_EVENTS;
		w->flags = mask & WATCH_FLAGS;
	}
}

/* Registry lock held.  The wd of the updated watch, or -ENOENT. */
static int update_locked(struct domain *d, struct slot_ref ref,
			 const struct ident *id, uint32_t mask)
{
	uint32_t widx = registry_find_mark(d, registry_find_inode(d, id), ref.slot);
	struct reg_watch *w = reg_watch(d, widx);

	if (!w)
		return -ENOENT;
	if (mask & IN_MASK_CREATE)
		return -EEXIST;
	apply_mask(w, mask);
	registry_note_flags(d, w->flags);
	return w->wd;
}

static int new_locked(struct domain *d, struct slot_ref ref,
		      const struct inode_info *info, uint32_t mask)
{
	long limit = SHIM_CONFIG(max_user_watches);
	int widx;

	const struct ident *id = &info->id;
	bool isdir = S_ISDIR(info->mode);

	uint32_t iidx = registry_find_inode(d, id);

	if (registry_find_mark(d, iidx, ref.slot))
		return -EEXIST;
	widx = registry_add_watch(d, ref.slot, id, isdir, mask & IN_ALL_EVENTS,
				  mask & WATCH_FLAGS, limit);
	if (widx == -ENOSPC && slot_reap(d) > 0 && live_instance(d, ref))
		widx = registry_add_watch(d, ref.slot, id, isdir, mask & IN_ALL_EVENTS,
					  mask & WATCH_FLAGS, limit);
	if (widx < 0)
		return widx;
	if (isdir && !iidx)	/* open files may have been renamed into it */
		notify_dir_newly_watched_locked(d);
	return d->watches[widx].wd;
}

enum watch_op { OP_UPDATE, OP_NEW, OP_ADD };

static int watch_op(struct slot_ref ref, const char *path, uint32_t mask,
		    enum watch_op op)
{
	struct domain *d = shim_domain;
	struct inode_info info;
	int ret;

	if (!d)
		return -ENOMEM;
	ret = resolve(path, mask, &info);
	if (ret < 0)
		return ret;
	ret = core_lock(d);
	if (ret < 0)
		return -ENOMEM;
	if (!live_instance(d, ref))
		ret = -EINVAL;
	else if (op == OP_UPDATE)
		ret = update_locked(d, ref, &info.id, mask);
	else if (op == OP_NEW)
		ret = new_locked(d, ref, &info, mask);
	else {
		ret = update_locked(d, ref, &info.id, mask);
		if (ret == -ENOENT)
			ret = new_locked(d, ref, &info, mask);
	}
	domain_unlock(d);
	if (ret >= 0 && op != OP_UPDATE) {
		/* where the scanner will find it (scan/paths.h); slow path only */
		scan_paths_note(&info.id, path);
		relay_handoff(path, mask, &info);	/* no system call unless a relay runs */
	}
	return ret;
}

int core_find_update_watch(struct slot_ref ref, const char *path, uint32_t mask)
{
	return watch_op(ref, path, mask, OP_UPDATE);
}

int core_new_watch(struct slot_ref ref, const char *path, uint32_t mask)
{
	return watch_op(ref, path, mask, OP_NEW);
}

int core_add_watch(struct slot_ref ref, const char *path, uint32_t mask)
{
	return watch_op(ref, path, mask, OP_ADD);
}

int core_rm_wd(struct slot_ref ref, int32_t wd)
{
	struct domain *d = shim_domain;
	uint32_t widx;
	int ret;

	if (!d)
		return -EINVAL;
	ret = core_lock(d);
	if (ret < 0)
		return ret == -ETIMEDOUT ? -ENOMEM : -EINVAL;
	widx = live_instance(d, ref) ? registry_find_wd(d, ref.slot, wd) : 0;
	if (widx)
		notify_watch_ended_locked(d, widx);
	domain_unlock(d);
	return widx ? 0 : -EINVAL;
}

void core_destroy_watches(struct slot_ref ref)
{
	struct domain *d = shim_domain;

	if (!d || core_lock(d) < 0)
		return;
	if (live_instance(d, ref))
		registry_remove_watches(d, ref.slot);
	domain_unlock(d);
}

void core_set_edge(struct slot_ref ref)
{
	struct domain *d = shim_domain;
	struct queue *q = d ? slot_queue(d, ref) : NULL;

	if (q)
		queue_set_edge(q);
}

int core_queued_bytes(struct slot_ref ref, int *bytes)
{
	struct domain *d = shim_domain;
	struct queue *q = d ? slot_queue(d, ref) : NULL;
	uint64_t b;
	uint32_t n;
	int ret;

	if (!q)
		return -EINVAL;
	ret = queue_stat(q, &b, &n);
	if (ret < 0)
		return ret;
	*bytes = b > INT_MAX ? INT_MAX : (int)b;
	return 0;
}

void core_hold(struct slot_ref ref, int fd)
{
	struct domain *d = shim_domain;

	if (!d || core_lock(d) < 0)
		return;
	if (live_instance(d, ref))
		registry_add_holder(d, ref.slot, (int)getpid(), fd);
	domain_unlock(d);
}

void core_release(struct slot_ref ref, int fd)
{
	struct domain *d = shim_domain;

	if (!d || core_lock(d) < 0)
		return;
	if (live_instance(d, ref)) {
		registry_remove_holder(d, ref.slot, (int)getpid(), fd);
		if (!slot_alive(d, ref.slot))
			slot_reclaim(d, ref.slot);
	}
	domain_unlock(d);
}
