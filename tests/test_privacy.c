/*
 * test_privacy.c: erasing a pupil, black-box, against the real daemon and
 * a real receiver. The pupil has batches, answers, levels, deliveries
 * (delivered and pending, with attempt logs) and an idempotent reply that
 * names them; erasure must leave no trace of them in any table. "Any
 * table" is found from the catalogue (information_schema), so a table
 * added later is covered without editing this test, and the test shows
 * that the walk finds a table the erasure forgot. Another school's admin,
 * a teacher, a missing or wrong confirmation: refused, nothing changed.
 * Answers in flight for the erased pupil lose no other pupil's answer.
 */
#include "autoconf.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <curl/curl.h>
#include <zip.h>

#include "apitest.h"
#include "cktest.h"
#include "pgtest.h"
#include "rcvtest.h"
#include "util.h"

static char admin[128], other[128], teacher[128];
static char conninfo[512];
static struct rcv rx;

/* A pupil as the test knows it: id, external id and a name no one else has. */
struct who {
	long long id;
	char ext[64], given[32], family[32];
};

/* The nth pupil of 8A Science with prompts, renamed so that their name is theirs alone. */
static void
pick(int n, struct who *w)
{
	char body[160], *ext, key[64], *path;
	const char *hdr[2] = { key, NULL };
	long st = 0;

	w->id = apitest_sql_int("SELECT p.pupil_id FROM pupil p WHERE p.school_id = 1 AND EXISTS"
	    " (SELECT 1 FROM prompt x WHERE x.school_id = 1 AND x.pupil_id = p.pupil_id)"
	    " ORDER BY p.pupil_id OFFSET %d LIMIT 1", n);
	ck_assert_int_gt(w->id, 0);
	ext = apitest_sql("SELECT external_id FROM pupil WHERE school_id = 1 AND pupil_id = %lld", w->id);
	util_strlcpy(w->ext, ext, sizeof w->ext);
	free(ext);
	snprintf(w->given, sizeof w->given, "Zebedee%d", n);
	snprintf(w->family, sizeof w->family, "Quuxworth%d", n);
	/* through the API with an Idempotency-Key: its kept reply names them too */
	snprintf(body, sizeof body, "{\"given_name\": \"%s\", \"family_name\": \"%s\"}", w->given,
	    w->family);
	snprintf(key, sizeof key, "Idempotency-Key: rename-%lld", w->id);
	path = xasprintf("/v1/pupils/%lld", w->id);
	json_decref(api_call_ex("PATCH", path, admin, "application/json", body, strlen(body), hdr,
	    &st, NULL, NULL));
	free(path);
	ck_assert_int_eq(st, 200);
}

/* Right answers to the open prompts that cond picks, one JSON body a line (caller frees). */
static char *
right_answers(const char *cond)
{
	return apitest_sql("SELECT string_agg(format('{\"prompt_id\": %%s, %%s}', p.prompt_id,"
	    " CASE q.kind WHEN 'mcq' THEN '\"answer\": ' || q.correct_choice"
	    "  WHEN 'short' THEN '\"answer\": ' || (q.accepted_answers -> 0)::text"
	    "  ELSE '\"correct\": true' END), E'\\n' ORDER BY p.prompt_id)"
	    " FROM prompt p JOIN question q ON q.school_id = p.school_id"
	    "  AND q.question_id = p.question_id"
	    " WHERE p.school_id = 1 AND p.answered_at IS NULL"
	    " AND p.expires_at > (SELECT to_timestamp(now_us / 1e6) FROM manual_clock) AND %s", cond);
}

/* Answer every open prompt of the pupil, right. */
static int
answer_all(const struct who *w)
{
	char cond[64], *bodies, *save = NULL;
	int n = 0;

	snprintf(cond, sizeof cond, "p.pupil_id = %lld", w->id);
	bodies = right_answers(cond);
	for (char *t = bodies ? strtok_r(bodies, "\n", &save) : NULL; t != NULL;
	    t = strtok_r(NULL, "\n", &save))
		if (apitest_json("POST", admin, t, NULL, "/v1/responses") == 200)
			n++;
	free(bodies);
	return n;
}

/*
 * Every column of every table that could hold the pupil: integer columns
 * named like pupil*, and every text, JSON and array column, searched for
 * their id (as a JSON pupil id), external id and names. Returns the
 * "table.column" list of hits (caller frees), "" when none.
 */
