/*
 * instance_fd.c - the emulated instance's fd behaves as the kernel's:
 * read sizes and errnos, readv, __read_chk, blocking and signals, FIONREAD,
 * poll/select/epoll, fcntl, lseek, write, dup, fork and close-on-exec.
 * Expected values were checked against this machine's kernel.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

extern ssize_t __read_chk(int fd, void *buf, size_t count, size_t buflen);

INSTANCE_SUITE(instance_fd, 0, .timeout = 30);

static int queued(int fd)
{
	int n = -1;
	cr_assert_eq(ioctl(fd, FIONREAD, &n), 0, "FIONREAD: %s", strerror(errno));
	return n;
}

static bool is_readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

/* Two CREATE events, "a" (32 bytes) and "bb" (32 bytes). */
static void two_creates(void)
{
	cr_assert_eq(inotify_add_watch(ifd, ".", IN_CREATE), 1);
	touch("a");
	touch("bb");
	cr_assert_eq(queued(ifd), 64);
}

Test(instance_fd, read_of_empty_nonblocking_instance_is_eagain)
{
	char buf[256];

	cr_assert_eq(read(ifd, buf, sizeof buf), -1);
	cr_assert_eq(errno, EAGAIN);
}

Test(instance_fd, event_from_mkdir_is_readable_with_its_name)
{
	struct ev ev[4];

	cr_assert_gt(inotify_add_watch(ifd, ".", IN_CREATE), 0);
	cr_assert_eq(mkdir("sub", 0755), 0);
	cr_assert_eq(wait_events(ifd, ev, 4, 1, 5000), 1);
	cr_assert_eq(ev[0].mask, IN_CREATE | IN_ISDIR, "got %s", mask_name(ev[0].mask));
	cr_assert_str_eq(ev[0].name, "sub");
	cr_assert_eq(ev[0].len, 16);
}

Test(instance_fd, read_with_buffer_smaller_than_next_event_is_einval)
{
	char buf[64];

	two_creates();
	cr_assert_eq(read(ifd, buf, 16), -1);
	cr_assert_eq(errno, EINVAL);
	cr_assert_eq(read(ifd, buf, 31), -1);
	cr_assert_eq(errno, EINVAL);
	cr_assert_eq(queued(ifd), 64, "a failed read consumed nothing");
}

Test(instance_fd, zero_byte_read_with_event_queued_is_einval)
{
	char buf[1];

	two_creates();
	cr_assert_eq(read(ifd, buf, 0), -1);
	cr_assert_eq(errno, EINVAL);
}

Test(instance_fd, read_returns_only_the_whole_events_that_fit)
{
	char buf[63] __attribute__((aligned(8)));
	struct inotify_event *e = (struct inotify_event *)buf;

	two_creates();
	cr_assert_eq(read(ifd, buf, sizeof buf), 32);
	cr_assert_str_eq(e->name, "a");
	cr_assert_eq(read(ifd, buf, sizeof buf), 32);
	cr_assert_str_eq(e->name, "bb");
	cr_assert_eq(read(ifd, buf, sizeof buf), -1);
	cr_assert_eq(errno, EAGAIN);
}

Test(instance_fd, names_are_zero_padded_to_a_multiple_of_16)
{
	static const char *names[] = { "x", "fifteen_chars__", "sixteen_chars___", "a_name_of_33_characters_exactly__" };
	char buf[4096] __attribute__((aligned(8)));
	ssize_t n;
	char *p = buf;

	cr_assert_eq(inotify_add_watch(ifd, ".", IN_CREATE), 1);
	for (int i = 0; i < 4; i++)
		touch(names[i]);
	n = read(ifd, buf, sizeof buf);
	cr_assert_eq(n, 32 + 32 + 48 + 64);
	for (int i = 0; i < 4; i++) {
		struct inotify_event *e = (struct inotify_event *)p;
		size_t l = strlen(names[i]);
		cr_assert_eq(e->len % 16, 0);
		cr_assert_eq(e->len, (l + 1 + 15) / 16 * 16, "%s: len %u", names[i], e->len);
		cr_assert_str_eq(e->name, names[i]);
		for (size_t k = l; k < e->len; k++)
			cr_assert_eq(e->name[k], 0, "%s: byte %zu not zero", names[i], k);
		p += sizeof *e + e->len;
	}
}

