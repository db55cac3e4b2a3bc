# test/local.mk - the tests, included by Makefile.am, grouped by subject.
#
# Every test binary runs through test/run-test.sh (LOG_COMPILER): the
# kernel's inotify denied, the shim preloaded, a private domain per run.
# Every Criterion suite uses the one fixture of test/helpers.h
# (scratch_setup / scratch_leave: a scratch directory, an fd-leak check
# and an errno-unchanged-on-success check after every test).  The
# behavioural suites also run on the kernel's own inotify: make
# check-kernel (test/kernel-check.sh lists them).
#
# To add a test file test/foo.c: add test/foo to TEST_BINARIES in the
# section of its subject.  New blocks may go at the end, one per change;
# they are moved into their section when merged.

# ---- the harness: the runner, the kernel-denying helper, the fixture

LOG_COMPILER = $(builddir)/test/run-test.sh
test_noinotify_SOURCES = test/noinotify.c test/scenario/deny.c test/scenario/deny.h
test_noinotify_LDADD =

# defaults for every test binary
AM_CPPFLAGS = -D_GNU_SOURCE -I$(srcdir)/include -I$(srcdir)/test
LDADD = test/libhelpers.a src/libinotify-shim.la $(CRITERION_LIBS)
AM_LDFLAGS = -no-install

if HAVE_CRITERION
check_LIBRARIES = test/libhelpers.a
test_libhelpers_a_SOURCES = test/helpers.c test/helpers.h test/internals.c
test_libhelpers_a_CPPFLAGS = -D_GNU_SOURCE -I$(srcdir)/include
TEST_BINARIES =
check_PROGRAMS += $(TEST_BINARIES)
TESTS += $(TEST_BINARIES)
# test/noinotify leaves no way to the kernel's inotify, under any ABI
TEST_BINARIES += test/noinotify_abis
endif
# the behavioural suites on the kernel (make check-kernel, Makefile.am)
EXTRA_DIST += test/kernel-check.sh

# ---- the rules: watches, queues, instance fds, as the kernel's

if HAVE_CRITERION
TEST_BINARIES += test/watch_rules test/queue_rules test/cross_process
TEST_BINARIES += test/instance_fd test/instance_calls test/fdinfo
endif
# run by those tests with a limit in the environment; not a test itself
check_PROGRAMS += test/limits_child
test_limits_child_SOURCES = test/limits_child.c
test_limits_child_LDADD =
EXTRA_DIST += test/child_run.h

# ---- hooks: the libc calls that make events, and what they keep

if HAVE_CRITERION
TEST_BINARIES += test/hooks_more test/stdio_more test/excl_unlink
# close events with the last fd of an open file across processes
TEST_BINARIES += test/hooks_share
# files opened while no directory is watched get their directory late;
# one test at a time (test/late_dirs.c)
TEST_BINARIES += test/late_dirs
TEST_BINARIES += test/errno_preservation test/no_cost
# exec of a watched file, IN_UNMOUNT, and libc reached through a dlopen
# handle
TEST_BINARIES += test/unmount test/dl_handles test/exec_events
# per-fd objects and instance fds (test/fd_objects.c)
TEST_BINARIES += test/fd_objects
test_fd_objects_LDADD = $(LDADD) -lpthread
endif
EXTRA_DIST += test/programs/dl_handles.py
# run by test/exec_events: a program whose ELF interpreter is a copy of
# ld.so that the test makes in a directory of the build, and watches
check_PROGRAMS += test/exec_interp
test_exec_interp_SOURCES = test/exec_interp.c
test_exec_interp_LDADD =
test_exec_interp_LDFLAGS = -no-install -Wl,--dynamic-linker=$(abs_builddir)/test/exec-interp.d/ld.so
CLEANFILES += test/exec-interp.d/ld.so
# run by test/fd_objects after exec; not a test itself
check_PROGRAMS += test/fd_reader
test_fd_reader_LDADD =
# hooks.table is the single source of what the library interposes
TESTS += test/hooks_table.sh
EXTRA_DIST += test/hooks_table.sh

# ---- the library: its API, its modes, its configuration, what it hides

if HAVE_CRITERION
TEST_BINARIES += test/consumer test/mode test/quiet test/hazards
endif
# configure under threads; a plain program for check-tsan too
check_PROGRAMS += test/config_threads
TESTS += test/config_threads
test_config_threads_LDADD = src/libinotify-shim.la -lpthread

# ---- the domain and its faults: sharing, storage, damage, dead holders,
# load, threads

