/*
 * relay.c - inotify-shim relay: the kernel's inotify lent to the domain
 * (issue 15, part 1).  An ordinary unprivileged process for which the
 * kernel's inotify works keeps a kernel watch on every watched inode of
 * the domain it is handed, and delivers what the kernel reports into the
 * domain, so that a watcher under the shim (in a container whose seccomp
 * policy denies inotify, say) sees the changes that no hook saw: another
 * container, the host, a static or Go binary, a daemon outside the shim.
 *
 * Finding the inodes: an O_PATH fd per new watch, handed over the domain's
 * unix socket by the process that made the watch (src/relay/relay.h says
 * why: no path translation across mount namespaces, no privilege).  The
 * relay checks the fd's (st_dev, st_ino) against the registry's record,
 * then watches "/proc/self/fd/N" (the very inode) with IN_ALL_EVENTS.
 * Watches made before the relay started (or while it did not run), or by a
 * process whose datagram a full socket refused, are found by the paths
 * recorded in the domain (relay_adopt.c), at the start, within 100 ms of a
 * refused datagram, and every second while some are missing; those no
 * record leads to are counted ("unmirrored" in ps).
 * Watches that end in the domain are swept: the relay looks up up to
 * SWEEP_BATCH of its kernel watches in the registry (one hash lookup each,
 * under registry.lock) and removes those whose inode is no longer watched,
 * within SWEEP_MS of a change of the domain's watch count, and every
 * FULL_SWEEP_MS in any case (an add and a removal between two looks leave
 * the count as it was).  An instance whose last holder died without
 * closing it keeps its watches until it is reaped: the relay reaps (the
 * FIFO's open count, core/slots.h) once a second.
 *
 * Deduplication (no double report): the hooks already deliver every event
 * of a process under the shim, and the kernel reports the same change to
 * the relay.  notify.c's deliver() stamps each delivery it makes, while a
 * relay runs, into the ring's stamps (struct relay_stamp: inode, mask
 * without IN_ISDIR, hash of the name, time), under registry.lock, on the
 * delivery path only (never on the quiet path), and not in the relay's own
 * process.  The relay holds each kernel event HOLD_MS after reading it
 * (a hook's delivery follows its real call by microseconds, or, on a
 * loaded machine, by a wait for the CPU: 20 ms were seen to fall short
 * there, for the first delivery of a fresh process, and 50 ms are the
 * default), then drops it if an unconsumed stamp of the same
 * (inode, mask, name) younger than STAMP_TTL_MS exists, consuming that
 * stamp: one hook delivery cancels one kernel event.  Costs: every kernel
 * event is late by HOLD_MS; a hook preempted for longer than HOLD_MS
 * between its real call and its delivery, or more than RELAY_STAMPS hook
 * deliveries in HOLD_MS, gives a double report (never a lost one); a hook
 * delivery with no kernel twin (a difference of the emulation) can cancel
 * an equal change made outside the shim within STAMP_TTL_MS.
 *
 * Translation (one kernel event to one notify call, on the watches of the
 * inode that the kernel's watch is on, so that order and doubles follow
 * the kernel's own queue): an event with a name on a directory watch:
 * IN_CREATE, IN_DELETE, IN_MOVED_FROM, IN_MOVED_TO to notify_entry_from (the
 * kernel's move cookie mapped to a fresh domain cookie, the same for both
 * ends; notify_move is not used since the kernel reports the moved
 * object's IN_MOVE_SELF and a target's IN_ATTRIB on their own watches),
 * the others to notify_child_from on the directory alone; without a name:
 * IN_DELETE_SELF to notify_gone_from, IN_UNMOUNT to
 * notify_unmounted_from_locked, IN_IGNORED forgets the kernel watch, the
 * rest to notify_self_from; every one of origin CORE_ORIGIN_RELAY, through
 * core's single entry point (core_handle_event).
 * IN_Q_OVERFLOW from the kernel: lost is lost, every instance with a watch
 * gets IN_Q_OVERFLOW (slot_lost_all).
 *
 * ENOSPC: the relay's kernel watches count against the relay user's
 * fs.inotify.max_user_watches, one per watched inode (not per watch: the
 * domain's watches of one inode share it).  A watch the kernel refuses is
 * told to every instance watching that inode by IN_Q_OVERFLOW, and counted
 * (ps: enospc); where a scanner runs (inotify-shim scan) it covers those
 * inodes; nothing else does.
 *
 * Liveness across pid namespaces: the relay holds no instance, so no
 * watcher's reaper can take it for dead; instances live by their FIFO's
 * open count, which no pid enters.  What a pid does enter: the stall
 * check of a waiter on registry.lock (util/shlock.c making_progress reads
 * /proc/TID of the holder, a tid of the holder's namespace): a waiter in
 * another namespace gives up after the short step instead of the long
 * one, and covers its event with IN_Q_OVERFLOW; never a wrong repair.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "core/slots.h"
#include "domain/registry.h"
#include "notify/notify.h"
#include "relay/relay.h"
#include "relay_table.h"

#define HOLD_MS 50
#define STAMP_TTL_MS 2000
#define SWEEP_MS 5
#define SWEEP_BATCH 4096
#define FULL_SWEEP_MS 100

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static const char usage[] =
	"Usage: inotify-shim relay [OPTION]...\n"
	"Lend this process's kernel inotify to the domain: keep a kernel watch on\n"
	"every inode watched in the domain (handed over by the watching process\n"
	"as an open file, so paths need no translation across containers) and\n"
	"deliver what the kernel reports, so that watchers under the shim see\n"
	"changes made by programs outside it.  Runs until killed (SIGTERM, SIGINT).\n"
	"\n"
	"  -d, --domain=D    the domain (default: $INOTIFY_SHIM_DOMAIN, else yours)\n"
	"  -h, --help        show this help\n"
	"  -V, --version     show the version\n";

static const struct option options[] = {
	{ "domain", required_argument, NULL, 'd' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

struct relay {
	const char *prog;
	struct domain *d;
	struct relay_ring *ring;
	int ringfd, kfd, sock;
	struct relay_table t;
	struct relay_pending p;
	struct relay_stamps st;
	uint32_t stamp_tail;
	uint32_t swept_count;		/* watch_count at the last sweep */
	uint32_t kcookie[16], dcookie[16];
	unsigned ncookie;
};

