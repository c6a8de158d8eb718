/* test_db.c: the asynchronous pool against a real throwaway PostgreSQL. */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <check.h>
#include <event2/event.h>

#include "cktest.h"
#include "db.h"
#include "log.h"
#include "pgtest.h"

static const char *conninfo;

struct tally {
	int ok, unavailable, error, wrong;
	int done;
	char sqlstate[6];
	char last_error[256];
};

struct one {
	struct tally *t;
	int want;
};

static void
tally_cb(const struct db_reply *r, void *arg)
{
	struct one *o = arg;
	struct tally *t = o->t;

	t->done++;
	if (r->status == DB_OK) {
		t->ok++;
		if (o->want >= 0 && atoi(PQgetvalue(r->results[0], 0, 0)) != o->want)
			t->wrong++;
	} else if (r->status == DB_UNAVAILABLE) {
		t->unavailable++;
		snprintf(t->last_error, sizeof t->last_error, "%s", r->error);
	} else {
		t->error++;
		snprintf(t->sqlstate, sizeof t->sqlstate, "%s", r->sqlstate);
		snprintf(t->last_error, sizeof t->last_error, "%s", r->error);
	}
	free(o);
}

static db_req *
query_int(db_pool *p, struct tally *t, const char *sql, int param, int want)
{
	struct one *o = malloc(sizeof *o);
	char buf[32];
	const char *params[1] = { buf };

	o->t = t;
	o->want = want;
	snprintf(buf, sizeof buf, "%d", param);
	return db_query(p, sql, strchr(sql, '$') ? 1 : 0, params, tally_cb, o);
}

struct done_at_least {
	struct tally *t;
	int n;
};

static bool
done_pred(void *arg)
{
	struct done_at_least *d = arg;
	return d->t->done >= d->n;
}

static bool
wait_done(struct event_base *base, struct tally *t, int n, int timeout_ms)
{
	struct done_at_least d = { t, n };
	return pgtest_run_while(base, done_pred, &d, timeout_ms);
}

static bool
live_pred(void *arg)
{
	return db_pool_live(arg);
}

static db_pool *
new_pool(struct event_base *base, const char *ci, int size)
{
	struct db_pool_opts o = {
		.conninfo = ci, .size = size, .connect_timeout_ms = 2000, .queue_timeout_ms = 3000,
	};
	return db_pool_new(base, &o);
}

START_TEST(test_simple_query)
{
	struct event_base *base = event_base_new();
	db_pool *p = new_pool(base, conninfo, 2);
	struct tally t = { 0 };

	query_int(p, &t, "SELECT $1::int + 1", 41, 42);
	ck_assert(wait_done(base, &t, 1, 10000));
	ck_assert_int_eq(t.ok, 1);
	ck_assert_int_eq(t.wrong, 0);
	ck_assert(db_pool_live(p));
	db_pool_free(p);
	event_base_free(base);
}
END_TEST

static bool
all_idle_pred(void *arg)
{
	struct db_stats st;

	db_pool_stats(arg, &st);
	return st.idle == 4;
}

START_TEST(test_thousand_concurrent)
{
	struct event_base *base = event_base_new();
	db_pool *p = new_pool(base, conninfo, 4);
	struct tally t = { 0 };
	struct db_stats st;

	for (int i = 0; i < 1000; i++)
		query_int(p, &t, "SELECT $1::int * 2", i, i * 2);
	db_pool_stats(p, &st);
	ck_assert_int_eq(st.queued, 1000);	/* nothing runs inside db_submit */
	ck_assert(wait_done(base, &t, 1000, 60000));
	ck_assert_int_eq(t.ok, 1000);
	ck_assert_int_eq(t.wrong, 0);
	ck_assert_int_eq(db_pool_pending(p), 0);
	db_pool_stats(p, &st);
	ck_assert_int_eq(st.queued, 0);
	ck_assert_uint_eq(st.completed, 1000);
	/* every connection idle again (on a busy machine the last may still be connecting) */
	ck_assert(pgtest_run_while(base, all_idle_pred, p, 10000));
	db_pool_free(p);
	event_base_free(base);
}
END_TEST

