/*
 * instance.c - see instance.h.
 *
 * Error order of inotify_add_watch, as the kernel checks: a mask with no
 * inotify bit or with unknown bits (EINVAL), then the fd (EBADF), then
 * IN_MASK_ADD with IN_MASK_CREATE or a fd that is not an instance (EINVAL),
 * then the path (ENOENT, ENOTDIR, ELOOP, EACCES ...), then EEXIST, ENOSPC.
 */
#include "instance.h"
#include "fdinfo.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/core.h"
#include "../util/real.h"

uint32_t instance_fds_held;

void frontend_adopt(int fd, struct slot_ref ref)
{
	if (fdtable_kind(fd) != FD_INSTANCE)
		__atomic_add_fetch(&instance_fds_held, 1, __ATOMIC_RELAXED);
	fdtable_set_instance(fd, ref);
	core_hold(ref, fd);
}

void frontend_closed(int fd, struct slot_ref ref)
{
	if (__atomic_load_n(&instance_fds_held, __ATOMIC_RELAXED))
		__atomic_sub_fetch(&instance_fds_held, 1, __ATOMIC_RELAXED);
	core_release(ref, fd);
}

int frontend_init1(int flags)
{
	struct slot_ref ref;
	int fd, ret;

	if (flags & ~(IN_CLOEXEC | IN_NONBLOCK))
		return -EINVAL;
	ret = core_create(!!(flags & IN_NONBLOCK), !!(flags & IN_CLOEXEC), &ref, &fd);
	if (ret < 0)
		return ret;
	if (fd >= (int)FDTABLE_SIZE) {
		/* the fd table cannot hold it (fs.nr_open raised past 2^20):
		 * the documented EMFILE, rather than an fd that reads raw */
		real_close(fd);
		core_release(ref, fd);
		return -EMFILE;
	}
	__atomic_add_fetch(&instance_fds_held, 1, __ATOMIC_RELAXED);
	fdtable_set_instance(fd, ref);
	return fd;
}

/* An fd that the table does not know may still be an instance: inherited
 * through a path that registered no holder (vfork, posix_spawn).  Its FIFO
 * identity says which one (core_find_by_fifo). */
static int find_by_fifo(int fd, struct slot_ref *ref)
{
	if (!core_find_by_fifo(fd, ref))
		return 0;
	frontend_adopt(fd, *ref);
	return 1;
}

/* EBADF for a closed fd, EINVAL for one that is not an instance. */
static int lookup(int fd, struct slot_ref *ref)
{
	if (fdtable_instance(fd, ref))
		return 0;
	if (real_fcntl(fd, F_GETFD, 0) < 0)
		return -EBADF;
	return find_by_fifo(fd, ref) ? 0 : -EINVAL;
}

int frontend_add_watch(int fd, const char *path, uint32_t mask)
{
	struct slot_ref ref;
	int ret = core_check_mask(mask);

	if (ret < 0)
		return ret;
	ret = lookup(fd, &ref);
	if (ret < 0)
		return ret;
	ret = core_check_mask_flags(mask);
	if (ret < 0)
		return ret;
	ret = core_add_watch(ref, path, mask);
	if (ret > 0)
		fdinfo_note_handle(ref, ret, path, mask);	/* for fdinfo */
	return ret;
}

int frontend_rm_watch(int fd, int wd)
{
	struct slot_ref ref;
	int ret = lookup(fd, &ref);

	if (ret < 0)
		return ret;
	return core_rm_wd(ref, wd);
}

ssize_t frontend_read(int fd, struct slot_ref ref, void *buf, size_t count)
{
	return core_read(ref, fd, buf, count);
}

/* The kernel's inotify fd has no read_iter: readv is one read per segment,
 * stopping at the first short one (do_loop_readv_writev).  Nothing at all
 * to read is 0; an empty segment is skipped once a segment has been read,
 * but a leading one is a read of 0 bytes (EINVAL, EAGAIN or a wait). */
ssize_t frontend_readv(int fd, struct slot_ref ref, const struct iovec *iov, int iovcnt)
{
	ssize_t total = 0;
	size_t want = 0;

	if (iovcnt < 0 || iovcnt > IOV_MAX)
		return -EINVAL;
	for (int i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len > (size_t)SSIZE_MAX - want)
			return -EINVAL;
		want += iov[i].iov_len;
	}
	if (!want)
		return 0;
	for (int i = 0; i < iovcnt; i++) {
		ssize_t n;
		if (!iov[i].iov_len && i)
			continue;
		n = core_read(ref, fd, iov[i].iov_base, iov[i].iov_len);
		if (n < 0)
			return total ? total : n;
		total += n;
		if ((size_t)n != iov[i].iov_len)
			break;
	}
	return total;
}

int frontend_fionread(struct slot_ref ref, int *bytes)
{
	return core_queued_bytes(ref, bytes);
}

void frontend_edge(struct slot_ref ref)
{
	int saved = errno;

	core_set_edge(ref);
	errno = saved;
}

static void register_holder(int fd, struct slot_ref ref, void *arg)
{
	(void)arg;
	core_hold(ref, fd);
}

void frontend_after_fork(void)
{
	if (__atomic_load_n(&instance_fds_held, __ATOMIC_RELAXED))
		fdtable_for_each_instance(register_holder, NULL);
}

/* After exec, with an instance whose holder list was full: the fds of
 * this process that the list may not name, found by their FIFO.  The list
 * is full, so there is no holder to add: the fd is only entered in this
 * process's table, and no lock is taken. */
static void adopt_unlisted_fd(int fd, void *arg)
{
	struct slot_ref ref;
	struct stat st;

	(void)arg;
	if (fd >= (int)FDTABLE_SIZE || fdtable_kind(fd) != FD_NONE)
		return;
	if (fstat(fd, &st) < 0 || !S_ISFIFO(st.st_mode) || !st.st_ino)
		return;
	if (core_fifo_instance_unlocked(&st, &ref)) {
		__atomic_add_fetch(&instance_fds_held, 1, __ATOMIC_RELAXED);
		fdtable_set_instance(fd, ref);
	}
}

/* An fd this pid held before exec that still is its instance's FIFO. */
static void adopt_listed_fd(int fd, struct slot_ref ref, void *arg)
{
	(void)arg;
	if (fdtable_kind(fd) != FD_INSTANCE)
		__atomic_add_fetch(&instance_fds_held, 1, __ATOMIC_RELAXED);
	fdtable_set_instance(fd, ref);
}

/* The constructor of a new image takes no lock of the domain (a stopped
 * holder must not stop a program before main): core reads the instance
 * records without the lock and gives the fds that still are their
 * instance's FIFO (core_adopt_after_exec).  The holders that exec closed
 * (close-on-exec) are left to core, which forgets them the next time this
 * process has the registry lock (core_forget_holder). */
void frontend_after_exec(void)
{
	int saved = errno;

	if (core_adopt_after_exec(adopt_listed_fd, NULL))
		fdtable_scan_proc(adopt_unlisted_fd, NULL);
	errno = saved;
}