static char *
catalogue_hits(const struct who *w)
{
	char *cols = apitest_sql("SELECT string_agg(c.table_name || '.' || c.column_name || ':' ||"
	    " CASE WHEN c.data_type IN ('bigint', 'integer') THEN 'int' ELSE 'text' END, ','"
	    " ORDER BY c.table_name, c.column_name)"
	    " FROM information_schema.columns c JOIN information_schema.tables t"
	    "  ON t.table_schema = c.table_schema AND t.table_name = c.table_name"
	    " WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'"
	    " AND ((c.data_type IN ('bigint', 'integer') AND c.column_name LIKE '%%pupil%%')"
	    "  OR c.data_type IN ('text', 'character varying', 'json', 'jsonb', 'ARRAY'))");
	char *save = NULL, *tok;
	char pattern[512];
	size_t cap = 256, len = 0;
	char *hits = xcalloc(cap, 1);

	ck_assert(cols != NULL);
	snprintf(pattern, sizeof pattern, "(\"pupil\":\\s*\\{\\s*\"id\":\\s*%lld\\M)"
	    "|(\"pupil_id\":\\s*%lld\\M)|(\\m%s\\M)|(%s)|(%s)", w->id, w->id, w->ext, w->given,
	    w->family);
	for (tok = strtok_r(cols, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		char *colon = strrchr(tok, ':'), *dot = strchr(tok, '.');
		long long n;

		*colon = '\0';
		*dot = '\0';
		if (strcmp(colon + 1, "int") == 0)
			n = apitest_sql_int("SELECT count(*) FROM \"%s\" WHERE \"%s\" = %lld", tok, dot + 1,
			    w->id);
		else
			n = apitest_sql_int("SELECT count(*) FROM \"%s\" WHERE \"%s\"::text ~ '%s'", tok,
			    dot + 1, pattern);
		if (n > 0) {
			if (len + strlen(tok) + strlen(dot + 1) + 32 > cap) {
				cap = cap * 2 + strlen(tok) + strlen(dot + 1) + 32;
				hits = xrealloc(hits, cap);
			}
			len += (size_t)snprintf(hits + len, cap - len, "%s%s.%s", len ? " " : "", tok,
			    dot + 1);
		}
	}
	free(cols);
	return hits;
}

/*
 * hits (catalogue_hits) without the audit's columns, in place: the audit
 * and its monthly partitions (audit_default, audit_yYYYYmMM, and the
 * history partition audit_to_yYYYYmMM that the partitions job may make
 * at any moment of the test).
 */
static char *
without_audit(char *hits)
{
	char *copy = xstrdup(hits), *save = NULL;
	size_t o = 0;

	for (char *t = strtok_r(copy, " ", &save); t != NULL; t = strtok_r(NULL, " ", &save))
		if (strncmp(t, "audit.", 6) != 0 && strncmp(t, "audit_", 6) != 0)
			o += (size_t)sprintf(hits + o, "%s%s", o ? " " : "", t);
	hits[o] = '\0';
	free(copy);
	return hits;
}

/* What another pupil has, to see that it is untouched. */
static char *
holdings(const struct who *w)
{
	return apitest_sql("SELECT format('%%s %%s %%s %%s %%s %%s', (SELECT count(*) FROM prompt"
	    " WHERE school_id = 1 AND pupil_id = %lld), (SELECT count(*) FROM review WHERE school_id = 1"
	    " AND pupil_id = %lld), (SELECT count(*) FROM memory_state WHERE school_id = 1"
	    " AND pupil_id = %lld), (SELECT count(*) FROM mastery WHERE school_id = 1"
	    " AND pupil_id = %lld), (SELECT count(*) FROM class_pupil WHERE school_id = 1"
	    " AND pupil_id = %lld), (SELECT count(*) FROM delivery WHERE school_id = 1"
	    " AND payload::jsonb #>> '{data,pupil,id}' = '%lld'))", w->id, w->id, w->id, w->id, w->id,
	    w->id);
}

static long
erase(const char *token, long long id, const char *body, json_t **out)
{
	return apitest_json("POST", token, body, out, "/v1/pupils/%lld/erase", id);
}

/* The school's day: batches built and pushed to a real receiver (the rest starts from here). */
START_TEST(test_batches_delivered)
{
	json_t *ep = NULL;
	char body[256];

	ck_assert_int_eq(apitest_json("POST", admin, "{\"url\": \"https://example.com/x\"}", &ep,
	    "/v1/endpoints"), 201);
	rcv_start(&rx, apitest_jstr(ep, "secret"), NULL);
	snprintf(body, sizeof body, "{\"url\": \"%s\"}", rx.url);
	ck_assert_int_eq(apitest_json("PATCH", admin, body, NULL, "/v1/endpoints/%lld",
	    apitest_jint(ep, "id")), 200);
	json_decref(ep);
	ck_assert(apitest_set_clock(admin, "2026-09-21T15:30:00Z"));	/* Monday 16:30 in London */
	ck_assert(apitest_wait_sql(60, 10000, "SELECT count(*) FROM batch"));
	ck_assert(apitest_wait_sql(60, 20000, "SELECT count(*) FROM delivery WHERE status = 'delivered'"));
}
END_TEST

START_TEST(test_refusals_change_nothing)
{
	struct who a;
	char *before, *after, body[128];

	pick(0, &a);
	before = catalogue_hits(&a);
	/* another school's admin: the pupil does not exist for them */
	snprintf(body, sizeof body, "{\"confirm\": \"%s\"}", a.ext);
	ck_assert_int_eq(erase(other, a.id, body, NULL), 404);
	/* a teacher may not */
	ck_assert_int_eq(erase(teacher, a.id, body, NULL), 403);
	/* without the confirmation, or with another pupil's external id */
	ck_assert_int_eq(erase(admin, a.id, "{}", NULL), 422);
	ck_assert_int_eq(erase(admin, a.id, "{\"confirm\": \"someone-else\"}", NULL), 422);
	ck_assert_int_eq(erase(admin, a.id, "{\"confirm\": 7}", NULL), 422);
	ck_assert_int_eq(erase(admin, a.id, "{\"confirm\": \"x\", \"force\": true}", NULL), 422);
	ck_assert_int_eq(erase(admin, 99999999, body, NULL), 404);
	ck_assert_int_eq(apitest_json("POST", admin, body, NULL, "/v1/pupils/abc/erase"), 404);
	after = catalogue_hits(&a);
	/* the refused tries are in the audit, by design: the rest is as it was */
	ck_assert_str_eq(without_audit(before), without_audit(after));
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM erasure"), 0);
	free(before);
	free(after);
}
END_TEST

START_TEST(test_erase_leaves_no_trace)
{
	struct who a, b;
	char *before_b, *after_b, *hits, *link, body[128];
	json_t *r = NULL;
	long st = 0;

	pick(1, &a);
	pick(2, &b);
	ck_assert_int_gt(answer_all(&a), 0);
	ck_assert_int_gt(answer_all(&b), 0);
	/* the feedback events are delivered; then the receiver fails: some stay pending */
	ck_assert(apitest_wait_sql(0, 20000, "SELECT -count(*) FROM delivery WHERE status = 'pending'"));
	ck_assert(rcv_set_status(&rx, 503));
	ck_assert(apitest_set_clock(admin, "2026-09-22T15:30:00Z"));	/* Tuesday's batches */
	ck_assert(apitest_wait_sql(1, 20000, "SELECT count(*) FROM delivery WHERE status = 'pending'"
	    " AND attempts > 0 AND payload::jsonb #>> '{data,pupil,id}' = '%lld'", a.id));
	/* the pupil has launched recalld from the school's LMS */
	ck_assert(apitest_sql_ok("INSERT INTO lti_platform (school_id, issuer, client_id, deployment_ids,"
	    " auth_url, token_url, jwks_url, created_at, updated_at) VALUES (1, 'https://lms.example',"
	    " 'c', '{d}', 'https://lms.example/a', 'https://lms.example/t', 'https://lms.example/j',"
	    " now(), now()) ON CONFLICT DO NOTHING"));
	ck_assert(apitest_sql_ok("INSERT INTO lti_user (school_id, platform_id, sub, pupil_id, last_launch_at)"
	    " SELECT 1, platform_id, 'lms-sub-%lld', %lld, now() FROM lti_platform WHERE school_id = 1",
	    a.id, a.id));
	/* before: the pupil is all over the catalogue */
	hits = catalogue_hits(&a);
	ck_assert_msg(strstr(hits, "pupil.external_id") && strstr(hits, "delivery.payload") &&
	    strstr(hits, "review.pupil_id") && strstr(hits, "lti_user.pupil_id"),
	    "the walk does not see the pupil before erasure: %s", hits);
	free(hits);
	link = apitest_sql("SELECT payload::jsonb #>> '{data,prompts,0,answer_url}' FROM delivery"
	    " WHERE school_id = 1 AND event_type = 'prompt.batch' AND status = 'pending'"
	    " AND payload::jsonb #>> '{data,pupil,id}' = '%lld' LIMIT 1", a.id);
	ck_assert(link != NULL && strncmp(link, "http", 4) == 0);
	before_b = holdings(&b);

	snprintf(body, sizeof body, "{\"confirm\": \"%s\"}", a.ext);
	ck_assert_int_eq(erase(admin, a.id, body, &r), 200);
	ck_assert(strncmp(apitest_jstr(r, "erasure_id"), "er_", 3) == 0);
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM erasure WHERE school_id = 1"
	    " AND erasure_id = '%s' AND reason = 'request' AND erased_by LIKE 'token %%'",
	    apitest_jstr(r, "erasure_id")), 1);
	json_decref(r);

	hits = catalogue_hits(&a);
	ck_assert_msg(hits[0] == '\0', "erasure left the pupil in: %s", hits);
	free(hits);
	after_b = holdings(&b);
	ck_assert_str_eq(before_b, after_b);	/* another pupil untouched */
	/* the delivered ones stay for the operator, emptied; the pending ones are gone */
	ck_assert_int_gt(apitest_sql_int("SELECT count(*) FROM delivery WHERE school_id = 1"
	    " AND payload = '{}' AND status = 'delivered'"), 0);
	/* their answer link stops working */
	{
		char *path = strstr(link, "/a/");

		ck_assert(path != NULL);
		json_decref(api_call("GET", path, NULL, NULL, NULL, &st, NULL, NULL));
		ck_assert_int_ne(st, 200);
		ck_assert_int_lt(st, 500);
	}
	free(link);
	/* a second erasure: the pupil is not there */
	ck_assert_int_eq(erase(admin, a.id, body, NULL), 404);
	/* and a flag run after it is fine */
	ck_assert(rcv_set_status(&rx, 200));
	free(before_b);
	free(after_b);
}
END_TEST

