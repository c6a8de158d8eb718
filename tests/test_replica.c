/*
 * test_replica.c: database.read_url. A primary and a streaming standby;
 * the daemon reads the mastery grid from the standby while it keeps up,
 * and from the primary once the standby falls further behind than
 * database.max_read_lag (its replay paused), then from the standby again
 * when it has caught up. Which database answered is seen in the answer
 * itself: the class is renamed on the primary while the standby is paused.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "apitest.h"
#include "cktest.h"
#include "pgtest.h"
#include "util.h"

static char admin[128], other[128];
static char standby[512];
static long long class_id;

/* SQL on the standby (read-only statements and replay control). */
static bool
on_standby(const char *sql)
{
	PGconn *pg = PQconnectdb(standby);
	PGresult *res = PQexec(pg, sql);
	bool ok = PQresultStatus(res) == PGRES_TUPLES_OK || PQresultStatus(res) == PGRES_COMMAND_OK;

	PQclear(res);
	PQfinish(pg);
	return ok;
}

/* A metric's value from /metrics (-2 when absent). */
static double
metric(const char *name)
{
	char *raw = NULL, *at, *line = xasprintf("\n%s", name);
	long st;
	double v = -2;

	json_decref(api_call("GET", "/metrics", NULL, NULL, NULL, &st, &raw, NULL));
	if (raw != NULL && (at = strstr(raw, line)) != NULL)
		v = strtod(at + strlen(line), NULL);
	free(raw);
	free(line);
	return v;
}

static double
lag(void)
{
	return metric("recalld_db_read_lag_seconds ");
}

static bool
lag_within(void *arg)
{
	double l = lag();

	(void)arg;
	return l >= 0 && l < 1.0;
}

static bool
lag_beyond(void *arg)
{
	(void)arg;
	return lag() > 2.0;	/* database.max_read_lag */
}

static bool
lag_unknown(void *arg)
{
	(void)arg;
	return lag() < 0;
}

/*
 * GET the grid: the class name is want, as the database db ("replica" or
 * "primary") saw it, and /metrics counts the read against db.
 */
static void
grid_from(const char *db, const char *want)
{
	char *counter = xasprintf("recalld_db_reads_total{db=\"%s\"} ", db);
	double before = metric(counter);
	json_t *b = NULL;

	ck_assert_int_eq(apitest_json("GET", admin, NULL, &b, "/v1/classes/%lld/mastery", class_id), 200);
	ck_assert_str_eq(apitest_jstr(json_object_get(b, "class"), "name"), want);
	json_decref(b);
	ck_assert_double_eq(metric(counter), before + 1);
	free(counter);
}

START_TEST(test_reads_follow_the_lag)
{
	/* The standby keeps up: it answers. */
	ck_assert(apitest_wait(lag_within, NULL, 15000));
	grid_from("replica", "8A Science");

	/* Paused: a change on the primary is not on the standby yet. */
	ck_assert(on_standby("SELECT pg_wal_replay_pause()"));
	ck_assert(apitest_sql_ok("UPDATE class SET name = '8A Science, renamed'"
	    " WHERE school_id = 1 AND class_id = %lld", class_id));
	grid_from("replica", "8A Science");	/* within max_read_lag: stale */

	/* Further behind than max_read_lag: the primary answers, fresh. */
	ck_assert(apitest_wait(lag_beyond, NULL, 15000));
	grid_from("primary", "8A Science, renamed");

	/* Caught up again: back to the standby, which now has the change. */
	ck_assert(on_standby("SELECT pg_wal_replay_resume()"));
	ck_assert(apitest_wait(lag_within, NULL, 15000));
	grid_from("replica", "8A Science, renamed");
}
END_TEST

/* The standby gone: reads fall back to the primary instead of failing. */
START_TEST(test_standby_down_falls_back)
{
	ck_assert(apitest_wait(lag_within, NULL, 15000));
	ck_assert(pgtest_standby_stop());
	ck_assert(apitest_wait(lag_unknown, NULL, 15000));
	grid_from("primary", "8A Science, renamed");
	ck_assert(pgtest_standby_resume());
	ck_assert(apitest_wait(lag_within, NULL, 15000));
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("replica");
	TCase *tc = tcase_create("replica");
	char primary[512];

	snprintf(primary, sizeof primary, "%s", pgtest_start());
	snprintf(standby, sizeof standby, "%s", pgtest_standby());
	apitest_env(primary, "5s");
	setenv("RECALLD_DATABASE_READ_URL", standby, 1);
	setenv("RECALLD_DATABASE_MAX_READ_LAG", "2s", 1);
	setenv("RECALLD_CLOCK_MODE", "manual", 1);
	setenv("RECALLD_CLOCK_START", "2026-09-21T06:00:00Z", 1);
	CKTEST_MUST(apitest_two_schools("A", "B", admin, other, sizeof admin));
	CKTEST_MUST(apitest_import_demo(false));
	apitest_db_open(primary);
	class_id = apitest_sql_int("SELECT class_id FROM class WHERE school_id = 1"
	    " AND external_id = 'class-8a-sci'");
	CKTEST_MUST(class_id > 0);
	if (!apitest_daemon_start()) {
		apitest_daemon_dump_log();
		return EXIT_FAILURE;
	}
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_reads_follow_the_lag);
	tcase_add_test(tc, test_standby_down_falls_back);
	suite_add_tcase(s, tc);
	return apitest_finish(cktest_run(s));	/* the standby goes with pgtest too */
}
