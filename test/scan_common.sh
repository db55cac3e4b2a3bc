# scan_common.sh - sourced by the scanner's tests beside the kernel
# (test/scan_kernel.scan, test/scan_programs.scan): a kernel inotifywait
# and one under the shim (the kernel's inotify denied to it, test/noinotify)
# watch $work/t recursively, with the scanner of a private domain; this
# shell makes changes and waits until both sides have told them (settle,
# followed); compare says whether each watch's events are the same.
#
# Run outside test/run-test.sh (SCAN_LOG_COMPILER, test/local.mk): the
# kernel side needs the kernel's inotify.  Only the events a scanner can
# see are asked for on both sides; a scanner never sees IN_OPEN,
# IN_ACCESS or IN_CLOSE_NOWRITE (nothing in a snapshot records a read).
b=${INOTIFY_SHIM_TEST_BUILDDIR:?}
command -v inotifywait >/dev/null || { echo "skip: no inotifywait"; exit 77; }
work=$(mktemp -d "${TMPDIR:-/tmp}/inotify-shim-scan.XXXXXX") || exit 99
pids=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
mkdir -m 700 "$work/dom" && mkdir "$work/t" || exit 99
export INOTIFY_SHIM_DOMAIN="$work/dom"
# an instrumented library (--enable-sanitizers) needs its runtimes loaded
# first into inotifywait, as test/fuzz-common.sh does
rt=
if ldd "$b/src/.libs/libinotify-shim.so" 2>/dev/null | grep -q 'libasan\|libubsan'; then
	for r in libasan.so libubsan.so; do
		p=$(${CC:-cc} -print-file-name=$r)
		[ -f "$p" ] && rt="$rt $p"
	done
	export ASAN_OPTIONS="verify_asan_link_order=0:detect_leaks=0:${ASAN_OPTIONS:-}"
fi
events=create,delete,modify,attrib,move,delete_self,move_self,close_write
fmt='%w %e %f'

inotifywait -q -m -r -e $events --format "$fmt" "$work/t" > "$work/k.out" 2>"$work/k.err" &
pids="$pids $!"
INOTIFY_SHIM_SCAN=1 LD_PRELOAD="${rt# }" "$b/test/noinotify" "$b/tools/inotify-shim" run -- \
	inotifywait -q -m -r -e $events --format "$fmt" "$work/t" > "$work/s.out" 2>"$work/s.err" &
pids="$pids $!"
"$b/tools/inotify-shim" scan --interval 20 --cycle 200 --grace 60000 2>"$work/scan.err" &
pids="$pids $!"

lines() { wc -l < "$1" | tr -d ' '; }
# until both outputs have stopped growing for 0.6 s, with equal lengths;
# 1 after 60 s (a loaded machine): the sides differ, and the caller says
# how at once (compare) rather than wait again at every later step
settle() {
	last=; same=0; i=0
	while [ $i -lt 600 ]; do
		now="$(lines "$work/k.out") $(lines "$work/s.out")"
		if [ "$now" = "$last" ]; then same=$((same + 1)); else same=0; fi
		set -- $now
		[ $same -ge 6 ] && [ "$1" = "$2" ] && return 0
		last=$now; i=$((i + 1)); sleep 0.1
	done
	return 1
}
# the shim's watcher has its watch when the paths table names the tree
i=0
until grep -q "$work/t" "$work/dom/paths" 2>/dev/null && [ -s "$work/dom/scan.lock" ]; do
	i=$((i + 1)); [ $i -gt 200 ] && { echo "the shim's watcher never watched"; cat "$work/s.err"; exit 1; }
	sleep 0.1
done

# until the scanner follows N watched directories (a new directory must be
# watched, by the shim's inotifywait -r and then the scanner, before a
# change in it can be told)
followed() {
	i=0
	until grep -qx "followed $1" "$work/dom/scan.status" 2>/dev/null; do
		i=$((i + 1)); [ $i -gt 400 ] && { echo "the scanner never followed $1"; exit 1; }
		sleep 0.05
	done
}
followed 1	# the scanner's first look at the tree (its baseline)

# each watch's events in order (the watches' interleaving may differ), the
# kernel's against the shim's; 0 if the same
compare() {
	sort -s -k1,1 "$work/k.out" > "$work/k.sorted"
	sort -s -k1,1 "$work/s.out" > "$work/s.sorted"
	if ! diff -u "$work/k.sorted" "$work/s.sorted"; then
		cat "$work/steps"
		echo "--- kernel, as it came"; cat "$work/k.out"
		echo "--- scanner, as it came"; cat "$work/s.out"
		cat "$work/scan.err" "$work/s.err"
		exit 1
	fi
	cat "$work/k.out"
	echo "$(lines "$work/k.out") events equal"
}
