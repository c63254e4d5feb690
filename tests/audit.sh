#!/bin/sh
# audit.sh: the audit log through real processes: `rehearse verify` on logs
# that were edited, cut, crashed (kill -9) and filled up (a real full disk
# on a tmpfs).  Speaks TAP.  Needs $REHEARSE, $AUDIT_TOOL and $top_srcdir.
set -u
: "${REHEARSE:=./rehearse}" "${AUDIT_TOOL:=./tests/tools/audit_tool}" "${top_srcdir:=.}"
tmp=$(mktemp -d)
mnt=
. "$top_srcdir/tests/lib.sh"
cleanup_hook() { [ -z "$mnt" ] || umount "$mnt" 2>/dev/null; }
ok_lines=20
rb="$top_srcdir/runbooks/minimal.yml"

verify() {	# verify ARGS...: status in $tmp/rc
	"$REHEARSE" verify "$@" >"$tmp/out" 2>"$tmp/err"
	echo $? >"$tmp/rc"
}
rc() { cat "$tmp/rc"; }

fresh() {	# fresh NAME RECORDS: a finished log
	rm -f "$tmp/$1"
	"$AUDIT_TOOL" write "$tmp/$1" "$rb" "$2" >/dev/null || echo "audit_tool failed" >&2
}

fresh a.jsonl 5
verify "$tmp/a.jsonl"
[ "$(rc)" = 0 ] && grep -q "a.jsonl: intact: 7 records, session [0-9a-f]\{32\}" "$tmp/out"
ok $? "an intact log verifies (exit 0)"

verify -q "$tmp/a.jsonl"
[ "$(rc)" = 0 ] && [ ! -s "$tmp/out" ]
ok $? "verify -q prints nothing for an intact log"

[ "$(stat -c %a "$tmp/a.jsonl")" = 600 ]
ok $? "the log is mode 0600"

# Records are safe to cat: no ESC, C1 or bidi bytes in the file.
! LC_ALL=C grep -q "$(printf '\033')" "$tmp/a.jsonl" &&
    ! LC_ALL=C grep -q "$(printf '\302\233')" "$tmp/a.jsonl" &&
    ! LC_ALL=C grep -q "$(printf '\342\200\256')" "$tmp/a.jsonl" &&
    grep -q -i '\\u001b\[31m red \\u009b bidi \\u202e del \\u007f' "$tmp/a.jsonl"
ok $? "control, C1 and bidi characters are escaped in the file"

sed -i '4s/"i":2/"i":3/' "$tmp/a.jsonl"
verify "$tmp/a.jsonl"
[ "$(rc)" = 1 ] && grep -q "a.jsonl:4: record 4 (line 4) was edited" "$tmp/err"
ok $? "an edited record is named (exit 1)"

fresh a.jsonl 5
sed -i '3d' "$tmp/a.jsonl"
verify "$tmp/a.jsonl"
[ "$(rc)" = 1 ] && grep -q "record 3 is missing" "$tmp/err"
ok $? "a removed record is named"

fresh a.jsonl 5
awk 'NR == 3 { held = $0; next } NR == 4 { print; print held; next } { print }' \
    "$tmp/a.jsonl" >"$tmp/swap" && mv "$tmp/swap" "$tmp/a.jsonl"
verify "$tmp/a.jsonl"
[ "$(rc)" = 1 ] && grep -q "a.jsonl:3: record 3 is missing (line 3 holds record 4)" "$tmp/err"
ok $? "reordered records are found"

fresh a.jsonl 5
sed -i '5p' "$tmp/a.jsonl"
verify "$tmp/a.jsonl"
[ "$(rc)" = 1 ] && grep -q "reordered or inserted" "$tmp/err"
ok $? "a duplicated (inserted) record is found"

fresh a.jsonl 5
head -c -40 "$tmp/a.jsonl" >"$tmp/cut" && mv "$tmp/cut" "$tmp/a.jsonl"
verify "$tmp/a.jsonl"
[ "$(rc)" = 1 ] && grep -q "torn tail: line 7" "$tmp/err"
ok $? "a torn tail is reported as such, not as an edit"

rm -f "$tmp/o.jsonl"
"$AUDIT_TOOL" open "$tmp/o.jsonl" "$rb" 3 >/dev/null
verify "$tmp/o.jsonl"
[ "$(rc)" = 1 ] && grep -q "never ended" "$tmp/err"
ok $? "a log without session.end never ended (exit 1)"

verify "$tmp/nothing.jsonl"
[ "$(rc)" = 2 ] && grep -q "cannot open" "$tmp/err"
ok $? "an unreadable log is exit 2"

