/*
 * scan_shard.c - the threads that look at the watched directories, each
 * with a file table of its own (see scan.h).
 *
 * Why threads: an idle scanner is one statx per followed entry and cycle,
 * and a statx of a held O_PATH fd costs a quarter of a statx by name
 * (src/scan/held.h).  100,000 entries need 100,000 fds, more than a
 * process may have here (RLIMIT_NOFILE's hard limit is 20,000 on the
 * machine of bench/README, 524,288 or 4,096 on others).  The limit is one
 * of a file table, and a thread that calls unshare(CLONE_FILES) has a
 * table of its own: each shard thread (at most MAX_SHARDS) holds up to its
 * limit, less a reserve, and at most SHARD_FDS, and looks at the
 * directories given to it.  Where unshare is
 * refused, one shard runs and holds nothing (every entry by name, as
 * before).
 *
 * Each shard's table starts as a copy of the scanner's, which it empties
 * at once (close_range from 3): it would otherwise keep the scanner's
 * watched directories open after the scanner closed them.  A directory's
 * O_PATH fd of the scanner (scan_obj.fd) is opened again in the shard
 * through /proc/self/fd (the thread group's, i.e. the scanner's, table):
 * scan_obj.sfd.  Where that fails the directory is looked at by the main
 * thread, by name.
 *
 * Handoff: one mutex and two condition variables.  The main thread gives
 * each shard its list and waits until every shard is done; while it
 * waits it touches nothing a shard reads, and while the shards are idle
 * it alone touches the objects' held sets and sfd (scan_shards_drop queues
 * their fds for the shard to close at its next round).  A shard writes
 * only its own objects' sfd, held and snapshot outputs, and its budget.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "scan.h"

#define MAX_SHARDS 8
#define SHARD_FDS 32768		/* at most so many held by one shard: 262,144 in
				 * all, about 60 MB of the kernel's struct file */
#define RESERVE 256		/* fds of a shard not used for holding */
#define GUESS 128		/* entries of a directory not looked at yet */

struct shard {
	pthread_t th;
	struct scan_look **job;
	size_t njob, capjob;
	int *closeq;
	size_t nclose, capclose;
	struct scan_budget budget;
	size_t guess;
	bool go;
};

static struct shard shards[MAX_SHARDS];
static int nshards;
static bool unshared = true;	/* until a shard is refused its table
				 * (written by a shard before new_shard()
				 * returns, under mu) */
static bool quit;
static int pending;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work = PTHREAD_COND_INITIALIZER;
static pthread_cond_t done = PTHREAD_COND_INITIALIZER;

static size_t fd_cap(void)
{
	struct rlimit r;

	if (getrlimit(RLIMIT_NOFILE, &r) < 0 || r.rlim_cur <= 2 * RESERVE)
		return 0;
	return r.rlim_cur - RESERVE > SHARD_FDS ? SHARD_FDS : r.rlim_cur - RESERVE;
}

static void own_table(struct shard *sh)
{
	if (unshare(CLONE_FILES) < 0) {
		unshared = false;
		sh->budget.cap = 0;	/* the scanner's table: hold nothing */
		return;
	}
#ifdef SYS_close_range
	if (syscall(SYS_close_range, 3u, ~0u, 0u) == 0)
		return;
#endif
	for (long fd = 3, max = sysconf(_SC_OPEN_MAX); fd < max; fd++)
		close((int)fd);	/* before close_range (Linux 5.9) */
}

static void look_one(struct shard *sh, struct scan_look *l)
{
	struct scan_obj *o = l->o;

	if (o->sfd < 0) {
		char link[64];
		snprintf(link, sizeof link, "/proc/self/fd/%d", o->fd);
		o->sfd = open(link, O_PATH | O_CLOEXEC);
		if (o->sfd < 0) {
			l->unlooked = true;
			return;
		}
		sh->budget.held++;
	}
	l->ret = scan_snap_look(o->sfd, &o->snap, &o->held, l->out, &l->held,
				&sh->budget, &l->stats);
	l->same = l->ret == SCAN_SAME;
	if (l->same)
		l->ret = 0;
}

