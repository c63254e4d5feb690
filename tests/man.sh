#!/bin/sh
# man.sh: the man pages render without a warning.  Speaks TAP.
set -u
: "${top_srcdir:=.}"
n=0
for page in "$top_srcdir"/man/*.[1-8]; do
	n=$((n + 1))
	out=$( { groff -man -ww -z "$page" 2>&1;
	    LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$page" 2>&1 >/dev/null; } )
	if [ -z "$out" ]; then
		echo "ok $n - ${page##*/} renders without warnings"
	else
		echo "not ok $n - ${page##*/} renders without warnings"
		echo "$out" | sed 's/^/# /' | head -20
	fi
done
echo "1..$n"
