/*
 * relay_adopt.c - the watched inodes that inotify-shim relay was not
 * handed (tools/relay.c): the watches made before it started, or while it
 * did not run (a restart), or whose datagram a full socket refused.
 *
 * Where their paths are written (src/relay/relay.h, RELAY_PATHS_FILE):
 * "relay.paths" of the domain directory, which every new watch appends to
 * once a relay has served the domain, and the scanner's "paths"
 * (src/scan/paths.h), which processes with $INOTIFY_SHIM_SCAN write in
 * any domain.  A record is a hint: its path is opened (O_PATH) and kept
 * only if it leads to the record's inode (st_dev, st_ino), and only if
 * that inode is watched in the domain and not yet mirrored.  The path was
 * resolved in the watcher's mount namespace: where it does not lead there
 * in the relay's own, it is tried again through /proc/PID/root of the
 * processes that hold an instance watching the inode (their pids as the
 * registry has them: a pid of another pid namespace names another
 * process, or none, here, and the identity check refuses what it finds).
 * A watched inode that no record leads to stays unmirrored (ps counts it).
 *
 * Cost: one read of each file, a registry look-up under registry.lock
 * and an open and fstat per record not yet mirrored; the relay does it at
 * its start, within 100 ms of a datagram its full queue refused (at most
 * ten times a second), and every second while some watched inode is
 * unmirrored.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "domain/registry.h"
#include "relay_table.h"
#include "scan/paths.h"

#define ADOPT_PIDS 16

struct adopt {
	struct domain *d;
	const struct relay_table *t;
	relay_adopt_fn fn;
	void *arg;
	int handed;
};

/* Under the lock: is id watched?  Its registry identity, and the pids
 * that hold its watching instances (at most ADOPT_PIDS). */
static bool watchers(struct domain *d, const struct ident *id, struct ident *out,
		     int32_t *pids, int *npids)
{
	struct chain_guard g = CHAIN_GUARD_INIT;
	struct reg_inode *in;
	struct reg_watch *w;
	bool ok = false;

	*npids = 0;
	if (domain_lock(d) < 0)
		return false;
	in = reg_inode(d, registry_find_inode(d, id));
	if (in && in->state == RECORD_USED) {
		*out = in->id;
		ok = true;
		for (uint32_t widx = in->marks; widx && (w = reg_watch(d, widx)) &&
						chain_guard_ok(&g, widx); widx = w->inode_next) {
			struct reg_instance *inst = reg_instance(d, w->instance);
			if (w->state != RECORD_USED || !inst || inst->state != RECORD_USED)
				continue;
			for (uint32_t h = 0; h < inst->nholders && h < HOLDERS_PER_INSTANCE &&
					     *npids < ADOPT_PIDS; h++)
				pids[(*npids)++] = inst->holders[h].pid;
			if (*npids < ADOPT_PIDS && inst->creator_pid > 0)
				pids[(*npids)++] = inst->creator_pid;
		}
	}
	domain_unlock(d);
	return ok;
}

/* An O_PATH fd on path if it leads to id's inode, else -1. */
static int open_same(const char *path, const struct ident *id)
{
	struct stat st;
	int fd = open(path, O_PATH | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) == 0 && (uint64_t)st.st_dev == id->dev &&
	    (uint64_t)st.st_ino == id->ino)
		return fd;
	close(fd);
	return -1;
}

static void one(void *ctx, const struct ident *id, const char *path)
{
	struct adopt *a = ctx;
	struct ident rid;
	int32_t pids[ADOPT_PIDS];
	int npids, fd;

	if (relay_table_find(a->t, id) >= 0 || !watchers(a->d, id, &rid, pids, &npids) ||
	    relay_table_find(a->t, &rid) >= 0)
		return;
	fd = open_same(path, id);
	for (int i = 0; fd < 0 && i < npids; i++) {
		char p[PATH_MAX + 32];
		if (pids[i] > 0 && (size_t)snprintf(p, sizeof p, "/proc/%d/root%s", (int)pids[i],
						    path) < sizeof p)
			fd = open_same(p, id);
	}
	if (fd < 0)
		return;
	a->fn(a->arg, fd, &rid);
	close(fd);
	a->handed++;
}

int relay_adopt(struct domain *d, const struct relay_table *t, relay_adopt_fn fn, void *arg)
{
	static const char *const files[] = { RELAY_PATHS_FILE, SCAN_PATHS_FILE };
	struct adopt a = { d, t, fn, arg, 0 };

	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		off_t off = 0;
		int fd = domain_openat(d, files[i], O_RDONLY, 0);

		if (fd < 0)
			continue;
		(void)scan_paths_read(fd, &off, one, &a);
		close(fd);
	}
	return a.handed;
}
