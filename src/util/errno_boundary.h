/*
 * errno_boundary.h - errno where a call leaves the library for its caller.
 *
 * Inside, the library's own calls may change errno freely.  At the
 * boundary the caller gets libc's rule: on failure errno says why; on
 * success errno is the one the caller had before the call, whatever the
 * internal calls left (a hook that changed errno on success would break
 * programs that test errno after a call that did not fail).  So every
 * exported entry point does:
 *
 *	int saved = errno_enter();		on entry
 *	...
 *	errno_leave(saved);			before a successful return
 *
 * and an internal answer in the kernel's form (ret >= 0, or -errno) is
 * turned into libc's at the boundary by errno_return(ret, saved): -1 with
 * errno set to -ret, or ret with the caller's errno back.  ERRNO_RETURN()
 * is the same around one call, saving errno just before it.
 */
#ifndef SHIM_UTIL_ERRNO_BOUNDARY_H
#define SHIM_UTIL_ERRNO_BOUNDARY_H

#include <errno.h>
#include <sys/types.h>

static inline int errno_enter(void)
{
	return errno;
}

static inline void errno_leave(int saved)
{
	errno = saved;
}

static inline ssize_t errno_return(ssize_t ret, int saved)
{
	if (ret < 0) {
		errno = (int)-ret;
		return -1;
	}
	errno = saved;
	return ret;
}

#define ERRNO_RETURN(call)                                                     \
	({                                                                     \
		int saved_ = errno_enter();                                    \
		errno_return((call), saved_);                                  \
	})

#endif
