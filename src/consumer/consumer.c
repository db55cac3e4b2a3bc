/*
 * consumer.c - the consumer API of include/inotify-shim.h: handles with an
 * operations table, the user-space form of the seed's inotify_handle.
 *
 * A handle is one instance of the core (core.h), created and used through
 * the same calls as the fd front end (instance/), which is the other
 * consumer of the core; this one adds what only a consumer in this process
 * has: the watch objects, found by wd in a private hash, and the handlers.
 * Events reach the handlers from dispatch(), which reads the instance's
 * queue with core_read() as the front end's read() does.
 *
 * The handle's fd is the instance's FIFO, for polling only: the handle owns
 * it, and it is not entered in the fd table, so read() on it is not an
 * inotify read.
 *
 * Lifetimes (the seed's):
 *   handle  from inotify_shim_handle_new() until destroy() and the last
 *           watch's final put: every watch in it holds a reference;
 *   watch   from add_watch (first reference) until its count reaches 0,
 *           when destroy_watch() runs.  Dispatch holds a reference on a
 *           watch while its handler runs, so the handler may put freely.
 * Locks: handle->lock protects the wd hash only, and is never held while a
 * handler runs, so handlers may call back into the API.  Order: handle->lock
 * is taken alone; core calls take registry.lock themselves and are never
 * made with handle->lock held.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "inotify-shim.h"

#include "../core/core.h"
#include "../util/export.h"
#include "../util/real.h"

struct inotify_shim_handle {
	const struct inotify_shim_operations *ops;
	void *user;
	struct slot_ref ref;
	int fd;
	int refs;			/* atomic */
	pthread_mutex_t lock;		/* protects the hash */
	struct inotify_shim_watch **buckets;
	size_t nbuckets;
	size_t nwatches;
};

/* ---- the wd hash (handle->lock held) */

static size_t bucket_of(const struct inotify_shim_handle *h, int wd)
{
	return ((size_t)(unsigned)wd * 0x9e3779b97f4a7c15ULL >> 32) & (h->nbuckets - 1);
}

static struct inotify_shim_watch *hash_find(struct inotify_shim_handle *h, int wd)
{
	for (struct inotify_shim_watch *w = h->buckets[bucket_of(h, wd)]; w; w = w->next)
		if (w->wd == wd)
			return w;
	return NULL;
}

static int hash_grow(struct inotify_shim_handle *h)
{
	size_t n = h->nbuckets * 2;
	struct inotify_shim_watch **b = calloc(n, sizeof *b);
	struct inotify_shim_watch **old = h->buckets;
	size_t oldn = h->nbuckets;

	if (!b)
		return -ENOMEM;
	h->buckets = b;
	h->nbuckets = n;
	for (size_t i = 0; i < oldn; i++) {
		for (struct inotify_shim_watch *w = old[i], *next; w; w = next) {
			next = w->next;
			w->next = b[bucket_of(h, w->wd)];
			b[bucket_of(h, w->wd)] = w;
		}
	}
	free(old);
	return 0;
}

static int hash_insert(struct inotify_shim_handle *h, struct inotify_shim_watch *w)
{
	size_t b;

	if (h->nwatches >= h->nbuckets && hash_grow(h) < 0)
		return -ENOMEM;
	b = bucket_of(h, w->wd);
	w->next = h->buckets[b];
	h->buckets[b] = w;
	h->nwatches++;
	return 0;
}

static struct inotify_shim_watch *hash_remove(struct inotify_shim_handle *h, int wd)
{
	for (struct inotify_shim_watch **link = &h->buckets[bucket_of(h, wd)]; *link;
	     link = &(*link)->next) {
		struct inotify_shim_watch *w = *link;
		if (w->wd == wd) {
			*link = w->next;
			w->next = NULL;
			h->nwatches--;
			return w;
		}
	}
	return NULL;
}

/* ---- handles */

