/*
 * manual.c - the wrappers the generator cannot write: the variadic
 * functions (open, openat, fcntl, ioctl, dprintf), and the reads that an
 * emulated fd answers itself (instance/emulated.h: one check, then the
 * fd's operation).  They follow the generated wrappers' shape (families.h)
 * and keep errno the same way.  The other calls an emulated fd answers
 * itself are in fdcalls.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/inotify.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "hooks/families.h"
#include "hooks-real.h"
#include "instance/emulated.h"
#include "instance/fdinfo.h"
#include "util/errno_boundary.h"
#include "util/export.h"

extern void __chk_fail(void) __attribute__((noreturn));

/* open(2)'s mode argument is only there with O_CREAT or O_TMPFILE. */
#define OPEN_MODE(flags, ap) \
	(((flags) & O_CREAT) || ((flags) & O_TMPFILE) == O_TMPFILE ? va_arg(ap, mode_t) : 0)

/* Out of line, so that the quiet path of the callers sets up no frame for
 * the context (gen-hooks.awk does the same for the generated wrappers). */
static __attribute__((noinline)) int open_wrapper(int (*real)(int, const char *, int, mode_t),
						  int dirfd, const char *path, int flags,
						  mode_t mode)
{
	struct hook_ctx ctx;
	int saved, state, ret;

	saved = errno_enter();
	state = hook_pre_open(&ctx, dirfd, path, flags, mode);
	errno_leave(saved);
	if (__builtin_expect(state == HOOK_SKIP, 1))
		return real(dirfd, path, flags, mode);
	ret = real(dirfd, path, hook_open_flags(&ctx), mode);
	if (hook_open_again(&ctx, ret, errno)) {
		errno_leave(saved);
		ret = real(dirfd, path, flags, mode);
	}
	ctx.err = errno;
	hook_post_open(&ctx, ret);
	errno = ctx.err;
	return ret;
}

/* /proc/.../fdinfo/N of an instance: the kernel's text (fdinfo.h).  The
 * callers ask fdinfo_maybe() first: one compare for most paths. */
static __attribute__((noinline)) int open_fdinfo(const char *path, int flags)
{
	int saved = errno_enter(), ret = fdinfo_open(path, flags);

	if (ret == FDINFO_PASS) {
		errno_leave(saved);
		return FDINFO_PASS;
	}
	return (int)errno_return(ret, saved);
}

#define FDINFO_FIRST(path, flags)                                              \
	do {                                                                   \
		int fd_;                                                       \
		if (__builtin_expect(fdinfo_maybe(path), 0) &&                 \
		    (fd_ = open_fdinfo((path), (flags))) != FDINFO_PASS)       \
			return fd_;                                            \
	} while (0)

static int call_open(int dirfd, const char *path, int flags, mode_t mode)
{
	(void)dirfd;
	return real_open(path, flags, mode);
}

static int call_open64(int dirfd, const char *path, int flags, mode_t mode)
{
	(void)dirfd;
	return real_open64(path, flags, mode);
}

/* The body of open, open64, openat, openat64: the mode (variadic), an
 * fdinfo path first, then the real call (realcall) while nothing is
 * watched, or open_wrapper() around wrapped. */
#define OPEN_BODY(dirfd, realcall, wrapped)                                    \
	do {                                                                   \
		va_list ap;                                                    \
		va_start(ap, flags);                                           \
		mode_t mode = OPEN_MODE(flags, ap);                            \
		va_end(ap);                                                    \
		FDINFO_FIRST(path, flags);                                     \
		if (__builtin_expect(hook_nothing_watched(), 1))               \
			return realcall;                                       \
		return open_wrapper(wrapped, (dirfd), path, flags, mode);      \
	} while (0)

SHIM_EXPORT int open(const char *path, int flags, ...)
{
	OPEN_BODY(AT_FDCWD, real_open(path, flags, mode), call_open);
}

SHIM_EXPORT int open64(const char *path, int flags, ...)
{
	OPEN_BODY(AT_FDCWD, real_open64(path, flags, mode), call_open64);
}

SHIM_EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
	OPEN_BODY(dirfd, real_openat(dirfd, path, flags, mode), real_openat);
}

