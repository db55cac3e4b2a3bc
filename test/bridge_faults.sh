#!/bin/sh
# bridge_faults.sh - the bridge under faults, end to end: two domains A
# and B bridging one tree, one nats-server on 127.0.0.1 (its port chosen
# by itself, read from its log), a watcher on B (inotify-shim watch: the
# domain's own instance; the kernel's inotify denied: test/run-test.sh).
#   1. the server killed and restarted: B's watcher reads IN_Q_OVERFLOW,
#      then events made after the restart again;
#   2. B's bridge killed and restarted: what A did while it was down is
#      never delivered (a restarted bridge starts at new events), what A
#      does after is.
# Nothing is read twice.  (inotifywait is not the watcher here: it prints
# no IN_Q_OVERFLOW, whose wd -1 names no watch of its own.)
set -u
builddir=${INOTIFY_SHIM_TEST_BUILDDIR:-.}
shim=$builddir/tools/inotify-shim
nats=$(command -v nats-server || ls /usr/sbin/nats-server 2>/dev/null)
[ -x "$builddir/test/bridge_transport" ] || { echo "SKIP: built without libnats"; exit 77; }
[ -n "$nats" ] || { echo "SKIP: nats-server is not installed"; exit 77; }

work=$(mktemp -d) || exit 99
pids=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	for p in $pids; do wait "$p" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/tree" "$work/nats"

# wait_for FILE TEXT: up to 30 s for FILE to hold TEXT
wait_for() {
	i=0
	while ! grep -q -- "$2" "$1" 2>/dev/null; do
		i=$((i + 1))
		[ $i -gt 300 ] && { echo "timed out waiting for '$2' in $1"; cat "$1" 2>/dev/null; return 1; }
		sleep 0.1
	done
}

# on_a CMD: run CMD in the tree under the shim on A
on_a() { (cd "$work/tree" && INOTIFY_SHIM_DOMAIN=$work/domA "$shim" run -- sh -c "$1"); }

# until_seen PREFIX: make PREFIX-1, PREFIX-2 ... on A until B reads one
# (the bridges resubscribe after a fault: events before that are lost,
# and said to be)
until_seen() {
	n=0
	while ! grep -q "|CREATE|$1-" "$work/B"; do
		n=$((n + 1))
		[ $n -gt 150 ] && { echo "B never read $1-N"; cat "$work/B"; return 1; }
		on_a "touch $1-$n"
		sleep 0.2
	done
}

start_server() {
	env -u LD_PRELOAD "$nats" -a 127.0.0.1 -p "$1" -js -sd "$work/nats" -l "$work/nats.log" &
	server=$!
	pids="$pids $server"
	wait_for "$work/nats.log" "Server is ready" || exit 1
}

start_bridge() {
	: >"$work/b$1"
	"$shim" bridge -s "$url" -r "$work/tree=proj" --host "$1" -d "$work/dom$1" -v 2>"$work/b$1" &
	eval "bridge$1=\$!"
	pids="$pids $!"
	wait_for "$work/b$1" "bridging 1 root" || exit 1
}

start_server -1
port=$(sed -n 's/.*client connections on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/nats.log" | head -n 1)
url=nats://127.0.0.1:$port
start_bridge A
start_bridge B
"$shim" watch -d "$work/domB" --format '%w|%e|%f' -e create "$work/tree" \
	>"$work/B" 2>"$work/B.err" &
pids="$pids $!"
wait_for "$work/B.err" "Watches established" || exit 1

fail=0
# 1. the server killed and restarted on its port
on_a "touch before"
wait_for "$work/B" "|CREATE|before" || exit 1
kill -9 "$server"
wait "$server" 2>/dev/null
: >"$work/nats.log"
start_server "$port"
wait_for "$work/B" "Q_OVERFLOW" || { echo "FAIL: no IN_Q_OVERFLOW after the server's restart"; cat "$work/bB"; fail=1; }
until_seen after || fail=1

# 2. B's bridge killed and restarted
kill "$bridgeB"
wait "$bridgeB" 2>/dev/null
on_a "touch while-down"
wait_for "$work/bA" "publish proj: IN_CREATE 0 while-down" || exit 1
start_bridge B
until_seen later || fail=1
if grep -q "while-down" "$work/B"; then
	echo "FAIL: the restarted bridge delivered an event from before it started"
	fail=1
fi
dups=$(grep -v Q_OVERFLOW "$work/B" | sort | uniq -d)
if [ -n "$dups" ]; then
	echo "FAIL: read twice: $dups"
	fail=1
fi
echo "B read:"
cat "$work/B"
[ $fail = 0 ] && echo "ok: overflow after the server's restart, events again, nothing from before a restart"
exit $fail
