/*
 * scan_held.c - the scanner's looks through fds held on a directory's
 * entries (src/scan/held.c), on a real directory: which fds are held, kept,
 * replaced and closed, and that the budget is never exceeded.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scan/held.h"

static char dir[64];
static int dfd = -1;
static struct scan_snap snap[2];
static struct scan_held held[2];
static struct scan_budget budget;
static uint64_t stats;
static int cur;

static void put(const char *name, const char *text)
{
	char p[128];
	FILE *f;

	snprintf(p, sizeof p, "%s/%s", dir, name);
	f = fopen(p, "a");
	cr_assert(f);
	fputs(text, f);
	fclose(f);
}

static void setup(void)
{
	snprintf(dir, sizeof dir, "%s/scan-held.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	cr_assert(mkdtemp(dir));
	put("a", "1");
	put("b", "1");
	put("c", "1");
	dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	cr_assert(dfd >= 0);
	memset(snap, 0, sizeof snap);
	memset(held, 0, sizeof held);
	budget = (struct scan_budget){ .cap = 100 };
	cur = 0;
}

static void teardown(void)
{
	char cmd[128];

	scan_held_close(&held[cur], &budget);
	scan_snap_free(&snap[0]);
	scan_snap_free(&snap[1]);
	close(dfd);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	cr_assert(system(cmd) == 0);
}

TestSuite(held, .init = setup, .fini = teardown);

/* One look; the new snapshot and held set become the current ones (the
 * current ones stay when it found nothing changed).  Its return. */
static int look_ret(void)
{
	int nx = !cur, ret;

	ret = scan_snap_look(dfd, &snap[cur], &held[cur], &snap[nx], &held[nx],
			     &budget, &stats);
	cr_assert(ret == 0 || ret == SCAN_SAME, "%d", ret);
	if (ret == SCAN_SAME) {
		cr_assert_eq(held[nx].fd, held[cur].fd);
		cr_assert_not(snap[nx].present, "a snapshot made for nothing");
		return ret;
	}
	if (held[cur].fd != held[nx].fd)
		free(held[cur].fd);
	held[cur] = (struct scan_held){ 0 };
	scan_snap_free(&snap[cur]);
	cur = nx;
	return ret;
}

static void look(void)
{
	cr_assert_eq(look_ret(), 0);
}

static ino_t ino_of_fd(int fd)
{
	struct stat st;

	cr_assert_eq(fstat(fd, &st), 0);
	return st.st_ino;
}

static ino_t ino_of(const char *name)
{
	struct stat st;

	cr_assert_eq(fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH), 0);
	return st.st_ino;
}

Test(held, a_first_look_holds_an_fd_on_each_entry)
{
	look();
	cr_assert_eq(snap[cur].n, 3);
	cr_assert_eq(held[cur].n, 3);
	for (size_t i = 0; i < 3; i++)
		cr_assert_eq(ino_of_fd(held[cur].fd[i]), ino_of(snap[cur].e[i].name));
	cr_assert_eq(budget.held, 3);
}

Test(held, an_unchanged_directory_keeps_its_fds_and_sees_a_write)
{
	int *before;

	look();
	before = held[cur].fd;
	int fd_b = held[cur].fd[1];
	put("b", "more");
	look();
	cr_assert_eq(held[cur].fd, before, "the same held set");
	cr_assert_eq(held[cur].fd[1], fd_b);
	cr_assert_eq(snap[cur].e[1].a.size, 5, "the write seen through the fd");
	cr_assert_eq(budget.held, 3);
}

Test(held, an_idle_directory_is_looked_at_without_a_new_snapshot)
{
	look();
	cr_assert_eq(look_ret(), SCAN_SAME);
	cr_assert_eq(snap[cur].n, 3);
	cr_assert_eq(budget.held, 3);
	put("a", "2");
	cr_assert_eq(look_ret(), 0, "a write is a change");
	cr_assert_eq(snap[cur].e[0].a.size, 2);
}

Test(held, a_name_moved_onto_another_inode_gets_a_new_fd)
{
	char from[128], to[128];

	look();
	put("new", "xyz");
	snprintf(from, sizeof from, "%s/new", dir);
	snprintf(to, sizeof to, "%s/b", dir);
	cr_assert_eq(rename(from, to), 0);
	look();
	cr_assert_eq(snap[cur].n, 3);
	cr_assert_str_eq(snap[cur].e[1].name, "b");
	cr_assert_eq(snap[cur].e[1].a.size, 3);
	cr_assert_eq(ino_of_fd(held[cur].fd[1]), ino_of("b"));
	cr_assert_eq(budget.held, 3, "the old inode's fd closed");
}

Test(held, a_removed_entry_has_its_fd_closed)
{
	char p[128];

	look();
	snprintf(p, sizeof p, "%s/a", dir);
	cr_assert_eq(unlink(p), 0);
	look();
	cr_assert_eq(snap[cur].n, 2);
	cr_assert_eq(held[cur].n, 2);
	cr_assert_eq(budget.held, 2);
}

Test(held, entries_beyond_the_budget_are_looked_at_by_name)
{
	budget.cap = 2;
	look();
	cr_assert_eq(budget.held, 2);
	cr_assert_eq(held[cur].fd[2], -1);
	put("c", "22");
	look();
	cr_assert_eq(budget.held, 2);
	cr_assert_eq(snap[cur].e[2].a.size, 3, "the write seen by name");
}