/* The named file of the zip at path as JSON (caller decrefs), or NULL. */
static json_t *
zip_json(const char *path, const char *name, char **text_out)
{
	zip_t *za = zip_open(path, ZIP_RDONLY, NULL);
	zip_stat_t zs;
	zip_file_t *zf;
	char *buf;
	json_t *j = NULL;

	if (za == NULL)
		return NULL;
	if (zip_stat(za, name, 0, &zs) == 0 && (zf = zip_fopen(za, name, 0)) != NULL) {
		buf = xcalloc(zs.size + 1, 1);
		if (zip_fread(zf, buf, zs.size) == (zip_int64_t)zs.size)
			j = json_loads(buf, 0, NULL);
		zip_fclose(zf);
		if (text_out != NULL)
			*text_out = buf;
		else
			free(buf);
	}
	zip_close(za);
	return j;
}

/* Subject access: the export holds what the database holds about the pupil. */
START_TEST(test_export)
{
	struct who e;
	char path[] = "/tmp/test-export-XXXXXX.zip", *raw = NULL, *hdr = NULL, *text = NULL, sid[24];
	long st = 0;
	size_t len;
	FILE *f;
	json_t *j;
	char *out = NULL;
	int fd, rc;

	pick(5, &e);
	ck_assert_int_gt(answer_all(&e), 0);
	/* pick()'s PATCH is in the pupil's audit once the writer has flushed */
	ck_assert(apitest_wait_sql(1, 5000, "SELECT least(count(*), 1) FROM audit WHERE school_id = 1"
	    " AND pupil_id = %lld", e.id));
	/* another school, a teacher, no such pupil */
	ck_assert_int_eq(apitest_json("GET", other, NULL, NULL, "/v1/pupils/%lld/export", e.id), 404);
	ck_assert_int_eq(apitest_json("GET", teacher, NULL, NULL, "/v1/pupils/%lld/export", e.id), 403);
	ck_assert_int_eq(apitest_json("GET", admin, NULL, NULL, "/v1/pupils/99999999/export"), 404);
	{
		char *p = xasprintf("/v1/pupils/%lld/export", e.id);

		json_decref(api_call("GET", p, admin, NULL, NULL, &st, &raw, &hdr));
		free(p);
	}
	ck_assert_int_eq(st, 200);
	ck_assert(strstr(hdr, "application/zip") != NULL);
	ck_assert(strstr(hdr, "attachment") != NULL);
	ck_assert((fd = mkstemps(path, 4)) >= 0);
	close(fd);
	len = 0;
	/* the raw body is binary: its length from the zip's own end record is not needed */
	f = fopen(path, "wb");
	ck_assert(f != NULL);
	{
		const char *cl = strcasestr(hdr, "Content-Length:");

		ck_assert(cl != NULL);
		len = (size_t)strtoul(cl + 15, NULL, 10);
	}
	ck_assert_uint_eq(fwrite(raw, 1, len, f), len);
	fclose(f);
	j = zip_json(path, "pupil.json", NULL);
	ck_assert(j != NULL);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(j, 0), "external_id")), e.ext);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(j, 0), "given_name")), e.given);
	json_decref(j);
