/*
 * shared_domain.c - who shares a domain (src/domain/domain.c, "the rule";
 * issue 4 "the domain and who shares it", issue 5 "Security"):
 *   - a domain named by an absolute path whose directory is 0770 or 2770 of
 *     a group is shared by the members of that group: a watcher of one uid
 *     gets the events of a writer of another uid, and every file of the
 *     domain is made 0660 of the group whatever the umask;
 *   - a uid outside the group can neither read the domain nor inject
 *     events into it;
 *   - a group the process is not in, a default domain open to its group, a
 *     shared directory of another mode, a file of another group: refused;
 *   - the files of a domain are reached only through the directory that
 *     was checked: one renamed away and replaced (by a directory or a link)
 *     is never written into.
 *
 * The uid-switching tests need root and are skipped otherwise.  Children
 * re-execute this binary with SHARED_CHILD set; they run from a constructor,
 * after the shim's own, and never reach Criterion.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
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

#define GROUP 47110	/* the sharing group; need not exist in /etc/group */
#define UID_A 47111	/* members */
#define UID_B 47112
#define UID_C 47113	/* not a member */

/* ---- the child modes ---------------------------------------------------- */

/* watch DIR MS: watch DIR, print "ready", then every event's name for MS
 * milliseconds (or "init-errno N" / "watch-errno N"). */
static int child_watch(const char *dir, int ms)
{
	struct ev ev[16];
	int fd = inotify_init1(IN_NONBLOCK);

	if (fd < 0) {
		printf("init-errno %d\n", errno);
		return 0;
	}
	if (inotify_add_watch(fd, dir, IN_CREATE) < 0) {
		printf("watch-errno %d\n", errno);
		return 0;
	}
	printf("ready\n");
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		long left = ms - ((t.tv_sec - t0.tv_sec) * 1000 +
				  (t.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0)
			break;
		int n = wait_events(fd, ev, 16, 1, (int)left);
		for (int i = 0; i < n; i++)
			printf("event %s\n", ev[i].name);
		if (n > 0 && !strcmp(ev[n - 1].name, "last"))
			break;
	}
	return 0;
}

/* create PATH: create the file, under the shim, and say whether the
 * domain let us make an instance ("init-errno N" or "init-ok"). */
static int child_create(const char *path)
{
	int fd = inotify_init1(IN_NONBLOCK);

	if (fd < 0)
		printf("init-errno %d\n", errno);
	else
		printf("init-ok\n");
	int f = creat(path, 0666);
	if (f < 0) {
		printf("creat-errno %d\n", errno);
		return 0;
	}
	close(f);
	return 0;
}

/* replace DOMAIN WITH: the domain is open (the shim's constructor); rename
 * its directory away, put WITH ("dir" or "link") in its place, then try to
 * make an instance.  Prints "init-errno N" or "init-ok". */
static int child_replace(const char *domain, const char *with)
{
	char old[PATH_MAX], target[PATH_MAX];

	snprintf(old, sizeof old, "%s.old", domain);
	snprintf(target, sizeof target, "%s.target", domain);
	if (rename(domain, old) < 0 || mkdir(target, 0700) < 0)
		return 2;
	if (!strcmp(with, "dir") ? mkdir(domain, 0700) < 0 : symlink(target, domain) < 0)
		return 3;
	int fd = inotify_init1(IN_NONBLOCK);
	if (fd < 0)
		printf("init-errno %d\n", errno);
	else
		printf("init-ok\n");
	return 0;
}

__attribute__((constructor)) static void maybe_child(void)
{
	const char *mode = child_mode("SHARED_CHILD");

	if (!mode)
		return;
	const char *a1 = getenv("SHARED_ARG1"), *a2 = getenv("SHARED_ARG2");
	if (!strcmp(mode, "watch"))
		_exit(child_watch(a1, atoi(a2)));
	if (!strcmp(mode, "create"))
		_exit(child_create(a1));
	if (!strcmp(mode, "replace"))
		_exit(child_replace(a1, a2));
	_exit(99);
}

/* ---- the parent's side -------------------------------------------------- */

static char exe[PATH_MAX], base[PATH_MAX], domain[PATH_MAX], watched[PATH_MAX];

static void setup(void)
{
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);

	cr_assert_gt(n, 0);
	exe[n] = 0;
	snprintf(base, sizeof base, "%s", scratch_enter());
	cr_assert_eq(chmod(base, 0711), 0);	/* other uids pass through */
	path_printf(domain, sizeof domain, "%s/dom", base);
	path_printf(watched, sizeof watched, "%s/w", base);
}

TestSuite(shared_domain, .init = setup, .fini = scratch_leave, .timeout = 60);

struct child {
	pid_t pid;
	char outp[64], errp[64];
};

struct who {
	uid_t uid;		/* 0: stay root */
	int ngroups;
	gid_t groups[2];
};

