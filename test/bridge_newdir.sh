#!/bin/sh
# bridge_newdir.sh - a file made in a directory made a moment before
# ("mkdir d && touch d/f") is published, once: the bridge watches a new
# directory only once it has read its IN_CREATE, so what was made in it
# before no watch of the bridge saw; the bridge then announces the
# entries it finds (tap.c, add_tree) and does not publish again the
# IN_CREATE its new watch may also report.  Checked on both bridges'
# logs (-v): A publishes each d$i/f's IN_CREATE once, B delivers it once.
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

env -u LD_PRELOAD "$nats" -a 127.0.0.1 -p -1 -js -sd "$work/nats" -l "$work/nats.log" &
pids="$pids $!"
wait_for "$work/nats.log" "Server is ready" || exit 1
port=$(sed -n 's/.*client connections on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/nats.log" | head -n 1)
for h in A B; do
	"$shim" bridge -s "nats://127.0.0.1:$port" -r "$work/tree=proj" --host $h \
		-d "$work/dom$h" -v 2>"$work/b$h" &
	pids="$pids $!"
	wait_for "$work/b$h" "bridging 1 root" || exit 1
done

n=10
(cd "$work/tree" && INOTIFY_SHIM_DOMAIN=$work/domA "$shim" run -- sh -c \
	"i=1; while [ \$i -le $n ]; do mkdir d\$i && touch d\$i/f && i=\$((i + 1)); done; touch end") || exit 1
wait_for "$work/bB" "deliver proj: IN_CREATE 0 end" || exit 1
fail=0
i=1
while [ $i -le $n ]; do
	for side in "A publish" "B deliver"; do
		c=$(grep -c "^${side#* } proj:d$i IN_CREATE 0 f\( \|\$\)" "$work/b${side%% *}")
		[ "$c" = 1 ] || { echo "FAIL: ${side%% *}: d$i/f's IN_CREATE ${side#* }ed $c times"; fail=1; }
	done
	i=$((i + 1))
done
dups=$(grep '^publish' "$work/bA" | sort | uniq -d | grep -v 'IN_OPEN\|IN_CLOSE\|IN_ATTRIB\|IN_MODIFY')
[ -n "$dups" ] && { echo "FAIL: published twice: $dups"; fail=1; }
[ $fail != 0 ] && cat "$work/bA"
[ $fail = 0 ] && echo "ok: $n files made in new directories published and delivered once each"
exit $fail
