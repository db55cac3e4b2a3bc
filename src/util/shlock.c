/*
 * shlock.c - see shlock.h.
 *
 * The wait, step by step: trylock (the uncontended case: one
 * compare-and-swap, no clock read); then, unless the lock is marked
 * stalled, pthread_mutex_clocklock until SHLOCK_WAIT_MS; then, while the
 * holder makes progress, more of it until SHLOCK_SLOW_MS.  The owner's
 * tid is the mutex's own field (glibc keeps it in __data.__owner for
 * every mutex type, robust ones included); it is read without the lock
 * and may be stale, which only changes which state is looked at.
 */
#include "shlock.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ident.h"
#include "log.h"
#include "real.h"
#include "sigdefer.h"

void shlock_init(pthread_mutex_t *m)
{
	pthread_mutexattr_t a;

	pthread_mutexattr_init(&a);
	pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
	pthread_mutex_init(m, &a);
	pthread_mutexattr_destroy(&a);
}

uint64_t shlock_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- the test hook */

static int hold_state;	/* 0 unread, 1 none, 2 armed, 3 used */
static int hold_kind;
static unsigned hold_busy_ms;	/* +MS: hold that long, running */
static const char *hold_path;

static void hold_read(void)
{
	const char *v = getenv("INOTIFY_SHIM_TEST_HOLD_LOCK");
	static const char *const names[SHLOCK_KINDS] = { "registry:", "queue:", "files:",
							 "repair:" };
	int kind = SHLOCK_REGISTRY;

	if (v) {
		for (int k = 0; k < SHLOCK_KINDS; k++) {
			size_t n = strlen(names[k]) - 1;	/* without the ':' */
			if (!strncmp(v, names[k], n) && (v[n] == ':' || v[n] == '+')) {
				kind = k;
				v += n;
				if (*v == '+')
					hold_busy_ms = (unsigned)strtoul(v + 1, (char **)&v, 10);
				if (*v == ':')
					v++;
				break;
			}
		}
	}
	if (!v || v[0] != '/') {
		__atomic_store_n(&hold_state, 1, __ATOMIC_RELEASE);
		return;
	}
	hold_kind = kind;
	hold_path = v;
	__atomic_store_n(&hold_state, 2, __ATOMIC_RELEASE);
}

/* With the lock held: announce it, then wait to be stopped or killed; or,
 * with +MS, run that long as a long section does, and go on. */