START_TEST(test_sql_error)
{
	struct event_base *base = event_base_new();
	db_pool *p = new_pool(base, conninfo, 1);
	struct tally t = { 0 };

	query_int(p, &t, "SELECT 1/$1::int", 0, -1);
	query_int(p, &t, "SELECT $1::int", 7, 7);	/* the connection is still usable */
	ck_assert(wait_done(base, &t, 2, 10000));
	ck_assert_int_eq(t.error, 1);
	ck_assert_str_eq(t.sqlstate, "22012");	/* division_by_zero */
	ck_assert_int_eq(t.ok, 1);
	db_pool_free(p);
	event_base_free(base);
}
END_TEST

struct multi {
	bool done;
	enum db_status status;
	int n;
	char first[64];
	char sqlstate[6];
};

static void
multi_cb(const struct db_reply *r, void *arg)
{
	struct multi *m = arg;

	m->done = true;
	m->status = r->status;
	m->n = r->nresults;
	snprintf(m->sqlstate, sizeof m->sqlstate, "%s", r->sqlstate);
	if (r->status == DB_OK && r->nresults > 0 &&
	    PQresultStatus(r->results[r->nresults - 1]) == PGRES_TUPLES_OK)
		snprintf(m->first, sizeof m->first, "%s", PQgetvalue(r->results[r->nresults - 1], 0, 0));
}

static struct multi
run_multi(struct event_base *base, db_pool *p, const char *const *sqls, int n)
{
	struct multi m = { 0 };
	db_req *r = db_req_new(multi_cb, &m);

	for (int i = 0; i < n; i++)
		db_req_add(r, sqls[i], 0, NULL);
	db_submit(p, r);
	ck_assert(pgtest_run_until(base, &m.done, 10000));
	return m;
}

START_TEST(test_pipeline_atomic)
{
	struct event_base *base = event_base_new();
	db_pool *p = new_pool(base, conninfo, 2);
	const char *setup[] = {
		"DROP TABLE IF EXISTS pipe_t",
		"CREATE TABLE pipe_t (x int PRIMARY KEY)",
	};
	const char *good[] = {
		"INSERT INTO pipe_t VALUES (1)",
		"INSERT INTO pipe_t VALUES (2)",
		"SELECT count(*) FROM pipe_t",
	};
	const char *bad[] = {
		"INSERT INTO pipe_t VALUES (3)",
		"INSERT INTO pipe_t VALUES (1)",	/* duplicate: all of it rolls back */
		"INSERT INTO pipe_t VALUES (4)",
	};
	const char *count[] = { "SELECT count(*) FROM pipe_t" };
	struct multi m;

	m = run_multi(base, p, setup, 2);
	ck_assert_int_eq(m.status, DB_OK);
	m = run_multi(base, p, good, 3);
	ck_assert_int_eq(m.status, DB_OK);
	ck_assert_int_eq(m.n, 3);
	ck_assert_str_eq(m.first, "2");
	m = run_multi(base, p, bad, 3);
	ck_assert_int_eq(m.status, DB_ERROR);
	ck_assert_str_eq(m.sqlstate, "23505");
	m = run_multi(base, p, count, 1);
	ck_assert_str_eq(m.first, "2");
	db_pool_free(p);
	event_base_free(base);
}
END_TEST

/*
 * Statements are prepared per connection on first use: a failed Prepare
 * must not be remembered, and a reused statement keeps giving right answers.
 */
