/*
 * dl_handles.c - programs that reach libc through a dlopen handle
 * (ctypes.CDLL("libc.so.6") and its kind) get the shim's functions: a
 * watcher built on them works with the kernel's inotify denied, and a
 * writer through them makes events.  RTLD_NEXT and RTLD_DEFAULT keep their
 * meaning for the caller, and dlvsym of an old version is libc's.
 *
 * The Python programs are test/programs/dl_handles.py, run with Debian's
 * /usr/bin/python3 (pyinotify is python3-pyinotify, inotify.adapters is
 * python3-inotify; tools/setup-debian installs both); a module that is not
 * there skips its test and says so.  The expected events are the kernel's:
 * test/kernel-check.sh runs this file without the shim, the watchers and
 * writers then on the kernel's inotify.
 */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

#define PYTHON "/usr/bin/python3"

static char top[PATH_MAX];
static char script[PATH_MAX];
static pid_t child;
static int child_out = -1;

static void setup(void)
{
	const char *src = getenv("INOTIFY_SHIM_TEST_SRCDIR");

	scratch_enter();
	cr_assert_not_null(getcwd(top, sizeof top));
	path_printf(script, sizeof script, "%s/test/programs/dl_handles.py", src ? src : ".");
}

static void teardown(void)
{
	if (child > 0) {
		kill(child, SIGKILL);
		while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
			;
	}
	child = 0;
	if (child_out >= 0)
		close(child_out);
	child_out = -1;
	scratch_leave();
}

TestSuite(dl_handles, .init = setup, .fini = teardown, .timeout = 60);

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

/* One line of the child's output, waiting up to ms; false at the deadline
 * or its end. */
static bool read_line(char *line, size_t size, int ms)
{
	long end = now_ms() + ms;
	size_t n = 0;

	while (n + 1 < size) {
		struct pollfd p = { .fd = child_out, .events = POLLIN };
		long left = end - now_ms();
		char c;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0 || read(child_out, &c, 1) != 1)
			return false;
		if (c == '\n')
			break;
		line[n++] = c;
	}
	line[n] = 0;
	return true;
}

/* Start dl_handles.py MODE DIR with its stdout on a pipe. */
static void start(const char *mode, const char *dir)
{
	int p[2];

	if (access(PYTHON, X_OK) != 0)
		cr_skip_test(PYTHON " is not installed (Debian package python3): skipped");
	cr_assert_eq(pipe(p), 0);
	child = fork();
	cr_assert_geq(child, 0);
	if (child == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execl(PYTHON, PYTHON, script, mode, dir, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	child_out = p[0];
}

/* The child's exit status, waited for up to ms. */
static int finish(int ms)
{
	long end = now_ms() + ms;
	int st;

	while (now_ms() < end) {
		pid_t r = waitpid(child, &st, WNOHANG);
		if (r == child) {
			child = 0;
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		}
		poll(NULL, 0, 10);
	}
	cr_assert_fail("the python program did not end in %d ms", ms);
	return -1;
}

/* What the kernel reports for the writer: create, write, close, rename. */
static const char *const writer_events[] = { "100 f", "20 f", "2 f", "8 f", "40 f", "80 g" };
#define NWRITER (sizeof writer_events / sizeof writer_events[0])

static void write_in_c(void)
{
	int fd = open("w/f", O_WRONLY | O_CREAT | O_TRUNC, 0644);

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "x", 1), 1);
	cr_assert_eq(close(fd), 0);
	cr_assert_eq(rename("w/f", "w/g"), 0);
}

/* A watcher of dl_handles.py reports the writer's events, exactly. */
static void python_watcher(const char *mode, const char *package)
{
	char line[256];

	cr_assert_eq(mkdir("w", 0755), 0);
	start(mode, "w");
	cr_assert(read_line(line, sizeof line, 20000), "%s printed nothing", mode);
	if (strncmp(line, "missing ", 8) == 0)
		cr_skip_test("python module %s is not installed (Debian package %s): skipped",
			     line + 8, package);
	cr_assert_str_eq(line, "ready", "%s: %s", mode, line);
	write_in_c();
	for (size_t i = 0; i < NWRITER; i++) {
		cr_assert(read_line(line, sizeof line, 20000), "%s: no event %zu (%s)", mode,
			  i, writer_events[i]);
		cr_expect_str_eq(line, writer_events[i], "%s: event %zu", mode, i);
	}
	cr_assert_eq(finish(20000), 0);
}

Test(dl_handles, pyinotify_watches_through_ctypes)
{
	python_watcher("watch-pyinotify", "python3-pyinotify");
}

Test(dl_handles, python3_inotify_watches_through_ctypes)
{
	python_watcher("watch-inotify", "python3-inotify");
}

Test(dl_handles, a_ctypes_watcher_calls_inotify_through_the_libc_handle)
{
	python_watcher("watch-ctypes", "python3");
}

