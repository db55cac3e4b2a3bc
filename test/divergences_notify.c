/*
 * divergences_notify.c - the scenarios of issue 13's items 1, 2, 4 and 5,
 * as one plain program that runs the same on the kernel's inotify and on
 * the shim's: test/divergences_notify.fuzz runs each scenario twice, once
 * plain (the kernel answers) and once with the shim preloaded under
 * test/noinotify (the kernel's inotify denied), and compares the two
 * outputs byte for byte.
 *
 *   divergences_notify SCENARIO [DIR]   run one scenario in a fresh
 *                                       directory under DIR (default
 *                                       $TMPDIR or /tmp)
 *   divergences_notify --list           the scenarios' names
 *
 * Each step is printed ("> ..."), then the events it gave, one a line:
 * the watch's label, the mask's names, the name; cookies become c1, c2 ...
 * in order of appearance.  Events are read without blocking after each
 * step: both the kernel and the shim queue them before the call returns
 * (and a child's before it exits, which is waited for).
 *
 * The helpers (--hold, --rename, --rmdir, --unlink) are this program
 * again, exec'd: another process, with the shim preloaded by inheritance,
 * except --unlink, exec'd without LD_PRELOAD: a deletion the shim cannot
 * see.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static int inst = -1;
static const char *self_exe;

/* ---- watches and events */

#define MAX_WATCHES 8
static struct { int wd; char label[16]; } watches[MAX_WATCHES];
static int nwatches;
static uint32_t cookies[64];
static int ncookies;

