/*
 * scan_e2e.c - inotify-shim scan end to end: a watcher under the shim
 * (this test: the kernel's inotify denied by test/run-test.sh) reads the
 * events of changes made by processes the shim does not see, found by the
 * scanner; and one scanner per domain.  One domain serves the whole run
 * (test/run-test.sh), and one scanner the domain: main() runs the tests one
 * at a time, each with its own scanner.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"
#include "tool_helpers.h"

static char status_path[4096];
static pid_t scanner;

static void setup(void)
{
	scratch_enter();
	cr_assert_eq(mkdir("d", 0755), 0);
	/* this process's watches are recorded for the scanner (scan/paths.h) */
	setenv("INOTIFY_SHIM_SCAN", "1", 1);
	path_printf(status_path, sizeof status_path, "%s/scan.status",
		    getenv("INOTIFY_SHIM_DOMAIN"));
}

static void teardown(void)
{
	if (scanner > 0) {
		kill(scanner, SIGTERM);
		wait_exit(scanner, 10000);
		scanner = 0;
	}
	scratch_leave();
}

TestSuite(scan, .init = setup, .fini = teardown, .timeout = 60);

/* This test's scanner, once the state file is its own (not one that an
 * earlier scanner left). */
static void start_scanner(void)
{
	char me[32];

	scanner = tool_start("sout", "serr", "scan --interval 20 --cycle 200 --grace 60000");
	cr_assert_gt(scanner, 0);
	snprintf(me, sizeof me, "pid %d\n", (int)scanner);
	cr_assert(wait_file_contains(status_path, me, 20000), "not this scanner's state: %s%s",
		  slurp(status_path), slurp("serr"));
}

/* The watch on d, then a scanner that has looked at it once. */
static int watch_and_scan(uint32_t mask)
{
	int fd = inotify_init1(IN_NONBLOCK), wd;

	cr_assert_geq(fd, 0, "%s", strerror(errno));
	wd = inotify_add_watch(fd, "d", mask);
	cr_assert_eq(wd, 1, "%s", strerror(errno));
	start_scanner();
	cr_assert(wait_file_contains(status_path, "followed 1\n", 20000),
		  "the scanner never followed the watch: %s", slurp("serr"));
	return fd;
}

/* Run sh -c cmd outside the shim: LD_PRELOAD unset in the child. */
static void outside(const char *cmd)
{
	char buf[4096];

	snprintf(buf, sizeof buf, "env -u LD_PRELOAD sh -c '%s'", cmd);
	cr_assert_eq(run_shell(buf), 0, "%s", buf);
}

static void expect(const struct ev *e, uint32_t mask, const char *name)
{
	cr_expect_eq(e->mask, mask, "%s, not %s", mask_name(mask), mask_name(e->mask));
	cr_expect_str_eq(e->name, name);
}

Test(scan, change_by_a_process_outside_the_shim_is_seen)
{
	struct ev ev[8];
	int fd = watch_and_scan(IN_CREATE | IN_MODIFY | IN_CLOSE_WRITE), n;

	outside("echo x > d/f");
	n = wait_events(fd, ev, 8, 3, 20000);
	cr_assert_eq(n, 3, "%d events", n);
	expect(&ev[0], IN_CREATE, "f");
	expect(&ev[1], IN_MODIFY, "f");
	expect(&ev[2], IN_CLOSE_WRITE, "f");
	close(fd);
}

Test(scan, move_and_delete_by_a_process_outside_the_shim_are_seen)
{
	struct ev ev[8];
	int fd, n;

	cr_assert_eq(mkdir("d/sub", 0755), 0);
	fd = watch_and_scan(IN_MOVE | IN_DELETE | IN_ONLYDIR);
	outside("mv d/sub d/sub2");
	n = wait_events(fd, ev, 8, 2, 20000);
	cr_assert_eq(n, 2, "%d events", n);
	expect(&ev[0], IN_MOVED_FROM | IN_ISDIR, "sub");
	expect(&ev[1], IN_MOVED_TO | IN_ISDIR, "sub2");
	cr_expect_eq(ev[0].cookie, ev[1].cookie);
	cr_expect_neq(ev[0].cookie, 0);
	outside("rmdir d/sub2");
	n = wait_events(fd, ev, 8, 1, 20000);
	cr_assert_eq(n, 1, "%d events", n);
	expect(&ev[0], IN_DELETE | IN_ISDIR, "sub2");
	close(fd);
}

