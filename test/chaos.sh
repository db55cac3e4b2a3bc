#!/bin/sh
# chaos.sh - test/chaos.c for 5 s, so that make check stays fast (run
# test/chaos alone for its 30 s).  Run by make check under test/run-test.sh.
exec "$INOTIFY_SHIM_TEST_BUILDDIR/test/chaos" -t 5
