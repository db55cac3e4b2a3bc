/*
 * relay_queue.c - the lost-event wake of a queue (src/queue/queue.h,
 * "Lost events") against a reader that wins the race with it: the hang of
 * test/relay.fuzz in the package build, made deterministic.
 *
 * The relay marks an instance lost (its ENOSPC's IN_Q_OVERFLOW, its own
 * kernel queue's overflow) and wakes it without the lock
 * (queue_wake_lost).  A reader blocked in the FIFO takes that byte the
 * moment it lands, reports it (queue_token_taken), and reads the overflow,
 * all before the producer's call returns: here the fake FIFO's wake does
 * exactly that, inside the producer's write.  The next event must then
 * write a token: a queue that holds an event with an empty FIFO is a
 * reader blocked for ever.  The queue is driven directly, through fake
 * FIFO callbacks (queue_waker): no instance, no inotify.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "helpers.h"
#include "../src/queue/queue.h"

struct fifo {
	struct queue *q;
	uint32_t bytes;		/* in the fake FIFO */
	bool race;		/* the next wake: a blocked reader takes it at once */
	ssize_t raced;		/* what that reader's read returned */
	char buf[256];
};

static struct fifo f;

static uint32_t fake_unwake(void *arg, uint32_t max)
{
	struct fifo *p = arg;
	uint32_t took = max < p->bytes ? max : p->bytes;

	p->bytes -= took;
	return took;
}

static int fake_wake(void *arg, uint32_t tokens);
static const struct queue_waker waker = { fake_wake, fake_unwake, &f };

static int fake_wake(void *arg, uint32_t tokens)
{
	struct fifo *p = arg;

	(void)tokens;
	p->bytes++;
	if (p->race) {
		p->race = false;
		p->bytes--;			/* the blocked reader's read(2) */
		queue_token_taken(p->q, &waker);
		p->raced = queue_read(p->q, p->buf, sizeof p->buf, &waker);
	}
	return 0;
}

static struct queue q;
static uint32_t lost_word;

static void setup(void)
{
	int fd;

	scratch_enter();
	fd = open("queue", O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	cr_assert(fd >= 0);
	cr_assert_eq(queue_create(fd, 16, &q), 0);
	close(fd);
	q.lost = &lost_word;
	q.lost_gen = 1;
	f = (struct fifo){ .q = &q };
}

static void teardown(void)
{
	queue_unmap(&q);
	scratch_leave();
}

TestSuite(relay_queue, .init = setup, .fini = teardown, .timeout = 60);

Test(relay_queue, an_event_after_a_lost_wake_a_reader_took_at_once_writes_a_token)
{
	const struct inotify_event *e = (const void *)f.buf;

	SHIM_ONLY("the shim's queue, driven directly");
	/* the producer: events lost (slot_lost), the reader woken */
	__atomic_store_n(&lost_word, 1, __ATOMIC_RELEASE);
	f.race = true;
	queue_wake_lost(&q, &waker);
	/* the reader read the overflow, and nothing is left in the FIFO */
	cr_assert_eq(f.raced, (ssize_t)sizeof *e);
	cr_assert_eq(e->wd, -1);
	cr_assert_eq(e->mask, IN_Q_OVERFLOW);
	cr_assert_eq(f.bytes, 0);
	/* the next event: the FIFO is readable, so that the reader wakes */
	cr_assert_eq(queue_add(&q, 1, IN_CREATE, 0, "end", &waker), 1);
	cr_assert_eq(f.bytes, 1, "an event queued and no token in the FIFO: "
		     "a reader blocked in read() never wakes");
}
