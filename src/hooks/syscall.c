/*
 * syscall.c - syscall(2) for the numbers that programs call directly
 * instead of through their libc functions: LTP calls the four inotify
 * calls so, Node closes files with syscall(SYS_close), libuv copies with
 * SYS_copy_file_range.  Each is routed to the interposed function of the
 * same meaning (the emulation, or the hook that reports the change); the
 * glibc functions and syscall() fail alike (-1 and errno), so the caller
 * sees the same result.  Every other number goes to libc's syscall().
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/export.h"
#include "util/real.h"

typedef long (*syscall_fn)(long, long, long, long, long, long, long);

long real_syscall(long n, long a, long b, long c, long d, long e, long f)
{
	static syscall_fn fn;
	syscall_fn p = __atomic_load_n(&fn, __ATOMIC_RELAXED);

	if (!p) {
		p = (syscall_fn)hooks_resolve("syscall");
		if (!p) {
			errno = ENOSYS;
			return -1;
		}
		__atomic_store_n(&fn, p, __ATOMIC_RELAXED);
	}
	return p(n, a, b, c, d, e, f);
}

/* Six arguments are read whatever the caller passed, as the kernel's
 * syscall(2) entry reads six registers: the call is passed on with them
 * all when it is not one of ours.  Past the fifth, va_arg reads the
 * caller's stack slot where a sixth argument would be, which is there
 * (the caller's frame) but may be a redzone of AddressSanitizer's when
 * the caller passed fewer: the read is the ABI's, not a bug of the
 * caller's or ours, so this one function is not instrumented for it
 * (CI's ASan build reported it through test/limits_child's
 * syscall(SYS_getppid)). */
__attribute__((no_sanitize_address))
SHIM_EXPORT long syscall(long number, ...)
{
	long a, b, c, d, e, f;
	va_list ap;

	va_start(ap, number);
	a = va_arg(ap, long);
	b = va_arg(ap, long);
	c = va_arg(ap, long);
	d = va_arg(ap, long);
	e = va_arg(ap, long);
	f = va_arg(ap, long);
	va_end(ap);

	switch (number) {
#ifdef SYS_inotify_init
	case SYS_inotify_init:
		return inotify_init();
#endif
	case SYS_inotify_init1:
		return inotify_init1((int)a);
	case SYS_inotify_add_watch:
		return inotify_add_watch((int)a, (const char *)b, (uint32_t)c);
	case SYS_inotify_rm_watch:
		return inotify_rm_watch((int)a, (int)b);
	case SYS_chdir:
		return chdir((const char *)a);
	case SYS_fchdir:
		return fchdir((int)a);
	case SYS_close:
		return close((int)a);
	case SYS_close_range:
		return close_range((unsigned)a, (unsigned)b, (int)c);
	case SYS_dup:
		return dup((int)a);
#ifdef SYS_dup2
	case SYS_dup2:
		return dup2((int)a, (int)b);
#endif
	case SYS_dup3:
		return dup3((int)a, (int)b, (int)c);
#ifdef SYS_open
	case SYS_open:
		return open((const char *)a, (int)b, (mode_t)c);
#endif
	case SYS_openat:
		return openat((int)a, (const char *)b, (int)c, (mode_t)d);
	case SYS_read:
		return read((int)a, (void *)b, (size_t)c);
	case SYS_write:
		return write((int)a, (const void *)b, (size_t)c);
	case SYS_pwrite64:
		return pwrite64((int)a, (const void *)b, (size_t)c, (off64_t)d);
	case SYS_ftruncate:
		return ftruncate64((int)a, (off64_t)b);
	case SYS_fallocate:
		return fallocate64((int)a, (int)b, (off64_t)c, (off64_t)d);
	case SYS_copy_file_range:
		return copy_file_range((int)a, (off64_t *)b, (int)c, (off64_t *)d, (size_t)e,
				       (unsigned)f);
	case SYS_sendfile:
		return sendfile64((int)a, (int)b, (off64_t *)c, (size_t)d);
	case SYS_splice:
		return splice((int)a, (off64_t *)b, (int)c, (off64_t *)d, (size_t)e, (unsigned)f);
#ifdef SYS_rename
	case SYS_rename:
		return rename((const char *)a, (const char *)b);
#endif
	case SYS_renameat:
		return renameat((int)a, (const char *)b, (int)c, (const char *)d);
	case SYS_renameat2:
		return renameat2((int)a, (const char *)b, (int)c, (const char *)d, (unsigned)e);
	case SYS_unlinkat:
		return unlinkat((int)a, (const char *)b, (int)c);
#ifdef SYS_unlink
	case SYS_unlink:
		return unlink((const char *)a);
#endif
	case SYS_mkdirat:
		return mkdirat((int)a, (const char *)b, (mode_t)c);
	case SYS_fchmodat:
		return fchmodat((int)a, (const char *)b, (mode_t)c, 0);
	case SYS_umount2:
		return umount2((const char *)a, (int)b);
	case SYS_utimensat:
		return utimensat((int)a, (const char *)b, (const struct timespec *)c, (int)d);
	default:
		return real_syscall(number, a, b, c, d, e, f);
	}
}
