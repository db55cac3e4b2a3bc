/*
 * stdio.c - the hooks on stdio streams.  libc writes and closes a stream's
 * fd internally, where no hook sees it, so the events are made here:
 *   fopen    as open() with the flags the mode string stands for;
 *   freopen  the close events of the old file, then fopen's;
 *   fflush   IN_MODIFY when buffered output reached the file;
 *   fclose   IN_MODIFY for the output it flushed, then the close events;
 *   fwrite, fputs, fprintf ... (stream_write): IN_MODIFY when the call
 *            wrote to the file (a full buffer, a line, an unbuffered stream);
 *   fread, fgets, getline ... (stream_read): IN_ACCESS when the call read
 *            from the file (an empty buffer refilled).
 * Whether a call reached the file is read from the fd's offset, asked
 * before and after the call: every read(2) or write(2) that moves data
 * moves it (O_APPEND included), and nothing else that stdio does between
 * those two points does.  A merged run of reads or writes gives the one
 * event that the kernel's tail merge would leave.  The two lseek calls are
 * made only when a watch exists and the stream's fd is a file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <string.h>

#include "hooks/families.h"
#include "hooks/files.h"
#include "notify/notify.h"
#include "util/real.h"

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

/* ---- freopen: the old stream's file closes, a new one opens */

int hook_pre_freopen(struct hook_ctx *c, const char *path, const char *mode, FILE *stream)
{
	struct hook_ctx old;
	int state;

	c->fd2 = -1;
	c->word2 = 0;
	if (stream && hook_pre_fclose(&old, stream) == HOOK_RUN) {
		c->fd2 = old.fd;
		c->word2 = old.word;
		c->facts = old.facts;
		c->pending_bytes = old.pending_bytes;
	}
	state = path ? hook_pre_fopen(c, path, mode) : HOOK_SKIP;
	if (state == HOOK_SKIP && c->fd2 >= 0) {
		c->flags = -1;	/* no open to report */
		return HOOK_RUN;
	}
	return state;
}

void hook_post_freopen(struct hook_ctx *c, intptr_t ret)
{
	struct ofd *o = fdword_file(c->word2);

	/* glibc flushes the old stream, opens the new file, then lets the
	 * old one go (dup3 onto the old fd number): the kernel reports
	 * IN_MODIFY, the open, then the old file's close */
	if (c->fd2 >= 0 && o && c->pending_bytes > 0 && domain_watching())
		hook_record_event(o, -1, IN_MODIFY);
	if (c->flags != -1)
		hook_post_fopen(c, ret);
	if (c->fd2 >= 0)
		hook_closed(c->fd2, c->word2, &c->facts);
}

/* ---- writes and reads inside stdio */

static int stream_pre(struct hook_ctx *c, FILE *stream)
{
	struct ofd *o;

	if (!stream || !domain_watching())
		return HOOK_SKIP;
	c->fd = fileno(stream);
	if (c->fd < 0 || !(o = hook_fd_record(c->fd)))
		return HOOK_SKIP;
	c->word = (uint64_t)real_lseek64(c->fd, 0, SEEK_CUR);
	return (off64_t)c->word < 0 ? HOOK_SKIP : HOOK_RUN;
}

static bool stream_moved(struct hook_ctx *c)
{
	off64_t now = real_lseek64(c->fd, 0, SEEK_CUR);

	return now >= 0 && now != (off64_t)c->word;
}

int hook_pre_stream_write(struct hook_ctx *c, FILE *stream)
{
	return stream_pre(c, stream);
}

void hook_post_stream_write(struct hook_ctx *c, intptr_t ret)
{
	(void)ret;
	if (stream_moved(c))
		hook_fd_event(c->fd, IN_MODIFY);
}

int hook_pre_stream_read(struct hook_ctx *c, FILE *stream)
{
	return stream_pre(c, stream);
}

void hook_post_stream_read(struct hook_ctx *c, intptr_t ret)
{
	(void)ret;
	if (stream_moved(c))
		hook_fd_event(c->fd, IN_ACCESS);
}

/* One character: most calls only touch the buffer.  glibc's FILE says
 * when they cannot reach the file (libio.h: the write area has room and the
 * stream is fully buffered; the read area is not empty), and then the
 * offset is not asked. */
#define STREAM_UNBUFFERED 0x0002	/* _IO_UNBUFFERED */
#define STREAM_LINE_BUF 0x0200		/* _IO_LINE_BUF */

int hook_pre_stream_putc(struct hook_ctx *c, FILE *stream)
{
	if (!stream || !domain_watching())
		return HOOK_SKIP;
	if (stream->_IO_write_ptr < stream->_IO_write_end &&
	    !(stream->_flags & (STREAM_UNBUFFERED | STREAM_LINE_BUF)))
		return HOOK_SKIP;
	return stream_pre(c, stream);
}

void hook_post_stream_putc(struct hook_ctx *c, intptr_t ret)
{
	hook_post_stream_write(c, ret);
}

int hook_pre_stream_getc(struct hook_ctx *c, FILE *stream)
{
	if (!stream || !domain_watching())
		return HOOK_SKIP;
	if (stream->_IO_read_ptr < stream->_IO_read_end)
		return HOOK_SKIP;
	return stream_pre(c, stream);
}

void hook_post_stream_getc(struct hook_ctx *c, intptr_t ret)
{
	hook_post_stream_read(c, ret);
}

/* ---- fflush, fclose */

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
