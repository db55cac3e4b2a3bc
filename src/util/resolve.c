/*
 * resolve.c - find the next definition of an interposed symbol.
 */
#include "log.h"
#include "real.h"

void *hooks_resolve(const char *name)
{
	void *f = shim_next_symbol(name);

	if (!f)
		shim_debug("no real %s: calls to it fail with ENOSYS", name);
	return f;
}
