/*
 * signals.c - the calls that install signal handlers, seen so that a locked
 * section blocks signals only in a process that has a handler to run
 * (util/sigdefer.h).  Each calls libc's function and, when it installed a
 * handler, says so; return value and errno are libc's, and no system call
 * is added.
 *
 * Sanitizer runtimes (TSan) install their own handlers through these
 * functions before they are initialised, so nothing here is instrumented
 * (NOT_INSTRUMENTED), nor is what it calls (sigdefer_handler_set); for the
 * same reason libc's definitions are looked up here, by next_symbol(),
 * rather than through the instrumented real_NAME() of hooks.table.
 */
#include "hooks/prelude.h"

#include <stdbool.h>

#include <dlfcn.h>
#include "util/real.h"
#include "util/sigdefer.h"

#define NOT_INSTRUMENTED __attribute__((no_sanitize("thread", "address", "undefined")))

NOT_INSTRUMENTED static void *next_symbol(void **cache, const char *name)
{
	void *p = __atomic_load_n(cache, __ATOMIC_ACQUIRE);

	if (!p) {
		p = shim_next_symbol(name);
		__atomic_store_n(cache, p, __ATOMIC_RELEASE);
	}
	return p;
}

NOT_INSTRUMENTED static bool is_handler(__sighandler_t h)
{
	return h != SIG_DFL && h != SIG_IGN && h != SIG_ERR
#ifdef SIG_HOLD
	       && h != SIG_HOLD
#endif
		;
}

NOT_INSTRUMENTED SHIM_EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	static void *next;
	int (*real)(int, const struct sigaction *, struct sigaction *) =
		next_symbol(&next, "sigaction");
	int ret;

	if (!real) {
		errno = ENOSYS;
		return -1;
	}
	ret = real(sig, act, old);

	if (ret == 0 && act && is_handler(act->sa_handler))
		sigdefer_handler_set(sig);
	return ret;
}

#define HANDLER_SETTER(name)                                                   \
	NOT_INSTRUMENTED SHIM_EXPORT __sighandler_t                            \
	name(int sig, __sighandler_t handler)                                  \
	{                                                                      \
		static void *next;                                             \
		__sighandler_t (*real)(int, __sighandler_t) =                  \
			next_symbol(&next, #name);                             \
		__sighandler_t ret;                                            \
                                                                               \
		if (!real) {                                                   \
			errno = ENOSYS;                                        \
			return SIG_ERR;                                        \
		}                                                              \
		ret = real(sig, handler);                                      \
                                                                               \
		if (ret != SIG_ERR && is_handler(handler))                     \
			sigdefer_handler_set(sig);                             \
		return ret;                                                    \
	}

HANDLER_SETTER(signal)
HANDLER_SETTER(sigset)
HANDLER_SETTER(bsd_signal)
HANDLER_SETTER(sysv_signal)
HANDLER_SETTER(ssignal)
