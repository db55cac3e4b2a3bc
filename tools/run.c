/*
 * run.c - inotify-shim run: exec a command with the library preloaded and
 * the settings in its environment, so that the command and everything it
 * starts share the domain.  The command replaces this process, so its exit
 * status is the command's own.
 *
 * The library is, in this order: $INOTIFY_SHIM_LIBRARY; the built one,
 * when this program runs from the build tree (tools/ beside src/.libs/);
 * the installed one, $(libdir)/libinotify-shim.so.0.
 *
 * The domain is checked first, here, because the library says nothing in
 * the command's streams (util/log.h):
 *   - a domain that is refused (the rule of domain/domain.c), or whose
 *     registry cannot be made (a full file system): the command is not
 *     run; the reason goes to our stderr and the exit status is 1.  Under
 *     such a domain every inotify call of the command and of everything it
 *     starts would fail (ENOMEM), and its watchers would see nothing: a
 *     command that is started silently broken is worse than one that is
 *     not started, and the user can mend the domain or name another one;
 *   - a domain whose file system is full or nearly (less than
 *     RUN_LOW_SPACE free): a warning, and the command runs.  It may not
 *     need a new instance, space may be freed, and what fails then fails
 *     in the kernel's terms (inotify_init1 ENOMEM, inotify_add_watch
 *     ENOSPC, IN_Q_OVERFLOW for events that cannot be stored), which
 *     inotify-shim ps counts.
 */
#include <errno.h>
#include <getopt.h>
#include <sys/statvfs.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "domain/domain.h"
#include "util/config.h"
#include "util/log.h"

#include "cli.h"

#ifndef SHIM_LIBDIR
#define SHIM_LIBDIR "/usr/local/lib"
#endif

static const char usage[] =
	"Usage: inotify-shim run [OPTION]... [--] CMD [ARG]...\n"
	"Run CMD with libinotify-shim preloaded: CMD and every process it starts\n"
	"get the inotify API from the shim, and share one domain.\n"
	"\n"
	"  -d, --domain=D              the domain: a name, or an absolute directory\n"
	"      --max-queued-events=N   events queued per instance before overflow\n"
	"      --max-user-watches=N    watches in the domain\n"
	"      --max-user-instances=N  instances in the domain\n"
	"      --mode=emulate|auto     always emulate (default), or use the kernel's\n"
	"                              inotify where it works\n"
	"      --debug                 log what the shim does to stderr\n"
	"      --scan[=MS]             start the domain's scanner (inotify-shim scan,\n"
	"                              its tick MS, default 50) if none runs, to see\n"
	"                              changes made outside the shim; sets\n"
	"                              INOTIFY_SHIM_SCAN=1, so that CMD's watches\n"
	"                              can be followed\n"
	"  -h, --help                  show this help\n"
	"  -V, --version               show the version\n"
	"\n"
	"Each option sets the environment variable of inotify-shim(7).\n"
	"The library: $INOTIFY_SHIM_LIBRARY, else the build tree's when run from\n"
	"it, else " SHIM_LIBDIR "/libinotify-shim.so.0.\n"
	"The domain is checked before CMD starts: a refused domain, or one whose\n"
	"registry cannot be made, is reported and CMD is not run; a full file\n"
	"system under it is a warning.\n"
	"Exit status: CMD's; 126 if CMD cannot be run, 127 if it is not found,\n"
	"2 on bad usage, 1 if the library is missing or the domain refused.\n";

enum { OPT_QUEUED = 256, OPT_WATCHES, OPT_INSTANCES, OPT_MODE, OPT_DEBUG, OPT_SCAN };

static const struct option options[] = {
	{ "max-queued-events", required_argument, NULL, OPT_QUEUED },
	{ "max-user-watches", required_argument, NULL, OPT_WATCHES },
	{ "max-user-instances", required_argument, NULL, OPT_INSTANCES },
	{ "mode", required_argument, NULL, OPT_MODE },
	{ "debug", no_argument, NULL, OPT_DEBUG },
	{ "scan", optional_argument, NULL, OPT_SCAN },
	CLI_COMMON_OPTIONS,
};

static int readable_file(const char *path)
{
	return access(path, R_OK) == 0;
}

