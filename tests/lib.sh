# lib.sh: what the shell tests share.  Sourced; needs $tmp.

# start_redis [ARGS...]: a private redis-server on 127.0.0.1:$rport, pid in
# $rpid.  The port is chosen on the first call (from the test's pid) and
# kept by later calls while it is free.  Tests run in parallel, so a port is
# ours only when the server answering on it has our server's pid.
start_redis() {
	: "${rport:=$(( 20000 + $$ % 20000 ))}"
	for _attempt in 1 2 3 4 5 6 7 8 9 10; do
		while redis-cli -p "$rport" ping >/dev/null 2>&1; do
			rport=$((rport + 1))
		done
		redis-server --port "$rport" --bind 127.0.0.1 --save '' \
		    --appendonly no --dir "$tmp" --logfile "$tmp/redis.log" \
		    "$@" >/dev/null 2>&1 &
		rpid=$!
		_i=0
		while ! redis-cli -p "$rport" ping >/dev/null 2>&1 && [ $_i -lt 100 ]; do
			sleep 0.05
			_i=$((_i + 1))
		done
		[ "$(redis-cli -p "$rport" INFO server 2>/dev/null | tr -d '\r' |
		    sed -n 's/^process_id://p')" = "$rpid" ] && return 0
		kill "$rpid" 2>/dev/null
		rport=$((rport + 1))
	done
	return 1
}
