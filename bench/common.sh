# common.sh: what the recalld benchmarks share, sourced after they set
# top, RECALLD and PORT: a throwaway cluster (PG_DURABLE=1 keeps fsync)
# with its server binaries ($bindir) and socket directory ($host), a
# migrated database, cleanup on exit, starting `recalld serve`, and
# `need TOOL` for the tools a benchmark runs beside it.
bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
need() {
	command -v "$1" >/dev/null || { echo "${0##*/}: $1 is not installed (apt-get install $1)" >&2; exit 1; }
}
pg=$(mktemp -d /tmp/recalld-bench-pg.XXXXXX)
tmp=$(mktemp -d)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	sh "$top/tests/pg-harness.sh" destroy "$pg" >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
ms() { date +%s%3N; }

url=$(sh "$top/tests/pg-harness.sh" start "$pg")
host=$(echo "$url" | sed -n 's/.*host=\([^ ]*\).*/\1/p')
export RECALLD_DATABASE_URL="$url" RECALLD_DATABASE_MIGRATIONS="$top/sql"
export RECALLD_HTTP_LISTEN="127.0.0.1:$PORT" RECALLD_LOG_LEVEL=warn
"$RECALLD" migrate >/dev/null

# serve_start: recalld serve in the background until /readyz says ready;
# BENCH_LOG_STATEMENTS=1 logs every statement's duration to $pg/server.log;
# BENCH_SQL runs its statements first, one by one (an experiment: a dropped
# index, auto_explain settings).
serve_start() {
	if [ -n "${BENCH_SQL:-}" ]; then
		printf '%s\nSELECT pg_reload_conf();\n' "$BENCH_SQL" | psql -X -q "$url" >/dev/null
	fi
	if [ -n "${BENCH_LOG_STATEMENTS:-}" ]; then
		psql -X -q "$url" -c "ALTER SYSTEM SET log_min_duration_statement = 0" \
		    -c "SELECT pg_reload_conf()" >/dev/null
	fi
	"$RECALLD" serve 2>"$tmp/serve.log" &
	pid=$!
	for i in $(seq 1 50); do
		curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	cat "$tmp/serve.log" >&2
	return 1
}
