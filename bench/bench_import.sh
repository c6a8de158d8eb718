#!/bin/sh
# bench_import.sh: time `recalld import roster` on a synthetic 10,000-pupil
# OneRoster set (bench/gen_roster.sh) against a throwaway PostgreSQL
# (tests/pg-harness.sh). Target: under 10 s for the first import. Also
# times a re-import of the same set (nothing changes, nothing is written)
# and a --dry-run. Run by hand, never in CI.
#
#   RECALLD=path/to/recalld PUPILS=10000 bench/bench_import.sh
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
RECALLD=${RECALLD:-./recalld}
PUPILS=${PUPILS:-10000}

tmp=$(mktemp -d /tmp/recalld-bench-import.XXXXXX)
pg=$(mktemp -d /tmp/recalld-bench-pg.XXXXXX)
trap 'sh "$here/tests/pg-harness.sh" destroy "$pg" >/dev/null 2>&1; rm -rf "$tmp"' EXIT INT TERM

now() { date +%s.%N; }
since() { echo "$1 $(now)" | awk '{ printf "%.2f", $2 - $1 }'; }

psql_bin=$(command -v psql || ls /usr/lib/postgresql/*/bin/psql | sort -V | tail -n 1)
url=$(sh "$here/tests/pg-harness.sh" start "$pg")
RECALLD_DATABASE_URL=$url
RECALLD_DATABASE_MIGRATIONS=$here/sql
export RECALLD_DATABASE_URL RECALLD_DATABASE_MIGRATIONS
"$RECALLD" migrate >/dev/null
"$psql_bin" -X -q "$url" -c "INSERT INTO school (school_id, name, created_at) VALUES (1, 'Benchmark Academy', now())"

sh "$here/bench/gen_roster.sh" "$tmp/roster" "$PUPILS"
rows=$(cat "$tmp/roster/users.csv" "$tmp/roster/enrollments.csv" "$tmp/roster/classes.csv" | wc -l)
echo "roster: $PUPILS pupils, 40 teachers, 400 classes, $(($(wc -l < "$tmp/roster/enrollments.csv") - 1)) enrollments ($rows lines, $(du -sk "$tmp/roster" | cut -f1) KiB)"

t0=$(now)
"$RECALLD" import roster "$tmp/roster" --school 1 > "$tmp/first.txt"
first=$(since "$t0")

t0=$(now)
"$RECALLD" import roster "$tmp/roster" --school 1 > "$tmp/second.txt"
second=$(since "$t0")

t0=$(now)
"$RECALLD" import roster "$tmp/roster" --school 1 --dry-run > "$tmp/dry.txt"
dry=$(since "$t0")

counts=$("$psql_bin" -X -qAt "$url" -c "SELECT (SELECT count(*) FROM pupil) || ' pupils, ' ||
	(SELECT count(*) FROM class_pupil) || ' pupil enrollments'")
echo "database: $counts"
echo "import roster, first:   $first s (target < 10 s)"
echo "import roster, again:   $second s (nothing changed)"
echo "import roster, dry run: $dry s"
