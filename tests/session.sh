#!/bin/sh
# session.sh: the session engine through `rehearse run --batch`, against a
# private redis-server and the stage app, where a case needs choreography
# (the single runs are data: tests/cases.sh): the demo rehearsal catches
# release 1.5.2's caching bug, the rollback restores correct behaviour, the
# compare step reports the change; resume after kill -9; the report.
# Speaks TAP.  Needs $REHEARSE, $top_srcdir and $top_builddir.
set -u
: "${REHEARSE:=./rehearse}" "${top_srcdir:=.}" "${top_builddir:=.}"
tmp=$(mktemp -d)
. "$top_srcdir/tests/lib.sh"
ok_lines=40
rport=$(( 21000 + $$ % 20000 ))
stage_env 30 user=alice

# The demo runbook, pointed at these servers; its commands run next to it.
demo_runbook "$tmp/rb" -e 's|timeout_s: 30|timeout_s: 10|'

run() {
	"$REHEARSE" run --batch "$@" >"$tmp/out" 2>"$tmp/err"
	echo $? >"$tmp/rc"
}
rc() { cat "$tmp/rc"; }
line() { sed -n "s/^$1 *\([a-z]*\) .*/\1/p" "$tmp/out"; }

run --yes --audit "$tmp/demo.jsonl" "$tmp/rb/demo.yml"
[ "$(rc)" = 1 ] && [ "$(cat "$STAGE_VERSION_FILE")" = 1.5.2 ] &&
    [ "$(line 1)" = pass ] && [ "$(line 2)" = pass ] && [ "$(line 3)" = pass ] &&
    [ "$(line 4)" = pass ]
ok $? "the demo rehearsal: baseline, deploy 1.5.2, wait until it serves, cache headers"

[ "$(line 5)" = fail ] && grep -q '"type":"http.result".*"profile":"logged-in".*"verdict":"fail"' "$tmp/demo.jsonl"
ok $? "1.5.2's caching bug is caught by the logged-in step"

[ "$(line 6)" = pass ] && grep -q "^8 *pass" "$tmp/out" && grep -q "^9 *pass" "$tmp/out"
ok $? "the purge, the rollback check (a dry run) and the sign-off (--yes) pass"

grep -q "^7 .*against baseline: " "$tmp/out" && grep -q '"type":"measure.result".*"compare":{"with":"baseline"' "$tmp/demo.jsonl"
ok $? "the compare step reports the change against the baseline"

"$REHEARSE" verify -q "$tmp/demo.jsonl"
ok $? "the rehearsal's audit log verifies"

! grep -q "$STAGE_SESSION" "$tmp/demo.jsonl" "$tmp/out" "$tmp/err"
ok $? "the session cookie never reaches the log or the screen"

# The rollback: redeploy 1.5.1, purge, and the logged-in check passes again.
cat >"$tmp/rb/rollback.yml" <<EOR
runbook: roll back to 1.5.1
owner: ops
redis: { url: "redis://127.0.0.1:$rport/0" }
http:
  base_url: "$base"
  profiles: { logged-in: { cookie_env: STAGE_SESSION } }
routes:
  - name: blog-post
    path: /blog/hello-world
    keys: ["anp:page:/blog/*"]
    expect_logged_in: { headers: { Cache-Control: { contains: private } } }
    expect: { body: { matches: "^[^H]*\$" } }
steps:
  - { title: Redeploy 1.5.1, run: ./demo/deploy.sh 1.5.1 }
  - { title: Purge the blog, purge: blog-post }
  - { title: Logged-in traffic, http: { route: blog-post, profile: logged-in } }
  - { title: Anonymous traffic, http: blog-post }
EOR
run --yes --audit "$tmp/rollback.jsonl" "$tmp/rb/rollback.yml"
[ "$(rc)" = 0 ] && [ "$(cat "$STAGE_VERSION_FILE")" = 1.5.1 ]
ok $? "the rollback restores correct behaviour"

