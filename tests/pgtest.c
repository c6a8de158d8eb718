/* pgtest.c: start and drive the throwaway PostgreSQL of a test program. */
#include "autoconf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <libpq-fe.h>

#include "migrate.h"
#include "pgtest.h"
#include "util.h"

static char pg_dir[256];
static char pg_conninfo[512];
static char pg_scratch[512];
static char standby_dir[256];	/* pgtest_standby's, or "" */
static char standby_conninfo[512];
static char both_conninfo[1024];

const char *
pgtest_srcpath(const char *rel)
{
	static char path[1024];
	const char *srcdir = getenv("srcdir");

	snprintf(path, sizeof path, "%s/%s", srcdir ? srcdir : ".", rel);
	return path;
}

const char *
pgtest_sql_dir(void)
{
	static char path[1024];
	const char *d = getenv("RECALLD_SQL");

	snprintf(path, sizeof path, "%s", d != NULL ? d : pgtest_srcpath("sql"));
	return path;
}

/* tests/pg-harness.sh CMD DIR [ARG], its output dropped; whether it worked. */
static bool
harness_in(const char *cmd, const char *dir, const char *arg)
{
	char *script = xstrdup(pgtest_srcpath("tests/pg-harness.sh"));
	char *line = xasprintf("sh '%s' %s '%s' %s%s%s >/dev/null", script, cmd, dir,
	    arg ? "'" : "", arg ? arg : "", arg ? "'" : "");
	bool ok = system(line) == 0;

	free(line);
	free(script);
	return ok;
}

static void
harness(const char *cmd)
{
	if (!harness_in(cmd, pg_dir, NULL)) {
		fprintf(stderr, "pgtest: pg-harness.sh %s failed\n", cmd);
		exit(1);
	}
}

/* A fresh directory for a cluster under $TMPDIR, into dir; exits on failure. */
static void
new_dir(char *dir, size_t len, const char *what)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, len, "%s/recalld-%s.XXXXXX", tmp && *tmp ? tmp : "/tmp", what);
	if (mkdtemp(dir) == NULL) {
		perror("pgtest: mkdtemp");
		exit(1);
	}
}

const char *
pgtest_standby(void)
{
	new_dir(standby_dir, sizeof standby_dir, "standby");
	if (!harness_in("standby", standby_dir, pg_dir)) {
		fprintf(stderr, "pgtest: pg-harness.sh standby failed\n");
		exit(1);
	}
	snprintf(standby_conninfo, sizeof standby_conninfo,
	    "host=%s port=5432 user=postgres dbname=recalld", standby_dir);
	snprintf(both_conninfo, sizeof both_conninfo, "host=%s,%s port=5432,5432 user=postgres"
	    " dbname=recalld target_session_attrs=read-write", pg_dir, standby_dir);
	return standby_conninfo;
}

const char *
pgtest_both(void)
{
	return both_conninfo;
}

bool
pgtest_crash(void)
{
	return harness_in("crash", pg_dir, NULL);
}

bool
pgtest_promote(void)
{
	return harness_in("promote", standby_dir, NULL);
}

bool
pgtest_standby_stop(void)
{
	return harness_in("stop", standby_dir, NULL);
}

bool
pgtest_standby_resume(void)
{
	return harness_in("resume", standby_dir, NULL);
}

const char *
pgtest_start(void)
{
	char *line;
	FILE *fp;
	size_t n;

	new_dir(pg_dir, sizeof pg_dir, "pg");
	line = xasprintf("sh '%s' start '%s'", pgtest_srcpath("tests/pg-harness.sh"), pg_dir);
	fp = popen(line, "r");
	free(line);
	if (fp == NULL || fgets(pg_conninfo, sizeof pg_conninfo, fp) == NULL) {
		fprintf(stderr, "pgtest: cannot start PostgreSQL\n");
		exit(1);
	}
	if (pclose(fp) != 0) {
		fprintf(stderr, "pgtest: pg-harness.sh start failed\n");
		exit(1);
	}
	n = strlen(pg_conninfo);
	while (n > 0 && pg_conninfo[n - 1] == '\n')
		pg_conninfo[--n] = '\0';
	return pg_conninfo;
}

void
pgtest_destroy(void)
{
	if (standby_dir[0] != '\0')
		harness_in("destroy", standby_dir, NULL);
	standby_dir[0] = '\0';
	if (pg_dir[0] != '\0')
		harness("destroy");
	pg_dir[0] = '\0';
}

void
pgtest_stop(void)
{
	harness("stop");
}

void
pgtest_resume(void)
{
	harness("resume");
}

