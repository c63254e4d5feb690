#!/bin/sh
# lint.sh: `rehearse lint` and the command line, through the real program.
# Speaks TAP.  Needs $REHEARSE and $top_srcdir (set by make check).
set -u
: "${REHEARSE:=./rehearse}" "${top_srcdir:=.}"
tmp=$(mktemp -d)
. "$top_srcdir/tests/lib.sh"
ok_lines=20

run() {	# run ARGS...: stdout, stderr and status into $tmp
	"$REHEARSE" "$@" >"$tmp/out" 2>"$tmp/err"
	echo $? >"$tmp/rc"
}
rc() { cat "$tmp/rc"; }

run --version
[ "$(rc)" = 0 ] && grep -q '^rehearse [0-9]' "$tmp/out"
ok $? "--version prints the version"

run --help
[ "$(rc)" = 0 ] && grep -q 'rehearse lint' "$tmp/out"
ok $? "--help lists the commands"

run frobnicate
[ "$(rc)" = 2 ] && grep -q "unknown command 'frobnicate'" "$tmp/err"
ok $? "an unknown command is a usage error (exit 2)"

run --frob
[ "$(rc)" = 2 ] && grep -q "unknown option" "$tmp/err"
ok $? "an unknown option is a usage error (exit 2)"

run lint --frob x.yml
[ "$(rc)" = 2 ] && grep -q "lint: unknown option" "$tmp/err"
ok $? "an unknown lint option is a usage error (exit 2)"

run lint
[ "$(rc)" = 2 ] && grep -q "no runbook given" "$tmp/err"
ok $? "lint without a file is a usage error"

run
[ "$(rc)" = 2 ] && grep -q "usage:" "$tmp/err"
ok $? "no arguments print the usage and exit 2"

for cmd in replay; do
	run "$cmd" --no-such-option
	[ "$(rc)" = 2 ] && grep -q "unknown option '--no-such-option'" "$tmp/err"
	ok $? "'$cmd' refuses an unknown option with exit 2"
done
run replay --speed 0 x.jsonl
[ "$(rc)" = 2 ] && grep -q "speed: '0' is not a number from 0.01 to 10000" "$tmp/err"
ok $? "replay --speed out of range: exit 2 naming the option"
run "$top_srcdir/runbooks/demo.yml"
[ "$(rc)" = 2 ] && grep -q "the dashboard needs a terminal" "$tmp/err"
ok $? "a runbook as the only argument means run"

