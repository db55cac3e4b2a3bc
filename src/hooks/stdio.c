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
 *   fseek, fseeko, fsetpos, rewind (stream_seek): IN_MODIFY when the seek
 *            flushed pending output, then IN_ACCESS when it loaded a block
 *            (glibc reads the block around the new position);
 *   fflush(NULL): IN_MODIFY for each stream whose output it flushed, in the
 *            order of glibc's list of streams (the newest first);
 *   tmpfile  IN_OPEN of its O_TMPFILE file ("#inode" in P_tmpdir).
 * Whether a call reached the file is read from the fd's offset, asked
 * before and after the call: every read(2) or write(2) that moves data
 * moves it (O_APPEND included), and nothing else that stdio does between
 * those two points does.  A merged run of reads or writes gives the one
 * event that the kernel's tail merge would leave.  The two lseek calls are
 * made only when a watch exists and the stream's fd is a file.
 * A seek can write, seek and read and end at the offset it started from,
 * so the seeks ask the calling thread's I/O counters instead
 * (/proc/thread-self/io: bytes read and written by read(2) and write(2)
 * calls), before and after; without them only the flush is told, from the
 * pending output.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	c->pending = false;
	if (stream && hook_pre_fclose(&old, stream) == HOOK_RUN) {
		c->fd2 = old.fd;
		c->word2 = old.word;
		c->facts = old.facts;
		c->pending_bytes = old.pending_bytes;
		c->pending = old.gone;	/* the old file unlinked, as fclose's */
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
		hook_record_event_closed(o, c->pending, IN_MODIFY);
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
	c->ptr = stream;
	c->pending_bytes = (long)__fpending(stream);
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

/* A read on a stream with output pending flushes it first (glibc's switch
 * to get mode): IN_MODIFY, then IN_ACCESS if the offset moved past what
 * was flushed. */
void hook_post_stream_read(struct hook_ctx *c, intptr_t ret)
{
	off64_t now = real_lseek64(c->fd, 0, SEEK_CUR);
	long flushed = 0;

	(void)ret;
	if (now < 0)
		return;
	if (c->pending_bytes > 0 && (long)__fpending(c->ptr) < c->pending_bytes) {
		flushed = c->pending_bytes;
		hook_fd_event(c->fd, IN_MODIFY);
	}
	if (now != (off64_t)c->word && (flushed == 0 || now > (off64_t)c->word + flushed))
		hook_fd_event(c->fd, IN_ACCESS);
}

/* ---- seeks */

/* The calling thread's counts of bytes read and written.  The read that
 * asks is counted once its text is made: *asked is what it added.  0, or -1
 * when /proc cannot tell. */
static int io_counts(uint64_t *rchar, uint64_t *wchar, uint64_t *asked)
{
	char buf[512];
	const char *r, *w;
	ssize_t n;
	int fd = real_open("/proc/thread-self/io", O_RDONLY | O_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	n = real_read(fd, buf, sizeof buf - 1);
	real_close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	r = strstr(buf, "rchar: ");
	w = strstr(buf, "wchar: ");
	if (!r || !w)
		return -1;
	*rchar = strtoull(r + 7, NULL, 10);
	*wchar = strtoull(w + 7, NULL, 10);
	*asked = (uint64_t)n;
	return 0;
}

int hook_pre_stream_seek(struct hook_ctx *c, FILE *stream)
{
	uint64_t asked = 0;

	if (!stream || !domain_watching())
		return HOOK_SKIP;
	c->fd = fileno(stream);
	if (c->fd < 0 || !hook_fd_record(c->fd))
		return HOOK_SKIP;
	c->ptr = stream;
	c->pending_bytes = (long)__fpending(stream);
	/* a stream that cannot read only flushes: its pending output says */
	c->have_target = __freadable(stream) &&
			 io_counts(&c->word, &c->word2, &asked) == 0;
	c->word += asked;
	return c->have_target || c->pending_bytes > 0 ? HOOK_RUN : HOOK_SKIP;
}

void hook_post_stream_seek(struct hook_ctx *c, intptr_t ret)
{
	uint64_t rchar, wchar, asked;
	bool wrote, read = false;

	if (c->have_target && io_counts(&rchar, &wchar, &asked) == 0) {
		wrote = wchar > c->word2;
		read = rchar > c->word;
	} else {
		/* rewind returns nothing: a failed flush leaves output */
		wrote = c->pending_bytes > 0 &&
			(long)__fpending((FILE *)c->ptr) < c->pending_bytes;
		(void)ret;
	}
	if (wrote)
		hook_fd_event(c->fd, IN_MODIFY);
	if (read)
		hook_fd_event(c->fd, IN_ACCESS);
}

/* ---- tmpfile: an O_TMPFILE file, named "#inode" in the directory */

int hook_pre_tmpfile(struct hook_ctx *c, int unused)
{
	(void)unused;
	if (!domain_watching())
		return HOOK_SKIP;
	c->dirfd = AT_FDCWD;
	c->path = NULL;		/* the file has no name: found from its fd */
	c->flags = O_RDWR | O_EXCL;
	c->existed = true;	/* no IN_CREATE either */
	return HOOK_RUN;
}

void hook_post_tmpfile(struct hook_ctx *c, intptr_t ret)
{
	hook_post_fopen(c, ret);
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

/* fflush(NULL): the streams with output pending, in glibc's list order
 * (the order it flushes them), each with its fd's offset.  The list and its
 * lock are glibc's (exported for fork handlers). */
extern FILE *_IO_list_all;
extern void _IO_list_lock(void);
extern void _IO_list_unlock(void);

#define FLUSH_ALL_MAX 64

struct flush_all {
	int n;
	int fd[FLUSH_ALL_MAX];
	off64_t off[FLUSH_ALL_MAX];
};

static struct flush_all *flush_all_pre(void)
{
	/* allocated before the list lock: fork takes it before malloc's */
	struct flush_all *a = calloc(1, sizeof *a);

	if (!a)
		return NULL;
	_IO_list_lock();
	for (FILE *f = _IO_list_all; f && a->n < FLUSH_ALL_MAX; f = f->_chain)
		if (f->_fileno >= 0 && __fpending(f) > 0)
			a->fd[a->n++] = f->_fileno;
	_IO_list_unlock();
	if (a->n == 0) {
		free(a);
		return NULL;
	}
	for (int i = 0; a && i < a->n; i++)
		a->off[i] = hook_fd_record(a->fd[i]) ? real_lseek64(a->fd[i], 0, SEEK_CUR) : -1;
	return a;
}

static void flush_all_post(struct flush_all *a)
{
	for (int i = 0; i < a->n; i++)
		if (a->off[i] >= 0 && real_lseek64(a->fd[i], 0, SEEK_CUR) != a->off[i])
			hook_fd_event(a->fd[i], IN_MODIFY);
	free(a);
}

int hook_pre_fflush(struct hook_ctx *c, FILE *stream)
{
	if (!domain_watching())
		return HOOK_SKIP;
	c->ptr = NULL;
	if (!stream) {
		c->ptr = flush_all_pre();
		return c->ptr ? HOOK_RUN : HOOK_SKIP;
	}
	c->fd = fileno(stream);
	c->pending_bytes = (long)__fpending(stream);
	return c->fd >= 0 && c->pending_bytes > 0 ? HOOK_RUN : HOOK_SKIP;
}

void hook_post_fflush(struct hook_ctx *c, intptr_t ret)
{
	if (c->ptr) {
		flush_all_post(c->ptr);
		return;
	}
	if (ret == 0)
		hook_fd_event(c->fd, IN_MODIFY);
}

int hook_pre_fclose(struct hook_ctx *c, FILE *stream)
{
	c->fd = stream ? fileno(stream) : -1;
	if (c->fd < 0)
		return HOOK_SKIP;
	c->pending_bytes = (long)__fpending(stream);
	c->gone = false;
	if (domain_watching()) {
		struct inode_info now;

		hook_fd_record(c->fd);	/* adopt an unknown file */
		/* the flush comes after the fd is gone: IN_EXCL_UNLINK asks
		 * whether the file is unlinked now */
		if (c->pending_bytes > 0 && ident_fstat(c->fd, &now) == 0)
			c->gone = ident_fd_unlinked(c->fd, &now);
	}
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
		hook_record_event_closed(o, c->gone, IN_MODIFY);
	hook_closed(c->fd, c->word, &c->facts);
}
