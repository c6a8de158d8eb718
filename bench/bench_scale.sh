#!/bin/sh
# bench_scale.sh: the capacity curve. For each school size in SIZES (pupils,
# STATES memory states each, classes of 30), in a database of its own on
# one durable cluster (fsync and synchronous_commit on), it measures:
#   - one school day's batches, beside a bare COPY of memory_state;
#   - a run of the flag job over every class, beside the same COPY;
#   - a class's mastery grid, GET /v1/classes/{id}/mastery (wrk), beside
#     GET /healthz on the same daemon;
#   - answers over HTTP to that day's prompts (wrk), beside pgbench -N with
#     as many clients on the same cluster;
#   - the daemon's peak resident memory (VmHWM).
# Then, per measure, how its cost grows with the school: the exponent of a
# least-squares fit of log(cost) on log(pupils) (1.0: linear; 0: flat).
# Run by hand, never in CI: 300,000 x 200 states take a while to generate
# and about 10 GB of disk.
#
#   RECALLD=build/recalld bench/bench_scale.sh   [SIZES="10000 100000 300000" STATES=200 DURATION=5 CONNS=16]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
RECALLD=${RECALLD:-$top/recalld}
SIZES=${SIZES:-10000 100000 300000}
STATES=${STATES:-200}
DURATION=${DURATION:-5}
CONNS=${CONNS:-16}
PORT=${PORT:-18185}

export PG_DURABLE=1
export RECALLD_CLOCK_MODE=manual RECALLD_CLOCK_START=2026-09-21T06:00:00Z
. "$here/common.sh"
need wrk
. "$here/gen_school.sh"
base="http://127.0.0.1:$PORT"
pg_sql() { "$bindir/psql" -X -q -h "$host" -U postgres -d postgres "$@"; }

# pgbench's tables once, for every size's answers baseline.
pg_sql -c "CREATE DATABASE bench" >/dev/null
"$bindir/pgbench" -q -i -s 10 -h "$host" -U postgres bench >/dev/null 2>&1