#define COUNT_EQ(file, sql) do { json_t *a = zip_json(path, file, NULL); \
	ck_assert_msg(a != NULL, "%s missing", file); \
	ck_assert_int_eq((long long)json_array_size(a), apitest_sql_int(sql, e.id)); json_decref(a); } while (0)
	COUNT_EQ("reviews.json", "SELECT count(*) FROM review WHERE school_id = 1 AND pupil_id = %lld");
	COUNT_EQ("prompts.json", "SELECT count(*) FROM prompt WHERE school_id = 1 AND pupil_id = %lld");
	COUNT_EQ("memory.json", "SELECT count(*) FROM memory_state WHERE school_id = 1 AND pupil_id = %lld");
	COUNT_EQ("levels.json", "SELECT count(*) FROM mastery WHERE school_id = 1 AND pupil_id = %lld");
	COUNT_EQ("enrolments.json", "SELECT count(*) FROM class_pupil WHERE school_id = 1 AND pupil_id = %lld");
	{
		/* the pupil's audit as of the export (its own entry may come after) */
		json_t *a = zip_json(path, "access_audit.json", NULL);

		ck_assert(a != NULL);
		ck_assert_int_ge((long long)json_array_size(a), 1);	/* pick()'s PATCH at least */
		ck_assert_int_le((long long)json_array_size(a), apitest_sql_int("SELECT count(*)"
		    " FROM audit WHERE school_id = 1 AND pupil_id = %lld", e.id));
		json_decref(a);
	}
	COUNT_EQ("deliveries.json", "SELECT count(*) FROM delivery WHERE school_id = 1"
	    " AND payload::jsonb #>> '{data,pupil,id}' = '%lld'");
	ck_assert_int_gt(apitest_sql_int("SELECT count(*) FROM review WHERE school_id = 1"
	    " AND pupil_id = %lld", e.id), 0);
	ck_assert(zip_json(path, "README.txt", &text) == NULL && text != NULL);
	ck_assert(strstr(text, "reviews.json") != NULL);
	free(text);
	/* nobody else in it */
	j = zip_json(path, "reviews.json", NULL);
	for (size_t i = 0; i < json_array_size(j); i++)
		ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(j, i), "pupil_id")), e.id);
	json_decref(j);
	unlink(path);
	/* the command line: the same files; a pupil of no school: exit 2 */
	snprintf(sid, sizeof sid, "%lld", e.id);
	rc = apitest_recalld(&out, "pupil", "export", "--school", "1", "--pupil", sid, "-o", path,
	    (char *)NULL);
	free(out);
	ck_assert_int_eq(rc, 0);
	COUNT_EQ("reviews.json", "SELECT count(*) FROM review WHERE school_id = 1 AND pupil_id = %lld");
	unlink(path);
	rc = apitest_recalld(&out, "pupil", "export", "--school", "2", "--pupil", sid, "-o", path,
	    (char *)NULL);
	free(out);
	ck_assert_int_eq(rc, 2);
	free(raw);
	free(hdr);
}
END_TEST

/* Replace each {param} of a route pattern with a value that names nothing. */
static void
fill_pattern(const char *pattern, char *out, size_t len)
{
	size_t o = 0;

	for (const char *q = pattern; *q != '\0' && o + 16 < len; q++) {
		if (*q != '{') {
			out[o++] = *q;
			continue;
		}
		o += (size_t)snprintf(out + o, len - o, "%s",
		    strncmp(q, "{date}", 6) == 0 ? "2026-01-01" : "999999");
		q = strchr(q, '}');
		if (q == NULL)
			break;
	}
	out[o] = '\0';
}

/*
 * Every route of the router table (recalld serve --routes) that a person's
 * token may call leaves an audit entry, whatever it answers: a route added
 * later is covered, or this test names it.
 */
