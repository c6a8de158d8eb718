/*
 * test_endpoints.c: /v1/endpoints and /v1/deliveries, black-box: the real
 * `recalld serve` (its webhook sender included) against a throwaway
 * PostgreSQL, and the real receiver checking the signatures made with the
 * secrets the API handed out.
 */
#include "autoconf.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <jansson.h>

#include "apitest.h"
#include "cktest.h"
#include "pgtest.h"
#include "rcvtest.h"
#include "util.h"

static const char sa[] = "1";
static char tok_a[128], tok_b[128], tok_integ[128];

#define INVALID(field) do { APITEST_ST(422); ck_assert_msg(apitest_field_error(apitest_r.j, field), \
	"%s: no error for %s: %s", apitest_r.path, field, apitest_r.raw); } while (0)

/* Create an endpoint; returns its id and its secret (malloc'd). */
static long long
create(const char *token, const char *body, char **secret)
{
	apitest_req("POST", token, body, "/v1/endpoints");
	APITEST_ST(201);
	ck_assert(strncmp(apitest_jstr(apitest_r.j, "secret"), "whsec_", 6) == 0);
	if (secret != NULL)
		*secret = xstrdup(apitest_jstr(apitest_r.j, "secret"));
	return apitest_jint(apitest_r.j, "id");
}

