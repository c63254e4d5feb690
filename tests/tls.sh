#!/bin/bash
# tls.sh: rediss:// and ACL users against real servers.  openssl makes a
# CA, a server certificate (127.0.0.1 and localhost), one for another name,
# an expired one (openssl ca -startdate/-enddate) and a client certificate;
# redis-server (then valkey-server, when installed) runs on a TLS port only
# (--port 0), once more with the wrong-name certificate, with the expired
# one, and with --tls-auth-clients yes.  Each failure must be named in the
# exact words the documentation gives; a password never reaches stdout,
# stderr or the audit log; the ACL user is in the audit log.  A hostile
# server over TLS (tests/tools/badredis behind tests/tools/tlsfront) is
# dropped with the same named errors as in plaintext.  Speaks TAP.
# RH_WRAP, when set, is put before every `rehearse check` (valgrind ...).
set -u
: "${REHEARSE:=./rehearse}" "${top_srcdir:=.}" "${top_builddir:=.}"
REHEARSE=$(cd "$(dirname "$REHEARSE")" && pwd)/$(basename "$REHEARSE")
: "${BADREDIS:=$top_builddir/tests/tools/badredis}" "${TLSFRONT:=$top_builddir/tests/tools/tlsfront}"
tmp=$(mktemp -d)
. "$top_srcdir/tests/lib.sh"
tpids=
cleanup_hook() {
	for _p in $tpids; do kill "$_p" 2>/dev/null; done
	for _p in $tpids; do wait "$_p" 2>/dev/null; done
}
pki=$tmp/pki

if ! command -v openssl >/dev/null || ! redis-server --help 2>&1 | grep -q .; then
	echo "1..0 # SKIP openssl or redis-server missing"
	exit 0
fi

# The certificates --------------------------------------------------------
mkdir -p "$pki/db" && : >"$pki/db/index.txt" && echo 1000 >"$pki/db/serial"
cat >"$pki/ca.cnf" <<EOF
[ca]
default_ca = d
[d]
database = $pki/db/index.txt
new_certs_dir = $pki/db
serial = $pki/db/serial
default_md = sha256
policy = p
unique_subject = no
[p]
commonName = supplied
[srv]
subjectAltName = DNS:localhost, IP:127.0.0.1
[wrong]
subjectAltName = DNS:wrong.example
[cli]
extendedKeyUsage = clientAuth
EOF
(
	cd "$pki" || exit 1
	openssl req -x509 -new -nodes -newkey rsa:2048 -keyout ca.key \
	    -out ca.crt -days 30 -subj "/CN=rehearse test CA"
	# sign NAME CN EXTENSIONS [DATES...]
	sign() {
		openssl req -new -nodes -newkey rsa:2048 -keyout "$1.key" \
		    -out "$1.csr" -subj "/CN=$2" &&
		openssl ca -batch -config ca.cnf -cert ca.crt -keyfile ca.key \
		    -in "$1.csr" -out "$1.crt" -extensions "$3" -notext "${@:4}"
	}
	sign server 127.0.0.1 srv -days 30 &&
	sign wrong wrong.example wrong -days 30 &&
	sign client rehearse-client cli -days 30 &&
	sign expired 127.0.0.1 srv -startdate 20200101000000Z \
	    -enddate 20200201000000Z &&
	# A client certificate no CA of the server's signed.
	openssl req -x509 -new -nodes -newkey rsa:2048 -keyout rogue.key \
	    -out rogue.crt -days 30 -subj "/CN=rogue client"
) >"$tmp/pki.log" 2>&1
[ -s "$pki/expired.crt" ] && [ -s "$pki/client.crt" ]
ok $? "openssl made a CA, server, wrong-name, expired and client certificates"

