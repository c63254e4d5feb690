#!/bin/bash
# fuzz.sh [SECONDS] [TARGET...]: builds the libFuzzer harnesses with clang
# (ASan + UBSan) and runs each TARGET (runbook, audit, textesc, replay; all
# by default) for SECONDS (default 60), one at a time, on a scratch copy of
# its seed corpus.  New crashers go to tests/fuzz/crashers/TARGET/; once the
# bug is fixed, move them to tests/fuzz/regress/TARGET/, where make check
# replays them.  Prints one line per target; exits 1 when any crashed.
#
# Environment: top_srcdir, top_builddir (default .), FUZZ_CC (clang),
# FUZZ_BUILDDIR (default $top_builddir/tests/fuzz/bin), FUZZ_CRASHDIR
# (default $top_srcdir/tests/fuzz/crashers), FUZZ_ARGS (more libFuzzer
# options), FUZZ_KEEP (a directory: the grown corpora are kept there).
set -u
: "${top_srcdir:=.}" "${top_builddir:=.}" "${FUZZ_CC:=clang}"
: "${FUZZ_BUILDDIR:=$top_builddir/tests/fuzz/bin}"
: "${FUZZ_CRASHDIR:=$top_srcdir/tests/fuzz/crashers}"
: "${FUZZ_ARGS:=}" "${FUZZ_KEEP:=}"
all_targets="runbook audit textesc replay"

secs=${1:-60}
[ $# -gt 0 ] && shift
targets=${*:-$all_targets}
case $secs in
''|*[!0-9]*) echo "usage: fuzz.sh [SECONDS] [TARGET...]" >&2; exit 2 ;;
esac
for t in $targets; do
	case " $all_targets " in
	*" $t "*) ;;
	*) echo "fuzz.sh: unknown target '$t' (targets: $all_targets)" >&2; exit 2 ;;
	esac
done

die() { echo "fuzz.sh: $*" >&2; exit 2; }
command -v "$FUZZ_CC" >/dev/null || die "$FUZZ_CC not found (apt-get install clang libclang-rt-14-dev)"
[ -f "$top_builddir/config.h" ] || die "no $top_builddir/config.h: run ./configure first"
deps="yaml-0.1 jansson libcrypto libcurl hiredis libevent libevent_openssl openssl"
# shellcheck disable=SC2086
dep_cflags=$(pkg-config --cflags $deps) || die "pkg-config: $deps"
# shellcheck disable=SC2086
dep_libs=$(pkg-config --libs $deps) || die "pkg-config: $deps"

san="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
cflags="-g -O1 -fno-omit-frame-pointer -std=c11 $san \
	-I$top_builddir -I$top_srcdir/src -I$top_srcdir/tests/fuzz $dep_cflags"
mkdir -p "$FUZZ_BUILDDIR/obj" || die "cannot create $FUZZ_BUILDDIR"

# The core, instrumented for coverage, as an archive: each harness links
# only what it uses.  An object is rebuilt when its source, a header or
# config.h is newer; a file that does not compile (someone is editing it)
# is reported and left out, and only matters if a harness needs it.
# shellcheck disable=SC2012
newest_header=$(ls -t "$top_srcdir"/src/*.h "$top_builddir/config.h" | head -1)
objs=
for c in "$top_srcdir"/src/*.c; do
	name=$(basename "$c" .c)
	[ "$name" = main ] && continue
	o="$FUZZ_BUILDDIR/obj/$name.o"
	if [ ! -f "$o" ] || [ "$c" -nt "$o" ] || [ "$newest_header" -nt "$o" ]; then
		# shellcheck disable=SC2086
		if ! $FUZZ_CC $cflags -fsanitize=fuzzer-no-link -w -c "$c" -o "$o" \
		    2>"$FUZZ_BUILDDIR/obj/$name.err"; then
			echo "fuzz.sh: src/$name.c does not compile, left out:" >&2
			head -5 "$FUZZ_BUILDDIR/obj/$name.err" >&2
			rm -f "$o"
			continue
		fi
	fi
	objs="$objs $o"
done
rm -f "$FUZZ_BUILDDIR/librehearse-fuzz.a"
# shellcheck disable=SC2086
ar rcs "$FUZZ_BUILDDIR/librehearse-fuzz.a" $objs || die "ar failed"

for t in $targets; do
	# shellcheck disable=SC2086
	$FUZZ_CC $cflags -fsanitize=fuzzer -Wall -Wextra \
	    "$top_srcdir/tests/fuzz/fuzz_$t.c" "$FUZZ_BUILDDIR/librehearse-fuzz.a" \
	    $dep_libs -lm -o "$FUZZ_BUILDDIR/fuzz_$t" || die "cannot build fuzz_$t"
done

scratch=$(mktemp -d "${TMPDIR:-/tmp}/rehearse-fuzz.XXXXXX") || die "mktemp failed"
trap 'rm -rf "$scratch"' EXIT
failed=0
for t in $targets; do
	# A writable copy: the committed corpus is never written to.  The
	# fixed crashers are good seeds too.
	corpus="$scratch/$t"
	mkdir -p "$corpus" "$FUZZ_CRASHDIR/$t"
	for d in "$top_srcdir/tests/fuzz/corpus/$t" "$top_srcdir/tests/fuzz/regress/$t"; do
		[ -d "$d" ] && find "$d" -maxdepth 1 -type f ! -name '.*' -exec cp {} "$corpus/" \;
	done
	dict=
	[ -f "$top_srcdir/tests/fuzz/$t.dict" ] && dict="-dict=$top_srcdir/tests/fuzz/$t.dict"
	log="$scratch/$t.log"
	# shellcheck disable=SC2086
	"$FUZZ_BUILDDIR/fuzz_$t" -max_total_time="$secs" -rss_limit_mb=2048 \
	    -timeout=10 -print_final_stats=1 $dict \
	    -artifact_prefix="$FUZZ_CRASHDIR/$t/" $FUZZ_ARGS "$corpus" >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	[ -n "$runs" ] || runs=$(sed -n 's/^#\([0-9]*\).*/\1/p' "$log" | tail -1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1)
	size=$(grep -o 'corp: [0-9]*/[0-9a-zA-Z]*' "$log" | tail -1)
	if [ $rc -eq 0 ]; then
		result=ok
	else
		failed=1
		art=$(sed -n 's/.*Test unit written to //p' "$log" | tail -1)
		result="CRASHED (exit $rc): ${art:-no artifact}"
		cp "$log" "$FUZZ_CRASHDIR/$t/last.log"
		grep -E -m 16 '^(==[0-9]+==|SUMMARY|    #[0-9]|.*invariant violated|.*: unsafe byte|.*runtime error)' "$log" | sed 's/^/    /'
	fi
	echo "fuzz_$t: ${runs:-?} runs in ${secs}s (${rate:-?}/s), ${cov:-cov: ?}, ${size:-corp: ?}: $result"
	if [ -n "$FUZZ_KEEP" ]; then
		mkdir -p "$FUZZ_KEEP/$t" && cp "$corpus"/* "$FUZZ_KEEP/$t/" 2>/dev/null
	fi
done
exit $failed