if HAVE_CRITERION
TEST_BINARIES += test/faults test/security
# who shares a domain, and its files reached only through the directory
# that was checked
TEST_BINARIES += test/shared_domain
# a full file system under the domain, the sharing attacks as another
# uid
TEST_BINARIES += test/storage test/damaged_files test/sharing
# no process waits on another without bound; a holder stopped or killed
# inside each lock of the domain (test/bounded_waits.c)
TEST_BINARIES += test/bounded_waits
endif
# a blocking read behind a stopped queue-lock holder: EINTR and SA_RESTART
# as the kernel's read (test/read_interrupts.c)
if HAVE_CRITERION
TEST_BINARIES += test/read_interrupts
endif
# a program's start waits on no domain lock, files.lock held by a stopped
# process included (test/start_unlocked.c)
if HAVE_CRITERION
TEST_BINARIES += test/start_unlocked
endif
# a lock holder in another pid namespace (unshare -pf --mount-proc):
# judged by the lock's progress counter (test/pidns_holder.c)
if HAVE_CRITERION
TEST_BINARIES += test/pidns_holder
endif
check_PROGRAMS += test/start_marker
test_start_marker_SOURCES = test/start_marker.c
test_start_marker_LDADD =
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
# writers and watchers stopped and killed at random while three watchers
# account for every event of the live writers (test/chaos.c)
check_PROGRAMS += test/chaos
test_chaos_LDADD =
TESTS += test/chaos.sh
EXTRA_DIST += test/chaos.sh

# ---- tools: inotify-shim's commands and its bash completion

if HAVE_CRITERION
TEST_BINARIES += test/tool_cli test/tool_ps test/tool_watch
endif
# the bash completion completes the commands, options and event names
# that the command has (tools/inotify-shim.bash-completion)
TESTS += test/completion.sh
EXTRA_DIST += test/completion.sh

# ---- real programs: writers and watchers, unmodified

# real writers compared with the kernel's recorded events
TESTS += test/writers.sh
EXTRA_DIST += test/writers.sh
# real watchers (inotifywait, inotifywatch, tail, entr, watchdog, node
# fs.watch, gio monitor) work unmodified under the shim
if HAVE_CRITERION
TEST_BINARIES += test/programs_watchers
endif
EXTRA_DIST += test/programs/fs_watch.js test/programs/watchdog_observer.py

# ---- scenarios and fuzzing: the same scenario on the kernel and on the
# shim, compared

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
# the differential fuzzer: outside test/noinotify, since its kernel side
# needs the kernel's inotify (test/fuzz.fuzz)
check_PROGRAMS += test/fuzzgen
test_fuzzgen_LDADD =
TESTS += test/fuzz.fuzz test/scenarios.fuzz
TEST_EXTENSIONS = .test .fuzz
FUZZ_LOG_COMPILER = env INOTIFY_SHIM_TEST_BUILDDIR=$(abs_top_builddir) \
	INOTIFY_SHIM_TEST_SRCDIR=$(abs_top_srcdir) CC="$(CC)" $(SHELL)
EXTRA_DIST += test/fuzz.fuzz test/scenarios.fuzz test/fuzz-common.sh
# scenarios run on the kernel and on the shim, compared byte for byte
# (test/divergences_notify.fuzz); a plain program, without the shim
# linked: the .fuzz side preloads it
check_PROGRAMS += test/divergences_notify
test_divergences_notify_LDADD =
TESTS += test/divergences_notify.fuzz
EXTRA_DIST += test/divergences_notify.fuzz

# ---- by hand: the suite under memcheck and ThreadSanitizer (slow)

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
TSAN_TESTS = test/threads test/loadgen test/config_threads
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

# ---- the scanner (inotify-shim scan): its difference, its looks, beside
# the kernel
# its snapshot and difference, on snapshots made by hand
if HAVE_CRITERION
TEST_BINARIES += test/scan_diff
endif
SCAN_SOURCES = src/scan/snapshot.c src/scan/snapshot.h src/scan/diff.c src/scan/diff.h
test_scan_diff_SOURCES = test/scan_diff.c $(SCAN_SOURCES)
test_scan_diff_CPPFLAGS = $(AM_CPPFLAGS) -I$(srcdir)/src
# beside the kernel (outside test/noinotify: its kernel side needs the
# kernel's inotify), and the scanner command
TEST_EXTENSIONS += .scan
SCAN_LOG_COMPILER = env INOTIFY_SHIM_TEST_BUILDDIR=$(abs_top_builddir) $(SHELL)
TESTS += test/scan_kernel.scan
EXTRA_DIST += test/scan_kernel.scan test/scan_common.sh
# a static binary and a Go program change the tree, the scanner tells a
# watcher under the shim, beside the kernel's
TESTS += test/scan_static.scan test/scan_go.scan
EXTRA_DIST += test/scan_static.scan test/scan_go.scan test/scan_writer_steps.sh \
	test/scan_writer.c test/scan_writer.go
if HAVE_CRITERION
TEST_BINARIES += test/scan_e2e
endif
test_scan_e2e_SOURCES = test/scan_e2e.c $(TOOL_TEST_HELPERS)
if HAVE_CRITERION
TEST_BINARIES += test/scan_hookstamp
endif
test_scan_hookstamp_SOURCES = test/scan_hookstamp.c src/scan/hookstamp.c src/scan/hookstamp.h
test_scan_hookstamp_CPPFLAGS = $(AM_CPPFLAGS) -I$(srcdir)/src
# its looks through held fds (src/scan/held.c)
if HAVE_CRITERION
TEST_BINARIES += test/scan_held
endif
test_scan_held_SOURCES = test/scan_held.c src/scan/held.c src/scan/held.h $(SCAN_SOURCES)
test_scan_held_CPPFLAGS = $(AM_CPPFLAGS) -I$(srcdir)/src