# Servers -----------------------------------------------------------------
# tls_server VAR BIN CERT [ARGS...]: BIN on a TLS port only (its port in
# $VAR), the ACL users alice (password) and np (nopass) added.
port_next=$(( 30000 + $$ % 15000 ))
tls_server() {
	local var=$1 bin=$2 cert=$3 pid i
	shift 3
	for _try in 1 2 3 4 5 6 7 8; do
		port_next=$((port_next + 1))
		"$bin" --port 0 --tls-port "$port_next" --bind 127.0.0.1 \
		    --tls-cert-file "$pki/$cert.crt" --tls-key-file "$pki/$cert.key" \
		    --tls-ca-cert-file "$pki/ca.crt" --tls-auth-clients no \
		    --save '' --appendonly no --dir "$tmp" \
		    --logfile "$tmp/$var.log" "$@" >/dev/null 2>&1 &
		pid=$!
		i=0
		while [ $i -lt 100 ] && ! tcli "$port_next" PING >/dev/null 2>&1; do
			sleep 0.05
			i=$((i + 1))
		done
		if [ "$(tcli "$port_next" INFO server 2>/dev/null | tr -d '\r' |
		    sed -n 's/^process_id://p')" = "$pid" ]; then
			tpids="$tpids $pid"
			tcli "$port_next" ACL SETUSER alice on '>alice-Pw-7f3e' '~*' '+@all' >/dev/null
			tcli "$port_next" ACL SETUSER np on nopass '~*' '+@all' >/dev/null
			eval "$var=$port_next"
			return 0
		fi
		kill "$pid" 2>/dev/null
	done
	return 1
}
# tcli PORT ARGS...: redis-cli over TLS (with the client certificate: the
# mutual-TLS server wants it; --insecure: one server's is expired).
tcli() {
	local p=$1
	shift
	redis-cli --tls --insecure --cacert "$pki/ca.crt" --cert "$pki/client.crt" \
	    --key "$pki/client.key" -p "$p" --user default "$@"
}

# rb PORT REDIS-EXTRA [URL-SCHEME]: the runbook $tmp/rb.yml.
rb() {
	cat >"$tmp/rb.yml" <<EOR
runbook: tls
owner: ops
redis: { url: "${3:-rediss}://127.0.0.1:$1/0", timeout_ms: 1000${2:+, $2} }
routes:
  - { name: blog, keys: ["anp:page:/blog/*"] }
steps:
  - { id: purge, title: Purge the blog, purge: blog }
EOR
}
# check PORT REDIS-EXTRA [SCHEME]: rehearse check, bounded; $st, $tmp/out,
# $tmp/err, the log $tmp/a.jsonl.
check() {
	rb "$@"
	rm -f "$tmp/a.jsonl"
	timeout 60 ${RH_WRAP:-} "$REHEARSE" check --audit "$tmp/a.jsonl" "$tmp/rb.yml" \
	    >"$tmp/out" 2>"$tmp/err"
	st=$?
}
up() { [ $st = 0 ] && grep -q '^ok   redis: up, ' "$tmp/out"; }
down() { [ $st = 1 ] && grep -qF "FAIL redis: down: $1" "$tmp/out"; }
CA="ca_file: $pki/ca.crt"

