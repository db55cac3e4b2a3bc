/*
 * fdcalls.c - the fd calls that an emulated fd answers itself
 * (instance/emulated.h): each wrapper asks once whether the fd is
 * emulated and, if so, returns its operation's answer without the real
 * call; otherwise it is the generated wrappers' path (gen-hooks.awk) for
 * the call's family, or the real call where no family has an event.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#include "hooks/families.h"
#include "hooks-real.h"
#include "instance/emulated.h"
#include "instance/fdinfo.h"
#include "util/export.h"

/* The emulated fd's answer to a write-like call (always an error). */
static int refuse(const struct emulated_fd *e, enum emu_write call,
		  const struct emu_write_args *a)
{
	errno = -e->ops->write(e, call, a);
	return -1;
}

#define NO_ARGS (&(struct emu_write_args){ .other_fd = -1 })

/* hooked_NAME: the generated wrappers' path for family F, out of line so
 * that the quiet path sets up no frame for the context. */
#define HOOKED(type, name, params, args, F, ...)                               \
	static __attribute__((noinline)) type hooked_##name params             \
	{                                                                      \
		struct hook_ctx ctx;                                           \
		int saved = errno, state;                                      \
		type ret;                                                      \
                                                                               \
		state = hook_pre_##F(&ctx, __VA_ARGS__);                       \
		if (__builtin_expect(state == HOOK_SKIP, 1)) {                 \
			errno = saved;                                         \
			return real_##name args;                               \
		}                                                              \
		if (state == HOOK_FAIL) {                                      \
			errno = ctx.err;                                       \
			return (type)-1;                                       \
		}                                                              \
		if (state == HOOK_RETURN)                                      \
			return (type)ctx.ret;                                  \
		errno = saved;                                                 \
		ret = real_##name args;                                        \
		ctx.err = errno;                                               \
		hook_post_##F(&ctx, (intptr_t)ret);                            \
		errno = ctx.err;                                               \
		return ret;                                                    \
	}

/* ---- attributes: IN_ATTRIB on a file; EOPNOTSUPP on an instance */

#define SETATTR(name, params, args, mask)                                      \
	HOOKED(int, name, params, args, attr_fd, fd, mask)                     \
	SHIM_EXPORT int name params                                            \
	{                                                                      \
		struct emulated_fd e;                                          \
                                                                               \
		if (__builtin_expect(emulated_fd(fd, &e), 0))                  \
			return refuse(&e, EMU_SETATTR, NO_ARGS);               \
		if (__builtin_expect(hook_quiet_attr_fd(fd, mask), 1))         \
			return real_##name args;                               \
		return hooked_##name args;                                     \
	}

SETATTR(fchmod, (int fd, mode_t mode), (fd, mode), IN_ATTRIB)
SETATTR(fchown, (int fd, uid_t owner, gid_t group), (fd, owner, group),
	hook_chown_mask(owner, group))
SETATTR(futimes, (int fd, const struct timeval times[2]), (fd, times), IN_ATTRIB)
SETATTR(futimens, (int fd, const struct timespec times[2]), (fd, times),
	hook_utimens_mask(times))

/* ---- fallocate: IN_MODIFY on a file; EINVAL or EBADF on an instance,
 * which posix_fallocate returns instead of setting errno */

#define FALLOCATE(name, params, args, mode, posix)                             \
	HOOKED(int, name, params, args, attr_fd, fd, HOOK_MODIFY_THROUGH_FILE) \
	SHIM_EXPORT int name params                                            \
	{                                                                      \
		struct emulated_fd e;                                          \
                                                                               \
		if (__builtin_expect(emulated_fd(fd, &e), 0)) {                \
			struct emu_write_args a = { .other_fd = -1, .off = offset, .len = len }; \
			int err = -e.ops->write(&e, EMU_FALLOCATE, &a);        \
			(void)(mode);                                          \
			if (posix)                                             \
				return err;                                    \
			errno = err;                                           \
			return -1;                                             \
		}                                                              \
		if (__builtin_expect(hook_quiet_attr_fd(fd, HOOK_MODIFY_THROUGH_FILE), 1)) \
			return real_##name args;                               \
		return hooked_##name args;                                     \
	}

