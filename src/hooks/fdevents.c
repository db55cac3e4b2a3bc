/*
 * fdevents.c - the hooks of the events made through an fd: reading
 * (IN_ACCESS), writing (IN_MODIFY), the attribute changes through an fd
 * (ftruncate, fchmod, fchown, futimens, fallocate), the transfers between
 * two fds (sendfile, copy_file_range, splice), and the seek-like calls
 * that an instance fd answers itself.
 */
#include "hooks/files.h"

#include <errno.h>

#include "hooks/families.h"
#include "instance/instance.h"

/* ---- sendfile, copy_file_range, splice: the source read, then the
 * destination written */

int hook_pre_transfer(struct hook_ctx *c, int in_fd, int out_fd)
{
	c->fd = in_fd;
	c->fd2 = out_fd;
	return domain_watching() ? HOOK_RUN : HOOK_SKIP;
}

void hook_post_transfer(struct hook_ctx *c, intptr_t ret)
{
	if (ret <= 0)
		return;
	hook_fd_event(c->fd, IN_ACCESS);
	hook_fd_event(c->fd2, IN_MODIFY);
}

/* ---- events through an fd */

int hook_pre_access(struct hook_ctx *c, int fd)
{
	c->fd = fd;
	return domain_watching() ? HOOK_RUN : HOOK_SKIP;
}

void hook_post_access(struct hook_ctx *c, intptr_t ret)
{
	if (ret > 0)
		hook_fd_event(c->fd, IN_ACCESS);
}

int hook_pre_modify(struct hook_ctx *c, int fd, int stream)
{
	struct slot_ref ref;

	if (stream && instance_of(fd, &ref)) {
		c->err = EBADF;
		return HOOK_FAIL;
	}
	c->fd = fd;
	return domain_watching() ? HOOK_RUN : HOOK_SKIP;
}

void hook_post_modify(struct hook_ctx *c, intptr_t ret)
{
	if (ret > 0)
		hook_fd_event(c->fd, IN_MODIFY);
}

int hook_pre_attr_fd(struct hook_ctx *c, int fd, uint32_t mask)
{
	c->fd = fd;
	c->mask = mask;
	return mask && domain_watching() ? HOOK_RUN : HOOK_SKIP;
}

void hook_post_attr_fd(struct hook_ctx *c, intptr_t ret)
{
	if (ret != 0)
		return;
	if (c->mask & HOOK_THROUGH_FILE)
		hook_fd_event(c->fd, c->mask & ~HOOK_THROUGH_FILE);
	else
		hook_fd_change(c->fd, c->mask);
}

int hook_pre_seek(struct hook_ctx *c, int fd)
{
	struct slot_ref ref;

	if (instance_of(fd, &ref)) {
		c->ret = 0;
		return HOOK_RETURN;
	}
	return HOOK_SKIP;
}

void hook_post_seek(struct hook_ctx *c, intptr_t ret)
{
	(void)c;
	(void)ret;
}
