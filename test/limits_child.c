/*
 * limits_child.c - a helper the tests run under the shim with a limit set
 * in the environment (the library reads limits when it loads).  It prints
 * one line per result, "RET ERRNO", for the test to check.
 *
 *   limits_child watches N      one instance, watches on N new directories
 *   limits_child instances N    N instances
 *   limits_child hold           one instance and watch; "ready", then pause
 *   limits_child overflow N     one watch, N files made, events drained
 *                               ("WD MASK NAME"), "--", one more, drained
 *   limits_child writes N       N writes to a file, between two getppid()
 *                               system calls that mark the loop for strace
 *   limits_child elsewhere N    a watch on one file, then N times open,
 *                               pwrite and close of another file, between
 *                               two getppid() as above
 *   limits_child elsewhere-dir N  the same with the watch on a directory
 *                               (a new subdirectory) instead
 *   limits_child indir N        a watch on the directory (IN_CLOSE_WRITE),
 *                               then N times open, pwrite and close of a
 *                               file in it, between two getppid() as above
 *   limits_child createx N      a watch on the directory (IN_CREATE), then
 *                               N files made with O_CREAT|O_EXCL and closed,
 *                               between two getppid() as above
 *   limits_child dirfd N        as indir, the file opened with openat()
 *                               relative to an fd of the directory
 *   limits_child idleread N     one instance (non-blocking) with a watch and
 *                               an empty queue, then N reads of it (each
 *                               EAGAIN), between two getppid() as above
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static void result(long ret)
{
	printf("%ld %d\n", ret, ret < 0 ? errno : 0);
}

static void drain(int fd)
{
	char buf[65536] __attribute__((aligned(8)));
	ssize_t n;

	while ((n = read(fd, buf, sizeof buf)) > 0)
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *e = (struct inotify_event *)p;
			printf("%d %u %s\n", e->wd, e->mask, e->len ? e->name : "-");
			p += sizeof *e + e->len;
		}
}

static void touch(const char *name)
{
	close(open(name, O_CREAT | O_WRONLY, 0644));
}

static void on_usr1(int sig)
{
	(void)sig;
}

/* Each mode: 0, or the exit status of what failed (3: the set-up, 4: the
 * loop, 5: the result). */
static int mode_watches(const char *mode, int n)
{
	char name[64];
	int fd = inotify_init1(IN_NONBLOCK);

	(void)mode;
	if (fd < 0)
		return 3;
	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof name, "w%d", i);
		mkdir(name, 0755);
		result(inotify_add_watch(fd, name, IN_CREATE));
	}
	return 0;
}

static int mode_instances(const char *mode, int n)
{
	(void)mode;
	for (int i = 0; i < n; i++)
		result(inotify_init1(IN_NONBLOCK));
	return 0;
}

static int mode_hold(const char *mode, int n)
{
	int fd = inotify_init1(IN_NONBLOCK);

	(void)mode;
	(void)n;
	if (fd < 0 || inotify_add_watch(fd, ".", IN_CREATE) < 0)
		return 3;
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}

static int mode_overflow(const char *mode, int n)
{
	char name[64];
	int fd = inotify_init1(IN_NONBLOCK);

	(void)mode;
	if (fd < 0 || inotify_add_watch(fd, ".", IN_CREATE) < 0)
		return 3;
	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof name, "f%d", i);
		touch(name);
	}
	drain(fd);
	printf("--\n");
	touch("after");
	drain(fd);
	return 0;
}

static int mode_writes(const char *mode, int n)
{
	int fd = open("written", O_CREAT | O_WRONLY | O_TRUNC, 0644);

	(void)mode;
	if (fd < 0)
		return 3;
	syscall(SYS_getppid);
	for (int i = 0; i < n; i++)
		if (write(fd, "x", 1) != 1)
			return 4;
	syscall(SYS_getppid);
	close(fd);
	return 0;
}

/* elsewhere, elsewhere-dir */
static int mode_elsewhere(const char *mode, int n)
{
	int in = inotify_init1(IN_NONBLOCK), fd;
	const char *watched = strcmp(mode, "elsewhere") ? "watched-dir" : "watched";

	close(open("watched", O_CREAT | O_WRONLY, 0644));
	mkdir("watched-dir", 0755);
	close(open("plain", O_CREAT | O_WRONLY, 0644));
	/* without the shim (the kernel's inotify denied), the loop
	 * alone is counted */
	if (in >= 0 && inotify_add_watch(in, watched, IN_ALL_EVENTS) < 0)
		return 3;
	syscall(SYS_getppid);
	for (int i = 0; i < n; i++) {
		fd = open("plain", O_RDWR);
		if (fd < 0 || pwrite(fd, "x", 1, 0) != 1)
			return 4;
		close(fd);
	}
	syscall(SYS_getppid);
	if (in >= 0)
		close(in);
	return 0;
}

