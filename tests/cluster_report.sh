#!/bin/bash
# cluster_report.sh: `rehearse report` and `rehearse replay` of a real
# cluster purge (3 primaries, 3 replicas; a backed-up purge of keys over
# every slot and in one hash tag): report's Markdown has a row per shard
# whose counts are each primary's own and add up to the purge's; replay's
# detail of purge.done has a line per shard.  Speaks TAP.
set -u
LC_ALL=C.UTF-8 LANG=C.UTF-8; export LC_ALL LANG
: "${REHEARSE:=./rehearse}" "${top_srcdir:=.}"
REHEARSE=$(cd "$(dirname "$REHEARSE")" && pwd)/$(basename "$REHEARSE")
tmp=$(mktemp -d)
tmux_session=rp tmux_cols=120 tmux_rows=40
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/cluster_lib.sh"

if ! cluster_start c 3 1; then
	echo "1..0 # SKIP no cluster could be made (see above)"
	exit 0
fi
p1=${cl_primaries%% *}
i=0; while [ $i -lt 3000 ]; do echo "SET anp:page:/blog/p$i v"; i=$((i + 1)); done |
    cl_cli "$p1" -c >/dev/null 2>&1
i=0; while [ $i -lt 500 ]; do echo "SET anp:page:/blog/{tag}$i v"; i=$((i + 1)); done |
    cl_cli "$p1" -c >/dev/null 2>&1
cat >"$tmp/rb.yml" <<EOR
runbook: cluster report
owner: ops
redis: { url: "redis://127.0.0.1:$p1/0", timeout_ms: 2000 }
routes:
  - { name: blog, keys: ["anp:page:/blog/*"], max_keys: 50000 }
steps:
  - { title: Purge the blog pages, purge: { route: blog, backup: true } }
EOR
# Each primary's own share, before.
for p in $cl_primaries; do eval "before_$p=$(cl_cli "$p" DBSIZE)"; done
"$REHEARSE" run --batch --yes --audit "$tmp/a.jsonl" "$tmp/rb.yml" >"$tmp/out" 2>"$tmp/err"
[ $? = 0 ] && [ "$(cl_total)" = 0 ] && grep -q '"shards":\[' "$tmp/a.jsonl"
ok $? "a backed-up purge of 3500 keys across the cluster passes; its records name the shards"

"$REHEARSE" report "$tmp/a.jsonl" >"$tmp/report.md" 2>"$tmp/err"
rc=$?
[ $rc = 0 ] && grep -q "^## Shards$" "$tmp/report.md" &&
    grep -q "^| Step | Route | Primary | Previewed | Deleted | Already gone | In doubt | Untouched | Errors | Batches | Backed up |$" "$tmp/report.md" &&
    [ "$(grep -c '^| 1 | blog | 127\.0\.0\.1:[0-9]* | ' "$tmp/report.md")" = 3 ]
ok $? "report has a Shards table with a row per primary"

for p in $cl_primaries; do
	eval "b=\$before_$p"
	grep -q "^| 1 | blog | 127\.0\.0\.1:$p | $b | $b | 0 | 0 | 0 | 0 | [0-9]* | $b |$" "$tmp/report.md" || {
		echo "# no row for $p with $b keys"; false; break; }
done
ok $? "each shard's row has that primary's own count: previewed, deleted and backed up"

sum=$(sed -n 's/^| 1 | blog | 127\.0\.0\.1:[0-9]* | \([0-9]*\) | \([0-9]*\) |.*/\2/p' "$tmp/report.md" | paste -sd+ | bc)
[ "$sum" = 3500 ] && grep -q "^| 1 | blog | 3500 | 3500 | 0 | 0 | " "$tmp/report.md" &&
    ! grep -q "add up to" "$tmp/report.md"
ok $? "the shards add up to the purge's totals (3500), no note says otherwise"

# A log whose shards do not add up says so (the log is untrusted): the
# real one edited (its chain then fails too, and the report says that).
sed '/"type":"purge.done"/s/"deleted":[0-9]*,"gone":0,"in_doubt":0,"untouched":0,"errors":0,"backed_up":\([0-9]*\),"batches"/"deleted":7,"gone":0,"in_doubt":0,"untouched":0,"errors":0,"backed_up":\1,"batches"/g' \
    "$tmp/a.jsonl" >"$tmp/b.jsonl"
"$REHEARSE" report "$tmp/b.jsonl" >"$tmp/b.md" 2>"$tmp/err"
[ $? = 1 ] && grep -q "NOT INTACT" "$tmp/b.md" &&
    grep -q "^- step 1: the shards' deleted add up to 21, the purge says 3500$" "$tmp/b.md"
ok $? "shards that do not add up are said, not fixed (and the edited log is not intact)"

start "$REHEARSE" replay --max-wait 0.05 "$tmp/a.jsonl"
wait_for "intact: [0-9]+ records" 10 && keys t "purge.done" Enter && wait_for "filter: type purge.done" 5 &&
    keys g Enter && wait_for "per shard \(3\):" 5
ok $? "replay: the purge.done record's detail starts with its shards"
for p in $cl_primaries; do
	eval "b=\$before_$p"
	screen | grep -q "^  shard 127\.0\.0\.1:$p: previewed $b, deleted $b, already gone 0, in doubt 0, untouched 0, errors 0, batches [0-9]*, backed up $b$" || break
done
ok $? "a line per shard, in words, with that primary's counts"
keys q q
wait_for EXITED 5

echo "1..$n"
