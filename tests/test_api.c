/*
 * test_api.c: the /v1 school data API, black-box: the real recalld binary
 * serves on a private loopback port against a throwaway PostgreSQL, and the
 * tests speak HTTP to it (libcurl) and look at the database (libpq). Every
 * route and method, the roles, school isolation, and bad input.
 *
 * The daemon is shared by all tests, so they run without fork (CK_NOFORK)
 * and each test makes its own objects. At the end the daemon gets SIGTERM
 * and must exit 0: under AddressSanitizer that also proves it leaked nothing.
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <check.h>
#include <jansson.h>

#include "apitest.h"
#include "cktest.h"
#include "pgtest.h"
#include "util.h"

#define NOPE "9000000000"	/* a well-formed id that no school has */

/* The two schools, their tokens, and what main() seeds into them. */
static const char sa[] = "1", sb[] = "2";
static char tok_admin[128], tok_integ[128], tok_teacher[128], tok_teacher2[128], tok_b[128];
static long long a_t1, a_t2, a_co, a_c1, a_c2, a_p1, a_p2, a_u1, a_q1, a_mcq;
static long long b_t, b_co, b_c, b_p, b_u, b_q;

static const char *
hdr(const char *name)
{
	static char buf[512];

	return apitest_header(apitest_r.hdr, name, buf, sizeof buf);
}

/* An RFC 9457 problem with a stable type. */
#define PROBLEM(st, slug) do { \
	const char *ct_; \
	APITEST_ST(st); \
	ct_ = hdr("Content-Type"); \
	ck_assert_msg(ct_ != NULL && strncmp(ct_, "application/problem+json", 24) == 0, \
	    "%s %s: content type %s", apitest_r.method, apitest_r.path, ct_ ? ct_ : "(none)"); \
	ck_assert_msg(json_is_object(apitest_r.j), "%s %s: not JSON: %.600s", apitest_r.method, apitest_r.path, apitest_r.raw); \
	ck_assert_msg(strcmp(apitest_jstr(apitest_r.j, "type"), "/problems/" slug) == 0, \
	    "%s %s: type %s, want /problems/%s", apitest_r.method, apitest_r.path, apitest_jstr(apitest_r.j, "type"), slug); \
	ck_assert_int_eq(apitest_jint(apitest_r.j, "status"), (st)); \
	ck_assert_msg(*apitest_jstr(apitest_r.j, "title") != '\0', "problem without a title"); \
} while (0)

/* 422 naming this field. */
#define FIELD_ERROR(field) do { \
	PROBLEM(422, "validation-failed"); \
	ck_assert_msg(apitest_field_error(apitest_r.j, field), "%s %s: no error for field %s: %.600s", \
	    apitest_r.method, apitest_r.path, field, apitest_r.raw); \
} while (0)

/* {"items": [...], "next_cursor": null or "..."}, nothing else. */
#define LIST_SHAPE() do { \
	APITEST_ST(200); \
	ck_assert_msg(json_is_object(apitest_r.j) && json_object_size(apitest_r.j) == 2 && \
	    json_is_array(json_object_get(apitest_r.j, "items")) && \
	    (json_is_null(json_object_get(apitest_r.j, "next_cursor")) || \
	     json_is_string(json_object_get(apitest_r.j, "next_cursor"))), \
	    "%s %s: not a list answer: %.600s", apitest_r.method, apitest_r.path, apitest_r.raw); \
} while (0)

static size_t
nitems_(void)
{
	return json_array_size(json_object_get(apitest_r.j, "items"));
}

static json_t *
item(size_t i)
{
	return json_array_get(json_object_get(apitest_r.j, "items"), i);
}

/* Does the list answer hold an item with this id (key "id" or another)? */
static bool
list_has(const char *key, long long id)
{
	for (size_t i = 0; i < nitems_(); i++)
		if (apitest_jint(item(i), key) == id)
			return true;
	return false;
}

/* POST a body built with printf; the new id, or -1 (and why on stderr). */
static long long mk(const char *token, const char *coll, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static long long
mk(const char *token, const char *coll, const char *fmt, ...)
{
	va_list ap;
	char *body;

	va_start(ap, fmt);
	body = xvasprintf(fmt, ap);
	va_end(ap);
	apitest_req("POST", token, body, "/v1/%s", coll);
	free(body);
	if (apitest_r.status != 201 || apitest_jint(apitest_r.j, "id") < 1) {
		fprintf(stderr, "POST /v1/%s: %ld %s\n", coll, apitest_r.status, apitest_r.raw ? apitest_r.raw : "");
		return -1;
	}
	return apitest_jint(apitest_r.j, "id");
}

/* A fingerprint of every row of a school, to prove nothing changed. */
static char *
school_sum(const char *school)
{
	static const char *const tables[] = {
		"school", "school_calendar", "pupil", "teacher", "course", "class",
		"class_pupil", "class_teacher", "unit", "question", "question_version",
		"taught", "api_token", "idempotency", NULL,
	};
	char *q = xstrdup("SELECT md5(concat_ws('|'"), *more, *sum;

	for (int i = 0; tables[i] != NULL; i++) {
		more = xasprintf("%s, (SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), ''))"
		    " FROM %s t WHERE t.school_id = %s)", q, tables[i], school);
		free(q);
		q = more;
	}
	sum = apitest_sql("%s))", q);
	free(q);
	ck_assert_ptr_nonnull(sum);
	return sum;
}

struct sums {
	char *a, *b;
};

static struct sums
sums_take(void)
{
	struct sums s = { school_sum(sa), school_sum(sb) };

	return s;
}

/* Neither school changed since s was taken. */
#define SUMS_SAME(s) do { \
	char *a_ = school_sum(sa), *b_ = school_sum(sb); \
	bool same_a_ = strcmp(a_, (s).a) == 0, same_b_ = strcmp(b_, (s).b) == 0; \
	free(a_); \
	free(b_); \
	ck_assert_msg(same_a_, "school A's rows changed"); \
	ck_assert_msg(same_b_, "school B's rows changed"); \
	free((s).a); \
	free((s).b); \
} while (0)

/* Today in school A's own time zone. */
static char *
today_a(void)
{
	return apitest_sql("SELECT (now() AT TIME ZONE tz)::date::text FROM school WHERE school_id = %s", sa);
}

/* ---- 1. every route and method ---- */

struct crud {
	const char *coll, *table, *id_col;
	char *bodies[3];	/* three objects to create */
	const char *patch;	/* a PATCH of the first */
	char *filter;		/* "course_id=N" matching exactly the three, or NULL */
};

/* Create three, page through all, filter, get, patch, deactivate. */
static void
check_crud(struct crud *k)
{
	long long ids[3];
	json_t *made[3], *patched;
	char *want, *got = xstrdup(""), *cursor = NULL, *tmp;
	int pages = 0;

	for (int i = 0; i < 3; i++) {
		json_t *sent = json_loads(k->bodies[i], 0, NULL);
		const char *key;
		json_t *v;

		ck_assert_ptr_nonnull(sent);
		apitest_req("POST", tok_admin, k->bodies[i], "/v1/%s", k->coll);
		APITEST_ST(201);
		ck_assert_str_eq(hdr("Content-Type"), "application/json");
		ck_assert_int_gt(apitest_jint(apitest_r.j, "id"), 0);
		ck_assert(json_is_true(json_object_get(apitest_r.j, "active")));
		ck_assert(json_is_string(json_object_get(apitest_r.j, "updated_at")));
		ck_assert_ptr_null(json_object_get(apitest_r.j, "school_id"));
		json_object_foreach(sent, key, v)
			ck_assert_msg(json_equal(v, json_object_get(apitest_r.j, key)),
			    "POST /v1/%s: %s not as sent: %.600s", k->coll, key, apitest_r.raw);
		json_decref(sent);
		ids[i] = apitest_jint(apitest_r.j, "id");
		made[i] = json_incref(apitest_r.j);
		free(k->bodies[i]);
	}

	/* Page through the whole school, two at a time, with the cursor. */
	for (;;) {
		json_t *nc;
		apitest_req("GET", tok_admin, NULL, "/v1/%s?limit=2%s%s", k->coll,
		    cursor ? "&cursor=" : "", cursor ? cursor : "");
		LIST_SHAPE();
		pages++;
		ck_assert_int_le(nitems_(), 2);
		for (size_t i = 0; i < nitems_(); i++) {
			tmp = xasprintf("%s%s%lld", got, *got ? "," : "", apitest_jint(item(i), "id"));
			free(got);
			got = tmp;
		}
		nc = json_object_get(apitest_r.j, "next_cursor");
		free(cursor);
		cursor = json_is_string(nc) ? xstrdup(json_string_value(nc)) : NULL;
		if (cursor == NULL)
			break;
		ck_assert_int_eq(nitems_(), 2);
		ck_assert_int_lt(pages, 1000);
	}
	want = apitest_sql("SELECT string_agg(%s::text, ',' ORDER BY %s) FROM %s WHERE school_id = %s",
	    k->id_col, k->id_col, k->table, sa);
	ck_assert_int_ge(pages, 2);
	ck_assert_msg(strcmp(got, want) == 0, "/v1/%s pages: %s, want %s", k->coll, got, want);
	free(got);
	free(want);

	/* Bad list parameters. */
	apitest_req("GET", tok_admin, NULL, "/v1/%s?limit=0", k->coll);
	FIELD_ERROR("limit");
	apitest_req("GET", tok_admin, NULL, "/v1/%s?limit=501", k->coll);
	FIELD_ERROR("limit");
	apitest_req("GET", tok_admin, NULL, "/v1/%s?limit=x", k->coll);
	FIELD_ERROR("limit");
	apitest_req("GET", tok_admin, NULL, "/v1/%s?cursor=abc", k->coll);
	FIELD_ERROR("cursor");
	apitest_req("GET", tok_admin, NULL, "/v1/%s?cursor=99999999999999999999", k->coll);
	FIELD_ERROR("cursor");
	apitest_req("GET", tok_admin, NULL, "/v1/%s?active=maybe", k->coll);
	FIELD_ERROR("active");

	/* Filters. */
	apitest_req("GET", tok_admin, NULL, "/v1/%s?external_id=%s", k->coll,
	    apitest_jstr(made[1], "external_id"));
	LIST_SHAPE();
	ck_assert_int_eq(nitems_(), 1);
	ck_assert_int_eq(apitest_jint(item(0), "id"), ids[1]);
	apitest_req("GET", tok_admin, NULL, "/v1/%s?external_id=no-such-thing", k->coll);
	LIST_SHAPE();
	ck_assert_int_eq(nitems_(), 0);
	ck_assert(json_is_null(json_object_get(apitest_r.j, "next_cursor")));
	if (k->filter != NULL) {
		apitest_req("GET", tok_admin, NULL, "/v1/%s?%s", k->coll, k->filter);
		LIST_SHAPE();
		ck_assert_int_eq(nitems_(), 3);
		for (int i = 0; i < 3; i++)
			ck_assert_int_eq(apitest_jint(item((size_t)i), "id"), ids[i]);
		/* a filter and a page together */
		apitest_req("GET", tok_admin, NULL, "/v1/%s?%s&limit=2", k->coll, k->filter);
		LIST_SHAPE();
		ck_assert_int_eq(nitems_(), 2);
		tmp = xasprintf("%lld", ids[1]);
		ck_assert_str_eq(apitest_jstr(apitest_r.j, "next_cursor"), tmp);
		free(tmp);
		apitest_req("GET", tok_admin, NULL, "/v1/%s?%s&limit=2&cursor=%lld", k->coll, k->filter,
		    ids[1]);
		LIST_SHAPE();
		ck_assert_int_eq(nitems_(), 1);
		ck_assert_int_eq(apitest_jint(item(0), "id"), ids[2]);
		ck_assert(json_is_null(json_object_get(apitest_r.j, "next_cursor")));
		free(k->filter);
	}

	/* Get one. */
	apitest_req("GET", tok_admin, NULL, "/v1/%s/%lld", k->coll, ids[0]);
	APITEST_ST(200);
	ck_assert_msg(json_equal(apitest_r.j, made[0]), "GET differs from POST: %.600s", apitest_r.raw);

	/* Patch it: what was sent comes back, and GET agrees. */
	apitest_req("PATCH", tok_admin, k->patch, "/v1/%s/%lld", k->coll, ids[0]);
	APITEST_ST(200);
	{
		json_t *sent = json_loads(k->patch, 0, NULL), *v;
		const char *key;
		json_object_foreach(sent, key, v)
			ck_assert_msg(json_equal(v, json_object_get(apitest_r.j, key)),
			    "PATCH /v1/%s: %s not as sent: %.600s", k->coll, key, apitest_r.raw);
		json_decref(sent);
	}
	ck_assert_int_eq(apitest_jint(apitest_r.j, "id"), ids[0]);
	patched = json_incref(apitest_r.j);
	apitest_req("GET", tok_admin, NULL, "/v1/%s/%lld", k->coll, ids[0]);
	APITEST_ST(200);
	ck_assert(json_equal(apitest_r.j, patched));
	json_decref(patched);

	/* DELETE deactivates; the object stays, inactive. */
	apitest_req("DELETE", tok_admin, NULL, "/v1/%s/%lld", k->coll, ids[2]);
	APITEST_ST(200);
	ck_assert(json_is_false(json_object_get(apitest_r.j, "active")));
	apitest_req("GET", tok_admin, NULL, "/v1/%s/%lld", k->coll, ids[2]);
	APITEST_ST(200);
	ck_assert(json_is_false(json_object_get(apitest_r.j, "active")));
	apitest_req("GET", tok_admin, NULL, "/v1/%s?external_id=%s&active=false", k->coll,
	    apitest_jstr(made[2], "external_id"));
	LIST_SHAPE();
	ck_assert_int_eq(nitems_(), 1);
	apitest_req("GET", tok_admin, NULL, "/v1/%s?external_id=%s&active=true", k->coll,
	    apitest_jstr(made[2], "external_id"));
	LIST_SHAPE();
	ck_assert_int_eq(nitems_(), 0);
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM %s WHERE school_id = %s AND %s = %lld",
	    k->table, sa, k->id_col, ids[2]), 1);
	/* and PATCH brings it back */
	apitest_req("PATCH", tok_admin, "{\"active\": true}", "/v1/%s/%lld", k->coll, ids[2]);
	APITEST_ST(200);
	ck_assert(json_is_true(json_object_get(apitest_r.j, "active")));

	/* The integration token writes too; a teacher reads. */
	apitest_req("PATCH", tok_integ, "{}", "/v1/%s/%lld", k->coll, ids[1]);
	APITEST_ST(200);
	for (int i = 0; i < 3; i++)
		json_decref(made[i]);
}