Test(dl_handles, a_ctypes_writer_makes_events)
{
	struct ev ev[16];
	int ifd = inotify_init1(IN_NONBLOCK), n;

	cr_assert_geq(ifd, 0);
	cr_assert_eq(mkdir("w", 0755), 0);
	cr_assert_gt(inotify_add_watch(ifd, "w", IN_ALL_EVENTS), 0);
	start("write-ctypes", "w");
	cr_assert_eq(finish(20000), 0, "the ctypes writer failed");
	n = wait_events(ifd, ev, 16, (int)NWRITER, 5000);
	if (n == (int)NWRITER && wait_readable(ifd, 50))
		n += read_events(ifd, ev + n, 16 - n);
	for (int i = 0; i < n && i < (int)NWRITER; i++) {
		char line[300];
		snprintf(line, sizeof line, "%x %s", ev[i].mask, ev[i].name);
		cr_expect_str_eq(line, writer_events[i], "event %d", i);
	}
	cr_assert_eq(n, (int)NWRITER, "got %d events, wanted %zu", n, NWRITER);
	close(ifd);
}

/* The same from C, without Python. */
Test(dl_handles, lookups_on_a_libc_handle_give_functions_that_report)
{
	void *libc = dlopen("libc.so.6", RTLD_NOW);
	int (*init1)(int), (*add)(int, const char *, uint32_t);
	int (*open_)(const char *, int, ...), (*close_)(int);
	struct ev ev[4];
	int ifd, fd;

	cr_assert_not_null(libc, "%s", dlerror());
	init1 = (int (*)(int))dlsym(libc, "inotify_init1");
	add = (int (*)(int, const char *, uint32_t))dlsym(libc, "inotify_add_watch");
	open_ = (int (*)(const char *, int, ...))dlvsym(libc, "open", "GLIBC_2.2.5");
	close_ = (int (*)(int))dlsym(libc, "close");
	cr_assert(init1 && add && open_ && close_, "%s", dlerror());
	ifd = init1(IN_NONBLOCK);
	cr_assert_geq(ifd, 0, "inotify_init1 through the handle: %s", strerror(errno));
	cr_assert_gt(add(ifd, ".", IN_OPEN | IN_CLOSE), 0, "%s", strerror(errno));
	fd = open_("f", O_RDONLY | O_CREAT, 0644);
	cr_assert_geq(fd, 0);
	cr_assert_eq(close_(fd), 0);
	cr_assert_eq(wait_events(ifd, ev, 4, 2, 5000), 2);
	cr_expect_eq(ev[0].mask, IN_OPEN, "%s", mask_name(ev[0].mask));
	cr_expect_eq(ev[1].mask, IN_CLOSE_NOWRITE, "%s", mask_name(ev[1].mask));
	close(ifd);
	dlclose(libc);
}

/* ctypes.CDLL(None): the program's own handle searches the global scope,
 * where the shim comes before libc. */
Test(dl_handles, lookups_on_the_programs_own_handle_give_the_shims)
{
	void *self = dlopen(NULL, RTLD_NOW);
	int (*init1)(int);
	int ifd;

	cr_assert_not_null(self, "%s", dlerror());
	init1 = (int (*)(int))dlsym(self, "inotify_init1");
	cr_assert_not_null(init1, "%s", dlerror());
	ifd = init1(IN_NONBLOCK);
	cr_assert_geq(ifd, 0, "inotify_init1 through dlopen(NULL): %s", strerror(errno));
	cr_expect_gt(inotify_add_watch(ifd, ".", IN_CREATE), 0, "%s", strerror(errno));
	close(ifd);
	dlclose(self);
}

/* RTLD_NEXT from the program finds the next object after the program, the
 * same as RTLD_DEFAULT finds first (the program defines no open): the shim
 * where it is loaded, libc without it.  A dlsym that asked for the caller
 * would make it the next after the shim: libc's. */
Test(dl_handles, rtld_next_is_relative_to_the_caller)
{
	void *next = dlsym(RTLD_NEXT, "open"), *first = dlsym(RTLD_DEFAULT, "open");

	cr_assert_not_null(next);
	cr_expect_eq(next, first, "dlsym(RTLD_NEXT) is not the caller's next");
	cr_expect_eq(dlsym(RTLD_NEXT, "inotify_add_watch"), dlsym(RTLD_DEFAULT, "inotify_add_watch"));
}

Test(dl_handles, a_failed_default_lookup_names_the_program)
{
	const char *err;

	cr_assert_null(dlsym(RTLD_DEFAULT, "no_such_symbol_anywhere"));
	err = dlerror();
	cr_assert_not_null(err);
	cr_expect(strstr(err, "inotify-shim") == NULL, "the message names the shim: %s", err);
}

/* An old version asked for by dlvsym is libc's own, not the shim's
 * (which wraps the default one). */
Test(dl_handles, dlvsym_of_an_old_version_is_libcs)
{
	void *libc = dlopen("libc.so.6", RTLD_NOW);
	void *old = dlvsym(libc, "posix_spawn", "GLIBC_2.2.5");
	Dl_info info;

	cr_assert_not_null(old, "%s", dlerror());
	cr_assert(dladdr(old, &info));
	cr_expect(strstr(info.dli_fname, "libc.so") != NULL, "found in %s", info.dli_fname);
	dlclose(libc);
}
