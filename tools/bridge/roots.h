/*
 * roots.h - the bridge's roots: a shared tree's logical NAME and its path
 * on this host, the identities of what the bridge knows under it (so that
 * a remote deletion can end the local watches on an inode that no longer
 * has a path), and the mapping between root-relative and local paths.
 */
#ifndef SHIM_BRIDGE_ROOTS_H
#define SHIM_BRIDGE_ROOTS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "util/ident.h"

#include "record.h"

#define IDCACHE_BUCKETS 4096

struct idcache_entry {
	struct idcache_entry *next;
	struct inode_info info;
	char rel[];		/* path relative to the root */
};

struct bridge_root {
	char name[BRIDGE_ROOT_MAX + 1];
	char path[PATH_MAX];	/* local, absolute, no trailing '/' */
	struct idcache_entry *ids[IDCACHE_BUCKETS];
};

/* Parse "PATH=NAME" into r (PATH made absolute and resolved).  Returns 0,
 * or -1 with the reason in err. */
int root_parse(struct bridge_root *r, const char *arg, char *err, size_t errsize);

/* The local path of rel/name (either may be ""), into out (PATH_MAX).
 * Returns 0, or -1 if too long. */
int root_local(const struct bridge_root *r, const char *rel, const char *name,
	       char *out);

/* "a/b" + "c" = "a/b/c"; "" + "c" = "c".  Returns 0, or -1 if too long. */
int rel_join(const char *rel, const char *name, char *out, size_t size);

/* Remember, look up and forget the identity of rel (relative path).
 * idcache_forget_tree also forgets everything under rel. */
void idcache_put(struct bridge_root *r, const char *rel, const struct inode_info *in);
bool idcache_get(const struct bridge_root *r, const char *rel, struct inode_info *in);
void idcache_forget(struct bridge_root *r, const char *rel);
void idcache_forget_tree(struct bridge_root *r, const char *rel);
/* Call fn for every identity known under r. */
void idcache_each(const struct bridge_root *r,
		  void (*fn)(void *arg, const struct inode_info *in), void *arg);
void idcache_clear(struct bridge_root *r);

#endif
