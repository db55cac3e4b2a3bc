/*
 * main.c - the scenario runner, the project's tool for holding the shim
 * against the kernel: it replays a scenario of file operations and
 * inotify calls in a fresh directory and prints every result and event,
 * normalised, so that a run on the kernel's inotify and a run on the shim
 * (preloaded, with -n) print the same text when they behave alike.
 * test/writers.sh compares its output with the kernel's recorded in
 * test/writers/NAME.out; test/fuzz.fuzz and test/scenarios.fuzz run it twice
 * and compare.  ../shared/conformance/referee reads the same language and
 * stays an outside referee (.ci/run runs it beside these).
 *
 *   runner SCENARIO      on whatever inotify the process gets
 *   runner -n SCENARIO   with the kernel's inotify denied first (ENOSYS,
 *                        deny.c), then the runner started afresh, so that a
 *                        preloaded library never sees the kernel's, not even
 *                        in its constructor
 *
 * The language (parse.c reads it, ops.c lists the operations): one
 * operation a line, paths relative to the fresh directory, instance I
 * (non-blocking) made at the start, @J picking another:
 *   init J [nonblock] [cloexec] [N]   watch [@J] LABEL PATH MASK
 *   rmwatch [@J] LABEL|WD   drain [@J]   drainq [@J]   read [@J] SIZE
 *   fionread [@J]   poll [@J] [MS]   closeinst [@J]
 *   mkdir P [MODE]  rmdir P  touch P  write P [TEXT]  cat P  fputs P [TEXT]
 *   trunc P [N]  rm P  mv A B  exchange A B  noreplace A B  ln A B
 *   symlink TARGET P  chmod MODE P  chown P  utime P  mkfifo P  ls P
 *   open FD P [FLAGS]  fdwrite FD [TEXT]  fdread FD [N]  fdtrunc FD [N]
 *   fdchmod FD MODE  dup FD FD2  fdclose FD
 *   spawn ... end   shell CMD   repeat N LINE   sleep MS   echo [TEXT]
 *
 * The output, one line per result:
 *   watch w d IN_CREATE = 1            an inotify call: the line, its result
 *   rmwatch w = -1 EINVAL              (or -1 and the errno's name)
 *     wd=1 IN_MOVED_FROM cookie=c1 name="a" len=16   an event read
 *   drain = 2 events                   drainq: "N events, M overflow"
 *   rm d/a: unlink ENOENT              a file operation that failed (those
 *                                      that succeed print nothing)
 *   shell CMD: exit 1   spawn: exit 1  a child that did not exit with 0
 *   -- TEXT                            echo
 *   drain at end = 0 events            what is left on I after the last line
 * Cookies are numbered c1, c2 ... in order of appearance; the programs a
 * scenario starts write to the same stdout, in place.  A scenario the
 * parser cannot read stops the runner before its first step (exit 2).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deny.h"
#include "ops.h"

static int usage(void)
{
	fprintf(stderr, "usage: runner [-n] SCENARIO\n");
	return 2;
}

/* Remove name under parent and all it holds.  A scenario may have taken
 * a directory's permissions away (chmod 600 d): they are given back
 * before it is entered. */
static int remove_tree(int parent, const char *name)
{
	struct dirent *e;
	struct stat st;
	int fd, r = 0;
	DIR *d;

	if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(parent, name, 0);
	fchmodat(parent, name, 0700, 0);
	fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	d = fd < 0 ? NULL : fdopendir(fd);
	if (!d) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			r |= remove_tree(dirfd(d), e->d_name);
	closedir(d);
	return unlinkat(parent, name, AT_REMOVEDIR) | r;
}

static int close_label(const char *name, int fd)
{
	(void)name;
	if (fd >= 0)
		close(fd);
	return 0;
}

/* The whole scenario, in a directory of its own under $TMPDIR. */
static int run_scenario(const char *path)
{
	const char *tmp = getenv("TMPDIR");
	static struct script sc;	/* for the whole run */
	char dir[PATH_MAX];
	int fd, r = 0;

	if (script_load(path, &sc) < 0)
		return 2;
	snprintf(dir, sizeof dir, "%s/scenario-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir) || chdir(dir) < 0) {
		perror("runner: a directory to run in");
		return 2;
	}
	fd = inotify_init1(IN_NONBLOCK);
	if (fd < 0) {
		perror("runner: inotify_init1");
		r = 2;
	} else {
		label_set(LABEL_INSTANCE, "I", fd);
		script_run(&sc, 0, sc.n);
		drain_print("drain at end", label_get(LABEL_INSTANCE, "I", -1), 0);
	}
	label_each(LABEL_INSTANCE, close_label);
	label_each(LABEL_FD, close_label);
	if (chdir("/") < 0 || remove_tree(AT_FDCWD, dir) < 0) {
		fprintf(stderr, "runner: %s is left behind\n", dir);
		r = 2;
	}
	return r;
}

/* --block FROM TO SCENARIO [LABEL...]: a spawn block, in the child. */
static int run_block(int argc, char **argv)
{
	static struct script sc;	/* for the whole run */
	long from, to;

	if (argc < 5 || number_parse(argv[2], 10, &from) || number_parse(argv[3], 10, &to))
		return usage();
	if (script_load(argv[4], &sc) < 0)
		return 2;
	for (int i = 5; i < argc; i++)
		if (label_import(argv[i]) < 0)
			return usage();
	script_run(&sc, (unsigned)from, (unsigned)to);
	return 0;
}

int main(int argc, char **argv)
{
	char self[PATH_MAX], path[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);

	if (n < 0) {
		perror("runner: /proc/self/exe");
		return 2;
	}
	self[n] = '\0';
	run_set_self(self);
	if (argc >= 2 && !strcmp(argv[1], "--block"))
		return run_block(argc, argv);
	if (argc == 3 && !strcmp(argv[1], "-n")) {
		int r = deny_kernel_inotify();

		if (r < 0) {
			fprintf(stderr, "runner: seccomp: %s\n", strerror(-r));
			return 2;
		}
		execl(self, self, argv[2], (char *)NULL);
		perror("runner: exec");
		return 2;
	}
	if (argc != 2 || argv[1][0] == '-')
		return usage();
	/* the spawn blocks' children read it again, from the directory */
	if (!realpath(argv[1], path)) {
		perror(argv[1]);
		return 2;
	}
	return run_scenario(path);
}
