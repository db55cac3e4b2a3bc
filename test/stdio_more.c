/*
 * stdio_more.c - stdio calls whose reads and writes happen inside libc, out
 * of every other hook's sight: the seeks (which flush pending output and may
 * load a block), fflush(NULL), fscanf, tmpfile, and a stream read and
 * written in turn with seeks between, as binutils' as writes an object
 * file.  Every expected sequence is what the kernel's inotify gives for the
 * same calls: build this file without the shim (see test/kernel-check.sh)
 * and it passes against the kernel too.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"

INSTANCE_SUITE(stdio_more, IN_ALL_EVENTS);

/* The events queued now are exactly masks, names aside. */
static void expect(const uint32_t *masks, int n)
{
	expect_masks(ifd, masks, n);
}

/* A file of len bytes, made with plain calls, its events read and dropped. */
static void make_file(const char *name, size_t len)
{
	char buf[8192];
	int fd = open(name, O_RDWR | O_CREAT | O_TRUNC, 0644);
	struct ev ev[8];

	cr_assert_geq(fd, 0);
	cr_assert_leq(len, sizeof buf);
	memset(buf, 'x', len);
	cr_assert_eq(write(fd, buf, len), (ssize_t)len);
	close(fd);
	wait_events(ifd, ev, 8, 4, 5000);	/* create, open, modify, close */
}

/* A seek's read is found from the thread's I/O counters
 * (/proc/thread-self/io).  Under valgrind the tool's own reads and writes
 * are made by the same thread and counted there, so these tests cannot
 * tell anything; they run everywhere else. */
static void needs_exact_io_counters(void)
{
	if (getenv("INOTIFY_SHIM_TEST_VALGRIND"))
		cr_skip_test("valgrind's own I/O is counted in /proc/thread-self/io");
}

Test(stdio_more, fseek_that_flushes_pending_output_is_modify)
{
	FILE *f = fopen("f", "w");
	uint32_t want[] = { IN_CREATE, IN_OPEN, IN_MODIFY };

	cr_assert_not_null(f);
	fputs("pending", f);
	cr_assert_eq(fseek(f, 0, SEEK_SET), 0);
	expect(want, 3);
	fclose(f);
}

Test(stdio_more, fseeko64_that_flushes_pending_output_is_modify)
{
	FILE *f = fopen("f", "w");
	uint32_t want[] = { IN_CREATE, IN_OPEN, IN_MODIFY };

	cr_assert_not_null(f);
	fputs("pending", f);
	cr_assert_eq(fseeko64(f, 3, SEEK_SET), 0);
	expect(want, 3);
	fclose(f);
}

Test(stdio_more, rewind_that_flushes_pending_output_is_modify)
{
	FILE *f = fopen("f", "w");
	uint32_t want[] = { IN_CREATE, IN_OPEN, IN_MODIFY };

	cr_assert_not_null(f);
	fputs("pending", f);
	rewind(f);
	expect(want, 3);
	fclose(f);
}

Test(stdio_more, fsetpos_that_flushes_pending_output_is_modify)
{
	FILE *f = fopen("f", "w");
	uint32_t want[] = { IN_CREATE, IN_OPEN, IN_MODIFY };
	fpos_t pos;

	cr_assert_not_null(f);
	cr_assert_eq(fgetpos(f, &pos), 0);
	fputs("pending", f);
	cr_assert_eq(fsetpos(f, &pos), 0);
	expect(want, 3);
	fclose(f);
}

Test(stdio_more, fseek_with_nothing_pending_is_no_event)
{
	FILE *f = fopen("f", "w");
	uint32_t want[] = { IN_CREATE, IN_OPEN };

	cr_assert_not_null(f);
	cr_assert_eq(fseek(f, 100, SEEK_SET), 0);
	expect(want, 2);
	fclose(f);
}