START_TEST(test_pupils)
{
	struct crud k = {
		"pupils", "pupil", "pupil_id",
		{
			xstrdup("{\"external_id\": \"pu-1\", \"given_name\": \"Ada\", \"family_name\": \"L\", \"year_group\": \"Y9x\"}"),
			xstrdup("{\"external_id\": \"pu-2\", \"year_group\": \"Y9x\"}"),
			xstrdup("{\"external_id\": \"pu-3\", \"given_name\": \"Émile\", \"year_group\": \"Y9x\"}"),
		},
		"{\"given_name\": \"Grace\", \"family_name\": null}",
		xstrdup("year_group=Y9x"),
	};

	check_crud(&k);
}
END_TEST

START_TEST(test_teachers)
{
	struct crud k = {
		"teachers", "teacher", "teacher_id",
		{
			xstrdup("{\"external_id\": \"te-1\", \"given_name\": \"Alan\", \"email\": \"alan@example.org\"}"),
			xstrdup("{\"external_id\": \"te-2\"}"),
			xstrdup("{\"external_id\": \"te-3\", \"family_name\": \"Hopper\"}"),
		},
		"{\"email\": \"a.t@example.org\", \"given_name\": null}",
		NULL,
	};

	check_crud(&k);
}
END_TEST

START_TEST(test_courses)
{
	struct crud k = {
		"courses", "course", "course_id",
		{
			xstrdup("{\"external_id\": \"co-1\", \"name\": \"Maths\", \"exam_date\": \"2027-06-01\"}"),
			xstrdup("{\"external_id\": \"co-2\", \"name\": \"Physics\"}"),
			xstrdup("{\"external_id\": \"co-3\", \"name\": \"History\", \"exam_date\": null}"),
		},
		"{\"exam_date\": null, \"name\": \"Further maths\"}",
		NULL,
	};

	check_crud(&k);
}
END_TEST

START_TEST(test_classes)
{
	long long co = mk(tok_admin, "courses", "{\"external_id\": \"co-cl\", \"name\": \"Chemistry\"}");
	struct crud k = {
		"classes", "class", "class_id",
		{
			xasprintf("{\"external_id\": \"cl-1\", \"name\": \"9A\", \"course_id\": %lld}", co),
			xasprintf("{\"external_id\": \"cl-2\", \"name\": \"9B\", \"course_id\": %lld}", co),
			xasprintf("{\"external_id\": \"cl-3\", \"name\": \"9C\", \"course_id\": %lld}", co),
		},
		"{\"name\": \"9Z\", \"course_id\": null}",
		xasprintf("course_id=%lld", co),
	};

	ck_assert_int_gt(co, 0);
	check_crud(&k);
}
END_TEST

START_TEST(test_units)
{
	long long co = mk(tok_admin, "courses", "{\"external_id\": \"co-un\", \"name\": \"Biology\"}");
	struct crud k = {
		"units", "unit", "unit_id",
		{
			xasprintf("{\"course_id\": %lld, \"external_id\": \"un-1\", \"name\": \"Cells\", \"position\": 1}", co),
			xasprintf("{\"course_id\": %lld, \"external_id\": \"un-2\", \"name\": \"Genes\", \"position\": 2}", co),
			xasprintf("{\"course_id\": %lld, \"external_id\": \"un-3\", \"name\": \"Ecology\"}", co),
		},
		"{\"position\": 5, \"name\": \"Cell biology\"}",
		xasprintf("course_id=%lld", co),
	};

	ck_assert_int_gt(co, 0);
	check_crud(&k);
}
END_TEST

START_TEST(test_questions)
{
	long long u = mk(tok_admin, "units", "{\"course_id\": %lld, \"external_id\": \"un-qu\", \"name\": \"Algebra\"}", a_co);
	struct crud k = {
		"questions", "question", "question_id",
		{
			xasprintf("{\"unit_id\": %lld, \"external_id\": \"qu-1\", \"kind\": \"mcq\", \"prompt\": \"2+2?\","
			    " \"choices\": [\"3\", \"4\", \"5\"], \"correct_choice\": 1, \"explanation\": \"count\","
			    " \"fast_ms\": 2000, \"slow_ms\": 9000}", u),
			xasprintf("{\"unit_id\": %lld, \"external_id\": \"qu-2\", \"kind\": \"short\", \"prompt\": \"Capital of France?\","
			    " \"accepted_answers\": [\"Paris\", \"paris\"]}", u),
			xasprintf("{\"unit_id\": %lld, \"external_id\": \"qu-3\", \"kind\": \"self\", \"prompt\": \"Explain osmosis\"}", u),
		},
		"{\"explanation\": \"two and two\", \"slow_ms\": 8000}",
		xasprintf("unit_id=%lld", u),
	};

	ck_assert_int_gt(u, 0);
	check_crud(&k);
	/* kind filter */
	apitest_req("GET", tok_admin, NULL, "/v1/questions?unit_id=%lld&kind=short", u);
	LIST_SHAPE();
	ck_assert_int_eq(nitems_(), 1);
	ck_assert_str_eq(apitest_jstr(item(0), "external_id"), "qu-2");
	ck_assert_int_eq(apitest_jint(item(0), "version"), 1);
	apitest_req("GET", tok_admin, NULL, "/v1/questions?kind=essay");
	FIELD_ERROR("kind");
}
END_TEST

START_TEST(test_question_versions)
{
	long long q = mk(tok_admin, "questions", "{\"unit_id\": %lld, \"external_id\": \"qv-1\", \"kind\": \"mcq\","
	    " \"prompt\": \"Old prompt\", \"choices\": [\"a\", \"b\"], \"correct_choice\": 0}", a_u1);
	char *v;

	ck_assert_int_gt(q, 0);
	ck_assert_int_eq(apitest_jint(apitest_r.j, "version"), 1);

	/* A new prompt: version 2, and the old text kept in question_version. */
	apitest_req("PATCH", tok_admin, "{\"prompt\": \"New prompt\"}", "/v1/questions/%lld", q);
	APITEST_ST(200);
	ck_assert_int_eq(apitest_jint(apitest_r.j, "version"), 2);
	ck_assert_str_eq(apitest_jstr(apitest_r.j, "prompt"), "New prompt");
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM question_version WHERE school_id = %s"
	    " AND question_id = %lld", sa, q), 1);
	v = apitest_sql("SELECT version || ':' || kind || ':' || prompt || ':' || choices::text || ':' ||"
	    " correct_choice FROM question_version WHERE school_id = %s AND question_id = %lld", sa, q);
	ck_assert_str_eq(v, "1:mcq:Old prompt:[\"a\", \"b\"]:0");
	free(v);
	ck_assert_int_eq(apitest_sql_int("SELECT version FROM question WHERE school_id = %s"
	    " AND question_id = %lld", sa, q), 2);

	/* Latency thresholds are not content: no new version. */
	apitest_req("PATCH", tok_admin, "{\"fast_ms\": 1500}", "/v1/questions/%lld", q);
	APITEST_ST(200);
	ck_assert_int_eq(apitest_jint(apitest_r.j, "version"), 2);
	ck_assert_int_eq(apitest_jint(apitest_r.j, "fast_ms"), 1500);
	/* Nor is the same prompt again. */
	apitest_req("PATCH", tok_admin, "{\"prompt\": \"New prompt\", \"slow_ms\": 7000}", "/v1/questions/%lld", q);
	APITEST_ST(200);
	ck_assert_int_eq(apitest_jint(apitest_r.j, "version"), 2);
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM question_version WHERE school_id = %s"
	    " AND question_id = %lld", sa, q), 1);

	/* New choices: version 3. */
	apitest_req("PATCH", tok_admin, "{\"choices\": [\"a\", \"b\", \"c\"], \"correct_choice\": 2}",
	    "/v1/questions/%lld", q);
	APITEST_ST(200);
	ck_assert_int_eq(apitest_jint(apitest_r.j, "version"), 3);
	ck_assert_int_eq(apitest_sql_int("SELECT max(version) FROM question_version WHERE school_id = %s"
	    " AND question_id = %lld", sa, q), 2);

	/* A right choice out of range: 422, and no version, no history. */
	{
		struct sums s = sums_take();

		apitest_req("PATCH", tok_admin, "{\"correct_choice\": 5}", "/v1/questions/%lld", q);
		FIELD_ERROR("correct_choice");
		apitest_req("PATCH", tok_admin, "{\"correct_choice\": 10}", "/v1/questions/%lld", q);
		FIELD_ERROR("correct_choice");
		apitest_req("PATCH", tok_admin, "{\"choices\": null}", "/v1/questions/%lld", q);
		PROBLEM(422, "validation-failed");
		apitest_req("PATCH", tok_admin, "{\"version\": 9}", "/v1/questions/%lld", q);
		FIELD_ERROR("version");
		static const struct {
			const char *rest, *field;
		} bad[] = {
			{ "\"kind\": \"mcq\", \"choices\": [\"a\", \"b\"], \"correct_choice\": 2", "correct_choice" },
			{ "\"kind\": \"mcq\", \"choices\": [\"a\"], \"correct_choice\": 0", "correct_choice" },
			{ "\"kind\": \"mcq\"", "correct_choice" },
			{ "\"kind\": \"short\", \"accepted_answers\": []", "accepted_answers" },
			{ "\"kind\": \"short\"", "accepted_answers" },
			{ "\"kind\": \"short\", \"accepted_answers\": [\"\"]", "accepted_answers" },
			{ "\"kind\": \"mcq\", \"choices\": [\"a\", \"b\"], \"correct_choice\": -1", "correct_choice" },
		};
		for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
			char *b = xasprintf("{\"unit_id\": %lld, \"external_id\": \"qv-2\", \"prompt\": \"p\", %s}",
			    a_u1, bad[i].rest);
			apitest_req("POST", tok_admin, b, "/v1/questions");
			free(b);
			FIELD_ERROR(bad[i].field);
		}
		SUMS_SAME(s);
	}
	apitest_req("GET", tok_admin, NULL, "/v1/questions/%lld", q);
	APITEST_ST(200);
	ck_assert_int_eq(apitest_jint(apitest_r.j, "version"), 3);
	ck_assert_int_eq(apitest_jint(apitest_r.j, "correct_choice"), 2);
}
END_TEST

/* A multiple choice question must say which choice is right. */
START_TEST(test_mcq_needs_correct_choice)
{
	struct sums s = sums_take();

	{
		char *b = xasprintf("{\"unit_id\": %lld, \"external_id\": \"mc-1\", \"prompt\": \"p\","
		    " \"kind\": \"mcq\", \"choices\": [\"a\", \"b\"]}", a_u1);
		apitest_req("POST", tok_admin, b, "/v1/questions");
		free(b);
	}
	FIELD_ERROR("correct_choice");
	apitest_req("PATCH", tok_admin, "{\"correct_choice\": null}", "/v1/questions/%lld", a_mcq);
	FIELD_ERROR("correct_choice");
	SUMS_SAME(s);
}
END_TEST

