/*
 * scan_diff.c - the scanner's difference (src/scan/diff.c) on snapshots
 * made by hand: one test per event type and per ordering rule.
 */
#include <criterion/criterion.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>

#include "scan/diff.h"

#define S 1000000000LL

static struct scan_attr file(uint64_t ino, uint64_t size, int64_t mtime, int64_t ctime)
{
	return (struct scan_attr){ .dev = 8, .ino = ino, .btime = ino * S,
				   .mode = S_IFREG | 0644, .nlink = 1, .size = size,
				   .mtime = mtime, .ctime = ctime };
}

static struct scan_attr dir(uint64_t ino)
{
	return (struct scan_attr){ .dev = 8, .ino = ino, .btime = ino * S,
				   .mode = S_IFDIR | 0755, .nlink = 2, .size = 4096,
				   .mtime = S, .ctime = S };
}

static struct scan_snap snaps[2][4];
static struct scan_item items[4];
static struct scan_ops ops;

static void setup(void)
{
	memset(snaps, 0, sizeof snaps);
	memset(&ops, 0, sizeof ops);
	for (int i = 0; i < 4; i++) {
		items[i] = (struct scan_item){ &snaps[0][i], &snaps[1][i], true, false, false };
		snaps[0][i].present = snaps[1][i].present = true;
		snaps[0][i].self = snaps[1][i].self = dir(100 + (uint64_t)i);
	}
}

static void teardown(void)
{
	for (int i = 0; i < 4; i++) {
		scan_snap_free(&snaps[0][i]);
		scan_snap_free(&snaps[1][i]);
	}
	scan_ops_free(&ops);
}

TestSuite(scan_diff, .init = setup, .fini = teardown);

static void add(int when, int item, const char *name, struct scan_attr a)
{
	cr_assert_eq(scan_snap_add(&snaps[when][item], name, &a), 0);
}

/* Run the difference over the first n items, then check each operation. */
static void diff(size_t n)
{
	cr_assert_eq(scan_diff(items, n, &ops), 0);
}

static void expect(size_t i, enum scan_op_kind kind, uint32_t mask, int item, const char *name)
{
	cr_assert_lt(i, ops.n, "operation %zu missing (%zu made)", i, ops.n);
	cr_expect_eq(ops.op[i].kind, kind, "op %zu kind", i);
	cr_expect_eq(ops.op[i].mask, mask, "op %zu mask %#x", i, ops.op[i].mask);
	cr_expect_eq(ops.op[i].item, item, "op %zu item", i);
	if (name)
		cr_expect_str_eq(ops.op[i].name, name);
}

Test(scan_diff, first_look_makes_no_event)
{
	snaps[0][0].present = false;
	add(1, 0, "a", file(1, 0, S, S));
	diff(1);
	cr_expect_eq(ops.n, 0);
}

Test(scan_diff, unchanged_makes_no_event)
{
	add(0, 0, "a", file(1, 5, S, S));
	add(1, 0, "a", file(1, 5, S, S));
	diff(1);
	cr_expect_eq(ops.n, 0);
}

Test(scan_diff, new_empty_file_is_create)
{
	add(1, 0, "a", file(1, 0, S, S));
	diff(1);
	expect(0, SCAN_ENTRY, IN_CREATE, 0, "a");
	cr_expect_eq(ops.n, 1);
	cr_expect(snaps[1][0].e[0].flags & SCAN_DIRTY);
}

Test(scan_diff, new_file_with_content_is_create_then_modify)
{
	add(1, 0, "a", file(1, 3, S, S));
	diff(1);
	expect(0, SCAN_ENTRY, IN_CREATE, 0, "a");
	expect(1, SCAN_CHILD, IN_MODIFY, 0, "a");
	cr_expect_eq(ops.n, 2);
}

Test(scan_diff, new_directory_is_create)
{
	add(1, 0, "d", dir(7));
	diff(1);
	expect(0, SCAN_ENTRY, IN_CREATE, 0, "d");
	cr_expect(S_ISDIR(ops.op[0].obj.mode));	/* notify_entry adds IN_ISDIR */
	cr_expect_eq(ops.n, 1);
}

Test(scan_diff, vanished_entry_is_delete)
{
	add(0, 0, "a", file(1, 0, S, S));
	diff(1);
	expect(0, SCAN_ENTRY, IN_DELETE, 0, "a");
	cr_expect_eq(ops.n, 1);
}

Test(scan_diff, size_change_is_modify)
{
	add(0, 0, "a", file(1, 1, S, S));
	add(1, 0, "a", file(1, 2, 2 * S + 5, 2 * S + 5));
	diff(1);
	expect(0, SCAN_CHILD, IN_MODIFY, 0, "a");
	cr_expect_eq(ops.n, 1);
}

Test(scan_diff, nanosecond_mtime_change_is_modify)
{
	add(0, 0, "a", file(1, 1, S, S));
	add(1, 0, "a", file(1, 1, S + 1, S + 1));
	diff(1);
	expect(0, SCAN_CHILD, IN_MODIFY, 0, "a");
	cr_expect_eq(ops.n, 1);
}

