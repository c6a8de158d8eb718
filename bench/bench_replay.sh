#!/bin/sh
# bench_replay.sh: `recalld replay` against the same replay written on the
# reference ts-fsrs (bench/replay_ts.mjs), on one random log of ROWS rows.
# Prints rows/s of each and the ratio. Run by hand, never in CI.
#
#   RECALLD=path/to/recalld ROWS=1000000 CARDS=50000 bench/bench_replay.sh
#
# Needs node and ts-fsrs (cd tests/fsrs-vectors && npm install).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
RECALLD=${RECALLD:-./recalld}
ROWS=${ROWS:-1000000}
CARDS=${CARDS:-50000}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

now() { date +%s.%N; }

node "$here/gen_reviews.mjs" "$ROWS" "$CARDS" > "$tmp/reviews.csv"
echo "log: $ROWS rows, $CARDS cards, $(wc -c < "$tmp/reviews.csv") bytes"

# Best of three for recalld: it is quick, and the figure is its capacity.
best=
for run in 1 2 3; do
	t0=$(now)
	"$RECALLD" replay "$tmp/reviews.csv" > "$tmp/c.csv"
	t1=$(now)
	best=$(echo "$t0 $t1 ${best:-0}" | awk '{ t = $2 - $1; print ($3 == 0 || t < $3) ? t : $3 }')
done

t0=$(now)
node "$here/replay_ts.mjs" < "$tmp/reviews.csv" > "$tmp/ts.csv"
t1=$(now)
ts=$(echo "$t0 $t1" | awk '{ print $2 - $1 }')

if cmp -s "$tmp/c.csv" "$tmp/ts.csv"; then
	same="byte-identical"
else
	same="DIFFERENT (see tests/fsrs-vectors/replay_check.mjs)"
fi
echo "$ROWS $best $ts" | awk -v same="$same" '{
	c = $1 / $2; t = $1 / $3
	printf "recalld replay: %.3f s, %.0f rows/s\n", $2, c
	printf "ts-fsrs replay: %.3f s, %.0f rows/s\n", $3, t
	printf "ratio recalld/ts-fsrs: %.1fx (outputs %s)\n", c / t, same
}'
