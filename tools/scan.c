/*
 * scan.c - inotify-shim scan: where no kernel inotify can be had, compare
 * snapshots of what the domain watches and deliver the events a kernel
 * watcher would have seen (issue 15, part 2).
 *
 * How it finds what is watched: the registry names watched inodes; their
 * paths come from the domain's side table "paths", written by
 * inotify_add_watch (src/scan/paths.h says why that and not /proc or a
 * socket).  What it sees and what it cannot: src/scan/diff.c.  Its
 * schedule: tools/scan_set.c.  Its delivery: tools/scan_deliver.c.
 *
 * One scanner per domain: the lock file "scan.lock" of the domain
 * directory, held with flock(LOCK_EX | LOCK_NB) for the scanner's life
 * (the kernel lets it go when the scanner dies, however it dies); a
 * second scanner, however many launchers race, finds it taken and exits
 * 0 at once.  The file holds the holder's pid, for a reader's curiosity.
 * The scanner ends when the domain has had no watch for the grace period
 * (from its start, or from the last watch's end), or on SIGTERM/SIGINT.
 *
 * Its state, for ps and for tests: the file "scan.status" of the domain,
 * written after the first pass and then every second (scan_status.c says
 * what it holds), removed at the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "domain/domain.h"

#include "cli.h"
#include "scan.h"

#define SCAN_LOCK_FILE "scan.lock"
#define STATUS_MS 1000
#define UNRECORDED_MS 2000	/* a path may still be on its way until then */

static const char usage[] =
	"Usage: inotify-shim scan [OPTION]...\n"
	"Compare snapshots of what the domain watches and deliver the events\n"
	"a kernel watcher would have seen, for changes made by processes the\n"
	"shim does not see (outside it, static binaries, other hosts).\n"
	"One scanner runs per domain; a second one exits at once.\n"
	"\n"
	"  -d, --domain=D     the domain (default: $INOTIFY_SHIM_DOMAIN, else yours)\n"
	"  -i, --interval=MS  the tick: recently changed objects are looked at\n"
	"                     every MS milliseconds (default 50)\n"
	"      --cycle=MS     every watched object is looked at within MS (default 1500)\n"
	"      --grace=MS     end after the domain had no watch for MS (default 5000)\n"
	"  -v, --verbose      say what was found at the end\n"
	"  -h, --help         show this help\n"
	"  -V, --version      show the version\n";

static const struct option options[] = {
	{ "domain", required_argument, NULL, 'd' },
	{ "interval", required_argument, NULL, 'i' },
	{ "cycle", required_argument, NULL, 'c' },
	{ "grace", required_argument, NULL, 'g' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static long milliseconds(const char *prog, const char *opt, const char *arg)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || end == arg || *end || v < 1 || v > 3600000)
		cli_usage_error(prog, "%s: '%s' is not a number of milliseconds (1 to 3600000)",
				opt, arg);
	return v;
}

/* 1: this process is the domain's scanner; 0: another one is; -1: error. */
static int take_lock(const char *prog)
{
	char pid[32];
	int fd = domain_openat(shim_domain, SCAN_LOCK_FILE, O_RDWR | O_CREAT, 0600);

	if (fd < 0) {
		fprintf(stderr, "%s: %s/%s: %s\n", prog, shim_domain->dir, SCAN_LOCK_FILE,
			strerror(-fd));
		return -1;
	}
	domain_file_share(shim_domain, fd);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		return errno == EWOULDBLOCK ? 0 : -1;
	}
	snprintf(pid, sizeof pid, "%d\n", (int)getpid());
	if (ftruncate(fd, 0) == 0)
		(void)!pwrite(fd, pid, strlen(pid), 0);
	return 1;	/* fd stays open, and locked, until the end */
}

static void more_fds(void)
{
	struct rlimit r;

	if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
		r.rlim_cur = r.rlim_max;
		setrlimit(RLIMIT_NOFILE, &r);
	}
}