static void hold_forever(struct shlock_rec *rec)
{
	int fd = real_open(hold_path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	uint64_t end = shlock_now_ms() + hold_busy_ms;

	if (fd >= 0)
		real_close(fd);
	while (hold_busy_ms && rec && shlock_now_ms() < end) {
		struct timespec ms = { 0, 1000000L };

		shlock_progress(rec);	/* a long section's progress points */
		nanosleep(&ms, NULL);
	}
	while (!hold_busy_ms)
		pause();
}

static void hold_check(enum shlock_kind kind, struct shlock_rec *rec)
{
	int s = __atomic_load_n(&hold_state, __ATOMIC_ACQUIRE);

	if (__builtin_expect(s == 0, 0)) {
		hold_read();
		s = __atomic_load_n(&hold_state, __ATOMIC_ACQUIRE);
	}
	if (kind == SHLOCK_QUEUE_READER)
		kind = SHLOCK_QUEUE;
	if (__builtin_expect(s != 2, 1) || (int)kind != hold_kind)
		return;
	if (__atomic_exchange_n(&hold_state, 3, __ATOMIC_ACQ_REL) == 2)
		hold_forever(rec);
}

void shlock_test_point(enum shlock_kind kind)
{
	hold_check(kind, NULL);
}

/* ---- pid namespaces */

/* This process's pid namespace (the inode of /proc/self/ns/pid), read
 * once; 0 when not known (no /proc).  A process that enters another
 * namespace itself (setns) keeps the first answer: its children start
 * with their own. */
static uint64_t own_pidns(void)
{
	static uint64_t ns;	/* 0 unread, 1 not known, else the inode */
	uint64_t v = __atomic_load_n(&ns, __ATOMIC_RELAXED);
	struct inode_info info;

	if (__builtin_expect(v != 0, 1))
		return v == 1 ? 0 : v;
	v = ident_stat(AT_FDCWD, "/proc/self/ns/pid", 0, &info) == 0 && info.id.ino > 1
		    ? (uint64_t)info.id.ino : 1;
	__atomic_store_n(&ns, v, __ATOMIC_RELAXED);
	return v == 1 ? 0 : v;
}

/* Does this process's /proc number tasks as its own pid namespace does
 * (/proc/self is getpid())?  Not when /proc is another namespace's mount
 * (a process in `unshare -p` without --mount-proc).  Read once. */
static bool own_proc(void)
{
	static int mine;	/* 0 unread, 1 yes, 2 no */
	int v = __atomic_load_n(&mine, __ATOMIC_RELAXED);
	char buf[32];
	ssize_t n;

	if (__builtin_expect(v != 0, 1))
		return v == 1;
	n = readlink("/proc/self", buf, sizeof buf - 1);
	if (n > 0)
		buf[n] = 0;
	v = n > 0 && strtol(buf, NULL, 10) == (long)getpid() ? 1 : 2;
	__atomic_store_n(&mine, v, __ATOMIC_RELAXED);
	return v == 1;
}

/* Is /proc/REL (a task: N or N/task/T) thread tid of pid namespace ns?
 * Its status's NSpid line lists its ids from this /proc's namespace down
 * to its own: the last is tid, and its ns/pid is ns. */
static bool is_task(const char *rel, uint64_t ns, int tid)
{
	char path[96], buf[2048], *p, *end;
	struct inode_info info;
	long last = -1;
	int fields = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof path, "/proc/%s/status", rel);
	fd = real_open(path, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return false;
	n = real_read(fd, buf, sizeof buf - 1);
	real_close(fd);
	if (n <= 0)
		return false;
	buf[n] = 0;
	p = strstr(buf, "\nNSpid:");
	if (!p)
		return false;
	for (p += 8; *p && *p != '\n'; p = end, fields++) {
		last = strtol(p, &end, 10);
		if (end == p)
			break;
	}
	if (fields < 2 || last != tid)
		return false;
	snprintf(path, sizeof path, "/proc/%s/ns/pid", rel);
	return ident_stat(AT_FDCWD, path, 0, &info) == 0 && (uint64_t)info.id.ino == ns;
}

/* The id in this process's /proc of thread tid of another pid namespace
 * ns, found by a walk of /proc (a child namespace's tasks are there under
 * ids of ours: their NSpid says which); 0 when not found (the holder's
 * namespace is not below ours, or the holder is a thread other than its
 * process's first: then the counter alone tells).  Only after a wait of
 * 20 ms on such a holder, once per wait. */
static int tid_here(uint64_t ns, int tid)
{
	char buf[4096] __attribute__((aligned(8))), rel[64];
	int dfd = real_open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0), found = 0;
	ssize_t n;

	if (dfd < 0)
		return 0;
	while (!found && (n = getdents64(dfd, buf, sizeof buf)) > 0) {
		for (ssize_t off = 0; !found && off < n;) {
			struct dirent64 *e = (struct dirent64 *)(buf + off);
			long pid = strtol(e->d_name, NULL, 10);

			off += e->d_reclen;
			if (pid <= 0)
				continue;
			snprintf(rel, sizeof rel, "%ld", pid);
			if (is_task(rel, ns, tid))
				found = (int)pid;
		}
	}
	real_close(dfd);
	return found;
}

/* Can this process read the state of rec's holder in its /proc? */
static bool holder_visible(struct shlock_rec *rec)
{
	uint64_t ns = __atomic_load_n(&rec->pidns, __ATOMIC_RELAXED);

	return ns && ns == own_pidns() && own_proc();
}

/* ---- the holder's state */

