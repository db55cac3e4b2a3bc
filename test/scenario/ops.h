/*
 * ops.h - the operations of the scenario language, one function each,
 * named op_NAME after the word a scenario writes.  ops.c lists them with
 * their arguments; the inotify calls are in ops_inotify.c, the file and
 * descriptor calls in ops_files.c, shell, sleep and echo in run.c.
 */
#ifndef SCENARIO_OPS_H
#define SCENARIO_OPS_H

#include "scenario.h"

#define OP(name) void op_##name(const struct step *s)

/* ops_inotify.c */
OP(init); OP(closeinst); OP(watch); OP(rmwatch); OP(drain); OP(drainq);
OP(read); OP(fionread); OP(poll);
/* Read every pending event of fd without blocking, print them (quiet:
 * only count them), then "WHAT = N events". */
void drain_print(const char *what, int fd, int quiet);

/* ops_files.c */
OP(mkdir); OP(rmdir); OP(touch); OP(write); OP(cat); OP(fputs); OP(trunc);
OP(rm); OP(mv); OP(exchange); OP(noreplace); OP(ln); OP(symlink);
OP(chmod); OP(chown); OP(utime); OP(mkfifo); OP(ls);
OP(open); OP(fdwrite); OP(fdread); OP(fdtrunc); OP(fdchmod); OP(dup);
OP(fdclose);

/* run.c */
OP(shell); OP(sleep); OP(echo);

#undef OP

#endif
