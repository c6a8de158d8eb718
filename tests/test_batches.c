/*
 * test_batches.c: the daily batch job against a real PostgreSQL with the
 * demo school, on the manual clock: school days and prompt time only,
 * taught units only, the daily caps, no back-fill of missed days, no
 * duplicates with two jobs racing, and one prompt.batch delivery a batch.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <libpq-fe.h>

#include "batches.h"
#include "lease.h"
#include "cktest.h"
#include "clock.h"
#include "db.h"
#include "log.h"
#include "migrate.h"
#include "pgtest.h"
#include "util.h"

static char conninfo[512];
static PGconn *pg;

static void
run(const char *cmd)
{
	char *line = xasprintf("RECALLD_DATABASE_URL='%s' '%s' %s >/dev/null", conninfo,
	    getenv("RECALLD") ? getenv("RECALLD") : "./recalld", cmd);
	ck_assert_msg(system(line) == 0, "%s", cmd);
	free(line);
}

/* A fresh database with the demo school; 8A Science has had Cells taught. */
static void
setup(void)
{
	char *cmd;

	snprintf(conninfo, sizeof conninfo, "%s", pgtest_new_db("batches"));
	setenv("RECALLD_DATABASE_MIGRATIONS", pgtest_sql_dir(), 1);
	run("migrate");
	run("school create --name Demo --tz Europe/London");
	cmd = xasprintf("import roster '%s' --school 1", pgtest_srcpath("tests/demo/roster"));
	run(cmd);
	free(cmd);
	cmd = xasprintf("import questions '%s' --school 1", pgtest_srcpath("tests/demo/questions.csv"));
	run(cmd);
	free(cmd);
	pg = pgtest_connect(conninfo);
	pgtest_exec(pg, "INSERT INTO taught (school_id, class_id, unit_id, taught_on, updated_at)"
	    " SELECT 1, k.class_id, u.unit_id, '2026-09-18', now() FROM class k, unit u"
	    " WHERE k.external_id = 'class-8a-sci' AND u.external_id = 'sci-cells'");
	pgtest_exec(pg, "INSERT INTO endpoint (school_id, url, secret, created_at)"
	    " VALUES (1, 'http://127.0.0.1:9/hook', 'whsec_MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIz', now())");
}

static void
teardown(void)
{
	PQfinish(pg);
	pg = NULL;
}

struct job {
	db_pool *db;
	lease_keeper *leases;	/* each job its own, as each daemon has */
	batches *b;
};

static struct job *jobs[2];

static void
job_start(struct job *j, struct event_base *base)
{
	struct db_pool_opts o = { conninfo, 2, 2000, 5000 };

	memset(j, 0, sizeof *j);
	jobs[jobs[0] == NULL ? 0 : 1] = j;
	j->db = db_pool_new(base, &o);
	j->leases = lease_keeper_new(2000);
	j->b = batches_new(&(struct batches_spec){ .base = base, .db = j->db, .leases = j->leases,
	    .interval_ms = 3600 * 1000, .chunk = 7 });	/* small chunks */
}

static void
job_free(struct job *j)
{
	for (int i = 0; i < 2; i++)
		if (jobs[i] == j)
			jobs[i] = NULL;
	batches_free(j->b);
	db_pool_free(j->db);
	lease_keeper_free(j->leases);
}

static bool
idle(void *arg)
{
	for (int i = 0; i < 2; i++)
		if (jobs[i] != NULL && batches_busy(jobs[i]->b))
			return false;
	return true;
}

/* Set the clock (UTC) and let the job(s) run until they are idle again. */
static void
at(struct event_base *base, const char *iso)
{
	int64_t us;

	ck_assert(clock_parse_iso(iso, &us));
	ck_assert(clock_set(us));
	event_base_loop(base, EVLOOP_NONBLOCK);	/* the kick starts the run */
	ck_assert(pgtest_run_while(base, idle, NULL, 30000));
}

