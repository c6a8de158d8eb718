/*
 * test_evidence.c: flags a teacher can trust, over real HTTP against the
 * real daemon on the manual clock. A class of six is taught two units on
 * Monday 2026-09-07 (Cells, 101-104; Forces, 201-204). For two weeks it
 * answers every prompt; then it ignores every Forces prompt while still
 * answering Cells. Forces is flagged not_practised on the tenth school day
 * after the last answer (never Cells), with its evidence, in the flags, an
 * event and the digest; the grid marks the old levels stale once the
 * evidence window is short enough, or the clock passes the default one;
 * answering again clears both. All along,
 * min_per_day = 3 (the default) gives every pupil at least three prompts a
 * school day, and the intervals of what they remember still grow.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>

#include "apitest.h"
#include "cktest.h"
#include "pgtest.h"
#include "util.h"

#define CELLS 11
#define FORCES 12
#define CLASS "21"

static char admin[128], teacher[128], other[128];
static char conninfo[512];

/*
 * The n-th school day (Monday to Friday) from Monday 2026-09-07: its clock
 * time (16:30 in London, summer time until day 35, Monday 26 October) and date.
 */
static void
school_day(int n, char *iso, size_t isolen, char *date, size_t datelen)
{
	struct tm tm = { .tm_year = 126, .tm_mon = 8, .tm_mday = 7 + n / 5 * 7 + n % 5,
	    .tm_hour = n < 35 ? 15 : 16, .tm_min = 30 };
	time_t t = timegm(&tm);

	gmtime_r(&t, &tm);
	strftime(iso, isolen, "%Y-%m-%dT%H:%M:%SZ", &tm);
	strftime(date, datelen, "%Y-%m-%d", &tm);
}

/* To school day n, after its batches and its flags (16:30 in London: past the prompt time). */
static bool
move_to_day(int n, char *date, size_t datelen)
{
	char iso[32];

	school_day(n, iso, sizeof iso, date, datelen);
	if (!apitest_set_clock(admin, iso))
		return false;
	if (!apitest_wait_sql(1, 10000, "SELECT count(*) FROM school WHERE school_id = 1"
	    " AND batches_done_for = '%s'", date))
		return false;
	return apitest_wait_sql(1, 10000, "SELECT count(*) FROM school_flag_job WHERE school_id = 1"
	    " AND done_at >= '%s'", iso);
}

/* Answers kick the flag job (debounced): wait until it has seen them all. */
static bool
flags_caught_up(void)
{
	return apitest_wait_sql(1, 10000, "SELECT count(*) FROM school_flag_job WHERE school_id = 1"
	    " AND NOT EXISTS (SELECT 1 FROM job_lease l WHERE l.school_id = school_flag_job.school_id"
	    " AND l.job = 'flags') AND review_mark >= (SELECT coalesce(max(review_id), 0)"
	    " FROM review WHERE school_id = 1)");
}

/* Answer today's open daily prompts right, Forces ones too when forces; how many. */
static int
answer_today(const char *date, bool forces)
{
	int n = 0;

	for (;;) {
		char buf[160];
		long long p = apitest_sql_int("SELECT p.prompt_id FROM prompt p JOIN batch b USING"
		    " (school_id, batch_id) JOIN question q USING (school_id, question_id)"
		    " WHERE p.school_id = 1 AND b.kind = 'daily' AND p.answered_at IS NULL"
		    " AND b.local_date = '%s' AND (%s OR q.unit_id <> %d)"
		    " ORDER BY p.prompt_id LIMIT 1", date, forces ? "true" : "false", FORCES);
		int choice;

		if (p < 0)
			return n;
		choice = (int)apitest_sql_int("SELECT q.correct_choice FROM prompt p JOIN question q"
		    " USING (school_id, question_id) WHERE p.school_id = 1 AND p.prompt_id = %lld", p);
		snprintf(buf, sizeof buf, "{\"prompt_id\": %lld, \"answer\": %d, \"latency_ms\": 4000}",
		    p, choice);
		if (apitest_json("POST", admin, buf, NULL, "/v1/responses") != 200)
			return -1;
		n++;
	}
}

/* The class's flag status of a unit ("none" without one); caller frees. */
static char *
flag_of(int unit)
{
	char *s = apitest_sql("SELECT coalesce((SELECT status FROM flag WHERE school_id = 1"
	    " AND class_id = " CLASS " AND unit_id = %d), 'none')", unit);

	return s != NULL ? s : xstrdup("?");
}