START_TEST(test_school)
{
	struct sums s;
	long long id = strtoll(sa, NULL, 10);

	apitest_req("GET", tok_admin, NULL, "/v1/school");
	APITEST_ST(200);
	ck_assert_int_eq(apitest_jint(apitest_r.j, "id"), id);
	ck_assert_str_eq(apitest_jstr(apitest_r.j, "tz"), "Europe/London");
	ck_assert_int_eq(apitest_jint(apitest_r.j, "max_per_day"), 5);
	ck_assert_ptr_null(json_object_get(apitest_r.j, "school_id"));
	apitest_req("GET", tok_teacher, NULL, "/v1/school");
	APITEST_ST(200);
	apitest_req("GET", tok_integ, NULL, "/v1/school");
	APITEST_ST(200);
	apitest_req("GET", tok_b, NULL, "/v1/school");
	APITEST_ST(200);
	ck_assert_str_eq(apitest_jstr(apitest_r.j, "name"), "School B");

	apitest_req("PATCH", tok_admin, "{\"max_per_day\": 7, \"school_days\": [1, 2, 3, 4, 5, 6],"
	    " \"prompt_time\": \"15:30\", \"desired_retention\": 0.85, \"self_rating\": true}",
	    "/v1/school");
	APITEST_ST(200);
	ck_assert_int_eq(apitest_jint(apitest_r.j, "max_per_day"), 7);
	ck_assert_str_eq(apitest_jstr(apitest_r.j, "prompt_time"), "15:30:00");
	apitest_req("GET", tok_admin, NULL, "/v1/school");
	APITEST_ST(200);
	ck_assert_int_eq(apitest_jint(apitest_r.j, "max_per_day"), 7);
	ck_assert_int_eq(json_array_size(json_object_get(apitest_r.j, "school_days")), 6);
	ck_assert(json_is_true(json_object_get(apitest_r.j, "self_rating")));
	ck_assert_int_eq(apitest_sql_int("SELECT max_per_day FROM school WHERE school_id = %s", sa), 7);
	apitest_req("PATCH", tok_admin, "{\"tz\": \"America/New_York\"}", "/v1/school");
	APITEST_ST(200);
	ck_assert_str_eq(apitest_jstr(apitest_r.j, "tz"), "America/New_York");

	s = sums_take();
	apitest_req("PATCH", tok_admin, "{\"max_per_day\": 51}", "/v1/school");
	FIELD_ERROR("max_per_day");
	apitest_req("PATCH", tok_admin, "{\"max_per_day\": -1}", "/v1/school");
	FIELD_ERROR("max_per_day");
	apitest_req("PATCH", tok_admin, "{\"max_per_day\": 5.5}", "/v1/school");
	FIELD_ERROR("max_per_day");
	apitest_req("PATCH", tok_admin, "{\"tz\": \"Mars/Olympus_Mons\"}", "/v1/school");
	FIELD_ERROR("tz");
	apitest_req("PATCH", tok_admin, "{\"tz\": \"\"}", "/v1/school");
	FIELD_ERROR("tz");
	apitest_req("PATCH", tok_admin, "{\"school_days\": [0, 1]}", "/v1/school");
	FIELD_ERROR("school_days");
	apitest_req("PATCH", tok_admin, "{\"school_days\": [8]}", "/v1/school");
	FIELD_ERROR("school_days");
	apitest_req("PATCH", tok_admin, "{\"school_days\": \"mon\"}", "/v1/school");
	FIELD_ERROR("school_days");
	apitest_req("PATCH", tok_admin, "{\"prompt_time\": \"25:00\"}", "/v1/school");
	FIELD_ERROR("prompt_time");
	apitest_req("PATCH", tok_admin, "{\"desired_retention\": 1.5}", "/v1/school");
	FIELD_ERROR("desired_retention");
	apitest_req("PATCH", tok_admin, "{\"name\": \"\"}", "/v1/school");
	FIELD_ERROR("name");
	apitest_req("PATCH", tok_admin, "{\"active\": false}", "/v1/school");
	FIELD_ERROR("active");
	apitest_req("PATCH", tok_admin, "{\"id\": 2}", "/v1/school");
	FIELD_ERROR("id");
	/* every bad field is named at once */
	apitest_req("PATCH", tok_admin, "{\"max_per_day\": 99, \"flag_horizon_days\": 0, \"colour\": 1}",
	    "/v1/school");
	FIELD_ERROR("max_per_day");
	FIELD_ERROR("flag_horizon_days");
	FIELD_ERROR("colour");
	apitest_req("PATCH", tok_integ, "{\"max_per_day\": 3}", "/v1/school");
	PROBLEM(403, "forbidden");
	apitest_req("PATCH", tok_teacher, "{\"max_per_day\": 3}", "/v1/school");
	PROBLEM(403, "forbidden");
	SUMS_SAME(s);

	apitest_req("PATCH", tok_admin, "{\"tz\": \"Europe/London\", \"max_per_day\": 5,"
	    " \"school_days\": [1, 2, 3, 4, 5]}", "/v1/school");
	APITEST_ST(200);
	ck_assert_str_eq(apitest_jstr(apitest_r.j, "tz"), "Europe/London");
}
END_TEST

START_TEST(test_calendar)
{
	struct sums s;

	apitest_req("POST", tok_admin, "{\"date\": \"2026-12-25\", \"kind\": \"holiday\", \"name\": \"Christmas\"}",
	    "/v1/calendar");
	APITEST_ST(201);
	ck_assert_str_eq(apitest_jstr(apitest_r.j, "date"), "2026-12-25");
	ck_assert_str_eq(apitest_jstr(apitest_r.j, "kind"), "holiday");
	ck_assert_str_eq(apitest_jstr(apitest_r.j, "name"), "Christmas");
	apitest_req("POST", tok_admin, "{\"date\": \"2026-11-02\", \"kind\": \"training\"}", "/v1/calendar");
	APITEST_ST(201);
	apitest_req("POST", tok_admin, "{\"date\": \"2027-02-29\"}", "/v1/calendar");
	FIELD_ERROR("date");
	apitest_req("POST", tok_admin, "{\"date\": \"2027-02-15\"}", "/v1/calendar");
	APITEST_ST(201);
	ck_assert_str_eq(apitest_jstr(apitest_r.j, "kind"), "holiday");
	ck_assert(json_is_null(json_object_get(apitest_r.j, "name")));
	/* the same day again replaces it */
	apitest_req("POST", tok_admin, "{\"date\": \"2026-11-02\", \"kind\": \"closure\", \"name\": \"Snow\"}",
	    "/v1/calendar");
	APITEST_ST(201);
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM school_calendar WHERE school_id = %s"
	    " AND day = '2026-11-02' AND kind = 'closure'", sa), 1);

	apitest_req("GET", tok_admin, NULL, "/v1/calendar");
	LIST_SHAPE();
	ck_assert_int_eq(nitems_(), 3);
	ck_assert_str_eq(apitest_jstr(item(0), "date"), "2026-11-02");
	ck_assert_str_eq(apitest_jstr(item(2), "date"), "2027-02-15");
	apitest_req("GET", tok_teacher, NULL, "/v1/calendar?from=2026-12-01&to=2026-12-31");
	LIST_SHAPE();
	ck_assert_int_eq(nitems_(), 1);
	ck_assert_str_eq(apitest_jstr(item(0), "name"), "Christmas");
	apitest_req("GET", tok_admin, NULL, "/v1/calendar?from=2026-12-25");
	LIST_SHAPE();
	ck_assert_int_eq(nitems_(), 2);
	apitest_req("GET", tok_admin, NULL, "/v1/calendar?to=2026-12-24");
	LIST_SHAPE();
	ck_assert_int_eq(nitems_(), 1);

	s = sums_take();
	apitest_req("GET", tok_admin, NULL, "/v1/calendar?from=2026-13-01");
	FIELD_ERROR("from");
	apitest_req("GET", tok_admin, NULL, "/v1/calendar?to=soon");
	FIELD_ERROR("to");
	apitest_req("POST", tok_admin, "{\"date\": \"2026-12-26\", \"kind\": \"party\"}", "/v1/calendar");
	FIELD_ERROR("kind");
	apitest_req("POST", tok_admin, "{\"kind\": \"holiday\"}", "/v1/calendar");
	FIELD_ERROR("date");
	apitest_req("POST", tok_admin, "{\"date\": \"26/12/2026\"}", "/v1/calendar");
	FIELD_ERROR("date");
	apitest_req("POST", tok_admin, "{\"date\": \"2026-12-26\", \"when\": 1}", "/v1/calendar");
	FIELD_ERROR("when");
	apitest_req("POST", tok_admin, "{\"date\": \"2026-12-26\", \"name\": 5}", "/v1/calendar");
	FIELD_ERROR("name");
	apitest_req("POST", tok_teacher, "{\"date\": \"2026-12-26\"}", "/v1/calendar");
	PROBLEM(403, "forbidden");
	apitest_req("POST", tok_integ, "{\"date\": \"2026-12-26\"}", "/v1/calendar");
	PROBLEM(403, "forbidden");
	apitest_req("DELETE", tok_teacher, NULL, "/v1/calendar/2026-12-25");
	PROBLEM(403, "forbidden");
	apitest_req("DELETE", tok_admin, NULL, "/v1/calendar/2026-12-26");
	PROBLEM(404, "not-found");
	apitest_req("DELETE", tok_admin, NULL, "/v1/calendar/christmas");
	PROBLEM(404, "not-found");
	SUMS_SAME(s);

	apitest_req("DELETE", tok_admin, NULL, "/v1/calendar/2026-12-25");
	APITEST_ST(200);
	ck_assert_str_eq(apitest_jstr(apitest_r.j, "date"), "2026-12-25");
	apitest_req("DELETE", tok_admin, NULL, "/v1/calendar/2026-12-25");
	PROBLEM(404, "not-found");
	apitest_req("GET", tok_admin, NULL, "/v1/calendar?from=2026-12-01&to=2026-12-31");
	LIST_SHAPE();
	ck_assert_int_eq(nitems_(), 0);
}
END_TEST

START_TEST(test_enrollments)
{
	long long c = mk(tok_admin, "classes", "{\"external_id\": \"en-c\", \"name\": \"Enrol\"}");
	long long p = mk(tok_admin, "pupils", "{\"external_id\": \"en-p\"}");
	long long t = mk(tok_admin, "teachers", "{\"external_id\": \"en-t\"}");
	struct sums s;

	ck_assert(c > 0 && p > 0 && t > 0);
	apitest_req("GET", tok_admin, NULL, "/v1/classes/%lld/enrollments", c);
	LIST_SHAPE();
	ck_assert_int_eq(nitems_(), 0);

	apitest_req("POST", tok_admin, "{\"role\": \"pupil\", \"pupil_id\": 0}", "/v1/classes/%lld/enrollments", c);
	FIELD_ERROR("pupil_id");
	apitest_req("POST", tok_admin, NULL, "/v1/classes/%lld/enrollments", c);
	PROBLEM(400, "malformed-json");
	apitest_req("POST", tok_admin, "{\"role\": \"pupil\", \"pupil_id\": 1}", "/v1/classes/" NOPE "/enrollments");
	PROBLEM(404, "not-found");
	apitest_req("POST", tok_integ, NULL, "/v1/classes/%lld/enrollments", c);
	PROBLEM(400, "malformed-json");

	{
		char *body = xasprintf("{\"role\": \"pupil\", \"pupil_id\": %lld}", p);
		apitest_req("POST", tok_admin, body, "/v1/classes/%lld/enrollments", c);
		free(body);
	}
	APITEST_ST(201);
	ck_assert_str_eq(apitest_jstr(apitest_r.j, "role"), "pupil");
	ck_assert_int_eq(apitest_jint(apitest_r.j, "id"), p);
	ck_assert_int_eq(apitest_jint(apitest_r.j, "class_id"), c);
	ck_assert(json_is_true(json_object_get(apitest_r.j, "active")));
	{
		char *body = xasprintf("{\"role\": \"teacher\", \"teacher_id\": %lld}", t);
		apitest_req("POST", tok_integ, body, "/v1/classes/%lld/enrollments", c);
		free(body);
	}
	APITEST_ST(201);
	ck_assert_str_eq(apitest_jstr(apitest_r.j, "role"), "teacher");
	ck_assert_int_eq(apitest_jint(apitest_r.j, "id"), t);

	apitest_req("GET", tok_admin, NULL, "/v1/classes/%lld/enrollments", c);
	LIST_SHAPE();
	ck_assert_int_eq(nitems_(), 2);
	ck_assert_str_eq(apitest_jstr(item(0), "role"), "pupil");
	ck_assert_str_eq(apitest_jstr(item(0), "external_id"), "en-p");
	ck_assert_int_eq(apitest_jint(item(1), "id"), t);

	s = sums_take();
	apitest_req("POST", tok_admin, "{\"pupil_id\": 1}", "/v1/classes/%lld/enrollments", c);
	FIELD_ERROR("role");
	apitest_req("POST", tok_admin, "{\"role\": \"parent\", \"pupil_id\": 1}", "/v1/classes/%lld/enrollments", c);
	FIELD_ERROR("role");
	apitest_req("POST", tok_admin, "{\"role\": \"pupil\"}", "/v1/classes/%lld/enrollments", c);
	FIELD_ERROR("pupil_id");
	apitest_req("POST", tok_admin, "{\"role\": \"teacher\", \"pupil_id\": 1}", "/v1/classes/%lld/enrollments", c);
	FIELD_ERROR("teacher_id");
	apitest_req("POST", tok_admin, "{\"role\": \"pupil\", \"pupil_id\": \"1\"}", "/v1/classes/%lld/enrollments", c);
	FIELD_ERROR("pupil_id");
	apitest_req("POST", tok_admin, "{\"role\": \"pupil\", \"pupil_id\": " NOPE "}", "/v1/classes/%lld/enrollments", c);
	FIELD_ERROR("pupil_id");
	apitest_req("POST", tok_admin, "{\"role\": \"teacher\", \"teacher_id\": " NOPE "}", "/v1/classes/%lld/enrollments", c);
	FIELD_ERROR("teacher_id");
	apitest_req("POST", tok_teacher, "{\"role\": \"pupil\", \"pupil_id\": 1}", "/v1/classes/%lld/enrollments", a_c1);
	PROBLEM(403, "forbidden");
	apitest_req("DELETE", tok_teacher, NULL, "/v1/classes/%lld/enrollments/pupils/%lld", a_c1, a_p1);
	PROBLEM(403, "forbidden");
	apitest_req("DELETE", tok_admin, NULL, "/v1/classes/%lld/enrollments/pupils/" NOPE, c);
	PROBLEM(404, "not-found");
	/* people of the school who are not in this class */
	apitest_req("DELETE", tok_admin, NULL, "/v1/classes/%lld/enrollments/pupils/%lld", c, a_p2);
	PROBLEM(404, "not-found");
	apitest_req("DELETE", tok_admin, NULL, "/v1/classes/%lld/enrollments/teachers/%lld", c, a_t2);
	PROBLEM(404, "not-found");
	apitest_req("DELETE", tok_admin, NULL, "/v1/classes/%lld/enrollments/pupils/x", c);
	PROBLEM(404, "not-found");
	apitest_req("DELETE", tok_admin, NULL, "/v1/classes/%lld/enrollments/parents/%lld", c, p);
	PROBLEM(404, "not-found");
	SUMS_SAME(s);

	apitest_req("DELETE", tok_admin, NULL, "/v1/classes/%lld/enrollments/pupils/%lld", c, p);
	APITEST_ST(200);
	ck_assert(json_is_false(json_object_get(apitest_r.j, "active")));
	apitest_req("DELETE", tok_integ, NULL, "/v1/classes/%lld/enrollments/teachers/%lld", c, t);
	APITEST_ST(200);
	ck_assert(json_is_false(json_object_get(apitest_r.j, "active")));
	apitest_req("GET", tok_admin, NULL, "/v1/classes/%lld/enrollments", c);
	LIST_SHAPE();
	ck_assert_int_eq(nitems_(), 2);
	ck_assert(json_is_false(json_object_get(item(0), "active")));
	ck_assert(json_is_false(json_object_get(item(1), "active")));
	/* enrolling again reactivates */
	{
		char *body = xasprintf("{\"role\": \"pupil\", \"pupil_id\": %lld}", p);
		apitest_req("POST", tok_admin, body, "/v1/classes/%lld/enrollments", c);
		free(body);
	}
	APITEST_ST(201);
	ck_assert(json_is_true(json_object_get(apitest_r.j, "active")));
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM class_pupil WHERE school_id = %s"
	    " AND class_id = %lld", sa, c), 1);
}
END_TEST