SHIM_EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
	OPEN_BODY(dirfd, real_openat64(dirfd, path, flags, mode), real_openat64);
}

/* ---- fcntl: F_DUPFD* are dups; F_GETFL of an instance says O_RDONLY;
 * O_ASYNC on an instance wants a SIGIO per queued event (queue.h) */

static int fcntl_wrapper(int (*real)(int, int, long), int fd, int cmd, long arg)
{
	struct emulated_fd e;
	struct hook_ctx ctx;
	int saved = errno_enter(), ret, state;

	if (cmd == F_GETFL && emulated_fd(fd, &e)) {
		ret = real(fd, cmd, arg);
		return ret < 0 ? ret : e.ops->getfl(&e, ret);
	}
	if (cmd == F_SETFL && (arg & O_ASYNC) && emulated_fd(fd, &e))
		e.ops->edge(&e);
	if (cmd != F_DUPFD && cmd != F_DUPFD_CLOEXEC)
		return real(fd, cmd, arg);
	state = hook_pre_dup(&ctx, fd, -1);
	if (__builtin_expect(state == HOOK_SKIP, 1))
		return real(fd, cmd, arg);
	errno_leave(saved);
	ret = real(fd, cmd, arg);
	ctx.err = errno;
	hook_post_dup(&ctx, ret);
	errno = ctx.err;
	return ret;
}

SHIM_EXPORT int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	long arg = va_arg(ap, long);
	va_end(ap);
	return fcntl_wrapper(real_fcntl, fd, cmd, arg);
}

SHIM_EXPORT int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	long arg = va_arg(ap, long);
	va_end(ap);
	return fcntl_wrapper(real_fcntl64, fd, cmd, arg);
}

/* ---- ioctl: FIONREAD of an instance is its queue's byte count; a clone
 * (FICLONE, FICLONERANGE on the destination fd) is the source read and the
 * destination modified, as vfs_clone_file_range() reports it */

static int ioctl_clone(int fd, unsigned long request, void *arg)
{
	struct hook_ctx ctx;
	int ret, saved, src;

	if (!domain_watching())
		return real_ioctl(fd, request, arg);
	ret = real_ioctl(fd, request, arg);
	if (ret != 0)
		return ret;
	saved = errno_enter();
	/* the kernel has read the range: it is ours to read now */
	src = request == FICLONE ? (int)(intptr_t)arg
				 : (int)((const struct file_clone_range *)arg)->src_fd;
	if (hook_pre_transfer(&ctx, src, fd) == HOOK_RUN)
		hook_post_transfer(&ctx, 1);
	errno_leave(saved);
	return ret;
}

SHIM_EXPORT int ioctl(int fd, unsigned long request, ...)
{
	struct emulated_fd e;
	va_list ap;
	void *arg;
	int bytes, ret, saved;

	va_start(ap, request);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (request == FIOASYNC && emulated_fd(fd, &e)) {
		/* the kernel read *arg: it is ours to read once this succeeded */
		ret = real_ioctl(fd, request, arg);
		if (ret == 0 && *(int *)arg)
			e.ops->edge(&e);
		return ret;
	}
	if (request == FICLONE || request == FICLONERANGE)
		return ioctl_clone(fd, request, arg);
	if (request != FIONREAD || !emulated_fd(fd, &e))
		return real_ioctl(fd, request, arg);
	saved = errno_enter();
	ret = (int)errno_return(e.ops->fionread(&e, &bytes), saved);
	if (ret < 0)
		return -1;
	/* the kernel's put_user: EFAULT on a bad pointer is the caller's;
	 * any alignment (Python's fcntl.ioctl passes a bytes buffer) */
	memcpy(arg, &bytes, sizeof bytes);
	return 0;
}

/* ---- epoll_ctl: EPOLLET on an instance wants an edge per queued event
 * (queue.h).  Marked once the kernel has read *event, so that a bad
 * pointer stays the caller's EFAULT; the caller cannot wait for an edge
 * before epoll_ctl returns. */