Test(scan, change_by_a_static_binary_is_seen)
{
	static const char src[] =
		"#include <fcntl.h>\n#include <unistd.h>\n"
		"int main(void) { int fd = open(\"d/g\", O_WRONLY | O_CREAT, 0644);\n"
		"return fd < 0 || write(fd, \"abc\", 3) != 3 || close(fd); }\n";
	FILE *f = fopen("w.c", "w");
	struct ev ev[8];
	int fd, n;

	cr_assert(f);
	fputs(src, f);
	fclose(f);
	if (run_shell("cc -static -o w w.c 2>/dev/null") != 0)
		cr_skip_test("cc -static cannot build here (no static libc)");
	fd = watch_and_scan(IN_CREATE | IN_MODIFY | IN_CLOSE_WRITE);
	cr_assert_eq(run_shell("./w"), 0);
	n = wait_events(fd, ev, 8, 3, 20000);
	cr_assert_eq(n, 3, "%d events", n);
	expect(&ev[0], IN_CREATE, "g");
	expect(&ev[1], IN_MODIFY, "g");
	expect(&ev[2], IN_CLOSE_WRITE, "g");
	close(fd);
}

Test(scan, deleted_watched_directory_is_delete_self_then_ignored)
{
	struct ev ev[8];
	int fd = watch_and_scan(IN_DELETE_SELF), n;

	outside("rmdir d");
	n = wait_events(fd, ev, 8, 2, 20000);
	cr_assert_eq(n, 2, "%d events", n);
	cr_expect_eq(ev[0].mask, IN_DELETE_SELF, "%s", mask_name(ev[0].mask));
	cr_expect_eq(ev[1].mask, IN_IGNORED, "%s", mask_name(ev[1].mask));
	close(fd);
}

Test(scan, second_scanner_of_a_domain_exits_at_once)
{
	int fd = watch_and_scan(IN_CREATE);

	cr_assert_eq(tool("scan -v --grace 60000"), 0, "%s", slurp("err"));
	cr_expect(strstr(slurp("err"), "a scanner already runs"), "%s", slurp("err"));
	close(fd);
}

Test(scan, racing_launchers_start_one_scanner)
{
	int fd = watch_and_scan(IN_CREATE);
	pid_t p[4];

	for (int i = 0; i < 4; i++)
		p[i] = tool_start("rout", "rerr", "scan --grace 60000");
	for (int i = 0; i < 4; i++)
		cr_expect_eq(wait_exit(p[i], 20000), 0, "launcher %d still runs", i);
	cr_expect_eq(kill(scanner, 0), 0, "the first scanner still runs");
	close(fd);
}

Test(scan, scanner_ends_when_the_domain_has_no_watch)
{
	int fd = watch_and_scan(IN_CREATE);
	pid_t p;

	kill(scanner, SIGTERM);
	cr_assert_eq(wait_exit(scanner, 10000), 0);
	scanner = 0;
	close(fd);
	p = tool_start("out2", "err2", "scan --grace 300");
	cr_expect_eq(wait_exit(p, 20000), 0, "it did not end: %s", slurp("err2"));
}

Test(scan, watches_are_recorded_only_when_asked)
{
	char paths[4096];
	int fd;

	unsetenv("INOTIFY_SHIM_SCAN");
	path_printf(paths, sizeof paths, "%s/paths", getenv("INOTIFY_SHIM_DOMAIN"));
	unlink(paths);
	fd = inotify_init1(IN_NONBLOCK);
	cr_assert_geq(fd, 0);
	cr_assert_eq(inotify_add_watch(fd, "d", IN_CREATE), 1, "%s", strerror(errno));
	cr_expect_neq(access(paths, F_OK), 0, "add_watch wrote %s unasked", paths);
	close(fd);
}

/* Read events into all (from *n on) until IN_CLOSE_WRITE of name. */
static void read_until_closed(int fd, struct ev *all, int *n, int max, const char *name)
{
	for (int waited = 0; waited < 20000; waited += 50) {
		if (wait_readable(fd, 50))
			*n += read_events(fd, all + *n, max - *n);
		for (int i = 0; i < *n; i++)
			if (all[i].mask == IN_CLOSE_WRITE && !strcmp(all[i].name, name))
				return;
		cr_assert_lt(*n, max, "too many events");
	}
	cr_assert_fail("no IN_CLOSE_WRITE of %s from the scanner", name);
}

