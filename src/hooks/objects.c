/*
 * objects.c - see objects.h.
 */
#include "objects.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fd/fdtable.h"
#include "util/real.h"

/* Split path into its directory part and last component, ignoring trailing
 * slashes.  Returns false when the last component is not a plain name. */
static bool split(const char *path, char *dir, size_t dirsize, char *name)
{
	size_t len = strlen(path);
	const char *slash, *base;
	size_t baselen, dirlen;

	while (len > 1 && path[len - 1] == '/')
		len--;
	if (len == 0 || len >= PATH_MAX)
		return false;
	slash = memrchr(path, '/', len);
	base = slash ? slash + 1 : path;
	baselen = len - (size_t)(base - path);
	if (baselen == 0 || baselen > NAME_MAX ||
	    (baselen == 1 && base[0] == '.') ||
	    (baselen == 2 && base[0] == '.' && base[1] == '.'))
		return false;
	memcpy(name, base, baselen);
	name[baselen] = 0;
	/* no snprintf: on every open with watches in the domain, its ~1,000
	 * instructions were a third of the hook's user-space cost */
	if (!slash)
		dirlen = 1, path = ".";
	else if (slash == path)
		dirlen = 1;
	else
		dirlen = (size_t)(slash - path);
	if (dirlen >= dirsize)
		return false;
	memcpy(dir, path, dirlen);
	dir[dirlen] = 0;
	return true;
}

/* The directory and name of fd, whose inode o has already, through
 * /proc/self/fd. */
static int names_from_fd(int fd, struct hook_obj *o)
{
	char link[64], path[PATH_MAX], dir[PATH_MAX];
	ssize_t n;

	o->has_dir = o->dir_late = false;
	o->name[0] = 0;
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof path - 1);
	if (n <= 0 || path[0] != '/')
		return 0;
	path[n] = 0;
	if (o->inode.nlink == 0 && n > 10 && !strcmp(path + n - 10, " (deleted)"))
		path[n - 10] = 0;
	if (split(path, dir, sizeof dir, o->name) &&
	    ident_stat(AT_FDCWD, dir, 0, &o->dir) == 0)
		o->has_dir = true;
	else
		o->name[0] = 0;
	return 0;
}

/* o afresh, with fd's inode only. */
static int obj_inode_of_fd(int fd, struct hook_obj *o)
{
	int ret;

	o->has_inode = o->has_dir = o->dir_late = false;
	o->name[0] = 0;
	ret = ident_fstat(fd, &o->inode);
	if (ret < 0)
		return ret;
	o->has_inode = true;
	return 0;
}

int obj_from_fd(int fd, struct hook_obj *o)
{
	int ret = obj_inode_of_fd(fd, o);

	return ret < 0 ? ret : names_from_fd(fd, o);
}

int obj_from_open(int dirfd, const char *path, int fd, int flags,
		  const struct inode_info *dirfd_inode, bool dir_late, struct hook_obj *o)
{
	char dir[PATH_MAX];
	struct inode_info entry;
	size_t len;
	int ret = obj_inode_of_fd(fd, o);

	if (ret < 0)
		return ret;
	if (dir_late) {
		o->dir_late = true;
		return 0;
	}
	/* A trailing slash follows a final symbolic link even with
	 * O_NOFOLLOW (and in a statx without it). */
	len = path ? strlen(path) : 0;
	if (len == 0 || path[len - 1] == '/' || !split(path, dir, sizeof dir, o->name))
		return names_from_fd(fd, o);
	/* A final symbolic link, followed, opens a file of another directory.
	 * O_NOFOLLOW and O_CREAT|O_EXCL fail on one; otherwise the entry must
	 * be the inode that was opened. */
	if (!(flags & O_NOFOLLOW) && (flags & (O_CREAT | O_EXCL)) != (O_CREAT | O_EXCL) &&
	    (ident_stat(dirfd, path, AT_SYMLINK_NOFOLLOW, &entry) < 0 ||
	     !ident_equal(&entry.id, &o->inode.id)))
		return names_from_fd(fd, o);
	if (dirfd_inode && !strchr(path, '/')) {
		o->dir = *dirfd_inode;
		o->has_dir = true;
	} else if (ident_stat(dirfd, dir, 0, &o->dir) == 0) {
		o->has_dir = true;
	} else {
		o->name[0] = 0;
	}
	return 0;
}

