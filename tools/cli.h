/*
 * cli.h - what the subcommands of the inotify-shim command share: their
 * entry points, the usage conventions (--help, --version, exit status 2 on
 * a bad option), opening the domain without preloading the library, and
 * the symbolic names of inotify masks.
 */
#ifndef SHIM_TOOLS_CLI_H
#define SHIM_TOOLS_CLI_H

#include <stddef.h>
#include <stdint.h>

/* Exit statuses: 0 success, 1 failure, 2 bad usage (as grep, diff). */
#define EXIT_USAGE 2

/* Each subcommand gets argv with argv[0] set to "inotify-shim NAME". */
int cmd_run(int argc, char **argv);
int cmd_ps(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_gc(int argc, char **argv);
int cmd_scan(int argc, char **argv);
int cmd_bridge(int argc, char **argv);	/* tools/bridge/cmd.c */
int cmd_relay(int argc, char **argv);	/* issue 15: tools/relay.c */

/* "Try 'inotify-shim NAME --help'." after a message, then exit 2. */
_Noreturn void cli_usage_error(const char *prog, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* After getopt_long returned '?' or ':' (optstring starts with ":"):
 * say which option was wrong, then exit 2. */
_Noreturn void cli_bad_option(const char *prog, char **argv, int c);
/* Print the version and exit 0. */
_Noreturn void cli_version(void);
/* getopt_long's answer c for an option the subcommand has no case of:
 * 'h' prints usage and exits 0, 'V' the version; anything else is a bad
 * option (cli_bad_option). */
_Noreturn void cli_other_option(const char *prog, char **argv, int c, const char *usage);
/* The end of every subcommand's option table: --domain (its 'd' case is
 * the subcommand's), --help and --version (cli_other_option). */
#define CLI_COMMON_OPTIONS                                                     \
	{ "domain", required_argument, NULL, 'd' },                            \
	{ "help", no_argument, NULL, 'h' },                                    \
	{ "version", no_argument, NULL, 'V' },                                 \
	{ NULL, 0, NULL, 0 }

/* Open the domain as the library's constructor does, in this process,
 * which does not preload the library: the settings from the environment
 * (domain overrides INOTIFY_SHIM_DOMAIN when not NULL), the fd table, the
 * domain.  Returns 0, or prints why not (naming the directory) and
 * returns -1. */
int cli_open_domain(const char *prog, const char *domain);

/* The domain's directory, once open. */
const char *cli_domain_dir(void);

/* "IN_CREATE|IN_ISDIR": the mask's bits by name, unknown bits in hex.
 * Returns buf. */
const char *mask_format(uint32_t mask, char *buf, size_t size);
/* "CREATE,ISDIR": inotifywait's form, for --format %e. */
const char *mask_format_short(uint32_t mask, char *buf, size_t size);
/* Parse "create,modify,close_write" (case-insensitive, IN_ prefix
 * allowed, "all" for every event).  Returns 0, or -1 with *bad pointing
 * at the name that is not an event (copied into bad, size badsize). */
int mask_parse_events(const char *list, uint32_t *mask, char *bad, size_t badsize);

#define MASK_BUF 256

#endif
