/*
 * quiet.c - the library writes nothing into a host program's streams
 * unless INOTIFY_SHIM_DEBUG is set (issue 12, item 6; src/util/log.h), and
 * what it no longer prints can be seen elsewhere:
 *   - a plain shell under the library that meets a refused domain, or a
 *     repair (a queue found damaged, a registry whose lock holder died),
 *     prints nothing of the library's; with INOTIFY_SHIM_DEBUG=1 it says
 *     so; a value of INOTIFY_SHIM_DEBUG that does not parse is said once;
 *   - inotify-shim run reports a refused domain itself and does not start
 *     the command (a full one: test/storage.c);
 *   - inotify-shim ps shows the domain's counters: repairs, overflows
 *     given for lost events, refusals.
 *
 * Every shell runs in a domain of the test's own (base/dom).  The watcher
 * is this binary re-executed with QUIET_CHILD set; it runs from a
 * constructor and never reaches Criterion.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"
#include "../src/queue/queue.h"

/* ---- the watcher -------------------------------------------------------- */

/* watch DIR READY: watch DIR, create READY, wait for READY.go, then print
 * the masks of the events that arrive within 5 s (until the one named
 * "last"). */
static int child_watch(const char *dir, const char *ready)
{
	char go[PATH_MAX];
	struct ev ev[64];
	int fd = inotify_init1(IN_NONBLOCK);

	if (fd < 0 || inotify_add_watch(fd, dir, IN_CREATE) < 0)
		return 2;
	path_printf(go, sizeof go, "%s.go", ready);
	close(creat(ready, 0600));
	for (int ms = 0; access(go, F_OK) != 0; ms++) {
		if (ms == 60000)
			return 3;
		struct timespec t = { 0, 1000000 };
		nanosleep(&t, NULL);
	}
	for (int round = 0; round < 50; round++) {
		int n = wait_events(fd, ev, 64, 1, 100);
		for (int i = 0; i < n; i++) {
			printf("%s %s\n", mask_name(ev[i].mask), ev[i].name);
			if (!strcmp(ev[i].name, "last"))
				return 0;
		}
	}
	return 0;
}

__attribute__((constructor)) static void maybe_child(void)
{
	const char *mode = child_mode("QUIET_CHILD");

	if (!mode)
		return;
	if (!strcmp(mode, "watch"))
		_exit(child_watch(getenv("QUIET_ARG1"), getenv("QUIET_ARG2")));
	_exit(99);
}

/* ---- the parent's side -------------------------------------------------- */

static char base[PATH_MAX], dom[PATH_MAX], watched[PATH_MAX], tool[PATH_MAX];

static void setup(void)
{
	const char *b = getenv("INOTIFY_SHIM_TEST_BUILDDIR");

	path_printf(base, sizeof base, "%s", scratch_enter());
	path_printf(dom, sizeof dom, "%s/dom", base);
	path_printf(watched, sizeof watched, "%s/w", base);
	path_printf(tool, sizeof tool, "%s/tools/inotify-shim", b ? b : ".");
	cr_assert_eq(mkdir(watched, 0700), 0);
}

TestSuite(quiet, .init = setup, .fini = scratch_leave, .timeout = 60);

struct run {
	int status;
	char out[4096], err[4096];
};


/* Start argv in the domain dom, INOTIFY_SHIM_DEBUG=debug (NULL: unset),
 * plus one NAME=VALUE if env; its output into files. */
static pid_t start(char *const argv[], const char *debug, const char *env,
		   char *outp, char *errp)
{
	int o = mkstemp(outp), e = mkstemp(errp);
	pid_t pid;

	cr_assert(o >= 0 && e >= 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		dup2(o, 1);
		dup2(e, 2);
		setenv("INOTIFY_SHIM_DOMAIN", dom, 1);
		if (debug)
			setenv("INOTIFY_SHIM_DEBUG", debug, 1);
		else
			unsetenv("INOTIFY_SHIM_DEBUG");
		if (env)
			putenv((char *)env);
		execv(argv[0], argv);
		_exit(127);
	}
	close(o);
	close(e);
	return pid;
}