START_TEST(test_audit_every_route)
{
	char *routes = NULL, *save = NULL, path[256], *missing = xstrdup("");
	int n = 0;
	long long token_a = apitest_sql_int("SELECT max(token_id) FROM api_token WHERE school_id = 1"
	    " AND role = 'admin'");

	ck_assert_int_eq(apitest_recalld(&routes, "serve", "--routes", (char *)NULL), 0);
	for (char *line = strtok_r(routes, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		char method[16], pattern[200], roles[64];
		const char *tok;
		long st = 0;

		if (sscanf(line, "%15s %199s %63s", method, pattern, roles) != 3 ||
		    strcmp(roles, "-") == 0 || strcmp(roles, "public") == 0)
			continue;
		if (strstr(roles, "admin") == NULL && strstr(roles, "teacher") == NULL)
			continue;	/* integration only: counted, not logged */
		tok = strstr(roles, "admin") != NULL ? admin : teacher;
		fill_pattern(pattern, path, sizeof path);
		json_decref(api_call(method, path, tok, strcmp(method, "GET") && strcmp(method, "DELETE") ?
		    "application/json" : NULL, strcmp(method, "GET") && strcmp(method, "DELETE") ? "{}" :
		    NULL, &st, NULL, NULL));
		ck_assert_int_gt(st, 0);
		n++;
		if (!apitest_wait_sql(1, 5000, "SELECT least(count(*), 1) FROM audit WHERE school_id = 1"
		    " AND method = '%s' AND route = '%s' AND status = %ld AND token_id IS NOT NULL",
		    method, pattern, st)) {
			char *next = xasprintf("%s %s %s", missing, method, pattern);

			free(missing);
			missing = next;
		}
	}
	free(routes);
	ck_assert_int_gt(n, 40);
	ck_assert_msg(missing[0] == '\0', "routes without an audit entry:%s", missing);
	free(missing);
	ck_assert_int_gt(token_a, 0);
}
END_TEST

/* Who looked at a pupil: a teacher's read is in the pupil's audit; other schools see nothing. */
START_TEST(test_audit_pupil_reads)
{
	struct who v;
	json_t *j = NULL, *items;
	char *metrics = NULL;
	long st = 0;
	size_t i;
	bool found = false;

	/* a pupil of the teacher's own classes */
	v.id = apitest_sql_int("SELECT min(cp.pupil_id) FROM class_pupil cp JOIN class_teacher ct"
	    " ON ct.school_id = cp.school_id AND ct.class_id = cp.class_id WHERE cp.school_id = 1"
	    " AND ct.teacher_id = (SELECT min(teacher_id) FROM teacher WHERE school_id = 1)");
	ck_assert_int_gt(v.id, 0);
	ck_assert_int_eq(apitest_json("GET", teacher, NULL, NULL, "/v1/pupils/%lld", v.id), 200);
	ck_assert(apitest_wait_sql(1, 5000, "SELECT least(count(*), 1) FROM audit WHERE school_id = 1"
	    " AND role = 'teacher' AND pupil_id = %lld AND method = 'GET'"
	    " AND route = '/v1/pupils/{id}' AND status = 200", v.id));
	ck_assert_int_eq(apitest_json("GET", admin, NULL, &j, "/v1/audit?pupil=%lld", v.id), 200);
	items = json_object_get(j, "items");
	ck_assert_int_gt(json_array_size(items), 0);
	for (i = 0; i < json_array_size(items); i++) {
		json_t *e = json_array_get(items, i);

		ck_assert_int_eq(apitest_jint(e, "pupil_id"), v.id);
		if (strcmp(apitest_jstr(e, "role"), "teacher") == 0 &&
		    strcmp(apitest_jstr(e, "route"), "/v1/pupils/{id}") == 0 &&
		    strcmp(apitest_jstr(e, "method"), "GET") == 0 && apitest_jint(e, "status") == 200)
			found = true;
	}
	ck_assert(found);
	json_decref(j);
	/* since, and bad input */
	ck_assert_int_eq(apitest_json("GET", admin, NULL, &j, "/v1/audit?since=2030-01-01T00:00:00Z"), 200);
	ck_assert_int_eq(json_array_size(json_object_get(j, "items")), 0);
	json_decref(j);
	ck_assert_int_eq(apitest_json("GET", admin, NULL, NULL, "/v1/audit?pupil=abc"), 422);
	ck_assert_int_eq(apitest_json("GET", admin, NULL, NULL, "/v1/audit?since=yesterday"), 422);
	/* a teacher may not read the audit; another school's admin sees only its own */
	ck_assert_int_eq(apitest_json("GET", teacher, NULL, NULL, "/v1/audit"), 403);
	ck_assert_int_eq(apitest_json("GET", other, NULL, &j, "/v1/audit?pupil=%lld", v.id), 200);
	items = json_object_get(j, "items");
	for (i = 0; i < json_array_size(items); i++)	/* its own admin's refused tries only */
		ck_assert_int_eq(apitest_jint(json_array_get(items, i), "status"), 404);
	json_decref(j);
	/* integration tokens: counted, not logged */
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM audit a JOIN api_token t USING"
	    " (school_id, token_id) WHERE t.role = 'integration'"), 0);
	json_decref(api_call("GET", "/metrics", NULL, NULL, NULL, &st, &metrics, NULL));
	ck_assert(metrics != NULL && strstr(metrics, "recalld_audit_entries_total{outcome=\"written\"}"));
	ck_assert(strstr(metrics, "recalld_audit_entries_total{outcome=\"dropped\"} 0") != NULL);
	free(metrics);
}
END_TEST

/* The walk finds what the erasure list forgot: a table it does not know. */
START_TEST(test_walk_finds_a_forgotten_table)
{
	struct who c;
	char *hits, *out = NULL, sid[24];
	int rc;

	pick(3, &c);
	ck_assert(apitest_sql_ok("CREATE TABLE pupil_note (school_id bigint, pupil_id bigint,"
	    " note text)"));
	ck_assert(apitest_sql_ok("INSERT INTO pupil_note VALUES (1, %lld, 'talk to %s %s')"
	    " RETURNING 1", c.id, c.given, c.family));
	snprintf(sid, sizeof sid, "%lld", c.id);
	/* the command line this time; a wrong confirmation first */
	rc = apitest_recalld(&out, "pupil", "erase", "--school", "1", "--pupil", sid, "--confirm",
	    "nobody", (char *)NULL);
	ck_assert_int_eq(rc, 2);
	free(out);
	out = NULL;
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM pupil WHERE pupil_id = %lld", c.id), 1);
	rc = apitest_recalld(&out, "pupil", "erase", "--school", "1", "--pupil", sid, "--confirm",
	    c.ext, (char *)NULL);
	ck_assert_int_eq(rc, 0);
	ck_assert(out != NULL && strncmp(out, "er_", 3) == 0);
	free(out);
	hits = catalogue_hits(&c);
	ck_assert_str_eq(hits, "pupil_note.note pupil_note.pupil_id");
	free(hits);
	ck_assert(apitest_sql_ok("DROP TABLE pupil_note"));
}
END_TEST

