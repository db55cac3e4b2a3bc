/*
 * share.c - open files held by several processes: fork, exec, posix_spawn
 * and exit, on top of the domain's table of shared open files
 * (domain/openfiles.h: the holders, the lifetime, the lock order).
 *
 * A record (fd/ofd.h) is private until another process or the
 * next image may hold it; then it is entered in the table with one holder
 * per fd of this process:
 *   - fork: the prepare handler enters every record and adds a placeholder
 *     (-parent, fd) per fd; the child's handler turns each into (child,
 *     fd), and so does the fork wrapper in the parent (whichever comes
 *     first), or removes them if fork failed;
 *   - exec (execve and its family): every record is entered with this
 *     pid's holders before the call; the new image's constructor
 *     (share_after_exec) finds its pid's holders, keeps those whose fd is
 *     still the same file (fstat identity) and rebuilds the records; the
 *     others were closed by exec (close-on-exec): their close events come
 *     then, if that was the last holder;
 *   - posix_spawn: as fork for the fds without close-on-exec, and the
 *     child's image claims the placeholders as exec does; a file moved by
 *     a file action to another fd number is found again in /proc/self/fd
 *     by its identity, or held as (child, -1) until the child ends;
 *   - close, dup: holders are removed and added as the fds come and go;
 *     the close events come when the last live holder goes;
 *   - exit: every holder of this pid goes (lifecycle.c).
 * A process with no record pays one load at fork and exec; a process with
 * records but no watch and nothing shared pays one more (domain_watching).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "domain/domain.h"
#include "domain/openfiles.h"
#include "hooks/files.h"
#include "fd/fdtable.h"
#include "util/real.h"
#include "util/sigdefer.h"

static pid_t fork_parent;	/* set by the prepare handler */

/* Passes.  fork's prepare handler and exec enter every record of the
 * process (enter_all), and fork's other handlers settle them
 * (settle_placeholders), while other threads may be closing those fds and
 * freeing the records.  A pass and a close's release of its record
 * (hook_closed: the put, share_close, the free) exclude each other:
 *   - a closer counts itself in releasing while no pass is on;
 *   - a pass raises passing, one at a time, then waits for releasing to
 *     drain.
 * Both spin with sched_yield(): a pass is a loop over this process's fds,
 * a release a few loads and the files lock.  Both defer signals
 * (util/sigdefer.h), so that a handler that closes a file never waits on
 * its own thread.  The child of fork has no other thread: it starts with
 * both counts at 0 (share_after_fork_child). */
static int passing, releasing;	/* atomic, sequentially consistent */

void share_release_begin(void)
{
	sigdefer_begin();
	for (;;) {
		while (__atomic_load_n(&passing, __ATOMIC_SEQ_CST))
			sched_yield();
		__atomic_add_fetch(&releasing, 1, __ATOMIC_SEQ_CST);
		if (!__atomic_load_n(&passing, __ATOMIC_SEQ_CST))
			return;
		__atomic_sub_fetch(&releasing, 1, __ATOMIC_SEQ_CST);
	}
}

void share_release_end(void)
{
	__atomic_sub_fetch(&releasing, 1, __ATOMIC_SEQ_CST);
	sigdefer_end();
}

static void pass_begin(void)
{
	int idle = 0;

	sigdefer_begin();
	while (!__atomic_compare_exchange_n(&passing, &idle, 1, false, __ATOMIC_SEQ_CST,
					    __ATOMIC_SEQ_CST)) {
		idle = 0;
		sched_yield();
	}
	while (__atomic_load_n(&releasing, __ATOMIC_SEQ_CST))
		sched_yield();
}

static void pass_end(void)
{
	__atomic_store_n(&passing, 0, __ATOMIC_SEQ_CST);
	sigdefer_end();
}

static void mark_shared_legacy(void)
{
	int high = fdtable_high();

	for (int fd = 0; fd <= high; fd++) {
		struct ofd *o = fdtable_file(fd);
		if (o && !o->share.idx)
			__atomic_or_fetch(&o->flags, OFD_SHARED, __ATOMIC_RELAXED);
	}
}