static int finish(pid_t pid, char *outp, char *errp, struct run *r)
{
	for (int ms = 0;; ms++) {
		if (waitpid(pid, &r->status, WNOHANG) == pid)
			break;
		if (ms == 30000) {
			kill(pid, SIGKILL);
			waitpid(pid, &r->status, 0);
			cr_assert_fail("a child did not finish in 30 s");
		}
		struct timespec t = { 0, 1000000 };
		nanosleep(&t, NULL);
	}
	slurp_file(outp, r->out, sizeof r->out, true);
	slurp_file(errp, r->err, sizeof r->err, true);
	return r->status;
}

static void run(struct run *r, char *const argv[], const char *debug, const char *env)
{
	char outp[] = "/tmp/quiet-out.XXXXXX", errp[] = "/tmp/quiet-err.XXXXXX";

	finish(start(argv, debug, env, outp, errp), outp, errp, r);
}

/* A plain shell under the library: writes a watched file, lists /. */
static void shell(struct run *r, const char *debug, const char *env)
{
	char cmd[PATH_MAX + 64];
	char *argv[] = { "/bin/sh", "-c", cmd, NULL };

	snprintf(cmd, sizeof cmd, "echo x > %s/f && ls / > /dev/null", watched);
	run(r, argv, debug, env);
	cr_assert(WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0,
		  "the shell: status %x, err %s", r->status, r->err);
}

