#!/bin/sh
# exports.sh - the library exports nothing but the interposed libc names
# and its public API: every exported name that starts with inotify_ is one
# of the four inotify calls or a function that include/inotify-shim.h
# declares, each of those functions is exported (hooks_table.sh checks the
# rest against hooks.table), and debian/libinotify-shim0.symbols lists
# exactly the exported names.  A test-only export would break the first
# rule: tests reach hidden state through test/internals.c.  Run by make
# check under test/run-test.sh, or alone from the build directory.
set -u
builddir=${INOTIFY_SHIM_TEST_BUILDDIR:-.}
srcdir=${INOTIFY_SHIM_TEST_SRCDIR:-$(dirname "$0")/..}
lib=${INOTIFY_SHIM_TEST_LIB:-$builddir/src/.libs/libinotify-shim.so}
header=$srcdir/include/inotify-shim.h
symbols=$srcdir/debian/libinotify-shim0.symbols
command -v nm >/dev/null 2>&1 || { echo "no nm: skipped"; exit 77; }
[ -s "$lib" ] || { echo "no $lib" >&2; exit 1; }
[ -s "$header" ] || { echo "no $header" >&2; exit 1; }
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
failed=0

LD_PRELOAD= nm -D --defined-only "$lib" | awk '{ print $3 }' | sort -u >"$tmp/exported"
grep '^inotify_' "$tmp/exported" >"$tmp/ours"
# the API: the inotify calls, and the functions the header declares (its
# comments left out: a comment may name anything)
{
	printf '%s\n' inotify_init inotify_init1 inotify_add_watch inotify_rm_watch
	perl -0777 -pe 's{/\*.*?\*/}{}gs; s{//[^\n]*}{}g' "$header" |
		grep -oE '(^|[^A-Za-z0-9_])inotify_shim_[a-z0-9_]+[[:space:]]*\(' |
		sed 's/^[^i]*//; s/[[:space:]]*($//'
} | sort -u >"$tmp/api"
[ "$(wc -l <"$tmp/api")" -gt 8 ] || { echo "too few functions in $header" >&2; exit 1; }
extra=$(comm -23 "$tmp/ours" "$tmp/api" | tr '\n' ' ')
missing=$(comm -13 "$tmp/ours" "$tmp/api" | tr '\n' ' ')
[ -z "$extra" ] || { echo "exported, not the API of inotify-shim.h: $extra"; failed=1; }
[ -z "$missing" ] || { echo "in inotify-shim.h, not exported: $missing"; failed=1; }

# the package's list, where the tree has one
if [ -f "$symbols" ]; then
	sed -n 's/^ \([^@ ]*\)@Base .*/\1/p' "$symbols" | sort -u >"$tmp/listed"
	gone=$(comm -13 "$tmp/exported" "$tmp/listed" | tr '\n' ' ')
	new=$(comm -23 "$tmp/exported" "$tmp/listed" | tr '\n' ' ')
	[ -z "$gone" ] || { echo "in debian/libinotify-shim0.symbols, not exported: $gone"; failed=1; }
	[ -z "$new" ] || { echo "exported, not in debian/libinotify-shim0.symbols: $new"; failed=1; }
fi
[ "$failed" -eq 0 ] && echo "ok: $(wc -l <"$tmp/exported") names exported, $(wc -l <"$tmp/ours") of them the API"
exit "$failed"
