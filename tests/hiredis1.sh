#!/bin/bash
# hiredis1.sh: build rehearse against hiredis 1.x and run the tests that use
# Redis.  Debian 12 ships hiredis 0.14 as a library, but its redis source
# package carries hiredis 1.0.3 (deps/hiredis): that is the 1.x we build.
# Run by .ci/run (as root: it adds a deb-src entry for the source package,
# from the Debian archive the machine already uses: tests/debian-source).
#   hiredis1.sh SRCDIR     exits 0 when every test passed
set -eu
src=$(cd "${1:-.}" && pwd)
work=$(mktemp -d)
cleanup() { "$src/tests/debian-source" remove-deb-src; rm -rf "$work"; }
trap cleanup EXIT
"$src/tests/debian-source" deb-src
apt-get update -q >/dev/null
(cd "$work" && apt-get source --download-only -q redis >/dev/null 2>&1)
tar xzf "$work"/redis_*.orig.tar.gz -C "$work" --wildcards '*/deps/hiredis'
deps=$(echo "$work"/redis-*/deps)
grep -q '#define HIREDIS_MAJOR 1' "$deps/hiredis/hiredis.h"
make -s -C "$deps/hiredis" USE_SSL=0 static >/dev/null
mkdir "$work/build"
(cd "$src" && git ls-files 2>/dev/null || find . -type f ! -path './.git/*') |
    (cd "$src" && tar cf - -T -) | (cd "$work/build" && tar xf -)
cd "$work/build"
autoreconf -fi >/dev/null 2>&1
./configure -q --enable-werror HIREDIS_CFLAGS="-I$deps" \
    HIREDIS_LIBS="$deps/hiredis/libhiredis.a" >/dev/null
make -s -j2 >/dev/null
make -s -j2 check TESTS="tests/unit/test_redis tests/unit/test_stage \
    tests/purge.sh tests/session.sh tests/cases.sh tests/stage.sh tests/hostile.sh \
    tests/backup.sh tests/purge_liar.sh tests/cluster_refuse.sh tests/children.sh \
    tests/tls.sh tests/unit/test_tls tests/sentinel.sh tests/acl_purge.sh \
    tests/purge_doubt.sh tests/readouts.sh tests/unit/test_readout \
    tests/cluster_check.sh tests/cluster_restore.sh tests/cluster_dash.sh \
    tests/cluster_report.sh \
    tests/cluster_kit.sh tests/cluster_hostile.sh tests/cluster_purge.sh" >check.log 2>&1 || :
pass=$(cat tests/*.trs tests/unit/*.trs 2>/dev/null | grep -c '^:test-result: PASS' || :)
fail=$(cat tests/*.trs tests/unit/*.trs 2>/dev/null | grep -c -E '^:test-result: (FAIL|ERROR)' || :)
echo "hiredis $(sed -n 's/#define HIREDIS_\(MAJOR\|MINOR\|PATCH\) //p' "$deps/hiredis/hiredis.h" | paste -sd.): $pass passed, $fail failed"
[ "$pass" -gt 0 ] && [ "$fail" = 0 ]
