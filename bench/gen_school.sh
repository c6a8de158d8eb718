# gen_school.sh: sourced by the benchmarks after common.sh. gen_school
# SCHOOL PUPILS STATES fills a school with PUPILS pupils in classes of 30,
# four units of a course taught to every class, and STATES memory states
# per pupil (due over the coming weeks), then VACUUM ANALYZE.
gen_school() {
	psql -X -q "$url" <<SQL
INSERT INTO course (school_id, external_id, name, updated_at) VALUES ($1, 'c', 'C', now());
INSERT INTO unit (school_id, course_id, external_id, name, position, updated_at)
  SELECT $1, course_id, 'u' || g, 'Unit ' || g, g, now() FROM course, generate_series(1, 4) g;
INSERT INTO question (school_id, unit_id, external_id, kind, prompt, accepted_answers, updated_at)
  SELECT $1, u.unit_id, 'q' || u.unit_id || '-' || g, 'short', 'Question', '["x"]', now()
  FROM unit u, generate_series(1, ($3 + 3) / 4) g;
INSERT INTO class (school_id, external_id, name, course_id, updated_at)
  SELECT $1, 'k' || g, 'Class ' || g, (SELECT course_id FROM course), now()
  FROM generate_series(1, greatest($2 / 30, 1)) g;
INSERT INTO taught (school_id, class_id, unit_id, taught_on, updated_at)
  SELECT $1, k.class_id, u.unit_id, '2026-06-01', now() FROM class k, unit u;
INSERT INTO pupil (school_id, external_id, updated_at)
  SELECT $1, 'p' || g, now() FROM generate_series(1, $2) g;
INSERT INTO class_pupil (school_id, class_id, pupil_id, updated_at)
  SELECT $1, (SELECT min(class_id) FROM class) + (p.pupil_id % greatest($2 / 30, 1)), p.pupil_id, now()
  FROM pupil p;
INSERT INTO memory_state (school_id, pupil_id, question_id, stability, difficulty, reps, lapses,
    last_review, last_review_day, due_day)
  SELECT $1, p.pupil_id, q.question_id, 1 + (p.pupil_id * 7 + q.question_id) % 60,
    1 + (p.pupil_id + q.question_id) % 9, 3, 0, '2026-09-01',
    date '2026-09-01' + ((p.pupil_id + q.question_id) % 15)::int,
    date '2026-09-10' + ((p.pupil_id * 3 + q.question_id) % 30)::int
  FROM pupil p CROSS JOIN (SELECT question_id FROM question ORDER BY question_id LIMIT $3) q;
VACUUM ANALYZE;
SQL
}
