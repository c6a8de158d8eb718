/*
 * pgtest.h: a throwaway PostgreSQL cluster for Check tests, started by
 * tests/pg-harness.sh in a fresh temporary directory (unix socket only).
 */
#ifndef RECALLD_PGTEST_H
#define RECALLD_PGTEST_H

#include <stdbool.h>

#include <event2/event.h>

/* Start the cluster; returns the connection string of database recalld. */
const char *pgtest_start(void);
/* Destroy the cluster and its directory. */
void pgtest_destroy(void);
/* Stop the server (fast shutdown) / start it again, keeping the data. */
void pgtest_stop(void);
void pgtest_resume(void);
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

#endif
