/*
 * inject.c - an event of another host, delivered to this host's watches
 * (inject.h).
 *
 * A record is what a watch on a directory of the root saw on its host
 * (publish side: tap.c): the directory, the name in it, the mask.  Here:
 *   - named events: IN_CREATE, IN_DELETE, IN_MOVED_FROM, IN_MOVED_TO to
 *     the directory (notify_entry; a move's cookie remapped to a fresh one
 *     of this domain, cookies.h, so that it never equals a local move's);
 *     the others (IN_MODIFY, IN_ATTRIB, IN_OPEN, IN_CLOSE_*,
 *     IN_ACCESS) to the directory with the name and to the object's own
 *     watches (notify_child), as a hook does;
 *   - events that a hook makes on the object alone are made again here,
 *     since no directory watch sees them on the other host: after
 *     IN_DELETE, the object's IN_ATTRIB (a file's link count), then its
 *     IN_DELETE_SELF and the end of its watches (notify_gone), by the
 *     identity remembered for that path (the path is gone); after
 *     IN_MOVED_TO, the object's IN_MOVE_SELF;
 *   - nameless events come only for the root itself (tap.c).
 * Before IN_CREATE or IN_CLOSE_WRITE of a file reaches a watcher, the file
 * is opened and closed (NFS's close-to-open consistency: the watcher's
 * read then sees the new data, not the attribute cache's old view); for a
 * directory or a vanished file, the parent is stat'ed.
 * Every event is made with origin CORE_ORIGIN_BRIDGE (notify_*_from): the
 * bridge's own instance, which publishes, never gets them (core.h,
 * core_set_source_instance), so nothing injected is published again.
 */
#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "notify/notify.h"

#include "inject.h"

#define ENTRY_EVENTS (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO)

/* The parent is stat'ed, then a file opened and closed (not followed: a
 * FIFO would block, a device would wake).  The bridge runs without the
 * preload, so these make no event. */
static void revalidate(const char *dir, const char *path, bool isdir)
{
	struct stat st;

	stat(dir, &st);
	if (isdir)
		return;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
	if (fd >= 0)
		close(fd);
}

static void self_event(const struct bridge_event *ev, const char *dir)
{
	struct inode_info in;
	uint32_t m = ev->mask & ~IN_ISDIR;

	if (ev->path[0] || (m & (IN_MOVE_SELF | IN_DELETE_SELF | IN_IGNORED)))
		return;		/* made here from the named events */
	if (ident_stat(AT_FDCWD, dir, AT_SYMLINK_NOFOLLOW, &in) < 0)
		return;
	struct notify_obj o = { .inode = &in, .fd = -1 };
	notify_child_from(CORE_ORIGIN_BRIDGE, m, &o);
}

static void deleted(struct bridge_root *r, const char *rel, bool isdir)
{
	struct inode_info in;

	if (!idcache_get(r, rel, &in))
		return;
	if (!isdir)
		notify_self_from(CORE_ORIGIN_BRIDGE, IN_ATTRIB, &in);
	notify_gone_from(CORE_ORIGIN_BRIDGE, &in);
	if (isdir)
		idcache_forget_tree(r, rel);
	else
		idcache_forget(r, rel);
}

static void entry_event(struct bridge_root *r, const struct bridge_event *ev,
			const struct inode_info *dir, const char *dirpath,
			const char *path, const char *rel, struct cookie_map *cm)
{
	uint32_t m = ev->mask & ~IN_ISDIR, cookie = 0;
	struct inode_info in;

	if (m == IN_CREATE || m == IN_MOVED_TO) {
		revalidate(dirpath, path, ev->isdir);
		if (ident_stat(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, &in) == 0)
			idcache_put(r, rel, &in);
	}
	if (m == IN_DELETE)
		deleted(r, rel, ev->isdir);
	if (m == IN_MOVED_FROM) {
		if (ev->isdir)
			idcache_forget_tree(r, rel);
		else
			idcache_forget(r, rel);
	}
	if (m & (IN_MOVED_FROM | IN_MOVED_TO))
		cookie = cookie_local(cm, ev);
	notify_entry_from(CORE_ORIGIN_BRIDGE, m, dir, ev->name, ev->isdir, cookie);
	if (m == IN_MOVED_TO && idcache_get(r, rel, &in))
		notify_self_from(CORE_ORIGIN_BRIDGE, IN_MOVE_SELF, &in);
}

void bridge_inject(struct bridge_root *r, const struct bridge_event *ev,
		   struct cookie_map *cm)
{
	char dirpath[PATH_MAX], path[PATH_MAX], rel[PATH_MAX];
	struct inode_info dir, in;
	uint32_t m = ev->mask & ~IN_ISDIR;

	if (root_local(r, ev->path, "", dirpath) < 0)
		return;
	if (!ev->name[0]) {
		self_event(ev, dirpath);
		return;
	}
	if (root_local(r, ev->path, ev->name, path) < 0 ||
	    rel_join(ev->path, ev->name, rel, sizeof(rel)) < 0)
		return;
	if (ident_stat(AT_FDCWD, dirpath, 0, &dir) < 0 &&
	    !idcache_get(r, ev->path, &dir))
		return;		/* the directory is gone: its watches have ended */
	if (m & ENTRY_EVENTS) {
		entry_event(r, ev, &dir, dirpath, path, rel, cm);
		return;
	}
	if (m & IN_CLOSE_WRITE)
		revalidate(dirpath, path, ev->isdir);
	bool have = ident_stat(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, &in) == 0;
	if (have)
		idcache_put(r, rel, &in);
	struct notify_obj o = { .inode = have ? &in : NULL, .dir = &dir,
				.name = ev->name, .fd = -1 };
	notify_child_from(CORE_ORIGIN_BRIDGE, m, &o);
}
