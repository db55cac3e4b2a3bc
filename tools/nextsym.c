/*
 * nextsym.c - shim_next_symbol() for the command, which links the core
 * (libshim-core.la) without the hooks: nothing is interposed in its
 * process, so libc's dlsym is the only one (util/real.h; the library's
 * own is in hooks/dl.c).
 */
#include <dlfcn.h>

#include "util/real.h"

void *shim_next_symbol(const char *name)
{
	return dlsym(RTLD_NEXT, name);
}
