/*
 * hazards.c - issue 13, item 13: what the library does behind the
 * program's back must not show.
 *   - the constructor sets UV_USE_IO_URING=0 only where the user did not
 *     set it.
 * (configure under threads: test/config_threads.c.)
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

TestSuite(hazards, .init = scratch_setup, .fini = scratch_leave, .timeout = 30);

static const char *child_env(const char *cmd)
{
	static char out[256];
	char full[512];
	FILE *f;
	size_t n;

	snprintf(full, sizeof full, "%s >env.out", cmd);
	cr_assert_eq(run_shell(full), 0);
	f = fopen("env.out", "r");
	cr_assert_not_null(f);
	n = fread(out, 1, sizeof out - 1, f);
	out[n] = 0;
	fclose(f);
	return out;
}

Test(hazards, a_users_uv_use_io_uring_is_kept)
{
	/* sh is under the shim: its constructor ran before echo */
	cr_expect_str_eq(child_env("UV_USE_IO_URING=1 sh -c 'echo \"$UV_USE_IO_URING\"'"), "1\n");
	cr_expect_str_eq(child_env("UV_USE_IO_URING= sh -c 'echo \"[$UV_USE_IO_URING]\"'"),
			 "[]\n");
	cr_expect_str_eq(child_env("unset UV_USE_IO_URING; sh -c 'echo \"$UV_USE_IO_URING\"'"),
			 "0\n");
}
