#!/bin/sh
# cluster_kit.sh: the cluster test kit checked against the real thing, so
# that the cluster tests can trust it: tests/cluster_lib.sh makes a
# 3-primary, 1-replica-each cluster; clusterkit's slots agree with
# CLUSTER KEYSLOT (chosen keys: plain, hash tags, "{}", "{{a}}", "a{b",
# binary; and 20,000 random ones); load + count give exact numbers (plain,
# tagged, binary keys) that DBSIZE confirms; monitor-check passes clean
# traffic and catches a real KEYS (from MONITOR on a cluster node), a real
# FLUSHDB and cross-slot DEL with binary keys (from MONITOR on a
# standalone server: a cluster node refuses it before MONITOR sees it, and
# cl_errorstat counts the refusal); floor deletes exactly what matched;
# cl_reshard moves slots and their keys; a primary killed has its replica
# promoted; a TLS-only cluster with an ACL user comes up.  Speaks TAP.
set -u
: "${REHEARSE:=./rehearse}" "${top_srcdir:=.}" "${top_builddir:=.}"
: "${CLUSTERKIT:=$top_builddir/tests/tools/clusterkit}"
tmp=$(mktemp -d)
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/cluster_lib.sh"
kit() { "$CLUSTERKIT" "$@"; }

if ! cluster_start kit 3 1 2>"$tmp/err"; then
	ok 1 "a 3-primary cluster with a replica each came up"
	# 7. TLS ----------------------------------------------------------------
if cl_tls "$tmp/pki" && cluster_start tls 3 0 2>"$tmp/err"; then
	t1=${cl_primaries%% *}
	cl_acl_user ann 'a secret "pw"' '~*' '+@all'
	[ "$(cl_cli "$t1" PING)" = PONG ] &&
	    ! redis-cli -p "$t1" PING 2>/dev/null | grep -q PONG &&
	    [ "$(cl_cli "$t1" --user ann --pass 'a secret "pw"' --no-auth-warning PING)" = PONG ] &&
	    cl_cli "$t1" CLUSTER SHARDS | grep -q '^tls-port$' &&
	    [ -n "$(cl_owner foo)" ]
	ok $? "a TLS-only cluster ($cl_primaries): TLS answers, plaintext does not, an ACL user on every node"
else
	ok 1 "a TLS-only cluster came up"
fi

echo "1..$n"
	exit 1
fi
set -- $cl_primaries
p1=$1 p2=$2 p3=$3
[ "$(echo $cl_ports | wc -w)" = 6 ] && [ "$(echo $cl_replicas | wc -w)" = 3 ] &&
    [ "$(cl_owner 0)" = "$p1" ] && [ "$(cl_owner 16383)" = "$p3" ]
ok $? "cluster_start: 6 nodes, primaries $cl_primaries, replicas $cl_replicas"

# 1. keyslot -------------------------------------------------------------
# The keys as redis-cli's stdin takes them (and clusterkit keyslot -q).
cat >"$tmp/keys" <<'EOF'
""
"a"
"123456789"
"foo"
"{user1000}.following"
"{user1000}.followers"
"foo{}{bar}"
"foo{{bar}}zap"
"foo{bar}{zap}"
"{}"
"{}a"
"{{a}}"
"{{}}"
"a{b"
"a}b{"
"}{"
"{a"
"a{b}c"
"anp:page:/blog/hello-world"
"anp:page:{blog}/hello-world"
"\x00"
"\x00\xff"
"{\x00}"
"{\x00}\xffabc"
"a\nb{\r\n}"
"\xff{\xfe}\x00"
"{\x7b}"
"\x7b\x7d"
"\x7b\x00\x7d\x00"
"\"quoted\" {tag}"
"back\\slash{\\}"
EOF
sed 's/^/CLUSTER KEYSLOT /' "$tmp/keys" | cl_cli "$p1" >"$tmp/server.slots" 2>&1
kit keyslot -q <"$tmp/keys" >"$tmp/ours.slots"
[ "$(wc -l <"$tmp/keys")" = "$(wc -l <"$tmp/server.slots")" ] &&
    cmp -s "$tmp/server.slots" "$tmp/ours.slots"
