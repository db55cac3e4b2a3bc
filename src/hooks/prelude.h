/*
 * prelude.h - the system headers behind every interposed prototype.  The
 * library is built without _FILE_OFFSET_BITS, so that open and open64 (and
 * the other pairs) are separate symbols, both interposed.
 */
#ifndef SHIM_HOOKS_PRELUDE_H
#define SHIM_HOOKS_PRELUDE_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <utime.h>

#include "util/export.h"

/* <bits/stdio.h> makes these macros when optimising; the wrappers define
 * the functions themselves. */
#undef fwrite_unlocked
#undef fread_unlocked

#endif