Test(scan_diff, stable_after_modify_is_close_write)
{
	add(0, 0, "a", file(1, 2, 2 * S, 2 * S));
	snaps[0][0].e[0].flags = SCAN_DIRTY;
	add(1, 0, "a", file(1, 2, 2 * S, 2 * S));
	diff(1);
	expect(0, SCAN_CHILD, IN_CLOSE_WRITE, 0, "a");
	cr_expect_eq(ops.n, 1);
	cr_expect_eq(snaps[1][0].e[0].flags & SCAN_DIRTY, 0);
}

/* The last write is younger than the quiet time (diff.c: 250 ms): a writer
 * descheduled between its open and its write must not get IN_CLOSE_WRITE
 * before its IN_MODIFY, so it is still owed, to a later look. */
Test(scan_diff, stable_but_just_written_still_owes_close_write)
{
	struct timespec ts;
	int64_t now;

	clock_gettime(CLOCK_REALTIME, &ts);
	now = (int64_t)ts.tv_sec * S + ts.tv_nsec;
	add(0, 0, "a", file(1, 0, now, now));
	snaps[0][0].e[0].flags = SCAN_DIRTY;
	add(1, 0, "a", file(1, 0, now, now));
	diff(1);
	cr_expect_eq(ops.n, 0, "no IN_CLOSE_WRITE within the quiet time");
	cr_expect_neq(snaps[1][0].e[0].flags & SCAN_DIRTY, 0, "still owed");
}

Test(scan_diff, still_changing_owes_close_write)
{
	add(0, 0, "a", file(1, 2, 2 * S, 2 * S));
	snaps[0][0].e[0].flags = SCAN_DIRTY;
	add(1, 0, "a", file(1, 4, 3 * S, 3 * S));
	diff(1);
	expect(0, SCAN_CHILD, IN_MODIFY, 0, "a");
	cr_expect_eq(ops.n, 1);
	cr_expect(snaps[1][0].e[0].flags & SCAN_DIRTY);
}

Test(scan_diff, mode_change_is_attrib)
{
	struct scan_attr b = file(1, 1, S, 2 * S);

	add(0, 0, "a", file(1, 1, S, S));
	b.mode = S_IFREG | 0600;
	add(1, 0, "a", b);
	diff(1);
	expect(0, SCAN_CHILD, IN_ATTRIB, 0, "a");
	cr_expect_eq(ops.n, 1);
}

Test(scan_diff, mtime_set_apart_from_ctime_is_attrib)
{
	add(0, 0, "a", file(1, 1, S, S));
	add(1, 0, "a", file(1, 1, 5, 3 * S));
	diff(1);
	expect(0, SCAN_CHILD, IN_ATTRIB, 0, "a");
	cr_expect_eq(ops.n, 1);
}

Test(scan_diff, write_and_chmod_are_modify_and_attrib)
{
	struct scan_attr b = file(1, 9, 3 * S, 3 * S);

	add(0, 0, "a", file(1, 1, S, S));
	b.mode = S_IFREG | 0600;
	add(1, 0, "a", b);
	diff(1);
	expect(0, SCAN_CHILD, IN_MODIFY | IN_ATTRIB, 0, "a");
}

Test(scan_diff, link_count_alone_is_self_attrib)
{
	struct scan_attr b = file(1, 1, S, 2 * S);

	add(0, 0, "a", file(1, 1, S, S));
	b.nlink = 2;
	add(1, 0, "a", b);
	add(1, 0, "b", b);
	diff(1);
	expect(0, SCAN_ENTRY, IN_CREATE, 0, "b");
	expect(1, SCAN_SELF, IN_ATTRIB, -1, NULL);
	cr_expect_eq(ops.op[1].obj.ino, 1);
	cr_expect_eq(ops.n, 2);
}

Test(scan_diff, subdirectory_contents_make_no_event_on_it)
{
	struct scan_attr b = dir(7);

	add(0, 0, "d", dir(7));
	b.mtime = b.ctime = 4 * S;
	b.nlink = 3;
	add(1, 0, "d", b);
	diff(1);
	cr_expect_eq(ops.n, 0);
}

Test(scan_diff, rename_in_one_directory_is_one_move)
{
	add(0, 0, "a", file(1, 1, S, S));
	add(1, 0, "b", file(1, 1, S, 2 * S));
	diff(1);
	expect(0, SCAN_MOVE, 0, 0, "a");
	cr_expect_eq(ops.op[0].item2, 0);
	cr_expect_str_eq(ops.op[0].name2, "b");
	cr_expect_not(ops.op[0].has_target);
	cr_expect_eq(ops.n, 1);
}

Test(scan_diff, rename_between_watched_directories_is_one_move)
{
	add(0, 0, "a", dir(9));
	add(1, 1, "b", dir(9));
	diff(2);
	expect(0, SCAN_MOVE, 0, 0, "a");
	cr_expect_eq(ops.op[0].item2, 1);
	cr_expect_str_eq(ops.op[0].name2, "b");
	cr_expect_eq(ops.n, 1);
}

