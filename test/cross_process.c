/*
 * cross_process.c - events cross processes through the shared domain:
 * synchronously (readable when the causing call returns), into instances
 * held by different processes, and the instance of a killed holder is
 * reclaimed so that it does not count against max_user_instances.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "child_run.h"
#include "helpers.h"

INSTANCE_SUITE(cross_process, 0, .timeout = 60);

Test(cross_process, event_from_a_shell_child_is_queued_when_it_returns)
{
	struct ev ev[8];
	int n = -1;

	cr_assert_eq(inotify_add_watch(ifd, ".", IN_CREATE), 1);
	cr_assert_eq(run_shell(": > made_by_sh"), 0);
	/* no waiting: the child's open returned, so the event is there */
	cr_assert_eq(ioctl(ifd, FIONREAD, &n), 0);
	cr_assert_eq(n, 32, "FIONREAD %d right after the child exited", n);
	cr_assert_eq(read_events(ifd, ev, 8), 1);
	cr_assert_eq(ev[0].mask, IN_CREATE);
	cr_assert_str_eq(ev[0].name, "made_by_sh");
}

Test(cross_process, events_from_a_coreutils_child_arrive_in_order)
{
	struct ev ev[8];
	char *argv[] = { "mkdir", "sub", NULL };

	cr_assert_eq(inotify_add_watch(ifd, ".", IN_CREATE | IN_DELETE), 1);
	cr_assert_eq(run_program(argv), 0);
	cr_assert_eq(rmdir("sub"), 0);
	cr_assert_eq(read_events(ifd, ev, 8), 2);
	cr_assert_eq(ev[0].mask, IN_CREATE | IN_ISDIR, "got %s", mask_name(ev[0].mask));
	cr_assert_eq(ev[1].mask, IN_DELETE | IN_ISDIR, "got %s", mask_name(ev[1].mask));
}

Test(cross_process, two_instances_in_two_processes_each_get_their_events)
{
	int ready[2], done[2], st;
	char c;
	pid_t pid;
	struct ev ev[8];

	cr_assert_eq(mkdir("mine", 0755), 0);
	cr_assert_eq(mkdir("theirs", 0755), 0);
	cr_assert_eq(inotify_add_watch(ifd, "mine", IN_CREATE), 1);
	cr_assert_eq(pipe(ready), 0);
	cr_assert_eq(pipe(done), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct ev cev[8];
		int fd = inotify_init1(IN_NONBLOCK), n;
		close(ifd);
		if (fd < 0 || inotify_add_watch(fd, "theirs", IN_CREATE) != 1)
			_exit(3);
		if (write(ready[1], "r", 1) != 1 || read(done[0], &c, 1) != 1)
			_exit(4);
		n = read_events(fd, cev, 8);
		_exit(n == 1 && !strcmp(cev[0].name, "t") ? 0 : 5);
	}
	close(ready[1]);
	close(done[0]);
	cr_assert_eq(read(ready[0], &c, 1), 1);
	close(open("theirs/t", O_CREAT | O_WRONLY, 0644));
	close(open("mine/m", O_CREAT | O_WRONLY, 0644));
	cr_assert_eq(write(done[1], "d", 1), 1);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	close(ready[0]);
	close(done[1]);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %d", WEXITSTATUS(st));
	cr_assert_eq(read_events(ifd, ev, 8), 1);
	cr_assert_str_eq(ev[0].name, "m");
}

static bool line_ready(void *arg)
{
	int fd = *(int *)arg;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	return poll(&p, 1, 0) == 1;
}

Test(cross_process, instance_of_a_killed_holder_is_reclaimed)
{
	char *argv[] = { (char *)limits_child_path(), "hold", NULL };
	char out[256] = "";
	int p[2], st;
	pid_t pid;

	SHIM_ONLY("a domain's instance count, limited by INOTIFY_SHIM_MAX_USER_INSTANCES");

	child_domain(dir);
	cr_assert_eq(setenv("INOTIFY_SHIM_MAX_USER_INSTANCES", "1", 1), 0);
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	pid = start_program(argv, p[1]);
	close(p[1]);
	cr_assert_gt(pid, 0);
	cr_assert(wait_until(line_ready, &p[0], 10000), "the holder never got ready");
	cr_assert_gt(read(p[0], out, sizeof out - 1), 0);
	cr_assert_str_eq(out, "ready\n");
	close(p[0]);

	cr_assert_eq(child_run(NULL, NULL, "instances", "1", out, sizeof out), 0);
	cr_assert_eq(strncmp(out, "-1 24", 5), 0, "the live holder's instance counts:\n%s", out);

	cr_assert_eq(kill(pid, SIGKILL), 0);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert_eq(child_run(NULL, NULL, "instances", "1", out, sizeof out), 0);
	cr_assert_eq(strncmp(out, "-1", 2) != 0, 1, "the dead instance still counts:\n%s", out);
	unsetenv("INOTIFY_SHIM_MAX_USER_INSTANCES");
}

