#!/bin/sh
# kernel-check.sh - run Criterion test sources against the kernel's own
# inotify: build each without the shim (only the test helpers and
# Criterion) and run it outside test/run-test.sh, with no preload and the
# kernel's inotify allowed, and INOTIFY_SHIM_TEST_KERNEL=1 so that a test
# about the shim alone skips itself (cr_skip_test, with its reason).  The
# expected events of the behavioural suites are the kernel's: this is how
# a test is kept from encoding a behaviour the kernel does not have.
#
#   test/kernel-check.sh BUILDDIR                  every behavioural suite
#   test/kernel-check.sh BUILDDIR test/foo.c [criterion options]
#
# The behavioural suites are those about inotify's semantics; the others
# test what only the shim has (its domains and their faults, its tools,
# its modes and costs, its bounded waits, its fd records, and the real
# watchers of programs_watchers, whose checks are that they hold an
# emulated instance) and are not run.
# make check-kernel runs the first form.
set -eu
[ $# -ge 1 ] || { echo "usage: $0 BUILDDIR [SOURCE [options]]" >&2; exit 2; }
build=$(cd "$1" && pwd)
shift
top=$(cd "$(dirname "$0")/.." && pwd)
BEHAVIOURAL="watch_rules queue_rules cross_process instance_fd instance_calls
	fdinfo hooks_more stdio_more excl_unlink hooks_share late_dirs
	exec_events dl_handles unmount errno_preservation"
tmp=$(mktemp -d /tmp/kernel-check.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
unset LD_PRELOAD INOTIFY_SHIM_TEST_LIB INOTIFY_SHIM_TEST_PRELOAD
export INOTIFY_SHIM_TEST_KERNEL=1
export INOTIFY_SHIM_TEST_BUILDDIR="$build" INOTIFY_SHIM_TEST_SRCDIR="$top"

# run SOURCE [options]: build it into $tmp and run it from the build
# directory (where the suites find their helper programs)
run() {
	src=$1
	shift
	bin=$tmp/$(basename "$src" .c)
	${CC:-cc} -D_GNU_SOURCE -I"$top/include" -I"$top/test" -o "$bin" "$src" \
		"$build/test/libhelpers.a" -lcriterion -lpthread || return 1
	(cd "$build" && "$bin" "$@")
}

if [ $# -ge 1 ]; then
	run "$@"
	exit
fi
failed=
for t in $BEHAVIOURAL; do
	echo "kernel: test/$t.c"
	run "$top/test/$t.c" || failed="$failed $t"
done
[ -z "$failed" ] || { echo "check-kernel failed:$failed" >&2; exit 1; }
echo "check-kernel: every behavioural suite passes on the kernel"
