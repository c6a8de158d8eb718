/*
 * test_teachers.c: what teachers see and do, over real HTTP against the
 * real daemon on the manual clock: a class answers a unit for a week, the
 * grid shows its levels, a weekly digest goes out once; checks on demand
 * push diagnostic and re-check batches whose prompts can be answered;
 * then the class stops answering, and weeks later the unit is at risk,
 * then forgotten, with topic.flagged events, falling levels in the
 * pupils' progress, and scoping everywhere (another class's teacher,
 * another school: 404).
 *
 * The school: class 21 (teacher 41; pupils 31-34) was taught unit 11
 * (8 questions) on Friday 2026-09-18; unit 12 (6 questions) is not taught.
 * Class 22 (teacher 42; pupils 35, 36) has nothing taught. School 2 has
 * class 23 and unit 13, and no webhook endpoint; unit 13 is taught to
 * class 23 in the last tests only. Unit 15 (3 mcq, 3 self-rated questions)
 * is taught to class 22 in test_self_rating.
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "apitest.h"
#include "cktest.h"
#include "pgtest.h"
#include "settings.h"
#include "util.h"

static char admin[128], teacher1[128], teacher2[128], integ[128], other[128];
static char conninfo[512];

/* The clock moves, and both jobs have run for school 1 at it. */
static bool
move_to(const char *iso, const char *local_date)
{
	if (!apitest_set_clock(admin, iso))
		return false;
	if (local_date != NULL && !apitest_wait_sql(1, 10000, "SELECT count(*) FROM school WHERE school_id = 1"
	    " AND batches_done_for = '%s'", local_date))
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
	    " AND l.job = 'flags') AND review_mark >= (SELECT max(review_id) FROM review"
	    " WHERE school_id = 1)");
}

static long
answer(long long prompt, bool right)
{
	char buf[128];
	int choice = (int)apitest_sql_int("SELECT q.correct_choice FROM prompt p JOIN question q"
	    " USING (school_id, question_id) WHERE p.school_id = 1 AND p.prompt_id = %lld", prompt);

	snprintf(buf, sizeof buf, "{\"prompt_id\": %lld, \"answer\": %d, \"latency_ms\": 5000}",
	    prompt, right ? choice : (choice + 1) % 3);
	return apitest_json("POST", admin, buf, NULL, "/v1/responses");
}

/*
 * Answer every open daily prompt of school 1 right, except pupil 31's
 * first answer to question 101 (wrong: a recent miss). Returns the count.
 */
static int
answer_daily(void)
{
	int n = 0;

	for (;;) {
		long long p = apitest_sql_int("SELECT p.prompt_id FROM prompt p JOIN batch b USING"
		    " (school_id, batch_id) WHERE p.school_id = 1 AND b.kind = 'daily'"
		    " AND p.answered_at IS NULL AND b.local_date = (SELECT batches_done_for FROM school"
		    " WHERE school_id = 1) ORDER BY p.prompt_id LIMIT 1");
		bool wrong;

		if (p < 0)
			return n;
		wrong = apitest_sql_int("SELECT count(*) FROM prompt p WHERE p.prompt_id = %lld"
		    " AND p.pupil_id = 31 AND p.question_id = 101 AND NOT EXISTS (SELECT 1 FROM"
		    " review r WHERE r.pupil_id = 31 AND r.question_id = 101)", p) == 1;
		if (answer(p, !wrong) != 200)
			return -1;
		n++;
	}
}

static const char *const week[][2] = {
	{ "2026-09-21T15:30:00Z", "2026-09-21" },
	{ "2026-09-22T15:30:00Z", "2026-09-22" },
	{ "2026-09-23T15:30:00Z", "2026-09-23" },
	{ "2026-09-24T15:30:00Z", "2026-09-24" },
	{ "2026-09-25T15:30:00Z", "2026-09-25" },
};

/* A class answers its taught unit Monday and Tuesday: levels rise, no flags. */
START_TEST(test_answering_class)
{
	json_t *b = NULL, *pupils, *cell;
	const char *level;

	for (int d = 0; d < 2; d++) {
		ck_assert(move_to(week[d][0], week[d][1]));
		ck_assert_int_gt(answer_daily(), 0);
	}
	ck_assert(flags_caught_up());
	ck_assert_int_eq(apitest_json("GET", teacher1, NULL, &b, "/v1/classes/21/mastery"), 200);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(b, "class"), "name")),
	    "8A Science");
	ck_assert_str_eq(json_string_value(json_object_get(b, "local_date")), "2026-09-22");
	ck_assert_int_eq(json_array_size(json_object_get(b, "units")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(json_object_get(b,
	    "units"), 0), "questions")), 8);
	pupils = json_object_get(b, "pupils");
	ck_assert_int_eq(json_array_size(pupils), 4);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(pupils, 0),
	    "given_name")), "Ada");
	ck_assert(json_is_null(json_object_get(json_array_get(pupils, 3), "given_name")));
	cell = json_array_get(json_object_get(json_array_get(pupils, 1), "units"), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(cell, "unit_id")), 11);
	level = json_string_value(json_object_get(cell, "level"));
	ck_assert_msg(strcmp(level, "secure") == 0, "level %s", level);
	ck_assert_double_eq_tol(json_real_value(json_object_get(cell, "coverage")), 1.0, 1e-9);
	ck_assert(json_real_value(json_object_get(cell, "recall")) > 0.9);
	json_decref(b);
	/* the stored levels agree with the grid */
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM mastery WHERE school_id = 1"
	    " AND unit_id = 11 AND level = 2"), 4);
	/*
	 * Secure today on memories two days old: without reviews they would
	 * fall within the week, but the class is answering, its reviews fall
	 * due within the week and keep them up: nothing at risk for being new.
	 */
	ck_assert_int_eq(apitest_json("GET", teacher1, NULL, &b, "/v1/classes/21/flags"), 200);
	ck_assert_int_eq(json_array_size(json_object_get(b, "items")), 0);
	json_decref(b);
}
END_TEST

