# cluster_lib.sh: real Redis Clusters (or Valkey clusters) for the shell
# tests.  Sourced after tests/lib.sh (it needs $tmp, $pids and its cleanup):
#	tmp=$(mktemp -d)
#	. "$top_srcdir/tests/lib.sh"
#	. "$top_srcdir/tests/cluster_lib.sh"
#	cluster_start c 3 1 || { echo "1..0 # SKIP no cluster"; exit 0; }
#
# cluster_start NAME PRIMARIES REPLICAS [redis-server ARGS...]
#	PRIMARIES * (1 + REPLICAS) servers (${REDIS_SERVER:-redis-server})
#	on free loopback ports (a port and its bus port, +10000, both free;
#	ours only when the server answering has our pid), joined by
#	`redis-cli --cluster create`; returns once every node says
#	cluster_state:ok, knows every other node and agrees on the slot map
#	(bounded: $cl_timeout_s, 60 s).  A replica's first sync starts at
#	once (--repl-diskless-sync-delay 0; the default waits 5 s).  Sets
#	  cl_ports      every node, in the order started (the first
#	                PRIMARIES were made primaries by create)
#	  cl_primaries  the nodes that own slots now (cl_wait_ok updates it)
#	  cl_replicas   the others
#	  cl_dir        $tmp/NAME (a folder per node: $cl_dir/PORT)
#	and appends every pid to $pids (lib.sh's cleanup stops them).  Its
#	output goes to $cl_dir/create.log; a failure says why on stderr.
# cl_tls DIR
#	before cluster_start: makes a test CA, a server certificate (used by
#	the nodes both as server and as client of the bus and replication)
#	and a client certificate in DIR (openssl), and makes cluster_start
#	start TLS-only nodes (--port 0 --tls-port P --tls-cluster yes
#	--tls-replication yes, --tls-auth-clients $cl_tls_auth, default no).
#	Every cl_* function and cl_cli speak TLS from then on.  DIR/ca.crt,
#	DIR/client.crt, DIR/client.key are what a runbook's redis.tls names.
# cl_cli PORT ARGS...     redis-cli against one node (TLS when cl_tls was
#	called; the default user).
# cl_acl_user NAME PASSWORD RULES...
#	ACL SETUSER NAME on >PASSWORD RULES... on every node that is up (the
#	password goes through redis-cli's stdin, not its argv).
# cl_owner SLOT_OR_KEY    the port of the primary that owns it: all digits
#	is a slot number, anything else a key (CLUSTER KEYSLOT asked of a
#	node).  cl_slot KEY prints the slot of KEY.
# cl_total                the sum of DBSIZE over the primaries.
# cl_wait_ok [SECONDS]    until every node that is up says cluster_state:ok
#	and they agree on the slot map; updates cl_primaries, cl_replicas.
# cl_kill_primary PORT    kills that node (SIGKILL: no goodbye to the
#	cluster) and waits until a replica owns its slots and every node up
#	agrees (cl_wait_ok); the new owner's port in $cl_promoted.
# cl_reshard FROM TO NSLOTS [redis-cli ARGS...]
#	starts `redis-cli --cluster reshard` moving NSLOTS slots from the
#	primary on port FROM to the one on port TO, in the background: its
#	pid in $reshard_pid (and in $pids), its output in $cl_dir/reshard.log.
#	cl_reshard_wait waits for it (bounded) and returns its status.
# cl_alive PORT           true when the node is up (and is ours).
# cl_errorstat CODE, cl_resetstat, cl_monitor_start, cl_monitor_stop,
#	cl_wait_synced: see below (refused commands, MONITOR on every node,
#	replicas that have every write).
#
# Valkey: REDIS_SERVER=valkey-server starts valkey-server; redis-cli 7.0
# manages a Valkey 8 cluster as well (create, reshard, MONITOR), so
# redis-cli is used for both unless CL_CLI names another (valkey-cli).