/* Start argv (NULL: this binary in MODE) as WHO (umask 077), with the
 * domain D. */
static void start_argv(struct child *c, const struct who *w, const char *d,
		       char *const *argv, const char *mode, const char *a1,
		       const char *a2)
{
	snprintf(c->outp, sizeof c->outp, "/tmp/shared-out.XXXXXX");
	snprintf(c->errp, sizeof c->errp, "/tmp/shared-err.XXXXXX");
	int o = mkstemp(c->outp), e = mkstemp(c->errp);

	cr_assert(o >= 0 && e >= 0);
	c->pid = fork();
	cr_assert_geq(c->pid, 0);
	if (c->pid == 0) {
		dup2(o, 1);
		dup2(e, 2);
		umask(077);
		if (setgroups((size_t)w->ngroups, w->groups) < 0)
			_exit(97);
		if (w->uid && (setresgid(w->uid, w->uid, w->uid) < 0 ||
			       setresuid(w->uid, w->uid, w->uid) < 0))
			_exit(98);
		if (mode) {
			setenv("SHARED_CHILD", mode, 1);
			setenv("SHARED_ARG1", a1 ? a1 : "", 1);
			setenv("SHARED_ARG2", a2 ? a2 : "", 1);
		}
		if (d)
			setenv("INOTIFY_SHIM_DOMAIN", d, 1);
		else
			unsetenv("INOTIFY_SHIM_DOMAIN");
		/* the refusals asserted here are printed only when asked for
		 * (the library is quiet otherwise: test/quiet.c) */
		setenv("INOTIFY_SHIM_DEBUG", "1", 0);
		if (argv) {
			/* the command links the core itself; preloaded, the
			 * shim would reclaim the dead at exec (instance.c) */
			unsetenv("LD_PRELOAD");
			execv(argv[0], argv);
		}
		else
			execl(exe, "shared_domain", (char *)NULL);
		_exit(127);
	}
	close(o);
	close(e);
}

static void start(struct child *c, const struct who *w, const char *d,
		  const char *mode, const char *a1, const char *a2)
{
	start_argv(c, w, d, NULL, mode, a1, a2);
}


static bool has_ready(void *arg)
{
	char buf[256];

	slurp_file(arg, buf, sizeof buf, false);
	return strstr(buf, "ready\n") || strstr(buf, "errno");
}

/* Wait for the child to exit (up to 30 s); its stdout and stderr. */
static int finish(struct child *c, char *out, size_t olen, char *err, size_t elen)
{
	int st = -1;

	for (int i = 0; i < 30000; i++) {
		if (waitpid(c->pid, &st, WNOHANG) == c->pid)
			break;
		if (i == 29999) {
			kill(c->pid, SIGKILL);
			waitpid(c->pid, &st, 0);
		}
		struct timespec ms = { 0, 1000000 };
		nanosleep(&ms, NULL);
	}
	slurp_file(c->outp, out, olen, false);
	slurp_file(c->errp, err, elen, false);
	unlink(c->outp);
	unlink(c->errp);
	return st;
}

static void run(const struct who *w, const char *d, const char *mode, const char *a1,
		const char *a2, char *out, size_t olen, char *err, size_t elen)
{
	struct child c;
	int st;

	start(&c, w, d, mode, a1, a2);
	st = finish(&c, out, olen, err, elen);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s child: status %x, %s / %s",
		  mode, st, out, err);
}

static void need_root(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root to switch users");
}

/* DIR, owned by root and the sharing group, with MODE. */
static void group_dir(const char *dir, mode_t mode)
{
	cr_assert_eq(mkdir(dir, 0700), 0);
	cr_assert_eq(chown(dir, 0, GROUP), 0);
	cr_assert_eq(chmod(dir, mode), 0);
}

static const struct who member_a = { UID_A, 1, { GROUP } };
static const struct who member_b = { UID_B, 1, { GROUP } };
static const struct who outsider = { UID_C, 0, { 0 } };

