/*
 * exec.c - the events of executing a file: what the kernel's execve gives
 * on the file it opens, and on the interpreter it names.
 *
 * What the kernel gives (this machine's, test/exec_events.c):
 *   - the executed file: IN_OPEN when exec opens it, one IN_ACCESS for each
 *     read of it by the kernel (the first bytes; for an ELF, also its
 *     program headers and, when it has one, its interpreter's name), and
 *     IN_CLOSE_NOWRITE when its last reference goes: a #! script's at the
 *     end of the exec, an ELF's when the last process running the image
 *     ends (fork children share it);
 *   - a #! script's interpreter: the same, as the file that runs; an ELF's
 *     interpreter (ld.so): IN_OPEN, two IN_ACCESS, and IN_CLOSE_NOWRITE
 *     with the image's, after it (its mapping holds it);
 *   - the closes at the end of the exec come last in, first out: the
 *     close-on-exec fds' (share.c), then the script's;
 *   - an exec that fails having opened the file (ENOEXEC, or an
 *     interpreter that is missing or not executable): IN_OPEN, IN_ACCESS
 *     as above, IN_CLOSE_NOWRITE; one that fails before (ENOENT of the
 *     file itself, EACCES of its mode): nothing.
 * Each event goes to the directory's watches with the name, then to the
 * file's own, as for any open.
 *
 * How the shim gives them: the old image cannot report after a successful
 * exec, so the new image does, from the library's constructor, before the
 * program runs: /proc/self/exe is the file that runs, AT_EXECFN the name
 * that was executed (a script, when the two differ), AT_BASE says that an
 * interpreter was loaded and the program headers name it.  The image's
 * close is reported at exit (lifecycle.c) by the last process running it:
 * fork() counts them in a shared page.  An image that an exec ends (its
 * last process execs) cannot report after the exec: it tells the next
 * image, by an entry added to the environment the exec passes
 * (INOTIFY_SHIM_EXEC_CLOSED, removed again by the next image's
 * constructor), and the next image reports the close after its own open,
 * as the kernel orders them.  A failed exec is reported by the old image,
 * after the call.
 *
 * The objects that ld.so loads at start (opened and read by ld.so, before
 * any code of the shim runs) are reported from the constructor too, from
 * the link maps, and their closes with the image's.
 *
 * Limits: an image that is not under the shim (static, setuid) reports
 * nothing, nor the close of the image before it; objects loaded by
 * dlopen() report neither their open nor dlclose()'s close (their closes
 * at exit are reported); the failed attempts of a PATH search (execvp,
 * execlp, posix_spawnp of a bare name, and the retry with /bin/sh after
 * ENOEXEC) report nothing.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hooks/exec.h"
#include "hooks-real.h"
#include "domain/domain.h"
#include "notify/notify.h"
#include "util/ident.h"

struct exec_file {
	struct inode_info inode, dir;
	bool have_dir;
	const char *name;
	char path[PATH_MAX];
};

/* The process that owns this image's memory (a vfork child shares it) and
 * the count of processes running the image, once it has forked. */
static pid_t image_pid;
static uint32_t *image_holders;
static bool image_uncounted;	/* a fork the count could not follow */
static struct exec_file script;	/* the script run, until its close */
static bool script_open;

/* Fill f from an absolute, resolved path (copied in, unless it is
 * f->path already: the exit path keeps to one PATH_MAX of stack). */
static bool file_at(struct exec_file *f, const char *path)
{
	char *slash;
	size_t n = strlen(path);

	if (path[0] != '/' || n >= sizeof f->path)
		return false;
	if (path != f->path)
		memcpy(f->path, path, n + 1);
	if (ident_stat(AT_FDCWD, f->path, 0, &f->inode) < 0 || !S_ISREG(f->inode.mode))
		return false;
	slash = strrchr(f->path, '/');
	f->name = slash + 1;
	*slash = 0;
	f->have_dir = ident_stat(AT_FDCWD, slash == f->path ? "/" : f->path, 0, &f->dir) == 0;
	*slash = '/';
	return true;
}

/* The path of what fd is open on, every link resolved. */
static bool fd_path(int fd, char real[PATH_MAX])
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	n = readlink(link, real, PATH_MAX - 1);
	if (n <= 0)
		return false;
	real[n] = 0;
	return true;
}

/* dirfd/path (AT_EMPTY_PATH: dirfd itself) with every link resolved; by
 * an O_PATH open (which makes no event), so that this is safe where the
 * _exit hook runs. */
