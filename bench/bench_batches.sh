#!/bin/sh
# bench_batches.sh: building one school day's batches for PUPILS pupils with
# STATES memory states each, beside a bare `COPY (SELECT * FROM memory_state)
# TO STDOUT` of the same table, in one run. Target: at most 3x the scan.
# Run by hand, never in CI (100,000 x 200 = 20 million states take a while
# to generate; PUPILS=20000 is a quicker look).
#
#   RECALLD=build/recalld bench/bench_batches.sh     [PUPILS=100000 STATES=200]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
RECALLD=${RECALLD:-$top/recalld}
PUPILS=${PUPILS:-100000}
STATES=${STATES:-200}
PORT=${PORT:-18183}

export RECALLD_CLOCK_MODE=manual RECALLD_CLOCK_START=2026-09-21T06:00:00Z
. "$here/common.sh"
. "$here/gen_school.sh"
school=$("$RECALLD" school create --name "Bench School" --tz UTC)
token=$("$RECALLD" token create --school "$school" --role admin)
echo "generating $PUPILS pupils x $STATES states..." >&2
t0=$(ms)
gen_school "$school" "$PUPILS" "$STATES"
echo "generated in $(( ($(ms) - t0) / 1000 )) s" >&2
states=$(psql -X -At "$url" -c "SELECT count(*) FROM memory_state")

# The raw baseline: read the whole table once.
t0=$(ms)
psql -X -q "$url" -c "COPY (SELECT * FROM memory_state) TO STDOUT" >/dev/null
copy=$(( $(ms) - t0 ))

serve_start
t0=$(ms)
curl -fs -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
	-d '{"now": "2026-09-21T17:00:00Z"}' "http://127.0.0.1:$PORT/v1/admin/clock" >/dev/null
while [ "$(psql -X -At "$url" -c "SELECT batches_done_for IS NOT NULL FROM school WHERE school_id = $school")" != t ]; do
	sleep 0.2
	if ! kill -0 "$pid" 2>/dev/null; then cat "$tmp/serve.log"; exit 1; fi
done
build=$(( $(ms) - t0 ))
[ -n "${BENCH_LOG_STATEMENTS:-}" ] && cp "$pg/server.log" /tmp/bench_batches_server.log
batches=$(psql -X -At "$url" -c "SELECT count(*) FROM batch")
prompts=$(psql -X -At "$url" -c "SELECT count(*) FROM prompt")
awk -v c="$copy" -v b="$build" -v s="$states" -v n="$batches" -v p="$prompts" 'BEGIN {
	printf "%d memory states: COPY %.2f s; daily batches %.2f s (%d batches, %d prompts); ratio %.2f (target <= 3)\n",
	    s, c / 1000, b / 1000, n, p, b / c }'
