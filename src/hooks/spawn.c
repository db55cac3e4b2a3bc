/*
 * spawn.c - the wrappers around starting programs: fork, the exec family
 * and posix_spawn.  They tell share.c (open files held by several
 * processes) before and after, and exec.c (the events of the executed
 * file: a failed exec's, and the processes that run one image); what they
 * return and leave in errno is the real call's.  A process with no
 * open-file record and nothing watched pays a few loads.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdlib.h>
#include <spawn.h>
#include <string.h>
#include <unistd.h>

#include "hooks/exec.h"
#include "hooks/families.h"
#include "hooks-real.h"
#include "util/export.h"

/* ---- the exec family.  When this image ends with the exec (exec.c), the
 * next one is told, by an entry added to its environment, so that it
 * reports the close after its own open: the caller's environment is
 * copied, on the stack, with the entry at its end. */
enum exec_kind { EXEC_VE, EXEC_V, EXEC_VP, EXEC_VPE, EXEC_F, EXEC_AT };

struct exec_call {
	enum exec_kind kind;
	int dirfd;		/* the fd of fexecve, the dirfd of execveat */
	const char *path;
	char *const *argv;
	char *const *envp;
	int flags;
};

static int exec_real(const struct exec_call *c, char *const *envp)
{
	switch (c->kind) {
	case EXEC_VE:
	case EXEC_V:
		return real_execve(c->path, c->argv, envp);
	case EXEC_VP:
	case EXEC_VPE:
		return real_execvpe(c->path, c->argv, envp);
	case EXEC_F:
		return real_fexecve(c->dirfd, c->argv, envp);
	case EXEC_AT:
		return real_execveat(c->dirfd, c->path, c->argv, envp, c->flags);
	}
	errno = EINVAL;
	return -1;
}

static int exec_wrapper(const struct exec_call *c)
{
	char entry[EXEC_ENTRY_MAX];
	int saved = errno, ret;
	bool closing;
	size_t n = 0;

	share_before_exec();
	closing = exec_before(entry, sizeof entry);
	for (char *const *e = c->envp; closing && e && *e; e++)
		n++;
	/* the copy is on the stack: a huge environment goes as it is */
	if (n > 4096)
		closing = false;
	{
		char *envp[closing ? n + 2 : 1];
		size_t k = 0;

		if (closing) {
			for (size_t i = 0; i < n; i++)
				if (!exec_entry_is_ours(c->envp[i]))
					envp[k++] = c->envp[i];
			envp[k++] = entry;
		}
		envp[k] = NULL;
		errno = saved;
		ret = exec_real(c, closing ? envp : c->envp);
	}
	saved = errno;
	/* a failure: the search of the p forms is not followed */
	exec_failed(c->dirfd, (c->kind == EXEC_VP || c->kind == EXEC_VPE) &&
				      c->path && !strchr(c->path, '/') ? NULL : c->path,
		    c->kind == EXEC_F ? AT_EMPTY_PATH : c->flags, saved);
	errno = saved;
	return ret;
}

SHIM_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	return exec_wrapper(&(struct exec_call){ EXEC_VE, AT_FDCWD, path, argv, envp, 0 });
}

SHIM_EXPORT int execv(const char *path, char *const argv[])
{
	return exec_wrapper(&(struct exec_call){ EXEC_V, AT_FDCWD, path, argv, environ, 0 });
}

SHIM_EXPORT int execvp(const char *file, char *const argv[])
{
	return exec_wrapper(&(struct exec_call){ EXEC_VP, AT_FDCWD, file, argv, environ, 0 });
}

SHIM_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	return exec_wrapper(&(struct exec_call){ EXEC_VPE, AT_FDCWD, file, argv, envp, 0 });
}

SHIM_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	return exec_wrapper(&(struct exec_call){ EXEC_F, fd, "", argv, envp, 0 });
}