/* /proc/TID/NAME into buf (NUL-terminated); its length, or 0. */
static size_t read_proc_tid(int tid, const char *name, char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof path, "/proc/%d/%s", tid, name);
	fd = real_open(path, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	n = real_read(fd, buf, len - 1);
	real_close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	return (size_t)n;
}

/* Is the thread tid running, runnable or in uninterruptible sleep, or
 * asleep waiting for a futex (another lock of the domain, nested inside
 * the one it holds: that wait is bounded in turn)?  Paused, stopped,
 * frozen or gone is not progress. */
static bool making_progress(int tid)
{
	char buf[512], *p;

	if (tid <= 0 || !read_proc_tid(tid, "stat", buf, sizeof buf))
		return false;
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return false;
	if (p[2] == 'R' || p[2] == 'D')
		return true;
	return p[2] == 'S' && read_proc_tid(tid, "wchan", buf, sizeof buf) &&
	       strstr(buf, "futex") != NULL;
}

/* The holder's tid: a robust mutex's futex word is the owner's tid (with
 * the FUTEX_WAITERS and FUTEX_OWNER_DIED bits), as the kernel's robust
 * list needs it; 0 when the lock is free. */
static int owner_tid(pthread_mutex_t *m)
{
	return __atomic_load_n(&m->__data.__lock, __ATOMIC_RELAXED) & 0x3fffffff;
}

static uint64_t start_ms(const struct timespec *t)
{
	return (uint64_t)t->tv_sec * 1000 + (uint64_t)t->tv_nsec / 1000000;
}

/* What a taker saw of the lock at its last look. */
struct look {
	int tid;
	uint32_t progress;
	int here, here_for;	/* tid_here(), asked for here_for */
};

static struct look look_at(pthread_mutex_t *m, struct shlock_rec *rec)
{
	return (struct look){ owner_tid(m), __atomic_load_n(&rec->progress, __ATOMIC_RELAXED),
			      0, 0 };
}

/* Past a step of SHLOCK_WAIT_MS: is the lock making progress?  It is if it
 * changed hands or its progress counter moved since the last look (others
 * won it, or the holder runs a long section), or if its holder runs or is
 * in uninterruptible sleep: looked up in /proc by its tid when it is in
 * this process's pid namespace, else found there by its NSpid (a
 * namespace below ours, a container's). */
static bool moving(pthread_mutex_t *m, struct shlock_rec *rec, struct look *last)
{
	struct look now = look_at(m, rec), was = *last;
	uint64_t ns;

	now.here = was.here;
	now.here_for = was.here_for;
	*last = now;
	if (now.tid != was.tid || now.progress != was.progress)
		return true;
	if (holder_visible(rec))
		return making_progress(now.tid);
	ns = __atomic_load_n(&rec->pidns, __ATOMIC_RELAXED);
	if (!ns || now.tid <= 0 || !own_proc())
		return false;
	if (last->here_for != now.tid) {
		last->here = tid_here(ns, now.tid);
		last->here_for = now.tid;
	}
	return last->here > 0 && making_progress(last->here);
}

static struct timespec deadline_after(const struct timespec *start, unsigned ms)
{
	struct timespec t = *start;

	t.tv_sec += ms / 1000;
	t.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	return t;
}

/* pthread_mutex_clocklock until a CLOCK_MONOTONIC deadline.  ThreadSanitizer
 * (GCC 12's) does not intercept clocklock, and would take the lock for
 * not held: its builds wait with timedlock and the same deadline moved to
 * CLOCK_REALTIME. */
static int wait_until_mono(pthread_mutex_t *m, const struct timespec *until)
{
#if defined(__SANITIZE_THREAD__)
	struct timespec mono, real;
	int64_t ns;

	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &real);
	ns = (int64_t)(until->tv_sec - mono.tv_sec) * 1000000000 + (until->tv_nsec - mono.tv_nsec);
	if (ns < 0)
		ns = 0;
	real.tv_sec += ns / 1000000000;
	real.tv_nsec += ns % 1000000000;
	if (real.tv_nsec >= 1000000000L) {
		real.tv_sec++;
		real.tv_nsec -= 1000000000L;
	}
	return pthread_mutex_timedlock(m, &real);
