/*
 * config.h - the settings of this process: limits, domain, mode.
 *
 * Read once, from the environment and /proc/sys/fs/inotify, by
 * shim_config_load() (the library constructor), and changed by
 * inotify_shim_configure() through shim_config_update(): one change at a
 * time, under the configuration's lock, each field stored atomically, so
 * that the hooks of other threads, which read it meanwhile, read each
 * field whole with SHIM_CONFIG() (no lock).  The domain name is read only
 * by the constructor (domain_open) and changed only while no domain is
 * open.
 *
 *   INOTIFY_SHIM_DOMAIN              domain name or absolute directory
 *   INOTIFY_SHIM_MAX_QUEUED_EVENTS   per instance, fixed at its creation
 *   INOTIFY_SHIM_MAX_USER_WATCHES    per domain
 *   INOTIFY_SHIM_MAX_USER_INSTANCES  per domain
 *   INOTIFY_SHIM_MODE                emulate (default) | auto
 *   INOTIFY_SHIM_DEBUG, INOTIFY_SHIM_DEBUG_LOG   see log.h
 */
#ifndef SHIM_CONFIG_H
#define SHIM_CONFIG_H

#include <stdbool.h>

enum shim_mode { SHIM_MODE_EMULATE = 1, SHIM_MODE_AUTO = 2 };

struct shim_config {
	char domain[256];	/* "" for the default per-user domain */
	long max_queued_events;
	long max_user_watches;
	long max_user_instances;
	enum shim_mode mode;
};

extern struct shim_config shim_config;

/* One field, as another thread may be changing it. */
#define SHIM_CONFIG(field) __atomic_load_n(&shim_config.field, __ATOMIC_RELAXED)

void shim_config_load(void);
/* Change the configuration: edit(next, arg) gets the current values and
 * changes them, or returns a negative errno to change nothing.  Returns
 * what edit returned. */
int shim_config_update(int (*edit)(struct shim_config *next, const void *arg), const void *arg);
/* Parse a positive decimal limit; -1 when s is not one. */
long shim_config_parse_limit(const char *s);

#endif
