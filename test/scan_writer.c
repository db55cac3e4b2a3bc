/*
 * scan_writer.c - one change to the file system per run, for
 * test/scan_programs.scan: built there with cc -static, so that no hook
 * of the shim can see what it does (only the scanner, and the kernel).
 * test/scan_writer.go is the same program in Go.
 *
 *   write NAME TEXT    open O_WRONLY|O_CREAT|O_TRUNC, write, close
 *   append NAME TEXT   open O_WRONLY|O_APPEND, write, close
 *   truncate NAME N    open O_WRONLY, ftruncate to N bytes, close
 *   chmod NAME OCTAL   mkdir NAME   rmdir NAME   unlink NAME
 *   rename FROM TO     link FROM TO
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int put(const char *name, int flags, const char *text)
{
	int fd = open(name, O_WRONLY | flags, 0644);
	size_t n = strlen(text);

	if (fd < 0)
		return 1;
	if (write(fd, text, n) != (ssize_t)n) {
		close(fd);
		return 1;
	}
	return close(fd) != 0;
}

static int cut(const char *name, const char *size)
{
	int fd = open(name, O_WRONLY);

	if (fd < 0)
		return 1;
	if (ftruncate(fd, atoll(size)) != 0) {
		close(fd);
		return 1;
	}
	return close(fd) != 0;
}

int main(int argc, char **argv)
{
	const char *op = argc > 2 ? argv[1] : "", *a = argc > 2 ? argv[2] : "";
	const char *b = argc > 3 ? argv[3] : NULL;
	int ret = 2;

	if (!strcmp(op, "write") && b)
		ret = put(a, O_CREAT | O_TRUNC, b);
	else if (!strcmp(op, "append") && b)
		ret = put(a, O_APPEND, b);
	else if (!strcmp(op, "truncate") && b)
		ret = cut(a, b);
	else if (!strcmp(op, "chmod") && b)
		ret = chmod(a, (mode_t)strtol(b, NULL, 8)) != 0;
	else if (!strcmp(op, "mkdir"))
		ret = mkdir(a, 0755) != 0;
	else if (!strcmp(op, "rmdir"))
		ret = rmdir(a) != 0;
	else if (!strcmp(op, "unlink"))
		ret = unlink(a) != 0;
	else if (!strcmp(op, "rename") && b)
		ret = rename(a, b) != 0;
	else if (!strcmp(op, "link") && b)
		ret = link(a, b) != 0;
	if (ret == 1)
		perror(op);
	else if (ret == 2)
		fprintf(stderr, "usage: scan_writer OP NAME [ARG]\n");
	return ret;
}
