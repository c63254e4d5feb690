#!/bin/sh
# setup.sh: ./setup for an ordinary user without sudo, when a package is
# missing, says what to run instead and changes nothing.  Speaks TAP.
# Needs $top_srcdir.
set -u
: "${top_srcdir:=.}"
tmp=$(mktemp -d)
. "$top_srcdir/tests/lib.sh"
ok_lines=20

# A copy of setup whose package list names one package that is surely not
# installed, run with a PATH that has no sudo, as a user who is not root.
mkdir -p "$tmp/src/tests" "$tmp/bin"
cp "$top_srcdir/setup" "$tmp/src/setup"
printf '# test list\nrehearse-no-such-package-xyz\n' >"$tmp/src/tests/debian-packages"
for c in sh dpkg-query grep id cat dirname sed; do
	p=$(command -v "$c") && ln -s "$p" "$tmp/bin/$c"
done
as=
if [ "$(id -u)" = 0 ]; then
	as="setpriv --reuid=65534 --regid=65534 --clear-groups"
	chmod -R a+rX "$tmp"
fi
$as env PATH="$tmp/bin" sh "$tmp/src/setup" --no-demo >"$tmp/out" 2>&1
st=$?
[ $st = 1 ] && grep -q "missing: rehearse-no-such-package-xyz" "$tmp/out" &&
    grep -q "sudo is not installed" "$tmp/out" &&
    grep -q "as root, run:  apt-get update && apt-get install -y --no-install-recommends rehearse-no-such-package-xyz" "$tmp/out" &&
    ! grep -q "not found" "$tmp/out" && [ ! -e "$tmp/src/Makefile" ]
ok $? "setup without root or sudo names the missing packages and the command to run as root (exit $st)"
echo "1..$n"