static bool
flagged(int unit, const char *status)
{
	char *s = flag_of(unit);
	bool yes = strcmp(s, status) == 0;

	free(s);
	return yes;
}

/* Pupils of the class with fewer than three prompts in today's daily batch. */
static long long
short_batches(const char *date)
{
	return apitest_sql_int("SELECT count(*) FROM class_pupil cp WHERE cp.school_id = 1"
	    " AND cp.class_id = " CLASS " AND (SELECT count(*) FROM prompt p JOIN batch b USING"
	    " (school_id, batch_id) WHERE b.school_id = 1 AND b.pupil_id = cp.pupil_id"
	    " AND b.kind = 'daily' AND b.local_date = '%s') < 3", date);
}

/* A pupil x unit cell of the grid. */
static json_t *
grid_cell(json_t *grid, size_t pupil, long long unit)
{
	json_t *cells = json_object_get(json_array_get(json_object_get(grid, "pupils"), pupil),
	    "units"), *c;
	size_t i;

	json_array_foreach(cells, i, c)
		if (apitest_jint(c, "unit_id") == unit)
			return c;
	return NULL;
}

/* Days 0-9 answer both units, then Forces goes unanswered: flagged on day 19 only. */
START_TEST(test_not_practised)
{
	char date[16], first_flag[16] = "";
	json_t *b = NULL, *item, *last;
	int day;

	ck_assert_int_eq(apitest_json("GET", admin, NULL, &b, "/v1/school"), 200);
	ck_assert_int_eq(apitest_jint(b, "min_per_day"), 3);
	ck_assert_int_eq(apitest_jint(b, "flag_unanswered_days"), 10);
	ck_assert_int_eq(apitest_jint(b, "mastery_evidence_days"), 20);
	ck_assert(json_real_value(json_object_get(b, "flag_unanswered_share")) == 0.5);
	json_decref(b);
	for (day = 0; day < 25; day++) {
		ck_assert_msg(move_to_day(day, date, sizeof date), "day %d", day);
		/* the taught day has nothing to ask yet; every later one at least three */
		if (day > 0)
			ck_assert_msg(short_batches(date) == 0, "short batches on %s", date);
		/* while both units are answered, all of at least three prompts each */
		ck_assert_int_ge(answer_today(date, day < 10), day > 0 && day < 10 ? 18 : 0);
		ck_assert(flags_caught_up());
		ck_assert_msg(!flagged(CELLS, "not_practised"), "Cells flagged on %s", date);
		if (first_flag[0] == '\0' && flagged(FORCES, "not_practised"))
			memcpy(first_flag, date, sizeof first_flag);
	}
	/*
	 * Day 9 (Friday 09-18) was the last day answered: flagged by the tenth
	 * school day after (10-02), and not before half the class's own last
	 * answers are ten school days old.
	 */
	ck_assert_msg(first_flag[0] != '\0' && strcmp(first_flag, "2026-10-02") <= 0, "first %s",
	    first_flag);
	ck_assert_msg(strcmp(first_flag, "2026-09-28") >= 0, "first %s", first_flag);
	ck_assert(flagged(FORCES, "not_practised"));

	ck_assert_int_eq(apitest_json("GET", teacher, NULL, &b, "/v1/classes/" CLASS "/flags"), 200);
	ck_assert_int_eq(json_array_size(json_object_get(b, "items")), 1);
	item = json_array_get(json_object_get(b, "items"), 0);
	ck_assert_int_eq(apitest_jint(json_object_get(item, "unit"), "id"), FORCES);
	ck_assert_str_eq(apitest_jstr(item, "status"), "not_practised");
	ck_assert_str_eq(apitest_jstr(item, "since"), first_flag);
	ck_assert_int_eq(apitest_jint(item, "unanswered"), 6);
	ck_assert_int_eq(apitest_jint(item, "class_pupils"), 6);
	ck_assert_int_eq(apitest_jint(item, "unanswered_days"), 10);
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(item, "reasons"), 0)),
	    "unanswered");
	ck_assert_int_eq(apitest_jint(json_object_get(json_object_get(item, "evidence"),
	    "unanswered"), "school_days"), 10);
	ck_assert_int_eq(json_array_size(json_object_get(item, "last_answers")), 6);
	last = json_array_get(json_object_get(item, "last_answers"), 0);
	/* oldest first, and from the answering fortnight's last week */
	ck_assert_str_ge(apitest_jstr(last, "last_answered_on"), "2026-09-14");
	ck_assert_str_le(apitest_jstr(last, "last_answered_on"), "2026-09-18");
	json_decref(b);

	/* one event when it was raised, and the Friday digest names it */
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM delivery WHERE event_type ="
	    " 'topic.flagged' AND payload::jsonb #>> '{data,status}' = 'not_practised'"
	    " AND payload::jsonb #>> '{data,unit,id}' = '%d'"
	    " AND payload::jsonb #>> '{data,evidence,unanswered,pupils}' = '6'", FORCES), 1);
	ck_assert_int_ge(apitest_sql_int("SELECT count(*) FROM delivery WHERE event_type ="
	    " 'digest.teacher' AND payload::jsonb #> '{data,flags}' @> '[{\"status\":"
	    " \"not_practised\"}]'"), 1);
}
END_TEST

