# test/local.mk - the tests, included by Makefile.am.
#
# Every test binary runs through test/run-test.sh (LOG_COMPILER): the
# kernel's inotify denied, the shim preloaded, a private domain per run.
# To add a test file test/foo.c: add test/foo to TEST_BINARIES.

LOG_COMPILER = $(builddir)/test/run-test.sh
test_noinotify_SOURCES = test/noinotify.c test/scenario/deny.c test/scenario/deny.h
test_noinotify_LDADD =

if HAVE_CRITERION
TEST_BINARIES = \
	test/consumer \
	test/instance_fd \
	test/mode
TEST_BINARIES += test/tool_cli test/tool_ps test/tool_watch
# issue 2: the rules, one suite per file
TEST_BINARIES += test/watch_rules test/queue_rules test/cross_process test/no_cost
# run by those tests with a limit in the environment; not a test itself
check_PROGRAMS += test/limits_child
test_limits_child_SOURCES = test/limits_child.c
test_limits_child_LDADD =
EXTRA_DIST += test/child_run.h
# issue 5: faults, load, errno preservation, security, threads, fuzzing
TEST_BINARIES += test/faults
TEST_BINARIES += test/errno_preservation test/security
# threads, fork, exec and a signal handler: a plain program, so that
# check-tsan can run it too (Criterion cannot run under TSan)
check_PROGRAMS += test/threads
TESTS += test/threads
test_threads_LDADD = -lpthread
# the load workload is a plain program, run by hand on the kernel too
check_PROGRAMS += test/loadgen
TESTS += test/loadgen
test_loadgen_LDADD =
TESTS += test/load_overflow.sh
EXTRA_DIST += test/load_overflow.sh

check_LIBRARIES = test/libhelpers.a
test_libhelpers_a_SOURCES = test/helpers.c test/helpers.h
test_libhelpers_a_CPPFLAGS = -D_GNU_SOURCE -I$(srcdir)/include

check_PROGRAMS += $(TEST_BINARIES)
TESTS += $(TEST_BINARIES)
endif

# defaults for every test binary
AM_CPPFLAGS = -D_GNU_SOURCE -I$(srcdir)/include -I$(srcdir)/test
LDADD = test/libhelpers.a src/libinotify-shim.la $(CRITERION_LIBS)
AM_LDFLAGS = -no-install

# the scenario runner (test/scenario/main.c): the project's own, for the
# tests that replay the scenario language on the kernel and on the shim
check_PROGRAMS += test/scenario/runner
test_scenario_runner_SOURCES = test/scenario/main.c test/scenario/parse.c \
	test/scenario/run.c test/scenario/ops.c test/scenario/ops_inotify.c \
	test/scenario/ops_files.c test/scenario/labels.c test/scenario/names.c \
	test/scenario/output.c test/scenario/deny.c test/scenario/scenario.h \
	test/scenario/ops.h test/scenario/deny.h
test_scenario_runner_LDADD =
TESTS += test/scenario/errors.sh
EXTRA_DIST += test/scenario/errors.sh
# test/noinotify leaves no way to the kernel's inotify, under any ABI
if HAVE_CRITERION
TEST_BINARIES += test/noinotify_abis
endif
# issue 3: real writers compared with the kernel's recorded events, and the
# hooks added for them
TESTS += test/writers.sh
EXTRA_DIST += test/writers.sh
# the scenario directories by their files, never as directories: automake
# takes a directory from the build tree when one of that name is there
# (an old build's test/writers held only the runner it built)
dist-hook: dist-scenario-files
dist-scenario-files:
	for d in writers scenarios; do \
		rm -rf $(distdir)/test/$$d && $(MKDIR_P) $(distdir)/test/$$d && \
		cp -p $(srcdir)/test/$$d/*.scn $(distdir)/test/$$d/ || exit 1; \
	done; cp -p $(srcdir)/test/writers/*.out $(distdir)/test/writers/
.PHONY: dist-scenario-files
if HAVE_CRITERION
TEST_BINARIES += test/hooks_more test/stdio_more test/excl_unlink
endif
EXTRA_DIST += test/kernel-check.sh
# issue 3: close events with the last fd of an open file across processes
if HAVE_CRITERION
TEST_BINARIES += test/hooks_share
endif
# issue 6: files opened while no directory is watched get their directory
# late; one test at a time (test/late_dirs.c)
if HAVE_CRITERION
TEST_BINARIES += test/late_dirs
endif

# issue 3: real watchers (inotifywait, inotifywatch, tail, entr, watchdog,
# node fs.watch, gio monitor) work unmodified under the shim
if HAVE_CRITERION
TEST_BINARIES += test/programs_watchers
endif
EXTRA_DIST += test/programs/fs_watch.js test/programs/watchdog_observer.py

# issue 5: the differential fuzzer: outside test/noinotify, since its kernel side
# needs the kernel's inotify (test/fuzz.fuzz)
check_PROGRAMS += test/fuzzgen
test_fuzzgen_LDADD =
TESTS += test/fuzz.fuzz test/scenarios.fuzz
TEST_EXTENSIONS = .test .fuzz
FUZZ_LOG_COMPILER = env INOTIFY_SHIM_TEST_BUILDDIR=$(abs_top_builddir) \
	INOTIFY_SHIM_TEST_SRCDIR=$(abs_top_srcdir) CC="$(CC)" $(SHELL)
EXTRA_DIST += test/fuzz.fuzz test/scenarios.fuzz test/fuzz-common.sh

# issue 5: memcheck and ThreadSanitizer runs of the suite, by hand (slow).
# check-valgrind: every test binary of make check under valgrind memcheck,
# children included (but the shell and coreutils they start); any error or
# definite leak fails it.  Criterion's runner forks one child per test and
# waits for it, so the tests run one at a time (-j1) to stay in their time.
VALGRIND_TESTS = $(TEST_BINARIES) test/threads test/loadgen
VALGRIND_SKIP = */sh,*/bash,*/dash,*/touch,*/rm,*/cp,*/mv,*/mkdir,*/cat,*/sleep,*/env,*/node,*/nodejs,*/python3*,*/inotifywait,*/inotifywatch,*/tail,*/entr,*/gio
check-valgrind: $(check_PROGRAMS)
	@failed=; for t in $(VALGRIND_TESTS); do echo "valgrind $$t"; \
	INOTIFY_SHIM_LOAD_FILES=200 INOTIFY_SHIM_HOSTILE_ITERS=8 \
	INOTIFY_SHIM_TEST_VALGRIND=1 CRITERION_JOBS=1 \
	$(builddir)/test/run-test.sh valgrind -q --vgdb=no --error-exitcode=9 \
		--leak-check=full --errors-for-leak-kinds=definite \
		--suppressions=$(abs_top_srcdir)/test/valgrind.supp \
		--trace-children=yes --trace-children-skip='$(VALGRIND_SKIP)' \
		$(builddir)/$$t || failed="$$failed $$t"; done; \
	test -z "$$failed" || { echo "check-valgrind failed:$$failed"; exit 1; }
