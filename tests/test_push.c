/*
 * test_push.c: webhook delivery end to end: the sender (push.c) in-process
 * on an event base with a real pool on a throwaway PostgreSQL, and the
 * real receiver (tests/receiver) as a child process verifying signatures.
 */
#include "autoconf.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <check.h>
#include <event2/event.h>
#include <jansson.h>
#include <libpq-fe.h>

#include "cktest.h"
#include "clock.h"
#include "config.h"
#include "db.h"
#include "dueset.h"
#include "event.h"
#include "log.h"
#include "outbox.h"
#include "pgtest.h"
#include "push.h"
#include "rcvtest.h"
#include "sign.h"
#include "ssrf.h"
#include "util.h"

static PGconn *pg;		/* blocking checks on the test's database */
static const char *conninfo;	/* of the test's database */
static char school[24];

/* ---- the database ---- */

/* A fresh migrated database with one school. */
static void
db_setup(void)
{
	static int n;
	char name[32];
	const char *ci;

	snprintf(name, sizeof name, "push%d_%d", (int)getpid(), n++);
	pg = pgtest_migrated_db(name, &ci);
	conninfo = xstrdup(ci);
	snprintf(school, sizeof school, "%lld",
	    pgtest_int(pg, "INSERT INTO school (name) VALUES ('Test school') RETURNING school_id"));
}

static void
db_teardown(void)
{
	PQfinish(pg);
	pg = NULL;
}

/* An endpoint of the school; returns its id. */
static long long
add_endpoint(const char *url, const char *format, const char *types, const char *secret,
    const char *class_id)
{
	const char *p[6] = { school, url, format, types, secret, class_id };
	PGresult *res = PQexecParams(pg,
	    "INSERT INTO endpoint (school_id, url, format, event_types, secret, class_id, created_at)"
	    " VALUES ($1, $2, $3, $4::text[], $5, $6::bigint, now()) RETURNING endpoint_id",
	    6, NULL, p, NULL, NULL, 0);
	long long id;

	ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK, "%s", PQerrorMessage(pg));
	id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return id;
}

/* ---- the sender ---- */

struct env {
	struct event_base *base;
	db_pool *db;
	struct config *cfg;
	push *push;
};

static void
set_schedule(struct config *c, const char *v)
{
	char err[256];

	ck_assert_msg(config_set(c, "webhooks", "retry_schedule", v, err, sizeof err), "%s", err);
}

static struct config *
test_config(void)
{
	struct config *c = config_new();

	c->webhooks_poll_interval_ms = 200;
	c->webhooks_allow_private = true;
	c->webhooks_connect_timeout_ms = 2000;
	c->webhooks_timeout_ms = 5000;
	c->webhooks_lease_ms = 20000;
	set_schedule(c, "100ms,200ms,400ms,800ms,1600ms");
	return c;
}

static void
env_start(struct env *e, struct event_base *base, struct config *cfg)
{
	struct db_pool_opts o = {
		.conninfo = conninfo, .size = 3, .connect_timeout_ms = 3000, .queue_timeout_ms = 5000,
	};

	e->base = base;
	e->cfg = cfg;
	e->db = db_pool_new(base, &o);
	e->push = push_new(base, e->db, cfg, NULL);
}

static bool
drained(void *arg)
{
	return push_pending(arg) == 0;
}

/* As serve does on SIGTERM: stop, let what is in flight finish, free. */
static void
env_stop(struct env *e)
{
	push_stop(e->push);
	ck_assert(pgtest_run_while(e->base, drained, e->push, 10000));
	push_free(e->push);
	db_pool_free(e->db);
	config_free(e->cfg);
}

/* The end of a case: the sender drained, then its receivers and database. */
static void
case_end(struct env *e, struct event_base *base, char *secret, struct rcv *r1, struct rcv *r2)
{
	env_stop(e);
	event_base_free(base);
	rcv_stop(r1);
	if (r2 != NULL)
		rcv_stop(r2);
	free(secret);
	db_teardown();
}

struct sql_wait {
	const char *sql;
	long long want;
};

static bool
sql_at_least(void *arg)
{
	struct sql_wait *w = arg;

	return pgtest_int(pg, "%s", w->sql) >= w->want;
}

/* Run the loop until the query's number reaches want. */
static bool
run_until_sql(struct event_base *base, const char *sql, long long want, int timeout_ms)
{
	struct sql_wait w = { sql, want };

	return pgtest_run_while(base, sql_at_least, &w, timeout_ms);
}

struct enq {
	bool done;
	int status;
	int queued;
};

static void
enq_cb(const struct db_reply *r, void *arg)
{
	struct enq *e = arg;

	e->status = r->status;
	if (r->status == DB_OK)
		e->queued = PQntuples(r->results[0]);
	else
		fprintf(stderr, "enqueue failed: %s\n", r->error);
	e->done = true;
}

/* Queue one event through outbox_enqueue_sql; returns how many deliveries. */
static int
enqueue(struct env *e, const char *type, json_t *data, const char *class_id,
    const char *endpoint_id)
{
	struct enq st = { 0 };
	char now[40];
	struct outbox_event ev;
	db_req *r = db_req_new(enq_cb, &st);

	clock_now_iso(now, sizeof now);
	ev = (struct outbox_event){ .school_id = school, .type = type, .data = data, .now = now,
	    .class_id = class_id, .endpoint_id = endpoint_id };
	outbox_enqueue_sql(r, &ev);
	db_submit(e->db, r);
	ck_assert(pgtest_run_until(e->base, &st.done, 10000));
	ck_assert_int_eq(st.status, DB_OK);
	json_decref(data);
	return st.queued;
}

static json_t *
batch_data(int n)
{
	json_t *prompts = json_array();

	for (int i = 0; i < n; i++)
		json_array_append_new(prompts, json_pack("{s:i, s:s, s:[s, s, s], s:s}",
		    "prompt_id", i + 1, "text", "What is 7 x 8?", "choices", "54", "56", "64",
		    "answer_url", "https://recalld.example/a/tok123"));
	return json_pack("{s:i, s:s, s:{s:i, s:s}, s:o}", "batch_id", 9, "local_date",
	    "2026-09-07", "pupil", "id", 3, "external_id", "p-17", "prompts", prompts);
}

/* ---- unit checks: signing, the SSRF guard, renderings ---- */

