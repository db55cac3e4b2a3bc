/*
 * domain.c - finding, creating, validating and mapping the domain's
 * registry; its lock and the repair after a holder died.  See domain.h.
 *
 * A registry is published whole: it is built in a temporary file and then
 * link(2)ed to its name, so no process ever maps a half-made one.  One that
 * fails validation (magic, version, sizes, owner, mode, type) is refused
 * with one message; if it is ours it is moved aside and a fresh one made.
 *
 * Who shares a domain: the rule.
 *
 *   Private (every default domain, and a named one that is not shared):
 *     the directory is owned by the user (euid) and closed to group and
 *     others (no bit of 077); every file in it is owned by the user and
 *     closed to group and others.  Files are created 0600.
 *
 *   Shared with a group (only a domain named by an absolute path in
 *   $INOTIFY_SHIM_DOMAIN or inotify_shim_configure, never a default one):
 *     the directory is mode 0770 or 2770 exactly (no bit for others, no
 *     sticky bit: members reclaim each other's dead instances), its group
 *     is the user's effective group or one of its supplementary groups,
 *     it carries no POSIX ACL (no system.posix_acl_access or
 *     system.posix_acl_default attribute: an ACL can let in a user outside
 *     the group while st_mode still reads 2770), and its owner is root or
 *     a member of its group: the user itself, or a user whose primary
 *     group it is in /etc/passwd or who is listed in it in /etc/group
 *     (sharing.c reads those two files with plain reads: no NSS module is
 *     loaded into a host program, so a member known only to LDAP or sssd
 *     must have root make the directory).  The owner rule is what stops a
 *     user outside the group who makes the directory inside a setgid
 *     parent that is open to him: it inherits the group without the
 *     kernel's check that a non-root owner gives a file only a group it is
 *     in.  Every file in it carries that group, has no bit for others and
 *     no ACL; its owner may be any member.  Files are created, then given
 *     the group (fchown) and mode 0660 (fchmod), whatever the umask.
 *     Carrying the group stands for "owned by a member": only members and
 *     root can create files in the directory.
 *
 *   Everything else is refused (with one message when INOTIFY_SHIM_DEBUG
 *   is set, util/log.h): a link or a file in the directory's place, another
 *   user's private directory, a directory open to others, one shared with
 *   a group the user is not in, one with an ACL or of an owner outside its
 *   group, a default domain open to the group.  A private directory needs
 *   no ACL check: an ACL's mask shows in the group bits of st_mode, which
 *   must be 0.  The shim never creates a shared directory:
 *   whoever shares one makes it (install -d -m 2770 -g GROUP DIR); a named
 *   directory that does not exist is made private (0700).
 *
 *   Sharing a domain is trusting its members: any of them can read every
 *   watch and event of the domain and write into any queue of it.  The
 *   limits (max_user_watches, max_user_instances) count the whole domain.
 *
 * Every file of the domain is opened with openat() from the directory that
 * was checked (domain_dir_open: opened again and compared by st_dev and
 * st_ino with the one checked at domain_open), O_NOFOLLOW | O_CLOEXEC, and
 * checked by fstat of the opened fd: neither a symbolic link nor a renamed
 * directory can substitute a file between the check and the use.
 */
#include "domain.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../util/config.h"
#include "backing.h"
#include "sharing.h"
#include "../util/log.h"
#include "../util/real.h"
#include "../util/shlock.h"
#include "../util/sigdefer.h"

struct domain *shim_domain;
static struct domain the_domain;


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

/* Is gid the effective group or a supplementary group of this process? */
static bool in_group(gid_t gid)
{
	gid_t groups[256];
	int n;

	if (gid == getegid())
		return true;
	n = getgroups(256, groups);
	for (int i = 0; i < n; i++)
		if (groups[i] == gid)
			return true;
	return false;
}

/* Apply the rule (top of this file) to the directory.  A symbolic link in
 * its place is refused, never followed. */
