/*
 * init.c - the library's constructor: settings, the fd table, the domain,
 * the instance fds kept across exec, and the fork handler.
 *
 * Whatever fails here leaves the library inert (hooks pass everything
 * through, inotify calls fail with ENOMEM) after one message: it never
 * stops the host program.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "domain/domain.h"
#include "hooks/exec.h"
#include "hooks/files.h"
#include "fd/fdtable.h"
#include "instance/instance.h"
#include "util/config.h"
#include "util/log.h"

static void before_fork(void)
{
	share_before_fork();
}

static void after_fork_child(void)
{
	frontend_after_fork();
	share_after_fork_child();
}

__attribute__((constructor)) static void shim_init(void)
{
	int saved = errno, ret;

	shim_log_init();
	shim_config_load();
	/* libuv (Node) would make its file changes through io_uring, where no
	 * hook sees them; this makes it use the plain calls, in this process
	 * and in the ones it starts.  libuv reads it at its first fs call.
	 * A value the user set is the user's: kept. */
	setenv("UV_USE_IO_URING", "0", 0);
	if (fdtable_init() < 0) {
		shim_log("no memory for the fd table; the shim is inert");
		errno = saved;
		return;
	}
	ret = domain_open();
	if (ret < 0)
		shim_log("no domain (%s); events will not be seen", strerror(-ret));
	else {
		frontend_after_exec();
		/* the exec's own events (hooks/exec.c) around the files this
		 * image inherited, and the close events of those that exec
		 * closed */
		exec_image_start();
		share_after_exec();
		exec_image_started();
	}
	pthread_atfork(before_fork, NULL, after_fork_child);
	errno = saved;
}
