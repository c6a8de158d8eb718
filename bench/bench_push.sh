#!/bin/sh
# bench_push.sh: webhook deliveries per second from `recalld serve` (claim
# from the outbox, sign, POST, record the attempt) to the local test
# receiver, beside wrk POSTing the same signed body straight at that
# receiver (the raw ceiling of the same machine), and the ratio.
# Target: deliveries at least 25% of the raw figure. Run by hand, never in CI.
# Needs wrk, psql, openssl, and a built tree (make && make tests/receiver).
#
#   RECALLD=build/recalld RECEIVER=build/tests/receiver bench/bench_push.sh
#       [DELIVERIES=20000 ENDPOINTS=16 MAX_IN_FLIGHT=64 PER_ENDPOINT=4
#        CONNS=64 DURATION=10]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
RECALLD=${RECALLD:-$top/recalld}
RECEIVER=${RECEIVER:-$(dirname "$RECALLD")/tests/receiver}
DELIVERIES=${DELIVERIES:-20000}
ENDPOINTS=${ENDPOINTS:-16}
MAX_IN_FLIGHT=${MAX_IN_FLIGHT:-64}
PER_ENDPOINT=${PER_ENDPOINT:-4}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}
DURATION=${DURATION:-10}
PORT=${PORT:-18182}
for tool in wrk psql openssl; do
	command -v $tool >/dev/null || { echo "bench_push: $tool is not installed" >&2; exit 1; }
done
[ -x "$RECEIVER" ] || { echo "bench_push: no receiver at $RECEIVER (make tests/receiver)" >&2; exit 1; }

pg=$(mktemp -d /tmp/recalld-bench-pg.XXXXXX)
tmp=$(mktemp -d)
pid=
rpid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	[ -n "$rpid" ] && kill "$rpid" 2>/dev/null && wait "$rpid" 2>/dev/null
	sh "$top/tests/pg-harness.sh" destroy "$pg" >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

url=$(sh "$top/tests/pg-harness.sh" start "$pg")
export RECALLD_DATABASE_URL="$url" RECALLD_DATABASE_MIGRATIONS="$top/sql"
export RECALLD_HTTP_LISTEN="127.0.0.1:$PORT" RECALLD_LOG_LEVEL=warn
export RECALLD_WEBHOOKS_ALLOW_PRIVATE=true RECALLD_WEBHOOKS_MAX_IN_FLIGHT="$MAX_IN_FLIGHT"
export RECALLD_WEBHOOKS_MAX_IN_FLIGHT_PER_ENDPOINT="$PER_ENDPOINT"
"$RECALLD" migrate >/dev/null
school=$("$RECALLD" school create --name "Bench School" --tz Europe/London)

# One secret, one receiver verifying every signature (no log: raw speed).
keyhex=$(openssl rand -hex 32)
secret="whsec_$(echo "$keyhex" | xxd -r -p | base64 -w0)"
"$RECEIVER" --port 0 --port-file "$tmp/port" --secret "$secret" >/dev/null &
rpid=$!
for i in $(seq 1 50); do [ -s "$tmp/port" ] && break; sleep 0.1; done
rport=$(cat "$tmp/port")

# A realistic body: a prompt.batch envelope of five prompts (about 1 KB).
body='{"type":"prompt.batch","timestamp":"2026-09-07T15:00:00.000000Z","data":{"batch_id":1,"local_date":"2026-09-07","kind":"daily","pupil":{"id":1,"external_id":"p-1"},"prompts":['
for i in 1 2 3 4 5; do
	[ $i -gt 1 ] && body="$body,"
	body="$body{\"prompt_id\":$i,\"text\":\"Which fraction is equivalent to 2/4?\",\"choices\":[\"1/2\",\"1/3\",\"2/3\",\"3/4\"],\"answer_url\":\"https://recalld.example.org/a/$i/tok_8f3a9c0d2e\",\"expires_at\":\"2026-09-08T15:00:00Z\"}"
done
body="$body]}}"
printf '%s' "$body" > "$tmp/body.json"

psql -X -q "$url" -v body="$body" -v secret="$secret" <<SQL
INSERT INTO endpoint (school_id, url, format, secret, created_at)
	SELECT $school, 'http://127.0.0.1:$rport/hook/' || g, 'json', :'secret', now()
	FROM generate_series(1, $ENDPOINTS) g;
INSERT INTO delivery (school_id, endpoint_id, event_type, webhook_id, payload, next_attempt_at, created_at)
	SELECT e.school_id, e.endpoint_id, 'prompt.batch', 'msg_' || replace(gen_random_uuid()::text, '-', ''),
	    :'body', now(), now()
	FROM generate_series(1, $DELIVERIES) g
	JOIN endpoint e ON e.school_id = $school AND e.endpoint_id = (SELECT min(endpoint_id) FROM endpoint) + g % $ENDPOINTS;
ANALYZE;
SQL
queued=$(psql -X -qtA "$url" -c "SELECT count(*) FROM delivery")

echo "recalld serve: $queued deliveries queued to $ENDPOINTS endpoints, max_in_flight=$MAX_IN_FLIGHT, per_endpoint=$PER_ENDPOINT, pool_size=4" >&2
"$RECALLD" serve 2>"$tmp/serve.log" &
pid=$!
left=$queued
for i in $(seq 1 1200); do
	left=$(psql -X -qtA "$url" -c "SELECT count(*) FROM delivery WHERE status <> 'delivered'")
	[ "$left" = 0 ] && break
	sleep 0.25
done
if [ "$left" != 0 ]; then
	echo "bench_push: $left deliveries not delivered; serve log:" >&2
	tail -20 "$tmp/serve.log" >&2
	exit 1
fi
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
# First attempt's start to the last attempt's end: the sender alone.
p=$(psql -X -qtA "$url" -c "SELECT round(count(*) / extract(epoch FROM max(at + latency_ms * interval '1 ms') - min(at)))
	FROM delivery_attempt")
psql -X -qtA "$url" -c "SELECT '  attempts ' || count(*) || ', non-2xx ' || count(*) FILTER (WHERE http_status IS DISTINCT FROM 200)
	|| ', latency p50 ' || percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms) || ' ms, p99 '
	|| percentile_cont(0.99) WITHIN GROUP (ORDER BY latency_ms) || ' ms' FROM delivery_attempt" >&2

# Raw: wrk POSTs the same body, signed the same way, to the same receiver.
id=msg_bench
ts=$(date +%s)
sig=$(printf '%s' "$id.$ts.$body" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$keyhex" -binary | base64 -w0)
cat >"$tmp/post.lua" <<LUA
local f = io.open("$tmp/body.json", "rb")
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
wrk.headers["webhook-id"] = "$id"
wrk.headers["webhook-timestamp"] = "$ts"
wrk.headers["webhook-signature"] = "v1,$sig"
LUA
echo "wrk -t$THREADS -c$CONNS -d${DURATION}s POST (same body, signed) to the receiver:" >&2
out=$(wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency -s "$tmp/post.lua" "http://127.0.0.1:$rport/hook")
echo "$out" | grep -E 'Requests/sec|99%|Non-2xx' | sed "s/^/  /" >&2
r=$(echo "$out" | sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p')
awk -v p="$p" -v r="$r" 'BEGIN {
	printf "push %.0f deliveries/s, raw %.0f req/s, push/raw = %.1f%% (target >= 25%%)\n", p, r, 100 * p / r }'
