#!/bin/sh
# acl_purge.sh: a purge knows, before it asks for confirmation, whether
# this Redis user may run what it will send (SCAN; DUMP and PTTL with a
# backup; UNLINK of the keys, checked with MULTI, UNLINK, DISCARD on a
# connection of its own), and refuses naming what is missing, instead of
# failing half way; when it cannot tell, it warns and goes on.  Real ACL
# users of redis-server 7 (the default user restricted, and a named user)
# and of valkey-server 8 when installed.  MONITOR proves that no EXEC is
# ever sent and no key goes before the confirmation.  Speaks TAP.
# Needs $REHEARSE and $top_srcdir.
set -u
: "${REHEARSE:=./rehearse}" "${top_srcdir:=.}"
tmp=$(mktemp -d)
mpid=
. "$top_srcdir/tests/lib.sh"
cleanup_hook() { [ -z "$mpid" ] || kill "$mpid" 2>/dev/null; }
cli() { redis-cli -p $rport "$@"; }
runbook() {	# runbook FILE BACKUP [user]
	cat >"$1" <<EOR
runbook: acl rehearsal
owner: ops
redis: { url: "redis://${3:+$3@}127.0.0.1:$rport/0", timeout_ms: 2000 ${3:+, password_env: RH_PW} }
routes:
  - { name: blog, keys: ["anp:page:/blog/*"], max_keys: 5000 }
steps:
  - { title: Purge the blog pages, purge: { route: blog, backup: $2 } }
EOR
}
fill() {	# 300 keys of the route, 10 others
	admin FLUSHALL >/dev/null
	i=0
	while [ $i -lt 300 ]; do echo "SET anp:page:/blog/p$i v"; i=$((i + 1)); done | admin >/dev/null
	i=0
	while [ $i -lt 10 ]; do echo "SET other:o$i v"; i=$((i + 1)); done | admin >/dev/null
}
run() {	# run NAME [RH_PW] -- run --batch --yes on $tmp/rb.yml
	RH_PW=${2:-} "$REHEARSE" run --batch --yes --audit "$tmp/$1.jsonl" "$tmp/rb.yml" >"$tmp/out" 2>"$tmp/err"
	echo $? >"$tmp/rc"
}
rc() { cat "$tmp/rc"; }
# As the default user, through a user who may do everything.
admin() { redis-cli -p $rport --user admin --pass admin-pw --no-auth-warning "$@"; }
restrict() {	# restrict ACL-RULES...: the default user, from +@all ~* on
	admin ACL SETUSER default reset on nopass '~*' '&*' '+@all' "$@" >/dev/null
}

