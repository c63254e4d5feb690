#!/bin/bash
# replay.sh: `rehearse replay` in a real terminal (tmux): a recorded
# rehearsal browsed (steps, timeline, detail, filters, search, playback),
# its screens compared with expected dumps (tests/screens/replay-*.txt),
# --follow on a growing log, a tampered log, a hostile log, the picker, and
# the proof that replay is read-only: under strace it connects nowhere,
# executes nothing and writes no file, and it runs in a network namespace
# without a network.  Speaks TAP.
set -u
# Patterns below match glyphs: the test sets its own locale.
LC_ALL=C.UTF-8 LANG=C.UTF-8; export LC_ALL LANG
: "${REHEARSE:=./rehearse}" "${AUDIT_TOOL:=./tests/tools/audit_tool}" "${top_srcdir:=.}"
REHEARSE=$(cd "$(dirname "$REHEARSE")" && pwd)/$(basename "$REHEARSE")
tmp=$(mktemp -d)
tmux_session=rp tmux_cols=120 tmux_rows=32
. "$top_srcdir/tests/lib.sh"
ok_diag=ok_screen
rows() {	# rows REGEX: timeline rows whose type matches
	screen | grep -c -E "│ +[#]? *[0-9]+ [0-9:.]+ +. $1"
}

# A rehearsal to replay: its commands leave files behind when they run, and
# one prints escape sequences that would clear the screen and retitle it.
mkdir -p "$tmp/rb"
cat >"$tmp/rb/rb.yml" <<'EOF'
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
steps:
  - title: Deploy the change
    run: sh -c 'touch deploy-ran; printf "line one\n\033[2J\033]0;pwned\007still here\n"'
  - title: Break on purpose
    run: sh -c 'echo broken; exit 3'
  - title: Sign off
    manual: Look at the page.
EOF
log="$tmp/log.jsonl"
"$REHEARSE" run --batch --yes --audit "$log" "$tmp/rb/rb.yml" >/dev/null 2>&1
[ -f "$tmp/rb/deploy-ran" ] && rm -f "$tmp/rb/deploy-ran"
sum=$(sha256sum "$log")

start "$REHEARSE" replay --max-wait 0.05 "$log"
wait_for "intact: 13 records, chain verified" && screen | grep -q "replay rehearsal  env: test  owner: qa on-call" &&
    screen | grep -q -E "^ +2 ✘ Break on purpose" && screen | grep -q -E "^ +1 ✔ Deploy the change" &&
    [ "$(rows '[a-z]')" = 13 ]
ok $? "replay shows the rehearsal: header, verification, steps with verdicts, every record"

keys x
wait_for "the first failure, line 8" && keys Enter && wait_for "record on line 8" &&
    screen | grep -q "^data.exit: 3" && screen | grep -q "^    | broken"
ok $? "x jumps to the first failure; Enter shows the record in full with its output"

keys q t "run.done" Enter
wait_for "filter: type run.done" && [ "$(rows 'run.done')" = 2 ] && [ "$(rows '[a-z]')" = 2 ] &&
    keys g Enter && wait_for 'still here' &&
    screen | grep -q -F '    | \x1b[2J\x1b]0;pwned\x07still here' &&
    [ "$(t display -p -t rp '#{pane_title}')" != pwned ]
ok $? "escape sequences in command output are shown escaped, never obeyed"

keys q c F
wait_for "filter: failures" && [ "$(rows '[a-z]')" = 2 ] && [ "$(rows 'run.done')" = 1 ] &&
    keys c s 3 Enter && wait_for "filter: step 3" && [ "$(rows '[a-z]')" = 3 ] && [ "$(rows 'manual')" = 1 ] &&
    keys c && wait_for "filters cleared" && [ "$(rows '[a-z]')" = 13 ]
ok $? "filters: failures only, one step, cleared"

keys Tab j Enter
wait_for "the records of step 2" && [ "$(rows '[a-z]')" = 4 ] && [ "$(rows 'run.intent')" = 1 ] && keys c
ok $? "Enter on a step in the step list shows its records"

keys / BROKEN Enter
wait_for '"BROKEN" on line (7|8)' && keys n && wait_for '"BROKEN" on line' && keys / nothing-like-this Enter &&
    wait_for "not found: nothing-like-this"
ok $? "/ searches every record in any case; n finds the next"

keys g ' '
wait_for "played to the end" 15
ok $? "space plays the records back in order to the end"

