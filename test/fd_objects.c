/*
 * fd_objects.c - issue 13, items 7, 9, 10 and 12: what the shim keeps per
 * fd, and what an instance fd answers.
 *   - threads using one fd agree on one open-file record (no record
 *     leaks, however they race);
 *   - an instance read through an fd inherited past exec gives events,
 *     with more holders than a fixed array would keep;
 *   - every write-like and seek-like call on an instance fd gives the
 *     kernel's answer (the kernel's own fd is asked the same, where the
 *     test can have one: see kernel_fd());
 *   - /proc/.../fdinfo/N of an instance reads as the kernel's.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

TestSuite(fd_records, .init = scratch_setup, .fini = scratch_leave, .timeout = 120);

/* The library's count of open-file records in use (fd/ofd.h: ofd_live),
 * which it does not export. */
static uint32_t records_live(void)
{
	static const uint32_t *live;

	if (!live)
		live = shim_hidden_symbol("ofd_live");
	cr_assert_not_null(live, "the library's ofd_live not found in its symbol table");
	return __atomic_load_n(live, __ATOMIC_RELAXED);
}

struct writer {
	int fd;
	int n;
};

static void *write_many(void *arg)
{
	struct writer *w = arg;

	for (int i = 0; i < w->n; i++)
		if (pwrite(w->fd, "x", 1, 0) != 1)
			return (void *)1;
	return NULL;
}

Test(fd_records, eight_threads_writing_one_fd_leak_no_record)
{
	enum { THREADS = 8, WRITES = 40000 };
	pthread_t t[THREADS];
	struct writer w;
	struct ev ev[64];
	uint32_t before;
	int in, fd, n, modified = 0, closed = 0;

	in = inotify_init1(IN_NONBLOCK);
	cr_assert_geq(in, 0);
	cr_assert_eq(inotify_add_watch(in, ".", IN_MODIFY | IN_CLOSE_WRITE), 1);
	before = records_live();
	fd = open("shared", O_CREAT | O_WRONLY, 0600);
	cr_assert_geq(fd, 0);
	w = (struct writer){ fd, WRITES };
	for (int i = 0; i < THREADS; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, write_many, &w), 0);
	for (int i = 0; i < THREADS; i++) {
		void *r;
		pthread_join(t[i], &r);
		cr_assert_null(r, "a pwrite failed");
	}
	cr_expect_eq(records_live(), before + 1,
		     "%u records for one open file", records_live() - before);
	close(fd);
	cr_expect_eq(records_live(), before, "records leaked: %u",
		     records_live() - before);
	/* the events: IN_MODIFY (coalesced), then one IN_CLOSE_WRITE */
	while ((n = wait_events(in, ev, 64, 1, 2000)) > 0)
		for (int i = 0; i < n; i++) {
			modified += ev[i].mask == IN_MODIFY;
			closed += ev[i].mask == IN_CLOSE_WRITE;
			cr_expect_neq(ev[i].mask, IN_Q_OVERFLOW);
			if (ev[i].mask == IN_CLOSE_WRITE)
				goto done;
		}
done:
	cr_expect_gt(modified, 0);
	cr_expect_eq(closed, 1);
	close(in);
}

/* ---- holders: more processes hold an instance than its list has places */

TestSuite(holders, .init = scratch_setup, .fini = scratch_leave, .timeout = 120);

enum { HOLDERS = 16 };	/* the registry's places per instance (layout.h) */

/* n children that hold in (inherited) until the pipe's write end closes;
 * pids[] gets them.  Each is listed as a holder when fork returns in it:
 * it says so on ready.  Returns the write end. */
