/*
 * log.h - the shim's own messages.
 *
 * The shim never writes to the host program's streams except once per
 * distinct problem: shim_log_once() prints "inotify-shim: ..." to stderr (or
 * to the file named by INOTIFY_SHIM_DEBUG_LOG), and only the first time a
 * given call site reports.  shim_debug() writes only when debugging is on.
 * Both are async-signal-safe: they format into a stack buffer and write(2).
 */
#ifndef SHIM_LOG_H
#define SHIM_LOG_H

#include <stdbool.h>

void shim_log_init(void);
bool shim_debug_enabled(void);
void shim_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void shim_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Log a message the first time this call site reaches it. */
#define shim_log_once(...)                                                     \
	do {                                                                   \
		static int logged_;                                            \
		if (!__atomic_exchange_n(&logged_, 1, __ATOMIC_RELAXED))       \
			shim_log(__VA_ARGS__);                                 \
	} while (0)

#endif
