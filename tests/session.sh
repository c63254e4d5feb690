#!/bin/sh
# session.sh: the session engine through `rehearse run --batch` and
# `rehearse check`, against a private redis-server and the stage app:
# the demo rehearsal catches release 1.5.2's caching bug, the rollback
# restores correct behaviour, the compare step reports the change; a wait
# that times out; a command that floods its output; one that ignores
# SIGTERM; refusals without --yes; --read-only; resume after kill -9.
# Speaks TAP.  Needs $REHEARSE, $top_srcdir and $top_builddir.
set -u
: "${REHEARSE:=./rehearse}" "${top_srcdir:=.}" "${top_builddir:=.}"
tmp=$(mktemp -d)
. "$top_srcdir/tests/lib.sh"
ok_lines=40
rport=$(( 21000 + $$ % 20000 ))
start_redis

export STAGE_VERSION_FILE="$tmp/version"
start_stage --db-delay-ms 30 --version-file "$STAGE_VERSION_FILE"

# The demo runbook, pointed at these servers; its commands run next to it.
demo_runbook "$tmp/rb" -e 's|timeout_s: 30|timeout_s: 10|'
STAGE_SESSION=$(stage_login user=alice)
export STAGE_SESSION

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

# Without --yes: commands and purges are refused, manual steps need a person.
run --audit "$tmp/noyes.jsonl" "$tmp/rb/rollback.yml"
[ "$(rc)" = 1 ] && [ "$(line 1)" = fail ] && grep -q "refused: a command changes the world" "$tmp/out" &&
    grep -q "refused: a purge changes the world" "$tmp/out"
ok $? "without --yes a command and a purge are refused"

cat >"$tmp/rb/odd.yml" <<EOR
runbook: odd steps
owner: ops
http: { base_url: "$base" }
routes:
  - { name: version, path: /version }
steps:
  - id: wait
    title: Wait for a version that never comes
    wait: { route: version, expect: { body: { contains: "9.9.9" } }, every_s: 0.3, timeout_s: 1.5 }
  - id: flood
    title: A command that floods its output
    run: ["sh", "-c", "yes 'line of flood output' | head -n 300000"]
  - id: stubborn
    title: A command that ignores SIGTERM
    run: { command: ["sh", "-c", "trap '' TERM; sleep 30; echo never"], timeout_s: 1 }
  - { id: manual, title: Look at the graphs, manual: "all green?" }
  - id: secret
    title: A command that prints a secret
    run: ["sh", "-c", "echo token=\$1", "sh", "\${SECRET_TOKEN}"]
EOR
export SECRET_TOKEN=tok-5f3a9c1e77
start=$(date +%s)
run --yes --audit "$tmp/odd.jsonl" "$tmp/rb/odd.yml"
took=$(( $(date +%s) - start ))
[ "$(line 1)" = fail ] && grep -q "did not hold within 2 s\|did not hold within 1.5 s\|did not hold within" "$tmp/out"
ok $? "a wait that times out fails with what it last saw"

[ "$(line 2)" = pass ] && grep -q "300000 lines of output" "$tmp/out" &&
    grep -q '"type":"run.done".*bytes not kept' "$tmp/odd.jsonl" &&
    [ "$(grep '"type":"run.done"' "$tmp/odd.jsonl" | head -1 | wc -c)" -lt 200000 ]
ok $? "a command that floods its output: streamed, and a bounded capture logged"

[ "$(line 3)" = fail ] && grep -q "timed out after .*killed: it ignored SIGTERM" "$tmp/out" &&
    [ "$took" -lt 20 ]
ok $? "a command that ignores SIGTERM is killed after the grace period (${took} s in all)"

grep -q "token=\[redacted\]" "$tmp/err" && ! grep -q "tok-5f3a9c1e77" "$tmp/err" "$tmp/out" "$tmp/odd.jsonl"
ok $? "a secret a command prints is redacted on the screen and in the log"

run --audit "$tmp/odd2.jsonl" --from manual "$tmp/rb/odd.yml"
[ "$(line 4)" = fail ] && grep -q "needs a person" "$tmp/out" && [ "$(line 1)" = skipped ]
ok $? "a manual step without --yes needs a person; --from skips the earlier ones"

# --read-only: nothing that changes the world runs.
echo 1.5.1 >"$STAGE_VERSION_FILE"
redis-cli -p $rport SET anp:page:/blog/keep v >/dev/null
run --read-only --audit "$tmp/ro.jsonl" "$tmp/rb/rollback.yml"
[ "$(line 1)" = skipped ] && [ "$(line 2)" = skipped ] && [ "$(line 3)" = pass ] &&
    [ "$(redis-cli -p $rport EXISTS anp:page:/blog/keep)" = 1 ] &&
    ! grep -q '"type":"run.intent"\|"type":"purge.intent"' "$tmp/ro.jsonl"
