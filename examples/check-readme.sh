#!/bin/sh
# check-readme.sh - the README shows examples/example.c and
# examples/consumer.c verbatim (indented by four spaces): fail when one of
# them changed without the other.
srcdir=${INOTIFY_SHIM_TEST_SRCDIR:-$(dirname "$0")/..}
status=0
for example in example consumer; do
if awk 'NR == FNR { want[n++] = ($0 == "" ? "" : "    " $0); next }
	{ got[m++] = $0 }
	END {
		for (i = 0; i + n <= m; i++) {
			for (j = 0; j < n && got[i + j] == want[j]; j++)
				;
			if (j == n)
				exit 0
		}
		exit 1
	}' "$srcdir/examples/$example.c" "$srcdir/README"; then
	echo "README shows examples/$example.c as it is"
else
	echo "README does not show examples/$example.c verbatim (indented by 4 spaces)" >&2
	status=1
fi
done
exit $status
