/*
 * gc.c - inotify-shim gc: reclaim the instances that no process holds any
 * more (their holders exited or were killed), with their watches and
 * files, and say what was freed.  The library does the same by itself
 * when it needs room; this is for a look at, or a clean-up of, a domain.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "core/slots.h"
#include "domain/registry.h"

#include "cli.h"

static const char usage[] =
	"Usage: inotify-shim gc [OPTION]...\n"
	"Reclaim the instances of the domain whose holders are all gone, with\n"
	"their watches and files, and list what was freed.\n"
	"\n"
	"  -d, --domain=D    the domain (default: $INOTIFY_SHIM_DOMAIN, else yours)\n"
	"  -h, --help        show this help\n"
	"  -V, --version     show the version\n";

static const struct option options[] = {
	CLI_COMMON_OPTIONS,
};

int cmd_gc(int argc, char **argv)
{
	const char *prog = argv[0], *domain = NULL;
	struct domain *d;
	unsigned freed = 0, watches = 0;
	int c, ret;

	while ((c = getopt_long(argc, argv, ":d:hV", options, NULL)) != -1) {
		switch (c) {
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
	d = shim_domain;
	ret = domain_lock(d);
	if (ret < 0) {
		fprintf(stderr, "%s: locking the registry %s/registry: %s\n", prog,
			d->dir, strerror(-ret));
		return 1;
	}
	for (uint32_t slot = 1; slot < REGISTRY_INSTANCES; slot++) {
		struct reg_instance *inst = reg_instance(d, slot);
		if (!inst || inst->state != RECORD_USED || slot_alive(d, slot))
			continue;
		printf("freed instance %u.%u: %u watch%s, created by pid %d, holders",
		       slot, inst->gen, inst->nwatches, inst->nwatches == 1 ? "" : "es",
		       (int)inst->creator_pid);
		for (uint32_t h = 0; h < inst->nholders && h < HOLDERS_PER_INSTANCE; h++)
			printf(" %d:%d", (int)inst->holders[h].pid, (int)inst->holders[h].fd);
		printf("%s\n", inst->nholders ? "" : " none");
		watches += inst->nwatches;
		slot_reclaim(d, slot);
		freed++;
	}
	domain_unlock(d);
	printf("%u instance%s and %u watch%s freed in %s\n", freed, freed == 1 ? "" : "s",
	       watches, watches == 1 ? "" : "es", d->dir);
	return fflush(stdout) == 0 ? 0 : 1;
}
