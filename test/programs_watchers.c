/*
 * programs_watchers.c - real watchers work unmodified under the shim, with
 * the kernel's inotify denied: inotifywait (-m, -r), inotifywatch, tail -f
 * and -F, entr, python3 watchdog's Observer, node's fs.watch and gio
 * monitor.  Each is started as shipped; a writer in another process changes
 * what it watches, and the test asserts that the watcher reported it.
 *
 * A watcher that fell back to polling must not pass: each must hold an
 * emulated instance (a FIFO of this run's domain), and tail runs with a
 * polling interval of 1000 s.  Every wait has a deadline; every watcher is
 * killed and reaped at the end of its test, passed or failed (and dies with
 * the test process if that is killed).  A watcher that is not installed
 * skips its test and says so.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

#define MAX_WATCHERS 4

struct watcher {
	pid_t pid;		/* 0 once reaped */
	int status;		/* its wait status, once reaped */
	int in;			/* write end of its stdin, or -1 */
	char out[PATH_MAX];	/* its stdout and stderr, as files */
	char err[PATH_MAX];
};

static struct watcher watchers[MAX_WATCHERS];
static int nwatchers;
static char top[1024];		/* the scratch directory; "w" in it is watched */

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

static void setup(void)
{
	scratch_enter();
	/* as the watchers print it, symbolic links resolved */
	cr_assert_not_null(getcwd(top, sizeof top));
	cr_assert_eq(mkdir("w", 0755), 0);
}

static void teardown(void)
{
	for (int i = 0; i < nwatchers; i++) {
		if (watchers[i].pid > 0) {
			kill(watchers[i].pid, SIGKILL);
			while (waitpid(watchers[i].pid, NULL, 0) < 0 && errno == EINTR)
				;
		}
		if (watchers[i].in >= 0)
			close(watchers[i].in);
	}
	nwatchers = 0;
	scratch_leave();
}

TestSuite(watchers, .init = setup, .fini = teardown, .timeout = 90);

/* ---- programs */

static bool installed(const char *prog)
{
	char buf[PATH_MAX];
	const char *path = getenv("PATH");

	if (strchr(prog, '/'))
		return access(prog, X_OK) == 0;
	for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
		size_t n = strcspn(p, ":");
		snprintf(buf, sizeof buf, "%.*s/%s", (int)n, p, prog);
		if (n && access(buf, X_OK) == 0)
			return true;
		p += n + (p[n] == ':');
	}
	return false;
}

#define REQUIRE(prog, package)                                                    \
	do {                                                                      \
		if (!installed(prog))                                             \
			cr_skip_test("%s is not installed (Debian package %s): "  \
				     "skipped", prog, package);                   \
	} while (0)

/* Run argv with every standard stream on /dev/null; its exit status. */
static int quietly(char *const argv[])
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (pid < 0)
		return -1;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Start argv as watcher `name`: stdout and stderr to name.out and
 * name.err in the scratch directory (not in the watched "w"), stdin from
 * stdin_path, or from a pipe the test writes to (w->in) when it is NULL. */
static struct watcher *start(const char *name, char *const argv[], const char *stdin_path)
{
	struct watcher *w;
	int in[2] = { -1, -1 }, out, err;
	pid_t pid;

