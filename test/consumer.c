/*
 * consumer.c - the consumer API: handles with an operations table, watches
 * embedded in the caller's structures, the seed's lifetime rules.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"
#include "inotify-shim.h"

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

/* A caller's own structure with the watch embedded, as inotify_user.c
 * embeds struct inotify_watch in struct inotify_user_watch. */
struct my_watch {
	char label[32];
	int destroyed;
	struct inotify_shim_watch watch;
};

struct seen {
	struct my_watch *who;
	int wd;
	uint32_t mask;
	uint32_t cookie;
	char name[256];
};

struct recorder {
	struct seen ev[64];
	int n;
	struct inotify_shim_handle *h;
	struct my_watch *add_from_handler;	/* added by the handler */
	const char *add_path;
	int add_result;
};

static void on_event(struct inotify_shim_watch *w, int wd, uint32_t mask,
		     uint32_t cookie, const char *name, void *user)
{
	struct recorder *r = user;
	struct seen *s = &r->ev[r->n < 64 ? r->n++ : 63];

	s->who = w ? container_of(w, struct my_watch, watch) : NULL;
	s->wd = wd;
	s->mask = mask;
	s->cookie = cookie;
	snprintf(s->name, sizeof s->name, "%s", name ? name : "");
	if ((mask & IN_IGNORED) && w)
		inotify_shim_watch_put(w);	/* the final put, the seed's rule */
	if (r->add_from_handler && r->add_path) {
		r->add_result = inotify_shim_handle_add_watch(
			r->h, &r->add_from_handler->watch, r->add_path, IN_CREATE);
		r->add_path = NULL;
	}
}

static void on_destroy(struct inotify_shim_watch *w)
{
	container_of(w, struct my_watch, watch)->destroyed++;
}

static const struct inotify_shim_operations ops = {
	.handle_event = on_event,
	.destroy_watch = on_destroy,
};

static struct recorder rec;

static void setup(void)
{
	scratch_enter();
	memset(&rec, 0, sizeof rec);
	rec.h = inotify_shim_handle_new(&ops, &rec);
	cr_assert_not_null(rec.h, "handle_new: %s", strerror(errno));
}

static void teardown(void)
{
	if (rec.h)
		inotify_shim_handle_destroy(rec.h);
	scratch_leave();
}

TestSuite(consumer, .init = setup, .fini = teardown);

static struct my_watch *new_watch(const char *label)
{
	struct my_watch *m = calloc(1, sizeof *m);
	snprintf(m->label, sizeof m->label, "%s", label);
	inotify_shim_watch_init(&m->watch);
	return m;
}

/* Dispatch until at least n events were handled, or 5 s pass. */
static void dispatch_until(int n)
{
	for (int i = 0; i < 500 && rec.n < n; i++) {
		if (!wait_readable(inotify_shim_handle_fd(rec.h), 10))
			continue;
		cr_assert_geq(inotify_shim_handle_dispatch(rec.h), 0);
	}
	cr_assert_geq(rec.n, n, "only %d of %d events were handled", rec.n, n);
}

Test(consumer, handle_event_receives_an_event_made_by_another_process)
{
	struct my_watch *m = new_watch("dir");

	cr_assert_gt(inotify_shim_handle_add_watch(rec.h, &m->watch, ".", IN_CREATE), 0);
	cr_assert_eq(run_shell("touch made-elsewhere"), 0);
	dispatch_until(1);
	cr_assert_eq(rec.ev[0].who, m);
	cr_assert_eq(rec.ev[0].mask, IN_CREATE);
	cr_assert_str_eq(rec.ev[0].name, "made-elsewhere");
}

Test(consumer, embedded_watch_is_recovered_with_container_of)
{
	struct my_watch *a = new_watch("a"), *b = new_watch("b");

	mkdir("da", 0755);
	mkdir("db", 0755);
	cr_assert_gt(inotify_shim_handle_add_watch(rec.h, &a->watch, "da", IN_CREATE), 0);
	cr_assert_gt(inotify_shim_handle_add_watch(rec.h, &b->watch, "db", IN_CREATE), 0);
	close(open("db/x", O_CREAT | O_WRONLY, 0644));
	dispatch_until(1);
	cr_assert_str_eq(rec.ev[0].who->label, "b");
	cr_assert_eq(inotify_shim_handle_find_watch(rec.h, a->watch.wd), &a->watch);
}

Test(consumer, destroy_watch_runs_after_rm_wd_and_its_ignored)
{
	struct my_watch *m = new_watch("dir");
	int wd = inotify_shim_handle_add_watch(rec.h, &m->watch, ".", IN_CREATE);

	cr_assert_gt(wd, 0);
	cr_assert_eq(inotify_shim_handle_rm_wd(rec.h, wd), 0);
	cr_assert_eq(m->destroyed, 0, "destroyed before IN_IGNORED was handled");
	dispatch_until(1);
	cr_assert_eq(rec.ev[0].mask, IN_IGNORED);
	cr_assert_eq(m->destroyed, 1);
	cr_assert_eq(inotify_shim_handle_rm_wd(rec.h, wd), -EINVAL);
}