/* A diagnostic of the untaught unit 12: a batch each, answers recorded. */
START_TEST(test_diagnostic)
{
	json_t *b = NULL;
	long long p;

	ck_assert_int_eq(apitest_json("POST", teacher1,
	    "{\"kind\": \"diagnostic\"}", &b, "/v1/classes/21/units/12/checks"), 201);
	ck_assert_str_eq(json_string_value(json_object_get(b, "kind")), "diagnostic");
	ck_assert_int_eq(json_integer_value(json_object_get(b, "batches")), 4);
	ck_assert_int_eq(json_integer_value(json_object_get(b, "prompts")), 20);
	ck_assert_int_eq(json_integer_value(json_object_get(b, "deliveries")), 4);
	ck_assert_str_eq(json_string_value(json_object_get(b, "local_date")), "2026-09-22");
	json_decref(b);
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM batch WHERE school_id = 1"
	    " AND kind = 'diagnostic' AND class_id = 21 AND unit_id = 12"
	    " AND local_date = '2026-09-22'"), 4);
	/* five distinct questions each, all of unit 12, and not all pupils the same */
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM (SELECT p.pupil_id FROM prompt p"
	    " JOIN batch b USING (school_id, batch_id) JOIN question q USING (school_id, question_id)"
	    " WHERE b.kind = 'diagnostic' AND q.unit_id = 12 GROUP BY p.pupil_id"
	    " HAVING count(DISTINCT p.question_id) = 5) x"), 4);
	ck_assert_int_gt(apitest_sql_int("SELECT count(DISTINCT s) FROM (SELECT string_agg("
	    "p.question_id::text, ',' ORDER BY p.question_id) s FROM prompt p JOIN batch b USING"
	    " (school_id, batch_id) WHERE b.kind = 'diagnostic' GROUP BY p.pupil_id) x"), 1);
	/* the deliveries carry the prompts with answer links */
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM delivery WHERE school_id = 1"
	    " AND event_type = 'prompt.batch' AND payload::jsonb #>> '{data,kind}' = 'diagnostic'"
	    " AND jsonb_array_length(payload::jsonb #> '{data,prompts}') = 5"
	    " AND payload::jsonb #>> '{data,prompts,0,answer_url}' LIKE 'http%%/a/%%'"), 4);
	/* and they can be answered, though the unit is not taught */
	p = apitest_sql_int("SELECT p.prompt_id FROM prompt p JOIN batch b USING (school_id, batch_id)"
	    " WHERE b.kind = 'diagnostic' AND p.pupil_id = 32 ORDER BY p.prompt_id LIMIT 1");
	ck_assert_int_eq(answer(p, true), 200);
	ck_assert_int_eq(apitest_sql_int("SELECT m.reps FROM memory_state m JOIN prompt p USING"
	    " (school_id, pupil_id, question_id) WHERE p.prompt_id = %lld", p), 1);
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM mastery WHERE pupil_id = 32"
	    " AND unit_id = 12"), 1);
	/* a second check is another batch, the daily index does not stop it */
	ck_assert_int_eq(apitest_json("POST", admin,
	    "{\"kind\": \"diagnostic\"}", NULL, "/v1/classes/21/units/12/checks"), 201);
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM batch WHERE school_id = 1"
	    " AND kind = 'diagnostic'"), 8);
}
END_TEST

/* A re-check prefers questions the pupil did not miss lately. */
START_TEST(test_recheck)
{
	json_t *b = NULL;
	long long p;

	/* pupil 31 missed question 101 on Monday and got it right on Tuesday */
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM review WHERE pupil_id = 31"
	    " AND question_id = 101 AND rating = 1"), 1);
	ck_assert_int_eq(apitest_json("POST", teacher1, "{\"kind\": \"recheck\"}",
	    &b, "/v1/classes/21/units/11/checks"), 201);
	ck_assert_int_eq(json_integer_value(json_object_get(b, "batches")), 4);
	ck_assert_int_eq(json_integer_value(json_object_get(b, "prompts")), 20);
	json_decref(b);
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM prompt p JOIN batch b USING"
	    " (school_id, batch_id) WHERE b.kind = 'recheck' AND p.pupil_id = 31"), 5);
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM prompt p JOIN batch b USING"
	    " (school_id, batch_id) WHERE b.kind = 'recheck' AND p.pupil_id = 31"
	    " AND p.question_id = 101"), 0);
	p = apitest_sql_int("SELECT p.prompt_id FROM prompt p JOIN batch b USING (school_id, batch_id)"
	    " WHERE b.kind = 'recheck' AND p.pupil_id = 33 ORDER BY p.prompt_id LIMIT 1");
	ck_assert_int_eq(answer(p, true), 200);
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM review WHERE prompt_id = %lld", p), 1);
}
END_TEST

