#!/bin/sh
# bridge_ps.sh - inotify-shim ps shows each bridge of the domain: its pid,
# host, server, whether it is connected, its roots (name and local path)
# and their lag (events not yet delivered, age of the last one delivered),
# as text and as JSON; a bridge that stopped, or was killed, is no longer
# shown.  Two domains A and B, one nats-server on 127.0.0.1 (its port
# chosen by itself, read from its log).
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
mkdir -p "$work/tree" "$work/other" "$work/nats"

# wait_for FILE TEXT: up to 30 s for FILE to hold TEXT
wait_for() {
	i=0
	while ! grep -q -- "$2" "$1" 2>/dev/null; do
		i=$((i + 1))
		[ $i -gt 300 ] && { echo "timed out waiting for '$2' in $1"; cat "$1" 2>/dev/null; return 1; }
		sleep 0.1
	done
}

# ps_until DOMAIN OUT REGEX [-j]: up to 30 s for ps's output to match
# REGEX (extended), the output in OUT
ps_until() {
	i=0
	while :; do
		"$shim" ps -d "$1" ${4:-} >"$2" 2>&1
		grep -Eq -- "$3" "$2" && return 0
		i=$((i + 1))
		[ $i -gt 300 ] && { echo "FAIL: ps never showed /$3/:"; cat "$2"; return 1; }
		sleep 0.1
	done
}

env -u LD_PRELOAD "$nats" -a 127.0.0.1 -p -1 -js -sd "$work/nats" -l "$work/nats.log" &
pids="$pids $!"
wait_for "$work/nats.log" "Server is ready" || exit 1
port=$(sed -n 's/.*client connections on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/nats.log" | head -n 1)
url=nats://127.0.0.1:$port

: >"$work/bA"
: >"$work/bB"
"$shim" bridge -s "$url" -r "$work/tree=proj" --host A -d "$work/domA" 2>"$work/bA" &
bridgeA=$!
"$shim" bridge -s "$url" -r "$work/tree=proj" -r "$work/other=misc" --host B \
	-d "$work/domB" 2>"$work/bB" &
bridgeB=$!
pids="$pids $bridgeA $bridgeB"
wait_for "$work/bA" "bridging 1 root" || exit 1
wait_for "$work/bB" "bridging 2 roots" || exit 1

fail=0
# B before any event: connected, both roots, nothing delivered yet (lag -)
ps_until "$work/domB" "$work/ps" "^bridge pid $bridgeB host B server $url connected" || fail=1
grep -Eq "^  proj +0 +- +$work/tree\$" "$work/ps" || { echo "FAIL: no root proj, lag 0 and -, in:"; cat "$work/ps"; fail=1; }
grep -Eq "^  misc +0 +- +$work/other\$" "$work/ps" || { echo "FAIL: no root misc in:"; cat "$work/ps"; fail=1; }
grep -q "host A" "$work/ps" && { echo "FAIL: B's ps shows A's bridge"; fail=1; }

# A writes under the root; B delivers: its lag in ms becomes a number, and
# nothing is left behind (0 events)
(cd "$work/tree" && INOTIFY_SHIM_DOMAIN=$work/domA "$shim" run -- sh -c 'for i in 1 2 3 4 5; do touch f$i; done')
ps_until "$work/domB" "$work/ps" "^  proj +0 +[0-9]+ +$work/tree\$" || fail=1
grep -Eq "delivered [1-9][0-9]*," "$work/ps" || { echo "FAIL: B delivered nothing:"; cat "$work/ps"; fail=1; }
ps_until "$work/domA" "$work/psA" "published [1-9][0-9]* \(failed 0\)" || fail=1

# the same as JSON
ps_until "$work/domB" "$work/json" "^\{\"pid\":$bridgeB,\"host\":\"B\",\"servers\":\"$url\",\"connected\":true," -j || fail=1
grep -Eq "\{\"name\":\"proj\",\"path\":\"$work/tree\",\"lag_events\":0,\"lag_ms\":[0-9]+\}" "$work/json" ||
	{ echo "FAIL: no root proj in the JSON:"; cat "$work/json"; fail=1; }
grep -Eq "\{\"name\":\"misc\",\"path\":\"$work/other\",\"lag_events\":0,\"lag_ms\":null\}" "$work/json" ||
	{ echo "FAIL: no root misc in the JSON:"; cat "$work/json"; fail=1; }
if command -v python3 >/dev/null && ! python3 -m json.tool "$work/json" >/dev/null; then
	echo "FAIL: ps -j is not JSON:"; cat "$work/json"; fail=1
fi

# stopped (its file removed) and killed (its file left, its pid dead): gone
kill "$bridgeB"
wait "$bridgeB" 2>/dev/null
kill -9 "$bridgeA"
wait "$bridgeA" 2>/dev/null
"$shim" ps -d "$work/domB" >"$work/ps" 2>&1
"$shim" ps -d "$work/domA" >"$work/psA" 2>&1
if grep -q "^bridge" "$work/ps" "$work/psA"; then
	echo "FAIL: ps shows a bridge that is gone:"; cat "$work/ps" "$work/psA"; fail=1
fi
ls "$work/domB" | grep -q '^bridge\.' && { echo "FAIL: B's stopped bridge left its file"; fail=1; }
"$shim" ps -j -d "$work/domA" | grep -q '"bridges":\[\]}' || { echo "FAIL: JSON bridges not []"; fail=1; }
[ $fail = 0 ] && echo "ok: ps shows each bridge, its server, roots and lag; not once it is gone"
exit $fail