START_TEST(test_sign_and_guard)
{
	char sig[128];
	char *s = sign_secret_new();
	static const struct { const char *addr; bool blocked; } addrs[] = {
		{ "127.0.0.1", true }, { "10.1.2.3", true }, { "172.16.0.1", true },
		{ "172.31.255.254", true }, { "172.32.0.1", false }, { "192.168.1.1", true },
		{ "169.254.169.254", true }, { "100.64.0.1", true }, { "100.127.255.1", true },
		{ "100.128.0.1", false }, { "224.0.0.1", true }, { "240.0.0.1", true },
		{ "255.255.255.255", true }, { "0.0.0.0", true }, { "8.8.8.8", false },
		{ "93.184.216.34", false }, { "::1", true }, { "::", true }, { "fc00::1", true },
		{ "fd12:3456::1", true }, { "fe80::1", true }, { "ff02::1", true },
		{ "::ffff:127.0.0.1", true }, { "::ffff:10.0.0.1", true }, { "::ffff:8.8.8.8", false },
		{ "64:ff9b::10.0.0.1", true }, { "64:ff9b::8.8.8.8", false },
		{ "2002:0a00:0001::1", true }, { "2001:db8::1", true },
		{ "2606:4700:4700::1111", false }, { "2a00:1450:4001::1", false },
	};

	/* The Standard Webhooks reference vector. */
	ck_assert(sign_webhook("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
	    1614265330, "{\"test\": 2432232314}", 20, sig, sizeof sig));
	ck_assert_str_eq(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
	ck_assert(!sign_webhook("whsec_short", "id", 1, "x", 1, sig, sizeof sig));
	ck_assert(!sign_webhook("nope", "id", 1, "x", 1, sig, sizeof sig));
	ck_assert(strncmp(s, "whsec_", 6) == 0);
	ck_assert(sign_secret_valid(s));
	ck_assert(!sign_secret_valid("whsec_AAAA"));
	free(s);

	for (size_t i = 0; i < nitems(addrs); i++) {
		struct sockaddr_in in4 = { .sin_family = AF_INET };
		struct sockaddr_in6 in6 = { .sin6_family = AF_INET6 };
		char why[160] = "";
		bool b;

		if (inet_pton(AF_INET, addrs[i].addr, &in4.sin_addr) == 1)
			b = ssrf_addr_blocked((struct sockaddr *)&in4, why, sizeof why);
		else {
			ck_assert(inet_pton(AF_INET6, addrs[i].addr, &in6.sin6_addr) == 1);
			b = ssrf_addr_blocked((struct sockaddr *)&in6, why, sizeof why);
		}
		ck_assert_msg(b == addrs[i].blocked, "%s: blocked=%d (%s)", addrs[i].addr, b, why);
	}
}
END_TEST

/* ---- the schools due (dueset.h, pure) ---- */

static const struct dueset_claim NONE_LEFT = { .next_us = DUESET_NONE };
static const struct dueset_claim MORE = { .more = true, .next_us = DUESET_NONE };

START_TEST(test_dueset_heard_and_claimed)
{
	dueset *s = dueset_new();
	int64_t ids[4];
	struct dueset_claim c;

	/* never later than known */
	dueset_heard(s, 5, 1000);
	dueset_heard(s, 5, 2000);
	ck_assert_int_eq(dueset_next(s, 0), 1000);
	ck_assert_uint_eq(dueset_ready(s, 999), 0);
	ck_assert_uint_eq(dueset_ready(s, 1000), 1);
	/* a claim that finds none forgets the school */
	ck_assert_uint_eq(dueset_pick(s, 1000, ids, 4), 1);
	ck_assert_int_eq(ids[0], 5);
	ck_assert_uint_eq(dueset_ready(s, 1000), 0);	/* claiming */
	dueset_claimed(s, 5, &NONE_LEFT, 1000);
	ck_assert_uint_eq(dueset_count(s), 0);
	/* its next retry, or a sooner one heard while the claim ran */
	dueset_heard(s, 6, 0);
	dueset_pick(s, 10, ids, 4);
	dueset_heard(s, 6, 5000);	/* a retry written while claiming */
	c = NONE_LEFT;
	c.next_us = 8000;
	dueset_claimed(s, 6, &c, 10);
	ck_assert_int_eq(dueset_next(s, 10), 5000);
	/* a NOTIFY while the claim ran: due now, whatever the claim read */
	dueset_pick(s, 5000, ids, 4);
	dueset_heard(s, 6, 0);
	dueset_claimed(s, 6, &NONE_LEFT, 5000);
	ck_assert_uint_eq(dueset_ready(s, 5000), 1);
	/* a failed claim: due now */
	dueset_pick(s, 5000, ids, 4);
	c = NONE_LEFT;
	c.failed = true;
	dueset_claimed(s, 6, &c, 5000);
	ck_assert_uint_eq(dueset_ready(s, 5000), 1);
	/* a school never picked is not touched by a claim of it */
	dueset_claimed(s, 99, &MORE, 5000);
	ck_assert_uint_eq(dueset_count(s), 1);
	dueset_free(s);
}
END_TEST

START_TEST(test_dueset_wait_and_turns)
{
	dueset *s = dueset_new();
	int64_t ids[4];
	struct dueset_claim c = MORE;

	for (int64_t k = 1; k <= 3; k++)
		dueset_heard(s, k, 0);
	/* the least recently claimed first: the third school comes before the first two again */
	ck_assert_uint_eq(dueset_pick(s, 0, ids, 2), 2);
	dueset_claimed(s, ids[0], &MORE, 0);
	dueset_claimed(s, ids[1], &MORE, 0);
	ck_assert_uint_eq(dueset_pick(s, 0, ids + 2, 1), 1);
	ck_assert_int_eq(ids[0] + ids[1] + ids[2], 6);
	dueset_claimed(s, ids[2], &MORE, 0);
	/* short of a full claim with transfers of it running: wait for one to end */
	ck_assert_uint_eq(dueset_pick(s, 0, ids, 1), 1);
	c.wait = true;
	dueset_claimed(s, ids[0], &c, 0);
	ck_assert_uint_eq(dueset_waiting(s, 0), 1);
	ck_assert_uint_eq(dueset_ready(s, 0), 2);
	ck_assert(dueset_transfer_ended(s, ids[0]));
	ck_assert(!dueset_transfer_ended(s, ids[0]));
	ck_assert_uint_eq(dueset_ready(s, 0), 3);
	/* new deliveries end the wait: maybe for an endpoint with room */
	dueset_pick(s, 0, ids, 1);
	dueset_claimed(s, ids[0], &c, 0);
	dueset_heard(s, ids[0], 0);
	ck_assert_uint_eq(dueset_waiting(s, 0), 0);
	dueset_free(s);
}
END_TEST

/* A morning's batches put every school of a large deployment here, then they drain. */
START_TEST(test_dueset_many)
{
	dueset *s = dueset_new();
	int64_t *ids = xcalloc(20000, sizeof *ids);

	for (int round = 0; round < 3; round++) {
		for (int64_t k = 1; k <= 20000; k++)
			dueset_heard(s, k * 7919, k);
		ck_assert_uint_eq(dueset_count(s), 20000);
		ck_assert_int_eq(dueset_next(s, 0), 1);
		ck_assert_uint_eq(dueset_pick(s, 20000, ids, 20000), 20000);
		for (int i = 0; i < 20000; i++)
			dueset_claimed(s, ids[i], &NONE_LEFT, 20000);
		ck_assert_uint_eq(dueset_count(s), 0);
		ck_assert_int_eq(dueset_next(s, 0), DUESET_NONE);
	}
	free(ids);
	dueset_free(s);
}
END_TEST

START_TEST(test_renderings)
{
	json_t *data = batch_data(2), *j, *v;
	char *s;

	s = event_render(EVENT_FORMAT_JSON, "prompt.batch", "2026-09-07T15:00:00.000000Z", data);
	j = json_loads(s, 0, NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(json_string_value(json_object_get(j, "type")), "prompt.batch");
	ck_assert_str_eq(json_string_value(json_object_get(j, "timestamp")),
	    "2026-09-07T15:00:00.000000Z");
	ck_assert(json_equal(json_object_get(j, "data"), data));
	json_decref(j);
	free(s);

	s = event_render(EVENT_FORMAT_SLACK, "prompt.batch", "2026-09-07T15:00:00Z", data);
	j = json_loads(s, 0, NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(json_string_value(json_object_get(j, "text")), "2 recall questions for p-17");
	ck_assert(json_array_size(json_object_get(j, "blocks")) == 4);	/* header, 2, context */
	ck_assert_ptr_nonnull(strstr(s, "What is 7 x 8?"));
	ck_assert_ptr_nonnull(strstr(s, "<https://recalld.example/a/tok123|Answer>"));
	ck_assert_ptr_nonnull(strstr(s, "B) 56"));
	json_decref(j);
	free(s);

	s = event_render(EVENT_FORMAT_TEAMS, "prompt.batch", "2026-09-07T15:00:00Z", data);
	j = json_loads(s, 0, NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(json_string_value(json_object_get(j, "type")), "message");
	v = json_array_get(json_object_get(j, "attachments"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(v, "contentType")),
	    "application/vnd.microsoft.card.adaptive");
	v = json_object_get(v, "content");
	ck_assert_str_eq(json_string_value(json_object_get(v, "type")), "AdaptiveCard");
	ck_assert_str_eq(json_string_value(json_object_get(v, "version")), "1.4");
	ck_assert_ptr_nonnull(strstr(s, "\"Action.OpenUrl\""));
	ck_assert_ptr_nonnull(strstr(s, "https://recalld.example/a/tok123"));
	json_decref(j);
	free(s);
	json_decref(data);

	/* Generic events, and hostile text in slack. */
	data = json_pack("{s:s, s:i, s:n}", "unit", "Fractions <b>&", "class_id", 4, "since");
	s = event_render(EVENT_FORMAT_SLACK, "topic.flagged", "t", data);
	ck_assert_ptr_nonnull(strstr(s, "Fractions &lt;b&gt;&amp;"));
	ck_assert_ptr_nonnull(strstr(s, "Topic flagged"));
	free(s);
	s = event_render(EVENT_FORMAT_TEAMS, "topic.flagged", "t", data);
	ck_assert_ptr_nonnull(strstr(s, "\"FactSet\""));
	free(s);
	json_decref(data);
	ck_assert(event_type_known("digest.teacher"));
	ck_assert(!event_type_known("ping"));
}
END_TEST

/* ---- deliveries ---- */

START_TEST(test_delivered_signed)
{
	struct event_base *base = event_base_new();
	struct env e;
	struct rcv r;
	char *secret = sign_secret_new();
	long long ep_json, ep_slack, ep_class, ep_other, cls, other;
	json_t *recs, *rec;
	size_t i;
	char cid[24];

	db_setup();
	rcv_start(&r, secret, NULL);
	cls = pgtest_int(pg, "INSERT INTO class (school_id, external_id, name, updated_at)"
	    " VALUES (%s, '7B', '7B', now()) RETURNING class_id", school);
	other = pgtest_int(pg, "INSERT INTO class (school_id, external_id, name, updated_at)"
	    " VALUES (%s, '7C', '7C', now()) RETURNING class_id", school);
	snprintf(cid, sizeof cid, "%lld", cls);
	ep_json = add_endpoint(r.url, "json", "{}", secret, NULL);
	ep_slack = add_endpoint(r.url, "slack", "{prompt.batch}", secret, NULL);
	ep_class = add_endpoint(r.url, "teams", "{}", secret, cid);
	snprintf(cid, sizeof cid, "%lld", other);
	ep_other = add_endpoint(r.url, "json", "{}", secret, cid);
	/* A disabled endpoint gets nothing. */
	pgtest_int(pg, "UPDATE endpoint SET enabled = false WHERE endpoint_id = %lld RETURNING 1",
	    add_endpoint(r.url, "json", "{}", secret, NULL));

	env_start(&e, base, test_config());
	snprintf(cid, sizeof cid, "%lld", cls);
	/* prompt.batch of class 7B: json, slack, teams(7B); not 7C's. */
	ck_assert_int_eq(enqueue(&e, "prompt.batch", batch_data(3), cid, NULL), 3);
	/* mastery.changed, no class: json and both class endpoints; slack filters it out. */
	ck_assert_int_eq(enqueue(&e, "mastery.changed", json_pack("{s:i, s:s}", "pupil_id", 3,
	    "to", "Secure"), NULL, NULL), 3);
	ck_assert(run_until_sql(base, "SELECT count(*) FROM delivery WHERE status = 'delivered'",
	    6, 15000));
	ck_assert_int_eq(pgtest_int(pg, "SELECT count(*) FROM delivery_attempt WHERE http_status = 200"), 6);
	ck_assert_int_eq(pgtest_int(pg, "SELECT count(*) FROM delivery WHERE delivered_at IS NULL"
	    " OR lease_until IS NOT NULL OR attempts <> 1"), 0);
	ck_assert_int_eq(pgtest_int(pg, "SELECT count(*) FROM delivery WHERE endpoint_id = %lld", ep_other), 1);
	ck_assert_int_eq(pgtest_int(pg, "SELECT count(*) FROM delivery WHERE endpoint_id = %lld", ep_class), 2);
	ck_assert_int_eq(pgtest_int(pg, "SELECT count(*) FROM delivery WHERE endpoint_id = %lld", ep_slack), 1);
	ck_assert_int_eq(pgtest_int(pg, "SELECT count(*) FROM delivery WHERE endpoint_id = %lld", ep_json), 2);
	ck_assert_int_eq(pgtest_int(pg, "SELECT count(DISTINCT webhook_id) FROM delivery"
	    " WHERE webhook_id ~ '^msg_[0-9a-f]{32}$'"), 6);

	recs = rcv_records(&r);
	ck_assert_int_eq(json_array_size(recs), 6);
	json_array_foreach(recs, i, rec) {
		ck_assert_msg(json_is_true(json_object_get(rec, "valid")), "bad signature: %s",
		    json_string_value(json_object_get(rec, "webhook_id")));
		ck_assert_int_eq(pgtest_int(pg, "SELECT count(*) FROM delivery WHERE webhook_id = '%s'",
		    json_string_value(json_object_get(rec, "webhook_id"))), 1);
	}
	json_decref(recs);
	case_end(&e, base, secret, &r, NULL);
}
END_TEST

START_TEST(test_retry_until_back)
{
	struct event_base *base = event_base_new();
	struct env e;
	struct rcv r;
	char *secret = sign_secret_new();
	const char *const down[] = { "--status", "503", NULL };
	json_t *recs, *rec;
	const char *wid = NULL;
	size_t i;
	int ok200 = 0;
	PGresult *res;

	db_setup();
	rcv_start(&r, secret, down);
	add_endpoint(r.url, "json", "{}", secret, NULL);
	env_start(&e, base, test_config());
	ck_assert_int_eq(enqueue(&e, "topic.flagged", json_pack("{s:i}", "unit_id", 5), NULL, NULL), 1);
	ck_assert(run_until_sql(base, "SELECT max(attempts) FROM delivery", 4, 15000));
	/* Backoff: each gap at least the schedule's step less its jitter. */
	res = pgtest_query(pg, "SELECT (extract(epoch FROM at - lag(at) OVER (ORDER BY attempt)) * 1000)::int"
	    " FROM delivery_attempt ORDER BY attempt");
	ck_assert_int_ge(PQntuples(res), 4);
	ck_assert_int_ge(atoi(PQgetvalue(res, 1, 0)), 80);
	ck_assert_int_ge(atoi(PQgetvalue(res, 2, 0)), 160);
	ck_assert_int_ge(atoi(PQgetvalue(res, 3, 0)), 320);
	PQclear(res);
	ck_assert_int_eq(pgtest_int(pg, "SELECT count(*) FROM delivery_attempt WHERE http_status = 503"
	    " AND error = 'HTTP 503' AND response_head = 'not now' || chr(10)"),
	    pgtest_int(pg, "SELECT count(*) FROM delivery_attempt"));
	ck_assert(pgtest_int(pg, "SELECT count(*) FROM endpoint WHERE failing_since IS NOT NULL") == 1);
	/* The receiver is back. */
	kill(r.pid, SIGUSR1);
	ck_assert(run_until_sql(base, "SELECT count(*) FROM delivery WHERE status = 'delivered'",
	    1, 15000));
	ck_assert(pgtest_int(pg, "SELECT count(*) FROM endpoint WHERE failing_since IS NULL") == 1);
	recs = rcv_records(&r);
	ck_assert_int_ge(json_array_size(recs), 5);
	json_array_foreach(recs, i, rec) {
		const char *id = json_string_value(json_object_get(rec, "webhook_id"));
		ck_assert(json_is_true(json_object_get(rec, "valid")));
		/* The same webhook-id on every retry, accepted once. */
		if (wid == NULL)
			wid = id;
		ck_assert_str_eq(id, wid);
		ok200 += json_integer_value(json_object_get(rec, "status")) == 200;
	}
	ck_assert_int_eq(ok200, 1);
	ck_assert_int_eq(pgtest_int(pg, "SELECT attempts FROM delivery"), (long long)json_array_size(recs));
	json_decref(recs);
	case_end(&e, base, secret, &r, NULL);
}
END_TEST

START_TEST(test_dead_after_schedule)
{
	struct event_base *base = event_base_new();
	struct env e;
	struct rcv r;
	char *secret = sign_secret_new();
	const char *const down[] = { "--status", "500", NULL };
	struct config *cfg = test_config();

	db_setup();
	rcv_start(&r, secret, down);
	add_endpoint(r.url, "json", "{}", secret, NULL);
	set_schedule(cfg, "50ms,50ms");
	env_start(&e, base, cfg);
	enqueue(&e, "digest.teacher", json_pack("{s:i}", "teacher_id", 1), NULL, NULL);
	ck_assert(run_until_sql(base, "SELECT count(*) FROM delivery WHERE status = 'dead'", 1, 15000));
	ck_assert_int_eq(pgtest_int(pg, "SELECT attempts FROM delivery"), 3);
	ck_assert_int_eq(pgtest_int(pg, "SELECT count(*) FROM delivery_attempt WHERE http_status = 500"), 3);
	/* Nothing more is tried. */
	pgtest_run_until(base, &(bool){ false }, 500);
	ck_assert_int_eq(pgtest_int(pg, "SELECT count(*) FROM delivery_attempt"), 3);
	case_end(&e, base, secret, &r, NULL);
}
END_TEST

/* A step in days is a step: the second failure waits a day, it is not the last. */
START_TEST(test_schedule_in_days)
{
	struct event_base *base = event_base_new();
	struct env e;
	struct rcv r;
	/* base64 of 32 bytes: any whsec_ secret does */
	char *secret = xstrdup("whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=");
	const char *const down[] = { "--status", "500", NULL };
	struct config *cfg = test_config();

	db_setup();
	rcv_start(&r, secret, down);
	add_endpoint(r.url, "json", "{}", secret, NULL);
	set_schedule(cfg, "50ms,1d");
	env_start(&e, base, cfg);
	enqueue(&e, "digest.teacher", json_pack("{s:i}", "teacher_id", 1), NULL, NULL);
	ck_assert(run_until_sql(base, "SELECT count(*) FROM delivery_attempt", 2, 15000));
	pgtest_run_until(base, &(bool){ false }, 300);
	ck_assert_int_eq(pgtest_int(pg, "SELECT count(*) FROM delivery WHERE status = 'pending'"
	    " AND attempts = 2"), 1);
	/* A day, +-20% jitter. */
	ck_assert_int_ge(pgtest_int(pg, "SELECT extract(epoch FROM d.next_attempt_at - max(a.at))::int"
	    " FROM delivery d JOIN delivery_attempt a USING (school_id, delivery_id)"
	    " GROUP BY d.next_attempt_at"), 86400 * 8 / 10);
	case_end(&e, base, secret, &r, NULL);
}
END_TEST

START_TEST(test_gone_disables)
{
	struct event_base *base = event_base_new();
	struct env e;
	struct rcv gone, admin;
	char *secret = sign_secret_new();
	const char *const g[] = { "--status", "410", NULL };
	long long ep_gone, ep_admin;
	json_t *recs, *rec;

	db_setup();
	rcv_start(&gone, secret, g);
	rcv_start(&admin, secret, NULL);
	ep_gone = add_endpoint(gone.url, "json", "{}", secret, NULL);
	ep_admin = add_endpoint(admin.url, "json", "{endpoint.disabled}", secret, NULL);
	env_start(&e, base, test_config());
	ck_assert_int_eq(enqueue(&e, "mastery.changed", json_pack("{s:i}", "pupil_id", 1), NULL, NULL), 1);
	ck_assert(run_until_sql(base, "SELECT count(*) FROM delivery WHERE status = 'delivered'", 1, 15000));
	ck_assert_int_eq(pgtest_int(pg, "SELECT count(*) FROM endpoint WHERE endpoint_id = %lld AND NOT enabled"
	    " AND disabled_reason LIKE '%%410 Gone%%'", ep_gone), 1);
	ck_assert_int_eq(pgtest_int(pg, "SELECT count(*) FROM delivery WHERE endpoint_id = %lld AND status = 'dead'"
	    " AND attempts = 1", ep_gone), 1);
	ck_assert_int_eq(pgtest_int(pg, "SELECT count(*) FROM delivery WHERE endpoint_id = %lld"
	    " AND event_type = 'endpoint.disabled' AND status = 'delivered'", ep_admin), 1);
	recs = rcv_records(&admin);
	ck_assert_int_eq(json_array_size(recs), 1);
	rec = json_array_get(recs, 0);
	ck_assert_str_eq(json_string_value(json_object_get(rec, "type")), "endpoint.disabled");
	ck_assert(json_is_true(json_object_get(rec, "valid")));
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(rec, "body")), "127.0.0.1"));
	ck_assert_ptr_null(strstr(json_string_value(json_object_get(rec, "body")), "/hook"));
	json_decref(recs);
	/* A disabled endpoint is not sent to any more. */
	ck_assert_int_eq(enqueue(&e, "mastery.changed", json_pack("{s:i}", "pupil_id", 1), NULL, NULL), 0);
	case_end(&e, base, secret, &gone, &admin);
}
END_TEST

START_TEST(test_failing_for_days_disables)
{
	struct event_base *base = event_base_new();
	struct env e;
	struct rcv down, admin;
	char *secret = sign_secret_new();
	const char *const d[] = { "--status", "503", NULL };
	long long ep_down;

	db_setup();
	rcv_start(&down, secret, d);
	rcv_start(&admin, secret, NULL);
	ep_down = add_endpoint(down.url, "json", "{}", secret, NULL);
	add_endpoint(admin.url, "slack", "{}", secret, NULL);
	/* Failing for six days already: the next failure disables it. */
	PQclear(pgtest_query(pg, "UPDATE endpoint SET failing_since = now() - interval '6 days' WHERE url LIKE '%/hook'"
	    " AND format = 'json'"));
	env_start(&e, base, test_config());
	ck_assert_int_eq(enqueue(&e, "digest.teacher", json_pack("{s:i}", "teacher_id", 2), NULL,
	    NULL), 2);
	ck_assert(run_until_sql(base, "SELECT count(*) FROM delivery WHERE event_type ="
	    " 'endpoint.disabled' AND status = 'delivered'", 1, 15000));
	ck_assert_int_eq(pgtest_int(pg, "SELECT count(*) FROM endpoint WHERE endpoint_id = %lld AND NOT enabled"
	    " AND disabled_reason LIKE 'every delivery failed since%%'", ep_down), 1);
	ck_assert_int_eq(pgtest_int(pg, "SELECT count(*) FROM delivery WHERE endpoint_id = %lld"
	    " AND status = 'dead'", ep_down), 1);
	case_end(&e, base, secret, &down, &admin);
}
END_TEST

START_TEST(test_retry_after)
{
	struct event_base *base = event_base_new();
	struct env e;
	struct rcv r;
	char *secret = sign_secret_new();
	const char *const busy[] = { "--status", "429", "--retry-after", "1", NULL };

	db_setup();
	rcv_start(&r, secret, busy);
	add_endpoint(r.url, "json", "{}", secret, NULL);
	env_start(&e, base, test_config());
	enqueue(&e, "response.feedback", json_pack("{s:b}", "correct", 1), NULL, NULL);
	ck_assert(run_until_sql(base, "SELECT count(*) FROM delivery_attempt", 1, 10000));
	/* The schedule says 100 ms; Retry-After says 1 s and wins. */
	ck_assert_int_ge(pgtest_int(pg, "SELECT (extract(epoch FROM next_attempt_at - a.at) * 1000)::int"
	    " FROM delivery d JOIN delivery_attempt a USING (school_id, delivery_id)"), 950);
	kill(r.pid, SIGUSR1);
	ck_assert(run_until_sql(base, "SELECT count(*) FROM delivery WHERE status = 'delivered'", 1, 10000));
	ck_assert_int_ge(pgtest_int(pg, "SELECT (extract(epoch FROM max(at) - min(at)) * 1000)::int"
	    " FROM delivery_attempt"), 950);
	ck_assert_int_eq(pgtest_int(pg, "SELECT count(*) FROM delivery_attempt"), 2);
	case_end(&e, base, secret, &r, NULL);
}
END_TEST

START_TEST(test_ssrf_refused)
{
	struct event_base *base = event_base_new();
	struct env e;
	struct rcv r;
	char *secret = sign_secret_new(), url[128];
	struct config *cfg = test_config();
	json_t *recs;

	db_setup();
	rcv_start(&r, secret, NULL);
	add_endpoint(r.url, "json", "{}", secret, NULL);
	snprintf(url, sizeof url, "http://localhost:%d/hook", r.port);
	add_endpoint(url, "json", "{}", secret, NULL);
	cfg->webhooks_allow_private = false;
	set_schedule(cfg, "50ms");
	env_start(&e, base, cfg);
	ck_assert_int_eq(enqueue(&e, "topic.flagged", json_pack("{s:i}", "unit_id", 1), NULL, NULL), 2);
	ck_assert(run_until_sql(base, "SELECT count(*) FROM delivery WHERE status = 'dead'", 2, 15000));
	ck_assert_int_eq(pgtest_int(pg, "SELECT count(*) FROM delivery_attempt WHERE http_status IS NULL"
	    " AND error LIKE 'refused: the target resolves to a loopback address %%"
	    " (webhooks.allow_private is false)'"), 4);
	recs = rcv_records(&r);
	ck_assert_int_eq(json_array_size(recs), 0);
	json_decref(recs);
	case_end(&e, base, secret, &r, NULL);
}
END_TEST

START_TEST(test_redirect_not_followed)
{
	struct event_base *base = event_base_new();
	struct env e;
	struct rcv r;
	char *secret = sign_secret_new();
	const char *const moved[] = { "--status", "302", NULL };
	struct config *cfg = test_config();

	db_setup();
	rcv_start(&r, secret, moved);
	add_endpoint(r.url, "json", "{}", secret, NULL);
	set_schedule(cfg, "50ms");
	env_start(&e, base, cfg);
	enqueue(&e, "topic.flagged", json_pack("{s:i}", "unit_id", 1), NULL, NULL);
	ck_assert(run_until_sql(base, "SELECT count(*) FROM delivery WHERE status = 'dead'", 1, 15000));
	ck_assert_int_eq(pgtest_int(pg, "SELECT count(*) FROM delivery_attempt WHERE http_status = 302"
	    " AND error LIKE '%%redirects are not followed%%'"), 2);
	case_end(&e, base, secret, &r, NULL);
}
END_TEST

START_TEST(test_rotation_signs_both)
{
	struct event_base *base = event_base_new();
	struct env e;
	struct rcv old_only, new_only;
	char *old = sign_secret_new(), *new = sign_secret_new();
	const char *p[3];
	json_t *recs;
	PGresult *res;

	db_setup();
	rcv_start(&old_only, old, NULL);
	rcv_start(&new_only, new, NULL);
	add_endpoint(old_only.url, "json", "{}", new, NULL);
	add_endpoint(new_only.url, "json", "{}", new, NULL);
	p[0] = old;
	res = PQexecParams(pg, "UPDATE endpoint SET previous_secret = $1,"
	    " previous_secret_until = now() + interval '1 day'", 1, NULL, p, NULL, NULL, 0);
	ck_assert(PQresultStatus(res) == PGRES_COMMAND_OK);
	PQclear(res);
	env_start(&e, base, test_config());
	enqueue(&e, "topic.flagged", json_pack("{s:i}", "unit_id", 1), NULL, NULL);
	ck_assert(run_until_sql(base, "SELECT count(*) FROM delivery WHERE status = 'delivered'", 2, 15000));
	recs = rcv_records(&old_only);
	ck_assert(json_is_true(json_object_get(json_array_get(recs, 0), "valid")));
	json_decref(recs);
	recs = rcv_records(&new_only);
	ck_assert(json_is_true(json_object_get(json_array_get(recs, 0), "valid")));
	json_decref(recs);
	env_stop(&e);
	event_base_free(base);
	rcv_stop(&old_only);
	rcv_stop(&new_only);
	free(old);
	free(new);
	db_teardown();
}
END_TEST

START_TEST(test_per_endpoint_cap)
{
	struct event_base *base = event_base_new();
	struct env e;
	struct rcv r;
	char *secret = sign_secret_new();
	const char *const slow[] = { "--delay-ms", "150", NULL };
	struct config *cfg = test_config();
	json_t *recs, *rec;
	size_t i;
	long long max = 0;

	db_setup();
	rcv_start(&r, secret, slow);
	add_endpoint(r.url, "json", "{}", secret, NULL);
	cfg->webhooks_max_in_flight_per_endpoint = 2;
	env_start(&e, base, cfg);
	for (int k = 0; k < 8; k++)
		enqueue(&e, "topic.flagged", json_pack("{s:i}", "unit_id", k), NULL, NULL);
	ck_assert(run_until_sql(base, "SELECT count(*) FROM delivery WHERE status = 'delivered'", 8, 15000));
	recs = rcv_records(&r);
	ck_assert_int_eq(json_array_size(recs), 8);
	json_array_foreach(recs, i, rec)
		if (json_integer_value(json_object_get(rec, "inflight")) > max)
			max = json_integer_value(json_object_get(rec, "inflight"));
	ck_assert_int_eq(max, 2);
	json_decref(recs);
	case_end(&e, base, secret, &r, NULL);
}
END_TEST

struct two {
	push *a, *b;
};

static bool
both_drained(void *arg)
{
	struct two *t = arg;

	return pgtest_int(pg, "SELECT count(*) FROM delivery WHERE status <> 'delivered'") == 0 &&
	    push_pending(t->a) == 0 && push_pending(t->b) == 0;
}

START_TEST(test_two_senders)
{
	struct event_base *base = event_base_new();
	struct env e1, e2;
	struct rcv r;
	char *secret = sign_secret_new();
	const char *const slow[] = { "--delay-ms", "5", NULL };
	struct push_stats s1, s2;
	struct two t;
	json_t *recs, *rec, *seen = json_object();
	size_t i;
	int dups = 0;

	db_setup();
	rcv_start(&r, secret, slow);
	for (int k = 0; k < 4; k++)
		add_endpoint(r.url, "json", "{}", secret, NULL);
	/* Queued before either sender runs: both wake to the same backlog. */
	PQclear(pgtest_query(pg, "INSERT INTO delivery (school_id, endpoint_id, event_type, webhook_id, payload,"
	    " next_attempt_at, created_at) SELECT e.school_id, e.endpoint_id, 'topic.flagged',"
	    " 'msg_' || e.endpoint_id || '_' || g, '{}', now(), now()"
	    " FROM endpoint e, generate_series(1, 100) g"));
	env_start(&e1, base, test_config());
	env_start(&e2, base, test_config());
	t.a = e1.push;
	t.b = e2.push;
	ck_assert(pgtest_run_while(base, both_drained, &t, 30000));
	push_get_stats(e1.push, &s1);
	push_get_stats(e2.push, &s2);
	/* Every delivery claimed once in all, and both did part of the work. */
	ck_assert_int_eq(s1.claimed + s2.claimed, 400);
	ck_assert_int_gt(s1.claimed, 0);
	ck_assert_int_gt(s2.claimed, 0);
	ck_assert_int_eq(pgtest_int(pg, "SELECT count(*) FROM delivery_attempt"), 400);
	recs = rcv_records(&r);
	ck_assert_int_eq(json_array_size(recs), 400);
	json_array_foreach(recs, i, rec) {
		const char *id = json_string_value(json_object_get(rec, "webhook_id"));
		if (json_object_get(seen, id) != NULL)
			dups++;
		json_object_set_new(seen, id, json_true());
	}
	ck_assert_int_eq(dups, 0);
	json_decref(recs);
	json_decref(seen);
	env_stop(&e1);
	env_stop(&e2);
	event_base_free(base);
	rcv_stop(&r);
	free(secret);
	db_teardown();
}
END_TEST

START_TEST(test_lease_respected)
{
	struct event_base *base = event_base_new();
	struct env e;
	struct rcv r;
	char *secret = sign_secret_new();
	long long ep;

	db_setup();
	rcv_start(&r, secret, NULL);
	ep = add_endpoint(r.url, "json", "{}", secret, NULL);
	/* Another sender holds it for 1.5 s (its clock's now). */
	pgtest_int(pg, "INSERT INTO delivery (school_id, endpoint_id, event_type, webhook_id, payload,"
	    " next_attempt_at, lease_until, created_at) VALUES (%s, %lld, 'topic.flagged',"
	    " 'msg_leased', '{}', now(), now() + interval '1500 ms', now()) RETURNING 1", school, ep);
	env_start(&e, base, test_config());
	pgtest_run_until(base, &(bool){ false }, 700);
	ck_assert_int_eq(pgtest_int(pg, "SELECT count(*) FROM delivery_attempt"), 0);
	ck_assert(run_until_sql(base, "SELECT count(*) FROM delivery WHERE status = 'delivered'", 1, 10000));
	case_end(&e, base, secret, &r, NULL);
}
END_TEST

/*
 * A due delivery is claimed at once even while another transaction holds
 * a key-share lock on its row (an insert into delivery_attempt, which
 * references it, takes one): the claim must not skip it and leave it to
 * the poll (an hour here).
 */
START_TEST(test_claim_not_skipped_under_key_share)
{
	struct event_base *base = event_base_new();
	struct env e;
	struct rcv r;
	char *secret = sign_secret_new();
	struct config *cfg = test_config();
	PGconn *other;
	long long ep;

	db_setup();
	rcv_start(&r, secret, NULL);
	ep = add_endpoint(r.url, "json", "{}", secret, NULL);
	pgtest_int(pg, "INSERT INTO delivery (school_id, endpoint_id, event_type, webhook_id, payload,"
	    " next_attempt_at, created_at) VALUES (%s, %lld, 'topic.flagged', 'msg_locked', '{}',"
	    " now(), now()) RETURNING 1", school, ep);
	other = PQconnectdb(conninfo);
	ck_assert(PQstatus(other) == CONNECTION_OK);
	PQclear(PQexec(other, "BEGIN"));
	PQclear(PQexec(other, "SELECT 1 FROM delivery FOR KEY SHARE"));
	cfg->webhooks_poll_interval_ms = 3600000;
	env_start(&e, base, cfg);
	ck_assert(run_until_sql(base, "SELECT count(*) FROM delivery WHERE status = 'delivered'",
	    1, 5000));
	PQclear(PQexec(other, "COMMIT"));
	PQfinish(other);
	case_end(&e, base, secret, &r, NULL);
}
END_TEST

START_TEST(test_stop_drains)
{
	struct event_base *base = event_base_new();
	struct env e;
	struct rcv r;
	char *secret = sign_secret_new();
	const char *const slow[] = { "--delay-ms", "300", NULL };
	struct config *cfg = test_config();
	struct push_stats st;

	db_setup();
	rcv_start(&r, secret, slow);
	add_endpoint(r.url, "json", "{}", secret, NULL);
	cfg->webhooks_max_in_flight = 2;
	env_start(&e, base, cfg);
	for (int k = 0; k < 5; k++)
		enqueue(&e, "topic.flagged", json_pack("{s:i}", "unit_id", k), NULL, NULL);
	pgtest_run_until(base, &(bool){ false }, 150);
	/* Two in flight, two claimed ahead, one left in the outbox. */
	push_get_stats(e.push, &st);
	ck_assert_int_eq(st.sending, 2);
	ck_assert_int_eq(st.queued, 2);
	ck_assert_int_eq(pgtest_int(pg, "SELECT count(*) FROM delivery WHERE lease_until IS NOT NULL"), 4);
	push_stop(e.push);
	ck_assert_int_gt(push_pending(e.push), 0);
	/* Queued after the stop: not claimed. */
	enqueue(&e, "topic.flagged", json_pack("{s:i}", "unit_id", 9), NULL, NULL);
	ck_assert(pgtest_run_while(base, drained, e.push, 10000));
	/* The two in flight finished; the two claimed ahead were given back. */
	ck_assert_int_eq(pgtest_int(pg, "SELECT count(*) FROM delivery WHERE status = 'delivered'"), 2);
	ck_assert_int_eq(pgtest_int(pg, "SELECT count(*) FROM delivery WHERE status = 'pending'"
	    " AND lease_until IS NULL AND attempts = 0"), 4);
	case_end(&e, base, secret, &r, NULL);
}
END_TEST

START_TEST(test_receiver_down_connect_error)
{
	struct event_base *base = event_base_new();
	struct env e;
	struct rcv r;
	char *secret = sign_secret_new();
	struct config *cfg = test_config();

	db_setup();
	rcv_start(&r, secret, NULL);
	add_endpoint(r.url, "json", "{}", secret, NULL);
	rcv_stop(&r);	/* nobody listens on that port now */
	set_schedule(cfg, "50ms");
	env_start(&e, base, cfg);
	enqueue(&e, "topic.flagged", json_pack("{s:i}", "unit_id", 1), NULL, NULL);
	ck_assert(run_until_sql(base, "SELECT count(*) FROM delivery WHERE status = 'dead'", 1, 15000));
	ck_assert_int_eq(pgtest_int(pg, "SELECT count(*) FROM delivery_attempt WHERE http_status IS NULL"
	    " AND error LIKE 'Couldn''t connect to server%%'"), 2);
	env_stop(&e);
	event_base_free(base);
	free(secret);
	db_teardown();
}
END_TEST

START_TEST(test_backlog_no_stall)
{
	struct event_base *base = event_base_new();
	struct env e;
	struct rcv r;
	char *secret = sign_secret_new();
	struct config *cfg = test_config();
	long long a, b, c;
	const char *const slow[] = { "--delay-ms", "5", NULL };

	db_setup();
	rcv_start(&r, secret, slow);
	a = add_endpoint(r.url, "json", "{}", secret, NULL);
	b = add_endpoint(r.url, "slack", "{}", secret, NULL);
	c = add_endpoint(r.url, "teams", "{}", secret, NULL);
	/* One endpoint's backlog ahead of the others', all due. */
	pgtest_int(pg, "WITH x AS (INSERT INTO delivery (school_id, endpoint_id, event_type, webhook_id,"
	    " payload, next_attempt_at, created_at) SELECT %s, CASE WHEN g <= 300 THEN %lld"
	    " WHEN g <= 350 THEN %lld ELSE %lld END, 'topic.flagged', 'msg_b' || g, '{}',"
	    " now() - interval '1 hour' + g * interval '1 ms', now()"
	    " FROM generate_series(1, 400) g RETURNING 1) SELECT count(*) FROM x", school, a, b, c);
	/* No poll to hide a lost wake-up: only claims, completions and NOTIFY drive it. */
	cfg->webhooks_poll_interval_ms = 3600000;
	cfg->webhooks_max_in_flight = 8;
	cfg->webhooks_max_in_flight_per_endpoint = 3;
	env_start(&e, base, cfg);
	ck_assert(run_until_sql(base, "SELECT count(*) FROM delivery WHERE status = 'delivered'",
	    400, 20000));
	if (getenv("PUSH_DEBUG") != NULL) {
		PGresult *res = pgtest_query(pg, "SELECT d.endpoint_id, count(*), min(a.at), max(a.at) FROM delivery d"
		    " JOIN delivery_attempt a USING (school_id, delivery_id) GROUP BY 1 ORDER BY 1");
		for (int i = 0; i < PQntuples(res); i++)
			fprintf(stderr, "endpoint %s: %s attempts %s .. %s\n", PQgetvalue(res, i, 0),
			    PQgetvalue(res, i, 1), PQgetvalue(res, i, 2), PQgetvalue(res, i, 3));
		PQclear(res);
	}
	/*
	 * The last endpoint in line was not kept waiting until the big backlog
	 * drained: a stall makes this 0; fair sharing gives ~100 on a quiet
	 * machine, fewer on a loaded one (36 seen), so the bar is low.
	 */
	ck_assert_int_gt(pgtest_int(pg, "SELECT count(*) FROM delivery_attempt a JOIN delivery d"
	    " USING (school_id, delivery_id) WHERE d.endpoint_id = %lld AND a.at > (SELECT max(x.at)"
	    " FROM delivery_attempt x JOIN delivery y USING (school_id, delivery_id)"
	    " WHERE y.endpoint_id = %lld)", a, c), 10);
	case_end(&e, base, secret, &r, NULL);
}
END_TEST

/*
 * A big old backlog (2,000 msg_a to endpoint a of school sa) and a few
 * newer ones (10 msg_b to endpoint b of school sb), all due, queued
 * without a NOTIFY: oldest-first alone would keep b waiting.
 */
static void
backlog_and_few(const char *sa, long long a, const char *sb, long long b)
{
	pgtest_int(pg, "WITH x AS (INSERT INTO delivery (school_id, endpoint_id, event_type, webhook_id,"
	    " payload, next_attempt_at, created_at) SELECT %s, %lld, 'topic.flagged', 'msg_a' || g,"
	    " '{}', now() - interval '1 hour' + g * interval '1 ms', now()"
	    " FROM generate_series(1, 2000) g UNION ALL SELECT %s, %lld, 'topic.flagged',"
	    " 'msg_b' || g, '{}', now() - interval '1 minute' + g * interval '1 ms', now()"
	    " FROM generate_series(1, 10) g RETURNING 1) SELECT count(*) FROM x", sa, a, sb, b);
}

/* Once all 2,010 arrived: the place at the receiver of the last msg_b (all 10 came). */
static size_t
last_few_arrived(struct rcv *r)
{
	json_t *recs = rcv_records(r), *rec;
	size_t i, last = 0, n = 0;

	ck_assert_int_eq(json_array_size(recs), 2010);
	json_array_foreach(recs, i, rec) {
		if (strncmp(json_string_value(json_object_get(rec, "webhook_id")), "msg_b", 5) == 0) {
			last = i;
			n++;
		}
	}
	ck_assert_int_eq(n, 10);
	json_decref(recs);
	return last;
}

/*
 * One endpoint's big backlog does not keep another's few waiting: each
 * claim shares out by endpoint, so the small one's deliveries arrive
 * among the first, not after the 2,000 (ordering, not timing).
 */
START_TEST(test_fair_share)
{
	struct event_base *base = event_base_new();
	struct env e;
	struct rcv r;
	char *secret = sign_secret_new();
	struct config *cfg = test_config();
	size_t last_b;
	long long a, b;

	db_setup();
	rcv_start(&r, secret, NULL);
	a = add_endpoint(r.url, "json", "{}", secret, NULL);
	b = add_endpoint(r.url, "json", "{}", secret, NULL);
	backlog_and_few(school, a, school, b);
	env_start(&e, base, cfg);
	ck_assert(run_until_sql(base, "SELECT count(*) FROM delivery WHERE status = 'delivered'",
	    2010, 60000));
	last_b = last_few_arrived(&r);
	/* the per-endpoint cap is 4: two claims' worth of a at most, not 2,000 */
	ck_assert_msg(last_b < 40, "b's last delivery arrived %zu-th", last_b + 1);
	case_end(&e, base, secret, &r, NULL);
}
END_TEST

/*
 * Schools are claimed in turn, one claim (one shard) each: one school's
 * big backlog does not keep another school's few waiting, and both are
 * found by the sweep when the sender starts (no NOTIFY: inserted here).
 */
START_TEST(test_schools_share)
{
	struct event_base *base = event_base_new();
	struct env e;
	struct rcv r;
	char *secret = sign_secret_new();
	struct config *cfg = test_config();
	size_t last_b;
	long long a, other, b;
	char other_s[24];
	struct push_stats st;

	db_setup();
	rcv_start(&r, secret, NULL);
	a = add_endpoint(r.url, "json", "{}", secret, NULL);
	other = pgtest_int(pg, "INSERT INTO school (name) VALUES ('Other school') RETURNING school_id");
	b = pgtest_int(pg, "INSERT INTO endpoint (school_id, url, format, event_types, secret, created_at)"
	    " VALUES (%lld, '%s', 'json', '{}', '%s', now()) RETURNING endpoint_id", other, r.url, secret);
	snprintf(other_s, sizeof other_s, "%lld", other);
	backlog_and_few(school, a, other_s, b);
	cfg->webhooks_poll_interval_ms = 3600000;	/* the sweep at start finds them */
	env_start(&e, base, cfg);
	ck_assert(run_until_sql(base, "SELECT count(*) FROM delivery WHERE status = 'delivered'",
	    2010, 60000));
	last_b = last_few_arrived(&r);
	ck_assert_msg(last_b < 40, "the other school's last delivery arrived %zu-th", last_b + 1);
	/* Each school's attempts were written for it alone. */
	ck_assert_int_eq(pgtest_int(pg, "SELECT count(*) FROM delivery_attempt a JOIN delivery d"
	    " USING (school_id, delivery_id) WHERE d.school_id = %lld", other), 10);
	push_get_stats(e.push, &st);
	ck_assert_uint_ge(st.sweeps, 1);
	case_end(&e, base, secret, &r, NULL);
}
END_TEST

/*
 * With the database away the sender neither spins nor loses work: a
 * failed claim waits for the LISTEN to come back, which sweeps every
 * school, and what was queued meanwhile (no NOTIFY heard) is sent.
 */
START_TEST(test_database_away)
{
	struct event_base *base = event_base_new();
	struct env e;
	struct rcv r;
	char *secret = sign_secret_new();
	struct config *cfg = test_config();
	struct push_stats st;
	uint64_t before;
	long long a;

	db_setup();
	rcv_start(&r, secret, NULL);
	a = add_endpoint(r.url, "json", "{}", secret, NULL);
	cfg->webhooks_poll_interval_ms = 3600000;	/* no poll: only the LISTEN and wakes */
	env_start(&e, base, cfg);
	enqueue(&e, "topic.flagged", json_pack("{s:i}", "unit_id", 1), NULL, NULL);
	ck_assert(run_until_sql(base, "SELECT count(*) FROM delivery WHERE status = 'delivered'",
	    1, 10000));
	pgtest_stop();
	push_get_stats(e.push, &st);
	before = st.claims;
	push_wake(e.push, strtoll(school, NULL, 10));	/* a claim that fails */
	pgtest_run_until(base, &(bool){ false }, 1500);
	push_get_stats(e.push, &st);
	ck_assert_msg(st.claims - before <= 2, "%llu claims with the database away",
	    (unsigned long long)(st.claims - before));
	pgtest_resume();
	PQreset(pg);
	pgtest_int(pg, "INSERT INTO delivery (school_id, endpoint_id, event_type, webhook_id, payload,"
	    " next_attempt_at, created_at) VALUES (%s, %lld, 'topic.flagged', 'msg_away', '{}',"
	    " now(), now()) RETURNING 1", school, a);
	ck_assert(run_until_sql(base, "SELECT count(*) FROM delivery WHERE status = 'delivered'",
	    2, 20000));
	case_end(&e, base, secret, &r, NULL);
}
END_TEST

/* Both chunks of 300 schools swept (the start's sweep). */
static bool
swept_twice(void *arg)
{
	struct push_stats st;

	push_get_stats(arg, &st);
	return st.sweeps >= 2;
}

/*
 * The sweep goes through every school in chunks: with 300 schools, a
 * delivery of the last one, queued without a NOTIFY, is found when the
 * sender starts (the whole sweep), and one queued later, also unheard,
 * by the polls that probe the schools a chunk at a time.
 */
START_TEST(test_sweep_many_schools)
{
	struct event_base *base = event_base_new();
	struct env e;
	struct rcv r;
	char *secret = sign_secret_new();
	struct config *cfg = test_config();
	long long last, ep;

	db_setup();
	rcv_start(&r, secret, NULL);
	last = pgtest_int(pg, "WITH s AS (INSERT INTO school (name) SELECT 'School ' || g"
	    " FROM generate_series(1, 299) g RETURNING school_id) SELECT max(school_id) FROM s");
	ep = pgtest_int(pg, "INSERT INTO endpoint (school_id, url, format, event_types, secret,"
	    " created_at) VALUES (%lld, '%s', 'json', '{}', '%s', now()) RETURNING endpoint_id",
	    last, r.url, secret);
	pgtest_int(pg, "INSERT INTO delivery (school_id, endpoint_id, event_type, webhook_id, payload,"
	    " next_attempt_at, created_at) VALUES (%lld, %lld, 'topic.flagged', 'msg_1', '{}',"
	    " now(), now()) RETURNING 1", last, ep);
	cfg->webhooks_poll_interval_ms = 3600000;	/* the start's sweep alone */
	env_start(&e, base, cfg);
	ck_assert(run_until_sql(base, "SELECT count(*) FROM delivery WHERE status = 'delivered'",
	    1, 10000));
	env_stop(&e);
	/* Another sender, polling; once its start's sweep is done, one more unheard. */
	cfg = test_config();
	cfg->webhooks_poll_interval_ms = 200;
	env_start(&e, base, cfg);
	ck_assert(pgtest_run_while(base, swept_twice, e.push, 10000));
	pgtest_int(pg, "INSERT INTO delivery (school_id, endpoint_id, event_type, webhook_id, payload,"
	    " next_attempt_at, created_at) VALUES (%lld, %lld, 'topic.flagged', 'msg_2', '{}',"
	    " now(), now()) RETURNING 1", last, ep);
	ck_assert(run_until_sql(base, "SELECT count(*) FROM delivery WHERE status = 'delivered'",
	    2, 10000));
	case_end(&e, base, secret, &r, NULL);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("push");
	TCase *unit = tcase_create("unit"), *tc = tcase_create("deliver");
	int failed;

	log_set_level(LOG_LEVEL_WARN);
	if (getenv("PUSH_DEBUG") != NULL)
		log_set_level(LOG_LEVEL_DEBUG);
	tcase_add_test(unit, test_sign_and_guard);
	tcase_add_test(unit, test_renderings);
	tcase_add_test(unit, test_dueset_heard_and_claimed);
	tcase_add_test(unit, test_dueset_wait_and_turns);
	tcase_add_test(unit, test_dueset_many);
	suite_add_tcase(s, unit);
	pgtest_start();
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_delivered_signed);
	tcase_add_test(tc, test_retry_until_back);
	tcase_add_test(tc, test_dead_after_schedule);
	tcase_add_test(tc, test_schedule_in_days);
	tcase_add_test(tc, test_gone_disables);
	tcase_add_test(tc, test_failing_for_days_disables);
	tcase_add_test(tc, test_retry_after);
	tcase_add_test(tc, test_ssrf_refused);
	tcase_add_test(tc, test_redirect_not_followed);
	tcase_add_test(tc, test_rotation_signs_both);
	tcase_add_test(tc, test_per_endpoint_cap);
	tcase_add_test(tc, test_two_senders);
	tcase_add_test(tc, test_backlog_no_stall);
	tcase_add_test(tc, test_fair_share);
	tcase_add_test(tc, test_schools_share);
	tcase_add_test(tc, test_database_away);
	tcase_add_test(tc, test_sweep_many_schools);
	tcase_add_test(tc, test_lease_respected);
	tcase_add_test(tc, test_claim_not_skipped_under_key_share);
	tcase_add_test(tc, test_stop_drains);
	tcase_add_test(tc, test_receiver_down_connect_error);
	suite_add_tcase(s, tc);
	failed = cktest_run(s);
	pgtest_destroy();
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
