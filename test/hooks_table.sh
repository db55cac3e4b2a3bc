#!/bin/sh
# hooks_table.sh - src/hooks/hooks.table is the single source of what the
# library interposes: the names gen-hooks.awk read from it
# (build/src/hooks-names.txt) are exactly the library's dynamic symbols but
# its own API (inotify_*) and the dlsym family (hooks/dl.c); and every name
# says which errnos it may set, "none" only for a call that returns nothing.
# Run by make check under test/run-test.sh.
set -u
builddir=${INOTIFY_SHIM_TEST_BUILDDIR:-.}
lib=${INOTIFY_SHIM_TEST_LIB:-$builddir/src/.libs/libinotify-shim.so}
names=$builddir/src/hooks-names.txt
command -v nm >/dev/null 2>&1 || { echo "no nm: skipped"; exit 77; }
[ -s "$names" ] || { echo "no $names" >&2; exit 1; }
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
failed=0

LD_PRELOAD= nm -D --defined-only "$lib" | awk '{ print $3 }' |
	grep -v -e '^inotify_' -e '^dlsym$' -e '^dlvsym$' | sort >"$tmp/exported"
cut -f1 "$names" | sort >"$tmp/table"
[ "$(wc -l <"$tmp/table")" -gt 150 ] || { echo "too few names in $names" >&2; exit 1; }
if [ -n "$(sort "$tmp/table" | uniq -d)" ]; then
	echo "names twice in the table: $(sort "$tmp/table" | uniq -d | tr '\n' ' ')"
	failed=1
fi
missing=$(comm -23 "$tmp/table" "$tmp/exported" | tr '\n' ' ')
extra=$(comm -13 "$tmp/table" "$tmp/exported" | tr '\n' ' ')
[ -z "$missing" ] || { echo "in hooks.table, not exported: $missing"; failed=1; }
[ -z "$extra" ] || { echo "exported, not in hooks.table: $extra"; failed=1; }

# every line: an errno list; errno names only; "none" only for void
bad=$(awk -F '\t' '
	NF != 3 || $3 == "" { print $1 ": no errno list"; next }
	$3 == "none" && $2 != "void" { print $1 ": returns " $2 " but sets no errno"; next }
	$3 != "none" && $3 !~ /^E[A-Z0-9]+(,E[A-Z0-9]+)*$/ { print $1 ": " $3 }
' "$names")
[ -z "$bad" ] || { echo "$bad"; failed=1; }
# the list names errnos that exist
cat >"$tmp/e.c" <<'EOC'
#include <errno.h>
EOC
for e in $(cut -f3 "$names" | tr ',' '\n' | grep -v '^none$' | sort -u); do
	echo "int v_$e = $e;" >>"$tmp/e.c"
done
if ! ${CC:-cc} -c -o "$tmp/e.o" "$tmp/e.c" 2>"$tmp/cc.log"; then
	echo "an errno of hooks.table is not <errno.h>'s:"; cat "$tmp/cc.log"; failed=1
fi
[ "$failed" -eq 0 ] && echo "ok: $(wc -l <"$tmp/table") names, each exported, each with its errnos"
exit "$failed"