START_TEST(test_taught)
{
	long long u2 = mk(tok_admin, "units", "{\"course_id\": %lld, \"external_id\": \"ta-u\", \"name\": \"Taught\"}", a_co);
	char *today = today_a();
	struct sums s;

	ck_assert_int_gt(u2, 0);
	apitest_req("GET", tok_admin, NULL, "/v1/classes/%lld/taught", a_c1);
	LIST_SHAPE();
	ck_assert_int_eq(nitems_(), 0);

	/* Without a date: today in the school's time zone. */
	apitest_req("POST", tok_admin, NULL, "/v1/classes/%lld/units/%lld/taught", a_c1, a_u1);
	APITEST_ST(201);
	ck_assert_int_eq(apitest_jint(apitest_r.j, "class_id"), a_c1);
	ck_assert_int_eq(apitest_jint(apitest_r.j, "unit_id"), a_u1);
	ck_assert_str_eq(apitest_jstr(apitest_r.j, "taught_on"), today);
	/* With a date (and an empty object works like no body). */
	apitest_req("POST", tok_admin, "{\"date\": \"2026-09-14\"}", "/v1/classes/%lld/units/%lld/taught", a_c1, u2);
	APITEST_ST(201);
	ck_assert_str_eq(apitest_jstr(apitest_r.j, "taught_on"), "2026-09-14");
	apitest_req("POST", tok_admin, "{}", "/v1/classes/%lld/units/%lld/taught", a_c2, a_u1);
	APITEST_ST(201);
	ck_assert_str_eq(apitest_jstr(apitest_r.j, "taught_on"), today);
	/* Again: the date moves. */
	apitest_req("POST", tok_teacher, "{\"date\": \"2026-09-01\"}", "/v1/classes/%lld/units/%lld/taught", a_c1, a_u1);
	APITEST_ST(201);
	ck_assert_str_eq(apitest_jstr(apitest_r.j, "taught_on"), "2026-09-01");

	apitest_req("GET", tok_admin, NULL, "/v1/classes/%lld/taught", a_c1);
	LIST_SHAPE();
	ck_assert_int_eq(nitems_(), 2);
	ck_assert_int_eq(apitest_jint(item(0), "unit_id"), a_u1);
	ck_assert_str_eq(apitest_jstr(item(0), "taught_on"), "2026-09-01");
	ck_assert_int_eq(apitest_jint(item(1), "unit_id"), u2);
	apitest_req("GET", tok_integ, NULL, "/v1/classes/%lld/taught", a_c1);
	LIST_SHAPE();
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM taught WHERE school_id = %s"
	    " AND class_id = %lld", sa, a_c1), 2);

	s = sums_take();
	apitest_req("POST", tok_admin, "{\"date\": \"2026-09-31\"}", "/v1/classes/%lld/units/%lld/taught", a_c1, u2);
	FIELD_ERROR("date");
	apitest_req("POST", tok_admin, "{\"date\": 20260901}", "/v1/classes/%lld/units/%lld/taught", a_c1, u2);
	FIELD_ERROR("date");
	apitest_req("POST", tok_admin, "{\"on\": \"2026-09-01\"}", "/v1/classes/%lld/units/%lld/taught", a_c1, u2);
	FIELD_ERROR("on");
	apitest_req("POST", tok_admin, NULL, "/v1/classes/%lld/units/" NOPE "/taught", a_c1);
	PROBLEM(404, "not-found");
	apitest_req("POST", tok_admin, NULL, "/v1/classes/" NOPE "/units/%lld/taught", a_u1);
	PROBLEM(404, "not-found");
	apitest_req("POST", tok_admin, NULL, "/v1/classes/%lld/units/u1/taught", a_c1);
	PROBLEM(404, "not-found");
	apitest_req("POST", tok_integ, NULL, "/v1/classes/%lld/units/%lld/taught", a_c1, u2);
	PROBLEM(403, "forbidden");
	apitest_req("DELETE", tok_integ, NULL, "/v1/classes/%lld/units/%lld/taught", a_c1, u2);
	PROBLEM(403, "forbidden");
	apitest_req("DELETE", tok_admin, NULL, "/v1/classes/%lld/units/%lld/taught", a_c2, u2);
	PROBLEM(404, "not-found");
	SUMS_SAME(s);

	apitest_req("DELETE", tok_admin, NULL, "/v1/classes/%lld/units/%lld/taught", a_c1, u2);
	APITEST_ST(200);
	ck_assert_int_eq(apitest_jint(apitest_r.j, "unit_id"), u2);
	ck_assert_str_eq(apitest_jstr(apitest_r.j, "taught_on"), "2026-09-14");
	apitest_req("DELETE", tok_admin, NULL, "/v1/classes/%lld/units/%lld/taught", a_c1, u2);
	PROBLEM(404, "not-found");
	apitest_req("GET", tok_admin, NULL, "/v1/classes/%lld/taught", a_c1);
	LIST_SHAPE();
	ck_assert_int_eq(nitems_(), 1);
	apitest_req("DELETE", tok_teacher, NULL, "/v1/classes/%lld/units/%lld/taught", a_c1, a_u1);
	APITEST_ST(200);
	apitest_req("DELETE", tok_admin, NULL, "/v1/classes/%lld/units/%lld/taught", a_c2, a_u1);
	APITEST_ST(200);
	free(today);
}
END_TEST

/* ---- 5. every list answer has the same shape ---- */

START_TEST(test_list_shape)
{
	static const char *const colls[] = {
		"pupils", "teachers", "classes", "courses", "units", "questions", NULL,
	};
	const char *toks[] = { tok_admin, tok_integ, tok_teacher, tok_b };

	for (size_t t = 0; t < sizeof toks / sizeof toks[0]; t++) {
		for (int i = 0; colls[i] != NULL; i++) {
			apitest_req("GET", toks[t], NULL, "/v1/%s", colls[i]);
			LIST_SHAPE();
			apitest_req("GET", toks[t], NULL, "/v1/%s?limit=1", colls[i]);
			LIST_SHAPE();
			ck_assert_int_le(nitems_(), 1);
		}
		apitest_req("GET", toks[t], NULL, "/v1/calendar");
		LIST_SHAPE();
	}
	apitest_req("GET", tok_admin, NULL, "/v1/classes/%lld/enrollments", a_c1);
	LIST_SHAPE();
	apitest_req("GET", tok_teacher, NULL, "/v1/classes/%lld/enrollments", a_c1);
	LIST_SHAPE();
	apitest_req("GET", tok_admin, NULL, "/v1/classes/%lld/taught", a_c1);
	LIST_SHAPE();
	apitest_req("GET", tok_teacher, NULL, "/v1/classes/%lld/taught", a_c1);
	LIST_SHAPE();
	apitest_req("GET", tok_b, NULL, "/v1/classes/%lld/taught", b_c);
	LIST_SHAPE();
	ck_assert_int_eq(nitems_(), 1);
}
END_TEST

/* ---- 2. authentication and roles ---- */

/* GET /v1/pupils with the token arg is refused (the answer stays in R). */
static bool
refused(void *arg)
{
	apitest_req("GET", arg, NULL, "/v1/pupils");
	return apitest_r.status == 401;
}

