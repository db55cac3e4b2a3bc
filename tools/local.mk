# tools/local.mk - the inotify-shim command, its man pages and the README's
# example program; included by Makefile.am.
#
# The command links the core (libshim-core.la), not the preloaded library,
# so it never interposes libc in its own process.  It finds the library to
# preload through SHIM_LIBDIR (installed) or the build tree (see run.c).

bin_PROGRAMS += tools/inotify-shim
tools_inotify_shim_SOURCES = \
	tools/cli.h \
	tools/inotify-shim.c \
	tools/session.c \
	tools/masks.c \
	tools/run.c \
	tools/snapshot.c tools/snapshot.h \
	tools/ps.c \
	tools/gc.c \
	tools/watch.c \
	tools/nextsym.c \
	tools/relay.c tools/relay_table.c tools/relay_table.h tools/relay_ps.c \
	tools/relay_adopt.c tools/relay_setup.c
# issue 15: the scanner
tools_inotify_shim_SOURCES += tools/scan.c tools/scan.h tools/scan_set.c \
	tools/scan_tick.c tools/scan_deliver.c tools/scan_shard.c tools/scan_status.c \
	src/scan/snapshot.c src/scan/snapshot.h src/scan/held.c src/scan/held.h \
	src/scan/diff.c src/scan/diff.h
tools_inotify_shim_CPPFLAGS = $(SHIM_CPPFLAGS) -DSHIM_LIBDIR='"$(libdir)"'
tools_inotify_shim_CFLAGS = $(AM_CFLAGS) -pthread
tools_inotify_shim_LDADD = src/libshim-core.la -lpthread

# make demo uses the command to start the watcher and the writer.
demo: tools/inotify-shim
EXTRA_DIST += tools/demo.sh.in

# ---- man pages
man_MANS = man/inotify-shim.1 man/inotify-shim.7
EXTRA_DIST += $(man_MANS)

# ---- the README's example, compiled and run by make check against the
# build tree (under test/run-test.sh, the kernel's inotify denied), so that
# it cannot go stale.  CI also builds it the README's way against an
# installed copy (.ci/run).
check_PROGRAMS += examples/example
examples_example_SOURCES = examples/example.c
examples_example_CPPFLAGS = -I$(srcdir)/include
examples_example_LDADD = src/libinotify-shim.la
TESTS += examples/example
check_PROGRAMS += examples/consumer
examples_consumer_SOURCES = examples/consumer.c
examples_consumer_CPPFLAGS = -I$(srcdir)/include
examples_consumer_LDADD = src/libinotify-shim.la
TESTS += examples/consumer

# ---- the command's tests (listed in TEST_BINARIES, test/local.mk)
TOOL_TEST_HELPERS = test/tool_helpers.c test/tool_helpers.h
test_tool_cli_SOURCES = test/tool_cli.c $(TOOL_TEST_HELPERS)
test_tool_ps_SOURCES = test/tool_ps.c $(TOOL_TEST_HELPERS)
test_tool_watch_SOURCES = test/tool_watch.c $(TOOL_TEST_HELPERS)

# ... and the README shows it as it is.
TESTS += examples/check-readme.sh
EXTRA_DIST += examples/check-readme.sh

# ---- issue 15: the relay's systemd user unit, installed as the bridge's
# is (systemduserunitdir: configure.ac, the same block as the bridge
# branch's); its own directory variable, so that the two units' lists
# never collide.
relayunitdir = $(systemduserunitdir)
relayunit_DATA = tools/inotify-shim-relay@.service
CLEANFILES += tools/inotify-shim-relay@.service
EXTRA_DIST += tools/inotify-shim-relay@.service.in
tools/inotify-shim-relay@.service: $(srcdir)/tools/inotify-shim-relay@.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) tools && \
	sed 's|@bindir[@]|$(bindir)|g' $(srcdir)/tools/inotify-shim-relay@.service.in >$@