/* Answers of other pupils arrive while one pupil is erased. */
struct flight {
	char *bodies[400];
	int n, ok, other;
};

static size_t
discard(char *data, size_t size, size_t nmemb, void *arg)
{
	(void)data;
	(void)arg;
	return size * nmemb;
}

/* Its own libcurl handle: apitest's is the main thread's. */
static void *
answer_thread(void *arg)
{
	struct flight *f = arg;
	CURL *e = curl_easy_init();
	struct curl_slist *h = NULL;
	char url[160], auth[200];

	snprintf(url, sizeof url, "%s/v1/responses", apitest_base());
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", admin);
	h = curl_slist_append(h, auth);
	h = curl_slist_append(h, "Content-Type: application/json");
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 30000L);
	for (int i = 0; i < f->n; i++) {
		long st = 0;

		curl_easy_setopt(e, CURLOPT_POSTFIELDS, f->bodies[i]);
		if (curl_easy_perform(e) == CURLE_OK)
			curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &st);
		if (st == 200)
			f->ok++;
		else if (f->other++ == 0)
			fprintf(stderr, "test_privacy: %s: %ld\n", f->bodies[i], st);
	}
	curl_slist_free_all(h);
	curl_easy_cleanup(e);
	return NULL;
}

START_TEST(test_erase_during_answers)
{
	struct who d;
	struct flight f = { 0 };
	char *ids, *save = NULL, body[128], cond[64];
	pthread_t th;
	long long before;

	pick(4, &d);
	snprintf(cond, sizeof cond, "p.pupil_id <> %lld", d.id);
	ids = right_answers(cond);
	for (char *t = ids ? strtok_r(ids, "\n", &save) : NULL; t != NULL && f.n < 400;
	    t = strtok_r(NULL, "\n", &save))
		f.bodies[f.n++] = t;
	ck_assert_int_gt(f.n, 20);
	before = apitest_sql_int("SELECT count(*) FROM review");
	ck_assert_int_eq(pthread_create(&th, NULL, answer_thread, &f), 0);
	snprintf(body, sizeof body, "{\"confirm\": \"%s\"}", d.ext);
	ck_assert_int_eq(erase(admin, d.id, body, NULL), 200);
	pthread_join(th, NULL);
	/* every other pupil's answer got its 200 and its review */
	ck_assert_int_eq(f.other, 0);
	ck_assert_int_eq(f.ok, f.n);
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM review"), before + f.n);
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM pupil WHERE pupil_id = %lld", d.id), 0);
	free(ids);
}
END_TEST

/* The clock now plus days, ISO 8601. */
static char *
clock_plus_days(int days)
{
	return apitest_sql("SELECT to_char(to_timestamp(now_us / 1e6) AT TIME ZONE 'UTC'"
	    " + interval '%d days', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM manual_clock", days);
}

/* A leaver stops getting questions at once and is erased privacy.leaver_erase_after later. */
/* parent's partitions but the default, by name, space-separated (caller frees) */
static char *
partitions_of(const char *parent)
{
	return apitest_sql("SELECT coalesce(string_agg(c.relname, ' ' ORDER BY c.relname), '')"
	    " FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
	    " WHERE i.inhparent = '%s'::regclass AND c.relname <> '%s_default'", parent, parent);
}

