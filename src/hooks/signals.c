/*
 * signals.c - the calls that install signal handlers, seen so that a locked
 * section blocks signals only in a process that has a handler to run
 * (util/sigdefer.h).  Each calls libc's function and, when it installed a
 * handler, says so; return value and errno are libc's, and no system call
 * is added.
 *
 * Sanitizer runtimes (TSan) install their own handlers through these
 * functions before they are initialised, so nothing here is instrumented
 * (SHIM_NOT_INSTRUMENTED), nor is what it calls (sigdefer_handler_set),
 * nor the real_NAME() of these lines of hooks.table ("uninstrumented":
 * resolved by shim_next_symbol, without the log of hooks_resolve).
 */
#include "hooks/prelude.h"

#include <stdbool.h>

#include "hooks-real.h"
#include "util/sigdefer.h"

#define NOT_INSTRUMENTED SHIM_NOT_INSTRUMENTED

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
	int ret = real_sigaction(sig, act, old);

	if (ret == 0 && act && is_handler(act->sa_handler))
		sigdefer_handler_set(sig);
	return ret;
}

#define HANDLER_SETTER(name)                                                   \
	NOT_INSTRUMENTED SHIM_EXPORT __sighandler_t                            \
	name(int sig, __sighandler_t handler)                                  \
	{                                                                      \
		__sighandler_t ret = real_##name(sig, handler);                \
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
