/*
 * api.h: what every /v1 handler shares: the authenticated call, JSON
 * bodies, problem answers with per-field errors, and mapping database
 * failures to HTTP. A call is made by api_route's wrapper after the token
 * is checked, and freed by whichever api_reply_* / api_problem* answers it.
 */
#ifndef RECALLD_API_H
#define RECALLD_API_H

#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>

#include <jansson.h>

#include "app.h"
#include "db.h"
#include "http.h"

enum api_role {
	ROLE_ADMIN = 1,
	ROLE_TEACHER = 2,
	ROLE_INTEGRATION = 4,
};
#define ROLES_ALL (ROLE_ADMIN | ROLE_TEACHER | ROLE_INTEGRATION)

struct api_call {
	http_ctx *ctx;
	struct app *app;
	int64_t school_id;
	char school[24];	/* school_id as text, for parameters */
	enum api_role role;
	int64_t teacher_id;	/* ROLE_TEACHER only */
	char teacher[24];
	int64_t token_id;
	char now[40];		/* the clock at the start of the call, ISO */
	json_t *body;		/* parsed JSON body of POST/PATCH, or NULL */
	json_t *errors;		/* per-field validation errors, or NULL */
	void *state;		/* the handler's own, freed with free() */
	int status;		/* api_reply_row's success status; 0 means 200 */
	int page_limit;		/* rows a page of api_reply_page shows */
	db_req *req;		/* in flight, cancelled if the call ends first */
	/*
	 * A member of the success answer that is shown once and never kept:
	 * a retry with the same Idempotency-Key gets API_SECRET_SHOWN there.
	 */
	const char *secret_member;
};

#define API_SECRET_SHOWN "(shown once, in the first answer: rotate the secret to get a new one)"

typedef void (*api_handler)(struct api_call *call);

/*
 * Register a /v1 route: the wrapper checks the bearer token (401), the
 * role (403), the content type and JSON body for POST/PUT/PATCH (415, 400),
 * then calls h.
 */
void api_route(http_server *s, enum evhttp_cmd_type method, const char *pattern,
    unsigned roles, api_handler h);
/*
 * The same for a route that only reads teachers' views (flags, the mastery
 * grid, progress): its statements may go to database.read_url's standby
 * while that is no further behind than database.max_read_lag. Never for a
 * route that writes or must read its own writes.
 */
void api_route_reads(http_server *s, enum evhttp_cmd_type method, const char *pattern,
    unsigned roles, api_handler h);
/* The same for bodies that are not JSON (zip, CSV): the handler reads them. */
void api_route_raw(http_server *s, enum evhttp_cmd_type method, const char *pattern,
    unsigned roles, api_handler h);

/*
 * A route without a token (the dashboard's sign-in): the body is checked
 * as for api_route; c->school is empty and the handler must not trust it.
 */
void api_route_public(http_server *s, enum evhttp_cmd_type method, const char *pattern,
    api_handler h);

const char *api_param(struct api_call *c, const char *name);
/* A path parameter that must be a positive integer id; else answers 404. */
bool api_param_id(struct api_call *c, const char *name, int64_t *out);
const char *api_query(struct api_call *c, const char *name);

/* Answers; each frees the call. body is stolen. */
void api_reply(struct api_call *c, int status, json_t *body);
/* Send JSON text as is (PostgreSQL built it). */
void api_reply_raw(struct api_call *c, int status, const char *json);
/*
 * 200 with the open file fd as the body, sent from the file (not read into
 * memory), as an attachment named filename; fd is the reply's from now on.
 */
void api_reply_file(struct api_call *c, int fd, const char *content_type, const char *filename);
void api_problem(struct api_call *c, int status, const char *type,
    const char *title, const char *detail);
/* A problem document built by the caller (stolen), for extra members. */
void api_problem_doc(struct api_call *c, int status, json_t *doc);

