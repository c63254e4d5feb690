#!/bin/bash
# demo.sh: the demo rehearsal.  Starts a private redis-server on 6390 and
# the stage app on 8090 (both on 127.0.0.1, in a temporary folder), logs in
# for the logged-in profile, opens the dashboard on runbooks/demo.yml, and
# stops both when the dashboard ends.  Run by `make demo`.
#   demo.sh TOP_SRCDIR TOP_BUILDDIR
set -eu
src=${1:-.}
build=${2:-.}
tmp=$(mktemp -d)
rpid=
spid=
cleanup() {
	[ -n "$spid" ] && kill "$spid" 2>/dev/null || :
	[ -n "$rpid" ] && kill "$rpid" 2>/dev/null || :
	wait 2>/dev/null || :
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

for port in 6390 8090; do
	if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
		echo "demo: port $port on 127.0.0.1 is already in use; stop what" \
		    "listens there and try again" >&2
		exit 2
	fi
done 2>/dev/null
redis-server --port 6390 --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$tmp" --logfile "$tmp/redis.log" &
rpid=$!
i=0
until redis-cli -p 6390 ping >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -lt 100 ] || { echo "demo: redis-server did not start" >&2; exit 1; }
	sleep 0.05
done

STAGE_VERSION_FILE="$tmp/version"
export STAGE_VERSION_FILE
echo 1.5.1 >"$STAGE_VERSION_FILE"
"$build/tests/stage/stage" --port 8090 --redis redis://127.0.0.1:6390/0 \
    --version-file "$STAGE_VERSION_FILE" 2>"$tmp/stage.log" &
spid=$!
i=0
until curl -fs http://127.0.0.1:8090/health >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -lt 100 ] || { echo "demo: the stage app did not start" >&2; exit 1; }
	sleep 0.05
done
STAGE_SESSION=$(curl -s -D - -o /dev/null "http://127.0.0.1:8090/login?user=alice" |
    sed -n 's/^Set-Cookie: \([^;]*\).*/\1/p')
export STAGE_SESSION

echo "demo: redis on 127.0.0.1:6390, the stage app on 127.0.0.1:8090 (1.5.1)"
"$build/rehearse" run "$src/runbooks/demo.yml" || :
echo "demo: stopped redis and the stage app; the audit log is under" \
    "${XDG_STATE_HOME:-$HOME/.local/state}/rehearse/"