/* The entry of o, entering it if it has none (files.lock held). */
static struct of_entry *enter(struct ofd *o)
{
	struct of_entry *e = o->share.idx ? openfiles_get(o->share) : NULL;
	struct of_data data;

	if (e)
		return e;
	memset(&data, 0, sizeof data);
	data.flags = __atomic_load_n(&o->flags, __ATOMIC_ACQUIRE) & OFD_DATA_FLAGS;
	data.inode = o->inode;
	/* the names through their seqlock (fdnames.c): another thread may be
	 * setting them (a renamed open file) while a fork enters the record;
	 * without a steady answer the entry has no directory */
	if ((data.flags & OFD_DIR_KNOWN) && !hook_record_names_get(o, &data.dir, data.name))
		data.flags &= ~(uint32_t)OFD_DIR_KNOWN;
	if (!o->share.idx)
		__atomic_add_fetch(&ofd_shared, 1, __ATOMIC_RELAXED);
	o->share = openfiles_alloc(&data);
	if (!o->share.idx) {
		__atomic_sub_fetch(&ofd_shared, 1, __ATOMIC_RELAXED);
		return NULL;
	}
	return openfiles_get(o->share);
}

static bool worth_sharing(void)
{
	if (!__atomic_load_n(&ofd_live, __ATOMIC_RELAXED))
		return false;
	return __atomic_load_n(&ofd_shared, __ATOMIC_RELAXED) || domain_watching();
}

/* enter_all() with files.lock held, in a pass. */
static void enter_all_locked(pid_t me, int placeholders, bool skip_cloexec)
{
	int high = fdtable_high();

	for (int fd = 0; fd <= high; fd++) {
		struct ofd *o = fdtable_file(fd);
		struct of_entry *e;

		if (!o)
			continue;
		/* what the table keeps must serve a holder without the fd */
		hook_record_ask_dir(o, fd);
		e = enter(o);
		if (!e) {
			__atomic_or_fetch(&o->flags, OFD_SHARED, __ATOMIC_RELAXED);
			continue;
		}
		if (!openfiles_has(e, me, fd))
			openfiles_add(e, me, fd);
		if (placeholders && !(skip_cloexec && (real_fcntl(fd, F_GETFD, 0L) & FD_CLOEXEC)))
			openfiles_add(e, -me, fd);
	}
}

/* Enter every record of the process, with a holder per fd; with
 * placeholders too (-me, fd) for the fds a child inherits (spawn: those
 * without close-on-exec).  Returns false when nothing could be entered. */
static bool enter_all(pid_t me, int placeholders, bool skip_cloexec)
{
	bool ok = false;

	pass_begin();
	if (openfiles_map(true) >= 0 && openfiles_lock() >= 0) {
		enter_all_locked(me, placeholders, skip_cloexec);
		openfiles_unlock();
		ok = true;
	}
	pass_end();
	return ok;
}

void share_before_fork(void)
{
	pid_t me;

	fork_parent = 0;
	share_catch_up();
	if (!__atomic_load_n(&ofd_live, __ATOMIC_RELAXED))
		return;
	if (!worth_sharing()) {
		mark_shared_legacy();
		return;
	}
	me = getpid();
	if (!enter_all(me, 1, false)) {
		mark_shared_legacy();
		return;
	}
	fork_parent = me;
}

/* Placeholders of parent become child's (or go, when child is 0). */
static void settle_placeholders(pid_t parent, pid_t child)
{
	int high = fdtable_high();

	pass_begin();
	if (openfiles_lock() < 0) {
		pass_end();
		return;
	}
	for (int fd = 0; fd <= high; fd++) {
		struct ofd *o = fdtable_file(fd);
		struct of_entry *e;

		if (!o || !o->share.idx || !(e = openfiles_get(o->share)))
			continue;
		if (child <= 0)
			openfiles_remove(e, -parent, fd);
		else if (!openfiles_has(e, child, fd) &&
			 !openfiles_replace(e, -parent, fd, child, fd) &&
			 getpid() == child)
			openfiles_add(e, child, fd);
	}
	openfiles_unlock();
	pass_end();
}