Test(instance_fd, readv_reads_each_segment_as_one_read)
{
	char buf[256];
	struct iovec v[3] = { { buf, 32 }, { buf + 32, 32 }, { buf + 64, 100 } };

	two_creates();
	touch("c");
	/* 32 + 32 full segments, then one more event in the last */
	cr_assert_eq(readv(ifd, v, 3), 96);
	cr_assert_str_eq(((struct inotify_event *)(buf + 32))->name, "bb");
	cr_assert_eq(queued(ifd), 0);
}

Test(instance_fd, readv_stops_at_the_first_short_segment)
{
	char buf[256];
	struct iovec v[2] = { { buf, 33 }, { buf + 33, 100 } };

	two_creates();
	cr_assert_eq(readv(ifd, v, 2), 32);
	cr_assert_eq(queued(ifd), 32);
}

Test(instance_fd, readv_keeps_what_it_read_when_a_later_segment_is_too_small)
{
	char buf[256];
	struct iovec v[2] = { { buf, 32 }, { buf + 32, 10 } };

	two_creates();
	cr_assert_eq(readv(ifd, v, 2), 32);
	cr_assert_eq(queued(ifd), 32);
}

Test(instance_fd, readv_first_segment_too_small_is_einval)
{
	char buf[256];
	struct iovec v[2] = { { buf, 10 }, { buf + 10, 100 } };

	two_creates();
	cr_assert_eq(readv(ifd, v, 2), -1);
	cr_assert_eq(errno, EINVAL);
	cr_assert_eq(queued(ifd), 64);
}

Test(instance_fd, readv_with_leading_empty_segment_is_einval)
{
	char buf[256];
	struct iovec v[3] = { { buf, 0 }, { buf, 32 }, { buf + 32, 32 } };

	two_creates();
	cr_assert_eq(readv(ifd, v, 3), -1);
	cr_assert_eq(errno, EINVAL);
	cr_assert_eq(queued(ifd), 64);
}

Test(instance_fd, readv_skips_an_empty_segment_after_a_full_one)
{
	char buf[256];
	struct iovec v[3] = { { buf, 32 }, { buf, 0 }, { buf + 32, 32 } };

	two_creates();
	cr_assert_eq(readv(ifd, v, 3), 64);
}

Test(instance_fd, readv_of_nothing_returns_zero)
{
	char buf[1];
	struct iovec v[2] = { { buf, 0 }, { buf, 0 } };

	two_creates();
	cr_assert_eq(readv(ifd, v, 2), 0);
	cr_assert_eq(queued(ifd), 64);
}

Test(instance_fd, readv_of_empty_nonblocking_instance_is_eagain)
{
	char buf[64];
	struct iovec v[1] = { { buf, sizeof buf } };

	cr_assert_eq(readv(ifd, v, 1), -1);
	cr_assert_eq(errno, EAGAIN);
}

Test(instance_fd, read_chk_reads_whole_events)
{
	char buf[64];

	two_creates();
	cr_assert_eq(__read_chk(ifd, buf, 16, sizeof buf), -1);
	cr_assert_eq(errno, EINVAL);
	cr_assert_eq(__read_chk(ifd, buf, sizeof buf, sizeof buf), 64);
	cr_assert_eq(__read_chk(ifd, buf, sizeof buf, sizeof buf), -1);
	cr_assert_eq(errno, EAGAIN);
}