# ---- the bridge (inotify-shim bridge): its record and ordering (no server), its
# transport against real nats-server processes on 127.0.0.1; bridge_check.sh
# says plainly when those are skipped (no libnats, or no nats-server)
TESTS += test/bridge_check.sh test/bridge_e2e.sh test/bridge_faults.sh
EXTRA_DIST += test/bridge_check.sh test/bridge_nats.h test/bridge_e2e.sh \
	test/bridge_e2e.out test/bridge_faults.sh
if HAVE_CRITERION
TEST_BINARIES += test/bridge_record
test_bridge_record_SOURCES = test/bridge_record.c tools/bridge/record.c \
	tools/bridge/order.c
test_bridge_record_CPPFLAGS = $(AM_CPPFLAGS) -I$(srcdir)/tools
test_bridge_record_LDADD = $(CRITERION_LIBS)
if HAVE_NATS
check_PROGRAMS += test/bridge_transport
TESTS += test/bridge_transport
test_bridge_transport_SOURCES = test/bridge_transport.c test/bridge_nats.c \
	test/bridge_nats.h $(BRIDGE_TRANSPORT)
test_bridge_transport_CPPFLAGS = $(AM_CPPFLAGS) -I$(srcdir)/tools
test_bridge_transport_CFLAGS = $(AM_CFLAGS) -pthread $(NATS_CFLAGS)
test_bridge_transport_LDADD = $(CRITERION_LIBS) $(NATS_LIBS) -lpthread
endif
endif
# ps shows the bridges; the network cut; remote cookies remapped; a
# directory's entries announced when the bridge begins to watch it
TESTS += test/bridge_ps.sh test/bridge_cookies.sh test/bridge_netcut.sh \
	test/bridge_newdir.sh
EXTRA_DIST += test/bridge_ps.sh test/bridge_cookies.sh test/bridge_netcut.sh \
	test/bridge_newdir.sh
# bridges started at once all bridge their root (the stream's creation races)
TESTS += test/bridge_race.sh
EXTRA_DIST += test/bridge_race.sh
# a tree bridged under two names is two roots
TESTS += test/bridge_names.sh
EXTRA_DIST += test/bridge_names.sh

# ---- the source tree's own rules
# the layer rules of src/README, over the sources
TESTS += test/layering.sh
EXTRA_DIST += test/layering.sh

# the library's own code calls no interposed name
# (a static check of the objects' relocations; see its top)
TESTS += test/internal_calls.sh
EXTRA_DIST += test/internal_calls.sh

# nothing but the interposed names and the public API
# is exported, and debian/libinotify-shim0.symbols lists exactly those
TESTS += test/exports.sh
EXTRA_DIST += test/exports.sh

# ---- the kernel relay (inotify-shim relay) against the kernel, side by
# side: a shell, a C program, the same built static, a Go
# program and a process under the shim change a tree; a watcher under the
# shim (its kernel inotify denied) reads what a kernel watcher reads; and
# the same with the watcher in its own mount and pid namespace.  A .fuzz:
# the relay needs the kernel's inotify, so it runs outside run-test.sh.
check_PROGRAMS += test/relay_watcher test/relay_writer
test_relay_watcher_LDADD =
test_relay_writer_LDADD =
TESTS += test/relay.fuzz
EXTRA_DIST += test/relay.fuzz test/programs/relay_writer.go test/relay-common.sh
# the relay against the kernel beyond the changes: watches made before it
# started or while it did not run, its own kernel queue's overflow, an
# unmount (test/relay_events.fuzz says each)
TESTS += test/relay_events.fuzz
EXTRA_DIST += test/relay_events.fuzz
# the relay beside the bridge on the host of the changes: a change seen by
# a hook and by the kernel is published once (skipped without NATS)
TESTS += test/bridge_relay.fuzz
EXTRA_DIST += test/bridge_relay.fuzz
# the lost-event wake that a reader takes at once (the package build's
# hang of test/relay.fuzz), on a queue driven directly
if HAVE_CRITERION
TEST_BINARIES += test/relay_queue
endif
test_relay_queue_SOURCES = test/relay_queue.c tools/nextsym.c
test_relay_queue_CPPFLAGS = $(AM_CPPFLAGS) -I$(srcdir)/src -I$(builddir)/src
test_relay_queue_LDADD = test/libhelpers.a src/libshim-core.la $(CRITERION_LIBS)

# ---- the harness again: a test that counts every event runs its scenario
# in a domain of its own (helpers.h, run_child_in_own_domain()), and why
if HAVE_CRITERION
TEST_BINARIES += test/own_domain
endif

# ---- new blocks, one per change, go below; they are moved into their
# section when merged