START_TEST(test_auth_401)
{
	static const char *const paths[] = { "/v1/pupils", "/v1/school", "/v1/calendar", NULL };
	char *other, *out = NULL, *tok = NULL;
	long long tid;
	int rc;

	for (int i = 0; paths[i] != NULL; i++) {
		apitest_req("GET", NULL, NULL, "%s", paths[i]);
		PROBLEM(401, "unauthorized");
		ck_assert_ptr_nonnull(hdr("WWW-Authenticate"));
		ck_assert(strncmp(hdr("WWW-Authenticate"), "Bearer", 6) == 0);
	}
	/* before the body is even looked at */
	apitest_req("POST", NULL, "{\"external_id\": \"no-auth\"}", "/v1/pupils");
	PROBLEM(401, "unauthorized");
	apitest_req("POST", NULL, "not json", "/v1/pupils");
	PROBLEM(401, "unauthorized");
	{
		const char *const basic[] = { "Authorization: Basic dXNlcjpwYXNz", NULL };
		apitest_req_ex("GET", NULL, NULL, NULL, basic, "/v1/pupils");
		PROBLEM(401, "unauthorized");
		ck_assert_ptr_nonnull(hdr("WWW-Authenticate"));
	}
	apitest_req("GET", "", NULL, "/v1/pupils");
	PROBLEM(401, "unauthorized");
	apitest_req("GET", "garbage", NULL, "/v1/pupils");
	PROBLEM(401, "unauthorized");
	ck_assert_ptr_nonnull(hdr("WWW-Authenticate"));
	apitest_req("GET", "rcl_1_short", NULL, "/v1/pupils");
	PROBLEM(401, "unauthorized");
	/* well formed, unknown */
	apitest_req("GET", "rcl_1_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL, "/v1/pupils");
	PROBLEM(401, "unauthorized");
	ck_assert_ptr_nonnull(hdr("WWW-Authenticate"));
	apitest_req("GET", "rcl_" NOPE "_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL, "/v1/pupils");
	PROBLEM(401, "unauthorized");
	/* school A's secret under school B's id */
	other = xasprintf("rcl_%s%s", sb, strchr(tok_admin + 4, '_'));
	apitest_req("GET", other, NULL, "/v1/pupils");
	PROBLEM(401, "unauthorized");
	free(other);
	/* one character changed */
	other = xstrdup(tok_admin);
	other[strlen(other) - 1] = other[strlen(other) - 1] == 'A' ? 'B' : 'A';
	apitest_req("GET", other, NULL, "/v1/pupils");
	PROBLEM(401, "unauthorized");
	free(other);

	/* Revoked: works, then `recalld token revoke`, then 401. */
	rc = apitest_recalld(&tok, "token", "create", "--school", sa, "--role", "admin",
	    "--name", "to revoke", (char *)NULL);
	ck_assert_int_eq(rc, 0);
	tok[strcspn(tok, "\n")] = '\0';
	tid = apitest_sql_int("SELECT max(token_id) FROM api_token WHERE school_id = %s", sa);
	apitest_req("GET", tok, NULL, "/v1/pupils");
	APITEST_ST(200);
	rc = apitest_recalld(&out, "token", "revoke", "--school", sa,
	    other = xasprintf("%lld", tid), (char *)NULL);
	free(other);
	free(out);
	ck_assert_int_eq(rc, 0);
	/* the daemon's token cache may answer for it a while yet */
	apitest_wait(refused, tok, 5000);
	PROBLEM(401, "unauthorized");
	apitest_req("POST", tok, "{\"external_id\": \"revoked\"}", "/v1/pupils");
	PROBLEM(401, "unauthorized");
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM pupil WHERE external_id = 'revoked'"), 0);
	free(tok);
	/* the other tokens still work */
	apitest_req("GET", tok_admin, NULL, "/v1/pupils");
	APITEST_ST(200);
}
END_TEST

START_TEST(test_auth_403)
{
	struct sums s = sums_take();

	apitest_req("POST", tok_teacher, "{\"external_id\": \"by-teacher\"}", "/v1/pupils");
	PROBLEM(403, "forbidden");
	apitest_req("PATCH", tok_teacher, "{\"given_name\": \"X\"}", "/v1/pupils/%lld", a_p1);
	PROBLEM(403, "forbidden");
	apitest_req("DELETE", tok_teacher, NULL, "/v1/pupils/%lld", a_p1);
	PROBLEM(403, "forbidden");
	apitest_req("PATCH", tok_teacher, "{\"name\": \"Mine\"}", "/v1/classes/%lld", a_c1);
	PROBLEM(403, "forbidden");
	apitest_req("POST", tok_teacher, "{\"external_id\": \"x\", \"name\": \"x\"}", "/v1/courses");
	PROBLEM(403, "forbidden");
	apitest_req("POST", tok_teacher, "{}", "/v1/questions");
	PROBLEM(403, "forbidden");
	apitest_req("PATCH", tok_integ, "{\"max_per_day\": 1}", "/v1/school");
	PROBLEM(403, "forbidden");
	apitest_req("POST", tok_integ, NULL, "/v1/classes/%lld/units/%lld/taught", a_c1, a_u1);
	PROBLEM(403, "forbidden");
	apitest_req("POST", tok_integ, "{\"date\": \"2026-01-01\"}", "/v1/calendar");
	PROBLEM(403, "forbidden");
	/* the role is checked before the body */
	apitest_req("POST", tok_teacher, "{oops", "/v1/pupils");
	PROBLEM(403, "forbidden");
	SUMS_SAME(s);
}
END_TEST

START_TEST(test_teacher_scope)
{
	long long c3, p3;
	struct sums s;

	/* Teacher 1 teaches class 1 (pupil 1); teacher 2 class 2 (pupil 2). */
	apitest_req("GET", tok_teacher, NULL, "/v1/classes");
	LIST_SHAPE();
	ck_assert_int_eq(nitems_(), 1);
	ck_assert_int_eq(apitest_jint(item(0), "id"), a_c1);
	apitest_req("GET", tok_teacher, NULL, "/v1/classes/%lld", a_c1);
	APITEST_ST(200);
	apitest_req("GET", tok_teacher, NULL, "/v1/classes/%lld", a_c2);
	PROBLEM(404, "not-found");
	apitest_req("GET", tok_teacher2, NULL, "/v1/classes");
	LIST_SHAPE();
	ck_assert_int_eq(nitems_(), 1);
	ck_assert_int_eq(apitest_jint(item(0), "id"), a_c2);
	apitest_req("GET", tok_teacher, NULL, "/v1/classes?external_id=c2");
	LIST_SHAPE();
	ck_assert_int_eq(nitems_(), 0);

	apitest_req("GET", tok_teacher, NULL, "/v1/pupils");
	LIST_SHAPE();
	ck_assert_int_eq(nitems_(), 1);
	ck_assert_int_eq(apitest_jint(item(0), "id"), a_p1);
	apitest_req("GET", tok_teacher, NULL, "/v1/pupils?limit=1&cursor=0");
	LIST_SHAPE();
	ck_assert_int_eq(nitems_(), 1);
	ck_assert(json_is_null(json_object_get(apitest_r.j, "next_cursor")));
	apitest_req("GET", tok_teacher, NULL, "/v1/pupils/%lld", a_p1);
	APITEST_ST(200);
	apitest_req("GET", tok_teacher, NULL, "/v1/pupils/%lld", a_p2);
	PROBLEM(404, "not-found");
	apitest_req("GET", tok_teacher2, NULL, "/v1/pupils/%lld", a_p1);
	PROBLEM(404, "not-found");
	apitest_req("GET", tok_teacher, NULL, "/v1/teachers");
	LIST_SHAPE();
	ck_assert_int_eq(nitems_(), 1);
	ck_assert_int_eq(apitest_jint(item(0), "id"), a_t1);
	apitest_req("GET", tok_teacher, NULL, "/v1/teachers/%lld", a_t2);
	PROBLEM(404, "not-found");

	apitest_req("GET", tok_teacher, NULL, "/v1/classes/%lld/enrollments", a_c1);
	LIST_SHAPE();
	ck_assert(list_has("id", a_p1));
	apitest_req("GET", tok_teacher, NULL, "/v1/classes/%lld/enrollments", a_c2);
	PROBLEM(404, "not-found");
	apitest_req("GET", tok_teacher, NULL, "/v1/classes/%lld/taught", a_c2);
	PROBLEM(404, "not-found");

	/* Courses, units and questions are the school's, for every teacher. */
	apitest_req("GET", tok_teacher, NULL, "/v1/courses/%lld", a_co);
	APITEST_ST(200);
	apitest_req("GET", tok_teacher, NULL, "/v1/units/%lld", a_u1);
	APITEST_ST(200);
	apitest_req("GET", tok_teacher, NULL, "/v1/questions/%lld", a_q1);
	APITEST_ST(200);

	/* Marking taught: their class yes, another class 404 (as if absent). */
	s = sums_take();
	apitest_req("POST", tok_teacher, NULL, "/v1/classes/%lld/units/%lld/taught", a_c2, a_u1);
	PROBLEM(404, "not-found");
	apitest_req("POST", tok_teacher, "{\"date\": \"2026-10-01\"}", "/v1/classes/%lld/units/%lld/taught", a_c2, a_u1);
	PROBLEM(404, "not-found");
	apitest_req("DELETE", tok_teacher, NULL, "/v1/classes/%lld/units/%lld/taught", a_c2, a_u1);
	PROBLEM(404, "not-found");
	SUMS_SAME(s);
	apitest_req("POST", tok_teacher, "{\"date\": \"2026-10-01\"}", "/v1/classes/%lld/units/%lld/taught", a_c1, a_u1);
	APITEST_ST(201);
	apitest_req("GET", tok_teacher, NULL, "/v1/classes/%lld/taught", a_c1);
	LIST_SHAPE();
	ck_assert(list_has("unit_id", a_u1));
	apitest_req("DELETE", tok_teacher, NULL, "/v1/classes/%lld/units/%lld/taught", a_c1, a_u1);
	APITEST_ST(200);

	/* A class the teacher stops teaching disappears for them. */
	c3 = mk(tok_admin, "classes", "{\"external_id\": \"sc-c3\", \"name\": \"Scope\"}");
	p3 = mk(tok_admin, "pupils", "{\"external_id\": \"sc-p3\"}");
	ck_assert(c3 > 0 && p3 > 0);
	apitest_req("GET", tok_teacher, NULL, "/v1/pupils/%lld", p3);
	PROBLEM(404, "not-found");
	{
		char *b = xasprintf("{\"role\": \"teacher\", \"teacher_id\": %lld}", a_t1);
		apitest_req("POST", tok_admin, b, "/v1/classes/%lld/enrollments", c3);
		APITEST_ST(201);
		free(b);
		b = xasprintf("{\"role\": \"pupil\", \"pupil_id\": %lld}", p3);
		apitest_req("POST", tok_admin, b, "/v1/classes/%lld/enrollments", c3);
		APITEST_ST(201);
		free(b);
	}
	apitest_req("GET", tok_teacher, NULL, "/v1/classes/%lld", c3);
	APITEST_ST(200);
	apitest_req("GET", tok_teacher, NULL, "/v1/pupils/%lld", p3);
	APITEST_ST(200);
	apitest_req("GET", tok_teacher, NULL, "/v1/pupils");
	LIST_SHAPE();
	ck_assert_int_eq(nitems_(), 2);
	apitest_req("DELETE", tok_admin, NULL, "/v1/classes/%lld/enrollments/teachers/%lld", c3, a_t1);
	APITEST_ST(200);
	apitest_req("GET", tok_teacher, NULL, "/v1/classes/%lld", c3);
	PROBLEM(404, "not-found");
	apitest_req("GET", tok_teacher, NULL, "/v1/pupils/%lld", p3);
	PROBLEM(404, "not-found");
	apitest_req("POST", tok_teacher, NULL, "/v1/classes/%lld/units/%lld/taught", c3, a_u1);
	PROBLEM(404, "not-found");
	apitest_req("GET", tok_teacher, NULL, "/v1/classes/%lld/enrollments", c3);
	PROBLEM(404, "not-found");
	apitest_req("GET", tok_teacher, NULL, "/v1/pupils");
	LIST_SHAPE();
	ck_assert_int_eq(nitems_(), 1);
}
END_TEST

/* ---- 3. school isolation ---- */

struct xroute {
	const char *method;
	char *b_path, *nope_path;	/* the same route: an id of school B, an id of nobody */
	char *body;
};

/* Answers to B's ids are exactly the answers to ids that do not exist. */
static void
same_as_missing(const char *token, struct xroute *x, int n, bool reads_only)
{
	for (int i = 0; i < n; i++) {
		json_t *missing;

		if (reads_only && strcmp(x[i].method, "GET") != 0)
			continue;

		apitest_req(x[i].method, token, x[i].body, "%s", x[i].nope_path);
		PROBLEM(404, "not-found");
		missing = json_incref(apitest_r.j);
		apitest_req(x[i].method, token, x[i].body, "%s", x[i].b_path);
		PROBLEM(404, "not-found");
		ck_assert_str_eq(apitest_jstr(apitest_r.j, "title"), apitest_jstr(missing, "title"));
		ck_assert_str_eq(apitest_jstr(apitest_r.j, "detail"), apitest_jstr(missing, "detail"));
		ck_assert_int_eq(json_object_size(apitest_r.j), json_object_size(missing));
		json_decref(missing);
	}
}

START_TEST(test_cross_school_ids)
{
	struct xroute x[64];
	int n = 0;
	struct sums s;
	static const struct {
		const char *coll;
		const char *patch;
	} res[] = {
		{ "pupils", "{\"external_id\": \"hacked\"}" },
		{ "teachers", "{\"given_name\": \"hacked\"}" },
		{ "classes", "{\"name\": \"hacked\"}" },
		{ "courses", "{\"name\": \"hacked\"}" },
		{ "units", "{\"name\": \"hacked\", \"position\": 9}" },
		{ "questions", "{\"prompt\": \"hacked\", \"fast_ms\": 1}" },
	};
	long long bids[] = { b_p, b_t, b_c, b_co, b_u, b_q };

#define X(m, bd, bpath, npath) do { \
	x[n].method = (m); \
	x[n].body = (bd) ? xstrdup(bd) : NULL; \
	x[n].b_path = (bpath); \
	x[n].nope_path = (npath); \
	n++; \
} while (0)
#define P xasprintf
	for (size_t i = 0; i < sizeof res / sizeof res[0]; i++) {
		X("GET", NULL, P("/v1/%s/%lld", res[i].coll, bids[i]), P("/v1/%s/" NOPE, res[i].coll));
		X("PATCH", res[i].patch, P("/v1/%s/%lld", res[i].coll, bids[i]),
		    P("/v1/%s/" NOPE, res[i].coll));
		X("DELETE", NULL, P("/v1/%s/%lld", res[i].coll, bids[i]), P("/v1/%s/" NOPE, res[i].coll));
	}
	X("GET", NULL, P("/v1/classes/%lld/enrollments", b_c), P("/v1/classes/" NOPE "/enrollments"));
	{
		char *b = P("{\"role\": \"pupil\", \"pupil_id\": %lld}", a_p2);
		X("POST", b, P("/v1/classes/%lld/enrollments", b_c), P("/v1/classes/" NOPE "/enrollments"));
		free(b);
		b = P("{\"role\": \"teacher\", \"teacher_id\": %lld}", a_t2);
		X("POST", b, P("/v1/classes/%lld/enrollments", b_c), P("/v1/classes/" NOPE "/enrollments"));
		free(b);
	}
	X("DELETE", NULL, P("/v1/classes/%lld/enrollments/pupils/%lld", b_c, b_p),
	    P("/v1/classes/" NOPE "/enrollments/pupils/" NOPE));
	X("DELETE", NULL, P("/v1/classes/%lld/enrollments/teachers/%lld", b_c, b_t),
	    P("/v1/classes/" NOPE "/enrollments/teachers/" NOPE));
	/* B's class with A's person, A's class with B's person */
	X("DELETE", NULL, P("/v1/classes/%lld/enrollments/pupils/%lld", b_c, a_p1),
	    P("/v1/classes/" NOPE "/enrollments/pupils/%lld", a_p1));
	X("DELETE", NULL, P("/v1/classes/%lld/enrollments/pupils/%lld", a_c1, b_p),
	    P("/v1/classes/%lld/enrollments/pupils/" NOPE, a_c1));
	X("DELETE", NULL, P("/v1/classes/%lld/enrollments/teachers/%lld", a_c1, b_t),
	    P("/v1/classes/%lld/enrollments/teachers/" NOPE, a_c1));
	X("GET", NULL, P("/v1/classes/%lld/taught", b_c), P("/v1/classes/" NOPE "/taught"));
	X("POST", NULL, P("/v1/classes/%lld/units/%lld/taught", b_c, b_u),
	    P("/v1/classes/" NOPE "/units/" NOPE "/taught"));
	X("POST", "{\"date\": \"2026-05-05\"}", P("/v1/classes/%lld/units/%lld/taught", b_c, b_u),
	    P("/v1/classes/" NOPE "/units/" NOPE "/taught"));
	X("POST", NULL, P("/v1/classes/%lld/units/%lld/taught", a_c1, b_u),
	    P("/v1/classes/%lld/units/" NOPE "/taught", a_c1));
	X("POST", NULL, P("/v1/classes/%lld/units/%lld/taught", b_c, a_u1),
	    P("/v1/classes/" NOPE "/units/%lld/taught", a_u1));
	X("DELETE", NULL, P("/v1/classes/%lld/units/%lld/taught", b_c, b_u),
	    P("/v1/classes/" NOPE "/units/" NOPE "/taught"));
	X("DELETE", NULL, P("/v1/classes/%lld/units/%lld/taught", a_c1, b_u),
	    P("/v1/classes/%lld/units/" NOPE "/taught", a_c1));
	X("DELETE", NULL, P("/v1/calendar/2026-01-05"), P("/v1/calendar/2026-01-06"));
#undef P
#undef X

	s = sums_take();
	same_as_missing(tok_admin, x, n, false);
	same_as_missing(tok_teacher, x, n, true);	/* a teacher of A reads no more */
	apitest_req("GET", tok_integ, NULL, "/v1/pupils/%lld", b_p);
	PROBLEM(404, "not-found");
	SUMS_SAME(s);

	/* Lists and filters never show B's rows. */
	apitest_req("GET", tok_admin, NULL, "/v1/units?course_id=%lld", b_co);
	LIST_SHAPE();
	ck_assert_int_eq(nitems_(), 0);
	apitest_req("GET", tok_admin, NULL, "/v1/questions?unit_id=%lld", b_u);
	LIST_SHAPE();
	ck_assert_int_eq(nitems_(), 0);
	apitest_req("GET", tok_admin, NULL, "/v1/pupils?external_id=b-p");
	LIST_SHAPE();
	ck_assert_int_eq(nitems_(), 0);
	apitest_req("GET", tok_admin, NULL, "/v1/calendar");
	LIST_SHAPE();
	for (size_t i = 0; i < nitems_(); i++)
		ck_assert_str_ne(apitest_jstr(item(i), "date"), "2026-01-05");
	apitest_req("GET", tok_b, NULL, "/v1/calendar");
	LIST_SHAPE();
	ck_assert_int_eq(nitems_(), 1);
	apitest_req("GET", tok_admin, NULL, "/v1/school");
	APITEST_ST(200);
	ck_assert_str_eq(apitest_jstr(apitest_r.j, "name"), "School A");

	/* And B still sees all its own. */
	apitest_req("GET", tok_b, NULL, "/v1/classes/%lld/enrollments", b_c);
	LIST_SHAPE();
	ck_assert_int_eq(nitems_(), 2);
	for (int i = 0; i < n; i++) {
		free(x[i].b_path);
		free(x[i].nope_path);
		free(x[i].body);
	}
}
END_TEST

START_TEST(test_cross_school_refs)
{
	struct sums s = sums_take();

	apitest_req("POST", tok_admin, NULL, "/v1/classes");
	PROBLEM(400, "malformed-json");
	{
		char *b = xasprintf("{\"external_id\": \"xr-c\", \"name\": \"X\", \"course_id\": %lld}", b_co);
		apitest_req("POST", tok_admin, b, "/v1/classes");
		free(b);
	}
	FIELD_ERROR("course_id");
	{
		char *b = xasprintf("{\"course_id\": %lld}", b_co);
		apitest_req("PATCH", tok_admin, b, "/v1/classes/%lld", a_c1);
		free(b);
	}
	FIELD_ERROR("course_id");
	{
		char *b = xasprintf("{\"course_id\": %lld, \"external_id\": \"xr-u\", \"name\": \"X\"}", b_co);
		apitest_req("POST", tok_integ, b, "/v1/units");
		free(b);
	}
	FIELD_ERROR("course_id");
	{
		char *b = xasprintf("{\"course_id\": %lld}", b_co);
		apitest_req("PATCH", tok_admin, b, "/v1/units/%lld", a_u1);
		free(b);
	}
	FIELD_ERROR("course_id");
	{
		char *b = xasprintf("{\"unit_id\": %lld, \"external_id\": \"xr-q\", \"kind\": \"self\","
		    " \"prompt\": \"X\"}", b_u);
		apitest_req("POST", tok_admin, b, "/v1/questions");
		free(b);
	}
	FIELD_ERROR("unit_id");
	{
		char *b = xasprintf("{\"unit_id\": %lld, \"prompt\": \"moved\"}", b_u);
		apitest_req("PATCH", tok_admin, b, "/v1/questions/%lld", a_q1);
		free(b);
	}
	FIELD_ERROR("unit_id");
	{
		char *b = xasprintf("{\"role\": \"pupil\", \"pupil_id\": %lld}", b_p);
		apitest_req("POST", tok_admin, b, "/v1/classes/%lld/enrollments", a_c1);
		free(b);
	}
	FIELD_ERROR("pupil_id");
	{
		char *b = xasprintf("{\"role\": \"teacher\", \"teacher_id\": %lld}", b_t);
		apitest_req("POST", tok_integ, b, "/v1/classes/%lld/enrollments", a_c1);
		free(b);
	}
	FIELD_ERROR("teacher_id");
	/* Two errors at once: every one is named. */
	{
		char *b = xasprintf("{\"external_id\": 7, \"name\": \"X\", \"course_id\": %lld, \"extra\": 1}", b_co);
		apitest_req("POST", tok_admin, b, "/v1/classes");
		free(b);
	}
	FIELD_ERROR("external_id");
	FIELD_ERROR("extra");
	SUMS_SAME(s);
	/* B's external ids do not collide with A's. */
	apitest_req("POST", tok_admin, "{\"external_id\": \"b-p\"}", "/v1/pupils");
	APITEST_ST(201);
}
END_TEST

/* ---- 4. bad input ---- */

START_TEST(test_bad_json)
{
	static const char *const bad[] = {
		"{\"external_id\":", "{", "nope", "{\"a\": 1,}", "{\"a\" 1}",
		"{\"external_id\": \"x\", \"external_id\": \"y\"}",	/* duplicate key */
		"{\"external_id\": \"x\\u0000y\"}",
		"{\"position\": 123456789012345678901234567890}",
		"{\"external_id\": \"x\"} trailing",
		"\xff\xfe{}",
		"",
	};
	static const char *const not_object[] = { "[1, 2]", "\"pupil\"", "42", "null", "true", "[]" };
	struct sums s = sums_take();

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		apitest_req_ex("POST", tok_admin, "application/json", bad[i], NULL, "/v1/pupils");
		PROBLEM(400, "malformed-json");
		apitest_req_ex("PATCH", tok_admin, "application/json", bad[i], NULL, "/v1/pupils/%lld", a_p1);
		PROBLEM(400, "malformed-json");
	}
	for (size_t i = 0; i < sizeof not_object / sizeof not_object[0]; i++) {
		apitest_req("POST", tok_admin, not_object[i], "/v1/pupils");
		PROBLEM(400, "malformed-json");
		apitest_req("PATCH", tok_admin, not_object[i], "/v1/school");
		PROBLEM(400, "malformed-json");
		apitest_req("POST", tok_admin, not_object[i], "/v1/calendar");
		PROBLEM(400, "malformed-json");
		apitest_req("POST", tok_admin, not_object[i], "/v1/classes/%lld/enrollments", a_c1);
		PROBLEM(400, "malformed-json");
		apitest_req("POST", tok_admin, not_object[i], "/v1/classes/%lld/units/%lld/taught", a_c1, a_u1);
		PROBLEM(400, "malformed-json");
	}
	SUMS_SAME(s);
}
END_TEST

