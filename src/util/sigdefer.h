/*
 * sigdefer.h - asynchronous signals wait while this thread holds a lock of
 * the domain.
 *
 * A signal handler may call a hooked function (write a watched file) at any
 * point of the thread it interrupts.  If that thread held registry.lock, a
 * queue lock or files.lock, the handler's hook could neither take the lock
 * (it would deadlock on itself) nor deliver its event.  So every taker of
 * those locks brackets the locked section with sigdefer_begin() and
 * sigdefer_end(): asynchronous signals are blocked from before the lock is
 * taken until after it is released, and a signal that came meanwhile runs
 * its handler at sigdefer_end(), with the lock free.  Its events are then
 * delivered, after those of the call it interrupted.
 *
 * Sections nest (a queue lock inside the registry lock): only the outermost
 * makes the two system calls.  The depth and the saved mask are per thread
 * (initial-exec TLS: no allocation, usable from a signal handler).
 *
 * Only a process with a handler for an asynchronous signal blocks: without
 * one, a signal in a locked section does nothing, stops the process or
 * ends it, and an ended holder is repaired by the robust locks as after
 * SIGKILL; nothing can re-enter a hook.  Whether there is one is read once
 * from the kernel (sigaction with no new action, for every signal) at the
 * first section, and kept up to date by the interposed sigaction, signal,
 * sigset, bsd_signal, sysv_signal and ssignal (hooks/signals.c), which call
 * sigdefer_handler_set().  A handler installed by a raw rt_sigaction system
 * call is not seen; one installed by another thread while this thread is
 * in an unblocked section may find the lock held (EDEADLK: that one event
 * is dropped).
 *
 * Synchronous signals (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS)
 * are left open: blocked, a fault would kill the process instead of
 * reaching the program's handler.  SIGKILL and SIGSTOP cannot be blocked,
 * so a test can still kill a process inside a lock (test/faults.c).
 */
#ifndef SHIM_UTIL_SIGDEFER_H
#define SHIM_UTIL_SIGDEFER_H

void sigdefer_begin(void);
void sigdefer_end(void);

/* Inside a section: wait up to ms milliseconds, as a blocking system call
 * of the caller's that signals may interrupt (a read() whose queue's lock
 * is stuck: core.c).  The signals the section holds back are waited for
 * (sigtimedwait), so that none can slip in unseen between the lock's wait
 * and this one: one that came is put back (rt_tgsigqueueinfo, with its
 * siginfo; tgkill where the kernel refuses that) and its handler runs at
 * once, with the section's signals let through for that moment.  Returns
 * -EINTR when that handler was installed without SA_RESTART (the kernel's
 * read fails with EINTR then), else 0: the time passed, or a handler with
 * SA_RESTART ran (the kernel's read goes on).  Where the section blocks
 * nothing (the process has no handler), it sleeps. */
int sigdefer_wait(unsigned ms);

/* A handler (not SIG_DFL, SIG_IGN or SIG_HOLD) was installed for sig. */
void sigdefer_handler_set(int sig);

#endif
