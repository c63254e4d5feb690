#!/bin/sh
# valkey.sh: runs one test of the suite against valkey-server instead of
# redis-server.  make check runs every test that talks to Redis twice: as
# itself, and as tests/valkey/NAME.vk, whose one line names the test (a
# unit program or a shell script, relative to the top folder).  The test
# starts its servers through $REDIS_SERVER (tests/lib.sh, testsrv.c).
#   valkey.sh tests/valkey/NAME.vk
set -u
test=$(sed -n '1p' "$1")
case $test in
tests/*) ;;
*) echo "1..0 # SKIP $1 does not name a test"; exit 0 ;;
esac
if ! command -v valkey-server >/dev/null 2>&1; then
	echo "1..0 # SKIP valkey-server is not installed (Debian bookworm-backports: valkey-server)"
	exit 0
fi
REDIS_SERVER=valkey-server
export REDIS_SERVER
echo "# against $(valkey-server --version | cut -d' ' -f1-3)"
case $test in
*.sh) exec "$top_srcdir/$test" ;;
*) exec "$top_builddir/$test" ;;
esac
