#!/bin/sh
# errors.sh - the scenario runner refuses a scenario it cannot read, whole:
# exit status 2, the file and line on stderr, and not one step run (the
# first line of each scenario below would make a directory that must not
# appear).  A typo must never be taken for a difference between two
# inotify implementations.
set -u
builddir=${INOTIFY_SHIM_TEST_BUILDDIR:-.}
runner="$builddir/test/scenario/runner"
[ -x "$runner" ] || { echo "no $runner"; exit 99; }
work=$(mktemp -d) || exit 99
trap 'rm -rf "$work"' EXIT
fail=0

# refused LINES MESSAGE [N]: a scenario whose second line is LINES is
# refused with MESSAGE for its line N (2), before its first line ran
refused() {
	printf 'mkdir %s/ran\n%b\n' "$work" "$1" > "$work/s.scn"
	"$runner" "$work/s.scn" > "$work/out" 2> "$work/err"
	status=$?
	if [ $status != 2 ] || [ -e "$work/ran" ] || [ -s "$work/out" ] ||
		! grep -qF "$work/s.scn:${3:-2}: $2" "$work/err"; then
		echo "FAIL: '$1': status $status, stderr: $(cat "$work/err")"
		fail=1
	else
		echo "PASS: '$1'"
	fi
	rm -rf "$work/ran"
}

refused 'frob a' 'no such operation: frob'
refused 'watch w d' 'too few arguments: watch'
refused 'rm a b' 'too many arguments: b'
refused 'watch w d IN_CREAT' 'not a valid argument: IN_CREAT'
refused 'chmod 9 a' 'not a valid argument: 9'
refused 'open f a rdonly|bogus' 'not a valid argument: rdonly|bogus'
refused 'read many' 'not a valid argument: many'
refused 'init J nonblock sometimes' 'not an init flag: sometimes'
refused 'watch @ w d IN_CREATE' "an instance's label is missing after @"
refused 'repeat some touch a' 'repeat wants a count: some'
refused 'repeat 3' 'repeat wants an operation'
refused 'end' 'end without spawn'
refused 'spawn\nspawn' 'spawn inside spawn' 3
refused 'spawn\ntouch a' 'spawn without end'
refused 'spawn now' 'nothing may follow spawn or end'

# the whole of a good one runs
printf 'mkdir %s/ran\n' "$work" > "$work/s.scn"
if "$runner" "$work/s.scn" > "$work/out" 2>&1 && [ -d "$work/ran" ]; then
	echo "PASS: a scenario without mistakes runs"
else
	echo "FAIL: a scenario without mistakes: $(cat "$work/out")"
	fail=1
fi
exit $fail
