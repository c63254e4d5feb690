#!/bin/sh
# stage.sh: the stage app (tests/stage/) through real processes: a private
# redis-server on a free loopback port, the app on port 0, curl, and
# runbooks/demo/deploy.sh switching versions.  Speaks TAP.
# Needs $top_srcdir and $top_builddir (make check sets both).
set -u
: "${top_srcdir:=.}" "${top_builddir:=.}"
STAGE=$top_builddir/tests/stage/stage
DEPLOY=$top_srcdir/runbooks/demo/deploy.sh

for tool in "${REDIS_SERVER:-redis-server}" redis-cli curl; do
	if ! command -v $tool >/dev/null 2>&1; then
		echo "1..0 # SKIP $tool is not installed"
		exit 0
	fi
done

tmp=$(mktemp -d)
s2pid=
bgpid=
. "$top_srcdir/tests/lib.sh"
cleanup_hook() {
	for p in $bgpid $s2pid; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
}
trap 'exit 1' HUP INT TERM

# After a failure: what the last request got.
stage_diag() {
	for f in "$tmp/h" "$tmp/b" "$tmp/out" "$tmp/err" "$tmp/curl.err"; do
		[ -s "$f" ] && { echo "$f:"; head -20 "$f"; }
	done | tr -d '\r' | sed 's/^/# /'
}
ok_diag=stage_diag
bail() {
	echo "Bail out! $*"
	sed 's/^/# /' "$tmp"/*.log "$tmp/stage.err" 2>/dev/null | tail -20
	exit 1
}

# Redis on a free loopback port (and a unix socket), no persistence.
cli() { redis-cli -p $rport "$@"; }
redis_up() { start_redis --unixsocket "$tmp/redis.sock" --unixsocketperm 700; }
redis_up || bail "redis-server did not start"

# stage_at PORTFILE [options]: start the app, wait until /health answers.
stage_at() {
	pf=$1
	shift
	"$STAGE" --port 0 --port-file "$pf" "$@" 2>>"$tmp/stage.err" &
	last_pid=$!
	i=0
	while :; do
		if [ -s "$pf" ] &&
		    [ "$(curl -s "http://127.0.0.1:$(cat "$pf")/health")" = ok ]; then
			return 0
		fi
		i=$((i + 1))
		if [ $i -gt 100 ] || ! kill -0 "$last_pid" 2>/dev/null; then
			return 1
		fi
		sleep 0.05
	done
}
stage_at "$tmp/port" --redis "redis://127.0.0.1:$rport/0" \
    --db-delay-ms 50 --ttl 60 --version-file "$tmp/version" \
    --pid-file "$tmp/stage.pid"
spid=$last_pid
[ -s "$tmp/port" ] || bail "the stage app did not start"
base=http://127.0.0.1:$(cat "$tmp/port")

req() {	# req PATH [curl options]: headers in $tmp/h, body in $tmp/b
	p=$1
	shift
	: >"$tmp/h"
	: >"$tmp/b"
	curl -sS -D "$tmp/h" -o "$tmp/b" "$@" "$base$p" 2>"$tmp/curl.err"
	status=$(sed -n '1s/^HTTP\/[0-9.]* \([0-9]*\).*/\1/p' "$tmp/h")
}
hdr() {	# hdr NAME: the value of header NAME in the last response
	tr -d '\r' <"$tmp/h" | awk -v n="$1" '
	    BEGIN { n = tolower(n) }
	    { i = index($0, ":")
	      if (i > 0 && tolower(substr($0, 1, i - 1)) == n) {
		v = substr($0, i + 1); sub(/^[ \t]+/, "", v); print v; exit } }'
}
deploy() {	# deploy ARGS...: output in $tmp/out and $tmp/err, status in $rc
	STAGE_VERSION_FILE=$tmp/version "$DEPLOY" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
}

echo "# stage app on $base, redis on 127.0.0.1:$rport"

[ "$(cat "$tmp/stage.pid")" = "$spid" ]
ok $? "the port file and the pid file are written once listening"

# Anonymous traffic: a miss costs a database call, a hit does not.
req /blog/hello-world
[ "$status" = 200 ] && [ "$(hdr X-Cache)" = MISS ] &&
    [ "$(hdr X-DB-Calls)" = 1 ] && [ "$(hdr Age)" = 0 ] &&
    [ "$(hdr Cache-Control)" = "public, max-age=60" ] &&
    [ "$(hdr X-Stage-Version)" = 1.5.1 ] &&
    hdr Content-Type | grep -q '^text/html' &&
    grep -q '/blog/hello-world' "$tmp/b" && ! grep -q Hello, "$tmp/b"
ok $? "first anonymous GET is a MISS with one database call, public max-age"

ttl=$(cli TTL anp:page:/blog/hello-world)
[ "$ttl" -gt 0 ] && [ "$ttl" -le 60 ] &&
    cli GET anp:page:/blog/hello-world | grep -q '/blog/hello-world'
ok $? "the page is stored under anp:page:/blog/hello-world with EX 60 (ttl $ttl)"