	cr_assert_lt(nwatchers, MAX_WATCHERS);
	w = &watchers[nwatchers];
	*w = (struct watcher){ .in = -1 };
	snprintf(w->out, sizeof w->out, "%s/%s.out", top, name);
	snprintf(w->err, sizeof w->err, "%s/%s.err", top, name);
	out = open(w->out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	err = open(w->err, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	cr_assert(out >= 0 && err >= 0, "output files: %s", strerror(errno));
	if (stdin_path)
		in[0] = open(stdin_path, O_RDONLY | O_CLOEXEC);
	else
		cr_assert_eq(pipe2(in, O_CLOEXEC), 0);
	cr_assert_geq(in[0], 0);
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (dup2(in[0], 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
			_exit(126);
		execvp(argv[0], argv);
		_exit(127);
	}
	cr_assert_gt(pid, 0, "fork: %s", strerror(errno));
	close(in[0]);
	close(out);
	close(err);
	w->pid = pid;
	w->in = in[1];
	nwatchers++;
	return w;
}

/* Reap w if it has exited; true if it has. */
static bool reaped(struct watcher *w)
{
	if (w->pid > 0 && waitpid(w->pid, &w->status, WNOHANG) == w->pid)
		w->pid = 0;
	return w->pid == 0;
}

static bool reaped_pred(void *arg)
{
	return reaped(arg);
}

static bool exits_within(struct watcher *w, int ms)
{
	return wait_until(reaped_pred, w, ms);
}

/* Stop a watcher that is still running, as a user would (SIGTERM, then
 * SIGKILL); false if it had died by itself already. */
static bool stop(struct watcher *w)
{
	if (reaped(w))
		return false;
	kill(w->pid, SIGTERM);
	if (!exits_within(w, 3000)) {
		kill(w->pid, SIGKILL);
		while (waitpid(w->pid, &w->status, 0) < 0 && errno == EINTR)
			;
		w->pid = 0;
	}
	return true;
}

static const char *describe_status(int st)
{
	static char buf[64];

	if (WIFEXITED(st))
		snprintf(buf, sizeof buf, "exit %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(buf, sizeof buf, "signal %d", WTERMSIG(st));
	else
		snprintf(buf, sizeof buf, "status 0x%x", st);
	return buf;
}

/* ---- output */

/* The whole file (at most 64 KiB); a static buffer. */
static const char *slurp(const char *path)
{
	static char buf[65536];
	ssize_t n = 0, r;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	buf[0] = 0;
	if (fd < 0)
		return buf;
	while (n < (ssize_t)sizeof buf - 1 &&
	       (r = read(fd, buf + n, sizeof buf - 1 - (size_t)n)) > 0)
		n += r;
	close(fd);
	buf[n] = 0;
	return buf;
}

struct want {
	const char *path;
	const char *text;
};

static bool has_text(void *arg)
{
	struct want *want = arg;
	return strstr(slurp(want->path), want->text) != NULL;
}

static bool shows(const char *path, const char *text, int ms)
{
	struct want want = { path, text };
	return wait_until(has_text, &want, ms);
}

#define assert_shows(w, file, text, ms)                                           \
	do {                                                                      \
		const char *text_ = (text);                                       \
		cr_assert(shows((w)->file, text_, (ms)),                          \
			  "no \"%s\" in %s within %d ms.\nstdout:\n%s",           \
			  text_, #file, (ms), slurp((w)->out));                   \
	} while (0)

/* ---- the emulation is what answered */

/* Does pid hold a FIFO of this run's domain, that is, an emulated
 * inotify instance? */
static bool holds_instance(void *arg)
{
	pid_t pid = *(pid_t *)arg;
	char dir[64], link[PATH_MAX], target[PATH_MAX], domain[PATH_MAX];
	const char *env = getenv("INOTIFY_SHIM_DOMAIN");
	struct dirent *e;
	bool found = false;
	size_t dlen;
	DIR *d;

	if (!env || !realpath(env, domain))
		return false;
	dlen = strlen(domain);
	snprintf(dir, sizeof dir, "/proc/%d/fd", (int)pid);
	d = opendir(dir);
	if (!d)
		return false;
	while (!found && (e = readdir(d))) {
		ssize_t n;
		snprintf(link, sizeof link, "%s/%s", dir, e->d_name);
		n = readlink(link, target, sizeof target - 1);
		if (n <= 0)
			continue;
		target[n] = 0;
		found = strncmp(target, domain, dlen) == 0 &&
			strncmp(target + dlen, "/f-", 3) == 0;
	}
	closedir(d);
	return found;
}

#define assert_emulated(w)                                                        \
	cr_assert(wait_until(holds_instance, &(w)->pid, 10000),                   \
		  "the watcher holds no emulated inotify instance.\nstderr:\n%s", \
		  slurp((w)->err))

/* ---- the writer: always another process */

static void writer(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	st = run_shell(cmd);
	cr_assert_eq(st, 0, "writer `%s` failed (%d)", cmd, st);
}

/* ---- inotifywait, inotifywatch */

Test(watchers, inotifywait_monitor_reports_changes_made_by_another_process)
{
	char *argv[] = { "inotifywait", "-m", "-e",
			 "create,modify,close_write,moved_from,moved_to,delete",
			 "--format", "%e %f", "w", NULL };
	struct watcher *w;

	REQUIRE("inotifywait", "inotify-tools");
	w = start("inotifywait", argv, "/dev/null");
	assert_shows(w, err, "Watches established.", 10000);
	assert_emulated(w);
	writer("echo hello > w/greeting && mv w/greeting w/renamed && rm w/renamed");
	assert_shows(w, out, "DELETE renamed\n", 5000);
	cr_assert_str_eq(slurp(w->out),
			 "CREATE greeting\n"
			 "MODIFY greeting\n"
			 "CLOSE_WRITE,CLOSE greeting\n"
			 "MOVED_FROM greeting\n"
			 "MOVED_TO renamed\n"
			 "DELETE renamed\n");
	cr_assert(stop(w), "inotifywait died: %s\nstderr:\n%s",
		  describe_status(w->status), slurp(w->err));
}

Test(watchers, inotifywait_recursive_watches_a_new_subdirectory)
{
	char *argv[] = { "inotifywait", "-m", "-r", "-e", "create,close_write",
			 "--format", "%w%f %e", "w", NULL };
	struct watcher *w;
	char name[64];
	long deadline;
	bool seen = false;

	REQUIRE("inotifywait", "inotify-tools");
	w = start("inotifywait", argv, "/dev/null");
	assert_shows(w, err, "Watches established.", 10000);
	assert_emulated(w);
	writer("mkdir w/sub");
	assert_shows(w, out, "w/sub CREATE,ISDIR\n", 5000);
	/* inotifywait prints the CREATE before it adds the new watch: create
	 * files in sub until one is reported, which proves the watch. */
	deadline = now_ms() + 10000;
	for (int i = 0; !seen && now_ms() < deadline; i++) {
		writer(": > w/sub/probe%d", i);
		snprintf(name, sizeof name, "w/sub/probe%d CREATE\n", i);
		seen = shows(w->out, name, 200);
	}
	cr_assert(seen, "no event from inside the new subdirectory.\nstdout:\n%s",
		  slurp(w->out));
	writer("echo data > w/sub/file");
	assert_shows(w, out, "w/sub/file CLOSE_WRITE,CLOSE\n", 5000);
	cr_assert(stop(w), "inotifywait died: %s", describe_status(w->status));
}

/* The value in column `column` of the row for `file` of inotifywatch's
 * table, or -1. */
static long table_cell(const char *table, const char *file, const char *column)
{
	char header[512], line[512];
	const char *p = table, *nl;
	int col = -1, n = 0;

	/* the header: "total  modify  ...  filename" */
	while (*p && strncmp(p, "total ", 6) != 0)
		p = strchr(p, '\n') ? strchr(p, '\n') + 1 : p + strlen(p);
	if (!*p)
		return -1;
	nl = strchr(p, '\n');
	snprintf(header, sizeof header, "%.*s", nl ? (int)(nl - p) : (int)strlen(p), p);
	for (char *save, *t = strtok_r(header, " ", &save); t; t = strtok_r(NULL, " ", &save), n++)
		if (strcmp(t, column) == 0)
			col = n;
	if (col < 0 || !nl)
		return -1;
	for (p = nl + 1; *p; p = nl ? nl + 1 : p + strlen(p)) {
		char *cells[32], *save;
		int ncells = 0;

		nl = strchr(p, '\n');
		snprintf(line, sizeof line, "%.*s", nl ? (int)(nl - p) : (int)strlen(p), p);
		for (char *t = strtok_r(line, " ", &save); t && ncells < 32;
		     t = strtok_r(NULL, " ", &save))
			cells[ncells++] = t;
		if (ncells == n && strcmp(cells[n - 1], file) == 0)
			return strtol(cells[col], NULL, 10);
	}
	return -1;
}

Test(watchers, inotifywatch_counts_events_in_its_statistics_table)
{
	char *argv[] = { "inotifywatch", "-t", "3", "-r", "w", NULL };
	struct watcher *w;
	const char *table;

	REQUIRE("inotifywatch", "inotify-tools");
	cr_assert_eq(mkdir("w/sub", 0755), 0);
	w = start("inotifywatch", argv, "/dev/null");
	assert_shows(w, err, "Finished establishing watches", 10000);
	assert_emulated(w);
	writer("echo x > w/b && echo y >> w/b && touch w/sub/c");
	cr_assert(exits_within(w, 15000), "inotifywatch -t 3 did not finish");
	cr_assert(WIFEXITED(w->status) && WEXITSTATUS(w->status) == 0,
		  "inotifywatch: %s\nstderr:\n%s", describe_status(w->status),
		  slurp(w->err));
	table = slurp(w->out);
	/* as the kernel counts them: two opens, writes and closes of b and
	 * its creation; creation, open, utimes and close of c */
	cr_assert_eq(table_cell(table, "w/", "create"), 1, "table:\n%s", table);
	cr_assert_eq(table_cell(table, "w/", "open"), 2, "table:\n%s", table);
	cr_assert_eq(table_cell(table, "w/", "modify"), 2, "table:\n%s", table);
	cr_assert_eq(table_cell(table, "w/", "close_write"), 2, "table:\n%s", table);
	cr_assert_eq(table_cell(table, "w/", "total"), 7, "table:\n%s", table);
	cr_assert_eq(table_cell(table, "w/sub/", "create"), 1, "table:\n%s", table);
	cr_assert_eq(table_cell(table, "w/sub/", "attrib"), 1, "table:\n%s", table);
	cr_assert_eq(table_cell(table, "w/sub/", "total"), 4, "table:\n%s", table);
}

/* ---- tail */

/* tail polls every -s seconds when it has no inotify; at 1000 s, a line
 * that shows within the deadline came through inotify. */
#define TAIL_DEADLINE_MS 5000

Test(watchers, tail_f_shows_each_line_another_process_appends)
{
	char *argv[] = { "tail", "-s", "1000", "-f", "w/log", NULL };
	static const char *lines[] = { "one", "two", "three" };
	char text[64];
	struct watcher *w;

	writer("echo start > w/log");
	w = start("tail", argv, "/dev/null");
	assert_shows(w, out, "start\n", 10000);
	assert_emulated(w);
	for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
		writer("echo %s >> w/log", lines[i]);
		snprintf(text, sizeof text, "%s\n", lines[i]);
		assert_shows(w, out, text, TAIL_DEADLINE_MS);
	}
	cr_assert_str_eq(slurp(w->out), "start\none\ntwo\nthree\n");
	cr_assert(stop(w), "tail died: %s\nstderr:\n%s", describe_status(w->status),
		  slurp(w->err));
}

Test(watchers, tail_F_follows_a_file_renamed_and_recreated)
{
	char *argv[] = { "tail", "-s", "1000", "-F", "w/log", NULL };
	struct watcher *w;

	writer("echo start > w/log");
	w = start("tail", argv, "/dev/null");
	assert_shows(w, out, "start\n", 10000);
	assert_emulated(w);
	writer("echo one >> w/log");
	assert_shows(w, out, "one\n", TAIL_DEADLINE_MS);
	/* tail sizes its buffer for the names it follows ("log"): the
	 * IN_MOVED_TO of this longer name (48 bytes) gets EINVAL twice, and
	 * tail doubles the buffer each time, as it must on the kernel */
	writer("mv w/log w/log.rotated-0123456789abc && echo fresh > w/log");
	assert_shows(w, out, "fresh\n", TAIL_DEADLINE_MS);
	writer("echo after >> w/log && echo not-followed >> w/log.rotated-0123456789abc");
	assert_shows(w, out, "after\n", TAIL_DEADLINE_MS);
	cr_assert_null(strstr(slurp(w->out), "not-followed"), "stdout:\n%s", slurp(w->out));
	/* "has been replaced", or "has become inaccessible" then "has
	 * appeared": which depends on when tail wakes, on the kernel too */
	assert_shows(w, err, "following new file", 1000);
	cr_assert(stop(w), "tail died: %s", describe_status(w->status));
}

/* ---- entr */

Test(watchers, entr_runs_its_command_when_another_process_changes_the_file)
{
	char cmd[PATH_MAX + 64], list[PATH_MAX], marker[PATH_MAX];
	char *argv[] = { "entr", "-n", "-p", "-z", "sh", "-c", cmd, NULL };
	struct watcher *w;
	long deadline;
	bool ran = false;
	FILE *f;

	REQUIRE("entr", "entr");
	snprintf(marker, sizeof marker, "%s/ran", top);
	snprintf(cmd, sizeof cmd, "echo ran > '%s'", marker);
	snprintf(list, sizeof list, "%s/list", top);
	writer("echo start > w/watched");
	f = fopen(list, "w");
	cr_assert_not_null(f);
	fprintf(f, "%s/w/watched\n", top);
	fclose(f);
	w = start("entr", argv, list);
	assert_emulated(w);
	/* entr says nothing when it is ready: change the file until it acts */
	deadline = now_ms() + 10000;
	for (int i = 0; !ran && now_ms() < deadline; i++) {
		writer("echo %d >> w/watched", i);
		ran = shows(marker, "ran\n", 300);
	}
	cr_assert(ran, "entr never ran its command.\nstderr:\n%s", slurp(w->err));
	cr_assert(exits_within(w, 5000), "entr -z did not exit after its command");
	cr_assert(WIFEXITED(w->status) && WEXITSTATUS(w->status) == 0,
		  "entr: %s\nstderr:\n%s", describe_status(w->status), slurp(w->err));
}

/* ---- python3 watchdog */

static const char *python_with_watchdog(void)
{
	static const char *candidates[] = { "/usr/bin/python3", "python3" };

	for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++) {
		char *argv[] = { (char *)candidates[i], "-c",
				 "import watchdog.observers.inotify", NULL };
		if (installed(candidates[i]) && quietly(argv) == 0)
			return candidates[i];
	}
	return NULL;
}

static void script_path(char *buf, size_t size, const char *name)
{
	const char *srcdir = getenv("INOTIFY_SHIM_TEST_SRCDIR");

	snprintf(buf, size, "%s/test/programs/%s", srcdir ? srcdir : ".", name);
	cr_assert_eq(access(buf, R_OK), 0, "%s: %s", buf, strerror(errno));
}

Test(watchers, watchdog_observer_reports_changes_and_stops_promptly)
{
	const char *python = python_with_watchdog();
	char script[PATH_MAX];
	struct watcher *w;
	const char *stopped;
	long t0;

	if (!python)
		cr_skip_test("no python3 with watchdog (Debian package python3-watchdog): skipped");
	script_path(script, sizeof script, "watchdog_observer.py");
	char *argv[] = { (char *)python, script, "w", NULL };
	w = start("watchdog", argv, NULL);
	assert_shows(w, out, "ready InotifyObserver\n", 20000);
	assert_emulated(w);
	writer("echo hi > w/f && mv w/f w/g");
	assert_shows(w, out, "moved w/f w/g\n", 5000);
	cr_assert_not_null(strstr(slurp(w->out), "created w/f \n"), "stdout:\n%s",
			   slurp(w->out));
	cr_assert_not_null(strstr(slurp(w->out), "closed w/f \n"), "stdout:\n%s",
			   slurp(w->out));
	/* stop() removes the watch; the IN_IGNORED it queues wakes the
	 * reader thread blocked in read(), and join() returns */
	t0 = now_ms();
	cr_assert_eq(write(w->in, "stop\n", 5), 5);
	cr_assert(exits_within(w, 5000), "the observer did not stop.\nstdout:\n%s\nstderr:\n%s",
		  slurp(w->out), slurp(w->err));
	cr_assert(WIFEXITED(w->status) && WEXITSTATUS(w->status) == 0,
		  "watchdog: %s\nstderr:\n%s", describe_status(w->status), slurp(w->err));
	stopped = strstr(slurp(w->out), "stopped ");
	cr_assert_not_null(stopped);
	cr_assert_lt(strtod(stopped + 8, NULL), 1.0, "stop/join took %s", stopped + 8);
	cr_assert_lt(now_ms() - t0, 5000);
}

/* ---- node fs.watch */

Test(watchers, node_fs_watch_reports_changes_and_closes)
{
	char script[PATH_MAX];
	struct watcher *w;

	REQUIRE("node", "nodejs");
	script_path(script, sizeof script, "fs_watch.js");
	char *argv[] = { "node", script, "w", NULL };
	w = start("node", argv, NULL);
	assert_shows(w, out, "ready\n", 20000);
	assert_emulated(w);
	writer("echo hi > w/f");
	assert_shows(w, out, "rename f\n", 5000);
	assert_shows(w, out, "change f\n", 5000);
	writer("mv w/f w/g");
	assert_shows(w, out, "rename g\n", 5000);
	/* libuv reads until EAGAIN; a read of 0 or an error would have ended
	 * it with "fs.watch error" and status 3 */
	cr_assert(!reaped(w), "node exited: %s\nstderr:\n%s", describe_status(w->status),
		  slurp(w->err));
	cr_assert_eq(write(w->in, "stop\n", 5), 5);
	assert_shows(w, out, "closed\n", 5000);
	cr_assert(exits_within(w, 5000), "node did not exit after close()");
	cr_assert(WIFEXITED(w->status) && WEXITSTATUS(w->status) == 0,
		  "node: %s\nstderr:\n%s", describe_status(w->status), slurp(w->err));
}

/* ---- gio monitor (GLib's GFileMonitor) */

Test(watchers, gio_monitor_reports_changes)
{
	char *argv[] = { "gio", "monitor", "w", NULL };
	char text[PATH_MAX + 64];
	struct watcher *w;
	long deadline;
	bool seen = false;

	REQUIRE("gio", "libglib2.0-bin");
	w = start("gio", argv, "/dev/null");
	assert_emulated(w);
	/* gio says nothing when it is ready: create files until one shows */
	deadline = now_ms() + 10000;
	for (int i = 0; !seen && now_ms() < deadline; i++) {
		writer(": > w/probe%d", i);
		snprintf(text, sizeof text, "%s/w/probe%d: created\n", top, i);
		seen = shows(w->out, text, 300);
	}
	cr_assert(seen, "gio monitor reported nothing.\nstdout:\n%s\nstderr:\n%s",
		  slurp(w->out), slurp(w->err));
	writer("echo hi > w/f && mv w/f w/g && rm w/g");
	snprintf(text, sizeof text, "%s/w/g: deleted\n", top);
	assert_shows(w, out, text, 5000);
	snprintf(text, sizeof text, "%s/w/f: created\n", top);
	assert_shows(w, out, text, 0);
	snprintf(text, sizeof text, "%s/w/f: changes done\n", top);
	assert_shows(w, out, text, 0);
	snprintf(text, sizeof text, "%s/w/f: renamed to %s/w/g\n", top, top);
	assert_shows(w, out, text, 0);
	/* it aborts on a read of 0 or a failing FIONREAD */
	cr_assert(stop(w), "gio monitor died: %s\nstderr:\n%s", describe_status(w->status),
		  slurp(w->err));
}
