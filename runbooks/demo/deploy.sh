#!/bin/sh
# deploy.sh: switch the version the stage app serves (the demo of rehearse).
#
#   deploy.sh VERSION            deploy VERSION (1.5.1 or 1.5.2)
#   deploy.sh --dry-run VERSION  check that it could, change nothing
#
# The deployed version lives in one file, re-read by the stage app on
# every request: $STAGE_VERSION_FILE, else state/version next to this
# script, else (an installed copy, whose folder is not the user's to write)
# rehearse/demo/version under $XDG_STATE_HOME (~/.local/state).  A missing
# file means 1.5.1.  Exit 0 done, 1 could not, 2 usage.
set -u

prog=${0##*/}
known="1.5.1 1.5.2"

usage() {
	echo "usage: $prog [--dry-run] VERSION    (known: $known)" >&2
	exit 2
}

dry=no
case ${1-} in
-h|--help)
	echo "usage: $prog [--dry-run] VERSION    (known: $known)"
	exit 0 ;;
--dry-run|-n)
	dry=yes
	shift ;;
--)
	shift ;;
-*)
	echo "$prog: unknown option '$1'" >&2
	usage ;;
esac
[ $# -eq 1 ] || usage
version=$1
case $version in
1.5.1|1.5.2) ;;
*)
	echo "$prog: unknown version '$version' (known: $known)" >&2
	exit 2 ;;
esac

if [ -n "${STAGE_VERSION_FILE-}" ]; then
	file=$STAGE_VERSION_FILE
else
	here=$(cd "$(dirname "$0")" && pwd) || exit 1
	file=$here/state/version
	if [ ! -e "$here/state" ] && [ ! -w "$here" ]; then
		file=${XDG_STATE_HOME:-${HOME:-/nonexistent}/.local/state}/rehearse/demo/version
	fi
fi
dir=$(dirname "$file")

old=
if [ -r "$file" ]; then
	old=$(sed -n '1{s/^[[:space:]]*//;s/[[:space:]].*//;p;}' "$file")
fi
[ -n "$old" ] || old=1.5.1

if [ "$dry" = yes ]; then
	# The nearest existing directory on the way must be writable.
	d=$dir
	while [ ! -d "$d" ]; do
		if [ -e "$d" ]; then
			echo "$prog: $d is not a directory" >&2
			exit 1
		fi
		d=$(dirname "$d")
	done
	if [ ! -w "$d" ] || [ ! -x "$d" ]; then
		echo "$prog: cannot write to $d" >&2
		exit 1
	fi
	echo "would deploy $version (now $old)"
	exit 0
fi

mkdir -p "$dir" || exit 1
tmp=$dir/.version.$$
if ! printf '%s\n' "$version" >"$tmp" || ! mv -f "$tmp" "$file"; then
	rm -f "$tmp"
	echo "$prog: could not write $file" >&2
	exit 1
fi
echo "deployed $version (was $old)"