static void die(const char *what)
{
	printf("FAILED: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void step(const char *fmt, ...)
{
	va_list ap;

	fputs("> ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static void watch(const char *label, const char *path, uint32_t mask)
{
	int wd = inotify_add_watch(inst, path, mask);

	if (wd < 0)
		die("inotify_add_watch");
	if (nwatches == MAX_WATCHES)
		die("too many watches");
	watches[nwatches].wd = wd;
	snprintf(watches[nwatches].label, sizeof watches[0].label, "%s", label);
	nwatches++;
}

static const char *label_of(int wd)
{
	for (int i = 0; i < nwatches; i++)
		if (watches[i].wd == wd)
			return watches[i].label;
	return "?";
}

static int cookie_number(uint32_t c)
{
	for (int i = 0; i < ncookies; i++)
		if (cookies[i] == c)
			return i + 1;
	if (ncookies < 64)
		cookies[ncookies++] = c;
	return ncookies;
}

static void print_mask(uint32_t m)
{
	static const struct { uint32_t bit; const char *name; } names[] = {
		{ IN_ACCESS, "IN_ACCESS" }, { IN_MODIFY, "IN_MODIFY" },
		{ IN_ATTRIB, "IN_ATTRIB" }, { IN_CLOSE_WRITE, "IN_CLOSE_WRITE" },
		{ IN_CLOSE_NOWRITE, "IN_CLOSE_NOWRITE" }, { IN_OPEN, "IN_OPEN" },
		{ IN_MOVED_FROM, "IN_MOVED_FROM" }, { IN_MOVED_TO, "IN_MOVED_TO" },
		{ IN_CREATE, "IN_CREATE" }, { IN_DELETE, "IN_DELETE" },
		{ IN_DELETE_SELF, "IN_DELETE_SELF" }, { IN_MOVE_SELF, "IN_MOVE_SELF" },
		{ IN_UNMOUNT, "IN_UNMOUNT" }, { IN_Q_OVERFLOW, "IN_Q_OVERFLOW" },
		{ IN_IGNORED, "IN_IGNORED" }, { IN_ISDIR, "IN_ISDIR" },
	};
	const char *sep = "";

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (m & names[i].bit) {
			printf("%s%s", sep, names[i].name);
			sep = "|";
			m &= ~names[i].bit;
		}
	if (m)
		printf("%s0x%x", sep, m);
}

/* Print every event queued now; quiet: read them without printing. */
static void drain_events(bool quiet)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	while ((n = read(inst, buf, sizeof buf)) > 0) {
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *e = (struct inotify_event *)p;

			p += sizeof *e + e->len;
			if (quiet)
				continue;
			printf("  %s ", label_of(e->wd));
			print_mask(e->mask);
			if (e->cookie)
				printf(" c%d", cookie_number(e->cookie));
			if (e->len)
				printf(" %s", e->name);
			putchar('\n');
		}
	}
	if (n < 0 && errno != EAGAIN)
		die("read");
	fflush(stdout);
}

static void drain(void)
{
	drain_events(false);
}

/* ---- small actions, each checked */

static void must(int ret, const char *what)
{
	if (ret < 0)
		die(what);
}

static void make_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	must(fd, "create");
	must(write(fd, "data", 4) == 4 ? 0 : -1, "write");
	must(close(fd), "close");
}

/* ---- helpers in other processes */

struct child {
	pid_t pid;
	int to, from;		/* pipes to its stdin, from its stdout */
};

static struct child start_helper(char *const args[], bool shimless)
{
	int in[2], out[2];
	struct child c;
	char *argv[8] = { (char *)self_exe };

	for (int i = 0; args[i] && i < 6; i++)
		argv[i + 1] = args[i];
	must(pipe2(in, O_CLOEXEC), "pipe");
	must(pipe2(out, O_CLOEXEC), "pipe");
	c.pid = fork();
	must(c.pid, "fork");
	if (c.pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		if (shimless)
			unsetenv("LD_PRELOAD");
		execv(self_exe, argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	c.to = in[1];
	c.from = out[0];
	return c;
}

/* Wait for the helper's next byte (it has done its next step). */
static void helper_wait(struct child *c)
{
	char b;

	if (read(c->from, &b, 1) != 1)
		die("helper");
}

static void helper_go(struct child *c)
{
	must(write(c->to, "g", 1) == 1 ? 0 : -1, "helper");
}

static void helper_end(struct child *c)
{
	int status;

	close(c->to);
	close(c->from);
	if (waitpid(c->pid, &status, 0) != c->pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		errno = ECHILD;
		die("helper's exit");
	}
}

static void run_helper(char *const args[], bool shimless)
{
	struct child c = start_helper(args, shimless);

	helper_end(&c);
}

static void tell(void)
{
	if (write(1, "x", 1) != 1)
		_exit(3);
}

static void hear(void)
{
	char b;

	if (read(0, &b, 1) != 1)
		_exit(3);
}

static int helper_main(int argc, char **argv)
{
	const char *op = argv[1];
	int fd;

	if (!strcmp(op, "--hold") && argc == 3) {
		/* hold the directory open until told, then close it */
		fd = open(argv[2], O_RDONLY | O_DIRECTORY);
		if (fd < 0)
			_exit(4);
		tell();
		hear();
		close(fd);
		tell();
		return 0;
	}
	if (!strcmp(op, "--hold-exit") && argc == 3) {
		/* hold the directory open (twice) until told, then exit */
		fd = open(argv[2], O_RDONLY | O_DIRECTORY);
		if (fd < 0 || open(argv[2], O_RDONLY | O_DIRECTORY) < 0)
			_exit(4);
		tell();
		hear();
		exit(0);
	}
	if (!strcmp(op, "--rename") && argc == 4)
		return rename(argv[2], argv[3]) < 0 ? 4 : 0;
	if (!strcmp(op, "--rmdir") && argc == 3)
		return rmdir(argv[2]) < 0 ? 4 : 0;
	if (!strcmp(op, "--unlink") && argc == 3)
		return unlink(argv[2]) < 0 ? 4 : 0;
	return 5;
}

/* ---- item 1: a directory removed while an fd holds it open */

static void dir_setup(uint32_t sub_flags)
{
	must(mkdir("d", 0755), "mkdir");
	must(mkdir("d/sub", 0755), "mkdir");
	watch("P", "d", IN_ALL_EVENTS);
	watch("S", "d/sub", IN_ALL_EVENTS | sub_flags);
}

static void rmdir_with_fd(uint32_t sub_flags)
{
	int fd;

	dir_setup(sub_flags);
	step("open d/sub O_DIRECTORY");
	fd = open("d/sub", O_RDONLY | O_DIRECTORY);
	must(fd, "open");
	drain();
	step("rmdir d/sub");
	must(rmdir("d/sub"), "rmdir");
	drain();
	step("close");
	must(close(fd), "close");
	drain();
}

static void scn_rmdir_open_fd(void)
{
	rmdir_with_fd(0);
}

static void scn_rmdir_open_fd_excl_unlink(void)
{
	rmdir_with_fd(IN_EXCL_UNLINK);
}

static void scn_rmdir_opendir(void)
{
	DIR *dir;

	dir_setup(0);
	step("opendir d/sub");
	dir = opendir("d/sub");
	if (!dir)
		die("opendir");
	drain();
	step("rmdir d/sub");
	must(rmdir("d/sub"), "rmdir");
	drain();
	step("readdir");
	while (readdir(dir))
		;
	drain();
	step("closedir");
	must(closedir(dir), "closedir");
	drain();
}

static void scn_rmdir_two_fds(void)
{
	int fd, fd2;

	dir_setup(0);
	step("open d/sub O_DIRECTORY twice");
	fd = open("d/sub", O_RDONLY | O_DIRECTORY);
	fd2 = open("d/sub", O_RDONLY | O_DIRECTORY);
	must(fd, "open");
	must(fd2, "open");
	drain();
	step("rmdir d/sub");
	must(rmdir("d/sub"), "rmdir");
	drain();
	step("close the first");
	must(close(fd), "close");
	drain();
	step("close the second");
	must(close(fd2), "close");
	drain();
}

/* held open by another process, removed by this one */
static void scn_rmdir_held_elsewhere(void)
{
	struct child c;

	dir_setup(0);
	step("another process opens d/sub");
	c = start_helper((char *[]){ "--hold", "d/sub", NULL }, false);
	helper_wait(&c);
	drain();
	step("rmdir d/sub");
	must(rmdir("d/sub"), "rmdir");
	drain();
	step("the other process closes it and exits");
	helper_go(&c);
	helper_wait(&c);
	helper_end(&c);
	drain();
}

/* held open (by two fds) by another process, which exits */
static void scn_rmdir_held_until_exit(void)
{
	struct child c;

	dir_setup(0);
	step("another process opens d/sub twice");
	c = start_helper((char *[]){ "--hold-exit", "d/sub", NULL }, false);
	helper_wait(&c);
	drain();
	step("rmdir d/sub");
	must(rmdir("d/sub"), "rmdir");
	drain();
	step("the other process exits");
	helper_go(&c);
	helper_end(&c);
	drain();
}

/* opened here, held by a forked child once closed here */
static void scn_rmdir_held_by_forked_child(void)
{
	int fd, go[2], done[2], status;
	pid_t pid;
	char b;

	dir_setup(0);
	step("open d/sub O_DIRECTORY, fork, close it here");
	fd = open("d/sub", O_RDONLY | O_DIRECTORY);
	must(fd, "open");
	must(pipe(go), "pipe");
	must(pipe(done), "pipe");
	pid = fork();
	must(pid, "fork");
	if (pid == 0) {
		close(inst);
		if (read(go[0], &b, 1) != 1)
			_exit(3);
		close(fd);
		_exit(0);
	}
	must(close(fd), "close");
	drain();
	step("rmdir d/sub");
	must(rmdir("d/sub"), "rmdir");
	drain();
	step("the child closes it and exits");
	must(write(go[1], "g", 1) == 1 ? 0 : -1, "write");
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		die("child");
	drain();
}

/* held open by this process, removed by another one */
static void scn_rmdir_by_other(void)
{
	int fd;

	dir_setup(0);
	step("open d/sub O_DIRECTORY");
	fd = open("d/sub", O_RDONLY | O_DIRECTORY);
	must(fd, "open");
	drain();
	step("another process removes d/sub");
	run_helper((char *[]){ "--rmdir", "d/sub", NULL }, false);
	drain();
	step("close");
	must(close(fd), "close");
	drain();
}

/* an empty directory held open, replaced by a rename */
static void scn_rename_over_open_dir(void)
{
	int fd;

	dir_setup(0);
	step("mkdir d/new");
	must(mkdir("d/new", 0755), "mkdir");
	drain();
	step("open d/sub O_DIRECTORY");
	fd = open("d/sub", O_RDONLY | O_DIRECTORY);
	must(fd, "open");
	drain();
	step("rename d/new over d/sub");
	must(rename("d/new", "d/sub"), "rename");
	drain();
	step("close");
	must(close(fd), "close");
	drain();
}

/* ---- item 2: IN_EXCL_UNLINK and the fd of an unlinked file */

static void excl_unlink_fd_calls(uint32_t file_flags, uint32_t dir_flags)
{
	struct timespec atime_only[2] = { { 0, UTIME_NOW }, { 0, UTIME_OMIT } };
	struct timespec mtime_only[2] = { { 0, UTIME_OMIT }, { 0, UTIME_NOW } };
	char buf[4];
	int fd;

	must(mkdir("d", 0755), "mkdir");
	make_file("d/f");
	fd = open("d/f", O_RDWR);
	must(fd, "open");
	watch("P", "d", IN_ALL_EVENTS | dir_flags);
	watch("F", "d/f", IN_ALL_EVENTS | file_flags);
	step("unlink d/f");
	must(unlink("d/f"), "unlink");
	drain();
	step("write");
	must(write(fd, "x", 1) == 1 ? 0 : -1, "write");
	drain();
	step("pread");
	must(pread(fd, buf, 1, 0) == 1 ? 0 : -1, "pread");
	drain();
	step("ftruncate");
	must(ftruncate(fd, 2), "ftruncate");
	drain();
	step("fallocate");
	must(fallocate(fd, 0, 0, 8), "fallocate");
	drain();
	step("posix_fallocate");
	must(posix_fallocate(fd, 0, 16) == 0 ? 0 : -1, "posix_fallocate");
	drain();
	step("fchmod");
	must(fchmod(fd, 0600), "fchmod");
	drain();
	step("fchownat AT_EMPTY_PATH");
	must(fchownat(fd, "", (uid_t)-1, getgid(), AT_EMPTY_PATH), "fchownat");
	drain();
	step("fchown");
	must(fchown(fd, (uid_t)-1, getgid()), "fchown");
	drain();
	step("futimens both");
	must(futimens(fd, NULL), "futimens");
	drain();
	step("futimens atime");
	must(futimens(fd, atime_only), "futimens");
	drain();
	step("futimens mtime");
	must(futimens(fd, mtime_only), "futimens");
	drain();
	step("futimes");
	must(futimes(fd, NULL), "futimes");
	drain();
	step("close");
	must(close(fd), "close");
	drain();
}

static void scn_excl_unlink_both(void)
{
	excl_unlink_fd_calls(IN_EXCL_UNLINK, IN_EXCL_UNLINK);
}

static void scn_excl_unlink_dir_only(void)
{
	excl_unlink_fd_calls(0, IN_EXCL_UNLINK);
}

static void scn_excl_unlink_file_only(void)
{
	excl_unlink_fd_calls(IN_EXCL_UNLINK, 0);
}

/* ---- item 5: a renamed open file */

static void renamed_open_file(bool by_other, bool same_dir)
{
	const char *to = same_dir ? "a/g" : "b/g";
	int fd;

	must(mkdir("a", 0755), "mkdir");
	must(mkdir("b", 0755), "mkdir");
	make_file("a/f");
	watch(same_dir ? "A" : "B", same_dir ? "a" : "b", IN_ALL_EVENTS);
	step("open a/f");
	fd = open("a/f", O_RDWR);
	must(fd, "open");
	drain();
	step("%s renames a/f to %s", by_other ? "another process" : "this process", to);
	if (by_other)
		run_helper((char *[]){ "--rename", "a/f", (char *)to, NULL }, false);
	else
		must(rename("a/f", to), "rename");
	drain_events(false);
	step("fchmod");
	must(fchmod(fd, 0600), "fchmod");
	drain();
	step("write");
	must(write(fd, "x", 1) == 1 ? 0 : -1, "write");
	drain();
	step("ftruncate");
	must(ftruncate(fd, 1), "ftruncate");
	drain();
	step("close");
	must(close(fd), "close");
	drain();
}

static void scn_renamed_open_file(void)
{
	renamed_open_file(false, false);
}

static void scn_renamed_open_file_same_dir(void)
{
	renamed_open_file(false, true);
}

static void scn_renamed_open_file_by_other(void)
{
	renamed_open_file(true, false);
}

/* the open comes before any directory is watched (the directory asked late) */
static void scn_renamed_open_file_watched_after(void)
{
	int fd;

	must(mkdir("a", 0755), "mkdir");
	must(mkdir("b", 0755), "mkdir");
	make_file("a/f");
	watch("F", "a/f", IN_ATTRIB);
	step("open a/f");
	fd = open("a/f", O_RDWR);
	must(fd, "open");
	drain();
	step("rename a/f to b/g, then watch b");
	must(rename("a/f", "b/g"), "rename");
	watch("B", "b", IN_ALL_EVENTS);
	drain();
	step("fchmod");
	must(fchmod(fd, 0600), "fchmod");
	drain();
	step("close");
	must(close(fd), "close");
	drain();
}

/* a directory is watched elsewhere when the file is opened, the rename is
 * one no watch sees, and the new directory is watched after it */
static void scn_renamed_open_file_unseen(void)
{
	int fd;

	must(mkdir("a", 0755), "mkdir");
	must(mkdir("b", 0755), "mkdir");
	must(mkdir("c", 0755), "mkdir");
	make_file("a/f");
	watch("C", "c", IN_ALL_EVENTS);
	step("open a/f");
	fd = open("a/f", O_RDWR);
	must(fd, "open");
	drain();
	step("rename a/f to b/g, then watch b");
	must(rename("a/f", "b/g"), "rename");
	watch("B", "b", IN_ALL_EVENTS);
	drain();
	step("fchmod");
	must(fchmod(fd, 0600), "fchmod");
	drain();
	step("close");
	must(close(fd), "close");
	drain();
}

/* ---- item 4: inode identity: a reused inode number inherits no watch */

static void scn_reused_inode(void)
{
	struct stat old, now;
	char name[32], label[16];
	int round, i = 0;

	must(mkdir("d", 0755), "mkdir");
	step("d/f removed by a process without the shim, its inode number reused");
	/* other programs making files at the same time may take the number
	 * first: another file, another round */
	for (round = 0; round < 20; round++) {
		snprintf(name, sizeof name, "d/f%d", round);
		make_file(name);
		must(stat(name, &old), "stat");
		snprintf(label, sizeof label, "F%d", round);
		watch(label, name, IN_ALL_EVENTS);
		run_helper((char *[]){ "--unlink", name, NULL }, true);
		for (i = 0; i < 100; i++) {
			snprintf(name, sizeof name, "d/n%d-%d", round, i);
			make_file(name);
			must(stat(name, &now), "stat");
			if (now.st_ino == old.st_ino)
				break;
		}
		if (i < 100)
			break;
		if (nwatches == MAX_WATCHES)
			nwatches = 0;	/* labels of rounds long done */
	}
	/* the kernel saw the removals; the shim could not */
	drain_events(true);
	if (round == 20) {
		printf("SKIP: no inode number reused here\n");
		exit(77);
	}
	step("chmod, write and remove the new file");
	must(chmod(name, 0600), "chmod");
	make_file(name);
	must(unlink(name), "unlink");
	drain();
}

/* item 4: a watch on a lower-layer file or directory of an overlay mount
 * at DIR/merged (test/divergences_notify.fuzz mounts it) survives copy-up */
static void scn_overlay_copy_up(void)
{
	int fd;

	watch("D", "merged", IN_ALL_EVENTS);
	watch("F", "merged/f", IN_ALL_EVENTS);
	watch("G", "merged/g", IN_ALL_EVENTS);
	watch("S", "merged/sub", IN_ALL_EVENTS);
	step("chmod merged/f (copies it up)");
	must(chmod("merged/f", 0600), "chmod");
	drain();
	step("chmod merged/f again");
	must(chmod("merged/f", 0640), "chmod");
	drain();
	step("open merged/g for writing (copies it up), write, close");
	fd = open("merged/g", O_WRONLY);
	must(fd, "open");
	must(write(fd, "x", 1) == 1 ? 0 : -1, "write");
	must(close(fd), "close");
	drain();
	step("create merged/sub/new (copies sub up)");
	make_file("merged/sub/new");
	drain();
	step("rename merged/sub/h to merged/sub/h2");
	must(rename("merged/sub/h", "merged/sub/h2"), "rename");
	drain();
	step("rm merged/f");
	must(unlink("merged/f"), "unlink");
	drain();
}

static const struct scenario {
	const char *name;
	void (*run)(void);
	bool in_overlay;	/* runs in DIR itself: lower, upper, merged */
} scenarios[] = {
	{ "rmdir-open-fd", scn_rmdir_open_fd, false },
	{ "rmdir-open-fd-excl-unlink", scn_rmdir_open_fd_excl_unlink, false },
	{ "rmdir-opendir", scn_rmdir_opendir, false },
	{ "rmdir-two-fds", scn_rmdir_two_fds, false },
	{ "rmdir-held-elsewhere", scn_rmdir_held_elsewhere, false },
	{ "rmdir-held-until-exit", scn_rmdir_held_until_exit, false },
	{ "rmdir-held-by-forked-child", scn_rmdir_held_by_forked_child, false },
	{ "rmdir-by-other", scn_rmdir_by_other, false },
	{ "rename-over-open-dir", scn_rename_over_open_dir, false },
	{ "excl-unlink-both", scn_excl_unlink_both, false },
	{ "excl-unlink-dir-only", scn_excl_unlink_dir_only, false },
	{ "excl-unlink-file-only", scn_excl_unlink_file_only, false },
	{ "renamed-open-file", scn_renamed_open_file, false },
	{ "renamed-open-file-same-dir", scn_renamed_open_file_same_dir, false },
	{ "renamed-open-file-by-other", scn_renamed_open_file_by_other, false },
	{ "renamed-open-file-watched-after", scn_renamed_open_file_watched_after, false },
	{ "renamed-open-file-unseen", scn_renamed_open_file_unseen, false },
	{ "reused-inode", scn_reused_inode, false },
	{ "overlay-copy-up", scn_overlay_copy_up, true },
};

int main(int argc, char **argv)
{
	const struct scenario *s = NULL;
	char dir[4096];
	const char *base;

	self_exe = "/proc/self/exe";
	if (argc >= 2 && !strncmp(argv[1], "--", 2) && strcmp(argv[1], "--list"))
		return helper_main(argc, argv);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 2 && !strcmp(argv[1], "--list")) {
		for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++)
			printf("%s%s\n", scenarios[i].name,
			       scenarios[i].in_overlay ? " overlay" : "");
		return 0;
	}
	for (size_t i = 0; argc >= 2 && i < sizeof scenarios / sizeof scenarios[0]; i++)
		if (!strcmp(argv[1], scenarios[i].name))
			s = &scenarios[i];
	if (!s || argc > 3) {
		fprintf(stderr, "usage: %s SCENARIO [DIR] | --list\n", argv[0]);
		return 2;
	}
	base = argc == 3 ? argv[2] : getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	if (s->in_overlay) {
		must(chdir(base), "chdir");
	} else {
		snprintf(dir, sizeof dir, "%s/divergences-notify.XXXXXX", base);
		if (!mkdtemp(dir) || chdir(dir) < 0)
			die("workdir");
	}
	inst = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	must(inst, "inotify_init1");
	printf("scenario %s\n", s->name);
	s->run();
	close(inst);
	if (!s->in_overlay) {
		char cmd[4200];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
		if (chdir("/") == 0 && system(cmd) != 0)
			return 2;
	}
	return 0;
}
