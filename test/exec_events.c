/*
 * exec_events.c - executing a watched file: IN_OPEN, one IN_ACCESS per
 * read the kernel makes of it, IN_CLOSE_NOWRITE when its last reference
 * goes (the last process running an ELF image ends; a script's at the end
 * of the exec), to the directory's watch with the name and to the file's
 * own; a #! script's interpreter and an ELF's (ld.so) the same; failed
 * execs as far as the kernel opened the file.  The executables are copies
 * of /bin/true and /bin/sh in the watched directory "w".
 *
 * Every expected sequence is the kernel's: test/kernel-check.sh runs this
 * file against the kernel's inotify (with INOTIFY_SHIM_TEST_BUILDDIR set
 * for the ld.so test, which needs test/exec_interp from the build).
 */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <gnu/libc-version.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

extern char **environ;

static int ifd, dir_wd, file_wd;
static char top[PATH_MAX];

static void copy(const char *from, const char *to, mode_t mode)
{
	char buf[65536];
	int in = open(from, O_RDONLY), out;
	ssize_t n;

	cr_assert_geq(in, 0, "%s: %s", from, strerror(errno));
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC, mode);
	cr_assert_geq(out, 0, "%s: %s", to, strerror(errno));
	while ((n = read(in, buf, sizeof buf)) > 0)
		cr_assert_eq(write(out, buf, (size_t)n), n);
	close(in);
	close(out);
	cr_assert_eq(chmod(to, mode), 0);
}

static void put(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	cr_assert_eq(chmod(path, mode), 0);
}

static void setup(void)
{
	char text[PATH_MAX + 64];

	/* make check-valgrind runs the children under valgrind too: each exec
	 * is then valgrind's, which opens and reads the program itself */
	if (getenv("INOTIFY_SHIM_TEST_VALGRIND"))
		cr_skip_test("under valgrind, the executed program is opened by valgrind");
	scratch_enter();
	cr_assert_not_null(getcwd(top, sizeof top));
	cr_assert_eq(mkdir("w", 0755), 0);
	copy("/bin/true", "w/true", 0755);
	copy("/bin/sh", "w/sh", 0755);
	snprintf(text, sizeof text, "#!%s/w/sh\nexit 0\n", top);
	put("w/script", text, 0755);
	put("w/badinterp", "#!/nonexistent/interpreter\n", 0755);
	put("w/garbage", "not a program\n", 0755);
	put("w/plain", "not executable\n", 0644);
	ifd = inotify_init1(IN_NONBLOCK);
	cr_assert_geq(ifd, 0, "inotify_init1: %s", strerror(errno));
	dir_wd = inotify_add_watch(ifd, "w", IN_ALL_EVENTS);
	cr_assert_gt(dir_wd, 0);
	file_wd = 0;
}

static void teardown(void)
{
	if (getenv("INOTIFY_SHIM_TEST_VALGRIND"))
		return;
	close(ifd);
	scratch_leave();
}

TestSuite(exec_events, .init = setup, .fini = teardown, .timeout = 60);

static void watch_file(const char *path)
{
	file_wd = inotify_add_watch(ifd, path, IN_ALL_EVENTS);
	cr_assert_gt(file_wd, 0);
}

/* The events queued now are exactly want[], each written "D MASK name"
 * (the directory's watch) or "F MASK" (the file's own), MASK in hex. */
static void expect(const char *const *want, int n)
{
	struct ev ev[64];
	int got = wait_events(ifd, ev, 64, n, 10000);

	if (got == n && wait_readable(ifd, 100))
		got += read_events(ifd, ev + got, 64 - got);
	for (int i = 0; i < got && i < 64; i++) {
		char line[320];
		if (ev[i].wd == dir_wd)
			snprintf(line, sizeof line, "D %x %s", ev[i].mask, ev[i].name);
		else if (ev[i].wd == file_wd)
			snprintf(line, sizeof line, "F %x", ev[i].mask);
		else
			snprintf(line, sizeof line, "wd %d %x %s", ev[i].wd, ev[i].mask, ev[i].name);
		if (i < n)
			cr_expect_str_eq(line, want[i], "event %d: %s, wanted %s", i, line, want[i]);
		else
			cr_expect_fail("event %d more: %s", i, line);
	}
	cr_assert_eq(got, n, "got %d events, wanted %d", got, n);
}

/* Run in a child: how() execs (and returns only on failure); the child's
 * exit status, 100 + errno of a failed exec. */
