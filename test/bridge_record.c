/*
 * bridge_record.c - the bridge's record encoding and its per-root ordering
 * (tools/bridge/record.c, order.c), without a server.
 */
#include <criterion/criterion.h>
#include <string.h>
#include <sys/inotify.h>

#include "bridge/order.h"
#include "bridge/record.h"

static struct bridge_event sample(void)
{
	struct bridge_event ev;

	memset(&ev, 0, sizeof(ev));
	strcpy(ev.root, "proj");
	strcpy(ev.path, "a/b");
	strcpy(ev.name, "file \n\t\xff name");
	ev.mask = IN_MOVED_FROM | IN_ISDIR;
	ev.cookie = 0xdeadbeef;
	ev.isdir = true;
	strcpy(ev.host, "host-1");
	ev.incarnation = 0x0123456789abcdefULL;
	ev.seq = 1ULL << 40;
	return ev;
}

Test(bridge_record, encoding_round_trips_every_field)
{
	struct bridge_event ev = sample(), out;
	unsigned char buf[BRIDGE_RECORD_MAX];

	int n = bridge_record_encode(&ev, buf, sizeof(buf));
	cr_assert_eq(n, BRIDGE_RECORD_HEADER + 4 + 6 + 3 + (int)strlen(ev.name));
	cr_assert_eq(buf[0], BRIDGE_RECORD_VERSION);
	cr_assert_eq(bridge_record_decode(buf, n, &out), 0);
	cr_expect_str_eq(out.root, ev.root);
	cr_expect_str_eq(out.path, ev.path);
	cr_expect_str_eq(out.name, ev.name);
	cr_expect_str_eq(out.host, ev.host);
	cr_expect_eq(out.mask, ev.mask);
	cr_expect_eq(out.cookie, ev.cookie);
	cr_expect_eq(out.isdir, true);
	cr_expect_eq(out.incarnation, ev.incarnation);
	cr_expect_eq(out.seq, ev.seq);
}

Test(bridge_record, decoding_refuses_other_versions_and_bad_lengths)
{
	struct bridge_event ev = sample(), out;
	unsigned char buf[BRIDGE_RECORD_MAX];
	int n = bridge_record_encode(&ev, buf, sizeof(buf));

	buf[0] = 2;
	cr_expect_eq(bridge_record_decode(buf, n, &out), -1);
	buf[0] = BRIDGE_RECORD_VERSION;
	cr_expect_eq(bridge_record_decode(buf, n - 1, &out), -1);
	cr_expect_eq(bridge_record_decode(buf, BRIDGE_RECORD_HEADER - 1, &out), -1);
	cr_expect_eq(bridge_record_decode(buf, n, &out), 0);
}

Test(bridge_record, decoding_refuses_paths_that_leave_the_root)
{
	const char *bad[] = { "/etc", "..", "a/../..", "a//b", "a/", "./a" };
	struct bridge_event ev = sample(), out;
	unsigned char buf[BRIDGE_RECORD_MAX];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		strcpy(ev.path, bad[i]);
		int n = bridge_record_encode(&ev, buf, sizeof(buf));
		cr_expect_eq(bridge_record_decode(buf, n, &out), -1, "%s", bad[i]);
	}
	ev = sample();
	strcpy(ev.name, "..");
	int n = bridge_record_encode(&ev, buf, sizeof(buf));
	cr_expect_eq(bridge_record_decode(buf, n, &out), -1);
}

Test(bridge_record, tokens_are_subject_safe)
{
	cr_expect(bridge_token_valid("proj_1-x"));
	cr_expect(!bridge_token_valid(""));
	cr_expect(!bridge_token_valid("a.b"));
	cr_expect(!bridge_token_valid("a*"));
	cr_expect(!bridge_token_valid("a b"));
}

static unsigned check(struct order *o, uint64_t sseq, const char *host,
		      uint64_t inc, uint64_t seq)
{
	struct bridge_event ev;

	memset(&ev, 0, sizeof(ev));
	strcpy(ev.host, host);
	ev.incarnation = inc;
	ev.seq = seq;
	return order_check(o, sseq, &ev);
}

Test(bridge_record, order_delivers_in_sequence_and_drops_redeliveries)
{
	struct order o;

	order_reset(&o);
	cr_expect_eq(check(&o, 10, "a", 1, 5), ORDER_DELIVER);	/* baseline */
	cr_expect_eq(check(&o, 11, "a", 1, 6), ORDER_DELIVER);
	cr_expect_eq(check(&o, 12, "b", 1, 1), ORDER_DELIVER);
	cr_expect_eq(check(&o, 11, "a", 1, 6), 0);		/* redelivered */
	cr_expect_eq(check(&o, 13, "a", 1, 6), 0);		/* resent, new id */
	cr_expect_eq(check(&o, 14, "a", 1, 7), ORDER_DELIVER);
}

Test(bridge_record, order_reports_stream_and_origin_gaps)
{
	struct order o;

	order_reset(&o);
	cr_expect_eq(check(&o, 1, "a", 1, 1), ORDER_DELIVER);
	cr_expect_eq(check(&o, 3, "a", 1, 2), ORDER_DELIVER | ORDER_LOST);
	cr_expect_eq(check(&o, 4, "a", 1, 4), ORDER_DELIVER | ORDER_LOST);
	/* a new incarnation of a starts its own sequence */
	cr_expect_eq(check(&o, 5, "a", 2, 1), ORDER_DELIVER);
	order_reset(&o);
	cr_expect_eq(check(&o, 9, "a", 2, 9), ORDER_DELIVER);
}

Test(bridge_record, a_batch_decodes_record_by_record)
{
	unsigned char buf[3 * BRIDGE_RECORD_MAX];
	struct bridge_event ev = sample(), out;
	size_t len = 0;

	for (int i = 0; i < 3; i++) {
		ev.seq = 100 + (uint64_t)i;
		snprintf(ev.name, sizeof(ev.name), "n%d", i);
		int n = bridge_record_encode(&ev, buf + len, sizeof(buf) - len);
		cr_assert_gt(n, 0);
		len += (size_t)n;
	}
	size_t off = 0;
	for (int i = 0; i < 3; i++) {
		char name[8];
		int n = bridge_record_decode_next(buf + off, len - off, &out);
		cr_assert_gt(n, 0);
		off += (size_t)n;
		snprintf(name, sizeof(name), "n%d", i);
		cr_expect_str_eq(out.name, name);
		cr_expect_eq(out.seq, 100 + (uint64_t)i);
	}
	cr_expect_eq(off, len);
	/* a whole-message decode refuses more than one record, and a cut one */
	cr_expect_eq(bridge_record_decode(buf, len, &out), -1);
	cr_expect_eq(bridge_record_decode_next(buf, 20, &out), -1);
}

Test(bridge_record, order_checks_the_later_records_of_a_message_by_origin)
{
	struct order o;
	struct bridge_event ev;

	order_reset(&o);
	cr_expect_eq(check(&o, 1, "a", 1, 1), ORDER_DELIVER);
	memset(&ev, 0, sizeof(ev));
	strcpy(ev.host, "a");
	ev.incarnation = 1;
	ev.seq = 2;
	cr_expect_eq(order_check_next(&o, &ev), ORDER_DELIVER);
	ev.seq = 2;
	cr_expect_eq(order_check_next(&o, &ev), 0);		/* a duplicate */
	ev.seq = 4;
	cr_expect_eq(order_check_next(&o, &ev), ORDER_DELIVER | ORDER_LOST);
	/* the next message: the stream's sequence follows the message's */
	cr_expect_eq(check(&o, 2, "a", 1, 5), ORDER_DELIVER);
}