START_TEST(test_endpoint_crud)
{
	long long id, cls_b;
	char *secret, body[256];
	json_t *item;
	size_t i;
	bool found = false;

	apitest_req("POST", tok_a, "{}", "/v1/endpoints");
	INVALID("url");
	apitest_req("POST", tok_a, "{\"url\": \"ftp://example.com/x\"}", "/v1/endpoints");
	INVALID("url");
	apitest_req("POST", tok_a, "{\"url\": \"not a url\"}", "/v1/endpoints");
	INVALID("url");
	apitest_req("POST", tok_a, "{\"url\": \"https://example.com/x\", \"format\": \"xml\"}", "/v1/endpoints");
	INVALID("format");
	apitest_req("POST", tok_a, "{\"url\": \"https://example.com/x\", \"event_types\": [\"nope\"]}",
	    "/v1/endpoints");
	INVALID("event_types");
	apitest_req("POST", tok_a, "{\"url\": \"https://example.com/x\", \"secret\": \"whsec_x\"}", "/v1/endpoints");
	INVALID("secret");
	apitest_req("POST", tok_a, "{\"url\": \"https://example.com/x\", \"colour\": 1}", "/v1/endpoints");
	INVALID("colour");
	apitest_req("POST", tok_integ, "{\"url\": \"https://example.com/x\"}", "/v1/endpoints");
	APITEST_ST(403);

	id = create(tok_a, "{\"url\": \"https://example.com/hook\", \"format\": \"slack\","
	    " \"event_types\": [\"prompt.batch\", \"prompt.batch\", \"topic.flagged\"]}", &secret);
	ck_assert_str_eq(apitest_jstr(apitest_r.j, "format"), "slack");
	ck_assert_int_eq(json_array_size(json_object_get(apitest_r.j, "event_types")), 2);
	ck_assert(json_is_true(json_object_get(apitest_r.j, "enabled")));
	/* stored sealed (secrets.key_file): the database alone cannot sign with it */
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM endpoint WHERE endpoint_id = %lld"
	    " AND secret LIKE 'enc1:%%' AND strpos(secret, '%s') = 0"
	    " AND strpos(secret, '%s') = 0", id, secret, secret + 6), 1);

	/* The secret is never shown again. */
	apitest_req("GET", tok_a, NULL, "/v1/endpoints/%lld", id);
	APITEST_ST(200);
	ck_assert_ptr_null(json_object_get(apitest_r.j, "secret"));
	ck_assert_ptr_null(strstr(apitest_r.raw, secret));
	apitest_req("GET", tok_a, NULL, "/v1/endpoints");
	APITEST_ST(200);
	ck_assert_ptr_null(strstr(apitest_r.raw, "whsec_"));
	json_array_foreach(json_object_get(apitest_r.j, "items"), i, item)
		found |= apitest_jint(item, "id") == id;
	ck_assert(found);

	apitest_req("PATCH", tok_a, "{\"format\": \"teams\", \"event_types\": []}", "/v1/endpoints/%lld", id);
	APITEST_ST(200);
	ck_assert_str_eq(apitest_jstr(apitest_r.j, "format"), "teams");
	ck_assert_int_eq(json_array_size(json_object_get(apitest_r.j, "event_types")), 0);
	apitest_req("PATCH", tok_a, "{\"url\": \"gopher://x\"}", "/v1/endpoints/%lld", id);
	INVALID("url");

	/* Another school's class, endpoint and token. */
	apitest_req("POST", tok_b, "{\"external_id\": \"b-7\", \"name\": \"7B\"}", "/v1/classes");
	APITEST_ST(201);
	cls_b = apitest_jint(apitest_r.j, "id");
	snprintf(body, sizeof body, "{\"class_id\": %lld}", cls_b);
	apitest_req("PATCH", tok_a, body, "/v1/endpoints/%lld", id);
	INVALID("class_id");
	apitest_req("POST", tok_a, "{\"url\": \"https://example.com/c\", \"class_id\": 999999}", "/v1/endpoints");
	INVALID("class_id");
	apitest_req("GET", tok_b, NULL, "/v1/endpoints/%lld", id);
	APITEST_ST(404);
	apitest_req("PATCH", tok_b, "{\"enabled\": false}", "/v1/endpoints/%lld", id);
	APITEST_ST(404);
	apitest_req("DELETE", tok_b, NULL, "/v1/endpoints/%lld", id);
	APITEST_ST(404);
	apitest_req("POST", tok_b, NULL, "/v1/endpoints/%lld/rotate-secret", id);
	APITEST_ST(404);
	apitest_req("POST", tok_b, NULL, "/v1/endpoints/%lld/test", id);
	APITEST_ST(404);
	apitest_req("GET", tok_b, NULL, "/v1/endpoints");
	APITEST_ST(200);
	ck_assert_ptr_null(strstr(apitest_r.raw, "example.com/hook"));

	apitest_req("DELETE", tok_a, NULL, "/v1/endpoints/%lld", id);
	APITEST_ST(200);
	ck_assert(json_is_false(json_object_get(apitest_r.j, "enabled")));
	ck_assert_str_eq(apitest_jstr(apitest_r.j, "disabled_reason"), "disabled by an admin");
	apitest_req("GET", tok_a, NULL, "/v1/endpoints");
	ck_assert_ptr_nonnull(strstr(apitest_r.raw, "disabled by an admin"));
	apitest_req("POST", tok_a, NULL, "/v1/endpoints/%lld/test", id);
	APITEST_ST(409);
	apitest_req("PATCH", tok_a, "{\"enabled\": true}", "/v1/endpoints/%lld", id);
	APITEST_ST(200);
	ck_assert(json_is_true(json_object_get(apitest_r.j, "enabled")));
	ck_assert(json_is_null(json_object_get(apitest_r.j, "disabled_reason")));
	apitest_req("DELETE", tok_a, NULL, "/v1/endpoints/%lld", id);	/* it points nowhere */
	APITEST_ST(200);
	free(secret);
}
END_TEST

/*
 * A secret is shown once: a retry with the same Idempotency-Key answers
 * as the first time but without it, and it is never kept in idempotency.
 */
START_TEST(test_secret_not_replayed)
{
	const char *key[] = { "Idempotency-Key: endpoint-secret-once", NULL };
	const char *rkey[] = { "Idempotency-Key: rotate-secret-once", NULL };
	const char *body = "{\"url\": \"https://example.com/once\"}";
	long long before = apitest_sql_int("SELECT count(*) FROM endpoint"), id;
	char *first;

	apitest_req_ex("POST", tok_a, "application/json", body, key, "/v1/endpoints");
	APITEST_ST(201);
	id = apitest_jint(apitest_r.j, "id");
	first = xstrdup(apitest_jstr(apitest_r.j, "secret"));
	ck_assert(strncmp(first, "whsec_", 6) == 0);
	apitest_req_ex("POST", tok_a, "application/json", body, key, "/v1/endpoints");
	APITEST_ST(201);
	ck_assert_int_eq(apitest_jint(apitest_r.j, "id"), id);	/* the same endpoint */
	ck_assert_ptr_nonnull(strstr(apitest_jstr(apitest_r.j, "secret"), "shown once"));
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM endpoint"), before + 1);

	apitest_req_ex("POST", tok_a, "application/json", "{}", rkey,
	    "/v1/endpoints/%lld/rotate-secret", id);
	APITEST_ST(200);
	ck_assert(strncmp(apitest_jstr(apitest_r.j, "secret"), "whsec_", 6) == 0);
	ck_assert_str_ne(apitest_jstr(apitest_r.j, "secret"), first);
	apitest_req_ex("POST", tok_a, "application/json", "{}", rkey,
	    "/v1/endpoints/%lld/rotate-secret", id);
	APITEST_ST(200);
	ck_assert_ptr_nonnull(strstr(apitest_jstr(apitest_r.j, "secret"), "shown once"));
	/* Neither secret is kept beside the answers. */
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM idempotency WHERE body LIKE '%%whsec_%%'"), 0);
	free(first);
}
END_TEST