static void
expect_422(const char *token, const char *path, const char *body, const char *field)
{
	json_t *b = NULL, *e;

	ck_assert_int_eq(apitest_json("POST", token, body, &b, "%s", path), 422);
	e = json_array_get(json_object_get(b, "errors"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(e, "field")), field);
	json_decref(b);
}

START_TEST(test_bad_input)
{
	long long batches = apitest_sql_int("SELECT count(*) FROM batch");

	expect_422(admin, "/v1/classes/21/units/11/checks", "{\"kind\": \"quiz\"}", "kind");
	expect_422(admin, "/v1/classes/21/units/11/checks", "{\"kind\": 1}", "kind");
	expect_422(admin, "/v1/classes/21/units/11/checks", "{}", "kind");
	expect_422(admin, "/v1/classes/21/units/11/checks",
	    "{\"kind\": \"recheck\", \"questions\": 3}", "questions");
	ck_assert_int_eq(apitest_json("POST", admin, NULL, NULL, "/v1/classes/21/units/11/checks"), 400);
	ck_assert_int_eq(apitest_json("POST", admin, "[1]", NULL, "/v1/classes/21/units/11/checks"), 400);
	/* another school's unit or class, a missing one, another class's teacher */
	ck_assert_int_eq(apitest_json("POST", admin,
	    "{\"kind\": \"recheck\"}", NULL, "/v1/classes/21/units/13/checks"), 404);
	ck_assert_int_eq(apitest_json("POST", admin,
	    "{\"kind\": \"recheck\"}", NULL, "/v1/classes/23/units/11/checks"), 404);
	ck_assert_int_eq(apitest_json("POST", admin,
	    "{\"kind\": \"recheck\"}", NULL, "/v1/classes/21/units/999/checks"), 404);
	ck_assert_int_eq(apitest_json("POST", admin,
	    "{\"kind\": \"recheck\"}", NULL, "/v1/classes/x/units/11/checks"), 404);
	ck_assert_int_eq(apitest_json("POST", teacher2,
	    "{\"kind\": \"recheck\"}", NULL, "/v1/classes/21/units/11/checks"), 404);
	ck_assert_int_eq(apitest_json("POST", other,
	    "{\"kind\": \"recheck\"}", NULL, "/v1/classes/21/units/11/checks"), 404);
	ck_assert_int_eq(apitest_json("POST", integ,
	    "{\"kind\": \"recheck\"}", NULL, "/v1/classes/21/units/11/checks"), 403);
	/* a unit without questions */
	expect_422(admin, "/v1/classes/21/units/14/checks", "{\"kind\": \"diagnostic\"}", "unit_id");
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM batch"), batches);
	/* the teacher of class 22 may check it on a unit it was not taught */
	{
		json_t *b = NULL;

		ck_assert_int_eq(apitest_json("POST", teacher2,
		    "{\"kind\": \"diagnostic\"}", &b, "/v1/classes/22/units/11/checks"), 201);
		ck_assert_int_eq(json_integer_value(json_object_get(b, "batches")), 2);
		json_decref(b);
	}
}
END_TEST

START_TEST(test_scoping)
{
	json_t *b = NULL;

	ck_assert_int_eq(apitest_json("GET", teacher2, NULL, NULL, "/v1/classes/21/flags"), 404);
	ck_assert_int_eq(apitest_json("GET", teacher2, NULL, NULL, "/v1/classes/21/mastery"), 404);
	ck_assert_int_eq(apitest_json("GET", teacher2, NULL, NULL, "/v1/pupils/31/progress"), 404);
	ck_assert_int_eq(apitest_json("GET", other, NULL, NULL, "/v1/classes/21/flags"), 404);
	ck_assert_int_eq(apitest_json("GET", other, NULL, NULL, "/v1/classes/21/mastery"), 404);
	ck_assert_int_eq(apitest_json("GET", other, NULL, NULL, "/v1/pupils/31/progress"), 404);
	ck_assert_int_eq(apitest_json("GET", admin, NULL, NULL, "/v1/classes/23/mastery"), 404);
	ck_assert_int_eq(apitest_json("GET", admin, NULL, NULL, "/v1/pupils/37/progress"), 404);
	ck_assert_int_eq(apitest_json("GET", admin, NULL, NULL, "/v1/classes/0/flags"), 404);
	ck_assert_int_eq(apitest_json("GET", integ, NULL, NULL, "/v1/classes/21/flags"), 403);
	ck_assert_int_eq(apitest_json("GET", NULL, NULL, NULL, "/v1/classes/21/flags"), 401);
	ck_assert_int_eq(apitest_json("GET", admin, NULL, NULL, "/v1/pupils/31/progress?unit_id=abc"), 422);
	/* the teacher of class 22 sees their own (empty) class */
	ck_assert_int_eq(apitest_json("GET", teacher2, NULL, &b, "/v1/classes/22/mastery"), 200);
	ck_assert_int_eq(json_array_size(json_object_get(b, "pupils")), 2);
	ck_assert_int_eq(json_array_size(json_object_get(b, "units")), 0);
	json_decref(b);
	ck_assert_int_eq(apitest_json("GET", teacher2, NULL, &b, "/v1/pupils/35/progress"), 200);
	ck_assert_int_eq(json_array_size(json_object_get(b, "units")), 0);
	json_decref(b);
}
END_TEST