req /blog/hello-world
[ "$status" = 200 ] && [ "$(hdr X-Cache)" = HIT ] &&
    [ "$(hdr X-DB-Calls)" = 0 ] &&
    hdr Age | grep -Eq '^[0-9]+$' &&
    [ "$(hdr Cache-Control)" = "public, max-age=60" ] &&
    grep -q '/blog/hello-world' "$tmp/b"
ok $? "second anonymous GET is a HIT with Age and no database call"

req /blog/hello-world -I
[ "$status" = 200 ] && [ "$(hdr X-Cache)" = HIT ] &&
    [ "$(hdr Content-Length)" -gt 0 ] && ! grep -q '<html' "$tmp/b"
ok $? "HEAD answers the headers without a body"

req / && [ "$status" = 200 ] && req /shop/cart/42 && [ "$status" = 200 ] &&
    [ "$(hdr X-Cache)" = MISS ] && [ "$(cli EXISTS anp:page:/shop/cart/42)" = 1 ]
ok $? "/ and paths under /shop/ are pages too"

req /nope
[ "$status" = 404 ] && [ "$(hdr X-Stage-Version)" = 1.5.1 ] &&
    [ -n "$(hdr Content-Type)" ] && [ "$(cli EXISTS anp:page:/nope)" = 0 ]
ok $? "an unknown path is 404 and nothing is cached"

req /blog/hello-world -X DELETE
[ "$status" = 405 ] && hdr Allow | grep -q GET
ok $? "other methods are 405 with Allow"

req /version
[ "$status" = 200 ] && [ "$(cat "$tmp/b")" = 1.5.1 ] &&
    [ "$(hdr Cache-Control)" = no-store ] && [ "$(cli EXISTS anp:page:/version)" = 0 ]
ok $? "/version says 1.5.1 while no version file exists, no-store"

req /health
[ "$status" = 200 ] && [ "$(cat "$tmp/b")" = ok ]
ok $? "/health says ok"

# deploy.sh switches the version the app serves.
deploy --dry-run 1.5.2
[ $rc = 0 ] && [ "$(cat "$tmp/out")" = "would deploy 1.5.2 (now 1.5.1)" ] &&
    [ ! -e "$tmp/version" ]
ok $? "deploy.sh --dry-run 1.5.2 checks and changes nothing"

deploy 9.9.9
r1=$rc
deploy
r2=$rc
deploy --bogus 1.5.2
[ $r1 = 2 ] && [ $r2 = 2 ] && [ $rc = 2 ] && [ -s "$tmp/err" ] &&
    [ ! -e "$tmp/version" ]
ok $? "deploy.sh: unknown version or bad usage exits 2 and changes nothing"

deploy 1.5.2
[ $rc = 0 ] && [ "$(cat "$tmp/out")" = "deployed 1.5.2 (was 1.5.1)" ] &&
    req /version && [ "$(cat "$tmp/b")" = 1.5.2 ] &&
    [ "$(hdr X-Stage-Version)" = 1.5.2 ]
ok $? "deploy.sh 1.5.2: /version says 1.5.2 at once"

deploy --dry-run 1.5.1
[ $rc = 0 ] && [ "$(cat "$tmp/out")" = "would deploy 1.5.1 (now 1.5.2)" ] &&
    req /version && [ "$(cat "$tmp/b")" = 1.5.2 ]
ok $? "deploy.sh --dry-run 1.5.1 leaves 1.5.2 deployed"

deploy 1.5.1
[ $rc = 0 ] && [ "$(cat "$tmp/out")" = "deployed 1.5.1 (was 1.5.2)" ] &&
    req /version && [ "$(cat "$tmp/b")" = 1.5.1 ]
ok $? "deploy.sh 1.5.1 rolls back"

# Logging in.
req /login
cookie=$(hdr Set-Cookie)
[ "$status" = 200 ] && [ "$(hdr Cache-Control)" = no-store ] &&
    echo "$cookie" | grep -Eq '^stage_session=s-alice-[0-9a-f]{16}; Path=/; HttpOnly$'
ok $? "/login sets a stage_session cookie for alice"
alice=${cookie%%;*}

req '/login?user=bob' -X POST -d x=1
[ "$status" = 200 ] && hdr Set-Cookie | grep -q '^stage_session=s-bob-' &&
    req '/login?user=b%3Cb' && [ "$status" = 400 ]
ok $? "POST /login?user=bob logs in bob; a bad name is 400"

# 1.5.1 (correct): logged-in pages never touch the shared cache.
req /blog/private-151 -b "$alice"
[ "$status" = 200 ] && [ "$(hdr Cache-Control)" = "private, no-store" ] &&
    [ "$(hdr X-Cache)" = BYPASS ] && [ "$(hdr X-DB-Calls)" = 1 ] &&
    grep -q 'Hello, alice' "$tmp/b"
ok $? "1.5.1: a logged-in GET is private, no-store, BYPASS and says Hello, alice"

[ "$(cli EXISTS anp:page:/blog/private-151)" = 0 ]
ok $? "1.5.1: the logged-in page is not stored in Redis"

