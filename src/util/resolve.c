/*
 * resolve.c - find the next definition of an interposed symbol.
 */
#include <dlfcn.h>

#include "log.h"
#include "real.h"

void *hooks_resolve(const char *name)
{
	void *f = dlsym(RTLD_NEXT, name);

	if (!f)
		shim_debug("no real %s: calls to it fail with ENOSYS", name);
	return f;
}
