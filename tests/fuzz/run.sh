#!/bin/sh
# run.sh: build the libFuzzer harnesses of tests/fuzz/ with `make fuzz` and
# run each on a seed corpus.
#
#   tests/fuzz/run.sh [harness ...]     (default: every harness make built)
#   FUZZ_BUILD=dir    the configured build tree (default: the current directory)
#   FUZZ_SECONDS=30   seconds per harness, or
#   FUZZ_RUNS=2000    a fixed number of runs per harness (test.sh uses this)
#   FUZZ_WORK=dir     corpus directory (default: a fresh temp dir, removed at
#                     the end unless FUZZ_KEEP=1)
#
# Which harnesses there are, and what they are built from, is Makefile.am's
# (fuzz_harnesses, and the daemon's own source lists). Seed corpora are made
# at run time from tests/roster, tests/questions, tests/demo and
# systemd/recalld.conf; nothing is written into the tree. Prints PASS: or
# FAIL: per harness and exits non-zero when the build fails or a harness
# finds a crash (the crashing input is left in the work directory, which
# is then kept).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=$(cd "${FUZZ_BUILD:-.}" && pwd)
if [ -n "${FUZZ_RUNS:-}" ]; then
	limit="-runs=$FUZZ_RUNS"
	what="$FUZZ_RUNS runs"
else
	limit="-max_total_time=${FUZZ_SECONDS:-30}"
	what="${FUZZ_SECONDS:-30}s"
fi

if ! make -C "$build" -s fuzz >"$build/fuzz-build.log" 2>&1; then
	cat "$build/fuzz-build.log" >&2
	echo "FAIL: make fuzz (in $build)"
	exit 1
fi
if [ $# -gt 0 ]; then
	all="$*"
else
	all=$(cd "$build/tests/fuzz" && ls fuzz_* | sed -n 's/^fuzz_\([a-z0-9_]*\)$/\1/p')
fi
[ -n "$all" ] || { echo "FAIL: make fuzz built no harness"; exit 1; }

if [ -n "${FUZZ_WORK:-}" ]; then
	work=$FUZZ_WORK
	mkdir -p "$work"
else
	work=$(mktemp -d "${TMPDIR:-/tmp}/recalld-fuzz.XXXXXX")
fi
keep=${FUZZ_KEEP:-0}
cleanup() { [ "$keep" = 1 ] || rm -rf "$work"; }
trap cleanup EXIT

# Seeds: the repo's own test data.
seeds() {
	c=$work/corpus-$1
	rm -rf "$c"; mkdir -p "$c"
	case $1 in
	csvtab)
		i=0
		for f in "$top"/tests/roster/*/*.csv "$top"/tests/questions/*.csv \
		    "$top"/tests/demo/questions.csv; do
			[ -f "$f" ] || continue
			i=$((i + 1)); head -c 4096 "$f" > "$c/seed$i"
		done ;;
	qbank)
		for f in "$top"/tests/questions/*.csv "$top"/tests/demo/questions.csv; do
			cp "$f" "$c/$(basename "$(dirname "$f")")-$(basename "$f")"
		done ;;
	roster)
		for dir in "$top"/tests/roster/* "$top"/tests/demo/roster; do
			[ -f "$dir/manifest.csv" ] || continue
			n=$(basename "$dir")
			(cd "$dir" && zip -q -X -r "$c/$n.zip" ./*.csv)
		done ;;
	replay)
		printf 'card_id,review_time,rating\nc1,2025-03-01T21:11:08Z,3\nc1,2025-03-04T08:00:00.5+01:00,1\nc2,1741000000,4\nc1,2025-03-20T00:00:00Z,2\n' > "$c/seed1"
		printf 'card_id,review_time,rating\r\n"a,b",2025-03-01T00:00:00Z,3\r\n' > "$c/seed2" ;;
	alink)
		printf 'AQEBAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhsc' > "$c/seed1"
		printf 'AAAA' > "$c/seed2" ;;
	grade)
		for s in "Le Frère!" "photosynthesys" "2" "  -5 " "MITOCHONDRIA" "x 2"; do
			i=$(printf '%s' "$s" | cksum | cut -d' ' -f1); printf '%s' "$s" > "$c/$i"
		done
		awk -F, 'NR>1 && NF>5 { print $5 }' "$top"/tests/questions/good.csv | head -20 |
		    while IFS= read -r a; do
			i=$(printf '%s' "$a" | cksum | cut -d' ' -f1); printf '%s' "$a" > "$c/a$i"
		    done ;;
	clock)
		for s in 2026-09-07T06:00:00Z 2026-09-07T06:00:00.123456+01:00 1741000000 \
		    2025-03-01T21:11:08-05:30 1970-01-01T00:00:00Z; do
			printf '%s' "$s" > "$c/$s"
		done ;;
	config)
		cp "$top/systemd/recalld.conf" "$c/recalld.conf"
		printf '[http]\nlisten = 127.0.0.1:8080\n[webhooks]\nretry_schedule = 1s,5m,1h\n' > "$c/seed2" ;;
	esac
}

status=0
for h in $all; do
	bin=$build/tests/fuzz/fuzz_$h
	if [ ! -x "$bin" ]; then
		echo "FAIL: fuzz_$h (no such harness in $build/tests/fuzz)"
		status=1; continue
	fi
	seeds "$h"
	mkdir -p "$work/crash-$h"
	if ! (cd "$work/crash-$h" && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    "$bin" $limit -print_final_stats=1 \
	    -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
	    "$work/corpus-$h" > "$work/run-$h.log" 2>&1); then
		tail -n 60 "$work/run-$h.log" >&2
		echo "FAIL: fuzz_$h (inputs in $work/crash-$h)"
		keep=1; status=1; continue
	fi
	echo "PASS: fuzz_$h ($what: $(sed -n 's/^stat::number_of_executed_units: *//p' \
	    "$work/run-$h.log") inputs, peak $(sed -n 's/^stat::peak_rss_mb: *//p' \
	    "$work/run-$h.log") MB)"
done
[ "$keep" = 1 ] && echo "work directory kept: $work"
exit $status
