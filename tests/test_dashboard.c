/*
 * test_dashboard.c: what the teachers' dashboard stands on, over real HTTP
 * against the real daemon: its static files (types, CSP, ETag, 304, no
 * path tricks), sign-in links (single use, expiry, bad codes), sessions
 * (expiry, sign-out), /v1/me, a class's units with taught and re-taught
 * dates, and progress week by week rebuilt from the reviews, with scoping
 * (another class's teacher, another school: 404).
 *
 * The school: class 21 (teacher 41; pupils 31-34) was taught unit 11
 * (4 questions) on Tuesday 2026-09-01; unit 12 is not taught. On 09-02
 * the pupils answered every question of unit 11, leaving stability 100
 * days (31), 3.5 days (32) and 0.1 days (33, 34). Today is Tuesday
 * 2026-09-29 in London: the class mean recall (0.63) is below 0.7, so the
 * unit is forgotten, by pupils 33 and 34 (32 is at 0.72).
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>

#include "apitest.h"
#include "cktest.h"
#include "pgtest.h"

static char admin[128], teacher1[128], teacher2[128], other[128];
static char conninfo[512], webdir[256];


/* ---- static files ---- */

START_TEST(test_static)
{
	long st = 0;
	char *raw = NULL, *hdr = NULL, etag[80], buf[400], inm[100];
	const char *extra[2] = { inm, NULL };

	api_call("GET", "/dashboard", NULL, NULL, NULL, &st, NULL, &hdr);
	ck_assert_int_eq(st, 301);
	ck_assert_str_eq(apitest_header(hdr, "Location", buf, sizeof buf), "/dashboard/");
	free(hdr);

	api_call("GET", "/dashboard/", NULL, NULL, NULL, &st, &raw, &hdr);
	ck_assert_int_eq(st, 200);
	ck_assert_str_eq(raw, "<!doctype html><title>t</title>\n");
	ck_assert_str_eq(apitest_header(hdr, "Content-Type", buf, sizeof buf), "text/html; charset=utf-8");
	ck_assert_ptr_nonnull(strstr(apitest_header(hdr, "Content-Security-Policy", buf, sizeof buf),
	    "default-src 'none'; script-src 'self'"));
	ck_assert_str_eq(apitest_header(hdr, "Cache-Control", buf, sizeof buf), "no-cache");
	ck_assert_str_eq(apitest_header(hdr, "X-Content-Type-Options", buf, sizeof buf), "nosniff");
	ck_assert_ptr_nonnull(apitest_header(hdr, "ETag", etag, sizeof etag));
	free(raw);
	free(hdr);

	/* Revalidation: the same ETag is a 304 with no body. */
	snprintf(inm, sizeof inm, "If-None-Match: %s", etag);
	api_call_ex("GET", "/dashboard/", NULL, NULL, NULL, 0, extra, &st, &raw, NULL);
	ck_assert_int_eq(st, 304);
	ck_assert_str_eq(raw != NULL ? raw : "", "");
	free(raw);

	api_call("GET", "/dashboard/app.js", NULL, NULL, NULL, &st, &raw, &hdr);
	ck_assert_int_eq(st, 200);
	ck_assert_str_eq(apitest_header(hdr, "Content-Type", buf, sizeof buf),
	    "text/javascript; charset=utf-8");
	ck_assert_str_eq(raw, "'use strict';\n");
	free(raw);
	free(hdr);

	/* Nothing outside the directory, no dot files, nothing unknown. */
	ck_assert_int_eq(apitest_json("GET", NULL, NULL, NULL, "/dashboard/nope.js"), 404);
	ck_assert_int_eq(apitest_json("GET", NULL, NULL, NULL, "/dashboard/.secret.js"), 404);
	ck_assert_int_eq(apitest_json("GET", NULL, NULL, NULL, "/dashboard/notes.bak"), 404);
	ck_assert_int_eq(apitest_json("GET", NULL, NULL, NULL, "%s", "/dashboard/..%2f..%2fetc%2fpasswd"), 404);
	ck_assert_int_eq(apitest_json("GET", NULL, NULL, NULL, "%s", "/dashboard/%2e%2e"), 404);
	ck_assert_int_eq(apitest_json("POST", NULL, "{}", NULL, "/dashboard/app.js"), 405);
	/* A NUL cuts no name short: index.html%00.png is not index.html. */
	ck_assert_int_eq(apitest_json("GET", NULL, NULL, NULL, "%s", "/dashboard/index.html%00.png"), 404);
	ck_assert_int_eq(apitest_json("GET", NULL, NULL, NULL, "%s", "/dashboard/app.js%00"), 404);
	ck_assert_int_eq(apitest_json("GET", NULL, NULL, NULL, "%s", "/dashboard/%00"), 404);
}
END_TEST

