#!/bin/sh
# regress.sh: every seed input and every fixed crasher through its fuzz
# harness (tests/fuzz/regress_TARGET, built by gcc for make check), so that
# a bug the fuzzers found stays fixed.  Speaks TAP: the four programs' lines
# renumbered into one stream.  Needs $top_srcdir and $top_builddir.
set -u
: "${top_srcdir:=.}" "${top_builddir:=.}"
build=$(cd "$top_builddir" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$top_srcdir/tests/fuzz" || exit 1
n=0
for t in runbook audit textesc replay; do
	prog=$build/tests/fuzz/regress_$t
	dirs=
	for d in "corpus/$t" "regress/$t"; do
		[ -d "$d" ] && dirs="$dirs $d"
	done
	if [ ! -x "$prog" ] || [ -z "$dirs" ]; then
		n=$((n + 1))
		echo "not ok $n - $t: no $prog or no inputs"
		continue
	fi
	# shellcheck disable=SC2086
	"$prog" "$t" $dirs >"$tmp/tap" 2>"$tmp/err"
	while IFS= read -r line; do
		case $line in
		"ok "[0-9]*|"not ok "[0-9]*)
			n=$((n + 1))
			ok=${line%%ok *}ok
			rest=${line#*ok }
			echo "$ok $n ${rest#* }" ;;
		1..*) ;;
		*) echo "# $line" ;;
		esac
	done <"$tmp/tap"
	# What failing inputs printed (the sanitizer's report, the invariant).
	head -c 20000 "$tmp/err" | sed 's/^/# /'
done
echo "1..$n"
