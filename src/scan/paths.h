/*
 * paths.h - the domain's side table of watched paths: how the scanner
 * learns where a watched inode is.
 *
 * The registry keeps inodes (dev, ino, birth time), not names, and a
 * scanner must read directories.  The choice: the process that makes a
 * watch appends (identity, absolute path) to the file "paths" of the
 * domain directory, in inotify_add_watch's slow path (core.c, after the
 * registry lock is released), never in a hook.  Why this and not the
 * others: /proc/PID/fd of a holder names only its open files, and a watch
 * holds none; an O_PATH fd passed over a unix socket needs a listener
 * running before the first watch and a connection per add_watch; a file
 * needs neither, survives the scanner's restarts (a scanner started late
 * still finds every watch), and costs the add_watch four system calls
 * (open, fstat, write, close; a getcwd for a relative path).  The scanner opens each path once, checks that it
 * still leads to the watched identity, and from then on follows the inode
 * through an O_PATH fd (a moved directory is still the one it reads).
 *
 * Records: struct scan_path_rec then the path and its NUL, padded to 8
 * bytes, each appended by one write(2) with O_APPEND (whole, since a
 * record is under PIPE_BUF and a regular file's append is done under its
 * inode lock); a reader stops at a record not yet whole.  The file only
 * grows: about 64 bytes a watch, stale records are skipped by identity.
 * Relative paths are made absolute from the caller's working directory.
 *
 * Only processes that asked record their watches: $INOTIFY_SHIM_SCAN set
 * (and not "0") in their environment, as `inotify-shim run --scan` sets
 * it.  Recording always would cost every add_watch those system calls
 * (measured: +1.7 us, the add_watch 70 % dearer) for the sake of a
 * scanner that most domains never run.  A scanner cannot follow the
 * watches of processes that did not ask.
 */
#ifndef SHIM_SCAN_PATHS_H
#define SHIM_SCAN_PATHS_H

#include <stdint.h>
#include <sys/types.h>

#include "../util/ident.h"

#define SCAN_PATHS_FILE "paths"
#define SCAN_PATHS_MAGIC 0x50414854u	/* "THAP" */

struct scan_path_rec {
	uint32_t magic;
	uint32_t len;		/* of the whole record, padding included */
	struct ident id;
	char path[];
};

/* Note that id was watched as path (relative to the working directory),
 * if $INOTIFY_SHIM_SCAN asks.  Never fails its caller, never changes errno. */
void scan_paths_note(const struct ident *id, const char *path);

/* Read the records of fd from *off on; call fn for each whole one and
 * move *off past it.  Returns the number read, or a negative errno. */
int scan_paths_read(int fd, off_t *off,
		    void (*fn)(void *ctx, const struct ident *id, const char *path),
		    void *ctx);

#endif
