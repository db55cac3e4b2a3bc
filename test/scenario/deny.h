/*
 * deny.h - denying the kernel's inotify: after deny_kernel_inotify(),
 * inotify_init, inotify_init1, inotify_add_watch and inotify_rm_watch
 * fail with ENOSYS in this process and every process it starts, on every
 * system call ABI it can use (deny.c).  Used by test/noinotify, which runs
 * every test, and by the scenario runner's -n.
 */
#ifndef SCENARIO_DENY_H
#define SCENARIO_DENY_H

/* 0, or -errno when the filter could not be installed. */
int deny_kernel_inotify(void);

#endif
