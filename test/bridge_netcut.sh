#!/bin/sh
# bridge_netcut.sh - the network to the server cut, then back: the
# watches of the host that lost it get IN_Q_OVERFLOW (events were lost),
# then events again once the network returns; the other host's watches,
# whose bridge kept its server, get no overflow.  Nothing is read twice.
#
# The networks are namespaces this test makes (as root, or as the root of
# a new user namespace; skipped where neither can be made): the test's own
# (unshare -n: its loopback and one end of a veth pair, nothing else),
# where nats-server and host A's bridge run, and host B's (a second
# namespace, the veth pair's other end), where B's bridge runs.  The
# server listens on the test's namespace alone (0.0.0.0 there is its
# loopback and its end of the veth: no interface of the machine), A's
# bridge reaches it on 127.0.0.1, B's through the veth.  The cut: the
# veth's link set down on the server's side, so that B's packets vanish
# (no reset: B's client learns it from its unanswered pings), then up.
set -u
builddir=${INOTIFY_SHIM_TEST_BUILDDIR:-.}
shim=$builddir/tools/inotify-shim
nats=$(command -v nats-server || ls /usr/sbin/nats-server 2>/dev/null)
[ -x "$builddir/test/bridge_transport" ] || { echo "SKIP: built without libnats"; exit 77; }
[ -n "$nats" ] || { echo "SKIP: nats-server is not installed"; exit 77; }
for c in unshare nsenter ip; do
	command -v $c >/dev/null || { echo "SKIP: no $c"; exit 77; }
done

if [ -z "${BRIDGE_NETCUT_INNER:-}" ]; then
	export BRIDGE_NETCUT_INNER=1
	if [ "$(id -u)" = 0 ] && unshare -n true 2>/dev/null; then
		exec unshare -n sh "$0" "$@"
	elif unshare -rn true 2>/dev/null; then
		exec unshare -rn sh "$0" "$@"
	fi
	echo "SKIP: no network namespace can be made here"
	exit 77
fi

work=$(mktemp -d) || exit 99
pids=
holder=
cleanup() {
	for p in $pids $holder; do kill "$p" 2>/dev/null; done
	for p in $pids $holder; do wait "$p" 2>/dev/null; done
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

# B's network: a namespace held by a process of this test
ip link set lo up || { echo "SKIP: cannot bring up the namespace's loopback"; exit 77; }
unshare -n sleep 3600 &
holder=$!
i=0
until [ "$(readlink /proc/$holder/ns/net)" != "$(readlink /proc/self/ns/net)" ]; do
	i=$((i + 1))
	[ $i -gt 300 ] && { echo "B's namespace never came"; exit 1; }
	sleep 0.1
done
ip link add ishimS type veth peer name ishimB 2>/dev/null ||
	{ echo "SKIP: no veth pair can be made here"; exit 77; }
ip link set ishimB netns "$holder" || exit 1
ip addr add 10.231.0.1/30 dev ishimS && ip link set ishimS up || exit 1
nsenter -t "$holder" -n sh -c 'ip link set lo up && ip addr add 10.231.0.2/30 dev ishimB &&
	ip link set ishimB up' || exit 1

env -u LD_PRELOAD "$nats" -a 0.0.0.0 -p -1 -js -sd "$work/nats" -l "$work/nats.log" &
pids="$pids $!"
wait_for "$work/nats.log" "Server is ready" || exit 1
port=$(sed -n 's/.*client connections on 0\.0\.0\.0:\([0-9]*\).*/\1/p' "$work/nats.log" | head -n 1)
[ -n "$port" ] || { echo "no port in the server's log"; cat "$work/nats.log"; exit 1; }

: >"$work/bA"
: >"$work/bB"
"$shim" bridge -s "nats://127.0.0.1:$port" -r "$work/tree=proj" --host A -d "$work/domA" -v 2>"$work/bA" &
pids="$pids $!"
nsenter -t "$holder" -n "$shim" bridge -s "nats://10.231.0.1:$port" -r "$work/tree=proj" \
	--host B -d "$work/domB" -v 2>"$work/bB" &
pids="$pids $!"
wait_for "$work/bA" "bridging 1 root" || exit 1
wait_for "$work/bB" "bridging 1 root" || exit 1
for h in A B; do
	"$shim" watch -d "$work/dom$h" --format '%w|%e|%f' -e create "$work/tree" \
		>"$work/$h" 2>"$work/$h.err" &
	pids="$pids $!"
	wait_for "$work/$h.err" "Watches established" || exit 1
done

# on_a CMD: run CMD in the tree under the shim on A
on_a() { (cd "$work/tree" && INOTIFY_SHIM_DOMAIN=$work/domA "$shim" run -- sh -c "$1"); }

# until_seen PREFIX: make PREFIX-1, PREFIX-2 ... on A until B reads one
# (B's bridge resubscribes once reconnected: events before that are lost,
# and said to be)
until_seen() {
	n=0
	while ! grep -q "|CREATE|$1-" "$work/B"; do
		n=$((n + 1))
		[ $n -gt 150 ] && { echo "B never read $1-N"; cat "$work/B" "$work/bB"; return 1; }
		on_a "touch $1-$n"
		sleep 0.2
	done
}

fail=0
until_seen before || exit 1
grep -q Q_OVERFLOW "$work/B" && { echo "FAIL: an overflow before the cut"; fail=1; }

# the cut: B's packets to the server vanish
ip link set ishimS down || exit 1
i=0
until "$shim" ps -d "$work/domB" | grep -q "^bridge .* DISCONNECTED"; do
	i=$((i + 1))
	[ $i -gt 300 ] && { echo "FAIL: B's bridge never saw the cut"; cat "$work/bB"; exit 1; }
	on_a "touch during-$i"
	sleep 0.1
done
wait_for "$work/B" "Q_OVERFLOW" || { echo "FAIL: no IN_Q_OVERFLOW on B after the cut"; fail=1; }
on_a "touch cut-1 cut-2"

# the network back: events again
ip link set ishimS up || exit 1
until_seen after || fail=1
i=0
until "$shim" ps -d "$work/domB" | grep -q "^bridge .* connected"; do
	i=$((i + 1))
	[ $i -gt 300 ] && { echo "FAIL: B's bridge never said it was connected again"; fail=1; break; }
	sleep 0.1
done

if grep -q Q_OVERFLOW "$work/A"; then
	echo "FAIL: A's watcher, whose bridge kept its server, read IN_Q_OVERFLOW"
	fail=1
fi
grep -q "|CREATE|after-" "$work/A" || { echo "FAIL: A's watcher missed its own events"; fail=1; }
dups=$(grep -v Q_OVERFLOW "$work/B" | sort | uniq -d)
[ -n "$dups" ] && { echo "FAIL: read twice on B: $dups"; fail=1; }
echo "B read:"
cat "$work/B"
[ $fail = 0 ] && echo "ok: the cut gave B's watch IN_Q_OVERFLOW, events came again after it, A's none"
exit $fail
