# bench/local.mk - the benchmark: the shim against the kernel's inotify,
# workload by workload, in the same run; included by Makefile.am.
#
# The program is built only by `make bench` (EXTRA_PROGRAMS), never
# installed.  It runs the shim under test/noinotify, so that only the
# emulation can answer.  Pass options and workloads with BENCH_ARGS, e.g.
#   make bench BENCH_ARGS='-r 3 overhead latency tree=20000'
# See bench/README for the figures and what they mean.

EXTRA_PROGRAMS = bench/bench
bench_bench_SOURCES = bench/bench.c
bench_bench_CPPFLAGS = -D_GNU_SOURCE
# measured code: optimised, and never instrumented by SANITIZE_CFLAGS
bench_bench_CFLAGS = -std=gnu11 -O2 -Wall -Wextra
bench_bench_LDADD = -lm -lpthread
CLEANFILES += bench/bench$(EXEEXT)
EXTRA_DIST += bench/README

BENCH_ARGS =
bench: bench/bench$(EXEEXT) src/libinotify-shim.la test/noinotify$(EXEEXT)
	$(builddir)/bench/bench$(EXEEXT) -s $(abs_builddir)/src/.libs/libinotify-shim.so \
		-x $(abs_builddir)/test/noinotify$(EXEEXT) $(BENCH_ARGS)
.PHONY: bench

# issue 15: the scanner beside watchdog's PollingObserver and chokidar's
# polling (bench/scan-bench.py says how; chokidar from $CHOKIDAR_DIR)
SCAN_BENCH_ARGS =
bench-scan: tools/inotify-shim$(EXEEXT) test/noinotify$(EXEEXT)
	/usr/bin/python3 $(srcdir)/bench/scan-bench.py $(SCAN_BENCH_ARGS) $(abs_builddir)
.PHONY: bench-scan
EXTRA_DIST += bench/scan-bench.py
# ---- the bridge's benchmark (issue 16): make bench-bridge, see bench/README
EXTRA_PROGRAMS += bench/bridge_bench
bench_bridge_bench_SOURCES = bench/bridge_bench.c
bench_bridge_bench_CPPFLAGS = -D_GNU_SOURCE
bench_bridge_bench_CFLAGS = -std=gnu11 -O2 -Wall -Wextra
bench_bridge_bench_LDADD =
CLEANFILES += bench/bridge_bench$(EXEEXT)
EXTRA_DIST += bench/bridge.sh
BRIDGE_BENCH_ARGS =
bench-bridge: bench/bridge_bench$(EXEEXT) tools/inotify-shim$(EXEEXT) \
		src/libinotify-shim.la test/noinotify$(EXEEXT)
	$(srcdir)/bench/bridge.sh $(abs_builddir) $(BRIDGE_BENCH_ARGS)
.PHONY: bench-bridge
