/*
 * start_marker.c - run by test/start_unlocked: appends "main\n" to the
 * file argv[1] as the first thing main does (a program's start, its
 * constructors, end there), then exits.
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int fd;

	if (argc != 2)
		return 2;
	fd = open(argv[1], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, "main\n", 5) != 5)
		return 1;
	return close(fd) == 0 ? 0 : 1;
}