# Refusals without --yes, --read-only, a wait that times out, a flood of
# output, a command that ignores SIGTERM, redaction, rehearse check and
# confirm: true are cases of tests/cases.sh (tests/cases/).

# Resume after kill -9.
cat >"$tmp/rb/long.yml" <<EOR
runbook: a long one
owner: ops
http: { base_url: "$base" }
routes:
  - { name: version, path: /version }
steps:
  - { title: First probe, http: version }
  - { title: Something slow, run: ["sleep", "5"] }
  - { title: Last probe, http: version }
EOR
"$REHEARSE" run --batch --yes --audit "$tmp/long.jsonl" "$tmp/rb/long.yml" >/dev/null 2>&1 &
bpid=$!
i=0
while ! grep -q run.intent "$tmp/long.jsonl" 2>/dev/null && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
kids=$(pgrep -P $bpid)	# the command it ran: this test's, not another's
kill -9 $bpid
wait $bpid 2>/dev/null
[ -n "$kids" ] && kill $kids 2>/dev/null
"$REHEARSE" verify "$tmp/long.jsonl" >/dev/null 2>&1
[ $? = 1 ]
ok $? "a killed rehearsal's log does not verify as finished"

"$REHEARSE" run --batch --yes --resume "$tmp/long.jsonl" >"$tmp/out" 2>"$tmp/err"
st=$?
[ $st = 1 ] && [ "$(grep -c '"type":"http.result"' "$tmp/long.jsonl")" = 2 ] &&
    grep -q '"type":"intent.unknown"' "$tmp/long.jsonl" &&
    [ "$(line 1)" = pass ] && [ "$(line 2)" = fail ] && [ "$(line 3)" = pass ] &&
    grep -q "^2 .*outcome unknown" "$tmp/out" &&
    [ "$(grep -c '"type":"run.intent","step"' "$tmp/long.jsonl")" = 1 ]
r1=$?
"$REHEARSE" verify "$tmp/long.jsonl" >>"$tmp/out" 2>>"$tmp/err"
[ $r1 = 0 ] && [ $? = 0 ]
ok $? "resume: chain verified, done steps kept, the interrupted action reported as outcome unknown (not rerun), the rest runs"

sed -i 's/Last probe/Last probe again/' "$tmp/rb/long.yml"
"$REHEARSE" run --batch --yes --resume "$tmp/long.jsonl" >"$tmp/out" 2>"$tmp/err"
[ $? = 2 ] && grep -q "changed since the log was written" "$tmp/err"
ok $? "resume refuses a runbook that changed"

# rehearse report: a Markdown summary of the demo rehearsal.
"$REHEARSE" report "$tmp/demo.jsonl" >"$tmp/out" 2>"$tmp/err"
st=$?
[ $st = 0 ] && grep -q "^# Rehearsal report: blog page cache, release 1.5.2" "$tmp/out" &&
    grep -q "^| Audit log | intact: " "$tmp/out" &&
    [ "$(grep -c -E '^\| [0-9]+ \| ' "$tmp/out")" -ge 9 ] &&
    grep -q "^| 5 | Test logged-in traffic | http | fail |" "$tmp/out" &&
    grep -q "^## Purges" "$tmp/out" && grep -q "^| 6 | blog-post |" "$tmp/out" &&
    grep -q "^## Commands" "$tmp/out" && grep -q "demo/deploy.sh 1.5.2 | 0 |" "$tmp/out" &&
    ! grep -q "$STAGE_SESSION" "$tmp/out"
ok $? "rehearse report summarises the rehearsal in Markdown"

cp "$tmp/demo.jsonl" "$tmp/edited.jsonl"
sed -i '5s/"title":"/"title":"X/' "$tmp/edited.jsonl"
"$REHEARSE" report "$tmp/edited.jsonl" >"$tmp/out" 2>"$tmp/err"
[ $? = 1 ] && grep -q "^| Audit log | NOT INTACT at line 5" "$tmp/out"
ok $? "rehearse report says when the log is not intact (exit 1)"

echo "1..$n"
