#!/bin/bash
# dashboard.sh: the dashboard in a real terminal (tmux): walk the demo
# runbook through every step kind, refuse then accept confirmations (also
# of confirm: true on an http step), resize,
# NO_COLOR, quit in the middle of a step, SIGTERM, and stay responsive while
# Redis is stopped (SIGSTOP) and an HTTP route never answers.  Speaks TAP.
set -u
# Patterns below match glyphs: the test sets its own locale.
LC_ALL=C.UTF-8 LANG=C.UTF-8; export LC_ALL LANG
: "${REHEARSE:=./rehearse}" "${top_srcdir:=.}" "${top_builddir:=.}"
REHEARSE=$(cd "$(dirname "$REHEARSE")" && pwd)/$(basename "$REHEARSE")
tmp=$(mktemp -d)
. "$top_srcdir/tests/lib.sh"
ok_diag=ok_screen
step_glyph() {	# the state glyph of step N on the list
	screen | sed -n "s/^[> ] *$1 \(.\) .*/\1/p" | head -1
}

rport=$(( 23000 + $$ % 20000 ))
stage_env 20
demo_runbook "$tmp/rb" -e 's|samples: 20|samples: 5|'

start "$REHEARSE" run --audit "$tmp/demo.jsonl" "$tmp/rb/demo.yml"
wait_for "redis up" && wait_for "blog-post +anon +200" && wait_for "owner: web-platform"
ok $? "the dashboard opens: header, steps, Redis and HTTP panes"

keys Enter
wait_for "^> +1 ✔"
ok $? "a measure step runs and passes"

keys j Enter
wait_for "Run this command\?" && screen | grep -q "./demo/deploy.sh 1.5.2"
ok $? "a command asks first, showing the exact command line"

keys n
sleep 0.3
wait_for "cancelled: nothing done" && [ "$(cat "$STAGE_VERSION_FILE")" = 1.5.1 ] && [ "$(step_glyph 2)" = "·" ]
ok $? "refusing the confirmation changes nothing"

keys Enter
wait_for "Run this command\?" && keys y && wait_for "^> +2 ✔" && wait_for "deployed 1.5.2" &&
    [ "$(cat "$STAGE_VERSION_FILE")" = 1.5.2 ]
ok $? "accepting it runs the command, its output streams into the pane"

keys j Enter
wait_for "^> +3 ✔" 15
ok $? "a wait step passes once 1.5.2 serves"

keys j Enter
wait_for "^> +4 ✔"
keys j Enter
wait_for "^> +5 ✘" && screen | grep -q "Cache-Control contains"
ok $? "the logged-in http step catches 1.5.2's caching bug"

keys j Enter
wait_for "Purge [0-9]+ keys of route blog-post" && screen | grep -q "anp:page:/blog/"
ok $? "a purge previews its count and a sample before asking"

keys y
wait_for "^> +6 ✔"
ok $? "the purge runs after the confirmation"

wait_for "check not run yet"
keys j Enter
wait_for "^> +7 [✔▲]" 15 && keys j Enter && wait_for "^> +8 ✔" &&
    wait_for "check pass at [0-9]{2}:[0-9]{2}:[0-9]{2}"
ok $? "the compare measure and the rollback check run; the rollback bar shows when the check passed"

keys j p
wait_for "pass; a note" && keys "all green" Enter && wait_for "^> +9 ✔"
ok $? "a manual step is marked pass with a note"

keys '?'
wait_for "rehearse: keys" && keys x && sleep 0.3 && ! screen | grep -q "rehearse: keys"
ok $? "? shows the keys; any key closes it"

keys / "Purge only" Enter
wait_for "^> +6 " && [ "$(screen | grep -c -E '^[> ] +[0-9] ')" = 1 ] && keys / Enter && wait_for "^  +1 " &&
    keys j j j
wait_for "^> +9 "
ok $? "/ filters the steps by title, an empty filter shows them all"

