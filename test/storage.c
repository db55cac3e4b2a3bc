/*
 * storage.c - a full file system under the domain is never a SIGBUS
 * (issue 12, item 2; src/domain/backing.h):
 *   - the domain on a small tmpfs that another program fills: a shell that
 *     writes a watched file and a plain ls still run (no SIGBUS, exit 0);
 *     inotify_init1 fails with ENOMEM, inotify_add_watch with ENOSPC once
 *     the registry's backed records are used up, and a watcher that was
 *     running reads every event that could be stored, in order, then one
 *     IN_Q_OVERFLOW for those that could not, then nothing;
 *   - the domain on a tmpfs too full to hold a registry at all: the same
 *     programs run, the inotify calls fail with ENOMEM, nothing is left
 *     half made;
 *   - inotify-shim run in a domain too full for a registry: reported, the
 *     command not run; in a full domain that works: a warning, it runs.
 *
 * A small tmpfs is mounted in a private mount namespace (unshare(2) as
 * root); where that is not allowed the tests are skipped with a message.
 * The namespace's process re-executes this binary with STORAGE_CHILD set
 * and the domain on the tmpfs; that child runs from a constructor, after
 * the shim's own (so the shim maps the full domain), and never reaches
 * Criterion.  Files truncated, holed or replaced are test/damaged_files.c's.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

#define MANY 2000	/* files to watch: more than one chunk of records */
#define CREATES 5000	/* events: more than the queue's first chunk holds */

/* ---- the children ------------------------------------------------------- */

