/*
 * pgtest.h: a throwaway PostgreSQL cluster for Check tests, started by
 * tests/pg-harness.sh in a fresh temporary directory (unix socket only).
 */
#ifndef RECALLD_PGTEST_H
#define RECALLD_PGTEST_H

#include <stdbool.h>

#include <event2/event.h>
#include <libpq-fe.h>

/* Start the cluster; returns the connection string of database recalld. */
const char *pgtest_start(void);
/* Destroy the cluster and its directory. */
void pgtest_destroy(void);
/* Stop the server (fast shutdown) / start it again, keeping the data. */
void pgtest_stop(void);
void pgtest_resume(void);
/*
 * A streaming standby of the cluster (pg_basebackup), started; the primary
 * then waits for it on every commit (synchronous_standby_names; with
 * PG_DURABLE=1, synchronous_commit is on). Returns its connection string;
 * pgtest_destroy removes it too. Exits on failure.
 */
const char *pgtest_standby(void);
/* Both hosts, primary first, with target_session_attrs=read-write. */
const char *pgtest_both(void);
/* Stop the primary at once, as a lost machine would (immediate). */
bool pgtest_crash(void);
/* Promote the standby; stop it (fast) / start it again as a standby. */
bool pgtest_promote(void);
bool pgtest_standby_stop(void);
bool pgtest_standby_resume(void);
/* Create a fresh database; returns its connection string (static buffer). */
const char *pgtest_new_db(const char *name);
/* Path of a file under $srcdir. */
const char *pgtest_srcpath(const char *rel);
/* The migrations: $RECALLD_SQL, else the source tree's sql/ (static buffer). */
const char *pgtest_sql_dir(void);
/* Run the loop until *flag is true or timeout_ms passes; returns *flag. */
bool pgtest_run_until(struct event_base *base, const bool *flag, int timeout_ms);
/* Run the loop until pred(arg) or timeout. */
bool pgtest_run_while(struct event_base *base, bool (*pred)(void *), void *arg,
    int timeout_ms);

/*
 * Blocking SQL on a test's own connection, inside a Check test: a
 * statement that fails fails the test (with the statement and the error).
 */
PGconn *pgtest_connect(const char *conninfo);
/*
 * A fresh database (pgtest_new_db), migrated from pgtest_sql_dir(),
 * connected; *conninfo (optional) gets its connection string (static buffer).
 */
PGconn *pgtest_migrated_db(const char *name, const char **conninfo);
/* Run one or more statements. */
void pgtest_exec(PGconn *pg, const char *sql);
/* The same, keeping the result of the last (caller clears). */
PGresult *pgtest_query(PGconn *pg, const char *sql);
/* The first value as an integer: -1 when there is no row or it is NULL. */
long long pgtest_int(PGconn *pg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The value of a one-row query as text, "NULL" for NULL (caller frees). */
char *pgtest_text(PGconn *pg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Scratch files of a Check test (failing it when they cannot be made). */
/* A fresh directory "/tmp/recalld-NAME.XXXXXX" (caller frees, or pgtest_rm_dir). */
char *pgtest_tmp_dir(const char *name);
void pgtest_write_file(const char *dir, const char *name, const char *text);
/* Remove dir and all in it, and free the string. */
void pgtest_rm_dir(char *dir);

#endif
