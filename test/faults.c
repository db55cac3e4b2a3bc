/*
 * faults.c - the domain survives its parties' deaths and refuses damaged or
 * foreign state (issue 5, "Faults"):
 *   - a writer SIGKILLed while it holds registry.lock (the test hook
 *     INOTIFY_SHIM_TEST_HOLD_LOCK stops it there): the next locker repairs
 *     the registry, other instances keep working, the next events arrive;
 *   - watchers SIGKILLed with events queued: their instances and watches are
 *     reclaimed, so the limits are not eaten by the dead;
 *   - a damaged or foreign domain (magic, version, size, truncation, owner,
 *     mode, a symlink or FIFO in place of the registry or of the directory):
 *     one message, then a fresh registry or failing inotify calls; never a
 *     crash, never a followed link;
 *   - hostile shared memory: fields of a live registry and queue overwritten
 *     with random values while the library uses them: no crash, no out of
 *     bounds access (run it in the --enable-sanitizers build too), and no
 *     hang: a looped chain is left at once.  A run prints its seed;
 *     INOTIFY_SHIM_HOSTILE_SEED=N replays it (INOTIFY_SHIM_HOSTILE_ITERS
 *     sets the iterations of each of its four rounds).
 *
 * Tests that need a domain of their own re-execute this binary with
 * FAULTS_CHILD set and INOTIFY_SHIM_DOMAIN pointing elsewhere; the child
 * runs from a constructor, after the shim's own, and never reaches
 * Criterion.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"
#include "../src/domain/layout.h"
#include "../src/domain/openfiles.h"
#include "../src/queue/queue.h"

/* ---- the child modes ---------------------------------------------------- */

/* probe DIR: watch DIR, create a file in it, read the event.
 * Prints "ok" or "init-errno N" / "watch-errno N" / "noevent". */
static int child_probe(const char *dir)
{
	char path[4096];
	struct ev ev[4];
	int fd, wd, n;

	fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fd < 0) {
		printf("init-errno %d\n", errno);
		return 0;
	}
	wd = inotify_add_watch(fd, dir, IN_CREATE);
	if (wd < 0) {
		printf("watch-errno %d\n", errno);
		return 0;
	}
	path_printf(path, sizeof path, "%s/probe-%d", dir, (int)getpid());
	close(creat(path, 0600));
	n = wait_events(fd, ev, 4, 1, 5000);
	printf(n == 1 && ev[0].wd == wd && ev[0].mask == IN_CREATE ? "ok\n" : "noevent\n");
	return 0;
}

/* limits DIR ROUNDS: with max_user_instances 8 and max_user_watches 16
 * (set by the parent), ROUNDS times: start 8 processes that each make an
 * instance with 2 watches and queued events, then SIGKILL them all.  Every
 * round must succeed: the dead are reclaimed. */
static int child_limits(const char *dir, int rounds)
{
	for (int r = 0; r < rounds; r++) {
		pid_t pids[8];
		int ready[2];

		if (pipe(ready) < 0)
			return 2;
		for (int i = 0; i < 8; i++) {
			pids[i] = fork();
			if (pids[i] == 0) {
				char sub[4096], f[4096];
				int fd = inotify_init();
				path_printf(sub, sizeof sub, "%s/r%d-%d", dir, r, i);
				mkdir(sub, 0700);
				int ok = fd >= 0 && inotify_add_watch(fd, dir, IN_ALL_EVENTS) > 0 &&
					 inotify_add_watch(fd, sub, IN_ALL_EVENTS) > 0;
				path_printf(f, sizeof f, "%s/f", sub);
				close(creat(f, 0600));
				if (write(ready[1], ok ? "y" : "n", 1) != 1)
					_exit(3);
				for (;;)
					pause();
			}
		}
		close(ready[1]);
		int good = 0;
		for (int i = 0; i < 8; i++) {
			char c;
			if (read(ready[0], &c, 1) == 1 && c == 'y')
				good++;
		}
		close(ready[0]);
		for (int i = 0; i < 8; i++) {
			kill(pids[i], SIGKILL);
			waitpid(pids[i], NULL, 0);
		}
		if (good != 8) {
			printf("round %d: %d of 8 instances\n", r, good);
			return 1;
		}
	}
	printf("ok\n");
	return 0;
}