SHIM_EXPORT int epoll_ctl(int epfd, int op, int fd, struct epoll_event *event)
{
	struct emulated_fd e;
	int ret = real_epoll_ctl(epfd, op, fd, event);

	if (ret == 0 && (op == EPOLL_CTL_ADD || op == EPOLL_CTL_MOD) &&
	    emulated_fd(fd, &e) && (event->events & EPOLLET)) {
		e.ops->edge(&e);
	}
	return ret;
}

/* ---- reads: instance fds go to the front end, others may be IN_ACCESS */

/* An instance's answer: errno set on failure, and on success the one the
 * caller had (the front end's internal calls may leave another):
 * ERRNO_RETURN() of util/errno_boundary.h. */

static ssize_t after_read(struct hook_ctx *ctx, int state, ssize_t ret)
{
	if (state == HOOK_SKIP)
		return ret;
	ctx->err = errno;
	hook_post_access(ctx, ret);
	errno = ctx->err;
	return ret;
}

static __attribute__((noinline)) ssize_t hooked_read(int fd, void *buf, size_t count);

SHIM_EXPORT ssize_t read(int fd, void *buf, size_t count)
{
	if (__builtin_expect(hook_fd_quiet(fd, false), 1))
		return real_read(fd, buf, count);
	return hooked_read(fd, buf, count);
}

static ssize_t hooked_read(int fd, void *buf, size_t count)
{
	struct emulated_fd e;
	struct hook_ctx ctx;
	int state;

	if (emulated_fd(fd, &e))
		return ERRNO_RETURN(e.ops->read(&e, buf, count));
	state = hook_pre_access(&ctx, fd);
	if (__builtin_expect(state == HOOK_SKIP, 1))
		return real_read(fd, buf, count);
	return after_read(&ctx, state, real_read(fd, buf, count));
}

static __attribute__((noinline)) ssize_t hooked___read_chk(int fd, void *buf, size_t count, size_t buflen);

SHIM_EXPORT ssize_t __read_chk(int fd, void *buf, size_t count, size_t buflen)
{
	if (__builtin_expect(hook_fd_quiet(fd, false), 1))
		return real___read_chk(fd, buf, count, buflen);
	return hooked___read_chk(fd, buf, count, buflen);
}

static ssize_t hooked___read_chk(int fd, void *buf, size_t count, size_t buflen)
{
	struct emulated_fd e;
	struct hook_ctx ctx;
	int state;

	if (emulated_fd(fd, &e)) {
		if (count > buflen)
			__chk_fail();
		return ERRNO_RETURN(e.ops->read(&e, buf, count));
	}
	state = hook_pre_access(&ctx, fd);
	if (__builtin_expect(state == HOOK_SKIP, 1))
		return real___read_chk(fd, buf, count, buflen);
	return after_read(&ctx, state, real___read_chk(fd, buf, count, buflen));
}

static __attribute__((noinline)) ssize_t hooked_readv(int fd, const struct iovec *iov, int iovcnt);

SHIM_EXPORT ssize_t readv(int fd, const struct iovec *iov, int iovcnt)
{
	if (__builtin_expect(hook_fd_quiet(fd, false), 1))
		return real_readv(fd, iov, iovcnt);
	return hooked_readv(fd, iov, iovcnt);
}

static ssize_t hooked_readv(int fd, const struct iovec *iov, int iovcnt)
{
	struct emulated_fd e;
	struct hook_ctx ctx;
	int state;

	if (emulated_fd(fd, &e))
		return ERRNO_RETURN(e.ops->readv(&e, iov, iovcnt));
	state = hook_pre_access(&ctx, fd);
	if (__builtin_expect(state == HOOK_SKIP, 1))
		return real_readv(fd, iov, iovcnt);
	return after_read(&ctx, state, real_readv(fd, iov, iovcnt));
}

/* preadv2 at offset -1 reads at the current position, like readv; on an
 * instance fd a real offset is ESPIPE, as the pipe answers by itself. */
SHIM_EXPORT ssize_t preadv2(int fd, const struct iovec *iov, int iovcnt, off_t offset, int flags)
{
	struct emulated_fd e;
	struct hook_ctx ctx;
	int state;

	if (offset == -1 && emulated_fd(fd, &e))
		return ERRNO_RETURN(e.ops->readv(&e, iov, iovcnt));
	state = hook_pre_access(&ctx, fd);
	if (__builtin_expect(state == HOOK_SKIP, 1))
		return real_preadv2(fd, iov, iovcnt, offset, flags);
	return after_read(&ctx, state, real_preadv2(fd, iov, iovcnt, offset, flags));
}

