/*
 * relay_writer.c - the changes of test/relay.fuzz, made by a plain C
 * program (built dynamic and, in the test, with cc -static): in DIR, a
 * file created, written, closed, chmod'ed, renamed, a directory made and
 * removed, the file unlinked, then "end" created.  test/programs/
 * relay_writer.go makes the same changes from Go.
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char f[4096], g[4096], d[4096], e[4096];
	int fd;

	if (argc != 2)
		return 2;
	snprintf(f, sizeof f, "%s/f", argv[1]);
	snprintf(g, sizeof g, "%s/g", argv[1]);
	snprintf(d, sizeof d, "%s/d", argv[1]);
	snprintf(e, sizeof e, "%s/end", argv[1]);
	if ((fd = open(f, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0 ||
	    write(fd, "hello\n", 6) != 6 || close(fd) < 0 || chmod(f, 0600) < 0 ||
	    rename(f, g) < 0 || mkdir(d, 0755) < 0 || rmdir(d) < 0 || unlink(g) < 0 ||
	    (fd = open(e, O_WRONLY | O_CREAT, 0644)) < 0 || close(fd) < 0)
		return perror("relay_writer"), 1;
	return 0;
}