static void handle_put(struct inotify_shim_handle *h)
{
	if (__atomic_sub_fetch(&h->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	pthread_mutex_destroy(&h->lock);
	free(h->buckets);
	free(h);
}

SHIM_EXPORT struct inotify_shim_handle *
inotify_shim_handle_new(const struct inotify_shim_operations *ops, void *user)
{
	struct inotify_shim_handle *h;
	int fd, ret, saved;

	if (!ops || !ops->handle_event) {
		errno = EINVAL;
		return NULL;
	}
	h = calloc(1, sizeof *h);
	if (!h || !(h->buckets = calloc(16, sizeof *h->buckets))) {
		free(h);
		errno = ENOMEM;
		return NULL;
	}
	h->nbuckets = 16;
	saved = errno;
	ret = core_create(1, 1, &h->ref, &fd);
	errno = saved;	/* the core's internal calls are not the caller's */
	if (ret < 0) {
		free(h->buckets);
		free(h);
		errno = -ret;
		return NULL;
	}
	h->ops = ops;
	h->user = user;
	h->fd = fd;
	h->refs = 1;
	pthread_mutex_init(&h->lock, NULL);
	return h;
}

SHIM_EXPORT int inotify_shim_handle_fd(const struct inotify_shim_handle *h)
{
	return h ? h->fd : -1;
}

/* ---- watches
 *
 * These answer with their return value: errno is left as it was
 * (KEEP_ERRNO restores it on every return). */

static void restore_errno(const int *saved)
{
	errno = *saved;
}
#define KEEP_ERRNO int saved_errno_ __attribute__((cleanup(restore_errno))) = errno

SHIM_EXPORT void inotify_shim_watch_init(struct inotify_shim_watch *w)
{
	memset(w, 0, sizeof *w);
	w->wd = -1;
}

/* The references, for the handle's own use too: it calls these, never the
 * exported names, which a program may define (test/internal_calls.sh). */
static void watch_get(struct inotify_shim_watch *w)
{
	__atomic_add_fetch(&w->count, 1, __ATOMIC_RELAXED);
}

static void watch_put(struct inotify_shim_watch *w)
{
	struct inotify_shim_handle *h = w->handle;

	if (__atomic_sub_fetch(&w->count, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	if (h && h->ops->destroy_watch)
		h->ops->destroy_watch(w);
	if (h)
		handle_put(h);
}

SHIM_EXPORT void inotify_shim_watch_get(struct inotify_shim_watch *w)
{
	watch_get(w);
}

SHIM_EXPORT void inotify_shim_watch_put(struct inotify_shim_watch *w)
{
	watch_put(w);
}

static int check_mask(uint32_t mask)
{
	int ret = core_check_mask(mask);
	return ret < 0 ? ret : core_check_mask_flags(mask);
}

SHIM_EXPORT int inotify_shim_handle_add_watch(struct inotify_shim_handle *h,
					      struct inotify_shim_watch *w,
					      const char *path, uint32_t mask)
{
	KEEP_ERRNO;
	int wd, ret;

	if (!h || !w)
		return -EINVAL;
	ret = check_mask(mask);
	if (ret < 0)
		return ret;
	wd = core_new_watch(h->ref, path, mask);
	if (wd < 0)
		return wd;
	w->wd = wd;
	w->mask = mask & IN_ALL_EVENTS;
	w->handle = h;
	__atomic_add_fetch(&h->refs, 1, __ATOMIC_RELAXED);
	watch_get(w);	/* the first reference */
	pthread_mutex_lock(&h->lock);
	ret = hash_insert(h, w);
	pthread_mutex_unlock(&h->lock);
	if (ret < 0) {
		core_rm_wd(h->ref, wd);
		w->handle = NULL;
		w->count = 0;
		w->wd = -1;
		handle_put(h);
		return ret;
	}
	return wd;
}

SHIM_EXPORT int inotify_shim_handle_find_update_watch(struct inotify_shim_handle *h,
						      const char *path, uint32_t mask)
{
	KEEP_ERRNO;
	struct inotify_shim_watch *w;
	int wd, ret;

	if (!h)
		return -EINVAL;
	ret = check_mask(mask);
	if (ret < 0)
		return ret;
	wd = core_find_update_watch(h->ref, path, mask);
	if (wd < 0)
		return wd;
	pthread_mutex_lock(&h->lock);
	w = hash_find(h, wd);
	if (w)
		w->mask = (mask & IN_MASK_ADD) ? w->mask | (mask & IN_ALL_EVENTS)
					       : mask & IN_ALL_EVENTS;
	pthread_mutex_unlock(&h->lock);
	return wd;
}

SHIM_EXPORT int inotify_shim_handle_rm_wd(struct inotify_shim_handle *h, int wd)
{
	KEEP_ERRNO;

	return h ? core_rm_wd(h->ref, wd) : -EINVAL;
}

SHIM_EXPORT struct inotify_shim_watch *
inotify_shim_handle_find_watch(struct inotify_shim_handle *h, int wd)
{
	struct inotify_shim_watch *w;

	if (!h)
		return NULL;
	pthread_mutex_lock(&h->lock);
	w = hash_find(h, wd);
	pthread_mutex_unlock(&h->lock);
	return w;
}

/* ---- delivery */

static void deliver(struct inotify_shim_handle *h, const struct inotify_event *e)
{
	struct inotify_shim_watch *w;

	pthread_mutex_lock(&h->lock);
	w = (e->mask & IN_IGNORED) ? hash_remove(h, e->wd) : hash_find(h, e->wd);
	if (w)
		watch_get(w);	/* held while the handler runs */
	pthread_mutex_unlock(&h->lock);
	h->ops->handle_event(w, e->wd, e->mask, e->cookie, e->len ? e->name : NULL,
			     h->user);
	if (w)
		watch_put(w);
}

SHIM_EXPORT int inotify_shim_handle_dispatch(struct inotify_shim_handle *h)
{
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	int handled = 0;

	if (!h)
		return -EINVAL;
	/* hold the handle: a handler may destroy it */
	__atomic_add_fetch(&h->refs, 1, __ATOMIC_RELAXED);
	for (;;) {
		int saved = errno;
		ssize_t n = core_read(h->ref, h->fd, buf, sizeof buf);

		errno = saved;
		if (n == -EAGAIN || n == 0)
			break;
		if (n < 0) {
			if (!handled)
				handled = (int)n;
			break;
		}
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *e = (const struct inotify_event *)p;
			deliver(h, e);
			handled++;
			p += sizeof *e + e->len;
		}
	}
	handle_put(h);
	return handled;
}

SHIM_EXPORT void inotify_shim_handle_destroy(struct inotify_shim_handle *h)
{
	KEEP_ERRNO;

	if (!h)
		return;
	/* the seed's inotify_destroy: every watch ends without an event */
	core_destroy_watches(h->ref);
	for (;;) {
		struct inotify_shim_watch *w = NULL;
		pthread_mutex_lock(&h->lock);
		for (size_t i = 0; i < h->nbuckets && !w; i++)
			if (h->buckets[i])
				w = hash_remove(h, h->buckets[i]->wd);
		pthread_mutex_unlock(&h->lock);
		if (!w)
			break;
		watch_put(w);	/* the final put */
	}
	real_close(h->fd);
	core_release(h->ref, h->fd);
	handle_put(h);
}