START_TEST(test_bad_fields)
{
	struct sums s = sums_take();
	char *long201 = xmalloc(202), *long101 = xmalloc(102), *b;
	char *long2001 = xmalloc(2002);

	memset(long201, 'x', 201);
	long201[201] = '\0';
	memset(long101, 'y', 101);
	long101[101] = '\0';
	memset(long2001, 'z', 2001);
	long2001[2001] = '\0';

	/* Wrong types. */
	apitest_req("POST", tok_admin, "{\"external_id\": 5}", "/v1/pupils");
	FIELD_ERROR("external_id");
	apitest_req("POST", tok_admin, "{\"external_id\": \"wt-1\", \"given_name\": 3.5}", "/v1/pupils");
	FIELD_ERROR("given_name");
	apitest_req("POST", tok_admin, "{\"external_id\": \"wt-1\", \"active\": [true]}", "/v1/pupils");
	FIELD_ERROR("active");
	apitest_req("POST", tok_admin, "{\"external_id\": \"wt-1\", \"active\": \"true\"}", "/v1/pupils");
	FIELD_ERROR("active");
	apitest_req("POST", tok_admin, "{\"external_id\": \"wt-1\", \"given_name\": {}}", "/v1/pupils");
	FIELD_ERROR("given_name");
	b = xasprintf("{\"course_id\": %lld, \"external_id\": \"wt-u\", \"name\": \"U\", \"position\": \"3\"}", a_co);
	apitest_req("POST", tok_admin, b, "/v1/units");
	free(b);
	FIELD_ERROR("position");
	apitest_req("PATCH", tok_admin, "{\"position\": 1.5}", "/v1/units/%lld", a_u1);
	FIELD_ERROR("position");
	apitest_req("PATCH", tok_admin, "{\"position\": 100001}", "/v1/units/%lld", a_u1);
	FIELD_ERROR("position");
	apitest_req("PATCH", tok_admin, "{\"course_id\": \"1\"}", "/v1/units/%lld", a_u1);
	FIELD_ERROR("course_id");
	apitest_req("PATCH", tok_admin, "{\"course_id\": null}", "/v1/units/%lld", a_u1);
	FIELD_ERROR("course_id");
	apitest_req("PATCH", tok_admin, "{\"name\": null}", "/v1/courses/%lld", a_co);
	FIELD_ERROR("name");
	apitest_req("PATCH", tok_admin, "{\"name\": \"\"}", "/v1/courses/%lld", a_co);
	FIELD_ERROR("name");
	apitest_req("PATCH", tok_admin, "{\"choices\": \"a,b\"}", "/v1/questions/%lld", a_q1);
	FIELD_ERROR("choices");
	apitest_req("PATCH", tok_admin, "{\"choices\": [1, 2]}", "/v1/questions/%lld", a_q1);
	FIELD_ERROR("choices");
	apitest_req("PATCH", tok_admin, "{\"fast_ms\": 0}", "/v1/questions/%lld", a_q1);
	FIELD_ERROR("fast_ms");
	apitest_req("PATCH", tok_admin, "{\"max_interval_days\": true}", "/v1/school");
	FIELD_ERROR("max_interval_days");

	/* Missing required fields: every one is listed. */
	apitest_req("POST", tok_admin, "{}", "/v1/questions");
	FIELD_ERROR("unit_id");
	FIELD_ERROR("external_id");
	FIELD_ERROR("kind");
	FIELD_ERROR("prompt");
	ck_assert_int_eq(json_array_size(json_object_get(apitest_r.j, "errors")), 4);
	apitest_req("POST", tok_admin, "{\"name\": \"U\"}", "/v1/units");
	FIELD_ERROR("course_id");
	FIELD_ERROR("external_id");
	ck_assert_int_eq(json_array_size(json_object_get(apitest_r.j, "errors")), 2);
	apitest_req("POST", tok_admin, "{}", "/v1/pupils");
	FIELD_ERROR("external_id");
	apitest_req("POST", tok_admin, "{\"external_id\": \"\"}", "/v1/pupils");
	FIELD_ERROR("external_id");
	apitest_req("POST", tok_admin, "{}", "/v1/classes");
	FIELD_ERROR("external_id");
	FIELD_ERROR("name");

	/* Unknown and read-only fields. */
	apitest_req("POST", tok_admin, "{\"external_id\": \"uf-1\", \"colour\": \"red\"}", "/v1/pupils");
	FIELD_ERROR("colour");
	apitest_req("POST", tok_admin, "{\"external_id\": \"uf-1\", \"school_id\": 2}", "/v1/pupils");
	FIELD_ERROR("school_id");
	apitest_req("POST", tok_admin, "{\"external_id\": \"uf-1\", \"id\": 2}", "/v1/pupils");
	FIELD_ERROR("id");
	apitest_req("PATCH", tok_admin, "{\"updated_at\": \"2020-01-01\"}", "/v1/pupils/%lld", a_p1);
	FIELD_ERROR("updated_at");

	/* Too long. */
	b = xasprintf("{\"external_id\": \"%s\"}", long201);
	apitest_req("POST", tok_admin, b, "/v1/pupils");
	free(b);
	FIELD_ERROR("external_id");
	b = xasprintf("{\"external_id\": \"tl-1\", \"given_name\": \"%s\"}", long101);
	apitest_req("POST", tok_admin, b, "/v1/pupils");
	free(b);
	FIELD_ERROR("given_name");
	b = xasprintf("{\"prompt\": \"%s\"}", long2001);
	apitest_req("PATCH", tok_admin, b, "/v1/questions/%lld", a_q1);
	free(b);
	FIELD_ERROR("prompt");
	apitest_req("PATCH", tok_admin, "{\"year_group\": \"123456789012345678901\"}", "/v1/pupils/%lld", a_p1);
	FIELD_ERROR("year_group");

	/* Bad enums and dates. */
	b = xasprintf("{\"unit_id\": %lld, \"external_id\": \"be-q\", \"kind\": \"essay\", \"prompt\": \"P\"}", a_u1);
	apitest_req("POST", tok_admin, b, "/v1/questions");
	free(b);
	FIELD_ERROR("kind");
	apitest_req("PATCH", tok_admin, "{\"kind\": 1}", "/v1/questions/%lld", a_q1);
	FIELD_ERROR("kind");
	apitest_req("POST", tok_admin, "{\"external_id\": \"bd-c\", \"name\": \"C\", \"exam_date\": \"2026-13-01\"}", "/v1/courses");
	FIELD_ERROR("exam_date");
	apitest_req("PATCH", tok_admin, "{\"exam_date\": \"2027-02-29\"}", "/v1/courses/%lld", a_co);
	FIELD_ERROR("exam_date");
	apitest_req("PATCH", tok_admin, "{\"exam_date\": \"1 June 2027\"}", "/v1/courses/%lld", a_co);
	FIELD_ERROR("exam_date");
	apitest_req("PATCH", tok_admin, "{\"exam_date\": \"2027-06-01T00:00:00Z\"}", "/v1/courses/%lld", a_co);
	FIELD_ERROR("exam_date");
	SUMS_SAME(s);
	free(long201);
	free(long101);
	free(long2001);
}
END_TEST

