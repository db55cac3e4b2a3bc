/*
 * domain.c - finding, creating, validating and mapping the domain's
 * registry; its lock and the repair after a holder died.  See domain.h.
 *
 * A registry is published whole: it is built in a temporary file and then
 * link(2)ed to its name, so no process ever maps a half-made one.  One that
 * fails validation (magic, version, sizes, owner, mode, type) is refused
 * with one message; if it is ours it is moved aside and a fresh one made.
 */
#include "domain.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../util/config.h"
#include "../util/log.h"
#include "../util/real.h"
#include "../util/sigdefer.h"

struct domain *shim_domain;
static struct domain the_domain;

/* Test hook (domain.h): $INOTIFY_SHIM_TEST_HOLD_LOCK, read once at open. */
static const char *hold_lock_file;

void domain_path(const struct domain *d, char *buf, const char *fmt, ...)
{
	char name[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(name, sizeof name, fmt, ap);
	va_end(ap);
	snprintf(buf, PATH_MAX, "%s/%s", d->dir, name);
}

/* The registry's geometry: the same constants give the same offsets in
 * every process, so a registry whose header disagrees is not ours. */
struct geometry {
	uint64_t off_instances, off_inodes, off_watches;
	uint64_t off_inode_buckets, off_wd_buckets, total;
	uint32_t ninode_buckets, nwd_buckets;
};

static uint64_t align_page(uint64_t v)
{
	return (v + 4095) & ~(uint64_t)4095;
}

static void compute_geometry(struct geometry *g)
{
	uint64_t off = align_page(sizeof(struct registry));

	g->ninode_buckets = REGISTRY_WATCHES;
	g->nwd_buckets = REGISTRY_WATCHES;
	g->off_instances = off;
	off = align_page(off + (uint64_t)REGISTRY_INSTANCES * sizeof(struct reg_instance));
	g->off_inodes = off;
	off = align_page(off + (uint64_t)(REGISTRY_WATCHES + 1) * sizeof(struct reg_inode));
	g->off_watches = off;
	off = align_page(off + (uint64_t)(REGISTRY_WATCHES + 1) * sizeof(struct reg_watch));
	g->off_inode_buckets = off;
	off = align_page(off + (uint64_t)g->ninode_buckets * sizeof(uint32_t));
	g->off_wd_buckets = off;
	off = align_page(off + (uint64_t)g->nwd_buckets * sizeof(uint32_t));
	g->total = off;
}

static int resolve_dir(char *dir)
{
	const char *name = shim_config.domain;
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	unsigned uid = (unsigned)geteuid();
	int n;

	if (name[0] == '/') {
		n = snprintf(dir, DOMAIN_DIR_MAX, "%s", name);
	} else if (xdg && xdg[0] == '/') {
		n = snprintf(dir, DOMAIN_DIR_MAX, "%s/inotify-shim%s%s", xdg,
			     name[0] ? "-" : "", name);
	} else {
		n = snprintf(dir, DOMAIN_DIR_MAX, "/dev/shm/inotify-shim-%u%s%s", uid,
			     name[0] ? "-" : "", name);
	}
	if (name[0] && name[0] != '/' && strchr(name, '/'))
		return -EINVAL;
	return n < DOMAIN_DIR_MAX ? 0 : -ENAMETOOLONG;
}

/* The domain directory must be a real directory of ours, closed to others.
 * A symbolic link in its place is refused, never followed. */
static int check_dir(const char *dir)
{
	struct stat st;
	int fd;

	if (real_mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	fd = real_open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
	if (fd < 0) {
		int e = errno;
		if ((e == ELOOP || e == ENOTDIR) && lstat(dir, &st) == 0 &&
		    !S_ISDIR(st.st_mode)) {
			shim_log("domain %s: refused, it is %s, not a directory "
				 "(not followed); inotify calls will fail", dir,
				 S_ISLNK(st.st_mode) ? "a symbolic link" : "a file");
			return -EACCES;
		}
		shim_log("domain %s: cannot open the directory: %s", dir, strerror(e));
		return -e;
	}
	if (fstat(fd, &st) < 0) {
		int e = errno;
		real_close(fd);
		return -e;
	}
	real_close(fd);
	if (st.st_uid != geteuid()) {
		shim_log("domain %s: refused, the directory belongs to uid %u, not %u; "
			 "inotify calls will fail", dir, (unsigned)st.st_uid,
			 (unsigned)geteuid());
		return -EACCES;
	}
	if (st.st_mode & 077) {
		shim_log("domain %s: refused, the directory is open to others (mode %o); "
			 "inotify calls will fail", dir, (unsigned)(st.st_mode & 0777));
		return -EACCES;
	}
	return 0;
}

static void init_robust_mutex(pthread_mutex_t *m)
{
	pthread_mutexattr_t a;

	pthread_mutexattr_init(&a);
	pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
	pthread_mutex_init(m, &a);
	pthread_mutexattr_destroy(&a);
}

static void fill_header(struct registry *r, const struct geometry *g)
{
	r->version = REGISTRY_VERSION;
	r->header_size = sizeof *r;
	r->total_size = g->total;
	r->uid = (uint32_t)geteuid();
	r->ninstances = REGISTRY_INSTANCES;
	r->ninodes = REGISTRY_WATCHES;
	r->nwatches = REGISTRY_WATCHES;
	r->ninode_buckets = g->ninode_buckets;
	r->nwd_buckets = g->nwd_buckets;
	r->off_instances = g->off_instances;
	r->off_inodes = g->off_inodes;
	r->off_watches = g->off_watches;
	r->off_inode_buckets = g->off_inode_buckets;
	r->off_wd_buckets = g->off_wd_buckets;
	init_robust_mutex(&r->lock);
	__atomic_store_n(&r->magic, REGISTRY_MAGIC, __ATOMIC_RELEASE);
}

/* Build a registry in a temporary file and link it into place.  Returns 0
 * when a registry now exists (ours or a racing process's). */
static int create_registry(const char *dir, const struct geometry *g)
{
	char tmp[PATH_MAX], final[PATH_MAX];
	struct registry *r;
	int fd, ret = 0;

	snprintf(tmp, sizeof tmp, "%s/registry.new-%d", dir, (int)getpid());
	snprintf(final, sizeof final, "%s/registry", dir);
	real_unlink(tmp);
	fd = real_open(tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (real_fchmod(fd, 0600) < 0 || real_ftruncate(fd, (off_t)g->total) < 0) {
		ret = -errno;
		goto out;
	}
	r = mmap(NULL, sizeof *r, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (r == MAP_FAILED) {
		ret = -errno;
		goto out;
	}
	fill_header(r, g);
	munmap(r, sizeof *r);
	if (real_link(tmp, final) < 0 && errno != EEXIST)
		ret = -errno;
out:
	real_close(fd);
	real_unlink(tmp);
	return ret;
}

static bool header_valid(const struct registry *r, const struct geometry *g)
{
	return __atomic_load_n(&r->magic, __ATOMIC_ACQUIRE) == REGISTRY_MAGIC &&
	       r->version == REGISTRY_VERSION && r->header_size == sizeof *r &&
	       r->total_size == g->total && r->ninstances == REGISTRY_INSTANCES &&
	       r->ninodes == REGISTRY_WATCHES && r->nwatches == REGISTRY_WATCHES &&
	       r->ninode_buckets == g->ninode_buckets &&
	       r->nwd_buckets == g->nwd_buckets &&
	       r->off_instances == g->off_instances &&
	       r->off_inodes == g->off_inodes && r->off_watches == g->off_watches &&
	       r->off_inode_buckets == g->off_inode_buckets &&
	       r->off_wd_buckets == g->off_wd_buckets &&
	       r->uid == (uint32_t)geteuid();
}

/* Open and map dir/registry.  -ENOENT: none yet; -EPROTO: one that is not
 * a valid registry of ours (why is left in *why, for the one message). */
static int map_registry(struct domain *d, const struct geometry *g,
			char *why, size_t whylen)
{
	char path[PATH_MAX];
	struct stat st;
	void *map;
	int fd;

	snprintf(path, sizeof path, "%s/registry", d->dir);
	/* O_NONBLOCK: a FIFO put in its place must not hang us in open() */
	fd = real_open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0);
	if (fd < 0) {
		if (errno == ELOOP) {
			snprintf(why, whylen, "it is a symbolic link (not followed)");
			return -EPROTO;
		}
		return -errno;
	}
	if (fstat(fd, &st) < 0) {
		int e = errno;
		real_close(fd);
		return -e;
	}
	if (!S_ISREG(st.st_mode))
		snprintf(why, whylen, "it is not a regular file");
	else if (st.st_uid != geteuid())
		snprintf(why, whylen, "it belongs to uid %u", (unsigned)st.st_uid);
	else if (st.st_mode & 077)
		snprintf(why, whylen, "it is open to others (mode %o)",
			 (unsigned)(st.st_mode & 0777));
	else if ((uint64_t)st.st_size != g->total)
		snprintf(why, whylen, "its size is %llu bytes, not %llu (truncated, "
			 "or another version)", (unsigned long long)st.st_size,
			 (unsigned long long)g->total);
	else
		why[0] = 0;
	if (why[0]) {
		real_close(fd);
		return -EPROTO;
	}
	map = mmap(NULL, g->total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	real_close(fd);
	if (map == MAP_FAILED)
		return -errno;
	if (!header_valid(map, g)) {
		const struct registry *r = map;
		snprintf(why, whylen, "%s",
			 r->magic != REGISTRY_MAGIC ? "it has the wrong magic number" :
			 r->version != REGISTRY_VERSION ? "it is of another version" :
			 "its header has the wrong geometry or owner");
		munmap(map, g->total);
		return -EPROTO;
	}
	d->reg = map;
	d->size = g->total;
	d->instances = (struct reg_instance *)((char *)map + g->off_instances);
	d->inodes = (struct reg_inode *)((char *)map + g->off_inodes);
	d->watches = (struct reg_watch *)((char *)map + g->off_watches);
	d->inode_buckets = (uint32_t *)((char *)map + g->off_inode_buckets);
	d->wd_buckets = (uint32_t *)((char *)map + g->off_wd_buckets);
	return 0;
}

/* Refuse a registry: one message, and move it aside (rename never follows
 * a link) so that a fresh one can be made. */
static void set_aside(const char *dir, const char *why)
{
	char from[PATH_MAX], to[PATH_MAX];

	snprintf(from, sizeof from, "%s/registry", dir);
	snprintf(to, sizeof to, "%s/registry.refused-%d", dir, (int)getpid());
	if (real_rename(from, to) == 0)
		shim_log("domain %s: refused its registry: %s; moved it to %s and "
			 "made a fresh one", dir, why, to);
	else
		shim_log("domain %s: refused its registry: %s", dir, why);
}

int domain_open(void)
{
	struct domain *d = &the_domain;
	struct geometry g;
	int ret;

	if (shim_domain)
		return 0;
	hold_lock_file = getenv("INOTIFY_SHIM_TEST_HOLD_LOCK");
	if (hold_lock_file && hold_lock_file[0] != '/')
		hold_lock_file = NULL;
	compute_geometry(&g);
	ret = resolve_dir(d->dir);
	if (ret < 0)
		return ret;
	ret = check_dir(d->dir);
	if (ret < 0)
		return ret;
	for (int attempt = 0; attempt < 3; attempt++) {
		char why[160];

		ret = map_registry(d, &g, why, sizeof why);
		if (ret == 0) {
			__atomic_store_n(&shim_domain, d, __ATOMIC_RELEASE);
			return 0;
		}
		if (ret == -EPROTO)
			set_aside(d->dir, why);
		else if (ret != -ENOENT)
			return ret;
		ret = create_registry(d->dir, &g);
		if (ret < 0) {
			shim_log("domain %s: cannot create the registry: %s",
				 d->dir, strerror(-ret));
			return ret;
		}
	}
	return -EPROTO;
}

/* The test hook: announce that the lock is held, then wait to be killed. */
static void hold_lock_forever(void)
{
	int fd = real_open(hold_lock_file, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
			   0600);
	if (fd >= 0)
		real_close(fd);
	for (;;)
		pause();
}

int domain_lock(struct domain *d)
{
	int r;

	sigdefer_begin();
	r = pthread_mutex_lock(&d->reg->lock);
	if (r == 0) {
		if (__builtin_expect(hold_lock_file != NULL, 0))
			hold_lock_forever();
		return 0;
	}
	if (r == EOWNERDEAD) {
		registry_repair(d);
		pthread_mutex_consistent(&d->reg->lock);
		d->reg->repairs++;
		shim_log_once("a process died holding the domain registry; "
			      "the registry was rebuilt");
		return 0;
	}
	sigdefer_end();
	shim_log_once("the domain registry lock failed: %s", strerror(r));
	return -r;
}

void domain_unlock(struct domain *d)
{
	pthread_mutex_unlock(&d->reg->lock);
	sigdefer_end();
}
