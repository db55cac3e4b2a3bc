/*
 * helpers.c - see helpers.h.
 */
#include "helpers.h"
#include "inotify-shim.h"

#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static char scratch[PATH_MAX];
static char previous[PATH_MAX];
static int fds_at_enter = -1;

/* The fds open at scratch_enter(), with what they were, so that a leak
 * names the fd and what it is (a pipe, a domain file, a FIFO...), not
 * only a count. */
#define FDS_REMEMBERED 256
static struct { int fd; char what[96]; } fds_then[FDS_REMEMBERED];
static int nfds_then;

/* What fd is: its /proc/self/fd link, or "?". */
static void fd_what(int fd, char *buf, size_t size)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	n = readlink(link, buf, size - 1);
	if (n < 0)
		snprintf(buf, size, "?");
	else
		buf[n] = 0;
}

/* Call f(fd) for every open fd of this process that count_fds() counts;
 * -1 if /proc/self/fd cannot be read. */
static int each_fd(void (*f)(int fd, void *arg), void *arg);

static void remember_fd(int fd, void *arg)
{
	(void)arg;
	if (nfds_then == FDS_REMEMBERED)
		return;
	fds_then[nfds_then].fd = fd;
	fd_what(fd, fds_then[nfds_then].what, sizeof fds_then[nfds_then].what);
	nfds_then++;
}

struct fd_news { char text[512]; size_t len; };

/* An fd linked to what: an inotify instance, the kernel's or an emulated
 * one (its FIFO, DOMAIN/f-SLOT-GEN)? */
static bool is_instance(const char *what)
{
	const char *slash = strrchr(what, '/');

	return !strcmp(what, "anon_inode:inotify") ||
	       (slash && slash[1] == 'f' && slash[2] == '-' && strstr(what, "/domain/"));
}

static void note_new_fd(int fd, void *arg)
{
	struct fd_news *news = arg;
	char what[96];

	fd_what(fd, what, sizeof what);
	for (int i = 0; i < nfds_then; i++)
		if (fds_then[i].fd == fd && !strcmp(fds_then[i].what, what))
			return;
	if (news->len < sizeof news->text)
		news->len += (size_t)snprintf(news->text + news->len,
					      sizeof news->text - news->len, " %d -> %s%s", fd,
					      what, is_instance(what) ? " (an inotify instance: "
					      "a failed assertion skips the test's own close)" : "");
}

const char *scratch_enter(void)
{
	const char *base = getenv("TMPDIR");

	fds_at_enter = count_fds();
	nfds_then = 0;
	each_fd(remember_fd, NULL);
	snprintf(scratch, sizeof scratch, "%s/inotify-shim-scratch.XXXXXX",
		 base && *base ? base : "/tmp");
	if (!mkdtemp(scratch))
		abort();
	if (!getcwd(previous, sizeof previous) || chdir(scratch) < 0)
		abort();
	return scratch;
}

void scratch_setup(void)
{
	scratch_enter();
}

const char *own_domain_child_mode(void)
{
	return getenv("INOTIFY_SHIM_TEST_CHILD");
}

int run_child_in_own_domain(const char *mode, char *out, size_t size)
{
	char dom[PATH_MAX], self[PATH_MAX];
	size_t got = 0;
	ssize_t n;
	int p[2], st;
	pid_t pid;

	path_printf(dom, sizeof dom, "%s/domain", scratch);
	n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0 || pipe2(p, O_CLOEXEC) < 0)
		return -1;
	self[n] = 0;
	pid = fork();
	if (pid == 0) {
		char *argv[] = { self, NULL };

		dup2(p[1], 1);
		dup2(p[1], 2);
		setenv("INOTIFY_SHIM_DOMAIN", dom, 1);
		setenv("INOTIFY_SHIM_TEST_CHILD", mode, 1);
		execv(self, argv);
		_exit(127);
	}
	close(p[1]);
	while (got + 1 < size && ((n = read(p[0], out + got, size - 1 - got)) > 0 ||
				  (n < 0 && errno == EINTR)))
		if (n > 0)
			got += (size_t)n;
	out[got] = 0;
	close(p[0]);
	if (pid < 0)
		return -1;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* errno is set to this before every call of the probe */
#define SENTINEL 7919

static int probe_bad;

static void probe_check(const char *what, bool ok)
{
	int e = errno;

	if (ok && e != SENTINEL) {
		fprintf(stderr, "errno probe: %s succeeded and set errno to %d (%s)\n",
			what, e, strerror(e));
		probe_bad++;
	}
}