/* The rest of the week: a weekly digest on Friday, once. */
START_TEST(test_digest)
{
	json_t *doc, *d, *levels;
	char *payload;

	for (int day = 2; day < 5; day++) {
		ck_assert(move_to(week[day][0], week[day][1]));
		ck_assert_int_ge(answer_daily(), 0);
	}
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM delivery WHERE school_id = 1"
	    " AND event_type = 'digest.teacher'"), 1);
	payload = apitest_sql("SELECT payload FROM delivery WHERE event_type = 'digest.teacher'");
	doc = json_loads(payload, 0, NULL);
	d = json_object_get(doc, "data");
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(d, "class"), "id")), 21);
	ck_assert_str_eq(json_string_value(json_object_get(d, "week")), "2026-09-21");
	levels = json_object_get(json_array_get(json_object_get(d, "units"), 0), "levels");
	ck_assert_int_eq(json_integer_value(json_object_get(levels, "secure")) +
	    json_integer_value(json_object_get(levels, "mastery")), 4);
	json_decref(doc);
	free(payload);
	/* later the same day, and the next week's Monday: no second digest */
	ck_assert(move_to("2026-09-25T20:00:00Z", NULL));
	ck_assert(move_to("2026-09-28T08:00:00Z", NULL));
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM delivery WHERE school_id = 1"
	    " AND event_type = 'digest.teacher'"), 1);
}
END_TEST

static long long
flagged_events(const char *status, const char *since)
{
	return apitest_sql_int("SELECT count(*) FROM delivery WHERE school_id = 1"
	    " AND event_type = 'topic.flagged' AND payload::jsonb #>> '{data,status}' = '%s'"
	    " AND payload::jsonb #>> '{data,since}' = '%s'"
	    " AND payload::jsonb #>> '{data,class,name}' = '8A Science'"
	    " AND payload::jsonb #>> '{data,unit,id}' = '11'", status, since);
}

static void
expect_flag(const char *status, const char *reasons, const char *since)
{
	json_t *b = NULL, *item;
	char *r;

	ck_assert_int_eq(apitest_json("GET", teacher1, NULL, &b, "/v1/classes/21/flags"), 200);
	ck_assert_int_eq(json_array_size(json_object_get(b, "items")), 1);
	item = json_array_get(json_object_get(b, "items"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(item, "status")), status);
	r = json_dumps(json_object_get(item, "reasons"), JSON_COMPACT);
	ck_assert_str_eq(r, reasons);
	free(r);
	ck_assert_str_eq(json_string_value(json_object_get(item, "since")), since);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(item, "unit"), "id")), 11);
	ck_assert_int_eq(json_integer_value(json_object_get(item, "horizon_days")), 7);
	json_decref(b);
}

/*
 * The class stops answering: at risk, then forgotten, with events. The
 * clock jumps past every prompt time, so no prompt is left unanswered and
 * the not-practised rule (test_evidence) stays out of it.
 */
START_TEST(test_forgetting)
{
	json_t *b = NULL;

	/* while it answered, and for weeks after (the reviews made the memories last): nothing */
	ck_assert_int_eq(flagged_events("at_risk", "2026-09-22"), 0);
	ck_assert(move_to("2026-10-26T07:00:00Z", NULL));
	ck_assert_int_eq(apitest_json("GET", teacher1, NULL, &b, "/v1/classes/21/flags"), 200);
	ck_assert_int_eq(json_array_size(json_object_get(b, "items")), 0);
	json_decref(b);
	/* a week before they fall below Secure: at risk */
	ck_assert(move_to("2026-11-02T07:00:00Z", NULL));
	expect_flag("at_risk", "[\"fallen\"]", "2026-11-02");
	ck_assert_int_eq(flagged_events("at_risk", "2026-11-02"), 1);
	ck_assert_int_eq(apitest_json("GET", teacher1, NULL, &b, "/v1/classes/21/flags"), 200);
	{
		json_t *item = json_array_get(json_object_get(b, "items"), 0);

		ck_assert_int_eq(json_integer_value(json_object_get(item, "class_pupils")), 4);
		ck_assert_int_eq(json_integer_value(json_object_get(item, "pupils")), 4);
		ck_assert(json_real_value(json_object_get(item, "class_recall")) >
		    json_real_value(json_object_get(item, "class_recall_ahead")));
	}
	json_decref(b);
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM mastery WHERE school_id = 1"
	    " AND unit_id = 11 AND level = 2"), 4);
	/* then below: forgotten, since the flag began; levels fall with events */
	ck_assert(move_to("2026-11-09T07:00:00Z", NULL));
	expect_flag("forgotten", "[\"fallen\"]", "2026-11-02");
	ck_assert_int_eq(flagged_events("forgotten", "2026-11-02"), 1);
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM delivery WHERE event_type ="
	    " 'topic.flagged' AND payload::jsonb #>> '{data,previous_status}' = 'at_risk'"
	    " AND payload::jsonb #>> '{data,status}' = 'forgotten'"
	    " AND (payload::jsonb #>> '{data,fallen}')::int = 4"), 1);
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM mastery WHERE school_id = 1"
	    " AND unit_id = 11 AND level = 1 AND updated_at = '2026-11-09T07:00:00Z'"), 4);
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM delivery WHERE event_type ="
	    " 'mastery.changed' AND payload::jsonb #>> '{data,from}' = 'secure'"
	    " AND payload::jsonb #>> '{data,to}' = 'developing'"
	    " AND payload::jsonb #>> '{timestamp}' LIKE '2026-11-09%%'"), 4);
	/* months later the class mean is low too: the same flag, no new event */
	ck_assert(move_to("2027-03-01T08:00:00Z", NULL));
	expect_flag("forgotten", "[\"low_recall\",\"fallen\"]", "2026-11-02");
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM delivery WHERE"
	    " event_type = 'topic.flagged' AND payload::jsonb #>> '{data,status}' = 'forgotten'"), 1);
	/* the grid agrees: developing or below, recall well down */
	ck_assert_int_eq(apitest_json("GET", teacher1, NULL, &b, "/v1/classes/21/mastery"), 200);
	{
		json_t *unit = json_array_get(json_object_get(b, "units"), 0);
		json_t *levels = json_object_get(unit, "levels");

		ck_assert_int_eq(json_integer_value(json_object_get(levels, "secure")) +
		    json_integer_value(json_object_get(levels, "mastery")), 0);
		ck_assert(json_real_value(json_object_get(unit, "class_recall")) < 0.7);
	}
	json_decref(b);
}
END_TEST

