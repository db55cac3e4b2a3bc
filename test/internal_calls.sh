#!/usr/bin/env bash
# internal_calls.sh - the library's own code never calls an interposed
# name (issue 14, item 5): it calls the real functions (util/real.h,
# real_NAME(); shim_next_symbol() for dlsym), so that its own file
# operations make no events and never re-enter a hook.
#
# How, and why this way: a static check, with no cost at run time and
# exact for every path, taken or not.  The library is built with
# -fvisibility=hidden, so the only names it exports are the hooks and the
# public calls (SHIM_EXPORT, the dlsym stubs): `nm -D --defined-only` of
# libinotify-shim.so lists them.  Any use of one of those names inside the
# library, a call or an address taken, is a relocation against that name in
# one of the library's objects (`objdump -dr`: a call is R_X86_64_PLT32
# against the name, through the PLT, so that the program or a library
# before the shim would get it too; an address in a table is a relocation
# in a data section).  Every such relocation is reported
# with the function that holds it, and fails the test unless it is one of
# the forwards below: an exported function that passes the program's call
# on, unchanged, to the exported function of the same call.
#
# Allowed forwards (CALLER CALLEE, a glob in CALLER's place only where one
# wrapper routes to many):
#   syscall *                   syscall(SYS_open, ...) is the program's
#                               open: syscall.c routes the numbers to the
#                               hooks of the same meaning, by design
#   inotify_init inotify_init1, inotify_init1 inotify_shim_init1,
#   inotify_add_watch inotify_shim_add_watch,
#   inotify_rm_watch inotify_shim_rm_watch
#                               the inotify calls are the public calls of
#                               include/inotify-shim.h with the kernel's
#                               signature
# Everything else (a helper, a constructor, a wrapper calling another hook
# for its own purposes, the resolver calling dlsym) fails.
#
# Run by make check under test/run-test.sh; the tools run without the
# shim preloaded (they need none).  Skipped (77) where objdump or nm are
# missing, or the objects are not those of x86_64 (the relocation names
# are).
set -u
builddir=${INOTIFY_SHIM_TEST_BUILDDIR:-.}
lib=${INTERNAL_CALLS_LIB:-$builddir/src/.libs/libinotify-shim.so}
objdir=${INTERNAL_CALLS_OBJDIR:-$builddir/src}
unset LD_PRELOAD

for t in nm objdump; do
	command -v $t >/dev/null || { echo "skip: no $t"; exit 77; }
done
[ -f "$lib" ] || { echo "FAIL: no $lib"; exit 1; }
mapfile -t objs < <(find "$objdir" -path '*/.libs/*.o' -name 'lib*inotify_shim_la-*.o' -o \
	-path '*/.libs/*.o' -name 'libshim_core_la-*.o' | sort)
[ ${#objs[@]} -gt 10 ] || { echo "FAIL: the library's objects not found under $objdir"; exit 1; }
case $(objdump -f "${objs[0]}") in
*x86-64*) ;;
*) echo "skip: not x86_64 objects"; exit 77 ;;
esac

exported=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TtWwi]$/ { print $3 }' | sort -u)
[ "$(wc -l <<<"$exported")" -gt 100 ] || { echo "FAIL: too few exported names in $lib"; exit 1; }

allowed() {	# CALLER CALLEE
	case "$1 $2" in
	"syscall "*) return 0 ;;
	"inotify_init inotify_init1" | "inotify_init1 inotify_shim_init1") return 0 ;;
	"inotify_add_watch inotify_shim_add_watch") return 0 ;;
	"inotify_rm_watch inotify_shim_rm_watch") return 0 ;;
	esac
	return 1
}

# OBJECT FUNCTION TYPE SYMBOL for every relocation against an exported name
found=$(for o in "${objs[@]}"; do
	objdump -dr --no-show-raw-insn "$o" |
		awk -v obj="${o#"$objdir"/}" -v names="$exported" '
			BEGIN { n = split(names, a, "\n"); for (i = 1; i <= n; i++) e[a[i]] = 1 }
			/^[0-9a-f]+ <.*>:$/ { fn = substr($2, 2, length($2) - 3) }
			/R_X86_64_/ {
				s = $NF; sub(/[-+]0x[0-9a-f]+$/, "", s)
				if (s in e) print obj, fn, $2, s
			}'
	# addresses taken outside code (a table of function pointers)
	objdump -r "$o" |
		awk -v obj="${o#"$objdir"/}" -v names="$exported" '
			BEGIN { n = split(names, a, "\n"); for (i = 1; i <= n; i++) e[a[i]] = 1 }
			/^RELOCATION RECORDS FOR/ { sec = $4; sub(/^\[/, "", sec); sub(/\]:$/, "", sec) }
			/R_X86_64_/ && sec !~ /^\.text/ {
				s = $3; sub(/[-+]0x[0-9a-f]+$/, "", s)
				if (s in e) print obj, "(" sec ")", $2, s
			}'
done)

bad=0 ok=0
while read -r obj fn type sym; do
	[ -n "$obj" ] || continue
	if allowed "$fn" "$sym"; then
		ok=$((ok + 1))
	else
		echo "FAIL: $obj: $fn calls the interposed $sym ($type): call real_$sym() or the internal function"
		bad=$((bad + 1))
	fi
done <<<"$found"
echo "${#objs[@]} objects, $(wc -l <<<"$exported") exported names; $ok allowed forwards, $bad internal calls to an interposed name"
[ $bad -eq 0 ]
