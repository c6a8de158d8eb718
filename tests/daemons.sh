#!/bin/sh
# daemons.sh: several `recalld serve` on one database. The manual clock
# (tests, the demo) is shared through the database: a move posted to one
# daemon is seen by the others, it never goes backwards, and a daemon
# (re)started with an earlier clock.start joins the others' time. A school
# whose job lease a dead daemon left behind is taken over once the lease
# lapses (real time, whatever the manual clock says).
set -u
RECALLD=${RECALLD:-./recalld}
srcdir=${srcdir:-.}
harness="$srcdir/tests/pg-harness.sh"
. "${srcdir:-.}/tests/tap.sh"
tmp=$(mktemp -d /tmp/recalld-daemons.XXXXXX)
pgdir=$(mktemp -d /tmp/recalld-pg.XXXXXX)
pids=

cleanup() {
	for p in $pids; do kill -9 "$p" 2>/dev/null; done
	sh "$harness" destroy "$pgdir" >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT


# call TOKEN METHOD URL [BODY]: the body into $tmp/body, prints the status
call() {
	if [ $# -ge 4 ]; then
		curl -s -o "$tmp/body" -w '%{http_code}' --max-time 5 -X "$2" \
			-H "Authorization: Bearer $1" -H 'Content-Type: application/json' -d "$4" "$3"
	else
		curl -s -o "$tmp/body" -w '%{http_code}' --max-time 5 -X "$2" \
			-H "Authorization: Bearer $1" "$3"
	fi
}

# clock_is BASE ISO TIMEOUT_MS: poll GET /v1/admin/clock until it says ISO
clock_is() {
	start=$(ms)
	while :; do
		call "$admin" GET "$1/v1/admin/clock" >/dev/null
		grep -q "\"now\": *\"$2" "$tmp/body" && return 0
		[ $(($(ms) - start)) -ge "$3" ] && return 1
		sleep 0.05
	done
}

# start NAME CLOCK_START: a daemon on a free port; its base URL in $base_NAME
start() {
	port=$((20000 + ($$ + $(ms)) % 20000))
	for try in 1 2 3 4 5 6 7 8; do
		RECALLD_HTTP_LISTEN="127.0.0.1:$port" RECALLD_CLOCK_START="$2" \
			"$RECALLD" serve >"$tmp/$1.log" 2>&1 &
		pid=$!
		start_ms=$(ms)
		while [ $(($(ms) - start_ms)) -lt 5000 ]; do
			[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz")" = 200 ] && break
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.05
		done
		if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz")" = 200 ]; then
			pids="$pids $pid"
			eval "pid_$1=$pid base_$1=http://127.0.0.1:$port"
			return 0
		fi
		kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
		port=$((port + 7))
	done
	cat "$tmp/$1.log"
	return 1
}

url=$(sh "$harness" start "$pgdir") || { echo "Bail out! cannot start PostgreSQL"; exit 1; }
export RECALLD_DATABASE_URL="$url"
unset RECALLD_DATABASE_MIGRATIONS RECALLD_DASHBOARD_DIR
export RECALLD_SERVE_SHUTDOWN_TIMEOUT=5s RECALLD_CLOCK_MODE=manual
export RECALLD_SCHEDULER_INTERVAL=300ms RECALLD_JOBS_LEASE_TIMEOUT=3s
"$RECALLD" migrate >/dev/null || { echo "Bail out! migrate failed"; exit 1; }
"$RECALLD" school create --name "Shared clock" >/dev/null
admin=$("$RECALLD" token create --school 1 --role admin)

start a 2026-09-21T06:00:00Z || { echo "Bail out! daemon a did not start"; exit 1; }
start b 2026-09-21T06:00:00Z || { echo "Bail out! daemon b did not start"; exit 1; }
check "both daemons start on the same manual time" \
	'clock_is "$base_a" 2026-09-21T06:00:00 2000 && clock_is "$base_b" 2026-09-21T06:00:00 2000'

s=$(call "$admin" POST "$base_a/v1/admin/clock" '{"now": "2026-09-21T15:30:00Z"}')
check "a move posted to daemon a is accepted ($s)" '[ "$s" = 200 ]'
check "daemon b follows daemon a's move" 'clock_is "$base_b" 2026-09-21T15:30:00 5000'
check "daemon b's log says the clock moved" 'grep -q "manual clock moved\" now=2026-09-21T15:30" "$tmp/b.log"'

s=$(call "$admin" POST "$base_b/v1/admin/clock" '{"now": "2026-09-21T12:00:00Z"}')
check "a move backwards, posted to the other daemon, is refused ($s)" \
	'[ "$s" = 422 ] && grep -q "does not go backwards" "$tmp/body"'
check "and leaves both clocks where they were" \
	'clock_is "$base_a" 2026-09-21T15:30:00 1000 && clock_is "$base_b" 2026-09-21T15:30:00 1000'

kill -9 "$pid_b"; wait "$pid_b" 2>/dev/null
pids=$(echo " $pids " | sed "s/ $pid_b / /")
start b 2026-09-21T06:00:00Z || { echo "Bail out! daemon b did not restart"; exit 1; }
check "a daemon restarted with an earlier clock.start joins the shared time" \
	'clock_is "$base_b" 2026-09-21T15:30:00 2000'

start c 2026-09-22T06:00:00Z || { echo "Bail out! daemon c did not start"; exit 1; }
check "a daemon started later in time moves the others with it" \
	'clock_is "$base_c" 2026-09-22T06:00:00 2000 && clock_is "$base_a" 2026-09-22T06:00:00 5000 && clock_is "$base_b" 2026-09-22T06:00:00 5000'

# sql QUERY: one value
sql() { psql "$url" -qAtX -c "$1"; }

# A daemon died holding the school's batch lease for the coming day.
sql "INSERT INTO job_lease (school_id, job, holder, until)
	VALUES (1, 'batches', 'gone:1:000000', clock_timestamp() + interval '4 s')" >/dev/null
lease_from=$(ms)
s=$(call "$admin" POST "$base_a/v1/admin/clock" '{"now": "2026-09-22T16:30:00Z"}')
sleep 1.5
check "while a dead daemon's lease holds, no daemon builds its school's batches" \
	'[ "$s" = 200 ] && [ -z "$(sql "SELECT batches_done_for FROM school WHERE school_id = 1")" ]'
done_ms=
while [ $(($(ms) - lease_from)) -lt 20000 ]; do
	if [ "$(sql "SELECT batches_done_for FROM school WHERE school_id = 1")" = 2026-09-22 ]; then
		done_ms=$(($(ms) - lease_from)); break
	fi
	sleep 0.1
done
check "once it lapses another daemon takes the school over (after ${done_ms:-never} ms)" \
	'[ -n "$done_ms" ] && [ "$done_ms" -ge 3900 ]'
check "and releases its lease when done" '[ "$(sql "SELECT count(*) FROM job_lease WHERE job = '"'batches'"'")" = 0 ]'

for p in $pids; do kill -TERM "$p" 2>/dev/null; done
codes=
for p in $pids; do wait "$p"; codes="$codes$?"; done
pids=
check "every daemon exits 0 on SIGTERM" '[ "$(echo "$codes" | tr -d 0)" = "" ]'

if [ "$fails" != 0 ]; then
	for f in "$tmp"/*.log; do echo "--- $f"; cat "$f"; done
fi
tap_done