/* A pupil's levels over time: up while answering, down while forgetting. */
START_TEST(test_progress)
{
	json_t *b = NULL, *unit = NULL, *hist, *units;
	size_t i, n;

	ck_assert_int_eq(apitest_json("GET", teacher1, NULL, &b, "/v1/pupils/32/progress"), 200);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(b, "pupil"),
	    "external_id")), "p32");
	units = json_object_get(b, "units");
	json_array_foreach(units, i, unit)
		if (json_integer_value(json_object_get(json_object_get(unit, "unit"), "id")) == 11)
			break;
	ck_assert(i < json_array_size(units));
	hist = json_object_get(unit, "history");
	n = json_array_size(hist);
	ck_assert_int_ge(n, 3);
	ck_assert(json_is_null(json_object_get(json_array_get(hist, 0), "from")));
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(hist, 1), "to")), "secure");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(hist, n - 1), "from")),
	    "secure");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(hist, n - 1), "date")),
	    "2026-11-09");
	ck_assert_str_eq(json_string_value(json_object_get(unit, "best_level")), "secure");
	json_decref(b);
	/* one unit only; the diagnostic's unit 12 is there otherwise */
	ck_assert_int_eq(apitest_json("GET", admin, NULL, &b, "/v1/pupils/32/progress?unit_id=12"), 200);
	ck_assert_int_eq(json_array_size(json_object_get(b, "units")), 1);
	json_decref(b);
}
END_TEST

/* The level of pupil p (index) for the only unit in class 22's grid, and its question count. */
static const char *
grid_level(json_t *grid, size_t p)
{
	json_t *cell = json_array_get(json_object_get(json_array_get(json_object_get(grid,
	    "pupils"), p), "units"), 0);

	return json_string_value(json_object_get(cell, "level"));
}

static long long
grid_questions(json_t *grid)
{
	return json_integer_value(json_object_get(json_array_get(json_object_get(grid, "units"), 0),
	    "questions"));
}

/*
 * One rule for self-rated questions: with the school's self_rating off they
 * are not scheduled, not checked, and do not count in their unit, so a unit
 * with some still reaches Secure; turned on, they count everywhere.
 */
