/*
 * scan_hookstamp.c - the stamps by which the scanner knows that a hook
 * told a change already (src/scan/hookstamp.h), on a record made by hand.
 */
#include <criterion/criterion.h>
#include <string.h>
#include <sys/inotify.h>

#include "scan/hookstamp.h"

static struct reg_inode rec;

static void setup(void)
{
	memset(&rec, 0, sizeof rec);
}

TestSuite(hookstamp, .init = setup);

static int64_t now_ns(void)
{
	return hookstamp_now_ms() * 1000000;
}

Test(hookstamp, the_relays_deliveries_are_stamped_as_a_hooks)
{
	/* notify.c stamps for every origin but the scanner's */
	hookstamp_note(&rec, IN_MODIFY, "f", false);
	cr_expect_eq(hookstamp_told(&rec, IN_MODIFY, "f", 0, 0), IN_MODIFY);
}

Test(hookstamp, change_before_the_hook_is_told)
{
	int64_t t = now_ns() - 1000000;

	hookstamp_note(&rec, IN_MODIFY, "f", false);
	cr_expect_eq(hookstamp_told(&rec, IN_MODIFY | IN_ATTRIB, "f", t, 0), IN_MODIFY);
}

Test(hookstamp, change_after_the_hook_is_not_told)
{
	hookstamp_note(&rec, IN_MODIFY, "f", false);
	cr_expect_eq(hookstamp_told(&rec, IN_MODIFY, "f", now_ns() + 5000000, 0), 0);
}

Test(hookstamp, other_name_is_not_told)
{
	hookstamp_note(&rec, IN_CREATE, "f", false);
	cr_expect_eq(hookstamp_told(&rec, IN_CREATE, "g", 0, 0), 0);
	cr_expect_eq(hookstamp_told(&rec, IN_ATTRIB, NULL, 0, 0), 0);
}

Test(hookstamp, modify_covers_the_heuristic_close_write)
{
	hookstamp_note(&rec, IN_MODIFY, "f", false);
	cr_expect_eq(hookstamp_told(&rec, IN_CLOSE_WRITE, "f", 0, 0), IN_CLOSE_WRITE);
}

Test(hookstamp, rename_onto_a_name_covers_its_replacement)
{
	hookstamp_note(&rec, IN_MOVED_TO, "f", false);
	cr_expect_eq(hookstamp_told(&rec, IN_DELETE, "f", 0, 0), IN_DELETE);
	cr_expect_eq(hookstamp_told(&rec, IN_CREATE | IN_MODIFY, "f", 0, 0),
		     IN_CREATE | IN_MODIFY);
}

Test(hookstamp, stamps_before_the_first_look_say_nothing)
{
	hookstamp_note(&rec, IN_MODIFY, "f", false);
	cr_expect_eq(hookstamp_told(&rec, IN_MODIFY, "f", 0, now_ns() + 5000000), 0);
}

Test(hookstamp, reads_are_not_stamped)
{
	hookstamp_note(&rec, IN_OPEN | IN_ACCESS | IN_CLOSE_NOWRITE, "f", false);
	cr_expect_eq(rec.hook_mask[0], 0);
}

Test(hookstamp, the_scanners_own_deliveries_are_not_stamped)
{
	hookstamp_note(&rec, IN_MODIFY, "f", true);
	cr_expect_eq(hookstamp_told(&rec, IN_MODIFY, "f", 0, 0), 0);
}

Test(hookstamp, oldest_of_more_names_than_slots_is_forgotten)
{
	const char *names[] = { "a", "b", "c", "d" };

	for (int i = 0; i < 4; i++)
		hookstamp_note(&rec, IN_CREATE, names[i], false);
	cr_expect_eq(hookstamp_told(&rec, IN_CREATE, "a", 0, 0), 0);	/* told twice */
	for (int i = 1; i < 4; i++)
		cr_expect_eq(hookstamp_told(&rec, IN_CREATE, names[i], 0, 0), IN_CREATE);
}
