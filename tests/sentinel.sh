#!/bin/bash
# sentinel.sh: Redis Sentinel, against real servers made here (a primary, a
# replica with --replicaof and a redis-sentinel watching them, each set on
# free ports in $tmp): check resolves the master and prints it, the log
# records it; a wrong master name and sentinels that are all down are named
# errors, retried; a plain url at a Sentinel port fails check; a real
# SENTINEL FAILOVER during a dashboard session (the screen and the log name
# the new master, readouts recover) and during a 200,000-key purge (it
# stops, nothing is counted done that Redis did not confirm); sentinels
# that lie (tests/tools/badredis sentinel-says).  With REDIS_SERVER=
# valkey-server (tests/valkey/sentinel.vk) the same against Valkey and its
# sentinel mode, with valkey-cli.  Speaks TAP.
set -u
LC_ALL=C.UTF-8 LANG=C.UTF-8; export LC_ALL LANG
: "${REHEARSE:=./rehearse}" "${top_srcdir:=.}" "${top_builddir:=.}"
REHEARSE=$(cd "$(dirname "$REHEARSE")" && pwd)/$(basename "$REHEARSE")
tmp=$(mktemp -d)
. "$top_srcdir/tests/lib.sh"
both() { ok_files; ok_screen; }
tmux_cols=150
ok_diag=both

SERVER=${REDIS_SERVER:-redis-server}	# also the sentinel (--sentinel)
case $SERVER in
valkey-server) CLI=valkey-cli impl=valkey ;;
*) CLI=redis-cli impl=redis ;;
esac
SENTINEL=$SERVER
next_port=$(( 30000 + $$ % 15000 ))