static void *shard_main(void *arg)
{
	struct shard *sh = arg;
	sigset_t all;

	sigfillset(&all);	/* the scanner's SIGTERM is the main thread's */
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	own_table(sh);
	pthread_mutex_lock(&mu);
	if (--pending == 0)		/* new_shard() waits for its table */
		pthread_cond_signal(&done);
	for (;;) {
		while (!sh->go && !quit)
			pthread_cond_wait(&work, &mu);
		if (quit)
			break;
		sh->go = false;
		pthread_mutex_unlock(&mu);
		for (size_t i = 0; i < sh->nclose; i++)
			close(sh->closeq[i]);
		sh->nclose = 0;
		for (size_t i = 0; i < sh->njob; i++)
			look_one(sh, sh->job[i]);
		pthread_mutex_lock(&mu);
		if (--pending == 0)
			pthread_cond_signal(&done);
	}
	pthread_mutex_unlock(&mu);
	return NULL;
}

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
	void *n;

	if (need <= *cap)
		return 0;
	n = realloc(*p, (need + need / 2 + 16) * size);
	if (!n)
		return -ENOMEM;
	*p = n;
	*cap = need + need / 2 + 16;
	return 0;
}

static struct shard *new_shard(void)
{
	struct shard *sh = &shards[nshards];

	*sh = (struct shard){ .budget.cap = fd_cap() };
	pthread_mutex_lock(&mu);
	pending = 1;
	if (pthread_create(&sh->th, NULL, shard_main, sh) != 0) {
		pending = 0;
		pthread_mutex_unlock(&mu);
		return NULL;
	}
	while (pending)
		pthread_cond_wait(&done, &mu);
	pthread_mutex_unlock(&mu);
	nshards++;
	return sh;
}

/* The shard for a directory not given one yet: the least loaded, or a new
 * one when that is full and the file tables are the shards' own. */
static int choose(const struct scan_obj *o)
{
	size_t want = o->snap.present ? o->snap.n : GUESS;
	int best = -1;

	for (int i = 0; i < nshards; i++)
		if (best < 0 || shards[i].budget.held + shards[i].guess <
				shards[best].budget.held + shards[best].guess)
			best = i;
	if (best < 0 || (shards[best].budget.held + shards[best].guess + want >
			 shards[best].budget.cap &&
			 nshards < MAX_SHARDS && unshared)) {
		if (new_shard())
			best = nshards - 1;
	}
	if (best >= 0)
		shards[best].guess += want;
	return best;
}

static int give(struct scan_look *l)
{
	struct shard *sh;

	if (l->o->shard < 0)
		l->o->shard = choose(l->o);
	if (l->o->shard < 0) {
		l->unlooked = true;
		return 0;
	}
	sh = &shards[l->o->shard];
	if (grow((void **)&sh->job, &sh->capjob, sh->njob + 1, sizeof *sh->job) < 0)
		return -ENOMEM;
	sh->job[sh->njob++] = l;
	return 0;
}

int scan_shards_look(struct scan_look *v, size_t n)
{
	int ret = 0;

	for (int i = 0; i < nshards; i++)
		shards[i].njob = shards[i].guess = 0;
	for (size_t k = 0; k < n && ret == 0; k++)
		ret = give(&v[k]);
	pthread_mutex_lock(&mu);
	for (int i = 0; i < nshards; i++)
		if (shards[i].njob || shards[i].nclose) {
			shards[i].go = true;
			pending++;
		}
	pthread_cond_broadcast(&work);
	while (pending)
		pthread_cond_wait(&done, &mu);
	pthread_mutex_unlock(&mu);
	return ret;
}

void scan_shards_drop(struct scan_obj *o)
{
	struct shard *sh;
	size_t n = o->sfd >= 0;

	if (o->shard < 0) {
		free(o->held.fd);
		o->held = (struct scan_held){ 0 };
		return;
	}
	sh = &shards[o->shard];
	for (size_t i = 0; i < o->held.n; i++)
		n += o->held.fd[i] >= 0;
	if (n && grow((void **)&sh->closeq, &sh->capclose, sh->nclose + n,
		      sizeof *sh->closeq) == 0) {
		if (o->sfd >= 0)
			sh->closeq[sh->nclose++] = o->sfd;
		for (size_t i = 0; i < o->held.n; i++)
			if (o->held.fd[i] >= 0)
				sh->closeq[sh->nclose++] = o->held.fd[i];
		sh->budget.held -= n;
	}	/* else the fds stay open until the scanner ends: no harm */
	free(o->held.fd);
	o->held = (struct scan_held){ 0 };
	o->sfd = -1;
	o->shard = -1;
}

void scan_shards_stop(void)
{
	pthread_mutex_lock(&mu);
	quit = true;
	pthread_cond_broadcast(&work);
	pthread_mutex_unlock(&mu);
	for (int i = 0; i < nshards; i++) {
		pthread_join(shards[i].th, NULL);
		free(shards[i].job);
		free(shards[i].closeq);
	}
	nshards = 0;
	quit = false;
}

size_t scan_shards_held(int *count)
{
	size_t held = 0;

	for (int i = 0; i < nshards; i++)
		held += shards[i].budget.held;
	if (count)
		*count = nshards;
	return held;
}
