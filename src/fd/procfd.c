/*
 * procfd.c - the /proc/self/fd scan; see procfd.h.
 */
#include "procfd.h"

#include "../util/real.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>

int fdtable_scan_proc(void (*fn)(int fd, void *arg), void *arg)
{
	char buf[4096] __attribute__((aligned(8)));
	int dfd = real_openat(AT_FDCWD, "/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	long n;

	if (dfd < 0)
		return -errno;
	while ((n = getdents64(dfd, buf, sizeof buf)) > 0) {
		for (long off = 0; off < n;) {
			struct dirent64 *e = (struct dirent64 *)(buf + off);
			char *end;
			long fd = strtol(e->d_name, &end, 10);

			off += e->d_reclen;
			if (*end || end == e->d_name || fd == dfd || fd < 0 || fd > INT_MAX)
				continue;
			fn((int)fd, arg);
		}
	}
	real_close(dfd);
	return n < 0 ? -EIO : 0;
}
