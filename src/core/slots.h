/*
 * slots.h - an instance slot's files, as seen from one process: its queue
 * (mapped once per process and cached), its FIFO (the wake-up path from
 * any process), its liveness and its reclaim.
 *
 * An instance is named by (slot, gen): the slot in the registry and the
 * generation it had when created.  A cached queue mapping of an older
 * generation of the slot is replaced on next use.
 *
 * Liveness: an instance lives while some process holds its fd, which is the
 * FIFO opened O_RDWR.  open(FIFO, O_WRONLY | O_NONBLOCK) fails with ENXIO
 * exactly when nobody does: the kernel's own open count is the test.
 */
#ifndef SHIM_CORE_SLOTS_H
#define SHIM_CORE_SLOTS_H

#include <stdbool.h>
#include <stdint.h>

#include "../domain/domain.h"
#include "../fd/slotref.h"
#include "../queue/queue.h"

/* The names of the instance's files in the domain directory (domain.h:
 * reached only through it). */
#define SLOT_NAME_MAX 32
void slot_fifo_name(struct slot_ref ref, char buf[SLOT_NAME_MAX]);
void slot_queue_name(struct slot_ref ref, char buf[SLOT_NAME_MAX]);

/* The queue of instance ref, mapped in this process, or NULL. */
struct queue *slot_queue(struct domain *d, struct slot_ref ref);

/* The waker that producers use: it opens the FIFO, writes the token and
 * closes it again; -ENXIO when the instance has no holder left. */
void slot_producer_waker(struct slot_ref *ref, struct queue_waker *out);

/* Lost events, without any lock (queue.h, "Lost events"): an event that
 * could not be queued to instance ref within the bound, or at all, marks
 * the instance lost (its next read, or the next producer that has its
 * lock, queues one IN_Q_OVERFLOW) and wakes its reader once, when the
 * queue can be mapped and its FIFO written (with no fd left, the wake is
 * made again by slot_wake_unwoken(), which every event pass of this
 * process calls, and at its exit; the reader also finds the mark at its
 * next read).  slot_lost_all does that for every
 * instance that has a watch, read from the records without the lock: for
 * an event that could not even be matched to its watches. */
void slot_lost(struct domain *d, struct slot_ref ref);
void slot_lost_all(struct domain *d);
void slot_wake_unwoken(struct domain *d);

/* Does some process hold the instance's fd?  A slot whose fd is not yet
 * open counts as alive while its creator lives. */
bool slot_alive(struct domain *d, uint32_t slot);

/* Free a dead instance: its watches (without events), its slot, its files.
 * Registry lock held. */
void slot_reclaim(struct domain *d, uint32_t slot);

/* Reclaim every dead instance.  Registry lock held.  Returns how many. */
int slot_reap(struct domain *d);

#endif
