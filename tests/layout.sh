#!/bin/sh
# layout.sh: the dependency arrows of DESIGN go one way (ui -> src).
# Speaks TAP.
set -u
: "${top_srcdir:=.}"
n=0
check() {	# check DESCRIPTION COMMAND...: passes when COMMAND prints nothing
	desc=$1
	shift
	out=$("$@" 2>&1)
	n=$((n + 1))
	if [ -z "$out" ]; then
		echo "ok $n - $desc"
	else
		echo "not ok $n - $desc"
		echo "$out" | sed 's/^/# /'
	fi
}
cd "$top_srcdir" || exit 1
check "nothing in src/ includes curses" \
	grep -r -l -E '#include[[:space:]]*[<"](n?curses|ncursesw/|curses_inc)' src/
check "only ui/curses_inc.h includes the curses header" \
	sh -c "grep -l -E '#include[[:space:]]*<(ncursesw/)?curses.h>' ui/*.c ui/*.h | grep -v '^ui/curses_inc.h$'"
check "ui/ talks to no server and no audit file directly" \
	grep -r -l -E '#include[[:space:]]*<(hiredis|curl|event2|jansson|openssl)' ui/
check "config.h is included first in every .c and never in a header" \
	sh -c 'for f in src/*.c ui/*.c; do first=$(grep -m1 "^#include" "$f"); [ "$first" = "#include \"config.h\"" ] || echo "$f"; done; grep -l "config.h" src/*.h ui/*.h'
echo "1..$n"
