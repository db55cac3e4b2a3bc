/*
 * real.h - the real (libc's) definitions of the interposed functions:
 * real_NAME() for every line of hooks/hooks.table, generated into
 * hooks-real.h.  The shim's own file operations always go through these,
 * so that they never produce events or re-enter a hook.
 */
#ifndef SHIM_REAL_H
#define SHIM_REAL_H

#include "hooks-real.h"

/* libc's syscall(2), with every argument given (hooks/syscall.c). */
long real_syscall(long number, long a, long b, long c, long d, long e, long f);

/* dlsym(RTLD_NEXT, name), or NULL (the generated callers fail ENOSYS). */
void *hooks_resolve(const char *name);

/* dlsym(RTLD_NEXT, name) through libc's own dlsym, never the exported one
 * (hooks/dl.c; tools/nextsym.c for the command, which links the core
 * without the hooks).  Nothing of the library calls an interposed name:
 * test/internal_calls.sh checks it. */
void *shim_next_symbol(const char *name);

#endif
