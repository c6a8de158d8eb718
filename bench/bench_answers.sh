#!/bin/sh
# bench_answers.sh: answers per second over HTTP (wrk posting answers to
# distinct prompts, durable commits: fsync and synchronous_commit on) beside
# pgbench -N with the same client count on the same cluster, in one run,
# with p99 latency. Targets: at least 1x pgbench, p99 under 50 ms.
# Run by hand, never in CI. Needs wrk and pgbench (postgresql-contrib).
#
#   RECALLD=build/recalld bench/bench_answers.sh     [PROMPTS=400000 DURATION=10 CONNS="16 64" ROLE=integration]
#
# CONNS is a list: one run per client count, each beside pgbench with as
# many clients. Group commit gathers the answers in flight, so the ratio
# grows with the clients (a school at 8:30 has hundreds of pupils answering).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
RECALLD=${RECALLD:-$top/recalld}
PROMPTS=${PROMPTS:-400000}
DURATION=${DURATION:-10}
CONNS=${CONNS:-16 64}
THREADS=${THREADS:-2}
PORT=${PORT:-18182}

export PG_DURABLE=1
export RECALLD_CLOCK_MODE=manual RECALLD_CLOCK_START=2026-09-21T12:00:00Z
. "$here/common.sh"
need wrk
school=$("$RECALLD" school create --name "Bench School" --tz UTC)
# ROLE=admin: every answer is also an access-audit entry (integration: counted only)
token=$("$RECALLD" token create --school "$school" --role "${ROLE:-integration}")
# One pupil per 5 prompts, one short-answer question per prompt's pupil slot.
# Prompt ids run question by question, so the answers in flight at any
# moment are from different pupils, as in a school where each pupil answers
# one question at a time (a pupil's own answers are serialised by design).
psql -X -q "$url" <<SQL
INSERT INTO course (school_id, external_id, name, updated_at) VALUES ($school, 'c', 'C', now());
INSERT INTO unit (school_id, course_id, external_id, name, updated_at)
  SELECT $school, course_id, 'u', 'U', now() FROM course;
INSERT INTO question (school_id, unit_id, external_id, kind, prompt, accepted_answers, updated_at)
  SELECT $school, u.unit_id, 'q' || g, 'short', 'Question ' || g, '["yes"]', now()
  FROM unit u, generate_series(1, 5) g;
INSERT INTO pupil (school_id, external_id, updated_at)
  SELECT $school, 'p' || g, now() FROM generate_series(1, $PROMPTS / 5) g;
INSERT INTO batch (school_id, pupil_id, local_date, created_at)
  SELECT $school, pupil_id, '2026-09-21', now() FROM pupil;
INSERT INTO prompt (school_id, batch_id, pupil_id, question_id, question_version, position, expires_at)
  SELECT $school, b.batch_id, b.pupil_id, q.question_id, 1, 1, '2026-09-22'
  FROM batch b CROSS JOIN question q ORDER BY q.question_id, b.batch_id;
ANALYZE;
SQL
first=$(psql -X -At "$url" -c "SELECT min(prompt_id) FROM prompt")
serve_start

# The raw baseline's tables, made before recalld starts: pgbench's simple-update
# transactions on the same cluster.
"$bindir/psql" -X -q -h "$host" -U postgres -d postgres -c "CREATE DATABASE bench" >/dev/null
"$bindir/pgbench" -q -i -s 10 -h "$host" -U postgres bench >/dev/null 2>&1
# Their writes flushed now, not by a checkpoint in the middle of a run.
psql -X -q "$url" -c "VACUUM ANALYZE" -c "CHECKPOINT"

# One run per client count in CONNS, each on its own share of the prompts;
# each wrk thread answers its own stretch of that share: no prompt twice.
runs=$(echo $CONNS | wc -w)
share=$((PROMPTS / runs))
run=0
for conns in $CONNS; do
	base=$((first + run * share))
	cat >"$tmp/answers.lua" <<LUA
local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end
function init(args)
  next_id = $base + tid * math.floor($share / $THREADS)
end
request = function()
  local id = next_id
  next_id = next_id + 1
  local body = '{"prompt_id": ' .. id .. ', "answer": "yes"}'
  return wrk.format("POST", "/v1/responses", {["Authorization"] = "Bearer $token",
    ["Content-Type"] = "application/json"}, body)
end
LUA
	echo "wrk -t$THREADS -c$conns -d${DURATION}s, durable commits, pool_size=4" >&2
	out=$(wrk -t"$THREADS" -c"$conns" -d"${DURATION}s" --latency -s "$tmp/answers.lua" \
	    "http://127.0.0.1:$PORT")
	echo "$out" | grep -E 'Requests/sec|99%|Non-2xx' | sed 's/^/  /' >&2
	# Every answer must be a fresh one that was recorded: else no figure.
	if echo "$out" | grep -q 'Non-2xx'; then
		echo "bench_answers: some answers were refused (see above)" >&2
		exit 1
	fi
	a=$(echo "$out" | sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p')
	p99=$(echo "$out" | sed -n 's/^ *99% *\(.*\)$/\1/p')
	range="prompt_id >= $base AND prompt_id < $((base + share))"
	reviews=$(psql -X -At "$url" -c "SELECT count(*) FROM review WHERE $range")
	group=$(psql -X -At "$url" -c "SELECT round(count(*)::numeric /
	    greatest(count(DISTINCT xmin::text), 1), 1) FROM review WHERE $range")
	t=$("$bindir/pgbench" -N -c "$conns" -j "$THREADS" -T "$DURATION" -h "$host" -U postgres bench \
	    2>/dev/null | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -n 1)
	awk -v c="$conns" -v a="$a" -v t="$t" -v p="$p99" -v r="$reviews" -v g="$group" 'BEGIN {
		printf "%d clients: answers %.0f/s (p99 %s, %d reviews, %.1f per transaction), pgbench -N %.0f tps, ratio %.2f (target >= 1)\n", c, a, p, r, g, t, a / t }'
	run=$((run + 1))
done
