/*
 * export.h - the library is built with -fvisibility=hidden; only what is
 * marked here (the public API and the interposed libc functions) leaves it.
 */
#ifndef SHIM_EXPORT_H
#define SHIM_EXPORT_H

#define SHIM_EXPORT __attribute__((visibility("default")))

#endif
