/*
 * damaged_files.c - files of the domain truncated, holed, removed or
 * replaced while processes use them (issue 12, item 2, "a domain file
 * that shrinks, vanishes or is replaced"; src/domain/domain.h,
 * "A file that shrinks, vanishes or is replaced while in use"):
 *   - a queue truncated or replaced under its watcher: a process started
 *     after is unharmed and refuses the queue (one message, with
 *     INOTIFY_SHIM_DEBUG only);
 *   - the table of shared open files truncated, a registry with a hole
 *     where it must be backed: refused and replaced by fresh ones;
 *   - a registry replaced or removed under a process that has it mapped:
 *     that process refuses it when it next backs records, and its
 *     inotify_add_watch fails with ENOSPC, with no fault.
 * Damaged headers, foreign owners and modes are test/faults.c's; a full
 * file system is test/storage.c's.
 *
 * Children re-execute this binary with STORAGE_CHILD set in a domain of
 * the test's own (base/dom); they run from a constructor, after the
 * shim's own, and never reach Criterion.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"
#include "../src/domain/layout.h"

#define MANY 2000	/* files to watch: more than one chunk of records */

/* ---- the children ------------------------------------------------------- */

static int child_probe(const char *watched)
{
	char path[PATH_MAX];
	struct ev ev[4];
	int fd = inotify_init1(IN_NONBLOCK), n;

	if (fd < 0 || inotify_add_watch(fd, watched, IN_CREATE) < 0) {
		printf("errno %d\n", errno);
		return 0;
	}
	path_printf(path, sizeof path, "%s/probe-%d", watched, (int)getpid());
	close(creat(path, 0600));
	n = wait_events(fd, ev, 4, 1, 5000);
	printf(n == 1 && ev[0].mask == IN_CREATE ? "ok\n" : "noevent\n");
	return 0;
}

/* share WATCHED: a file open in two processes (the table of shared open
 * files is made or mapped), written and closed by both. */
