/*
 * backing.c - see backing.h.
 */
#include "backing.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "../util/real.h"

#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC 0x01021994
#endif
#ifndef RAMFS_MAGIC
#define RAMFS_MAGIC 0x858458f6
#endif

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

static int can_populate;	/* 0: not asked yet, 1: yes, -1: no */

int backing_populate(void *addr, size_t len)
{
	uintptr_t a = (uintptr_t)addr & ~(uintptr_t)4095;
	size_t l = len + ((uintptr_t)addr - a);
	int e = errno, ret = 0;

	if (!len)
		return 0;
	if (madvise((void *)a, l, MADV_POPULATE_WRITE) < 0) {
		ret = errno == EFAULT || errno == EIO || errno == ENOSPC ? -ENOSPC :
		      errno == ENOMEM ? -ENOMEM :
		      errno == EINVAL ? -EOPNOTSUPP : -errno;
		if (ret == -EOPNOTSUPP)
			__atomic_store_n(&can_populate, -1, __ATOMIC_RELAXED);
	} else {
		__atomic_store_n(&can_populate, 1, __ATOMIC_RELAXED);
	}
	errno = e;
	return ret;
}

int backing_can_populate(void)
{
	int c = __atomic_load_n(&can_populate, __ATOMIC_RELAXED);
	void *p;

	if (c)
		return c > 0;
	/* a page of anonymous shared memory: populating it costs nothing
	 * that a file would, and tells whether the advice exists */
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 0;
	c = backing_populate(p, 4096) == -EOPNOTSUPP ? -1 : 1;
	munmap(p, 4096);
	__atomic_store_n(&can_populate, c, __ATOMIC_RELAXED);
	return c > 0;
}

int backing_fallocate(int fd, void *map, uint64_t off, uint64_t len)
{
	int e = errno, ret = 0;

	if (!len)
		return 0;
	if (real_fallocate(fd, 0, (off_t)off, (off_t)len) < 0) {
		ret = errno == EDQUOT ? -ENOSPC : -errno;
		if ((ret == -EOPNOTSUPP || ret == -ENOSYS) && map)
			ret = backing_populate((char *)map + off, (size_t)len);
	}
	errno = e;
	return ret;
}

bool backing_blocks_count(int fd)
{
	struct statfs sfs;
	int e = errno;
	bool yes = fstatfs(fd, &sfs) == 0 &&
		   (sfs.f_type == TMPFS_MAGIC || sfs.f_type == RAMFS_MAGIC);

	errno = e;
	return yes;
}
