/*
 * relay_setup.c - what inotify-shim relay (tools/relay.c) makes in the
 * domain directory when it starts: the ring (src/relay/relay.h), locked
 * for as long as it runs (one relay per domain), and the hand-off socket.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "relay_table.h"

/* The ring, made (or taken over from a relay that ended) and locked:
 * 0, or -1 said on stderr. */
int relay_make_ring(const char *prog, struct domain *d, int *ringfd,
		    struct relay_ring **ring)
{
	struct stat st;
	void *p;

	*ringfd = domain_openat(d, RELAY_RING_FILE, O_RDWR | O_CREAT, 0600);
	if (*ringfd < 0) {
		fprintf(stderr, "%s: cannot open %s/%s: %s\n", prog, d->dir,
			RELAY_RING_FILE, strerror(-*ringfd));
		return -1;
	}
	if (flock(*ringfd, LOCK_EX | LOCK_NB) < 0) {
		fprintf(stderr, "%s: a relay already runs for %s\n", prog, d->dir);
		return -1;
	}
	domain_file_share(d, *ringfd);
	if (fstat(*ringfd, &st) < 0 ||
	    ((size_t)st.st_size < sizeof **ring &&
	     ftruncate(*ringfd, sizeof **ring) < 0) ||
	    posix_fallocate(*ringfd, 0, sizeof **ring) != 0) {
		fprintf(stderr, "%s: cannot make %s/%s\n", prog, d->dir, RELAY_RING_FILE);
		return -1;
	}
	p = mmap(NULL, sizeof **ring, PROT_READ | PROT_WRITE, MAP_SHARED, *ringfd, 0);
	if (p == MAP_FAILED)
		return -1;
	*ring = p;
	memset(*ring, 0, offsetof(struct relay_ring, stamps));
	(*ring)->self_dev = st.st_dev;
	(*ring)->self_ino = st.st_ino;
	(*ring)->pid = (uint32_t)getpid();
	__atomic_store_n(&(*ring)->magic, RELAY_MAGIC, __ATOMIC_RELEASE);
	return 0;
}

/* The hand-off socket, bound: its fd, or -1 said on stderr. */
int relay_make_socket(const char *prog, struct domain *d)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int dir = domain_dir_open(d), size = 4 << 20, sock;

	if (dir < 0)
		return -1;
	unlinkat(dir, RELAY_SOCKET, 0);	/* ours: we hold the ring's lock */
	unlinkat(dir, RELAY_FOREIGN_FILE, 0);	/* a previous relay's refusal */
	snprintf(sa.sun_path, sizeof sa.sun_path, "/proc/self/fd/%d/%s", dir, RELAY_SOCKET);
	sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (sock < 0 || bind(sock, (struct sockaddr *)&sa, sizeof sa) < 0) {
		fprintf(stderr, "%s: cannot listen on %s/%s: %s\n", prog, d->dir,
			RELAY_SOCKET, strerror(errno));
		if (sock >= 0)
			close(sock);
		close(dir);
		return -1;
	}
	setsockopt(sock, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
	fchmodat(dir, RELAY_SOCKET, d->shared ? 0660 : 0600, 0);
	if (d->shared && fchownat(dir, RELAY_SOCKET, (uid_t)-1, d->gid, 0) < 0)
		fprintf(stderr, "%s: cannot give %s to the domain's group\n", prog,
			RELAY_SOCKET);
	close(dir);
	return sock;
}