verify
[ "$(rc)" = 2 ]
ok $? "verify without a log is a usage error"

verify "$tmp/a.jsonl" "$tmp/nothing.jsonl" "$tmp/o.jsonl"
[ "$(rc)" = 2 ]
ok $? "several logs: the worst status wins"

# A hostile line: its bytes never reach the terminal raw.
fresh h.jsonl 1
printf '{"seq":\033]0;pwned\007}\n' >>"$tmp/h.jsonl"
verify "$tmp/h.jsonl"
[ "$(rc)" = 1 ] && ! grep -q "$(printf '\033')" "$tmp/err"
ok $? "hostile bytes in a log are escaped in verify's output"

# Sealed logs.
printf 'a key that is long enough\n' >"$tmp/key"
chmod 600 "$tmp/key"
rm -f "$tmp/s.jsonl"
"$AUDIT_TOOL" write "$tmp/s.jsonl" "$rb" 3 "$tmp/key" >/dev/null
verify --key "$tmp/key" "$tmp/s.jsonl"
[ "$(rc)" = 0 ] && grep -q "sealed" "$tmp/out"
ok $? "a sealed log verifies with its key"
verify "$tmp/s.jsonl"
[ "$(rc)" = 2 ] && grep -q "needs the key" "$tmp/err"
ok $? "a sealed log without the key is exit 2"

# kill -9 in the middle of a rehearsal: every acknowledged record is there.
rm -f "$tmp/k.jsonl"
: >"$tmp/acked"	# before the child opens it: the loop below reads it
"$AUDIT_TOOL" loop "$tmp/k.jsonl" "$rb" >"$tmp/acked" 2>"$tmp/loop.err" &
pid=$!
i=0
while [ "$(wc -l <"$tmp/acked")" -lt 30 ] && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
kill -9 $pid
wait $pid 2>/dev/null
acked=$(grep -E '^[0-9]+$' "$tmp/acked" | tail -1)
verify "$tmp/k.jsonl"
last=$(sed -n 's/.*last record is \([0-9]*\).*/\1/p; s/.*after record \([0-9]*\).*/\1/p' "$tmp/err")
[ "$(rc)" = 1 ] && [ -n "$acked" ] && [ -n "$last" ] && [ "$last" -ge "$acked" ]
ok $? "after kill -9 every acknowledged record is in the log (acked $acked, log $last)"
[ -n "$acked" ] || { echo "# waited $i; loop said:"; sed 's/^/# /' "$tmp/loop.err"; }

"$AUDIT_TOOL" resume "$tmp/k.jsonl" "$rb" 2 >/dev/null
verify "$tmp/k.jsonl"
[ "$(rc)" = 0 ] && grep -q "resumed 1 time" "$tmp/out"
ok $? "a crashed log is resumed and verifies intact"

# Two writers on one log: the second is refused.
rm -f "$tmp/l.jsonl"
mkfifo "$tmp/fifo"
: >"$tmp/hold"
"$AUDIT_TOOL" hold "$tmp/l.jsonl" "$rb" <"$tmp/fifo" >"$tmp/hold" &
hold=$!
exec 3>"$tmp/fifo"
i=0
while ! grep -q ready "$tmp/hold" && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
"$AUDIT_TOOL" resume "$tmp/l.jsonl" "$rb" 1 >"$tmp/out" 2>"$tmp/err"
st=$?
exec 3>&-
wait $hold
[ $st = 2 ] && grep -q "in use by another rehearse session" "$tmp/err"
ok $? "a second writer on the same log is refused"

# Unsealed: a chain without a key proves order, not authorship.  A log that
# is edited and re-chained verifies, so verify and report say "unsealed".
fresh u.jsonl 3
prev=0000000000000000000000000000000000000000000000000000000000000000
sed 's/"i":1/"i":9/' "$tmp/u.jsonl" | while IFS= read -r line; do
	body="${line%,\"prev\":*},\"prev\":\"$prev\"}"
	hash=$(printf '%s' "$body" | sha256sum | cut -d' ' -f1)
	rec="${body%\}},\"hash\":\"$hash\"}"
	prev=$(printf '%s' "$rec" | sha256sum | cut -d' ' -f1)
	printf '%s\n' "$rec"
done >"$tmp/re.jsonl"
verify "$tmp/re.jsonl"
[ "$(rc)" = 0 ] && grep -q '"i":9' "$tmp/re.jsonl" &&
    grep -q "re.jsonl: intact: 5 records, .*, unsealed (a chain without a key proves order, not authorship" "$tmp/out"