/* ---- sign-in links and sessions ---- */

/* `recalld token link` for args; the code from the printed link into code. */
static bool
make_link(char *code, size_t len, const char *teacher)
{
	char *out = NULL, *p;
	int rc = teacher != NULL ?
	    apitest_recalld(&out, "token", "link", "--school", "1", "--teacher", teacher, (char *)NULL) :
	    apitest_recalld(&out, "token", "link", "--school", "1", "--admin", (char *)NULL);
	bool ok = false;

	if (rc == 0 && out != NULL && strncmp(out, "http://127.0.0.1:", 17) == 0 &&
	    (p = strstr(out, "/dashboard/#signin=")) != NULL) {
		snprintf(code, len, "%s", p + strlen("/dashboard/#signin="));
		code[strcspn(code, "\n")] = '\0';
		ok = strncmp(code, "rcs_1_", 6) == 0;
	}
	free(out);
	return ok;
}

static long
signin(const char *code, char *token, size_t len)
{
	char body[256];
	json_t *b = NULL;
	long st;

	snprintf(body, sizeof body, "{\"code\": \"%s\"}", code);
	st = apitest_json("POST", NULL, body, &b, "/v1/auth/signin");
	if (st == 201 && token != NULL)
		snprintf(token, len, "%s", json_string_value(json_object_get(b, "token")));
	json_decref(b);
	return st;
}