static bool file_resolved(struct exec_file *f, int dirfd, const char *path, int flags)
{
	bool ok;
	int fd;

	if ((flags & AT_EMPTY_PATH) && path && !*path)
		return fd_path(dirfd, f->path) && file_at(f, f->path);
	if (!path || !*path)
		return false;
	fd = real_openat(dirfd, path, O_PATH | O_CLOEXEC, 0);
	if (fd < 0)
		return false;
	ok = fd_path(fd, f->path);
	real_close(fd);
	return ok && file_at(f, f->path);
}

static void report(const struct exec_file *f, uint32_t mask)
{
	struct notify_obj o = {
		.inode = &f->inode,
		.dir = f->have_dir ? &f->dir : NULL,
		.name = f->name,
		.fd = -1,
	};

	notify_child(mask, &o);
}

static void opened(const struct exec_file *f, int reads)
{
	report(f, IN_OPEN);
	for (int i = 0; i < reads; i++)
		report(f, IN_ACCESS);
}

/* How many times the kernel reads f when it executes it, as far as the
 * file's first bytes tell: one for a script or a format it does not know;
 * for an ELF of this machine, the program headers too, and the name of
 * the interpreter when there is one. */
static int kernel_reads(const struct exec_file *f)
{
	ElfW(Ehdr) eh;
	int fd = real_open(f->path, O_RDONLY | O_CLOEXEC, 0), reads = 1;

	if (fd < 0)
		return reads;
	if (real_pread(fd, &eh, sizeof eh, 0) == (ssize_t)sizeof eh &&
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0 && eh.e_ident[EI_CLASS] == ELFCLASS64 &&
	    (eh.e_type == ET_EXEC || eh.e_type == ET_DYN) && eh.e_machine == EM_X86_64 &&
	    eh.e_phentsize == sizeof(ElfW(Phdr)) && eh.e_phnum > 0 && eh.e_phnum < 4096) {
		reads = 2;
		for (unsigned i = 0; i < eh.e_phnum; i++) {
			ElfW(Phdr) ph;
			if (real_pread(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + i * sizeof ph)) !=
			    (ssize_t)sizeof ph)
				break;
			if (ph.p_type == PT_INTERP) {
				reads = 3;
				break;
			}
		}
	}
	real_close(fd);
	return reads;
}

/* The interpreter named by this image's PT_INTERP, from the program
 * headers in memory. */
static bool interpreter(struct exec_file *f)
{
	const ElfW(Phdr) *ph = (const ElfW(Phdr) *)getauxval(AT_PHDR);
	unsigned long n = getauxval(AT_PHNUM);
	uintptr_t bias = 0;
	const char *name = NULL;

	if (!ph || !n)
		return false;
	for (unsigned long i = 0; i < n; i++)
		if (ph[i].p_type == PT_PHDR)
			bias = (uintptr_t)ph - ph[i].p_vaddr;
	for (unsigned long i = 0; i < n; i++)
		if (ph[i].p_type == PT_INTERP)
			name = (const char *)(bias + ph[i].p_vaddr);
	return name && file_resolved(f, AT_FDCWD, name, 0);
}

/* The file this image runs, as /proc/self/exe names it now. */
static bool running(struct exec_file *f)
{
	ssize_t n = readlink("/proc/self/exe", f->path, sizeof f->path - 1);
	static const char deleted[] = " (deleted)";

	if (n <= 0)
		return false;
	f->path[n] = 0;
	if ((size_t)n > sizeof deleted - 1 &&
	    !strcmp(f->path + n - (sizeof deleted - 1), deleted))
		return false;
	return file_at(f, f->path);
}

static bool is_script(const struct exec_file *f)
{
	char head[2];
	int fd = real_open(f->path, O_RDONLY | O_CLOEXEC, 0);
	bool yes;

	if (fd < 0)
		return false;
	yes = real_pread(fd, head, 2, 0) == 2 && head[0] == '#' && head[1] == '!';
	real_close(fd);
	return yes;
}

/* ---- the objects ld.so mapped: every link map with a file but the
 * program's own.  ld.so opens each, reads its first 832 bytes (and its
 * program headers again when they lie beyond), maps it and closes the fd:
 * IN_OPEN, IN_ACCESS (three when the program headers lie beyond those
 * bytes: glibc 2.36's open_verify() and _dl_map_object_from_fd() each
 * read them); the mapping holds the file until the memory goes
 * (exit, exec, dlclose), so its IN_CLOSE_NOWRITE comes then. */
#define LD_READ 832	/* glibc's first read of an object */

static bool map_file(struct exec_file *f, const struct link_map *lm)
{
	return lm->l_name && lm->l_name[0] == '/' && file_resolved(f, AT_FDCWD, lm->l_name, 0);
}

