/*
 * watch.c - inotify-shim watch: a small watcher built on the core itself
 * (an emulated instance of this process, read with the front end's read),
 * so it needs no preload.  It sees the changes that processes under the
 * shim make, in the same domain; its own file calls are not watched.
 *
 * With -r it watches directory trees: every directory under each PATH, and
 * every directory that appears later (IN_CREATE or IN_MOVED_TO with
 * IN_ISDIR).  As with inotifywait, what is made inside a new directory
 * before its watch is in place is not reported.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd/fdtable.h"
#include "instance/instance.h"

#include "cli.h"

#define DEFAULT_FORMAT "%d %m %c %f"

static const char usage[] =
	"Usage: inotify-shim watch [OPTION]... PATH...\n"
	"Print the inotify events on each PATH, made by processes under the shim\n"
	"in the same domain, one line per event; by default:\n"
	"  WD MASK COOKIE NAME      e.g. \"1 IN_CREATE|IN_ISDIR 0 sub\"\n"
	"(NAME and the space before it are left out for events on PATH itself).\n"
	"\n"
	"  -r, --recursive       watch each directory tree, and the directories\n"
	"                        that appear in it\n"
	"  -e, --event=LIST      the events, comma-separated: access, modify, attrib,\n"
	"                        close_write, close_nowrite, close, open, moved_from,\n"
	"                        moved_to, move, create, delete, delete_self,\n"
	"                        move_self, all (the default)\n"
	"      --format=FMT      the line to print, with %d wd, %m mask (IN_A|IN_B),\n"
	"                        %e events (A,B), %x mask in hex, %c cookie, %f name,\n"
	"                        %w watched path, %p path (%w/%f), %% a percent sign\n"
	"  -c, --count=N         exit after N events\n"
	"  -q, --quiet           do not say \"Watches established.\" on stderr\n"
	"  -d, --domain=D        the domain (default: $INOTIFY_SHIM_DOMAIN, else yours)\n"
	"  -h, --help            show this help\n"
	"  -V, --version         show the version\n"
	"\n"
	"Exit status: 0 after N events or when every watch is gone, 1 on error,\n"
	"2 on bad usage.\n";

static const struct option options[] = {
	{ "recursive", no_argument, NULL, 'r' },
	{ "event", required_argument, NULL, 'e' },
	{ "format", required_argument, NULL, 'F' },
	{ "count", required_argument, NULL, 'c' },
	{ "quiet", no_argument, NULL, 'q' },
	CLI_COMMON_OPTIONS,
};

/* The watcher's state; nftw's callback takes no argument, hence static. */
static struct {
	const char *prog;
	int fd;
	uint32_t mask;		/* what is asked of the core */
	uint32_t shown;		/* what is printed */
	bool recursive;
	char **paths;		/* by wd */
	size_t npaths;
	size_t live;		/* watches not yet ended */
} w;

static int remember(int wd, const char *path)
{
	if ((size_t)wd >= w.npaths) {
		size_t n = (size_t)wd * 2 + 16;
		char **p = realloc(w.paths, n * sizeof *p);
		if (!p)
			return -ENOMEM;
		memset(p + w.npaths, 0, (n - w.npaths) * sizeof *p);
		w.paths = p;
		w.npaths = n;
	}
	if (w.paths[wd])
		return 0;	/* the same inode by another path: keep the first */
	w.paths[wd] = strdup(path);
	if (!w.paths[wd])
		return -ENOMEM;
	w.live++;
	return 0;
}

static void forget(int wd)
{
	if (wd > 0 && (size_t)wd < w.npaths && w.paths[wd]) {
		free(w.paths[wd]);
		w.paths[wd] = NULL;
		w.live--;
	}
}

static const char *path_of(int wd)
{
	return wd > 0 && (size_t)wd < w.npaths && w.paths[wd] ? w.paths[wd] : "";
}

static int add_one(const char *path, bool must)
{
	int wd = frontend_add_watch(w.fd, path, w.mask);

	if (wd < 0) {
		/* A directory of a tree may go away while we walk it. */
		if (must || (wd != -ENOENT && wd != -ENOTDIR))
			fprintf(stderr, "%s: %s: %s\n", w.prog, path, strerror(-wd));
		return must ? wd : 0;
	}
	wd = remember(wd, path);
	if (wd < 0)
		fprintf(stderr, "%s: %s: %s\n", w.prog, path, strerror(-wd));
	return wd;
}

static int walk_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	if (type == FTW_D && ftw->level > 0)
		add_one(path, false);
	return 0;
}

/* Watch path, and with -r every directory under it. */
static int add_tree(const char *path, bool must)
{
	struct stat st;
	int ret = add_one(path, must);

	if (ret < 0 || !w.recursive)
		return ret;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode) &&
	    nftw(path, walk_one, 16, FTW_PHYS) < 0 && must) {
		fprintf(stderr, "%s: %s: %s\n", w.prog, path, strerror(errno));
		return -errno;
	}
	return 0;
}

