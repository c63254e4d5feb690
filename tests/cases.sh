#!/bin/sh
# cases.sh: batch and check cases as data, one TAP line per case, through
# the real program against a private redis-server and the stage app.
# Speaks TAP.  Needs $REHEARSE, $top_srcdir and $top_builddir; KEEP_TMP=1
# keeps the temporary folder; CASES="a b" runs only those cases.
#
# Adding a case: a folder tests/cases/NAME/ (cases run in name order, each
# from the same state: stage release 1.5.1, an empty Redis) with
#   runbook.yml  the runbook; @BASE_URL@, @REDIS_URL@ and @RPORT@ are
#                replaced by the stage app's URL, the Redis URL and port.
#                It is written next to a link to runbooks/demo/, so that
#                ./demo/deploy.sh works.  A symlink to another case's
#                runbook.yml shares it.
#   cmd          one line: rehearse's arguments; @RUNBOOK@ and @AUDIT@ (the
#                case's own audit log) are replaced.
#   expect       one check a line ('#' lines are comments):
#                  desc TEXT          the TAP description (required)
#                  status N           the exit status
#                  out RE, err RE     stdout, stderr match RE (grep)
#                  no-out RE, no-err RE   ... do not match
#                  step N VERDICT     `run --batch` summed step N up so
#                  records TYPE [N]   the log holds TYPE records (N of them)
#                  no-records TYPE    ... none
#                  audit RE, no-audit RE  a log line matches RE (or none)
#                  verifies           `rehearse verify` passes on the log
#                  seconds N          it took less than N s (said in desc)
#   setup        (optional) shell sourced before the command, in a
#                subshell: export what the command needs, change the state.
#   after        (optional) shell sourced after it: more checks, its status
#                counts.  Both see $base, $rport, $STAGE_VERSION_FILE,
#                $AUDIT, $RUNBOOK, $tmp and $top_srcdir.
# On failure: the case's name, the first check that failed, the output.
set -u
: "${REHEARSE:=./rehearse}" "${top_srcdir:=.}" "${top_builddir:=.}"
tmp=$(mktemp -d)
. "$top_srcdir/tests/lib.sh"
ok_lines=40
rport=$(( 26000 + $$ % 20000 ))
stage_env 30 user=alice
demo_link "$tmp/rb"

# verdict N: the verdict of step N in the batch summary.
verdict() { sed -n "s/^$1 *\([a-z]*\) .*/\1/p" "$tmp/out"; }
# expect_line KEY REST: one check of an expect file (REST as written: a
# pattern keeps its spaces); 0 when it holds.
expect_line() {
	ek=$1
	re=$2
	set -f
	# shellcheck disable=SC2086
	set -- $2
	set +f
	case $ek in
	desc|seconds) return 0 ;;
	status) [ "$(cat "$tmp/rc")" = "$1" ] ;;
	out) grep -q -e "$re" "$tmp/out" ;;
	err) grep -q -e "$re" "$tmp/err" ;;
	no-out) ! grep -q -e "$re" "$tmp/out" ;;
	no-err) ! grep -q -e "$re" "$tmp/err" ;;
	step) [ "$(verdict "$1")" = "$2" ] ;;
	records)
		if [ $# -gt 1 ]; then
			[ "$(grep -c "\"type\":\"$1\"" "$AUDIT" 2>/dev/null)" = "$2" ]
		else
			grep -q "\"type\":\"$1\"" "$AUDIT" 2>/dev/null
		fi ;;
	no-records) ! grep -q "\"type\":\"$1\"" "$AUDIT" 2>/dev/null ;;
	audit) grep -q -e "$re" "$AUDIT" 2>/dev/null ;;
	no-audit) ! grep -q -e "$re" "$AUDIT" 2>/dev/null ;;
	verifies) "$REHEARSE" verify -q "$AUDIT" >/dev/null 2>&1 ;;
	*) echo "unknown check: $ek $re"; return 1 ;;
	esac
}
# run_case DIR: the case in a subshell; its description in $tmp/desc.
run_case() (
	name=$(basename "$1")
	RUNBOOK="$tmp/rb/$name.yml"
	AUDIT="$tmp/$name.jsonl"
	sed -e "s|@BASE_URL@|$base|g; s|@REDIS_URL@|redis://127.0.0.1:$rport/0|g" \
	    -e "s|@RPORT@|$rport|g" "$1/runbook.yml" >"$RUNBOOK"
	sed -n 's/^desc //p' "$1/expect" >"$tmp/desc"
	if [ -f "$1/setup" ]; then . "$1/setup" || { echo "setup failed"; return 1; }; fi
	args=$(sed -e "s|@RUNBOOK@|$RUNBOOK|g; s|@AUDIT@|$AUDIT|g" "$1/cmd")
	t0=$(date +%s)
	# shellcheck disable=SC2086
	"$REHEARSE" $args >"$tmp/out" 2>"$tmp/err"
	echo $? >"$tmp/rc"
	took=$(( $(date +%s) - t0 ))
	limit=$(sed -n 's/^seconds //p' "$1/expect")
	if [ -n "$limit" ]; then
		echo "$(cat "$tmp/desc") ($took s in all)" >"$tmp/desc"
		[ "$took" -lt "$limit" ] || { echo "took $took s, not under $limit"; return 1; }
	fi
	while read -r key rest; do
		case $key in ''|'#'*) continue ;; esac
		expect_line "$key" "$rest" ||
		    { echo "failed: $key $rest (exit $(cat "$tmp/rc"))"; return 1; }
	done <"$1/expect"
	if [ -f "$1/after" ]; then . "$1/after" || { echo "failed: after"; return 1; }; fi
	return 0
)

for dir in "$top_srcdir"/tests/cases/*/; do
	dir=${dir%/}
	name=$(basename "$dir")
	if [ -n "${CASES:-}" ]; then
		case " $CASES " in *" $name "*) ;; *) continue ;; esac
	fi
	# Every case starts from release 1.5.1 and an empty Redis.
	echo 1.5.1 >"$STAGE_VERSION_FILE"
	redis-cli -p "$rport" FLUSHALL >/dev/null
	: >"$tmp/out"
	: >"$tmp/err"
	run_case "$dir" >"$tmp/why"
	st=$?
	ok $st "$(cat "$tmp/desc")"
	[ $st = 0 ] || sed "s|^|# $name: |" "$tmp/why"
done
echo "1..$n"