/* indir, dirfd */
static int mode_indir(const char *mode, int n)
{
	int in = inotify_init1(IN_NONBLOCK), dfd, fd;

	close(open("plain", O_CREAT | O_WRONLY, 0644));
	if (in >= 0 && inotify_add_watch(in, ".", IN_CLOSE_WRITE) < 0)
		return 3;
	dfd = open(".", O_RDONLY | O_DIRECTORY);
	syscall(SYS_getppid);
	for (int i = 0; i < n; i++) {
		fd = strcmp(mode, "dirfd") ? open("plain", O_WRONLY)
					   : openat(dfd, "plain", O_WRONLY);
		if (fd < 0 || pwrite(fd, "x", 1, 0) != 1)
			return 4;
		close(fd);
	}
	syscall(SYS_getppid);
	if (in >= 0) {
		drain(in);
		close(in);
	}
	return 0;
}

static int mode_createx(const char *mode, int n)
{
	int in = inotify_init1(IN_NONBLOCK), fd;
	char name[32];

	(void)mode;
	if (in >= 0 && inotify_add_watch(in, ".", IN_CREATE) < 0)
		return 3;
	syscall(SYS_getppid);
	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof name, "c%d", i);
		fd = open(name, O_CREAT | O_EXCL | O_WRONLY, 0644);
		if (fd < 0)
			return 4;
		close(fd);
	}
	syscall(SYS_getppid);
	for (int i = 0; i < n; i++) {	/* the next run makes them again */
		snprintf(name, sizeof name, "c%d", i);
		unlink(name);
	}
	if (in >= 0) {
		drain(in);
		close(in);
	}
	return 0;
}

/* watched, watched-handler: writes to a watched file, every event read at
 * the end; with a signal handler installed first, or none */
static int mode_watched(const char *mode, int n)
{
	char buf[65536];
	int in = inotify_init1(IN_NONBLOCK), got = 0, fd;
	ssize_t r;

	if (!strcmp(mode, "watched-handler"))
		signal(SIGUSR1, on_usr1);
	fd = open("watched", O_CREAT | O_WRONLY | O_TRUNC, 0644);
	if (in < 0 || fd < 0 || inotify_add_watch(in, "watched", IN_MODIFY) < 0)
		return 3;
	syscall(SYS_getppid);
	for (int i = 0; i < n; i++)
		if (pwrite(fd, "x", 1, i) != 1)
			return 4;
	syscall(SYS_getppid);
	while ((r = read(in, buf, sizeof buf)) > 0)
		got += (int)(r / (ssize_t)sizeof(struct inotify_event));
	close(fd);
	close(in);
	return got < 1 ? 5 : 0;	/* merged: at least one IN_MODIFY */
}

static int mode_idleread(const char *mode, int n)
{
	char buf[4096];
	int in = inotify_init1(IN_NONBLOCK);

	(void)mode;
	if (in < 0 || inotify_add_watch(in, ".", IN_ALL_EVENTS) < 0)
		return 3;
	syscall(SYS_getppid);
	for (int i = 0; i < n; i++)
		if (read(in, buf, sizeof buf) != -1 || errno != EAGAIN)
			return 4;
	syscall(SYS_getppid);
	close(in);
	return 0;
}

static const struct {
	const char *name;
	int (*run)(const char *mode, int n);
} modes[] = {
	{ "watches", mode_watches },
	{ "instances", mode_instances },
	{ "hold", mode_hold },
	{ "overflow", mode_overflow },
	{ "writes", mode_writes },
	{ "elsewhere", mode_elsewhere },
	{ "elsewhere-dir", mode_elsewhere },
	{ "indir", mode_indir },
	{ "dirfd", mode_indir },
	{ "createx", mode_createx },
	{ "watched", mode_watched },
	{ "watched-handler", mode_watched },
	{ "idleread", mode_idleread },
};

int main(int argc, char **argv)
{
	int n = argc > 2 ? atoi(argv[2]) : 0;

	if (argc < 2)
		return 2;
	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
		if (strcmp(argv[1], modes[i].name))
			continue;
		int ret = modes[i].run(argv[1], n);

		if (ret)
			return ret;
		fflush(stdout);
		return 0;
	}
	return 2;
}
