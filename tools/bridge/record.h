/*
 * record.h - the event record that the bridge carries between hosts, and
 * its encoding on the wire.
 *
 * A record is one event as a watch on a directory of a root sees it: the
 * directory (path relative to the root, "" for the root itself), the name
 * in it ("" for an event of the directory itself), the kernel's mask
 * (IN_ISDIR included), the cookie of a rename, and where it came from: the
 * origin host's id, the incarnation of that host's bridge (a random number
 * drawn at start, so that a restarted bridge's sequence numbers are never
 * taken for its predecessor's) and the per-(host, root) sequence number.
 *
 * The encoding is a small fixed binary header followed by the strings,
 * little-endian, version 1:
 *
 *   0  u8  version (1)        16 u64 seq
 *   1  u8  flags (bit 0: dir) 24 u64 incarnation
 *   2  u16 root length        32 u8  host length
 *   4  u32 mask               33 root, host, path, name (no NULs)
 *   8  u32 cookie
 *  12  u16 path length
 *  14  u16 name length
 *
 * A message carries one record or several of one root and one origin, in
 * sequence order, each following the one before (the bridge publishes
 * what it read at once as one message: the cost of a message is paid once
 * for the batch).
 *
 * Why binary: file names may hold any byte but '/' and NUL, so a text form
 * would need escaping and a parser; a fixed header is decoded with bounds
 * checks alone, 33 bytes plus the strings, no allocation.  The version
 * byte lets a later bridge refuse (and count as lost) what it cannot read,
 * never misread it.
 */
#ifndef SHIM_BRIDGE_RECORD_H
#define SHIM_BRIDGE_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BRIDGE_RECORD_VERSION 1
#define BRIDGE_RECORD_HEADER 33
#define BRIDGE_ROOT_MAX 64	/* a NATS subject token: [A-Za-z0-9_-] */
#define BRIDGE_HOST_MAX 64	/* the same */
#define BRIDGE_PATH_MAX 4096
#define BRIDGE_NAME_MAX 255
#define BRIDGE_RECORD_MAX (BRIDGE_RECORD_HEADER + BRIDGE_ROOT_MAX + \
			   BRIDGE_HOST_MAX + BRIDGE_PATH_MAX + BRIDGE_NAME_MAX)

struct bridge_event {
	char root[BRIDGE_ROOT_MAX + 1];	/* the root's logical NAME */
	char path[BRIDGE_PATH_MAX + 1];	/* directory, relative to the root */
	char name[BRIDGE_NAME_MAX + 1];	/* entry in it, "" for itself */
	uint32_t mask;
	uint32_t cookie;
	bool isdir;
	char host[BRIDGE_HOST_MAX + 1];	/* origin host id */
	uint64_t incarnation;		/* origin bridge's start */
	uint64_t seq;			/* per (host, root), from 1 */
};

/* Is s a valid root NAME or host id (1..64 of [A-Za-z0-9_-])? */
bool bridge_token_valid(const char *s);

/* Encode ev into buf (at least BRIDGE_RECORD_MAX bytes).  Returns the
 * length, or -1 if a field is out of bounds. */
int bridge_record_encode(const struct bridge_event *ev, unsigned char *buf,
			 size_t size);

/* Decode len bytes into ev.  Returns 0, or -1 for a record that is not a
 * valid version-1 record (wrong version, bad lengths, a NUL in a string,
 * a '/' in the name, an absolute path or a ".." component). */
int bridge_record_decode(const unsigned char *buf, size_t len,
			 struct bridge_event *ev);

/* Decode the record at the start of buf (len bytes, more may follow).
 * Returns its length, or -1 as bridge_record_decode. */
int bridge_record_decode_next(const unsigned char *buf, size_t len,
			      struct bridge_event *ev);

#endif
