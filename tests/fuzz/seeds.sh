#!/bin/bash
# seeds.sh: regenerates the audit log seeds of tests/fuzz/corpus/audit and
# tests/fuzz/corpus/replay from real rehearsals: run and manual steps, the
# demo runbook against a private redis-server and the stage app (http,
# measure, wait, purge, rollback_check records), a sealed log, a resumed
# one, an intent left without a result; then damaged copies (tampered,
# torn, a line that is not JSON, reordered, truncated at the front).
# By hand, after the log format changes:
#     top_builddir=. top_srcdir=. bash tests/fuzz/seeds.sh
# Needs a built tree (rehearse, tests/tools/audit_tool, tests/stage/stage)
# and redis-server.  Paths in the logs are under /tmp/rehearse-fuzz-seed.
set -eu
: "${top_srcdir:=.}" "${top_builddir:=.}"
src=$(cd "$top_srcdir" && pwd)
build=$(cd "$top_builddir" && pwd)
REHEARSE=$build/rehearse
AUDIT_TOOL=$build/tests/tools/audit_tool
out_audit=$src/tests/fuzz/corpus/audit
out_replay=$src/tests/fuzz/corpus/replay
w=/tmp/rehearse-fuzz-seed
rpid=
spid=
cleanup() {
	if [ -n "$spid" ]; then kill "$spid" 2>/dev/null || :; fi
	if [ -n "$rpid" ]; then kill "$rpid" 2>/dev/null || :; fi
	wait 2>/dev/null || :
	rm -rf "$w"
}
trap cleanup EXIT
rm -rf "$w"
mkdir -p "$w/rb" "$w/demo/demo" "$w/logs"
export LANG=C.UTF-8 USER=ops HOSTNAME=stage-1

# Run and manual steps only: needs nothing but a shell.
cat >"$w/rb/rb.yml" <<'EOF'
runbook: replay rehearsal
owner: qa on-call
environment: test
http:
  base_url: http://127.0.0.1:9
routes:
  - name: home
    path: /
rollback:
  - name: undo the deploy
    run: touch undo-ran
    check: test -e undo-ran
steps:
  - title: Deploy the change
    run: sh -c 'printf "line one\n\033[2J\033]0;pwned\007still \302\233here \342\200\256\n"'
  - title: Break on purpose
    run: sh -c 'echo broken; exit 3'
  - title: Roll back
    rollback_check: undo the deploy
  - title: Sign off
    manual: Look at the page.
EOF
printf 'rehearse-fuzz-key-0123456789abcd' >"$w/key"	# fuzz_audit.c's key
chmod 600 "$w/key"
"$REHEARSE" run --batch --yes --audit "$w/logs/run.jsonl" "$w/rb/rb.yml" >/dev/null || :
"$REHEARSE" run --batch --yes --audit "$w/logs/sealed.jsonl" \
    --audit-key "$w/key" "$w/rb/rb.yml" >/dev/null || :

# The audit writer's own edge cases, through audit_tool.
"$AUDIT_TOOL" open "$w/logs/resumed.jsonl" "$w/rb/rb.yml" 3 >/dev/null || :
printf '{"seq":5,"ts":"2026-11-26T08:00:0' >>"$w/logs/resumed.jsonl"
"$AUDIT_TOOL" resume "$w/logs/resumed.jsonl" "$w/rb/rb.yml" 2 >/dev/null || :
"$AUDIT_TOOL" intent "$w/logs/intent.jsonl" "$w/rb/rb.yml" >/dev/null || :
cp "$w/logs/intent.jsonl" "$w/logs/intent-unknown.jsonl"
"$AUDIT_TOOL" resume "$w/logs/intent-unknown.jsonl" "$w/rb/rb.yml" 1 >/dev/null || :
"$AUDIT_TOOL" write "$w/logs/sealed-notes.jsonl" "$w/rb/rb.yml" 4 "$w/key" >/dev/null || :
"$AUDIT_TOOL" synth "$w/logs/synth.jsonl" "$w/rb/rb.yml" 12

