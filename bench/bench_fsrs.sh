#!/bin/sh
# bench_fsrs.sh: FSRS-6 updates per second, sched/fsrs.c against ts-fsrs,
# on the same generated workload. Prints both figures and the ratio C/ts.
# Run by hand, never in CI.
#
#   BENCH_FSRS=path/to/bench_fsrs bench/bench_fsrs.sh
#
# Without BENCH_FSRS it compiles bench/bench_fsrs.c itself (cc -O2). The
# ts-fsrs half needs node and ts-fsrs (cd tests/fsrs-vectors && npm install);
# without them only the C figure is printed.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
CARDS=${CARDS:-200000}
TS_CARDS=${TS_CARDS:-20000}
REVIEWS=${REVIEWS:-20}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

bin=${BENCH_FSRS:-}
if [ -z "$bin" ]; then
	bin=$tmp/bench_fsrs
	${CC:-cc} -std=c11 -O2 -o "$bin" "$here/bench_fsrs.c" "$top/sched/fsrs.c" -lm
fi

c_out=$("$bin" "$CARDS" "$REVIEWS")
echo "$c_out"
c_rate=$(echo "$c_out" | sed -n 's/.* \([0-9]*\) updates\/s.*/\1/p')

if ! command -v node > /dev/null 2>&1; then
	echo "node not found: no ts-fsrs figure"
	exit 0
fi
if ! ts_out=$(node "$here/fsrs_ts_bench.mjs" "$TS_CARDS" "$REVIEWS" 2> "$tmp/err"); then
	echo "ts-fsrs not available ($(head -1 "$tmp/err")): no ts-fsrs figure"
	exit 0
fi
echo "$ts_out"
ts_rate=$(echo "$ts_out" | sed -n 's/^ts-fsrs next(): .* \([0-9]*\) updates\/s.*/\1/p')

# The same workload: the checksums of the same cards agree.
c_sum=$("$bin" "$TS_CARDS" "$REVIEWS" | sed -n 's/.*checksum //p')
ts_sum=$(echo "$ts_out" | sed -n 's/^ts-fsrs next(): .*checksum //p')
[ "$c_sum" = "$ts_sum" ] && agree="agree" || agree="DIFFER ($c_sum vs $ts_sum)"

echo "$c_rate $ts_rate" | awk -v agree="$agree" '{
	printf "ratio C/ts-fsrs next(): %.1fx (interval checksums %s)\n", $1 / $2, agree
}'