static void sleep_until(struct timespec *next, long ms)
{
	next->tv_nsec += ms % 1000 * 1000000;
	next->tv_sec += ms / 1000 + next->tv_nsec / 1000000000;
	next->tv_nsec %= 1000000000;
	while (!stop && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, next, NULL) == EINTR)
		;
}

/* The watches that no path was recorded for cannot be scanned: said when
 * their number grows (after the first seconds: a path may be on its way). */
static void warn_unrecorded(const struct scan_set *s, int64_t start, size_t *told)
{
	size_t n;

	if (scan_now_ms() - start < UNRECORDED_MS)
		return;
	n = scan_set_unrecorded(s);
	if (n > *told)
		fprintf(stderr, "inotify-shim scan: %zu watch%s of %s cannot be scanned: made "
			"by processes without INOTIFY_SHIM_SCAN=1 in their environment, they "
			"have no recorded path (start the watchers with inotify-shim run --scan)\n",
			n, n == 1 ? "" : "es", shim_domain->dir);
	*told = n;
}

static int run(long interval, long cycle, long grace, bool verbose)
{
	struct scan_set s = { 0 };
	struct timespec next;
	int64_t last_watched = scan_now_ms(), status_ms = 0, last_pass_ms = 0;
	int64_t start = scan_now_ms();
	uint64_t passes = 0;
	size_t unrecorded = 0;
	int ret = 0;

	clock_gettime(CLOCK_MONOTONIC, &next);
	while (!stop) {
		int n = scan_set_sync(&s, false);
		if (n < 0) {
			ret = n;
			break;
		}
		if (n > 0 || shim_domain->reg->watch_count)
			last_watched = scan_now_ms();
		else if (scan_now_ms() - last_watched >= grace)
			break;
		ret = scan_set_tick(&s, 2000, cycle, interval);
		if (ret < 0)
			break;
		if (s.passes != passes) {
			passes = s.passes;
			last_pass_ms = scan_now_ms();
		}
		if (scan_now_ms() - status_ms >= STATUS_MS || (!status_ms && s.passes)) {
			scan_status_write(&s, last_pass_ms, interval, cycle);
			warn_unrecorded(&s, start, &unrecorded);
			status_ms = scan_now_ms();
		}
		sleep_until(&next, interval);
	}
	if (verbose)
		fprintf(stderr, "inotify-shim scan: %llu passes, %llu looks, %llu statx, %llu events\n",
			(unsigned long long)s.passes, (unsigned long long)s.looks,
			(unsigned long long)s.stats, (unsigned long long)s.events);
	scan_set_free(&s);
	scan_status_remove();
	return ret;
}

int cmd_scan(int argc, char **argv)
{
	const char *prog = argv[0], *domain = NULL;
	long interval = 50, cycle = 1500, grace = 5000;
	bool verbose = false;
	int c, ret;

	while ((c = getopt_long(argc, argv, ":d:i:vhV", options, NULL)) != -1) {
		switch (c) {
		case 'd':
			domain = optarg;
			break;
		case 'i':
			interval = milliseconds(prog, "--interval", optarg);
			break;
		case 'c':
			cycle = milliseconds(prog, "--cycle", optarg);
			break;
		case 'g':
			grace = milliseconds(prog, "--grace", optarg);
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		case 'V':
			cli_version();
		default:
			cli_bad_option(prog, argv, c);
		}
	}
	if (optind < argc)
		cli_usage_error(prog, "unexpected argument '%s'", argv[optind]);
	if (cycle < interval)
		cycle = interval;
	if (cli_open_domain(prog, domain) < 0)
		return 1;
	ret = take_lock(prog);
	if (ret <= 0) {
		if (ret == 0 && verbose)
			fprintf(stderr, "%s: a scanner already runs for %s\n", prog,
				shim_domain->dir);
		return ret < 0;
	}
	more_fds();
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGPIPE, SIG_IGN);
	ret = run(interval, cycle, grace, verbose);
	if (ret < 0) {
		fprintf(stderr, "%s: %s\n", prog, strerror(-ret));
		return 1;
	}
	return 0;
}
