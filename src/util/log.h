/*
 * log.h - the shim's own messages.
 *
 * The shim writes nothing to the host program's streams unless debugging
 * is on (INOTIFY_SHIM_DEBUG a number other than 0, or INOTIFY_SHIM_DEBUG_LOG
 * naming a file): shim_log(), shim_log_once() and shim_debug() all write
 * "inotify-shim[PID]: ..." to stderr (or to that file) only then, and
 * shim_log_once() only the first time a given call site reports.  The one
 * exception is a value of INOTIFY_SHIM_DEBUG that does not parse, which
 * shim_log_init() reports once (log.c).  What a user can no longer read
 * there is counted in the domain and shown by inotify-shim ps: repairs,
 * overflows given for lost events, refusals (layout.h, "storage, sharing
 * and quiet counters").
 * Both are async-signal-safe: they format into a stack buffer and write(2).
 */
#ifndef SHIM_LOG_H
#define SHIM_LOG_H

#include <stdbool.h>

void shim_log_init(void);
bool shim_debug_enabled(void);
void shim_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void shim_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The text of the last shim_log() message (without the prefix), printed
 * or not, or "": for the tools, which report the reason of a refusal on
 * their own stderr.  Not synchronised: read it from one thread. */
const char *shim_log_last(void);

/* Log a message the first time this call site reaches it. */
#define shim_log_once(...)                                                     \
	do {                                                                   \
		static int logged_;                                            \
		if (!__atomic_exchange_n(&logged_, 1, __ATOMIC_RELAXED))       \
			shim_log(__VA_ARGS__);                                 \
	} while (0)

#endif
