/*
 * test_pupil.c: a pupil's own page, black-box against the real daemon:
 * the progress_url every prompt.batch carries opens the pupil's page with
 * today's questions (answered in place through their answer links), their
 * units, levels, descriptors (the school's, and a unit's own once its
 * teacher wrote them, escaped), what the next level needs and a chart; an
 * altered, foreign-kind or expired link is refused politely and shows
 * nothing. The descriptors' route refuses bad input and other schools.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "apitest.h"
#include "cktest.h"
#include "pgtest.h"
#include "util.h"

static char admin[128], other[128], teacher[128];
static char conninfo[512];

/* GET (or POST form) path without a token; the body into *html. */
static long
page(const char *method, const char *path, const char *form, char **html)
{
	long st = 0;

	json_decref(api_call(method, path, NULL, form != NULL ?
	    "application/x-www-form-urlencoded" : NULL, form, &st, html, NULL));
	return st;
}

/* A pupil of 8A Science with open prompts, and the page link of their batch. */
static char *
progress_url(long long *pupil)
{
	static const char pick[] = " FROM delivery d WHERE d.school_id = 1"
	    " AND d.event_type = 'prompt.batch' AND EXISTS (SELECT 1 FROM prompt p"
	    "  WHERE p.school_id = 1 AND p.pupil_id = (d.payload::jsonb #>> '{data,pupil,id}')::bigint"
	    "  AND p.answered_at IS NULL) ORDER BY d.delivery_id LIMIT 1";

	*pupil = apitest_sql_int("SELECT (d.payload::jsonb #>> '{data,pupil,id}')::bigint%s", pick);
	return apitest_sql("SELECT d.payload::jsonb #>> '{data,progress_url}'%s", pick);
}

START_TEST(test_page_shows_the_pupil)
{
	long long pupil, open;
	char *url = progress_url(&pupil), *html = NULL, *name;
	const char *path;

	ck_assert(url != NULL && (path = strstr(url, "/p/")) != NULL);
	ck_assert_int_eq(page("GET", path, NULL, &html), 200);
	name = apitest_sql("SELECT given_name FROM pupil WHERE pupil_id = %lld", pupil);
	ck_assert_msg(strstr(html, name) != NULL, "the page does not greet %s", name);
	ck_assert_ptr_nonnull(strstr(html, "Today's questions"));
	ck_assert_ptr_nonnull(strstr(html, "Cells and organisation"));
	ck_assert_ptr_nonnull(strstr(html, "Your level: <strong>"));
	/* the school-wide descriptor of a level, from its thresholds */
	ck_assert_ptr_nonnull(strstr(html, "right today."));
	ck_assert_ptr_nonnull(strstr(html, "you need: "));
	ck_assert_ptr_nonnull(strstr(html, "<svg viewBox="));
	ck_assert_ptr_nonnull(strstr(html, "role=\"img\""));
	/* no one else: another pupil's name never appears */
	{
		char *others = apitest_sql("SELECT string_agg(given_name, '|') FROM pupil"
		    " WHERE school_id = 1 AND pupil_id <> %lld AND given_name <> '%s'", pupil, name);
		for (char *o = strtok(others, "|"); o != NULL; o = strtok(NULL, "|"))
			if (strlen(o) > 3)
				ck_assert_msg(strstr(html, o) == NULL, "another pupil (%s) is on the page",
				    o);
		free(others);
	}
	/* answered in place: the first question's form posts to its answer link */
	open = apitest_sql_int("SELECT count(*) FROM prompt WHERE pupil_id = %lld"
	    " AND answered_at IS NULL AND expires_at > (SELECT to_timestamp(now_us / 1e6)"
	    " FROM manual_clock)", pupil);
	ck_assert_int_gt(open, 0);
	{
		char *a = strstr(html, "<form method=\"post\" action=\""), action[256];
		long long reviews = apitest_sql_int("SELECT count(*) FROM review WHERE pupil_id = %lld",
		    pupil);
		char *after = NULL;

		ck_assert_ptr_nonnull(a);
		a += strlen("<form method=\"post\" action=\"");
		snprintf(action, sizeof action, "%.*s", (int)strcspn(a, "\""), a);
		ck_assert(strncmp(action, "/a/", 3) == 0);
		ck_assert_int_eq(page("POST", action, strstr(a, "name=\"choice\"") != NULL &&
		    strstr(a, "name=\"choice\"") < strstr(a, "</form>") ? "choice=0&t=1" :
		    "answer=nucleus&t=1", &after), 200);
		ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM review WHERE pupil_id = %lld",
		    pupil), reviews + 1);
		/* the feedback leads back to the pupil's own page */
		ck_assert_ptr_nonnull(strstr(after, "See all your units"));
		ck_assert_ptr_nonnull(strstr(after, "/p/"));
		free(after);
	}
	free(html);
	html = NULL;
	ck_assert_int_eq(page("GET", path, NULL, &html), 200);
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM prompt WHERE pupil_id = %lld"
	    " AND answered_at IS NULL AND expires_at > (SELECT to_timestamp(now_us / 1e6)"
	    " FROM manual_clock)", pupil), open - 1);
	free(html);
	free(name);
	free(url);
}
END_TEST

