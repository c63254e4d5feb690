#!/bin/sh
# audit.sh: the audit log through real processes: `rehearse verify` on logs
# that were edited, cut, crashed (kill -9) and filled up (a real full disk
# on a tmpfs).  Speaks TAP.  Needs $REHEARSE, $AUDIT_TOOL and $top_srcdir.
set -u
: "${REHEARSE:=./rehearse}" "${AUDIT_TOOL:=./tests/tools/audit_tool}" "${top_srcdir:=.}"
tmp=$(mktemp -d)
mnt=
cleanup() {
	[ -n "$mnt" ] && umount "$mnt" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
rb="$top_srcdir/runbooks/minimal.yml"
n=0

ok() {	# ok STATUS DESCRIPTION
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		sed 's/^/# /' "$tmp/out" "$tmp/err" 2>/dev/null | head -20
	fi
}
skip() { n=$((n + 1)); echo "ok $n # SKIP $1"; }

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

# A real full disk: a 64 KiB tmpfs in a private mount namespace.
if [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null; then
	cat >"$tmp/full.sh" <<EOS
mount -t tmpfs -o size=64k tmpfs "$tmp/mnt" || exit 9
"$AUDIT_TOOL" loop "$tmp/mnt/f.jsonl" "$rb" >"$tmp/full.acked" 2>&1
echo \$? >"$tmp/loop.rc"
cp "$tmp/mnt/f.jsonl" "$tmp/f.jsonl"
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
else
	skip "a full disk needs root and a mount namespace (unshare -m) to mount a tmpfs"
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
