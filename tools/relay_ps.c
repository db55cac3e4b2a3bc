/*
 * relay_ps.c - the relay's state for inotify-shim ps (tools/ps.c): read
 * from the ring file the relay keeps in the domain (src/relay/relay.h),
 * without a lock.  Only where that file exists, that is where a relay has
 * run: other domains' ps output is unchanged.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "relay/relay.h"
#include "relay_table.h"

int relay_ps_state(struct relay_ring *out, bool *running)
{
	struct stat st;
	struct relay_ring *r;
	struct timespec ts;
	uint64_t now;
	int fd = domain_openat(shim_domain, RELAY_RING_FILE, O_RDONLY, 0);

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || (size_t)st.st_size < sizeof *r) {
		close(fd);
		return -1;
	}
	r = mmap(NULL, sizeof *r, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (r == MAP_FAILED)
		return -1;
	memcpy(out, r, offsetof(struct relay_ring, stamps));
	munmap(r, sizeof *r);
	clock_gettime(CLOCK_REALTIME, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	/* the relay's loop runs at least every 5 ms: 2 s without it is gone */
	*running = out->pid && relay_active(shim_domain) && now - out->alive_ns < 2000000000u;
	return 0;
}