static unsigned long long rnd_state;
static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/* A value likely to hit an edge: 0, small, near a capacity, or random. */
static uint64_t nasty(uint64_t cap)
{
	switch (rnd() % 6) {
	case 0: return 0;
	case 1: return rnd() % 4;
	case 2: return cap - 1 - rnd() % 32;
	case 3: return cap + rnd() % 64;
	case 4: return rnd() % (cap + 1);
	default: return rnd();
	}
}

/* A field of an entry of the table of shared open files, or of its pid
 * hints, overwritten with a random value. */
static void spoil_files(unsigned char *files)
{
	struct openfiles *t = (void *)files;
	struct of_entry *entries = (void *)(files + ((sizeof *t + 4095) & ~(size_t)4095));
	struct of_entry *e = &entries[1 + rnd() % 8];

	switch (rnd() % 6) {
	case 0: e->nholders = (uint32_t)nasty(OPENFILE_HOLDERS); break;
	case 1: e->holders[rnd() % OPENFILE_HOLDERS].pid = (int32_t)nasty(1u << 31); break;
	case 2: e->holders[rnd() % OPENFILE_HOLDERS].fd = (int32_t)nasty(1024); break;
	case 3: e->state = (uint32_t)nasty(2); e->gen = (uint32_t)nasty(4); break;
	case 4: e->overflow = (uint32_t)nasty(2); break;
	default: t->pid_refs[rnd() % OPENFILES_PID_BUCKETS] = (uint32_t)rnd(); break;
	}
}

/* A file shared with a forked child, which writes and closes its copy. */
static void share_a_file(const char *dir)
{
	char path[4096];
	int f;

	path_printf(path, sizeof path, "%s/shared", dir);
	f = open(path, O_RDWR | O_CREAT, 0600);
	if (f < 0)
		return;
	pid_t pid = fork();
	if (pid == 0) {
		if (write(f, "c", 1) < 0) {
			/* the close is what matters */
		}
		close(f);
		_exit(0);
	}
	close(f);
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

/* Map the file at path read-write and shared, its size in *size if size;
 * NULL if it cannot be opened or mapped. */
static void *map_shared(const char *path, uint64_t *size)
{
	struct stat st;
	void *p = MAP_FAILED;
	int fd = open(path, O_RDWR);

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) == 0)
		p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return NULL;
	if (size)
		*size = (uint64_t)st.st_size;
	return p;
}

/* hostile DIR DOMAIN ITER: use the library while overwriting fields of the
 * live registry, of the instance's queue and of the table of shared open
 * files with random values. */
