/*
 * status.h - what inotify-shim ps shows of the bridges of a domain: each
 * running bridge writes its state to a file of the domain's directory,
 * "bridge.PID", about once a second (written whole to a temporary file,
 * then renamed over it: a reader never sees half of one), and removes it
 * when it stops; ps reads the files whose process is still alive.
 *
 * The file is lines of "KEY VALUE", version first:
 *   inotify-shim-bridge 1
 *   pid PID / host ID / servers URLS / connected 0|1 / updated UNIX-MS
 *   published N / failed N / delivered N / duplicates N / losses N
 *   root NAME LAG-EVENTS LAG-MS PATH      (one per root; PATH last)
 * The lag of a root: the events its consumer has not delivered yet (those
 * the stream held after the last one delivered, as the server said with
 * it, plus those received and not yet delivered) and the age of the last
 * one delivered when it was (-1: none yet).
 *
 * Written by the bridge (cmd.c, built with NATS); read by ps (built
 * always: a command without NATS still shows another's bridges).
 */
#ifndef SHIM_BRIDGE_STATUS_H
#define SHIM_BRIDGE_STATUS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define BRIDGE_STATUS_ROOTS 64

struct bridge_status_root {
	char name[65];
	char path[4096];
	uint64_t lag_events;
	int64_t lag_ms;
};

struct bridge_status {
	long pid;
	char host[65];
	char servers[1024];
	int connected;
	int64_t updated_ms;
	uint64_t published, failed, delivered, duplicates, losses;
	int nroots;
	struct bridge_status_root roots[BRIDGE_STATUS_ROOTS];
};

/* Write s as this process's file in the domain directory dir.  Returns 0
 * or a negative errno (the bridge goes on: ps then shows an older state). */
int bridge_status_write(const char *dir, const struct bridge_status *s);

/* Remove this process's file. */
void bridge_status_remove(const char *dir);

/* Print the live bridges of the domain directory dir: as text (a header
 * and one block per bridge) or as the value of a JSON array. */
void bridge_status_print_text(FILE *f, const char *dir);
void bridge_status_print_json(FILE *f, const char *dir);

#endif
