#!/bin/sh
# layering.sh - the layer rules of src/README ("Architecture"), checked
# over the sources: each broken rule is named with its file, line and the
# call or include that breaks it.  Comments are left out of the search (a
# comment may name what it must not call).  Run by make check (under
# test/run-test.sh, which it does not need), or alone: test/layering.sh
# [SRCDIR].
srcdir=${1:-${INOTIFY_SHIM_TEST_SRCDIR:-$(dirname "$0")/..}}
src="$srcdir/src"
if [ ! -d "$src/notify" ] || [ ! -d "$src/instance" ] || [ ! -d "$src/fd" ]; then
	echo "layering.sh: no sources at $src" >&2
	exit 99
fi
fail=0

# The code of file $1 without its comments, lines kept in place.
code() {
	perl -0777 -pe 's{/\*.*?\*/}{ (my $c = $&) =~ tr/\n//cd; $c }gse; s{//[^\n]*}{}g' "$1"
}

# rule FILE REGEX WHAT: every line of FILE's code that matches REGEX breaks
# the rule WHAT.
rule() {
	code "$1" | grep -nE "$2" | while IFS= read -r hit; do
		echo "layering: ${1#"$srcdir"/}:${hit%%:*}: $3: ${hit#*:}"
	done
}

check() {
	# 1. notify decides, core queues: no slot or queue call in notify/,
	#    only core's entry point (core_handle_event) and its pass.
	for f in "$src"/notify/*.[ch]; do
		rule "$f" '(^|[^A-Za-z0-9_])(slot|queue)_[A-Za-z0-9_]+[[:space:]]*\(' \
			'notify/ calls a core queue function (only core_handle_event may queue)'
	done
	# 2. instance/ takes no registry lock and walks no instance records.
	for f in "$src"/instance/*.[ch]; do
		rule "$f" '(^|[^A-Za-z0-9_])domain_(try)?lock[[:space:]]*\(' \
			'instance/ takes the registry lock (ask core)'
		rule "$f" '(->|\.)instances([^A-Za-z0-9_]|$)' \
			'instance/ walks d->instances (ask core)'
	done
	# 3. The fd table is a bottom module: nothing from hooks, core or
	#    instance.
	for f in "$src"/fd/*.[ch]; do
		[ -e "$f" ] || continue
		rule "$f" '^[[:space:]]*#[[:space:]]*include[[:space:]]*"[^"]*(hooks|core|instance)/' \
			'the fd table includes from hooks, core or instance'
	done
	# 4. Both consumers (instance/, consumer/) are built on core and on
	#    nothing else: no include from domain, queue, notify or hooks.
	for f in "$src"/instance/*.[ch] "$src"/consumer/*.[ch]; do
		rule "$f" '^[[:space:]]*#[[:space:]]*include[[:space:]]*"[^"]*(domain|queue|notify|hooks)/' \
			'a consumer includes from below core (ask core)'
	done
}

out=$(check)
if [ -n "$out" ]; then
	printf '%s\n' "$out"
	echo "layering.sh: FAIL (src/README, \"Architecture\", says why)"
	exit 1
fi
echo "layering.sh: the layer rules hold"
exit 0