static int child_hostile(const char *dir, const char *domain, int iters)
{
	char path[4096];
	glob_t g;
	int fd;
	struct registry *r;
	unsigned char *q, *files;
	uint64_t qsize;
	char buf[8192];

	const char *seed = getenv("INOTIFY_SHIM_HOSTILE_SEED");	/* to replay one */
	rnd_state = seed ? strtoull(seed, NULL, 10)
			 : (unsigned long long)time(NULL) * 2654435761u ^ (unsigned)getpid();
	fprintf(stderr, "hostile: seed %llu\n", rnd_state);
	fd = inotify_init1(IN_NONBLOCK);
	if (fd < 0 || inotify_add_watch(fd, dir, IN_ALL_EVENTS) < 0)
		return 2;
	path_printf(path, sizeof path, "%s/registry", domain);
	r = map_shared(path, NULL);
	path_printf(path, sizeof path, "%s/q-*", domain);
	if (!r || glob(path, 0, NULL, &g) != 0 || g.gl_pathc != 1)
		return 3;
	q = map_shared(g.gl_pathv[0], &qsize);
	globfree(&g);
	/* the table of shared open files exists once a file was shared */
	share_a_file(dir);
	path_printf(path, sizeof path, "%s/files", domain);
	files = map_shared(path, NULL);
	if (!q || !files)
		return 4;
	struct reg_instance *insts = (void *)((char *)r + r->off_instances);
	struct reg_inode *inodes = (void *)((char *)r + r->off_inodes);
	struct reg_watch *watches = (void *)((char *)r + r->off_watches);
	uint32_t *ib = (void *)((char *)r + r->off_inode_buckets);
	uint32_t *wb = (void *)((char *)r + r->off_wd_buckets);
	uint32_t nb = r->ninode_buckets;
	/* the queue header: the fields after the lock (queue.h) */
	size_t qoff = offsetof(struct queue_header, count);
	uint32_t *qwords = (uint32_t *)(q + qoff);	/* count .. overflows */
	int wds[64], nwd = 0;

	for (int it = 0; it < iters; it++) {
		/* one to three corruptions */
		for (int k = 1 + (int)(rnd() % 3); k > 0; k--) {
			switch (rnd() % 13) {
			case 0: case 1: case 2: case 3:
				qwords[rnd() % 16] = (uint32_t)nasty(qsize);
				break;
			case 4:
				q[4096 + rnd() % (qsize - 4096)] = (unsigned char)rnd();
				break;
			case 5: {
				struct reg_watch *w = &watches[1 + rnd() % 8];
				uint32_t *f = (uint32_t *)w + rnd() % 10;
				*f = (uint32_t)nasty(REGISTRY_WATCHES);
				break;
			}
			case 6: {
				struct reg_inode *in = &inodes[1 + rnd() % 8];
				uint32_t *f = (uint32_t *)&in->state + rnd() % 4;
				*f = (uint32_t)nasty(REGISTRY_WATCHES);
				break;
			}
			case 7: {
				struct reg_instance *in = &insts[1 + rnd() % 4];
				uint32_t *f = (uint32_t *)in + rnd() % 12;
				*f = (uint32_t)nasty(REGISTRY_INSTANCES);
				break;
			}
			case 8:
				ib[rnd() % nb] = (uint32_t)nasty(REGISTRY_WATCHES);
				break;
			case 9:
				wb[rnd() % nb] = (uint32_t)nasty(REGISTRY_WATCHES);
				break;
			case 10:
				switch (rnd() % 6) {
				case 0: r->inode_hwm = (uint32_t)nasty(REGISTRY_WATCHES); break;
				case 1: r->watch_hwm = (uint32_t)nasty(REGISTRY_WATCHES); break;
				case 2: r->inode_free = (uint32_t)nasty(REGISTRY_WATCHES); break;
				case 3: r->watch_free = (uint32_t)nasty(REGISTRY_WATCHES); break;
				case 4: r->live_instances = (uint32_t)rnd(); break;
				default: r->ninode_buckets = (uint32_t)rnd(); r->nwd_buckets = (uint32_t)rnd(); break;
				}
				break;
			case 11:
				spoil_files(files);
				break;
			default:
				r->watch_count = (uint32_t)nasty(4);
				break;
			}
		}
		/* then use everything */
		path_printf(path, sizeof path, "%s/h%d", dir, it % 7);
		int f = creat(path, 0600);
		if (f >= 0) {
			if (write(f, "x", 1) < 0) {
				/* the event is what matters */
			}
			close(f);
		}
		if (rnd() % 3 == 0)
			unlink(path);
		if (rnd() % 4 == 0 && nwd < 64) {
			int w = inotify_add_watch(fd, rnd() % 2 ? dir : path, IN_ALL_EVENTS);
			if (w > 0)
				wds[nwd++] = w;
		}
		if (rnd() % 5 == 0 && nwd > 0)
			inotify_rm_watch(fd, wds[--nwd]);
		if (it % 4 == 0)
			share_a_file(dir);
		while (read(fd, buf, sizeof buf) > 0)
			;
		int avail;
		ioctl(fd, FIONREAD, &avail);
	}
	printf("ok\n");
	return 0;
}

/* looped DIR DOMAIN: watch DIR, then turn the watch's link to the next mark
 * on the inode into a loop onto itself, and point it at a generation of its
 * instance that has no queue file, so that every step of a walk that does
 * not see the loop costs a failed open.  A creat in DIR must then cost
 * next to nothing: prints the CPU time of the creat, in microseconds. */