static int child_share(const char *watched)
{
	char path[PATH_MAX];
	int f, fd = inotify_init1(IN_NONBLOCK);

	/* the table is made once a file open in two processes is watched */
	if (fd < 0 || inotify_add_watch(fd, watched, IN_ALL_EVENTS) < 0)
		return 2;
	path_printf(path, sizeof path, "%s/shared", watched);
	f = open(path, O_RDWR | O_CREAT, 0600);
	if (f < 0)
		return 2;
	pid_t pid = fork();
	if (pid == 0) {
		if (write(f, "c", 1) != 1)
			_exit(1);
		close(f);
		_exit(0);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	close(f);
	printf(WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "ok\n" : "child failed\n");
	return 0;
}

/* hold WATCHED READY: watch WATCHED, create READY, wait to be killed. */
static int child_hold(const char *watched, const char *ready)
{
	int fd = inotify_init1(IN_NONBLOCK);

	if (fd < 0 || inotify_add_watch(fd, watched, IN_CREATE) < 0)
		return 2;
	close(creat(ready, 0600));
	for (;;)
		pause();
}

/* grow WATCHED MANY READY: watch WATCHED, create READY, wait for
 * READY.go, then watch each file of MANY. */
static int child_grow(const char *watched, const char *many, const char *ready)
{
	char path[PATH_MAX], go[PATH_MAX];
	int fd = inotify_init1(IN_NONBLOCK), ok = 0, err = 0;

	if (fd < 0 || inotify_add_watch(fd, watched, IN_CREATE) < 0)
		return 2;
	path_printf(go, sizeof go, "%s.go", ready);
	close(creat(ready, 0600));
	for (int ms = 0; access(go, F_OK) != 0; ms++) {
		if (ms == 60000)
			return 3;
		struct timespec t = { 0, 1000000 };
		nanosleep(&t, NULL);
	}
	for (int i = 0; i < MANY; i++) {
		path_printf(path, sizeof path, "%s/m%d", many, i);
		if (inotify_add_watch(fd, path, IN_ATTRIB) < 0) {
			err = errno;
			break;
		}
		ok++;
	}
	printf("watches %s errno %d\n", ok > 0 && ok < MANY ? "some" : "not some", err);
	return 0;
}

__attribute__((constructor)) static void maybe_child(void)
{
	const char *mode = child_mode("STORAGE_CHILD");

	if (!mode)
		return;
	const char *w = getenv("STORAGE_WATCHED"), *a1 = getenv("STORAGE_ARG1");
	if (!strcmp(mode, "probe"))
		_exit(child_probe(w));
	if (!strcmp(mode, "share"))
		_exit(child_share(w));
	if (!strcmp(mode, "hold"))
		_exit(child_hold(w, a1));
	if (!strcmp(mode, "grow"))
		_exit(child_grow(w, getenv("STORAGE_MANY"), a1));
	_exit(99);
}

/* ---- the parent's side -------------------------------------------------- */

static char base[PATH_MAX], watched[PATH_MAX], many[PATH_MAX], dom[PATH_MAX];

static void setup(void)
{
	const char *s = scratch_enter();

	path_printf(base, sizeof base, "%s", s);
	path_printf(watched, sizeof watched, "%s/watched", base);
	path_printf(many, sizeof many, "%s/many", base);
	path_printf(dom, sizeof dom, "%s/dom", base);
	cr_assert_eq(mkdir(watched, 0700), 0);
	cr_assert_eq(mkdir(many, 0700), 0);
	for (int i = 0; i < MANY; i++) {
		char p[PATH_MAX];
		path_printf(p, sizeof p, "%s/m%d", many, i);
		close(creat(p, 0600));
	}
}

TestSuite(damaged_files, .init = setup, .fini = scratch_leave, .timeout = 120);

struct kid {
	pid_t pid;
	char outp[32], errp[32];
};

/* Start this binary in MODE in the domain dom; debug: INOTIFY_SHIM_DEBUG. */
static void kid_start(struct kid *k, const char *mode, const char *a1, bool debug)
{
	snprintf(k->outp, sizeof k->outp, "/tmp/storage-out.XXXXXX");
	snprintf(k->errp, sizeof k->errp, "/tmp/storage-err.XXXXXX");
	int o = mkstemp(k->outp), e = mkstemp(k->errp);

	cr_assert(o >= 0 && e >= 0);
	k->pid = fork();
	cr_assert_geq(k->pid, 0);
	if (k->pid == 0) {
		dup2(o, 1);
		dup2(e, 2);
		setenv("STORAGE_CHILD", mode, 1);
		setenv("STORAGE_ARG1", a1 ? a1 : "", 1);
		setenv("STORAGE_WATCHED", watched, 1);
		setenv("STORAGE_MANY", many, 1);
		setenv("INOTIFY_SHIM_DOMAIN", dom, 1);
		setenv("INOTIFY_SHIM_MAX_USER_WATCHES", "100000", 1);
		if (debug)
			setenv("INOTIFY_SHIM_DEBUG", "1", 1);
		else
			unsetenv("INOTIFY_SHIM_DEBUG");
		char self[PATH_MAX];
		ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
		if (n <= 0)
			_exit(127);
		self[n] = 0;
		execl(self, "storage", (char *)NULL);
		_exit(127);
	}
	close(o);
	close(e);
}


/* Wait (60 s at most) for the kid; its status, out and err. */
static int kid_finish(struct kid *k, char *out, size_t olen, char *err, size_t elen)
{
	int st = 0;

	for (int ms = 0;; ms++) {
		if (waitpid(k->pid, &st, WNOHANG) == k->pid)
			break;
		if (ms == 60000) {
			kill(k->pid, SIGKILL);
			waitpid(k->pid, &st, 0);
			cr_assert_fail("a child did not finish in 60 s");
		}
		struct timespec t = { 0, 1000000 };
		nanosleep(&t, NULL);
	}
	slurp_file(k->outp, out, olen, true);
	slurp_file(k->errp, err, elen, true);
	return st;
}

struct run {
	int status;
	char out[4096], err[8192];
};

static void run_kid(struct run *r, const char *mode, const char *a1, bool debug)
{
	struct kid k;

	kid_start(&k, mode, a1, debug);
	r->status = kid_finish(&k, r->out, sizeof r->out, r->err, sizeof r->err);
	cr_assert(WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0,
		  "%s: status %x (signal %d), out %s, err %s", mode, r->status,
		  WIFSIGNALED(r->status) ? WTERMSIG(r->status) : 0, r->out, r->err);
}

static int count(const char *s, const char *needle)
{
	int n = 0;

	for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static bool exists(void *path)
{
	return access(path, F_OK) == 0;
}

/* The one queue file of the domain. */
static void queue_path(char *buf, size_t len)
{
	char cmd[PATH_MAX + 64];

	snprintf(cmd, sizeof cmd, "ls %s | grep '^q-'", dom);
	FILE *p = popen(cmd, "r");
	char name[64] = "";
	cr_assert_not_null(p);
	cr_assert_not_null(fgets(name, sizeof name, p), "no queue file in %s", dom);
	pclose(p);
	name[strcspn(name, "\n")] = 0;
	path_printf(buf, len, "%s/%s", dom, name);
}

/* A watcher holds its queue; the file is then damaged by what(path); a
 * writer started after is unharmed and refuses the queue: with debugging,
 * one message; without, nothing at all. */
static void queue_damaged_under_a_watcher(void (*what)(const char *path))
{
	char ready[PATH_MAX], q[PATH_MAX];
	struct kid holder;
	struct run r;

	path_printf(ready, sizeof ready, "%s/ready", base);
	kid_start(&holder, "hold", ready, false);
	cr_assert(wait_until(exists, ready, 20000), "the watcher never got ready");
	queue_path(q, sizeof q);
	what(q);
	run_kid(&r, "probe", NULL, true);
	cr_assert_str_eq(r.out, "ok\n", "the writer's own instance: %s %s", r.out, r.err);
	cr_assert_eq(count(r.err, "refused the queue"), 1, "not one refusal: %s", r.err);
	run_kid(&r, "probe", NULL, false);
	cr_assert_str_eq(r.out, "ok\n");
	cr_assert_str_eq(r.err, "", "the library spoke without INOTIFY_SHIM_DEBUG");
	kill(holder.pid, SIGKILL);
	char out[256], err[256];
	kid_finish(&holder, out, sizeof out, err, sizeof err);
}

static void truncate_file(const char *path)
{
	cr_assert_eq(truncate(path, 100), 0);
}

static void replace_by_zeros(const char *path)
{
	char tmp[PATH_MAX + 8];
	struct stat st;

	cr_assert_eq(stat(path, &st), 0);
	path_printf(tmp, sizeof tmp, "%s.new", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, st.st_size), 0);
	close(fd);
	cr_assert_eq(rename(tmp, path), 0);
}

Test(damaged_files, a_truncated_queue_harms_no_process_started_after)
{
	queue_damaged_under_a_watcher(truncate_file);
}

Test(damaged_files, a_replaced_queue_harms_no_process_started_after)
{
	queue_damaged_under_a_watcher(replace_by_zeros);
}

Test(damaged_files, a_truncated_files_table_is_refused_and_replaced)
{
	char files[PATH_MAX];
	struct stat st;
	struct run r;

	run_kid(&r, "share", NULL, false);
	cr_assert_str_eq(r.out, "ok\n");
	path_printf(files, sizeof files, "%s/files", dom);
	cr_assert_eq(stat(files, &st), 0);
	off_t size = st.st_size;
	truncate_file(files);
	run_kid(&r, "share", NULL, true);
	cr_assert_str_eq(r.out, "ok\n");
	cr_assert_eq(count(r.err, "refused its table"), 1, "not one refusal: %s", r.err);
	cr_assert_eq(stat(files, &st), 0);
	cr_assert_eq(st.st_size, size, "no fresh table");
	cr_assert_geq((off_t)st.st_blocks * 512, size, "the fresh table is not backed");
}

/* A hole where the registry must have storage (the inode hash buckets,
 * read without a lock at any index): refused, then a fresh one.  On
 * tmpfs, where a read of a hole allocates a page (elsewhere it allocates
 * nothing, and holes are not looked for: src/domain/backing.h); the
 * domain is put in /dev/shm for it. */
static char shm[PATH_MAX];

static void leave_shm(void)
{
	char cmd[PATH_MAX + 16];

	scratch_leave();
	if (shm[0]) {
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", shm);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", shm);
	}
}