ok $? "keyslot agrees with CLUSTER KEYSLOT on $(wc -l <"$tmp/keys") chosen keys (tags, {}, {{a}}, a{b, binary)"
[ "$(kit keyslot 123456789 '{user1000}.following' 'x{user1000}y')" = "$(printf '12739\n3443\n3443')" ]
ok $? "keyslot of 123456789 is 12739 (CRC16 0x31c3); a hash tag decides the slot"

kit keyslot-check "$p2" 20000 >"$tmp/out" 2>"$tmp/err"
ok $? "keyslot-check: 20,000 random binary keys agree with CLUSTER KEYSLOT"

# 2. load and count ------------------------------------------------------
kit load "$p1" "kit:plain:" 30000 2>"$tmp/err" &&
    kit load "$p2" "kit:page:" 5000 --tagged blog 2>>"$tmp/err" &&
    kit load "$p3" "kit:bin:" 2000 --binary --value-bytes 100 2>>"$tmp/err"
ok $? "load: 30,000 plain, 5,000 tagged, 2,000 binary keys"
[ "$(cl_total)" = 37000 ] &&
    [ "$(kit count "$p1" 'kit:plain:*' 2>/dev/null)" = 30000 ] &&
    [ "$(kit count "$p1" 'kit:page:{blog}*' 2>/dev/null)" = 5000 ] &&
    [ "$(kit count "$p2" 'kit:bin:*' 2>/dev/null)" = 2000 ] &&
    [ "$(kit count "$p3" 'kit:*' 2>/dev/null)" = 37000 ] &&
    [ "$(kit count "$p3" 'nothing:*' 2>/dev/null)" = 0 ]
ok $? "count: exactly 30000, 5000, 2000, 37000 and 0; DBSIZE adds up to 37000"
kit count "$p1" 'kit:plain:*' 2>"$tmp/shards" >/dev/null
[ "$(grep -c '^shard 127.0.0.1:[0-9]* keys [1-9]' "$tmp/shards")" = 3 ]
ok $? "the plain keys are on all three primaries: $(tr '\n' ' ' <"$tmp/shards")"
tag_owner=$(cl_owner "{blog}")
kit count "$p1" 'kit:page:{blog}*' 2>"$tmp/shards" >/dev/null
[ "$(grep -c ' keys 0$' "$tmp/shards")" = 2 ] &&
    grep -q "^shard 127.0.0.1:$tag_owner keys 5000$" "$tmp/shards" &&
    [ "$(cl_cli "$tag_owner" CLUSTER COUNTKEYSINSLOT "$(cl_slot '{blog}')")" -ge 5000 ]
ok $? "the 5,000 tagged keys are all on $tag_owner, in the slot of {blog}"
# The binary keys hold 00 and ff bytes, quotes and braces: key 6 ends "}{".
printf 'kit:bin:6\000\377\n\r\t "'"'"'\\*?[]\033}{' >"$tmp/bkey"
printf '%s\n' '"kit:bin:6\x00\xff\n\r\t \"'"'"'\\*?[]\x1b}{"' >"$tmp/bkey.q"
bslot=$(kit keyslot -q <"$tmp/bkey.q")
[ "$(cl_cli "$(cl_owner "$bslot")" -x EXISTS <"$tmp/bkey")" = 1 ] &&
    [ "$(cl_cli "$p1" -x CLUSTER KEYSLOT <"$tmp/bkey")" = "$bslot" ]
ok $? "a binary key is stored byte for byte (EXISTS on the owner of slot $bslot)"

