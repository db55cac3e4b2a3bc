#!/bin/sh
# bridge.sh - the bridge's benchmark (make bench-bridge): one event from a
# writer's call to a remote watcher's read (p50, p99), and events/s
# sustained with nothing lost, through the kernel on one host and through
# the bridge: writer under the shim in domain A, bridge A, one nats-server
# with JetStream on 127.0.0.1 (its port chosen by itself), bridge B,
# watcher under the shim in domain B with the kernel's inotify denied.
#
#   bench/bridge.sh BUILDDIR [LATENCY_N [RATE_N [RATE]]]
set -u
b=$(cd "${1:?builddir}" && pwd)
nl=${2:-2000} nr=${3:-200000} rate=${4:-50000}
bench=$b/bench/bridge_bench shim=$b/tools/inotify-shim deny=$b/test/noinotify
nats=$(command -v nats-server || ls /usr/sbin/nats-server 2>/dev/null)
[ -n "$nats" ] || { echo "nats-server is not installed"; exit 1; }
work=$(mktemp -d) || exit 1
pids=
trap 'for p in $pids; do kill $p 2>/dev/null; done; wait; rm -rf "$work"' EXIT
mkdir -p "$work/tree" "$work/nats"

wait_for() {
	i=0
	while ! grep -q -- "$2" "$1" 2>/dev/null; do
		i=$((i + 1)); [ $i -gt 300 ] && { echo "timed out: $2"; exit 1; }
		sleep 0.1
	done
}

# side NAME WATCHER-PREFIX WRITER-PREFIX MODE N [RATE]
side() {
	rm -f "$work/shm"
	$2 "$bench" watch "$4" "$work/tree" "$5" "$work/shm" >"$work/out" 2>&1 &
	w=$!
	$3 "$bench" write "$4" "$work/tree" "$5" "$work/shm" ${6:-0} || echo "$1: the writer failed"
	wait $w
	echo "$1 $4${6:+ at $6/s}: $(cat "$work/out")"
}

echo "kernel, one host:"
side kernel "" "" latency "$nl"
side kernel "" "" rate "$nr"
side kernel "" "" rate "$nr" "$rate"

# what a writer under the shim pays, nothing watched (A's domain, before
# A's bridge watches the tree), and then with the tree bridged
ov="env INOTIFY_SHIM_DOMAIN=$work/domA $shim run -- $bench overhead $work/tree 200000"
echo "writer under the shim, nothing watched: $($ov)"

env -u LD_PRELOAD "$nats" -a 127.0.0.1 -p -1 -js -sd "$work/nats" -l "$work/nats.log" &
pids="$pids $!"
wait_for "$work/nats.log" "Server is ready"
port=$(sed -n 's/.*client connections on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/nats.log" | head -n 1)
for h in A B; do
	"$shim" bridge -s "nats://127.0.0.1:$port" -r "$work/tree=bench" --host $h \
		-d "$work/dom$h" 2>"$work/bridge$h" &
	pids="$pids $!"
	wait_for "$work/bridge$h" "bridging 1 root"
done
wa="env INOTIFY_SHIM_DOMAIN=$work/domB $deny $shim run --"
wr="env INOTIFY_SHIM_DOMAIN=$work/domA $shim run --"
echo "through the bridge (two domains, nats-server on 127.0.0.1):"
side bridge "$wa" "$wr" latency "$nl"
side bridge "$wa" "$wr" rate "$nr"
side bridge "$wa" "$wr" rate "$nr" "$rate"
echo "writer under the shim, the tree bridged: $($ov)"