keys q
start "$REHEARSE" replay --speed 0.01 "$log"
wait_for "intact: 13 records" && keys g ' ' && wait_for "playing at 0.01x" && keys + &&
    wait_for "speed 0.02x" && wait_for "PLAYING 0.02x" && keys ' ' && wait_for "paused on line [0-9]+" &&
    sleep 0.5 && ! screen | grep -q "PLAYING"
ok $? "playback at a chosen speed: + doubles it, space pauses"

keys '?'
wait_for "rehearse replay: keys" && screen | grep -q "Nothing here writes, connects or runs anything" && keys x
ok $? "? shows the keys"

keys q
wait_for "EXITED 0" && ! screen | grep -q "intact: 13"
ok $? "q quits, the terminal is restored, exit 0"

# Screen dumps: replay's screens are deterministic but for a few fields,
# which norm replaces before comparing with tests/screens/replay-NAME.txt:
# the temporary folder, dates and times, durations, byte offsets, session
# ids and hashes, user@host.  Drawn 250 columns wide, so that no line is
# cut where a normalised field changed its length.
# WRITE_DUMPS=1 writes the dumps instead (then look at git diff).
me="$(id -un)@$(hostname)"
norm() {
	sed -E -e "s|$tmp|TMP|g" -e "s|by $me on $(hostname)|by USER@HOST on HOST|g" \
	    -e "s|$me|USER@HOST|g" \
	    -e 's/[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9:.]+Z)?/DATE/g' \
	    -e 's/[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?/TIME/g' \
	    -e 's/[0-9a-f]{32,64}/HEX/g' \
	    -e 's/[0-9]+(\.[0-9]+)? (ms|s)\b/N \2/g' -e 's/^(data\.ms: ).*/\1N/' \
	    -e 's/byte [0-9]+, [0-9]+ bytes/byte N, N bytes/' -e 's/ +$//'
}
# dump NAME [EDGE]: the screen matches its dump (retried for 3 s).  With
# EDGE, a text on the screen that ends at the right edge of a box drawn
# over the timeline: lines are compared up to that column only, since what
# shows right of the box is the rest of records whose hidden part (a
# duration) changes its length from run to run.
dump() {
	local want="$top_srcdir/tests/screens/replay-$1.txt" end=$(( $(now_ms) + 3000 ))
	local cut=0 line
	while :; do
		screen | norm >"$tmp/dump-$1.txt"
		if [ -n "${WRITE_DUMPS:-}" ]; then
			cp "$tmp/dump-$1.txt" "$want"
			return 0
		fi
		if [ -n "${2:-}" ]; then
			line=$(grep -F -m1 -- "$2" "$want")
			line=${line%%"$2"*}$2
			cut=${#line}
			sed -E "s/^(.{$cut}).*/\1/; s/ +\$//" "$want" >"$tmp/want-$1.txt"
			sed -E "s/^(.{$cut}).*/\1/; s/ +\$//" "$tmp/dump-$1.txt" >"$tmp/got-$1.txt"
			diff -u "$tmp/want-$1.txt" "$tmp/got-$1.txt" >"$tmp/dump.diff" && return 0
		else
			diff -u "$want" "$tmp/dump-$1.txt" >"$tmp/dump.diff" && return 0
		fi
		[ "$(now_ms)" -lt $end ] || break
		sleep 0.1
	done
	sed 's/^/# /' "$tmp/dump.diff" | head -40
	return 1
}
start -x 250 -y 32 "$REHEARSE" replay --max-wait 0.05 "$log"
wait_for "intact: 13 records, chain verified"
dump main
ok $? "screen dump: the opening screen (tests/screens/replay-main.txt)"
keys x Enter
wait_for "record on line 8"
dump detail
ok $? "screen dump: the first failure's record in full (replay-detail.txt)"
keys q F
wait_for "filter: failures"
dump failures
ok $? "screen dump: failures only (replay-failures.txt)"
keys c '?'
wait_for "rehearse replay: keys"
dump help "steps <-> timeline (Enter on a step: its records)"
ok $? "screen dump: the help box over the timeline (replay-help.txt)"
keys q q
wait_for "EXITED 0"

# Read-only by construction.
if command -v strace >/dev/null; then
	# LeakSanitizer cannot run under ptrace: off for this run (ASan builds).
	start ASAN_OPTIONS=detect_leaks=0 strace -f -y -o "$tmp/trace" -e trace=execve,execveat,fork,vfork,clone,clone3,connect,socket,bind,sendto,openat,open,creat,write,writev,pwrite64,rename,renameat,renameat2,unlink,unlinkat,mkdir,mkdirat,truncate,ftruncate,link,linkat,symlink,symlinkat,chmod,fchmod,fchmodat \
	    "$REHEARSE" replay --max-wait 0.01 "$log"
	wait_for "intact: 13 records" && keys x Enter && wait_for "record on line 8" && keys q ' ' &&
	    wait_for "played to the end" && keys / deploy Enter q
	wait_for "EXITED 0"
	grep -v -E '^[0-9]+ +(write|writev)\([12]</dev/pts/[0-9]+>' "$tmp/trace" | grep -v '+++ exited with 0 +++' >"$tmp/trace.rest"
	[ "$(grep -c 'execve(' "$tmp/trace.rest")" = 1 ] &&
	    ! grep -q -E '(connect|socket|bind|sendto|fork|vfork|clone|clone3|execveat)\(' "$tmp/trace.rest" &&
	    ! grep -E '(openat|open)\(' "$tmp/trace.rest" | grep -q -E 'O_WRONLY|O_RDWR|O_CREAT|O_TRUNC' &&
	    ! grep -q -E '(creat|write|writev|pwrite64|rename|renameat|renameat2|unlink|unlinkat|mkdir|mkdirat|truncate|ftruncate|link|linkat|symlink|symlinkat|chmod|fchmod|fchmodat)\(' "$tmp/trace.rest" &&
	    grep -q 'openat(.*log.jsonl", O_RDONLY' "$tmp/trace.rest" &&
	    [ ! -e "$tmp/rb/deploy-ran" ] && [ ! -e "$tmp/rb/undo-ran" ] && [ "$(sha256sum "$log")" = "$sum" ]
	r=$?
	[ $r -eq 0 ] || grep -v -E 'O_RDONLY|execve' "$tmp/trace.rest" | sed 's/^/# /' | head -20
	ok $r "read-only: under strace, no connect, one execve (itself), no fork, every write to the terminal, no file opened for writing; the runbook's commands did not run; the log is unchanged"
else
	ok 1 "strace is needed for the read-only proof (apt-get install strace)"
fi

if unshare --net true 2>/dev/null; then
	start unshare --net "$REHEARSE" replay "$log"
	wait_for "intact: 13 records" && keys q && wait_for "EXITED 0"
	ok $? "replay works in a fresh network namespace, with no network at all"
else
	skip "a fresh network namespace (unshare --net) needs root or user namespaces"
fi

# --follow: an observer's view while records arrive.
head -n 5 "$log" >"$tmp/f.jsonl"
start "$REHEARSE" replay --follow "$tmp/f.jsonl"
wait_for "5 records +0 failures +\[FOLLOWING\]" && wait_for "intact so far, 5 records, not ended"
r1=$?
sed -n '6,9p' "$log" >>"$tmp/f.jsonl"
sed -n 10p "$log" | head -c 60 >>"$tmp/f.jsonl"
wait_for "9 records" && sleep 0.6 && screen | grep -q "9 records" && ! screen | grep -q "(torn)"
r2=$?
sed -n 10p "$log" | tail -c +61 >>"$tmp/f.jsonl"
sed -n '11,$p' "$log" >>"$tmp/f.jsonl"
wait_for "intact: 13 records" && wait_for "FOLLOWING: the session ended" && screen | grep -q "session.end"
[ $r1 -eq 0 ] && [ $r2 -eq 0 ] && [ $? -eq 0 ]
ok $? "--follow shows records as they are appended, waits for a line being written, and sees the end"
keys q

# A tampered log: the header says where.
sed 's/"exit":3,/"exit":0,/' "$log" >"$tmp/tampered.jsonl"
start "$REHEARSE" replay "$tmp/tampered.jsonl"
wait_for "TAMPERED at record 8 \(line 8\)" && screen | grep -q -E "│#"
ok $? "a tampered log: the header names the first bad record, the records from it on are marked"
keys q

# A hostile log: escape sequences raw and encoded, invalid UTF-8, nesting
# deeper than the parser takes, a line over 1 MiB, a torn tail.
{
	printf '{"seq":1,"ts":"\\u001b[2J","session":"\\u001b]0;pwned\\u0007","actor":"\\u009b31m","type":"session.start","step":null,"data":{"runbook":{"title":"\\u202egnp.exe\\u001b]0;pwned\\u0007"}}}\n'
	printf '\033]0;pwned\007\033[2J\033[H \xff\xfe\xc2\x9b31m raw\n'
	head -c 100000 /dev/zero | tr '\0' '['; echo
	printf '{"seq":4,"type":"note","data":{"text":"'; head -c 1100000 /dev/zero | tr '\0' 'a'; printf '"}}\n'
	printf '{"seq":5,"type":"run.done","step":1,"data":{"exit":1,"output":"a\\n\\u001b[31mred\\u001b]0;pwned\\u0007\\n"}}\n'
	printf '{"seq":6,"type":"no'
} >"$tmp/hostile.jsonl"
start "$REHEARSE" replay "$tmp/hostile.jsonl"
wait_for "\(overlong\)" && wait_for "\(torn\)" && keys j Enter && wait_for "record on line 2" &&
    keys q G Enter && wait_for "record on line 6" && keys q && keys k Enter && wait_for '\\x1b\[31mred' && keys q &&
    wait_for "TAMPERED at line 1" && [ "$(t display -p -t rp '#{pane_title}')" != pwned ] &&
    screen | grep -q -F '\u202egnp.exe\x1b]0;pwned\x07'
ok $? "a hostile log (escapes, invalid UTF-8, deep nesting, a 1 MiB line, torn tail) is shown inert and browsable"
keys q
wait_for "EXITED 0"
ok $? "the hostile log did not crash the viewer"

# The picker: the logs of the state directory.
mkdir -p "$tmp/state/rehearse"
cp "$log" "$tmp/state/rehearse/20261101T100000Z-replay-rehearsal.jsonl"
cp "$tmp/tampered.jsonl" "$tmp/state/rehearse/20261102T100000Z-replay-rehearsal.jsonl"
start XDG_STATE_HOME="$tmp/state" "$REHEARSE" replay
wait_for "2 audit logs" && wait_for "^> [0-9-]+ [0-9:]+ +replay rehearsal .*TAMPERED at record 8" &&
    wait_for "^  [0-9-]+ [0-9:]+ +replay rehearsal +[a-z]+@[^ ]+ +2 pass 1 fail +intact"
ok $? "without a log, a picker lists the logs: date, runbook, operator, step verdicts, verification"

keys j Enter
wait_for "intact: 13 records" && keys q && wait_for "2 audit logs" && keys q && wait_for "EXITED 0"
ok $? "Enter opens a log, q goes back to the list, q again quits"

start XDG_STATE_HOME="$tmp/none" "$REHEARSE" replay
wait_for "EXITED 2" && screen | grep -q "no audit logs: $tmp/none/rehearse does not exist"
ok $? "no state directory: a clear error, exit 2"

"$REHEARSE" replay "$log" </dev/null >"$tmp/out" 2>&1
[ $? -eq 2 ] && grep -q "replay needs a terminal" "$tmp/out"
ok $? "without a terminal: a clear error, exit 2"

start "$REHEARSE" replay "$tmp/missing.jsonl"
wait_for "EXITED 2" && screen | grep -q "missing.jsonl: cannot open"
ok $? "a missing log: an error naming it, exit 2"

# Memory follows the screen, not the log.
rss() {	# rss LOG RECORDS: peak RSS in KB of a replay that indexed it all
	rm -f "$tmp/rss"
	# AddressSanitizer's quarantine would hold freed memory back.
	start env ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0" \
	    /usr/bin/time -f %M -o "$tmp/rss" "$REHEARSE" replay "$1"
	wait_for "intact: $2 records" 60 && keys G && sleep 0.2 && keys q && wait_for "EXITED 0"
}
"$AUDIT_TOOL" synth "$tmp/small.jsonl" "$top_srcdir/runbooks/demo.yml" 1000
"$AUDIT_TOOL" synth "$tmp/large.jsonl" "$top_srcdir/runbooks/demo.yml" 300000
rss "$tmp/small.jsonl" 1000
small=$(cat "$tmp/rss" 2>/dev/null)
rss "$tmp/large.jsonl" 300000
large=$(cat "$tmp/rss" 2>/dev/null)
echo "# peak RSS: 1,000 records ${small} KB, 300,000 records ${large} KB"
[ -n "$small" ] && [ -n "$large" ] && [ "$large" -lt $((small + 4096)) ]
ok $? "memory does not grow with the log (300,000 records within 4 MB of 1,000)"

echo "1..$n"