START_TEST(test_school_days_and_prompt_time)
{
	struct event_base *base = event_base_new();
	struct job j;

	job_start(&j, base);
	at(base, "2026-09-21T14:00:00Z");	/* Monday 15:00 in London: before 16:00 */
	ck_assert_int_eq(pgtest_int(pg, "SELECT count(*) FROM batch"), 0);
	at(base, "2026-09-21T15:30:00Z");	/* 16:30 */
	/* every pupil of 8A Science (30), nobody else: nothing else is taught */
	ck_assert_int_eq(pgtest_int(pg, "SELECT count(*) FROM batch WHERE local_date = '2026-09-21'"), 30);
	ck_assert_int_eq(pgtest_int(pg, "SELECT count(*) FROM batch b WHERE NOT EXISTS (SELECT 1 FROM"
	    " class_pupil cp JOIN class k USING (school_id, class_id) WHERE cp.pupil_id = b.pupil_id"
	    " AND k.external_id = 'class-8a-sci')"), 0);
	/* first retrievals only: new_per_day (2), topped up to min_per_day (3) with more */
	ck_assert_int_eq(pgtest_int(pg, "SELECT max(n) FROM (SELECT count(*) n FROM prompt GROUP BY batch_id) x"), 3);
	ck_assert_int_eq(pgtest_int(pg, "SELECT min(n) FROM (SELECT count(*) n FROM prompt GROUP BY batch_id) x"), 3);
	ck_assert_int_eq(pgtest_int(pg, "SELECT count(*) FROM prompt p JOIN question q USING (school_id, question_id)"
	    " JOIN unit u USING (school_id, unit_id) WHERE u.external_id <> 'sci-cells'"), 0);
	/* prompts expire at the end of the local day */
	ck_assert_int_eq(pgtest_int(pg, "SELECT count(*) FROM prompt WHERE expires_at <> '2026-09-21 23:00:00+00'"), 0);
	/* one prompt.batch delivery a batch, carrying its prompts */
	ck_assert_int_eq(pgtest_int(pg, "SELECT count(*) FROM delivery WHERE event_type = 'prompt.batch'"), 30);
	ck_assert_int_eq(pgtest_int(pg, "SELECT count(*) FROM delivery WHERE payload::jsonb #>> '{data,prompts,0,prompt_id}' IS NULL"), 0);
	/* the same day again builds nothing more */
	at(base, "2026-09-21T18:00:00Z");
	ck_assert_int_eq(pgtest_int(pg, "SELECT count(*) FROM batch"), 30);
	/* Saturday: no school */
	at(base, "2026-09-26T16:00:00Z");
	ck_assert_int_eq(pgtest_int(pg, "SELECT count(*) FROM batch WHERE local_date = '2026-09-26'"), 0);
	job_free(&j);
	event_base_free(base);
}
END_TEST

START_TEST(test_holiday_and_no_backfill)
{
	struct event_base *base = event_base_new();
	struct job j;

	pgtest_exec(pg, "INSERT INTO school_calendar (school_id, day, kind, name) VALUES (1, '2026-09-22', 'training', 'INSET')");
	job_start(&j, base);
	at(base, "2026-09-21T07:00:00Z");	/* Monday morning: nothing yet */
	ck_assert_int_eq(pgtest_int(pg, "SELECT count(*) FROM batch"), 0);
	at(base, "2026-09-22T16:00:00Z");	/* the INSET day */
	ck_assert_int_eq(pgtest_int(pg, "SELECT count(*) FROM batch"), 0);
	at(base, "2026-09-24T16:00:00Z");	/* Thursday: Monday and Wednesday were missed */
	ck_assert_int_eq(pgtest_int(pg, "SELECT count(*) FROM batch WHERE local_date <> '2026-09-24'"), 0);
	ck_assert_int_eq(pgtest_int(pg, "SELECT count(*) FROM batch WHERE local_date = '2026-09-24'"), 30);
	job_free(&j);
	event_base_free(base);
}
END_TEST

START_TEST(test_two_jobs_no_duplicates)
{
	struct event_base *base = event_base_new();
	struct job a, b;

	pgtest_exec(pg, "UPDATE school SET max_per_day = 3, new_per_day = 3");
	job_start(&a, base);
	job_start(&b, base);
	at(base, "2026-09-21T15:30:00Z");
	ck_assert_int_eq(pgtest_int(pg, "SELECT count(*) FROM batch"), 30);
	ck_assert_int_eq(pgtest_int(pg, "SELECT count(DISTINCT pupil_id) FROM batch"), 30);
	ck_assert_int_eq(pgtest_int(pg, "SELECT count(*) FROM delivery"), 30);
	ck_assert_int_eq(pgtest_int(pg, "SELECT max(n) FROM (SELECT count(*) n FROM prompt GROUP BY batch_id) x"), 3);
	job_free(&a);
	job_free(&b);
	event_base_free(base);
}
END_TEST

START_TEST(test_due_reviews_first)
{
	struct event_base *base = event_base_new();
	struct job j;

	/* every pupil has reviewed the unit's first 4 questions; all due today */
	pgtest_exec(pg, "INSERT INTO memory_state (school_id, pupil_id, question_id, stability, difficulty,"
	    " reps, lapses, last_review, last_review_day, due_day)"
	    " SELECT 1, cp.pupil_id, q.question_id, 2 + q.question_id % 3, 5, 1, 0,"
	    " '2026-09-19', '2026-09-19', '2026-09-21'"
	    " FROM class_pupil cp JOIN class k USING (school_id, class_id)"
	    " JOIN question q ON q.school_id = 1 JOIN unit u ON u.school_id = 1 AND u.unit_id = q.unit_id"
	    " WHERE k.external_id = 'class-8a-sci' AND u.external_id = 'sci-cells'"
	    " AND q.question_id IN (SELECT question_id FROM question WHERE unit_id = u.unit_id"
	    "   ORDER BY question_id LIMIT 4)");
	job_start(&j, base);
	at(base, "2026-09-21T15:30:00Z");
	/* 4 due + 1 new = max_per_day 5 */
	ck_assert_int_eq(pgtest_int(pg, "SELECT min(n) FROM (SELECT count(*) n FROM prompt GROUP BY batch_id) x"), 5);
	ck_assert_int_eq(pgtest_int(pg, "SELECT count(*) FROM prompt p WHERE NOT EXISTS (SELECT 1 FROM memory_state m"
	    " WHERE m.school_id = 1 AND m.pupil_id = p.pupil_id AND m.question_id = p.question_id)"), 30);
	job_free(&j);
	event_base_free(base);
}
END_TEST

