/*
 * procfd.h - the fds this process has open, as the kernel lists them.
 */
#ifndef SHIM_FD_PROCFD_H
#define SHIM_FD_PROCFD_H

/* Visit every fd open in this process, as /proc/self/fd lists them (the
 * table's knowledge aside), through the real calls: no hook runs, no lock
 * is taken, nothing is allocated.  Returns 0, or a negative errno when the
 * list cannot be read. */
int fdtable_scan_proc(void (*fn)(int fd, void *arg), void *arg);

#endif