/* call, which succeeded when ok (an expression over r_), leaves errno */
#define PROBE(call, ok)                                                        \
	({                                                                     \
		errno = SENTINEL;                                              \
		long r_ = (long)(call);                                        \
		probe_check(#call, (ok));                                      \
		r_;                                                            \
	})
#define PROBE_FD(call) ((int)PROBE(call, r_ >= 0))
#define PROBE_0(call) PROBE(call, r_ == 0)

static void probe_files(void)
{
	char buf[64];
	int fd, d;

	fd = PROBE_FD(open("errno-probe", O_CREAT | O_RDWR | O_TRUNC, 0600));
	if (fd < 0)
		return;
	PROBE(write(fd, "abc", 3), r_ == 3);
	PROBE(pwrite(fd, "d", 1, 3), r_ == 1);
	PROBE(lseek(fd, 0, SEEK_SET), r_ == 0);
	PROBE(read(fd, buf, sizeof buf), r_ == 4);
	PROBE(pread(fd, buf, 1, 0), r_ == 1);
	PROBE_0(ftruncate(fd, 2));
	PROBE_0(fchmod(fd, 0640));
	PROBE_0(futimens(fd, NULL));
	d = PROBE_FD(dup(fd));
	if (d >= 0) {
		PROBE(dup2(fd, d), r_ == d);
		PROBE_0(close(d));
	}
	d = PROBE_FD(fcntl(fd, F_DUPFD_CLOEXEC, 0));
	if (d >= 0)
		PROBE_0(close(d));
	PROBE(fcntl(fd, F_GETFL), r_ >= 0);
	PROBE_0(close(fd));
}

static void probe_streams(void)
{
	char buf[64];
	FILE *f = (FILE *)PROBE(fopen("errno-probe", "a+"), r_ != 0);

	if (!f)
		return;
	PROBE(fputs("xyz\n", f), r_ >= 0);
	PROBE(fprintf(f, "%d\n", 42), r_ == 3);
	PROBE_0(fflush(f));
	PROBE_0(fseek(f, 0, SEEK_SET));
	PROBE(fgets(buf, sizeof buf, f), r_ != 0);
	PROBE_0(fclose(f));
}

static void probe_names(void)
{
	DIR *dir;
	int fd;

	PROBE_0(rename("errno-probe", "errno-probe.2"));
	PROBE_0(link("errno-probe.2", "errno-probe.3"));
	PROBE_0(unlink("errno-probe.3"));
	PROBE_0(chmod("errno-probe.2", 0600));
	PROBE_0(truncate("errno-probe.2", 0));
	PROBE_0(mkdir("errno-probe.d", 0700));
	fd = PROBE_FD(openat(AT_FDCWD, "errno-probe.d", O_RDONLY | O_DIRECTORY));
	if (fd >= 0)
		PROBE_0(close(fd));
	dir = (DIR *)PROBE(opendir("errno-probe.d"), r_ != 0);
	if (dir) {
		while (PROBE(readdir(dir), true))
			;
		PROBE_0(closedir(dir));
	}
	PROBE_0(rmdir("errno-probe.d"));
	PROBE_0(unlink("errno-probe.2"));
}

static void probe_event(struct inotify_shim_watch *w, int wd, uint32_t mask, uint32_t cookie,
			const char *name, void *user)
{
	(void)w, (void)wd, (void)mask, (void)cookie, (void)name;
	++*(int *)user;
}

/* Weak: test/kernel-check.sh links the helpers without the library. */
#pragma weak inotify_shim_handle_new
#pragma weak inotify_shim_watch_init
#pragma weak inotify_shim_handle_add_watch
#pragma weak inotify_shim_handle_find_update_watch
#pragma weak inotify_shim_handle_dispatch
#pragma weak inotify_shim_handle_rm_wd
#pragma weak inotify_shim_handle_destroy

/* the consumer API (include/inotify-shim.h), where the library is linked */
static void probe_consumer(void)
{
	static const struct inotify_shim_operations ops = { .handle_event = probe_event };
	struct inotify_shim_watch w;
	struct inotify_shim_handle *h;
	int events = 0, wd, fd;

	if (!inotify_shim_handle_new)
		return;
	h = (struct inotify_shim_handle *)PROBE(inotify_shim_handle_new(&ops, &events), r_ != 0);
	if (!h)
		return;
	inotify_shim_watch_init(&w);
	wd = (int)PROBE(inotify_shim_handle_add_watch(h, &w, ".", IN_CREATE | IN_DELETE), r_ > 0);
	PROBE(inotify_shim_handle_find_update_watch(h, ".", IN_CREATE | IN_DELETE), r_ == wd);
	fd = PROBE_FD(open("errno-probe.c", O_CREAT | O_WRONLY, 0600));
	if (fd >= 0)
		PROBE_0(close(fd));
	PROBE_0(unlink("errno-probe.c"));
	PROBE(inotify_shim_handle_dispatch(h), r_ >= 0);
	if (wd > 0)
		PROBE_0(inotify_shim_handle_rm_wd(h, wd));
	PROBE(inotify_shim_handle_dispatch(h), r_ >= 0);
	PROBE((inotify_shim_handle_destroy(h), 0), true);
}

int errno_probe(void)
{
	char buf[4096] __attribute__((aligned(8)));
	int in, wd, n, saved = errno;

	probe_bad = 0;
	in = PROBE_FD(inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
	wd = in < 0 ? -1 : (int)PROBE(inotify_add_watch(in, ".", IN_ALL_EVENTS), r_ > 0);
	probe_files();
	probe_streams();
	probe_names();
	probe_consumer();
	if (in >= 0) {
		PROBE_0(ioctl(in, FIONREAD, &n));
		if (wait_readable(in, 0))
			PROBE(read(in, buf, sizeof buf), r_ > 0);
		if (wd > 0)
			PROBE_0(inotify_rm_watch(in, wd));
		PROBE_0(close(in));
	}
	errno = saved;
	return probe_bad;
}

/* Criterion counts no assertion made in a .fini (nor a crash there): a
 * fixture failure is written to INOTIFY_SHIM_TEST_FIXTURE_LOG, and
 * test/run-test.sh fails the test binary when that file is not empty. */
static void fixture_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fixture_fail(const char *fmt, ...)
{
	const char *log = getenv("INOTIFY_SHIM_TEST_FIXTURE_LOG");
	const struct criterion_test *t = criterion_current_test;
	char msg[512];
	va_list ap;
	FILE *f;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	fprintf(stderr, "fixture: %s::%s: %s\n", t ? t->category : "?", t ? t->name : "?", msg);
	if (log && *log && (f = fopen(log, "a"))) {
		fprintf(f, "%s::%s: %s\n", t ? t->category : "?", t ? t->name : "?", msg);
		fclose(f);
	}
}

void scratch_leave(void)
{
	char cmd[PATH_MAX + 32];
	int fds, bad;

	if (!scratch[0])
		return;
	bad = errno_probe();
	if (bad)
		fixture_fail("%d call(s) through the shim succeeded and changed errno "
			     "(\"errno probe\" lines above)", bad);
	fds = count_fds();
	if (fds != fds_at_enter) {
		struct fd_news news = { "", 0 };

		each_fd(note_new_fd, &news);
		fixture_fail("fd leaked: %d open at the start, %d at the end (new:%s)",
			     fds_at_enter, fds, news.len ? news.text : " none");
	}
	if (chdir(previous) < 0 && chdir("/") < 0)
		abort();
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", scratch);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", scratch);
	scratch[0] = 0;
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

bool wait_readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int r;

	do
		r = poll(&p, 1, ms);
	while (r < 0 && errno == EINTR);
	return r > 0 && (p.revents & POLLIN);
}

int read_events(int fd, struct ev *out, int max)
{
	char buf[65536] __attribute__((aligned(8)));
	int n = 0;

	while (n < max && wait_readable(fd, 0)) {
		ssize_t got = read(fd, buf, sizeof buf);
		if (got <= 0)
			break;
		for (char *p = buf; p < buf + got && n < max;) {
			struct inotify_event *e = (struct inotify_event *)p;
			out[n].wd = e->wd;
			out[n].mask = e->mask;
			out[n].cookie = e->cookie;
			out[n].len = e->len;
			snprintf(out[n].name, sizeof out[n].name, "%s", e->len ? e->name : "");
			n++;
			p += sizeof *e + e->len;
		}
	}
	return n;
}

int wait_events(int fd, struct ev *out, int max, int n, int ms)
{
	long deadline = now_ms() + ms;
	int got = 0;

	while (got < n && got < max) {
		long left = deadline - now_ms();
		if (left <= 0 || !wait_readable(fd, (int)left))
			break;
		got += read_events(fd, out + got, max - got);
	}
	return got;
}

bool wait_until(bool (*pred)(void *arg), void *arg, int ms)
{
	long deadline = now_ms() + ms;
	struct timespec tick = { 0, 1000000 };

	for (;;) {
		if (pred(arg))
			return true;
		if (now_ms() >= deadline)
			return false;
		nanosleep(&tick, NULL);
	}
}

pid_t start_program(char *const argv[], int stdout_fd)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int r;

	posix_spawn_file_actions_init(&fa);
	if (stdout_fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, stdout_fd, 1);
	r = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	return r == 0 ? pid : -1;
}

