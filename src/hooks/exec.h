/*
 * exec.h - the events of executing a file (exec.c).
 */
#ifndef SHIM_HOOKS_EXEC_H
#define SHIM_HOOKS_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The new image, from the constructor: the open and reads of the file that
 * runs (and of the script and interpreter that led to it), before the
 * close-on-exec closes (share_after_exec); then what closed after them. */
void exec_image_start(void);
void exec_image_started(void);

/* fork(): the child runs the same image (its close waits for both). */
void exec_image_before_fork(void);
void exec_image_after_fork(pid_t pid);

/* At exit: the image's IN_CLOSE_NOWRITE, from the last process running it. */
void exec_image_exit(void);

/* Around an exec call: before it, and after it failed with err (dirfd,
 * path and flags as execveat's; path NULL for a PATH search).  When the
 * exec ends this image's last reference and something is watched,
 * exec_before() returns true with the environment entry that tells the
 * next image (which reports the close) in entry. */
#define EXEC_ENTRY_MAX (2 * 4096 + 128)
bool exec_before(char *entry, size_t size);
void exec_failed(int dirfd, const char *path, int flags, int err);
/* Is this environment entry one that exec_before() makes? */
bool exec_entry_is_ours(const char *entry);

#endif