# suite BIN NAME: every TLS case against BIN.
suite() {
	local bin=$1 nm=$2 good wrong expired mutual keys

	if ! tls_server good "$bin" server || ! tls_server wrong "$bin" wrong ||
	    ! tls_server expired "$bin" expired ||
	    ! tls_server mutual "$bin" server --tls-auth-clients yes; then
		ok 1 "$nm: TLS servers started"
		return
	fi

	check "$good" "tls: { $CA }"
	up
	ok $? "$nm: check over rediss:// with ca_file"

	check "$good" "tls: { $CA, server_name: localhost }"
	up
	ok $? "$nm: server_name localhost (SNI and the name checked)"

	check "$good" ""
	down "TLS: certificate not trusted (" && ! grep -q "up," "$tmp/out"
	ok $? "$nm: without our CA: 'TLS: certificate not trusted (...)'"

	check "$wrong" "tls: { $CA }"
	down "TLS: the certificate is for another name (wrong.example): expected 127.0.0.1"
	ok $? "$nm: wrong-name certificate: 'the certificate is for another name (wrong.example): expected 127.0.0.1'"

	check "$good" "tls: { $CA, server_name: other.example }"
	down "TLS: the certificate is for another name (localhost, 127.0.0.1): expected other.example"
	ok $? "$nm: server_name other.example is the name checked"

	check "$expired" "tls: { $CA }"
	down "TLS: the certificate has expired (localhost, 127.0.0.1, not after Feb  1 00:00:00 2020 GMT)"
	ok $? "$nm: expired certificate: 'TLS: the certificate has expired (...)'"

	check "$wrong" "tls: { verify: false }"
	up && grep -q '^warn redis: TLS certificate NOT checked' "$tmp/out" &&
	    grep -q 'verify: the server.s certificate is not checked' "$tmp/err"
	ok $? "$nm: verify: false connects, and says the certificate is NOT checked"

	if [ "$nm" = "redis 7" ] && command -v tmux >/dev/null; then
		start "$REHEARSE" --read-only "$tmp/rb.yml"
		wait_for '^ rehearse  TLS certificate NOT checked  tls' &&
		    wait_for 'up, [0-9.]+ ms'
		ok_diag=ok_screen ok $? "$nm: verify: false: the dashboard's top line says TLS certificate NOT checked"
		keys q
	fi

	check "$mutual" "tls: { $CA }"
	down "TLS: the server wants a client certificate (tls.cert_file/key_file)"
	ok $? "$nm: mutual TLS without a client certificate is named"

	check "$mutual" "tls: { $CA, cert_file: $pki/client.crt, key_file: $pki/client.key }"
	up
	ok $? "$nm: mutual TLS with the client certificate"

	check "$mutual" "tls: { $CA, cert_file: $pki/rogue.crt, key_file: $pki/rogue.key }"
	down "TLS: the server refused the client certificate ("
	ok $? "$nm: mutual TLS with a certificate the server does not trust: 'the server refused the client certificate'"

	check "$mutual" "tls: { $CA, cert_file: $pki/wrong.crt, key_file: $pki/client.key }"
	[ $st = 2 ] && grep -qF "redis.tls.key_file: $pki/client.key is not the key of the certificate (cert_file)" "$tmp/err" &&
	    [ ! -e "$tmp/a.jsonl" ]
	ok $? "$nm: a key that is not the certificate's: exit 2, named, no log"

	check "$good" "" redis
	down "this port speaks TLS: use rediss://"
	ok $? "$nm: redis:// on a TLS port: 'this port speaks TLS: use rediss://'"

	# ACL users, over TLS.
	RH_PW=alice-Pw-7f3e check "$good" "tls: { $CA }, username: alice, password_env: RH_PW"
	up && grep -q '"redis_user":"alice"' "$tmp/a.jsonl" &&
	    ! grep -q 'alice-Pw-7f3e' "$tmp/a.jsonl" "$tmp/out" "$tmp/err" &&
	    "$REHEARSE" report "$tmp/a.jsonl" 2>&1 | grep -q '^| Redis user | alice |$'
	ok $? "$nm: ACL user alice with her password; the user is in the audit log and the report, the password is not"

	check "$good" "tls: { $CA }, username: np"
	up
	ok $? "$nm: a nopass ACL user with no password"

	RH_PW=not-Her-Pw-91 check "$good" "tls: { $CA }, username: alice, password_env: RH_PW"
	down "the server refused user 'alice' (WRONGPASS" &&
	    ! grep -q 'not-Her-Pw-91' "$tmp/a.jsonl" "$tmp/out" "$tmp/err"
	ok $? "$nm: a wrong password: 'the server refused user 'alice' (WRONGPASS ...)', the password nowhere"

	check "$good" "tls: { $CA }, username: alice"
	down "the server refused user 'alice' (WRONGPASS" &&
	    grep -q "no password was given (password_env)" "$tmp/out"
	ok $? "$nm: a user with a password but none given is told so"

	# A purge over TLS.
	keys=0
	for i in 1 2 3 4 5 6 7 8 9 10; do
		echo "SET anp:page:/blog/p$i v"
	done | tcli "$good" >/dev/null
	rb "$good" "tls: { $CA }"
	rm -f "$tmp/run.jsonl"
	timeout 30 "$REHEARSE" run --batch --yes --audit "$tmp/run.jsonl" \
	    "$tmp/rb.yml" >"$tmp/out" 2>"$tmp/err"
	st=$?
	keys=$(tcli "$good" DBSIZE 2>/dev/null)
	[ $st = 0 ] && [ "$keys" = 0 ] && grep -q "deleted 10 of 10" "$tmp/out"
	ok $? "$nm: run --batch purges 10 keys over TLS"
}