START_TEST(test_signin)
{
	char code[128], code2[128], session[128], body[256];
	json_t *b = NULL;
	char *out = NULL;

	ck_assert(make_link(code, sizeof code, "41"));
	ck_assert_int_eq(signin(code, session, sizeof session), 201);
	ck_assert_int_eq(strncmp(session, "rcl_1_", 6), 0);

	/* The session is the teacher's, and it ends on its own. */
	ck_assert_int_eq(apitest_json("GET", session, NULL, &b, "/v1/me"), 200);
	ck_assert_str_eq(json_string_value(json_object_get(b, "role")), "teacher");
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(b, "teacher"), "id")), 41);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(b, "teacher"),
	    "given_name")), "Joy");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(b, "school"),
	    "local_date")), "2026-09-29");
	ck_assert(json_is_string(json_object_get(b, "expires_at")));
	json_decref(b);
	ck_assert_int_eq(apitest_json("GET", session, NULL, NULL, "/v1/classes/21/flags"), 200);
	ck_assert_int_eq(apitest_json("GET", session, NULL, NULL, "/v1/pupils"), 200);

	/* Single use: the second time says so. */
	ck_assert_int_eq(apitest_json("POST", NULL,
	    (snprintf(body, sizeof body, "{\"code\": \"%s\"}", code), body), &b, "/v1/auth/signin"), 410);
	ck_assert_str_eq(json_string_value(json_object_get(b, "type")), "/problems/signin-link-used");
	json_decref(b);

	/* Expired, unknown, tampered, malformed, wrong types. */
	ck_assert(make_link(code2, sizeof code2, NULL));
	free(apitest_sql("UPDATE signin_code SET expires_at = now() - interval '1 minute'"
	    " WHERE code_id = (SELECT max(code_id) FROM signin_code)"));
	ck_assert_int_eq(apitest_json("POST", NULL,
	    (snprintf(body, sizeof body, "{\"code\": \"%s\"}", code2), body), &b, "/v1/auth/signin"), 410);
	ck_assert_str_eq(json_string_value(json_object_get(b, "type")), "/problems/signin-link-expired");
	json_decref(b);
	code2[strlen(code2) - 1] = code2[strlen(code2) - 1] == 'A' ? 'B' : 'A';
	ck_assert_int_eq(signin(code2, NULL, 0), 401);
	code2[4] = '2';	/* another school's id on this secret */
	ck_assert_int_eq(signin(code2, NULL, 0), 401);
	ck_assert_int_eq(signin(admin, NULL, 0), 401);	/* a token is not a code */
	ck_assert_int_eq(signin("rcs_1_x", NULL, 0), 401);
	ck_assert_int_eq(apitest_json("POST", NULL, "{\"code\": ", NULL, "/v1/auth/signin"), 400);
	ck_assert_int_eq(apitest_json("POST", NULL, "{\"code\": 7}", NULL, "/v1/auth/signin"), 422);
	ck_assert_int_eq(apitest_json("POST", NULL, "{\"code\": \"a\", \"x\": 1}", NULL, "/v1/auth/signin"), 422);
	ck_assert_int_eq(apitest_json("POST", NULL, "[]", NULL, "/v1/auth/signin"), 400);
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM api_token WHERE expires_at IS NOT NULL"), 1);

	/* A teacher no longer active gets no session from an old link. */
	ck_assert(make_link(code2, sizeof code2, "42"));
	free(apitest_sql("UPDATE teacher SET active = false WHERE teacher_id = 42"));
	ck_assert_int_eq(signin(code2, NULL, 0), 401);
	free(apitest_sql("UPDATE teacher SET active = true WHERE teacher_id = 42"));

	/* The CLI refuses what makes no sense. */
	ck_assert_int_eq(apitest_recalld(&out, "token", "link", "--school", "1", (char *)NULL), 2);
	free(out);
	ck_assert_int_eq(apitest_recalld(&out, "token", "link", "--school", "1", "--admin",
	    "--teacher", "41", (char *)NULL), 2);
	free(out);
	ck_assert_int_eq(apitest_recalld(&out, "token", "link", "--school", "1", "--admin",
	    "--ttl", "soon", (char *)NULL), 2);
	free(out);
	ck_assert_int_eq(apitest_recalld(&out, "token", "link", "--school", "1", "--teacher", "999",
	    (char *)NULL), 1);
	free(out);

	/* Signing out ends the session at once. */
	ck_assert_int_eq(apitest_json("POST", session, NULL, &b, "/v1/auth/signout"), 200);
	ck_assert(json_is_true(json_object_get(b, "signed_out")));
	json_decref(b);
	ck_assert_int_eq(apitest_json("GET", session, NULL, NULL, "/v1/me"), 401);

	/* A session past its end is refused (checked before any cache holds it). */
	ck_assert(make_link(code, sizeof code, NULL));
	ck_assert_int_eq(signin(code, session, sizeof session), 201);
	free(apitest_sql("UPDATE api_token SET expires_at = now() - interval '1 second'"
	    " WHERE token_id = (SELECT max(token_id) FROM api_token)"));
	ck_assert_int_eq(apitest_json("GET", session, NULL, NULL, "/v1/me"), 401);

	/* ...and one that ends while the daemon's token cache holds it, too. */
	ck_assert(make_link(code, sizeof code, NULL));
	ck_assert_int_eq(signin(code, session, sizeof session), 201);
	free(apitest_sql("UPDATE api_token SET expires_at = now() + interval '1 second'"
	    " WHERE token_id = (SELECT max(token_id) FROM api_token)"));
	ck_assert_int_eq(apitest_json("GET", session, NULL, NULL, "/v1/me"), 200);	/* now cached */
	/* until it has ended by the database's clock, which is the daemon's wall clock */
	ck_assert(apitest_wait_sql(1, 5000, "SELECT count(*) FROM api_token WHERE token_id ="
	    " (SELECT max(token_id) FROM api_token) AND expires_at <= now()"));
	ck_assert_int_eq(apitest_json("GET", session, NULL, NULL, "/v1/me"), 401);

	/* Signing out with a long-lived token only forgets it on the page. */
	ck_assert_int_eq(apitest_json("POST", teacher2, NULL, &b, "/v1/auth/signout"), 200);
	ck_assert(json_is_false(json_object_get(b, "signed_out")));
	json_decref(b);
	ck_assert_int_eq(apitest_json("GET", teacher2, NULL, NULL, "/v1/me"), 200);
}
END_TEST

