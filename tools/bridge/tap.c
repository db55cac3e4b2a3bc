/*
 * tap.c - the bridge's own watches on its roots, read and published (see
 * tap.h for why the bridge watches).
 *
 * What is published, so that the receiving side (inject.c) makes each
 * event once: every named event of a watched directory (the kernel gives
 * the same event, without the name, to the object's own watch: the
 * receiver makes that one from the named one, as a local hook would); of
 * the nameless ones, only those of a root itself (no directory of the
 * root names it), never IN_DELETE_SELF, IN_MOVE_SELF or IN_IGNORED (the
 * receiver makes them from IN_DELETE and IN_MOVED_TO).  An IN_Q_OVERFLOW
 * of the bridge's own queue is published as a record with that mask for
 * every root: its receivers turn it into their watches' overflow.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "core/core.h"
#include "fd/fdtable.h"
#include "instance/instance.h"
#include "cli.h"

#include "tap.h"

#define TAP_MASK (IN_ALL_EVENTS | IN_ONLYDIR)

static void remember(struct tap *tp, int wd, int ridx, const char *rel)
{
	if (wd >= tp->nw) {
		int n = wd * 2 + 16;
		struct tap_watch *w = realloc(tp->w, (size_t)n * sizeof(*w));
		if (!w)
			return;
		for (int i = tp->nw; i < n; i++)
			w[i] = (struct tap_watch){ -1, NULL };
		tp->w = w;
		tp->nw = n;
	}
	free(tp->w[wd].rel);
	tp->w[wd].root = ridx;
	tp->w[wd].rel = strdup(rel);
}

/* Entries announced by add_tree (below), by watch and a hash of the
 * name: the IN_CREATE the watch reports for one (it was made after the
 * watch and before the directory was read) is not published again; an
 * IN_DELETE or IN_MOVED_FROM of it forgets the note (a later IN_CREATE is
 * a new entry).  The oldest goes when full. */
#define ANNOUNCED 1024
static struct {
	int wd;
	uint64_t h;
} announced[ANNOUNCED];
static unsigned nannounced;

static uint64_t name_hash(const char *name)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 0x100000001b3ULL;
	return h | 1;
}

/* Was (wd, name) announced?  Then forget it. */
static bool take_announced(int wd, const char *name)
{
	uint64_t h = name_hash(name);

	for (unsigned i = 0; i < ANNOUNCED; i++)
		if (announced[i].h == h && announced[i].wd == wd) {
			announced[i].h = 0;
			return true;
		}
	return false;
}

static void publish(struct tap *tp, int ridx, const char *rel,
		    const struct inotify_event *ie);

/* An entry found in a directory the tap has just begun to watch, made
 * before the watch: published as the IN_CREATE no watch saw. */
static void announce(struct tap *tp, int ridx, int wd, const char *rel,
		     const char *name, bool isdir)
{
	union {
		struct inotify_event ie;
		char bytes[sizeof(struct inotify_event) + NAME_MAX + 1];
	} u;
	size_t len = strlen(name) + 1;

	if (len > NAME_MAX + 1)
		return;
	u.ie = (struct inotify_event){ .wd = wd, .mask = IN_CREATE | (isdir ? IN_ISDIR : 0),
				       .len = (uint32_t)len };
	memcpy(u.ie.name, name, len);
	announced[nannounced % ANNOUNCED].wd = wd;
	announced[nannounced++ % ANNOUNCED].h = name_hash(name);
	publish(tp, ridx, rel, &u.ie);
}

/* Watch rel of root ridx and every directory under it; remember the
 * identities of what is there.  With tell, a directory newly watched (a
 * new directory, or one moved in from outside the roots) has its entries
 * announced: they were made before the tap's watch, which saw none. */
static void add_tree(struct tap *tp, int ridx, const char *rel, bool tell)
{
	struct bridge_root *r = &tp->roots[ridx];
	char path[PATH_MAX], child[PATH_MAX];
	struct inode_info in;

	if (root_local(r, rel, "", path) < 0)
		return;
	int wd = frontend_add_watch(tp->fd, path, TAP_MASK);
	if (wd < 0)
		return;		/* gone meanwhile, or not a directory */
	if (wd < tp->nw && tp->w[wd].root >= 0)
		tell = false;	/* watched already: its events were seen */
	remember(tp, wd, ridx, rel);
	if (ident_stat(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, &in) == 0)
		idcache_put(r, rel, &in);
	DIR *d = opendir(path);
	if (!d)
		return;
	for (struct dirent *e; (e = readdir(d));) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
		    rel_join(rel, e->d_name, child, sizeof(child)) < 0)
			continue;
		if (ident_stat(dirfd(d), e->d_name, AT_SYMLINK_NOFOLLOW, &in) < 0)
			continue;
		if (tell)
			announce(tp, ridx, wd, rel, e->d_name, S_ISDIR(in.mode));
		if (S_ISDIR(in.mode))
			add_tree(tp, ridx, child, tell);
		else
			idcache_put(r, child, &in);
	}
	closedir(d);
}

int tap_open(struct tap *tp, const char *prog)
{
	tp->fd = frontend_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (tp->fd < 0) {
		fprintf(stderr, "%s: a new instance in %s: %s\n", prog,
			cli_domain_dir(), strerror(-tp->fd));
		return tp->fd;
	}
	struct slot_ref ref;
	if (fdtable_instance(tp->fd, &ref))
		core_set_source_instance(CORE_ORIGIN_BRIDGE, ref);
	for (int i = 0; i < tp->nroots; i++)
		add_tree(tp, i, "", false);
	return 0;
}

