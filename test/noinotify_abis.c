/*
 * noinotify_abis.c - test/noinotify, which every test runs under, leaves
 * no way to the kernel's inotify: the four calls fail with ENOSYS through
 * the 64-bit system call instruction, through i386's int $0x80, and
 * through x32's numbers, where the kernel has those ABIs.
 *
 * The calls are made by instruction, not through libc or syscall(),
 * which the shim interposes.  Without the filter, this kernel answers the
 * inits with an fd and add_watch/rm_watch on fd -1 with EBADF; ENOSYS can
 * only be the filter's.  Outside test/noinotify (no seccomp filter on the
 * process) the tests skip: there is nothing to test.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "helpers.h"

TestSuite(noinotify, .init = scratch_setup, .fini = scratch_leave, .timeout = 30);

#if defined(__x86_64__)

#define X32_BIT 0x40000000L

/* The 64-bit (and x32) system call instruction. */
static long call64(long nr, long a, long b, long c)
{
	long r;

	__asm__ volatile("syscall"
			 : "=a"(r)
			 : "a"(nr), "D"(a), "S"(b), "d"(c)
			 : "rcx", "r11", "memory");
	return r;
}

/* i386's entry, from a 64-bit process. */
static long call32(long nr, long a, long b, long c)
{
	long r;

	__asm__ volatile("int $0x80" : "=a"(r) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
	return r;
}

/* Is this process under a seccomp filter (test/noinotify's)? */
static int filtered(void)
{
	char line[128];
	int mode = 0;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "Seccomp: %d", &mode) == 1)
			break;
	fclose(f);
	return mode == 2;
}

static void skip_unless_filtered(void)
{
	if (!filtered())
		cr_skip_test("not run under test/noinotify");
}

/* The four calls under one ABI's numbers, made by call. */
static void expect_enosys(long (*call)(long, long, long, long), long init, long init1,
			  long add_watch, long rm_watch)
{
	cr_expect_eq(call(init, 0, 0, 0), -ENOSYS, "inotify_init");
	cr_expect_eq(call(init1, IN_CLOEXEC, 0, 0), -ENOSYS, "inotify_init1");
	cr_expect_eq(call(add_watch, -1, 0, IN_CREATE), -ENOSYS, "inotify_add_watch");
	cr_expect_eq(call(rm_watch, -1, 1, 0), -ENOSYS, "inotify_rm_watch");
}

Test(noinotify, inotify_calls_by_the_64_bit_instruction_fail_with_enosys)
{
	skip_unless_filtered();
	expect_enosys(call64, 253, 294, 254, 255);
}

Test(noinotify, other_calls_by_the_64_bit_instruction_pass)
{
	skip_unless_filtered();
	cr_expect_eq(call64(39 /* getpid */, 0, 0, 0), getpid());
}

Test(noinotify, inotify_calls_by_int_0x80_fail_with_enosys)
{
	skip_unless_filtered();
	if (call32(20 /* getpid */, 0, 0, 0) != getpid())
		cr_skip_test("this kernel runs no i386 calls");
	expect_enosys(call32, 291, 332, 292, 293);
}

Test(noinotify, inotify_calls_by_x32_numbers_fail_with_enosys)
{
	skip_unless_filtered();
	if (call64(X32_BIT | 39 /* getpid */, 0, 0, 0) != getpid())
		cr_skip_test("this kernel runs no x32 calls");
	expect_enosys(call64, X32_BIT | 253, X32_BIT | 294, X32_BIT | 254, X32_BIT | 255);
}

#else

Test(noinotify, abis)
{
	cr_skip_test("the ABI tests are written for x86-64");
}

#endif
