/*
 * tool_cli.c - the inotify-shim command's conventions and its run
 * subcommand: --help and --version exit 0, a bad option exits 2 with a
 * message that names it, run exits with the command's status and passes
 * its options in the environment.
 */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"
#include "inotify-shim.h"
#include "tool_helpers.h"

static void setup(void)
{
	scratch_enter();
}

TestSuite(tool, .init = setup, .fini = scratch_leave, .timeout = 30);

static const char *const commands[] = { "", "run", "ps", "watch", "gc" };

Test(tool, help_of_every_command_exits_0)
{
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
		cr_assert_eq(tool("%s --help", commands[i]), 0, "%s --help", commands[i]);
		cr_assert(strstr(slurp("out"), "Usage: inotify-shim"),
			  "%s --help printed: %s", commands[i], slurp("out"));
	}
}

Test(tool, version_of_every_command_exits_0)
{
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
		cr_assert_eq(tool("%s --version", commands[i]), 0);
		cr_assert_str_eq(slurp("out"), "inotify-shim " INOTIFY_SHIM_VERSION "\n");
	}
}

Test(tool, bad_option_exits_2_and_names_it)
{
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
		cr_assert_eq(tool("%s --no-such-option", commands[i]), 2, "%s", commands[i]);
		cr_assert(strstr(slurp("err"), "--no-such-option"), "%s: %s",
			  commands[i], slurp("err"));
		cr_assert(strstr(slurp("err"), "--help"), "%s", slurp("err"));
	}
}

Test(tool, bad_usage_exits_2)
{
	cr_assert_eq(tool("no-such-command"), 2);
	cr_assert(strstr(slurp("err"), "no-such-command"), "%s", slurp("err"));
	cr_assert_eq(tool("%s", ""), 2);
	cr_assert_eq(tool("run"), 2);
	cr_assert_eq(tool("run --max-user-watches=lots -- true"), 2);
	cr_assert(strstr(slurp("err"), "lots"), "%s", slurp("err"));
	cr_assert_eq(tool("run --domain"), 2);
	cr_assert(strstr(slurp("err"), "needs an argument"), "%s", slurp("err"));
	cr_assert_eq(tool("watch"), 2);
	cr_assert_eq(tool("watch -e create,bogus ."), 2);
	cr_assert(strstr(slurp("err"), "bogus"), "%s", slurp("err"));
	cr_assert_eq(tool("ps extra"), 2);
	cr_assert_eq(tool("gc -x"), 2);
	cr_assert(strstr(slurp("err"), "'-x'"), "%s", slurp("err"));
}

Test(tool, run_exits_with_the_commands_status)
{
	cr_assert_eq(tool("run -- sh -c 'exit 7'"), 7);
	cr_assert_eq(tool("run -- true"), 0);
	cr_assert_eq(tool("run -- no-such-program-anywhere"), 127);
	cr_assert(strstr(slurp("err"), "no-such-program-anywhere"), "%s", slurp("err"));
}

Test(tool, run_passes_its_options_in_the_environment)
{
	char cwd[4096], expect[8192];

	cr_assert(getcwd(cwd, sizeof cwd));
	cr_assert_eq(tool("run --domain='%s/dom' --max-queued-events=5 --max-user-watches 6 "
			  "--max-user-instances=7 --mode=emulate --debug -- sh -c "
			  "'echo \"$INOTIFY_SHIM_DOMAIN $INOTIFY_SHIM_MAX_QUEUED_EVENTS "
			  "$INOTIFY_SHIM_MAX_USER_WATCHES $INOTIFY_SHIM_MAX_USER_INSTANCES "
			  "$INOTIFY_SHIM_MODE $INOTIFY_SHIM_DEBUG\" >env'", cwd), 0);
	snprintf(expect, sizeof expect, "%s/dom 5 6 7 emulate 1\n", cwd);
	cr_assert_str_eq(slurp("env"), expect);
}

/* sh -c with the command's path as $T. */
static int shell(const char *fmt, ...)
{
	char cmd[8192];
	int n = snprintf(cmd, sizeof cmd, "T='%s'; ", tool_path());
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd + n, sizeof cmd - n, fmt, ap);
	va_end(ap);
	return run_shell(cmd);
}

Test(tool, run_preloads_the_built_library_once)
{
	char expect[4096];
	const char *built = getenv("INOTIFY_SHIM_TEST_BUILDDIR");

	/* With no LD_PRELOAD, it becomes the library alone. */
	cr_assert_eq(shell("env -u LD_PRELOAD \"$T\" run -- "
			   "sh -c 'echo \"$LD_PRELOAD\"' >alone"), 0);
	snprintf(expect, sizeof expect, "%s/src/.libs/libinotify-shim.so\n", built);
	cr_assert_str_eq(slurp("alone"), expect);

	/* Prepended to another entry. */
	cr_assert_eq(shell("LD_PRELOAD=libm.so.6 \"$T\" run -- "
			   "sh -c 'echo \"$LD_PRELOAD\"' >two"), 0);
	snprintf(expect, sizeof expect, "%s/src/.libs/libinotify-shim.so:libm.so.6\n", built);
	cr_assert_str_eq(slurp("two"), expect);

	/* Already there (these tests run under it): not added again. */
	cr_assert_eq(shell("\"$T\" run -- sh -c 'echo \"$LD_PRELOAD\"' >same"), 0);
	/* run-test.sh's list: under valgrind, LD_PRELOAD here also names
	 * valgrind's own preloads, which it takes out for the children */
	const char *ours = getenv("INOTIFY_SHIM_TEST_PRELOAD");
	snprintf(expect, sizeof expect, "%s\n", ours ? ours : getenv("LD_PRELOAD"));
	cr_assert_str_eq(slurp("same"), expect);
}

Test(tool, run_names_a_missing_library)
{
	cr_assert_eq(shell("INOTIFY_SHIM_LIBRARY=/no/such/lib.so \"$T\" run -- true 2>err"), 1);
	cr_assert(strstr(slurp("err"), "/no/such/lib.so"), "%s", slurp("err"));
	cr_assert(strstr(slurp("err"), "No such file"), "%s", slurp("err"));
}