FALLOCATE(fallocate, (int fd, int mode, off_t offset, off_t len), (fd, mode, offset, len),
	  mode, false)
FALLOCATE(fallocate64, (int fd, int mode, off64_t offset, off64_t len),
	  (fd, mode, offset, len), mode, false)
FALLOCATE(posix_fallocate, (int fd, off_t offset, off_t len), (fd, offset, len), 0, true)
FALLOCATE(posix_fallocate64, (int fd, off64_t offset, off64_t len), (fd, offset, len), 0, true)

/* ---- seeking: the instance's noop_llseek; nothing else has an event */

SHIM_EXPORT off_t lseek(int fd, off_t offset, int whence)
{
	struct emulated_fd e;
	int64_t ret;

	if (__builtin_expect(!emulated_fd(fd, &e), 1))
		return real_lseek(fd, offset, whence);
	ret = e.ops->seek(&e, offset, whence);
	if (ret < 0) {
		errno = (int)-ret;
		return -1;
	}
	return (off_t)ret;
}

SHIM_EXPORT off64_t lseek64(int fd, off64_t offset, int whence)
{
	struct emulated_fd e;
	int64_t ret;

	if (__builtin_expect(!emulated_fd(fd, &e), 1))
		return real_lseek64(fd, offset, whence);
	ret = e.ops->seek(&e, offset, whence);
	if (ret < 0) {
		errno = (int)-ret;
		return -1;
	}
	return (off64_t)ret;
}

/* ---- transfers: IN_ACCESS and IN_MODIFY between files; an instance on
 * either side refuses (emulated.h says which errno) */

HOOKED(ssize_t, splice, (int fd_in, off64_t *off_in, int fd_out, off64_t *off_out, size_t len,
			 unsigned int flags),
       (fd_in, off_in, fd_out, off_out, len, flags), transfer, fd_in, fd_out)

SHIM_EXPORT ssize_t splice(int fd_in, off64_t *off_in, int fd_out, off64_t *off_out, size_t len,
			   unsigned int flags)
{
	struct emulated_fd e;

	if (__builtin_expect(emulated_fd(fd_out, &e), 0))
		return refuse(&e, EMU_SPLICE_INTO, NO_ARGS);
	if (__builtin_expect(emulated_fd(fd_in, &e), 0))
		return refuse(&e, EMU_SPLICE_FROM,
			      &(struct emu_write_args){ .other_fd = fd_out,
							.offset = off_in != NULL,
							.other_offset = off_out != NULL });
	if (__builtin_expect(hook_quiet_transfer(fd_in, fd_out), 1))
		return real_splice(fd_in, off_in, fd_out, off_out, len, flags);
	return hooked_splice(fd_in, off_in, fd_out, off_out, len, flags);
}

/* tee and vmsplice move pipe buffers only: no file event */
SHIM_EXPORT ssize_t tee(int fd_in, int fd_out, size_t len, unsigned int flags)
{
	struct emulated_fd e;

	if (__builtin_expect(emulated_fd(fd_out, &e), 0))
		return refuse(&e, EMU_SPLICE_INTO, NO_ARGS);
	if (__builtin_expect(emulated_fd(fd_in, &e), 0))
		return refuse(&e, EMU_SPLICE_FROM, &(struct emu_write_args){ .other_fd = fd_out });
	return real_tee(fd_in, fd_out, len, flags);
}

SHIM_EXPORT ssize_t vmsplice(int fd, const struct iovec *iov, size_t nr, unsigned int flags)
{
	struct emulated_fd e;

	if (__builtin_expect(!emulated_fd(fd, &e), 1))
		return real_vmsplice(fd, iov, nr, flags);
	/* import_iovec() comes first: too many segments, or none */
	if (nr > IOV_MAX) {
		errno = EINVAL;
		return -1;
	}
	if (nr == 0)
		return 0;
	return refuse(&e, EMU_VMSPLICE, NO_ARGS);
}