Test(consumer, destroy_watch_runs_after_the_first_event_of_a_oneshot_watch)
{
	struct my_watch *m = new_watch("once");

	cr_assert_gt(inotify_shim_handle_add_watch(rec.h, &m->watch, ".",
						   IN_CREATE | IN_ONESHOT), 0);
	close(open("first", O_CREAT | O_WRONLY, 0644));
	close(open("second", O_CREAT | O_WRONLY, 0644));
	dispatch_until(2);
	cr_assert_eq(rec.n, 2);
	cr_assert_eq(rec.ev[0].mask, IN_CREATE);
	cr_assert_str_eq(rec.ev[0].name, "first");
	cr_assert_eq(rec.ev[1].mask, IN_IGNORED);
	cr_assert_eq(m->destroyed, 1);
}

Test(consumer, destroy_watch_runs_after_the_watched_inode_is_deleted)
{
	struct my_watch *m = new_watch("file");

	close(open("victim", O_CREAT | O_WRONLY, 0644));
	cr_assert_gt(inotify_shim_handle_add_watch(rec.h, &m->watch, "victim",
						   IN_DELETE_SELF), 0);
	cr_assert_eq(run_shell("rm victim"), 0);
	dispatch_until(2);
	cr_assert_eq(rec.ev[0].mask, IN_DELETE_SELF);
	cr_assert_eq(rec.ev[1].mask, IN_IGNORED);
	cr_assert_eq(m->destroyed, 1);
}

Test(consumer, a_handler_may_add_a_watch_from_inside_its_own_call)
{
	struct my_watch *first = new_watch("first"), *later = new_watch("later");

	mkdir("next", 0755);
	cr_assert_gt(inotify_shim_handle_add_watch(rec.h, &first->watch, ".", IN_CREATE), 0);
	rec.add_from_handler = later;
	rec.add_path = "next";
	close(open("trigger", O_CREAT | O_WRONLY, 0644));
	dispatch_until(1);
	cr_assert_gt(rec.add_result, 0, "add_watch from the handler: %d", rec.add_result);
	close(open("next/inside", O_CREAT | O_WRONLY, 0644));
	dispatch_until(2);
	cr_assert_eq(rec.ev[1].who, later);
	cr_assert_str_eq(rec.ev[1].name, "inside");
}

Test(consumer, add_watch_on_an_inode_already_watched_is_eexist)
{
	struct my_watch *a = new_watch("a"), *b = new_watch("b");

	cr_assert_gt(inotify_shim_handle_add_watch(rec.h, &a->watch, ".", IN_CREATE), 0);
	cr_assert_eq(inotify_shim_handle_add_watch(rec.h, &b->watch, "./.", IN_DELETE), -EEXIST);
	cr_assert_eq(b->watch.count, 0, "the refused watch was referenced");
}

Test(consumer, find_update_watch_replaces_or_adds_to_the_mask)
{
	struct my_watch *a = new_watch("a");
	int wd = inotify_shim_handle_add_watch(rec.h, &a->watch, ".", IN_CREATE);

	cr_assert_eq(inotify_shim_handle_find_update_watch(rec.h, ".", IN_DELETE), wd);
	cr_assert_eq(a->watch.mask, IN_DELETE);
	cr_assert_eq(inotify_shim_handle_find_update_watch(rec.h, ".", IN_CREATE | IN_MASK_ADD), wd);
	cr_assert_eq(a->watch.mask, IN_DELETE | IN_CREATE);
	mkdir("other", 0755);
	cr_assert_eq(inotify_shim_handle_find_update_watch(rec.h, "other", IN_CREATE), -ENOENT);
}

Test(consumer, handle_fd_polls_readable_exactly_while_events_wait)
{
	struct my_watch *a = new_watch("a");
	int fd = inotify_shim_handle_fd(rec.h);

	cr_assert_gt(inotify_shim_handle_add_watch(rec.h, &a->watch, ".", IN_CREATE), 0);
	cr_assert_not(wait_readable(fd, 0));
	close(open("x", O_CREAT | O_WRONLY, 0644));
	cr_assert(wait_readable(fd, 0), "the event was queued when open returned");
	cr_assert_eq(inotify_shim_handle_dispatch(rec.h), 1);
	cr_assert_not(wait_readable(fd, 0));
}

Test(consumer, destroy_ends_the_remaining_watches_with_a_final_put)
{
	struct my_watch *a = new_watch("a");

	cr_assert_gt(inotify_shim_handle_add_watch(rec.h, &a->watch, ".", IN_CREATE), 0);
	inotify_shim_handle_destroy(rec.h);
	rec.h = NULL;
	cr_assert_eq(a->destroyed, 1);
	cr_assert_eq(rec.n, 0, "destroy delivered an event");
}

Test(consumer, a_watch_held_by_the_caller_outlives_its_ignored)
{
	struct my_watch *a = new_watch("a");
	int wd = inotify_shim_handle_add_watch(rec.h, &a->watch, ".", IN_CREATE);

	inotify_shim_watch_get(&a->watch);
	inotify_shim_handle_rm_wd(rec.h, wd);
	dispatch_until(1);
	cr_assert_eq(a->destroyed, 0);
	inotify_shim_watch_put(&a->watch);
	cr_assert_eq(a->destroyed, 1);
}
