#!/bin/sh
# install.sh: `make install` into a staging folder gives a working program:
# the binary, the man pages, the example runbooks and the demo's deploy
# script that the installed demo runbook runs (./demo/deploy.sh), whose
# rollback check passes for a user who cannot write the installed folder.
# Speaks TAP.  Needs $top_builddir, $REHEARSE.
set -u
: "${top_builddir:=.}" "${REHEARSE:=./rehearse}" "${top_srcdir:=.}"
tmp=$(mktemp -d)
. "$top_srcdir/tests/lib.sh"
cleanup_hook() { chmod -R u+w "$tmp" 2>/dev/null; }
ok_lines=20

dest=$tmp/dest
# mk TARGET: make in the build tree, outside the jobserver of the make that
# runs this test.
mk() { env -u MAKEFLAGS -u MFLAGS make -s -C "$top_builddir" "$1" DESTDIR="$dest" prefix=/usr; }
mk install >"$tmp/out" 2>&1
ok $? "make install DESTDIR=... prefix=/usr succeeds"

share=$dest/usr/share/rehearse/runbooks
[ -x "$dest/usr/bin/rehearse" ] && [ -f "$dest/usr/share/man/man1/rehearse.1" ] &&
    [ -f "$dest/usr/share/man/man5/rehearse-runbook.5" ] &&
    [ -f "$dest/usr/share/man/man5/rehearse-audit.5" ] >"$tmp/out" 2>&1
ok $? "the program and its three man pages are installed"

"$dest/usr/bin/rehearse" lint "$share"/*.yml >"$tmp/out" 2>&1
ok $? "every installed runbook lints clean"

# Every command the installed runbooks run by relative path is installed
# and executable.
missing=
for rb in "$share"/*.yml; do
	for cmd in $(sed -n 's/^[[:space:]-]*\(run\|check\):[[:space:]]*\(\.\/[^[:space:]]*\).*/\2/p' "$rb"); do
		[ -x "$share/$cmd" ] || missing="$missing ${rb##*/}:$cmd"
	done
done
echo "missing:$missing" >"$tmp/out"
[ -z "$missing" ]
ok $? "every script an installed runbook runs is installed and executable"

# The installed folder is read-only to the user: the demo's rollback check
# (deploy.sh --dry-run) still passes and the deploy writes its state under
# $XDG_STATE_HOME, not next to itself.  Root can write anywhere, so as root
# the user is nobody.
chmod -R a-w "$share"
as=
mkdir "$tmp/state"
if [ "$(id -u)" = 0 ]; then
	as="setpriv --reuid=65534 --regid=65534 --clear-groups"
	chmod 755 "$tmp"
	chown 65534:65534 "$tmp/state"
fi
deploy() {
	(cd "$share" && $as env -u STAGE_VERSION_FILE HOME=/nonexistent \
	    XDG_STATE_HOME="$tmp/state" sh ./demo/deploy.sh "$@")
}
{ deploy --dry-run 1.5.1 && deploy 1.5.2; } >"$tmp/out" 2>&1 &&
    [ "$(cat "$tmp/state/rehearse/demo/version")" = 1.5.2 ] &&
    [ ! -e "$share/demo/state" ]
ok $? "the installed demo's deploy script works from a read-only folder"

chmod -R u+w "$share"
mk uninstall >"$tmp/out" 2>&1 &&
    [ -z "$(find "$dest" -type f)" ]
ok $? "make uninstall removes every installed file"
echo "1..$n"
