#!/bin/bash
# dashboard.sh: the dashboard's speed through a real terminal (tmux):
# start to first frame, key to screen (with Redis stopped and an HTTP route
# hanging), and peak RSS.  Targets: first frame within 100 ms, key to screen
# within 50 ms at p99, RSS at most 16 MB.  Run by hand or with `make bench`.
# Times are polled through tmux every 2 ms, so they include tmux's own
# delay: an upper bound.
set -u
: "${REHEARSE:=./rehearse}" "${top_srcdir:=.}"
REHEARSE=$(cd "$(dirname "$REHEARSE")" && pwd)/$(basename "$REHEARSE")
tmp=$(mktemp -d)
sock="$tmp/tmux.sock"
rpid=
cleanup() {
	tmux -S "$sock" kill-server 2>/dev/null
	[ -n "$rpid" ] && { kill -CONT "$rpid"; kill "$rpid"; } 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
t() { tmux -S "$sock" "$@"; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

port=$(( 25000 + $$ % 20000 ))
redis-server --port $port --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$tmp" --logfile "$tmp/redis.log" >/dev/null 2>&1 &
rpid=$!
sleep 0.3
cat >"$tmp/rb.yml" <<EOR
runbook: bench
owner: ops
redis: { url: "redis://127.0.0.1:$port/0", timeout_ms: 300 }
http: { base_url: "http://127.0.0.1:$port", timeout_ms: 30000 }
routes:
  - { name: hung, url: "http://127.0.0.1:$port/", keys: ["a:*"] }
steps:
$(for i in $(seq 1 30); do echo "  - { title: step $i, manual: look }"; done)
EOR
t -f /dev/null new-session -d -s rh -x 100 -y 30 "sleep 600"
start=$(now_ms)
t respawn-pane -k -t rh "env LANG=C.UTF-8 $REHEARSE run --read-only $tmp/rb.yml"
until t capture-pane -p -t rh | grep -q "rehearse  bench"; do sleep 0.002; done
first=$(( $(now_ms) - start ))
sleep 1
kill -STOP $rpid
sleep 3
lat="$tmp/lat"
: >"$lat"
sel=1
for i in $(seq 1 60); do
	if [ $((i % 2)) = 1 ]; then key=j; sel=2; else key=k; sel=1; fi
	t0=$(now_ms)
	t send-keys -t rh $key
	until t capture-pane -p -t rh | grep -q -E "^> +$sel "; do sleep 0.002; done
	echo $(( $(now_ms) - t0 )) >>"$lat"
done
pane=$(t display-message -p -t rh '#{pane_pid}')
if [ "$(cat "/proc/$pane/comm" 2>/dev/null)" = rehearse ]; then pid=$pane
else pid=$(pgrep -P "$pane" -x rehearse); fi
rss=$(awk "/^VmHWM/ { print \$2 }" "/proc/$pid/status")
sort -n "$lat" >"$lat.s"
p50=$(sed -n "$(( 60 / 2 ))p" "$lat.s")
p99=$(tail -1 "$lat.s")
echo "first frame            ${first} ms   (target 100 ms)"
echo "key to screen p50      ${p50} ms   (target: p99 within 50 ms; Redis stopped, route hung)"
echo "key to screen p99      ${p99} ms"
echo "peak RSS               $((rss / 1024)).$(( (rss % 1024) * 10 / 1024 )) MB   (target 16 MB)"