Test(damaged_files, a_registry_with_a_hole_is_refused_and_replaced, .fini = leave_shm)
{
	char reg[PATH_MAX];
	struct statfs sfs;
	struct run r;
	uint64_t off;

	path_printf(shm, sizeof shm, "/dev/shm/inotify-shim-test.XXXXXX");
	if (statfs("/dev/shm", &sfs) < 0 || sfs.f_type != 0x01021994 || !mkdtemp(shm)) {
		shm[0] = 0;
		cr_skip_test("no tmpfs at /dev/shm");
	}
	path_printf(dom, sizeof dom, "%s/dom", shm);
	run_kid(&r, "probe", NULL, false);
	cr_assert_str_eq(r.out, "ok\n");
	path_printf(reg, sizeof reg, "%s/registry", dom);
	int fd = open(reg, O_RDWR);
	cr_assert_geq(fd, 0);
	cr_assert_eq(pread(fd, &off, 8, offsetof(struct registry, off_inode_buckets)), 8);
	cr_assert_eq(off % 4096, 0);
	cr_assert_eq(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			       (off_t)off + 65536, 65536), 0);
	close(fd);
	run_kid(&r, "probe", NULL, true);
	cr_assert_str_eq(r.out, "ok\n", "%s", r.err);
	cr_assert_eq(count(r.err, "refused its registry"), 1, "not one refusal: %s", r.err);
	cr_assert_not_null(strstr(r.err, "not backed"), "%s", r.err);
	run_kid(&r, "probe", NULL, true);
	cr_assert_eq(count(r.err, "refused"), 0, "the fresh one refused: %s", r.err);
}