# job_idle JOB: 1 when /metrics says the job neither runs nor is asked to
job_idle() {
	curl -fs "$base/metrics" | sed -n "s/^recalld_job_idle{job=\"$1\"} \([01]\)$/\1/p"
}
wait_idle() {
	while [ "$(job_idle "$1")" != 1 ]; do
		sleep 0.1
		kill -0 "$pid" 2>/dev/null || { cat "$tmp/serve.log" >&2; exit 1; }
	done
}
clock() {
	curl -fs -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
		-d "{\"now\": \"$1\"}" "$base/v1/admin/clock" >/dev/null
}
wrk_rps() { echo "$1" | sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p'; }
wrk_p99() { echo "$1" | sed -n 's/^ *99% *\(.*\)$/\1/p'; }

results="$tmp/results"
: >"$results"
for n in $SIZES; do
	db="scale_$n"
	pg_sql -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
	url="host=$host port=5432 user=postgres dbname=$db"
	RECALLD_DATABASE_URL="$url"
	export RECALLD_DATABASE_URL
	"$RECALLD" migrate >/dev/null
	school=$("$RECALLD" school create --name "Scale $n" --tz UTC)
	admin=$("$RECALLD" token create --school "$school" --role admin)
	integration=$("$RECALLD" token create --school "$school" --role integration)
	echo "== $n pupils x $STATES states: generating..." >&2
	t0=$(ms)
	gen_school "$school" "$n" "$STATES"
	psql -X -q "$url" -c "CHECKPOINT"
	echo "   generated in $(( ($(ms) - t0) / 1000 )) s" >&2
	t0=$(ms)
	psql -X -q "$url" -c "COPY (SELECT * FROM memory_state) TO STDOUT" >/dev/null
	copy=$(( $(ms) - t0 ))

	serve_start
	# The day's batches: the prompt time (16:00 UTC by default) has come.
	t0=$(ms)
	clock 2026-09-21T17:00:00Z
	while [ "$(psql -X -At "$url" -c "SELECT batches_done_for IS NOT NULL FROM school")" != t ]; do
		sleep 0.1
		kill -0 "$pid" 2>/dev/null || { cat "$tmp/serve.log" >&2; exit 1; }
	done
	batches=$(( $(ms) - t0 ))
	wait_idle flags
	wait_idle batches
	# The flag job alone: a clock move runs it over every class.
	t0=$(ms)
	clock 2026-09-21T17:01:00Z
	wait_idle flags
	flags=$(( $(ms) - t0 ))

	# One class's grid beside /healthz, the same daemon and wrk settings.
	class=$(psql -X -At "$url" -c "SELECT min(class_id) FROM class")
	out=$(wrk -t2 -c8 -d"${DURATION}s" --latency -H "Authorization: Bearer $admin" \
	    "$base/v1/classes/$class/mastery")
	grid=$(wrk_rps "$out")
	grid99=$(wrk_p99 "$out")
	out=$(wrk -t2 -c8 -d"${DURATION}s" "$base/healthz")
	healthz=$(wrk_rps "$out")

	# Answers to the day's prompts, each once, in prompt order.
	first=$(psql -X -At "$url" -c "SELECT min(prompt_id) FROM prompt")
	nprompts=$(psql -X -At "$url" -c "SELECT count(*) FROM prompt")
	cat >"$tmp/answers.lua" <<LUA
local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end
function init(args)
  next_id = $first + tid * math.floor($nprompts / 2)
end
request = function()
  local id = next_id
  next_id = next_id + 1
  return wrk.format("POST", "/v1/responses", {["Authorization"] = "Bearer $integration",
    ["Content-Type"] = "application/json"}, '{"prompt_id": ' .. id .. ', "answer": "x"}')
end
LUA
	out=$(wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency -s "$tmp/answers.lua" "$base")
	if echo "$out" | grep -q 'Non-2xx'; then
		echo "$out" >&2
		echo "bench_scale: some answers were refused" >&2
		exit 1
	fi
	answers=$(wrk_rps "$out")
	answers99=$(wrk_p99 "$out")
	pgb=$("$bindir/pgbench" -N -c "$CONNS" -j 2 -T "$DURATION" -h "$host" -U postgres bench \
	    2>/dev/null | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -n 1)
	rss=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status")

	kill "$pid"
	wait "$pid" 2>/dev/null || true
	pid=
	awk -v n="$n" -v c="$copy" -v b="$batches" -v f="$flags" -v g="$grid" -v g99="$grid99" \
	    -v h="$healthz" -v a="$answers" -v a99="$answers99" -v t="$pgb" -v m="$rss" 'BEGIN {
		printf "%d pupils: batches %.2f s, flags %.2f s (COPY %.2f s: %.2fx, %.2fx);" \
		    " grid %.0f/s p99 %s (healthz %.0f/s: %.0f%%); answers %.0f/s p99 %s" \
		    " (pgbench -N %.0f tps: %.2fx); peak RSS %.0f MB\n",
		    n, b / 1000, f / 1000, c / 1000, b / c, f / c, g, g99, h, 100 * g / h,
		    a, a99, t, a / t, m / 1024 }'
	echo "$n $batches $flags $copy $grid $answers $rss" >>"$results"
	pg_sql -c "DROP DATABASE $db" >/dev/null
done

# Growth: slope of log(cost) on log(pupils). Per-request costs are 1/rate.
awk 'function fit(col, inv,   i, x, y, sx, sy, sxx, sxy) {
		sx = sy = sxx = sxy = 0
		for (i = 1; i <= k; i++) {
			x = log(n[i]); y = log(inv ? 1 / v[i, col] : v[i, col])
			sx += x; sy += y; sxx += x * x; sxy += x * y
		}
		return (k * sxy - sx * sy) / (k * sxx - sx * sx)
	}
	{ k++; n[k] = $1; for (c = 2; c <= 7; c++) v[k, c] = $c }
	END {
		if (k < 2) exit
		printf "growth exponents (1.0 linear, 0 flat): batches %.2f, flags %.2f, COPY %.2f;" \
		    " grid request %.2f, answer %.2f; peak RSS %.2f\n",
		    fit(2, 0), fit(3, 0), fit(4, 0), fit(5, 1), fit(6, 1), fit(7, 0)
	}' "$results"
