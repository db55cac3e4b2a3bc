#!/bin/sh
# bridge_race.sh - bridges that start at the same moment against a new
# server all bridge their root.  Each creates the root's stream if it is
# not there; a creation that races another is answered by the server with
# "stream name already in use" or with "subjects overlap with an existing
# stream" (JetStream error 10065, seen in test/bridge_e2e.sh when its two
# bridges started together), and both mean the stream is there now
# (tools/bridge/transport.c, tr_ensure_stream).  Six bridges, five rounds,
# each round on a server of its own: every bridge must say "bridging 1 root".
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
mkdir -p "$work/tree"

# wait_for FILE TEXT: up to 30 s for FILE to hold TEXT
wait_for() {
	i=0
	while ! grep -q -- "$2" "$1" 2>/dev/null; do
		i=$((i + 1))
		[ $i -gt 300 ] && { echo "timed out waiting for '$2' in $1"; cat "$1" 2>/dev/null; return 1; }
		sleep 0.1
	done
}

for round in 1 2 3 4 5; do
	mkdir -p "$work/nats$round"
	env -u LD_PRELOAD "$nats" -a 127.0.0.1 -p -1 -js -sd "$work/nats$round" \
		-l "$work/nats$round.log" &
	server=$!
	pids="$pids $server"
	wait_for "$work/nats$round.log" "Server is ready" || exit 1
	port=$(sed -n 's/.*client connections on 127\.0\.0\.1:\([0-9]*\).*/\1/p' \
		"$work/nats$round.log" | head -n 1)
	started=
	for h in 1 2 3 4 5 6; do
		"$shim" bridge -s "nats://127.0.0.1:$port" -r "$work/tree=proj" --host "h$h" \
			-d "$work/dom$round.$h" 2>"$work/b$round.$h" &
		started="$started $!"
	done
	pids="$pids $started"
	for h in 1 2 3 4 5 6; do
		wait_for "$work/b$round.$h" "bridging 1 root" ||
			{ echo "round $round: bridge $h of 6 did not bridge its root"; exit 1; }
	done
	for p in $started $server; do kill "$p" 2>/dev/null; done
	for p in $started $server; do wait "$p" 2>/dev/null; done
	pids=
done
echo "5 rounds of 6 bridges started at once: each bridged its root"
