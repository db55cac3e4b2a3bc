/*
 * read.c - the read of an instance fd (core_read, core.h): the events out
 * of the instance's queue, and the FIFO's wake-up token kept in step with
 * them (queue.h, the waker).  No registry lock: the queue's own lock
 * (util/shlock.h, bounded) is the only one taken.
 */
#include "core.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <sys/inotify.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../util/real.h"
#include "../util/shlock.h"
#include "../util/sigdefer.h"

/* The reader's side of the token: it writes to and drains its own fd. */
struct reader_token {
	int fd;
	struct slot_ref ref;
};

static int reader_wake(void *arg, uint32_t tokens)
{
	struct reader_token *t = arg;

	(void)tokens;	/* only ever called with none in the FIFO */
	return real_write(t->fd, "", 1) == 1 ? 0 : -errno;
}

#ifndef RWF_NOWAIT
#define RWF_NOWAIT 0x00000008
#endif

static int no_rwf_nowait;	/* the kernel's FIFOs refused RWF_NOWAIT */

/* Read at most max bytes from fd, one system call per 256, never blocking
 * when nowait (preadv2's RWF_NOWAIT answers EAGAIN on an empty pipe
 * whatever the fd's O_NONBLOCK) or when the fd is non-blocking.  Returns
 * the bytes taken; *refused when the kernel refused RWF_NOWAIT, or the fd
 * failed otherwise (EBADF: not our fd any more). */
static uint32_t read_upto(int fd, uint32_t max, bool nowait, bool *refused)
{
	char buf[256];
	uint32_t took = 0;

	while (took < max) {
		size_t want = max - took < sizeof buf ? max - took : sizeof buf;
		struct iovec iov = { buf, want };
		ssize_t n = nowait ? real_preadv2(fd, &iov, 1, -1, RWF_NOWAIT)
				   : real_read(fd, buf, want);

		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				*refused = took == 0;
			break;
		}
		took += (uint32_t)n;
		if ((size_t)n < want)
			break;
	}
	return took;
}

/* Take at most max tokens out of the FIFO without ever blocking (a
 * blocked reader elsewhere may have taken some already).  Called after
 * the queue's lock is released.  The reader's own fd, in one system call
 * where the kernel's FIFOs take RWF_NOWAIT; else by its flags: a
 * non-blocking fd is read directly, a blocking one through a non-blocking
 * open of our own. */
static uint32_t reader_unwake(void *arg, uint32_t max)
{
	struct reader_token *t = arg;
	char name[SLOT_NAME_MAX];
	int saved = errno, fd, flags;
	bool refused = false;
	uint32_t took = 0;

	if (!__atomic_load_n(&no_rwf_nowait, __ATOMIC_RELAXED)) {
		took = read_upto(t->fd, max, true, &refused);
		if (!refused)
			goto out;
		if (errno == EOPNOTSUPP || errno == EINVAL)
			__atomic_store_n(&no_rwf_nowait, 1, __ATOMIC_RELAXED);
	}
	flags = real_fcntl(t->fd, F_GETFL, 0L);
	if (flags >= 0 && (flags & O_NONBLOCK)) {
		took = read_upto(t->fd, max, false, &refused);
	} else {
		slot_fifo_name(t->ref, name);
		fd = domain_openat(shim_domain, name, O_RDONLY | O_NONBLOCK, 0);
		if (fd >= 0) {
			took = read_upto(fd, max, false, &refused);
			real_close(fd);
		}
	}
out:
	errno = saved;
	return took;
}

static bool nonblocking(int fd)
{
	int flags = real_fcntl(fd, F_GETFL, 0L);

	return flags < 0 || (flags & O_NONBLOCK);
}

/* The queue's lock was not had within its bound (util/shlock.h): a holder
 * is stopped or slow inside it.  What can be read without it is the
 * overflow of events lost meanwhile (queue.h, "Lost events"): that alone,
 * or -EAGAIN on a non-blocking fd.  A blocking read waits the bound again
 * (sigdefer_wait: signals are held back from before the lock's wait, so
 * none is missed) and tries the lock again, for as long as the kernel's
 * read would block: until events can be read, or a signal's handler
 * installed without SA_RESTART interrupts it (-EINTR); a handler with
 * SA_RESTART runs and the read goes on.  No wait is longer than the
 * bound. */
static ssize_t read_without_lock(struct queue *q, int fd, void *buf, size_t count,
				 const struct queue_waker *waker)
{
	static const struct inotify_event overflow = { .wd = -1, .mask = IN_Q_OVERFLOW };
	ssize_t n;

	if (count < sizeof overflow)
		return -EINVAL;	/* something is queued, and no event fits */
	for (;;) {
		if (queue_take_lost(q)) {
			domain_note_lost_overflow();
			memcpy(buf, &overflow, sizeof overflow);
			return sizeof overflow;
		}
		if (nonblocking(fd))
			return -EAGAIN;
		if (sigdefer_wait(SHLOCK_WAIT_MS) < 0)
			return -EINTR;
		n = queue_read(q, buf, count, waker);
		if (n != -ETIMEDOUT)
			return n;
	}
}

ssize_t core_read(struct slot_ref ref, int fd, void *buf, size_t count)
{
	struct domain *d = shim_domain;
	struct reader_token tok = { fd, ref };
	struct queue_waker waker = { reader_wake, reader_unwake, &tok };
	struct queue *q = d ? slot_queue(d, ref) : NULL;

	if (!q)
		return -EINVAL;
	for (;;) {
		char byte;
		ssize_t n = 0;

		/* An idle queue needs neither its lock nor the signal mask
		 * (three system calls with the mask pair): the FIFO answers
		 * alone, below. */
		if (!queue_idle(q)) {
			/* one section for the lock's wait and the waits after it
			 * (read_without_lock): a signal is held back until it can
			 * be seen to interrupt the read, or not */
			sigdefer_begin();
			n = queue_read(q, buf, count, &waker);
			if (n == -ETIMEDOUT)
				n = read_without_lock(q, fd, buf, count, &waker);
			sigdefer_end();
		}
		if (n != 0)
			return n;
		/* Empty: wait on the FIFO the way the fd's own flags say.
		 * Non-blocking, this is EAGAIN; blocking, it sleeps until a
		 * producer writes the token, and signals interrupt or
		 * restart it exactly as they would the kernel's read. */
		n = real_read(fd, &byte, 1);
		if (n < 0)
			return -errno;
		if (n == 1)
			queue_token_taken(q, &waker);
	}
}
