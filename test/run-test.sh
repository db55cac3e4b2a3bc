#!/bin/sh
# run-test.sh - how make check runs every test (LOG_COMPILER): with the
# kernel's inotify denied (test/noinotify), the shim preloaded into the test
# and everything it starts, and a private domain for this test alone, so
# that tests can run in parallel and leave nothing behind.
builddir='/work/main'
srcdir='/work/main'
lib="$builddir/src/.libs/libinotify-shim.so"
preload="$lib"
if [ -n '' ]; then
	# an instrumented library needs the sanitizer runtimes loaded first
	for rt in libasan.so libubsan.so; do
		p=$(gcc -print-file-name=$rt)
		[ -f "$p" ] && preload="$p $preload"
	done
	export ASAN_OPTIONS="verify_asan_link_order=0:detect_leaks=0:${ASAN_OPTIONS:-}"
	export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
fi
domain=$(mktemp -d "${TMPDIR:-/tmp}/inotify-shim-test.XXXXXX") || exit 99
chmod 700 "$domain"
trap 'rm -rf "$domain"' EXIT
export INOTIFY_SHIM_DOMAIN="$domain/domain"
export INOTIFY_SHIM_TEST_LIB="$lib"
export INOTIFY_SHIM_TEST_PRELOAD="$preload"
export INOTIFY_SHIM_TEST_BUILDDIR="$builddir"
export INOTIFY_SHIM_TEST_SRCDIR="$srcdir"
LD_PRELOAD="$preload" "$builddir/test/noinotify" "$@"
