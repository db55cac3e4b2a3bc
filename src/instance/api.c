/*
 * api.c - the exported inotify calls: the standard names and their
 * inotify_shim_* twins, the version and the configuration call.  The only
 * place of the front end that touches errno.
 *
 * Mode "auto" (INOTIFY_SHIM_MODE=auto): the standard names ask the
 * kernel first and emulate only where it cannot serve (the calls are
 * denied, or its instance limit is reached); add_watch and rm_watch go to
 * whichever made the fd.  The inotify_shim_* twins always emulate.
 */
#include <errno.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/syscall.h>

#include "inotify-shim.h"

#include "../core/core.h"
#include "../util/config.h"
#include "../util/errno_boundary.h"
#include "../util/export.h"
#include "../util/real.h"
#include "instance.h"

/* The front end's answer for the caller: errno_return() of
 * util/errno_boundary.h (on success errno is the one the caller had
 * before the call, saved, whatever the internal calls left). */

SHIM_EXPORT int inotify_shim_init1(int flags)
{
	int saved = errno_enter();

	return errno_return(frontend_init1(flags), saved);
}

SHIM_EXPORT int inotify_shim_init(void)
{
	int saved = errno_enter();

	return errno_return(frontend_init1(0), saved);
}

SHIM_EXPORT int inotify_shim_add_watch(int fd, const char *pathname, uint32_t mask)
{
	int saved = errno_enter();

	return errno_return(frontend_add_watch(fd, pathname, mask), saved);
}

SHIM_EXPORT int inotify_shim_rm_watch(int fd, int wd)
{
	int saved = errno_enter();

	return errno_return(frontend_rm_watch(fd, wd), saved);
}

static bool kernel_first(void)
{
	return SHIM_CONFIG(mode) == SHIM_MODE_AUTO;
}

/* In auto mode: is fd the kernel's (not an emulated instance)? */
static bool kernel_fd(int fd)
{
	struct slot_ref ref;
	return kernel_first() && !fdtable_instance(fd, &ref);
}

SHIM_EXPORT int inotify_init1(int flags)
{
	if (kernel_first()) {
		int saved = errno_enter();
		long fd = real_syscall(SYS_inotify_init1, flags, 0, 0, 0, 0, 0);
		if (fd >= 0 || (errno != ENOSYS && errno != EPERM && errno != EACCES &&
				errno != EMFILE))
			return (int)fd;
		errno_leave(saved);
	}
	return inotify_shim_init1(flags);
}

SHIM_EXPORT int inotify_init(void)
{
	return inotify_init1(0);
}

SHIM_EXPORT int inotify_add_watch(int fd, const char *pathname, uint32_t mask)
{
	if (kernel_fd(fd))
		return (int)real_syscall(SYS_inotify_add_watch, fd, (long)pathname, mask, 0, 0, 0);
	return inotify_shim_add_watch(fd, pathname, mask);
}

SHIM_EXPORT int inotify_rm_watch(int fd, int wd)
{
	if (kernel_fd(fd))
		return (int)real_syscall(SYS_inotify_rm_watch, fd, wd, 0, 0, 0, 0);
	return inotify_shim_rm_watch(fd, wd);
}

SHIM_EXPORT const char *inotify_shim_version(void)
{
	return INOTIFY_SHIM_VERSION;
}

/* The change asked by c, applied to next under the configuration's lock
 * (util/config.h). */
static int configure_edit(struct shim_config *next, const void *arg)
{
	const struct inotify_shim_config *c = arg;

	if (c->max_queued_events < 0 || c->max_user_watches < 0 ||
	    c->max_user_instances < 0 || c->max_queued_events > (1L << 30) ||
	    c->max_user_watches > (1L << 30) || c->max_user_instances > (1L << 30))
		return -EINVAL;
	if (c->max_queued_events)
		next->max_queued_events = c->max_queued_events;
	if (c->max_user_watches)
		next->max_user_watches = c->max_user_watches;
	if (c->max_user_instances)
		next->max_user_instances = c->max_user_instances;
	if (c->mode == INOTIFY_SHIM_MODE_EMULATE)
		next->mode = SHIM_MODE_EMULATE;
	else if (c->mode == INOTIFY_SHIM_MODE_AUTO)
		next->mode = SHIM_MODE_AUTO;
	else if (c->mode != INOTIFY_SHIM_MODE_DEFAULT)
		return -EINVAL;
	if (c->domain) {
		if (strlen(c->domain) >= sizeof next->domain)
			return -EINVAL;
		if (strcmp(c->domain, next->domain) != 0) {
			if (core_attached())
				return -EBUSY;
			strcpy(next->domain, c->domain);
		}
	}
	return 0;
}

SHIM_EXPORT int inotify_shim_configure(const struct inotify_shim_config *c)
{
	int saved = errno_enter();

	if (!c) {
		errno = EINVAL;
		return -1;
	}
	return errno_return(shim_config_update(configure_edit, c), saved);
}
