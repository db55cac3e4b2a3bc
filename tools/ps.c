/*
 * ps.c - inotify-shim ps: the live instances of the domain, what the
 * kernel's /proc/PID/fdinfo shows only to their owner and root, read from
 * the shared registry without root and without a scan of /proc.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "bridge/status.h"
#include "cli.h"
#include "domain/domain.h"
#include "scan.h"
#include "snapshot.h"
#include "relay/relay.h"

/* ---- issue 15: the relay's state, where one has run (tools/relay_ps.c) */
int relay_ps_state(struct relay_ring *out, bool *running);

static void print_relay(bool json)
{
	struct relay_ring r;
	bool running;

	if (relay_ps_state(&r, &running) < 0)
		return;
	if (json) {
		printf(",\"relay\":{\"running\":%s,\"pid\":%u,\"mirrored\":%llu,"
		       "\"unmirrored\":%llu,\"enospc\":%llu,\"lag_last_us\":%llu,"
		       "\"lag_max_us\":%llu,\"delivered\":%llu,\"deduplicated\":%llu,"
		       "\"overflows\":%llu,\"handoffs_dropped\":%llu}",
		       running ? "true" : "false", r.pid, (unsigned long long)r.mirrored,
		       (unsigned long long)r.unmirrored, (unsigned long long)r.enospc,
		       (unsigned long long)r.lag_last_ns / 1000, (unsigned long long)r.lag_max_ns / 1000,
		       (unsigned long long)r.delivered, (unsigned long long)r.deduplicated,
		       (unsigned long long)r.overflows, (unsigned long long)r.handoff_dropped);
		return;
	}
	if (!running) {
		printf("relay stopped\n");
		return;
	}
	printf("relay pid %u: mirrored %llu, unmirrored %llu, enospc %llu, lag %llu us "
	       "(max %llu us), delivered %llu, deduplicated %llu, overflows %llu, "
	       "hand-offs dropped %llu\n", r.pid, (unsigned long long)r.mirrored,
	       (unsigned long long)r.unmirrored, (unsigned long long)r.enospc,
	       (unsigned long long)r.lag_last_ns / 1000, (unsigned long long)r.lag_max_ns / 1000,
	       (unsigned long long)r.delivered, (unsigned long long)r.deduplicated,
	       (unsigned long long)r.overflows, (unsigned long long)r.handoff_dropped);
}
/* ---- end of issue 15's block */

/* The domain's counters (layout.h): what the library no longer prints in
 * the programs' streams (util/log.h), read without the lock. */
struct counters {
	unsigned long long repairs, lost, refusals, storage;
};

static void read_counters(struct counters *c)
{
	struct registry *r = shim_domain->reg;

	c->repairs = __atomic_load_n(&r->repairs, __ATOMIC_RELAXED);
	c->lost = __atomic_load_n(&r->lost_overflows, __ATOMIC_RELAXED);
	c->refusals = __atomic_load_n(&r->refusals, __ATOMIC_RELAXED);
	c->storage = __atomic_load_n(&r->storage_failures, __ATOMIC_RELAXED);
}

static const char usage[] =
	"Usage: inotify-shim ps [OPTION]...\n"
	"List the live inotify instances of the domain: the processes holding\n"
	"each (PID:FD), its watches, the events and bytes queued, and the\n"
	"overflows so far; and the domain's counters of what the library does not\n"
	"print: registry repairs after a process died holding it, IN_Q_OVERFLOW\n"
	"events given for events lost (not to a full queue), files of the domain\n"
	"refused, and pages the file system could not back; where a kernel\n"
	"relay has run (inotify-shim relay), its state: watches mirrored and not,\n"
	"refused by the kernel (ENOSPC), lag, events delivered and deduplicated;\n"
	"and the domain's scanner (inotify-shim scan), if one runs: the watches it\n"
	"scans, its last pass and its lag (the age of its oldest look).  Then each\n"
	"bridge of the domain (inotify-shim bridge): its host, server, roots and\n"
	"their lag.\n"
	"\n"
	"  -w, --watches     also list each watch: wd, mask, inode (dev:ino) and\n"
	"                    its path where known\n"
	"  -j, --json        print the same as JSON\n"
	"  -d, --domain=D    the domain (default: $INOTIFY_SHIM_DOMAIN, else yours)\n"
	"  -h, --help        show this help\n"
	"  -V, --version     show the version\n";

static const struct option options[] = {
	{ "watches", no_argument, NULL, 'w' },
	{ "json", no_argument, NULL, 'j' },
	CLI_COMMON_OPTIONS,
};

