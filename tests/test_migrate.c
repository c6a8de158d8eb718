/* test_migrate.c: migrations on a real PostgreSQL: twice, concurrently, edited. */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>
#include <libpq-fe.h>

#include "cktest.h"
#include "log.h"
#include "migrate.h"
#include "pgtest.h"
#include "settings.h"
#include "util.h"

/* A private copy of sql/ that a test may edit. */
static char *
copy_sql(void)
{
	char *dir = pgtest_tmp_dir("sql"), *cmd;

	cmd = xasprintf("cp '%s'/*.sql '%s'/", pgtest_sql_dir(), dir);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	return dir;
}

START_TEST(test_apply_twice)
{
	const char *ci = pgtest_new_db("m_twice");
	char err[1024];
	migrate_set *s = migrate_load(pgtest_sql_dir(), err, sizeof err);
	PGconn *pg;
	enum migrate_verdict v;
	int pending = -1;

	ck_assert_msg(s != NULL, "%s", err);
	pg = pgtest_connect(ci);
	ck_assert(migrate_check(pg, s, &v, &pending, err, sizeof err));
	ck_assert_int_eq(v, MIGRATE_BEHIND);
	ck_assert_int_eq(pending, migrate_count(s));
	ck_assert_msg(migrate_apply(pg, s, NULL, err, sizeof err), "%s", err);
	ck_assert(migrate_check(pg, s, &v, &pending, err, sizeof err));
	ck_assert_int_eq(v, MIGRATE_CURRENT);
	ck_assert_int_eq(pending, 0);
	ck_assert_msg(migrate_apply(pg, s, NULL, err, sizeof err), "%s", err);
	ck_assert_int_eq(pgtest_int(pg, "SELECT count(*) FROM schema_migrations"),
	    migrate_count(s));
	PQfinish(pg);
	migrate_set_free(s);
}
END_TEST

/* The migrations built into recalld are the source tree's, byte for byte. */
START_TEST(test_embedded_are_the_files)
{
	const char *ci = pgtest_new_db("m_embedded");
	char err[1024];
	migrate_set *files = migrate_load(pgtest_sql_dir(), err, sizeof err), *built;
	PGconn *pg;
	enum migrate_verdict v;

	ck_assert_msg(files != NULL, "%s", err);
	built = migrate_load("", err, sizeof err);
	ck_assert_msg(built != NULL, "%s", err);
	ck_assert_str_eq(migrate_source(built), "the migrations built into recalld");
	ck_assert_int_eq(migrate_count(built), migrate_count(files));
	pg = pgtest_connect(ci);
	ck_assert_msg(migrate_apply(pg, files, NULL, err, sizeof err), "%s", err);
	ck_assert(migrate_check(pg, built, &v, NULL, err, sizeof err));
	ck_assert_msg(v == MIGRATE_CURRENT, "%s", err);
	PQfinish(pg);
	migrate_set_free(files);
	migrate_set_free(built);
}
END_TEST

START_TEST(test_apply_concurrently)
{
	const char *ci = pgtest_new_db("m_concurrent");
	char cis[512], err[1024];
	migrate_set *s = migrate_load(pgtest_sql_dir(), err, sizeof err);
	pid_t pids[6];
	PGconn *pg;

	ck_assert_msg(s != NULL, "%s", err);
	snprintf(cis, sizeof cis, "%s", ci);
	for (int i = 0; i < 6; i++) {
		pids[i] = fork();
		ck_assert(pids[i] >= 0);
		if (pids[i] == 0) {
			PGconn *c = PQconnectdb(cis);
			bool ok = PQstatus(c) == CONNECTION_OK &&
			    migrate_apply(c, s, NULL, err, sizeof err);
			if (!ok)
				fprintf(stderr, "child %d: %s\n", i, err);
			PQfinish(c);
			_exit(ok ? 0 : 1);
		}
	}
	for (int i = 0; i < 6; i++) {
		int st;
		ck_assert(waitpid(pids[i], &st, 0) == pids[i]);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "migrator %d failed", i);
	}
	pg = pgtest_connect(cis);
	ck_assert_int_eq(pgtest_int(pg, "SELECT count(*) FROM schema_migrations"),
	    migrate_count(s));
	PQfinish(pg);
	migrate_set_free(s);
}
END_TEST