/* The grid's evidence: Forces rests on old answers; with a short window they are stale. */
START_TEST(test_stale)
{
	json_t *b = NULL, *cell;

	ck_assert_int_eq(apitest_json("GET", teacher, NULL, &b, "/v1/classes/" CLASS "/mastery"), 200);
	cell = grid_cell(b, 0, FORCES);
	ck_assert_ptr_nonnull(cell);
	ck_assert_str_ge(apitest_jstr(cell, "last_answered_on"), "2026-09-14");
	ck_assert_str_le(apitest_jstr(cell, "last_answered_on"), "2026-09-18");
	ck_assert(json_real_value(json_object_get(cell, "answered_share")) == 0.0);
	ck_assert_int_gt(apitest_jint(cell, "reviews"), 0);
	ck_assert(json_is_false(json_object_get(cell, "stale")));	/* 15 school days: within 20 */
	ck_assert(json_is_true(json_object_get(cell, "behind_flag")));
	/*
	 * Cells: whatever was asked was answered. (The unanswered Forces
	 * reviews, due and at the lowest recall, fill the batches meanwhile, so
	 * Cells may not have been asked at all in the window: null.)
	 */
	cell = grid_cell(b, 0, CELLS);
	ck_assert(json_is_null(json_object_get(cell, "answered_share")) ||
	    json_real_value(json_object_get(cell, "answered_share")) == 1.0);
	ck_assert(json_is_false(json_object_get(cell, "behind_flag")));
	json_decref(b);

	/* 15 school days back from Friday 10-09 is Monday 09-21: Cells' last answers, not Forces' */
	ck_assert_int_eq(apitest_json("PATCH", admin, "{\"mastery_evidence_days\": 15}", NULL,
	    "/v1/school"), 200);
	ck_assert_int_eq(apitest_json("GET", teacher, NULL, &b, "/v1/classes/" CLASS "/mastery"), 200);
	ck_assert(json_is_true(json_object_get(grid_cell(b, 0, FORCES), "stale")));
	ck_assert(json_is_false(json_object_get(grid_cell(b, 0, CELLS), "stale")));
	json_decref(b);
	ck_assert_int_eq(apitest_json("GET", teacher, NULL, &b, "/v1/pupils/31/progress?unit_id=%d",
	    FORCES), 200);
	cell = json_array_get(json_object_get(b, "units"), 0);
	ck_assert(json_is_true(json_object_get(cell, "stale")));
	ck_assert_str_le(apitest_jstr(cell, "last_answered_on"), "2026-09-18");
	ck_assert_int_gt(apitest_jint(cell, "reviews"), 0);
	json_decref(b);
	/* bad values change nothing */
	ck_assert_int_eq(apitest_json("PATCH", admin, "{\"mastery_evidence_days\": 0}", NULL,
	    "/v1/school"), 422);
	ck_assert_int_eq(apitest_json("PATCH", admin, "{\"min_per_day\": 51}", NULL,
	    "/v1/school"), 422);
	ck_assert_int_eq(apitest_json("PATCH", admin, "{\"flag_unanswered_share\": 1.5}", NULL,
	    "/v1/school"), 422);
	ck_assert_int_eq(apitest_sql_int("SELECT mastery_evidence_days + min_per_day FROM school"
	    " WHERE school_id = 1"), 18);
}
END_TEST