static int count(const char *s, const char *needle)
{
	int n = 0;

	for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static void ps(struct run *r)
{
	char *argv[] = { tool, "ps", NULL };

	run(r, argv, NULL, NULL);
	cr_assert(WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0, "ps: %s", r->err);
}

Test(quiet, a_shell_meeting_a_refused_domain_prints_nothing)
{
	struct run r;

	cr_assert_eq(mkdir(dom, 0700), 0);
	cr_assert_eq(chmod(dom, 0777), 0);	/* open to others: refused */
	shell(&r, NULL, NULL);
	cr_assert_str_eq(r.err, "", "the library spoke: %s", r.err);
	cr_assert_str_eq(r.out, "");
	shell(&r, "1", NULL);
	/* once in each process (the shell, ls) */
	cr_assert_geq(count(r.err, "refused, the directory is open to others"), 1,
		      "with INOTIFY_SHIM_DEBUG=1: %s", r.err);
}

Test(quiet, a_value_of_inotify_shim_debug_that_does_not_parse_is_said_once)
{
	char cmd[PATH_MAX + 16];
	char *argv[] = { "/bin/sh", "-c", cmd, NULL };	/* one process */
	struct run r;

	snprintf(cmd, sizeof cmd, "echo x > %s/f", watched);
	run(&r, argv, "yes", NULL);
	cr_assert(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0);
	cr_assert_eq(count(r.err, "\n"), 1, "not one line: %s", r.err);
	cr_assert_not_null(strstr(r.err, "ignoring INOTIFY_SHIM_DEBUG=yes"), "%s", r.err);
	shell(&r, "0", NULL);
	cr_assert_str_eq(r.err, "", "INOTIFY_SHIM_DEBUG=0 spoke: %s", r.err);
}

static bool exists(void *path)
{
	return access(path, F_OK) == 0;
}

/* The watcher's queue, damaged: its head out of the ring. */
static void damage_the_queue(void)
{
	char pat[PATH_MAX];
	glob_t g;
	struct stat st;

	path_printf(pat, sizeof pat, "%s/q-*", dom);
	cr_assert_eq(glob(pat, 0, NULL, &g), 0);
	cr_assert_eq(g.gl_pathc, 1);
	int fd = open(g.gl_pathv[0], O_RDWR);
	globfree(&g);
	cr_assert_geq(fd, 0);
	cr_assert_eq(fstat(fd, &st), 0);
	struct queue_header *h = mmap(NULL, sizeof *h, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	cr_assert_neq(h, MAP_FAILED);
	close(fd);
	__atomic_store_n(&h->head, h->capacity + 16, __ATOMIC_RELAXED);
	munmap(h, sizeof *h);
}

/* A watcher is running; its queue is damaged; a shell that writes into
 * the watched directory repairs it (with one IN_Q_OVERFLOW for what was
 * lost) and, without debugging, prints nothing. */
static void shell_repairs_a_queue(const char *debug, struct run *sh)
{
	char ready[PATH_MAX], go[PATH_MAX + 8], a1[PATH_MAX + 16];
	char outp[] = "/tmp/quiet-out.XXXXXX", errp[] = "/tmp/quiet-err.XXXXXX";
	char self[PATH_MAX];
	struct run w;
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);

	cr_assert_gt(n, 0);
	self[n] = 0;
	path_printf(ready, sizeof ready, "%s/ready", base);
	path_printf(go, sizeof go, "%s.go", ready);
	snprintf(a1, sizeof a1, "QUIET_ARG1=%s", watched);
	char *argv[] = { self, NULL };
	/* QUIET_CHILD and QUIET_ARG2 are inherited, QUIET_ARG1 given */
	setenv("QUIET_CHILD", "watch", 1);
	setenv("QUIET_ARG2", ready, 1);
	pid_t pid = start(argv, NULL, a1, outp, errp);
	unsetenv("QUIET_CHILD");
	unsetenv("QUIET_ARG2");
	cr_assert(wait_until(exists, ready, 20000), "the watcher never got ready");
	damage_the_queue();
	shell(sh, debug, NULL);
	/* the last event, made in the domain (not by this process, which is
	 * in a domain of its own) */
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof cmd, ": > %s/last", watched);
	char *last[] = { "/bin/sh", "-c", cmd, NULL };
	struct run l;
	run(&l, last, NULL, NULL);
	close(creat(go, 0600));
	finish(pid, outp, errp, &w);
	cr_assert(WIFEXITED(w.status) && WEXITSTATUS(w.status) == 0, "the watcher: %x %s",
		  w.status, w.err);
	cr_assert_not_null(strstr(w.out, "IN_Q_OVERFLOW"), "no overflow for the lost: %s",
			   w.out);
	cr_assert_not_null(strstr(w.out, "IN_CREATE last"), "%s", w.out);
}

Test(quiet, a_shell_meeting_a_damaged_queue_prints_nothing)
{
	struct run sh, p;

	shell_repairs_a_queue(NULL, &sh);
	cr_assert_str_eq(sh.err, "", "the library spoke: %s", sh.err);
	ps(&p);
	cr_assert_not_null(strstr(p.out, "lost-event overflows 1,"), "%s", p.out);
}

Test(quiet, a_shell_meeting_a_damaged_queue_says_so_with_debugging)
{
	struct run sh;

	shell_repairs_a_queue("1", &sh);
	cr_assert_eq(count(sh.err, "damaged"), 1, "%s", sh.err);
}

/* A process dies holding the registry's lock (the test hook of
 * util/shlock.h); the next shell repairs the registry.  A watcher runs, so
 * that the dying writer's event and the shell's take the lock (a program's
 * start takes none). */
