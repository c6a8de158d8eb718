#!/bin/sh
# citus.sh: recalld's SQL is ready to distribute by school (Citus). Runs
# tests/sqlcheck.cjs against a freshly migrated database: every table is in
# sql/citus/distribute.sql, keys are led by school_id, and every statement
# of the C code on a distributed table pins one school. Then shows the
# check failing where it must: a statement without a school_id filter, a
# cross-shard FOR UPDATE, a table the file forgot, a key not led by
# school_id. Needs node (skipped, exit 77, without it).
set -u
RECALLD=${RECALLD:-./recalld}
srcdir=${srcdir:-.}
top_builddir=${top_builddir:-.}
harness="$srcdir/tests/pg-harness.sh"
command -v node >/dev/null 2>&1 || { echo "SKIP: no node"; exit 77; }
. "$srcdir/tests/tap.sh"
tmp=$(mktemp -d /tmp/recalld-citus.XXXXXX)
pgdir=$(mktemp -d /tmp/recalld-pg.XXXXXX)
trap 'sh "$harness" destroy "$pgdir" >/dev/null 2>&1; rm -rf "$tmp"' EXIT

url=$(sh "$harness" start "$pgdir") || { echo "Bail out! cannot start PostgreSQL"; exit 1; }
unset RECALLD_DATABASE_MIGRATIONS
RECALLD_DATABASE_URL="$url" "$RECALLD" migrate >/dev/null || { echo "Bail out! migrate failed"; exit 1; }

# sqlcheck [EXTRA ARGS]: the check's output in $tmp/out; its exit status
sqlcheck() {
	node "$srcdir/tests/sqlcheck.cjs" --src "$srcdir" --build "$top_builddir" --db "$url" \
		--distribute "${dist:-$srcdir/sql/citus/distribute.sql}" "$@" >"$tmp/out" 2>&1
}

if sqlcheck; then
	ok "the schema and every statement are ready for Citus ($(grep '^# [0-9]* tables' "$tmp/out" | sed 's/^# //'))"
else
	cat "$tmp/out"
	not_ok "the schema and every statement are ready for Citus"
fi
grep '^# still cross-shard' "$tmp/out"

cat >"$tmp/bad.c" <<'C'
static const char *q1 = "SELECT pupil_id FROM pupil WHERE active";
static const char *q2 = "SELECT delivery_id FROM delivery d WHERE d.status = 'pending'"
    " ORDER BY d.next_attempt_at LIMIT 10 FOR UPDATE SKIP LOCKED";
static const char *q3 = "SELECT pupil_id FROM pupil WHERE school_id = $1 AND active";
C
sqlcheck --extra "$tmp/bad.c"
check "a statement without a school_id filter is refused" \
	'grep -q "^REFUSED: .*bad.c: no school_id filter on pupil: SELECT pupil_id FROM pupil WHERE active" "$tmp/out"'
check "a cross-shard FOR UPDATE is refused" \
	'grep -q "^REFUSED: .*bad.c: a cross-shard row lock on delivery" "$tmp/out"'
check "and a pinned one is not" '[ "$(grep -c "^REFUSED" "$tmp/out")" = 2 ]'

psql -qAtX -d "$url" -c "CREATE TABLE pupil_note (note_id bigint PRIMARY KEY, school_id bigint,
	pupil_id bigint, body text)" >/dev/null
sqlcheck
check "a table distribute.sql does not name is refused" \
	'grep -q "^REFUSED: table pupil_note is not in distribute.sql" "$tmp/out"'
cp "$srcdir/sql/citus/distribute.sql" "$tmp/distribute.sql"
echo "SELECT create_distributed_table('pupil_note', 'school_id', colocate_with => 'pupil');" \
	>>"$tmp/distribute.sql"
dist="$tmp/distribute.sql" sqlcheck
check "a distributed table whose key is not led by school_id is refused" \
	'grep -q "^REFUSED: table pupil_note: primary key (note_id) not led by school_id" "$tmp/out"'
tap_done