START_TEST(test_links_refused)
{
	long long pupil;
	char *url = progress_url(&pupil), *html = NULL, *bad, *ans;
	const char *path = strstr(url, "/p/");
	size_t n = strlen(path);

	/* altered (a byte of the signed pupil id, say): not a link */
	bad = xstrdup(path);
	bad[4] = bad[4] == 'A' ? 'B' : 'A';
	ck_assert_int_eq(page("GET", bad, NULL, &html), 404);
	ck_assert_ptr_nonnull(strstr(html, "not valid"));
	ck_assert_ptr_null(strstr(html, "Your level"));
	free(html);
	html = NULL;
	bad[4] = path[4];
	bad[n - 1] = bad[n - 1] == 'A' ? 'B' : 'A';
	ck_assert_int_eq(page("GET", bad, NULL, &html), 404);
	free(html);
	html = NULL;
	free(bad);
	/* an answer link is not a pupil's page */
	ans = apitest_sql("SELECT substring(payload::jsonb #>> '{data,prompts,0,answer_url}'"
	    " FROM '/a/(.*)$') FROM delivery WHERE event_type = 'prompt.batch' LIMIT 1");
	bad = xasprintf("/p/%s", ans);
	ck_assert_int_eq(page("GET", bad, NULL, &html), 404);
	free(html);
	free(bad);
	free(ans);
	free(url);
}
END_TEST

