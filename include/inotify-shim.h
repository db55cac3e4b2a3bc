/*
 * inotify-shim.h - the public API of libinotify-shim.
 *
 * Three ways in:
 *   1. The standard names (inotify_init, inotify_init1, inotify_add_watch,
 *      inotify_rm_watch), with exactly the kernel's rules and errnos.  When
 *      the library is preloaded they replace libc's.
 *   2. The inotify_shim_* twins, which always use the emulation, even where
 *      the kernel's inotify works.
 *   3. The consumer API (inotify_shim_handle_*), the user-space form of the
 *      kernel's split between the inotify core and its consumers: a handle
 *      with an operations table, watches that the caller may embed in its
 *      own structures, and events delivered to a callback.
 *
 * Link with -linotify-shim (pkg-config inotify-shim).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef INOTIFY_SHIM_H
#define INOTIFY_SHIM_H

#include <stdint.h>
#include <sys/inotify.h>

#ifdef __cplusplus
extern "C" {
#endif

#define INOTIFY_SHIM_VERSION_MAJOR 0
#define INOTIFY_SHIM_VERSION_MINOR 1
#define INOTIFY_SHIM_VERSION_MICRO 0
#define INOTIFY_SHIM_VERSION "0.1.0"
/* Compare with INOTIFY_SHIM_VERSION_NUMBER >= INOTIFY_SHIM_VERSION_AT(0, 1, 0). */
#define INOTIFY_SHIM_VERSION_AT(maj, min, mic) (((maj) << 16) | ((min) << 8) | (mic))
#define INOTIFY_SHIM_VERSION_NUMBER                                            \
	INOTIFY_SHIM_VERSION_AT(INOTIFY_SHIM_VERSION_MAJOR,                    \
				INOTIFY_SHIM_VERSION_MINOR,                    \
				INOTIFY_SHIM_VERSION_MICRO)

/* The version of the library actually loaded, e.g. "0.1.0". */
const char *inotify_shim_version(void);

/* ------------------------------------------------------------------ */
/* The emulation under its own names.  Same arguments, return values and
 * errnos as the kernel's calls; the fd is an emulated instance. */
int inotify_shim_init(void);
int inotify_shim_init1(int flags);
int inotify_shim_add_watch(int fd, const char *pathname, uint32_t mask);
int inotify_shim_rm_watch(int fd, int wd);

/* ------------------------------------------------------------------ */
/* Configuration.  Every field left 0 (or NULL) keeps its current value,
 * which comes from the environment (see inotify-shim(7)) or, for the limits,
 * from /proc/sys/fs/inotify.  Call it before the first inotify call of the
 * process: the domain cannot be changed once it is open.  Returns 0, or -1
 * with errno EINVAL (bad value) or EBUSY (domain already open). */
enum inotify_shim_mode {
	INOTIFY_SHIM_MODE_DEFAULT = 0, /* keep the current setting */
	INOTIFY_SHIM_MODE_EMULATE,     /* always emulate (the default) */
	INOTIFY_SHIM_MODE_AUTO,        /* the kernel's inotify when it works */
};

struct inotify_shim_config {
	const char *domain;		/* a domain name or directory */
	long max_queued_events;		/* per instance, from its creation */
	long max_user_watches;		/* per domain */
	long max_user_instances;	/* per domain */
	enum inotify_shim_mode mode;
};

int inotify_shim_configure(const struct inotify_shim_config *config);