Test(instance_fd, read_never_returns_zero)
{
	char buf[64];

	for (size_t size = 0; size <= 64; size += 8) {
		ssize_t n = read(ifd, buf, size);
		cr_assert_eq(n, -1, "read(%zu) returned %zd", size, n);
	}
	two_creates();
	for (size_t size = 0; size <= 64; size += 8)
		cr_assert_neq(read(ifd, buf, size), 0, "read(%zu) returned 0", size);
}

Test(instance_fd, fionread_counts_exact_queued_bytes)
{
	char buf[64];

	cr_assert_eq(queued(ifd), 0);
	cr_assert_eq(inotify_add_watch(ifd, ".", IN_CREATE), 1);
	touch("a");
	cr_assert_eq(queued(ifd), 32);
	touch("sixteen_chars___");
	cr_assert_eq(queued(ifd), 32 + 48);
	cr_assert_eq(read(ifd, buf, 32), 32);
	cr_assert_eq(queued(ifd), 48);
	cr_assert_eq(inotify_rm_watch(ifd, 1), 0);
	cr_assert_eq(queued(ifd), 48 + 16);
}

Test(instance_fd, poll_is_readable_exactly_while_events_are_queued)
{
	char buf[256];

	cr_assert_not(is_readable(ifd));
	two_creates();
	cr_assert(is_readable(ifd));
	cr_assert_eq(read(ifd, buf, 32), 32);
	cr_assert(is_readable(ifd), "one event left");
	cr_assert_eq(read(ifd, buf, 32), 32);
	cr_assert_not(is_readable(ifd), "readable after draining");
	touch("c");
	cr_assert(is_readable(ifd));
	cr_assert_eq(read(ifd, buf, sizeof buf), 32);
	cr_assert_not(is_readable(ifd));
}

static bool select_readable(int fd)
{
	fd_set r;
	struct timeval tv = { 0, 0 };

	FD_ZERO(&r);
	FD_SET(fd, &r);
	return select(fd + 1, &r, NULL, NULL, &tv) == 1 && FD_ISSET(fd, &r);
}

Test(instance_fd, select_is_readable_exactly_while_events_are_queued)
{
	char buf[256];

	cr_assert_not(select_readable(ifd));
	two_creates();
	cr_assert(select_readable(ifd));
	cr_assert_eq(read(ifd, buf, sizeof buf), 64);
	cr_assert_not(select_readable(ifd));
}

Test(instance_fd, level_triggered_epoll_reports_until_drained)
{
	struct epoll_event e = { .events = EPOLLIN };
	char buf[256];
	int ep = epoll_create1(EPOLL_CLOEXEC);

	cr_assert_geq(ep, 0);
	cr_assert_eq(epoll_ctl(ep, EPOLL_CTL_ADD, ifd, &e), 0);
	cr_assert_eq(epoll_wait(ep, &e, 1, 0), 0);
	two_creates();
	cr_assert_eq(epoll_wait(ep, &e, 1, 0), 1);
	cr_assert(e.events & EPOLLIN);
	cr_assert_eq(epoll_wait(ep, &e, 1, 0), 1, "level-triggered: again");
	cr_assert_eq(read(ifd, buf, 32), 32);
	cr_assert_eq(epoll_wait(ep, &e, 1, 0), 1, "one event left");
	cr_assert_eq(read(ifd, buf, sizeof buf), 32);
	cr_assert_eq(epoll_wait(ep, &e, 1, 0), 0, "ready after draining");
	close(ep);
}

/* Edges: the kernel wakes its waiters for every event it queues (checked
 * on this machine's kernel: a second event before the reader drained is a
 * new edge, a merged one is not, nor a read, nor an event dropped after the
 * overflow; the IN_Q_OVERFLOW event is). */

static int edge_epoll(int fd)
{
	struct epoll_event e = { .events = EPOLLIN | EPOLLET };
	int ep = epoll_create1(EPOLL_CLOEXEC);

	cr_assert_geq(ep, 0);
	cr_assert_eq(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e), 0);
	return ep;
}

static int edges(int ep)
{
	struct epoll_event e[4];
	return epoll_wait(ep, e, 4, 0);
}