# Speed: 3,000,000 keys must load well under a minute; 300,000 here.
t0=$(now_ms)
kit load "$p1" "kit:speed:" 300000 2>"$tmp/err"
st=$?
took=$(( $(now_ms) - t0 ))
[ $st = 0 ] && [ $took -lt 20000 ]
ok $? "load: 300,000 keys in $took ms"

# 3. monitor-check -------------------------------------------------------
cl_monitor_start
cl_cli "$p1" SCAN 0 MATCH 'kit:*' COUNT 100 >/dev/null
cl_cli "$tag_owner" UNLINK 'kit:page:{blog}1' 'kit:page:{blog}2' 'kit:page:{blog}3' >/dev/null
cl_cli "$tag_owner" -x EXISTS <"$tmp/bkey" >/dev/null
cl_cli "$tag_owner" MGET 'kit:page:{blog}4' 'kit:page:{blog}5' >/dev/null
cl_monitor_stop
kit monitor-check "$cl_dir"/monitor.* >"$tmp/out" 2>"$tmp/err" &&
    grep -q '"UNLINK" "kit:page:{blog}1"' "$cl_dir/monitor.$tag_owner"
ok $? "monitor-check passes SCAN, UNLINK and MGET of one slot on every node"

cl_resetstat
cl_monitor_start
# A cross-slot DEL on a cluster node: refused, and never shown by MONITOR.
cl_cli "$p1" DEL kit:plain:1 kit:plain:2 kit:plain:3 kit:plain:4 >"$tmp/crossslot" 2>&1
cl_cli "$p2" KEYS 'kit:page:*' >/dev/null
cl_monitor_stop
grep -q CROSSSLOT "$tmp/crossslot" && [ "$(cl_errorstat CROSSSLOT)" = 1 ] &&
    ! grep -q '"DEL"' "$cl_dir"/monitor.*
ok $? "a cross-slot DEL is refused (CROSSSLOT), counted by cl_errorstat, not in MONITOR"
kit monitor-check "$cl_dir"/monitor.* >"$tmp/out" 2>"$tmp/err"
[ $? = 1 ] && grep -q "monitor\.$p2:[0-9]*: KEYS" "$tmp/err" &&
    [ "$(grep -c : "$tmp/err")" = 1 ]
ok $? "monitor-check fails on a real KEYS on a cluster node, naming file and line"

# A real cross-slot command, as MONITOR shows it: on a standalone server.
start_redis
redis-cli -p "$rport" MONITOR >"$tmp/monitor.standalone" 2>&1 &
mpid=$!
pids="$pids $mpid"
cl_poll 10 sh -c "redis-cli -p $rport CLIENT LIST | grep -q flags=O"
redis-cli -p "$rport" UNLINK 'a{x}' 'b{x}' 'c{x}' >/dev/null
printf 'k{\000}1' | redis-cli -p "$rport" -x SET bin1 >/dev/null
printf 'EXISTS "{\\x00}a" "{\\x00}\\xff" "x{\\x00}"\n' | redis-cli -p "$rport" >/dev/null
printf 'DEL "\\x00{a}" "\\x00{b}"\n' | redis-cli -p "$rport" >/dev/null
redis-cli -p "$rport" FLUSHDB >/dev/null
redis-cli -p "$rport" ECHO end >/dev/null
cl_poll 10 grep -q '"end"' "$tmp/monitor.standalone"
kill "$mpid"
wait "$mpid" 2>/dev/null
kit monitor-check "$tmp/monitor.standalone" >"$tmp/out" 2>"$tmp/err"
[ $? = 1 ] && [ "$(grep -c 'cross-slot' "$tmp/err")" = 1 ] &&
    grep -q 'monitor.standalone:[0-9]*: cross-slot DEL' "$tmp/err" &&
    grep -q 'monitor.standalone:[0-9]*: FLUSHDB' "$tmp/err" &&
    grep -q '"DEL" "\\x00{a}" "\\x00{b}"' "$tmp/monitor.standalone"
