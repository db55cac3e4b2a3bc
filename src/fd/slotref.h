/*
 * slotref.h - the name of an emulated instance: its slot in the domain's
 * registry and the slot's generation (core/slots.h: a slot freed and taken
 * again gets a new generation, so that a stale reference matches nothing).
 *
 * Defined here, in the bottom layer, because the fd table (fdtable.h)
 * keeps one per instance fd and must include nothing from the layers that
 * use it (hooks, core, instance); core gives the reference its meaning.
 */
#ifndef SHIM_FD_SLOTREF_H
#define SHIM_FD_SLOTREF_H

#include <stdint.h>

struct slot_ref {
	uint32_t slot;
	uint32_t gen;
};

#endif