#define SENDFILE(name, off_type)                                                \
	HOOKED(ssize_t, name, (int out_fd, int in_fd, off_type *offset, size_t count), \
	       (out_fd, in_fd, offset, count), transfer, in_fd, out_fd)         \
	SHIM_EXPORT ssize_t name(int out_fd, int in_fd, off_type *offset, size_t count) \
	{                                                                       \
		struct emulated_fd e;                                           \
                                                                                \
		if (__builtin_expect(emulated_fd(in_fd, &e), 0))                \
			return refuse(&e, EMU_SENDFILE_FROM,                    \
				      &(struct emu_write_args){ .other_fd = out_fd, \
								.offset = offset != NULL }); \
		if (__builtin_expect(emulated_fd(out_fd, &e), 0))               \
			return refuse(&e, EMU_SENDFILE_INTO,                    \
				      &(struct emu_write_args){ .other_fd = in_fd, \
								.other_offset = offset != NULL }); \
		if (__builtin_expect(hook_quiet_transfer(in_fd, out_fd), 1))    \
			return real_##name(out_fd, in_fd, offset, count);       \
		return hooked_##name(out_fd, in_fd, offset, count);             \
	}

SENDFILE(sendfile, off_t)
SENDFILE(sendfile64, off64_t)

/* ---- fdopen: glibc asks F_GETFL itself, of the FIFO (O_RDWR); the
 * kernel's fd says O_RDONLY, and a stream for writing is EINVAL */

SHIM_EXPORT FILE *fdopen(int fd, const char *mode)
{
	struct emulated_fd e;

	if (__builtin_expect(emulated_fd(fd, &e), 0) && mode &&
	    (mode[0] == 'w' || mode[0] == 'a' || strchr(mode, '+'))) {
		errno = EINVAL;
		return NULL;
	}
	return real_fdopen(fd, mode);
}

/* ---- fopen: an instance's /proc/.../fdinfo/N is the kernel's text
 * (fdinfo.h); fdinfo_maybe() is one compare for most paths */

#define HOOKED_PTR(name)                                                       \
	static __attribute__((noinline)) FILE *hooked_##name(const char *path, const char *mode) \
	{                                                                      \
		struct hook_ctx ctx;                                           \
		int saved = errno, state;                                      \
		FILE *ret;                                                     \
                                                                               \
		state = hook_pre_fopen(&ctx, path, mode);                      \
		if (__builtin_expect(state == HOOK_SKIP, 1)) {                 \
			errno = saved;                                         \
			return real_##name(path, mode);                        \
		}                                                              \
		if (state == HOOK_FAIL) {                                      \
			errno = ctx.err;                                       \
			return NULL;                                           \
		}                                                              \
		if (state == HOOK_RETURN)                                      \
			return (FILE *)ctx.ret;                                \
		errno = saved;                                                 \
		ret = real_##name(path, mode);                                 \
		ctx.err = errno;                                               \
		hook_post_fopen(&ctx, (intptr_t)ret);                          \
		errno = ctx.err;                                               \
		return ret;                                                    \
	}

/* fopen of an fdinfo: NULL with FDINFO_PASS in *pass when it is not an
 * instance's, or opened for writing. */
static __attribute__((noinline)) FILE *fopen_fdinfo(const char *path, const char *mode,
						    bool *pass)
{
	int saved = errno, fd;
	FILE *f;

	*pass = true;
	if (!mode || mode[0] != 'r' || strchr(mode, '+'))
		return NULL;
	fd = fdinfo_open(path, O_RDONLY | (strchr(mode, 'e') ? O_CLOEXEC : 0));
	if (fd == FDINFO_PASS) {
		errno = saved;
		return NULL;
	}
	*pass = false;
	if (fd < 0) {
		errno = -fd;
		return NULL;
	}
	f = real_fdopen(fd, mode);
	if (!f) {
		int e = errno;
		real_close(fd);
		errno = e;
		return NULL;
	}
	errno = saved;
	return f;
}

#define FOPEN(name)                                                            \
	HOOKED_PTR(name)                                                       \
	SHIM_EXPORT FILE *name(const char *path, const char *mode)             \
	{                                                                      \
		bool pass;                                                     \
		FILE *f;                                                       \
                                                                               \
		if (__builtin_expect(fdinfo_maybe(path), 0) &&                 \
		    (f = fopen_fdinfo(path, mode, &pass), !pass))              \
			return f;                                              \
		return hooked_##name(path, mode);                              \
	}

FOPEN(fopen)
FOPEN(fopen64)