void share_after_fork_child(void)
{
	pid_t parent = fork_parent;

	/* the threads that counted themselves are not in this process */
	__atomic_store_n(&passing, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&releasing, 0, __ATOMIC_SEQ_CST);
	fork_parent = 0;
	if (parent)
		settle_placeholders(parent, getpid());
}

void share_after_fork_parent(pid_t child)
{
	pid_t me = fork_parent;

	fork_parent = 0;
	if (me)
		settle_placeholders(me, child > 0 ? child : 0);
}

void share_before_exec(void)
{
	share_catch_up();
	if (worth_sharing())
		enter_all(getpid(), 0, false);
}

pid_t share_before_spawn(void)
{
	pid_t me;

	share_catch_up();
	if (!worth_sharing())
		return 0;
	me = getpid();
	return enter_all(me, 1, true) ? me : 0;
}

void share_after_spawn(pid_t me, pid_t child)
{
	if (me)
		settle_placeholders(me, child > 0 ? child : 0);
}

void share_dup(struct ofd *o, int newfd)
{
	struct of_entry *e;

	if (!o || !o->share.idx || openfiles_lock() < 0)
		return;
	e = openfiles_get(o->share);
	if (e && !openfiles_has(e, getpid(), newfd))
		openfiles_add(e, getpid(), newfd);
	openfiles_unlock();
}

bool share_close(struct ofd *o, int fd, bool last_here)
{
	struct of_entry *e;
	struct of_data d;
	bool due = last_here;
	pid_t me = getpid();

	if (openfiles_lock() < 0)
		return last_here;
	e = openfiles_get(o->share);
	if (e) {
		openfiles_remove(e, me, fd);
		if (last_here) {
			openfiles_remove(e, me, -2);
			due = openfiles_release_if_unheld(e, &d);
		}
	}
	openfiles_unlock();
	return due;
}

bool share_others_hold(struct ofd *o)
{
	struct of_entry *e;
	bool held = false;

	if (!o->share.idx || openfiles_lock() < 0)
		return false;
	e = openfiles_get(o->share);
	if (e)
		held = openfiles_held_by_others(e, getpid());
	openfiles_unlock();
	return held;
}

static void emit_closed(const struct of_data *d)
{
	struct ofd tmp;

	memset(&tmp, 0, sizeof tmp);
	tmp.flags = d->flags;
	tmp.inode = d->inode;
	tmp.dir = d->dir;
	memcpy(tmp.name, d->name, sizeof tmp.name);
	hook_record_event_closed(&tmp, false,
				 (d->flags & OFD_WRITE) ? IN_CLOSE_WRITE : IN_CLOSE_NOWRITE);
}

/* Exit: every holder of this process goes; the close events of the
 * entries left unheld, highest first, as the kernel's exit gives them. */
void share_exit_sweep(void)
{
	pid_t me = getpid();
	struct of_data d;
	uint32_t hwm;

	share_catch_up();
	if (!openfiles_maybe_holder(me) || openfiles_lock() < 0)
		return;
	hwm = openfiles_hwm();
	for (uint32_t i = 1; i <= hwm; i++) {
		struct of_entry *e = openfiles_at(i);
		if (!e || e->state != 1 || !openfiles_remove(e, me, -2))
			continue;
		if (openfiles_release_if_unheld(e, &d)) {
			openfiles_unlock();
			if (domain_watching())
				emit_closed(&d);
			if (openfiles_lock() < 0)
				return;
		}
	}
	openfiles_unlock();
}

/* ---- the new image, after exec */

struct fd_ident {
	int fd;
	struct ident id;
};

struct fd_list {
	struct fd_ident *v;
	int n, cap;
};

/* Room for an element more after the n of array v (of *cap elements of
 * size bytes; first: the size of a first array): v, or v grown to twice
 * as many, or NULL (then v and *cap are as they were). */
static void *room_for_one(void *v, int n, int *cap, int first, size_t size)
{
	int want;

	if (n < *cap)
		return v;
	want = *cap ? *cap * 2 : first;
	v = realloc(v, (size_t)want * size);
	if (v)
		*cap = want;
	return v;
}