START_TEST(test_ping_rotate_retry)
{
	struct rcv r, r_old, r_new;
	const char *const failing[] = { "--status", "500", NULL };
	char *secret, *new_secret, body[256], wid[64];
	long long id, did;
	json_t *recs;

	id = create(tok_a, "{\"url\": \"https://example.com/later\"}", &secret);
	rcv_start(&r, secret, NULL);
	snprintf(body, sizeof body, "{\"url\": \"%s\"}", r.url);
	apitest_req("PATCH", tok_a, body, "/v1/endpoints/%lld", id);
	APITEST_ST(200);

	/* A test event, signed with the secret the API gave. */
	apitest_req("POST", tok_a, NULL, "/v1/endpoints/%lld/test", id);
	APITEST_ST(202);
	did = apitest_jint(apitest_r.j, "delivery_id");
	snprintf(wid, sizeof wid, "%s", apitest_jstr(apitest_r.j, "webhook_id"));
	ck_assert(apitest_wait_sql(1, 10000, "SELECT count(*) FROM delivery WHERE delivery_id = %lld"
	    " AND status = 'delivered'", did));
	recs = rcv_records(&r);
	ck_assert_int_eq(json_array_size(recs), 1);
	ck_assert_str_eq(apitest_jstr(json_array_get(recs, 0), "webhook_id"), wid);
	ck_assert_str_eq(apitest_jstr(json_array_get(recs, 0), "type"), "ping");
	ck_assert(json_is_true(json_object_get(json_array_get(recs, 0), "valid")));
	json_decref(recs);

	apitest_req("GET", tok_a, NULL, "/v1/deliveries?status=delivered&endpoint_id=%lld", id);
	APITEST_ST(200);
	ck_assert_int_eq(apitest_jint(json_array_get(json_object_get(apitest_r.j, "items"), 0), "id"), did);
	ck_assert_int_eq(apitest_jint(json_array_get(json_object_get(apitest_r.j, "items"), 0),
	    "last_http_status"), 200);
	apitest_req("GET", tok_a, NULL, "/v1/deliveries/%lld", did);
	APITEST_ST(200);
	ck_assert_str_eq(apitest_jstr(json_object_get(apitest_r.j, "payload"), "type"), "ping");
	ck_assert_int_eq(json_array_size(json_object_get(apitest_r.j, "attempt_log")), 1);
	ck_assert_int_eq(apitest_jint(json_array_get(json_object_get(apitest_r.j, "attempt_log"), 0),
	    "http_status"), 200);
	apitest_req("GET", tok_b, NULL, "/v1/deliveries/%lld", did);
	APITEST_ST(404);
	apitest_req("POST", tok_b, NULL, "/v1/deliveries/%lld/retry", did);
	APITEST_ST(404);
	apitest_req("POST", tok_a, NULL, "/v1/deliveries/%lld/retry", did);
	APITEST_ST(409);
	rcv_stop(&r);

	/* Rotation: the old secret keeps signing beside the new one. */
	apitest_req("POST", tok_a, NULL, "/v1/endpoints/%lld/rotate-secret", id);
	APITEST_ST(200);
	new_secret = xstrdup(apitest_jstr(apitest_r.j, "secret"));
	ck_assert(strncmp(new_secret, "whsec_", 6) == 0 && strcmp(new_secret, secret) != 0);
	ck_assert(*apitest_jstr(apitest_r.j, "previous_secret_until") != '\0');
	rcv_start(&r_old, secret, NULL);
	rcv_start(&r_new, new_secret, NULL);
	snprintf(body, sizeof body, "{\"url\": \"%s\"}", r_old.url);
	apitest_req("PATCH", tok_a, body, "/v1/endpoints/%lld", id);
	apitest_req("POST", tok_a, NULL, "/v1/endpoints/%lld/test", id);
	APITEST_ST(202);
	snprintf(body, sizeof body, "{\"url\": \"%s\"}", r_new.url);
	ck_assert(apitest_wait_sql(1, 10000, "SELECT count(*) FROM delivery WHERE delivery_id = %lld"
	    " AND status = 'delivered'", apitest_jint(apitest_r.j, "delivery_id")));
	apitest_req("PATCH", tok_a, body, "/v1/endpoints/%lld", id);
	apitest_req("POST", tok_a, NULL, "/v1/endpoints/%lld/test", id);
	APITEST_ST(202);
	ck_assert(apitest_wait_sql(1, 10000, "SELECT count(*) FROM delivery WHERE delivery_id = %lld"
	    " AND status = 'delivered'", apitest_jint(apitest_r.j, "delivery_id")));
	recs = rcv_records(&r_old);
	ck_assert(json_is_true(json_object_get(json_array_get(recs, 0), "valid")));
	json_decref(recs);
	recs = rcv_records(&r_new);
	ck_assert(json_is_true(json_object_get(json_array_get(recs, 0), "valid")));
	json_decref(recs);

	/* recalld keys rotate: both secrets sealed again under a new key; the daemon still signs */
	{
		char *kid0 = apitest_sql("SELECT split_part(secret, ':', 2) || split_part(previous_secret,"
		    " ':', 2) FROM endpoint WHERE endpoint_id = %lld", id), *kid1, *out = NULL;

		ck_assert_int_eq(apitest_recalld(&out, "keys", "rotate", (char *)NULL), 0);
		free(out);
		kid1 = apitest_sql("SELECT split_part(secret, ':', 2) || split_part(previous_secret,"
		    " ':', 2) FROM endpoint WHERE endpoint_id = %lld", id);
		ck_assert_int_eq(strlen(kid1), 16);
		ck_assert_str_ne(kid0, kid1);
		ck_assert(strncmp(kid1, kid1 + 8, 8) == 0);	/* both under the new key */
		/* the answer-link key too (sql/0028) */
		ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM link_key WHERE"
		    " split_part(sealed, ':', 2) = '%.8s'", kid1), 1);
		free(kid0);
		free(kid1);
		apitest_req("POST", tok_a, NULL, "/v1/endpoints/%lld/test", id);
		APITEST_ST(202);
		ck_assert(apitest_wait_sql(1, 10000, "SELECT count(*) FROM delivery WHERE delivery_id = %lld"
		    " AND status = 'delivered'", apitest_jint(apitest_r.j, "delivery_id")));
		recs = rcv_records(&r_new);
		ck_assert_int_eq(json_array_size(recs), 2);
		ck_assert(json_is_true(json_object_get(json_array_get(recs, 1), "valid")));
		json_decref(recs);
	}
	rcv_stop(&r_old);
	rcv_stop(&r_new);

	/* A failing receiver: dead after the schedule, then retried by hand. */
	rcv_start(&r, new_secret, failing);
	snprintf(body, sizeof body, "{\"url\": \"%s\"}", r.url);
	apitest_req("PATCH", tok_a, body, "/v1/endpoints/%lld", id);
	apitest_req("POST", tok_a, NULL, "/v1/endpoints/%lld/test", id);
	APITEST_ST(202);
	did = apitest_jint(apitest_r.j, "delivery_id");
	ck_assert(apitest_wait_sql(1, 10000, "SELECT count(*) FROM delivery WHERE delivery_id = %lld"
	    " AND status = 'dead'", did));
	apitest_req("GET", tok_a, NULL, "/v1/deliveries?status=dead");
	APITEST_ST(200);
	ck_assert_int_eq(apitest_jint(json_array_get(json_object_get(apitest_r.j, "items"), 0), "id"), did);
	ck_assert_int_eq(apitest_jint(json_array_get(json_object_get(apitest_r.j, "items"), 0),
	    "last_http_status"), 500);
	ck_assert_str_eq(apitest_jstr(json_array_get(json_object_get(apitest_r.j, "items"), 0),
	    "last_error"), "HTTP 500");
	apitest_req("GET", tok_a, NULL, "/v1/deliveries/%lld", did);
	ck_assert_int_eq(json_array_size(json_object_get(apitest_r.j, "attempt_log")), 3);
	kill(r.pid, SIGUSR1);	/* the receiver is fixed */
	apitest_req("POST", tok_a, NULL, "/v1/deliveries/%lld/retry", did);
	APITEST_ST(200);
	ck_assert_str_eq(apitest_jstr(apitest_r.j, "status"), "pending");
	ck_assert(apitest_wait_sql(1, 10000, "SELECT count(*) FROM delivery WHERE delivery_id = %lld"
	    " AND status = 'delivered' AND attempts = 4", did));
	rcv_stop(&r);

	/* Lists: filters, bad filters, pagination, school isolation. */
	apitest_req("GET", tok_a, NULL, "/v1/deliveries?status=nope");
	INVALID("status");
	apitest_req("GET", tok_a, NULL, "/v1/deliveries?endpoint_id=x");
	INVALID("endpoint_id");
	apitest_req("GET", tok_a, NULL, "/v1/deliveries?limit=1");
	APITEST_ST(200);
	ck_assert_int_eq(json_array_size(json_object_get(apitest_r.j, "items")), 1);
	ck_assert(*apitest_jstr(apitest_r.j, "next_cursor") != '\0');
	{
		char cursor[32];
		long long first = apitest_jint(json_array_get(json_object_get(apitest_r.j, "items"), 0), "id");
		snprintf(cursor, sizeof cursor, "%s", apitest_jstr(apitest_r.j, "next_cursor"));
		apitest_req("GET", tok_a, NULL, "/v1/deliveries?limit=1&cursor=%s", cursor);
		APITEST_ST(200);
		ck_assert_int_lt(apitest_jint(json_array_get(json_object_get(apitest_r.j, "items"), 0), "id"), first);
	}
	apitest_req("GET", tok_b, NULL, "/v1/deliveries");
	APITEST_ST(200);
	ck_assert_int_eq(json_array_size(json_object_get(apitest_r.j, "items")), 0);
	apitest_req("DELETE", tok_a, NULL, "/v1/endpoints/%lld", id);
	APITEST_ST(200);
	free(secret);
	free(new_secret);
}
END_TEST