Test(scan, change_by_a_process_under_the_shim_is_reported_by_its_hook_alone)
{
	static const uint32_t want[] = { IN_CREATE, IN_MODIFY, IN_CLOSE_WRITE, IN_ATTRIB,
					 IN_MOVED_FROM, IN_MOVED_TO, IN_DELETE };
	static const char *const names[] = { "f", "f", "f", "f", "f", "g", "g" };
	struct ev all[256];
	int fd = watch_and_scan(IN_CREATE | IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB |
				IN_MOVE | IN_DELETE), n = 0, k = 0, w;
	char marker[16];

	/* each change by this process (under the shim: its hooks tell it),
	 * then a change outside it, so that the scanner has looked at d
	 * twice since (its IN_CLOSE_WRITE comes one look after) */
	for (int step = 0; step < 4; step++) {
		if (step == 0) {
			w = open("d/f", O_WRONLY | O_CREAT, 0644);
			cr_assert_geq(w, 0);
			cr_assert_eq(write(w, "abc", 3), 3);
			close(w);
		} else if (step == 1) {
			cr_assert_eq(chmod("d/f", 0600), 0);
		} else if (step == 2) {
			cr_assert_eq(rename("d/f", "d/g"), 0);
		} else {
			cr_assert_eq(unlink("d/g"), 0);
		}
		snprintf(marker, sizeof marker, "m%d", step);
		outside(step == 0 ? "echo > d/m0" : step == 1 ? "echo > d/m1" :
			step == 2 ? "echo > d/m2" : "echo > d/m3");
		read_until_closed(fd, all, &n, 256, marker);
	}
	for (int i = 0; i < n; i++) {
		if (all[i].name[0] == 'm')
			continue;
		cr_assert_lt(k, 7, "an event more: %s %s", mask_name(all[i].mask), all[i].name);
		expect(&all[i], want[k], names[k]);
		k++;
	}
	cr_expect_eq(k, 7, "%d events about f and g, not 7", k);
	close(fd);
}

static int64_t ms_of(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t now_ms(void)
{
	return ms_of(CLOCK_REALTIME);
}

/* The file systems' timestamps come from CLOCK_REALTIME_COARSE: wait (10 s
 * at most) until it has passed ms. */
static void wait_coarse_clock_past(int64_t ms)
{
	for (int i = 0; i < 10000 && ms_of(CLOCK_REALTIME_COARSE) <= ms; i++)
		usleep(1000);
	cr_assert_gt(ms_of(CLOCK_REALTIME_COARSE), ms);
}

Test(scan, change_outside_after_a_hook_told_one_is_still_seen)
{
	struct ev ev[8];
	int fd = watch_and_scan(IN_MODIFY), w, n;

	w = open("d/f", O_WRONLY | O_CREAT, 0644);
	cr_assert_geq(w, 0);
	cr_assert_eq(write(w, "abc", 3), 3);
	close(w);
	n = wait_events(fd, ev, 8, 1, 20000);
	cr_assert_eq(n, 1, "the hook's IN_MODIFY");
	/* a change is one the hook told if its ctime is not after the hook's
	 * stamp (scan/hookstamp.h), and a ctime comes from the coarse clock:
	 * the change outside must come once that clock has passed the stamp,
	 * as a change a person makes after a build tool's would */
	wait_coarse_clock_past(now_ms() + 1);
	outside("echo more >> d/f");
	n = wait_events(fd, ev, 8, 1, 20000);
	cr_assert_eq(n, 1, "the scanner's IN_MODIFY of the change made outside");
	expect(&ev[0], IN_MODIFY, "f");
	close(fd);
}

/* Does pid still run (a zombie no reaper took does not)? */
static bool running(pid_t pid)
{
	char path[64], buf[512];
	const char *paren;
	FILE *f;
	size_t n;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	paren = strrchr(buf, ')');
	return paren && paren[1] == ' ' && paren[2] != 'Z' && paren[2] != 'X';
}

Test(scan, run_with_scan_starts_the_scanner)
{
	pid_t pid;

	cr_assert_eq(tool("run --scan=20 -- sh -c 'test \"$INOTIFY_SHIM_SCAN\" = 1'"), 0,
		     "CMD's watches are not recorded: %s", slurp("err"));
	cr_assert(wait_file_contains(status_path, "pid ", 20000),
		  "no scanner was started");
	/* not ours to wait for (run detached it): end it, and see it end */
	pid = atoi(slurp(status_path) + 4);
	cr_assert_gt(pid, 1);
	cr_assert_eq(kill(pid, SIGTERM), 0);
	for (int i = 0; i < 20000 && running(pid); i++)
		usleep(1000);
	cr_expect_not(running(pid), "the scanner %d did not end", (int)pid);
}

/* The bytes of /proc/PID/NAME (NUL-separated lists), or 0 bytes. */
static size_t proc_read(pid_t pid, const char *name, char *buf, size_t cap)
{
	char path[64];
	size_t n;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, name);
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fread(buf, 1, cap - 1, f);
	fclose(f);
	buf[n] = 0;
	return n;
}