/* A writer that does not hold the instance keeps an fd on its FIFO for
 * the next wakes (core/slots.c), out of the program's way.  The program
 * closing every fd, or dup2-ing its own file over that one, must neither
 * lose an event nor get a byte written into its file. */

static int kept_fifo_fd(void)
{
	for (int fd = 900; fd < 1100; fd++) {
		struct stat st;
		if (fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode))
			return fd;
	}
	return -1;
}

static int make_in_child(const char *name, int mode)
{
	pid_t pid = fork();

	if (pid == 0) {
		close(ifd);
		close(creat("first", 0600));	/* the wake keeps an fd */
		int kept = kept_fifo_fd();
		if (kept < 0)
			_exit(10);
		if (mode == 0) {
			int f = open("victim", O_CREAT | O_WRONLY | O_TRUNC, 0600);
			if (f < 0 || dup2(f, kept) != kept)
				_exit(11);
			close(f);
		} else if (syscall(SYS_close_range, 3, ~0U, 0) < 0 &&
			   close_range(3, ~0U, 0) < 0) {
			_exit(12);
		}
		close(creat(name, 0600));
		if (mode == 0) {
			struct stat st;
			if (stat("victim", &st) < 0 || st.st_size != 0)
				_exit(13);
		}
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st);
}

Test(cross_process, a_writer_that_dup2s_over_the_shims_kept_fd_loses_no_event_and_no_byte)
{
	struct ev ev[4];

	SHIM_ONLY("the FIFO fd a writer keeps is the shim's");

	cr_assert_eq(inotify_add_watch(ifd, ".", IN_CREATE), 1);
	cr_assert_eq(make_in_child("second", 0), 0);
	cr_assert_eq(wait_events(ifd, ev, 4, 3, 5000), 3);
	cr_assert_str_eq(ev[0].name, "first");
	cr_assert_str_eq(ev[1].name, "victim");
	cr_assert_str_eq(ev[2].name, "second");
}

Test(cross_process, a_writer_that_closes_every_fd_loses_no_event)
{
	struct ev ev[4];

	SHIM_ONLY("the FIFO fd a writer keeps is the shim's");

	cr_assert_eq(inotify_add_watch(ifd, ".", IN_CREATE), 1);
	cr_assert_eq(make_in_child("second", 1), 0);
	cr_assert_eq(wait_events(ifd, ev, 4, 2, 5000), 2);
	cr_assert_str_eq(ev[0].name, "first");
	cr_assert_str_eq(ev[1].name, "second");
}

/* ---- two readers of one instance: the tokens the FIFO holds must follow
 * the queue while one reader empties it (and takes the tokens out after
 * unlocking, queue.h "Draining") and the other is blocked on the FIFO. */

#define TWO_READERS_N 30000
/* The writer stays at most this many events ahead of the readers: the
 * queue (max_queued_events, 16384 by default) must never fill, or the
 * events past it are dropped for IN_Q_OVERFLOW, as the kernel drops
 * them, and a slow run (a sanitizer, a loaded machine) would fail for
 * that rather than for a lost wakeup. */
#define TWO_READERS_AHEAD 4096

/* Shared with the writer's process (MAP_SHARED), which paces itself on
 * "modified". */
struct two_readers {
	int fd;
	int modified;		/* atomic: IN_MODIFY events read */
	int overflows;		/* atomic: IN_Q_OVERFLOW events read */
	int ends;		/* atomic: "end" events read */
	int finished;		/* atomic: readers that returned */
};

/* The writer's wait: until the readers have read "to" events. */
struct pace {
	struct two_readers *t;
	int to;
};

/* Count the events; true once an "end" event was read. */
static bool tally(struct two_readers *t, const char *buf, ssize_t n)
{
	bool end = false;

	for (const char *p = buf; p < buf + n;) {
		const struct inotify_event *e = (const void *)p;
		if (e->len && !strncmp(e->name, "end", 3)) {
			__atomic_add_fetch(&t->ends, 1, __ATOMIC_SEQ_CST);
			end = true;
		} else if (e->mask == IN_MODIFY) {
			__atomic_add_fetch(&t->modified, 1, __ATOMIC_SEQ_CST);
		} else if (e->mask == IN_Q_OVERFLOW) {
			__atomic_add_fetch(&t->overflows, 1, __ATOMIC_SEQ_CST);
		}
		p += sizeof *e + e->len;
	}
	return end;
}