START_TEST(test_self_rating)
{
	json_t *b = NULL;
	const char *level;

	ck_assert(apitest_sql_ok("INSERT INTO taught (school_id, class_id, unit_id, taught_on, updated_at)"
	    " VALUES (1, 22, 15, '2027-03-01', now()) RETURNING 1"));
	ck_assert(move_to("2027-03-02T16:30:00Z", "2027-03-02"));
	/* scheduled: the three mcq questions for each pupil, no self-rated one */
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM prompt p JOIN batch b USING"
	    " (school_id, batch_id) WHERE b.local_date = '2027-03-02' AND p.pupil_id IN (35, 36)"
	    " AND p.question_id BETWEEN 501 AND 503"), 6);
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM prompt WHERE question_id > 510"), 0);
	/* all right: Secure in the answer's feedback, over the 3 questions that count */
	for (;;) {
		json_t *fb = NULL;
		long long p = apitest_sql_int("SELECT p.prompt_id FROM prompt p JOIN batch b USING"
		    " (school_id, batch_id) WHERE b.local_date = '2027-03-02' AND p.pupil_id IN (35, 36)"
		    " AND p.answered_at IS NULL ORDER BY p.prompt_id LIMIT 1");
		char buf[64];

		if (p < 0)
			break;
		snprintf(buf, sizeof buf, "{\"prompt_id\": %lld, \"answer\": 0}", p);
		ck_assert_int_eq(apitest_json("POST", admin, buf, &fb, "/v1/responses"), 200);
		ck_assert(json_is_true(json_object_get(fb, "correct")));
		json_decref(fb);
	}
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM mastery WHERE unit_id = 15"
	    " AND pupil_id IN (35, 36) AND level = 2 AND coverage = 1"), 2);
	/* the grid (the flag job's snapshot) agrees */
	ck_assert(flags_caught_up());
	ck_assert_int_eq(apitest_json("GET", teacher2, NULL, &b, "/v1/classes/22/mastery"), 200);
	ck_assert_int_eq(grid_questions(b), 3);
	ck_assert_str_eq(grid_level(b, 0), "secure");
	ck_assert_str_eq(grid_level(b, 1), "secure");
	json_decref(b);
	/* checks pick among the three only */
	ck_assert_int_eq(apitest_json("POST", teacher2, "{\"kind\": \"diagnostic\"}",
	    &b, "/v1/classes/22/units/15/checks"), 201);
	ck_assert_int_eq(json_integer_value(json_object_get(b, "prompts")), 6);
	json_decref(b);
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM prompt WHERE question_id > 510"), 0);

	/* self-ratings on: six questions count, three reviewed is not Secure */
	ck_assert(apitest_sql_ok("UPDATE school SET self_rating = true WHERE school_id = 1 RETURNING 1"));
	ck_assert_int_eq(apitest_json("GET", teacher2, NULL, &b, "/v1/classes/22/mastery"), 200);
	ck_assert_int_eq(grid_questions(b), 6);
	ck_assert_str_eq(grid_level(b, 0), "developing");
	json_decref(b);
	ck_assert_int_eq(apitest_json("POST", teacher2, "{\"kind\": \"diagnostic\"}",
	    &b, "/v1/classes/22/units/15/checks"), 201);
	ck_assert_int_eq(json_integer_value(json_object_get(b, "prompts")), 10);
	json_decref(b);
	/* a self-rated prompt of that check, rated Good: four of six reviewed */
	{
		long long p = apitest_sql_int("SELECT p.prompt_id FROM prompt p JOIN batch b USING"
		    " (school_id, batch_id) WHERE b.kind = 'diagnostic' AND b.unit_id = 15"
		    " AND p.pupil_id = 35 AND p.question_id > 510 ORDER BY p.prompt_id LIMIT 1");
		char buf[64];

		ck_assert_int_gt(p, 0);
		snprintf(buf, sizeof buf, "{\"prompt_id\": %lld, \"rating\": 3}", p);
		ck_assert_int_eq(apitest_json("POST", admin, buf, &b, "/v1/responses"), 200);
		level = json_string_value(json_object_get(b, "level"));
		ck_assert_msg(strcmp(level, "developing") == 0, "level %s", level);
		json_decref(b);
	}
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM mastery WHERE unit_id = 15"
	    " AND pupil_id = 35 AND level = 1 AND coverage > 0.6 AND coverage < 0.7"), 1);
	/* and the next daily batch schedules them */
	ck_assert(move_to("2027-03-03T16:30:00Z", "2027-03-03"));
	ck_assert_int_gt(apitest_sql_int("SELECT count(*) FROM prompt p JOIN batch b USING"
	    " (school_id, batch_id) WHERE b.local_date = '2027-03-03' AND b.kind = 'daily'"
	    " AND p.question_id > 510"), 0);
	ck_assert(apitest_sql_ok("UPDATE school SET self_rating = false WHERE school_id = 1 RETURNING 1"));
}
END_TEST

/*
 * A school without webhooks: school 2 has no endpoint, so its answers
 * queue no event (nothing for the webhook sender to be woken for); its
 * flags still refresh after its answers, within flags.debounce, not at
 * the next flags.interval (an hour).
 */
START_TEST(test_flags_without_webhooks)
{
	json_t *b;
	long long prompt;
	char buf[128];

	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM endpoint WHERE school_id = 2"), 0);
	/* the run of the last clock move is over for school 2 too */
	ck_assert(apitest_wait_sql(1, 10000, "SELECT count(*) FROM school_flag_job j2"
	    " JOIN school_flag_job j1 ON j1.school_id = 1 WHERE j2.school_id = 2"
	    " AND NOT EXISTS (SELECT 1 FROM job_lease l WHERE l.school_id = 2 AND l.job = 'flags')"
	    " AND j2.done_at >= j1.done_at"));
	/* and the runs its own events asked for (their NOTIFY, debounced) are over too */
	ck_assert(apitest_wait_job_idle("flags", 10000));
	ck_assert(apitest_wait_sql(2, 10000, "SELECT count(*) FROM school_flag_job j"
	    " WHERE NOT EXISTS (SELECT 1 FROM job_lease l WHERE l.school_id = j.school_id)"));
	ck_assert(apitest_sql_ok("INSERT INTO taught (school_id, class_id, unit_id, taught_on, updated_at)"
	    " VALUES (2, 23, 13, '2027-03-01', now()) RETURNING 1"));
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM flag WHERE school_id = 2"), 0);
	ck_assert_int_eq(apitest_json("POST", other, "{\"kind\": \"diagnostic\"}", &b,
	    "/v1/classes/23/units/13/checks"), 201);
	json_decref(b);
	prompt = apitest_sql_int("SELECT prompt_id FROM prompt WHERE school_id = 2"
	    " AND answered_at IS NULL ORDER BY prompt_id LIMIT 1");
	ck_assert_int_gt(prompt, 0);
	snprintf(buf, sizeof buf, "{\"prompt_id\": %lld, \"answer\": 0}", prompt);
	ck_assert_int_eq(apitest_json("POST", other, buf, NULL, "/v1/responses"), 200);
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM delivery WHERE school_id = 2"), 0);
	/* the flag job visited school 2 for that review: the class x unit has its row */
	ck_assert(apitest_wait_sql(1, 5000, "SELECT count(*) FROM school_flag_job WHERE school_id = 2"
	    " AND NOT EXISTS (SELECT 1 FROM job_lease l WHERE l.school_id = school_flag_job.school_id"
	    " AND l.job = 'flags') AND review_mark >= (SELECT max(review_id) FROM review"
	    " WHERE school_id = 2)"));
	ck_assert(apitest_wait_sql(1, 5000, "SELECT count(*) FROM flag WHERE school_id = 2"
	    " AND class_id = 23 AND unit_id = 13"));
}
END_TEST