/* A watcher of uid A, a writer of uid B, the domain's directory in MODE. */
static void two_members_share(mode_t mode)
{
	char out[4096], err[4096], path[PATH_MAX + 16];
	struct child watcher;

	need_root();
	group_dir(domain, mode);
	group_dir(watched, 02770);
	start(&watcher, &member_a, domain, "watch", watched, "10000");
	cr_assert(wait_until(has_ready, watcher.outp, 10000), "the watcher never got ready");
	snprintf(path, sizeof path, "%s/last", watched);
	run(&member_b, domain, "create", path, NULL, out, sizeof out, err, sizeof err);
	cr_assert_str_eq(out, "init-ok\n", "the writer: %s / %s", out, err);
	cr_assert_eq(err[0], 0, "the writer complained: %s", err);
	finish(&watcher, out, sizeof out, err, sizeof err);
	cr_assert_str_eq(out, "ready\nevent last\n", "the watcher: %s / %s", out, err);
	cr_assert_eq(err[0], 0, "the watcher complained: %s", err);

	/* every file of the domain: 0660, of the group, whatever the umask */
	DIR *dir = opendir(domain);
	struct dirent *e;
	struct stat st;
	int n = 0, owners = 0;
	cr_assert_not_null(dir);
	while ((e = readdir(dir))) {
		if (e->d_name[0] == '.')
			continue;
		cr_assert_lt((size_t)snprintf(path, sizeof path, "%s/%.*s", domain, NAME_MAX,
					      e->d_name), sizeof path);
		cr_assert_eq(lstat(path, &st), 0);
		cr_assert_eq(st.st_mode & 07777, 0660, "%s is mode %o", e->d_name,
			     st.st_mode & 07777);
		cr_assert_eq(st.st_gid, GROUP, "%s has group %u", e->d_name, st.st_gid);
		owners |= st.st_uid == UID_A ? 1 : st.st_uid == UID_B ? 2 : 4;
		n++;
	}
	closedir(dir);
	cr_assert_geq(n, 5, "registry, files, both instances' queues and FIFOs expected");
	cr_assert_eq(owners, 3, "files of A and of B expected (%d)", owners);
}

Test(shared_domain, two_users_of_the_group_share_events_in_a_0770_directory)
{
	two_members_share(0770);
}

Test(shared_domain, two_users_of_the_group_share_events_in_a_2770_directory)
{
	two_members_share(02770);
}