/*
 * A clock move builds the day's batches at once even while another
 * transaction holds a key-share lock on the school's row (any insert of a
 * row that references the school takes one, as the flag job's does): the
 * claim must not skip the school and leave it to the next interval (an
 * hour here).
 */
START_TEST(test_claim_not_skipped_under_key_share)
{
	struct event_base *base = event_base_new();
	PGconn *other = PQconnectdb(conninfo);
	struct job j;

	ck_assert(PQstatus(other) == CONNECTION_OK);
	PQclear(PQexec(other, "BEGIN"));
	PQclear(PQexec(other, "SELECT 1 FROM school WHERE school_id = 1 FOR KEY SHARE"));
	job_start(&j, base);
	at(base, "2026-09-21T15:30:00Z");
	ck_assert_int_eq(pgtest_int(pg, "SELECT count(*) FROM batch WHERE local_date = '2026-09-21'"), 30);
	PQclear(PQexec(other, "COMMIT"));
	PQfinish(other);
	job_free(&j);
	event_base_free(base);
}
END_TEST

static bool
never(void *arg)
{
	return false;
}

static bool
built(void *arg)
{
	return pgtest_int(pg, "SELECT count(*) FROM school WHERE batches_done_for IS NOT NULL") == 1;
}

/* What the lease functions refuse, SQLSTATE included ("" when accepted). */
static const char *
lease_sql(const char *sql, char state[6])
{
	PGresult *res = PQexec(pg, sql);
	const char *st = PQresultErrorField(res, PG_DIAG_SQLSTATE);

	snprintf(state, 6, "%s", st != NULL ? st : "");
	PQclear(res);
	return state;
}

/*
 * A daemon died holding a school's lease: the school waits for the lease
 * to lapse (real time, whatever the manual clock says), then another
 * daemon builds it, once. A holder renews only its own lease.
 */
START_TEST(test_dead_daemons_lease_lapses)
{
	struct event_base *base = event_base_new();
	struct job j;
	char st[6];

	pgtest_exec(pg, "INSERT INTO job_lease (school_id, job, holder, until)"
	    " VALUES (1, 'batches', 'gone:1:000000', clock_timestamp() + interval '2 s')");
	/* the lease functions: held by another, a take fails and a renewal raises */
	ck_assert_int_eq(pgtest_int(pg, "SELECT recalld_lease_take(1, 'batches', 'me:2:aa', 1000)::int"), 0);
	ck_assert_str_eq(lease_sql("SELECT recalld_lease_renew(1, 'batches', 'me:2:aa', 1000)", st),
	    LEASE_LOST);
	ck_assert_str_eq(lease_sql("SELECT recalld_lease_renew(1, 'batches', 'gone:1:000000', 2000)", st),
	    "");
	job_start(&j, base);
	at(base, "2026-09-21T15:30:00Z");
	ck_assert_int_eq(pgtest_int(pg, "SELECT count(*) FROM batch"), 0);
	pgtest_run_while(base, never, NULL, 1000);	/* real time passes; the clock stands */
	ck_assert_int_eq(pgtest_int(pg, "SELECT count(*) FROM batch"), 0);
	/* No kick and no interval (an hour): the job looks again when the lease lapses. */
	ck_assert(pgtest_run_while(base, built, NULL, 10000));
	ck_assert(pgtest_run_while(base, idle, NULL, 30000));
	ck_assert_int_eq(pgtest_int(pg, "SELECT count(*) FROM batch WHERE local_date = '2026-09-21'"), 30);
	/* released when done */
	ck_assert_int_eq(pgtest_int(pg, "SELECT count(*) FROM job_lease"), 0);
	job_free(&j);
	event_base_free(base);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("batches");
	TCase *tc = tcase_create("batches");
	int failed;

	log_set_level(LOG_LEVEL_WARN);
	pgtest_start();
	clock_set_manual(INT64_C(1788674400) * 1000000);	/* 2026-09-06, a Sunday */
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_school_days_and_prompt_time);
	tcase_add_test(tc, test_holiday_and_no_backfill);
	tcase_add_test(tc, test_two_jobs_no_duplicates);
	tcase_add_test(tc, test_due_reviews_first);
	tcase_add_test(tc, test_claim_not_skipped_under_key_share);
	tcase_add_test(tc, test_dead_daemons_lease_lapses);
	suite_add_tcase(s, tc);
	failed = cktest_run(s);	/* forked: each test starts from the same clock */
	pgtest_destroy();
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