req /blog/hello-world -b "$alice"
[ "$(hdr X-Cache)" = BYPASS ] && grep -q 'Hello, alice' "$tmp/b" &&
    req /blog/hello-world && [ "$(hdr X-Cache)" = HIT ] &&
    ! grep -q Hello "$tmp/b"
ok $? "1.5.1: a logged-in GET of a cached page bypasses the cache too"

req /blog/private-151
[ "$(hdr X-Cache)" = MISS ] && ! grep -q Hello "$tmp/b"
ok $? "1.5.1: an anonymous GET afterwards does not say Hello"

req /blog/private-151 -b 'stage_session=forged'
[ "$(hdr X-Cache)" = HIT ] && ! grep -q Hello "$tmp/b"
ok $? "an invalid session cookie counts as anonymous"

# 1.5.2 (the bug): logged-in pages go into the shared cache.
deploy 1.5.2
req /blog/leak -b "$alice"
[ "$status" = 200 ] && [ "$(hdr X-Cache)" = MISS ] &&
    [ "$(hdr Cache-Control)" = "public, max-age=60" ] &&
    grep -q 'Hello, alice' "$tmp/b" &&
    cli GET anp:page:/blog/leak | grep -q 'Hello, alice'
ok $? "1.5.2: a logged-in GET of a fresh path stores the personalised page"

req /blog/leak
[ "$status" = 200 ] && [ "$(hdr X-Cache)" = HIT ] &&
    grep -q 'Hello, alice' "$tmp/b"
ok $? "1.5.2: the next anonymous GET is a HIT saying Hello, alice (the bug)"

deploy 1.5.1
req /blog/leak -b "$alice"
[ "$(hdr X-Cache)" = BYPASS ] && cli DEL anp:page:/blog/leak >/dev/null &&
    req /blog/leak && [ "$(hdr X-Cache)" = MISS ] && ! grep -q Hello "$tmp/b"
ok $? "rollback to 1.5.1 and a purge of the page end the leak"

# A slow miss does not block other requests (one thread per connection),
# and a unix:// Redis URL works.
stage_at "$tmp/port2" --redis "unix://$tmp/redis.sock" \
    --db-delay-ms 1500 --version-file "$tmp/version"
s2pid=$last_pid
if [ -s "$tmp/port2" ]; then
	base2=http://127.0.0.1:$(cat "$tmp/port2")
	curl -s -o /dev/null "$base2/shop/slow" &
	bgpid=$!
	sleep 0.3
	t=$(curl -s -o /dev/null -w '%{time_total}' "$base2/health")
	wait "$bgpid"
	bgpid=
	awk -v t="$t" 'BEGIN { exit !(t < 0.5) }' &&
	    [ "$(cli EXISTS anp:page:/shop/slow)" = 1 ]
	ok $? "a 1.5 s miss does not delay /health (${t}s); unix:// Redis works"
	kill -TERM "$s2pid"
	wait "$s2pid"
	ok $? "the second app stops cleanly"
	s2pid=
else
	ok 1 "a second app with a unix:// Redis URL starts"
fi

# Redis goes away: pages still come, from the "database".
kill "$rpid"
wait "$rpid" 2>/dev/null
rpid=
req /blog/hello-world
[ "$status" = 200 ] && [ "$(hdr X-Cache)" = MISS ] &&
    [ "$(hdr X-DB-Calls)" = 1 ] && [ -n "$(hdr X-Cache-Error)" ] &&
    grep -q '/blog/hello-world' "$tmp/b"
ok $? "Redis down: 200, X-Cache: MISS, X-Cache-Error: $(hdr X-Cache-Error)"

req /health
[ "$status" = 200 ]
ok $? "Redis down: /health still answers"

# Redis comes back (empty): caching works again on the same connection.
redis_up || bail "redis-server did not restart"
req /blog/hello-world
h1=$(hdr X-Cache)
e1=$(hdr X-Cache-Error)
req /blog/hello-world
[ "$h1" = MISS ] && [ -z "$e1" ] && [ "$(hdr X-Cache)" = HIT ] &&
    [ "$(cli EXISTS anp:page:/blog/hello-world)" = 1 ]
ok $? "Redis restarted: MISS without error, then HIT"

# Redis restarts under a kept connection: the app reconnects.
kill "$rpid"
wait "$rpid" 2>/dev/null
redis_up || bail "redis-server did not restart"
req /shop/after-restart
[ "$status" = 200 ] && [ "$(hdr X-Cache)" = MISS ] &&
    [ -z "$(hdr X-Cache-Error)" ] &&
    [ "$(cli EXISTS anp:page:/shop/after-restart)" = 1 ]
ok $? "a restart behind a kept connection is healed on the next request"

# SIGTERM: clean shutdown.
kill -TERM "$spid"
wait "$spid"
src=$?
spid=
[ $src = 0 ] && [ ! -e "$tmp/port" ] && [ ! -e "$tmp/stage.pid" ]
ok $? "SIGTERM stops the app with status 0 (got $src) and removes its files"

if grep -q 'ERROR: AddressSanitizer\|runtime error:' "$tmp/stage.err"; then
	sed 's/^/# /' "$tmp/stage.err" | head -40
	ok 1 "no sanitizer reports"
fi

echo "1..$n"