SHIM_EXPORT ssize_t preadv64v2(int fd, const struct iovec *iov, int iovcnt, off64_t offset, int flags)
{
	struct emulated_fd e;
	struct hook_ctx ctx;
	int state;

	if (offset == -1 && emulated_fd(fd, &e))
		return ERRNO_RETURN(e.ops->readv(&e, iov, iovcnt));
	state = hook_pre_access(&ctx, fd);
	if (__builtin_expect(state == HOOK_SKIP, 1))
		return real_preadv64v2(fd, iov, iovcnt, offset, flags);
	return after_read(&ctx, state, real_preadv64v2(fd, iov, iovcnt, offset, flags));
}

/* ---- the variadic printf and scanf families: through the v- forms' real
 * functions.  VARIADIC_HOOK: pre (an expression of ctx) before the call,
 * post(&ctx, ret) after it, errno as the generated wrappers keep it. */

#define VARIADIC_HOOK(pre, post, call)                                         \
	do {                                                                   \
		struct hook_ctx ctx;                                           \
		int saved = errno_enter(), ret;                                \
		int state = (pre);                                             \
		va_list ap;                                                    \
		errno_leave(saved);                                            \
		va_start(ap, format);                                          \
		ret = (call);                                                  \
		va_end(ap);                                                    \
		if (state == HOOK_SKIP)                                        \
			return ret;                                            \
		ctx.err = errno;                                               \
		post(&ctx, ret);                                               \
		errno = ctx.err;                                               \
		return ret;                                                    \
	} while (0)

#define STREAM_PRINTF(stream, call)                                            \
	VARIADIC_HOOK(hook_pre_stream_write(&ctx, (stream)), hook_post_stream_write, call)

SHIM_EXPORT int fprintf(FILE *stream, const char *format, ...)
{
	STREAM_PRINTF(stream, real_vfprintf(stream, format, ap));
}

SHIM_EXPORT int __fprintf_chk(FILE *stream, int flag, const char *format, ...)
{
	STREAM_PRINTF(stream, real___vfprintf_chk(stream, flag, format, ap));
}

SHIM_EXPORT int printf(const char *format, ...)
{
	STREAM_PRINTF(stdout, real_vfprintf(stdout, format, ap));
}

SHIM_EXPORT int __printf_chk(int flag, const char *format, ...)
{
	STREAM_PRINTF(stdout, real___vfprintf_chk(stdout, flag, format, ap));
}

#define STREAM_SCANF(stream, call)                                             \
	VARIADIC_HOOK(hook_pre_stream_read(&ctx, (stream)), hook_post_stream_read, call)

SHIM_EXPORT int __isoc99_fscanf(FILE *stream, const char *format, ...)
{
	STREAM_SCANF(stream, real___isoc99_vfscanf(stream, format, ap));
}

SHIM_EXPORT int __isoc99_scanf(const char *format, ...)
{
	STREAM_SCANF(stdin, real___isoc99_vfscanf(stdin, format, ap));
}

/* An emulated fd refuses them (EBADF) before the format is looked at
 * (instance_of() reads the fd table only: errno is the caller's still). */
#define FD_PRINTF(fd, call)                                                    \
	do {                                                                   \
		struct emulated_fd e;                                          \
		if (emulated_fd((fd), &e)) {                                   \
			errno = -e.ops->write(&e, EMU_WRITE,                   \
					      &(struct emu_write_args){ .other_fd = -1 }); \
			return -1;                                             \
		}                                                              \
		VARIADIC_HOOK(hook_pre_modify(&ctx, (fd), 0), hook_post_modify, call); \
	} while (0)

SHIM_EXPORT int dprintf(int fd, const char *format, ...)
{
	FD_PRINTF(fd, real_vdprintf(fd, format, ap));
}

SHIM_EXPORT int __dprintf_chk(int fd, int flag, const char *format, ...)
{
	FD_PRINTF(fd, real___vdprintf_chk(fd, flag, format, ap));
}