/* The built library, if this program is tools/inotify-shim (or
 * tools/.libs/inotify-shim) of a build tree. */
static int built_library(char *out, size_t size)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	char *slash;

	if (n <= 0)
		return -1;
	exe[n] = 0;
	slash = strrchr(exe, '/');
	if (!slash)
		return -1;
	*slash = 0;
	if (strlen(exe) >= 6 && !strcmp(exe + strlen(exe) - 6, "/.libs"))
		exe[strlen(exe) - 6] = 0;
	if (strlen(exe) < 6 || strcmp(exe + strlen(exe) - 6, "/tools"))
		return -1;
	exe[strlen(exe) - 6] = 0;
	if ((size_t)snprintf(out, size, "%s/src/.libs/libinotify-shim.so", exe) >= size)
		return -1;
	return readable_file(out) ? 0 : -1;
}

static int find_library(const char *prog, char *out, size_t size)
{
	const char *env = getenv("INOTIFY_SHIM_LIBRARY");

	if (env && *env) {
		if (!readable_file(env)) {
			fprintf(stderr, "%s: INOTIFY_SHIM_LIBRARY=%s: %s\n", prog, env,
				strerror(errno));
			return -1;
		}
		snprintf(out, size, "%s", env);
		return 0;
	}
	if (built_library(out, size) == 0)
		return 0;
	snprintf(out, size, "%s/libinotify-shim.so.0", SHIM_LIBDIR);
	if (!readable_file(out)) {
		fprintf(stderr, "%s: the library %s: %s (set INOTIFY_SHIM_LIBRARY?)\n",
			prog, out, strerror(errno));
		return -1;
	}
	return 0;
}

/* Is the library already one of the (space- or colon-separated) entries,
 * by this path or as another copy (libinotify-shim.so*)?  Two copies in one
 * process would report every change twice. */
static int listed(const char *list, const char *lib)
{
	static const char base[] = "libinotify-shim.so";
	size_t len = strlen(lib);

	for (const char *p = list; *p;) {
		size_t n = strcspn(p, " :");
		const char *name = memrchr(p, '/', n);
		name = name ? name + 1 : p;
		if ((n == len && !strncmp(p, lib, len)) ||
		    ((size_t)(p + n - name) >= sizeof base - 1 &&
		     !strncmp(name, base, sizeof base - 1)))
			return 1;
		p += n;
		p += strspn(p, " :");
	}
	return 0;
}

static int set_preload(const char *prog, const char *lib)
{
	const char *old = getenv("LD_PRELOAD");
	char *value;
	int ret;

	if (old && *old && listed(old, lib))
		return 0;
	if (old && *old)
		ret = asprintf(&value, "%s:%s", lib, old);
	else
		ret = asprintf(&value, "%s", lib);
	if (ret < 0 || setenv("LD_PRELOAD", value, 1) < 0) {
		fprintf(stderr, "%s: LD_PRELOAD: %s\n", prog, strerror(ENOMEM));
		return -1;
	}
	free(value);
	return 0;
}

/* Free space below which the domain is reported full: a new instance
 * needs a queue's header and first chunk (68 KiB), new watches 64 KiB at
 * a time; a megabyte is a few instances' worth. */
#define RUN_LOW_SPACE (1024 * 1024)

/* The domain the command will use, opened here as its constructor will
 * open it (see the top of this file).  0: run the command. */
static int check_domain(const char *prog)
{
	struct statvfs vfs;
	int ret;

	shim_config_load();
	ret = domain_open();
	if (ret < 0) {
		const char *why = shim_log_last();
		bool full = ret == -ENOSPC || ret == -ENOMEM || ret == -EDQUOT;
		fprintf(stderr, "%s: the domain %s is %s: %s%s%s\n"
			"%s: not running the command: every inotify call in it would "
			"fail (ENOMEM)\n", prog,
			shim_config.domain[0] ? shim_config.domain : "(the default)",
			full ? "full" : "refused", strerror(-ret), why[0] ? ": " : "", why,
			prog);
		return -1;
	}
	if (statvfs(shim_domain->dir, &vfs) == 0 &&
	    (unsigned long long)vfs.f_bavail * vfs.f_frsize < RUN_LOW_SPACE)
		fprintf(stderr, "%s: warning: the file system of the domain %s is full "
			"(%llu bytes free): new instances will fail (ENOMEM), new watches "
			"(ENOSPC), and events that cannot be stored are lost as "
			"IN_Q_OVERFLOW\n", prog, shim_domain->dir,
			(unsigned long long)vfs.f_bavail * vfs.f_frsize);
	return 0;
}

