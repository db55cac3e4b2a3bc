/*
 * expect.h - loop prevention until issue 14 gives events an origin: the
 * events the bridge injects reach its own watches too (they are ordinary
 * watches of the domain), and must not be published again.  The injector
 * notes each event it makes that the bridge's watches will report (by a
 * hash of root, directory, name, mask and cookie); the tap drops the first
 * event it reads that matches a note.  Notes older than EXPECT_TTL_MS are
 * forgotten.  A local change identical to an injected one, made at the
 * same moment, may be taken for the injected one: then the remote hosts
 * get one event fewer of two identical ones (which a reader would often
 * have merged anyway).  With an origin on every event, this goes.
 */
#ifndef SHIM_BRIDGE_EXPECT_H
#define SHIM_BRIDGE_EXPECT_H

#include <stdbool.h>
#include <stdint.h>

#define EXPECT_SLOTS 65536
#define EXPECT_TTL_MS 10000

struct expect {
	uint64_t hash[EXPECT_SLOTS];
	int64_t when[EXPECT_SLOTS];
	unsigned head, tail;	/* notes in [tail, head), oldest first */
};

uint64_t expect_hash(int root, const char *rel, const char *name, uint32_t mask,
		     uint32_t cookie);
void expect_add(struct expect *x, uint64_t hash);
/* Is hash noted?  Then forget that note and return true. */
bool expect_take(struct expect *x, uint64_t hash);

#endif
