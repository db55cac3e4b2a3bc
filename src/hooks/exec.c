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
 * Limits: an image that is not under the shim (static, setuid) reports
 * nothing, nor the close of the image before it; the shared libraries that
 * ld.so maps report nothing (their opens happen before any code of the
 * shim runs); the failed attempts of a PATH search (execvp, execlp,
 * posix_spawnp of a bare name, and the retry with /bin/sh after ENOEXEC)
 * report nothing.
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

/* ---- the image an exec ends: "NAME=PID:DEV:INO:EXE\nLD" (LD may be
 * empty); the next image checks the pid (exec keeps it) and the inode */
#define CLOSED_ENV "INOTIFY_SHIM_EXEC_CLOSED"
static bool exec_counted;	/* exec_before() took this process's count */

bool exec_entry_is_ours(const char *entry)
{
	return !strncmp(entry, CLOSED_ENV "=", sizeof CLOSED_ENV);
}

bool exec_before(char *entry, size_t size)
{
	struct exec_file exe, ld;
	bool watching = domain_watching(), has_ld;
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
	has_ld = getauxval(AT_BASE) && interpreter(&ld);
	n = snprintf(entry, size, CLOSED_ENV "=%d:%llu:%llu:%s\n%s", (int)getpid(),
		     (unsigned long long)exe.inode.id.dev, (unsigned long long)exe.inode.id.ino,
		     exe.path, has_ld ? ld.path : "");
	return n > 0 && (size_t)n < size;
}

/* The next image: the close of the one that exec ended, after the
 * close-on-exec closes. */
static void closed_by_exec(void)
{
	const char *v = getenv(CLOSED_ENV), *nl;
	struct exec_file exe, ld;
	unsigned long long dev, ino;
	char path[PATH_MAX];
	int pid, at = 0;

	if (!v)
		return;
	if (sscanf(v, "%d:%llu:%llu:%n", &pid, &dev, &ino, &at) == 3 && at > 0 &&
	    pid == getpid() && (nl = strchr(v + at, '\n')) && (size_t)(nl - v - at) < sizeof path) {
		memcpy(path, v + at, (size_t)(nl - v - at));
		path[nl - v - at] = 0;
		if (file_at(&exe, path) && exe.inode.id.dev == dev && exe.inode.id.ino == ino)
			report(&exe, IN_CLOSE_NOWRITE);
		if (nl[1] && file_at(&ld, nl + 1))
			report(&ld, IN_CLOSE_NOWRITE);
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
	/* the image's file, then its interpreter's (the mm drops the
	 * mappings' references first, the exe_file's last, and the work
	 * runs last in, first out) */
	if (running(&f))
		report(&f, IN_CLOSE_NOWRITE);
	if (getauxval(AT_BASE) && interpreter(&f))
		report(&f, IN_CLOSE_NOWRITE);
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
