/*
 * config.h - the settings of this process: limits, domain, mode.
 *
 * Read once, from the environment and /proc/sys/fs/inotify, by
 * shim_config_load() (the library constructor), and changed only by
 * inotify_shim_configure() before the domain is opened.
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

void shim_config_load(void);
/* Parse a positive decimal limit; -1 when s is not one. */
long shim_config_parse_limit(const char *s);

#endif