Test(shared_domain, a_user_outside_the_group_can_neither_read_nor_inject)
{
	char out[4096], err[4096], path[PATH_MAX + 16];
	struct child watcher;

	need_root();
	group_dir(domain, 02770);
	cr_assert_eq(mkdir(watched, 0777), 0);
	cr_assert_eq(chmod(watched, 0777), 0);	/* the outsider may write here */
	start(&watcher, &member_a, domain, "watch", watched, "10000");
	cr_assert(wait_until(has_ready, watcher.outp, 10000), "the watcher never got ready");

	pid_t pid = fork();
	if (pid == 0) {
		char reg[PATH_MAX + 16];
		if (setgroups(0, NULL) || setresgid(UID_C, UID_C, UID_C) ||
		    setresuid(UID_C, UID_C, UID_C))
			_exit(2);
		snprintf(reg, sizeof reg, "%s/registry", domain);
		if (open(reg, O_RDONLY) != -1 || errno != EACCES)
			_exit(3);
		if (opendir(domain) != NULL)
			_exit(4);
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the outsider read the domain: %x", st);

	/* under the shim, named the same domain: refused, no instance, and
	 * its change reaches no watcher */
	snprintf(path, sizeof path, "%s/by-outsider", watched);
	run(&outsider, domain, "create", path, NULL, out, sizeof out, err, sizeof err);
	cr_assert_str_eq(out, "init-errno 12\n", "the outsider: %s / %s", out, err);
	cr_assert_eq(access(path, F_OK), 0);
	/* then a member: its event is the first and only one */
	snprintf(path, sizeof path, "%s/last", watched);
	run(&member_b, domain, "create", path, NULL, out, sizeof out, err, sizeof err);
	finish(&watcher, out, sizeof out, err, sizeof err);
	cr_assert_str_eq(out, "ready\nevent last\n", "the watcher: %s / %s", out, err);
}

/* "inotify-shim CMD" as WHO in the domain; its stdout, and exit status. */
static int tool_as(const struct who *w, const char *cmd, char *out, size_t olen)
{
	char tool[PATH_MAX], err[4096];
	const char *b = getenv("INOTIFY_SHIM_TEST_BUILDDIR");
	char *argv[] = { tool, (char *)cmd, NULL };
	struct child c;
	int st;

	snprintf(tool, sizeof tool, "%s/tools/inotify-shim", b ? b : ".");
	start_argv(&c, w, domain, argv, NULL, NULL, NULL);
	st = finish(&c, out, olen, err, sizeof err);
	cr_assert(WIFEXITED(st), "inotify-shim %s: status %x, %s", cmd, st, err);
	return WEXITSTATUS(st);
}

Test(shared_domain, a_member_lists_and_reclaims_another_members_instances)
{
	char out[4096], err[4096], pid[32], path[PATH_MAX + 16];
	struct child watcher;

	need_root();
	group_dir(domain, 02770);
	group_dir(watched, 02770);
	start(&watcher, &member_a, domain, "watch", watched, "30000");
	cr_assert(wait_until(has_ready, watcher.outp, 10000), "the watcher never got ready");
	cr_assert_eq(tool_as(&member_b, "ps", out, sizeof out), 0);
	snprintf(pid, sizeof pid, "%d", (int)watcher.pid);
	cr_assert_not_null(strstr(out, pid), "B's ps does not list A's watcher %s: %s", pid, out);
	/* A dies; B reclaims its instance and removes its files */
	kill(watcher.pid, SIGKILL);
	finish(&watcher, out, sizeof out, err, sizeof err);
	cr_assert_eq(tool_as(&member_b, "gc", out, sizeof out), 0);
	cr_assert_not_null(strstr(out, "1 instance and 1 watch freed"), "B's gc: %s", out);
	DIR *dir = opendir(domain);
	struct dirent *e;
	cr_assert_not_null(dir);
	while ((e = readdir(dir))) {
		snprintf(path, sizeof path, "%s", e->d_name);
		cr_assert(path[0] != 'q' && path[0] != 'f' ? true : path[1] != '-',
			  "%s of the dead instance is left", e->d_name);
	}
	closedir(dir);
}

/* Run a probe as root with the given groups; expect the domain refused
 * (init fails ENOMEM) with one message containing reason. */
static void expect_refused(const struct who *w, const char *d, const char *reason)
{
	char out[4096], err[4096], path[PATH_MAX + 16];

	snprintf(path, sizeof path, "%s/probe", base);
	run(w, d, "create", path, NULL, out, sizeof out, err, sizeof err);
	cr_assert_str_eq(out, "init-errno 12\n", "got %s / %s", out, err);
	cr_assert_not_null(strstr(err, reason), "message without \"%s\": %s", reason, err);
}

static const struct who root_alone = { 0, 0, { 0 } };
static const struct who root_in_group = { 0, 1, { GROUP } };

Test(shared_domain, a_group_not_ones_own_is_refused)
{
	need_root();
	group_dir(domain, 02770);
	expect_refused(&root_alone, domain, "which is not one of this process's");
}

Test(shared_domain, a_shared_directory_of_another_mode_is_refused)
{
	need_root();
	group_dir(domain, 0750);
	expect_refused(&root_in_group, domain, "must be mode 0770 or 2770");
}

Test(shared_domain, a_sticky_shared_directory_is_refused)
{
	need_root();
	group_dir(domain, 01770);
	expect_refused(&root_in_group, domain, "must be mode 0770 or 2770");
}

Test(shared_domain, a_default_domain_open_to_its_group_is_refused)
{
	char dir[PATH_MAX + 16];

	need_root();
	snprintf(dir, sizeof dir, "%s/inotify-shim", base);
	group_dir(dir, 02770);
	cr_assert_eq(setenv("XDG_RUNTIME_DIR", base, 1), 0);
	expect_refused(&root_in_group, NULL, "only a domain named by an absolute path");
}

Test(shared_domain, a_file_of_another_group_is_refused_and_replaced)
{
	char out[4096], err[4096], path[PATH_MAX + 16];
	struct stat st;

	need_root();
	group_dir(domain, 02770);
	snprintf(path, sizeof path, "%s/probe", base);
	run(&root_in_group, domain, "create", path, NULL, out, sizeof out, err, sizeof err);
	cr_assert_str_eq(out, "init-ok\n", "%s / %s", out, err);
	snprintf(path, sizeof path, "%s/registry", domain);
	cr_assert_eq(chown(path, 0, GROUP + 1), 0);
	snprintf(path, sizeof path, "%s/probe2", base);
	run(&root_in_group, domain, "create", path, NULL, out, sizeof out, err, sizeof err);
	cr_assert_str_eq(out, "init-ok\n", "%s / %s", out, err);
	cr_assert_not_null(strstr(err, "its group is"), "no refusal: %s", err);
	snprintf(path, sizeof path, "%s/registry", domain);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_gid, GROUP);
	cr_assert_eq(st.st_mode & 07777, 0660);
}

/* ---- issue 5: files only through the checked directory ------------------ */

static void expect_nothing_made_in(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	cr_assert_not_null(d);
	while ((e = readdir(d)))
		cr_assert(e->d_name[0] == '.', "%s was made in %s", e->d_name, dir);
	closedir(d);
}

static void replaced_directory(const char *with)
{
	char out[4096], err[4096], target[PATH_MAX + 16];

	run(&root_alone, domain, "replace", domain, with, out, sizeof out, err, sizeof err);
	cr_assert_str_eq(out, "init-errno 12\n", "an instance was made: %s / %s", out, err);
	snprintf(target, sizeof target, "%s.target", domain);
	expect_nothing_made_in(target);
	if (!strcmp(with, "dir"))
		expect_nothing_made_in(domain);
}

Test(shared_domain, a_domain_directory_replaced_by_another_is_never_written_into)
{
	replaced_directory("dir");
}

Test(shared_domain, a_domain_directory_replaced_by_a_link_is_never_followed)
{
	replaced_directory("link");
}
