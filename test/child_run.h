/*
 * child_run.h - run test/limits_child under the shim with variables set in
 * its environment, in a domain of its own (so that the tests running next
 * to it do not count against its limits), and capture what it prints.
 */
#ifndef TEST_CHILD_RUN_H
#define TEST_CHILD_RUN_H

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

static inline const char *limits_child_path(void)
{
	static char path[PATH_MAX];
	const char *b = getenv("INOTIFY_SHIM_TEST_BUILDDIR");

	snprintf(path, sizeof path, "%s/test/limits_child", b ? b : ".");
	return path;
}

/* Give the children started from now on the domain DIR/domain. */
static inline void child_domain(const char *dir)
{
	char path[PATH_MAX];

	snprintf(path, sizeof path, "%s/domain", dir);
	cr_assert_eq(setenv("INOTIFY_SHIM_DOMAIN", path, 1), 0);
}

/* limits_child MODE N with VAR=VAL; its output in out; its exit status. */
static inline int child_run(const char *var, const char *val, const char *mode,
			    const char *n, char *out, size_t size)
{
	char *argv[] = { (char *)limits_child_path(), (char *)mode, (char *)n, NULL };
	size_t got = 0;
	ssize_t r;
	int p[2], st;
	pid_t pid;

	if (var)
		cr_assert_eq(setenv(var, val, 1), 0);
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	pid = start_program(argv, p[1]);
	close(p[1]);
	cr_assert_gt(pid, 0, "could not start %s", argv[0]);
	while (got + 1 < size && ((r = read(p[0], out + got, size - 1 - got)) > 0 ||
				  (r < 0 && errno == EINTR)))
		if (r > 0)
			got += (size_t)r;
	out[got] = 0;
	close(p[0]);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	if (var)
		unsetenv(var);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

#endif
