/*
 * fd_objects.c - issue 13, items 7, 9, 10 and 12: what the shim keeps per
 * fd, and what an instance fd answers.
 *   - threads using one fd agree on one open-file record (no record
 *     leaks, however they race);
 *   - an instance read through an fd inherited past exec gives events,
 *     with more holders than a fixed array would keep;
 *   - every write-like and seek-like call on an instance fd gives the
 *     kernel's answer (the kernel's own fd is asked the same, where the
 *     test can have one: see kernel_fd());
 *   - /proc/.../fdinfo/N of an instance reads as the kernel's.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

TestSuite(fd_records, .init = scratch_setup, .fini = scratch_leave, .timeout = 120);

/* test only: the library's count of open-file records in use */
uint32_t inotify_shim__test_records_live(void);

struct writer {
	int fd;
	int n;
};

static void *write_many(void *arg)
{
	struct writer *w = arg;

	for (int i = 0; i < w->n; i++)
		if (pwrite(w->fd, "x", 1, 0) != 1)
			return (void *)1;
	return NULL;
}

Test(fd_records, eight_threads_writing_one_fd_leak_no_record)
{
	enum { THREADS = 8, WRITES = 40000 };
	pthread_t t[THREADS];
	struct writer w;
	struct ev ev[64];
	uint32_t before;
	int in, fd, n, modified = 0, closed = 0;

	in = inotify_init1(IN_NONBLOCK);
	cr_assert_geq(in, 0);
	cr_assert_eq(inotify_add_watch(in, ".", IN_MODIFY | IN_CLOSE_WRITE), 1);
	before = inotify_shim__test_records_live();
	fd = open("shared", O_CREAT | O_WRONLY, 0600);
	cr_assert_geq(fd, 0);
	w = (struct writer){ fd, WRITES };
	for (int i = 0; i < THREADS; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, write_many, &w), 0);
	for (int i = 0; i < THREADS; i++) {
		void *r;
		pthread_join(t[i], &r);
		cr_assert_null(r, "a pwrite failed");
	}
	cr_expect_eq(inotify_shim__test_records_live(), before + 1,
		     "%u records for one open file", inotify_shim__test_records_live() - before);
	close(fd);
	cr_expect_eq(inotify_shim__test_records_live(), before, "records leaked: %u",
		     inotify_shim__test_records_live() - before);
	/* the events: IN_MODIFY (coalesced), then one IN_CLOSE_WRITE */
	while ((n = wait_events(in, ev, 64, 1, 2000)) > 0)
		for (int i = 0; i < n; i++) {
			modified += ev[i].mask == IN_MODIFY;
			closed += ev[i].mask == IN_CLOSE_WRITE;
			cr_expect_neq(ev[i].mask, IN_Q_OVERFLOW);
			if (ev[i].mask == IN_CLOSE_WRITE)
				goto done;
		}
done:
	cr_expect_gt(modified, 0);
	cr_expect_eq(closed, 1);
	close(in);
}
