#!/bin/sh
# writers.sh - real writers are seen: each test/writers/NAME.scn runs real
# programs (bash, coreutils, sed, tar, python3, node, gcc) in the scenario
# language, replayed by the project's runner (test/scenario/runner);
# NAME.out is what this machine's kernel reported for it, printed by the
# same runner.  Run by make check under test/run-test.sh, so the kernel's
# inotify is denied and the shim answers; every scenario must print the
# kernel's text.  Names that the programs choose at random (sed's and ln's
# temporary files) are replaced by their pattern before comparing.
#
#   writers.sh            compare (make check)
#   writers.sh --record   rewrite the .out files from the kernel (run it
#                         outside make check, without the shim, from the
#                         source tree with INOTIFY_SHIM_TEST_BUILDDIR=build)
# A scenario whose first line starts "# known difference:" is reported but
# not counted: the README's Known differences say why.
set -u
srcdir=${INOTIFY_SHIM_TEST_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
builddir=${INOTIFY_SHIM_TEST_BUILDDIR:-.}
runner="$builddir/test/scenario/runner"
record=0
[ "${1:-}" = --record ] && record=1
[ -x "$runner" ] || { echo "no $runner"; exit 99; }
for tool in bash python3; do
	command -v $tool >/dev/null || { echo "SKIP: no $tool"; exit 77; }
done

normalise() {
	sed -E 's/name="sed[A-Za-z0-9]{6}"/name="sedXXXXXX"/; s/name="Cu[A-Za-z0-9]{6}"/name="CuXXXXXX"/'
}

work=$(mktemp -d) || exit 99
trap 'rm -rf "$work"' EXIT
fail=0 pass=0
for scn in "$srcdir"/test/writers/*.scn; do
	name=$(basename "$scn" .scn)
	first=$(head -n 1 "$scn")
	case $first in
	"# needs "*)
		command -v "${first#\# needs }" >/dev/null || { echo "SKIP $name"; continue; } ;;
	esac
	if [ -n "${INOTIFY_SHIM_TEST_SANITIZED:-}" ] &&
		grep -q '^# not under sanitizers:' "$scn"; then
		echo "SKIP $name (not under sanitizers)"
		continue
	fi
	if [ $record = 1 ]; then
		timeout 120 "$runner" "$scn" 2>&1 | normalise >"${scn%.scn}.out"
		echo "recorded $name"
		continue
	fi
	timeout 120 "$runner" -n "$scn" 2>&1 | normalise >"$work/$name.shim"
	if cmp -s "${scn%.scn}.out" "$work/$name.shim"; then
		pass=$((pass + 1))
		echo "PASS $name"
	elif [ "${first#\# known difference:}" != "$first" ]; then
		echo "KNOWN $name"
	else
		fail=$((fail + 1))
		echo "FAIL $name"
		diff -u --label kernel --label shim "${scn%.scn}.out" "$work/$name.shim" | sed 's/^/    /'
	fi
done
echo "$pass passed, $fail failed"
[ $fail = 0 ]