ok $? "an edited, re-chained unsealed log verifies, and verify says unsealed"
"$REHEARSE" report "$tmp/re.jsonl" >"$tmp/out" 2>"$tmp/err"
grep -q "^| Audit log | intact: 5 records, unsealed (a chain without a key" "$tmp/out"
ok $? "report's header says unsealed next to intact"
verify --key "$tmp/key" "$tmp/s.jsonl"
[ "$(rc)" = 0 ] && grep -q ", sealed$" "$tmp/out" && ! grep -q unsealed "$tmp/out"
ok $? "a sealed log is not called unsealed"

# A FIFO where a log should be: refused at once, never waited on.
mkfifo "$tmp/pipe"
tiny="$tmp/tiny.yml"
printf 'runbook: tiny\nowner: qa\nsteps:\n  - { title: look, manual: look at it }\n' >"$tiny"
for cmd in verify report; do
	timeout 10 "$REHEARSE" $cmd "$tmp/pipe" >"$tmp/out" 2>"$tmp/err" </dev/null
	st=$?
	[ $st = 2 ] && grep -q "pipe: not a regular file (a FIFO)" "$tmp/err"
	ok $? "$cmd refuses a FIFO without blocking (exit $st)"
done
# replay needs a terminal: script(1) gives it one.
timeout 10 script -qec "'$REHEARSE' replay '$tmp/pipe'" /dev/null >"$tmp/out" 2>"$tmp/err" </dev/null
st=$?
[ $st = 2 ] && grep -q "pipe: not a regular file (a FIFO)" "$tmp/out"
ok $? "replay refuses a FIFO without blocking (exit $st)"
timeout 10 "$REHEARSE" run --batch --audit "$tmp/pipe" "$tiny" >"$tmp/out" 2>"$tmp/err"
st=$?
[ $st = 2 ] && grep -q "pipe: not a regular file (a FIFO)" "$tmp/err"
ok $? "run --audit refuses a FIFO without blocking (exit $st)"
timeout 10 "$REHEARSE" verify --key "$tmp/pipe" "$tmp/a.jsonl" >"$tmp/out" 2>"$tmp/err"
st=$?
[ $st = 2 ] && grep -q "pipe: not a regular file (a FIFO)" "$tmp/err"
ok $? "verify --key refuses a FIFO as the key without blocking (exit $st)"
timeout 10 "$REHEARSE" run --batch --audit "$tmp/k2.jsonl" --audit-key "$tmp/pipe" "$tiny" >"$tmp/out" 2>"$tmp/err"
st=$?
[ $st = 2 ] && grep -q "pipe: not a regular file (a FIFO)" "$tmp/err" && [ ! -e "$tmp/k2.jsonl" ]
ok $? "run --audit-key refuses a FIFO as the key without blocking (exit $st)"
timeout 10 "$REHEARSE" run --batch --audit /dev/null "$tiny" >"$tmp/out" 2>"$tmp/err"
st=$?
[ $st = 2 ] && grep -q "/dev/null: not a regular file (a character device)" "$tmp/err"
ok $? "run --audit refuses a device (exit $st)"

# The state directory: the user's own, writable by nobody else, no link.
state_run() {	# state_run XDG: a batch run logging to XDG/rehearse
	XDG_STATE_HOME="$1" timeout 10 "$REHEARSE" run --batch "$tiny" \
	    >"$tmp/out" 2>"$tmp/err"
	echo $? >"$tmp/rc"
}
mkdir -p "$tmp/st1" && mkdir -m 0777 "$tmp/st1/rehearse"
state_run "$tmp/st1"
[ "$(rc)" = 2 ] && grep -q "st1/rehearse: the audit log directory is writable by everyone (mode 0777)" "$tmp/err" &&
    [ -z "$(ls "$tmp/st1/rehearse")" ]
ok $? "a world-writable state directory is refused (exit 2), nothing written"
mkdir -p "$tmp/st2" "$tmp/elsewhere" && ln -s "$tmp/elsewhere" "$tmp/st2/rehearse"
state_run "$tmp/st2"
[ "$(rc)" = 2 ] && grep -q "st2/rehearse: the audit log directory is a symbolic link" "$tmp/err" &&
    [ -z "$(ls "$tmp/elsewhere")" ]
ok $? "a symbolic link as the state directory is not followed (exit 2)"
if [ "$(id -u)" = 0 ]; then
	mkdir -p "$tmp/st3/rehearse" && chmod 0700 "$tmp/st3/rehearse" &&
	    chown nobody "$tmp/st3/rehearse"
	state_run "$tmp/st3"
	[ "$(rc)" = 2 ] && grep -q "st3/rehearse: the audit log directory belongs to user [0-9]*, not to you" "$tmp/err"
	ok $? "a state directory owned by another user is refused (exit 2)"