static void put_path(FILE *f, const struct inotify_event *ev)
{
	fputs(path_of(ev->wd), f);
	if (ev->len && ev->name[0])
		fprintf(f, "/%s", ev->name);
}

static void print_event(const char *fmt, const struct inotify_event *ev)
{
	char buf[MASK_BUF], *line = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&line, &size);
	const char *name = ev->len ? ev->name : "";

	if (!f)
		return;
	for (const char *p = fmt; *p; p++) {
		if (*p != '%' || !p[1]) {
			fputc(*p, f);
			continue;
		}
		switch (*++p) {
		case 'd': fprintf(f, "%d", ev->wd); break;
		case 'm': fputs(mask_format(ev->mask, buf, sizeof buf), f); break;
		case 'e': fputs(mask_format_short(ev->mask, buf, sizeof buf), f); break;
		case 'x': fprintf(f, "0x%08x", ev->mask); break;
		case 'c': fprintf(f, "%u", ev->cookie); break;
		case 'f': fputs(name, f); break;
		case 'w': fputs(path_of(ev->wd), f); break;
		case 'p': put_path(f, ev); break;
		case '%': fputc('%', f); break;
		default: fputc('%', f); fputc(*p, f); break;
		}
	}
	fclose(f);
	if (!strcmp(fmt, DEFAULT_FORMAT) && !name[0] && size && line[size - 1] == ' ')
		line[--size] = 0;
	printf("%s\n", line);
	fflush(stdout);
	free(line);
}

static void follow(const struct inotify_event *ev)
{
	char *path;

	if (!w.recursive || !(ev->mask & IN_ISDIR) || !(ev->mask & (IN_CREATE | IN_MOVED_TO)) ||
	    !ev->len || !path_of(ev->wd)[0])
		return;
	if (asprintf(&path, "%s/%s", path_of(ev->wd), ev->name) < 0)
		return;
	add_tree(path, false);
	free(path);
}

static int loop(const char *fmt, long count)
{
	struct slot_ref ref;
	long seen = 0;
	union {
		struct inotify_event ev;
		char bytes[64 * 1024];
	} buf;

	if (!fdtable_instance(w.fd, &ref))
		return -EBADF;
	while (w.live > 0) {
		ssize_t n = frontend_read(w.fd, ref, buf.bytes, sizeof buf.bytes);
		if (n == -EINTR)
			continue;
		if (n < 0)
			return (int)n;
		for (ssize_t off = 0; off < n;) {
			const struct inotify_event *ev = (const void *)(buf.bytes + off);
			off += (ssize_t)(sizeof *ev + ev->len);
			if ((ev->mask & w.shown) ||
			    (ev->mask & (IN_Q_OVERFLOW | IN_IGNORED | IN_UNMOUNT))) {
				print_event(fmt, ev);
				if (count > 0 && ++seen >= count)
					return 0;
			}
			follow(ev);
			if (ev->mask & IN_IGNORED)
				forget(ev->wd);
		}
	}
	return 0;
}

int cmd_watch(int argc, char **argv)
{
	const char *prog = argv[0], *domain = NULL, *fmt = DEFAULT_FORMAT;
	bool quiet = false;
	long count = 0;
	int c, ret;

	w.prog = prog;
	while ((c = getopt_long(argc, argv, ":re:c:qd:hV", options, NULL)) != -1) {
		char bad[64], *end;
		uint32_t m;
		switch (c) {
		case 'r':
			w.recursive = true;
			break;
		case 'e':
			if (mask_parse_events(optarg, &m, bad, sizeof bad) < 0)
				cli_usage_error(prog, "-e: '%s' is not an event", bad);
			w.shown |= m;
			break;
		case 'F':
			fmt = optarg;
			break;
		case 'c':
			errno = 0;
			count = strtol(optarg, &end, 10);
			if (errno || *end || count <= 0)
				cli_usage_error(prog, "--count: '%s' is not a positive number", optarg);
			break;
		case 'q':
			quiet = true;
			break;
		case 'd':
			domain = optarg;
			break;
		default:
			cli_other_option(prog, argv, c, usage);
		}
	}
	if (optind >= argc)
		cli_usage_error(prog, "no PATH to watch");
	if (!w.shown)
		w.shown = IN_ALL_EVENTS;
	w.mask = w.shown | (w.recursive ? IN_CREATE | IN_MOVED_TO : 0);
	if (cli_open_domain(prog, domain) < 0)
		return 1;
	w.fd = frontend_init1(IN_CLOEXEC);
	if (w.fd < 0) {
		fprintf(stderr, "%s: a new instance in %s: %s\n", prog, cli_domain_dir(),
			strerror(-w.fd));
		return 1;
	}
	for (int i = optind; i < argc; i++)
		if (add_tree(argv[i], true) < 0)
			return 1;
	if (!quiet)
		fprintf(stderr, "Watches established.\n");
	ret = loop(fmt, count);
	if (ret < 0) {
		fprintf(stderr, "%s: reading events: %s\n", prog, strerror(-ret));
		return 1;
	}
	return 0;
}