int
main(void)
{
	Suite *s;
	TCase *tc;
	const char *conninfo;
	int failed = 1;

	conninfo = pgtest_start();
	apitest_env(conninfo, "5s");
	/* The receivers run on loopback; retries fast. */
	setenv("RECALLD_WEBHOOKS_ALLOW_PRIVATE", "true", 1);
	setenv("RECALLD_WEBHOOKS_RETRY_SCHEDULE", "100ms,200ms", 1);
	setenv("RECALLD_WEBHOOKS_POLL_INTERVAL", "200ms", 1);
	apitest_db_open(conninfo);
	if (!apitest_two_schools("School A", "School B", tok_a, tok_b, sizeof tok_a) ||
	    !apitest_token(tok_integ, sizeof tok_integ, sa, "integration", NULL)) {
		fprintf(stderr, "test_endpoints: set-up failed\n");
		goto done;
	}
	if (!apitest_daemon_start()) {
		fprintf(stderr, "test_endpoints: recalld serve did not get ready\n");
		apitest_daemon_dump_log();
		apitest_daemon_stop();
		goto done;
	}
	s = suite_create("endpoints");
	tc = tcase_create("v1");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_endpoint_crud);
	tcase_add_test(tc, test_ping_rotate_retry);
	tcase_add_test(tc, test_secret_not_replayed);
	suite_add_tcase(s, tc);
	failed = cktest_run_nofork(s);
	apitest_req_done();
	/* SIGTERM: in-flight deliveries finish, exit 0 (under ASan: no leaks). */
	if (apitest_daemon_stop() != 0) {
		fprintf(stderr, "test_endpoints: recalld serve did not exit 0 on SIGTERM\n");
		failed++;
	}
	if (failed != 0)
		apitest_daemon_dump_log();
done:
	apitest_daemon_cleanup();
	apitest_db_close();
	pgtest_destroy();
	if (!apitest_openapi_check())
		failed++;
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