START_TEST(test_me)
{
	json_t *b = NULL;

	ck_assert_int_eq(apitest_json("GET", admin, NULL, &b, "/v1/me"), 200);
	ck_assert_str_eq(json_string_value(json_object_get(b, "role")), "admin");
	ck_assert(json_is_null(json_object_get(b, "teacher")));
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(b, "school"), "name")), "A");
	json_decref(b);
	ck_assert_int_eq(apitest_json("GET", NULL, NULL, NULL, "/v1/me"), 401);
}
END_TEST

/* ---- units, taught and re-taught ---- */

START_TEST(test_units)
{
	json_t *b = NULL, *items, *u;

	ck_assert_int_eq(apitest_json("GET", teacher1, NULL, &b, "/v1/classes/21/units"), 200);
	items = json_object_get(b, "items");
	ck_assert_int_eq(json_array_size(items), 2);
	u = json_array_get(items, 0);
	ck_assert_int_eq(json_integer_value(json_object_get(u, "id")), 11);
	ck_assert_str_eq(json_string_value(json_object_get(u, "taught_on")), "2026-09-01");
	ck_assert(json_is_null(json_object_get(u, "retaught_on")));
	ck_assert_int_eq(json_integer_value(json_object_get(u, "questions")), 4);
	ck_assert(json_is_string(json_object_get(u, "flag")));	/* the flag job may have run */
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(u, "course"), "name")),
	    "KS3 Science");
	u = json_array_get(items, 1);
	ck_assert_int_eq(json_integer_value(json_object_get(u, "id")), 12);
	ck_assert(json_is_null(json_object_get(u, "taught_on")));
	json_decref(b);

	/* Re-taught: only a taught unit, only in the teacher's own class. */
	ck_assert_int_eq(apitest_json("POST", teacher1, "{}", &b, "/v1/classes/21/units/12/retaught"), 404);
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(b, "detail")), "taught first"));
	json_decref(b);
	ck_assert_int_eq(apitest_json("POST", teacher2, "{}", NULL, "/v1/classes/21/units/11/retaught"), 404);
	ck_assert_int_eq(apitest_json("POST", other, "{}", NULL, "/v1/classes/21/units/11/retaught"), 404);
	ck_assert_int_eq(apitest_json("POST", teacher1,
	    "{\"date\": \"yesterday\"}", NULL, "/v1/classes/21/units/11/retaught"), 422);
	ck_assert_int_eq(apitest_json("POST", teacher1,
	    "{\"day\": \"2026-09-28\"}", NULL, "/v1/classes/21/units/11/retaught"), 422);
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM taught WHERE retaught_on IS NOT NULL"), 0);
	ck_assert_int_eq(apitest_json("POST", teacher1,
	    "{\"date\": \"2026-09-28\"}", &b, "/v1/classes/21/units/11/retaught"), 200);
	ck_assert_str_eq(json_string_value(json_object_get(b, "retaught_on")), "2026-09-28");
	ck_assert_str_eq(json_string_value(json_object_get(b, "taught_on")), "2026-09-01");
	json_decref(b);
	ck_assert_int_eq(apitest_json("GET", teacher1, NULL, &b, "/v1/classes/21/taught"), 200);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(b, "items"), 0),
	    "retaught_on")), "2026-09-28");
	json_decref(b);

	ck_assert_int_eq(apitest_json("GET", teacher2, NULL, NULL, "/v1/classes/21/units"), 404);
	ck_assert_int_eq(apitest_json("GET", other, NULL, NULL, "/v1/classes/21/units"), 404);
	ck_assert_int_eq(apitest_json("GET", teacher1, NULL, NULL, "/v1/classes/99/units"), 404);
}
END_TEST

/* ---- progress week by week ---- */

static double
share_at(json_t *b, size_t unit, size_t week)
{
	json_t *v = json_array_get(json_object_get(json_array_get(json_object_get(b, "units"), unit),
	    "secure_share"), week);

	return json_is_null(v) ? -1.0 : json_real_value(v);
}