static int child_looped(const char *dir, const char *domain)
{
	char path[4096];
	struct timespec t0, t1;
	struct registry *r;
	int fd, wd;

	fd = inotify_init1(IN_NONBLOCK);
	wd = fd < 0 ? -1 : inotify_add_watch(fd, dir, IN_CREATE);
	path_printf(path, sizeof path, "%s/registry", domain);
	r = map_shared(path, NULL);
	if (wd < 0 || !r)
		return 2;
	struct reg_watch *watches = (void *)((char *)r + r->off_watches);
	struct reg_instance *insts = (void *)((char *)r + r->off_instances);
	uint32_t widx = 0;
	for (uint32_t i = 1; i <= r->watch_hwm; i++)
		if (watches[i].state == RECORD_USED && watches[i].wd == wd)
			widx = i;
	if (!widx)
		return 4;
	watches[widx].inode_next = widx;
	insts[watches[widx].instance].gen += 1000;

	path_printf(path, sizeof path, "%s/after-the-loop", dir);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
	close(creat(path, 0600));
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
	printf("%ld\n", (long)((t1.tv_sec - t0.tv_sec) * 1000000 +
			       (t1.tv_nsec - t0.tv_nsec) / 1000));
	return 0;
}

__attribute__((constructor)) static void maybe_child(void)
{
	const char *mode = child_mode("FAULTS_CHILD");

	if (!mode)
		return;
	const char *a1 = getenv("FAULTS_ARG1"), *a2 = getenv("FAULTS_ARG2");
	if (!strcmp(mode, "probe"))
		_exit(child_probe(a1));
	if (!strcmp(mode, "limits"))
		_exit(child_limits(a1, atoi(a2)));
	if (!strcmp(mode, "looped"))
		_exit(child_looped(a1, getenv("INOTIFY_SHIM_DOMAIN")));
	if (!strcmp(mode, "hostile"))
		_exit(child_hostile(a1, getenv("INOTIFY_SHIM_DOMAIN"), atoi(a2)));
	_exit(99);
}

/* ---- the parent's side -------------------------------------------------- */

struct run {
	int status;
	char out[4096];
	char err[8192];
};


/* Run this binary in child mode with a domain of its own; the env pairs
 * (NAME=VALUE) are added.  Waits up to 60 s. */
static void run_child(struct run *res, const char *domain, const char *mode,
		      const char *a1, const char *a2, const char *extra_env)
{
	char outp[] = "/tmp/faults-out.XXXXXX", errp[] = "/tmp/faults-err.XXXXXX";
	int o = mkstemp(outp), e = mkstemp(errp);
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		dup2(o, 1);
		dup2(e, 2);
		setenv("FAULTS_CHILD", mode, 1);
		setenv("FAULTS_ARG1", a1 ? a1 : "", 1);
		setenv("FAULTS_ARG2", a2 ? a2 : "", 1);
		setenv("INOTIFY_SHIM_DOMAIN", domain, 1);
		/* the messages asserted here are printed only when asked for
		 * (the library is quiet otherwise: test/quiet.c) */
		setenv("INOTIFY_SHIM_DEBUG", "1", 0);
		if (extra_env)
			putenv((char *)extra_env);
		/* the path, not /proc/self/exe itself: under valgrind the
		 * link names the tool, and only readlink is made to name us */
		char self[PATH_MAX];
		ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
		if (n <= 0)
			_exit(127);
		self[n] = 0;
		execl(self, "faults", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 60000; i++) {
		int st;
		pid_t w = waitpid(pid, &st, WNOHANG);
		if (w == pid) {
			res->status = st;
			break;
		}
		if (i == 59999) {
			kill(pid, SIGKILL);
			waitpid(pid, &res->status, 0);
			cr_assert_fail("child %s did not finish in 60 s", mode);
		}
		struct timespec ms = { 0, 1000000 };
		nanosleep(&ms, NULL);
	}
	slurp_file(outp, res->out, sizeof res->out, false);
	slurp_file(errp, res->err, sizeof res->err, false);
	close(o);
	close(e);
	unlink(outp);
	unlink(errp);
}