SHIM_EXPORT int execveat(int dirfd, const char *path, char *const argv[], char *const envp[],
			 int flags)
{
	return exec_wrapper(&(struct exec_call){ EXEC_AT, dirfd, path, argv, envp, flags });
}

SHIM_EXPORT pid_t fork(void)
{
	pid_t pid;
	int saved = errno;

	exec_image_before_fork();
	errno = saved;
	pid = real_fork();
	saved = errno;
	exec_image_after_fork(pid);
	/* the prepare and child handlers ran inside (init.c) */
	if (pid != 0)
		share_after_fork_parent(pid);
	errno = saved;
	return pid;
}

typedef int spawn_fn(pid_t *, const char *, const posix_spawn_file_actions_t *,
		     const posix_spawnattr_t *, char *const[], char *const[]);

/* search: path is looked up in PATH unless it has a "/" */
static int spawn_wrapper(spawn_fn *real, bool search, pid_t *pid, const char *path,
			 const posix_spawn_file_actions_t *actions,
			 const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	int saved = errno;
	pid_t token = share_before_spawn(), child = 0;
	int ret;

	errno = saved;
	ret = real(&child, path, actions, attr, argv, envp);
	saved = errno;
	if (ret == 0 && pid)
		*pid = child;
	share_after_spawn(token, ret == 0 ? child : 0);
	if (ret != 0 && !(search && path && !strchr(path, '/')))
		exec_failed(AT_FDCWD, path, 0, ret);
	errno = saved;
	return ret;
}

SHIM_EXPORT int posix_spawn(pid_t *pid, const char *path,
			    const posix_spawn_file_actions_t *actions,
			    const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	return spawn_wrapper(real_posix_spawn, false, pid, path, actions, attr, argv, envp);
}

SHIM_EXPORT int posix_spawnp(pid_t *pid, const char *file,
			     const posix_spawn_file_actions_t *actions,
			     const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	return spawn_wrapper(real_posix_spawnp, true, pid, file, actions, attr, argv, envp);
}

/* execl, execlp, execle: the argument list into an array (as glibc does,
 * on the stack), then the v form's wrapper, which tells share.c: called
 * here, not through the exported execv, execvp or execve, which a program
 * may define (test/internal_calls.sh). */
#define COLLECT_ARGS(arg, ap, argv, envp_out)                                  \
	do {                                                                   \
		size_t n_ = 1;                                                 \
		va_list c_;                                                    \
		va_copy(c_, ap);                                               \
		while (va_arg(c_, const char *))                               \
			n_++;                                                  \
		va_end(c_);                                                    \
		argv = alloca((n_ + 1) * sizeof(char *));                      \
		argv[0] = (char *)(arg);                                       \
		for (size_t i_ = 1; i_ <= n_; i_++)                            \
			argv[i_] = va_arg(ap, char *);                         \
		envp_out;                                                      \
	} while (0)

SHIM_EXPORT int execl(const char *path, const char *arg, ...)
{
	char **argv;
	va_list ap;

	va_start(ap, arg);
	COLLECT_ARGS(arg, ap, argv, (void)0);
	va_end(ap);
	return exec_wrapper(&(struct exec_call){ EXEC_V, AT_FDCWD, path, argv, environ, 0 });
}

SHIM_EXPORT int execlp(const char *file, const char *arg, ...)
{
	char **argv;
	va_list ap;

	va_start(ap, arg);
	COLLECT_ARGS(arg, ap, argv, (void)0);
	va_end(ap);
	return exec_wrapper(&(struct exec_call){ EXEC_VP, AT_FDCWD, file, argv, environ, 0 });
}

SHIM_EXPORT int execle(const char *path, const char *arg, ...)
{
	char **argv, **envp;
	va_list ap;

	va_start(ap, arg);
	COLLECT_ARGS(arg, ap, argv, envp = va_arg(ap, char **));
	va_end(ap);
	return exec_wrapper(&(struct exec_call){ EXEC_VE, AT_FDCWD, path, argv, envp, 0 });
}