# The demo runbook against redis-server and the stage app: every kind.
rport=$(( 20000 + $$ % 20000 ))
while redis-cli -p "$rport" ping >/dev/null 2>&1; do rport=$((rport + 1)); done
redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$w" --logfile "$w/redis.log" >/dev/null 2>&1 &
rpid=$!
i=0
until redis-cli -p "$rport" ping >/dev/null 2>&1; do
	i=$((i + 1)); [ $i -lt 100 ] || exit 1; sleep 0.05
done
export STAGE_VERSION_FILE="$w/version"
echo 1.5.1 >"$STAGE_VERSION_FILE"
"$build/tests/stage/stage" --port 0 --port-file "$w/sport" \
    --redis "redis://127.0.0.1:$rport/0" --db-delay-ms 5 2>"$w/stage.log" &
spid=$!
i=0
until [ -s "$w/sport" ] && curl -fs "http://127.0.0.1:$(cat "$w/sport")/health" >/dev/null 2>&1; do
	i=$((i + 1)); [ $i -lt 100 ] || exit 1; sleep 0.05
done
sport=$(cat "$w/sport")
STAGE_SESSION=$(curl -s -D - -o /dev/null "http://127.0.0.1:$sport/login?user=alice" |
    sed -n 's/^Set-Cookie: \([^;]*\).*/\1/p')
export STAGE_SESSION
sed -e "s/127.0.0.1:6390/127.0.0.1:$rport/" -e "s/127.0.0.1:8090/127.0.0.1:$sport/" \
    -e 's/samples: 20/samples: 4/' "$src/runbooks/demo.yml" >"$w/demo/demo.yml"
cp "$src/runbooks/demo/deploy.sh" "$w/demo/demo/deploy.sh"
"$REHEARSE" run --batch --yes --audit "$w/logs/demo.jsonl" "$w/demo/demo.yml" >/dev/null || :
# A run that fails its checks: 1.5.2 never comes, the wait times out.
sed -e 's/timeout_s: 30/timeout_s: 1/' -e 's/every_s: 1/every_s: 0.2/' \
    -e 's|run: ./demo/deploy.sh 1.5.2|run: "true"|' \
    "$w/demo/demo.yml" >"$w/demo/demo-fail.yml"
echo 1.5.1 >"$STAGE_VERSION_FILE"
"$REHEARSE" run --batch --yes --audit "$w/logs/demo-fail.jsonl" "$w/demo/demo-fail.yml" >/dev/null || :

# Damaged copies.
l=$w/logs
sed '8s/"exit":3,/"exit":0,/' "$l/run.jsonl" >"$l/tampered.jsonl"
head -c -50 "$l/run.jsonl" >"$l/torn.jsonl"
{ head -n 5 "$l/run.jsonl"; printf 'this is not JSON \033[2J\n'; tail -n +6 "$l/run.jsonl"; } >"$l/not-json.jsonl"
{ head -n 3 "$l/run.jsonl"; sed -n 5p "$l/run.jsonl"; sed -n 4p "$l/run.jsonl"; tail -n +6 "$l/run.jsonl"; } >"$l/reordered.jsonl"
tail -n +3 "$l/run.jsonl" >"$l/no-start.jsonl"
head -n 9 "$l/run.jsonl" >"$l/open.jsonl"
{ cat "$l/run.jsonl"; sed -n 2p "$l/run.jsonl"; } >"$l/after-end.jsonl"

mkdir -p "$out_audit" "$out_replay"
for f in "$l"/*.jsonl; do
	n=$(basename "$f")
	[ "$(wc -c <"$f")" -lt 65536 ] || { echo "seeds.sh: $n is over 64 KB, skipped" >&2; continue; }
	cp "$f" "$out_audit/$n"
	cp "$f" "$out_replay/$n"
done
ls -l "$out_audit"