: "${cl_timeout_s:=60}"
: "${CL_CLI:=redis-cli}"
cl_ports=
cl_primaries=
cl_replicas=
cl_dead=
cl_dir=
cl_tlsdir=
cl_tls_auth=${cl_tls_auth:-no}
cl_promoted=
reshard_pid=
# The ports tried first: from the test's pid, so that tests running at the
# same time start apart; bus ports (+10000) stay under 65536.
: "${cl_next_port:=$(( 30000 + ($$ * 7) % 14000 ))}"

cl_cli() {
	_clp=$1
	shift
	if [ -n "$cl_tlsdir" ]; then
		"$CL_CLI" --tls --cacert "$cl_tlsdir/ca.crt" \
		    --cert "$cl_tlsdir/client.crt" --key "$cl_tlsdir/client.key" \
		    -h 127.0.0.1 -p "$_clp" "$@"
	else
		"$CL_CLI" -h 127.0.0.1 -p "$_clp" "$@"
	fi
}

# cl_cli_opts: the options of a redis-cli that reaches any node.
cl_cli_opts() {
	[ -n "$cl_tlsdir" ] && echo "--tls --cacert $cl_tlsdir/ca.crt" \
	    "--cert $cl_tlsdir/client.crt --key $cl_tlsdir/client.key"
}

cl_now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# cl_port_taken PORT: something listens there (any program, not only Redis).
cl_port_taken() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
	# dash has no /dev/tcp: ask the kernel.
	[ -n "$(ss -Htln "sport = :$1" 2>/dev/null)" ]
}

cl_tls() {
	cl_tlsdir=$1
	mkdir -p "$cl_tlsdir"
	(
		cd "$cl_tlsdir" || exit 1
		cat >ext.cnf <<'EOF'
[srv]
subjectAltName = DNS:localhost, IP:127.0.0.1
[cli]
extendedKeyUsage = clientAuth
EOF
		openssl req -x509 -new -nodes -newkey rsa:2048 -keyout ca.key \
		    -out ca.crt -days 30 -subj "/CN=rehearse cluster test CA" &&
		openssl req -new -nodes -newkey rsa:2048 -keyout server.key \
		    -out server.csr -subj "/CN=127.0.0.1" &&
		openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key \
		    -CAcreateserial -out server.crt -days 30 -extfile ext.cnf \
		    -extensions srv &&
		openssl req -new -nodes -newkey rsa:2048 -keyout client.key \
		    -out client.csr -subj "/CN=rehearse-client" &&
		openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key \
		    -CAcreateserial -out client.crt -days 30 -extfile ext.cnf \
		    -extensions cli
	) >"$cl_tlsdir/openssl.log" 2>&1 && [ -s "$cl_tlsdir/client.crt" ] || {
		echo "cl_tls: openssl failed (see $cl_tlsdir/openssl.log)" >&2
		cl_tlsdir=
		return 1
	}
}

# cl_pid PORT: the pid of the server answering on PORT.
cl_pid() {
	cl_cli "$1" INFO server 2>/dev/null | tr -d '\r' | sed -n 's/^process_id://p'
}

cl_alive() {
	eval "_clwant=\${cl_pid_$1:-}"
	[ -n "$_clwant" ] && [ "$(cl_pid "$1")" = "$_clwant" ]
}