START_TEST(test_leaver_erased_after_90_days)
{
	struct who l;
	char *at, *hits, *parts;
	long long batches, states;

	/*
	 * Answers and audit in monthly partitions, made at start on the demo
	 * clock (21 September 2026): everything so far in a history partition
	 * up to October, then a partition a month, three months ahead.
	 */
	ck_assert(apitest_wait_job_idle("partitions", 10000));
	parts = partitions_of("review");
	ck_assert_str_eq(parts, "review_to_y2026m10 review_y2026m10 review_y2026m11 review_y2026m12");
	free(parts);
	parts = partitions_of("audit");
	ck_assert_str_eq(parts, "audit_to_y2026m10 audit_y2026m10 audit_y2026m11 audit_y2026m12");
	free(parts);
	pick(6, &l);
	/* for retention below: a guardian linked to nobody, and a family note's old week */
	ck_assert(apitest_sql_ok("INSERT INTO guardian (school_id, external_id, updated_at)"
	    " VALUES (1, 'g-nobody', now())"));
	ck_assert(apitest_sql_ok("INSERT INTO guardian_digest (school_id, pupil_id, week, sent_at)"
	    " SELECT 1, min(pupil_id), '2026-09-14', now() FROM pupil WHERE school_id = 1 AND active"));
	states = apitest_sql_int("SELECT count(*) FROM memory_state WHERE school_id = 1"
	    " AND pupil_id <> %lld", l.id);
	ck_assert_int_gt(apitest_sql_int("SELECT count(*) FROM review WHERE school_id = 1"), 0);
	ck_assert_int_eq(apitest_json("PATCH", admin, "{\"active\": false}", NULL,
	    "/v1/pupils/%lld", l.id), 200);
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM pupil WHERE pupil_id = %lld"
	    " AND left_at IS NOT NULL", l.id), 1);
	batches = apitest_sql_int("SELECT count(*) FROM batch WHERE pupil_id = %lld", l.id);
	/* the next school day: no batch for them */
	at = clock_plus_days(1);
	ck_assert(apitest_set_clock(admin, at));
	free(at);
	ck_assert(apitest_wait_job_idle("batches", 10000));
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM batch WHERE pupil_id = %lld", l.id),
	    batches);
	/* 89 days after they left: still there */
	at = clock_plus_days(88);
	ck_assert(apitest_set_clock(admin, at));
	free(at);
	ck_assert(apitest_wait_job_idle("leavers", 10000));
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM pupil WHERE pupil_id = %lld", l.id), 1);
	/* 91 days: erased, as a leaver */
	at = clock_plus_days(2);
	ck_assert(apitest_set_clock(admin, at));
	free(at);
	ck_assert(apitest_wait_sql(0, 20000, "SELECT -count(*) FROM pupil WHERE pupil_id = %lld", l.id));
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM erasure WHERE reason = 'leaver'"
	    " AND erased_by = 'leavers job'"), 1);
	hits = catalogue_hits(&l);
	ck_assert_msg(hits[0] == '\0', "the leavers job left the pupil in: %s", hits);
	free(hits);
	/* an active pupil of the same age is not touched */
	ck_assert_int_gt(apitest_sql_int("SELECT count(*) FROM pupil WHERE school_id = 1 AND active"), 0);
	/*
	 * Retention, in the same run (review_retention 60d here, delivery 30d):
	 * answers older than 60 days are gone and the memory states stay;
	 * deliveries done over 30 days ago keep their row and status, not
	 * what they carried (every answer of this run is over 60 days old).
	 */
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM review WHERE school_id = 1"
	    " AND reviewed_at < (SELECT to_timestamp(now_us / 1e6) FROM manual_clock) - interval '60 days'"),
	    0);
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM memory_state WHERE school_id = 1"),
	    states);
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM delivery WHERE school_id = 1"
	    " AND status <> 'pending' AND payload <> '{}' AND coalesce(delivered_at, next_attempt_at)"
	    " < (SELECT to_timestamp(now_us / 1e6) FROM manual_clock) - interval '30 days'"), 0);
	ck_assert_int_gt(apitest_sql_int("SELECT count(*) FROM delivery WHERE school_id = 1"
	    " AND status = 'delivered' AND payload = '{}'"), 0);
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM review WHERE school_id = 1"), 0);
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM guardian_digest WHERE school_id = 1"), 0);
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM guardian WHERE external_id = 'g-nobody'"),
	    0);
	/*
	 * Partitions on 21 December: made through March; the history partition
	 * (before October) is wholly past 60 days and dropped; October's is not
	 * wholly past it and stays, emptied row by row. The audit keeps a year.
	 */
	ck_assert(apitest_wait_job_idle("partitions", 10000));
	parts = partitions_of("review");
	ck_assert_str_eq(parts, "review_y2026m10 review_y2026m11 review_y2026m12 review_y2027m01"
	    " review_y2027m02 review_y2027m03");
	free(parts);
	parts = partitions_of("audit");
	ck_assert_str_eq(parts, "audit_to_y2026m10 audit_y2026m10 audit_y2026m11 audit_y2026m12"
	    " audit_y2027m01 audit_y2027m02 audit_y2027m03");
	free(parts);
}
END_TEST

/*
 * Rows of school s in every table that has a school_id (from the
 * catalogue), as "table=n ..."; with live, also the sender's attempt log
 * (it grows while the sender retries) and the audit.
 */
