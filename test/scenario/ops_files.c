/*
 * ops_files.c - the file and descriptor operations of the language: one
 * libc call each (or the open, the call and the close of one), made as a
 * program would make it, so that the events they cause are the ones being
 * compared.  They print nothing when they succeed; a failure prints
 * "LINE: CALL ENAME" ("rm d/a: unlink ENOENT").
 *
 * Descriptors are named by the label "open L ..." gave them; a label never
 * given, or closed, is fd -1.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ops.h"

/* What write, fdwrite and fputs write when the line gives no text. */
#define DEFAULT_TEXT "x"

static char io_buf[1 << 16];

/* Say that call failed, when r < 0. */
static void check(const struct step *s, const char *call, long r)
{
	if (r < 0)
		say_failed(s, call, errno);
}

static int fd_of(const struct step *s, unsigned i)
{
	return label_get(LABEL_FD, s->arg[i], -1);
}

void op_mkdir(const struct step *s)
{
	check(s, "mkdir", mkdir(s->arg[0], (mode_t)step_num(s, 1, 0755)));
}

void op_rmdir(const struct step *s)
{
	check(s, "rmdir", rmdir(s->arg[0]));
}

/* An open that may create, and its close: no times are set. */
void op_touch(const struct step *s)
{
	int fd = open(s->arg[0], O_WRONLY | O_CREAT, 0644);

	check(s, "open", fd);
	if (fd >= 0)
		close(fd);
}

/* Append TEXT to an existing file: open, write, close. */
void op_write(const struct step *s)
{
	const char *text = step_text(s, 1, DEFAULT_TEXT);
	int fd = open(s->arg[0], O_WRONLY | O_APPEND);

	check(s, "open", fd);
	if (fd < 0)
		return;
	check(s, "write", write(fd, text, strlen(text)));
	close(fd);
}

/* Read a file to its end. */
void op_cat(const struct step *s)
{
	int fd = open(s->arg[0], O_RDONLY);
	ssize_t n;

	check(s, "open", fd);
	if (fd < 0)
		return;
	while ((n = read(fd, io_buf, sizeof io_buf)) > 0)
		;
	check(s, "read", n);
	close(fd);
}

/* Append TEXT through stdio. */
void op_fputs(const struct step *s)
{
	FILE *f = fopen(s->arg[0], "a");

	if (!f) {
		say_failed(s, "fopen", errno);
		return;
	}
	if (fputs(step_text(s, 1, DEFAULT_TEXT), f) == EOF)
		say_failed(s, "fputs", errno);
	if (fclose(f) == EOF)
		say_failed(s, "fclose", errno);
}

void op_trunc(const struct step *s)
{
	check(s, "truncate", truncate(s->arg[0], step_num(s, 1, 0)));
}

void op_rm(const struct step *s)
{
	check(s, "unlink", unlink(s->arg[0]));
}

void op_mv(const struct step *s)
{
	check(s, "rename", rename(s->arg[0], s->arg[1]));
}

void op_exchange(const struct step *s)
{
	check(s, "renameat2", renameat2(AT_FDCWD, s->arg[0], AT_FDCWD, s->arg[1],
					RENAME_EXCHANGE));
}

void op_noreplace(const struct step *s)
{
	check(s, "renameat2", renameat2(AT_FDCWD, s->arg[0], AT_FDCWD, s->arg[1],
					RENAME_NOREPLACE));
}

void op_ln(const struct step *s)
{
	check(s, "link", link(s->arg[0], s->arg[1]));
}

/* symlink TARGET PATH */
void op_symlink(const struct step *s)
{
	check(s, "symlink", symlink(s->arg[0], s->arg[1]));
}

/* chmod MODE PATH */
void op_chmod(const struct step *s)
{
	check(s, "chmod", chmod(s->arg[1], (mode_t)step_num(s, 0, 0)));
}

/* To its own owner: the inode's change, without needing privilege. */
void op_chown(const struct step *s)
{
	check(s, "chown", chown(s->arg[0], getuid(), getgid()));
}

/* Both times to now. */
void op_utime(const struct step *s)
{
	check(s, "utimensat", utimensat(AT_FDCWD, s->arg[0], NULL, 0));
}

void op_mkfifo(const struct step *s)
{
	check(s, "mkfifo", mkfifo(s->arg[0], 0644));
}

/* Read a directory to its end. */
void op_ls(const struct step *s)
{
	DIR *d = opendir(s->arg[0]);

	if (!d) {
		say_failed(s, "opendir", errno);
		return;
	}
	errno = 0;
	while (readdir(d))
		;
	if (errno)
		say_failed(s, "readdir", errno);
	closedir(d);
}

/* open L PATH [FLAGS]: the label is -1 when the open fails. */
void op_open(const struct step *s)
{
	int flags = O_RDONLY, fd;

	if (s->nargs > 2)
		open_flags_parse(s->arg[2], &flags);
	fd = open(s->arg[1], flags, 0644);
	check(s, "open", fd);
	label_set(LABEL_FD, s->arg[0], fd);
}

void op_fdwrite(const struct step *s)
{
	const char *text = step_text(s, 1, DEFAULT_TEXT);

	check(s, "write", write(fd_of(s, 0), text, strlen(text)));
}

/* fdread L [N]: one read of N bytes (1 if not given). */
void op_fdread(const struct step *s)
{
	long n = step_num(s, 1, 1);

	if (n < 0 || (size_t)n > sizeof io_buf)
		n = sizeof io_buf;
	check(s, "read", read(fd_of(s, 0), io_buf, (size_t)n));
}

void op_fdtrunc(const struct step *s)
{
	check(s, "ftruncate", ftruncate(fd_of(s, 0), step_num(s, 1, 0)));
}

void op_fdchmod(const struct step *s)
{
	check(s, "fchmod", fchmod(fd_of(s, 0), (mode_t)step_num(s, 1, 0)));
}

/* dup L L2: L2 names the new descriptor. */
void op_dup(const struct step *s)
{
	int fd = dup(fd_of(s, 0));

	check(s, "dup", fd);
	label_set(LABEL_FD, s->arg[1], fd);
}

void op_fdclose(const struct step *s)
{
	check(s, "close", close(fd_of(s, 0)));
	label_set(LABEL_FD, s->arg[0], -1);
}
