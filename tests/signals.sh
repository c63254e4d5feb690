#!/bin/bash
# signals.sh: batch mode ends cleanly on every way out.  `run --batch`
# hung up (an ssh drop) or writing to a reader that went away (`2>&1 |
# head -3`) stops the command's process group, records its result and ends
# the log, as on SIGTERM; `check | head -1` ends with its verdict's exit
# status, never 141.  Speaks TAP.  Needs $REHEARSE.
set -u
: "${REHEARSE:=./rehearse}" "${top_srcdir:=.}"
tmp=$(mktemp -d)
bg=
. "$top_srcdir/tests/lib.sh"
cleanup_hook() {
	[ -z "$bg" ] || kill "$bg" 2>/dev/null
	[ ! -s "$tmp/pgid" ] || kill -KILL -- "-$(cat "$tmp/pgid")" 2>/dev/null
}
ok_lines=20

# A long command: writes its process group id, then ten lines 0.1 s
# apart, then waits, silent, for a child that sleeps: nothing kills it
# but a signal to its group (not even SIGPIPE: it no longer writes).
export PGID_FILE="$tmp/pgid"
cat >"$tmp/long.yml" <<'EOR'
runbook: long command
owner: qa
steps:
  - title: Something long
    run:
      command: ["sh", "-c", "echo $$ >\"$1\"; sleep 60 & for i in 1 2 3 4 5 6 7 8 9 10; do echo tick; sleep 0.1; done; wait", "sh", "${PGID_FILE}"]
      timeout_s: 60
  - { title: After it, manual: never reached }
EOR

wait_pgid() {	# until the command wrote its group id
	i=0
	while [ ! -s "$tmp/pgid" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
}
group_gone() {	# no process is left in the command's group
	[ -s "$tmp/pgid" ] || return 1
	i=0
	while kill -0 -- "-$(cat "$tmp/pgid")" 2>/dev/null && [ $i -lt 100 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	! kill -0 -- "-$(cat "$tmp/pgid")" 2>/dev/null
}
log_ended() {	# log_ended LOG: session.end last, run.intent with a result
	intent=$(sed -n 's/.*"seq":\([0-9]*\),.*"type":"run.intent".*/\1/p' "$1")
	[ -n "$intent" ] &&
	    grep -q "\"type\":\"run.done\".*\"intent\":$intent[,}]" "$1" &&
	    tail -1 "$1" | grep -q '"type":"session.end"' &&
	    "$REHEARSE" verify -q "$1" >/dev/null
}

# SIGHUP during a long command.
rm -f "$tmp/pgid"
timeout 30 "$REHEARSE" run --batch --yes --audit "$tmp/hup.jsonl" "$tmp/long.yml" \
    >"$tmp/out" 2>"$tmp/err" &
bg=$!
wait_pgid
sleep 0.3
kill -HUP $bg
wait $bg
st=$?
bg=
[ $st = 1 ] && grep -q "rehearse: hung up: stopping the current step" "$tmp/err"
ok $? "run --batch hung up exits 1, not 129 (exit $st)"
log_ended "$tmp/hup.jsonl" && grep -q '"type":"run.done".*"signal":15' "$tmp/hup.jsonl" &&
    grep -q '"type":"step.result","step":2,.*"verdict":"skipped".*"reason":"interrupted"' "$tmp/hup.jsonl"
ok $? "after SIGHUP the intent has its result, the rest is skipped and the log ends"
group_gone
ok $? "after SIGHUP the command's process group is gone"

# stderr's reader goes away: `2>&1 | head -3`.
rm -f "$tmp/pgid"
set -o pipefail
timeout 30 "$REHEARSE" run --batch --yes --audit "$tmp/pipe.jsonl" "$tmp/long.yml" 2>&1 |
    head -3 >"$tmp/out"
st=$?
set +o pipefail
[ $st = 1 ] && [ "$(wc -l <"$tmp/out")" = 3 ]
ok $? "run --batch 2>&1 | head -3 exits 1, not 141 (exit $st)"
log_ended "$tmp/pipe.jsonl" && grep -q '"type":"run.done".*"signal":15' "$tmp/pipe.jsonl"
ok $? "after the reader went away the intent has its result and the log ends"
group_gone
ok $? "after the reader went away the command's process group is gone"

# stdout's reader goes away: the summary cannot be written; the log ends.
rm -f "$tmp/pgid"
cat >"$tmp/short.yml" <<'EOR'
runbook: short
owner: qa
steps:
  - { title: Quick, run: ["true"] }
EOR
set -o pipefail
timeout 30 "$REHEARSE" run --batch --yes --audit "$tmp/out.jsonl" "$tmp/short.yml" 2>"$tmp/err" |
    true
st=$?
set +o pipefail
[ $st = 0 ] && tail -1 "$tmp/out.jsonl" | grep -q '"type":"session.end"'
ok $? "run --batch | true: the run ends with its status and its log (exit $st)"

# check | head -1: the verdict's exit status, however much is left unread.
{
	printf 'runbook: many checks\nowner: qa\nsteps:\n'
	for i in $(seq 1 400); do
		printf '  - { title: "manual step %s %s", manual: look }\n' "$i" \
		    "with a long title so that the output is more than a pipe holds"
	done
} >"$tmp/many.yml"
set -o pipefail
timeout 30 "$REHEARSE" check "$tmp/many.yml" 2>"$tmp/err" | head -1 >"$tmp/out"
st=$?
set +o pipefail
[ $st = 0 ] && grep -q "^skip step 1: manual step 1 " "$tmp/out"
ok $? "check | head -1 exits with the verdict, 0, not 141 (exit $st)"
{
	cat "$tmp/many.yml"
	printf 'http: { base_url: "http://127.0.0.1:1" }\n'
	printf 'routes: [ { name: r, path: / } ]\n'
} >"$tmp/fail.yml"
sed -i 's/^steps:$/steps:\n  - { title: refused, http: r }/' "$tmp/fail.yml"
set -o pipefail
timeout 30 "$REHEARSE" check "$tmp/fail.yml" 2>"$tmp/err" | head -1 >"$tmp/out"
st=$?
set +o pipefail
[ $st = 1 ] && grep -q "^FAIL step 1: refused" "$tmp/out"
ok $? "check | head -1 exits with the verdict, 1 for a failed check (exit $st)"

echo "1..$n"