/* A blocking read, over and over. */
static void *blocked_reader(void *arg)
{
	struct two_readers *t = arg;
	char buf[4096] __attribute__((aligned(8)));
	ssize_t n;

	while ((n = read(t->fd, buf, sizeof buf)) > 0 && !tally(t, buf, n))
		;
	__atomic_add_fetch(&t->finished, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/* poll, then read what FIONREAD says is there (possibly nothing: the
 * other reader may have taken it). */
static void *polling_reader(void *arg)
{
	struct two_readers *t = arg;
	char buf[4096] __attribute__((aligned(8)));
	struct pollfd p = { .fd = t->fd, .events = POLLIN };
	bool end = false;

	while (!end && poll(&p, 1, -1) == 1) {
		int queued = 0;
		if (ioctl(t->fd, FIONREAD, &queued) < 0)
			break;
		if (queued > 0) {
			ssize_t n = read(t->fd, buf, sizeof buf);
			if (n <= 0)
				break;
			end = tally(t, buf, n);
		}
	}
	__atomic_add_fetch(&t->finished, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static bool all_read(void *arg)
{
	struct two_readers *t = arg;

	return __atomic_load_n(&t->modified, __ATOMIC_SEQ_CST) >= TWO_READERS_N;
}

static bool caught_up(void *arg)
{
	struct pace *pace = arg;

	return __atomic_load_n(&pace->t->modified, __ATOMIC_SEQ_CST) >= pace->to;
}

static bool both_finished(void *arg)
{
	struct two_readers *t = arg;

	return __atomic_load_n(&t->finished, __ATOMIC_SEQ_CST) == 2;
}

/* A writer in another process modifies two files in turn, so that no
 * event merges into the one before it: exactly N events.  It keeps at
 * most TWO_READERS_AHEAD events ahead of the readers, waiting for them
 * with a deadline: readers that stop waking stop the writer too. */
static int write_paced(struct two_readers *t)
{
	int fa = open("a", O_WRONLY), fb = open("b", O_WRONLY);
	struct pace pace = { .t = t };

	for (int i = 0; i < TWO_READERS_N; i++) {
		pace.to = i - TWO_READERS_AHEAD;
		if (!wait_until(caught_up, &pace, 20000))
			return 2;
		if (pwrite(i & 1 ? fb : fa, "x", 1, 0) != 1)
			return 1;
	}
	return 0;
}

Test(cross_process, two_readers_of_one_instance_get_every_event_once_and_leave_no_readiness)
{
	struct two_readers *t = mmap(NULL, sizeof *t, PROT_READ | PROT_WRITE,
				     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pthread_t a, b;
	pid_t pid;
	int st, queued = -1;

	cr_assert_neq(t, MAP_FAILED);
	close(creat("a", 0600));
	close(creat("b", 0600));
	t->fd = inotify_init1(0);
	cr_assert_geq(t->fd, 0);
	cr_assert_eq(inotify_add_watch(t->fd, ".", IN_CREATE | IN_MODIFY), 1);
	cr_assert_eq(pthread_create(&a, NULL, blocked_reader, t), 0);
	cr_assert_eq(pthread_create(&b, NULL, polling_reader, t), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0)
		_exit(write_paced(t));
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) != 2,
		  "the readers stopped at %d of %d events: a lost wakeup",
		  t->modified, TWO_READERS_N);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the writer failed");
	cr_assert(wait_until(all_read, t, 20000),
		  "%d of %d events read, %d overflows: a lost wakeup",
		  t->modified, TWO_READERS_N, t->overflows);
	/* one "end" for each reader; a reader that takes both leaves the
	 * other waiting, so make more until both have returned */
	for (int i = 0; i < 1000 && !both_finished(t); i++) {
		char name[32];
		snprintf(name, sizeof name, "end%d", i);
		close(creat(name, 0600));
		wait_until(both_finished, t, 20);
	}
	cr_assert(both_finished(t), "a reader never woke for the end events");
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	cr_assert_eq(t->modified, TWO_READERS_N);
	cr_assert_eq(t->overflows, 0);
	/* what is left is "end" events; once they are read, nothing may say
	 * readable */
	char buf[65536] __attribute__((aligned(8)));
	while (ioctl(t->fd, FIONREAD, &queued) == 0 && queued > 0)
		cr_assert_gt(read(t->fd, buf, sizeof buf), 0);
	cr_assert_eq(queued, 0);
	struct pollfd p = { .fd = t->fd, .events = POLLIN };
	cr_assert_eq(poll(&p, 1, 0), 0, "readable with nothing queued");
	close(t->fd);
	munmap(t, sizeof *t);
}
