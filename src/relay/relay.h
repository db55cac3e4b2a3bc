/*
 * relay.h - the library's side of the kernel relay (tools/relay.c,
 * inotify-shim relay): the hand-off of each new watch's inode, and the
 * stamps of the hooks' deliveries that let the relay drop the kernel's
 * copy of a change a hook already told.
 *
 * How the relay finds a watched inode: by an O_PATH fd, handed to it over
 * a unix datagram socket (the file "relay.sock" of the domain directory)
 * by the process whose inotify_add_watch made the watch (core.c, after
 * registry.lock is released).  Why this and not a path: the watcher's
 * path is resolved in its own mount namespace (/app in a container is
 * /home/u/proj on the host); an fd needs no translation, names the very
 * inode the add_watch resolved (checked by fstat against its identity
 * before it is sent, and by the relay again), and crosses mount and pid
 * namespaces wherever the domain directory is shared.  open_by_handle_at
 * would need CAP_DAC_READ_SEARCH, which an unprivileged relay has not.
 *
 * Cost: when no relay runs, one relaxed atomic load of registry.relay_active
 * on add_watch's slow path (no system call, unless a relay served the
 * domain before: RELAY_PATHS_FILE below), and one in notify.c's
 * delivery; nothing on the hooks' quiet path.  When one runs: add_watch
 * makes a new watch with openat, fstat, socket, sendmsg (MSG_DONTWAIT:
 * a relay that does not read never stalls a watcher; a full socket buffer
 * is counted, ring.handoff_dropped, shown by ps) and two closes.  A relay
 * that died leaves relay_active set: the first sender to find the socket
 * refusing (ECONNREFUSED, ENOENT) clears it.
 *
 * The ring ("relay" in the domain directory, made by the relay, never
 * removed): see struct relay_ring.  Every process maps it once, the first
 * time it sends or stamps while a relay runs, and checks there that it
 * sees the ring file as the same inode as the relay does (ring.self_dev,
 * self_ino): where it does not, the domain directory is shared across a
 * VM boundary, the process makes the file "relay.foreign" of the domain
 * (a shared mapping is not coherent across a VM boundary, a file is seen)
 * and sends nothing, and the relay, which looks for that file, refuses,
 * naming inotify-shim bridge.
 */
#ifndef SHIM_RELAY_H
#define SHIM_RELAY_H

#include <stdbool.h>
#include <stdint.h>

#include "../domain/domain.h"
#include "../util/ident.h"

#define RELAY_SOCKET "relay.sock"
#define RELAY_RING_FILE "relay"
#define RELAY_FOREIGN_FILE "relay.foreign"
#define RELAY_MAGIC 0x59414c52u		/* "RLAY" */
#define RELAY_STAMPS 4096		/* a power of two */

/* One datagram of the hand-off, with the O_PATH fd as SCM_RIGHTS. */
struct relay_msg {
	uint32_t magic;
	uint32_t mask;			/* the add_watch's mask */
	struct ident id;		/* as the sender's fstat saw it */
	uint64_t sent_ns;		/* CLOCK_REALTIME when sent */
};

/* A hook's delivery (notify.c deliver()): the event's mask about name (a
 * hash, 0 for the inode's own events) to the watches of inode id. */
struct relay_stamp {
	uint64_t dev, ino;
	uint32_t mask;
	uint32_t name;
	uint64_t ns;			/* CLOCK_REALTIME, 0 while written */
};

struct relay_ring {
	uint32_t magic;
	uint32_t pid;			/* the relay's, in its own namespace */
	uint64_t self_dev, self_ino;	/* the ring file, as the relay sees it */
	uint32_t foreign;		/* unused (relay.foreign says it) */
	uint32_t head;			/* stamps written; under registry.lock */
	/* the relay's state, for inotify-shim ps */
	uint64_t mirrored;		/* kernel watches it keeps */
	uint64_t unmirrored;		/* watched inodes it has no fd for */
	uint64_t enospc;		/* watches the kernel refused */
	uint64_t delivered, deduplicated, overflows;
	uint64_t lag_last_ns, lag_max_ns;	/* hand-off to kernel watch */
	uint64_t handoff_dropped;	/* datagrams a full socket refused */
	uint64_t alive_ns;		/* the relay's last loop */
	struct relay_stamp stamps[RELAY_STAMPS];
};

/* Set in the relay itself: its own deliveries stamp nothing. */
extern bool relay_self;

/* registry.relay_active: RELAY_RUNNING while a relay runs (set by it,
 * cleared by it at its end or by a sender that found no listener);
 * RELAY_SERVED once a relay has run in the domain, never cleared. */
#define RELAY_RUNNING 0x1u
#define RELAY_SERVED 0x2u

static inline bool relay_active(struct domain *d)
{
	return d && (__atomic_load_n(&d->reg->relay_active, __ATOMIC_RELAXED) & RELAY_RUNNING);
}

/* Watches made while no relay listens: how a relay started later finds
 * them (tools/relay_adopt.c).  In a domain a relay has served, every new
 * watch appends (identity, absolute path) to the file "relay.paths" of
 * the domain directory, in the format of the scanner's "paths" file
 * (scan/paths.h, which processes with $INOTIFY_SHIM_SCAN write in any
 * domain): a relay that starts, or restarts, reads both and opens each
 * path of a watched inode it was not handed, in its own mount namespace
 * or else through /proc/PID/root of the instance's holders, checking the
 * identity before it watches.  Cost: nothing in a domain no relay ever
 * served; in one a relay serves or served, an open, fstat, write and
 * close more per new watch (the datagram is sent only while one runs),
 * and about 64 bytes of the file, which only grows, as the scanner's does
 * (stale records are skipped by identity; inotify-shim gc does not trim
 * it). */
#define RELAY_PATHS_FILE "relay.paths"

/* core.c: a new watch on info was made through path (with add_watch's
 * mask, for IN_DONT_FOLLOW).  Never fails its caller, never changes errno. */
void relay_handoff_slow(const char *path, uint32_t mask, const struct inode_info *info);
static inline void relay_handoff(const char *path, uint32_t mask,
				 const struct inode_info *info)
{
	if (shim_domain && __atomic_load_n(&shim_domain->reg->relay_active, __ATOMIC_RELAXED))
		relay_handoff_slow(path, mask, info);
}

/* notify.c: a delivery of mask about name to the watches of id.
 * Registry lock held. */
void relay_stamp_slow(struct domain *d, const struct ident *id, uint32_t mask,
		      const char *name);
static inline void relay_stamp(struct domain *d, const struct ident *id,
			       uint32_t mask, const char *name)
{
	if (!relay_self && relay_active(d))
		relay_stamp_slow(d, id, mask, name);
}

static inline uint32_t relay_name_hash(const char *name)
{
	uint32_t h = 2166136261u;

	if (!name || !name[0])
		return 0;
	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 16777619u;
	return h ? h : 1;
}

/* The ring, mapped in this process (and checked), or NULL. */
struct relay_ring *relay_ring_map(struct domain *d);

#endif