/* The class answers Forces again: the flag clears and nothing is stale. */
START_TEST(test_answers_again)
{
	char date[16];
	json_t *b = NULL;
	size_t i;
	json_t *p;

	ck_assert(move_to_day(25, date, sizeof date));
	ck_assert_int_ge(answer_today(date, true), 18);
	ck_assert(flags_caught_up());
	ck_assert_int_eq(apitest_json("GET", teacher, NULL, &b, "/v1/classes/" CLASS "/mastery"), 200);
	json_array_foreach(json_object_get(b, "pupils"), i, p) {
		json_t *cell = grid_cell(b, i, FORCES);

		if (apitest_jint(cell, "reviews") > 0 && strcmp(apitest_jstr(cell, "last_answered_on"),
		    date) == 0)
			ck_assert(json_is_false(json_object_get(cell, "stale")));
	}
	json_decref(b);
	ck_assert_msg(!flagged(FORCES, "not_practised"), "Forces still not practised");
	ck_assert_int_eq(apitest_json("GET", teacher, NULL, &b, "/v1/classes/" CLASS "/flags"), 200);
	json_array_foreach(json_object_get(b, "items"), i, p)
		ck_assert_str_ne(apitest_jstr(p, "status"), "not_practised");
	json_decref(b);
}
END_TEST

/*
 * With the school's default evidence window (20 school days), the levels
 * turn stale as the clock passes it without answers, and fresh again with
 * the next answers.
 */
START_TEST(test_stale_with_clock)
{
	char date[16];
	json_t *b = NULL, *p;
	size_t i, n_stale = 0, n_cells = 0;

	ck_assert_int_eq(apitest_json("PATCH", admin, "{\"mastery_evidence_days\": 20}", NULL,
	    "/v1/school"), 200);
	/* day 44, Friday 6 November: 19 school days after the answers of 12 October */
	ck_assert(move_to_day(44, date, sizeof date));
	ck_assert_int_eq(apitest_json("GET", teacher, NULL, &b, "/v1/classes/" CLASS "/mastery"), 200);
	json_array_foreach(json_object_get(b, "pupils"), i, p) {
		json_t *cell = grid_cell(b, i, FORCES);

		if (strcmp(apitest_jstr(cell, "last_answered_on"), "2026-10-12") == 0) {
			n_cells++;
			n_stale += json_is_true(json_object_get(cell, "stale"));
		}
	}
	ck_assert_uint_gt(n_cells, 0);
	ck_assert_uint_eq(n_stale, 0);
	json_decref(b);
	n_cells = 0;
	/* day 45, Monday 9 November: the twentieth; nothing answered since */
	ck_assert(move_to_day(45, date, sizeof date));
	ck_assert_int_eq(apitest_json("GET", teacher, NULL, &b, "/v1/classes/" CLASS "/mastery"), 200);
	json_array_foreach(json_object_get(b, "pupils"), i, p) {
		json_t *cell = grid_cell(b, i, FORCES);

		/* those who answered Forces on 12 October: all of them, unless one was not asked */
		if (strcmp(apitest_jstr(cell, "last_answered_on"), "2026-10-12") == 0) {
			n_cells++;
			n_stale += json_is_true(json_object_get(cell, "stale"));
		}
	}
	ck_assert_uint_gt(n_cells, 0);
	ck_assert_uint_eq(n_stale, n_cells);
	json_decref(b);
	/* answered today: fresh again */
	ck_assert_int_gt(answer_today(date, true), 0);
	ck_assert(flags_caught_up());
	ck_assert_int_eq(apitest_json("GET", teacher, NULL, &b, "/v1/classes/" CLASS "/mastery"), 200);
	n_cells = 0;
	json_array_foreach(json_object_get(b, "pupils"), i, p) {
		json_t *cells = json_object_get(p, "units"), *c;
		size_t j;

		json_array_foreach(cells, j, c) {
			if (strcmp(apitest_jstr(c, "last_answered_on"), date) != 0)
				continue;
			n_cells++;
			ck_assert(json_is_false(json_object_get(c, "stale")));
		}
	}
	ck_assert_uint_gt(n_cells, 0);
	json_decref(b);
}
END_TEST

/* What the class kept answering right: each question's stability grew with each review. */
START_TEST(test_intervals_grow)
{
	/* pairs of consecutive reviews of one pupil's question, both right */
	long long pairs = apitest_sql_int("SELECT count(*) FROM review r JOIN review r2"
	    " ON r2.school_id = r.school_id AND r2.pupil_id = r.pupil_id"
	    " AND r2.question_id = r.question_id AND r2.reviewed_at > r.reviewed_at"
	    " WHERE r.school_id = 1 AND r.rating >= 3 AND r2.rating >= 3"
	    " AND r.elapsed_days > 0 AND r2.elapsed_days > 0");
	long long shrank = apitest_sql_int("SELECT count(*) FROM review r JOIN review r2"
	    " ON r2.school_id = r.school_id AND r2.pupil_id = r.pupil_id"
	    " AND r2.question_id = r.question_id AND r2.reviewed_at > r.reviewed_at"
	    " WHERE r.school_id = 1 AND r.rating >= 3 AND r2.rating >= 3"
	    " AND r.elapsed_days > 0 AND r2.elapsed_days > 0 AND r2.stability <= r.stability");
	long long early = apitest_sql_int("SELECT count(*) FROM review r WHERE r.school_id = 1"
	    " AND r.elapsed_days > 0 AND r.retrievability > 0.95");

	ck_assert_int_gt(pairs, 50);
	ck_assert_int_eq(shrank, 0);
	ck_assert_int_gt(early, 0);	/* the top-up did ask early */
}
END_TEST