Test(instance_fd, edge_triggered_epoll_gives_an_edge_for_each_queued_event)
{
	int ep = edge_epoll(ifd);

	cr_assert_eq(inotify_add_watch(ifd, ".", IN_CREATE), 1);
	touch("a");
	cr_assert_eq(edges(ep), 1);
	touch("b");
	cr_assert_eq(edges(ep), 1, "no edge for a second event before the read");
	touch("c");
	cr_assert_eq(edges(ep), 1, "no edge for a third event before the read");
	cr_assert_eq(queued(ifd), 96);
	close(ep);
}

Test(instance_fd, edge_triggered_epoll_gives_no_edge_for_a_merged_event)
{
	int ep = edge_epoll(ifd);
	int fd = open("f", O_CREAT | O_WRONLY, 0644);

	cr_assert_geq(fd, 0);
	cr_assert_eq(inotify_add_watch(ifd, ".", IN_MODIFY), 1);
	cr_assert_eq(write(fd, "x", 1), 1);
	cr_assert_eq(edges(ep), 1);
	cr_assert_eq(write(fd, "x", 1), 1);
	cr_assert_eq(queued(ifd), 32, "merged into the tail");
	cr_assert_eq(edges(ep), 0, "an edge for a merged event");
	close(fd);
	close(ep);
}

Test(instance_fd, edge_triggered_epoll_gives_no_edge_for_a_read)
{
	char buf[32];
	int ep = edge_epoll(ifd);

	cr_assert_eq(inotify_add_watch(ifd, ".", IN_CREATE), 1);
	touch("a");
	touch("b");
	cr_assert_eq(edges(ep), 1);
	cr_assert_eq(read(ifd, buf, sizeof buf), 32);
	cr_assert_eq(edges(ep), 0, "an edge for a partial read");
	cr_assert_eq(read(ifd, buf, sizeof buf), 32);
	cr_assert_eq(edges(ep), 0, "an edge for the draining read");
	touch("c");
	cr_assert_eq(edges(ep), 1, "no edge after draining");
	close(ep);
}

Test(instance_fd, edge_triggered_epoll_gives_one_edge_for_the_overflow_and_none_for_dropped_events)
{
	int ep = edge_epoll(ifd), before, after;
	char buf[4096];
	long i;

	touch("x");
	touch("y");
	cr_assert_eq(inotify_add_watch(ifd, ".", IN_ATTRIB), 1);
	for (i = 0, before = queued(ifd); i < (1L << 20); i++, before = after) {
		cr_assert_eq(chmod(i & 1 ? "x" : "y", 0600), 0);
		after = queued(ifd);
		if (after == before)
			break;
		cr_assert_eq(edges(ep), 1, "event %ld (%d bytes queued): no edge", i, after);
	}
	cr_assert_eq(edges(ep), 0, "an edge for a dropped event");
	cr_assert_eq(chmod("x", 0600), 0);
	cr_assert_eq(edges(ep), 0, "an edge for a dropped event");
	while (read(ifd, buf, sizeof buf) > 0)
		;
	cr_assert_eq(edges(ep), 0);
	cr_assert_eq(chmod("x", 0644), 0);
	cr_assert_eq(edges(ep), 1, "no edge after the overflow was read");
	close(ep);
}

Test(instance_fd, edge_triggered_epoll_gives_an_edge_for_each_event_from_another_process)
{
	int ep = edge_epoll(ifd);

	cr_assert_eq(inotify_add_watch(ifd, ".", IN_CREATE), 1);
	for (int i = 0; i < 3; i++) {
		char name[8];
		snprintf(name, sizeof name, "p%d", i);
		pid_t pid = fork();
		if (pid == 0) {
			close(ifd);	/* a writer that does not hold the instance */
			close(creat(name, 0600));
			_exit(0);
		}
		cr_assert_eq(waitpid(pid, NULL, 0), pid);
		cr_assert_eq(edges(ep), 1, "event %d: no edge", i);
	}
	close(ep);
}

