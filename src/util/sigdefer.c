/*
 * sigdefer.c - see sigdefer.h.
 *
 * A handler that runs between the depth's increment and the blocking call
 * sees depth 1 and blocks nothing, which is right: its thread takes the
 * lock only after sigdefer_begin() returns.  Between the decrement and the
 * unblocking call, asynchronous signals are still blocked.
 */
#include "sigdefer.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

void *hooks_resolve(const char *name);	/* util/resolve.c */

struct defer_state {
	unsigned depth;
	bool blocked;		/* the outermost section blocked signals */
	sigset_t saved;
};

static __thread struct defer_state state __attribute__((tls_model("initial-exec")));

enum { HANDLERS_UNKNOWN, HANDLERS_NONE, HANDLERS_SOME };
static int handlers = HANDLERS_UNKNOWN;

__attribute__((no_sanitize("thread", "address", "undefined")))
static bool synchronous(int sig)
{
	return sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE ||
	       sig == SIGTRAP || sig == SIGSYS;
}

/* called by hooks/signals.c, also while a sanitizer runtime initialises */
__attribute__((no_sanitize("thread", "address", "undefined")))
void sigdefer_handler_set(int sig)
{
	if (!synchronous(sig))
		__atomic_store_n(&handlers, HANDLERS_SOME, __ATOMIC_RELAXED);
}

/* Whether the process has a handler for an asynchronous signal.  The
 * first call asks the kernel for every signal (glibc's reserved ones
 * answer EINVAL: errno is kept); a handler installed meanwhile by another
 * thread has set HANDLERS_SOME, which the compare-and-swap keeps. */
static bool any_handler(void)
{
	static void *libc_sigaction;	/* libc's, not the exported hook */
	int (*query)(int, const struct sigaction *, struct sigaction *);
	int h = __atomic_load_n(&handlers, __ATOMIC_RELAXED);
	int expected = HANDLERS_UNKNOWN, saved;

	if (h != HANDLERS_UNKNOWN)
		return h == HANDLERS_SOME;
	saved = errno;
	query = __atomic_load_n(&libc_sigaction, __ATOMIC_ACQUIRE);
	if (!query) {
		query = hooks_resolve("sigaction");
		__atomic_store_n(&libc_sigaction, (void *)query, __ATOMIC_RELEASE);
	}
	h = HANDLERS_NONE;
	for (int sig = 1; sig < NSIG && h == HANDLERS_NONE; sig++) {
		struct sigaction sa;

		if (synchronous(sig) || sig == SIGKILL || sig == SIGSTOP)
			continue;
		if (query && query(sig, NULL, &sa) == 0 && sa.sa_handler != SIG_DFL &&
		    sa.sa_handler != SIG_IGN)
			h = HANDLERS_SOME;
	}
	errno = saved;
	__atomic_compare_exchange_n(&handlers, &expected, h, false, __ATOMIC_RELAXED,
				    __ATOMIC_RELAXED);
	return __atomic_load_n(&handlers, __ATOMIC_RELAXED) == HANDLERS_SOME;
}

void sigdefer_begin(void)
{
	sigset_t async;

	if (state.depth++ != 0)
		return;
	if (!any_handler())
		return;
	sigfillset(&async);
	sigdelset(&async, SIGSEGV);
	sigdelset(&async, SIGBUS);
	sigdelset(&async, SIGILL);
	sigdelset(&async, SIGFPE);
	sigdelset(&async, SIGTRAP);
	sigdelset(&async, SIGSYS);
	pthread_sigmask(SIG_BLOCK, &async, &state.saved);
	state.blocked = true;
}

void sigdefer_end(void)
{
	if (state.depth == 0 || --state.depth != 0)
		return;
	if (state.blocked) {
		state.blocked = false;
		pthread_sigmask(SIG_SETMASK, &state.saved, NULL);
	}
}
