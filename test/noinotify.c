/*
 * noinotify.c - run a command with the kernel's inotify taken away:
 * inotify_init, inotify_init1, inotify_add_watch and inotify_rm_watch
 * fail with ENOSYS for it and everything it starts, under every system
 * call ABI of the machine (test/scenario/deny.c).  test/run-test.sh runs
 * every test under it, so that a passing test proves the emulation
 * answered, not the kernel; make demo shows inotifywait failing under it.
 *
 * usage: noinotify COMMAND [ARG...]
 * Exit status: the command's; 2 when the filter cannot be installed or
 * nothing is given to run; 127 when the command cannot be started.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "scenario/deny.h"

int main(int argc, char **argv)
{
	int r;

	if (argc < 2) {
		fprintf(stderr, "usage: noinotify COMMAND [ARG...]\n");
		return 2;
	}
	r = deny_kernel_inotify();
	if (r < 0) {
		fprintf(stderr, "noinotify: seccomp: %s\n", strerror(-r));
		return 2;
	}
	execvp(argv[1], argv + 1);
	perror(argv[1]);
	return 127;
}