static void list_one(int fd, void *arg)
{
	struct fd_list *l = arg;
	struct inode_info info;
	struct fd_ident *w;

	if (l->n < 0 || ident_fstat(fd, &info) < 0 || !S_ISREG(info.mode))
		return;
	w = room_for_one(l->v, l->n, &l->cap, 16, sizeof *w);
	if (!w) {
		l->n = -l->n - 1;	/* keep what was listed, stop */
		return;
	}
	l->v = w;
	l->v[l->n++] = (struct fd_ident){ fd, info.id };
}

/* The files open in this process, from /proc/self/fd (once).  Called with
 * files.lock held, a leaf lock: through the real calls, not the hooked
 * opendir/readdir/closedir (fdtable_scan_proc()). */
static int list_fds(struct fd_ident **out)
{
	struct fd_list l = { NULL, 0, 0 };

	fdtable_scan_proc(list_one, &l);
	*out = l.v;
	return l.n < 0 ? -l.n - 1 : l.n;
}

struct claim {
	int fd;
	struct of_ref ref;
};

static bool is_claimed(const struct claim *c, int n, int fd)
{
	for (int i = 0; i < n; i++)
		if (c[i].fd == fd)
			return true;
	return false;
}

/* What share_after_exec() gathers under the files lock: this process's
 * fds (listed once, when a holder's fd is not its file), the fds claimed
 * for entries, and the data of entries that no holder holds any more. */
struct exec_pass {
	pid_t me, parent;
	struct fd_ident *fds;
	int nfds;
	struct claim *claims;
	int nclaims, capc;
	struct of_data *closed;
	int nclosed, cap;
};

/* The fd of this process that is now the file of entry e for holder ho:
 * its own fd if still the same file, else one found by identity in
 * /proc/self/fd that no holder has; -1 when none is. */
static int holder_fd_now(struct exec_pass *p, struct of_entry *e, const struct of_holder *ho)
{
	struct inode_info info;
	int fd = ho->fd;

	if (fd >= 0 && !is_claimed(p->claims, p->nclaims, fd) &&
	    ident_fstat(fd, &info) == 0 && ident_equal(&info.id, &e->data.inode.id))
		return fd;
	if (p->nfds < 0)
		p->nfds = list_fds(&p->fds);
	for (int k = 0; k < p->nfds; k++)
		if (ident_equal(&p->fds[k].id, &e->data.inode.id) &&
		    !is_claimed(p->claims, p->nclaims, p->fds[k].fd) &&
		    !openfiles_has(e, p->me, p->fds[k].fd))
			return p->fds[k].fd;
	return -1;
}

/* Settle the holders of entry i (e) that are this pid's or its parent's
 * placeholders; false when it has none. */
static bool claim_holders(struct exec_pass *p, uint32_t i, struct of_entry *e)
{
	bool touched = false;

	for (uint32_t h = 0; h < openfiles_holders(e); h++) {
		struct of_holder *ho = &e->holders[h];
		int fd = ho->fd, found;
		struct claim *w;

		if (!(ho->pid == p->me && fd >= 0) && ho->pid != -p->parent)
			continue;
		touched = true;
		found = holder_fd_now(p, e, ho);
		if (found < 0 && ho->pid == p->me) {
			/* closed by exec (close-on-exec) */
			openfiles_remove(e, p->me, fd);
			h--;
			continue;
		}
		if (found < 0) {
			/* a spawn's file action moved or closed it:
			 * held until this process ends */
			openfiles_replace(e, ho->pid, fd, p->me, -1);
			continue;
		}
		w = room_for_one(p->claims, p->nclaims, &p->capc, 16, sizeof *w);
		if (!w)
			continue;
		p->claims = w;
		openfiles_replace(e, ho->pid, fd, p->me, found);
		p->claims[p->nclaims++] = (struct claim){ found, { i, e->gen } };
	}
	return touched;
}

/* Keep e's data for its close events if no holder holds it now. */
static void keep_if_unheld(struct exec_pass *p, struct of_entry *e)
{
	struct of_data *w;

	if (p->nclosed >= 4096)
		return;
	w = room_for_one(p->closed, p->nclosed, &p->cap, 4, sizeof *w);
	if (!w)
		return;
	p->closed = w;
	if (openfiles_release_if_unheld(e, &p->closed[p->nclosed]))
		p->nclosed++;
}