static int ld_reads(const struct exec_file *f)
{
	ElfW(Ehdr) eh;
	int fd = real_open(f->path, O_RDONLY | O_CLOEXEC, 0), reads = 1;

	if (fd < 0)
		return reads;
	if (real_pread(fd, &eh, sizeof eh, 0) == (ssize_t)sizeof eh &&
	    eh.e_phoff + (uint64_t)eh.e_phnum * sizeof(ElfW(Phdr)) > LD_READ)
		reads = 3;
	real_close(fd);
	return reads;
}

/* The maps in the order their closes come when the memory goes: the
 * mappings' references drop in address order and the work runs last in,
 * first out, so the highest address first.  fn(f, arg) for each; f is one
 * buffer, reused (the exit path keeps to little stack). */
static void each_mapping(struct exec_file *f, const struct ident *exe,
			 void (*fn)(struct exec_file *, void *), void *arg)
{
	uintptr_t below = UINTPTR_MAX;

	for (unsigned pass = 0; pass < 4096; pass++) {
		const struct link_map *best = NULL;

		for (const struct link_map *lm = _r_debug.r_map; lm; lm = lm->l_next)
			if (lm->l_name && lm->l_name[0] == '/' && lm->l_addr < below &&
			    (!best || lm->l_addr > best->l_addr))
				best = lm;
		if (!best)
			return;
		below = best->l_addr;
		/* the program's own file (run as "ld.so PROG", ld.so is the
		 * image) closes as the image */
		if (map_file(f, best) && !ident_equal(&f->inode.id, exe))
			fn(f, arg);
	}
}

static void closed_fn(struct exec_file *f, void *arg)
{
	(void)arg;
	report(f, IN_CLOSE_NOWRITE);
}

/* ---- the image an exec ends: "NAME=PID:DEV:INO:EXE\nLD" (LD may be
 * empty); the next image checks the pid (exec keeps it) and the inode */
#define CLOSED_ENV "INOTIFY_SHIM_EXEC_CLOSED"
static bool exec_counted;	/* exec_before() took this process's count */

bool exec_entry_is_ours(const char *entry)
{
	return !strncmp(entry, CLOSED_ENV "=", sizeof CLOSED_ENV);
}

struct entry_out {
	char *buf;
	size_t size, len;
};

static void append_fn(struct exec_file *f, void *arg)
{
	struct entry_out *o = arg;
	size_t n = strlen(f->path);

	if (o->len + 1 + n < o->size) {
		o->buf[o->len++] = '\n';
		memcpy(o->buf + o->len, f->path, n + 1);
		o->len += n;
	}
}

bool exec_before(char *entry, size_t size)
{
	struct exec_file exe, ld;
	bool watching = domain_watching();
	int n;

	exec_counted = false;
	if ((!watching && !image_holders) || image_uncounted || !image_pid ||
	    getpid() != image_pid)	/* a vfork child's exec ends nothing */
		return false;
	if (image_holders) {
		exec_counted = true;
		if (__atomic_sub_fetch(image_holders, 1, __ATOMIC_RELAXED) != 0)
			return false;
	}
	if (!watching || !running(&exe))
		return false;
	n = snprintf(entry, size, CLOSED_ENV "=%d:%llu:%llu:%s", (int)getpid(),
		     (unsigned long long)exe.inode.id.dev, (unsigned long long)exe.inode.id.ino,
		     exe.path);
	if (n <= 0 || (size_t)n >= size)
		return false;
	/* then the mappings' files, one a line, as many as fit */
	struct entry_out out = { entry, size, (size_t)n };
	each_mapping(&ld, &exe.inode.id, append_fn, &out);
	return true;
}

/* The next image: the close of the one that exec ended, after the
 * close-on-exec closes. */
static void closed_by_exec(void)
{
	const char *v = getenv(CLOSED_ENV), *nl = NULL;
	struct exec_file exe, ld;
	unsigned long long dev, ino;
	char path[PATH_MAX];
	int pid, at = 0;

	if (!v)
		return;
	if (sscanf(v, "%d:%llu:%llu:%n", &pid, &dev, &ino, &at) == 3 && at > 0 &&
	    pid == getpid() && ((nl = strchr(v + at, '\n')) || (nl = v + at + strlen(v + at))) &&
	    (size_t)(nl - v - at) < sizeof path) {
		memcpy(path, v + at, (size_t)(nl - v - at));
		path[nl - v - at] = 0;
		if (file_at(&exe, path) && exe.inode.id.dev == dev && exe.inode.id.ino == ino)
			report(&exe, IN_CLOSE_NOWRITE);
		/* then the old mappings' files */
		for (const char *line = nl + 1, *end; *line; line = *end ? end + 1 : end) {
			end = strchr(line, '\n');
			if (!end)
				end = line + strlen(line);
			if ((size_t)(end - line) < sizeof path) {
				memcpy(path, line, (size_t)(end - line));
				path[end - line] = 0;
				if (file_at(&ld, path))
					report(&ld, IN_CLOSE_NOWRITE);
			}
		}
	}
	unsetenv(CLOSED_ENV);
}