/* ------------------------------------------------------------------ */
/* The consumer API.
 *
 * A handle is one emulated inotify instance seen through callbacks instead
 * of read().  Its watches are objects that the caller allocates, usually
 * embedded in a structure of its own (recover it with container_of).
 *
 * Lifetime of a watch (the seed's rule):
 *   - inotify_shim_watch_init() sets its count to 0.
 *   - inotify_shim_handle_add_watch() takes the first reference.
 *   - The watch ends with an IN_IGNORED event: after rm_wd, after the first
 *     event of an IN_ONESHOT watch (the IN_IGNORED follows that event), and
 *     when the watched inode is deleted.  The handler does the final put
 *     when it receives IN_IGNORED; destroy_watch() is called once the count
 *     reaches 0, and the memory is the caller's again from then on.
 *   - inotify_shim_handle_destroy() ends the remaining watches without an
 *     event and does their final put itself, as the seed's inotify_destroy.
 *   - Anyone may hold extra references with get/put meanwhile.
 *
 * Locks: handlers run on the thread that calls dispatch, with no lock of
 * the library held, so a handler may call back into this API (add a watch,
 * remove one).  A handler must not block on a lock that the thread calling
 * the API holds around it.
 *
 * Delivery: events, whichever process made them, are queued in the shared
 * domain and run through the handlers by inotify_shim_handle_dispatch().
 * Events made by the handle's own thread are also only delivered by the
 * next dispatch, never from inside the file call that made them.
 * inotify_shim_handle_fd() gives an fd that polls readable while events are
 * queued, for the caller's event loop.
 */
struct inotify_shim_handle;
struct inotify_shim_watch;

struct inotify_shim_operations {
	/* One event.  name is NULL for events on the watched inode itself;
	 * cookie pairs IN_MOVED_FROM with IN_MOVED_TO.  Events that belong to
	 * no watch (IN_Q_OVERFLOW) come with watch NULL and wd -1. */
	void (*handle_event)(struct inotify_shim_watch *watch, int wd,
			     uint32_t mask, uint32_t cookie, const char *name,
			     void *user);
	/* The watch's count reached 0: it is no longer referenced. */
	void (*destroy_watch)(struct inotify_shim_watch *watch);
};

struct inotify_shim_watch {
	int wd;			/* valid once added, -1 before */
	uint32_t mask;		/* the events asked for */
	/* private to the library */
	int count;
	struct inotify_shim_handle *handle;
	struct inotify_shim_watch *next;
};

void inotify_shim_watch_init(struct inotify_shim_watch *watch);
void inotify_shim_watch_get(struct inotify_shim_watch *watch);
void inotify_shim_watch_put(struct inotify_shim_watch *watch);

/* A new handle, or NULL with errno (EMFILE, ENOMEM, ...). */
struct inotify_shim_handle *
inotify_shim_handle_new(const struct inotify_shim_operations *ops, void *user);

/* Watch pathname with the given mask.  Returns the wd (> 0) or a negative
 * errno, as the kernel's core does.  If the inode is already watched by
 * this handle, nothing is added: -EEXIST is returned (use find_update). */
int inotify_shim_handle_add_watch(struct inotify_shim_handle *handle,
				  struct inotify_shim_watch *watch,
				  const char *pathname, uint32_t mask);

/* Update the mask of the existing watch on pathname's inode (OR-ed with
 * IN_MASK_ADD, replaced otherwise).  Returns its wd, -ENOENT if the inode is
 * not watched by this handle, or another negative errno. */
int inotify_shim_handle_find_update_watch(struct inotify_shim_handle *handle,
					  const char *pathname, uint32_t mask);

/* Remove the watch wd; its IN_IGNORED comes with the next dispatch.
 * Returns 0 or -EINVAL. */
int inotify_shim_handle_rm_wd(struct inotify_shim_handle *handle, int wd);

/* The watch with descriptor wd, or NULL. */
struct inotify_shim_watch *
inotify_shim_handle_find_watch(struct inotify_shim_handle *handle, int wd);

/* An fd that polls readable while events wait for dispatch. */
int inotify_shim_handle_fd(const struct inotify_shim_handle *handle);

/* Run the handlers for every queued event.  Returns the number of events
 * handled (0 when none was queued), or a negative errno. */
int inotify_shim_handle_dispatch(struct inotify_shim_handle *handle);

/* End every remaining watch without an event, doing its final put (so
 * destroy_watch runs for each watch nobody else holds), then free the
 * handle. */
void inotify_shim_handle_destroy(struct inotify_shim_handle *handle);

#ifdef __cplusplus
}
#endif
#endif /* INOTIFY_SHIM_H */