ok $? "--read-only skips the command and the purge, runs the probes"

# rehearse check: the read-only checks, as a CI gate.
cat >"$tmp/rb/check.yml" <<EOR
runbook: pre-deploy gate
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
  - { name: version, path: /version, expect: { body: { contains: "1.5" } } }
rollback:
  - { name: back, run: ./demo/deploy.sh 1.5.1, check: ./demo/deploy.sh --dry-run 1.5.1, check_safe: true }
steps:
  - { title: Version, http: version }
  - { title: Logged-in, http: { route: blog-post, profile: logged-in } }
  - { title: Measure, measure: { route: blog-post, samples: 5 } }
  - { title: Deploy, run: ./demo/deploy.sh 1.5.2 }
  - { title: Rollback ready, rollback_check: back }
EOR
"$REHEARSE" check "$tmp/rb/check.yml" >"$tmp/out" 2>"$tmp/err"
st=$?
[ $st = 0 ] && grep -q "^ok   redis: up" "$tmp/out" && grep -q "^skip step 4" "$tmp/out" &&
    grep -q "^ok   step 5" "$tmp/out" && [ "$(cat "$STAGE_VERSION_FILE")" = 1.5.1 ]
ok $? "rehearse check runs the read-only checks and never the command"

STAGE_VERSION_FILE="$STAGE_VERSION_FILE" "$top_srcdir/runbooks/demo/deploy.sh" 1.5.2 >/dev/null
redis-cli -p $rport FLUSHALL >/dev/null
"$REHEARSE" check --format tap "$tmp/rb/check.yml" >"$tmp/out" 2>"$tmp/err"
st=$?
[ $st = 1 ] && grep -q "^not ok 3 - step 2: Logged-in" "$tmp/out" && grep -q "^1\.\.6$" "$tmp/out" &&
    grep -q "# SKIP" "$tmp/out"
ok $? "rehearse check --format tap: exit 1 when an expectation fails"

"$REHEARSE" check --format json "$tmp/rb/check.yml" >"$tmp/out" 2>"$tmp/err"
st=$?
[ $st = 1 ] && grep -q '"failed":1' "$tmp/out" && grep -q '"verdict":"fail"' "$tmp/out"
ok $? "rehearse check --format json"
STAGE_VERSION_FILE="$STAGE_VERSION_FILE" "$top_srcdir/runbooks/demo/deploy.sh" 1.5.1 >/dev/null

# confirm: true on an http step: batch refuses it without --yes (like
# every confirmation), runs it with --yes; check skips it.
cat >"$tmp/rb/confirm.yml" <<EOR
runbook: confirm first
owner: ops
http: { base_url: "$base" }
routes:
  - { name: version, path: /version }
steps:
  - { title: Probe after asking, http: version, confirm: true }
  - { title: Plain probe, http: version }
EOR
run --audit "$tmp/confirm.jsonl" "$tmp/rb/confirm.yml"
[ "$(rc)" = 1 ] && [ "$(line 1)" = fail ] && [ "$(line 2)" = pass ] &&
    grep -q "^1 .*refused: the runbook asks for confirmation (confirm: true); run with --yes" "$tmp/out" &&
    [ "$(grep -c '"type":"http.result"' "$tmp/confirm.jsonl")" = 1 ]
ok $? "run --batch refuses a confirm: true http step without --yes"
run --yes --audit "$tmp/confirm2.jsonl" "$tmp/rb/confirm.yml"
[ "$(rc)" = 0 ] && [ "$(line 1)" = pass ] && [ "$(line 2)" = pass ]
ok $? "run --batch --yes runs a confirm: true step"
run --read-only --audit "$tmp/confirm3.jsonl" "$tmp/rb/confirm.yml"
[ "$(rc)" = 0 ] && [ "$(line 1)" = skipped ] && [ "$(line 2)" = pass ]
ok $? "run --batch --read-only skips a confirm: true step (nobody to ask)"
"$REHEARSE" check "$tmp/rb/confirm.yml" >"$tmp/out" 2>"$tmp/err"
st=$?
[ $st = 0 ] && grep -q "^skip step 1: Probe after asking: .*confirm: true" "$tmp/out" &&
    grep -q "^ok   step 2" "$tmp/out"
ok $? "rehearse check skips a confirm: true step"

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