START_TEST(test_prepared_reuse)
{
	struct event_base *base = event_base_new();
	db_pool *p = new_pool(base, conninfo, 1);
	struct tally t = { 0 };
	const char *bad[] = { "SELEC 1" };
	const char *pair[] = { "SELECT 1", "SELEC 1" };
	const char *good[] = { "SELECT 1", "SELECT 2" };
	struct multi m;

	for (int round = 0; round < 3; round++) {
		m = run_multi(base, p, bad, 1);
		ck_assert_int_eq(m.status, DB_ERROR);
		ck_assert_str_eq(m.sqlstate, "42601");	/* syntax_error, never 26000 */
		m = run_multi(base, p, pair, 2);
		ck_assert_int_eq(m.status, DB_ERROR);
		ck_assert_str_eq(m.sqlstate, "42601");
		m = run_multi(base, p, good, 2);
		ck_assert_int_eq(m.status, DB_OK);
		ck_assert_str_eq(m.first, "2");
	}
	for (int i = 0; i < 300; i++)	/* more distinct statements than the cache holds */
		query_int(p, &t, i % 2 ? "SELECT $1::int + 0" : "SELECT $1::int * 1", i, i);
	for (int i = 0; i < 300; i++) {
		char *sql = malloc(64);
		snprintf(sql, 64, "SELECT $1::int + %d - %d", i, i);
		query_int(p, &t, sql, i, i);
		free(sql);
	}
	ck_assert(wait_done(base, &t, 600, 30000));
	ck_assert_int_eq(t.ok, 600);
	ck_assert_int_eq(t.wrong, 0);
	db_pool_free(p);
	event_base_free(base);
}
END_TEST

/* ---- transactions across requests ---- */

struct txstep {
	bool done;
	enum db_status status;
	int nresults;
	char value[32];
};

static void
txstep_cb(const struct db_reply *r, void *arg)
{
	struct txstep *s = arg;

	s->done = true;
	s->status = r->status;
	s->nresults = r->nresults;
	s->value[0] = '\0';
	if (r->status == DB_OK && r->nresults > 0 && r->results[0] != NULL &&
	    PQresultStatus(r->results[0]) == PGRES_TUPLES_OK && PQntuples(r->results[0]) > 0)
		snprintf(s->value, sizeof s->value, "%s", PQgetvalue(r->results[0], 0, 0));
}

static db_req *
one(const char *sql, struct txstep *s)
{
	db_req *r = db_req_new(txstep_cb, s);

	memset(s, 0, sizeof *s);
	db_req_add(r, sql, 0, NULL);
	return r;
}

static const char *
scalar(struct event_base *base, db_pool *p, const char *sql)
{
	static struct txstep s;

	db_submit(p, one(sql, &s));
	ck_assert(pgtest_run_until(base, &s.done, 10000));
	ck_assert_int_eq(s.status, DB_OK);
	return s.value;
}

