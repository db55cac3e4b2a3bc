#!/usr/bin/env bash
# completion.sh - the bash completion (tools/inotify-shim.bash-completion)
# completes the commands, each command's options, the values of --mode, and
# the event names of watch -e, in the forms bash splits them into; and it
# offers what the command itself knows: the commands of `inotify-shim
# --help`, the long options of each `inotify-shim CMD --help`, and the
# events of `watch --help`.  Run by make check under test/run-test.sh.
set -u
srcdir=${INOTIFY_SHIM_TEST_SRCDIR:-$(dirname "$0")/..}
builddir=${INOTIFY_SHIM_TEST_BUILDDIR:-.}
shim=$builddir/tools/inotify-shim
# shellcheck source=../tools/inotify-shim.bash-completion
. "$srcdir/tools/inotify-shim.bash-completion" || exit 1
failed=0

# expect "WORD WORD ..." "EXPECTED REPLIES": complete the last word (as
# bash would have split the line: "=" is a word of its own) and compare
# the sorted replies
expect() {
	local line=$1 want=$2 got
	read -r -a COMP_WORDS <<<"$line"
	[[ $line == *" " ]] && COMP_WORDS+=("")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	_inotify_shim
	got=$(printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ')
	# shellcheck disable=SC2086
	want=$(printf '%s\n' $want | sort | tr '\n' ' ')
	if [[ $got == "$want" ]]; then
		echo "ok: '$line' -> $got"
	else
		echo "FAIL: '$line': got '$got', want '$want'"
		failed=1
	fi
}

# the commands and the top-level options
expect "inotify-shim " "run ps watch gc scan bridge relay"
expect "inotify-shim w" "watch"
expect "inotify-shim --" "--help --version"
# each command's options
expect "inotify-shim ps -" "-w --watches -j --json -d --domain= -h --help -V --version"
expect "inotify-shim gc --" "--domain= --help --version"
expect "inotify-shim watch --c" "--count="
expect "inotify-shim run --max-" "--max-queued-events= --max-user-watches= --max-user-instances="
# the event names of watch -e: a name, the last of a list, any case
expect "inotify-shim watch -e cr" "create"
expect "inotify-shim watch -e close_" "close_write close_nowrite"
expect "inotify-shim watch -r -e create,mo" \
	"create,modify create,moved_from create,moved_to create,move create,move_self"
expect "inotify-shim watch -e create,DEL" "create,delete create,delete_self"
# --event=LIST as bash splits it ("--event" "=" "LIST"), and as one word
expect "inotify-shim watch --event = att" "attrib"
expect "inotify-shim watch --event = " \
	"access modify attrib close_write close_nowrite close open moved_from moved_to move create delete delete_self move_self all"
expect "inotify-shim watch --event=acc" "--event=access"
# the values of run --mode, and no options after run's CMD
expect "inotify-shim run --mode = " "emulate auto"
expect "inotify-shim run --mode auto --debug -" \
	"-d --domain= --max-queued-events= --max-user-watches= --max-user-instances= --mode= --debug --scan --scan= -h --help -V --version --"
expect "inotify-shim run -d /tmp -- sh -" ""
expect "inotify-shim watch -c 3 " ""

# CMD after run -- and after run's options: command names
COMP_WORDS=(inotify-shim run --mode=auto -- bas)
COMP_CWORD=4
_inotify_shim
if printf '%s\n' "${COMPREPLY[@]}" | grep -qx bash; then
	echo "ok: 'inotify-shim run --mode=auto -- bas' offers bash"
else
	echo "FAIL: 'inotify-shim run --mode=auto -- bas' does not offer bash: ${COMPREPLY[*]}"
	failed=1
fi

# what the command knows, the completion knows
if [[ -x $shim ]]; then
	want=$("$shim" --help | sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z]*\) .*/\1/p' | tr '\n' ' ')
	expect "inotify-shim " "$want"
	for cmd in run ps watch gc scan bridge relay; do
		want=$("$shim" "$cmd" --help | grep -o -- '--[a-z][a-z-]*' | sort -u | tr '\n' ' ')
		read -r -a COMP_WORDS <<<"inotify-shim $cmd --"
		COMP_CWORD=2
		_inotify_shim
		got=$(printf '%s\n' "${COMPREPLY[@]}" | sed -n 's/=$//; /^--./p' | sort -u | tr '\n' ' ')
		if [[ $got == "$want" ]]; then
			echo "ok: the long options of $cmd --help: $got"
		else
			echo "FAIL: $cmd --help has '$want', the completion '$got'"
			failed=1
		fi
	done
	# watch --help: "-e, --event=LIST      the events, comma-separated: a, b,
	# ... all (the default)"
	want=$("$shim" watch --help | sed -n '/--event=LIST/,/(the default)/p' |
		sed 's/.*comma-separated://; s/(the default).*//' | tr -s ' ,' '\n' |
		grep -x '[a-z_]*' | tr '\n' ' ')
	[[ -n $want ]] || { echo "FAIL: no events found in watch --help"; failed=1; }
	expect "inotify-shim watch -e " "$want"
	# and every name is one that watch -e takes (it checks the list
	# before it shows the help)
	"$shim" watch -e no_such_event --help >/dev/null 2>&1 &&
		{ echo "FAIL: watch -e takes any name: the check below proves nothing"; failed=1; }
	# shellcheck disable=SC2154
	for e in $_inotify_shim_events; do
		"$shim" watch -e "$e" --help >/dev/null 2>&1 ||
			{ echo "FAIL: watch -e $e is refused"; failed=1; }
	done
else
	echo "FAIL: no $shim"
	failed=1
fi
exit $failed