/* Is pid an `inotify-shim scan` of this test's domain, or a scanner on
 * its way (run's detached child, before its exec of scan)? */
static bool a_scanner_of_this_domain(pid_t pid)
{
	static char cmd[4096], env[65536];
	char want[4200];
	size_t n = proc_read(pid, "cmdline", cmd, sizeof cmd), m, len;
	const char *base = strrchr(cmd, '/');

	base = base ? base + 1 : cmd;
	if (!n || strcmp(base, "inotify-shim") || strlen(cmd) + 1 >= n ||
	    (strcmp(cmd + strlen(cmd) + 1, "scan") && strcmp(cmd + strlen(cmd) + 1, "run")) ||
	    !running(pid))
		return false;
	len = (size_t)snprintf(want, sizeof want, "INOTIFY_SHIM_DOMAIN=%s",
			       getenv("INOTIFY_SHIM_DOMAIN"));
	m = proc_read(pid, "environ", env, sizeof env);
	for (size_t i = 0; i < m; i += strlen(env + i) + 1)
		if (!strncmp(env + i, want, len + 1))
			return true;
	return false;
}

/* The scanners of this domain now: their number, the last one in *one. */
static int scanners(pid_t *one)
{
	DIR *dir = opendir("/proc");
	struct dirent *e;
	int n = 0;

	cr_assert(dir);
	while ((e = readdir(dir)))
		if (e->d_name[0] >= '1' && e->d_name[0] <= '9' &&
		    a_scanner_of_this_domain(atoi(e->d_name))) {
			*one = atoi(e->d_name);
			n++;
		}
	closedir(dir);
	return n;
}

Test(scan, racing_run_scan_launchers_start_one_scanner)
{
	pid_t p[4], one = 0;
	char out[16], err[16];
	int n = 0;

	for (int i = 0; i < 4; i++) {
		snprintf(out, sizeof out, "out%d", i);
		snprintf(err, sizeof err, "err%d", i);
		p[i] = tool_start(out, err, "run --scan=20 -- true");
	}
	for (int i = 0; i < 4; i++)
		cr_expect_eq(wait_exit(p[i], 30000), 0, "launcher %d: %s", i, slurp("err0"));
	cr_assert(wait_file_contains(status_path, "pid ", 20000), "no scanner was started");
	/* the launchers' scanners that lost the lock exit at once: within
	 * the deadline one, and only one, is left (and no launcher's child
	 * still on its way to exec the scanner, which could take the lock
	 * once this one ends) */
	for (int i = 0; i < 2000 && (n = scanners(&one)) != 1; i++)
		usleep(10000);
	cr_assert_eq(n, 1, "%d scanners of one domain", n);
	cr_expect_eq(one, atoi(slurp(status_path) + 4), "the one running is not the one told");
	cr_assert_eq(kill(one, SIGTERM), 0);
	for (int i = 0; i < 20000 && running(one); i++)
		usleep(1000);
	cr_expect_not(running(one), "the scanner %d did not end", (int)one);
}

/* ps's line (or JSON member) about the scanner, from its name on. */
static const char *ps_line(const char *args)
{
	bool json = !strcmp(args, "-j");
	const char *line;

	cr_assert_eq(tool("ps %s", args), 0, "%s", slurp("err"));
	line = strstr(slurp("out"), json ? ",\"scanner\":" : "\nscanner ");
	cr_assert(line, "ps says nothing of the scanner:\n%s", slurp("out"));
	return line + (json ? 2 : 1);
}