run lint "$top_srcdir"/runbooks/*.yml
[ "$(rc)" = 0 ] && [ "$(grep -c ': ok: ' "$tmp/out")" = "$(ls "$top_srcdir"/runbooks/*.yml | wc -l)" ] &&
    [ ! -s "$tmp/err" ]
ok $? "the example runbooks are lint clean"

run lint -q "$top_srcdir/runbooks/demo.yml"
[ "$(rc)" = 0 ] && [ ! -s "$tmp/out" ]
ok $? "lint -q prints nothing for a valid runbook"

run lint --summary "$top_srcdir/runbooks/demo.yml"
[ "$(rc)" = 0 ] && grep -q '^  owner ' "$tmp/out" && grep -q 'rollback_check' "$tmp/out"
ok $? "lint --summary describes the runbook"

# Every corpus file: exit 2 and each expected error as FILE:LINE:COL: error:
for y in "$top_srcdir"/tests/runbooks/bad/*.yml; do
	name=${y##*/}
	run lint "$y"
	good=0
	[ "$(rc)" = 2 ] || good=1
	while IFS= read -r line; do
		pos=${line%%: *}
		frag=${line#*: }
		grep -F -q -- "$y:$pos: error: " "$tmp/err" || good=1
		grep -F -- "$y:$pos: error: " "$tmp/err" | grep -F -q -- "$frag" || good=1
	done <"${y%.yml}.expect"
	ok $good "lint pinpoints $name"
done

run lint "$top_srcdir/runbooks/minimal.yml" "$top_srcdir/tests/runbooks/bad/empty.yml"
[ "$(rc)" = 2 ] && grep -q 'minimal.yml: ok' "$tmp/out" && grep -q 'empty.yml:1:1: error' "$tmp/err"
ok $? "one bad file fails the run, the good one is still checked"

run lint "$tmp/missing.yml"
[ "$(rc)" = 2 ] && grep -q "missing.yml: error: cannot open" "$tmp/err"
ok $? "a missing file is reported with its name"

# A file name holding an escape sequence is shown escaped.
evil=$(printf '%s/\033[2Jevil.yml' "$tmp")
printf 'runbook: x\n' >"$evil"
run lint "$evil"
[ "$(rc)" = 2 ] && grep -q 'x1b\[2Jevil.yml' "$tmp/err" && ! grep -q "$(printf '\033')" "$tmp/err"
ok $? "control characters in file names are escaped"

# Titles and commands holding escape sequences are escaped in --summary.
printf 'runbook: "\\e]0;pwned\\a"\nowner: o\nsteps: [{title: "\\e[31mred", run: "echo \\"\\e[2J\\""}]\n' >"$tmp/esc.yml"
run lint --summary "$tmp/esc.yml"
[ "$(rc)" = 0 ] && ! grep -q "$(printf '\033')" "$tmp/out" && grep -q 'x1b\[31mred' "$tmp/out"
ok $? "text from the runbook is escaped before it reaches the terminal"

# Over the size limit: refused before it is read.
head -c 5000000 /dev/zero | tr '\0' '#' >"$tmp/huge.yml"
run lint "$tmp/huge.yml"
[ "$(rc)" = 2 ] && grep -q "the limit for a runbook" "$tmp/err"
ok $? "a file over 4 MiB is refused"

# A large valid runbook (about 3 MiB, 400 steps) still loads.
{
	printf 'runbook: large\nowner: ops\nsummary: "'
	head -c 3000000 /dev/zero | tr '\0' 'x'
	printf '"\nsteps:\n'
	i=0
	while [ $i -lt 400 ]; do
		printf '  - { title: step %d, manual: check %d }\n' $i $i
		i=$((i + 1))
	done
} >"$tmp/large.yml"
run lint "$tmp/large.yml"
[ "$(rc)" = 0 ] && grep -q '400 steps' "$tmp/out"
ok $? "a large valid runbook loads"

# Billion laughs, 20,000-deep nesting and random bytes through the program.
awk 'BEGIN { printf "steps:\n"; for (i = 0; i < 20000; i++) printf "- "; print "x" }' >"$tmp/deep.yml"
head -c 65536 /dev/urandom >"$tmp/random.yml"
run lint "$tmp/deep.yml"
[ "$(rc)" = 2 ] && grep -q "nesting deeper than 64" "$tmp/err"
ok $? "20,000-deep nesting is refused"
run lint "$tmp/random.yml"
[ "$(rc)" = 2 ] && [ -s "$tmp/err" ]
ok $? "random bytes are refused with an error"

# TLS, ACL users and Sentinel are understood.
cat >"$tmp/tls.yml" <<'EOF2'
runbook: tls
owner: ops
redis:
  url: rediss://app@cache.internal:6380/1
  password_env: REDIS_PW
  tls: { ca_file: /etc/ssl/ca.pem, cert_file: c.pem, key_file: c.key, server_name: cache }
steps:
  - { title: Look, manual: look }
EOF2
run lint --summary "$tmp/tls.yml"
[ "$(rc)" = 0 ] && [ ! -s "$tmp/err" ] && grep -q '^  user *app$' "$tmp/out" &&
    grep -q '^  tls *on, certificate checked' "$tmp/out" && grep -q 'rediss://app@cache' "$tmp/out"
ok $? "a rediss:// URL with tls settings and a user is valid"
sed -i 's/server_name: cache/verify: false/' "$tmp/tls.yml"
run lint --summary "$tmp/tls.yml"
[ "$(rc)" = 0 ] && grep -q "6:[0-9]*: warning: redis.tls: verify: the server's certificate is not checked" "$tmp/err" &&
    grep -q 'CERTIFICATE NOT CHECKED' "$tmp/out"
ok $? "tls.verify: false is allowed with a warning"
cat >"$tmp/sentinel.yml" <<'EOF2'
runbook: sentinel
owner: ops
redis:
  sentinels: ["10.0.0.1:26379", "[fd00::2]:26380", sentinel-3]
  master: cache-main
  username: purger
  db: 2
  sentinel_password_env: SENTINEL_PW
  sentinel_tls: true
steps:
  - { title: Look, manual: look }
EOF2
run lint --summary "$tmp/sentinel.yml"
[ "$(rc)" = 0 ] && [ ! -s "$tmp/err" ] &&
    grep -q 'cache-main via sentinels 10.0.0.1:26379, \[fd00::2\]:26380, sentinel-3:26379' "$tmp/out" &&
    grep -q '^  user *purger$' "$tmp/out"
ok $? "sentinels and master are valid in place of url"

echo "1..$n"
exit 0
