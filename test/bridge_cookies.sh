#!/bin/sh
# bridge_cookies.sh - the cookies of moves injected from another host never
# equal the cookies of this domain's own moves: a watcher pairs
# IN_MOVED_FROM with IN_MOVED_TO by cookie, and both domains number their
# moves from the same small numbers.  Host A renames under the bridged
# root while host B renames in a directory of its own, 20 moves each,
# interleaved; B's watcher (inotify-shim watch: the domain's instance)
# must read 40 pairs, each cookie on exactly one IN_MOVED_FROM and one
# IN_MOVED_TO, the same name pairs as made, and no cookie of a remote pair
# equal to a local one.  (Without the remapping, cookies.h, the two sets
# overlap: the counters of two new domains advance alike.)
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
mkdir -p "$work/tree" "$work/local" "$work/nats"

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

for h in A B; do
	"$shim" bridge -s "$url" -r "$work/tree=proj" --host $h -d "$work/dom$h" 2>"$work/b$h" &
	pids="$pids $!"
	wait_for "$work/b$h" "bridging 1 root" || exit 1
done
"$shim" watch -d "$work/domB" --format '%w|%e|%c|%f' -e move "$work/tree" "$work/local" \
	>"$work/B" 2>"$work/B.err" &
pids="$pids $!"
wait_for "$work/B.err" "Watches established" || exit 1

# the same sequence on both: file r0/l0 moved to r1/l1, then r1 to r2 ...
touch "$work/tree/r0" "$work/local/l0"
i=0
while [ $i -lt 20 ]; do
	j=$((i + 1))
	(cd "$work/tree" && INOTIFY_SHIM_DOMAIN=$work/domA "$shim" run -- mv r$i r$j) || exit 1
	(cd "$work/local" && INOTIFY_SHIM_DOMAIN=$work/domB "$shim" run -- mv l$i l$j) || exit 1
	i=$j
done
wait_for "$work/B" "MOVED_TO|[0-9]*|r20\$" || exit 1
wait_for "$work/B" "MOVED_TO|[0-9]*|l20\$" || exit 1

# each line: DIR|EVENT|COOKIE|NAME; pairs: "COOKIE FROM-NAME TO-NAME"
pairs() {
	awk -F'|' -v d="$1" '$1 == d && $2 == "MOVED_FROM" { from[$3] = $4; n[$3]++ }
		$1 == d && $2 == "MOVED_TO" { to[$3] = $4; n[$3]++ }
		END { for (c in n) print c, n[c], from[c], to[c] }' "$work/B" | sort -n
}
pairs "$work/tree" >"$work/remote"
pairs "$work/local" >"$work/local.pairs"
fail=0
for side in remote:r local.pairs:l; do
	f=${side%%:*}
	p=${side#*:}
	if [ "$(wc -l <"$work/$f")" != 20 ]; then
		echo "FAIL: $f: not 20 cookies"; fail=1
	fi
	i=0
	while [ $i -lt 20 ]; do
		j=$((i + 1))
		grep -Eq "^[1-9][0-9]* 2 $p$i $p$j\$" "$work/$f" ||
			{ echo "FAIL: $f: no cookie pairing $p$i with $p$j alone"; fail=1; }
		i=$j
	done
done
common=$(cut -d' ' -f1 "$work/remote" "$work/local.pairs" | sort | uniq -d)
if [ -n "$common" ]; then
	echo "FAIL: remote moves carry local cookies: $common"
	fail=1
fi
if [ $fail != 0 ]; then
	echo "B read:"; cat "$work/B"
fi
[ $fail = 0 ] && echo "ok: 20 remote and 20 local moves, each its own cookie, paired"
exit $fail