const char *
pgtest_new_db(const char *name)
{
	PGconn *pg = PQconnectdb(pg_conninfo);
	char *sql;
	PGresult *res;

	if (PQstatus(pg) != CONNECTION_OK) {
		fprintf(stderr, "pgtest: %s", PQerrorMessage(pg));
		exit(1);
	}
	PQclear(PQexec(pg, "SET client_min_messages = warning"));
	sql = xasprintf("DROP DATABASE IF EXISTS %s", name);
	PQclear(PQexec(pg, sql));
	free(sql);
	sql = xasprintf("CREATE DATABASE %s", name);
	res = PQexec(pg, sql);
	free(sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		fprintf(stderr, "pgtest: %s", PQerrorMessage(pg));
		exit(1);
	}
	PQclear(res);
	PQfinish(pg);
	snprintf(pg_scratch, sizeof pg_scratch, "host=%s port=5432 user=postgres dbname=%s",
	    pg_dir, name);
	return pg_scratch;
}

static bool
flag_pred(void *arg)
{
	return *(const bool *)arg;
}

bool
pgtest_run_while(struct event_base *base, bool (*pred)(void *), void *arg,
    int timeout_ms)
{
	uint64_t end = util_mono_ms() + (uint64_t)timeout_ms;
	struct timeval tick = { 0, 10 * 1000 };

	while (!pred(arg) && util_mono_ms() < end) {
		/* A short timer so the loop returns even when nothing happens. */
		event_base_loopexit(base, &tick);
		event_base_loop(base, EVLOOP_ONCE);
	}
	return pred(arg);
}

bool
pgtest_run_until(struct event_base *base, const bool *flag, int timeout_ms)
{
	return pgtest_run_while(base, flag_pred, (void *)flag, timeout_ms);
}

PGconn *
pgtest_connect(const char *conninfo)
{
	PGconn *pg = PQconnectdb(conninfo);

	ck_assert_msg(PQstatus(pg) == CONNECTION_OK, "%s", PQerrorMessage(pg));
	return pg;
}

PGconn *
pgtest_migrated_db(const char *name, const char **conninfo)
{
	const char *ci = pgtest_new_db(name);
	PGconn *pg = pgtest_connect(ci);
	char err[1024];
	migrate_set *s;

	if (conninfo != NULL)
		*conninfo = ci;
	s = migrate_load(pgtest_sql_dir(), err, sizeof err);
	ck_assert_msg(s != NULL, "%s", err);
	ck_assert_msg(migrate_apply(pg, s, NULL, err, sizeof err), "%s", err);
	migrate_set_free(s);
	return pg;
}

PGresult *
pgtest_query(PGconn *pg, const char *sql)
{
	PGresult *res = PQexec(pg, sql);

	ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK ||
	    PQresultStatus(res) == PGRES_TUPLES_OK, "%s: %s", sql, PQerrorMessage(pg));
	return res;
}

void
pgtest_exec(PGconn *pg, const char *sql)
{
	PQclear(pgtest_query(pg, sql));
}

long long
pgtest_int(PGconn *pg, const char *fmt, ...)
{
	va_list ap;
	char *sql;
	PGresult *res;
	long long v = -1;

	va_start(ap, fmt);
	sql = xvasprintf(fmt, ap);
	va_end(ap);
	res = pgtest_query(pg, sql);
	if (PQntuples(res) > 0 && !PQgetisnull(res, 0, 0))
		v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	free(sql);
	return v;
}

char *
pgtest_text(PGconn *pg, const char *fmt, ...)
{
	va_list ap;
	char *sql, *v;
	PGresult *res;

	va_start(ap, fmt);
	sql = xvasprintf(fmt, ap);
	va_end(ap);
	res = pgtest_query(pg, sql);
	ck_assert_msg(PQntuples(res) == 1, "%s: %d rows, want 1", sql, PQntuples(res));
	v = xstrdup(PQgetisnull(res, 0, 0) ? "NULL" : PQgetvalue(res, 0, 0));
	PQclear(res);
	free(sql);
	return v;
}

char *
pgtest_tmp_dir(const char *name)
{
	char *dir = xasprintf("/tmp/recalld-%s.XXXXXX", name);

	ck_assert_msg(mkdtemp(dir) != NULL, "mkdtemp %s", dir);
	return dir;
}

void
pgtest_write_file(const char *dir, const char *name, const char *text)
{
	char *path = xasprintf("%s/%s", dir, name);
	FILE *fp = fopen(path, "w");

	ck_assert_msg(fp != NULL, "cannot write %s", path);
	fputs(text, fp);
	fclose(fp);
	free(path);
}

void
pgtest_rm_dir(char *dir)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);

	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	free(dir);
}