int run_program(char *const argv[])
{
	pid_t pid = start_program(argv, -1);
	int st;

	if (pid < 0)
		return -1;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

void path_printf(char *dst, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(dst, size, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size) {
		fprintf(stderr, "path_printf: \"%s\" does not fit in %zu bytes\n", fmt, size);
		abort();
	}
}

int run_shell(const char *cmd)
{
	char *argv[] = { "sh", "-c", (char *)cmd, NULL };
	return run_program(argv);
}

static int each_fd(void (*f)(int fd, void *arg), void *arg)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		struct stat st;
		int fd = atoi(e->d_name);
		if (e->d_name[0] == '.' || fd == dirfd(d))
			continue;
		/* not a leak: the FIFO fds a writer keeps for its next wakes
		 * of an instance it does not hold (core/slots.c), at 900 and up */
		if (fd >= 900 && fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode))
			continue;
		f(fd, arg);
	}
	closedir(d);
	return 0;
}

static void count_one(int fd, void *arg)
{
	(void)fd;
	++*(int *)arg;
}

int count_fds(void)
{
	int n = 0;

	return each_fd(count_one, &n) < 0 ? -1 : n;
}

const char *mask_name(uint32_t mask)
{
	static const struct { uint32_t bit; const char *name; } bits[] = {
		{ IN_ACCESS, "IN_ACCESS" }, { IN_MODIFY, "IN_MODIFY" },
		{ IN_ATTRIB, "IN_ATTRIB" }, { IN_CLOSE_WRITE, "IN_CLOSE_WRITE" },
		{ IN_CLOSE_NOWRITE, "IN_CLOSE_NOWRITE" }, { IN_OPEN, "IN_OPEN" },
		{ IN_MOVED_FROM, "IN_MOVED_FROM" }, { IN_MOVED_TO, "IN_MOVED_TO" },
		{ IN_CREATE, "IN_CREATE" }, { IN_DELETE, "IN_DELETE" },
		{ IN_DELETE_SELF, "IN_DELETE_SELF" }, { IN_MOVE_SELF, "IN_MOVE_SELF" },
		{ IN_Q_OVERFLOW, "IN_Q_OVERFLOW" }, { IN_IGNORED, "IN_IGNORED" },
		{ IN_ISDIR, "IN_ISDIR" },
	};
	static __thread char buf[256];

	buf[0] = 0;
	for (size_t i = 0; i < sizeof bits / sizeof bits[0]; i++)
		if (mask & bits[i].bit) {
			if (buf[0])
				strcat(buf, "|");
			strcat(buf, bits[i].name);
		}
	if (!buf[0])
		snprintf(buf, sizeof buf, "0x%x", mask);
	return buf;
}