static int start_holders(pid_t *pids, int n)
{
	int p[2], ready[2];
	char c;

	cr_assert_eq(pipe(p), 0);
	cr_assert_eq(pipe(ready), 0);
	for (int i = 0; i < n; i++) {
		pids[i] = fork();
		cr_assert_geq(pids[i], 0);
		if (pids[i] == 0) {
			close(p[1]);
			close(ready[0]);
			if (write(ready[1], "r", 1) != 1)
				_exit(1);
			while (read(p[0], &c, 1) < 0 && errno == EINTR)
				;
			_exit(0);
		}
		cr_assert_eq(read(ready[0], &c, 1), 1);
	}
	close(p[0]);
	close(ready[0]);
	close(ready[1]);
	return p[1];
}

static void reap(pid_t *pids, int n)
{
	for (int i = 0; i < n; i++)
		while (waitpid(pids[i], NULL, 0) < 0 && errno == EINTR)
			;
}

/* What fd_reader prints for fd in, run as a child of this process. */
static void exec_reader(int in, char *out, size_t size)
{
	char path[4096], arg[16];
	int p[2];
	pid_t pid;
	ssize_t n;

	path_printf(path, sizeof path, "%s/test/fd_reader",
		    getenv("INOTIFY_SHIM_TEST_BUILDDIR"));
	snprintf(arg, sizeof arg, "%d", in);
	cr_assert_eq(pipe(p), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execl(path, path, arg, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	n = read(p[0], out, size - 1);
	out[n > 0 ? n : 0] = 0;
	close(p[0]);
	reap(&pid, 1);
}

Test(holders, an_execd_child_reads_events_with_sixteen_other_holders_alive)
{
	pid_t pids[HOLDERS];
	char out[64], want[64];
	int in, wr;

	in = inotify_init1(IN_NONBLOCK);
	cr_assert_geq(in, 0);
	cr_assert_eq(inotify_add_watch(in, ".", IN_CREATE), 1);
	wr = start_holders(pids, HOLDERS);
	close(open("made", O_CREAT | O_WRONLY, 0600));
	exec_reader(in, out, sizeof out);
	snprintf(want, sizeof want, "%zu 0x%x\n",
		 sizeof(struct inotify_event) + 16, IN_CREATE);
	cr_expect_str_eq(out, want, "the exec'd child's read: %s", out);
	close(wr);
	reap(pids, HOLDERS);
	close(in);
}

/* Is pid:fd in the holders of inotify-shim ps's output? */
static bool ps_lists(int pid, int fd)
{
	char cmd[4096 + 64], key[32], text[65536];
	FILE *f;
	size_t n;

	path_printf(cmd, sizeof cmd, "'%s/tools/inotify-shim' ps >ps.out 2>&1",
		    getenv("INOTIFY_SHIM_TEST_BUILDDIR"));
	cr_assert_eq(run_shell(cmd), 0);
	f = fopen("ps.out", "r");
	cr_assert_not_null(f);
	n = fread(text, 1, sizeof text - 1, f);
	text[n] = 0;
	fclose(f);
	snprintf(key, sizeof key, "%d:%d", pid, fd);
	for (const char *p = text; (p = strstr(p, key)); p++)
		if (p > text && (p[-1] == ' ' || p[-1] == ',') &&
		    (p[strlen(key)] == ' ' || p[strlen(key)] == ',' || p[strlen(key)] == '\n'))
			return true;
	fprintf(stderr, "inotify-shim ps:\n%s", text);
	return false;
}

Test(holders, dead_holders_make_room_for_a_new_one)
{
	pid_t pids[HOLDERS];
	int in, wr, d;

	in = inotify_init1(IN_NONBLOCK);
	cr_assert_geq(in, 0);
	wr = start_holders(pids, HOLDERS);
	/* killed: they never say they are gone */
	for (int i = 0; i < HOLDERS; i++)
		kill(pids[i], SIGKILL);
	reap(pids, HOLDERS);
	d = dup(in);
	cr_assert_geq(d, 0);
	cr_expect(ps_lists((int)getpid(), d), "the new holder %d:%d is not listed",
		  (int)getpid(), d);
	close(d);
	close(wr);
	close(in);
}