START_TEST(test_descriptors)
{
	long long unit = apitest_sql_int("SELECT unit_id FROM unit WHERE school_id = 1"
	    " AND external_id = 'sci-cells'"), pupil;
	json_t *j = NULL;
	char *url, *html = NULL;
	long st;

	/* defaults: the school's words, no unit's own */
	ck_assert_int_eq(apitest_json("GET", teacher, NULL, &j, "/v1/units/%lld/levels", unit), 200);
	ck_assert(json_is_null(json_object_get(json_object_get(json_object_get(j, "levels"),
	    "secure"), "unit")));
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(json_object_get(
	    json_object_get(j, "levels"), "secure"), "school")), "8 in 10"));
	json_decref(j);
	/* refused, changing nothing: HTML, too long, wrong types, unknown level */
	st = apitest_json("PUT", teacher, "{\"secure\": \"<b>bold</b>\"}", &j,
	    "/v1/units/%lld/levels", unit);
	ck_assert_int_eq(st, 422);
	ck_assert(apitest_field_error(j, "secure"));
	json_decref(j);
	{
		char body[700];

		memset(body, 0, sizeof body);
		strcpy(body, "{\"mastery\": \"");
		memset(body + strlen(body), 'x', 301);
		strcat(body, "\"}");
		ck_assert_int_eq(apitest_json("PUT", teacher, body, &j, "/v1/units/%lld/levels",
		    unit), 422);
		json_decref(j);
	}
	ck_assert_int_eq(apitest_json("PUT", teacher, "{\"secure\": 8}", &j,
	    "/v1/units/%lld/levels", unit), 422);
	json_decref(j);
	ck_assert_int_eq(apitest_json("PUT", teacher, "{\"expert\": \"x\"}", &j,
	    "/v1/units/%lld/levels", unit), 422);
	json_decref(j);
	ck_assert_int_eq(apitest_json("PUT", teacher, "{}", &j, "/v1/units/%lld/levels", unit),
	    422);
	json_decref(j);
	/* another school's admin: no such unit */
	ck_assert_int_eq(apitest_json("PUT", other, "{\"secure\": \"x\"}", &j,
	    "/v1/units/%lld/levels", unit), 404);
	json_decref(j);
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM unit_level"), 0);

	/* the teacher's words, escaped wherever shown */
	ck_assert_int_eq(apitest_json("PUT", teacher, "{\"emerging\": \"You can name a cell's"
	    " nucleus & membrane\", \"developing\": \"You say what each part \\\"does\\\"\","
	    " \"secure\": \"You compare plant and animal cells\"}", &j,
	    "/v1/units/%lld/levels", unit), 200);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(json_object_get(j,
	    "levels"), "emerging"), "unit")), "You can name a cell's nucleus & membrane");
	json_decref(j);
	url = progress_url(&pupil);
	ck_assert_int_eq(page("GET", strstr(url, "/p/"), NULL, &html), 200);
	/* the pupil is Emerging: that level's and the next one's, escaped */
	ck_assert_msg(strstr(html, "You can name a cell&#39;s nucleus &amp; membrane") != NULL,
	    "the unit's own descriptor of the pupil's level is not on the page");
	ck_assert_msg(strstr(html, "You say what each part &quot;does&quot;") != NULL,
	    "the unit's own descriptor of the next level is not on the page");
	free(html);
	free(url);
	/* null removes one */
	ck_assert_int_eq(apitest_json("PUT", admin, "{\"secure\": null}", &j,
	    "/v1/units/%lld/levels", unit), 200);
	json_decref(j);
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM unit_level WHERE level = 'secure'"),
	    0);
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM unit_level"), 2);
}
END_TEST

/* A teacher sees what the pupil sees, read-only; nobody else. */
START_TEST(test_teacher_view)
{
	long long pupil, outsider;
	char *url = progress_url(&pupil), *html = NULL;
	json_t *j = NULL;
	const char *view;

	free(url);
	ck_assert_int_eq(apitest_json("POST", teacher, "{}", &j, "/v1/pupils/%lld/view-link",
	    pupil), 200);
	view = strstr(apitest_jstr(j, "url"), "/p/");
	ck_assert_ptr_nonnull(view);
	ck_assert_int_eq(page("GET", view, NULL, &html), 200);
	ck_assert_ptr_nonnull(strstr(html, "A teacher's view"));
	ck_assert_ptr_nonnull(strstr(html, "Your units"));
	ck_assert_ptr_null(strstr(html, "<form"));	/* nobody answers for the pupil */
	free(html);
	json_decref(j);
	/* a pupil outside the teacher's classes, another school: no such pupil */
	outsider = apitest_sql_int("SELECT min(p.pupil_id) FROM pupil p WHERE p.school_id = 1"
	    " AND NOT EXISTS (SELECT 1 FROM class_pupil cp JOIN class k USING (school_id, class_id)"
	    " WHERE cp.pupil_id = p.pupil_id AND k.external_id = 'class-8a-sci')");
	ck_assert_int_eq(apitest_json("POST", teacher, "{}", NULL, "/v1/pupils/%lld/view-link",
	    outsider), 404);
	ck_assert_int_eq(apitest_json("POST", other, "{}", NULL, "/v1/pupils/%lld/view-link",
	    pupil), 404);
	ck_assert_int_eq(apitest_json("POST", admin, "{}", NULL, "/v1/pupils/%lld/view-link",
	    outsider), 200);
}
END_TEST

/*
 * Families: one guardian linked to two pupils of 8A Science gets one
 * digest.guardian per pupil on the digest weekday (Monday here), with
 * what was practised, levels that moved, a tip and the pupil's page; a
 * school that switches it off sends none the next week.
 */