START_TEST(test_changed_checksum)
{
	const char *ci = pgtest_new_db("m_changed");
	char *dir = copy_sql(), err[1024];
	migrate_set *s = migrate_load(dir, err, sizeof err);
	PGconn *pg = pgtest_connect(ci);
	enum migrate_verdict v;

	ck_assert_msg(migrate_apply(pg, s, NULL, err, sizeof err), "%s", err);
	migrate_set_free(s);
	/* Someone edits an applied migration. */
	pgtest_write_file(dir, "0001_init.sql", "CREATE TABLE school (school_id bigint PRIMARY KEY);\n");
	s = migrate_load(dir, err, sizeof err);
	ck_assert(s != NULL);
	ck_assert(!migrate_apply(pg, s, NULL, err, sizeof err));
	ck_assert_msg(strstr(err, "0001_init.sql changed") != NULL, "%s", err);
	ck_assert(migrate_check(pg, s, &v, NULL, err, sizeof err));
	ck_assert_int_eq(v, MIGRATE_CHANGED);
	PQfinish(pg);
	migrate_set_free(s);
	pgtest_rm_dir(dir);
}
END_TEST

START_TEST(test_behind_ahead_and_broken)
{
	const char *ci = pgtest_new_db("m_behind");
	char *dir = copy_sql(), err[1024];
	migrate_set *s = migrate_load(dir, err, sizeof err), *fewer;
	PGconn *pg = pgtest_connect(ci);
	enum migrate_verdict v;
	int pending;

	ck_assert_msg(migrate_apply(pg, s, NULL, err, sizeof err), "%s", err);
	migrate_set_free(s);

	/* A new file: behind by one, and `serve` would say to migrate. */
	pgtest_write_file(dir, "9000_extra.sql", "CREATE TABLE extra (x int);\n");
	s = migrate_load(dir, err, sizeof err);
	ck_assert(migrate_check(pg, s, &v, &pending, err, sizeof err));
	ck_assert_int_eq(v, MIGRATE_BEHIND);
	ck_assert_int_eq(pending, 1);
	ck_assert(strstr(err, "recalld migrate") != NULL);
	migrate_set_free(s);

	/* A broken file changes nothing and is not recorded. */
	pgtest_write_file(dir, "9001_broken.sql",
	    "CREATE TABLE half (x int);\nTHIS IS NOT SQL;\n");
	s = migrate_load(dir, err, sizeof err);
	ck_assert(!migrate_apply(pg, s, NULL, err, sizeof err));
	ck_assert_msg(strstr(err, "9001_broken.sql") != NULL, "%s", err);
	ck_assert_int_eq(pgtest_int(pg, "SELECT count(*) FROM pg_tables WHERE tablename = 'half'"), 0);
	ck_assert_int_eq(pgtest_int(pg, "SELECT count(*) FROM schema_migrations WHERE version = 9001"), 0);
	/* The good one before it did land, in its own transaction. */
	ck_assert_int_eq(pgtest_int(pg, "SELECT count(*) FROM schema_migrations WHERE version = 9000"), 1);
	migrate_set_free(s);

	/* An older binary that does not know 9000: the database is ahead. */
	fewer = migrate_load(pgtest_sql_dir(), err, sizeof err);
	ck_assert(migrate_check(pg, fewer, &v, NULL, err, sizeof err));
	ck_assert_int_eq(v, MIGRATE_AHEAD);
	migrate_set_free(fewer);
	PQfinish(pg);
	pgtest_rm_dir(dir);
}
END_TEST