static char *
school_rows(int s, bool live)
{
	char *tables = apitest_sql("SELECT string_agg(c.table_name, ',' ORDER BY c.table_name)"
	    " FROM information_schema.columns c JOIN information_schema.tables t"
	    "  ON t.table_schema = c.table_schema AND t.table_name = c.table_name"
	    " WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'"
	    " AND c.column_name = 'school_id'");
	char *save = NULL, *out = xstrdup("");

	for (char *t = strtok_r(tables, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
		long long n = apitest_sql_int("SELECT count(*) FROM \"%s\" WHERE school_id = %d", t, s);
		char *next;

		/*
		 * Without live, neither the sender's attempt log nor the access
		 * audit (and its partitions), which the daemon's batched writer
		 * may still be filling with the earlier tests' requests.
		 */
		if (n == 0 || (!live && (strcmp(t, "delivery_attempt") == 0 ||
		    strncmp(t, "audit", 5) == 0)))
			continue;
		next = xasprintf("%s%s%s=%lld", out, *out ? " " : "", t, n);
		free(out);
		out = next;
	}
	free(tables);
	return out;
}

/* The school leaves: every row of it goes, the other school's stay. */
START_TEST(test_school_delete)
{
	char *before1, *after1, *rows, *out = NULL;
	long st = 0;
	int rc;

	ck_assert_int_eq(apitest_json("POST", other, "{\"external_id\": \"b-pupil-1\","
	    " \"given_name\": \"Bea\"}", NULL, "/v1/pupils"), 201);
	ck_assert_int_eq(apitest_json("POST", other, "{\"url\": \"https://example.com/b\"}", NULL,
	    "/v1/endpoints"), 201);
	rows = school_rows(2, true);
	ck_assert_msg(strstr(rows, "pupil=1") && strstr(rows, "endpoint=1") && strstr(rows, "api_token="),
	    "school 2 holds: %s", rows);
	free(rows);
	before1 = school_rows(1, false);
	/* no confirmation, or the wrong one: nothing happens */
	ck_assert_int_eq(apitest_json("DELETE", other, NULL, NULL, "/v1/school"), 422);
	ck_assert_int_eq(apitest_json("DELETE", other, NULL, NULL, "/v1/school?confirm=A"), 422);
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM school WHERE school_id = 2"), 1);
	ck_assert_int_eq(apitest_json("DELETE", other, NULL, NULL, "/v1/school?confirm=B"), 200);
	/* its tokens died with it */
	json_decref(api_call("GET", "/v1/school", other, NULL, NULL, &st, NULL, NULL));
	ck_assert_int_eq(st, 401);
	rows = school_rows(2, true);
	ck_assert_msg(rows[0] == '\0', "school 2 left rows in: %s", rows);
	free(rows);
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM school WHERE school_id = 2"), 0);
	after1 = school_rows(1, false);
	ck_assert_str_eq(before1, after1);
	free(before1);
	free(after1);
	/* the command line */
	ck_assert_int_eq(apitest_recalld(&out, "school", "create", "--name", "Closing School",
	    (char *)NULL), 0);
	out[strcspn(out, "\n")] = '\0';
	{
		char sid[24];

		snprintf(sid, sizeof sid, "%s", out);
		free(out);
		out = NULL;
		rc = apitest_recalld(&out, "school", "delete", "--school", sid, "--confirm", "Closing",
		    (char *)NULL);
		free(out);
		out = NULL;
		ck_assert_int_eq(rc, 2);
		rc = apitest_recalld(&out, "school", "delete", "--school", sid, "--confirm",
		    "Closing School", (char *)NULL);
		free(out);
		ck_assert_int_eq(rc, 0);
		ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM school WHERE school_id = %s", sid), 0);
	}
}
END_TEST

/* Data minimisation: a roster imported pseudonymously, and a school that turns it on. */
START_TEST(test_pseudonymous)
{
	char *out = NULL, *sid, *roster = xstrdup(pgtest_srcpath("tests/demo/roster"));
	json_t *j = NULL;
	long long id;
	int rc;

	ck_assert_int_eq(apitest_recalld(&out, "school", "create", "--name", "Pseudo School",
	    (char *)NULL), 0);
	out[strcspn(out, "\n")] = '\0';
	sid = out;
	out = NULL;
	rc = apitest_recalld(&out, "import", "roster", roster, "--school", sid, "--pseudonymous",
	    (char *)NULL);
	free(out);
	free(roster);
	ck_assert_int_eq(rc, 0);
	ck_assert_int_gt(apitest_sql_int("SELECT count(*) FROM pupil WHERE school_id = %s", sid), 50);
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM pupil WHERE school_id = %s"
	    " AND (given_name IS NOT NULL OR family_name IS NOT NULL)", sid), 0);
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM teacher WHERE school_id = %s"
	    " AND (given_name IS NOT NULL OR family_name IS NOT NULL OR email IS NOT NULL)", sid), 0);
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM pupil WHERE school_id = %s"
	    " AND external_id IS NULL", sid), 0);
	free(sid);
	/* school 1 turns it on: the names it holds go, and later ones are not kept */
	ck_assert_int_gt(apitest_sql_int("SELECT count(*) FROM pupil WHERE school_id = 1"
	    " AND given_name IS NOT NULL"), 0);
	ck_assert_int_eq(apitest_json("PATCH", admin, "{\"pseudonymous\": true}", &j, "/v1/school"),
	    200);
	ck_assert(json_is_true(json_object_get(j, "pseudonymous")));
	json_decref(j);
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM pupil WHERE school_id = 1"
	    " AND (given_name IS NOT NULL OR family_name IS NOT NULL)"), 0);
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM teacher WHERE school_id = 1"
	    " AND (given_name IS NOT NULL OR email IS NOT NULL)"), 0);
	id = apitest_sql_int("SELECT min(pupil_id) FROM pupil WHERE school_id = 1");
	ck_assert_int_eq(apitest_json("PATCH", admin, "{\"given_name\": \"Named\"}", &j,
	    "/v1/pupils/%lld", id), 200);
	ck_assert(json_is_null(json_object_get(j, "given_name")));
	ck_assert(json_is_string(json_object_get(j, "external_id")));
	json_decref(j);
	ck_assert_int_eq(apitest_json("PATCH", admin, "{\"pseudonymous\": \"yes\"}", NULL,
	    "/v1/school"), 422);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("privacy");
	TCase *tc = tcase_create("privacy");
	int failed;

	snprintf(conninfo, sizeof conninfo, "%s", pgtest_start());
	apitest_env(conninfo, "5s");
	setenv("RECALLD_CLOCK_MODE", "manual", 1);
	setenv("RECALLD_CLOCK_START", "2026-09-21T06:00:00Z", 1);
	setenv("RECALLD_RESPONSES_LINK_KEY", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", 1);
	setenv("RECALLD_WEBHOOKS_ALLOW_PRIVATE", "true", 1);
	setenv("RECALLD_WEBHOOKS_RETRY_SCHEDULE", "1h", 1);
	setenv("RECALLD_WEBHOOKS_POLL_INTERVAL", "200ms", 1);
	setenv("RECALLD_PRIVACY_REVIEW_RETENTION", "60d", 1);	/* the leaver test's 91 days pass it */
	CKTEST_MUST(apitest_two_schools("A", "B", admin, other, sizeof admin));
	CKTEST_MUST(apitest_import_demo(true));
	apitest_db_open(conninfo);
	CKTEST_MUST(apitest_teach_demo_cells());
	CKTEST_MUST(apitest_teacher_token(teacher, sizeof teacher,
	    "SELECT min(teacher_id)::text FROM teacher WHERE school_id = 1"));
	if (!apitest_daemon_start()) {
		apitest_daemon_dump_log();
		return EXIT_FAILURE;
	}
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_batches_delivered);
	tcase_add_test(tc, test_refusals_change_nothing);
	tcase_add_test(tc, test_audit_pupil_reads);
	tcase_add_test(tc, test_audit_every_route);
	tcase_add_test(tc, test_export);
	tcase_add_test(tc, test_erase_leaves_no_trace);
	tcase_add_test(tc, test_walk_finds_a_forgotten_table);
	tcase_add_test(tc, test_erase_during_answers);
	tcase_add_test(tc, test_school_delete);
	tcase_add_test(tc, test_leaver_erased_after_90_days);	/* it moves the clock far */
	tcase_add_test(tc, test_pseudonymous);	/* last: school 1 keeps no names after it */
	suite_add_tcase(s, tc);
	failed = cktest_run_nofork(s);
	if (rx.pid > 0)
		rcv_stop(&rx);
	return apitest_finish(failed);
}