# free_port: a port nothing answers on (nor 10000 above it: cluster bus);
# in $port.
free_port() {
	while $CLI -p "$next_port" ping >/dev/null 2>&1 ||
	    $CLI -p $((next_port + 10000)) ping >/dev/null 2>&1; do
		next_port=$((next_port + 1))
	done
	port=$next_port
	next_port=$((next_port + 1))
}
# closed_port: a port held (tests/tools/badredis closed) where every
# connection is refused and no other server can listen; in $port, the
# holder's pid in $cpid.
: "${BADREDIS:=$top_builddir/tests/tools/badredis}"
closed_port() {
	rm -f "$tmp/cport"
	"$BADREDIS" "$tmp/cport" closed 2>/dev/null &
	cpid=$!
	pids="$pids $cpid"
	_i=0
	while [ ! -s "$tmp/cport" ] && [ $_i -lt 100 ]; do sleep 0.05; _i=$((_i + 1)); done
	port=$(cat "$tmp/cport")
}
# ours PORT PID: the server answering on PORT is the one we started.
ours() {
	_i=0
	while ! $CLI -p "$1" ping >/dev/null 2>&1 && [ $_i -lt 100 ]; do
		sleep 0.05; _i=$((_i + 1))
	done
	[ "$($CLI -p "$1" INFO server 2>/dev/null | tr -d '\r' |
	    sed -n 's/^process_id://p')" = "$2" ]
}
# node NAME ARGS...: a data node on a free port; port in $port, pid added
# to $pids.
node() {
	_name=$1; shift
	for _a in 1 2 3 4 5 6 7 8 9 10; do
		free_port
		mkdir -p "$tmp/$_name"
		$SERVER --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
		    --repl-diskless-sync-delay 0 --dir "$tmp/$_name" --logfile "$tmp/$_name/log" "$@" \
		    >/dev/null 2>&1 &
		_p=$!
		if ours "$port" $_p; then pids="$pids $_p"; return 0; fi
		kill $_p 2>/dev/null
	done
	return 1
}
# sentinel NAME MASTER-PORT [PORT]: a sentinel watching master "mym" on
# MASTER-PORT (quorum 1, down after 1000 ms); port in $port.
sentinel() {
	_name=$1
	for _a in 1 2 3 4 5 6 7 8 9 10; do
		if [ $# -ge 3 ]; then port=$3; else free_port; fi
		mkdir -p "$tmp/$_name"
		cat >"$tmp/$_name/sentinel.conf" <<EOC
port $port
bind 127.0.0.1
dir $tmp/$_name
logfile $tmp/$_name/log
sentinel monitor mym 127.0.0.1 $2 1
sentinel down-after-milliseconds mym 1000
sentinel failover-timeout mym 5000
sentinel parallel-syncs mym 1
${sentinel_extra:-}
EOC
		$SENTINEL "$tmp/$_name/sentinel.conf" --sentinel >/dev/null 2>&1 &
		_p=$!
		if [ -n "${sentinel_auth:-}" ]; then
			REDISCLI_AUTH=$sentinel_auth ours "$port" $_p && {
			    pids="$pids $_p"; return 0; }
		elif ours "$port" $_p; then pids="$pids $_p"; return 0; fi
		kill $_p 2>/dev/null
		[ $# -ge 3 ] && return 1
	done
	return 1
}
# set_up NAME: primary ($mport), replica ($rep) and sentinel ($sport_) that
# knows the replica (so that SENTINEL FAILOVER can pick it).
set_up() {
	node "$1-p" || return 1; mport=$port
	node "$1-r" --replicaof 127.0.0.1 "$mport" || return 1; rep=$port
	sentinel "$1-s" "$mport" || return 1; sport_=$port
	_i=0
	while [ $_i -lt 100 ] && ! $CLI -p "$sport_" SENTINEL replicas mym 2>/dev/null |
	    grep -q "^127.0.0.1:$rep$"; do
		sleep 0.1; _i=$((_i + 1))
	done
	[ $_i -lt 100 ] || return 1
	# The replica has synced (a key set on the master from now on is
	# on the replica at once).
	_i=0
	while [ $_i -lt 100 ] && ! $CLI -p "$rep" INFO replication 2>/dev/null |
	    grep -q "master_link_status:up"; do
		sleep 0.1; _i=$((_i + 1))
	done
	[ $_i -lt 100 ]
}
# master_of SPORT: what the sentinel says the master is, "host:port".
master_of() {
	$CLI -p "$1" SENTINEL get-master-addr-by-name mym 2>/dev/null | paste -sd: -
}
# failover SPORT: SENTINEL FAILOVER, asked again while the sentinel has no
# good replica yet (it must have seen its link up), at most 10 s.
failover() {
	_i=0
	while [ $_i -lt 50 ]; do
		$CLI -p "$1" SENTINEL FAILOVER mym 2>&1 | grep -q '^OK' && return 0
		sleep 0.2; _i=$((_i + 1))
	done
	return 1
}
# wait_master SPORT ADDR: until the sentinel names ADDR (10 s).
wait_master() {
	_i=0
	while [ $_i -lt 100 ] && [ "$(master_of "$1")" != "$2" ]; do
		sleep 0.1; _i=$((_i + 1))
	done
	[ "$(master_of "$1")" = "$2" ]
}
# runbook FILE SENTINELS [MASTER [TIMEOUT-MS [STEPS]]]
runbook() {
	cat >"$1" <<EOR
runbook: sentinel
owner: ops
redis: { sentinels: [$2], master: ${3:-mym}, timeout_ms: ${4:-1000} }
routes:
  - { name: blog, keys: ["anp:page:/blog/*"], max_keys: 300000 }
steps:
${5:-  - { title: Sign off, manual: "looks fine" \}}
EOR
}
records() {	# records LOG: the redis.master records, one line each
	grep '"type":"redis.master"' "$1"
}

cases() {
	impl=$1
	set_up "$impl-a" || { ok 1 "$impl: servers and a sentinel started"; return; }

	# check resolves the master and prints it; the log has the record.
	runbook "$tmp/$impl-a.yml" "\"127.0.0.1:$sport_\""
	"$REHEARSE" check --audit "$tmp/$impl-check.jsonl" "$tmp/$impl-a.yml" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	[ $rc = 0 ] && grep -q "^ok   redis: up, .*master mym at 127.0.0.1:$mport since [0-9:]* (resolved), master" "$tmp/out" &&
	    records "$tmp/$impl-check.jsonl" | grep -q "\"master\":\"mym\",\"address\":\"127.0.0.1:$mport\",\"previous\":null,\"reason\":\"resolved\",\"sentinel\":\"127.0.0.1:$sport_\""
	ok $? "$impl: check resolves the master through the sentinel, prints its address; the log records it"

	# A user who may not run ROLE: the master check reads INFO
	# replication's role instead; who may run neither is refused, named.
	$CLI -p "$mport" ACL SETUSER norole on nopass '~*' '&*' +@all -role >/dev/null
	$CLI -p "$mport" ACL SETUSER blind on nopass '~*' '&*' +@all -role -info >/dev/null
	for u in norole blind; do
		cat >"$tmp/$impl-$u.yml" <<EOR
runbook: sentinel user $u
owner: ops
redis: { sentinels: ["127.0.0.1:$sport_"], master: mym, username: $u, timeout_ms: 1000 }
steps:
  - { title: Sign off, manual: "looks fine" }
EOR
	done
	"$REHEARSE" check "$tmp/$impl-norole.yml" >"$tmp/out" 2>"$tmp/err"
	[ $? = 0 ] && grep -q "master mym at 127.0.0.1:$mport" "$tmp/out"
	ok $? "$impl: a user who may not run ROLE: the master is told by INFO replication"
	"$REHEARSE" check "$tmp/$impl-blind.yml" >"$tmp/out" 2>"$tmp/err"
	[ $? = 1 ] && grep -q "cannot tell whether this node is the master: this user may run neither ROLE (NOPERM.*) nor INFO replication" "$tmp/out"
	ok $? "$impl: a user who may run neither ROLE nor INFO: refused, both named"

	# A sentinel that is down is skipped for the next one.
	closed_port; dead=$port
	runbook "$tmp/$impl-b.yml" "\"127.0.0.1:$dead\", \"127.0.0.1:$sport_\""
	"$REHEARSE" check "$tmp/$impl-b.yml" >"$tmp/out" 2>"$tmp/err"
	[ $? = 0 ] && grep -q "master mym at 127.0.0.1:$mport" "$tmp/out"
	ok $? "$impl: a sentinel that is down is passed over for the next in the list"

	# A wrong master name.
	runbook "$tmp/$impl-c.yml" "\"127.0.0.1:$sport_\"" nosuch
	"$REHEARSE" check "$tmp/$impl-c.yml" >"$tmp/out" 2>"$tmp/err"
	[ $? = 1 ] && grep -q "^FAIL redis: down: the sentinels do not know master nosuch (retry in [0-9]* s)" "$tmp/out"
	ok $? "$impl: a master the sentinels do not know: check fails, naming it"

	# All sentinels down: named, and retried until one comes up.
	closed_port; dead2=$port; dead2_pid=$cpid
	runbook "$tmp/$impl-d.yml" "\"127.0.0.1:$dead\", \"127.0.0.1:$dead2\""
	"$REHEARSE" check "$tmp/$impl-d.yml" >"$tmp/out" 2>"$tmp/err"
	[ $? = 1 ] && grep -q "^FAIL redis: down: no sentinel gave the address of master mym: 127.0.0.1:$dead: Connection refused; 127.0.0.1:$dead2: Connection refused (retry in" "$tmp/out"
	ok $? "$impl: every sentinel down: check fails, naming each and why"

	start "$REHEARSE" run --read-only "$tmp/$impl-d.yml"
	wait_for "no sentinel gave the address of master mym"
	r0=$?
	kill $dead2_pid; wait $dead2_pid 2>/dev/null	# the port is free now
	sentinel "$impl-late" "$mport" "$dead2" &&
	    wait_for "master mym at 127.0.0.1:$mport since" 40 &&
	    wait_for "redis up" 5 && [ $r0 = 0 ]
	ok $? "$impl: the dashboard retries the sentinels and connects when one comes up"
	t kill-server 2>/dev/null

	# A sentinel that wants a password: sentinel_password_env.
	sentinel_extra="requirepass s3cret-sentinel" sentinel_auth=s3cret-sentinel \
	    sentinel "$impl-pw" "$mport"; spw=$port
	cat >"$tmp/$impl-pw.yml" <<EOR
runbook: sentinel password
owner: ops
redis: { sentinels: ["127.0.0.1:$spw"], master: mym, sentinel_password_env: RH_SPW }
steps:
  - { title: Sign off, manual: "looks fine" }
EOR
	RH_SPW=s3cret-sentinel "$REHEARSE" check --audit "$tmp/$impl-pw.jsonl" "$tmp/$impl-pw.yml" >"$tmp/out" 2>"$tmp/err"
	[ $? = 0 ] && grep -q "master mym at 127.0.0.1:$mport" "$tmp/out" &&
	    ! grep -q s3cret "$tmp/$impl-pw.jsonl" "$tmp/out" "$tmp/err"
	ok $? "$impl: sentinel_password_env authenticates to the sentinel; the password is nowhere in the output or the log"
	RH_SPW=wrong "$REHEARSE" check "$tmp/$impl-pw.yml" >"$tmp/out" 2>"$tmp/err"
	[ $? = 1 ] && grep -q "no sentinel gave the address of master mym: 127.0.0.1:$spw: authentication failed" "$tmp/out"
	r=$?
	"$REHEARSE" check "$tmp/$impl-pw.yml" >"$tmp/out" 2>"$tmp/err"
	[ $? = 2 ] && [ $r = 0 ] && grep -q "sentinel_password_env names the environment variable RH_SPW, which is not set" "$tmp/err"
	ok $? "$impl: a wrong sentinel password is named; an unset variable is a usage error (exit 2)"

	# A sentinel that speaks TLS only: sentinel_tls, with a certificate
	# made here for 127.0.0.1 (the master stays plaintext).
	if [ ! -s "$tmp/st.crt" ]; then
		openssl req -x509 -new -nodes -newkey rsa:2048 -keyout "$tmp/st.key" \
		    -out "$tmp/st.crt" -days 30 -subj "/CN=127.0.0.1" \
		    -addext "subjectAltName=IP:127.0.0.1" >/dev/null 2>&1
	fi
	# Started like the others: a free port, our pid answering (over TLS),
	# another port when the first attempt did not come up.
	tcli() { $CLI --tls --cacert "$tmp/st.crt" -p "$stls" "$@"; }
	stls_up=1
	for _a in 1 2 3 4 5 6 7 8 9 10; do
		free_port; stls=$port
		mkdir -p "$tmp/$impl-tls"
		cat >"$tmp/$impl-tls/sentinel.conf" <<EOC
port 0
tls-port $stls
tls-cert-file $tmp/st.crt
tls-key-file $tmp/st.key
tls-ca-cert-file $tmp/st.crt
tls-auth-clients no
bind 127.0.0.1
dir $tmp/$impl-tls
logfile $tmp/$impl-tls/log
sentinel monitor mym 127.0.0.1 $mport 1
EOC
		$SENTINEL "$tmp/$impl-tls/sentinel.conf" --sentinel >/dev/null 2>&1 &
		_p=$!
		_i=0
		while ! tcli ping >/dev/null 2>&1 && [ $_i -lt 200 ]; do
			sleep 0.05; _i=$((_i + 1))
		done
		if [ "$(tcli INFO server 2>/dev/null | tr -d '\r' |
		    sed -n 's/^process_id://p')" = "$_p" ]; then
			pids="$pids $_p"; stls_up=0; break
		fi
		kill $_p 2>/dev/null
		echo "# the TLS sentinel on $stls did not come up: $(tail -n 3 "$tmp/$impl-tls/log" 2>/dev/null | tr '\n' ' ')"
	done
	tls_rb() {	# tls_rb EXTRA: the runbook, sentinel_tls as EXTRA
		cat >"$tmp/$impl-tls.yml" <<EOR
runbook: sentinel over tls
owner: ops
redis: { sentinels: ["127.0.0.1:$stls"], master: mym, timeout_ms: 1000 $1 }
steps:
  - { title: Sign off, manual: "looks fine" }
EOR
	}
	tls_rb ", sentinel_tls: { ca_file: $tmp/st.crt }"
	"$REHEARSE" check "$tmp/$impl-tls.yml" >"$tmp/out" 2>"$tmp/err"
	[ $? = 0 ] && grep -q "master mym at 127.0.0.1:$mport" "$tmp/out"
	ok $? "$impl: sentinel_tls: the sentinel is asked over TLS, its certificate checked; the master found"
	tls_rb ", sentinel_tls: { ca_file: $tmp/no-such.crt }"
	"$REHEARSE" check "$tmp/$impl-tls.yml" >"$tmp/out" 2>"$tmp/err"
	[ $? = 2 ] && grep -q "redis.sentinel_tls.ca_file: cannot read $tmp/no-such.crt" "$tmp/err"
	ok $? "$impl: a sentinel_tls file that cannot be read: exit 2, the field named"
	tls_rb ""
	"$REHEARSE" check "$tmp/$impl-tls.yml" >"$tmp/out" 2>"$tmp/err"
	[ $? = 1 ] && grep -q "127.0.0.1:$stls: this port speaks TLS" "$tmp/out"
	ok $? "$impl: a TLS sentinel asked without sentinel_tls: 'this port speaks TLS'"

	# A plain url at the Sentinel's port.
	cat >"$tmp/$impl-e.yml" <<EOR
runbook: wrong port
owner: ops
redis: { url: "redis://127.0.0.1:$sport_/0", timeout_ms: 1000 }
steps:
  - { title: Sign off, manual: "looks fine" }
EOR
	"$REHEARSE" check "$tmp/$impl-e.yml" >"$tmp/out" 2>"$tmp/err"
	[ $? = 1 ] && grep -q "^FAIL redis: down: this is a Sentinel (redis_mode sentinel): use redis.sentinels and redis.master" "$tmp/out"
	ok $? "$impl: a plain url at a Sentinel port fails check, saying to use redis.sentinels"

	# A replica where the master should be is not taken for it: the
	# handshake's ROLE check, with the replica's own sentinel lying.
	# (Covered by the failover cases below, which connect only once
	# ROLE says master.)

	# SENTINEL FAILOVER during a dashboard session.
	$CLI -p "$mport" SET anp:page:/blog/x v >/dev/null
	start "$REHEARSE" run --audit "$tmp/$impl-dash.jsonl" "$tmp/$impl-a.yml"
	wait_for "master mym at 127.0.0.1:$mport since .*(resolved)" && wait_for "mem .* keys 1 "
	ok $? "$impl: the dashboard's Redis pane names the master"
	failover "$sport_" && wait_master "$sport_" "127.0.0.1:$rep" &&
	    wait_for "master mym at 127.0.0.1:$rep since [0-9:]* \((switch-master|re-resolved after disconnect), was 127.0.0.1:$mport\)" 15
	r1=$?
	# Readouts recover: the new master's key count, after a write there.
	$CLI -p "$rep" SET anp:page:/blog/y v >"$tmp/set-y" 2>&1
	[ $r1 = 0 ] && wait_for "redis up" 10 && wait_for "mem .* keys 2 " 10
	r1=$?
	[ $r1 = 0 ] || echo "# SET on the new master: $(cat "$tmp/set-y"); its DBSIZE $($CLI -p "$rep" DBSIZE), ROLE $($CLI -p "$rep" ROLE | head -1); old: ROLE $($CLI -p "$mport" ROLE | head -1), DBSIZE $($CLI -p "$mport" DBSIZE)"
	ok $r1 "$impl: after SENTINEL FAILOVER the screen names the new master and readouts recover"
	keys q
	wait_for "EXITED"
	records "$tmp/$impl-dash.jsonl" | grep -q "\"address\":\"127.0.0.1:$rep\",\"previous\":\"127.0.0.1:$mport\",\"reason\":\"\(switch-master\|re-resolved after disconnect\)\""
	ok $? "$impl: the log has the switch of master, from the old address to the new"
	t kill-server 2>/dev/null

	# SENTINEL FAILOVER during a 200,000-key purge (with a backup, which
	# makes it last long enough to be caught).  The master holds writes
	# (CLIENT PAUSE WRITE) so that UNLINK batches are in flight when the
	# failover is announced: what happens to them is unknown, and must
	# be said so; every key deleted or in doubt is in the backup.
	set_up "$impl-f" || { ok 1 "$impl: a second set of servers"; return; }
	seq 1 200000 | awk '{ print "SET anp:page:/blog/p" $1 " v" }' |
	    $CLI -p "$mport" --pipe >/dev/null 2>&1
	i=0; while [ $i -lt 100 ] && [ "$($CLI -p "$rep" DBSIZE)" != 200000 ]; do sleep 0.1; i=$((i + 1)); done
	runbook "$tmp/$impl-f.yml" "\"127.0.0.1:$sport_\"" mym 15000 \
	    "  - { title: Purge the blog pages, purge: { route: blog, backup: true } }"
	"$REHEARSE" run --batch --yes --audit "$tmp/$impl-purge.jsonl" "$tmp/$impl-f.yml" >"$tmp/out" 2>"$tmp/err" &
	rh=$!
	# Once the deletion began (its intent is in the log), hold writes.
	i=0; while [ $i -lt 200 ] && ! grep -q purge.intent "$tmp/$impl-purge.jsonl" 2>/dev/null; do sleep 0.01; i=$((i + 1)); done
	$CLI -p "$mport" CLIENT PAUSE 8000 WRITE >/dev/null
	failover "$sport_"
	wait "$rh"
	rc=$?
	$CLI -p "$mport" CLIENT UNPAUSE >/dev/null 2>&1
	wait_master "$sport_" "127.0.0.1:$rep"
	left=$($CLI -p "$rep" DBSIZE)
	done_=$(grep '"type":"purge.done"' "$tmp/$impl-purge.jsonl")
	deleted=$(echo "$done_" | sed -n 's/.*"deleted":\([0-9]*\).*/\1/p')
	doubt=$(echo "$done_" | sed -n 's/.*"in_doubt":\([0-9]*\).*/\1/p')
	untouched=$(echo "$done_" | sed -n 's/.*"untouched":\([0-9]*\).*/\1/p')
	saved=$(echo "$done_" | sed -n 's/.*"backed_up":\([0-9]*\).*/\1/p')
	echo "# purge: exit $rc, deleted ${deleted:-?}, in doubt ${doubt:-?}, not touched ${untouched:-?}, backed up ${saved:-?}; $left keys left on the new master"
	# The keys the old master deleted after the promotion are still on
	# the new one: only the lower bound of what is left holds.
	[ $rc = 1 ] && echo "$done_" | grep -q '"state":"failed"' &&
	    echo "$done_" | grep -q "failover: master mym moved from 127.0.0.1:$mport to 127.0.0.1:$rep" &&
	    [ -n "$deleted" ] && [ -n "$doubt" ] && [ -n "$untouched" ] &&
	    [ $((deleted + doubt + untouched)) = 200000 ] && [ "$doubt" -gt 0 ] &&
	    [ "$untouched" -gt 0 ] && [ "$left" -ge $((200000 - deleted - doubt)) ] &&
	    [ -n "$saved" ] && [ "$saved" -ge $((deleted + doubt)) ] &&
	    grep -q "fail .*Purge the blog pages" "$tmp/out" &&
	    grep -q "deleted $deleted of 200000 previewed (0 already gone, $doubt in doubt) in [0-9]* ms; $untouched not touched -- Redis failed during batch [0-9]* of [0-9]*: failover: master mym moved from 127.0.0.1:$mport to 127.0.0.1:$rep" "$tmp/err" &&
	    grep -q "redis master mym is now 127.0.0.1:$rep (switch-master, was 127.0.0.1:$mport)" "$tmp/err"
	ok $? "$impl: SENTINEL FAILOVER during a purge stops it; the batches in flight are in doubt, the rest not touched, none counted done; the step says so"
}

cases "$impl"

# Sentinels that lie (tests/tools/badredis sentinel-says): every answer is
# bounded and checked, and each surprise is named.
bpid=
# liar SAYS [ROLE [PUSH]]: badredis as the only sentinel; port in $bport.
liar() {
	[ -n "$bpid" ] && { kill "$bpid"; wait "$bpid" 2>/dev/null; }
	rm -f "$tmp/bport"
	BADREDIS_SAYS=$1 BADREDIS_ROLE=${2:-sentinel} BADREDIS_PUSH=${3:-} \
	    "$BADREDIS" "$tmp/bport" sentinel-says 2>"$tmp/badredis.err" &
	bpid=$!
	pids="$pids $bpid"
	i=0
	while [ ! -s "$tmp/bport" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	bport=$(cat "$tmp/bport")
	runbook "$tmp/liar.yml" "\"127.0.0.1:$bport\""
}
long=$(printf '%300s' '' | tr ' ' a)
for says in "*2|\$300|$long|\$4|6379|" '*2|$9|127.0.0.1|$5|99999|' \
    '*1|$9|127.0.0.1|' ':7|' '*2|$9|127.0.0.1|:6379|' '*2|$11|127.0.0.1 x|$4|6379|'; do
	liar "$says"
	"$REHEARSE" check "$tmp/liar.yml" >"$tmp/out" 2>"$tmp/err"
	[ $? = 1 ] && grep -q "^FAIL redis: down: no sentinel gave the address of master mym: 127.0.0.1:$bport: not an address (host of at most 255 bytes, port 1 to 65535)" "$tmp/out"
	ok $? "a sentinel answering $(echo "$says" | cut -c1-40): not an address, named"
done

esc=$(printf '\033')
liar "-ERR$esc[2J no such thing|"
"$REHEARSE" check "$tmp/liar.yml" >"$tmp/out" 2>"$tmp/err"
[ $? = 1 ] && grep -q "no sentinel gave the address of master mym: 127.0.0.1:$bport: ERR" "$tmp/out" &&
    ! grep -q "$(printf '\033')" "$tmp/out"
ok $? "a sentinel answering an error: named, escaped"

liar '*2|$9|127.0.0.1|$5|{port}|' slave
"$REHEARSE" check "$tmp/liar.yml" >"$tmp/out" 2>"$tmp/err"
[ $? = 1 ] && grep -q "^FAIL redis: down: 127.0.0.1:$bport is not the master (ROLE slave: a replica)" "$tmp/out"
ok $? "a replica where the sentinel says the master is: refused by ROLE, named"

liar '*2|$9|127.0.0.1|$5|{port}|'
"$REHEARSE" check "$tmp/liar.yml" >"$tmp/out" 2>"$tmp/err"
[ $? = 1 ] && grep -q "^FAIL redis: down: this is a Sentinel (redis_mode sentinel)" "$tmp/out"
ok $? "a Sentinel where the sentinel says the master is: refused, named"

# Messages on the watch that are not a failover of ours: nothing moves.
bulk() { printf '$%s|%s|' "${#1}" "$1"; }	# bulk TEXT: as RESP, | for CRLF
msg() { printf '*3|'; bulk message; bulk "$1"; bulk "$2"; }
node push-m; pm=$port
node push-n; pn=$port
watch_run() {	# watch_run PUSH: a batch run while the liar sends PUSH
	liar "*2|$(bulk 127.0.0.1)$(bulk "$pm")" master "$1"
	runbook "$tmp/liar.yml" "\"127.0.0.1:$bport\"" mym 1000 \
	    '  - { title: Wait, run: "sleep 0.5" }'
	rm -f "$tmp/push.jsonl"
	"$REHEARSE" run --batch --yes --audit "$tmp/push.jsonl" "$tmp/liar.yml" >"$tmp/out" 2>"$tmp/err"
}
for push in "$(msg +switch-master "mym 127.0.0.1 $pm 127.0.0.1 $pn $(printf '%1000s' '' | tr ' ' x)")" \
    "$(msg +switch-master "mym 127.0.0.1 $pm 127.0.0.1 0")" \
    "$(msg +switch-master "mym 127.0.0.1 $pm 127.0.0.1 $pn extra")" \
    "$(msg +switch-master "mym 127.0.0.1 $pm 127.0.0.1$esc[2J $pn")" \
    "$(msg +switch-master "other 127.0.0.1 $pm 127.0.0.1 $pn")" \
    "$(msg +odd! "mym 127.0.0.1 $pm 127.0.0.1 $pn")" \
    "*4|$(bulk pmessage)$(bulk '*')$(bulk +switch-master)$(bulk "other 1 2 3 4")"; do
	watch_run "$push"
	[ $? = 0 ] && [ "$(records "$tmp/push.jsonl" | wc -l)" = 1 ] && ! grep -q "is now" "$tmp/err"
	ok $? "a watch message $(echo "$push" | cut -c1-60 | tr -d '\033'): nothing switches, the step passes"
done
# The control: a well-formed one for our master does switch (and the
# liar, still naming the old address, is then believed again).
watch_run "$(msg +switch-master "mym 127.0.0.1 $pm 127.0.0.1 $pn")"
[ $? = 0 ] && grep -q "redis master mym is now 127.0.0.1:$pn (switch-master, was 127.0.0.1:$pm)" "$tmp/err" &&
    records "$tmp/push.jsonl" | grep -q "\"address\":\"127.0.0.1:$pn\",\"previous\":\"127.0.0.1:$pm\",\"reason\":\"switch-master\""
ok $? "a well-formed +switch-master for our master: followed, recorded"

echo "1..$n"
[ "$fails" = 0 ]