/* 0007: an answer's result moves from its prompt to its review, kept. */
START_TEST(test_answer_result_moves)
{
	const char *ci = pgtest_new_db("m_result");
	char *dir = copy_sql(), err[1024], *cmd;
	migrate_set *s;
	PGconn *pg = pgtest_connect(ci);
	PGresult *res;

	cmd = xasprintf("rm '%s'/0007_*.sql", dir);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	s = migrate_load(dir, err, sizeof err);
	ck_assert_msg(migrate_apply(pg, s, NULL, err, sizeof err), "%s", err);
	migrate_set_free(s);
	res = PQexec(pg,
	    "INSERT INTO school (school_id, name) VALUES (1, 'S');"
	    "INSERT INTO course (school_id, course_id, external_id, name, updated_at)"
	    " VALUES (1, 1, 'c', 'C', now());"
	    "INSERT INTO unit (school_id, unit_id, course_id, external_id, name, updated_at)"
	    " VALUES (1, 1, 1, 'u', 'U', now());"
	    "INSERT INTO question (school_id, question_id, unit_id, external_id, kind, prompt,"
	    " accepted_answers, updated_at) VALUES (1, 1, 1, 'q', 'short', 'Q?', '[\"a\"]', now());"
	    "INSERT INTO pupil (school_id, pupil_id, external_id, updated_at) VALUES (1, 1, 'p', now());"
	    "INSERT INTO batch (school_id, batch_id, pupil_id, local_date, created_at)"
	    " VALUES (1, 1, 1, '2026-09-21', now());"
	    "INSERT INTO prompt (school_id, prompt_id, batch_id, pupil_id, question_id,"
	    " question_version, position, expires_at, answered_at, result) VALUES"
	    " (1, 1, 1, 1, 1, 1, 1, '2026-09-22', '2026-09-21 10:00Z', '{\"correct\": true}'),"
	    " (1, 2, 1, 1, 1, 1, 2, '2026-09-22', NULL, NULL);"
	    "INSERT INTO review (school_id, pupil_id, question_id, prompt_id, reviewed_at, rating,"
	    " correct, elapsed_days, retrievability, stability, difficulty)"
	    " VALUES (1, 1, 1, 1, '2026-09-21 10:00Z', 3, true, 0, 0, 1, 5);");
	ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK, "%s", PQerrorMessage(pg));
	PQclear(res);

	s = migrate_load(pgtest_sql_dir(), err, sizeof err);
	ck_assert_msg(migrate_apply(pg, s, NULL, err, sizeof err), "%s", err);
	migrate_set_free(s);
	ck_assert_int_eq(pgtest_int(pg, "SELECT count(*) FROM review"
	    " WHERE prompt_id = 1 AND result = '{\"correct\": true}'"), 1);
	ck_assert_int_eq(pgtest_int(pg, "SELECT count(*) FROM information_schema.columns"
	    " WHERE table_name = 'prompt' AND column_name = 'result'"), 0);
	ck_assert_int_eq(pgtest_int(pg, "SELECT count(*) FROM prompt WHERE answered_at IS NOT NULL"), 1);
	PQfinish(pg);
	pgtest_rm_dir(dir);
}
END_TEST

static bool
update_ok(PGconn *pg, const char *column, double v)
{
	char *sql = xasprintf("UPDATE school SET %s = %.17g WHERE school_id = 1", column, v);
	PGresult *res = PQexec(pg, sql);
	bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;

	PQclear(res);
	free(sql);
	return ok;
}

/* The school table's CHECKs take what settings.h (the API, the reader) takes, and no more. */
START_TEST(test_settings_bounds)
{
	static const struct {
		const char *column;
		double lo, hi, step;	/* step: just outside */
	} b[] = {
		{ "max_per_day", SETTINGS_PER_DAY_MIN, SETTINGS_PER_DAY_MAX, 1 },
		{ "new_per_day", SETTINGS_PER_DAY_MIN, SETTINGS_PER_DAY_MAX, 1 },
		{ "desired_retention", SETTINGS_RETENTION_MIN, SETTINGS_RETENTION_MAX, 0.001 },
		{ "max_interval_days", SETTINGS_INTERVAL_MIN, SETTINGS_INTERVAL_MAX, 1 },
		{ "first_retrieval_delay_days", SETTINGS_DELAY_MIN, SETTINGS_DELAY_MAX, 1 },
		{ "mastery_min_coverage", SETTINGS_SHARE_MIN, SETTINGS_SHARE_MAX, 0.001 },
		{ "mastery_developing_recall", SETTINGS_SHARE_MIN, SETTINGS_SHARE_MAX, 0.001 },
		{ "mastery_secure_recall", SETTINGS_SHARE_MIN, SETTINGS_SHARE_MAX, 0.001 },
		{ "mastery_secure_share", SETTINGS_SHARE_MIN, SETTINGS_SHARE_MAX, 0.001 },
		{ "mastery_stability_days", SETTINGS_STABILITY_MIN, SETTINGS_STABILITY_MAX, 0.001 },
		{ "mastery_durable_share", SETTINGS_SHARE_MIN, SETTINGS_SHARE_MAX, 0.001 },
		{ "flag_recall", SETTINGS_SHARE_MIN, SETTINGS_SHARE_MAX, 0.001 },
		{ "flag_fallen_share", SETTINGS_SHARE_MIN, SETTINGS_SHARE_MAX, 0.001 },
		{ "flag_horizon_days", SETTINGS_HORIZON_MIN, SETTINGS_HORIZON_MAX, 1 },
		{ "flag_unanswered_share", SETTINGS_SHARE_MIN, SETTINGS_SHARE_MAX, 0.001 },
		{ "flag_unanswered_days", SETTINGS_HORIZON_MIN, SETTINGS_HORIZON_MAX, 1 },
		{ "mastery_evidence_days", SETTINGS_EVIDENCE_MIN, SETTINGS_EVIDENCE_MAX, 1 },
		{ "min_per_day", SETTINGS_PER_DAY_MIN, SETTINGS_PER_DAY_MAX, 1 },
		{ "digest_weekday", SETTINGS_WEEKDAY_MIN, SETTINGS_WEEKDAY_MAX, 1 },
	};
	const char *ci = pgtest_new_db("m_bounds");
	char err[1024];
	migrate_set *s = migrate_load(pgtest_sql_dir(), err, sizeof err);
	PGconn *pg = pgtest_connect(ci);
	PGresult *res;

	ck_assert_msg(s != NULL, "%s", err);
	ck_assert_msg(migrate_apply(pg, s, NULL, err, sizeof err), "%s", err);
	migrate_set_free(s);
	res = PQexec(pg, "INSERT INTO school (school_id, name) VALUES (1, 'S')");
	ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK, "%s", PQerrorMessage(pg));
	PQclear(res);
	for (size_t i = 0; i < nitems(b); i++) {
		ck_assert_msg(update_ok(pg, b[i].column, b[i].lo), "%s = %g", b[i].column, b[i].lo);
		ck_assert_msg(update_ok(pg, b[i].column, b[i].hi), "%s = %g", b[i].column, b[i].hi);
		ck_assert_msg(!update_ok(pg, b[i].column, b[i].lo - b[i].step), "%s below", b[i].column);
		ck_assert_msg(!update_ok(pg, b[i].column, b[i].hi + b[i].step), "%s above", b[i].column);
	}
	PQfinish(pg);
}
END_TEST

