/*
 * roots.c - the bridge's roots and what it knows under them (roots.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "roots.h"

int root_parse(struct bridge_root *r, const char *arg, char *err, size_t errsize)
{
	const char *eq = strrchr(arg, '=');
	char path[PATH_MAX];

	memset(r, 0, sizeof(*r));
	if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof(path)) {
		snprintf(err, errsize, "--root '%s': PATH=NAME expected", arg);
		return -1;
	}
	memcpy(path, arg, (size_t)(eq - arg));
	path[eq - arg] = 0;
	if (!bridge_token_valid(eq + 1)) {
		snprintf(err, errsize, "--root '%s': NAME must be 1 to 64 of A-Z a-z 0-9 _ -", arg);
		return -1;
	}
	if (!realpath(path, r->path)) {
		snprintf(err, errsize, "--root '%s': %s: %m", arg, path);
		return -1;
	}
	if (!strcmp(r->path, "/"))
		r->path[0] = 0;	/* joined as "/rel" */
	strcpy(r->name, eq + 1);
	return 0;
}

int rel_join(const char *rel, const char *name, char *out, size_t size)
{
	int n;

	if (!rel[0])
		n = snprintf(out, size, "%s", name);
	else if (!name[0])
		n = snprintf(out, size, "%s", rel);
	else
		n = snprintf(out, size, "%s/%s", rel, name);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

int root_local(const struct bridge_root *r, const char *rel, const char *name,
	       char *out)
{
	char joined[PATH_MAX];
	int n;

	if (rel_join(rel, name, joined, sizeof(joined)))
		return -1;
	n = joined[0] ? snprintf(out, PATH_MAX, "%s/%s", r->path, joined)
		      : snprintf(out, PATH_MAX, "%s", r->path[0] ? r->path : "/");
	return n < 0 || n >= PATH_MAX ? -1 : 0;
}

static unsigned bucket(const char *rel)
{
	unsigned h = 2166136261u;
	for (const unsigned char *p = (const unsigned char *)rel; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h % IDCACHE_BUCKETS;
}

void idcache_put(struct bridge_root *r, const char *rel, const struct inode_info *in)
{
	struct idcache_entry **head = &r->ids[bucket(rel)];

	for (struct idcache_entry *e = *head; e; e = e->next)
		if (!strcmp(e->rel, rel)) {
			e->info = *in;
			return;
		}
	struct idcache_entry *e = malloc(sizeof(*e) + strlen(rel) + 1);
	if (!e)
		return;		/* a later deletion then ends no watch: as if unknown */
	e->info = *in;
	strcpy(e->rel, rel);
	e->next = *head;
	*head = e;
}

bool idcache_get(const struct bridge_root *r, const char *rel, struct inode_info *in)
{
	for (struct idcache_entry *e = r->ids[bucket(rel)]; e; e = e->next)
		if (!strcmp(e->rel, rel)) {
			*in = e->info;
			return true;
		}
	return false;
}

void idcache_forget(struct bridge_root *r, const char *rel)
{
	for (struct idcache_entry **p = &r->ids[bucket(rel)]; *p; p = &(*p)->next)
		if (!strcmp((*p)->rel, rel)) {
			struct idcache_entry *e = *p;
			*p = e->next;
			free(e);
			return;
		}
}

void idcache_forget_tree(struct bridge_root *r, const char *rel)
{
	size_t n = strlen(rel);

	for (int b = 0; b < IDCACHE_BUCKETS; b++)
		for (struct idcache_entry **p = &r->ids[b]; *p;) {
			struct idcache_entry *e = *p;
			if (!strncmp(e->rel, rel, n) && (e->rel[n] == '/' || !e->rel[n] || !n)) {
				*p = e->next;
				free(e);
			} else {
				p = &e->next;
			}
		}
}

void idcache_each(const struct bridge_root *r,
		  void (*fn)(void *arg, const struct inode_info *in), void *arg)
{
	for (int b = 0; b < IDCACHE_BUCKETS; b++)
		for (struct idcache_entry *e = r->ids[b]; e; e = e->next)
			fn(arg, &e->info);
}

void idcache_clear(struct bridge_root *r)
{
	for (int b = 0; b < IDCACHE_BUCKETS; b++)
		while (r->ids[b]) {
			struct idcache_entry *e = r->ids[b];
			r->ids[b] = e->next;
			free(e);
		}
}
