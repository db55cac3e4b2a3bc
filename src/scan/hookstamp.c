/*
 * hookstamp.c - see hookstamp.h.
 */
#include "hookstamp.h"

uint32_t hookstamp_told(const struct reg_inode *in, uint32_t mask, const char *name,
			int64_t t_ns, int64_t since_ns)
{
	int64_t now = hookstamp_now_ms();
	uint32_t h = hookstamp_hash(name), told = 0;

	for (uint32_t k = 0; k < REG_HOOK_SLOTS; k++) {
		uint32_t m = in->hook_mask[k];
		/* the stamp's full time: it lies in the past */
		int64_t ms = now - (int64_t)(uint32_t)((uint32_t)now - in->hook_ms[k]);
		if (!m || in->hook_name[k] != h || ms * 1000000 < t_ns ||
		    ms * 1000000 < since_ns)
			continue;
		if (m & IN_MODIFY)
			m |= IN_CLOSE_WRITE;
		if (m & IN_MOVED_TO)
			m |= IN_DELETE | IN_CREATE | IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE;
		told |= mask & m;
	}
	return told;
}
