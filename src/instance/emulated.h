/*
 * emulated.h - an emulated fd as the hooks see it: one object per fd,
 * found with one check ("is this an emulated fd?"), whose small table of
 * operations answers in place of the kernel object that backs it.
 *
 * The only kind today is the inotify instance (instance.h): its fd is the
 * read end of a FIFO, which must never be written, seeked or changed by the
 * program; every call that would reach the FIFO and give an answer other
 * than the kernel's inotify fd's goes through here instead.  The answers,
 * asked of this kernel's inotify fd (test/instance_calls.c runs the same
 * checks on both):
 *   read, readv, preadv2(-1)       whole events (instance.c)
 *   write, writev, pwritev2(-1),
 *   dprintf, vdprintf              EBADF (no write method)
 *   pwrite, pwritev, pread ...     ESPIPE (the FIFO answers the same)
 *   lseek                          0 for whence 0..SEEK_MAX, else EINVAL
 *                                  (noop_llseek)
 *   splice, tee: into the fd       EBADF (not open for writing)
 *   splice, tee: from the fd       EINVAL (no splice_read), after the
 *                                  other fd's EBADF
 *   vmsplice                       EBADF (not a pipe)
 *   sendfile: into the fd          EBADF, after the input's ESPIPE (an
 *                                  offset on a pipe or socket); from it:
 *                                  ESPIPE with an offset, else EBADF or
 *                                  EINVAL as splice
 *   copy_file_range                EINVAL (the FIFO answers the same)
 *   fallocate, posix_fallocate     EINVAL for a bad range, else EBADF
 *   ftruncate                      EINVAL (the FIFO answers the same)
 *   fchmod, fchown, futimes,
 *   futimens                       EOPNOTSUPP (an anonymous inode)
 *   fdopen for writing             EINVAL (F_GETFL says O_RDONLY)
 *   ioctl(FIONREAD)                exact queued bytes
 *   fcntl(F_GETFL)                 O_RDONLY and what F_SETFL can set
 *   O_ASYNC, FIOASYNC, EPOLLET     an edge per queued event (queue.h)
 * Operations return a negative errno; the hooks set errno.
 */
#ifndef SHIM_INSTANCE_EMULATED_H
#define SHIM_INSTANCE_EMULATED_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "instance.h"

/* The write-like calls, by the answer they get. */
enum emu_write {
	EMU_WRITE,		/* write, writev, dprintf ... */
	EMU_SPLICE_INTO,	/* splice, tee with the fd as output */
	EMU_SENDFILE_INTO,	/* sendfile with the fd as output */
	EMU_SPLICE_FROM,	/* splice, tee with the fd as input */
	EMU_SENDFILE_FROM,	/* sendfile with the fd as input */
	EMU_VMSPLICE,
	EMU_FALLOCATE,
	EMU_SETATTR,		/* fchmod, fchown, futimes, futimens */
};

/* What a write-like call passes besides the fd. */
struct emu_write_args {
	int other_fd;		/* the transfer's other fd, or -1 */
	bool offset;		/* an offset was given for the emulated fd */
	bool other_offset;	/* ... and for the other fd */
	int64_t off, len;	/* fallocate's range */
};

struct emulated_fd;

struct emulated_ops {
	ssize_t (*read)(const struct emulated_fd *e, void *buf, size_t count);
	ssize_t (*readv)(const struct emulated_fd *e, const struct iovec *iov, int iovcnt);
	/* The kernel's answer to a write-like call: always a negative errno. */
	int (*write)(const struct emulated_fd *e, enum emu_write call,
		     const struct emu_write_args *a);
	/* lseek: the new offset or a negative errno. */
	int64_t (*seek)(const struct emulated_fd *e, int64_t off, int whence);
	/* FIONREAD */
	int (*fionread)(const struct emulated_fd *e, int *bytes);
	/* F_GETFL: what the kernel's fd says, given what the backing fd says. */
	int (*getfl)(const struct emulated_fd *e, int backing_flags);
	/* O_ASYNC, FIOASYNC or EPOLLET asked: an edge per queued event. */
	void (*edge)(const struct emulated_fd *e);
};

struct emulated_fd {
	const struct emulated_ops *ops;
	int fd;
	struct slot_ref ref;
};

/* Is fd emulated?  One relaxed load when the process holds no instance;
 * no system call, no lock. */
static inline bool emulated_fd(int fd, struct emulated_fd *e)
{
	extern const struct emulated_ops instance_ops;

	if (!instance_of(fd, &e->ref))
		return false;
	e->ops = &instance_ops;
	e->fd = fd;
	return true;
}

#endif