static void set_limit(const char *prog, const char *opt, const char *var, const char *value)
{
	if (shim_config_parse_limit(value) < 0)
		cli_usage_error(prog, "--%s: '%s' is not a positive number", opt, value);
	setenv(var, value, 1);
}

/* --scan: start `inotify-shim scan` for the domain, detached (its own
 * session, its output to /dev/null), before the library is preloaded, so
 * that it runs without it.  If a scanner already runs, the new one finds
 * the domain's scan.lock taken and exits at once (tools/scan.c): racing
 * launchers start one.  Its grace is longer than a lone scanner's, so that
 * CMD has time to make its first watch. */
static void start_scanner(const char *prog, const char *interval)
{
	pid_t pid = fork();

	if (pid < 0) {
		fprintf(stderr, "%s: --scan: %s\n", prog, strerror(errno));
		return;
	}
	if (pid > 0) {
		waitpid(pid, NULL, 0);
		return;
	}
	setsid();
	if (fork() == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		char *args[] = { "inotify-shim", "scan", "--grace", "10000", "--interval",
				 (char *)interval, NULL };
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			if (!getenv("INOTIFY_SHIM_DEBUG"))
				dup2(null, 2);
		}
		execv("/proc/self/exe", args);
	}
	_exit(0);
}

static const char *scan_interval(const char *prog, const char *arg)
{
	char *end;
	long v;

	if (!arg)
		return "50";
	v = strtol(arg, &end, 10);
	if (end == arg || *end || v < 1 || v > 3600000)
		cli_usage_error(prog, "--scan: '%s' is not a number of milliseconds", arg);
	return arg;
}

int cmd_run(int argc, char **argv)
{
	const char *prog = argv[0], *scan = NULL;
	char lib[PATH_MAX];
	int c;

	while ((c = getopt_long(argc, argv, "+:d:hV", options, NULL)) != -1) {
		switch (c) {
		case 'd':
			if (!optarg[0] || (optarg[0] != '/' && strchr(optarg, '/')))
				cli_usage_error(prog, "--domain: '%s' is neither a name "
					       "nor an absolute directory", optarg);
			setenv("INOTIFY_SHIM_DOMAIN", optarg, 1);
			break;
		case OPT_QUEUED:
			set_limit(prog, "max-queued-events", "INOTIFY_SHIM_MAX_QUEUED_EVENTS", optarg);
			break;
		case OPT_WATCHES:
			set_limit(prog, "max-user-watches", "INOTIFY_SHIM_MAX_USER_WATCHES", optarg);
			break;
		case OPT_INSTANCES:
			set_limit(prog, "max-user-instances", "INOTIFY_SHIM_MAX_USER_INSTANCES", optarg);
			break;
		case OPT_MODE:
			if (strcmp(optarg, "emulate") && strcmp(optarg, "auto"))
				cli_usage_error(prog, "--mode: '%s' is not emulate or auto", optarg);
			setenv("INOTIFY_SHIM_MODE", optarg, 1);
			break;
		case OPT_DEBUG:
			setenv("INOTIFY_SHIM_DEBUG", "1", 1);
			break;
		case OPT_SCAN:
			scan = scan_interval(prog, optarg);
			break;
		default:
			cli_other_option(prog, argv, c, usage);
		}
	}
	if (optind >= argc)
		cli_usage_error(prog, "no command to run");
	if (find_library(prog, lib, sizeof lib) < 0 || check_domain(prog) < 0)
		return 1;
	if (scan) {
		/* CMD records the paths it watches, for the scanner (scan/paths.h) */
		setenv("INOTIFY_SHIM_SCAN", "1", 1);
		start_scanner(prog, scan);
	}
	if (set_preload(prog, lib) < 0)
		return 1;
	execvp(argv[optind], argv + optind);
	c = errno;
	fprintf(stderr, "%s: %s: %s\n", prog, argv[optind], strerror(c));
	return c == ENOENT ? 127 : 126;
}
