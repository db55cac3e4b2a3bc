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
#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

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

typedef int sigaction_fn(int, const struct sigaction *, struct sigaction *);

static void *libc_sigaction;	/* libc's, not the exported hook */

static sigaction_fn *sigaction_query(void)
{
	sigaction_fn *query = __atomic_load_n(&libc_sigaction, __ATOMIC_ACQUIRE);

	if (!query) {
		query = hooks_resolve("sigaction");
		__atomic_store_n(&libc_sigaction, (void *)query, __ATOMIC_RELEASE);
	}
	return query;
}

/* Whether the process has a handler for an asynchronous signal.  The
 * first call asks the kernel for every signal (glibc's reserved ones
 * answer EINVAL: errno is kept); a handler installed meanwhile by another
 * thread has set HANDLERS_SOME, which the compare-and-swap keeps. */
static bool any_handler(void)
{
		sigaction_fn *query;
	int h = __atomic_load_n(&handlers, __ATOMIC_RELAXED);
	int expected = HANDLERS_UNKNOWN, saved;

	if (h != HANDLERS_UNKNOWN)
		return h == HANDLERS_SOME;
	saved = errno;
	query = sigaction_query();
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

/* Does sig's handler interrupt a blocking system call (installed without
 * SA_RESTART)?  SIG_DFL and SIG_IGN do not. */
static bool interrupts(int sig)
{
	sigaction_fn *query = sigaction_query();
	struct sigaction sa;

	return query && query(sig, NULL, &sa) == 0 && sa.sa_handler != SIG_DFL &&
	       sa.sa_handler != SIG_IGN && !(sa.sa_flags & SA_RESTART);
}

/* Put sig back, pending for this thread, with its siginfo where the kernel
 * takes it (it refuses a kernel or kill() siginfo from a thread other than
 * the main one: tgkill then, which keeps the signal, not its siginfo). */
static void put_back(int sig, siginfo_t *info)
{
	static void *libc_syscall;	/* libc's, not the exported hook */
	long (*sys)(long, ...) = __atomic_load_n(&libc_syscall, __ATOMIC_ACQUIRE);
	pid_t pid = getpid(), tid = gettid();

	if (!sys) {
		sys = (long (*)(long, ...))hooks_resolve("syscall");
		__atomic_store_n(&libc_syscall, (void *)sys, __ATOMIC_RELEASE);
	}
	if (!sys || sys(SYS_rt_tgsigqueueinfo, (long)pid, (long)tid, (long)sig, info) < 0)
		tgkill(pid, tid, sig);
}

int sigdefer_wait(unsigned ms)
{
	struct timespec t = { ms / 1000, (long)(ms % 1000) * 1000000L };
	int saved = errno, sig, ret = 0;
	siginfo_t info;
	sigset_t set;

	if (state.depth == 0 || !state.blocked) {
		nanosleep(&t, NULL);	/* nothing held back, no handler to run */
		errno = saved;
		return 0;
	}
	/* what the section holds back: blocked now, not by the caller */
	pthread_sigmask(SIG_BLOCK, NULL, &set);
	for (sig = 1; sig < NSIG; sig++)
		if (sigismember(&state.saved, sig) == 1)
			sigdelset(&set, sig);
	sig = sigtimedwait(&set, &info, &t);
	if (sig > 0) {
		ret = interrupts(sig) ? -EINTR : 0;
		put_back(sig, &info);
		/* its handler runs now, as it would inside the kernel's wait */
		pthread_sigmask(SIG_SETMASK, &state.saved, &set);
		pthread_sigmask(SIG_SETMASK, &set, NULL);
	}
	errno = saved;
	return ret;
}
