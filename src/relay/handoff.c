/*
 * handoff.c - see relay.h: the hand-off of a new watch's inode to the
 * relay, and the stamps of the hooks' deliveries.
 */
#include "relay.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../scan/paths.h"	/* the record's format only */
#include "../util/real.h"

bool relay_self;

static struct relay_ring *ring;
static int ring_tried;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct relay_ring *relay_ring_map(struct domain *d)
{
	struct relay_ring *r = __atomic_load_n(&ring, __ATOMIC_ACQUIRE);
	struct stat st;
	char why[128];
	void *p;
	int fd;

	if (r || __atomic_exchange_n(&ring_tried, 1, __ATOMIC_ACQ_REL))
		return r;
	fd = domain_openat(d, RELAY_RING_FILE, O_RDWR, 0);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || (size_t)st.st_size < sizeof *r ||
	    domain_file_refused(d, fd, &st, why, sizeof why)) {
		real_close(fd);
		return NULL;
	}
	p = mmap(NULL, sizeof *r, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	real_close(fd);
	if (p == MAP_FAILED)
		return NULL;
	r = p;
	if (r->magic != RELAY_MAGIC || r->self_dev != (uint64_t)st.st_dev ||
	    r->self_ino != (uint64_t)st.st_ino) {
		/* not the inode the relay made: another kernel (a VM), where a
		 * shared mapping is not coherent either: say so by a file */
		munmap(p, sizeof *r);
		fd = domain_openat(d, RELAY_FOREIGN_FILE, O_WRONLY | O_CREAT, 0600);
		if (fd >= 0)
			real_close(fd);
		return NULL;
	}
	__atomic_store_n(&ring, r, __ATOMIC_RELEASE);
	return r;
}