Test(stdio_more, fseek_that_loads_a_block_is_access)
{
	needs_exact_io_counters();
	make_file("f", 300);
	FILE *f = fopen("f", "r");
	uint32_t want[] = { IN_OPEN, IN_ACCESS };

	cr_assert_not_null(f);
	cr_assert_eq(fseek(f, 10, SEEK_SET), 0);
	expect(want, 2);
	fclose(f);
}

Test(stdio_more, fseek_within_the_buffer_is_no_event)
{
	needs_exact_io_counters();
	char line[16];

	make_file("f", 300);
	FILE *f = fopen("f", "r");
	uint32_t want[] = { IN_OPEN, IN_ACCESS };

	cr_assert_not_null(f);
	cr_assert_not_null(fgets(line, sizeof line, f));
	cr_assert_eq(fseek(f, 5, SEEK_SET), 0);
	cr_assert_eq(fseek(f, -2, SEEK_CUR), 0);
	expect(want, 2);
	fclose(f);
}

Test(stdio_more, fseek_past_the_end_of_a_short_file_is_access)
{
	needs_exact_io_counters();
	make_file("f", 5);
	FILE *f = fopen("f", "r+");
	uint32_t want[] = { IN_OPEN, IN_ACCESS };

	cr_assert_not_null(f);
	cr_assert_eq(fseek(f, 100, SEEK_SET), 0);
	expect(want, 2);
	fclose(f);
}

Test(stdio_more, fseek_from_the_end_that_loads_a_block_is_access)
{
	needs_exact_io_counters();
	make_file("f", 300);
	FILE *f = fopen("f", "r");
	uint32_t want[] = { IN_OPEN, IN_ACCESS };

	cr_assert_not_null(f);
	cr_assert_eq(fseek(f, -10, SEEK_END), 0);
	expect(want, 2);
	fclose(f);
}

Test(stdio_more, fseek_in_an_empty_file_reads_nothing)
{
	needs_exact_io_counters();
	FILE *f = fopen("f", "w+");
	uint32_t want[] = { IN_CREATE, IN_OPEN };

	cr_assert_not_null(f);
	cr_assert_eq(fseek(f, 272, SEEK_SET), 0);
	expect(want, 2);
	fclose(f);
}

/* as (binutils) through bfd: write, seek back (flush, then a block loaded),
 * patch, seek again */
Test(stdio_more, write_seek_patch_seek_alternates_modify_and_access)
{
	needs_exact_io_counters();
	char block[300];
	FILE *f = fopen("f", "w+");
	uint32_t want[] = { IN_CREATE, IN_OPEN, IN_MODIFY, IN_ACCESS,
			    IN_MODIFY, IN_ACCESS, IN_MODIFY, IN_CLOSE_WRITE };

	cr_assert_not_null(f);
	memset(block, 'b', sizeof block);
	cr_assert_eq(fwrite(block, 1, sizeof block, f), sizeof block);
	cr_assert_eq(fseek(f, 10, SEEK_SET), 0);
	cr_assert_eq(fwrite("xy", 1, 2, f), 2);
	cr_assert_eq(fseek(f, 200, SEEK_SET), 0);
	cr_assert_eq(fwrite("zw", 1, 2, f), 2);
	cr_assert_eq(fclose(f), 0);
	expect(want, 8);
}

Test(stdio_more, fflush_null_flushes_every_stream_with_output)
{
	FILE *a, *b, *r;
	struct ev ev[8];
	int got;

	make_file("c", 10);
	a = fopen("a", "w");
	b = fopen("b", "w");
	r = fopen("c", "r");	/* nothing to flush in it */
	cr_assert_not_null(a);
	cr_assert_not_null(b);
	cr_assert_not_null(r);
	fputs("one", a);
	fputs("two", b);
	got = wait_events(ifd, ev, 8, 5, 5000);	/* create, open x2; open c */
	cr_assert_eq(got, 5);
	cr_assert_eq(fflush(NULL), 0);
	got = wait_events(ifd, ev, 8, 2, 5000);
	if (wait_readable(ifd, 50))
		got += read_events(ifd, ev + got, 8 - got);
	cr_assert_eq(got, 2, "got %d events", got);
	/* the most recently opened stream first, as glibc's list keeps them */
	cr_expect_eq(ev[0].mask, IN_MODIFY);
	cr_expect_str_eq(ev[0].name, "b");
	cr_expect_eq(ev[1].mask, IN_MODIFY);
	cr_expect_str_eq(ev[1].name, "a");
	fclose(a);
	fclose(b);
	fclose(r);
}