/* Bumped before and after every chdir and fchdir, so that a thread's
 * copy taken while one runs is dropped after it.  A vfork child shares the
 * parent's memory: one that changed directory and then opened a plain name
 * before exec (undefined behaviour for a vfork child, by POSIX) would leave
 * its directory here for the parent. */
static uint64_t cwd_gen = 1;
static __thread uint64_t cwd_cached_gen __attribute__((tls_model("initial-exec")));
static __thread struct inode_info cwd_cached __attribute__((tls_model("initial-exec")));

const struct inode_info *obj_cwd(void)
{
	uint64_t gen = __atomic_load_n(&cwd_gen, __ATOMIC_ACQUIRE);

	if (cwd_cached_gen != gen) {
		if (ident_stat(AT_FDCWD, ".", 0, &cwd_cached) < 0)
			return NULL;
		cwd_cached_gen = gen;
	}
	return &cwd_cached;
}

void obj_cwd_changed(void)
{
	__atomic_add_fetch(&cwd_gen, 1, __ATOMIC_ACQ_REL);
}

/* Resolve through an O_PATH fd: exact for ".", ".." and symbolic links. */
static int lookup_via_fd(int dirfd, const char *path, bool follow, struct hook_obj *o)
{
	int fd = real_openat(dirfd, path, O_PATH | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW), 0);
	int ret;

	if (fd < 0)
		return -errno;
	ret = obj_from_fd(fd, o);
	real_close(fd);
	return ret;
}

int obj_lookup_entry(int dirfd, const char *path, struct hook_obj *o)
{
	char dir[PATH_MAX];

	o->has_inode = o->has_dir = o->dir_late = false;
	if (!path)
		return -EFAULT;
	if (!split(path, dir, sizeof dir, o->name))
		return lookup_via_fd(dirfd, path, false, o);
	if (ident_stat(dirfd, dir, 0, &o->dir) == 0)
		o->has_dir = true;
	return 0;
}

int obj_lookup(int dirfd, const char *path, bool follow, struct hook_obj *o)
{
	int ret;

	if (!path)
		return -EFAULT;
	ret = obj_lookup_entry(dirfd, path, o);
	if (ret < 0)
		return ret;
	if (o->has_inode)	/* resolved through an fd already */
		return 0;
	ret = ident_stat(dirfd, path, AT_SYMLINK_NOFOLLOW, &o->inode);
	if (ret < 0)
		return ret;
	if (follow && S_ISLNK(o->inode.mode))
		return lookup_via_fd(dirfd, path, true, o);
	o->has_inode = true;
	return 0;
}

struct notify_obj obj_notify(const struct hook_obj *o, int fd)
{
	return (struct notify_obj){
		.inode = o->has_inode ? &o->inode : NULL,
		.dir = o->has_dir ? &o->dir : NULL,
		.name = o->has_dir ? o->name : NULL,
		.fd = fd,
	};
}

/* ---- who holds a directory open (obj_dir_held)
 *
 * The kernel gives a removed directory's IN_DELETE_SELF when its last
 * reference goes; leases, which tell it for a file (files.c), are for
 * regular files only, so the fds are looked at, as fuser does:
 * /proc/PID/fd, through getdents64 and readlinkat, which no hook sees.
 * Only asked when a watched directory is removed or closed after its
 * removal; this process's fds always, every other process's only when the
 * domain counts an open record of the directory elsewhere
 * (notify_dir_maybe_open()). */

/* The object the shim is in (the library, or a program linked with it),
 * as /proc/PID/maps names it, or "" if unknown: found when the object is
 * loaded, where realpath may allocate, not in a hook (which may run in a
 * signal handler). */
static char own_path[PATH_MAX];

__attribute__((constructor)) static void own_object_init(void)
{
	Dl_info info;

	/* maps name the file that a symbolic link (libfoo.so) leads to */
	if (!dladdr((void *)own_object_init, &info) || !info.dli_fname ||
	    !realpath(info.dli_fname, own_path))
		own_path[0] = 0;
}

static const char *own_object(void)
{
	return own_path;
}

/* Is the shim in process pid (its close will be seen)?  pid's maps name
 * the shim's object at the end of a line. */