# cl_start_node DIR [ARGS...]: one cluster-enabled server on a free port;
# its port in $_clport.
cl_start_node() {
	_cldir=$1
	shift
	for _cla in 1 2 3 4 5 6 7 8 9 10; do
		while cl_port_taken "$cl_next_port" ||
		    cl_port_taken $((cl_next_port + 10000)); do
			cl_next_port=$((cl_next_port + 1))
		done
		_clport=$cl_next_port
		cl_next_port=$((cl_next_port + 1))
		mkdir -p "$_cldir/$_clport"
		if [ -n "$cl_tlsdir" ]; then
			set -- --port 0 --tls-port "$_clport" --tls-cluster yes \
			    --tls-replication yes \
			    --tls-cert-file "$cl_tlsdir/server.crt" \
			    --tls-key-file "$cl_tlsdir/server.key" \
			    --tls-ca-cert-file "$cl_tlsdir/ca.crt" \
			    --tls-auth-clients "$cl_tls_auth" "$@"
		else
			set -- --port "$_clport" "$@"
		fi
		"${REDIS_SERVER:-redis-server}" --bind 127.0.0.1 \
		    --cluster-enabled yes \
		    --cluster-config-file "$_cldir/$_clport/nodes.conf" \
		    --cluster-node-timeout 1500 --save '' --appendonly no \
		    --repl-diskless-sync-delay 0 \
		    --dir "$_cldir/$_clport" --logfile "$_cldir/$_clport/log" \
		    "$@" >/dev/null 2>&1 &
		_clpid=$!
		# The arguments of this attempt, minus the port ones, for the next.
		if [ -n "$cl_tlsdir" ]; then shift 16; else shift 2; fi
		_cli=0
		while ! cl_cli "$_clport" PING >/dev/null 2>&1 && [ $_cli -lt 100 ]; do
			kill -0 "$_clpid" 2>/dev/null || break
			sleep 0.05
			_cli=$((_cli + 1))
		done
		if [ "$(cl_pid "$_clport")" = "$_clpid" ]; then
			pids="$pids $_clpid"
			eval "cl_pid_$_clport=$_clpid"
			return 0
		fi
		kill "$_clpid" 2>/dev/null
		wait "$_clpid" 2>/dev/null
	done
	echo "cluster_start: no server came up after 10 ports (last: $_clport)" >&2
	return 1
}

# cl_view PORT: the slot map as that node sees it, one line per primary
# that owns slots: "ID PORT RANGES" (sorted; migration marks left out).
cl_view() {
	cl_cli "$1" CLUSTER NODES 2>/dev/null | tr -d '\r' | awk '
	$3 ~ /master/ && $3 !~ /fail/ && NF > 8 {
		s = ""
		for (i = 9; i <= NF; i++)
			if ($i !~ /^\[/)
				s = s " " $i
		if (s == "")
			next
		split($2, a, "[:@,]")
		print $1, a[2], s
	}' | sort
}

cl_up_ports() {
	for _clq in $cl_ports; do
		case " $cl_dead " in *" $_clq "*) continue ;; esac
		echo "$_clq"
	done
}

# cl_settled [NODES]: every node up says ok and sees the same map covering
# all slots; with NODES, each also knows that many nodes, none in
# handshake, and each replica's link to its primary is up.
cl_settled() {
	_clref=
	for _clq in $(cl_up_ports); do
		cl_cli "$_clq" CLUSTER INFO 2>/dev/null | tr -d '\r' |
		    grep -q '^cluster_state:ok$' || return 1
		_clv=$(cl_view "$_clq")
		[ -n "$_clv" ] || return 1
		if [ -z "$_clref" ]; then
			_clref=$_clv
		elif [ "$_clv" != "$_clref" ]; then
			return 1
		fi
		if [ -n "${1:-}" ]; then
			_cln=$(cl_cli "$_clq" CLUSTER NODES 2>/dev/null | tr -d '\r' |
			    grep -v -c -E 'handshake|noaddr')
			[ "$_cln" = "$1" ] || return 1
			if cl_cli "$_clq" ROLE 2>/dev/null | head -1 | grep -q slave; then
				cl_cli "$_clq" INFO replication 2>/dev/null |
				    grep -q '^master_link_status:up' || return 1
			fi
		fi
	done
	# Every slot has an owner.
	echo "$_clref" | awk '{
		for (i = 3; i <= NF; i++) {
			n = split($i, r, "-")
			t += (n == 2 ? r[2] - r[1] + 1 : 1)
		}
	} END { exit t == 16384 ? 0 : 1 }' || return 1
	cl_map=$_clref
	return 0
}