/* The events read at once, published as one message per run of one root
 * (transport.h, bridge_transport_publish_batch). */
static struct bridge_event batch[BRIDGE_BATCH];
static int nbatch;
static size_t batch_bytes;

static void flush_batch(struct tap *tp)
{
	if (nbatch && bridge_transport_publish_batch(tp->t, batch, nbatch) == 0)
		tp->published += (unsigned long)nbatch;
	nbatch = 0;
	batch_bytes = 0;
}

static void publish(struct tap *tp, int ridx, const char *rel,
		    const struct inotify_event *ie)
{
	const char *root = tp->roots[ridx].name, *name = ie->len ? ie->name : "";
	size_t rl = strlen(rel), nl = strlen(name);
	size_t bytes = BRIDGE_RECORD_HEADER + strlen(root) + BRIDGE_HOST_MAX + rl + nl;

	if (rl > BRIDGE_PATH_MAX || nl > BRIDGE_NAME_MAX)
		return;
	if (nbatch && (nbatch == BRIDGE_BATCH || strcmp(batch[0].root, root) ||
		       batch_bytes + bytes > BRIDGE_BATCH_BYTES))
		flush_batch(tp);
	struct bridge_event *ev = &batch[nbatch++];
	batch_bytes += bytes;
	strcpy(ev->root, root);
	memcpy(ev->path, rel, rl + 1);
	memcpy(ev->name, name, nl + 1);
	ev->mask = ie->mask;
	ev->cookie = ie->cookie;
	ev->isdir = ie->mask & IN_ISDIR;
	if (tp->verbose) {
		char m[MASK_BUF];
		fprintf(stderr, "publish %s:%s %s %u %s\n", ev->root, ev->path,
			mask_format(ev->mask, m, sizeof(m)), ev->cookie, ev->name);
	}
}

static void overflowed(struct tap *tp)
{
	struct inotify_event ie = { .wd = -1, .mask = IN_Q_OVERFLOW };

	for (int i = 0; i < tp->nroots; i++)
		publish(tp, i, "", &ie);
}

/* Keep the watches and identities up to date, whoever made the event. */
static void follow(struct tap *tp, int ridx, const char *rel,
		   const struct inotify_event *ie)
{
	struct bridge_root *r = &tp->roots[ridx];
	char child[PATH_MAX], path[PATH_MAX];
	struct inode_info in;

	if (!ie->len || rel_join(rel, ie->name, child, sizeof(child)) < 0)
		return;
	if (ie->mask & (IN_CREATE | IN_MOVED_TO)) {
		if (ie->mask & IN_ISDIR)
			add_tree(tp, ridx, child, true);
		else if (root_local(r, child, "", path) == 0 &&
			 ident_stat(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, &in) == 0)
			idcache_put(r, child, &in);
	}
}

static void one(struct tap *tp, const struct inotify_event *ie)
{
	if (ie->mask & IN_Q_OVERFLOW) {
		overflowed(tp);
		return;
	}
	if (ie->wd < 0 || ie->wd >= tp->nw || tp->w[ie->wd].root < 0)
		return;
	int ridx = tp->w[ie->wd].root;
	const char *rel = tp->w[ie->wd].rel;
	const char *name = ie->len ? ie->name : "";
	if (ie->mask & IN_IGNORED) {
		free(tp->w[ie->wd].rel);
		tp->w[ie->wd] = (struct tap_watch){ -1, NULL };
		return;
	}
	char relcopy[PATH_MAX];
	snprintf(relcopy, sizeof(relcopy), "%s", rel);	/* follow may move it */
	bool skip = !name[0] && (rel[0] || (ie->mask & (IN_MOVE_SELF | IN_DELETE_SELF)));
	if (name[0] && (ie->mask & (IN_CREATE | IN_DELETE | IN_MOVED_FROM)) &&
	    take_announced(ie->wd, name) && (ie->mask & IN_CREATE))
		skip = true;	/* announced already (add_tree) */
	if (!skip)
		publish(tp, ridx, relcopy, ie);
	/* after: the entries it announces come after the directory's own */
	follow(tp, ridx, relcopy, ie);
}

int tap_drain(struct tap *tp)
{
	struct slot_ref ref;
	union {
		struct inotify_event ev;
		char bytes[64 * 1024];
	} buf;

	if (!fdtable_instance(tp->fd, &ref))
		return -EBADF;
	for (;;) {
		ssize_t n = frontend_read(tp->fd, ref, buf.bytes, sizeof(buf.bytes));
		if (n == -EINTR)
			continue;
		if (n == -EAGAIN)
			return 0;
		if (n < 0)
			return (int)n;
		for (ssize_t off = 0; off < n;) {
			const struct inotify_event *ie = (const void *)(buf.bytes + off);
			off += (ssize_t)(sizeof(*ie) + ie->len);
			one(tp, ie);
		}
		flush_batch(tp);
		/* one buffer per call: the caller dispatches and sees a stop
		 * between two, and calls again at once */
		return 1;
	}
}

void tap_close(struct tap *tp)
{
	for (int i = 0; i < tp->nw; i++)
		free(tp->w[i].rel);
	free(tp->w);
	struct slot_ref ref;
	if (tp->fd >= 0 && fdtable_instance(tp->fd, &ref))
		frontend_closed(tp->fd, ref);
	if (tp->fd >= 0)
		close(tp->fd);
}