Test(scan_diff, rename_onto_a_name_replaces_it_without_delete)
{
	add(0, 0, "a", file(1, 1, S, S));
	add(0, 0, "b", file(2, 1, S, S));
	add(1, 0, "b", file(1, 1, S, 2 * S));
	diff(1);
	expect(0, SCAN_MOVE, 0, 0, "a");
	cr_expect_str_eq(ops.op[0].name2, "b");
	cr_expect(ops.op[0].has_target);
	cr_expect_eq(ops.op[0].target.ino, 2);
	cr_expect_eq(ops.n, 1);
}

Test(scan_diff, name_deleted_and_created_again_is_delete_then_create)
{
	add(0, 0, "a", file(1, 0, S, S));
	add(1, 0, "a", file(2, 0, 2 * S, 2 * S));
	diff(1);
	expect(0, SCAN_ENTRY, IN_DELETE, 0, "a");
	expect(1, SCAN_ENTRY, IN_CREATE, 0, "a");
	cr_expect_eq(ops.n, 2);
}

Test(scan_diff, creations_come_in_birth_order)
{
	add(1, 0, "a", file(5, 0, 5 * S, 5 * S));
	add(1, 0, "b", file(3, 0, 3 * S, 3 * S));
	diff(1);
	expect(0, SCAN_ENTRY, IN_CREATE, 0, "b");
	expect(1, SCAN_ENTRY, IN_CREATE, 0, "a");
}

Test(scan_diff, moves_come_before_deletes_before_creates_before_modifies)
{
	add(0, 0, "m", file(1, 1, S, S));
	add(0, 0, "x", file(2, 1, S, S));
	add(0, 0, "w", file(3, 1, S, S));
	add(1, 0, "n", file(1, 1, S, 2 * S));
	add(1, 0, "w", file(3, 2, 3 * S, 3 * S));
	add(1, 0, "c", file(4, 0, 3 * S, 3 * S));
	diff(1);
	expect(0, SCAN_MOVE, 0, 0, "m");
	expect(1, SCAN_ENTRY, IN_DELETE, 0, "x");
	expect(2, SCAN_ENTRY, IN_CREATE, 0, "c");
	expect(3, SCAN_CHILD, IN_MODIFY, 0, "w");
	cr_expect_eq(ops.n, 4);
}

/* item 1 is the watched file "f" of the watched directory item 0 */
static void watched_file(void)
{
	items[1].dir = false;
	items[1].parent_watched = true;
	snaps[0][1].self = snaps[1][1].self = file(1, 0, S, S);
	add(0, 0, "f", file(1, 0, S, S));
}

Test(scan_diff, watched_file_deleted_is_attrib_delete_self_then_delete)
{
	watched_file();
	snaps[1][1].self.nlink = 0;
	diff(2);
	expect(0, SCAN_SELF, IN_ATTRIB, 1, NULL);
	expect(1, SCAN_GONE, 0, 1, NULL);
	expect(2, SCAN_ENTRY, IN_DELETE, 0, "f");
	cr_expect_eq(ops.n, 3);
}

Test(scan_diff, watched_file_change_is_told_once_through_its_directory)
{
	watched_file();
	add(1, 0, "f", file(1, 4, 2 * S, 2 * S));
	snaps[1][1].self = file(1, 4, 2 * S, 2 * S);
	diff(2);
	expect(0, SCAN_CHILD, IN_MODIFY, 0, "f");
	cr_expect_eq(ops.n, 1);
}

Test(scan_diff, watched_directory_removed_is_delete_self)
{
	items[0].dir = true;
	snaps[1][0].self.nlink = 0;
	diff(1);
	expect(0, SCAN_GONE, 0, 0, NULL);	/* notify_gone: DELETE_SELF, IGNORED */
	cr_expect_eq(ops.n, 1);
}

Test(scan_diff, watched_object_moved_out_is_move_from_and_move_self)
{
	watched_file();
	diff(2);
	expect(0, SCAN_MOVE, 0, 0, "f");
	cr_expect_eq(ops.op[0].item2, -1);	/* notify_move: MOVED_FROM, MOVE_SELF */
	cr_expect_eq(ops.n, 1);
}

Test(scan_diff, watched_object_moved_unseen_is_move_self)
{
	items[0].moved = true;
	diff(1);
	expect(0, SCAN_SELF, IN_MOVE_SELF, 0, NULL);
	cr_expect_eq(ops.n, 1);
}

Test(scan_diff, watched_file_alone_modified_then_closed)
{
	items[0].dir = false;
	snaps[0][0].self = file(1, 0, S, S);
	snaps[1][0].self = file(1, 3, 2 * S, 2 * S);
	diff(1);
	expect(0, SCAN_SELF, IN_MODIFY, 0, NULL);
	cr_expect_eq(ops.n, 1);
	scan_ops_free(&ops);
	snaps[0][0].self = snaps[1][0].self;
	snaps[0][0].self_flags = snaps[1][0].self_flags;
	snaps[1][0].self_flags = 0;
	diff(1);
	expect(0, SCAN_SELF, IN_CLOSE_WRITE, 0, NULL);
	cr_expect_eq(ops.n, 1);
}
