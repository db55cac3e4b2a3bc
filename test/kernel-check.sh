#!/bin/sh
# kernel-check.sh - run a Criterion test source against the kernel's own
# inotify: build it without the shim (only the test helpers and Criterion)
# and run it outside test/run-test.sh.  The expected events in the suites
# that say so are the kernel's; this is how they were checked.
#
#   test/kernel-check.sh BUILDDIR test/stdio_more.c [criterion options]
set -eu
[ $# -ge 2 ] || { echo "usage: $0 BUILDDIR SOURCE [options]" >&2; exit 2; }
build=$1 src=$2
shift 2
top=$(cd "$(dirname "$0")/.." && pwd)
bin=$(mktemp /tmp/kernel-check.XXXXXX)
trap 'rm -f "$bin"' EXIT
${CC:-cc} -D_GNU_SOURCE -I"$top/include" -I"$top/test" -o "$bin" "$src" \
	"$build/test/libhelpers.a" -lcriterion
unset LD_PRELOAD
"$bin" "$@"
