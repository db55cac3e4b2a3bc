/*
 * sigdefer.c - see sigdefer.h.
 *
 * A handler that runs between the depth's increment and the blocking call
 * sees depth 1 and blocks nothing, which is right: its thread takes the
 * lock only after sigdefer_begin() returns.  Between the decrement and the
 * unblocking call, asynchronous signals are still blocked.
 */
#include "sigdefer.h"

#include <signal.h>
#include <stddef.h>

struct defer_state {
	unsigned depth;
	sigset_t saved;
};

static __thread struct defer_state state __attribute__((tls_model("initial-exec")));

void sigdefer_begin(void)
{
	sigset_t async;

	if (state.depth++ != 0)
		return;
	sigfillset(&async);
	sigdelset(&async, SIGSEGV);
	sigdelset(&async, SIGBUS);
	sigdelset(&async, SIGILL);
	sigdelset(&async, SIGFPE);
	sigdelset(&async, SIGTRAP);
	sigdelset(&async, SIGSYS);
	pthread_sigmask(SIG_BLOCK, &async, &state.saved);
}

void sigdefer_end(void)
{
	if (state.depth == 0 || --state.depth != 0)
		return;
	pthread_sigmask(SIG_SETMASK, &state.saved, NULL);
}