static volatile sig_atomic_t sigio_count, sigio_band, sigio_fd;

static void on_sigio(int sig, siginfo_t *si, void *ctx)
{
	(void)sig;
	(void)ctx;
	sigio_count++;
	sigio_band = (int)si->si_band;
	sigio_fd = si->si_fd;
}

static int sigios(void)
{
	int n = sigio_count;
	sigio_count = 0;
	return n;
}

Test(instance_fd, o_async_sends_a_signal_for_each_queued_event)
{
	struct sigaction sa = { .sa_sigaction = on_sigio, .sa_flags = SA_SIGINFO };
	int fd = open("f", O_CREAT | O_WRONLY, 0644);

	cr_assert_geq(fd, 0);
	cr_assert_eq(sigaction(SIGRTMIN, &sa, NULL), 0);
	cr_assert_eq(fcntl(ifd, F_SETOWN, getpid()), 0);
	cr_assert_eq(fcntl(ifd, F_SETSIG, SIGRTMIN), 0);
	cr_assert_eq(fcntl(ifd, F_SETFL, fcntl(ifd, F_GETFL) | O_ASYNC), 0);
	cr_assert_eq(inotify_add_watch(ifd, ".", IN_CREATE | IN_MODIFY), 1);
	touch("a");
	cr_assert_eq(sigios(), 1);
	cr_assert_eq(sigio_fd, ifd);
	cr_assert_eq(sigio_band, POLLIN | POLLRDNORM, "band %#x", (int)sigio_band);
	touch("b");
	cr_assert_eq(sigios(), 1, "no signal for a second event before the read");
	cr_assert_eq(write(fd, "x", 1), 1);
	cr_assert_eq(sigios(), 1);
	cr_assert_eq(write(fd, "x", 1), 1);
	cr_assert_eq(sigios(), 0, "a signal for a merged event");
	close(fd);
	signal(SIGRTMIN, SIG_DFL);
}

Test(instance_fd, edge_triggered_epoll_reports_each_arrival_once)
{
	struct epoll_event e = { .events = EPOLLIN | EPOLLET };
	char buf[256];
	int ep = epoll_create1(EPOLL_CLOEXEC);

	cr_assert_geq(ep, 0);
	cr_assert_eq(epoll_ctl(ep, EPOLL_CTL_ADD, ifd, &e), 0);
	cr_assert_eq(inotify_add_watch(ifd, ".", IN_CREATE), 1);
	cr_assert_eq(epoll_wait(ep, &e, 1, 0), 0);
	touch("a");
	cr_assert_eq(epoll_wait(ep, &e, 1, 0), 1);
	cr_assert_eq(epoll_wait(ep, &e, 1, 0), 0, "edge reported twice");
	cr_assert_eq(read(ifd, buf, sizeof buf), 32);
	cr_assert_eq(epoll_wait(ep, &e, 1, 0), 0);
	touch("b");
	cr_assert_eq(epoll_wait(ep, &e, 1, 0), 1, "no edge for a new event after draining");
	cr_assert_eq(read(ifd, buf, sizeof buf), 32);
	cr_assert_eq(epoll_wait(ep, &e, 1, 0), 0);
	close(ep);
}

Test(instance_fd, getfl_reports_rdonly_and_nonblock)
{
	int fd = inotify_init1(0);

	cr_assert_geq(fd, 0);
	cr_assert_eq(fcntl(fd, F_GETFL), O_RDONLY);
	cr_assert_eq(fcntl(ifd, F_GETFL), O_RDONLY | O_NONBLOCK);
	close(fd);
}

