#!/bin/sh
# daemon.sh: black-box tests of `recalld serve` on a private port against a
# throwaway PostgreSQL: start-up checks, health routes, the database going
# away and coming back, SIGHUP, and SIGTERM exiting 0. The one test that
# sets no migrations or dashboard directory: the binary's own files serve.
set -u
RECALLD=${RECALLD:-./recalld}
srcdir=${srcdir:-.}
harness="$srcdir/tests/pg-harness.sh"
. "${srcdir:-.}/tests/tap.sh"
tmp=$(mktemp -d /tmp/recalld-daemon.XXXXXX)
pgdir=$(mktemp -d /tmp/recalld-pg.XXXXXX)	# its own: the server user must reach it
pid=

cleanup() {
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
	sh "$harness" destroy "$pgdir" >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT


# status URL: prints the HTTP status code (000 when nothing answers)
status() { curl -s -o "$tmp/body" -D "$tmp/headers" -w '%{http_code}' --max-time 5 "$@"; }

# wait_status WANT URL TIMEOUT_MS: poll until the status is WANT; prints ms taken
wait_status() {
	start=$(ms)
	while :; do
		s=$(status "$2")
		now=$(ms)
		if [ "$s" = "$1" ]; then echo $((now - start)); return 0; fi
		if [ $((now - start)) -ge "$3" ]; then echo $((now - start)); return 1; fi
		sleep 0.05
	done
}

# wait_log PATTERN TIMEOUT_MS: poll until the daemon's log has a line with PATTERN
wait_log() {
	start=$(ms)
	until grep -q "$1" "$tmp/serve.log"; do
		[ $(($(ms) - start)) -ge "$2" ] && return 1
		sleep 0.05
	done
}

url=$(sh "$harness" start "$pgdir") || { echo "Bail out! cannot start PostgreSQL"; exit 1; }
export RECALLD_DATABASE_URL="$url"
unset RECALLD_DATABASE_MIGRATIONS RECALLD_DASHBOARD_DIR
export RECALLD_DATABASE_STARTUP_WAIT=2s
export RECALLD_SERVE_SHUTDOWN_TIMEOUT=5s

# serve refuses a database that is behind, and says what to run.
"$RECALLD" serve >"$tmp/refuse.log" 2>&1
code=$?
check "serve refuses an unmigrated database (exit 1)" '[ $code = 1 ]'
check "the refusal says to run recalld migrate" 'grep -q "recalld migrate" "$tmp/refuse.log"'

# Built-in migrations: every file of sql/, none from the disk.
nsql=$(ls "$srcdir"/sql/[0-9][0-9][0-9][0-9]_*.sql | wc -l)
"$RECALLD" migrate --status >"$tmp/status.log" 2>&1
check "migrate --status exits 1 on a fresh database" '[ $? = 1 ]'
check "migrate --status lists the $nsql built-in migrations as pending" \
	'[ "$(grep -c " pending$" "$tmp/status.log")" = "$nsql" ] && grep -q "built into recalld: $nsql" "$tmp/status.log"'
"$RECALLD" migrate >"$tmp/migrate.log" 2>&1
check "migrate applies" '[ $? = 0 ] && grep -q "applied 0001_init.sql" "$tmp/migrate.log"'
check "migrate applies every built-in migration" '[ "$(grep -c "^applied " "$tmp/migrate.log")" = "$nsql" ]'
"$RECALLD" migrate --status >"$tmp/status.log" 2>&1
check "migrate --status exits 0 once current" '[ $? = 0 ] && grep -q "the database is current" "$tmp/status.log"'
check "migrate --status shows when each was applied" \
	'[ "$(grep -c " applied 20[0-9-]* [0-9:]*Z$" "$tmp/status.log")" = "$nsql" ]'
# A directory that lacks the newest file: the database is ahead of it.
mkdir "$tmp/older"
ls "$srcdir"/sql/[0-9][0-9][0-9][0-9]_*.sql | sed '$d' | xargs -I{} cp {} "$tmp/older/"
RECALLD_DATABASE_MIGRATIONS="$tmp/older" "$RECALLD" migrate --status >"$tmp/status.log" 2>&1
check "migrate --status names a migration this set does not know (exit 1)" \
	'[ $? = 1 ] && grep -q "unknown to this recalld" "$tmp/status.log" && grep -q "newer version" "$tmp/status.log"'
"$RECALLD" migrate >"$tmp/migrate2.log" 2>&1
check "migrate again is a no-op" '[ $? = 0 ] && grep -q "nothing to apply" "$tmp/migrate2.log"'

# Start on a free port: try a few from a per-process base.
printf '[log]\nlevel = info\n' >"$tmp/recalld.conf"
port=$((20000 + $$ % 20000))
for try in 1 2 3 4 5 6 7 8; do
	RECALLD_HTTP_LISTEN="127.0.0.1:$port" "$RECALLD" -c "$tmp/recalld.conf" serve >"$tmp/serve.log" 2>&1 &
	pid=$!
	if wait_status 200 "http://127.0.0.1:$port/healthz" 5000 >/dev/null; then break; fi
	kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; pid=
	port=$((port + 7))
done
base="http://127.0.0.1:$port"
check "serve answers /healthz" '[ -n "$pid" ]'
[ -n "$pid" ] || { cat "$tmp/serve.log"; echo "Bail out! serve did not start"; exit 1; }

t=$(wait_status 200 "$base/readyz" 5000)
check "/readyz 200 once the pool is up" '[ $? = 0 ]'
check "/readyz says ready" 'grep -q ready "$tmp/body"'

# The dashboard from the binary itself, byte for byte.
s=$(status "$base/dashboard/")
check "the built-in dashboard is served (GET /dashboard/ $s)" '[ "$s" = 200 ] && cmp -s "$tmp/body" "$srcdir/api/dashboard/index.html"'
check "the dashboard page is text/html" 'grep -qi "^content-type: text/html" "$tmp/headers"'
s=$(status "$base/dashboard/app.js")
check "the built-in app.js is served" '[ "$s" = 200 ] && cmp -s "$tmp/body" "$srcdir/api/dashboard/app.js"'
check "the served dashboard came from the binary" 'grep -q "dashboard loaded.*dir=(built in)" "$tmp/serve.log"'

s=$(status "$base/v1/openapi.yaml")
check "GET /v1/openapi.yaml serves api/openapi.yaml from the binary, without a token" \
	'[ "$s" = 200 ] && cmp -s "$tmp/body" "$srcdir/api/openapi.yaml" && grep -qi "^content-type: application/yaml" "$tmp/headers"'

s=$(status "$base/nope")
check "unknown route 404" '[ "$s" = 404 ]'
check "404 is problem+json" 'grep -qi "content-type: application/problem+json" "$tmp/headers"'
check "404 has a stable type" 'grep -q "\"type\":\"/problems/not-found\"" "$tmp/body"'
s=$(status -X POST "$base/healthz")
check "wrong method 405" '[ "$s" = 405 ]'
check "405 says what is allowed" 'grep -qi "^allow: GET" "$tmp/headers"'
s=$(status -I "$base/healthz")
check "HEAD /healthz 200" '[ "$s" = 200 ]'

s=$(status "$base/metrics")
check "/metrics 200" '[ "$s" = 200 ]'
check "metrics count requests by route and status" 'grep -q "recalld_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"}" "$tmp/body"'
check "metrics have a latency histogram" 'grep -q "recalld_http_request_duration_seconds_bucket" "$tmp/body"'
check "metrics show pool connections" 'grep -q "recalld_db_connections{state=\"idle\"}" "$tmp/body"'
check "metrics show queue depth" 'grep -q "^recalld_db_queue_depth 0" "$tmp/body"'
check "metrics show webhook deliveries" 'grep -q "^recalld_webhook_deliveries_in_flight 0" "$tmp/body"'
check "metrics are Prometheus text" 'grep -qi "content-type: text/plain; version=0.0.4" "$tmp/headers"'

# A large body is refused (evhttp's limit) and the daemon lives on.
head -c 2000000 /dev/zero | tr '\0' 'a' >"$tmp/big"
s=$(status -X POST --data-binary @"$tmp/big" "$base/healthz")
check "an oversized body is refused with 413" '[ "$s" = 413 ]'
s=$(status "$base/healthz")
check "still healthy after the oversized body" '[ "$s" = 200 ]'

# The database goes away under the running daemon.
sh "$harness" stop "$pgdir"
t=$(wait_status 503 "$base/readyz" 2000)
check "/readyz 503 within 2 s of PostgreSQL stopping (took ${t} ms)" '[ $? = 0 ]'
check "503 is problem+json" 'grep -q "database-unavailable" "$tmp/body"'
s=$(status "$base/healthz")
check "/healthz still 200 without the database" '[ "$s" = 200 ]'
sh "$harness" resume "$pgdir"
t=$(wait_status 200 "$base/readyz" 5000)
check "/readyz 200 within 5 s of PostgreSQL coming back (took ${t} ms)" '[ $? = 0 ]'
check "the pool logged its reconnect" 'grep -q "msg=\"connected\"" "$tmp/serve.log"'

# SIGHUP reloads the log level from the file.
printf '[log]\nlevel = debug\n' >"$tmp/recalld.conf"
kill -HUP "$pid"
wait_log 'configuration reloaded" level=debug' 5000
check "SIGHUP reloads the configuration" 'grep -q "configuration reloaded\" level=debug" "$tmp/serve.log"'
check "secrets never reach the log" '! grep -q "password\|$url" "$tmp/serve.log"'

# SIGTERM: graceful, exit 0.
kill -TERM "$pid"
wait "$pid"
code=$?
pid=
check "SIGTERM exits 0 (exit $code)" '[ $code = 0 ]'
check "the log says it stopped" 'grep -q "msg=\"stopped\"" "$tmp/serve.log"'

if [ "$fails" != 0 ]; then
	echo "--- serve.log"
	cat "$tmp/serve.log"
fi
tap_done