ok $? "monitor-check reads \\x00 escapes: one-slot binary EXISTS passes; a binary cross-slot DEL and a FLUSHDB fail"
printf '1.0 [0 127.0.0.1:1] "UNLINK" "a{x}" "b{' >"$tmp/cut"
kit monitor-check "$tmp/cut" >/dev/null 2>&1
ok $? "monitor-check leaves out a last line cut short"

# 4. floor ---------------------------------------------------------------
kit floor "$p1" 'kit:plain:*' >"$tmp/out" 2>"$tmp/err"
st=$?
[ $st = 0 ] && [ "$(grep -c '^shard ' "$tmp/out")" = 3 ] &&
    [ "$(awk '/^shard/ { s += $4 } END { print s }' "$tmp/out")" = 30000 ] &&
    grep -q '^slowest_ms [0-9.]* total_ms [0-9.]*$' "$tmp/out" &&
    [ "$(kit count "$p1" 'kit:plain:*' 2>/dev/null)" = 0 ] &&
    [ "$(kit count "$p1" 'kit:speed:*' 2>/dev/null)" = 300000 ]
ok $? "floor: UNLINKed exactly the 30,000 matching keys, shard by shard, nothing else"

cl_resetstat
kit floor "$p1" 'kit:bin:*' >"$tmp/out" 2>"$tmp/err" &&
    [ "$(awk '/^shard/ { s += $4 } END { print s }' "$tmp/out")" = 2000 ] &&
    [ "$(cl_errorstat CROSSSLOT)" = 0 ]
ok $? "floor: the 2,000 binary keys, grouped by slot (no CROSSSLOT)"

# 5. reshard -------------------------------------------------------------
before=$(kit count "$p1" 'kit:speed:*' 2>/dev/null)
cl_reshard "$p1" "$p3" 200 --cluster-pipeline 100
running=no
kill -0 "$reshard_pid" 2>/dev/null && running=yes
cl_reshard_wait 120 && cl_wait_ok &&
    [ "$(cl_owner 0)" = "$p3" ] && [ "$(cl_owner 199)" = "$p3" ] &&
    [ "$(cl_owner 200)" = "$p1" ] &&
    [ "$(kit count "$p2" 'kit:speed:*' 2>/dev/null)" = "$before" ]
ok $? "cl_reshard: 200 slots moved from $p1 to $p3 in the background (running at first: $running), all $before keys found after"

# 6. failover ------------------------------------------------------------
before=$(cl_total)
if cl_kill_primary "$p2" 2>"$tmp/err"; then
	case " $cl_primaries " in *" $cl_promoted "*) st=0 ;; *) st=1 ;; esac
	case " $cl_primaries " in *" $p2 "*) st=1 ;; esac
	[ $st = 0 ] && [ "$(cl_total)" = "$before" ] && ! cl_alive "$p2"
else
	false
fi
ok $? "cl_kill_primary: $p2 killed, replica $cl_promoted promoted, all $before keys still there"

# 7. TLS ----------------------------------------------------------------
if cl_tls "$tmp/pki" && cluster_start tls 3 0 2>"$tmp/err"; then
	t1=${cl_primaries%% *}
	cl_acl_user ann 'a secret "pw"' '~*' '+@all'
	[ "$(cl_cli "$t1" PING)" = PONG ] &&
	    ! redis-cli -p "$t1" PING 2>/dev/null | grep -q PONG &&
	    [ "$(cl_cli "$t1" --user ann --pass 'a secret "pw"' --no-auth-warning PING)" = PONG ] &&
	    cl_cli "$t1" CLUSTER SHARDS | grep -q '^tls-port$' &&
	    [ -n "$(cl_owner foo)" ]
	ok $? "a TLS-only cluster ($cl_primaries): TLS answers, plaintext does not, an ACL user on every node"
else
	ok 1 "a TLS-only cluster came up"
fi

echo "1..$n"
