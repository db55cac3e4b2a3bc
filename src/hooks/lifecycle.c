/*
 * lifecycle.c - the close events that no close() call makes: those of the
 * files a process still holds when it ends (exit, return from main, _exit,
 * _Exit).
 *
 * The kernel closes every fd at exit and releases each open file at its
 * last reference, deferred to the task's work list, which runs last-in
 * first-out: the close events come in descending order of each file's
 * highest fd.  Before that, exit() flushes stdio: IN_MODIFY for each stream
 * with output pending.  This file gives the same:
 *   - at exit (the library's destructor, after the program's own), the
 *     offset of each writable file is noted, stdio is flushed (what glibc
 *     would do a moment later), and a moved offset is IN_MODIFY; then the
 *     close events, walking the fds downwards;
 *   - at _exit and _Exit, only the close events (nothing is flushed, and
 *     nothing is allocated).  This path takes the locks any hook takes
 *     (registry.lock, the queues' locks, files.lock), each within its
 *     bound (util/shlock.h) and in a section that holds asynchronous
 *     signals back (util/sigdefer.h): a handler that calls _exit never
 *     finds one held by its own thread;
 *   - last, the close of the image's own file and of its ELF interpreter,
 *     when this process was the last running the image (exec.c).
 *
 * Which records close at exit: the kernel gives a close event only when
 * the open file's last reference goes, and references may live in other
 * processes.  The records know this much (fd/ofd.h):
 *   - opened in this process image, no fork since: this process holds the
 *     only references, the events are due;
 *   - entered in the domain's table of shared open files (share.c: a
 *     fork, exec or posix_spawn since): due when this process was its
 *     last live holder;
 *   - OFD_SHARED (a fork since, when nothing was watched or the table
 *     could not be used): another process may hold it, no events;
 *   - OFD_ADOPTED (found open: inherited through exec, or opened before
 *     any watch existed): due unless the parent process holds the same
 *     open file at the same fd number (kcmp(KCMP_FILE)), as a shell does
 *     for "{ a; b; } > f" but not for "a > f".
 * Processes killed by a signal give no close events themselves (nothing
 * runs); a holder found dead is dropped when another process closes the
 * same open file, whose close is then the last.
 */
#include <errno.h>
#include <linux/kcmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "hooks/exec.h"
#include "hooks/families.h"
#include "hooks/files.h"
#include "fd/fdtable.h"
#include "notify/notify.h"
#include "util/export.h"
#include "util/real.h"

/* Does the parent hold fd's open file at the same number? */
static bool parent_holds(int fd)
{
	pid_t parent = getppid();

	if (parent <= 1)
		return false;
	return real_syscall(SYS_kcmp, getpid(), parent, KCMP_FILE, fd, fd, 0) == 0;
}

static bool due_at_exit(int fd, struct ofd *o)
{
	uint32_t flags = __atomic_load_n(&o->flags, __ATOMIC_RELAXED);

	if (flags & OFD_EXITED)
		return false;
	if (o->share.idx) {
		/* this fd is the record's highest: all of its holders in
		 * this process go now */
		__atomic_or_fetch(&o->flags, OFD_EXITED, __ATOMIC_RELAXED);
		return share_close(o, fd, true);
	}
	if (flags & OFD_SHARED)
		return false;
	return !(flags & OFD_ADOPTED) || !parent_holds(fd);
}

static void exit_fd_events(int high, bool flush);

static void exit_events(bool flush)
{
	int high = fdtable_high();

	if (high >= 0 && domain_watching())
		exit_fd_events(high, flush);
	/* the image's own file goes with the memory, after the fds (the
	 * kernel's exit_mm() queues it first; the work runs last in, first
	 * out) */
	exec_image_exit();
}

static void exit_fd_events(int high, bool flush)
{
	if (flush) {
		for (int fd = 0; fd <= high; fd++) {
			struct ofd *o = fdtable_file(fd);
			if (o && (o->flags & OFD_WRITE))
				o->exit_off = real_lseek64(fd, 0, SEEK_CUR);
		}
		real_fflush(NULL);
		for (int fd = high; fd >= 0; fd--) {
			struct ofd *o = fdtable_file(fd);
			if (o && (o->flags & OFD_WRITE) && o->exit_off >= 0 &&
			    real_lseek64(fd, 0, SEEK_CUR) != o->exit_off) {
				o->exit_off = -1;
				hook_record_event(o, fd, IN_MODIFY);
			}
		}
	}
	for (int fd = high; fd >= 0; fd--) {
		struct ofd *o = fdtable_file(fd);
		struct close_facts facts;

		if (!o || !due_at_exit(fd, o))
			continue;
		__atomic_or_fetch(&o->flags, OFD_EXITED, __ATOMIC_RELAXED);
		/* as if this were the record's last fd (refs say how many
		 * this process has; all of them close now) */
		__atomic_store_n(&o->refs, 1, __ATOMIC_RELAXED);
		hook_closing(fd, fdtable_word(fd), &facts);
		hook_record_event_closed(o, facts.unlinked,
					 (o->flags & OFD_WRITE) ? IN_CLOSE_WRITE
								: IN_CLOSE_NOWRITE);
		if (facts.last_opener)
			notify_gone(&o->inode);
	}
	/* holders of this process that no record names (a file that a
	 * posix_spawn file action moved) */
	share_exit_sweep();
}

__attribute__((destructor)) static void shim_fini(void)
{
	int saved = errno;

	exit_events(true);
	errno = saved;
}

SHIM_EXPORT void _exit(int status)
{
	exit_events(false);
	real__exit(status);
	__builtin_unreachable();
}

SHIM_EXPORT void _Exit(int status)
{
	exit_events(false);
	real__Exit(status);
	__builtin_unreachable();
}