# Files that cannot be used name their field, before anything starts.
rb 6379 "tls: { ca_file: $tmp/nope.crt }"
timeout 10 "$REHEARSE" check --audit "$tmp/a.jsonl" "$tmp/rb.yml" >"$tmp/out" 2>"$tmp/err"
st=$?
[ $st = 2 ] && grep -qF "redis.tls.ca_file: cannot read $tmp/nope.crt: No such file or directory" "$tmp/err" &&
    [ ! -e "$tmp/a.jsonl" ]
ok $? "a missing ca_file: exit 2, 'redis.tls.ca_file: cannot read FILE: No such file or directory'"

mkdir -p "$tmp/rel" && cp "$pki/ca.crt" "$tmp/rel/myca.pem"
cat >"$tmp/rel/rb.yml" <<EOR
runbook: tls
owner: ops
redis: { url: "rediss://127.0.0.1:1/0", timeout_ms: 300, tls: { ca_file: myca.pem, cert_file: nocert.pem, key_file: nokey.pem } }
steps:
  - { title: Look, manual: look }
EOR
(cd / && timeout 10 "$REHEARSE" check "$tmp/rel/rb.yml" >"$tmp/out" 2>"$tmp/err")
st=$?
[ $st = 2 ] && grep -qF "redis.tls.cert_file: cannot read $tmp/rel/nocert.pem" "$tmp/err"
ok $? "relative TLS files are found next to the runbook (ca_file read, cert_file named)"

suite redis-server "redis 7"

# rediss:// on a plaintext port.
start_redis
check "$rport" "tls: { $CA }"
down "this port does not speak TLS"
ok $? "rediss:// on a plaintext port: 'this port does not speak TLS'"

if [ -x /usr/bin/valkey-server ]; then
	suite /usr/bin/valkey-server "valkey 8"
else
	skip "valkey-server is not installed (/usr/bin/valkey-server)"
fi

# A hostile server behind TLS ---------------------------------------------
# front MODE: badredis in MODE behind tlsfront; the TLS port in $fport.
front() {
	rm -f "$tmp/bport" "$tmp/fport"
	"$BADREDIS" "$tmp/bport" "$1" 2>>"$tmp/badredis.err" &
	tpids="$tpids $!"
	local i=0
	while [ ! -s "$tmp/bport" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	"$TLSFRONT" "$tmp/fport" "$pki/server.crt" "$pki/server.key" \
	    "$(cat "$tmp/bport")" 2>>"$tmp/tlsfront.err" &
	tpids="$tpids $!"
	i=0
	while [ ! -s "$tmp/fport" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	fport=$(cat "$tmp/fport")
}
front ok
check "$fport" "tls: { $CA }"
up
ok $? "badredis behind tlsfront, not lying: up over TLS"

front hugebulk
check "$fport" "tls: { $CA }"
[ $st = 1 ] && grep -q 'redis: down: reply over 64 MiB' "$tmp/out"
ok $? "over TLS, a bulk reply announcing 2 GB: 'reply over 64 MiB'"

front garbage
check "$fport" "tls: { $CA }"
down "not a Redis server? protocol error: " && ! LC_ALL=C grep -q "$(printf '\033')" "$tmp/out"
ok $? "over TLS, garbage bytes: protocol error, escaped"

front unsolicited
check "$fport" "tls: { $CA }"
down "not a Redis server? ROLE was not answered with a role"
ok $? "over TLS, a reply before any command: 'ROLE was not answered with a role'"

echo "1..$n"
[ $fails = 0 ]
