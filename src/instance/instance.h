/*
 * instance.h - the fd front end (the kernel's inotify_user.c): what a
 * program does with an emulated instance's fd.
 *
 * The fd is the read end of the instance's FIFO, opened O_RDWR so that a
 * writer stays on it for as long as the instance lives (a FIFO whose last
 * writer closed polls POLLHUP for good).  Readiness is the queue's token
 * (queue.h), so poll, select, epoll, fcntl, dup, close-on-exec and
 * inheritance work on it without interposition.  What the hooks route
 * here, for these fds only, through the fd's operations (emulated.h, which
 * lists every call and the kernel's answer):
 *   read, readv, __read_chk     whole events, the kernel's errnos
 *   ioctl(FIONREAD)             exact queued bytes
 *   fcntl(F_GETFL)              O_RDONLY, as the kernel's fd reports
 *   write-like calls            the kernel's errno (EBADF ...), nothing
 *                               written to the FIFO
 *   lseek                       0, as the kernel's noop_llseek
 *   close, dup*, fork, exec     holder bookkeeping and reclaim
 *
 * Functions return a negative errno; the exported wrappers set errno.
 */
#ifndef SHIM_INSTANCE_H
#define SHIM_INSTANCE_H

#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "../fd/fdtable.h"

/* The process holds at least one instance fd (a fast test for hooks). */
extern uint32_t instance_fds_held;

static inline int instance_of(int fd, struct slot_ref *ref)
{
	return __atomic_load_n(&instance_fds_held, __ATOMIC_RELAXED) &&
	       fdtable_instance(fd, ref);
}

int frontend_init1(int flags);
int frontend_add_watch(int fd, const char *path, uint32_t mask);
int frontend_rm_watch(int fd, int wd);
ssize_t frontend_read(int fd, struct slot_ref ref, void *buf, size_t count);
ssize_t frontend_readv(int fd, struct slot_ref ref, const struct iovec *iov, int iovcnt);
int frontend_fionread(struct slot_ref ref, int *bytes);
/* epoll_ctl with EPOLLET, or O_ASYNC, on an instance fd (core_set_edge). */
void frontend_edge(struct slot_ref ref);

/* Bookkeeping after the real call succeeded. */
void frontend_adopt(int fd, struct slot_ref ref);	/* dup'd, inherited */
void frontend_closed(int fd, struct slot_ref ref);

/* fork child: register the inherited fds as held by this pid too.
 * exec (constructor): find the fds this pid held before exec. */
void frontend_after_fork(void);
void frontend_after_exec(void);

#endif
