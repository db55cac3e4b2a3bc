#!/bin/sh
# bridge_names.sh - roots are matched by NAME, not by path: a tree bridged
# as "proj" on host A and as "other" on host B is two roots, and nothing
# of A's "proj" reaches B's watch of that tree, while a second tree,
# "common" on both, carries A's changes to B as usual.  A's writer (under
# the shim) changes the first tree, then the second; once B's watcher
# (the domain's instance; kernel inotify denied: test/run-test.sh) has
# read the second tree's last event, which A made after the first tree's,
# it must have read nothing of the first.
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
mkdir -p "$work/tree" "$work/tree2" "$work/nats"

# wait_for FILE TEXT: up to 30 s for FILE to hold TEXT
wait_for() {
	i=0
	while ! grep -q -- "$2" "$1" 2>/dev/null; do
		i=$((i + 1))
		[ $i -gt 300 ] && { echo "timed out waiting for '$2' in $1"; cat "$1" 2>/dev/null; return 1; }
		sleep 0.1
	done
}

env -u LD_PRELOAD "$nats" -a 127.0.0.1 -p -1 -js -sd "$work/nats" -l "$work/nats.log" &
pids="$pids $!"
wait_for "$work/nats.log" "Server is ready" || exit 1
port=$(sed -n 's/.*client connections on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/nats.log" | head -n 1)
url=nats://127.0.0.1:$port

"$shim" bridge -s "$url" -r "$work/tree=proj" -r "$work/tree2=common" --host A \
	-d "$work/domA" 2>"$work/bA" &
pids="$pids $!"
"$shim" bridge -s "$url" -r "$work/tree=other" -r "$work/tree2=common" --host B \
	-d "$work/domB" 2>"$work/bB" &
pids="$pids $!"
wait_for "$work/bA" "bridging 2 roots" || exit 1
wait_for "$work/bB" "bridging 2 roots" || exit 1
"$shim" watch -d "$work/domB" --format '%w|%e|%f' -e create,close_write \
	"$work/tree" "$work/tree2" >"$work/B" 2>"$work/B.err" &
pids="$pids $!"
wait_for "$work/B.err" "Watches established" || exit 1

(cd "$work" && INOTIFY_SHIM_DOMAIN=$work/domA "$shim" run -- \
	sh -c 'echo a > tree/not_crossing; echo b > tree2/crossing') || exit 1
wait_for "$work/B" "^$work/tree2|CLOSE_WRITE|crossing\$" || exit 1

fail=0
if grep -q "not_crossing" "$work/B"; then
	echo "FAIL: B's watch of its root \"other\" read A's \"proj\""; fail=1
fi
[ "$(grep -c "^$work/tree2|" "$work/B")" = 2 ] ||
	{ echo "FAIL: B did not read A's \"common\" once: CREATE and CLOSE_WRITE"; fail=1; }
[ $fail != 0 ] && { echo "B read:"; cat "$work/B"; }
[ $fail = 0 ] && echo "ok: a root of another name is another root; the one of the same name carries"
exit $fail
