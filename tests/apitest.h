/*
 * apitest.h: black-box helpers for the /v1 API tests: run the recalld
 * binary (admin subcommands, and `serve` as a child on a free loopback
 * port), real HTTP calls through libcurl, and direct SQL through libpq.
 */
#ifndef RECALLD_APITEST_H
#define RECALLD_APITEST_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/*
 * Run the recalld binary with args (NULL-terminated, not counting argv[0]);
 * stdout is captured into *out (malloc'd, may be NULL), stderr goes to ours.
 * Returns the exit status, or -1 when it did not exit normally.
 */
int apitest_recalld(char **out, ...) __attribute__((sentinel));

/* Start `recalld serve` on 127.0.0.1 and a free port; false if it never got up. */
bool apitest_daemon_start(void);
/*
 * Several daemons on one database: the apitest_daemon_* calls and every
 * request act on the current one, slot 0 unless chosen here.
 */
#define APITEST_DAEMONS 4
void apitest_daemon_use(int i);
/* The base URL of slot i's daemon ("" before it started). */
const char *apitest_daemon_base(int i);
/* SIGTERM, wait; returns the exit status (-1 killed by a signal or timed out). */
int apitest_daemon_stop(void);
/* POST /v1/admin/clock {"now": iso} with token (manual clock); true on 200. */
bool apitest_set_clock(const char *token, const char *iso);
/* `recalld token create --school S --role R [--teacher T]` into dst; false on failure. */
bool apitest_token(char *dst, size_t len, const char *school, const char *role,
    const char *teacher);
/*
 * The start of most black-box suites: `recalld migrate`, then schools
 * named a and b (Europe/London), which must come out as 1 and 2, and an
 * admin token of each into admin_a and admin_b (len bytes each). False,
 * with a message, when a step failed.
 */
bool apitest_two_schools(const char *a, const char *b, char *admin_a, char *admin_b,
    size_t len);
/*
 * The demo school of tests/demo into school 1 by `recalld import`: its
 * OneRoster roster and, with questions, its question bank. False on failure.
 */
bool apitest_import_demo(bool questions);
/*
 * After apitest_import_demo(true) and apitest_db_open: "Cells and
 * organisation" taught to 8A and 8B Science on Friday 18 September 2026,
 * five new questions a day, so Monday's batches have prompts to answer.
 */
bool apitest_teach_demo_cells(void);
/*
 * A teacher token of school 1 for the teacher id that teacher_sql selects
 * (its first column, as text) into dst; false when there is none.
 */
bool apitest_teacher_token(char *dst, size_t len, const char *teacher_sql);
/*
 * The start most answering suites share, after apitest_env: the manual
 * clock at Monday 21 September 2026 06:00 UTC, schools A and B with their
 * admins, the demo school (with questions) in A, the database open on
 * conninfo, Cells taught, and an endpoint that refuses (127.0.0.1:9), so
 * that batches and feedback are events. False with a message on failure.
 */
bool apitest_demo_answering(const char *conninfo, char *admin_a, char *admin_b, size_t len);
/* Poll pred(arg) every 20 ms until it holds or timeout_ms passes; returns its last answer. */
bool apitest_wait(bool (*pred)(void *), void *arg, int timeout_ms);
/* Wait until /metrics says the job ("batches", "flags") has nothing to do. */
bool apitest_wait_job_idle(const char *job, int timeout_ms);
/* Poll (every 20 ms, up to timeout_ms) until the query's integer is at least want. */
bool apitest_wait_sql(long long want, int timeout_ms, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Drop the kept-alive connection (a forked child must not share it). */
void apitest_http_reset(void);
/* SIGKILL, as a crash would: nothing is flushed or finished. */
void apitest_daemon_kill9(void);
/* Print the daemon's log to stderr (after a failure). */
void apitest_daemon_dump_log(void);
/* Remove the daemon's directory (configuration and log). */
void apitest_daemon_cleanup(void);
/*
 * The end of a black-box suite: SIGTERM the daemon (it must exit 0), its
 * log on any failure, then the database and the daemon's directory gone.
 * Returns EXIT_SUCCESS when failed is 0 and the daemon exited 0.
 */
int apitest_finish(int failed);
/*
 * With RECALLD_OPENAPI_NODE_PATH set, apitest_env makes the suite record
 * every answer and webhook delivery; this holds them to api/openapi.yaml
 * (tests/openapi/validate.cjs, mismatches on stderr). True when they match
 * or nothing was recorded. It also fails when a secret the suite made or
 * was given (tokens, webhook secrets, the link key, the key file's keys)
 * turned up in a daemon's log (each log is searched by
 * apitest_daemon_cleanup). apitest_finish calls it; a suite that ends
 * otherwise calls it once at its end.
 */
bool apitest_openapi_check(void);
/* "http://127.0.0.1:PORT" */
const char *apitest_base(void);

/*
 * One HTTP request to apitest_base() + path. token NULL sends no
 * Authorization; content_type NULL sends none (with a body too); body NULL
 * sends none. extra is NULL or a NULL-terminated list of "Name: value".
 * *status gets the HTTP status (0 when nothing answered); *raw (optional)
 * the body text; *headers (optional) the header block. Returns the parsed
 * JSON body, or NULL when the body is not JSON.
 */
json_t *api_call(const char *method, const char *path, const char *token,
    const char *content_type, const char *body, long *status, char **raw,
    char **headers);
json_t *api_call_ex(const char *method, const char *path, const char *token,
    const char *content_type, const char *body, size_t body_len,
    const char *const *extra, long *status, char **raw, char **headers);
/*
 * A request to the path fmt... with a JSON body (NULL: none); returns the
 * status (0 when nothing answered); *out (optional) gets the parsed answer
 * (caller decrefs), else it is dropped.
 */
long apitest_json(const char *method, const char *token, const char *body, json_t **out,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/*
 * The last answer, for the suites that check one request at a time: each
 * apitest_req frees the one before, apitest_req_done the last.
 */
struct apitest_reply {
	char method[16];
	char path[512];
	long status;		/* 0 when nothing answered */
	json_t *j;		/* the body as JSON, or NULL */
	char *raw;		/* the body */
	char *hdr;		/* the header block */
};
extern struct apitest_reply apitest_r;
/* method to the path fmt... with a JSON body (or NULL), into apitest_r. */
void apitest_req(const char *method, const char *token, const char *body, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The same with the content type and extra headers ("Name: value", NULL-ended) given. */
void apitest_req_ex(const char *method, const char *token, const char *ctype, const char *body,
    const char *const *extra, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
void apitest_req_done(void);
/* In a Check test: the last answer's status is want (else its method, path and body). */
#define APITEST_ST(want) ck_assert_msg(apitest_r.status == (want), \
	"%s %s: status %ld, want %d: %.600s", apitest_r.method, apitest_r.path, \
	apitest_r.status, (int)(want), apitest_r.raw ? apitest_r.raw : "")
/* An integer member of o (-1 when absent or not an integer). */
long long apitest_jint(const json_t *o, const char *key);
/* A string member of o ("" when absent or not a string). */
const char *apitest_jstr(const json_t *o, const char *key);
/* Whether a problem's "errors" name field, with a detail. */
bool apitest_field_error(const json_t *problem, const char *field);
/* A header's value (case-insensitive name) from a header block into buf; NULL if absent. */
const char *apitest_header(const char *headers, const char *name, char *buf, size_t len);

/*
 * The environment every black-box test gives recalld: the database, the
 * migrations from the source tree, short start-up and shutdown waits.
 */
void apitest_env(const char *conninfo, const char *shutdown_timeout);
void apitest_db_open(const char *conninfo);
void apitest_db_close(void);
/* libpq on the test database: the first value of the first row (malloc'd), or NULL. */
char *apitest_sql(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same, as an integer (-1 when NULL or failed). */
long long apitest_sql_int(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Whether the statements ran (their results dropped). */
bool apitest_sql_ok(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