START_TEST(test_family_digest)
{
	json_t *root, *j;
	char *payload;
	long long p1 = apitest_sql_int("SELECT min(pupil_id) FROM guardian_pupil");

	ck_assert(apitest_wait_sql(2, 20000, "SELECT count(*) FROM delivery"
	    " WHERE event_type = 'digest.guardian'"));
	/* the flag job is done with the school for that time: families included */
	ck_assert(apitest_wait_sql(1, 20000, "SELECT count(*) FROM school_flag_job WHERE school_id = 1"
	    " AND done_at >= '2026-09-21T15:30:00Z'"));
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM delivery WHERE event_type ="
	    " 'digest.guardian'"), 2);
	ck_assert_int_eq(apitest_sql_int("SELECT count(DISTINCT payload::jsonb #>> '{data,pupil,id}')"
	    " FROM delivery WHERE event_type = 'digest.guardian'"), 2);
	payload = apitest_sql("SELECT payload FROM delivery WHERE event_type = 'digest.guardian'"
	    " AND (payload::jsonb #>> '{data,pupil,id}')::bigint = %lld", p1);
	root = json_loads(payload, 0, NULL);
	ck_assert_ptr_nonnull(root);
	j = json_object_get(root, "data");
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(j, "guardians"), 0)),
	    "g-family-1");
	/* the week before Monday 21 September: the three answers and the level made for it */
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(j, "practised"),
	    "answers")), 3);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(j, "practised"),
	    "right")), 2);
	ck_assert_int_eq(json_array_size(json_object_get(j, "levels_changed")), 1);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(j,
	    "levels_changed"), 0), "to")), "developing");
	ck_assert_str_eq(json_string_value(json_object_get(j, "week")), "2026-09-21");
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(j, "progress_url")), "/p/"));
	ck_assert(json_string_length(json_object_get(j, "encourage")) > 20);
	ck_assert_ptr_null(strstr(payload, "given_name"));	/* no names in a family's note */
	json_decref(root);
	free(payload);
	/* switched off: the next Monday, nothing */
	ck_assert_int_eq(apitest_json("PATCH", admin, "{\"guardian_digest\": false}", NULL,
	    "/v1/school"), 200);
	ck_assert(apitest_set_clock(admin, "2026-09-28T15:30:00Z"));
	ck_assert(apitest_wait_sql(1, 30000, "SELECT count(*) FROM school_flag_job WHERE school_id = 1"
	    " AND done_at >= '2026-09-28T15:30:00Z'"));
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM delivery WHERE event_type ="
	    " 'digest.guardian'"), 2);
	/* while the teachers' digests of that Monday went out */
	ck_assert_int_gt(apitest_sql_int("SELECT count(*) FROM class_digest WHERE school_id = 1"
	    " AND week = '2026-09-28'"), 0);
}
END_TEST

struct shown {
	const char *path;
	long status;
};

static bool
page_back(void *arg)
{
	struct shown *sh = arg;
	char *html = NULL;

	sh->status = page("GET", sh->path, NULL, &html);
	free(html);
	return sh->status == 200;
}

/* PostgreSQL away: a polite page, no hanging; back once it is. */
START_TEST(test_page_database_down)
{
	long long pupil;
	char *url = progress_url(&pupil), *html = NULL;
	struct shown sh = { strstr(url, "/p/"), 0 };

	apitest_db_close();
	pgtest_stop();
	ck_assert_int_eq(page("GET", sh.path, NULL, &html), 503);
	ck_assert_ptr_nonnull(strstr(html, "try again"));
	ck_assert_ptr_null(strstr(html, "Your level"));
	free(html);
	ck_assert_int_eq(apitest_json("POST", teacher, "{}", NULL, "/v1/pupils/%lld/view-link",
	    pupil), 503);
	pgtest_resume();
	apitest_db_open(conninfo);
	/* the pool reconnects with backoff (at most 2 s between tries) */
	ck_assert(apitest_wait(page_back, &sh, 10000));
	free(url);
}
END_TEST

