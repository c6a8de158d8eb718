/*
 * plan.h: an import plan, the SQL statements that load a school's data,
 * and the report a person reads about it.
 *
 * The importers (roster.c, qbank.c) check their input completely in
 * memory and turn it into a plan: an ordered list of statements with
 * text parameters, each tagged with the file and line it came from, plus
 * a report of rows accepted per file and rows rejected with the reason.
 * A plan with any rejected row must not run: imports are all or nothing.
 *
 * A plan runs in one transaction, either here, blocking (plan_exec, for
 * the command line), or through the pool as one pipelined request: add
 * each statement with db_req_add in order, and when the reply is an
 * error, plan_first_error + plan_fail turn it into a report entry that
 * names the file and line whose statement the database refused.
 */
#ifndef RECALLD_PLAN_H
#define RECALLD_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>
#include <libpq-fe.h>

typedef struct plan plan;

/* Report lists stop growing here; the total is still counted. */
#define PLAN_REJECTED_MAX	10000
#define PLAN_NOTES_MAX		100

plan *plan_new(void);
void plan_free(plan *p);

/*
 * Append a statement. sql is not copied: it must outlive the plan (the
 * importers pass string literals). params are copied; a NULL param is
 * SQL NULL. file and line say where it came from (line 0: the file as a
 * whole); hint, if not NULL, says in words what a refusal means ("class
 * 7B: no course 'maths' in this school"), since the database's own
 * message names columns, not rows of a file.
 */
void plan_add(plan *p, const char *file, unsigned long line, const char *hint,
    const char *sql, int nparams, const char *const *params);

int plan_count(const plan *p);
const char *plan_sql(const plan *p, int i);
int plan_nparams(const plan *p, int i);
const char *const *plan_params(const plan *p, int i);
/* NULL for a statement of the plan as a whole (the per-school lock). */
const char *plan_origin_file(const plan *p, int i);
unsigned long plan_origin_line(const plan *p, int i);

/* The report. file is a name such as "users.csv"; it is listed in the
 * order first seen, so name files up front (plan_file) to fix the order. */
void plan_file(plan *p, const char *file);
void plan_accept(plan *p, const char *file);
/* A row deliberately not imported (a guardian in users.csv): counted, noted. */
void plan_skip(plan *p, const char *file, unsigned long line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void plan_note(plan *p, const char *file, unsigned long line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A problem: the plan will not run. line 0 means the file as a whole. */
void plan_reject(plan *p, const char *file, unsigned long line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int plan_nrejected(const plan *p);
long plan_accepted(const plan *p, const char *file);

/*
 * Asynchronous runs: the index of the first result of a pipelined
 * request that is an error (PGRES_FATAL_ERROR), or -1.
 */
int plan_first_error(PGresult *const *results, int n);
/*
 * Statement i was refused with message (a libpq error message; its first
 * line is kept). i < 0: the run failed as a whole (connection lost).
 * Adds a rejected entry naming the statement's origin.
 */
void plan_fail(plan *p, int i, const char *message);
void plan_set_applied(plan *p, bool applied);
bool plan_applied(const plan *p);

/*
 * Blocking: run every statement in one transaction, pipelined. Refuses a
 * plan with rejected rows. On any error: ROLLBACK, a report entry for the
 * statement that failed, and err says which file and line. On success the
 * plan is marked applied. When the connection itself fails mid-run, it is
 * left unusable: PQfinish it (the server rolls the transaction back).
 */
bool plan_exec(PGconn *pg, plan *p, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/* The same, but always ROLLBACK: checks references against the database. */
bool plan_check(PGconn *pg, plan *p, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/*
 * {"accepted": {"users.csv": 97, ...}, "skipped": {"users.csv": 3, ...},
 *  "rejected": [{"file": "users.csv", "line": 14, "reason": "..."}],
 *  "notes": [{"file": ..., "line": ..., "note": ...}], "applied": false}
 * plus "rejected_more"/"notes_more" when a list was cut. New reference.
 */
json_t *plan_report_json(const plan *p);
/* The same for a person: one line per file, problem and note. */
void plan_report_print(const plan *p, FILE *fp);

#endif