/* ---- the domain's side ---------------------------------------------- */

/* Under the lock: the registry's identity of the inode the fd is on, if it
 * is watched (the birth time is the record's). */
static bool watched_record(struct relay *r, const struct stat *st, struct ident *out)
{
	struct ident id = { (uint64_t)st->st_dev, (uint64_t)st->st_ino, 0 };
	struct reg_inode *in;
	bool ok = false;

	if (domain_lock(r->d) < 0)
		return false;
	in = reg_inode(r->d, registry_find_inode(r->d, &id));
	if (in && in->state == RECORD_USED) {
		*out = in->id;
		ok = true;
	}
	domain_unlock(r->d);
	return ok;
}

/* The kernel refused a watch on id: IN_Q_OVERFLOW to its instances. */
static void tell_lost(struct relay *r, const struct ident *id)
{
	struct reg_inode *in;
	struct reg_watch *w;
	struct chain_guard g = CHAIN_GUARD_INIT;

	if (domain_lock(r->d) < 0) {
		slot_lost_all(r->d);
		return;
	}
	in = reg_inode(r->d, registry_find_inode(r->d, id));
	for (uint32_t widx = in ? in->marks : 0; widx && (w = reg_watch(r->d, widx)) &&
						chain_guard_ok(&g, widx); widx = w->inode_next) {
		struct reg_instance *inst = reg_instance(r->d, w->instance);
		if (w->state == RECORD_USED && inst && inst->state == RECORD_USED)
			slot_lost(r->d, (struct slot_ref){ w->instance, inst->gen });
	}
	domain_unlock(r->d);
	r->ring->overflows++;
}

/* Mirror the inode of fd, handed with m; a refusal of the kernel is told
 * to its instances when tell (not again at each retry of an adoption). */
static void take_fd(struct relay *r, const struct relay_msg *m, int fd, bool tell)
{
	char path[64];
	struct stat st;
	struct ident id;
	int wd;

	if (fstat(fd, &st) < 0 || (uint64_t)st.st_dev != m->id.dev ||
	    (uint64_t)st.st_ino != m->id.ino || !watched_record(r, &st, &id) ||
	    relay_table_find(&r->t, &id) >= 0)
		return;
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	wd = (int)syscall(SYS_inotify_add_watch, r->kfd, path, IN_ALL_EVENTS);
	if (wd < 0) {
		if (!tell)
			return;
		if (errno == ENOSPC)
			r->ring->enospc++;
		tell_lost(r, &id);
		return;
	}
	relay_table_add(&r->t, wd, &id, st.st_mode);
	r->ring->mirrored = r->t.n;
	if (!m->sent_ns)
		return;	/* adopted: no hand-off to be late after */
	r->ring->lag_last_ns = now_ns() - m->sent_ns;
	if (r->ring->lag_last_ns > r->ring->lag_max_ns)
		r->ring->lag_max_ns = r->ring->lag_last_ns;
}