# check-tsan: configure and build a ThreadSanitizer copy in tsan/ and run
# the threaded programs there (libtsan is preloaded before the shim).  Only
# plain programs: Criterion's tests abort under TSan (Snaipe/Criterion#274).
# test/tsan.supp lists what TSan cannot see, each entry with its reason.
TSAN_TESTS = test/threads test/loadgen
check-tsan:
	$(MKDIR_P) tsan && cd tsan && \
	{ test -f Makefile || $(abs_top_srcdir)/configure -q \
		CFLAGS="-O1 -g -fsanitize=thread" LDFLAGS="-fsanitize=thread"; } && \
	$(MAKE) && $(MAKE) $(TSAN_TESTS) && \
	for t in $(TSAN_TESTS); do echo "tsan $$t"; \
	INOTIFY_SHIM_TEST_PRELOAD_FIRST="$$($(CC) -print-file-name=libtsan.so)" \
	TSAN_OPTIONS="halt_on_error=1 exitcode=66 report_signal_unsafe=0 suppressions=$(abs_top_srcdir)/test/tsan.supp" \
	./test/run-test.sh ./$$t || exit 1; done
EXTRA_DIST += test/tsan.supp test/valgrind.supp
.PHONY: check-valgrind check-tsan
# issues 4 and 5: who shares a domain, and its files reached only through
# the directory that was checked
if HAVE_CRITERION
TEST_BINARIES += test/shared_domain
endif
# issue 17: the bash completion completes the commands, options and event
# names that the command has (tools/inotify-shim.bash-completion)
TESTS += test/completion.sh
EXTRA_DIST += test/completion.sh

# issue 12 (storage, sharing, quiet): a full file system under the domain,
# the sharing attacks as another uid, a quiet library
if HAVE_CRITERION
TEST_BINARIES += test/storage test/damaged_files test/sharing test/quiet
endif
# issue 13, items 1, 2, 4 and 5: scenarios run on the kernel and on the
# shim, compared byte for byte (test/divergences_notify.fuzz); a plain
# program, without the shim linked: the .fuzz side preloads it
check_PROGRAMS += test/divergences_notify
test_divergences_notify_LDADD =
TESTS += test/divergences_notify.fuzz
EXTRA_DIST += test/divergences_notify.fuzz

# issue 13 (items 3, 6, 8): exec of a watched file, IN_UNMOUNT, and libc
# reached through a dlopen handle
if HAVE_CRITERION
TEST_BINARIES += test/unmount test/dl_handles test/exec_events
endif
# run by test/exec_events: a program whose ELF interpreter is a copy of
# ld.so that the test makes in a directory of the build, and watches
check_PROGRAMS += test/exec_interp
test_exec_interp_SOURCES = test/exec_interp.c
test_exec_interp_LDADD =
test_exec_interp_LDFLAGS = -no-install -Wl,--dynamic-linker=$(abs_builddir)/test/exec-interp.d/ld.so
CLEANFILES += test/exec-interp.d/ld.so
EXTRA_DIST += test/programs/dl_handles.py
# issue 12: no process waits on another without bound; a holder stopped or
# killed inside each lock of the domain (test/bounded_waits.c)
if HAVE_CRITERION
TEST_BINARIES += test/bounded_waits
endif
# issue 12: writers and watchers stopped and killed at random while three
# watchers account for every event of the live writers (test/chaos.c)
check_PROGRAMS += test/chaos
test_chaos_LDADD =
TESTS += test/chaos.sh
EXTRA_DIST += test/chaos.sh

# issue 15, part 1: the kernel relay (inotify-shim relay) against the
# kernel, side by side: a shell, a C program, the same built static, a Go
# program and a process under the shim change a tree; a watcher under the
# shim (its kernel inotify denied) reads what a kernel watcher reads; and
# the same with the watcher in its own mount and pid namespace.  A .fuzz:
# the relay needs the kernel's inotify, so it runs outside run-test.sh.
check_PROGRAMS += test/relay_watcher test/relay_writer
test_relay_watcher_LDADD =
test_relay_writer_LDADD =
TESTS += test/relay.fuzz
EXTRA_DIST += test/relay.fuzz test/programs/relay_writer.go