# cl_roles: cl_primaries and cl_replicas from the agreed map ($cl_map).
cl_roles() {
	cl_primaries=$(echo "$cl_map" | awk '{ print $2 }' | sort -n | tr '\n' ' ')
	cl_primaries=${cl_primaries% }
	cl_replicas=
	for _clq in $(cl_up_ports); do
		case " $cl_primaries " in *" $_clq "*) ;;
		*) cl_replicas="${cl_replicas:+$cl_replicas }$_clq" ;; esac
	done
}

# cl_poll SECONDS COMMAND...: runs COMMAND every 0.1 s until it succeeds.
cl_poll() {
	_clend=$(( $(cl_now_ms) + $1 * 1000 ))
	shift
	while ! "$@"; do
		[ "$(cl_now_ms)" -lt $_clend ] || return 1
		sleep 0.1
	done
}

cl_wait_ok() {
	if ! cl_poll "${1:-$cl_timeout_s}" cl_settled; then
		echo "cl_wait_ok: the cluster did not settle in ${1:-$cl_timeout_s} s:" >&2
		for _clq in $(cl_up_ports); do
			echo "  node $_clq: $(cl_cli "$_clq" CLUSTER INFO 2>&1 |
			    tr -d '\r' | grep cluster_state)" >&2
		done
		return 1
	fi
	cl_roles
}

cluster_start() {
	_clname=$1 _clnp=$2 _clnr=$3
	shift 3
	cl_dir=$tmp/$_clname
	mkdir -p "$cl_dir"
	cl_ports=
	cl_dead=
	_clk=0
	_clall=$(( _clnp * (1 + _clnr) ))
	while [ $_clk -lt $_clall ]; do
		cl_start_node "$cl_dir" "$@" || return 1
		cl_ports="${cl_ports:+$cl_ports }$_clport"
		_clk=$((_clk + 1))
	done
	_claddrs=
	for _clq in $cl_ports; do _claddrs="$_claddrs 127.0.0.1:$_clq"; done
	# shellcheck disable=SC2046,SC2086
	if ! "$CL_CLI" $(cl_cli_opts) --cluster create $_claddrs \
	    --cluster-replicas "$_clnr" --cluster-yes >"$cl_dir/create.log" 2>&1; then
		echo "cluster_start: redis-cli --cluster create failed:" >&2
		tail -5 "$cl_dir/create.log" >&2
		return 1
	fi
	if ! cl_poll "$cl_timeout_s" cl_settled "$_clall"; then
		echo "cluster_start: $_clall nodes did not agree on a complete" \
		    "slot map with cluster_state:ok in $cl_timeout_s s" >&2
		for _clq in $cl_ports; do
			echo "  node $_clq: $(cl_cli "$_clq" CLUSTER INFO 2>&1 |
			    tr -d '\r' | grep cluster_state), knows" \
			    "$(cl_cli "$_clq" CLUSTER NODES 2>/dev/null | wc -l) nodes" >&2
		done
		return 1
	fi
	cl_roles
	return 0
}

cl_acl_user() {
	_clu=$1 _clpw=$2
	shift 2
	# One line of redis-cli's stdin: each word in double quotes, \ and "
	# escaped (redis-cli splits it as sdssplitargs does).
	_clline="ACL SETUSER \"$(cl_quote "$_clu")\" on \">$(cl_quote "$_clpw")\""
	for _clr in "$@"; do _clline="$_clline \"$(cl_quote "$_clr")\""; done
	for _clq in $(cl_up_ports); do
		printf '%s\n' "$_clline" | cl_cli "$_clq" 2>&1 | grep -q '^OK$' || {
			echo "cl_acl_user: ACL SETUSER $_clu failed on node $_clq" >&2
			return 1
		}
	done
}
cl_quote() { printf '%s' "$1" | sed 's/[\\"]/\\&/g'; }

cl_slot() {
	for _clq in $(cl_up_ports); do
		cl_cli "$_clq" CLUSTER KEYSLOT "$1" 2>/dev/null && return 0
	done
	return 1
}

