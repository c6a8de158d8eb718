#!/bin/sh
# bench_api.sh: wrk on GET /v1/pupils/{id} (token check + one indexed query)
# beside wrk on GET /healthz (the HTTP ceiling of the same daemon), in one
# run, and the ratio. Target: the API at least 30% of the /healthz figure.
# Run by hand, never in CI. Needs wrk (apt-get install wrk).
#
#   RECALLD=build/recalld bench/bench_api.sh     [PUPILS=10000 DURATION=10 CONNS=32]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
RECALLD=${RECALLD:-$top/recalld}
PUPILS=${PUPILS:-10000}
DURATION=${DURATION:-10}
CONNS=${CONNS:-32}
THREADS=${THREADS:-2}
PORT=${PORT:-18181}

. "$here/common.sh"
need wrk
school=$("$RECALLD" school create --name "Bench School" --tz Europe/London)
token=$("$RECALLD" token create --school "$school" --role admin)
psql -X -q "$url" -c "INSERT INTO pupil (school_id, external_id, updated_at)
	SELECT $school, 'p' || g, now() FROM generate_series(1, $PUPILS) g; ANALYZE pupil;"
serve_start

# Spread requests over all pupils so the index is really used.
cat >"$tmp/pupils.lua" <<LUA
math.randomseed(42)
request = function()
  return wrk.format("GET", "/v1/pupils/" .. math.random(1, $PUPILS), {["Authorization"] = "Bearer $token"})
end
LUA

run() {	# run NAME ARGS...: prints requests/s
	out=$(wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency "$@")
	echo "$out" | grep -E 'Requests/sec|99%|Non-2xx' | sed "s/^/  /" >&2
	echo "$out" | sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p'
}
echo "wrk -t$THREADS -c$CONNS -d${DURATION}s, pool_size=4, $PUPILS pupils" >&2
echo "GET /healthz:" >&2
h=$(run "http://127.0.0.1:$PORT/healthz")
echo "GET /v1/pupils/{id}:" >&2
a=$(run -s "$tmp/pupils.lua" "http://127.0.0.1:$PORT")
awk -v h="$h" -v a="$a" 'BEGIN {
	printf "healthz %.0f req/s, api %.0f req/s, api/healthz = %.1f%% (target >= 30%%)\n", h, a, 100 * a / h }'
