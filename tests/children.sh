#!/bin/sh
# children.sh: commands inherit nothing of rehearse's, and redaction tells
# the truth.  Through the real binary, against a private redis-server that
# wants a password and the stage app: a command sees descriptors 0, 1 and 2
# only (not the authenticated Redis connection, not curl's sockets), every
# descriptor of rehearse is close-on-exec, a detached daemon keeps nothing
# of rehearse's, the runbook's secret variables are not in a command's
# environment unless pass_env lists them, URL-encoded and base64 forms of a
# secret are redacted, what a command leaves running is stopped and counted
# (or kept with keep_background), and a secret that is "pass" or "run"
# leaves verdicts, kinds, the report and --resume alone.
# Speaks TAP.  Needs $REHEARSE, $top_srcdir and $top_builddir; KEEP_TMP=1
# keeps its temporary folder for a look afterwards.
set -u
: "${REHEARSE:=./rehearse}" "${top_srcdir:=.}" "${top_builddir:=.}"
tmp=$(mktemp -d)
. "$top_srcdir/tests/lib.sh"
# Only the processes this test started (their pids were written down).
cleanup_hook() {
	for f in "$tmp"/*.pid; do
		[ -s "$f" ] && kill "$(cat "$f")" 2>/dev/null
	done
}
ok_lines=40
run() {
	"$REHEARSE" run --batch --yes "$@" >"$tmp/out" 2>"$tmp/err"
	echo $? >"$tmp/rc"
}
rc() { cat "$tmp/rc"; }
# The output a step's command left in the log (run.done of step $2).
output_of() {
	grep "\"type\":\"run.done\",\"step\":$2," "$1"
}
# Recomputes every prev and hash of a log (rehearse-audit(5), HASH CHAIN),
# as someone who edits a record without the key can.
rechain() {
	_prev=0000000000000000000000000000000000000000000000000000000000000000
	: >"$1.new"
	while IFS= read -r _line; do
		_body=$(printf '%s' "$_line" | sed 's/,"prev":"[0-9a-f]*","hash":"[0-9a-f]*"}$//')
		_body="$_body,\"prev\":\"$_prev\""
		_h=$(printf '%s}' "$_body" | sha256sum | cut -c1-64)
		printf '%s,"hash":"%s"}\n' "$_body" "$_h" >>"$1.new"
		_prev=$(printf '%s,"hash":"%s"}' "$_body" "$_h" | sha256sum | cut -c1-64)
	done <"$1"
	mv "$1.new" "$1"
}
# A process that is gone, or dead and waiting to be reaped.
gone() {
	[ ! -e "/proc/$1" ] || [ "$(sed 's/.*) \(.\).*/\1/' "/proc/$1/stat" 2>/dev/null)" = Z ]
}

rport=$(( 23000 + $$ % 20000 ))
export RPASS='redis-pw-7f3a'
start_redis
# The password only now: lib.sh's readiness check speaks without one.
redis-cli -p "$rport" CONFIG SET requirepass "$RPASS" >/dev/null
start_stage --db-delay-ms 0 --version-file "$tmp/version"

export CK='cookie-value-91c2'
export TOK='tok en/+?&=s3cret'
export OTHER='not-a-secret'
redis-cli -p "$rport" -a "$RPASS" --no-auth-warning SET "anp:page:/x" 1 >/dev/null

# 1-2: what a command holds.  A purge (Redis connected and authenticated)
# and an http probe (curl keeps its connection) come first.
cat >"$tmp/fds.yml" <<EOF
runbook: descriptors
owner: ops
redis: { url: "redis://127.0.0.1:$rport/0", password_env: RPASS }
http: { base_url: "$base" }
routes:
  - { name: page, path: /, keys: ["anp:page:/*"] }
steps:
  - { title: Purge, purge: page }
  - { title: Probe, http: page }
  - { title: List, run: [ls, /proc/self/fd] }
  - title: Write to Redis
    run:
      - bash
      - -c
      - |
        for fd in \$(seq 3 64); do
          if (eval "printf 'SET leaked 1\\r\\n' >&\$fd") 2>/dev/null; then echo "wrote \$fd"; fi
        done
        echo done