keys a "checked the graphs" Enter
wait_for "note added to step" && sleep 0.2 && grep -q '"type":"note".*checked the graphs' "$tmp/demo.jsonl"
ok $? "a adds a note, recorded in the audit log"

t resize-window -t rh -x 80 -y 24
sleep 0.5
wait_for "rehearse +blog page cache" && wait_for "\[b\] rollback" && [ "$(screen | wc -l)" -le 24 ]
ok $? "the screen redraws after a resize to 80x24"

keys q
wait_for "EXITED 1" && ! screen | grep -q "rehearse  blog"
ok $? "q quits and the terminal is restored (exit 1: a step failed)"

"$REHEARSE" verify -q "$tmp/demo.jsonl" &&
    grep -q '"type":"manual".*all green' "$tmp/demo.jsonl" &&
    grep -q '"type":"purge.intent"' "$tmp/demo.jsonl"
ok $? "the dashboard's audit log verifies and holds every action"

# NO_COLOR: no colour escapes on the screen.
start NO_COLOR=1 "$REHEARSE" run --read-only "$tmp/rb/demo.yml"
wait_for "READ-ONLY" && ! t capture-pane -p -e -t rh | grep -q $'\e\[3[0-7]m\|\e\[4[0-7]m\|38;5'
ok $? "NO_COLOR: no colours; --read-only shows its banner"

keys j Enter
sleep 0.5
wait_for "^> +2 (–|-)" 5 && [ "$(cat "$STAGE_VERSION_FILE")" = 1.5.2 ] && keys s && wait_for "read-only: no action keys"
ok $? "--read-only: the command step only skips, action keys are refused"
keys q
wait_for "EXITED"

# A monochrome terminal: no colour at all, bold and reverse instead.
start TERM=vt100 "$REHEARSE" run --read-only "$tmp/rb/demo.yml"
wait_for "READ-ONLY" && ! t capture-pane -p -e -t rh | grep -q $'\e\[3[0-7]m\|\e\[4[0-7]m'
ok $? "a monochrome terminal (TERM=vt100) gets no colour"
keys q
wait_for "EXITED"

# Without a UTF-8 locale the glyphs fall back to ASCII.
start LANG=C LC_ALL=C "$REHEARSE" run --read-only "$tmp/rb/demo.yml"
wait_for "^> +1 \. Record the baseline" && ! screen | grep -q "·"
ok $? "without a UTF-8 locale the screen uses ASCII glyphs"
keys q
wait_for "EXITED"

# A large purge: the count must be typed; a wrong answer does nothing.
redis-cli -p $rport FLUSHALL >/dev/null
i=0
while [ $i -lt 1500 ]; do echo "SET anp:page:/blog/p$i v"; i=$((i + 1)); done |
    redis-cli -p $rport >/dev/null
cat >"$tmp/rb/big.yml" <<EOR
runbook: big purge
owner: ops
redis: { url: "redis://127.0.0.1:$rport/0" }
routes:
  - { name: blog, keys: ["anp:page:/blog/*"] }
steps:
  - { title: Purge the blog, purge: blog }
EOR
start "$REHEARSE" run --audit "$tmp/big.jsonl" "$tmp/rb/big.yml"
wait_for "Purge the blog" && keys Enter && wait_for "type 1500 to confirm" &&
    keys 1499 Enter && wait_for "did not match" &&
    [ "$(redis-cli -p $rport DBSIZE)" -ge 1500 ]
ok $? "over 1,000 keys the count must be typed; a wrong count purges nothing"
keys q
wait_for "EXITED"
start "$REHEARSE" run --audit "$tmp/big2.jsonl" "$tmp/rb/big.yml"
wait_for "Purge the blog" && keys Enter && wait_for "type 1500 to confirm" &&
    keys 1500 Enter && wait_for "^> +1 ✔" && [ "$(redis-cli -p $rport DBSIZE)" -lt 10 ]
ok $? "typing the count purges"
keys q
wait_for "EXITED"

