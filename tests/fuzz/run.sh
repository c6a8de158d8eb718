#!/bin/sh
# run.sh: build the libFuzzer harnesses of tests/fuzz/ and run each for a while.
#
#   tests/fuzz/run.sh [harness ...]     (default: all)
#   FUZZ_SECONDS=30   seconds per harness
#   FUZZ_WORK=dir     build and corpus directory (default: a fresh temp dir,
#                     removed at the end unless FUZZ_KEEP=1)
#
# Seed corpora are made at run time from tests/roster, tests/questions,
# tests/demo and systemd/recalld.conf; nothing is written into the tree.
# Exits non-zero when a harness fails to build or finds a crash (the
# crashing input is left in the work directory, which is then kept).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
secs=${FUZZ_SECONDS:-30}
CC=${CC:-clang}
all="csvtab qbank roster replay alink grade clock config"
[ $# -gt 0 ] && all="$*"

if [ -n "${FUZZ_WORK:-}" ]; then
	work=$FUZZ_WORK
	mkdir -p "$work"
else
	work=$(mktemp -d "${TMPDIR:-/tmp}/recalld-fuzz.XXXXXX")
fi
keep=${FUZZ_KEEP:-0}
cleanup() { [ "$keep" = 1 ] || rm -rf "$work"; }
trap cleanup EXIT

# A minimal autoconf.h: the parsers need nothing from configure.
cat > "$work/autoconf.h" <<'H'
#define PACKAGE "recalld"
#define PACKAGE_NAME "recalld"
#define PACKAGE_VERSION "0.1.0"
#define PACKAGE_STRING "recalld 0.1.0"
#define VERSION "0.1.0"
#define _GNU_SOURCE 1
H

pc() { pkg-config "$@" jansson libpq libzip libcrypto inih libutf8proc; }
CFLAGS="-g -O1 -std=c11 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer -include $work/autoconf.h -I$work -I$top/daemon -I$top/sched \
	-I$top/api -DSYSCONFDIR=\"/etc\" -DPKGDATADIR=\"/usr/share/recalld\" $(pc --cflags)"
LIBS="$(pc --libs) -lcsv -lm"

d=$top/daemon
common="$d/util.c $d/log.c"
sources() {
	case $1 in
	csvtab)	echo "$d/csvtab.c" ;;
	qbank)	echo "$d/qbank.c $d/csvtab.c $d/plan.c" ;;
	roster)	echo "$d/roster.c $d/csvtab.c $d/plan.c" ;;
	replay)	echo "$d/replay.c $d/clock.c $top/sched/fsrs.c" ;;
	alink)	echo "$d/alink.c" ;;
	grade)	echo "$d/grade.c" ;;
	clock)	echo "$d/clock.c" ;;
	config)	echo "$d/config.c" ;;
	*)	echo "run.sh: unknown harness $1" >&2; return 1 ;;
	esac
}

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
	src=$(sources "$h")
	echo "== $h: build"
	# shellcheck disable=SC2086
	if ! $CC $CFLAGS -o "$work/fuzz_$h" "$here/fuzz_$h.c" $src $common $LIBS \
	    > "$work/build-$h.log" 2>&1; then
		cat "$work/build-$h.log" >&2
		status=1; continue
	fi
	seeds "$h"
	mkdir -p "$work/crash-$h"
	echo "== $h: run ${secs}s"
	if ! (cd "$work/crash-$h" && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    "$work/fuzz_$h" -max_total_time="$secs" -print_final_stats=1 \
	    -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
	    "$work/corpus-$h" > "$work/run-$h.log" 2>&1); then
		tail -n 60 "$work/run-$h.log" >&2
		echo "== $h: CRASH (inputs in $work/crash-$h)" >&2
		keep=1; status=1; continue
	fi
	grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' \
	    "$work/run-$h.log" | sed "s/^/   $h /"
done
[ "$keep" = 1 ] && echo "work directory kept: $work"
exit $status