Test(scan, ps_shows_the_scanner_and_its_state)
{
	char want[256];
	long long lag = -1;
	const char *line;
	int fd;

	cr_assert_eq(close(open("d/f", O_CREAT | O_WRONLY, 0644)), 0);
	fd = watch_and_scan(IN_CREATE);
	cr_assert(wait_file_contains(status_path, "entries 1\n", 20000), "%s", slurp(status_path));
	line = ps_line("");
	snprintf(want, sizeof want, "scanner pid %d: 1 of 1 watches scanned (1 entries), "
		 "last pass ", (int)scanner);
	cr_expect(!strncmp(line, want, strlen(want)), "not '%s' in:\n%s", want, line);
	cr_assert(strstr(line, "lag "), "%s", line);
	lag = atoll(strstr(line, "lag ") + 4);
	/* every object is looked at within the 200 ms cycle; the state is
	 * up to a second old, and the machine may be loaded */
	cr_expect(lag >= 0 && lag < 10000, "lag %lld ms", lag);
	cr_expect(strstr(line, "(cycle 200 ms, tick 20 ms)"), "%s", line);
	line = ps_line("-j");
	snprintf(want, sizeof want, "scanner\":{\"pid\":%d,\"running\":true,\"watched\":1,"
		 "\"followed\":1,\"unrecorded\":0,\"entries\":1,", (int)scanner);
	cr_expect(!strncmp(line, want, strlen(want)), "not '%s' in:\n%s", want, line);
	close(fd);
}

Test(scan, ps_says_when_no_scanner_runs)
{
	unlink(status_path);	/* a scanner killed by an earlier run left it */
	cr_expect(!strncmp(ps_line(""), "scanner none\n", 13), "%s", slurp("out"));
	cr_expect(!strncmp(ps_line("-j"), "scanner\":null,", 14), "%s", slurp("out"));
}

Test(scan, ps_tells_a_killed_scanner_from_a_running_one)
{
	int fd = watch_and_scan(IN_CREATE);
	char want[128];

	cr_assert_eq(kill(scanner, SIGKILL), 0);
	cr_assert_eq(wait_exit(scanner, 10000), -1);	/* killed */
	snprintf(want, sizeof want, "scanner pid %d not running", (int)scanner);
	scanner = 0;
	cr_expect(!strncmp(ps_line(""), want, strlen(want)), "%s", slurp("out"));
	cr_expect(strstr(ps_line("-j"), "\"running\":false"), "%s", slurp("out"));
	unlink(status_path);
	close(fd);
}

Test(scan, watches_made_without_the_scan_variable_are_said_to_be_unscanned)
{
	int fd;

	/* the variable was not set when the watch was made: no path for it */
	unsetenv("INOTIFY_SHIM_SCAN");
	fd = inotify_init1(IN_NONBLOCK);
	cr_assert_geq(fd, 0);
	cr_assert_eq(inotify_add_watch(fd, "d", IN_CREATE), 1, "%s", strerror(errno));
	start_scanner();
	cr_assert(wait_file_contains(status_path, "unrecorded 1\n", 20000), "%s",
		  slurp(status_path));
	cr_expect(strstr(slurp(status_path), "followed 0\n"), "%s", slurp(status_path));
	cr_expect(wait_file_contains("serr", "1 watch of ", 20000), "no warning: %s",
		  slurp("serr"));
	cr_expect(strstr(slurp("serr"), "without INOTIFY_SHIM_SCAN=1"), "%s", slurp("serr"));
	cr_assert_eq(tool("ps"), 0, "%s", slurp("err"));
	cr_expect(strstr(slurp("out"), ": 0 of 1 watches scanned"), "%s", slurp("out"));
	cr_expect(strstr(slurp("out"), "\nscanner cannot scan 1 watch: made without "
			 "INOTIFY_SHIM_SCAN=1"), "%s", slurp("out"));
	close(fd);
}

int main(int argc, char **argv)
{
	struct criterion_test_set *tests = criterion_initialize();
	int result = 0;

	if (criterion_handle_args(argc, argv, true)) {
		criterion_options.jobs = 1;
		result = !criterion_run_all_tests(tests);
	}
	criterion_finalize(tests);
	return result;
}