Test(instance_fd, setfl_nonblock_after_creation_switches_blocking)
{
	char buf[64];
	int fd = inotify_init1(0);

	cr_assert_geq(fd, 0);
	cr_assert_eq(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	cr_assert_eq(fcntl(fd, F_GETFL), O_RDONLY | O_NONBLOCK);
	cr_assert_eq(read(fd, buf, sizeof buf), -1);
	cr_assert_eq(errno, EAGAIN);
	cr_assert_eq(fcntl(ifd, F_SETFL, 0), 0);
	cr_assert_eq(fcntl(ifd, F_GETFL), O_RDONLY);
	close(fd);
}

Test(instance_fd, write_and_writev_are_ebadf)
{
	struct iovec v = { "x", 1 };

	cr_assert_eq(write(ifd, "x", 1), -1);
	cr_assert_eq(errno, EBADF);
	cr_assert_eq(writev(ifd, &v, 1), -1);
	cr_assert_eq(errno, EBADF);
	cr_assert_eq(queued(ifd), 0);
	cr_assert_not(is_readable(ifd));
}

Test(instance_fd, pread_and_pwrite_are_espipe)
{
	char buf[64];

	two_creates();
	cr_assert_eq(pread(ifd, buf, sizeof buf, 0), -1);
	cr_assert_eq(errno, ESPIPE);
	cr_assert_eq(pwrite(ifd, "x", 1, 0), -1);
	cr_assert_eq(errno, ESPIPE);
	cr_assert_eq(queued(ifd), 64);
}

Test(instance_fd, lseek_returns_zero_as_noop_llseek)
{
	cr_assert_eq(lseek(ifd, 0, SEEK_SET), 0);
	cr_assert_eq(lseek(ifd, 10, SEEK_CUR), 0);
	cr_assert_eq(lseek(ifd, 5, SEEK_END), 0);
}

Test(instance_fd, dup_reads_the_same_queue)
{
	char buf[64];
	int d = dup(ifd);

	cr_assert_geq(d, 0);
	two_creates();
	cr_assert_eq(queued(d), 64);
	cr_assert_eq(read(d, buf, 32), 32);
	cr_assert_eq(queued(ifd), 32);
	close(d);
}

Test(instance_fd, closing_one_dup_keeps_the_instance)
{
	struct ev ev[4];
	int d = dup(ifd);

	cr_assert_geq(d, 0);
	cr_assert_eq(inotify_add_watch(ifd, ".", IN_CREATE), 1);
	close(ifd);
	touch("a");
	cr_assert_eq(read_events(d, ev, 4), 1);
	cr_assert_str_eq(ev[0].name, "a");
	cr_assert_eq(inotify_add_watch(d, ".", IN_DELETE), 1, "same watch, same instance");
	ifd = d;
}

Test(instance_fd, fork_child_reads_the_parents_instance)
{
	pid_t pid;
	int st;

	two_creates();
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		char buf[64];
		_exit(read(ifd, buf, sizeof buf) == 64 ? 0 : 1);
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child could not read");
	cr_assert_eq(queued(ifd), 0, "the child's read emptied the shared queue");
}

Test(instance_fd, cloexec_flag_follows_in_cloexec)
{
	int fd = inotify_init1(IN_CLOEXEC);

	cr_assert_geq(fd, 0);
	cr_assert_eq(fcntl(fd, F_GETFD), FD_CLOEXEC);
	cr_assert_eq(fcntl(ifd, F_GETFD), 0);
	close(fd);
}

Test(instance_fd, init1_with_other_flags_is_einval)
{
	static const int bad[] = { 1, O_RDWR, O_APPEND, O_NONBLOCK | 1, IN_CLOEXEC | O_DIRECT };

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cr_assert_eq(inotify_init1(bad[i]), -1, "flags 0x%x", bad[i]);
		cr_assert_eq(errno, EINVAL);
	}
}

/* ---- blocking reads, woken from another process or by a signal */

/* Is pid blocked in read(fd)?  /proc/PID/syscall: "NR fd ...". */
struct blocked { pid_t pid; int fd; };