static void shell_repairs_the_registry(const char *debug, struct run *sh)
{
	char held[PATH_MAX], env[PATH_MAX + 40], f[PATH_MAX + 16];
	char outp[] = "/tmp/quiet-out.XXXXXX", errp[] = "/tmp/quiet-err.XXXXXX";
	char wout[] = "/tmp/quiet-out.XXXXXX", werr[] = "/tmp/quiet-err.XXXXXX";
	char ready[PATH_MAX], go[PATH_MAX + 8], a1[PATH_MAX + 16], self[PATH_MAX];
	struct run t, w;
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);

	cr_assert_gt(n, 0);
	self[n] = 0;
	path_printf(ready, sizeof ready, "%s/ready", base);
	path_printf(go, sizeof go, "%s.go", ready);
	snprintf(a1, sizeof a1, "QUIET_ARG1=%s", watched);
	char *wargv[] = { self, NULL };
	setenv("QUIET_CHILD", "watch", 1);
	setenv("QUIET_ARG2", ready, 1);
	pid_t watcher = start(wargv, NULL, a1, wout, werr);
	unsetenv("QUIET_CHILD");
	unsetenv("QUIET_ARG2");
	cr_assert(wait_until(exists, ready, 20000), "the watcher never got ready");

	path_printf(held, sizeof held, "%s/held", base);
	snprintf(env, sizeof env, "INOTIFY_SHIM_TEST_HOLD_LOCK=%s", held);
	path_printf(f, sizeof f, "%s/by-the-dying", watched);
	char *argv[] = { "/usr/bin/touch", f, NULL };
	if (access(argv[0], X_OK) != 0)
		argv[0] = "/bin/touch";
	pid_t pid = start(argv, NULL, env, outp, errp);
	cr_assert(wait_until(exists, held, 20000), "the writer never held the lock");
	kill(pid, SIGKILL);
	finish(pid, outp, errp, &t);
	shell(sh, debug, NULL);
	close(creat(go, 0600));
	kill(watcher, SIGKILL);
	finish(watcher, wout, werr, &w);
}

Test(quiet, a_shell_meeting_a_repair_of_the_registry_prints_nothing)
{
	struct run sh, p;

	shell_repairs_the_registry(NULL, &sh);
	cr_assert_str_eq(sh.err, "", "the library spoke: %s", sh.err);
	ps(&p);
	cr_assert_not_null(strstr(p.out, "repairs 1,"), "%s", p.out);
}

Test(quiet, a_shell_meeting_a_repair_of_the_registry_says_so_with_debugging)
{
	struct run sh;

	shell_repairs_the_registry("1", &sh);
	cr_assert_eq(count(sh.err, "rebuilt"), 1, "%s", sh.err);
}

Test(quiet, ps_counts_a_refused_registry)
{
	char reg[PATH_MAX];
	struct run sh, p;

	shell(&sh, NULL, NULL);	/* a registry */
	path_printf(reg, sizeof reg, "%s/registry", dom);
	cr_assert_eq(truncate(reg, 100), 0);
	shell(&sh, NULL, NULL);	/* refuses it, makes a fresh one */
	cr_assert_str_eq(sh.err, "", "the library spoke: %s", sh.err);
	ps(&p);
	cr_assert_not_null(strstr(p.out, "refusals 1,"), "%s", p.out);
}

Test(quiet, run_reports_a_refused_domain_and_does_not_start_the_command)
{
	char mark[PATH_MAX], cmd[PATH_MAX + 16];
	struct run r;

	cr_assert_eq(mkdir(dom, 0700), 0);
	cr_assert_eq(chmod(dom, 0777), 0);
	path_printf(mark, sizeof mark, "%s/ran", base);
	snprintf(cmd, sizeof cmd, "touch %s", mark);
	char *argv[] = { tool, "run", "--", "/bin/sh", "-c", cmd, NULL };
	run(&r, argv, NULL, NULL);
	cr_assert(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 1, "status %x, err %s",
		  r.status, r.err);
	cr_assert_not_null(strstr(r.err, "is refused"), "%s", r.err);
	cr_assert_not_null(strstr(r.err, "open to others"), "no reason: %s", r.err);
	cr_assert_not_null(strstr(r.err, "not running the command"), "%s", r.err);
	cr_assert_neq(access(mark, F_OK), 0, "the command ran");
}