static int count_lines(const char *s, const char *needle)
{
	int n = 0;

	for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static char base[4096], domain[4096], watched[4096];

static void fresh_dirs(void)
{
	const char *s = scratch_enter();

	snprintf(base, sizeof base, "%s", s);
	path_printf(domain, sizeof domain, "%s/dom", base);
	path_printf(watched, sizeof watched, "%s/w", base);
	cr_assert_eq(mkdir(watched, 0700), 0);
}

TestSuite(faults, .init = fresh_dirs, .fini = scratch_leave, .timeout = 60);

static bool file_exists(void *path)
{
	return access(path, F_OK) == 0;
}

Test(faults, writer_killed_holding_the_registry_lock)
{
	char held[4096], env[4200];
	struct ev ev[8];
	int a = inotify_init1(IN_NONBLOCK), b = inotify_init1(IN_NONBLOCK);

	cr_assert(a >= 0 && b >= 0);
	cr_assert_gt(inotify_add_watch(a, watched, IN_CREATE), 0);
	cr_assert_gt(inotify_add_watch(b, watched, IN_CREATE), 0);
	path_printf(held, sizeof held, "%s/held", base);
	snprintf(env, sizeof env, "INOTIFY_SHIM_TEST_HOLD_LOCK=%s", held);

	pid_t pid = fork();
	if (pid == 0) {
		char f[4200];
		putenv(env);
		path_printf(f, sizeof f, "%s/by-the-dying", watched);
		execlp("touch", "touch", f, (char *)NULL);
		_exit(127);
	}
	cr_assert(wait_until(file_exists, held, 10000), "the writer never held the lock");
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);

	/* the next writer: another process, then this one */
	char f[4200];
	path_printf(f, sizeof f, "%s/after", watched);
	char *argv[] = { "touch", f, NULL };
	cr_assert_eq(run_program(argv), 0);
	path_printf(f, sizeof f, "%s/after2", watched);
	close(creat(f, 0600));

	for (int fd = a, k = 0; k < 2; fd = b, k++) {
		int n = 0, found = 0;
		for (int tries = 0; tries < 50 && found < 2; tries++) {
			n = wait_events(fd, ev, 8, 1, 100);
			for (int i = 0; i < n; i++)
				if (!strcmp(ev[i].name, "after") || !strcmp(ev[i].name, "after2"))
					found++;
		}
		cr_assert_eq(found, 2, "instance %d: the next writers' events did not arrive", k);
	}
	/* and watches can still be added and removed */
	int wd = inotify_add_watch(a, base, IN_ALL_EVENTS);
	cr_assert_gt(wd, 0);
	cr_assert_eq(inotify_rm_watch(a, wd), 0);
	close(a);
	close(b);
}

Test(faults, dead_watchers_are_reclaimed_and_do_not_eat_the_limits)
{
	struct run r;

	run_child(&r, domain, "limits", watched, "6",
		  "INOTIFY_SHIM_MAX_USER_INSTANCES=8");
	/* the watch limit is set by putenv above only for instances: add it */
	cr_assert(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0,
		  "status %x out %s err %s", r.status, r.out, r.err);
	cr_assert_str_eq(r.out, "ok\n");

	/* the dead leave no files behind for long: at most one round's */
	int files = 0;
	DIR *dir = opendir(domain);
	struct dirent *e;
	cr_assert_not_null(dir);
	while ((e = readdir(dir)))
		if (e->d_name[0] == 'q' || e->d_name[0] == 'f')
			files++;
	closedir(dir);
	cr_assert_leq(files, 2 * 8, "%d instance files left", files);
}

Test(faults, dead_watchers_do_not_eat_the_watch_limit)
{
	struct run r;

	/* 8 instances x 2 watches = 16 = the limit: every round needs the
	 * previous round's watches back */
	run_child(&r, domain, "limits", watched, "4",
		  "INOTIFY_SHIM_MAX_USER_WATCHES=16");
	cr_assert(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0,
		  "status %x out %s err %s", r.status, r.out, r.err);
	cr_assert_str_eq(r.out, "ok\n");
}

/* ---- damaged and foreign domains ---------------------------------------- */

