/*
 * emulated.c - the operations of an instance fd (see emulated.h).
 */
#include "emulated.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "../util/real.h"

static ssize_t inst_read(const struct emulated_fd *e, void *buf, size_t count)
{
	return frontend_read(e->fd, e->ref, buf, count);
}

static ssize_t inst_readv(const struct emulated_fd *e, const struct iovec *iov, int iovcnt)
{
	return frontend_readv(e->fd, e->ref, iov, iovcnt);
}

/* Is fd open for writing, as the kernel's f_mode would say?  0 or
 * -EBADF.  An emulated fd is not (its F_GETFL is O_RDONLY). */
static int writable(int fd)
{
	struct emulated_fd other;
	int fl;

	if (emulated_fd(fd, &other))
		return -EBADF;
	fl = real_fcntl(fd, F_GETFL, 0);
	if (fl < 0 || (fl & O_PATH) || (fl & O_ACCMODE) == O_RDONLY)
		return -EBADF;
	return 0;
}

static bool is_pipe(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode);
}

/* sendfile's input, checked before its output: open for reading (else
 * EBADF), and able to read at an offset if one is given (else ESPIPE:
 * a pipe or a socket cannot). */
static int sendfile_input(int fd, bool offset)
{
	struct emulated_fd other;
	struct stat st;
	int fl;

	if (emulated_fd(fd, &other))
		return offset ? -ESPIPE : 0;
	fl = real_fcntl(fd, F_GETFL, 0);
	if (fl < 0 || (fl & O_PATH) || (fl & O_ACCMODE) == O_WRONLY)
		return -EBADF;
	if (offset && fstat(fd, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)))
		return -ESPIPE;
	return 0;
}

static int inst_write(const struct emulated_fd *e, enum emu_write call,
		      const struct emu_write_args *a)
{
	int ret;

	(void)e;
	switch (call) {
	case EMU_WRITE:
	case EMU_SPLICE_INTO:
	case EMU_VMSPLICE:
		return -EBADF;
	case EMU_SENDFILE_INTO:
		ret = sendfile_input(a->other_fd, a->other_offset);
		return ret < 0 ? ret : -EBADF;
	case EMU_SPLICE_FROM:
		/* __do_splice: both fds' modes, then a pipe's offset, then
		 * do_splice_read() finds no splice_read */
		ret = writable(a->other_fd);
		if (ret < 0)
			return ret;
		return a->other_offset && is_pipe(a->other_fd) ? -ESPIPE : -EINVAL;
	case EMU_SENDFILE_FROM:
		/* do_sendfile: an offset needs FMODE_PREAD first */
		if (a->offset)
			return -ESPIPE;
		ret = writable(a->other_fd);
		return ret < 0 ? ret : -EINVAL;
	case EMU_FALLOCATE:
		return a->off < 0 || a->len <= 0 ? -EINVAL : -EBADF;
	case EMU_SETATTR:
		return -EOPNOTSUPP;
	}
	return -EBADF;
}

/* noop_llseek, after ksys_lseek's check of whence */
static int64_t inst_seek(const struct emulated_fd *e, int64_t off, int whence)
{
	(void)e, (void)off;
	return (unsigned)whence <= SEEK_HOLE ? 0 : -EINVAL;
}

static int inst_fionread(const struct emulated_fd *e, int *bytes)
{
	return frontend_fionread(e->ref, bytes);
}

/* only what F_SETFL can set: not the FIFO's O_RDWR, O_NOFOLLOW or the
 * kernel's O_LARGEFILE */
static int inst_getfl(const struct emulated_fd *e, int backing)
{
	(void)e;
	return (backing & (O_APPEND | O_NONBLOCK | O_ASYNC | O_DIRECT | O_NOATIME)) | O_RDONLY;
}

static void inst_edge(const struct emulated_fd *e)
{
	frontend_edge(e->ref);
}

const struct emulated_ops instance_ops = {
	.read = inst_read,
	.readv = inst_readv,
	.write = inst_write,
	.seek = inst_seek,
	.fionread = inst_fionread,
	.getfl = inst_getfl,
	.edge = inst_edge,
};
