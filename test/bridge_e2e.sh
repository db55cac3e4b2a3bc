#!/bin/sh
# bridge_e2e.sh - two "hosts" through the bridge: domains A and B (two
# INOTIFY_SHIM_DOMAIN directories), each with its bridge, a shared tree
# reached by two paths (a bind mount in a private mount namespace made
# here), one nats-server with JetStream on 127.0.0.1 (its port chosen by
# itself, -p -1, read from its log).  A writer under the shim on A makes
# create, write, close, renames within and across directories, chmod,
# mkdir and rmdir, delete; a watcher under the shim on B (the kernel's
# inotify denied: test/run-test.sh) must read what this machine's kernel
# reported to a watcher on A for the same changes (bridge_e2e.out), and a
# watcher on A the same: nothing duplicated, nothing looped back.  The
# bridge on B must publish nothing (all it sees there is what it injected).
#
#   bridge_e2e.sh            compare (make check)
#   bridge_e2e.sh --record   rewrite bridge_e2e.out from the kernel (run it
#                            outside make check, without the shim)
set -u
srcdir=${INOTIFY_SHIM_TEST_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
builddir=${INOTIFY_SHIM_TEST_BUILDDIR:-.}
shim=$builddir/tools/inotify-shim
expected=$srcdir/test/bridge_e2e.out
events=create,modify,attrib,close_write,moved_from,moved_to,delete,delete_self,move_self

# the writer's changes, run in the tree
changes='echo hello > d1/f; echo more >> d1/f; mv d1/f d1/g; mv d1/g d2/g
	chmod 600 d2/g; mkdir e; rmdir e; rm d2/g; rmdir d3
	mv d1 d4; echo x > d4/h; mv d4/h d2/h; touch end'

# wait_for FILE TEXT: up to 30 s for FILE to hold TEXT
wait_for() {
	i=0
	while ! grep -q -- "$2" "$1" 2>/dev/null; do
		i=$((i + 1))
		[ $i -gt 300 ] && { echo "timed out waiting for '$2' in $1"; cat "$1" 2>/dev/null; return 1; }
		sleep 0.1
	done
}

# watch DIR OUT: inotifywait on the tree's directories (not recursive: the
# directories exist before, so nothing races a new watch)
watch() {
	inotifywait -m --format '%w|%e|%f' -e $events "$1" "$1/d1" "$1/d2" "$1/d3" >"$2" 2>"$2.err" &
	echo $!
}

normalise() { sed "s|^$1|R|" "$2"; }

if [ "${1:-}" = --record ]; then
	command -v inotifywait >/dev/null || { echo "no inotifywait"; exit 1; }
	work=$(mktemp -d) || exit 1
	trap 'rm -rf "$work"' EXIT
	mkdir -p "$work/tree/d1" "$work/tree/d2" "$work/tree/d3"
	w=$(watch "$work/tree" "$work/k")
	wait_for "$work/k.err" "Watches established" || exit 1
	(cd "$work/tree" && sh -c "$changes")
	wait_for "$work/k" "CLOSE_WRITE,CLOSE|end" || exit 1
	kill "$w"; wait "$w" 2>/dev/null
	normalise "$work/tree" "$work/k" >"$expected"
	echo "recorded $expected"
	exit 0
fi

nats=$(command -v nats-server || ls /usr/sbin/nats-server 2>/dev/null)
[ -x "$builddir/test/bridge_transport" ] || { echo "SKIP: built without libnats"; exit 77; }
[ -n "$nats" ] || { echo "SKIP: nats-server is not installed"; exit 77; }
command -v inotifywait >/dev/null || { echo "SKIP: no inotifywait"; exit 77; }
command -v unshare >/dev/null || { echo "SKIP: no unshare"; exit 77; }

# a private mount namespace for the bind mount: as root, or as the root of
# a new user namespace
if [ -z "${BRIDGE_E2E_INNER:-}" ]; then
	export BRIDGE_E2E_INNER=1
	if [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null; then
		exec unshare -m sh "$0" "$@"
	elif unshare -rm true 2>/dev/null; then
		exec unshare -rm sh "$0" "$@"
	fi
	echo "SKIP: no mount namespace can be made here"
	exit 77
fi

work=$(mktemp -d) || exit 99
pids=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	for p in $pids; do wait "$p" 2>/dev/null; done
	umount "$work/viewB" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/tree/d1" "$work/tree/d2" "$work/tree/d3" "$work/viewB" "$work/nats"
mount --bind "$work/tree" "$work/viewB" || { echo "SKIP: bind mount refused"; exit 77; }

env -u LD_PRELOAD "$nats" -a 127.0.0.1 -p -1 -js -sd "$work/nats" -l "$work/nats.log" &
pids="$pids $!"
wait_for "$work/nats.log" "Server is ready" || exit 1
port=$(sed -n 's/.*Listening for client connections on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/nats.log" | head -n 1)
[ -n "$port" ] || { echo "no port in the server's log"; cat "$work/nats.log"; exit 1; }
url=nats://127.0.0.1:$port

"$shim" bridge -s "$url" -r "$work/tree=proj" --host A -d "$work/domA" -v 2>"$work/bA" &
pids="$pids $!"
"$shim" bridge -s "$url" -r "$work/viewB=proj" --host B -d "$work/domB" -v 2>"$work/bB" &
pids="$pids $!"
wait_for "$work/bA" "bridging 1 root" || exit 1
wait_for "$work/bB" "bridging 1 root" || exit 1

# the watchers, under the shim: on B, and on A for loops
for side in B:viewB:domB A:tree:domA; do
	IFS=: read -r out dir dom <<-EOT
	$side
	EOT
	INOTIFY_SHIM_DOMAIN=$work/$dom "$shim" run -- inotifywait -m --format '%w|%e|%f' \
		-e $events "$work/$dir" "$work/$dir/d1" "$work/$dir/d2" "$work/$dir/d3" \
		>"$work/$out" 2>"$work/$out.err" &
	pids="$pids $!"
done
wait_for "$work/B.err" "Watches established" || exit 1
wait_for "$work/A.err" "Watches established" || exit 1

(cd "$work/tree" && INOTIFY_SHIM_DOMAIN=$work/domA "$shim" run -- sh -c "$changes") || exit 1
wait_for "$work/B" "CLOSE_WRITE,CLOSE|end" || { cat "$work/bA" "$work/bB"; exit 1; }
wait_for "$work/A" "CLOSE_WRITE,CLOSE|end" || exit 1

fail=0
normalise "$work/viewB" "$work/B" >"$work/B.norm"
normalise "$work/tree" "$work/A" >"$work/A.norm"
if ! diff -u "$expected" "$work/B.norm"; then
	echo "FAIL: the watcher on B did not read what the kernel reported on A"
	fail=1
fi
if ! diff -u "$expected" "$work/A.norm"; then
	echo "FAIL: the watcher on A did not read the kernel's events once each"
	fail=1
fi
if grep -q '^publish' "$work/bB"; then
	echo "FAIL: the bridge on B published (a loop):"
	grep '^publish' "$work/bB"
	fail=1
fi
if grep -q '^deliver' "$work/bA"; then
	echo "FAIL: the bridge on A was delivered its own events back:"
	grep '^deliver' "$work/bA"
	fail=1
fi
[ $fail = 0 ] && echo "ok: B read the kernel's $(wc -l <"$expected") events, A once each, no loop"
exit $fail