START_TEST(test_txn)
{
	struct event_base *base = event_base_new();
	db_pool *p = new_pool(base, conninfo, 1);	/* one connection: a leak would hang */
	struct txstep a, b, q;
	db_txn *t;

	scalar(base, p, "DROP TABLE IF EXISTS txn_t");
	scalar(base, p, "CREATE TABLE txn_t (id int PRIMARY KEY, v int)");
	scalar(base, p, "INSERT INTO txn_t VALUES (1, 10)");

	/* read FOR UPDATE, compute in C, write back, commit */
	t = db_txn_begin(p, one("SELECT v FROM txn_t WHERE id = 1 FOR UPDATE", &a));
	ck_assert(pgtest_run_until(base, &a.done, 10000));
	ck_assert_int_eq(a.status, DB_OK);
	ck_assert_int_eq(a.nresults, 1);	/* BEGIN is not shown */
	ck_assert_str_eq(a.value, "10");
	/* the only connection is reserved: a plain query waits for the commit */
	db_submit(p, one("SELECT v FROM txn_t WHERE id = 1", &q));
	pgtest_run_until(base, &q.done, 200);
	ck_assert(!q.done);
	db_txn_continue(t, one("UPDATE txn_t SET v = 11 WHERE id = 1", &b), true);
	ck_assert(pgtest_run_until(base, &b.done, 10000));
	ck_assert_int_eq(b.status, DB_OK);
	ck_assert_int_eq(b.nresults, 1);	/* COMMIT is not shown */
	ck_assert(pgtest_run_until(base, &q.done, 10000));
	ck_assert_str_eq(q.value, "11");

	/* abort: nothing changes, the connection comes back */
	t = db_txn_begin(p, one("UPDATE txn_t SET v = 99 WHERE id = 1", &a));
	ck_assert(pgtest_run_until(base, &a.done, 10000));
	db_txn_abort(t);
	ck_assert_str_eq(scalar(base, p, "SELECT v FROM txn_t WHERE id = 1"), "11");

	/* an error mid-way rolls back everything and releases the connection */
	t = db_txn_begin(p, one("UPDATE txn_t SET v = 50 WHERE id = 1", &a));
	ck_assert(pgtest_run_until(base, &a.done, 10000));
	db_txn_continue(t, one("SELECT 1/0", &b), false);
	ck_assert(pgtest_run_until(base, &b.done, 10000));
	ck_assert_int_eq(b.status, DB_ERROR);
	ck_assert_str_eq(scalar(base, p, "SELECT v FROM txn_t WHERE id = 1"), "11");

	/* an error in the committing request rolls back too */
	t = db_txn_begin(p, one("UPDATE txn_t SET v = 60 WHERE id = 1", &a));
	ck_assert(pgtest_run_until(base, &a.done, 10000));
	db_txn_continue(t, one("INSERT INTO txn_t VALUES (1, 0)", &b), true);
	ck_assert(pgtest_run_until(base, &b.done, 10000));
	ck_assert_int_eq(b.status, DB_ERROR);
	ck_assert_str_eq(scalar(base, p, "SELECT v FROM txn_t WHERE id = 1"), "11");
	db_pool_free(p);
	event_base_free(base);
}
END_TEST

static bool
down_pred(void *arg)
{
	return !db_pool_live(arg);
}

/* The server goes away while a transaction is open between its steps. */
START_TEST(test_txn_server_lost)
{
	struct event_base *base = event_base_new();
	db_pool *p = new_pool(base, conninfo, 1);
	struct txstep a, b;
	db_txn *t;

	ck_assert(pgtest_run_while(base, live_pred, p, 10000));
	t = db_txn_begin(p, one("SELECT 1", &a));
	ck_assert(pgtest_run_until(base, &a.done, 10000));
	pgtest_stop();
	ck_assert(pgtest_run_while(base, down_pred, p, 10000));	/* the pool noticed */
	db_txn_continue(t, one("SELECT 2", &b), true);
	ck_assert(!b.done);	/* never called back from inside */
	ck_assert(pgtest_run_until(base, &b.done, 10000));
	pgtest_resume();
	ck_assert_int_eq(b.status, DB_UNAVAILABLE);
	ck_assert(pgtest_run_while(base, live_pred, p, 15000));
	db_pool_free(p);
	event_base_free(base);
}
END_TEST

/*
 * A transaction waits in the queue behind a busy connection when the server
 * goes away: it fails as unavailable and its handle is freed (ASan).
 */
START_TEST(test_txn_queued_server_lost)
{
	struct event_base *base = event_base_new();
	db_pool *p = new_pool(base, conninfo, 1);
	struct txstep a, b;

	ck_assert(pgtest_run_while(base, live_pred, p, 10000));
	db_submit(p, one("SELECT pg_sleep(30)", &a));
	db_txn_begin(p, one("SELECT 1", &b));
	pgtest_run_until(base, &a.done, 300);
	ck_assert(!a.done && !b.done);
	pgtest_stop();
	ck_assert(pgtest_run_until(base, &a.done, 10000));
	ck_assert(pgtest_run_until(base, &b.done, 10000));
	pgtest_resume();
	ck_assert_int_ne(a.status, DB_OK);	/* the server's FATAL, or the lost socket */
	ck_assert_int_eq(b.status, DB_UNAVAILABLE);
	ck_assert(pgtest_run_while(base, live_pred, p, 15000));
	db_pool_free(p);
	event_base_free(base);
}
END_TEST

