# relay-common.sh - what the relay's tests (test/relay.fuzz,
# test/relay_events.fuzz) share, sourced by them: the programs, a work
# directory removed at the end, a private domain, waits that all have a
# deadline, and a probe that skips where the kernel's inotify does not
# work.  Every process started in the background goes into $pids; no wait
# is unbounded (wait_done, until_true), so that a bug fails a test in
# seconds instead of hanging it (and the package build with it).
b=${INOTIFY_SHIM_TEST_BUILDDIR:-$(pwd)}
src=${INOTIFY_SHIM_TEST_SRCDIR:-$b/..}
shim="$b/tools/inotify-shim"
watcher="$b/test/relay_watcher"
writer="$b/test/relay_writer"
deny="$b/test/noinotify"
lib="$b/src/.libs/libinotify-shim.so"
for f in "$shim" "$watcher" "$writer" "$deny"; do
	[ -x "$f" ] || { echo "no $f"; exit 99; }
done
preload=$lib
if ldd "$lib" 2>/dev/null | grep -q 'libasan\|libubsan'; then
	for rt in libasan.so libubsan.so; do
		p=$(${CC:-cc} -print-file-name=$rt)
		[ -f "$p" ] && preload="$p $preload"
	done
	export ASAN_OPTIONS="verify_asan_link_order=0:detect_leaks=0:${ASAN_OPTIONS:-}"
	export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/relay-test.XXXXXX") || exit 99
chmod 755 "$work"
pids=
# running PID: is the child PID still running (not gone, not a zombie)?
running() {
	local st
	st=$(sed 's/.*) //' "/proc/$1/stat" 2> /dev/null) || return 1
	[ -n "$st" ] && [ "${st%% *}" != Z ]
}
# wait_done PID [SECONDS]: wait for the child PID, with a deadline (90 s:
# every process waited for has one of its own, within it); past it,
# say what the child was doing, kill it, and fail (124).  No wait of this
# test is unbounded: a bug fails it in seconds, never hangs it.
wait_done() {
	local p=$1 secs=${2:-90}
	pids=$(echo " $pids " | sed "s/ $p / /")	# waited for: cleanup leaves it be
	for _ in $(seq $((secs * 20))); do
		running "$p" || { wait "$p"; return; }
		sleep 0.05
	done
	echo "TIMEOUT: pid $p ($(tr '\0' ' ' < "/proc/$p/cmdline" 2> /dev/null)) still runs" \
		"after $secs s, in $(cat "/proc/$p/wchan" 2> /dev/null)"
	head -n 12 "/proc/$p/stack" 2> /dev/null
	kill -KILL "$p" 2> /dev/null
	wait "$p" 2> /dev/null
	return 124
}
cleanup() {
	local left=$pids
	for p in $left; do kill "$p" 2>/dev/null; done
	for p in $left; do wait_done "$p" 10 > /dev/null 2>&1; done
	rm -rf "$work"
}
trap cleanup EXIT
unset LD_PRELOAD
dom="$work/dom"
mkdir -m 700 "$dom"
export INOTIFY_SHIM_DOMAIN="$dom"
failed=0

# until_true CONDITION [SECONDS]: 0 as soon as CONDITION holds (looked at
# every 10 ms), 1 when it did not within SECONDS (20) of real time, however
# slow each look is on a loaded machine
until_true() {
	local end=$((SECONDS + ${2:-20}))
	while :; do
		eval "$1" && return 0
		[ $SECONDS -lt $end ] || return 1
		sleep 0.01
	done
}
mirrored() { "$shim" ps 2>/dev/null | grep -q "^relay pid [0-9]*: mirrored $1,"; }
ready() { grep -q ready "$1" 2>/dev/null; }

# the kernel's inotify, where this test runs (the relay's own)
mkdir "$work/probe"
"$watcher" "$work/probe" > "$work/probe.out" 2> "$work/probe.err" &
p=$!
pids="$pids $p"
if until_true 'ready "$work/probe.err" || ! running $p'; then
	: > "$work/probe/end"
fi
wait_done $p
grep -q 'CREATE 0 end' "$work/probe.out" ||
	{ echo "skip: the kernel's inotify does not work here:"; cat "$work/probe.err"; exit 77; }
