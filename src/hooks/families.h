/*
 * families.h - the hook families: what the generated wrappers (and the
 * hand-written ones in manual.c) call around the real function.
 *
 * For family F, hook_pre_F(ctx, ...) runs before the real call.  It
 * returns:
 *   HOOK_SKIP    call the real function and return, as if unhooked.  Pre
 *                functions return it as soon as nothing can match: with no
 *                system call and no lock when the fd table and the
 *                registry's atomic counts can tell (nothing watched in the
 *                domain), and otherwise only after looking, which may cost
 *                system calls (an unlink or rename whose path cannot be
 *                looked up, names.c; a stream whose fd is adopted and
 *                found not to be a file, stdio.c);
 *   HOOK_RUN     call the real function, then hook_post_F(ctx, ret) with
 *                ctx->err holding the real call's errno;
 *   HOOK_FAIL    return failure with errno ctx->err (an instance fd refusing
 *                a write);
 *   HOOK_RETURN  return ctx->ret without the real call.
 * Pre and post functions may change errno freely: the wrappers restore it.
 */
#ifndef SHIM_HOOKS_FAMILIES_H
#define SHIM_HOOKS_FAMILIES_H

#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>

#include "domain/domain.h"
#include "hooks/files.h"
#include "hooks/objects.h"

enum hook_state { HOOK_SKIP = 0, HOOK_RUN, HOOK_FAIL, HOOK_RETURN };

/* unlink family: remove() unlinks a file or removes a directory */
#define HOOK_UNLINK_EITHER 0x40000000

struct hook_ctx {
	int err;
	intptr_t ret;
	int fd, fd2;
	uint64_t word, word2;	/* fd table words before the call */
	int dirfd, dirfd2;
	const char *path, *path2;
	int flags;
	uint32_t mask;
	bool existed, gone, pending, noop, have_target, dir_late, nofollow;
	void *ptr;
	long pending_bytes;
	struct close_facts facts;
	struct hook_obj obj, obj2;
};

/* masks that depend on the arguments, as the kernel's fsnotify_change() */
uint32_t hook_chown_mask(uid_t owner, gid_t group);
uint32_t hook_utimens_mask(const struct timespec times[2]);

/* The quiet checks: hook_quiet_F(...) is true when hook_pre_F() would
 * return HOOK_SKIP having done nothing, and it is cheap enough to inline:
 * a few loads, no call.  The generated wrapper asks it before anything
 * else (hooks.table's "@family F quiet=own" lines name the families that
 * have one), so that a program under the shim with nothing watched
 * anywhere pays a few instructions per call, not a function call and an
 * errno round trip. */
/* The families whose pre function checks nothing but this ("quiet=
 * unwatched": open, create, link, unlink, rename, opendir) use it as
 * their quiet check. */
static inline bool hook_nothing_watched(void)
{
	return !domain_watching();
}

/* An fd the table knows must be forgotten, whatever is watched. */
static inline bool hook_quiet_close(int fd)
{
	return fd < 0 || (!domain_watching() && !fdtable_peek(fd));
}

/* Can an event through fd (hook_fd_event()) reach no watch?  True for
 * nothing watched anywhere; for a pipe, socket or the like; and for a file
 * whose record is quiet (files.h hook_record_quiet(); notify.c asks the
 * filter again after the call, on the full path).  An fd the table does
 * not know yet is not quiet while something is watched: hook_fd_record()
 * adopts it.  An instance fd is
 * quiet only when the caller says so (instance_too): write and read must
 * divert it. */
static inline __attribute__((always_inline)) bool hook_fd_quiet(int fd, bool instance_too)
{
	uint64_t word;
	const struct ofd *o;

	if (instance_too && !domain_watching())
		return true;
	word = fdtable_peek(fd);
	switch (fdword_kind(word)) {
	case FD_INSTANCE:
		return instance_too;
	case FD_OTHER:
		return true;
	case FD_FILE:
		o = fdword_file(word);
		return !domain_watching() || (o && hook_record_quiet(o));
	case FD_NONE:
	default:
		return !domain_watching();
	}
}

/* write and the stream writes check for an instance fd first (EBADF). */
static inline bool hook_quiet_modify(int fd, int stream)
{
	return hook_fd_quiet(fd, !stream);
}

static inline bool hook_quiet_access(int fd)
{
	return hook_fd_quiet(fd, true);
}

static inline bool hook_quiet_transfer(int in_fd, int out_fd)
{
	return hook_fd_quiet(in_fd, true) && hook_fd_quiet(out_fd, true);
}

static inline bool hook_quiet_attr_fd(int fd, uint32_t mask)
{
	return !mask || hook_fd_quiet(fd, true);
}

static inline bool hook_quiet_readdir(DIR *dir)
{
	return !dir || !domain_watching();
}

#define FAMILY(name, ...)                                                      \
	int hook_pre_##name(struct hook_ctx *c, __VA_ARGS__);                  \
	void hook_post_##name(struct hook_ctx *c, intptr_t ret)

FAMILY(open, int dirfd, const char *path, int flags, mode_t mode);
/* After hook_pre_open(): the flags open() and openat() ask the kernel
 * with, and whether to ask again as the caller asked (openclose.c, "Opening
 * with O_NOFOLLOW added").  Callers that use neither (creat, fopen ...)
 * open with the caller's flags, and the post hook asks for the entry. */
int hook_open_flags(struct hook_ctx *c);
bool hook_open_again(struct hook_ctx *c, int ret, int err);
FAMILY(close, int fd);
FAMILY(dup, int oldfd, int newfd);
FAMILY(close_range, unsigned first, unsigned last, int flags);
FAMILY(transfer, int in_fd, int out_fd);
FAMILY(access, int fd);
FAMILY(modify, int fd, int stream);
FAMILY(attr_fd, int fd, uint32_t mask);
FAMILY(attr_path, int dirfd, const char *path, int flags, uint32_t mask);
FAMILY(seek, int fd);
FAMILY(chdir, int unused);
FAMILY(create, int dirfd, const char *path, uint32_t isdir);
FAMILY(mkdtemp, char *template);
FAMILY(link, int olddirfd, const char *old, int newdirfd, const char *new, int flags);
FAMILY(unlink, int dirfd, const char *path, int flags);
FAMILY(rename, int olddirfd, const char *old, int newdirfd, const char *new, unsigned flags);
FAMILY(opendir, const char *path);
FAMILY(closedir, DIR *dir);
FAMILY(readdir, DIR *dir);
FAMILY(rewinddir, DIR *dir);
FAMILY(fopen, const char *path, const char *mode);
FAMILY(freopen, const char *path, const char *mode, FILE *stream);
FAMILY(stream_write, FILE *stream);
FAMILY(stream_read, FILE *stream);
FAMILY(stream_putc, FILE *stream);
FAMILY(stream_getc, FILE *stream);
FAMILY(stream_seek, FILE *stream);
FAMILY(tmpfile, int unused);
FAMILY(fclose, FILE *stream);
FAMILY(fflush, FILE *stream);

#undef FAMILY

#endif