cl_owner() {
	case $1 in
	''|*[!0-9]*) _cls=$(cl_slot "$1") || return 1 ;;
	*) _cls=$1 ;;
	esac
	_clq=$(cl_up_ports | head -1)
	cl_view "$_clq" | awk -v s="$_cls" '{
		for (i = 3; i <= NF; i++) {
			n = split($i, r, "-")
			if (n == 1) r[2] = r[1]
			if (s + 0 >= r[1] + 0 && s + 0 <= r[2] + 0) { print $2; exit }
		}
	}'
}

cl_total() {
	_clt=0
	for _clq in $cl_primaries; do
		_cld=$(cl_cli "$_clq" DBSIZE 2>/dev/null | tr -d '\r')
		case $_cld in ''|*[!0-9]*) echo "cl_total: no DBSIZE from $_clq" >&2; return 1 ;; esac
		_clt=$((_clt + _cld))
	done
	echo $_clt
}

cl_kill_primary() {
	_clvictim=$1
	eval "_clpid=\${cl_pid_$_clvictim:-}"
	[ -n "$_clpid" ] || { echo "cl_kill_primary: $_clvictim is not ours" >&2; return 1; }
	# A slot it owns, to find its new owner by.
	_clslot=$(cl_view "$_clvictim" | awk -v p="$_clvictim" '$2 == p {
		split($3, r, "-"); print r[1]; exit }')
	[ -n "$_clslot" ] || { echo "cl_kill_primary: $_clvictim owns no slot" >&2; return 1; }
	kill -KILL "$_clpid"
	wait "$_clpid" 2>/dev/null
	cl_dead="$cl_dead $_clvictim"
	# The others call it ok until they mark it failed: first its slot
	# must have another owner, then the map must settle.
	if ! cl_poll "$cl_timeout_s" cl_moved_from "$_clslot" "$_clvictim"; then
		echo "cl_kill_primary: no replica took slot $_clslot from" \
		    "$_clvictim in $cl_timeout_s s" >&2
		return 1
	fi
	cl_wait_ok || return 1
	cl_promoted=$(cl_owner "$_clslot")
	[ -n "$cl_promoted" ] && [ "$cl_promoted" != "$_clvictim" ]
}
# cl_moved_from SLOT PORT: every node up names another owner for SLOT.
cl_moved_from() {
	for _clq in $(cl_up_ports); do
		_clo=$(cl_view "$_clq" | awk -v s="$1" '{
			for (i = 3; i <= NF; i++) {
				n = split($i, r, "-")
				if (n == 1) r[2] = r[1]
				if (s + 0 >= r[1] + 0 && s + 0 <= r[2] + 0) { print $2; exit }
			}
		}')
		[ -n "$_clo" ] && [ "$_clo" != "$2" ] || return 1
	done
}

cl_id() { cl_cli "$1" CLUSTER MYID 2>/dev/null | tr -d '\r'; }

cl_reshard() {
	_clfrom=$(cl_id "$1") _clto=$(cl_id "$2") _cln=$3
	shift 3
	[ -n "$_clfrom" ] && [ -n "$_clto" ] || {
		echo "cl_reshard: no node id for $1 or $2" >&2
		return 1
	}
	# shellcheck disable=SC2046
	"$CL_CLI" $(cl_cli_opts) --cluster reshard "127.0.0.1:$(cl_up_ports | head -1)" \
	    --cluster-from "$_clfrom" --cluster-to "$_clto" \
	    --cluster-slots "$_cln" --cluster-yes "$@" >"$cl_dir/reshard.log" 2>&1 &
	reshard_pid=$!
	pids="$pids $reshard_pid"
}

cl_reshard_wait() {
	_clend=$(( $(cl_now_ms) + ${1:-120} * 1000 ))
	while kill -0 "$reshard_pid" 2>/dev/null; do
		if [ "$(cl_now_ms)" -ge $_clend ]; then
			echo "cl_reshard_wait: still running after ${1:-120} s" >&2
			return 1
		fi
		sleep 0.1
	done
	wait "$reshard_pid"
}

