#!/bin/sh
# verify.sh: how fast `rehearse verify` checks a large audit log, against
# the obvious alternative of hashing the file once with sha256sum (which
# proves nothing about the chain, but bounds what reading and hashing cost).
# Run by hand or with `make bench`.  Usage: verify.sh [RECORDS]
set -eu
: "${REHEARSE:=./rehearse}" "${AUDIT_TOOL:=./tests/tools/audit_tool}" "${top_srcdir:=.}"
records=${1:-1000000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$AUDIT_TOOL" synth "$tmp/log.jsonl" "$top_srcdir/runbooks/minimal.yml" "$records"
size=$(stat -c %s "$tmp/log.jsonl")
cat "$tmp/log.jsonl" >/dev/null	# warm the page cache for both
t0=$(date +%s.%N)
/usr/bin/time -f %M -o "$tmp/rss" "$REHEARSE" verify -q "$tmp/log.jsonl"
t1=$(date +%s.%N)
sha256sum "$tmp/log.jsonl" >/dev/null
t2=$(date +%s.%N)
awk -v r="$records" -v s="$size" -v a="$t0" -v b="$t1" -v c="$t2" -v m="$(cat "$tmp/rss")" 'BEGIN {
	v = b - a; h = c - b
	printf "records             %d (%.0f MB)\n", r, s / 1048576
	printf "rehearse verify     %.2f s, %.0f records/s, peak RSS %d KB\n", v, r / v, m
	printf "sha256sum           %.2f s\n", h
	printf "ratio verify/sha256 %.1fx\n", v / h
}'