EOF
run --audit "$tmp/fds.jsonl" "$tmp/fds.yml"
[ "$(rc)" = 0 ] && [ "$(sed -n 's/^  | //p' "$tmp/err" | head -4 | tr '\n' ' ')" = "0 1 2 3 " ] &&
    [ "$(sed -n 's/^  | //p' "$tmp/err" | sed -n 5p)" = done ]
ok $? "a command sees descriptors 0, 1 and 2 only (3 is ls's own), after Redis and HTTP were used"

! grep -q "wrote" "$tmp/err" &&
    [ -z "$(redis-cli -p "$rport" -a "$RPASS" --no-auth-warning GET leaked)" ]
ok $? "writing to the descriptors above 2 fails: the authenticated Redis connection is out of reach"

# 3: rehearse's own descriptors are close-on-exec (what it inherited from
# this shell is not its own, and is left out).
cat >"$tmp/cloexec.yml" <<EOF
runbook: close-on-exec
owner: ops
http: { base_url: "$base" }
routes:
  - { name: page, path: / }
steps:
  - { title: Probe, http: page }
  - { title: Wait, run: [sleep, "1.5"] }
EOF
"$REHEARSE" run --batch --yes --audit "$tmp/cloexec.jsonl" "$tmp/cloexec.yml" >"$tmp/out" 2>"$tmp/err" &
bpid=$!
i=0
while ! grep -q run.intent "$tmp/cloexec.jsonl" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
sleep 0.2
mine=$(ls /proc/$$/fd)
bad=
seen=0
for f in /proc/$bpid/fd/*; do
	fd=${f##*/}
	[ "$fd" -le 2 ] && continue
	echo "$mine" | grep -qx "$fd" && continue	# inherited from this shell
	seen=$((seen + 1))
	flags=$(sed -n 's/^flags:[[:space:]]*//p' "/proc/$bpid/fdinfo/$fd" 2>/dev/null)
	[ -n "$flags" ] || continue
	[ $(( 0$flags & 02000000 )) -ne 0 ] || bad="$bad $fd($(readlink "$f"))"
done
wait $bpid
echo "# $seen descriptors of rehearse checked"
[ -z "$bad" ] && [ $seen -ge 5 ]
ok $? "every descriptor rehearse opened is close-on-exec (the audit log, libevent's, curl's sockets)${bad:+: not$bad}"

# 4: a detached daemon: not stopped (it left the group), does not hold the
# step open, and keeps nothing of rehearse's.
cat >"$tmp/daemon.yml" <<EOF
runbook: daemon
owner: ops
redis: { url: "redis://127.0.0.1:$rport/0", password_env: RPASS }
routes:
  - { name: page, keys: ["anp:page:/*"] }
steps:
  - { title: Purge, purge: page }
  - title: Start a daemon
    run: { command: 'setsid sleep 30 & echo \$! >"$tmp/daemon.pid"; echo started', shell: true }
EOF
t0=$(date +%s)
run --audit "$tmp/daemon.jsonl" "$tmp/daemon.yml"
t1=$(date +%s)
dpid=$(cat "$tmp/daemon.pid")
[ "$(rc)" = 0 ] && [ $((t1 - t0)) -lt 10 ] && [ -e "/proc/$dpid" ] &&
    [ "$(ls "/proc/$dpid/fd" | sort -n | tr '\n' ' ')" = "0 1 2 " ] &&
    grep -q "^2 .*held open by a process outside its group" "$tmp/out" &&
    grep -q '"output_held":true' "$tmp/daemon.jsonl"
ok $? "a setsid daemon holds descriptors 0, 1 and 2 only after rehearse exits, and does not hold the step open"

# 5-6: the environment.
cat >"$tmp/env.yml" <<EOF
runbook: environment
owner: ops
redis: { url: "redis://127.0.0.1:$rport/0", password_env: RPASS }
http:
  base_url: "$base"
  profiles:
    logged-in: { cookie_env: CK }
routes:
  - { name: page, path: / }
steps:
  - title: Plain
    run: [sh, -c, 'env | grep -E "^(RPASS|CK|TOK|OTHER)=" | sort; echo end']
  - title: Uses TOK in its words
    run: [sh, -c, 'echo "arg=\$1"; env | grep -c "^TOK=" || true', x, '\${TOK}']
  - title: Passed
    run:
      command: [sh, -c, 'env | grep -E "^(RPASS|CK|TOK)=" | sort']
      pass_env: [RPASS, CK]
  - title: Shell names it
    run: { command: 'echo "shell=\${TOK}"; env | grep -c "^RPASS=" || true', shell: true }
