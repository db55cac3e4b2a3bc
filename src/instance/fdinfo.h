/*
 * fdinfo.h - /proc/PID/fdinfo/N of an emulated instance, as the kernel's
 * inotify fd shows it (fs/notify/fdinfo.c):
 *
 *   pos:	0
 *   flags:	04000
 *   mnt_id:	...
 *   ino:	...
 *   inotify wd:3 ino:f2c59 sdev:15 mask:2 ignored_mask:0 fhandle-bytes:8 fhandle-type:1 f_handle:...
 *
 * The first lines are the FIFO fd's own, with its flags as the kernel's
 * fd has them (O_RDONLY, not the FIFO's O_RDWR); then one line per watch,
 * newest first, with the domain's values: wd, inode number and the
 * kernel's s_dev encoding of st_dev in hex, the user's mask with
 * IN_EXCL_UNLINK and IN_ONESHOT, and the file handle that
 * name_to_handle_at gave when the watch was added (AT_HANDLE_FID, the
 * kernel's exportfs_encode_fid; none where it gave none: the line then
 * ends after "ignored_mask:0 ", as the kernel's).
 *
 * The handles are kept in the domain's file "handles", one slot per
 * watch record, written by the process that adds the watch (a file
 * handle is the inode's: whoever writes a slot writes the same bytes).
 *
 * An open of such a path by a process under the shim (open, openat with
 * an absolute path, fopen) gets a memfd with the text instead, for its own
 * instances (/proc/self, /proc/thread-self, its pid) and for another
 * process's of the domain that the registry lists as holding that fd.
 */
#ifndef SHIM_INSTANCE_FDINFO_H
#define SHIM_INSTANCE_FDINFO_H

#include <stdbool.h>
#include <stdint.h>

#include "../fd/fdtable.h"

/* fdinfo_open()'s "not an instance's fdinfo: open the real file" */
#define FDINFO_PASS 1

/* Could path be an fdinfo file?  One compare for most paths (the first
 * byte), no call: the open hooks ask it first. */
static inline bool fdinfo_maybe(const char *path)
{
	return path && path[0] == '/' && path[1] == 'p' && path[2] == 'r' &&
	       path[3] == 'o' && path[4] == 'c' && path[5] == '/';
}

/* The generated fdinfo of an instance, as a new fd opened with flags'
 * O_CLOEXEC; FDINFO_PASS when path is not an instance's fdinfo or is
 * opened for writing; or a negative errno. */
int fdinfo_open(const char *path, int flags);

/* After inotify_add_watch(path, mask) gave wd: keep the inode's handle. */
void fdinfo_note_handle(struct slot_ref ref, int wd, const char *path, uint32_t mask);

#endif
