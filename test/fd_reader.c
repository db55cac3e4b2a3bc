/*
 * fd_reader.c - run by test/fd_objects.c after exec: "fd_reader N" reads
 * the inherited fd N once (it is non-blocking) and prints "BYTES MASK",
 * the read's result and the first event's mask ("-1 ERRNO" on failure).
 * A read of the raw FIFO under an instance gives its wake byte: "1 ...".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/inotify.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char buf[4096] __attribute__((aligned(8)));
	const struct inotify_event *e = (const struct inotify_event *)buf;
	ssize_t n;

	if (argc != 2)
		return 2;
	n = read(atoi(argv[1]), buf, sizeof buf);
	if (n < 0)
		printf("-1 %d\n", errno);
	else
		printf("%zd 0x%x\n", n, n >= (ssize_t)sizeof *e ? e->mask : 0);
	return 0;
}