START_TEST(test_content_type_415)
{
	struct sums s = sums_take();
	static const char *const bad[] = {
		"text/plain", "application/x-www-form-urlencoded", "application/jsonx",
		"application/xml", "multipart/form-data; boundary=x",
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		apitest_req_ex("POST", tok_admin, bad[i], "{\"external_id\": \"ct-1\"}", NULL, "/v1/pupils");
		PROBLEM(415, "unsupported-media-type");
		apitest_req_ex("PATCH", tok_admin, bad[i], "{\"given_name\": \"X\"}", NULL, "/v1/pupils/%lld", a_p1);
		PROBLEM(415, "unsupported-media-type");
	}
	apitest_req_ex("POST", tok_admin, NULL, "{\"external_id\": \"ct-1\"}", NULL, "/v1/pupils");
	PROBLEM(415, "unsupported-media-type");
	apitest_req_ex("PATCH", tok_admin, NULL, "{\"max_per_day\": 3}", NULL, "/v1/school");
	PROBLEM(415, "unsupported-media-type");
	apitest_req_ex("POST", tok_admin, "text/plain", "{\"date\": \"2026-07-07\"}", NULL, "/v1/calendar");
	PROBLEM(415, "unsupported-media-type");
	SUMS_SAME(s);
	/* parameters and case are fine */
	apitest_req_ex("POST", tok_admin, "application/json; charset=utf-8", "{\"external_id\": \"ct-2\"}", NULL,
	    "/v1/pupils");
	APITEST_ST(201);
	apitest_req_ex("POST", tok_admin, "Application/JSON", "{\"external_id\": \"ct-3\"}", NULL, "/v1/pupils");
	APITEST_ST(201);
}
END_TEST

/* A connected socket to the daemon. */
static int
raw_connect(void)
{
	const char *base = apitest_base();
	struct sockaddr_in addr = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert(fd >= 0);
	addr.sin_port = htons((uint16_t)atoi(strrchr(base, ':') + 1));
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&addr, sizeof addr), 0);
	return fd;
}

/* Raw bytes to the daemon, everything it answers until it closes. */
static char *
raw_exchange_len(const char *bytes, size_t n)
{
	struct timeval tv = { 5, 0 };
	size_t len = 0, cap = 4096;
	char *out = xmalloc(cap);
	ssize_t r;
	int fd = raw_connect();

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	ck_assert_int_eq(write(fd, bytes, n), (ssize_t)n);
	while ((r = read(fd, out + len, cap - len - 1)) > 0) {
		len += (size_t)r;
		if (cap - len < 2)
			out = xrealloc(out, cap *= 2);
	}
	out[len] = '\0';
	close(fd);
	return out;
}

static char *
raw_exchange(const char *bytes)
{
	return raw_exchange_len(bytes, strlen(bytes));
}

/* A string literal's bytes, NULs and all. */
#define RAW(lit) raw_exchange_len(lit, sizeof lit - 1)

/* How many responses in out start with this status line prefix ("HTTP/1.1 200 "). */
static int
count_status(const char *out, const char *line)
{
	int n = 0;

	for (const char *p = out; (p = strstr(p, line)) != NULL; p++)
		n++;
	return n;
}

/*
 * A raw NUL in a request's head is refused (evhttp would read the header
 * up to it: the token alone); NULs in a body are the body's business, and
 * the requests after one on the same connection are read as before.
 */
START_TEST(test_nul_bytes)
{
	char req[2048], *out;
	int n;

	n = snprintf(req, sizeof req, "GET /v1/school HTTP/1.1\r\nHost: x\r\n"
	    "Authorization: Bearer %s", tok_admin);
	memcpy(req + n, "\0junk\r\nConnection: close\r\n\r\n", 28);
	out = raw_exchange_len(req, (size_t)n + 28);
	ck_assert_msg(strncmp(out, "HTTP/1.1 400 ", 13) == 0, "%s", out);
	ck_assert_msg(strstr(out, "\"type\":\"/problems/malformed-request\"") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "application/problem+json") != NULL, "%s", out);
	free(out);
	/* The same without the NUL is fine. */
	n = snprintf(req, sizeof req, "GET /v1/school HTTP/1.1\r\nHost: x\r\n"
	    "Authorization: Bearer %s\r\nConnection: close\r\n\r\n", tok_admin);
	out = raw_exchange_len(req, (size_t)n);
	ck_assert_msg(strncmp(out, "HTTP/1.1 200 ", 13) == 0, "%s", out);
	free(out);
	/* A NUL in another header, and in the request line after the version. */
	out = RAW("GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: b\0c\r\n\r\n");
	ck_assert_msg(strncmp(out, "HTTP/1.1 400 ", 13) == 0, "%s", out);
	free(out);
	out = RAW("GET /healthz HTTP/1.1\0x\r\nHost: x\r\n\r\n");
	ck_assert_msg(strncmp(out, "HTTP/1.1 400 ", 13) == 0, "%s", out);
	free(out);
	out = RAW("GET /dashboard/index.html\0.png HTTP/1.1\r\nHost: x\r\n\r\n");
	ck_assert_msg(strncmp(out, "HTTP/1.1 400 ", 13) == 0, "%s", out);
	free(out);
	/* One connection: a body with NULs, then a good request, then a NUL head. */
	out = RAW("POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\na\0\0b"
	    "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
	    "GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: \0\r\n\r\n");
	ck_assert_msg(strncmp(out, "HTTP/1.1 405 ", 13) == 0, "%s", out);
	ck_assert_msg(count_status(out, "HTTP/1.1 200 ") == 1, "%s", out);
	ck_assert_msg(count_status(out, "HTTP/1.1 400 ") == 1, "%s", out);
	free(out);
	/* Connections that never send a byte (their scan waits for the timeout or the exit). */
	for (int i = 0; i < 3; i++)
		close(raw_connect());
	apitest_req("GET", NULL, NULL, "/healthz");
	APITEST_ST(200);
}
END_TEST

/* What evhttp refuses before recalld sees a request is problem+json too. */
START_TEST(test_unreadable_requests)
{
	char *out = raw_exchange("NOT HTTP AT ALL\r\n\r\n");

	ck_assert_msg(strncmp(out, "HTTP/1.1 400 ", 13) == 0, "%s", out);
	ck_assert_msg(strstr(out, "Content-Type: application/problem+json\r\n") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "\"type\":\"/problems/malformed-request\"") != NULL, "%s", out);
	free(out);
	out = raw_exchange("BREW /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
	ck_assert_msg(strncmp(out, "HTTP/1.1 501 ", 13) == 0, "%s", out);
	ck_assert_msg(strstr(out, "\"type\":\"/problems/not-implemented\"") != NULL, "%s", out);
	free(out);
	/* an answer already waiting on the connection goes out untouched first */
	out = raw_exchange("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nNOT HTTP\r\n\r\n");
	ck_assert_msg(strncmp(out, "HTTP/1.1 200 OK\r\n", 17) == 0, "%s", out);
	ck_assert_msg(strstr(out, "{\"status\":\"ok\"}HTTP/1.1 400 ") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "<HTML>") == NULL, "%s", out);
	free(out);
	apitest_req("GET", NULL, NULL, "/healthz");
	APITEST_ST(200);
}
END_TEST

START_TEST(test_body_too_large_413)
{
	size_t n = 1024 * 1024 + 100;
	char *big = xmalloc(n + 1);
	struct sums s = sums_take();
	long st;
	json_t *j;

	/* A JSON object padded with spaces past http.max_body (1 MiB). */
	memset(big, ' ', n);
	memcpy(big, "{\"external_id\": \"big-1\"", 23);
	big[n - 1] = '}';
	big[n] = '\0';
	j = api_call_ex("POST", "/v1/pupils", tok_admin, "application/json", big, n, NULL, &st,
	    NULL, NULL);
	ck_assert_int_eq(st, 413);
	/* evhttp's own refusal, as problem+json like every other error */
	ck_assert_msg(j != NULL, "the 413 is not JSON");
	ck_assert_str_eq(json_string_value(json_object_get(j, "type")), "/problems/payload-too-large");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "status")), 413);
	json_decref(j);
	j = api_call_ex("PATCH", "/v1/school", tok_admin, "application/json", big, n, NULL, &st,
	    NULL, NULL);
	json_decref(j);
	ck_assert_int_eq(st, 413);
	free(big);
	apitest_req("GET", NULL, NULL, "/healthz");
	APITEST_ST(200);
	apitest_req("GET", tok_admin, NULL, "/v1/school");
	APITEST_ST(200);
	SUMS_SAME(s);
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM pupil WHERE external_id = 'big-1'"), 0);
}
END_TEST

START_TEST(test_not_found_404)
{
	static const char *const colls[] = {
		"pupils", "teachers", "classes", "courses", "units", "questions", NULL,
	};
	static const char *const bad_ids[] = {
		NOPE, "abc", "0", "-1", "01", "1e3", "1.0", "%20", "99999999999999999999",
		"9223372036854775808", "1%00", NULL,
	};
	struct sums s = sums_take();

	for (int i = 0; colls[i] != NULL; i++) {
		for (int k = 0; bad_ids[k] != NULL; k++) {
			apitest_req("GET", tok_admin, NULL, "/v1/%s/%s", colls[i], bad_ids[k]);
			PROBLEM(404, "not-found");
			apitest_req("PATCH", tok_admin, "{}", "/v1/%s/%s", colls[i], bad_ids[k]);
			PROBLEM(404, "not-found");
			apitest_req("DELETE", tok_admin, NULL, "/v1/%s/%s", colls[i], bad_ids[k]);
			PROBLEM(404, "not-found");
		}
	}
	for (int k = 0; bad_ids[k] != NULL; k++) {
		apitest_req("GET", tok_admin, NULL, "/v1/classes/%s/enrollments", bad_ids[k]);
		PROBLEM(404, "not-found");
		apitest_req("GET", tok_admin, NULL, "/v1/classes/%s/taught", bad_ids[k]);
		PROBLEM(404, "not-found");
		apitest_req("POST", tok_admin, NULL, "/v1/classes/%lld/units/%s/taught", a_c1, bad_ids[k]);
		PROBLEM(404, "not-found");
		apitest_req("DELETE", tok_admin, NULL, "/v1/classes/%s/units/%lld/taught", bad_ids[k], a_u1);
		PROBLEM(404, "not-found");
		apitest_req("DELETE", tok_admin, NULL, "/v1/classes/%lld/enrollments/teachers/%s", a_c1, bad_ids[k]);
		PROBLEM(404, "not-found");
	}
	/* Unknown routes, with and without a token. */
	apitest_req("GET", tok_admin, NULL, "/v1/nope");
	PROBLEM(404, "not-found");
	apitest_req("GET", NULL, NULL, "/v1/nope");
	PROBLEM(404, "not-found");
	apitest_req("GET", tok_admin, NULL, "/v1/pupils/%lld/extra", a_p1);
	PROBLEM(404, "not-found");
	apitest_req("GET", tok_admin, NULL, "/v1/classes/%lld/units/%lld", a_c1, a_u1);
	PROBLEM(404, "not-found");
	apitest_req("GET", tok_admin, NULL, "/v2/pupils");
	PROBLEM(404, "not-found");
	apitest_req("GET", tok_admin, NULL, "/v1");
	PROBLEM(404, "not-found");
	SUMS_SAME(s);
}
END_TEST

START_TEST(test_method_405)
{
	static const struct {
		const char *method, *path, *allow;
	} cases[] = {
		{ "PUT", "/v1/pupils", "GET, POST" },
		{ "DELETE", "/v1/pupils", "GET, POST" },
		{ "PATCH", "/v1/questions", "GET, POST" },
		{ "POST", "/v1/pupils/1", "GET, PATCH, DELETE" },
		{ "PUT", "/v1/courses/1", "GET, PATCH, DELETE" },
		{ "POST", "/v1/school", "GET, PATCH, DELETE" },
		{ "PATCH", "/v1/calendar", "GET, POST" },
		{ "GET", "/v1/calendar/2026-01-01", "DELETE" },
		{ "PUT", "/v1/classes/1/enrollments", "GET, POST" },
		{ "GET", "/v1/classes/1/enrollments/pupils/1", "DELETE" },
		{ "GET", "/v1/classes/1/units/1/taught", "POST, DELETE" },
		{ "POST", "/v1/classes/1/taught", "GET" },
		{ "OPTIONS", "/v1/units", "GET, POST" },
	};
	struct sums s = sums_take();

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		apitest_req(cases[i].method, tok_admin, NULL, "%s", cases[i].path);
		PROBLEM(405, "method-not-allowed");
		ck_assert_ptr_nonnull(hdr("Allow"));
		ck_assert_msg(strcmp(hdr("Allow"), cases[i].allow) == 0, "%s %s: Allow: %s, want %s",
		    cases[i].method, cases[i].path, hdr("Allow"), cases[i].allow);
	}
	SUMS_SAME(s);
}
END_TEST