EOF
run --audit "$tmp/env.jsonl" "$tmp/env.yml"
[ "$(rc)" = 0 ] &&
    [ "$(sed -n '/^step 1\//,/^step 2\//s/^  | //p' "$tmp/err" | tr '\n' ' ')" = "OTHER=not-a-secret end " ] &&
    [ "$(sed -n '/^step 2\//,/^step 3\//s/^  | //p' "$tmp/err" | tr '\n' ' ')" = "arg=[redacted] 0 " ]
ok $? "password_env, cookie_env and \${NAME} variables are not in a command's environment"

[ "$(sed -n '/^step 3\//,/^step 4\//s/^  | //p' "$tmp/err" | tr '\n' ' ')" = "CK=[redacted] RPASS=[redacted] " ] &&
    [ "$(sed -n '/^step 4\//,$s/^  | //p' "$tmp/err" | tr '\n' ' ')" = "shell=[redacted] 0 " ] &&
    ! grep -q -F -e "$RPASS" -e "$CK" -e "$TOK" "$tmp/env.jsonl" "$tmp/err" "$tmp/out"
ok $? "pass_env passes the variables it lists (a shell command the ones its text names), redacted in the output"

# 7: URL-encoded and base64 forms of a secret are redacted, in the log and
# in the output shown while the command runs.
TOK_URL_UPPER='tok%20en%2F%2B%3F%26%3Ds3cret'
TOK_URL_LOWER='tok+en%2f%2b%3f%26%3ds3cret'
export TOK_URL_UPPER TOK_URL_LOWER
b64=$(printf '%s' "$TOK" | base64 -w0)
b64url=$(printf '%s' "$b64" | tr '+/' '-_' | tr -d '=')
b64nl=$(printf '%s\n' "$TOK" | base64 -w0)
b64x=$(printf 'x%s' "$TOK" | base64 -w0)
b64xy=$(printf 'xy%s!' "$TOK" | base64 -w0)
export b64 b64url b64nl b64x b64xy	# not secrets: the command prints them
cat >"$tmp/enc.yml" <<EOF
runbook: encodings
owner: ops
steps:
  - title: Print the secret encoded
    run:
      command: [sh, -c, 'printf "%s\n" "\$TOK_URL_UPPER" "\$TOK_URL_LOWER" "\$b64" "\$b64url" "\$b64nl" "\$b64x" "\$b64xy"', '\${TOK}']
EOF
run --audit "$tmp/enc.jsonl" "$tmp/enc.yml"
good=0
[ "$(rc)" = 0 ] || good=1
# The middle of the shifted encodings: characters only the secret decides.
for form in "$TOK_URL_UPPER" "$TOK_URL_LOWER" "$b64" "$b64url" \
    "$(echo "$b64nl" | cut -c1-20)" "$(echo "$b64x" | cut -c3-22)" \
    "$(echo "$b64xy" | cut -c4-23)"; do
	if grep -q -F -- "$form" "$tmp/enc.jsonl" "$tmp/err" "$tmp/out"; then
		echo "# not redacted: $form"
		good=1
	fi
done
[ "$(output_of "$tmp/enc.jsonl" 1 | grep -o 'redacted' | wc -l)" -ge 7 ] || good=1
[ "$(grep -c '^  | .*\[redacted\]' "$tmp/err")" = 7 ] || good=1
ok $good "URL-encoded (both cases, + for a space) and base64 forms (standard, URL-safe, shifted) are redacted in the log and in batch output"

# The same on the dashboard, in a real terminal.
start -x 120 -y 40 "'$REHEARSE'" run --audit "'$tmp/enc-ui.jsonl'" "'$tmp/enc.yml'"
good=0
wait_for "Print the secret encoded" && keys Enter &&
    wait_for "Run this command" && keys y &&
    wait_for "^> +1 ✔" || good=1
screen >"$tmp/out"
for form in "$TOK_URL_UPPER" "$TOK_URL_LOWER" "$b64" "$b64url" \
    "$(echo "$b64nl" | cut -c1-20)" "$(echo "$b64x" | cut -c3-22)" \
    "$(echo "$b64xy" | cut -c4-23)" "$TOK"; do
	if grep -q -F -- "$form" "$tmp/out"; then
		echo "# on screen: $form"
		good=1
	fi