Test(stdio_more, fscanf_that_reads_the_file_is_access)
{
	int fd = open("f", O_WRONLY | O_CREAT, 0644);
	uint32_t want[] = { IN_OPEN, IN_ACCESS };
	struct ev ev[8];
	int n = 0, m = 0;

	cr_assert_eq(write(fd, "12 34\n", 6), 6);
	close(fd);
	wait_events(ifd, ev, 8, 4, 5000);
	FILE *f = fopen("f", "r");
	cr_assert_not_null(f);
	cr_assert_eq(fscanf(f, "%d", &n), 1);
	cr_assert_eq(fscanf(f, "%d", &m), 1);	/* from the buffer */
	cr_assert_eq(n + m, 46);
	expect(want, 2);
	fclose(f);
}

Test(stdio_more, tmpfile_is_open_modify_close_in_its_directory)
{
	int wd = inotify_add_watch(ifd, P_tmpdir, IN_OPEN | IN_MODIFY | IN_CLOSE_WRITE);
	struct ev ev[64];
	char name[32];
	FILE *f;
	int got, seen = 0;
	struct stat st;

	cr_assert_gt(wd, 0);
	f = tmpfile();
	cr_assert_not_null(f);
	cr_assert_eq(fstat(fileno(f), &st), 0);
	snprintf(name, sizeof name, "#%llu", (unsigned long long)st.st_ino);
	fputs("x", f);
	cr_assert_eq(fclose(f), 0);
	/* other programs may use the directory meanwhile: pick ours out */
	uint32_t want[] = { IN_OPEN, IN_MODIFY, IN_CLOSE_WRITE };
	for (int tries = 0; seen < 3 && tries < 50; tries++) {
		got = wait_events(ifd, ev, 64, 1, 100);
		for (int i = 0; i < got; i++) {
			if (ev[i].wd != wd || strcmp(ev[i].name, name))
				continue;
			cr_assert_lt(seen, 3, "more events than wanted");
			cr_expect_eq(ev[i].mask, want[seen], "event %d: %s", seen,
				     mask_name(ev[i].mask));
			seen++;
		}
	}
	cr_assert_eq(seen, 3, "saw %d events named %s", seen, name);
	inotify_rm_watch(ifd, wd);
}

/* glibc flushes a stream's pending output before it reads (the switch to
 * get mode): the kernel sees the write, then the read. */
Test(stdio_more, fread_after_buffered_writes_is_modify_then_access)
{
	char buf[16];
	make_file("f", 300);
	FILE *f = fopen("f", "r+");
	uint32_t want[] = { IN_OPEN, IN_MODIFY, IN_ACCESS };

	cr_assert_not_null(f);
	cr_assert_eq(fwrite("ab", 1, 2, f), 2);
	cr_assert_eq(fread(buf, 1, sizeof buf, f), sizeof buf);
	expect(want, 3);
	fclose(f);
}

Test(stdio_more, fgetc_at_the_end_after_buffered_writes_is_modify_only)
{
	FILE *f = fopen("f", "w+");
	uint32_t want[] = { IN_CREATE, IN_OPEN, IN_MODIFY };

	cr_assert_not_null(f);
	cr_assert_eq(fputc('a', f), 'a');
	cr_assert_eq(fgetc(f), EOF);
	expect(want, 3);
	fclose(f);
}