START_TEST(test_cancel)
{
	struct event_base *base = event_base_new();
	db_pool *p = new_pool(base, conninfo, 1);
	struct tally t = { 0 };
	struct one *o = malloc(sizeof *o);	/* the cancelled callback's arg stays ours */
	db_req *r;

	o->t = &t;
	o->want = 1;
	r = db_query(p, "SELECT 1", 0, NULL, tally_cb, o);
	db_cancel(r);
	query_int(p, &t, "SELECT $1::int", 2, 2);
	ck_assert(wait_done(base, &t, 1, 10000));
	/* Let the loop run on: the cancelled one must never call back. */
	wait_done(base, &t, 2, 300);
	ck_assert_int_eq(t.done, 1);
	free(o);
	db_pool_free(p);
	event_base_free(base);
}
END_TEST

START_TEST(test_unreachable_fails)
{
	struct event_base *base = event_base_new();
	db_pool *p = new_pool(base, "host=/nonexistent/socket/dir port=5432 dbname=x", 2);
	struct tally t = { 0 };

	query_int(p, &t, "SELECT $1::int", 1, 1);
	ck_assert(wait_done(base, &t, 1, 10000));
	ck_assert_int_eq(t.unavailable, 1);
	ck_assert(!db_pool_live(p));
	/* Now known down: the next request fails fast, from the loop. */
	query_int(p, &t, "SELECT $1::int", 2, 2);
	ck_assert_int_eq(t.done, 1);
	ck_assert(wait_done(base, &t, 2, 100));
	ck_assert_int_eq(t.unavailable, 2);
	db_pool_free(p);
	event_base_free(base);
}
END_TEST

/* A loopback TCP port nobody listens on (bound, then released). */
static int
closed_tcp_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int port;

	ck_assert_int_ge(fd, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}


/*
 * A host list whose first host is dead: libpq closes the dead host's
 * socket inside PQconnectPoll and opens the next one, usually under the
 * same descriptor number, which the kernel's epoll set no longer holds.
 * The pool must still come up on the live host, within one connect.
 */
START_TEST(test_host_list_first_dead)
{
	struct event_base *base = event_base_new();
	const char *host = strstr(conninfo, "host=");
	char ci[1024];
	db_pool *p;
	struct tally t = { 0 };

	ck_assert_ptr_nonnull(host);
	/*
	 * "host=127.0.0.1,<live dir> port=<closed>,5432": a TCP connect that
	 * is refused only after libpq has asked to wait for writability.
	 */
	snprintf(ci, sizeof ci, "%.*shost=127.0.0.1,%s target_session_attrs=read-write",
	    (int)(host - conninfo), conninfo, host + strlen("host="));
	{
		char *port = strstr(ci, "port=5432");
		char dead[16];
		int n;

		ck_assert_ptr_nonnull(port);
		n = snprintf(dead, sizeof dead, "%d,", closed_tcp_port());
		memmove(port + 5 + n, port + 5, strlen(port + 5) + 1);
		memcpy(port + 5, dead, (size_t)n);
	}
	p = new_pool(base, ci, 2);
	ck_assert(pgtest_run_while(base, live_pred, p, 10000));
	query_int(p, &t, "SELECT $1::int", 7, 7);
	ck_assert(wait_done(base, &t, 1, 10000));
	ck_assert_int_eq(t.ok, 1);
	db_pool_free(p);
	event_base_free(base);
}
END_TEST

struct listen_state {
	int ups;
	int notes;
	char payload[64];
};

static void
on_notify(const char *channel, const char *payload, void *arg)
{
	struct listen_state *l = arg;

	l->notes++;
	snprintf(l->payload, sizeof l->payload, "%s", payload);
}

static void
on_up(void *arg)
{
	struct listen_state *l = arg;
	l->ups++;
}

static bool
ups_pred(void *arg)
{
	return ((struct listen_state *)arg)->ups >= 2;
}

static bool
notes1_pred(void *arg)
{
	return ((struct listen_state *)arg)->notes >= 1;
}

/*
 * The server restarts under a busy pool: requests in flight and queued
 * fail as unavailable, new ones fail fast, the pool and the LISTEN come
 * back by themselves, and nothing leaks (ASan).
 */
