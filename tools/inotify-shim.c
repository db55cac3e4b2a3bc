/*
 * inotify-shim.c - the command's entry point: picks the subcommand, and
 * holds the usage conventions every subcommand follows (--help and
 * --version exit 0, a bad option exits 2 after a message that says what
 * was wrong and where the help is).
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

static const char usage[] =
	"Usage: inotify-shim COMMAND [OPTION]... [ARG]...\n"
	"The inotify API in user space, shared between processes.\n"
	"\n"
	"Commands:\n"
	"  run [OPTION]... -- CMD [ARG]...   run CMD with the library preloaded\n"
	"  ps [-w] [--json]                  list the live instances of the domain\n"
	"  watch [OPTION]... PATH...         print the events on PATH...\n"
	"  gc                                reclaim instances whose holders are gone\n"
	"  scan [OPTION]...                  deliver the changes the hooks cannot see\n"
	"  bridge --server URL --root PATH=NAME...  carry events between hosts\n"
	"  relay [-d DOMAIN]                 lend this process's kernel inotify to the domain\n"
	"\n"
	"  -h, --help      show this help, or a command's: inotify-shim COMMAND --help\n"
	"  -V, --version   show the version\n"
	"\n"
	"Environment: INOTIFY_SHIM_DOMAIN and the others of inotify-shim(7).\n"
	"Exit status: 0 on success, 1 on failure, 2 on bad usage; run exits\n"
	"with CMD's status.  See inotify-shim(1).\n";

_Noreturn void cli_usage_error(const char *prog, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help'.\n", prog);
	exit(EXIT_USAGE);
}

_Noreturn void cli_bad_option(const char *prog, char **argv, int c)
{
	const char *arg = optind > 0 ? argv[optind - 1] : "?";
	char shortopt[3] = { '-', (char)optopt, 0 };

	/* For a bundle (-xq) or an unknown short option, optopt names it. */
	if (optopt > 0 && optopt < 128 && (arg[0] != '-' || arg[1] != '-'))
		arg = shortopt;
	if (c == ':')
		cli_usage_error(prog, "option '%s' needs an argument", arg);
	cli_usage_error(prog, "unknown option '%s'", arg);
}

_Noreturn void cli_version(void)
{
	printf("inotify-shim %s\n", PACKAGE_VERSION);
	exit(0);
}

_Noreturn void cli_other_option(const char *prog, char **argv, int c, const char *usage)
{
	if (c == 'h') {
		fputs(usage, stdout);
		exit(0);
	}
	if (c == 'V')
		cli_version();
	cli_bad_option(prog, argv, c);
}

/* ps, watch and gc link the core itself.  Under a preloaded copy of the
 * library (a shell started with inotify-shim run), the core's calls to the
 * real libc functions would reach that copy's hooks instead, which take the
 * registry lock from inside the core's queue lock: a lock-order inversion.
 * So these commands run again without the library in LD_PRELOAD; other
 * entries (a sanitizer's runtime) are kept. */
static void run_without_preload(char **argv)
{
	const char *old = getenv("LD_PRELOAD");
	char *list, *out;
	size_t len = 0;

	if (!old || !strstr(old, "libinotify-shim.so"))
		return;
	list = strdup(old);
	out = calloc(1, strlen(old) + 1);
	if (!list || !out)
		return;
	for (char *save = NULL, *e = strtok_r(list, " :", &save); e;
	     e = strtok_r(NULL, " :", &save)) {
		const char *base = strrchr(e, '/');
		if (!strncmp(base ? base + 1 : e, "libinotify-shim.so", 18))
			continue;
		len += sprintf(out + len, "%s%s", len ? ":" : "", e);
	}
	if (len)
		setenv("LD_PRELOAD", out, 1);
	else
		unsetenv("LD_PRELOAD");
	execv("/proc/self/exe", argv);
	/* No /proc: carry on as we are, and restore what the user set. */
	setenv("LD_PRELOAD", old, 1);
	free(list);
	free(out);
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *prog;
} commands[] = {
	{ "run", cmd_run, "inotify-shim run" },
	{ "ps", cmd_ps, "inotify-shim ps" },
	{ "watch", cmd_watch, "inotify-shim watch" },
	{ "gc", cmd_gc, "inotify-shim gc" },
	{ "scan", cmd_scan, "inotify-shim scan" },
	{ "bridge", cmd_bridge, "inotify-shim bridge" },
	{ "relay", cmd_relay, "inotify-shim relay" },
};

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (!cmd)
		cli_usage_error("inotify-shim", "no command given");
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help")) {
		fputs(usage, stdout);
		return 0;
	}
	if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version"))
		cli_version();
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
		if (strcmp(cmd, commands[i].name))
			continue;
		if (commands[i].fn != cmd_run)
			run_without_preload(argv);
		argv[1] = (char *)commands[i].prog;
		return commands[i].fn(argc - 1, argv + 1);
	}
	if (cmd[0] == '-')
		cli_usage_error("inotify-shim", "unknown option '%s' (a command comes first)", cmd);
	cli_usage_error("inotify-shim", "unknown command '%s'", cmd);
}
