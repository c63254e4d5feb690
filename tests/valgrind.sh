#!/bin/bash
# valgrind.sh: every unit test program under valgrind's memcheck, in one
# process (CK_FORK=no), with the test cases' own results: no invalid read
# or write, no use of uninitialised memory, no definitely lost block.
# Speaks TAP, one line per program.  Run by .ci/run, or by hand:
#   bash tests/valgrind.sh [PROGRAM...]
set -u
: "${top_builddir:=.}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
if ! command -v valgrind >/dev/null; then
	echo "not ok 1 - valgrind is not installed (apt-get install valgrind)"
	echo "1..1"
	exit 1
fi
if [ $# -gt 0 ]; then
	progs=("$@")
else
	progs=()
	for p in "$top_builddir"/tests/unit/test_*; do
		[ -x "$p" ] && [ -f "$p" ] && progs+=("$p")
	done
fi
status=0
for p in "${progs[@]}"; do
	n=$((n + 1))
	name=$(basename "$p")
	# Forked children (commands, servers) are not followed and stay
	# silent: the program's own process is what is checked here.
	CK_FORK=no CK_DEFAULT_TIMEOUT=600 valgrind -q --leak-check=full \
	    --errors-for-leak-kinds=definite --show-leak-kinds=definite \
	    --child-silent-after-fork=yes --trace-children=no \
	    --log-file="$tmp/$name.vg" "$p" >"$tmp/$name.out" 2>&1
	rc=$?
	cases=$(grep -c '^ok ' "$tmp/$name.out")
	bad=$(grep -c '^not ok ' "$tmp/$name.out")
	if [ -s "$tmp/$name.vg" ] || [ "$bad" -ne 0 ] || [ "$cases" -eq 0 ] || [ $rc -ne 0 ]; then
		echo "not ok $n - valgrind: $name (exit $rc, $cases cases passed, $bad failed)"
		sed 's/^/# /' "$tmp/$name.vg" | head -60
		grep '^not ok' "$tmp/$name.out" | sed 's/^/# /'
		status=1
	else
		echo "ok $n - valgrind: $name: $cases cases, no memory error, no definite leak"
	fi
done
echo "1..$n"
exit $status