for server in redis-server valkey-server; do
	if ! command -v $server >/dev/null 2>&1; then
		skip "$server is not installed"
		continue
	fi
	name=${server%-server}
	REDIS_SERVER=$server
	start_redis
	cli ACL SETUSER admin on '>admin-pw' '~*' '&*' '+@all' >/dev/null
	runbook "$tmp/rb.yml" false

	# No UNLINK: refused at the preview, the command named.
	fill
	restrict -unlink
	admin monitor >"$tmp/monitor" 2>&1 &
	mpid=$!
	sleep 0.2
	run $name-nounlink
	kill $mpid 2>/dev/null; wait $mpid 2>/dev/null; mpid=
	[ "$(rc)" = 1 ] && grep -q "may not run UNLINK on key 'anp:page:/blog/p[0-9]*': NOPERM.*'unlink' command; nothing was deleted" "$tmp/out" &&
	    [ "$(admin DBSIZE)" = 310 ] && ! grep -q purge.intent "$tmp/$name-nounlink.jsonl" &&
	    grep -q '"type":"purge.preview".*"refused":"this Redis user may not run UNLINK' "$tmp/$name-nounlink.jsonl"
	ok $? "$name: a user without UNLINK is refused at the preview (the command named), before any confirmation; nothing deleted"

	grep -q '"MULTI"' "$tmp/monitor" && grep -q '"DISCARD"' "$tmp/monitor" &&
	    ! grep -q -i '"EXEC"' "$tmp/monitor"
	ok $? "$name: the check was MULTI, UNLINK, DISCARD; no EXEC was ever sent"

	# The route's keys outside the user's key patterns.
	fill
	restrict resetkeys '~other:*'
	run $name-keys
	[ "$(rc)" = 1 ] && grep -q "may not run UNLINK on key 'anp:page:/blog/p[0-9]*': NOPERM.*key" "$tmp/out" &&
	    [ "$(admin DBSIZE)" = 310 ] && ! grep -q purge.intent "$tmp/$name-keys.jsonl"
	ok $? "$name: keys outside the user's key patterns (~other:*) are refused at the preview, the key named; nothing deleted"

	# No SCAN: refused, SCAN named.
	fill
	restrict -scan
	run $name-noscan
	[ "$(rc)" = 1 ] && grep -q "may not run SCAN, which the preview needs: SCAN failed: NOPERM" "$tmp/out" &&
	    [ "$(admin DBSIZE)" = 310 ]
	ok $? "$name: a user without SCAN is refused, SCAN named"

	# With a backup: the keys readable but not writable (%R~): DUMP and
	# PTTL pass their probe, UNLINK does not; no backup is even started.
	runbook "$tmp/rb.yml" true
	fill
	restrict resetkeys '%R~anp:*' '~other:*'
	run $name-readonly
	[ "$(rc)" = 1 ] && grep -q "may not run UNLINK on key 'anp:page:/blog/p[0-9]*': NOPERM" "$tmp/out" &&
	    [ "$(admin DBSIZE)" = 310 ] && ! ls "$tmp"/.backups/$name-readonly.* >/dev/null 2>&1
	ok $? "$name: with backup, keys the user may read but not write: refused at the preview, no backup started"
	runbook "$tmp/rb.yml" false

	# No MULTI: it cannot tell; the preview warns and the purge goes on.
	fill
	restrict -multi
	run $name-nomulti
	[ "$(rc)" = 0 ] && [ "$(admin DBSIZE)" = 10 ] &&
	    grep -q "warning: cannot tell whether this Redis user may run UNLINK on the keys: MULTI answered 'NOPERM" "$tmp/err" &&
	    grep -q '"type":"purge.preview".*"warning":"cannot tell whether this Redis user may run UNLINK' "$tmp/$name-nomulti.jsonl"
	ok $? "$name: without MULTI it cannot tell: the preview says so (stderr and purge.preview), the purge runs"

	# The same warning in the dashboard's confirmation; answered no.
	fill
	start -x 160 -y 30 "$REHEARSE" run --audit "$tmp/$name-dash.jsonl" "$tmp/rb.yml"
	wait_for "redis up" 10 && keys Enter && wait_for "Purge 300 keys of route blog" 10 &&
	    wait_for "warning: cannot tell whether this Redis user may run UNLINK" 2 && keys n &&
	    keys q && wait_for "EXITED" 5 && [ "$(admin DBSIZE)" = 310 ]
	ok $? "$name: the dashboard's confirmation shows the warning; answered no, nothing deleted"
	t kill-server 2>/dev/null

	# Neither MULTI nor UNLINK: the warning, then the rules of a refused
	# UNLINK: the purge fails on its first batch, nothing counted as gone.
	fill
	restrict -multi -unlink
	run $name-neither
	[ "$(rc)" = 1 ] && [ "$(admin DBSIZE)" = 310 ] && grep -q "warning: cannot tell" "$tmp/err" &&
	    grep -q "UNLINK failed: NOPERM" "$tmp/out" &&
	    grep -q '"type":"purge.done".*"deleted":0,"gone":0,' "$tmp/$name-neither.jsonl"
	ok $? "$name: without MULTI and UNLINK: warned, then the purge fails on its first UNLINK, nothing deleted"

	# A named ACL user may do all it needs: the check passes, nothing goes
	# before the confirmation (without --yes: refused there), all after.
	restrict
	cli ACL SETUSER purger on '>purger-pw' '~anp:page:*' '+scan' '+unlink' '+multi' '+discard' \
	    '+info' '+ping' '+dbsize' >/dev/null
	runbook "$tmp/rb.yml" false purger
	fill
	RH_PW=purger-pw "$REHEARSE" run --batch --audit "$tmp/$name-asked.jsonl" "$tmp/rb.yml" >"$tmp/out" 2>"$tmp/err"
	[ $? = 1 ] && [ "$(cli DBSIZE)" = 310 ] && grep -q "refused: a purge changes the world" "$tmp/out" &&
	    ! grep -q "warning" "$tmp/err"
	ok $? "$name: a named user with exactly the permissions: checked, and without --yes nothing is deleted"
	run $name-purger purger-pw
	[ "$(rc)" = 0 ] && [ "$(cli DBSIZE)" = 10 ] && ! grep -q "warning" "$tmp/err"
	ok $? "$name: with --yes the named user's purge deletes the route's 300 keys"

	cli ACL SETUSER purger resetkeys '~anp:page:/blog/p1*' >/dev/null
	fill
	run $name-some purger-pw
	[ "$(rc)" = 1 ] && [ "$(cli DBSIZE)" = 310 ] &&
	    grep -q "may not run UNLINK on key 'anp:page:/blog/p[02-9][0-9]*': NOPERM" "$tmp/out"
	ok $? "$name: a user allowed some of the keys (~anp:page:/blog/p1*): refused, naming a key it may not delete"

	# Two patterns, the user allowed only the first; the second has 3
	# keys among 3003, which neither the first ten nor an even spread
	# need catch: the first key of every pattern is checked.
	sed 's|keys: \["anp:page:/blog/\*"\]|keys: ["anp:page:/blog/*", "anp:tag:*"]|' "$tmp/rb.yml" >"$tmp/rb2.yml"
	cli ACL SETUSER purger resetkeys '~anp:page:/blog/*' >/dev/null
	fill
	i=300
	while [ $i -lt 3000 ]; do echo "SET anp:page:/blog/p$i v"; i=$((i + 1)); done | admin >/dev/null
	printf 'SET anp:tag:t1 v\nSET anp:tag:t2 v\nSET anp:tag:t3 v\n' | admin >/dev/null
	RH_PW=purger-pw "$REHEARSE" run --batch --yes --audit "$tmp/$name-two.jsonl" "$tmp/rb2.yml" >"$tmp/out" 2>"$tmp/err"
	[ $? = 1 ] && [ "$(cli DBSIZE)" = 3013 ] &&
	    grep -q "may not run UNLINK on key 'anp:tag:t[123]': NOPERM" "$tmp/out"
	ok $? "$name: a route of two patterns, the user allowed only the first: refused, naming a key of the second"

	kill $rpid; wait $rpid 2>/dev/null; rpid=
done

echo "1..$n"