void relay_stamp_slow(struct domain *d, const struct ident *id, uint32_t mask,
		      const char *name)
{
	struct relay_ring *r = relay_ring_map(d);
	struct relay_stamp *s;
	uint32_t k;

	if (!r)
		return;
	k = r->head;
	s = &r->stamps[k & (RELAY_STAMPS - 1)];
	__atomic_store_n(&s->ns, 0, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	s->dev = id->dev;
	s->ino = id->ino;
	s->mask = mask & ~IN_ISDIR;
	s->name = relay_name_hash(name);
	__atomic_store_n(&s->ns, now_ns(), __ATOMIC_RELEASE);
	__atomic_store_n(&r->head, k + 1, __ATOMIC_RELEASE);
}

/* sendmsg of msg with fd to the domain's relay socket, reached through
 * the directory's fd (a sun_path would not hold every domain path).  The
 * relay's queue holds net.unix.max_dgram_qlen datagrams (10 by default): a
 * burst of add_watch calls fills it before the relay is scheduled.  Then,
 * and only then, the sender connects (so that poll tells when the relay's
 * queue has room) and waits for it RELAY_HANDOFF_WAIT_MS at the most, once:
 * a relay that does not read costs each add_watch that bound, never more,
 * and what is refused after it is counted (ring.handoff_dropped) and found
 * later by its path (relay.h, RELAY_PATHS_FILE). */
#define RELAY_HANDOFF_WAIT_MS 10
static int send_fd(struct domain *d, const struct relay_msg *msg, int fd)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { (void *)msg, sizeof *msg };
	struct msghdr mh = { .msg_name = &sa, .msg_namelen = sizeof sa,
			     .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = u.buf, .msg_controllen = sizeof u.buf };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	int dir, s, ret = 0;

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof fd);
	dir = domain_dir_open(d);
	if (dir < 0)
		return dir;
	snprintf(sa.sun_path, sizeof sa.sun_path, "/proc/self/fd/%d/%s", dir, RELAY_SOCKET);
	s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s < 0)
		ret = -errno;
	else if (sendmsg(s, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		ret = -errno;
	if (ret == -EAGAIN && connect(s, (struct sockaddr *)&sa, sizeof sa) == 0) {
		struct pollfd p = { s, POLLOUT, 0 };
		mh.msg_name = NULL;
		mh.msg_namelen = 0;
		if (poll(&p, 1, RELAY_HANDOFF_WAIT_MS) > 0 &&
		    sendmsg(s, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) == 0)
			ret = 0;
	}
	if (s >= 0)
		real_close(s);
	real_close(dir);
	return ret;
}

/* The record of RELAY_PATHS_FILE (relay.h): the file opened by its
 * absolute path in one system call (a directory replaced since
 * domain_open only loses this hint), made ours and the domain's when new,
 * refused when someone else's. */
static void note_path(struct domain *d, const struct ident *id, const char *path)
{
	union {
		struct scan_path_rec rec;
		char bytes[sizeof(struct scan_path_rec) + PATH_MAX + 8];
	} buf;
	char why[128], file[PATH_MAX];
	size_t dirlen = 0, len = strlen(path), total;
	struct stat st;
	int fd;

	if (!len || (size_t)snprintf(file, sizeof file, "%s/" RELAY_PATHS_FILE, d->dir) >=
			    sizeof file)
		return;
	if (path[0] != '/') {
		if (!getcwd(buf.rec.path, PATH_MAX))
			return;
		dirlen = strlen(buf.rec.path);
		buf.rec.path[dirlen++] = '/';
	}
	if (dirlen + len >= PATH_MAX)
		return;
	memcpy(buf.rec.path + dirlen, path, len + 1);
	total = (sizeof buf.rec + dirlen + len + 1 + 7) & ~(size_t)7;
	memset(buf.rec.path + dirlen + len + 1, 0, total - (sizeof buf.rec + dirlen + len + 1));
	buf.rec.magic = SCAN_PATHS_MAGIC;
	buf.rec.len = (uint32_t)total;
	buf.rec.id = *id;
	fd = real_open(file, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK |
			     O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
		if (st.st_size == 0 && st.st_uid == geteuid())
			domain_file_share(d, fd);
		if ((st.st_size == 0 && st.st_uid == geteuid()) ||
		    !domain_file_refused(d, fd, &st, why, sizeof why))
			(void)!real_write(fd, &buf, total);	/* whole: one append */
	}
	real_close(fd);
}

void relay_handoff_slow(const char *path, uint32_t mask, const struct inode_info *info)
{
	struct domain *d = shim_domain;
	int saved = errno, fd, ret;
	struct relay_ring *r;
	struct relay_msg msg = { RELAY_MAGIC, mask, info->id, now_ns() };
	struct stat st;

	note_path(d, &info->id, path);	/* for a relay started later */
	if (!relay_active(d) || !(r = relay_ring_map(d)))
		goto out;
	fd = real_openat(AT_FDCWD, path, O_PATH | O_CLOEXEC |
			 ((mask & IN_DONT_FOLLOW) ? O_NOFOLLOW : 0), 0);
	if (fd < 0)
		goto out;
	/* the path may lead elsewhere by now: send only the inode watched */
	if (fstat(fd, &st) == 0 && (uint64_t)st.st_dev == info->id.dev &&
	    (uint64_t)st.st_ino == info->id.ino) {
		ret = send_fd(d, &msg, fd);
		if (ret == -ECONNREFUSED || ret == -ENOENT) {
			uint32_t was = __atomic_load_n(&d->reg->relay_active, __ATOMIC_RELAXED);
			/* no relay listens any more */
			while ((was & RELAY_RUNNING) &&
			       !__atomic_compare_exchange_n(&d->reg->relay_active, &was,
							    was & ~RELAY_RUNNING, false,
							    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
				;
		} else if (ret == -EAGAIN) {
			__atomic_add_fetch(&r->handoff_dropped, 1, __ATOMIC_RELAXED);
		}
	}
	real_close(fd);
out:
	errno = saved;
}