#else
	return pthread_mutex_clocklock(m, CLOCK_MONOTONIC, until);
#endif
}

static bool stalled(struct shlock_rec *rec, enum shlock_kind kind)
{
	uint32_t s = __atomic_load_n(&rec->stall, __ATOMIC_RELAXED);

	if (kind == SHLOCK_QUEUE_READER)
		return false;

	return s && (uint32_t)shlock_now_ms() - s < SHLOCK_STALL_MS;
}

/* The lock is held: the record says who holds it now. */
static int got(int r, struct shlock_rec *rec, enum shlock_kind kind)
{
	uint64_t ns = own_pidns();

	if (__atomic_load_n(&rec->stall, __ATOMIC_RELAXED))
		__atomic_store_n(&rec->stall, 0, __ATOMIC_RELAXED);
	if (__atomic_load_n(&rec->pidns, __ATOMIC_RELAXED) != ns)
		__atomic_store_n(&rec->pidns, ns, __ATOMIC_RELAXED);
	shlock_progress(rec);
	hold_check(kind, rec);
	return r;
}

int shlock_take(pthread_mutex_t *m, struct shlock_rec *rec, enum shlock_kind kind)
{
	struct timespec start, until;
	int r = pthread_mutex_trylock(m);
	struct look first;
	bool stuck;

	if (r == 0 || r == EOWNERDEAD)
		return got(r, rec, kind);
	if (r != EBUSY)
		return r;
	if (stalled(rec, kind))
		return ETIMEDOUT;
	clock_gettime(CLOCK_MONOTONIC, &start);
	first = look_at(m, rec);
	until = deadline_after(&start, SHLOCK_WAIT_MS);
	r = wait_until_mono(m, &until);
	/* past the bound, 20 ms more at a time while the lock makes progress */
	stuck = false;
	for (unsigned ms = 2 * SHLOCK_WAIT_MS; r == ETIMEDOUT && ms <= SHLOCK_SLOW_MS;
	     ms += SHLOCK_WAIT_MS) {
		if (!moving(m, rec, &first)) {
			stuck = true;
			break;
		}
		until = deadline_after(&start, ms);
		r = wait_until_mono(m, &until);
	}
	if (r == 0 || r == EOWNERDEAD)
		return got(r, rec, kind);
	if (r == ETIMEDOUT) {
		/* Only a holder that makes no progress marks the lock stalled: a
		 * taker that reached SHLOCK_SLOW_MS behind busy holders (a loaded
		 * machine) gives up alone, and the others go on waiting. */
		if (stuck)
			__atomic_store_n(&rec->stall, (uint32_t)shlock_now_ms() | 1, __ATOMIC_RELAXED);
		shim_debug("gave up on a lock (kind %d) held by thread %d after %u ms",
			   (int)kind, owner_tid(m), (unsigned)(shlock_now_ms() - start_ms(&start)));
	}
	return r;
}

int shlock_try_repair(pthread_mutex_t *m, struct shlock_rec *rec, enum shlock_kind kind,
		      void (*repair)(void *), void *arg)
{
	int r;

	sigdefer_begin();
	r = pthread_mutex_trylock(m);
	if (r == 0 || r == EOWNERDEAD)
		got(r, rec, kind);
	if (r == 0)
		return 0;
	if (r == EOWNERDEAD) {
		repair(arg);
		pthread_mutex_consistent(m);
		return 1;
	}
	sigdefer_end();
	return -r;
}

int shlock_take_repair(pthread_mutex_t *m, struct shlock_rec *rec, enum shlock_kind kind,
		       void (*repair)(void *), void *arg)
{
	int r;

	sigdefer_begin();
	r = shlock_take(m, rec, kind);
	if (r == 0)
		return 0;
	if (r == EOWNERDEAD) {
		repair(arg);
		pthread_mutex_consistent(m);
		return 1;
	}
	sigdefer_end();
	return -r;
}