void exec_image_start(void)
{
	struct exec_file exe, ld;
	const char *execfn;

	image_pid = getpid();
	if (!domain_watching() || !running(&exe))
		return;
	execfn = (const char *)getauxval(AT_EXECFN);
	if (execfn && file_resolved(&script, AT_FDCWD, execfn, 0) &&
	    !ident_equal(&script.inode.id, &exe.inode.id) && is_script(&script)) {
		script_open = true;
		opened(&script, 1);
	}
	opened(&exe, getauxval(AT_BASE) ? 3 : 2);
	if (getauxval(AT_BASE) && interpreter(&ld))
		opened(&ld, 2);
	/* then what ld.so loaded, in its order (the exec's ld.so is not
	 * one of them; a program run as "ld.so PROG" is, as ld.so opens it) */
	for (const struct link_map *lm = _r_debug.r_map; lm; lm = lm->l_next)
		if ((!getauxval(AT_BASE) || lm->l_addr != getauxval(AT_BASE)) && map_file(&ld, lm) &&
		    !ident_equal(&ld.inode.id, &exe.inode.id))
			opened(&ld, ld_reads(&ld));
}

void exec_image_started(void)
{
	if (domain_watching())
		closed_by_exec();
	else if (getenv(CLOSED_ENV))
		unsetenv(CLOSED_ENV);
	if (script_open) {
		script_open = false;
		report(&script, IN_CLOSE_NOWRITE);
	}
}

/* ---- the processes running this image */

void exec_image_before_fork(void)
{
	/* forked while nothing was watched: no count, and no close at exit
	 * (as share.c's OFD_SHARED), so that such a fork costs no call */
	if (!image_holders && !image_uncounted && !domain_watching())
		image_uncounted = true;
	if (!image_holders && !image_uncounted) {
		void *p = mmap(NULL, sizeof *image_holders, PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			image_uncounted = true;
			return;
		}
		image_holders = p;
		*image_holders = 1;
	}
	if (image_holders)
		__atomic_add_fetch(image_holders, 1, __ATOMIC_RELAXED);
}

void exec_image_after_fork(pid_t pid)
{
	if (pid == 0)
		image_pid = getpid();
	else if (pid < 0 && image_holders)
		__atomic_sub_fetch(image_holders, 1, __ATOMIC_RELAXED);
}

/* This process stops running the image: is it the last? */
static bool last_holder(void)
{
	if (image_uncounted || !image_pid || getpid() != image_pid)	/* a vfork child */
		return false;
	return !image_holders || __atomic_sub_fetch(image_holders, 1, __ATOMIC_RELAXED) == 0;
}

void exec_image_exit(void)
{
	bool watching = domain_watching();
	struct exec_file f;	/* one at a time: _exit may run on a small stack */

	/* the count goes down whether or not anything is watched now */
	if ((!watching && !image_holders) || !last_holder() || !watching)
		return;
	/* the image's file, then the mappings' (the mm drops the mappings'
	 * references first, the exe_file's last, and the work runs last in,
	 * first out) */
	struct ident exe = { 0 };

	if (running(&f)) {
		exe = f.inode.id;
		report(&f, IN_CLOSE_NOWRITE);
	}
	each_mapping(&f, &exe, closed_fn, NULL);
}

void exec_failed(int dirfd, const char *path, int flags, int err)
{
	struct exec_file f;

	/* the image goes on: its count back */
	if (exec_counted)
		__atomic_add_fetch(image_holders, 1, __ATOMIC_RELAXED);
	exec_counted = false;
	if (!domain_watching())
		return;
	/* failures after the open: the format, or the interpreter */
	if (err != ENOEXEC && err != ENOENT && err != EACCES && err != ELIBBAD)
		return;
	if (!file_resolved(&f, dirfd, path, flags))
		return;
	/* ... of a file that exec could open: executable, readable or not */
	if (faccessat(AT_FDCWD, f.path, X_OK, AT_EACCESS) != 0)
		return;
	opened(&f, kernel_reads(&f));
	report(&f, IN_CLOSE_NOWRITE);
}