static bool pid_under_shim(int procfd, const char *pid)
{
	const char *self = own_object();
	size_t slen = strlen(self);
	char rel[32], buf[2048];
	size_t have = 0;
	bool found = false;
	ssize_t n;
	int fd;

	if (!slen)
		return true;	/* cannot tell: count it */
	snprintf(rel, sizeof rel, "%s/maps", pid);
	fd = real_openat(procfd, rel, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return false;
	while (!found && (n = real_read(fd, buf + have, sizeof buf - 1 - have)) > 0) {
		char *line = buf, *nl;

		have += (size_t)n;
		buf[have] = 0;
		while ((nl = strchr(line, '\n'))) {
			size_t len = (size_t)(nl - line);
			if (len >= slen && !memcmp(nl - slen, self, slen)) {
				found = true;
				break;
			}
			line = nl + 1;
		}
		have -= (size_t)(line - buf);
		memmove(buf, line, have);
		if (have == sizeof buf - 1)
			have = 0;	/* a line longer than the buffer */
	}
	real_close(fd);
	return found;
}

/* Does fd dirfd/name (in /proc/PID/fd) link to path, and to id? */
static bool fd_links_to(int dirfd, const char *name, const char *path, size_t plen,
			const struct ident *id)
{
	char link[PATH_MAX];
	struct inode_info there;
	ssize_t n = readlinkat(dirfd, name, link, sizeof link);

	return n == (ssize_t)plen && !memcmp(link, path, plen) &&
	       ident_stat(dirfd, name, 0, &there) == 0 && ident_equal(&there.id, id);
}

/* An fd of this process that does not count: the one closing, the scan's
 * own, and those whose close events exit has given (lifecycle.c: they
 * close at the kernel's exit, after the scan). */
static bool skip_own(int fd, int skip, int fds, int procfd)
{
	struct ofd *o;

	if (fd == skip || fd == fds || fd == procfd)
		return true;
	o = fdtable_file(fd);
	return o && (__atomic_load_n(&o->flags, __ATOMIC_RELAXED) & OFD_EXITED);
}

/* Does process pid (a name in /proc) hold path at an fd other than skip? */
static bool pid_holds(int procfd, const char *pid, bool self, int skip,
		      const char *path, size_t plen, const struct ident *id)
{
	char rel[32], buf[1024] __attribute__((aligned(8)));
	bool held = false;
	long n;
	int fds;

	snprintf(rel, sizeof rel, "%s/fd", pid);
	fds = real_openat(procfd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (fds < 0)
		return false;
	while (!held && (n = getdents64(fds, buf, sizeof buf)) > 0) {
		for (long off = 0; off < n && !held;) {
			struct dirent64 *e = (struct dirent64 *)(buf + off);
			off += e->d_reclen;
			if (e->d_name[0] < '0' || e->d_name[0] > '9')
				continue;
			if (self && skip_own(atoi(e->d_name), skip, fds, procfd))
				continue;
			held = fd_links_to(fds, e->d_name, path, plen, id);
		}
	}
	real_close(fds);
	return held && (self || pid_under_shim(procfd, pid));
}

bool obj_dir_held(const char *path, const struct ident *id, int skip_fd, bool others)
{
	char buf[1024] __attribute__((aligned(8))), me[16];
	size_t plen = strlen(path);
	bool held = false;
	long n;
	int procfd, saved = errno;

	procfd = real_openat(AT_FDCWD, "/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (procfd < 0)
		return false;
	/* this process first: the common case, and the cheapest; by the
	 * number /proc knows it by (its pid namespace may not be ours) */
	n = readlinkat(procfd, "self", me, sizeof me - 1);
	me[n > 0 ? n : 0] = 0;
	held = pid_holds(procfd, "self", true, skip_fd, path, plen, id);
	while (!held && others && (n = getdents64(procfd, buf, sizeof buf)) > 0) {
		for (long off = 0; off < n && !held;) {
			struct dirent64 *e = (struct dirent64 *)(buf + off);
			off += e->d_reclen;
			if (e->d_name[0] < '1' || e->d_name[0] > '9' || !strcmp(e->d_name, me))
				continue;
			held = pid_holds(procfd, e->d_name, false, -1, path, plen, id);
		}
	}
	real_close(procfd);
	errno = saved;
	return held;
}

int obj_fd_path(int fd, char *path, size_t size)
{
	char link[64];
	ssize_t n;
	int saved = errno;

	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	n = readlink(link, path, size - 1);
	errno = saved;
	if (n <= 0 || path[0] != '/')
		return -1;
	path[n] = 0;
	return 0;
}
