/* consumer.c - the consumer API: a handle with an operations table and a
 * watch embedded in a structure of the caller's own, as the kernel's
 * inotify_user.c embeds struct inotify_watch.
 *
 * Build: cc consumer.c $(pkg-config --cflags --libs inotify-shim)
 *
 * It watches a new directory, has another process (a shell) create a file
 * in it, handles that event, removes the watch, and frees its structure in
 * destroy_watch once the final put follows IN_IGNORED.  Exit status 0 when
 * all of that happened. */
#include <inotify-shim.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct my_dir {
	char path[64];
	int events;
	struct inotify_shim_watch watch;	/* embedded */
};

#define MY_DIR(w) ((struct my_dir *)((char *)(w) - offsetof(struct my_dir, watch)))

static int freed;

static void handle_event(struct inotify_shim_watch *w, int wd, uint32_t mask,
			 uint32_t cookie, const char *name, void *user)
{
	(void)cookie;
	(void)user;
	if (!w)
		return;		/* IN_Q_OVERFLOW belongs to no watch */
	printf("wd %d mask 0x%x name %s\n", wd, (unsigned)mask, name ? name : "-");
	MY_DIR(w)->events++;
	if (mask & IN_IGNORED)
		inotify_shim_watch_put(w);	/* the final put */
}

static void destroy_watch(struct inotify_shim_watch *w)
{
	printf("destroy_watch after %d events\n", MY_DIR(w)->events);
	free(MY_DIR(w));
	freed = 1;
}

static const struct inotify_shim_operations ops = { handle_event, destroy_watch };

/* Wait up to 5 s for events, and run their handlers. */
static void dispatch(struct inotify_shim_handle *h)
{
	struct pollfd p = { .fd = inotify_shim_handle_fd(h), .events = POLLIN };

	if (poll(&p, 1, 5000) == 1)
		inotify_shim_handle_dispatch(h);
}

int main(void)
{
	struct inotify_shim_handle *h = inotify_shim_handle_new(&ops, NULL);
	struct my_dir *dir = calloc(1, sizeof *dir);
	char cmd[128];
	int wd;

	if (!h || !dir)
		return 1;
	snprintf(dir->path, sizeof dir->path, "/tmp/inotify-shim-consumer.XXXXXX");
	if (!mkdtemp(dir->path))
		return 1;
	inotify_shim_watch_init(&dir->watch);
	wd = inotify_shim_handle_add_watch(h, &dir->watch, dir->path, IN_CREATE);
	if (wd < 0)
		return 1;

	snprintf(cmd, sizeof cmd, "touch %s/made-by-a-shell", dir->path);
	if (system(cmd) != 0)	/* another process */
		return 1;
	dispatch(h);		/* IN_CREATE */

	snprintf(cmd, sizeof cmd, "rm -r %s", dir->path);
	inotify_shim_handle_rm_wd(h, wd);
	dispatch(h);		/* IN_IGNORED, the final put, destroy_watch */
	inotify_shim_handle_destroy(h);
	if (system(cmd) != 0)
		return 1;
	return freed ? 0 : 1;
}