/*
 * Database callbacks shared by the handlers. api_reply_row answers the
 * first value of the first statement's first row (JSON that PostgreSQL
 * built) with c->status, or 404 when there is no row; api_reply_row_of
 * reads statement i instead. api_reply_page answers rows of (json, id),
 * c->page_limit + 1 fetched, as {"items": [...], "next_cursor": ...}.
 */
void api_reply_row(struct api_call *c, const struct db_reply *r);
void api_reply_row_of(struct api_call *c, const struct db_reply *r, int i);
void api_reply_page(struct api_call *c, const struct db_reply *r);
/*
 * Answer the row of sql about the object {id} (api_reply_row): its
 * parameters are $1 school, $2 id, then as n allows $3 the teacher's id for
 * a teacher's token (else NULL) and $4 the clock's now.
 */
void api_row_by_id(struct api_call *c, const char *sql, int n);
/* Those four parameters into p; false (answered 404) when {id} is not an id. */
struct settings_error;
/* A school setting refused by the settings reader: logged (as who), and a 500 naming it. */
void api_settings_refused(struct api_call *c, const char *who, const struct settings_error *e);
bool api_id_params(struct api_call *c, const char *p[4]) __attribute__((warn_unused_result));
/*
 * ?limit= (1-500, default 100) into c->page_limit and ?cursor= (an id
 * this API gave out) into *cursor (malloc'd, NULL when absent); bad
 * values become field errors.
 */
void api_page_params(struct api_call *c, char **cursor);

/* Collect a field error; api_validation_failed answers 422 with them all. */
void api_field_error(struct api_call *c, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A field error for each member of the body not in known (NULL-terminated). */
void api_fields_only(struct api_call *c, const char *what, const char *const *known);
bool api_has_errors(const struct api_call *c);
void api_validation_failed(struct api_call *c);

/*
 * Answer a failed database reply: 503 when unavailable, 409/422 for
 * constraint violations (naming the field when the constraint does), 500
 * otherwise (logged).
 */
void api_db_failed(struct api_call *c, const struct db_reply *r);

/* Run a query for the call; cb gets the call back. */
void api_query_db(struct api_call *c, const char *sql, int n,
    const char *const *params, void (*cb)(struct api_call *c, const struct db_reply *r));
/* A request whose callback reaches api_submit's cb; add statements, then submit. */
db_req *api_req_new(struct api_call *c);
/* The same for a prepared multi-statement request (one transaction). */
void api_submit(struct api_call *c, db_req *r,
    void (*cb)(struct api_call *c, const struct db_reply *r));

void api_routes(http_server *s);
/*
 * Every route as "METHOD PATTERN ROLES" lines: ROLES is the /v1 roles
 * (admin,teacher,integration), "public" for a /v1 route without a token,
 * "-" for the routes that are not /v1 (tests/openapi.sh compares them
 * with api/openapi.yaml).
 */
void api_routes_dump(const http_server *s, FILE *out);
/* /v1/admin/clock (admin.c), registered by api_routes. */
void admin_routes(http_server *s);
/* /v1/import/roster and /v1/import/questions (imports.c). */
void imports_routes(http_server *s);
/* POST /v1/responses (responses.c). */
void responses_routes(http_server *s);
/* GET and POST /a/{token}, the answer page (answer_ops.c); after the keys are set. */
void answer_ops_routes(http_server *s, struct app *app);
/* Flags, the mastery grid, progress and checks (teachers.c). */
void teachers_routes(http_server *s);
/* Class units and progress over time, for the dashboard (progress.c). */
void progress_routes(http_server *s);
/* A pupil's data on request: erasure (privacy.c). */
void privacy_routes(http_server *s);
/* /v1/school/fsrs: the school's memory model (fsrs.c). */
void fsrs_routes(http_server *s);
/* LTI 1.3: /lti/jwks, a school's login, launch and course linking (lti.c). */
void lti_routes(http_server *s);
/* /v1/lti/platforms: the school's LMS registrations (lti_platforms.c). */
void lti_platforms_routes(http_server *s);
/* Sign-in links, sign-out and /v1/me (session.c). */
void session_routes(http_server *s);

#endif