static const char *
level_at(json_t *b, size_t week)
{
	return json_string_value(json_array_get(json_object_get(json_array_get(json_object_get(
	    json_object_get(b, "pupil"), "units"), 0), "levels"), week));
}

START_TEST(test_progress)
{
	json_t *b = NULL, *weeks;

	ck_assert_int_eq(apitest_json("GET", teacher1, NULL, &b, "/v1/classes/21/progress"), 200);
	weeks = json_object_get(b, "weeks");
	ck_assert_int_eq(json_array_size(weeks), 5);
	ck_assert_str_eq(json_string_value(json_array_get(weeks, 0)), "2026-09-01");
	ck_assert_str_eq(json_string_value(json_array_get(weeks, 4)), "2026-09-29");
	ck_assert_int_eq(json_array_size(json_object_get(b, "units")), 1);
	ck_assert(json_is_null(json_object_get(b, "pupil")));
	/* Taught, nothing answered yet; 31 and 32 secure a week on; then 32's 3.5 days fade. */
	ck_assert_double_eq(share_at(b, 0, 0), 0.0);
	ck_assert_double_eq(share_at(b, 0, 1), 0.5);
	ck_assert_double_eq(share_at(b, 0, 2), 0.25);
	ck_assert_double_eq(share_at(b, 0, 4), 0.25);
	json_decref(b);

	ck_assert_int_eq(apitest_json("GET", teacher1, NULL, &b, "/v1/classes/21/progress?pupil_id=31"), 200);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(b, "pupil"), "id")), 31);
	ck_assert_str_eq(level_at(b, 0), "emerging");
	ck_assert_str_eq(level_at(b, 1), "mastery");
	ck_assert_str_eq(level_at(b, 4), "mastery");
	json_decref(b);
	ck_assert_int_eq(apitest_json("GET", teacher1, NULL, &b, "/v1/classes/21/progress?pupil_id=32"), 200);
	ck_assert_str_eq(level_at(b, 1), "secure");
	ck_assert_str_eq(level_at(b, 2), "developing");
	json_decref(b);
	ck_assert_int_eq(apitest_json("GET", teacher1, NULL, &b, "/v1/classes/21/progress?pupil_id=33"), 200);
	ck_assert_str_eq(level_at(b, 1), "developing");
	json_decref(b);
	ck_assert_int_eq(apitest_json("GET", teacher1, NULL, &b, "/v1/classes/21/progress?weeks=2"), 200);
	ck_assert_int_eq(json_array_size(json_object_get(b, "weeks")), 2);
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(b, "weeks"), 0)), "2026-09-22");
	json_decref(b);

	/* A class with nothing taught: today only, no units. */
	ck_assert_int_eq(apitest_json("GET", teacher2, NULL, &b, "/v1/classes/22/progress"), 200);
	ck_assert_int_eq(json_array_size(json_object_get(b, "weeks")), 1);
	ck_assert_int_eq(json_array_size(json_object_get(b, "units")), 0);
	json_decref(b);

	/* Bad input and scoping. */
	ck_assert_int_eq(apitest_json("GET", teacher1, NULL, NULL, "/v1/classes/21/progress?pupil_id=x"), 422);
	ck_assert_int_eq(apitest_json("GET", teacher1, NULL, NULL, "/v1/classes/21/progress?weeks=0"), 422);
	ck_assert_int_eq(apitest_json("GET", teacher1, NULL, NULL, "/v1/classes/21/progress?weeks=53"), 422);
	ck_assert_int_eq(apitest_json("GET", teacher1, NULL, NULL, "/v1/classes/21/progress?pupil_id=35"), 404);
	ck_assert_int_eq(apitest_json("GET", teacher1, NULL, NULL, "/v1/classes/21/progress?pupil_id=37"), 404);
	ck_assert_int_eq(apitest_json("GET", teacher2, NULL, NULL, "/v1/classes/21/progress"), 404);
	ck_assert_int_eq(apitest_json("GET", other, NULL, NULL, "/v1/classes/21/progress"), 404);
	ck_assert_int_eq(apitest_json("GET", other, NULL, NULL, "/v1/classes/21/progress?pupil_id=31"), 404);
	ck_assert_int_eq(apitest_json("GET", teacher1, NULL, NULL, "/v1/classes/23/progress"), 404);
}
END_TEST