/* 0008: a school outside the new bounds stops it, named, and nothing changes. */
START_TEST(test_settings_bounds_refused)
{
	const char *ci = pgtest_new_db("m_bounds_bad");
	char *dir = copy_sql(), err[1024], *cmd;
	migrate_set *s;
	PGconn *pg = pgtest_connect(ci);
	PGresult *res;

	cmd = xasprintf("rm '%s'/0008_*.sql", dir);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	s = migrate_load(dir, err, sizeof err);
	ck_assert_msg(migrate_apply(pg, s, NULL, err, sizeof err), "%s", err);
	migrate_set_free(s);
	res = PQexec(pg, "INSERT INTO school (school_id, name, desired_retention) VALUES"
	    " (1, 'A', 0.9), (2, 'B', 0.6)");
	ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK, "%s", PQerrorMessage(pg));
	PQclear(res);

	s = migrate_load(pgtest_sql_dir(), err, sizeof err);
	ck_assert(!migrate_apply(pg, s, NULL, err, sizeof err));
	ck_assert_msg(strstr(err, "school 2: desired_retention is 0.6, outside [0.7, 0.99]") != NULL,
	    "%s", err);
	ck_assert_int_eq(pgtest_int(pg, "SELECT count(*) FROM schema_migrations WHERE version = 8"), 0);
	ck_assert_int_eq(pgtest_int(pg, "SELECT count(*) FROM school WHERE desired_retention = 0.6"), 1);
	/* the admin sets it within bounds: the migration goes through */
	PQclear(PQexec(pg, "UPDATE school SET desired_retention = 0.7 WHERE school_id = 2"));
	ck_assert_msg(migrate_apply(pg, s, NULL, err, sizeof err), "%s", err);
	migrate_set_free(s);
	PQfinish(pg);
	pgtest_rm_dir(dir);
}
END_TEST

START_TEST(test_bad_directory)
{
	char err[512];
	char *dir = copy_sql();

	ck_assert(migrate_load("/nonexistent/dir", err, sizeof err) == NULL);
	ck_assert(strstr(err, "/nonexistent/dir") != NULL);
	pgtest_write_file(dir, "0001_dupe.sql", "SELECT 1;\n");
	ck_assert(migrate_load(dir, err, sizeof err) == NULL);
	ck_assert_msg(strstr(err, "two migrations with version 0001") != NULL, "%s", err);
	pgtest_rm_dir(dir);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("migrate");
	TCase *tc = tcase_create("migrate");
	int failed;

	log_set_level(LOG_LEVEL_WARN);
	pgtest_start();
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_apply_twice);
	tcase_add_test(tc, test_apply_concurrently);
	tcase_add_test(tc, test_embedded_are_the_files);
	tcase_add_test(tc, test_changed_checksum);
	tcase_add_test(tc, test_behind_ahead_and_broken);
	tcase_add_test(tc, test_answer_result_moves);
	tcase_add_test(tc, test_settings_bounds);
	tcase_add_test(tc, test_settings_bounds_refused);
	tcase_add_test(tc, test_bad_directory);
	suite_add_tcase(s, tc);
	failed = cktest_run(s);
	pgtest_destroy();
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