# cl_errorstat CODE: how many error replies starting with CODE (CROSSSLOT,
# MOVED, ASK, TRYAGAIN, NOPERM, ...) the nodes up have sent since they
# started (or since cl_resetstat), from INFO errorstats (Redis 6.2+, Valkey).
# A command a cluster node refuses (CROSSSLOT, MOVED) never reaches MONITOR:
# this is where it shows.
cl_errorstat() {
	_clt=0
	for _clq in $(cl_up_ports); do
		_clc=$(cl_cli "$_clq" INFO errorstats 2>/dev/null | tr -d '\r' |
		    sed -n "s/^errorstat_$1:count=\([0-9]*\).*/\1/p")
		_clt=$((_clt + ${_clc:-0}))
	done
	echo $_clt
}
# cl_resetstat: CONFIG RESETSTAT on every node up (errorstats and
# commandstats from zero).
cl_resetstat() {
	for _clq in $(cl_up_ports); do
		cl_cli "$_clq" CONFIG RESETSTAT >/dev/null 2>&1 || return 1
	done
}
# cl_monitor_start: `redis-cli monitor` on every node up, to
# $cl_dir/monitor.PORT, returning once each node lists the monitor (pids
# in $cl_monitor_pids and $pids).  cl_monitor_stop stops them; then
# `clusterkit monitor-check $cl_dir/monitor.*` reads what they saw.
cl_monitor_pids=
cl_monitor_start() {
	cl_monitor_pids=
	for _clq in $(cl_up_ports); do
		# redis-cli itself in the background (not a subshell running
		# cl_cli), so that its pid is the one stopped.
		# shellcheck disable=SC2046
		"$CL_CLI" $(cl_cli_opts) -h 127.0.0.1 -p "$_clq" MONITOR \
		    >"$cl_dir/monitor.$_clq" 2>&1 &
		cl_monitor_pids="$cl_monitor_pids $!"
		pids="$pids $!"
	done
	for _clq in $(cl_up_ports); do
		cl_poll 10 cl_has_monitor "$_clq" || {
			echo "cl_monitor_start: no monitor on $_clq" >&2
			return 1
		}
	done
}
cl_has_monitor() { cl_cli "$1" CLIENT LIST 2>/dev/null | grep -q 'flags=O'; }
cl_monitor_stop() {
	# What the nodes saw is in the files once an ECHO sent after it is.
	for _clq in $(cl_up_ports); do
		cl_cli "$_clq" ECHO cl-monitor-end >/dev/null 2>&1
		cl_poll 10 grep -q '"cl-monitor-end"' "$cl_dir/monitor.$_clq"
	done
	for _clp2 in $cl_monitor_pids; do kill "$_clp2" 2>/dev/null; done
	for _clp2 in $cl_monitor_pids; do wait "$_clp2" 2>/dev/null; done
	cl_monitor_pids=
}
# cl_wait_synced [SECONDS]: until every replica up has all its primary's
# writes (its slave_repl_offset has reached the primary's
# master_repl_offset): before killing a primary whose replica must have
# every key.
cl_wait_synced() {
	cl_poll "${1:-30}" cl_synced || {
		echo "cl_wait_synced: the replicas did not catch up" >&2
		return 1
	}
}
cl_synced() {
	for _clq in $cl_replicas; do
		_clinfo=$(cl_cli "$_clq" INFO replication 2>/dev/null | tr -d '\r')
		_clmp=$(echo "$_clinfo" | sed -n 's/^master_port://p')
		_cloff=$(echo "$_clinfo" | sed -n 's/^slave_repl_offset://p')
		[ -n "$_clmp" ] && [ -n "$_cloff" ] || return 1
		_clmoff=$(cl_cli "$_clmp" INFO replication 2>/dev/null | tr -d '\r' |
		    sed -n 's/^master_repl_offset://p')
		[ -n "$_clmoff" ] && [ "$_cloff" -ge "$_clmoff" ] || return 1
	done
}
