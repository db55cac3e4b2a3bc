/* example.c - watch a directory with inotify-shim, from C.
 *
 * Build: cc example.c $(pkg-config --cflags --libs inotify-shim)
 *
 * It makes a directory, watches it, creates a file in it, and prints the
 * events it reads.  The calls are the kernel's inotify API; with
 * -linotify-shim they are served by the emulation, which works where the
 * kernel's inotify is denied.  Exit status 0 when the events arrived. */
#include <inotify-shim.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
	char dir[] = "/tmp/inotify-shim-example.XXXXXX", file[64];
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	int fd, wd, seen = 0;
	ssize_t n;
	FILE *f;

	printf("inotify-shim %s\n", inotify_shim_version());
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	fd = inotify_init1(IN_CLOEXEC);
	if (fd < 0) {
		perror("inotify_init1");
		return 1;
	}
	wd = inotify_add_watch(fd, dir, IN_CREATE | IN_CLOSE_WRITE);
	if (wd < 0) {
		perror(dir);
		return 1;
	}

	snprintf(file, sizeof file, "%s/hello", dir);
	f = fopen(file, "w");
	if (!f) {
		perror(file);
		return 1;
	}
	fputs("hello\n", f);
	fclose(f);

	/* Two events: IN_CREATE, then IN_CLOSE_WRITE. */
	while (seen < 2 && (n = read(fd, buf, sizeof buf)) > 0) {
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)p;
			printf("wd %d %s %s\n", ev->wd,
			       ev->mask & IN_CREATE ? "IN_CREATE" : "IN_CLOSE_WRITE",
			       ev->len ? ev->name : "");
			seen++;
			p += sizeof *ev + ev->len;
		}
	}
	close(fd);
	unlink(file);
	rmdir(dir);
	return seen == 2 ? 0 : 1;
}
