/*
 * hookstamp.h - no double reports: how the scanner knows that a change it
 * sees was already told by a hook.
 *
 * When notify/ delivers a change (IN_MODIFY, IN_ATTRIB, IN_CLOSE_WRITE,
 * IN_CREATE, IN_DELETE, IN_MOVED_*, IN_MOVE_SELF, IN_DELETE_SELF) to the
 * watches of an inode record, it stamps the record: the event's mask, a
 * hash of the name (0 for the inode's own events) and the time
 * (CLOCK_REALTIME, read through the vDSO: no system call; in milliseconds
 * rounded up, modulo 2^32: 49 days), in the next of REG_HOOK_SLOTS slots
 * (layout.h, struct reg_inode: 32 bytes, so that a million watches stay
 * within bench's 128 bytes a watch).  Only where an event is delivered
 * anyway, under registry.lock, never on the hooks' quiet path.
 * Every source but the scanner stamps (the relay's kernel events too: a
 * change it told is not the scanner's to tell again); the scanner's own
 * deliveries (origin CORE_ORIGIN_SCANNER) do not, or a change made between
 * its look and its delivery would be taken for told.
 *
 * The scanner, before it delivers an event bit B about (record, name) of a
 * change whose time is t (the object's ctime for a change of the object;
 * for a deletion, the start of the scanner's previous look at the
 * directory, which still saw the name), drops B if a slot of that record
 * has the same name hash, B in its mask (IN_CLOSE_WRITE: also IN_MODIFY)
 * and a time >= t: the change was made before that hook's delivery, so
 * the hook told it.  The file system's ctime is taken from a coarse clock,
 * never later than the real time of the change, so a hook's own change is
 * always covered.  What it costs in precision:
 *   - more than REG_HOOK_SLOTS names of one directory changed by hooks
 *     between two looks of the scanner: the older ones are reported again
 *     (a double report, never a lost one);
 *   - a change made outside the shim to a name just before a hook's change
 *     of the same kind to the same name, between two looks, or in the same
 *     millisecond just after it: one event for both, as the kernel's queue
 *     merges two equal events in a row.
 * A rename onto a name (IN_MOVED_TO) covers every event of that name: the
 * scanner, which may not have seen the old name, sees the name's inode
 * replaced (IN_DELETE, IN_CREATE, IN_MODIFY), all made by that rename.
 * Stamps older than the scanner's first look at a directory are ignored,
 * so that a record reused for another inode says nothing.
 */
#ifndef SHIM_SCAN_HOOKSTAMP_H
#define SHIM_SCAN_HOOKSTAMP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/inotify.h>
#include <time.h>

#include "../domain/layout.h"

#define HOOKSTAMP_EVENTS (IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_CREATE | \
			  IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_MOVE_SELF | \
			  IN_DELETE_SELF)

static inline uint32_t hookstamp_hash(const char *name)
{
	uint32_t h = 2166136261u;

	if (!name || !name[0])
		return 0;
	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 16777619u;
	return h ? h : 1;
}

static inline int64_t hookstamp_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + (ts.tv_nsec + 999999) / 1000000;
}

/* notify/: an event of mask about name (NULL: the inode's own) was
 * delivered to the watches of in, by the scanner or not.  Registry lock
 * held. */
static inline void hookstamp_note(struct reg_inode *in, uint32_t mask, const char *name,
				  bool by_scanner)
{
	uint32_t k;

	if (by_scanner || !(mask & HOOKSTAMP_EVENTS))
		return;
	k = in->hook_next % REG_HOOK_SLOTS;
	in->hook_next = (uint16_t)((k + 1) % REG_HOOK_SLOTS);
	in->hook_mask[k] = (uint16_t)(mask & HOOKSTAMP_EVENTS);
	in->hook_name[k] = hookstamp_hash(name);
	in->hook_ms[k] = (uint32_t)hookstamp_now_ms();
}

/* The scanner: the bits of mask about name that a hook told at or after
 * t_ns (and after since_ns), realtime.  Registry lock held. */
uint32_t hookstamp_told(const struct reg_inode *in, uint32_t mask, const char *name,
			int64_t t_ns, int64_t since_ns);

#endif
