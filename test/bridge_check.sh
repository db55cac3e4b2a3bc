#!/bin/sh
# bridge_check.sh - say plainly whether make check runs the bridge's tests
# against a real nats-server: skipped (77) when the command was built
# without libnats or when nats-server is not installed.  Also: the
# preloaded library does not depend on libnats.
builddir=${INOTIFY_SHIM_TEST_BUILDDIR:-.}
# the preloaded library never depends on libnats: only the command does
lib=$builddir/src/.libs/libinotify-shim.so
if command -v readelf >/dev/null && [ -f "$lib" ] && readelf -d "$lib" | grep -q 'NEEDED.*libnats'; then
	echo "FAIL: $lib depends on libnats"
	exit 1
fi
if [ ! -x "$builddir/test/bridge_transport" ]; then
	echo "inotify-shim was built without NATS (libnats): the bridge tests were skipped"
	exit 77
fi
for p in /usr/sbin/nats-server /usr/bin/nats-server /usr/local/bin/nats-server /usr/local/sbin/nats-server; do
	[ -x "$p" ] && { echo "nats-server found ($p): the bridge tests run"; exit 0; }
done
echo "nats-server is not installed: the bridge tests were skipped"
exit 77