START_TEST(test_conflict_409)
{
	struct sums s;
	long long p = mk(tok_admin, "pupils", "{\"external_id\": \"dup-1\"}");
	long long p2 = mk(tok_admin, "pupils", "{\"external_id\": \"dup-2\"}");
	char *b;

	ck_assert(p > 0 && p2 > 0);
	s = sums_take();
	apitest_req("POST", tok_admin, "{\"external_id\": \"dup-1\", \"given_name\": \"Twin\"}", "/v1/pupils");
	PROBLEM(409, "conflict");
	apitest_req("POST", tok_integ, "{\"external_id\": \"dup-1\"}", "/v1/pupils");
	PROBLEM(409, "conflict");
	apitest_req("PATCH", tok_admin, "{\"external_id\": \"dup-1\"}", "/v1/pupils/%lld", p2);
	PROBLEM(409, "conflict");
	apitest_req("POST", tok_admin, "{\"external_id\": \"c1\", \"name\": \"Again\"}", "/v1/classes");
	PROBLEM(409, "conflict");
	b = xasprintf("{\"unit_id\": %lld, \"external_id\": \"q1\", \"kind\": \"self\", \"prompt\": \"P\"}", a_u1);
	apitest_req("POST", tok_admin, b, "/v1/questions");
	free(b);
	PROBLEM(409, "conflict");
	SUMS_SAME(s);
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM pupil WHERE school_id = %s"
	    " AND external_id = 'dup-1'", sa), 1);
	/* the same external_id in another school is fine */
	apitest_req("POST", tok_b, "{\"external_id\": \"dup-1\"}", "/v1/pupils");
	APITEST_ST(201);
}
END_TEST

START_TEST(test_idempotency)
{
	const char *const k1[] = { "Idempotency-Key: idem-key-1", NULL };
	const char *const k2[] = { "Idempotency-Key: idem-key-2", NULL };
	const char *const kbad[] = { "Idempotency-Key: has space", NULL };
	char *first;
	long long id;
	struct sums s;

	apitest_req_ex("POST", tok_admin, "application/json", "{\"external_id\": \"idem-1\"}", k1, "/v1/pupils");
	APITEST_ST(201);
	ck_assert_ptr_null(hdr("Idempotent-Replayed"));
	id = apitest_jint(apitest_r.j, "id");
	first = xstrdup(apitest_r.raw);
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM idempotency WHERE school_id = %s"
	    " AND key = 'idem-key-1'", sa), 1);

	s = sums_take();
	for (int i = 0; i < 2; i++) {
		apitest_req_ex("POST", tok_admin, "application/json", "{\"external_id\": \"idem-1\"}", k1, "/v1/pupils");
		APITEST_ST(201);
		ck_assert_ptr_nonnull(hdr("Idempotent-Replayed"));
		ck_assert_str_eq(hdr("Idempotent-Replayed"), "true");
		ck_assert_str_eq(hdr("Content-Type"), "application/json");
		ck_assert_str_eq(apitest_r.raw, first);
		ck_assert_int_eq(apitest_jint(apitest_r.j, "id"), id);
	}
	/* another token of the same school gets the same answer */
	apitest_req_ex("POST", tok_integ, "application/json", "{\"external_id\": \"idem-1\"}", k1, "/v1/pupils");
	APITEST_ST(201);
	ck_assert_ptr_nonnull(hdr("Idempotent-Replayed"));
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM pupil WHERE school_id = %s"
	    " AND external_id = 'idem-1'", sa), 1);

	/* Same key, another body (or route): refused, nothing done. */
	apitest_req_ex("POST", tok_admin, "application/json", "{\"external_id\": \"idem-2\"}", k1, "/v1/pupils");
	PROBLEM(422, "idempotency-key-reused");
	apitest_req_ex("POST", tok_admin, "application/json", "{\"external_id\": \"idem-1\", \"name\": \"x\"}", k1,
	    "/v1/courses");
	PROBLEM(422, "idempotency-key-reused");
	apitest_req_ex("POST", tok_admin, "application/json", "{\"external_id\": \"idem-2\"}", kbad, "/v1/pupils");
	PROBLEM(400, "bad-idempotency-key");
	SUMS_SAME(s);
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM pupil WHERE school_id = %s"
	    " AND external_id = 'idem-2'", sa), 0);

	/* A failed request is not remembered: fixing it under the same key works. */
	apitest_req_ex("POST", tok_admin, "application/json", "{\"external_id\": 2}", k2, "/v1/pupils");
	FIELD_ERROR("external_id");
	apitest_req_ex("POST", tok_admin, "application/json", "{\"external_id\": \"idem-3\"}", k2, "/v1/pupils");
	APITEST_ST(201);
	ck_assert_ptr_null(hdr("Idempotent-Replayed"));
	/* Keys are per school: B may use the same one. */
	apitest_req_ex("POST", tok_b, "application/json", "{\"external_id\": \"idem-1\"}", k1, "/v1/pupils");
	APITEST_ST(201);
	ck_assert_ptr_null(hdr("Idempotent-Replayed"));
	ck_assert_int_ne(apitest_jint(apitest_r.j, "id"), id);
	free(first);
}
END_TEST

/* After all of the above: never an internal error, never a request left hanging. */
START_TEST(test_no_server_errors)
{
	apitest_req("GET", NULL, NULL, "/metrics");
	APITEST_ST(200);
	ck_assert_ptr_nonnull(strstr(apitest_r.raw, "route=\"/v1/pupils\",status=\"201\"}"));
	ck_assert_ptr_nonnull(strstr(apitest_r.raw, "route=\"/v1/pupils/{id}\",status=\"404\"}"));
	/* /readyz answers 503 until the daemon is ready: that is its job, not an error */
	for (const char *bad = strstr(apitest_r.raw, "status=\"5"); bad != NULL;
	    bad = strstr(bad + 1, "status=\"5")) {
		const char *line = bad;

		while (line > apitest_r.raw && line[-1] != '\n')
			line--;
		if (strncmp(line, "recalld_http_requests_total{method=\"GET\",route=\"/readyz\"", 56)
		    == 0)
			continue;
		ck_abort_msg("a 5xx answer was counted: %.*s", (int)strcspn(line, "\n"), line);
	}
	ck_assert_ptr_nonnull(strstr(apitest_r.raw, "recalld_http_requests_in_flight 1\n"));
}
END_TEST

/* ---- the fixture: two schools, their tokens, a daemon ---- */

static bool
enrol(const char *token_, long long class_id, const char *role, long long person)
{
	char *b = xasprintf("{\"role\": \"%s\", \"%s_id\": %lld}", role, role, person);

	apitest_req("POST", token_, b, "/v1/classes/%lld/enrollments", class_id);
	free(b);
	if (apitest_r.status != 201)
		fprintf(stderr, "test_api: enrol: %ld %s\n", apitest_r.status, apitest_r.raw);
	return apitest_r.status == 201;
}

/* Both schools' objects through the API itself. */
static bool
seed(void)
{
	char t1[24], t2[24];

	if ((a_t1 = mk(tok_admin, "teachers", "{\"external_id\": \"t1\"}")) < 0 ||
	    (a_t2 = mk(tok_admin, "teachers", "{\"external_id\": \"t2\"}")) < 0 ||
	    (a_co = mk(tok_admin, "courses", "{\"external_id\": \"co\", \"name\": \"Maths\"}")) < 0 ||
	    (a_c1 = mk(tok_admin, "classes", "{\"external_id\": \"c1\", \"name\": \"7A\", \"course_id\": %lld}", a_co)) < 0 ||
	    (a_c2 = mk(tok_admin, "classes", "{\"external_id\": \"c2\", \"name\": \"7B\", \"course_id\": %lld}", a_co)) < 0 ||
	    (a_p1 = mk(tok_admin, "pupils", "{\"external_id\": \"p1\"}")) < 0 ||
	    (a_p2 = mk(tok_admin, "pupils", "{\"external_id\": \"p2\"}")) < 0 ||
	    (a_u1 = mk(tok_admin, "units", "{\"course_id\": %lld, \"external_id\": \"u1\", \"name\": \"Number\"}", a_co)) < 0 ||
	    (a_q1 = mk(tok_admin, "questions", "{\"unit_id\": %lld, \"external_id\": \"q1\", \"kind\": \"short\","
	    " \"prompt\": \"7 x 8?\", \"accepted_answers\": [\"56\"]}", a_u1)) < 0 ||
	    (a_mcq = mk(tok_admin, "questions", "{\"unit_id\": %lld, \"external_id\": \"q2\", \"kind\": \"mcq\","
	    " \"prompt\": \"7 x 7?\", \"choices\": [\"49\", \"56\"], \"correct_choice\": 0}", a_u1)) < 0 ||
	    !enrol(tok_admin, a_c1, "teacher", a_t1) || !enrol(tok_admin, a_c1, "pupil", a_p1) ||
	    !enrol(tok_admin, a_c2, "teacher", a_t2) || !enrol(tok_admin, a_c2, "pupil", a_p2))
		return false;
	snprintf(t1, sizeof t1, "%lld", a_t1);
	snprintf(t2, sizeof t2, "%lld", a_t2);
	if (!apitest_token(tok_teacher, sizeof tok_teacher, sa, "teacher", t1) ||
	    !apitest_token(tok_teacher2, sizeof tok_teacher2, sa, "teacher", t2))
		return false;
	if ((b_t = mk(tok_b, "teachers", "{\"external_id\": \"b-t\"}")) < 0 ||
	    (b_co = mk(tok_b, "courses", "{\"external_id\": \"b-co\", \"name\": \"Art\"}")) < 0 ||
	    (b_c = mk(tok_b, "classes", "{\"external_id\": \"b-c\", \"name\": \"8A\", \"course_id\": %lld}", b_co)) < 0 ||
	    (b_p = mk(tok_b, "pupils", "{\"external_id\": \"b-p\"}")) < 0 ||
	    (b_u = mk(tok_b, "units", "{\"course_id\": %lld, \"external_id\": \"b-u\", \"name\": \"Colour\"}", b_co)) < 0 ||
	    (b_q = mk(tok_b, "questions", "{\"unit_id\": %lld, \"external_id\": \"b-q\", \"kind\": \"self\","
	    " \"prompt\": \"Mix blue and yellow?\"}", b_u)) < 0 ||
	    !enrol(tok_b, b_c, "teacher", b_t) || !enrol(tok_b, b_c, "pupil", b_p))
		return false;
	apitest_req("POST", tok_b, "{\"date\": \"2026-09-14\"}", "/v1/classes/%lld/units/%lld/taught", b_c, b_u);
	if (apitest_r.status != 201)
		return false;
	apitest_req("POST", tok_b, "{\"date\": \"2026-01-05\", \"name\": \"Inset\", \"kind\": \"training\"}",
	    "/v1/calendar");
	return apitest_r.status == 201;
}

int
main(void)
{
	Suite *s;
	TCase *tc;
	const char *conninfo;
	int failed = 1, rc;

	conninfo = pgtest_start();
	apitest_env(conninfo, "5s");
	apitest_db_open(conninfo);

	if (!apitest_two_schools("School A", "School B", tok_admin, tok_b, sizeof tok_admin))
		goto done;
	if (!apitest_token(tok_integ, sizeof tok_integ, sa, "integration", NULL)) {
		fprintf(stderr, "test_api: token create failed\n");
		goto done;
	}
	if (!apitest_daemon_start()) {
		fprintf(stderr, "test_api: recalld serve did not get ready\n");
		apitest_daemon_dump_log();
		apitest_daemon_stop();
		goto done;
	}
	if (!seed()) {
		fprintf(stderr, "test_api: seeding the schools failed\n");
		apitest_daemon_dump_log();
		apitest_daemon_stop();
		goto done;
	}

	s = suite_create("api");
	tc = tcase_create("v1");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_pupils);
	tcase_add_test(tc, test_teachers);
	tcase_add_test(tc, test_courses);
	tcase_add_test(tc, test_classes);
	tcase_add_test(tc, test_units);
	tcase_add_test(tc, test_questions);
	tcase_add_test(tc, test_question_versions);
	tcase_add_test(tc, test_mcq_needs_correct_choice);
	tcase_add_test(tc, test_school);
	tcase_add_test(tc, test_calendar);
	tcase_add_test(tc, test_enrollments);
	tcase_add_test(tc, test_taught);
	tcase_add_test(tc, test_list_shape);
	tcase_add_test(tc, test_auth_401);
	tcase_add_test(tc, test_auth_403);
	tcase_add_test(tc, test_teacher_scope);
	tcase_add_test(tc, test_cross_school_ids);
	tcase_add_test(tc, test_cross_school_refs);
	tcase_add_test(tc, test_bad_json);
	tcase_add_test(tc, test_bad_fields);
	tcase_add_test(tc, test_content_type_415);
	tcase_add_test(tc, test_body_too_large_413);
	tcase_add_test(tc, test_unreadable_requests);
	tcase_add_test(tc, test_nul_bytes);
	tcase_add_test(tc, test_not_found_404);
	tcase_add_test(tc, test_method_405);
	tcase_add_test(tc, test_conflict_409);
	tcase_add_test(tc, test_idempotency);
	tcase_add_test(tc, test_no_server_errors);
	suite_add_tcase(s, tc);
	/* One daemon and one database for all: no fork between tests. */
	failed = cktest_run_nofork(s);
	apitest_req_done();

	/* SIGTERM: a clean exit 0 (under ASan: and no leaks). */
	apitest_req("GET", NULL, NULL, "/healthz");
	rc = apitest_r.status == 200 ? 0 : 1;
	apitest_req_done();
	if (rc != 0)
		fprintf(stderr, "test_api: the daemon is not healthy after the suite\n");
	rc |= apitest_daemon_stop();
	if (rc != 0) {
		fprintf(stderr, "test_api: recalld serve did not exit 0 on SIGTERM\n");
		failed++;
	}
	if (failed != 0)
		apitest_daemon_dump_log();
	else
		printf("recalld serve exited 0 on SIGTERM\n");
done:
	apitest_daemon_cleanup();
	apitest_db_close();
	pgtest_destroy();
	if (!apitest_openapi_check())
		failed++;
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