else
	skip "chown to another user needs root"
fi
state_run "$tmp/st4"
[ "$(rc)" = 1 ] && [ "$(stat -c %a "$tmp/st4/rehearse")" = 700 ] &&
    log=$(ls "$tmp/st4/rehearse"/*-tiny.jsonl) && "$REHEARSE" verify -q "$log"
ok $? "a new state directory is made 0700 and used"
mkdir -m 0777 "$tmp/pub"
timeout 10 "$REHEARSE" run --batch --audit "$tmp/pub/x.jsonl" "$tiny" >"$tmp/out" 2>"$tmp/err"
st=$?
[ $st = 2 ] && grep -q "pub: the audit log directory is writable by everyone" "$tmp/err" &&
    [ ! -e "$tmp/pub/x.jsonl" ]
ok $? "--audit in a world-writable, non-sticky directory is refused (exit $st)"
chmod 1777 "$tmp/pub"
timeout 10 "$REHEARSE" run --batch --audit "$tmp/pub/x.jsonl" "$tiny" >"$tmp/out" 2>"$tmp/err"
st=$?
[ $st = 1 ] && "$REHEARSE" verify -q "$tmp/pub/x.jsonl"
ok $? "--audit in a sticky directory (like /tmp) is allowed (exit $st)"

# A real full disk: a 64 KiB tmpfs in a private mount namespace.
if [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null; then
	cat >"$tmp/full.sh" <<EOS
mount -t tmpfs -o size=64k tmpfs "$tmp/mnt" || exit 9
"$AUDIT_TOOL" loop "$tmp/mnt/f.jsonl" "$rb" >"$tmp/full.acked" 2>&1
echo \$? >"$tmp/loop.rc"
cp "$tmp/mnt/f.jsonl" "$tmp/f.jsonl"
# Now the disk is full: a new session cannot even start.
timeout 10 "$REHEARSE" run --batch --audit "$tmp/mnt/new.jsonl" "$tiny" >"$tmp/start.out" 2>"$tmp/start.err"
echo \$? >"$tmp/start.rc"
ls "$tmp/mnt" >"$tmp/start.ls"
EOS
	mkdir -p "$tmp/mnt"
	rm -f "$tmp/full.acked" "$tmp/loop.rc"
	unshare -m sh "$tmp/full.sh"
	acked=$(grep -E '^[0-9]+$' "$tmp/full.acked" 2>/dev/null | tail -1)
	verify "$tmp/f.jsonl"
	last=$(sed -n 's/.*last record is \([0-9]*\).*/\1/p; s/.*after record \([0-9]*\).*/\1/p' "$tmp/err")
	[ "$(cat "$tmp/loop.rc")" = 3 ] && grep -q "refused:.*\(No space left\|short write\)" "$tmp/full.acked" &&
	    [ "$(rc)" = 1 ] && [ -n "$acked" ] && [ "$last" = "$acked" ]
	ok $? "a full disk: the writer refuses, nothing acknowledged is lost (acked $acked)"
	[ "$(cat "$tmp/start.rc")" = 2 ] && grep -q "new.jsonl: .*\(No space left\|short write\)" "$tmp/start.err" &&
	    ! grep -q new.jsonl "$tmp/start.ls"
	ok $? "a start on a full disk fails (exit 2) and leaves no empty log behind"
else
	skip "a full disk needs root and a mount namespace (unshare -m) to mount a tmpfs"
	skip "a start on a full disk needs root and a mount namespace (unshare -m)"
fi

# Constant memory: a log 200 times larger does not need more memory.
if command -v /usr/bin/time >/dev/null; then
	"$AUDIT_TOOL" synth "$tmp/small.jsonl" "$rb" 1000
	"$AUDIT_TOOL" synth "$tmp/big.jsonl" "$rb" 200000
	# (AddressSanitizer's quarantine would hold freed memory back.)
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0"
	/usr/bin/time -f %M "$REHEARSE" verify -q "$tmp/small.jsonl" 2>"$tmp/m1" >/dev/null
	/usr/bin/time -f %M "$REHEARSE" verify -q "$tmp/big.jsonl" 2>"$tmp/m2" >/dev/null
	m1=$(tail -1 "$tmp/m1")
	m2=$(tail -1 "$tmp/m2")
	[ $((m2 - m1)) -lt 2048 ]
	ok $? "verify runs in constant memory (${m1} KB for 1,000 records, ${m2} KB for 200,000)"
else
	skip "/usr/bin/time is not installed"
fi

echo "1..$n"