/* A problem's detail names the setting. */
static bool
detail_names(const json_t *b, const char *field)
{
	const char *d = apitest_jstr(b, "detail");

	return strstr(d, field) != NULL;
}

/*
 * A setting stored outside its bounds (past a dropped CHECK) is reported,
 * never replaced by a default: the grid, progress and a check answer 500
 * naming it, and an answer is refused with a 500 naming it, recording nothing.
 */
START_TEST(test_settings_refused)
{
	json_t *b;
	long long prompt;
	char buf[256];

	ck_assert_int_eq(apitest_json("POST", other, "{\"kind\": \"recheck\"}", &b,
	    "/v1/classes/23/units/13/checks"), 201);
	json_decref(b);
	ck_assert(apitest_sql_ok("ALTER TABLE school DROP CONSTRAINT school_desired_retention_check;"
	    " UPDATE school SET desired_retention = 0.6 WHERE school_id = 2; SELECT 1"));
	ck_assert_int_eq(apitest_json("GET", other, NULL, &b, "/v1/classes/23/mastery"), 500);
	ck_assert_msg(detail_names(b, "desired_retention"), "%s", apitest_jstr(b, "detail"));
	json_decref(b);
	ck_assert_int_eq(apitest_json("GET", other, NULL, &b, "/v1/classes/23/progress"), 500);
	ck_assert_msg(detail_names(b, "desired_retention"), "%s", apitest_jstr(b, "detail"));
	json_decref(b);
	ck_assert_int_eq(apitest_json("POST", other, "{\"kind\": \"recheck\"}", &b,
	    "/v1/classes/23/units/13/checks"), 500);
	ck_assert_msg(detail_names(b, "desired_retention"), "%s", apitest_jstr(b, "detail"));
	json_decref(b);
	prompt = apitest_sql_int("SELECT prompt_id FROM prompt WHERE school_id = 2"
	    " AND answered_at IS NULL ORDER BY prompt_id LIMIT 1");
	ck_assert_int_gt(prompt, 0);
	snprintf(buf, sizeof buf, "{\"prompt_id\": %lld, \"answer\": 0}", prompt);
	ck_assert_int_eq(apitest_json("POST", other, buf, &b, "/v1/responses"), 500);
	ck_assert_msg(detail_names(b, "desired_retention"), "%s", apitest_jstr(b, "detail"));
	json_decref(b);
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM review WHERE school_id = 2"
	    " AND prompt_id = %lld", prompt), 0);
	/* set right again: the same answer is recorded */
	snprintf(buf, sizeof buf, "UPDATE school SET desired_retention = 0.9 WHERE school_id = 2;"
	    " ALTER TABLE school ADD CONSTRAINT school_desired_retention_check"
	    " CHECK (desired_retention BETWEEN %g AND %g); SELECT 1", SETTINGS_RETENTION_MIN,
	    SETTINGS_RETENTION_MAX);
	ck_assert(apitest_sql_ok("%s", buf));
	snprintf(buf, sizeof buf, "{\"prompt_id\": %lld, \"answer\": 0}", prompt);
	ck_assert_int_eq(apitest_json("POST", other, buf, NULL, "/v1/responses"), 200);
	ck_assert_int_eq(apitest_json("GET", other, NULL, NULL, "/v1/classes/23/mastery"), 200);
}
END_TEST

