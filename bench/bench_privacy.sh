#!/bin/sh
# bench_privacy.sh: a subject access export and an erasure of one pupil with
# REVIEWS reviews (in a school of PUPILS pupils with 200 states each), each
# beside its raw baseline in the same run: the export beside `COPY` of the
# same pupil's rows to a file, the erasure beside a bare DELETE of as many
# rows of another pupil. Prints the export's peak memory too (it must not
# grow with the pupil's history). Run by hand, never in CI.
#
#   RECALLD=build/recalld bench/bench_privacy.sh      [REVIEWS=50000 PUPILS=2000]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
RECALLD=${RECALLD:-$top/recalld}
REVIEWS=${REVIEWS:-50000}
PUPILS=${PUPILS:-2000}
PORT=${PORT:-18187}

. "$here/common.sh"
. "$here/gen_school.sh"
need /usr/bin/time
school=$("$RECALLD" school create --name "Bench School" --tz UTC)
echo "generating $PUPILS pupils, and $REVIEWS reviews for each of two of them..." >&2
gen_school "$school" "$PUPILS" 200
psql -X -q "$url" <<SQL
INSERT INTO review (school_id, pupil_id, question_id, reviewed_at, rating, correct, latency_ms,
    elapsed_days, retrievability, stability, difficulty)
  SELECT $school, p, q.question_id, timestamptz '2024-09-01' + g * interval '17 minutes',
    1 + g % 4, g % 4 <> 0, 3000 + g % 5000, g % 30, 0.9, 10, 5
  FROM generate_series(1, $REVIEWS) g,
  LATERAL (SELECT question_id FROM question WHERE school_id = $school
    ORDER BY question_id OFFSET g % 200 LIMIT 1) q,
  (VALUES (1), (2)) v(p);
VACUUM ANALYZE;
SQL

# Export: recalld pupil export, beside COPY of the same rows.
t0=$(ms)
psql -X -q "$url" -c "COPY (SELECT * FROM review WHERE school_id = $school AND pupil_id = 1) TO STDOUT" \
	>"$tmp/copy.txt"
copy=$(( $(ms) - t0 ))
t0=$(ms)
/usr/bin/time -f '%M' -o "$tmp/rss" "$RECALLD" pupil export --school "$school" --pupil 1 -o "$tmp/p1.zip"
export_ms=$(( $(ms) - t0 ))
zip_kb=$(( $(stat -c %s "$tmp/p1.zip") / 1024 ))
rss=$(cat "$tmp/rss")

# Erasure: recalld pupil erase, beside a bare DELETE of the other pupil's reviews.
ext=$(psql -X -At "$url" -c "SELECT external_id FROM pupil WHERE school_id = $school AND pupil_id = 1")
t0=$(ms)
psql -X -q "$url" -c "DELETE FROM review WHERE school_id = $school AND pupil_id = 2" >/dev/null
delete=$(( $(ms) - t0 ))
t0=$(ms)
"$RECALLD" pupil erase --school "$school" --pupil 1 --confirm "$ext" >/dev/null
erase_ms=$(( $(ms) - t0 ))

echo "export of a pupil with $REVIEWS reviews: $export_ms ms (zip $zip_kb KiB, peak RSS $rss KiB);" \
	"COPY of the same reviews: $copy ms ($(awk "BEGIN { printf \"%.1f\", $export_ms / ($copy + 0.5) }")x)"
echo "erasure of that pupil: $erase_ms ms; a bare DELETE of $REVIEWS reviews: $delete ms" \
	"($(awk "BEGIN { printf \"%.1f\", $erase_ms / ($delete + 0.5) }")x)"
