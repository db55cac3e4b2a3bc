# scan_writer_steps.sh - sourced by test/scan_static.scan and
# test/scan_go.scan after test/scan_common.sh, with $writer a program of
# test/scan_writer.{c,go} built statically (no hook can see it, checked
# here): it makes the changes one at a time under `inotify-shim run` (the
# shim's launcher, as a user would start it; its preload does nothing to a
# static binary), and each watch's events must be the kernel's.  The
# changes are those whose events the scanner's rules promise to be the
# kernel's (scan_kernel.scan says which are not).
case $(file -b "$writer" 2>/dev/null) in
*"statically linked"*) ;;
*) if ldd "$writer" 2>/dev/null | grep -q '=>'; then
	echo "$writer is linked dynamically: the hooks would see it"; exit 1
   fi ;;
esac
cd "$work/t" || exit 99
step() {
	echo "+ $*" >> "$work/steps"
	"$b/tools/inotify-shim" run -- "$writer" "$@" || { echo "failed: $*"; exit 1; }
	settle || { compare; exit 1; }
}
step write a hi
step append a more
step write e ''
step mkdir d
followed 2
step write d/f x
step rename a d/b
step chmod d/b 600
step link d/b d/c
step unlink d/c
step rename d/b a2
step rename a2 a3
step truncate a3 100
step unlink a3
step rename d g
step unlink g/f
step rmdir g
followed 1
step mkdir h
followed 2
step rename e h/e2
compare