static int check_dir(struct domain *d, bool named)
{
	const char *dir = d->dir;
	unsigned mode;
	struct stat st;
	bool acl;
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
	/* only a directory that may be shared is asked (no cost otherwise) */
	acl = (st.st_mode & 077) && sharing_has_acl(fd);
	real_close(fd);
	mode = (unsigned)(st.st_mode & 07777);
	d->dir_dev = st.st_dev;
	d->dir_ino = st.st_ino;
	d->shared = false;
	if (!(mode & 077)) {
		if (st.st_uid == geteuid())
			return 0;
		shim_log("domain %s: refused, the directory belongs to uid %u, not %u; "
			 "inotify calls will fail", dir, (unsigned)st.st_uid,
			 (unsigned)geteuid());
		return -EACCES;
	}
	if (!named || (mode & 07)) {
		shim_log("domain %s: refused, the directory is open to others (mode %o)%s; "
			 "inotify calls will fail", dir, mode & 0777,
			 named ? "" : " and only a domain named by an absolute path "
				      "can be shared");
		return -EACCES;
	}
	if ((mode & ~(unsigned)S_ISGID) != 0770) {
		shim_log("domain %s: refused, a shared domain's directory must be mode "
			 "0770 or 2770, not %o; inotify calls will fail", dir, mode);
		return -EACCES;
	}
	if (!in_group(st.st_gid)) {
		shim_log("domain %s: refused, the directory is shared with group %u, "
			 "which is not one of this process's; inotify calls will fail",
			 dir, (unsigned)st.st_gid);
		return -EACCES;
	}
	if (acl) {
		shim_log("domain %s: refused, the shared directory carries a POSIX ACL, "
			 "which may let in others than its group; inotify calls will fail",
			 dir);
		return -EACCES;
	}
	if (!sharing_owner_is_member(st.st_uid, st.st_gid)) {
		shim_log("domain %s: refused, the shared directory's owner, uid %u, is "
			 "neither root nor a member of its group %u (by /etc/passwd and "
			 "/etc/group); inotify calls will fail", dir, (unsigned)st.st_uid,
			 (unsigned)st.st_gid);
		return -EACCES;
	}
	d->shared = true;
	d->gid = st.st_gid;
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

/* The parts of the registry read without the lock at any index, backed
 * when it is made: [0, off_inodes) (header, instances) and
 * [off_inode_buckets, total) (both bucket arrays).  The records between
 * are backed on demand (registry.c: registry_back_records). */
static uint64_t upfront_bytes(const struct geometry *g)
{
	return g->off_inodes + (g->total - g->off_inode_buckets);
}

/* Build a registry in a temporary file and link it into place.  Returns 0
 * when a registry now exists (ours or a racing process's); -ENOSPC or
 * -ENOMEM when the file system cannot back it. */
static int create_registry(const struct domain *d, const struct geometry *g)
{
	char tmp[64];
	struct registry *r;
	int dfd, fd, ret = 0;

	dfd = domain_dir_open(d);
	if (dfd < 0)
		return dfd;
	snprintf(tmp, sizeof tmp, "registry.new-%d", (int)getpid());
	real_unlinkat(dfd, tmp, 0);
	fd = real_openat(dfd, tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		ret = -errno;
		real_close(dfd);
		return ret;
	}
	ret = domain_file_share(d, fd);
	if (ret < 0)
		goto out;
	if (real_ftruncate(fd, (off_t)g->total) < 0) {
		ret = -errno;
		goto out;
	}
	r = mmap(NULL, g->total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (r == MAP_FAILED) {
		ret = -errno;
		goto out;
	}
	ret = backing_fallocate(fd, r, 0, g->off_inodes);
	if (ret == 0)
		ret = backing_fallocate(fd, r, g->off_inode_buckets,
					g->total - g->off_inode_buckets);
	if (ret == 0)
		fill_header(r, g);
	munmap(r, g->total);
	if (ret == 0 && real_linkat(dfd, tmp, dfd, "registry", 0) < 0 && errno != EEXIST)
		ret = -errno;
out:
	real_close(fd);
	real_unlinkat(dfd, tmp, 0);
	real_close(dfd);
	return ret;
}

/* owner: the file's owner, who made the registry and wrote its header */
static bool header_valid(const struct registry *r, const struct geometry *g,
			 uid_t owner)
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
	       r->uid == (uint32_t)owner;
}

/* Is every page that the header says is backed backed (asked on tmpfs
 * only, backing.h: backing_blocks_count)?  The counts are
 * read first, and st_blocks after them: records are fallocated before
 * their count is stored, so a registry growing meanwhile is never taken
 * for one with holes.  A hole where no page may be missing (punched, or a
 * sparse copy) would be allocated by its first read on tmpfs, and fault
 * on a full file system: such a registry is refused.  Leaves why empty
 * when it is whole. */
static void check_backed(const struct registry *r, const struct geometry *g, int fd,
			 char *why, size_t whylen)
{
	uint32_t ni = __atomic_load_n(&r->inode_backed, __ATOMIC_ACQUIRE);
	uint32_t nw = __atomic_load_n(&r->watch_backed, __ATOMIC_ACQUIRE);
	uint64_t want = upfront_bytes(g);
	struct stat st;

	why[0] = 0;
	if (ni > REGISTRY_WATCHES || nw > REGISTRY_WATCHES) {
		snprintf(why, whylen, "its backed counts are out of range");
		return;
	}
	want += ni ? ((uint64_t)ni + 1) * sizeof(struct reg_inode) / 4096 * 4096 : 0;
	want += nw ? ((uint64_t)nw + 1) * sizeof(struct reg_watch) / 4096 * 4096 : 0;
	if (backing_blocks_count(fd) && fstat(fd, &st) == 0 &&
	    (uint64_t)st.st_blocks * 512 < want)
		snprintf(why, whylen, "it is not backed (%llu of %llu bytes; holes "
			 "punched, or a sparse copy)",
			 (unsigned long long)st.st_blocks * 512, (unsigned long long)want);
}

/* Open and map dir/registry.  -ENOENT: none yet; -EPROTO: one that is not
 * a valid registry of ours (why is left in *why, for the one message). */
static int map_registry(struct domain *d, const struct geometry *g,
			char *why, size_t whylen)
{
	struct stat st;
	void *map;
	int fd, ret;

	/* O_NONBLOCK: a FIFO put in its place must not hang us in open() */
	fd = domain_openat(d, "registry", O_RDWR | O_NONBLOCK, 0);
	if (fd < 0) {
		if (fd == -ELOOP) {
			snprintf(why, whylen, "it is a symbolic link (not followed)");
			return -EPROTO;
		}
		return fd;
	}
	if (fstat(fd, &st) < 0) {
		int e = errno;
		real_close(fd);
		return -e;
	}
	if (!S_ISREG(st.st_mode))
		snprintf(why, whylen, "it is not a regular file");
	else if (domain_file_refused(d, fd, &st, why, whylen))
		;
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
	if (map == MAP_FAILED) {
		int e = errno;
		real_close(fd);
		return -e;
	}
	/* (this also tells backing.c whether the kernel can populate) */
	ret = backing_populate(map, 4096);
	if (ret < 0 && ret != -EOPNOTSUPP)
		snprintf(why, whylen, "its header is not backed (a hole, on a full "
			 "file system)");
	else if (!header_valid(map, g, st.st_uid)) {
		const struct registry *r = map;
		snprintf(why, whylen, "%s",
			 r->magic != REGISTRY_MAGIC ? "it has the wrong magic number" :
			 r->version != REGISTRY_VERSION ? "it is of another version" :
			 "its header has the wrong geometry or owner");
	} else
		check_backed(map, g, fd, why, whylen);
	real_close(fd);
	if (why[0]) {
		munmap(map, g->total);
		return -EPROTO;
	}
	d->reg = map;
	d->size = g->total;
	d->reg_dev = st.st_dev;
	d->reg_ino = st.st_ino;
	d->instances = (struct reg_instance *)((char *)map + g->off_instances);
	d->inodes = (struct reg_inode *)((char *)map + g->off_inodes);
	d->watches = (struct reg_watch *)((char *)map + g->off_watches);
	d->inode_buckets = (uint32_t *)((char *)map + g->off_inode_buckets);
	d->wd_buckets = (uint32_t *)((char *)map + g->off_wd_buckets);
	return 0;
}

/* Refuse a registry: one message, and move it aside (rename never follows
 * a link) so that a fresh one can be made. */
static void set_aside(const struct domain *d, const char *why)
{
	char to[64];

	snprintf(to, sizeof to, "registry.refused-%d", (int)getpid());
	if (domain_renameat(d, "registry", to) == 0)
		shim_log("domain %s: refused its registry: %s; moved it to %s and "
			 "made a fresh one", d->dir, why, to);
	else
		shim_log("domain %s: refused its registry: %s", d->dir, why);
}

int domain_open(void)
{
	struct domain *d = &the_domain;
	struct geometry g;
	uint64_t refused = 0;
	int ret;

	if (shim_domain)
		return 0;
	compute_geometry(&g);
	ret = resolve_dir(d->dir);
	if (ret < 0)
		return ret;
	ret = check_dir(d, shim_config.domain[0] == '/');
	if (ret < 0)
		return ret;
	for (int attempt = 0; attempt < 3; attempt++) {
		char why[160];

		ret = map_registry(d, &g, why, sizeof why);
		if (ret == 0) {
			if (refused)	/* counted where inotify-shim ps shows it */
				__atomic_add_fetch(&d->reg->refusals, refused, __ATOMIC_RELAXED);
			__atomic_store_n(&shim_domain, d, __ATOMIC_RELEASE);
			return 0;
		}
		if (ret == -EPROTO) {
			set_aside(d, why);
			refused++;
		} else if (ret != -ENOENT) {
			return ret;
		}
		ret = create_registry(d, &g);
		if (ret < 0) {
			shim_log("domain %s: cannot create the registry: %s",
				 d->dir, strerror(-ret));
			return ret;
		}
	}
	return -EPROTO;
}

/* Add one to the counter at offset off of the registry header. */
static void note(size_t off)
{
	struct domain *d = __atomic_load_n(&shim_domain, __ATOMIC_ACQUIRE);

	if (d)
		__atomic_add_fetch((uint64_t *)((char *)d->reg + off), 1, __ATOMIC_RELAXED);
}

void domain_note_lost_overflow(void)
{
	note(offsetof(struct registry, lost_overflows));
}

void domain_note_storage_failure(void)
{
	note(offsetof(struct registry, storage_failures));
}

void domain_note_refusal(void)
{
	note(offsetof(struct registry, refusals));
}

static void repair_registry(void *d)
{
	registry_repair(d);
}

/* registry.lock: the bounded wait of util/shlock.h. */
int domain_lock(struct domain *d)
{
	int r = shlock_take_repair(&d->reg->lock, &d->reg->lock_rec, SHLOCK_REGISTRY,
				   repair_registry, d);

	if (r > 0) {
		d->reg->repairs++;
		shim_log_once("a process died holding the domain registry; "
			      "the registry was rebuilt");
	}
	if (r >= 0)
		return 0;
	if (r != -ETIMEDOUT)
		shim_log_once("the domain registry lock failed: %s", strerror(-r));
	return r;
}

void domain_unlock(struct domain *d)
{
	pthread_mutex_unlock(&d->reg->lock);
	sigdefer_end();
}
