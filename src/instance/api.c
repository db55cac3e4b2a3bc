/*
 * api.c - the exported inotify calls: the standard names and their
 * inotify_shim_* twins, the version and the configuration call.  The only
 * place of the front end that touches errno.
 */
#include <errno.h>
#include <string.h>
#include <sys/inotify.h>

#include "inotify-shim.h"

#include "../domain/domain.h"
#include "../util/config.h"
#include "../util/export.h"
#include "instance.h"

static int errno_return(int ret)
{
	if (ret < 0) {
		errno = -ret;
		return -1;
	}
	return ret;
}

SHIM_EXPORT int inotify_shim_init1(int flags)
{
	return errno_return(frontend_init1(flags));
}

SHIM_EXPORT int inotify_shim_init(void)
{
	return errno_return(frontend_init1(0));
}

SHIM_EXPORT int inotify_shim_add_watch(int fd, const char *pathname, uint32_t mask)
{
	return errno_return(frontend_add_watch(fd, pathname, mask));
}

SHIM_EXPORT int inotify_shim_rm_watch(int fd, int wd)
{
	return errno_return(frontend_rm_watch(fd, wd));
}

SHIM_EXPORT int inotify_init1(int flags)
{
	return inotify_shim_init1(flags);
}

SHIM_EXPORT int inotify_init(void)
{
	return inotify_shim_init();
}

SHIM_EXPORT int inotify_add_watch(int fd, const char *pathname, uint32_t mask)
{
	return inotify_shim_add_watch(fd, pathname, mask);
}

SHIM_EXPORT int inotify_rm_watch(int fd, int wd)
{
	return inotify_shim_rm_watch(fd, wd);
}

SHIM_EXPORT const char *inotify_shim_version(void)
{
	return INOTIFY_SHIM_VERSION;
}

SHIM_EXPORT int inotify_shim_configure(const struct inotify_shim_config *c)
{
	struct shim_config next = shim_config;

	if (!c) {
		errno = EINVAL;
		return -1;
	}
	if (c->max_queued_events < 0 || c->max_user_watches < 0 ||
	    c->max_user_instances < 0 || c->max_queued_events > (1L << 30) ||
	    c->max_user_watches > (1L << 30) || c->max_user_instances > (1L << 30)) {
		errno = EINVAL;
		return -1;
	}
	if (c->max_queued_events)
		next.max_queued_events = c->max_queued_events;
	if (c->max_user_watches)
		next.max_user_watches = c->max_user_watches;
	if (c->max_user_instances)
		next.max_user_instances = c->max_user_instances;
	if (c->mode == INOTIFY_SHIM_MODE_EMULATE)
		next.mode = SHIM_MODE_EMULATE;
	else if (c->mode == INOTIFY_SHIM_MODE_AUTO)
		next.mode = SHIM_MODE_AUTO;
	else if (c->mode != INOTIFY_SHIM_MODE_DEFAULT) {
		errno = EINVAL;
		return -1;
	}
	if (c->domain) {
		if (strlen(c->domain) >= sizeof next.domain) {
			errno = EINVAL;
			return -1;
		}
		if (strcmp(c->domain, shim_config.domain) != 0) {
			if (shim_domain) {
				errno = EBUSY;
				return -1;
			}
			strcpy(next.domain, c->domain);
		}
	}
	shim_config = next;
	return 0;
}