/* ---- who is behind the flags ---- */

START_TEST(test_behind_flags)
{
	json_t *b = NULL, *pupils, *bf;

	/* The clock moving runs the flag job. */
	ck_assert(apitest_set_clock(admin, "2026-09-29T12:00:01Z"));
	ck_assert(apitest_wait_sql(1, 10000, "SELECT count(*) FROM flag WHERE school_id = 1"
	    " AND class_id = 21 AND unit_id = 11 AND status = 'forgotten'"));
	ck_assert_int_eq(apitest_sql_int("SELECT pupils FROM flag WHERE class_id = 21"), 2);

	ck_assert_int_eq(apitest_json("GET", teacher1, NULL, &b, "/v1/classes/21/mastery"), 200);
	bf = json_object_get(b, "behind_flags");
	ck_assert_int_eq(json_integer_value(json_object_get(bf, "units")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(bf, "pupils")), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(bf, "class_pupils")), 4);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(b, "units"), 0),
	    "flag")), "forgotten");
	pupils = json_object_get(b, "pupils");
	for (size_t i = 0; i < json_array_size(pupils); i++) {
		json_t *p = json_array_get(pupils, i);
		json_int_t id = json_integer_value(json_object_get(p, "id"));
		json_t *cell = json_array_get(json_object_get(p, "units"), 0);

		ck_assert_int_eq(json_is_true(json_object_get(cell, "behind_flag")), id >= 33);
	}
	json_decref(b);

	/* The flag shows the re-teaching; the units list shows the flag. */
	ck_assert_int_eq(apitest_json("GET", teacher1, NULL, &b, "/v1/classes/21/flags"), 200);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(b, "items"), 0),
	    "retaught_on")), "2026-09-28");
	json_decref(b);
	ck_assert_int_eq(apitest_json("GET", teacher1, NULL, &b, "/v1/classes/21/units"), 200);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(b, "items"), 0),
	    "flag")), "forgotten");
	json_decref(b);
}
END_TEST

static const char setup_sql[] =
    "INSERT INTO course (school_id, course_id, external_id, name, updated_at) VALUES"
    " (1, 1, 'sci', 'KS3 Science', now()), (2, 2, 'b-sci', 'Science', now());"
    "INSERT INTO unit (school_id, unit_id, course_id, external_id, name, position, updated_at) VALUES"
    " (1, 11, 1, 'cells', 'Cells', 1, now()), (1, 12, 1, 'forces', 'Forces', 2, now()),"
    " (2, 13, 2, 'b-cells', 'Cells', 1, now());"
    "INSERT INTO question (school_id, question_id, unit_id, external_id, kind, prompt, choices,"
    " correct_choice, updated_at)"
    " SELECT 1, 100 + i, 11, 'c' || i, 'mcq', 'Cells question ' || i, '[\"a\", \"b\"]'::jsonb, 1, now()"
    " FROM generate_series(1, 4) i UNION ALL"
    " SELECT 1, 200 + i, 12, 'f' || i, 'mcq', 'Forces question ' || i, '[\"a\", \"b\"]'::jsonb, 0, now()"
    " FROM generate_series(1, 2) i;"
    "INSERT INTO class (school_id, class_id, external_id, name, course_id, updated_at) VALUES"
    " (1, 21, '8a', '8A Science', 1, now()), (1, 22, '8b', '8B Science', 1, now()),"
    " (2, 23, 'b-8a', 'B 8A', 2, now());"
    "INSERT INTO pupil (school_id, pupil_id, external_id, given_name, family_name, updated_at) VALUES"
    " (1, 31, 'p31', 'Ada', 'L', now()), (1, 32, 'p32', 'Ben', NULL, now()),"
    " (1, 33, 'p33', NULL, NULL, now()), (1, 34, 'p34', NULL, NULL, now()),"
    " (1, 35, 'p35', NULL, NULL, now()), (2, 37, 'p37', NULL, NULL, now());"
    "INSERT INTO class_pupil (school_id, class_id, pupil_id, updated_at) VALUES"
    " (1, 21, 31, now()), (1, 21, 32, now()), (1, 21, 33, now()), (1, 21, 34, now()),"
    " (1, 22, 35, now()), (2, 23, 37, now());"
    "INSERT INTO teacher (school_id, teacher_id, external_id, given_name, family_name, updated_at)"
    " VALUES (1, 41, 't41', 'Joy', 'Okafor', now()), (1, 42, 't42', NULL, NULL, now());"
    "INSERT INTO class_teacher (school_id, class_id, teacher_id, updated_at) VALUES"
    " (1, 21, 41, now()), (1, 22, 42, now());"
    "INSERT INTO taught (school_id, class_id, unit_id, taught_on, updated_at) VALUES"
    " (1, 21, 11, '2026-09-01', now());"
    "INSERT INTO review (school_id, pupil_id, question_id, reviewed_at, rating, correct,"
    " elapsed_days, retrievability, stability, difficulty)"
    " SELECT 1, p, 100 + i, '2026-09-02 16:00+01', 3, true, 0, 1, s, 5"
    " FROM generate_series(1, 4) i, (VALUES (31, 100), (32, 3.5), (33, 0.1), (34, 0.1)) v(p, s);"
    /* the flag job reads memory states: the same as the last reviews */
    "INSERT INTO memory_state (school_id, pupil_id, question_id, stability, difficulty, reps,"
    " lapses, last_review, last_review_day, due_day)"
    " SELECT school_id, pupil_id, question_id, stability, difficulty, 1, 0, reviewed_at,"
    " '2026-09-02', '2026-09-03' FROM review;"
    "SELECT 1";