static bool blocked_in_read(void *arg)
{
	struct blocked *b = arg;
	char path[64], line[256];
	long nr = -1;
	unsigned long fd = ~0UL;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/syscall", (int)b->pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (!fgets(line, sizeof line, f))
		line[0] = 0;
	fclose(f);
	return sscanf(line, "%ld %lx", &nr, &fd) == 2 && nr == SYS_read && fd == (unsigned long)b->fd;
}

/* A child that waits until the parent blocks in read(fd), then does its
 * part; exits 0 only if it saw the parent blocked. */
static pid_t when_blocked(int fd, void (*part)(void))
{
	pid_t parent = getpid(), pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct blocked b = { parent, fd };
		bool seen = wait_until(blocked_in_read, &b, 10000);
		part();
		_exit(seen ? 0 : 1);
	}
	return pid;
}

static void child_touches(void)
{
	int fd = open("from_child", O_CREAT | O_WRONLY, 0644);
	close(fd);
}

static void child_wait_ok(pid_t pid)
{
	int st;

	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the reader was not blocked in read");
}

Test(instance_fd, blocking_read_waits_for_an_event_from_another_process)
{
	char buf[256] __attribute__((aligned(8)));
	struct inotify_event *e = (struct inotify_event *)buf;
	int fd = inotify_init1(0);
	pid_t pid;

	cr_assert_geq(fd, 0);
	cr_assert_eq(inotify_add_watch(fd, ".", IN_CREATE), 1);
	pid = when_blocked(fd, child_touches);
	cr_assert_eq(read(fd, buf, sizeof buf), 32);
	cr_assert_eq(e->mask, IN_CREATE);
	cr_assert_str_eq(e->name, "from_child");
	child_wait_ok(pid);
	close(fd);
}

static volatile int *handled;

static void on_usr1(int sig)
{
	(void)sig;
	__atomic_add_fetch(handled, 1, __ATOMIC_SEQ_CST);
}

static void child_signals(void)
{
	kill(getppid(), SIGUSR1);
}

static void install_usr1(int flags)
{
	struct sigaction sa = { .sa_handler = on_usr1, .sa_flags = flags };

	handled = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(handled, MAP_FAILED);
	sigemptyset(&sa.sa_mask);
	cr_assert_eq(sigaction(SIGUSR1, &sa, NULL), 0);
}

Test(instance_fd, blocking_read_interrupted_without_sa_restart_is_eintr)
{
	char buf[256];
	int fd = inotify_init1(0);
	pid_t pid;

	cr_assert_geq(fd, 0);
	install_usr1(0);
	pid = when_blocked(fd, child_signals);
	cr_assert_eq(read(fd, buf, sizeof buf), -1);
	cr_assert_eq(errno, EINTR);
	cr_assert_eq(*handled, 1);
	child_wait_ok(pid);
	close(fd);
}

/* The SA_RESTART child: signal the blocked parent, wait until its handler
 * ran and it blocks in read again, then make an event. */
static int restart_fd;

static void child_signals_then_touches(void)
{
	struct blocked b = { getppid(), restart_fd };

	kill(getppid(), SIGUSR1);
	for (int i = 0; i < 10000 && !__atomic_load_n(handled, __ATOMIC_SEQ_CST); i++)
		usleep(1000);
	wait_until(blocked_in_read, &b, 10000);
	child_touches();
}

Test(instance_fd, blocking_read_with_sa_restart_keeps_waiting)
{
	char buf[256] __attribute__((aligned(8)));
	struct inotify_event *e = (struct inotify_event *)buf;
	pid_t pid;

	restart_fd = inotify_init1(0);
	cr_assert_geq(restart_fd, 0);
	cr_assert_eq(inotify_add_watch(restart_fd, ".", IN_CREATE), 1);
	install_usr1(SA_RESTART);
	pid = when_blocked(restart_fd, child_signals_then_touches);
	cr_assert_eq(read(restart_fd, buf, sizeof buf), 32);
	cr_assert_eq(*handled, 1);
	cr_assert_str_eq(e->name, "from_child");
	child_wait_ok(pid);
	close(restart_fd);
}