static void read_socket(struct relay *r)
{
	for (;;) {
		struct relay_msg m;
		union {
			char buf[CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		} u;
		struct iovec iov = { &m, sizeof m };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = u.buf, .msg_controllen = sizeof u.buf };
		struct cmsghdr *c;
		ssize_t n = recvmsg(r->sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		int fd = -1;

		if (n < 0)
			return;
		c = CMSG_FIRSTHDR(&mh);
		if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			memcpy(&fd, CMSG_DATA(c), sizeof fd);
		if (fd >= 0 && n == sizeof m && m.magic == RELAY_MAGIC)
			take_fd(r, &m, fd, true);
		if (fd >= 0)
			close(fd);
	}
}

static int count_removing(const struct relay_table *t)
{
	int n = 0;

	for (int wd = 1; wd < t->cap; wd++)
		n += t->w[wd].wd && t->w[wd].removing;
	return n;
}

/* Kernel watches whose inode is no longer watched in the domain go. */
static void sweep(struct relay *r, bool force)
{
	static int gone[SWEEP_BATCH];
	int ngone = 0;
	uint32_t count = __atomic_load_n(&r->d->reg->watch_count, __ATOMIC_RELAXED);

	if (!r->t.n || (!force && count == r->swept_count) || domain_lock(r->d) < 0)
		return;
	r->swept_count = count;
	for (int i = 0; i < SWEEP_BATCH && i < r->t.n; i++) {
		struct relay_watch *w = relay_table_next(&r->t);
		if (!w)
			break;
		for (int j = 0; j < ngone; j++)
			if (gone[j] == w->wd)
				w = NULL;
		if (w && !registry_find_inode(r->d, &w->id))
			gone[ngone++] = w->wd;
	}
	domain_unlock(r->d);
	for (int i = 0; i < ngone; i++) {
		/* the entry stays until the kernel's IN_IGNORED, after the
		 * events queued before it */
		if (syscall(SYS_inotify_rm_watch, r->kfd, gone[i]) == 0)
			r->t.w[gone[i]].removing = true;
		else
			relay_table_remove(&r->t, gone[i]);
	}
	r->ring->mirrored = r->t.n - count_removing(&r->t);
}

/* Instances whose holders died without closing them: reclaimed, so that
 * their watches (and the relay's kernel watches) go.  Not slot_reap: an
 * instance still being created (no FIFO yet) is judged there by its
 * creator's pid, which names another process, or none, in the relay's pid
 * namespace; here only the FIFO's open count decides, which no pid enters,
 * and an instance without a FIFO yet is left alone. */
static void reap(struct relay *r)
{
	if (domain_lock(r->d) < 0)
		return;
	for (uint32_t slot = 1; slot < REGISTRY_INSTANCES; slot++) {
		struct reg_instance *inst = &r->d->instances[slot];
		if (inst->state == RECORD_USED && inst->fifo_ino && !slot_alive(r->d, slot))
			slot_reclaim(r->d, slot);
	}
	domain_unlock(r->d);
}

struct adopt_arg {
	struct relay *r;
	bool tell;
};

static void adopt_one(void *arg, int fd, const struct ident *id)
{
	struct adopt_arg *a = arg;
	struct relay_msg m = { RELAY_MAGIC, IN_ALL_EVENTS, *id, 0 };

	take_fd(a->r, &m, fd, a->tell);
}

/* The watched inodes not handed over: at the start (told when refused),
 * and later while some are missing (not told again). */
static void adopt(struct relay *r, bool first)
{
	struct adopt_arg a = { r, first };

	relay_adopt(r->d, &r->t, adopt_one, &a);
}

static void count_unmirrored(struct relay *r)
{
	uint32_t hwm = __atomic_load_n(&r->d->reg->inode_hwm, __ATOMIC_RELAXED), used = 0;

	if (hwm > registry_inodes_backed(r->d))
		hwm = registry_inodes_backed(r->d);
	for (uint32_t i = 1; i <= hwm; i++)
		used += __atomic_load_n(&r->d->inodes[i].state, __ATOMIC_RELAXED) == RECORD_USED;
	r->ring->unmirrored = used > (uint32_t)r->t.n ? used - (uint32_t)r->t.n : 0;
}

/* ---- kernel events into the domain ---------------------------------- */

static uint32_t domain_cookie(struct relay *r, uint32_t kcookie)
{
	uint32_t c;

	for (unsigned i = 0; i < 16; i++)
		if (r->kcookie[i] == kcookie)
			return r->dcookie[i];
	do
		c = __atomic_add_fetch(&r->d->reg->cookie, 1, __ATOMIC_RELAXED);
	while (c == 0);
	r->kcookie[r->ncookie % 16] = kcookie;
	r->dcookie[r->ncookie++ % 16] = c;
	return c;
}

/* The relay's one way into the domain: the single delivery entry point
 * (core_handle_event, through notify's *_from calls), every event of
 * origin CORE_ORIGIN_RELAY (the kernel's, lent by this relay), never the
 * hooks' notify_* calls. */
#define ORIGIN CORE_ORIGIN_RELAY
static void to_domain(struct relay *r, const struct relay_event *e,
		      const struct relay_watch *w)
{
	struct inode_info in = { .id = w->id, .mode = w->mode, .nlink = 1 };
	uint32_t m = e->mask;

	if (e->name[0]) {
		if (m & (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO))
			notify_entry_from(ORIGIN, m & ~IN_ISDIR, &in, e->name, m & IN_ISDIR,
					  e->cookie ? domain_cookie(r, e->cookie) : 0);
		else
			notify_child_from(ORIGIN, m, &(struct notify_obj){
				.inode = NULL, .dir = &in, .name = e->name, .fd = -1 });
	} else if (m & IN_DELETE_SELF) {
		notify_gone_from(ORIGIN, &in);
	} else if (m & IN_UNMOUNT) {
		if (domain_lock(r->d) == 0) {
			notify_unmounted_from_locked(ORIGIN, r->d,
						     registry_find_inode(r->d, &w->id));
			domain_unlock(r->d);
		}
	} else {
		notify_self_from(ORIGIN, m & ~IN_ISDIR, &in);
	}
	r->ring->delivered++;
}

/* New stamps of the hooks' deliveries, from the ring. */
static void pull_stamps(struct relay *r)
{
	uint32_t head = __atomic_load_n(&r->ring->head, __ATOMIC_ACQUIRE);

	if (head - r->stamp_tail > RELAY_STAMPS)
		r->stamp_tail = head - RELAY_STAMPS;
	for (; r->stamp_tail != head; r->stamp_tail++) {
		struct relay_stamp s = r->ring->stamps[r->stamp_tail & (RELAY_STAMPS - 1)];
		if (s.ns)
			relay_stamps_add(&r->st, &s);
	}
	relay_stamps_expire(&r->st, now_ns() - (uint64_t)STAMP_TTL_MS * 1000000);
}

static void one_event(struct relay *r, const struct relay_event *e)
{
	const struct relay_watch *w;

	if (e->wd == -1 && (e->mask & IN_Q_OVERFLOW)) {
		slot_lost_all(r->d);	/* lost is lost */
		r->ring->overflows++;
		return;
	}
	w = relay_table_get(&r->t, e->wd);
	if (!w)
		return;
	if (e->mask & IN_IGNORED) {
		relay_table_remove(&r->t, e->wd);
		r->ring->mirrored = r->t.n - count_removing(&r->t);
		return;
	}
	if (relay_stamps_take(&r->st, &w->id, e->mask & ~IN_ISDIR,
			      relay_name_hash(e->name))) {
		r->ring->deduplicated++;
		return;
	}
	to_domain(r, e, w);
}

/* Deliver the held events older than HOLD_MS (all when force). */
static void release(struct relay *r, bool force)
{
	uint64_t limit = now_ns() - (uint64_t)HOLD_MS * 1000000;
	const struct relay_event *e;

	pull_stamps(r);
	while ((e = relay_pending_peek(&r->p)) && (force || e->t <= limit)) {
		one_event(r, e);
		relay_pending_drop(&r->p);
	}
}

static void read_kernel(struct relay *r)
{
	char buf[64 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	while ((n = read(r->kfd, buf, sizeof buf)) > 0) {
		uint64_t t = now_ns();
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)p;
			if (relay_pending_full(&r->p))
				release(r, true);
			relay_pending_push(&r->p, t, ev);
			p += sizeof *ev + ev->len;
		}
	}
}