int
main(void)
{
	Suite *s = suite_create("dashboard");
	TCase *tc = tcase_create("dashboard");
	FILE *fp;
	int failed, code;

	snprintf(conninfo, sizeof conninfo, "%s", pgtest_start());
	apitest_env(conninfo, "5s");
	setenv("RECALLD_CLOCK_MODE", "manual", 1);
	setenv("RECALLD_CLOCK_START", "2026-09-29T12:00:00Z", 1);
	/* Our own dashboard files: this tests the serving, not the page. */
	snprintf(webdir, sizeof webdir, "/tmp/recalld-web.%ld", (long)getpid());
	CKTEST_MUST(mkdir(webdir, 0700) == 0);
	setenv("RECALLD_DASHBOARD_DIR", webdir, 1);
	{
		static const char *const files[][2] = {
			{ "index.html", "<!doctype html><title>t</title>\n" },
			{ "app.js", "'use strict';\n" },
			{ ".secret.js", "no\n" },
			{ "notes.bak", "no\n" },
		};
		char path[400];

		for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
			snprintf(path, sizeof path, "%s/%s", webdir, files[i][0]);
			CKTEST_MUST((fp = fopen(path, "w")) != NULL);
			fputs(files[i][1], fp);
			fclose(fp);
		}
	}
	CKTEST_MUST(apitest_two_schools("A", "B", admin, other, sizeof admin));
	apitest_db_open(conninfo);
	CKTEST_MUST(apitest_sql_ok("%s", setup_sql));
	CKTEST_MUST(apitest_token(teacher1, sizeof teacher1, "1", "teacher", "41"));
	CKTEST_MUST(apitest_token(teacher2, sizeof teacher2, "1", "teacher", "42"));
	if (!apitest_daemon_start()) {
		apitest_daemon_dump_log();
		return EXIT_FAILURE;
	}

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_static);
	tcase_add_test(tc, test_signin);
	tcase_add_test(tc, test_me);
	tcase_add_test(tc, test_units);
	tcase_add_test(tc, test_progress);
	tcase_add_test(tc, test_behind_flags);
	suite_add_tcase(s, tc);
	failed = cktest_run_nofork(s);
	code = apitest_finish(failed);
	{
		char cmd[300];
		snprintf(cmd, sizeof cmd, "rm -rf %s", webdir);
		if (system(cmd) != 0)
			fprintf(stderr, "test_dashboard: could not remove %s\n", webdir);
	}
	return code;
}