done
[ "$(grep -c '\[redacted\]' "$tmp/out")" -ge 5 ] || good=1
t kill-server 2>/dev/null
ok $good "the dashboard shows the command's output with those forms redacted"

# 8: a secret across the places where a long output is cut (its first
# 32 KB, its last 32 KB) leaves no piece of itself in the log.
cat >"$tmp/cut.yml" <<EOF
runbook: cut
owner: ops
steps:
  - title: Long output
    run: [sh, -c, 'head -c 32760 /dev/zero | tr "\\\\0" a; printf %s "\$1"; head -c 200000 /dev/zero | tr "\\\\0" b; printf %s "\$1"; head -c 32760 /dev/zero | tr "\\\\0" c', x, '\${TOK}']
EOF
run --audit "$tmp/cut.jsonl" "$tmp/cut.yml"
good=0
[ "$(rc)" = 0 ] && output_of "$tmp/cut.jsonl" 1 | grep -q 'bytes not kept' || good=1
# Every three bytes of the secret in a row.
k=1
while [ $k -le $((${#TOK} - 2)) ]; do
	gram=$(printf '%s' "$TOK" | cut -c$k-$((k + 2)))
	if output_of "$tmp/cut.jsonl" 1 | sed 's/.*"output":"//' | grep -q -F -- "$gram"; then
		echo "# a piece of the secret is left: '$gram'"
		good=1
	fi
	k=$((k + 1))
done
ok $good "a secret across the cuts of a long output leaves no piece of itself in the log"

# 9-10: what a command leaves running.
cat >"$tmp/bg.yml" <<EOF
runbook: background
owner: ops
steps:
  - title: Leaves one behind
    run: { command: 'sleep 100 & echo \$! >"$tmp/stopped.pid"; echo ok', shell: true }
  - title: Keeps one
    run: { command: 'sleep 100 & echo \$! >"$tmp/kept.pid"; echo ok', shell: true, keep_background: true }
EOF
run --audit "$tmp/bg.jsonl" "$tmp/bg.yml"
stopped=$(cat "$tmp/stopped.pid")
[ "$(rc)" = 0 ] && grep -q "^1 *pass .*; stopped 1 process left running" "$tmp/out" &&
    grep -q '"type":"run.done","step":1,.*"stopped":1' "$tmp/bg.jsonl" && gone "$stopped"
ok $? "a process left running in the command's group is stopped, and the result says so"

kept=$(cat "$tmp/kept.pid")
grep -q "^2 *pass .*; left 1 process running (keep_background)" "$tmp/out" &&
    grep -q '"type":"run.done","step":2,.*"left_running":1' "$tmp/bg.jsonl" &&
    ! gone "$kept" && [ "$(ls "/proc/$kept/fd" | sort -n | tr '\n' ' ')" = "0 1 2 " ]
ok $? "keep_background: true leaves it running, holding descriptors 0, 1 and 2 only"

# 11-14: secrets that are "pass" and "run" (a cookie, a \${NAME} value).
export SECRET_PASS=pass SECRET_RUN=run
cat >"$tmp/short.yml" <<EOF
runbook: short secrets
owner: ops
http:
  base_url: "$base"
  profiles:
    logged-in: { cookie_env: SECRET_PASS }
routes:
  - { name: page, path: / }
steps:
  - title: Deploy
    run: [sh, -c, 'echo deployed >>"\$1"; echo "\$2 and pass"', x, "$tmp/deploys", '\${SECRET_RUN}']
  - { title: Probe, http: page }
  - { title: Something slow, run: [sleep, "5"] }
  - { title: Last probe, http: page }
EOF
"$REHEARSE" run --batch --yes --audit "$tmp/short.jsonl" "$tmp/short.yml" >/dev/null 2>&1 &
bpid=$!
i=0
while [ "$(grep -c '"type":"run.intent"' "$tmp/short.jsonl" 2>/dev/null)" != 2 ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
kids=$(pgrep -P $bpid)	# the sleep it ran: this test's, not another's
kill -9 $bpid
wait $bpid 2>/dev/null
[ -n "$kids" ] && kill $kids 2>/dev/null
grep -q '"type":"step.result","step":1,.*"verdict":"pass"' "$tmp/short.jsonl" &&
    grep -q '"type":"step.start","step":3,.*"kind":"run"' "$tmp/short.jsonl" &&
    grep -q '"type":"http.result","step":2,.*"verdict":"pass"' "$tmp/short.jsonl" &&
    ! grep -q '"verdict":"\[redacted\]"\|"kind":"\[redacted\]"' "$tmp/short.jsonl" &&
    output_of "$tmp/short.jsonl" 1 | grep -q '"output":"run and \[redacted\]\\n"'
ok $? "a secret that is 'pass' or 'run' leaves verdicts and kinds alone; 'pass' is redacted from the output (shorter ones only as a whole value)"

"$REHEARSE" run --batch --yes --resume "$tmp/short.jsonl" >"$tmp/out" 2>"$tmp/err"
st=$?
[ $st = 1 ] && [ "$(wc -l <"$tmp/deploys")" = 1 ] &&
    grep -q "^1 *pass" "$tmp/out" && grep -q "^2 *pass" "$tmp/out" &&
    grep -q "^3 .*outcome unknown" "$tmp/out" && grep -q "^4 *pass" "$tmp/out" &&
    "$REHEARSE" verify -q "$tmp/short.jsonl" 2>/dev/null
ok $? "--resume keeps the passed deploy (it does not run again) and runs the rest"

"$REHEARSE" report "$tmp/short.jsonl" >"$tmp/out" 2>"$tmp/err"
grep -q "^| 1 | Deploy | run | pass |" "$tmp/out" &&
    grep -q "^| 2 | Probe | http | pass |" "$tmp/out" &&
    ! grep -q "| \[redacted\] |" "$tmp/out"
ok $? "rehearse report shows the real verdicts and kinds"

# A log written before this fix, with its verdict redacted: the step is not
# run again (its outcome is unknown), it is reported.
cat >"$tmp/old.yml" <<EOF
runbook: old log
owner: ops
steps:
  - title: Deploy
    run: [sh, -c, 'echo deployed >>"\$1"', x, "$tmp/old-deploys"]
  - { title: Slow, run: [sleep, "5"] }
EOF
"$REHEARSE" run --batch --yes --audit "$tmp/old.jsonl" "$tmp/old.yml" >/dev/null 2>&1 &
bpid=$!
i=0
while [ "$(grep -c '"type":"run.intent"' "$tmp/old.jsonl" 2>/dev/null)" != 2 ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
kids=$(pgrep -P $bpid)
kill -9 $bpid
wait $bpid 2>/dev/null
[ -n "$kids" ] && kill $kids 2>/dev/null
# Forge what the old writer wrote, and re-chain the log so that it verifies.
sed -i 's/\("step":1,.*"verdict":\)"pass"/\1"[redacted]"/' "$tmp/old.jsonl"
rechain "$tmp/old.jsonl"
"$REHEARSE" verify "$tmp/old.jsonl" >/dev/null 2>&1	# never ended: 1
[ $? = 1 ] && grep -q '"verdict":"\[redacted\]"' "$tmp/old.jsonl" &&
    "$REHEARSE" run --batch --yes --resume "$tmp/old.jsonl" >"$tmp/out" 2>"$tmp/err"
[ "$(wc -l <"$tmp/old-deploys")" = 1 ] &&
    grep -q "^1 .*outcome unknown: its recorded verdict is not one rehearse writes" "$tmp/out" &&
    "$REHEARSE" verify -q "$tmp/old.jsonl" 2>/dev/null
ok $? "--resume of a log whose verdict was redacted does not run that step again, and says why"

# 15: lint: a pass_env name that is no secret is most likely a typo.
cat >"$tmp/typo.yml" <<EOF
runbook: typo
owner: ops
steps:
  - title: Deploy
    run: { command: "./deploy.sh \${FLAG_TOKEN}", pass_env: [FLAG_TOKN] }
EOF
"$REHEARSE" lint "$tmp/typo.yml" >"$tmp/out" 2>"$tmp/err"
[ $? = 0 ] && grep -q "typo.yml:5:61: warning: step 1: pass_env: FLAG_TOKN is not a secret of this runbook (did you mean FLAG_TOKEN?)" "$tmp/err"
ok $? "lint warns of a pass_env name that is not a secret of the runbook, with a hint"

echo "1..$n"