static void json_string(FILE *f, const char *s)
{
	if (!s) {
		fputs("null", f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void print_json(const struct snapshot *s, bool watches)
{
	char mask[MASK_BUF];
	uint32_t dead = 0;
	bool first = true;

	struct counters c;

	read_counters(&c);
	printf("{\"domain\":");
	json_string(stdout, cli_domain_dir());
	printf(",\"repairs\":%llu,\"lost_event_overflows\":%llu,\"refusals\":%llu,"
	       "\"storage_failures\":%llu", c.repairs, c.lost, c.refusals, c.storage);
	print_relay(true);
	scan_status_print(stdout, true);
	printf(",\"instances\":[");
	for (uint32_t i = 0; i < s->count; i++) {
		const struct snap_instance *o = &s->inst[i];
		if (!o->alive) {
			dead++;
			continue;
		}
		printf("%s\n{\"id\":\"%u.%u\",\"slot\":%u,\"gen\":%u,\"holders\":[",
		       first ? "" : ",", o->slot, o->gen, o->slot, o->gen);
		first = false;
		for (uint32_t h = 0; h < o->nholders; h++)
			printf("%s{\"pid\":%d,\"fd\":%d}", h ? "," : "",
			       (int)o->holders[h].pid, (int)o->holders[h].fd);
		printf("],\"watches\":%u,\"max_queued_events\":%u", o->nwatches, o->max_events);
		if (o->queue_ok)
			printf(",\"queued_events\":%u,\"queued_bytes\":%llu,\"overflows\":%llu,"
			       "\"events_so_far\":%llu",
			       o->events, (unsigned long long)o->bytes,
			       (unsigned long long)o->overflows,
			       (unsigned long long)o->total_events);
		else
			printf(",\"queued_events\":null,\"queued_bytes\":null,\"overflows\":null,"
			       "\"events_so_far\":null");
		if (watches) {
			printf(",\"watch_list\":[");
			for (uint32_t j = 0; j < o->nwatches; j++) {
				const struct snap_watch *w = &o->watches[j];
				printf("%s{\"wd\":%d,\"mask\":", j ? "," : "", (int)w->wd);
				json_string(stdout, mask_format(w->mask, mask, sizeof mask));
				printf(",\"mask_value\":%u,\"dev\":\"%u:%u\",\"ino\":%llu,\"path\":",
				       w->mask, major(w->dev), minor(w->dev),
				       (unsigned long long)w->ino);
				json_string(stdout, w->path);
				putchar('}');
			}
			putchar(']');
		}
		putchar('}');
	}
	printf("],\n\"dead_instances\":%u,\"bridges\":", dead);
	bridge_status_print_json(stdout, cli_domain_dir());
	printf("}\n");
}

static void print_text(const struct snapshot *s, bool watches)
{
	char mask[MASK_BUF], holders[HOLDERS_PER_INSTANCE * 24 + 1];
	uint32_t dead = 0;

	struct counters c;

	read_counters(&c);
	printf("domain %s\n", cli_domain_dir());
	printf("repairs %llu, lost-event overflows %llu, refusals %llu, storage "
	       "failures %llu\n", c.repairs, c.lost, c.refusals, c.storage);
	print_relay(false);
	scan_status_print(stdout, false);
	printf("%-9s %-20s %7s %7s %8s %9s\n", "INSTANCE", "PID:FD", "WATCHES",
	       "EVENTS", "BYTES", "OVERFLOWS");
	for (uint32_t i = 0; i < s->count; i++) {
		const struct snap_instance *o = &s->inst[i];
		char id[24];
		size_t len = 0;
		if (!o->alive) {
			dead++;
			continue;
		}
		holders[0] = 0;
		for (uint32_t h = 0; h < o->nholders; h++)
			len += snprintf(holders + len, sizeof holders - len, "%s%d:%d",
					h ? "," : "", (int)o->holders[h].pid,
					(int)o->holders[h].fd);
		if (!o->nholders)
			snprintf(holders, sizeof holders, "-");
		snprintf(id, sizeof id, "%u.%u", o->slot, o->gen);
		if (o->queue_ok)
			printf("%-9s %-20s %7u %7u %8llu %9llu\n", id, holders, o->nwatches,
			       o->events, (unsigned long long)o->bytes,
			       (unsigned long long)o->overflows);
		else
			printf("%-9s %-20s %7u %7s %8s %9s\n", id, holders, o->nwatches,
			       "?", "?", "?");
		for (uint32_t j = 0; watches && j < o->nwatches; j++) {
			const struct snap_watch *w = &o->watches[j];
			printf("  wd %-4d %-40s %u:%u:%llu%s%s\n", (int)w->wd,
			       mask_format(w->mask, mask, sizeof mask), major(w->dev),
			       minor(w->dev), (unsigned long long)w->ino,
			       w->path ? "  " : "", w->path ? w->path : "");
		}
	}
	if (dead)
		printf("%u dead instance%s awaiting reclaim (inotify-shim gc)\n", dead,
		       dead == 1 ? "" : "s");
	bridge_status_print_text(stdout, cli_domain_dir());
}

int cmd_ps(int argc, char **argv)
{
	const char *prog = argv[0], *domain = NULL;
	bool watches = false, json = false;
	struct snapshot s;
	int c, ret;

	while ((c = getopt_long(argc, argv, ":wjd:hV", options, NULL)) != -1) {
		switch (c) {
		case 'w':
			watches = true;
			break;
		case 'j':
			json = true;
			break;
		case 'd':
			domain = optarg;
			break;
		default:
			cli_other_option(prog, argv, c, usage);
		}
	}
	if (optind < argc)
		cli_usage_error(prog, "unexpected argument '%s'", argv[optind]);
	if (cli_open_domain(prog, domain) < 0)
		return 1;
	ret = snapshot_take(&s, watches);
	if (ret < 0) {
		fprintf(stderr, "%s: reading the registry %s/registry: %s\n", prog,
			cli_domain_dir(), strerror(-ret));
		snapshot_free(&s);
		return 1;
	}
	if (json)
		print_json(&s, watches);
	else
		print_text(&s, watches);
	snapshot_free(&s);
	return fflush(stdout) == 0 ? 0 : 1;
}
