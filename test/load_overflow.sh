#!/bin/sh
# load_overflow.sh - the load test (test/loadgen.c) with queues of 64 events,
# so that IN_Q_OVERFLOW happens under load: every event must still be
# received or covered by a reported overflow, none twice, each writer's
# order kept.  Run by make check under test/run-test.sh.
INOTIFY_SHIM_MAX_QUEUED_EVENTS=64 exec "$INOTIFY_SHIM_TEST_BUILDDIR/test/loadgen"