/* Last: moves the clock past the link's two weeks. */
START_TEST(test_expired_link)
{
	long long pupil;
	char *url = progress_url(&pupil), *html = NULL;

	ck_assert(apitest_set_clock(admin, "2026-10-09T15:30:00Z"));
	ck_assert_int_eq(page("GET", strstr(url, "/p/"), NULL, &html), 410);
	ck_assert_ptr_nonnull(strstr(html, "expired"));
	ck_assert_ptr_null(strstr(html, "Your level"));
	free(html);
	free(url);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("pupil");
	TCase *tc = tcase_create("pupil");
	int failed;

	snprintf(conninfo, sizeof conninfo, "%s", pgtest_start());
	apitest_env(conninfo, "5s");
	CKTEST_MUST(apitest_demo_answering(conninfo, admin, other, sizeof admin));
	/* a family: one guardian of two 8A Science pupils; digests on Mondays */
	CKTEST_MUST(apitest_sql_ok("INSERT INTO guardian (school_id, external_id, updated_at)"
	    " VALUES (1, 'g-family-1', now())"));
	CKTEST_MUST(apitest_sql_ok("INSERT INTO guardian_pupil (school_id, guardian_id, pupil_id)"
	    " SELECT 1, (SELECT guardian_id FROM guardian WHERE external_id = 'g-family-1'), cp.pupil_id"
	    " FROM class_pupil cp JOIN class k USING (school_id, class_id)"
	    " WHERE k.external_id = 'class-8a-sci' ORDER BY cp.pupil_id LIMIT 2"));
	CKTEST_MUST(apitest_sql_ok("UPDATE school SET digest_weekday = 1 WHERE school_id = 1"));
	/* the first of them practised last week: 3 answers, 2 right, a level up */
	CKTEST_MUST(apitest_sql_ok("INSERT INTO review (school_id, pupil_id, question_id, reviewed_at,"
	    " rating, correct, elapsed_days, retrievability, stability, difficulty)"
	    " SELECT 1, (SELECT min(pupil_id) FROM guardian_pupil), q.question_id,"
	    " '2026-09-17T10:00:00Z', CASE WHEN n < 3 THEN 3 ELSE 1 END, n < 3, 1, 0.9, 2, 5"
	    " FROM (SELECT question_id, row_number() OVER (ORDER BY question_id) AS n FROM question"
	    "  WHERE school_id = 1 LIMIT 3) q"));
	CKTEST_MUST(apitest_sql_ok("INSERT INTO mastery_history (school_id, pupil_id, unit_id,"
	    " changed_at, from_level, to_level, recall) SELECT 1, (SELECT min(pupil_id) FROM"
	    " guardian_pupil), unit_id, '2026-09-18T10:00:00Z', 0, 1, 0.6 FROM unit"
	    " WHERE school_id = 1 AND external_id = 'sci-cells'"));
	CKTEST_MUST(apitest_teacher_token(teacher, sizeof teacher, "SELECT min(ct.teacher_id)::text"
	    " FROM class_teacher ct JOIN class k USING (school_id, class_id)"
	    " WHERE k.school_id = 1 AND k.external_id = 'class-8a-sci'"));
	if (!apitest_daemon_start()) {
		apitest_daemon_dump_log();
		return EXIT_FAILURE;
	}
	CKTEST_MUST(apitest_set_clock(admin, "2026-09-21T15:30:00Z"));	/* Monday 16:30 London */
	CKTEST_MUST(apitest_wait_sql(1, 10000, "SELECT least(count(*), 1) FROM delivery"
	    " WHERE event_type = 'prompt.batch'"));
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_family_digest);	/* first: its week is the one made below */
	tcase_add_test(tc, test_page_shows_the_pupil);
	tcase_add_test(tc, test_links_refused);
	tcase_add_test(tc, test_descriptors);
	tcase_add_test(tc, test_teacher_view);
	tcase_add_test(tc, test_page_database_down);
	tcase_add_test(tc, test_expired_link);
	suite_add_tcase(s, tc);
	failed = cktest_run_nofork(s);
	return apitest_finish(failed);
}