static const char setup_sql[] =
    "INSERT INTO course (school_id, course_id, external_id, name, updated_at) VALUES"
    " (1, 1, 'sci', 'KS3 Science', now()), (2, 2, 'b-sci', 'Science', now());"
    "INSERT INTO unit (school_id, unit_id, course_id, external_id, name, position, updated_at) VALUES"
    " (1, 11, 1, 'cells', 'Cells', 1, now()), (1, 12, 1, 'forces', 'Forces', 2, now()),"
    " (1, 14, 1, 'empty', 'Empty', 3, now()), (2, 13, 2, 'b-cells', 'Cells', 1, now()),"
    " (1, 15, 1, 'habitats', 'Habitats', 4, now());"
    "INSERT INTO question (school_id, question_id, unit_id, external_id, kind, prompt, choices,"
    " correct_choice, updated_at)"
    " SELECT 1, 100 + i, 11, 'c' || i, 'mcq', 'Cells question ' || i, '[\"a\", \"b\", \"c\"]'::jsonb, 1, now()"
    " FROM generate_series(1, 8) i UNION ALL"
    " SELECT 1, 200 + i, 12, 'f' || i, 'mcq', 'Forces question ' || i, '[\"a\", \"b\", \"c\"]'::jsonb, 2, now()"
    " FROM generate_series(1, 6) i UNION ALL"
    " SELECT 2, 301, 13, 'b1', 'mcq', 'B question', '[\"a\", \"b\"]'::jsonb, 0, now() UNION ALL"
    " SELECT 1, 500 + i, 15, 'h' || i, 'mcq', 'Habitats question ' || i, '[\"a\", \"b\", \"c\"]'::jsonb, 0, now()"
    " FROM generate_series(1, 3) i UNION ALL"
    " SELECT 1, 510 + i, 15, 'hs' || i, 'self', 'How well do you know habitat ' || i, NULL, NULL, now()"
    " FROM generate_series(1, 3) i;"
    "INSERT INTO class (school_id, class_id, external_id, name, course_id, updated_at) VALUES"
    " (1, 21, '8a', '8A Science', 1, now()), (1, 22, '8b', '8B Science', 1, now()),"
    " (2, 23, 'b-8a', 'B 8A', 2, now());"
    "INSERT INTO pupil (school_id, pupil_id, external_id, given_name, family_name, updated_at) VALUES"
    " (1, 31, 'p31', 'Ada', 'L', now()), (1, 32, 'p32', 'Ben', NULL, now()),"
    " (1, 33, 'p33', NULL, NULL, now()), (1, 34, 'p34', NULL, NULL, now()),"
    " (1, 35, 'p35', NULL, NULL, now()), (1, 36, 'p36', NULL, NULL, now()),"
    " (2, 37, 'p37', NULL, NULL, now());"
    "INSERT INTO class_pupil (school_id, class_id, pupil_id, updated_at) VALUES"
    " (1, 21, 31, now()), (1, 21, 32, now()), (1, 21, 33, now()), (1, 21, 34, now()),"
    " (1, 22, 35, now()), (1, 22, 36, now()), (2, 23, 37, now());"
    "INSERT INTO teacher (school_id, teacher_id, external_id, updated_at) VALUES"
    " (1, 41, 't41', now()), (1, 42, 't42', now());"
    "INSERT INTO class_teacher (school_id, class_id, teacher_id, updated_at) VALUES"
    " (1, 21, 41, now()), (1, 22, 42, now());"
    "INSERT INTO taught (school_id, class_id, unit_id, taught_on, updated_at) VALUES"
    " (1, 21, 11, '2026-09-18', now());"
    /* this story was timed without the daily top-up; test_evidence has it */
    "UPDATE school SET new_per_day = 5, max_per_day = 5, min_per_day = 0;"
    /* an endpoint, so events are queued (its deliveries fail: loopback is refused) */
    "INSERT INTO endpoint (school_id, url, secret, created_at) VALUES"
    " (1, 'http://127.0.0.1:9/hook', 'whsec_MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIz', now());"
    "SELECT 1";

int
main(void)
{
	Suite *s = suite_create("teachers");
	TCase *tc = tcase_create("teachers");
	int failed;

	snprintf(conninfo, sizeof conninfo, "%s", pgtest_start());
	apitest_env(conninfo, "5s");
	setenv("RECALLD_CLOCK_MODE", "manual", 1);
	setenv("RECALLD_CLOCK_START", "2026-09-21T06:00:00Z", 1);
	setenv("RECALLD_FLAGS_DEBOUNCE", "200ms", 1);
	/* the endpoint fails for weeks of manual time: keep it enabled */
	setenv("RECALLD_WEBHOOKS_DISABLE_AFTER", "8760h", 1);
	setenv("RECALLD_RESPONSES_LINK_KEY", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", 1);
	CKTEST_MUST(apitest_two_schools("A", "B", admin, other, sizeof admin));
	apitest_db_open(conninfo);
	CKTEST_MUST(apitest_sql_ok("%s", setup_sql));
	CKTEST_MUST(apitest_token(teacher1, sizeof teacher1, "1", "teacher", "41"));
	CKTEST_MUST(apitest_token(teacher2, sizeof teacher2, "1", "teacher", "42"));
	CKTEST_MUST(apitest_token(integ, sizeof integ, "1", "integration", NULL));
	if (!apitest_daemon_start()) {
		apitest_daemon_dump_log();
		return EXIT_FAILURE;
	}

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_answering_class);
	tcase_add_test(tc, test_diagnostic);
	tcase_add_test(tc, test_recheck);
	tcase_add_test(tc, test_bad_input);
	tcase_add_test(tc, test_scoping);
	tcase_add_test(tc, test_digest);
	tcase_add_test(tc, test_forgetting);
	tcase_add_test(tc, test_progress);
	tcase_add_test(tc, test_self_rating);
	tcase_add_test(tc, test_flags_without_webhooks);
	tcase_add_test(tc, test_settings_refused);
	suite_add_tcase(s, tc);
	failed = cktest_run_nofork(s);
	return apitest_finish(failed);
}
