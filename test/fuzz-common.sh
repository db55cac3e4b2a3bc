# fuzz-common.sh - sourced by test/fuzz.fuzz and test/scenarios.fuzz: build
# the referee, check that the kernel's inotify works here, and compare().
ref_src="$s/../shared/conformance/referee.c"
[ -f "$ref_src" ] || { echo "skip: no $ref_src beside the source tree"; exit 77; }
work=$(mktemp -d "${TMPDIR:-/tmp}/inotify-shim-fuzz.XXXXXX") || exit 99
trap 'rm -rf "$work"' EXIT
referee="$b/test/referee"
# make check runs fuzz.fuzz and scenarios.fuzz at once: one builds the
# referee under the lock while the other waits, then finds it up to date.
# (Rebuilt while the other ran it, it was "Permission denied" half-written,
# or, replaced by a rename, its own /proc/self/exe gone for its re-exec.)
(
	flock 9
	if [ ! -x "$referee" ] || [ "$ref_src" -nt "$referee" ]; then
		${CC:-cc} -O2 -o "$referee" "$ref_src" || rm -f "$referee"
	fi
) 9>"$referee.lock"
[ -x "$referee" ] || { echo "skip: cannot build the referee"; exit 77; }
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
(cd "$work" && "$referee" probe.scn) 2>/dev/null | grep -q "IN_CREATE" ||
	{ echo "skip: the kernel's inotify does not work here"; exit 77; }

# compare SCN: 0 when kernel and shim print the same; the diff in $work/diff
compare() {
	rm -rf "$work/dom"
	(cd "$work" && "$referee" "$1") > "$work/k.out" 2>&1
	(cd "$work" && INOTIFY_SHIM_DOMAIN="$work/dom" LD_PRELOAD="$preload" \
		"$referee" -n "$1") > "$work/s.out" 2>&1
	diff -u "$work/k.out" "$work/s.out" > "$work/diff"
}