static int in_child(int (*how)(const char *), const char *path)
{
	pid_t pid = fork();
	int st;

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		how(path);
		_exit(100 + errno);
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static int do_execve(const char *path)
{
	char *argv[] = { (char *)path, NULL };

	return execve(path, argv, environ);
}

static int do_fexecve(const char *path)
{
	char *argv[] = { (char *)path, NULL };
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	return fexecve(fd, argv, environ);
}

static int do_execlp(const char *file)
{
	setenv("PATH", "w", 1);
	return execlp(file, file, (char *)NULL);
}

static int do_execveat(const char *name)
{
	char *argv[] = { (char *)name, NULL };
	int dir = open("w", O_PATH | O_DIRECTORY);

	return execveat(dir, name, argv, environ, 0);
}

/* a dynamically linked ELF: the header, the program headers and the
 * interpreter's name are three reads */
#define ELF_RUN(name) \
	"D 20 " name, "F 20", "D 1 " name, "F 1", "D 1 " name, "F 1", "D 1 " name, "F 1", \
	"D 10 " name, "F 10"

Test(exec_events, execve_of_an_elf_opens_reads_it_and_closes_it_at_exit)
{
	const char *want[] = { ELF_RUN("true") };

	watch_file("w/true");
	cr_assert_eq(in_child(do_execve, "w/true"), 0);
	expect(want, 10);
}

Test(exec_events, posix_spawn_gives_the_same)
{
	const char *want[] = { ELF_RUN("true") };
	char *argv[] = { "true", NULL };
	pid_t pid;
	int st;

	watch_file("w/true");
	cr_assert_eq(posix_spawn(&pid, "w/true", NULL, NULL, argv, environ), 0);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert_eq(st, 0);
	expect(want, 10);
}

Test(exec_events, execlp_through_path_gives_the_same)
{
	const char *want[] = { ELF_RUN("true") };

	watch_file("w/true");
	cr_assert_eq(in_child(do_execlp, "true"), 0);
	expect(want, 10);
}

Test(exec_events, execveat_relative_to_a_directory_gives_the_same)
{
	const char *want[] = { ELF_RUN("true") };

	watch_file("w/true");
	cr_assert_eq(in_child(do_execveat, "true"), 0);
	expect(want, 10);
}

/* the program's own open, exec's open and reads, the close-on-exec close
 * at the end of the exec, and the image's close at exit */
Test(exec_events, fexecve_opens_the_file_again)
{
	const char *want[] = { "D 20 true", "F 20", ELF_RUN("true"), "D 10 true", "F 10" };

	watch_file("w/true");
	cr_assert_eq(in_child(do_fexecve, "w/true"), 0);
	expect(want, 14);
}

Test(exec_events, a_script_then_its_interpreter)
{
	/* only the directory's watch: the three reads of sh are one event
	 * (the queue merges them); then sh reads the script itself, and
	 * closes it at exit before its image goes */
	const char *want[] = { "D 20 script", "D 1 script", "D 20 sh", "D 1 sh", "D 10 script",
			       "D 20 script", "D 1 script", "D 10 script", "D 10 sh" };

	cr_assert_eq(in_child(do_execve, "w/script"), 0);
	expect(want, 9);
}

/* A forked child runs the same image: its close is at the last exit. */
Test(exec_events, the_image_closes_when_its_last_process_ends)
{
	const char *before[] = { "D 20 sh", "D 1 sh" }, *after[] = { "D 10 sh" };
	char *argv[] = { "sh", "-c", "(read x <&3) & exit 0", NULL };
	int p[2], st;
	pid_t pid;

	cr_assert_eq(pipe(p), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		close(p[1]);
		dup2(p[0], 3);
		execve("w/sh", argv, environ);
		_exit(127);
	}
	close(p[0]);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert_eq(st, 0);
	expect(before, 2);
	cr_assert_eq(write(p[1], "x\n", 2), 2);
	close(p[1]);
	expect(after, 1);
}

/* The image's last process execs: its close comes after the next image's
 * open and reads, at the end of that exec. */
Test(exec_events, an_image_that_execs_closes_after_the_next_one_opens)
{
	const char *want[] = { "D 20 sh", "D 1 sh", "D 20 true", "D 1 true", "D 10 sh",
			       "D 10 true" };
	char cmd[PATH_MAX + 16];
	char *argv[] = { "sh", "-c", cmd, NULL };
	pid_t pid;
	int st;

	path_printf(cmd, sizeof cmd, "exec %s/w/true", top);
	cr_assert_eq(posix_spawn(&pid, "w/sh", NULL, NULL, argv, environ), 0);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert_eq(st, 0);
	expect(want, 6);
}

/* How the shim tells the next image (an environment entry) is not seen by
 * the program. */
Test(exec_events, the_next_image_does_not_see_the_shims_entry)
{
	char *argv[] = { "sh", "-c", "exec env", NULL };
	char buf[65536];
	size_t len = 0;
	ssize_t n;
	int p[2], st;
	pid_t pid = -1;
	posix_spawn_file_actions_t fa;

	cr_assert_eq(pipe(p), 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	cr_assert_eq(posix_spawn(&pid, "w/sh", &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	while (len < sizeof buf - 1 && (n = read(p[0], buf + len, sizeof buf - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = 0;
	close(p[0]);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert_eq(st, 0);
	cr_assert_gt(len, 0, "env printed nothing");
	cr_expect_null(strstr(buf, "INOTIFY_SHIM_EXEC"), "%s", buf);
}

Test(exec_events, an_exec_that_fails_with_enoexec_opened_the_file)
{
	const char *want[] = { "D 20 garbage", "F 20", "D 1 garbage", "F 1", "D 10 garbage",
			       "F 10" };

	watch_file("w/garbage");
	cr_assert_eq(in_child(do_execve, "w/garbage"), 100 + ENOEXEC);
	expect(want, 6);
}

Test(exec_events, posix_spawn_that_fails_with_enoexec_opened_the_file)
{
	const char *want[] = { "D 20 garbage", "D 1 garbage", "D 10 garbage" };
	char *argv[] = { "garbage", NULL };
	pid_t pid;

	cr_assert_eq(posix_spawn(&pid, "w/garbage", NULL, NULL, argv, environ), ENOEXEC);
	expect(want, 3);
}

Test(exec_events, a_script_whose_interpreter_is_missing_was_opened)
{
	const char *want[] = { "D 20 badinterp", "D 1 badinterp", "D 10 badinterp" };

	cr_assert_eq(in_child(do_execve, "w/badinterp"), 100 + ENOENT);
	expect(want, 3);
}

Test(exec_events, an_exec_that_fails_before_opening_gives_nothing)
{
	const char *want[] = { "D 100 marker", "D 20 marker", "D 8 marker" };

	cr_assert_eq(in_child(do_execve, "w/missing"), 100 + ENOENT);
	cr_assert_eq(in_child(do_execve, "w/plain"), 100 + EACCES);
	close(creat("w/marker", 0644));
	expect(want, 3);
}

/* The objects ld.so loads at start: IN_OPEN, IN_ACCESS for each of its
 * reads (libc's program headers lie beyond its first read: three), and
 * IN_CLOSE_NOWRITE at exit, after the image's, highest address first (the
 * one loaded first).  Copies of libm (preloaded) and libc (found through
 * LD_LIBRARY_PATH) in the watched directory. */
Test(exec_events, the_libraries_ld_so_loads_are_opened_read_and_closed_at_exit)
{
	const char *want[] = { "D 20 true", "D 1 true", "D 20 libm.so.6", "D 1 libm.so.6",
			       "D 20 libc.so.6", "F 20", "D 1 libc.so.6", "F 1", "D 1 libc.so.6",
			       "F 1", "D 1 libc.so.6", "F 1", "D 10 true", "D 10 libm.so.6",
			       "D 10 libc.so.6", "F 10" };
	char lib[PATH_MAX], from[PATH_MAX], preload[2 * PATH_MAX + 64], *slash;
	const char *old = getenv("LD_PRELOAD");
	Dl_info info;

	cr_assert(dladdr((void *)&gnu_get_libc_version, &info) && info.dli_fname, "where is libc?");
	path_printf(lib, sizeof lib, "%s", info.dli_fname);
	slash = strrchr(lib, '/');
	cr_assert_not_null(slash);
	*slash = 0;
	path_printf(from, sizeof from, "%s/libc.so.6", lib);
	copy(from, "w/libc.so.6", 0755);
	path_printf(from, sizeof from, "%s/libm.so.6", lib);
	copy(from, "w/libm.so.6", 0755);
	/* the copies' own events */
	{
		struct ev ev[64];
		while (read_events(ifd, ev, 64) > 0)
			;
	}
	watch_file("w/libc.so.6");
	snprintf(preload, sizeof preload, "%s%s%s/w/libm.so.6", old ? old : "", old ? " " : "", top);
	path_printf(lib, sizeof lib, "%s/w", top);
	setenv("LD_PRELOAD", preload, 1);
	setenv("LD_LIBRARY_PATH", lib, 1);
	cr_assert_eq(in_child(do_execve, "w/true"), 0);
	expect(want, 16);
}

/* test/exec_interp names, as its interpreter, a copy of ld.so in a
 * directory of the build (linked so by test/local.mk). */
Test(exec_events, an_elf_interpreter_in_a_watched_directory)
{
	const char *build = getenv("INOTIFY_SHIM_TEST_BUILDDIR");
	const char *want[] = { "wd 2 20 ld.so", "wd 2 1 ld.so", "wd 2 10 ld.so" };
	char dir[PATH_MAX], ld[PATH_MAX], prog[PATH_MAX];
	char *argv[] = { "exec_interp", NULL };
	pid_t pid;
	int st, wd;

	if (!build)
		cr_skip_test("INOTIFY_SHIM_TEST_BUILDDIR is not set: test/exec_interp is not found");
	path_printf(dir, sizeof dir, "%s/test/exec-interp.d", build);
	path_printf(ld, sizeof ld, "%s/ld.so", dir);
	path_printf(prog, sizeof prog, "%s/test/exec_interp", build);
	mkdir(dir, 0755);
	unlink(ld);
	copy("/lib64/ld-linux-x86-64.so.2", ld, 0755);
	wd = inotify_add_watch(ifd, dir, IN_ALL_EVENTS);
	cr_assert_eq(wd, 2, "the instance's second watch");
	cr_assert_eq(posix_spawn(&pid, prog, NULL, NULL, argv, environ), 0, "%s", prog);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert_eq(st, 0);
	expect(want, 3);
	unlink(ld);
}