/* The records of the claimed fds: one per entry. */
static void rebuild_records(const struct claim *claims, int nclaims, bool at_start)
{
	for (int i = 0; i < nclaims; i++) {
		struct of_entry *e;
		struct ofd *o = NULL;

		for (int j = 0; j < i && !o; j++)
			if (claims[j].ref.idx == claims[i].ref.idx) {
				o = fdtable_file(claims[j].fd);
				if (o)
					ofd_get(o);
			}
		if (!o && !at_start && fdtable_file(claims[i].fd))
			continue;	/* adopted meanwhile (above): kept */
		if (!o) {
			if (!(o = ofd_new()))
				continue;
			/* the entry's data: read without the lock, but it
			 * does not change while we hold it */
			e = openfiles_at(claims[i].ref.idx);
			o->flags = e->data.flags & OFD_DATA_FLAGS;
			o->inode = e->data.inode;
			o->dir = e->data.dir;
			memcpy(o->name, e->data.name, sizeof o->name);
			o->name[NAME_MAX] = 0;
			o->share = claims[i].ref;
			__atomic_add_fetch(&ofd_shared, 1, __ATOMIC_RELAXED);
		}
		fdtable_set_file(claims[i].fd, o);
	}
}

/* The new image's claims, made at the program's start: files.lock taken
 * at once when it is free (openfiles_trylock), else within its bound as
 * any hook takes it (openfiles_lock: a holder stopped inside it costs the
 * start that bound, never more).  The claims are made before main
 * because the kernel gives the close events of the files that exec closed
 * (close-on-exec) at the exec, before the program runs, and a watcher
 * may wait for them while the program waits for it (test/hooks_share,
 * exec_closes_close_on_exec_file_before_the_program_runs: deferring them
 * whenever the lock was busy, even for a moment, failed it under load).
 * Only when the bound passes are they deferred (exec_pending) to the
 * first of: a close, fork, exec, posix_spawn, exit (share_catch_up),
 * which take the lock within its bound as any hook does.  Until then this image's
 * inherited fds have no record from the table: a change made through one
 * meanwhile is seen through a record adopted from /proc/self/fd (files.c,
 * hook_fd_record), which the claim then leaves in place; the close events
 * of the files that exec closed come at the catch-up, not at the start. */
static int exec_pending;	/* atomic */

static void claim_after_exec(bool at_start);

void share_after_exec(void)
{
	claim_after_exec(true);
}

void share_catch_up(void)
{
	if (__builtin_expect(!__atomic_load_n(&exec_pending, __ATOMIC_RELAXED), 1) ||
	    !__atomic_exchange_n(&exec_pending, 0, __ATOMIC_ACQ_REL))
		return;
	pass_begin();	/* other threads may be closing fds by now */
	claim_after_exec(false);
	pass_end();
}

static void claim_after_exec(bool at_start)
{
	struct exec_pass p = { .nfds = -1 };
	uint32_t hwm;

	if (!shim_domain || openfiles_map(false) < 0)
		return;
	p.me = getpid();
	p.parent = getppid();
	if (!openfiles_maybe_holder(p.me) && !openfiles_maybe_holder(p.parent))
		return;
	if ((!at_start || openfiles_trylock() < 0) && openfiles_lock() < 0) {
		if (at_start)
			__atomic_store_n(&exec_pending, 1, __ATOMIC_RELEASE);
		return;	/* later, or given up: openfiles_lock() marked it lost */
	}
	hwm = openfiles_hwm();
	for (uint32_t i = 1; i <= hwm; i++) {
		struct of_entry *e = openfiles_at(i);

		if (e && e->state == 1 && claim_holders(&p, i, e))
			keep_if_unheld(&p, e);
	}
	openfiles_unlock();
	free(p.fds);
	rebuild_records(p.claims, p.nclaims, at_start);
	free(p.claims);
	if (domain_watching())
		for (int i = 0; i < p.nclosed; i++)
			emit_closed(&p.closed[i]);
	free(p.closed);
}