static void make_valid_domain(void)
{
	struct run r;

	run_child(&r, domain, "probe", watched, NULL, NULL);
	cr_assert_str_eq(r.out, "ok\n", "a fresh domain does not work: %s %s", r.out, r.err);
	cr_assert_eq(count_lines(r.err, "refused"), 0, "a fresh domain complains: %s", r.err);
}

static void reg_path(char *buf)
{
	path_printf(buf, 4096, "%s/registry", domain);
}

/* The probe works on a fresh registry after one refusal message. */
static void expect_refused_then_fresh(const char *reason)
{
	struct run r;
	char p[4096];
	struct stat st;

	run_child(&r, domain, "probe", watched, NULL, NULL);
	cr_assert(WIFEXITED(r.status), "the probe crashed: status %x, %s", r.status, r.err);
	cr_assert_str_eq(r.out, "ok\n", "no working fresh domain: %s / %s", r.out, r.err);
	cr_assert_eq(count_lines(r.err, "refused its"), 1, "not one message: %s", r.err);
	cr_assert_not_null(strstr(r.err, reason), "message without \"%s\": %s", reason, r.err);
	reg_path(p);
	cr_assert_eq(lstat(p, &st), 0);
	cr_assert(S_ISREG(st.st_mode) && st.st_uid == geteuid() && (st.st_mode & 0777) == 0600);
	/* and the next process is content with it */
	run_child(&r, domain, "probe", watched, NULL, NULL);
	cr_assert_str_eq(r.out, "ok\n");
	cr_assert_eq(count_lines(r.err, "refused"), 0, "still complaining: %s", r.err);
}

static void poke(off_t off, uint32_t value)
{
	char p[4096];
	int fd;

	reg_path(p);
	fd = open(p, O_WRONLY);
	cr_assert_geq(fd, 0);
	cr_assert_eq(pwrite(fd, &value, 4, off), 4);
	close(fd);
}

Test(faults, registry_with_wrong_magic_is_refused)
{
	make_valid_domain();
	poke(0, 0xdeadbeef);
	expect_refused_then_fresh("wrong magic");
}

Test(faults, registry_of_another_version_is_refused)
{
	make_valid_domain();
	poke(offsetof(struct registry, version), REGISTRY_VERSION + 1);
	expect_refused_then_fresh("another version");
}

Test(faults, registry_with_wrong_geometry_is_refused)
{
	make_valid_domain();
	poke(offsetof(struct registry, ninstances), 3);
	expect_refused_then_fresh("geometry");
}

Test(faults, registry_too_big_is_refused)
{
	char p[4096];

	make_valid_domain();
	reg_path(p);
	struct stat st;
	stat(p, &st);
	cr_assert_eq(truncate(p, st.st_size + 4096), 0);
	expect_refused_then_fresh("size");
}

Test(faults, truncated_registry_is_refused)
{
	char p[4096];

	make_valid_domain();
	reg_path(p);
	cr_assert_eq(truncate(p, 100), 0);
	expect_refused_then_fresh("truncated");
}

Test(faults, registry_open_to_others_is_refused)
{
	char p[4096];

	make_valid_domain();
	reg_path(p);
	cr_assert_eq(chmod(p, 0644), 0);
	expect_refused_then_fresh("open to others");
}

Test(faults, registry_of_another_user_is_refused)
{
	char p[4096];

	if (geteuid() != 0)
		cr_skip_test("needs root to chown");
	make_valid_domain();
	reg_path(p);
	cr_assert_eq(chown(p, 65534, 65534), 0);
	expect_refused_then_fresh("belongs to uid 65534");
}

Test(faults, registry_symlink_is_not_followed)
{
	char p[4096], victim[4096], buf[64];
	int fd;

	cr_assert_eq(mkdir(domain, 0700), 0);
	path_printf(victim, sizeof victim, "%s/victim", base);
	fd = open(victim, O_CREAT | O_WRONLY, 0600);
	cr_assert_eq(write(fd, "precious", 8), 8);
	close(fd);
	reg_path(p);
	cr_assert_eq(symlink(victim, p), 0);
	expect_refused_then_fresh("symbolic link");
	fd = open(victim, O_RDONLY);
	cr_assert_eq(read(fd, buf, sizeof buf), 8, "the link was followed");
	close(fd);
	struct stat st;
	cr_assert_eq(stat(victim, &st), 0);
	cr_assert_eq(st.st_size, 8);
	cr_assert_eq(st.st_mode & 0777, 0600);
}