/* ---- the instance fixture, expecting events, running tests one at a
 * time, children of the test binary (helpers.h) */

static int fds_at_instance = -1;

const char *instance_enter(int *ifd)
{
	const char *dir = scratch_enter();

	fds_at_instance = count_fds();
	*ifd = inotify_init1(IN_NONBLOCK);
	cr_assert_geq(*ifd, 0, "inotify_init1: %s", strerror(errno));
	return dir;
}

void instance_leave(int ifd)
{
	close(ifd);
	cr_expect_eq(count_fds(), fds_at_instance, "fd leaked");
	scratch_leave();
}

void expect_masks(int fd, const uint32_t *masks, int n)
{
	struct ev ev[32];
	int got = wait_events(fd, ev, 32, n, 5000);

	/* anything after the n wanted would be a difference too */
	if (got == n && wait_readable(fd, 50))
		got += read_events(fd, ev + got, 32 - got);
	for (int i = 0; i < n && i < got; i++)
		cr_expect_eq(ev[i].mask, masks[i], "event %d: %s", i, mask_name(ev[i].mask));
	cr_assert_eq(got, n, "got %d events, wanted %d", got, n);
}

void touch(const char *name)
{
	int fd = open(name, O_CREAT | O_WRONLY, 0644);

	cr_assert_geq(fd, 0, "open %s: %s", name, strerror(errno));
	close(fd);
}

int criterion_main_serial(int argc, char **argv)
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

const char *child_mode(const char *var)
{
	const char *mode = getenv(var);

	if (mode)
		setvbuf(stdout, NULL, _IONBF, 0);
	return mode;
}

void slurp_file(const char *path, char *buf, size_t len, bool remove)
{
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, len - 1, f) : 0;

	buf[n] = 0;
	if (f)
		fclose(f);
	if (remove)
		unlink(path);
}