static const char setup_sql[] =
    "INSERT INTO course (school_id, course_id, external_id, name, updated_at) VALUES"
    " (1, 1, 'sci', 'KS3 Science', now());"
    "INSERT INTO unit (school_id, unit_id, course_id, external_id, name, position, updated_at) VALUES"
    " (1, 11, 1, 'cells', 'Cells', 1, now()), (1, 12, 1, 'forces', 'Forces', 2, now());"
    "INSERT INTO question (school_id, question_id, unit_id, external_id, kind, prompt, choices,"
    " correct_choice, updated_at)"
    " SELECT 1, 100 + i, 11, 'c' || i, 'mcq', 'Cells question ' || i, '[\"a\", \"b\", \"c\"]'::jsonb, 1, now()"
    " FROM generate_series(1, 4) i UNION ALL"
    " SELECT 1, 200 + i, 12, 'f' || i, 'mcq', 'Forces question ' || i, '[\"a\", \"b\", \"c\"]'::jsonb, 2, now()"
    " FROM generate_series(1, 4) i;"
    "INSERT INTO class (school_id, class_id, external_id, name, course_id, updated_at) VALUES"
    " (1, 21, '8a', '8A Science', 1, now());"
    "INSERT INTO pupil (school_id, pupil_id, external_id, updated_at)"
    " SELECT 1, 30 + i, 'p' || (30 + i), now() FROM generate_series(1, 6) i;"
    "INSERT INTO class_pupil (school_id, class_id, pupil_id, updated_at)"
    " SELECT 1, 21, 30 + i, now() FROM generate_series(1, 6) i;"
    "INSERT INTO teacher (school_id, teacher_id, external_id, updated_at) VALUES"
    " (1, 41, 't41', now());"
    "INSERT INTO class_teacher (school_id, class_id, teacher_id, updated_at) VALUES (1, 21, 41, now());"
    "INSERT INTO taught (school_id, class_id, unit_id, taught_on, updated_at) VALUES"
    " (1, 21, 11, '2026-09-07', now()), (1, 21, 12, '2026-09-07', now());"
    /* an endpoint, so events are queued (its deliveries fail: loopback is refused) */
    "INSERT INTO endpoint (school_id, url, secret, created_at) VALUES"
    " (1, 'http://127.0.0.1:9/hook', 'whsec_MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIz', now());"
    "SELECT 1";

int
main(void)
{
	Suite *s = suite_create("evidence");
	TCase *tc = tcase_create("evidence");
	int failed;

	snprintf(conninfo, sizeof conninfo, "%s", pgtest_start());
	apitest_env(conninfo, "5s");
	setenv("RECALLD_CLOCK_MODE", "manual", 1);
	setenv("RECALLD_CLOCK_START", "2026-09-07T06:00:00Z", 1);
	setenv("RECALLD_FLAGS_DEBOUNCE", "100ms", 1);
	setenv("RECALLD_WEBHOOKS_DISABLE_AFTER", "8760h", 1);
	setenv("RECALLD_RESPONSES_LINK_KEY", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", 1);
	CKTEST_MUST(apitest_two_schools("A", "B", admin, other, sizeof admin));
	apitest_db_open(conninfo);
	CKTEST_MUST(apitest_sql_ok("%s", setup_sql));
	CKTEST_MUST(apitest_token(teacher, sizeof teacher, "1", "teacher", "41"));
	if (!apitest_daemon_start()) {
		apitest_daemon_dump_log();
		return EXIT_FAILURE;
	}

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_not_practised);
	tcase_add_test(tc, test_stale);
	tcase_add_test(tc, test_answers_again);
	tcase_add_test(tc, test_stale_with_clock);
	tcase_add_test(tc, test_intervals_grow);
	suite_add_tcase(s, tc);
	failed = cktest_run_nofork(s);
	return apitest_finish(failed);
}