/* A process that has the registry mapped while it is replaced (or
 * removed) meets that when it next backs records: it refuses the file it
 * no longer finds in place (one message, with debugging), its
 * inotify_add_watch fails with ENOSPC, and it does not fault. */
static void registry_gone_under_a_process(bool replace)
{
	char ready[PATH_MAX], go[PATH_MAX + 8], reg[PATH_MAX], away[PATH_MAX];
	struct kid grower;
	struct run r;

	path_printf(ready, sizeof ready, "%s/ready", base);
	path_printf(go, sizeof go, "%s.go", ready);
	path_printf(reg, sizeof reg, "%s/registry", dom);
	path_printf(away, sizeof away, "%s/registry.away", dom);
	kid_start(&grower, "grow", ready, true);
	cr_assert(wait_until(exists, ready, 20000), "the grower never got ready");
	if (replace) {
		cr_assert_eq(rename(reg, away), 0);
		run_kid(&r, "probe", NULL, false);	/* makes a fresh one */
		cr_assert_str_eq(r.out, "ok\n");
	} else {
		cr_assert_eq(unlink(reg), 0);
	}
	close(creat(go, 0600));
	char out[256], err[4096];
	int st = kid_finish(&grower, out, sizeof out, err, sizeof err);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the grower: status %x %s", st, err);
	cr_assert_str_eq(out, "watches some errno 28\n", "%s", err);
	cr_assert_eq(count(err, "refused"), 1, "not one refusal: %s", err);
}

Test(damaged_files, a_registry_replaced_under_a_process_is_refused_by_it)
{
	registry_gone_under_a_process(true);
}

Test(damaged_files, a_registry_removed_under_a_process_is_refused_by_it)
{
	registry_gone_under_a_process(false);
}

