/*
 * stdio.c - the hooks on stdio streams.  libc writes and closes a stream's
 * fd internally, where no hook sees it, so the events are made here:
 *   fopen    as open() with the flags the mode string stands for;
 *   fflush   IN_MODIFY when buffered output reached the file;
 *   fclose   IN_MODIFY for the output it flushed, then the close events.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <string.h>

#include "hooks/families.h"
#include "hooks/files.h"
#include "notify/notify.h"

/* The open(2) flags of an fopen mode, as glibc reads it. */
static int mode_flags(const char *mode)
{
	int flags;

	switch (mode ? mode[0] : 0) {
	case 'r':
		flags = O_RDONLY;
		break;
	case 'w':
		flags = O_WRONLY | O_CREAT | O_TRUNC;
		break;
	case 'a':
		flags = O_WRONLY | O_CREAT | O_APPEND;
		break;
	default:
		return -1;
	}
	for (const char *m = mode + 1; *m && *m != ','; m++) {
		if (*m == '+')
			flags = (flags & ~O_ACCMODE) | O_RDWR;
		else if (*m == 'x')
			flags |= O_EXCL;
		else if (*m == 'e')
			flags |= O_CLOEXEC;
	}
	return flags;
}

int hook_pre_fopen(struct hook_ctx *c, const char *path, const char *mode)
{
	int flags = mode_flags(mode);

	if (flags < 0)
		return HOOK_SKIP;
	return hook_pre_open(c, AT_FDCWD, path, flags, 0666);
}

void hook_post_fopen(struct hook_ctx *c, intptr_t ret)
{
	FILE *f = (FILE *)ret;

	if (f)
		hook_post_open(c, fileno(f));
}

int hook_pre_fflush(struct hook_ctx *c, FILE *stream)
{
	if (!stream || !domain_watching())
		return HOOK_SKIP;
	c->fd = fileno(stream);
	c->pending_bytes = (long)__fpending(stream);
	return c->fd >= 0 && c->pending_bytes > 0 ? HOOK_RUN : HOOK_SKIP;
}

void hook_post_fflush(struct hook_ctx *c, intptr_t ret)
{
	if (ret == 0)
		hook_fd_event(c->fd, IN_MODIFY);
}

int hook_pre_fclose(struct hook_ctx *c, FILE *stream)
{
	c->fd = stream ? fileno(stream) : -1;
	if (c->fd < 0)
		return HOOK_SKIP;
	c->pending_bytes = (long)__fpending(stream);
	if (domain_watching())
		hook_fd_record(c->fd);	/* adopt an unknown file */
	c->word = fdtable_clear(c->fd);
	if (!c->word)
		return HOOK_SKIP;
	hook_closing(c->fd, c->word, &c->facts);
	return HOOK_RUN;
}

void hook_post_fclose(struct hook_ctx *c, intptr_t ret)
{
	struct ofd *o = fdword_file(c->word);

	if (ret == 0 && o && c->pending_bytes > 0 && domain_watching())
		hook_record_event(o, -1, IN_MODIFY);
	hook_closed(c->fd, c->word, &c->facts);
}
