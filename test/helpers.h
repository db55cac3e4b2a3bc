/*
 * helpers.h - what the tests share: a scratch directory per test, reading
 * and matching events, waiting for a condition with a deadline (never a
 * bare sleep), running programs under the shim, and checking that a test
 * leaks no fd.
 *
 * Every test binary runs under test/run-test.sh: the kernel's inotify is
 * denied, the shim is preloaded into the test and its children, and the
 * domain is private to the run.
 */
#ifndef TEST_HELPERS_H
#define TEST_HELPERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/inotify.h>
#include <sys/types.h>

#ifndef IN_MASK_CREATE
#define IN_MASK_CREATE 0x10000000
#endif

/* The shared fixture.  Every suite's .init calls scratch_enter() first
 * (or is scratch_setup), and its .fini calls scratch_leave() last:
 *   - a fresh directory, made the current one, removed at the end;
 *   - the fds open at the start must be the fds open at the end (a test
 *     that leaks an fd fails);
 *   - at the end, in the state the test left (its instances, watches and
 *     records), a probe of successful calls through the shim, each with
 *     errno set to a sentinel before it, must leave errno alone (a hook
 *     that changes errno on success fails every test).
 * The kernel's inotify is denied to every test by test/run-test.sh. */
const char *scratch_enter(void);
/* Under test/kernel-check.sh (make check-kernel: the kernel's inotify, no
 * shim) a test about the shim alone skips itself, saying why. */
#define SHIM_ONLY(reason)                                                      \
	do {                                                                   \
		if (getenv("INOTIFY_SHIM_TEST_KERNEL"))                        \
			cr_skip_test("the shim's alone: %s", (reason));       \
	} while (0)
void scratch_setup(void);	/* scratch_enter() as a Criterion .init */
void scratch_leave(void);

/* Run this test binary again, as a plain program, in a domain of its own
 * (domain/ in the scratch directory), with INOTIFY_SHIM_TEST_CHILD=mode:
 * a constructor of the test's file that finds own_domain_child_mode() set runs that
 * scenario in the scratch directory and _exits with its status.  Its
 * stdout and stderr go to out; returns its exit status, or -1.  For a
 * test that counts every event: in the suite's domain, the tests running
 * beside it can overflow its queue, since a process of a domain that
 * gives up a lock wait (util/shlock.h: 250 ms at most, which a loaded
 * machine reaches) overflows every instance of that domain
 * (core/deliver.c).  The domain is opened by the library's constructor,
 * so a process cannot move to another: the child is started with it. */
int run_child_in_own_domain(const char *mode, char *out, size_t size);
/* The mode this process was started in by run_child_in_own_domain(), or
 * NULL (for a constructor). */
const char *own_domain_child_mode(void);

/* The probe of scratch_leave(), on its own: the number of calls that
 * succeeded and changed errno (each one reported on stderr). */
int errno_probe(void);

/* One event as read, with its name copied out. */
struct ev {
	int wd;
	uint32_t mask;
	uint32_t cookie;
	uint32_t len;
	char name[256];
};

/* Read every event queued on fd now (fd may be blocking: poll first). */
int read_events(int fd, struct ev *out, int max);

/* Wait up to ms for fd to be readable; true if it became so. */
bool wait_readable(int fd, int ms);

/* Wait up to ms until fd has at least n events queued, reading them all
 * into out.  Returns how many were read. */
int wait_events(int fd, struct ev *out, int max, int n, int ms);

/* Poll pred(arg) every millisecond until it is true or ms pass. */
bool wait_until(bool (*pred)(void *arg), void *arg, int ms);

/* Run argv (argv[0] looked up in PATH) and wait for it; its exit status,
 * or -1.  The shim is preloaded into it by inheritance. */
int run_program(char *const argv[]);
/* Start it without waiting; its pid. */
pid_t start_program(char *const argv[], int stdout_fd);
/* sh -c cmd, waited for. */
int run_shell(const char *cmd);

/* The number of open fds of this process. */
int count_fds(void);

/* snprintf into dst that aborts the test if the text does not fit, for
 * paths built from other paths. */
void path_printf(char *dst, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The fixture of the suites about one instance: scratch_enter(), then a
 * non-blocking instance in *ifd; returns the scratch directory.
 * instance_leave() closes the instance, expects the fds open before it
 * (none leaked) and calls scratch_leave(). */
const char *instance_enter(int *ifd);
void instance_leave(int ifd);
/* A suite on that fixture: its instance in the file's static ifd, the
 * scratch directory in dir; with a watch on "." for mask when it is not 0.
 * The rest of the arguments are TestSuite()'s (.timeout ...). */
#define INSTANCE_SUITE(suite, mask, ...)                                       \
	static int ifd;                                                        \
	static const char *dir __attribute__((unused));                       \
	static void suite##_enter(void)                                        \
	{                                                                      \
		dir = instance_enter(&ifd);                                    \
		if (mask)                                                      \
			cr_assert_gt(inotify_add_watch(ifd, ".", (mask)), 0);  \
	}                                                                      \
	static void suite##_leave(void)                                        \
	{                                                                      \
		instance_leave(ifd);                                           \
	}                                                                      \
	TestSuite(suite, .init = suite##_enter, .fini = suite##_leave, ##__VA_ARGS__)

/* The events queued on fd now are exactly masks, names aside: each waited
 * for up to 5 s, then none more within 50 ms. */
void expect_masks(int fd, const uint32_t *masks, int n);

/* Make name (O_CREAT | O_WRONLY, 0644) and close it, asserting. */
void touch(const char *name);

/* main() for the binaries whose tests run one at a time (Criterion's
 * jobs = 1): their tests share the binary's domain. */
int criterion_main_serial(int argc, char **argv);

/* Child processes that are this test binary again, in a mode: in a
 * constructor, child_mode(var) is the mode named by the environment
 * variable var, with stdout made unbuffered for the parent to read, or
 * NULL in the test itself.  slurp_file() reads what a child wrote to a
 * file, at most len - 1 bytes ("" when the file cannot be read), removing
 * the file when remove is true. */
const char *child_mode(const char *var);
void slurp_file(const char *path, char *buf, size_t len, bool remove);

/* "IN_CREATE|IN_ISDIR" for a mask, for messages. */
const char *mask_name(uint32_t mask);

/* The address in this process of name, a symbol of the loaded shim that
 * it does not export (its internal state, for a test that must see it),
 * from the library's static symbol table; NULL when the library is not
 * loaded or is stripped (test/internals.c). */
void *shim_hidden_symbol(const char *name);

#endif