START_TEST(test_server_restart)
{
	struct event_base *base = event_base_new();
	db_pool *p = new_pool(base, conninfo, 4);
	struct tally t = { 0 };
	struct listen_state ls = { 0 };
	int i;
	bool up;

	db_listen(p, "recalld_test", on_notify, on_up, &ls);
	ck_assert(pgtest_run_while(base, live_pred, p, 10000));
	for (i = 0; i < 200; i++)
		query_int(p, &t, "SELECT $1::int FROM pg_sleep(0.005)", i, i);
	ck_assert(wait_done(base, &t, 20, 20000));
	pgtest_stop();
	ck_assert(wait_done(base, &t, 200, 20000));
	ck_assert_int_gt(t.ok, 0);
	ck_assert_int_gt(t.unavailable, 0);
	ck_assert_int_eq(t.ok + t.unavailable, 200);
	ck_assert_int_eq(t.wrong, 0);
	ck_assert(!db_pool_live(p));
	query_int(p, &t, "SELECT $1::int", 1, 1);
	ck_assert(wait_done(base, &t, 201, 1000));
	ck_assert_int_eq(t.unavailable + t.ok, 201);

	pgtest_resume();
	up = pgtest_run_while(base, live_pred, p, 15000);
	ck_assert_msg(up, "pool did not reconnect");
	memset(&t, 0, sizeof t);
	for (i = 0; i < 50; i++)
		query_int(p, &t, "SELECT $1::int", i, i);
	ck_assert(wait_done(base, &t, 50, 20000));
	ck_assert_int_eq(t.ok, 50);
	/* LISTEN re-established after the restart (the up callback ran again). */
	ck_assert(pgtest_run_while(base, ups_pred, &ls, 15000));
	query_int(p, &t, "SELECT 1 FROM pg_notify('recalld_test', 'after')", 0, 1);
	ck_assert(wait_done(base, &t, 51, 10000));
	ck_assert(pgtest_run_while(base, notes1_pred, &ls, 10000));
	ck_assert_str_eq(ls.payload, "after");
	db_pool_free(p);
	event_base_free(base);
}
END_TEST

static bool
ups1_pred(void *arg)
{
	return ((struct listen_state *)arg)->ups >= 1;
}

START_TEST(test_listen_notify)
{
	struct event_base *base = event_base_new();
	db_pool *p = new_pool(base, conninfo, 1);
	struct listen_state ls = { 0 };
	struct tally t = { 0 };

	db_listen(p, "wake", on_notify, on_up, &ls);
	ck_assert(pgtest_run_while(base, ups1_pred, &ls, 10000));
	query_int(p, &t, "SELECT 1 FROM pg_notify('wake', 'hello')", 0, 1);
	ck_assert(wait_done(base, &t, 1, 10000));
	ck_assert(pgtest_run_while(base, notes1_pred, &ls, 10000));
	ck_assert_str_eq(ls.payload, "hello");
	db_pool_free(p);
	event_base_free(base);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("db");
	TCase *tc = tcase_create("pool");
	int failed;

	log_set_level(LOG_LEVEL_WARN);
	conninfo = pgtest_start();
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_simple_query);
	tcase_add_test(tc, test_thousand_concurrent);
	tcase_add_test(tc, test_sql_error);
	tcase_add_test(tc, test_pipeline_atomic);
	tcase_add_test(tc, test_prepared_reuse);
	tcase_add_test(tc, test_txn);
	tcase_add_test(tc, test_txn_server_lost);
	tcase_add_test(tc, test_txn_queued_server_lost);
	tcase_add_test(tc, test_cancel);
	tcase_add_test(tc, test_unreachable_fails);
	tcase_add_test(tc, test_host_list_first_dead);
	tcase_add_test(tc, test_listen_notify);
	tcase_add_test(tc, test_server_restart);
	suite_add_tcase(s, tc);
	failed = cktest_run(s);
	pgtest_destroy();
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
