/*
 * session.c - open the domain from the command, which links the core but
 * does not preload the library: the same steps as the library's
 * constructor (src/init.c), with the failure reported to the user.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/domain.h"
#include "fd/fdtable.h"
#include "util/config.h"
#include "util/log.h"

#include "cli.h"

int cli_open_domain(const char *prog, const char *domain)
{
	int ret;

	if (domain && setenv("INOTIFY_SHIM_DOMAIN", domain, 1) < 0) {
		fprintf(stderr, "%s: --domain %s: %s\n", prog, domain, strerror(errno));
		return -1;
	}
	shim_log_init();
	shim_config_load();
	ret = fdtable_init();
	if (ret < 0) {
		fprintf(stderr, "%s: the fd table: %s\n", prog, strerror(-ret));
		return -1;
	}
	ret = domain_open();
	if (ret < 0) {
		/* the library is quiet without INOTIFY_SHIM_DEBUG: its reason,
		 * if it gave one, is said here */
		const char *why = shim_log_last();
		fprintf(stderr, "%s: cannot open the domain %s: %s%s%s\n", prog,
			shim_config.domain[0] ? shim_config.domain : "(the default)",
			strerror(-ret), why[0] ? ": " : "", why);
		return -1;
	}
	return 0;
}

const char *cli_domain_dir(void)
{
	return shim_domain ? shim_domain->dir : "";
}