# confirm: true on a step that changes nothing: the dashboard asks first.
cat >"$tmp/rb/confirm.yml" <<EOR
runbook: confirm first
owner: ops
http: { base_url: "http://127.0.0.1:$sport" }
routes:
  - { name: version, path: /version, expect: { status: 200 } }
steps:
  - { title: Probe after asking, http: version, why: production traffic, confirm: true }
EOR
start "$REHEARSE" run --audit "$tmp/confirm.jsonl" "$tmp/rb/confirm.yml"
wait_for "Probe after asking" && keys Enter && wait_for "Start this step\?" &&
    screen | grep -q "confirm: true" && keys n && wait_for "cancelled: nothing done" &&
    [ "$(step_glyph 1)" = "·" ] && ! grep -q '"type":"http.result"' "$tmp/confirm.jsonl"
ok $? "confirm: true on an http step asks first; no sends nothing"
keys Enter && wait_for "Start this step\?" && keys y && wait_for "^> +1 ✔" &&
    grep -q '"type":"http.result"' "$tmp/confirm.jsonl"
ok $? "confirm: true: yes runs the step"
keys q
wait_for "EXITED"

# Quit in the middle of a step: the command is stopped and recorded.
cat >"$tmp/rb/slow.yml" <<EOR
runbook: slow
owner: ops
redis: { url: "redis://127.0.0.1:$rport/0", timeout_ms: 300 }
http: { base_url: "http://127.0.0.1:$sport", timeout_ms: 30000 }
routes:
  - { name: hung, url: "http://127.0.0.1:$rport/" }
steps:
  - { title: Something slow, run: [sleep, "60"] }
  - { title: Probe, http: hung }
EOR
start "$REHEARSE" run --audit "$tmp/slow.jsonl" "$tmp/rb/slow.yml"
wait_for "Something slow" && keys j s && wait_for "skip: why" && keys "not today" Enter &&
    wait_for "^> +2 –" && keys k
ok $? "s skips a step after asking why"
wait_for "Something slow" && keys Enter && wait_for "Run this command" && keys y
sleep 0.5
keys q
wait_for "Something is running" && keys y && wait_for "EXITED" &&
    "$REHEARSE" verify -q "$tmp/slow.jsonl" && grep -q '"type":"run.done"' "$tmp/slow.jsonl" &&
    grep -q '"type":"step.result".*"verdict":"skipped".*not today' "$tmp/slow.jsonl"
ok $? "quitting in the middle of a step stops it and records it; the log is complete"

# Redis stopped, an HTTP route that never answers (the stopped Redis port):
# every key still answers at once.
start "$REHEARSE" run --audit "$tmp/hung.jsonl" "$tmp/rb/slow.yml"
wait_for "Something slow"
kill -STOP $rpid
wait_for "hung +anon +waiting" 10 && wait_for "redis (down|connecting)" 10
ok $? "a stopped Redis and a hung route show as waiting and down"

worst=0
for k in j k j k j k; do
	t0=$(date +%s%N)
	keys $k
	target=$([ $k = j ] && echo 2 || echo 1)
	until screen | grep -q -E "^> +$target "; do
		[ $(( ($(date +%s%N) - t0) / 1000000 )) -gt 3000 ] && break
		sleep 0.01
	done
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	[ $ms -gt $worst ] && worst=$ms
done
[ $worst -lt 3000 ]
ok $? "keys keep working while Redis and HTTP hang (slowest key to screen: ${worst} ms, polled)"
kill -CONT $rpid

# SIGTERM: the terminal is restored and session.end is written.
# This test's rehearse only: other tests run in parallel.
pane=$(t display-message -p -t rh '#{pane_pid}')
if [ "$(cat "/proc/$pane/comm" 2>/dev/null)" = rehearse ]; then pid=$pane
else pid=$(pgrep -P "$pane" -x rehearse); fi
kill -TERM "$pid"
wait_for "EXITED" && "$REHEARSE" verify -q "$tmp/hung.jsonl"
ok $? "SIGTERM: the terminal is restored and the log ends with session.end"

echo "1..$n"
