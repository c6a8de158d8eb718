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
static char primary_dir[256], standby_dir[300], standby[512];
static long long class_id;

static bool
harness(const char *cmd, const char *dir, const char *arg)
{
	char *line = xasprintf("sh '%s' %s '%s' %s%s%s >/dev/null", pgtest_srcpath("tests/pg-harness.sh"),
	    cmd, dir, arg ? "'" : "", arg ? arg : "", arg ? "'" : "");
	bool ok = system(line) == 0;

	free(line);
	return ok;
}

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

static bool
lag_within(void *arg)
{
	double lag = metric("recalld_db_read_lag_seconds ");

	(void)arg;
	return lag >= 0 && lag < 1.0;
}

static bool
lag_beyond(void *arg)
{
	(void)arg;
	return metric("recalld_db_read_lag_seconds ") > 2.0;	/* database.max_read_lag */
}

/* The grid's class name, as whichever database answered saw it. */
static char *
grid_class_name(void)
{
	json_t *b = NULL;
	char *name;

	ck_assert_int_eq(apitest_json("GET", admin, NULL, &b, "/v1/classes/%lld/mastery", class_id), 200);
	name = xstrdup(apitest_jstr(json_object_get(b, "class"), "name"));
	json_decref(b);
	return name;
}

START_TEST(test_reads_follow_the_lag)
{
	double to_replica, to_primary;
	char *name;

	/* The standby keeps up: it answers. */
	ck_assert(apitest_wait(lag_within, NULL, 15000));
	to_replica = metric("recalld_db_reads_total{db=\"replica\"} ");
	name = grid_class_name();
	ck_assert_str_eq(name, "8A Science");
	free(name);
	ck_assert_double_eq(metric("recalld_db_reads_total{db=\"replica\"} "), to_replica + 1);

	/* Paused: a change on the primary is not on the standby yet. */
	ck_assert(on_standby("SELECT pg_wal_replay_pause()"));
	ck_assert(apitest_sql_ok("UPDATE class SET name = '8A Science, renamed'"
	    " WHERE school_id = 1 AND class_id = %lld", class_id));
	name = grid_class_name();	/* within max_read_lag: the standby's, stale */
	ck_assert_str_eq(name, "8A Science");
	free(name);

	/* Further behind than max_read_lag: the primary answers, fresh. */
	ck_assert(apitest_wait(lag_beyond, NULL, 15000));
	to_primary = metric("recalld_db_reads_total{db=\"primary\"} ");
	name = grid_class_name();
	ck_assert_str_eq(name, "8A Science, renamed");
	free(name);
	ck_assert_double_eq(metric("recalld_db_reads_total{db=\"primary\"} "), to_primary + 1);

	/* Caught up again: back to the standby, which now has the change. */
	ck_assert(on_standby("SELECT pg_wal_replay_resume()"));
	ck_assert(apitest_wait(lag_within, NULL, 15000));
	to_replica = metric("recalld_db_reads_total{db=\"replica\"} ");
	name = grid_class_name();
	ck_assert_str_eq(name, "8A Science, renamed");
	free(name);
	ck_assert_double_eq(metric("recalld_db_reads_total{db=\"replica\"} "), to_replica + 1);
}
END_TEST

/* The standby gone: reads fall back to the primary instead of failing. */
START_TEST(test_standby_down_falls_back)
{
	char *name;

	ck_assert(apitest_wait(lag_within, NULL, 15000));
	ck_assert(harness("stop", standby_dir, NULL));
	{
		bool gone = false;

		for (int i = 0; i < 300 && !gone; i++) {
			gone = metric("recalld_db_read_lag_seconds ") < 0;
			if (!gone)
				usleep(50 * 1000);
		}
		ck_assert(gone);
	}
	name = grid_class_name();
	ck_assert_str_eq(name, "8A Science, renamed");
	free(name);
	ck_assert(harness("resume", standby_dir, NULL));
	ck_assert(apitest_wait(lag_within, NULL, 15000));
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("replica");
	TCase *tc = tcase_create("replica");
	char primary[512], *tmp;
	const char *h, *e;
	int failed;

	snprintf(primary, sizeof primary, "%s", pgtest_start());
	h = strstr(primary, "host=") + strlen("host=");
	e = strchr(h, ' ');
	snprintf(primary_dir, sizeof primary_dir, "%.*s", (int)(e - h), h);
	tmp = getenv("TMPDIR");
	snprintf(standby_dir, sizeof standby_dir, "%s/recalld-standby.XXXXXX",
	    tmp && *tmp ? tmp : "/tmp");
	CKTEST_MUST(mkdtemp(standby_dir) != NULL);
	CKTEST_MUST(harness("standby", standby_dir, primary_dir));
	snprintf(standby, sizeof standby, "host=%s port=5432 user=postgres dbname=recalld",
	    standby_dir);
	apitest_env(primary, "5s");
	setenv("RECALLD_DATABASE_READ_URL", standby, 1);
	setenv("RECALLD_DATABASE_MAX_READ_LAG", "2s", 1);
	setenv("RECALLD_CLOCK_MODE", "manual", 1);
	setenv("RECALLD_CLOCK_START", "2026-09-21T06:00:00Z", 1);
	CKTEST_MUST(apitest_two_schools("A", "B", admin, other, sizeof admin));
	CKTEST_MUST(0 == apitest_recalld(NULL, "import", "roster", pgtest_srcpath("tests/demo/roster"),
	    "--school", "1", (char *)NULL));
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
	failed = apitest_finish(cktest_run(s));
	harness("destroy", standby_dir, NULL);
	return failed;
}
