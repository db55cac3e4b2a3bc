# fuzz-common.sh - sourced by test/fuzz.fuzz and test/scenarios.fuzz: the
# scenario runner (test/scenario/runner, a check program that make check
# builds before it runs the tests), a check that the kernel's inotify works
# here, and compare().
runner="$b/test/scenario/runner"
[ -x "$runner" ] || { echo "no $runner (make check builds it)"; exit 99; }
work=$(mktemp -d "${TMPDIR:-/tmp}/inotify-shim-fuzz.XXXXXX") || exit 99
trap 'rm -rf "$work"' EXIT
lib="$b/src/.libs/libinotify-shim.so"
preload=$lib
if ldd "$lib" 2>/dev/null | grep -q 'libasan\|libubsan'; then
	# an instrumented library needs the sanitizer runtimes loaded first
	for rt in libasan.so libubsan.so; do
		p=$(${CC:-cc} -print-file-name=$rt)
		[ -f "$p" ] && preload="$p $preload"
	done
	export ASAN_OPTIONS="verify_asan_link_order=0:detect_leaks=0:${ASAN_OPTIONS:-}"
	export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
fi
printf 'mkdir d\nwatch w d IN_CREATE\ntouch d/a\n' > "$work/probe.scn"
(cd "$work" && "$runner" probe.scn) 2>/dev/null | grep -q 'IN_CREATE name="a"' ||
	{ echo "skip: the kernel's inotify does not work here"; exit 77; }

# compare SCN: 0 when kernel and shim print the same; the diff in $work/diff
compare() {
	rm -rf "$work/dom"
	(cd "$work" && "$runner" "$1") > "$work/k.out" 2>&1
	(cd "$work" && INOTIFY_SHIM_DOMAIN="$work/dom" LD_PRELOAD="$preload" \
		"$runner" -n "$1") > "$work/s.out" 2>&1
	diff -u "$work/k.out" "$work/s.out" > "$work/diff"
}