Test(faults, registry_fifo_does_not_hang)
{
	char p[4096];

	cr_assert_eq(mkdir(domain, 0700), 0);
	reg_path(p);
	cr_assert_eq(mkfifo(p, 0600), 0);
	expect_refused_then_fresh("not a regular file");
}

/* The directory itself refused: inotify_init fails with ENOMEM (an error
 * the kernel gives), after one message; nothing is made behind the link. */
static void expect_no_domain(const char *reason)
{
	struct run r;

	run_child(&r, domain, "probe", watched, NULL, NULL);
	cr_assert(WIFEXITED(r.status), "the probe crashed: status %x, %s", r.status, r.err);
	cr_assert_str_eq(r.out, "init-errno 12\n", "got %s / %s", r.out, r.err);
	cr_assert_not_null(strstr(r.err, reason), "message without \"%s\": %s", reason, r.err);
	/* under make check-valgrind, valgrind's own launcher runs in the
	 * child's process before the test's image, under the shim too: each
	 * of the two images says it once */
	int images = getenv("INOTIFY_SHIM_TEST_VALGRIND") ? 2 : 1;
	cr_assert_eq(count_lines(r.err, "refused"), images, "not one refusal: %s", r.err);
}

Test(faults, domain_directory_symlink_is_not_followed)
{
	char target[4096], p[4096];

	path_printf(target, sizeof target, "%s/elsewhere", base);
	cr_assert_eq(mkdir(target, 0700), 0);
	cr_assert_eq(symlink(target, domain), 0);
	expect_no_domain("symbolic link");
	path_printf(p, sizeof p, "%s/registry", target);
	cr_assert_neq(access(p, F_OK), 0, "a registry was made behind the link");
}

Test(faults, domain_directory_of_another_user_is_refused)
{
	if (geteuid() != 0)
		cr_skip_test("needs root to chown");
	cr_assert_eq(mkdir(domain, 0700), 0);
	cr_assert_eq(chown(domain, 65534, 65534), 0);
	expect_no_domain("belongs to uid 65534");
}

Test(faults, domain_directory_open_to_others_is_refused)
{
	cr_assert_eq(mkdir(domain, 0700), 0);
	cr_assert_eq(chmod(domain, 0777), 0);
	expect_no_domain("open to others");
}

Test(faults, domain_that_is_a_file_is_refused)
{
	close(creat(domain, 0600));
	expect_no_domain("a file");
}

/* ---- hostile shared memory ---------------------------------------------- */

/* A loop in a chain of the registry is left at once, not at the capacity:
 * walked to the capacity, this loop costs a million failed opens, seconds
 * of CPU; left at once, a few microseconds.  The bound, a quarter of a
 * second of the child's own CPU time, is far from both. */
Test(faults, a_loop_in_a_watch_list_is_left_at_once)
{
	struct run r;

	run_child(&r, domain, "looped", watched, NULL, NULL);
	cr_assert(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0,
		  "status %x out %s err %s", r.status, r.out, r.err);
	cr_assert_lt(atol(r.out), 250000, "the creat took %s us of CPU", r.out);
}

Test(faults, hostile_shared_memory_cannot_crash_the_library, .timeout = 120)
{
	struct run r;
	const char *n = getenv("INOTIFY_SHIM_HOSTILE_ITERS");

	for (int round = 0; round < 4; round++) {
		char sub[4200];
		path_printf(sub, sizeof sub, "%s-%d", domain, round);
		run_child(&r, sub, "hostile", watched, n ? n : "400", NULL);
		cr_assert(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0,
			  "round %d: status %x (signal %d) out %s err %s", round, r.status,
			  WIFSIGNALED(r.status) ? WTERMSIG(r.status) : 0, r.out, r.err);
		cr_assert_str_eq(r.out, "ok\n", "err: %s", r.err);
	}
}