/* Fill the file system of dir: write zeros into dir/fill until ENOSPC. */
static int fill(const char *dir)
{
	static char zeros[65536];
	char path[PATH_MAX];
	struct statvfs vfs;
	int fd;

	path_printf(path, sizeof path, "%s/fill", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
	if (fd < 0)
		return -1;
	while (write(fd, zeros, sizeof zeros) > 0)
		;
	while (write(fd, zeros, 512) > 0)
		;
	close(fd);
	return statvfs(dir, &vfs) == 0 && vfs.f_bavail == 0 ? 0 : -1;
}

/* "STATUS" of a shell command: "exit N" or "signal N". */
static void say_status(const char *what, int st)
{
	if (WIFSIGNALED(st))
		printf("%s signal %d\n", what, WTERMSIG(st));
	else
		printf("%s exit %d\n", what, WEXITSTATUS(st));
}

static void run_programs(const char *watched)
{
	char cmd[PATH_MAX + 64];

	snprintf(cmd, sizeof cmd, "sh -c 'echo x > %s/f'", watched);
	say_status("echo", system(cmd));
	say_status("ls", system("ls / > /dev/null"));
}

/* full MNT WATCHED MANY: the domain is MNT/domain, made by our constructor
 * on a tmpfs with room to spare.  Watch WATCHED, fill MNT by another
 * program (a shell's cat), then: the programs, a second instance, a watch
 * on each of the MANY files, CREATES creates in WATCHED by a shell, and
 * the watcher's read. */
static int child_full(const char *mnt, const char *watched, const char *many)
{
	char path[PATH_MAX], cmd[PATH_MAX + 128];
	static struct ev ev[CREATES + 16];
	int fd, ok = 0, err = 0, n;

	fd = inotify_init1(IN_NONBLOCK);
	if (fd < 0 || inotify_add_watch(fd, watched, IN_CREATE) != 1) {
		printf("no watcher: errno %d\n", errno);
		return 1;
	}
	snprintf(cmd, sizeof cmd, "cat /dev/zero > %s/fill 2>/dev/null", mnt);
	if (system(cmd) == 0 || fill(mnt) < 0) {	/* cat ends at ENOSPC */
		printf("could not fill %s\n", mnt);
		return 1;
	}
	printf("filled\n");
	run_programs(watched);
	n = inotify_init1(0);
	printf("init %s errno %d\n", n < 0 ? "failed" : "worked", n < 0 ? errno : 0);
	for (int i = 0; i < MANY; i++) {
		path_printf(path, sizeof path, "%s/m%d", many, i);
		if (inotify_add_watch(fd, path, IN_ATTRIB) < 0) {
			err = errno;
			break;
		}
		ok++;
	}
	printf("watches %s errno %d\n", ok > 0 && ok < MANY ? "some" : "not some", err);
	snprintf(cmd, sizeof cmd, "cd %s && i=0; while [ $i -lt %d ]; do : > n$i; "
		 "i=$((i+1)); done", watched, CREATES);
	say_status("creates", system(cmd));
	n = read_events(fd, ev, CREATES + 16);
	/* f, then n0 .. nK-1 in order, then one overflow, then nothing */
	int k = 0, bad = 0;
	bool f_first = n > 0 && !strcmp(ev[0].name, "f") && ev[0].mask == IN_CREATE;
	for (int i = f_first ? 1 : 0; i < n && ev[i].mask == IN_CREATE; i++, k++) {
		char want[16];
		snprintf(want, sizeof want, "n%d", k);
		bad += strcmp(ev[i].name, want) != 0;
	}
	int at = k + (f_first ? 1 : 0);
	bool overflow = at < n && ev[at].mask == IN_Q_OVERFLOW && ev[at].wd == -1;
	printf("events f %d some %d order %s overflow %d after %d\n", f_first,
	       k > 100 && k < CREATES, bad ? "bad" : "ok", overflow,
	       n - at - (overflow ? 1 : 0));
	return 0;
}

/* tiny WATCHED: the domain's tmpfs was filled before we started, so our
 * constructor could not make a registry. */
static int child_tiny(const char *mnt, const char *watched)
{
	int fd;

	run_programs(watched);
	fd = inotify_init1(0);
	printf("init %s errno %d\n", fd < 0 ? "failed" : "worked", fd < 0 ? errno : 0);
	char cmd[PATH_MAX + 64];
	snprintf(cmd, sizeof cmd, "ls -A %s/domain | grep -v '^fill$' | wc -l", mnt);
	fflush(stdout);
	if (system(cmd) != 0)
		return 1;
	return 0;
}

/* The tool's run in the domain MNT/domain: "run exit N", then its stdout
 * and stderr as "out: ..." and "err: ..." lines. */
static void run_tool(const char *mnt)
{
	char cmd[3 * PATH_MAX], outp[PATH_MAX], errp[PATH_MAX], line[1024];
	const char *b = getenv("INOTIFY_SHIM_TEST_BUILDDIR");

	path_printf(outp, sizeof outp, "%s/../run-out", mnt);
	path_printf(errp, sizeof errp, "%s/../run-err", mnt);
	snprintf(cmd, sizeof cmd, "%s/tools/inotify-shim run --domain=%s/domain -- "
		 "echo ran > %s 2> %s", b ? b : ".", mnt, outp, errp);
	say_status("run", system(cmd));
	for (int k = 0; k < 2; k++) {
		FILE *f = fopen(k ? errp : outp, "r");
		while (f && fgets(line, sizeof line, f))
			printf("%s: %s", k ? "err" : "out", line);
		if (f)
			fclose(f);
	}
}

/* runfull MNT: the domain was made by our constructor; fill its tmpfs,
 * then inotify-shim run a command there. */
static int child_runfull(const char *mnt)
{
	char cmd[PATH_MAX + 64];

	snprintf(cmd, sizeof cmd, "cat /dev/zero > %s/fill 2>/dev/null", mnt);
	if (system(cmd) == 0 || fill(mnt) < 0)
		return 1;
	run_tool(mnt);
	return 0;
}

/* probe WATCHED: watch, create, read the event: "ok", or what failed. */
__attribute__((constructor)) static void maybe_child(void)
{
	const char *mode = child_mode("STORAGE_CHILD");

	if (!mode)
		return;
	const char *mnt = getenv("STORAGE_MNT"), *w = getenv("STORAGE_WATCHED");
	if (!strcmp(mode, "full"))
		_exit(child_full(mnt, w, getenv("STORAGE_MANY")));
	if (!strcmp(mode, "tiny"))
		_exit(child_tiny(mnt, w));
	if (!strcmp(mode, "runfull"))
		_exit(child_runfull(mnt));
	if (!strcmp(mode, "runtiny")) {
		run_tool(mnt);
		_exit(0);
	}
	_exit(99);
}

/* ---- the parent's side -------------------------------------------------- */

static char base[PATH_MAX], mnt[PATH_MAX], watched[PATH_MAX], many[PATH_MAX];

static void setup(void)
{
	const char *s = scratch_enter();

	path_printf(base, sizeof base, "%s", s);
	path_printf(mnt, sizeof mnt, "%s/mnt", base);
	path_printf(watched, sizeof watched, "%s/watched", base);
	path_printf(many, sizeof many, "%s/many", base);
	cr_assert_eq(mkdir(mnt, 0700), 0);
	cr_assert_eq(mkdir(watched, 0700), 0);
	cr_assert_eq(mkdir(many, 0700), 0);
	for (int i = 0; i < MANY; i++) {
		char p[PATH_MAX];
		path_printf(p, sizeof p, "%s/m%d", many, i);
		close(creat(p, 0600));
	}
}

static void teardown(void)
{
	scratch_leave();
}

TestSuite(storage, .init = setup, .fini = teardown, .timeout = 240);

struct result {
	int status;
	char out[4096];
};

/* In a private mount namespace, mount a tmpfs of SIZE on mnt (filled
 * first if prefill), and run this binary in MODE with the domain there.
 * Skips the test where the namespace or the mount is not allowed. */
static void run_in_tmpfs(struct result *r, const char *size, bool prefill,
			 const char *mode)
{
	char outp[] = "/tmp/storage-out.XXXXXX", opts[64], dom[PATH_MAX];
	int o = mkstemp(outp), pipefd[2];
	pid_t pid;

	if (geteuid() != 0)
		cr_skip_test("needs root to mount a tmpfs in a private mount namespace");
	cr_assert(o >= 0 && pipe(pipefd) == 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		close(pipefd[0]);
		snprintf(opts, sizeof opts, "size=%s,mode=0700", size);
		if (unshare(CLONE_NEWNS) < 0 ||
		    mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
		    mount("tmpfs", mnt, "tmpfs", 0, opts) < 0) {
			dprintf(pipefd[1], "%s", strerror(errno));
			_exit(77);
		}
		path_printf(dom, sizeof dom, "%s/domain", mnt);
		if (mkdir(dom, 0700) < 0 || (prefill && fill(dom) < 0))
			_exit(76);
		dup2(o, 1);
		setenv("STORAGE_CHILD", mode, 1);
		setenv("STORAGE_MNT", mnt, 1);
		setenv("STORAGE_WATCHED", watched, 1);
		setenv("STORAGE_MANY", many, 1);
		setenv("INOTIFY_SHIM_DOMAIN", dom, 1);
		setenv("INOTIFY_SHIM_MAX_USER_WATCHES", "100000", 1);
		char self[PATH_MAX];
		ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
		if (n <= 0)
			_exit(127);
		self[n] = 0;
		execl(self, "storage", (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);
	for (int ms = 0;; ms++) {
		pid_t w = waitpid(pid, &r->status, WNOHANG);
		if (w == pid)
			break;
		if (ms == 200000) {
			kill(pid, SIGKILL);
			waitpid(pid, &r->status, 0);
			cr_assert_fail("the child did not finish in 200 s");
		}
		struct timespec t = { 0, 1000000 };
		nanosleep(&t, NULL);
	}
	if (WIFEXITED(r->status) && WEXITSTATUS(r->status) == 77) {
		char why[256] = "";
		ssize_t n = read(pipefd[0], why, sizeof why - 1);
		why[n > 0 ? n : 0] = 0;
		close(pipefd[0]);
		cr_skip_test("cannot mount a tmpfs in a private mount namespace: %s", why);
	}
	close(pipefd[0]);
	FILE *f = fopen(outp, "r");
	size_t n = f ? fread(r->out, 1, sizeof r->out - 1, f) : 0;
	r->out[n] = 0;
	if (f)
		fclose(f);
	close(o);
	unlink(outp);
	cr_assert(WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0,
		  "the child: status %x, out:\n%s", r->status, r->out);
	cr_log_info("%s: %s", mode, r->out);
}

static void expect_line(const struct result *r, const char *line)
{
	char want[256];

	snprintf(want, sizeof want, "%s\n", line);
	cr_assert_not_null(strstr(r->out, want), "no \"%s\" in:\n%s", line, r->out);
}

Test(storage, a_full_tmpfs_gives_errors_and_an_overflow_never_a_sigbus)
{
	struct result r;

	run_in_tmpfs(&r, "12m", false, "full");
	expect_line(&r, "filled");
	expect_line(&r, "echo exit 0");
	expect_line(&r, "ls exit 0");
	expect_line(&r, "init failed errno 12");		/* ENOMEM */
	expect_line(&r, "watches some errno 28");		/* ENOSPC */
	expect_line(&r, "creates exit 0");
	expect_line(&r, "events f 1 some 1 order ok overflow 1 after 0");
}

Test(storage, a_tmpfs_too_full_for_a_registry_gives_enomem_never_a_sigbus)
{
	struct result r;

	run_in_tmpfs(&r, "2m", true, "tiny");
	expect_line(&r, "echo exit 0");
	expect_line(&r, "ls exit 0");
	expect_line(&r, "init failed errno 12");		/* ENOMEM */
	expect_line(&r, "0");	/* nothing half made in the domain */
}

/* inotify-shim run checks the domain first (tools/run.c): a domain that
 * cannot even hold its registry is reported and the command not run; a
 * full file system under a domain that works is a warning. */
Test(storage, run_reports_a_domain_too_full_for_a_registry_and_does_not_run)
{
	struct result r;

	run_in_tmpfs(&r, "2m", true, "runtiny");
	expect_line(&r, "run exit 1");
	cr_assert_not_null(strstr(r.out, "is full: No space left on device"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "not running the command"), "%s", r.out);
	cr_assert_null(strstr(r.out, "out: ran"), "the command ran:\n%s", r.out);
}

Test(storage, run_warns_of_a_full_domain_and_runs)
{
	struct result r;

	run_in_tmpfs(&r, "12m", false, "runfull");
	expect_line(&r, "run exit 0");
	expect_line(&r, "out: ran");
	cr_assert_not_null(strstr(r.out, "err: inotify-shim run: warning: the file system of "
				  "the domain"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "is full (0 bytes free)"), "%s", r.out);
}
