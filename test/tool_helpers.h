/*
 * tool_helpers.h - driving the inotify-shim command from the tests: run it
 * with its output in files of the scratch directory, wait (with deadlines)
 * for a file to say something or for a process to exit.
 */
#ifndef TEST_TOOL_HELPERS_H
#define TEST_TOOL_HELPERS_H

#include <stdbool.h>
#include <sys/types.h>

/* The built command, tools/inotify-shim of the build tree. */
const char *tool_path(void);

/* Run "inotify-shim ARGS" through sh (ARGS is shell text), stdout to
 * "out" and stderr to "err" in the current directory.  Its exit status. */
int tool(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Start it in the background the same way (exec'd, so the pid is the
 * command's).  Returns the pid. */
pid_t tool_start(const char *out, const char *err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The contents of path (static buffer, "" if unreadable). */
const char *slurp(const char *path);

/* Wait up to ms for path to contain needle. */
bool wait_file_contains(const char *path, const char *needle, int ms);

/* Wait up to ms for pid to exit; its exit status, or -1 (killed, or still
 * running at the deadline: then it is killed). */
int wait_exit(pid_t pid, int ms);

#endif