/* ---- the loop -------------------------------------------------------- */

/* Has a process of the domain seen the ring as another inode? */
static bool foreign(struct relay *r)
{
	int fd = domain_openat(r->d, RELAY_FOREIGN_FILE, O_RDONLY, 0);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static int loop(struct relay *r)
{
	uint64_t last_count = 0, last_sweep = 0, last_adopt = 0, dropped = 0;

	while (!stop) {
		struct pollfd pfd[2] = { { r->kfd, POLLIN, 0 }, { r->sock, POLLIN, 0 } };
		const struct relay_event *e = relay_pending_peek(&r->p);
		int timeout = SWEEP_MS;

		if (e) {
			int64_t due = (int64_t)(e->t + (uint64_t)HOLD_MS * 1000000 - now_ns());
			timeout = due <= 0 ? 0 : (int)(due / 1000000) + 1;
			if (timeout > SWEEP_MS)
				timeout = SWEEP_MS;
		}
		if (poll(pfd, 2, timeout) < 0 && errno != EINTR)
			return 1;
		if (foreign(r)) {
			fprintf(stderr, "%s: %s is shared with a process that does not see "
				"the same inodes (another kernel: a VM's shared folder); a "
				"kernel relay cannot watch them there: run inotify-shim bridge "
				"(issue 16) instead\n", r->prog, r->d->dir);
			return 1;
		}
		read_socket(r);
		read_kernel(r);
		release(r, false);
		r->ring->alive_ns = now_ns();
		if (r->ring->alive_ns - last_sweep > (uint64_t)FULL_SWEEP_MS * 1000000) {
			sweep(r, true);
			last_sweep = r->ring->alive_ns;
		} else {
			sweep(r, false);
		}
		/* hand-offs a full queue refused: their paths, soon (100 ms) */
		if (__atomic_load_n(&r->ring->handoff_dropped, __ATOMIC_RELAXED) != dropped &&
		    r->ring->alive_ns - last_adopt > 100000000u) {
			dropped = __atomic_load_n(&r->ring->handoff_dropped, __ATOMIC_RELAXED);
			adopt(r, false);
			last_adopt = r->ring->alive_ns;
		}
		if (r->ring->alive_ns - last_count > 1000000000u) {
			reap(r);
			count_unmirrored(r);
			if (r->ring->unmirrored)
				adopt(r, false);
			last_count = r->ring->alive_ns;
		}
		/* a sender that found no listener (a relay restarted) cleared it */
		__atomic_store_n(&r->d->reg->relay_active, RELAY_RUNNING | RELAY_SERVED,
				 __ATOMIC_RELAXED);
	}
	return 0;
}

int cmd_relay(int argc, char **argv)
{
	struct relay r = { .prog = argv[0], .ringfd = -1, .kfd = -1, .sock = -1 };
	const char *domain = NULL;
	struct sigaction sa = { .sa_handler = on_signal };
	int c, ret;

	while ((c = getopt_long(argc, argv, ":d:hV", options, NULL)) != -1) {
		switch (c) {
		case 'd': domain = optarg; break;
		case 'h': fputs(usage, stdout); return 0;
		case 'V': cli_version();
		default: cli_bad_option(r.prog, argv, c);
		}
	}
	if (optind < argc)
		cli_usage_error(r.prog, "unexpected argument '%s'", argv[optind]);
	if (cli_open_domain(r.prog, domain) < 0)
		return 1;
	relay_self = true;
	r.d = shim_domain;
	r.kfd = (int)syscall(SYS_inotify_init1, IN_NONBLOCK | IN_CLOEXEC);
	if (r.kfd < 0) {
		fprintf(stderr, "%s: the kernel's inotify is not available to this process "
			"(%s): run the relay where it is (on the host)\n", r.prog, strerror(errno));
		return 1;
	}
	if (relay_table_init(&r.t) < 0 || relay_pending_init(&r.p) < 0 ||
	    relay_make_ring(r.prog, r.d, &r.ringfd, &r.ring) < 0 ||
	    (r.sock = relay_make_socket(r.prog, r.d)) < 0)
		return 1;
	r.stamp_tail = r.ring->head;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	__atomic_store_n(&r.d->reg->relay_active, RELAY_RUNNING | RELAY_SERVED,
			 __ATOMIC_RELEASE);
	adopt(&r, true);	/* the watches made before it started */
	count_unmirrored(&r);
	ret = loop(&r);
	__atomic_store_n(&r.d->reg->relay_active, RELAY_SERVED, __ATOMIC_RELEASE);
	domain_unlinkat(r.d, RELAY_SOCKET);
	r.ring->pid = 0;
	r.ring->mirrored = 0;
	return ret;
}
