/* privacy.c: a pupil's data on request: GET /v1/pupils/{id}/export, POST .../erase. */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "api.h"
#include "child.h"
#include "clock.h"
#include "erase.h"
#include "log.h"
#include "token.h"

struct erase_state {
	char pupil[24];		/* first: see pupil_state */
	char ref[36];
	char who[40];
};

/*
 * A call's state of size bytes whose first member is the pupil's id as
 * text, then sql ($1 school, $2 that pupil) to cb; NULL (answered) on no
 * memory.
 */
static void *
pupil_state(struct api_call *c, int64_t id, size_t size, const char *sql,
    void (*cb)(struct api_call *c, const struct db_reply *r))
{
	char *st = calloc(1, size);
	const char *p[2];

	if (st == NULL) {
		api_problem(c, 503, "overloaded", "Service unavailable", "out of memory");
		return NULL;
	}
	c->state = st;
	snprintf(st, 24, "%" PRId64, id);
	p[0] = c->school;
	p[1] = st;
	api_query_db(c, sql, 2, p, cb);
	return st;
}

static void
erased(struct api_call *c, const struct db_reply *r)
{
	struct erase_state *st = c->state;

	if (r->status != DB_OK) {
		api_db_failed(c, r);
		return;
	}
	if (PQntuples(r->results[erase_nsql - 1]) != 1) {
		/* erased meanwhile by another request: nothing was done here */
		api_problem(c, 404, "not-found", "Not found", "no such pupil");
		return;
	}
	/* The log keeps the reference, never who was erased. */
	log_info("privacy", "pupil erased", "school=%s erasure=%s by=\"%s\"", c->school, st->ref,
	    st->who);
	api_reply(c, 200, json_pack("{s:s, s:s}", "erasure_id", st->ref, "erased_at", c->now));
}

static void
pupil_found(struct api_call *c, const struct db_reply *r)
{
	struct erase_state *st = c->state;
	const char *confirm = json_string_value(json_object_get(c->body, "confirm"));
	const char *p[ERASE_NPARAMS];
	db_req *req;

	if (r->status != DB_OK) {
		api_db_failed(c, r);
		return;
	}
	if (PQntuples(r->results[0]) != 1) {
		api_problem(c, 404, "not-found", "Not found", "no such pupil");
		return;
	}
	if (strcmp(confirm, PQgetvalue(r->results[0], 0, 0)) != 0) {
		api_field_error(c, "confirm", "must be the pupil's external_id, to confirm that this"
		    " is the pupil to erase");
		api_validation_failed(c);
		return;
	}
	erase_new_ref(st->ref);
	snprintf(st->who, sizeof st->who, "token %" PRId64, c->token_id);
	p[0] = c->school;
	p[1] = st->pupil;
	p[2] = st->ref;
	p[3] = c->now;
	p[4] = st->who;
	p[5] = "request";
	req = api_req_new(c);
	for (size_t i = 0; i < erase_nsql; i++)
		db_req_add(req, erase_sql[i], ERASE_NPARAMS, p);
	api_submit(c, req, erased);
}

/*
 * {"confirm": "<the pupil's external_id>"}: everything recalld holds about
 * the pupil goes, in one transaction (erase.h). Answers the erasure's
 * reference; a second request for the same pupil gets 404.
 */
static void
pupil_erase(struct api_call *c)
{
	static const char *const known[] = { "confirm", NULL };
	json_t *confirm = c->body ? json_object_get(c->body, "confirm") : NULL;
	int64_t id;

	if (!api_param_id(c, "id", &id))
		return;
	if (c->body != NULL)
		api_fields_only(c, "an erasure", known);
	if (!json_is_string(confirm) || json_string_length(confirm) == 0)
		api_field_error(c, "confirm", "is required: the pupil's external_id, to confirm");
	if (api_has_errors(c)) {
		api_validation_failed(c);
		return;
	}
	pupil_state(c, id, sizeof(struct erase_state),
	    "SELECT external_id FROM pupil WHERE school_id = $1 AND pupil_id = $2::bigint",
	    pupil_found);
}

/* ---- export: `recalld pupil export` in a child process ---- */

struct export_job {
	char pupil[24];		/* first: see pupil_state */
	struct api_call *c;
	char path[64];
};

static void
export_done(const struct child_result *r, void *arg)
{
	struct export_job *j = arg;
	struct api_call *c = j->c;
	char err[1024], name[64];
	int fd = -1;

	if (r->status == 0)
		fd = open(j->path, O_RDONLY | O_CLOEXEC);
	unlink(j->path);	/* an open file outlives its name */
	if (fd < 0) {
		child_err_line(r, err, sizeof err);
		log_warnx("privacy", "export failed", "school=%s status=%d err=\"%s\"", c->school,
		    r->status, err);
		api_problem(c, 503, "export-failed", "Export failed",
		    "the export could not be made now (the database or the disk); try again later");
	} else {
		log_info("privacy", "pupil exported", "school=%s", c->school);
		snprintf(name, sizeof name, "pupil-%s-%s.zip", c->school, j->pupil);
		api_reply_file(c, fd, "application/zip", name);
	}
	free(j);
}

static bool
export_spawn(struct export_job *j, const char *config_path)
{
	const char *args[] = { "pupil", "export", "--school", j->c->school, "--pupil", j->pupil,
	    "-o", j->path, "--no-audit" /* the request is audited here */, NULL };
	int tmp;

	snprintf(j->path, sizeof j->path, "/tmp/recalld-export-XXXXXX.zip");
	if ((tmp = mkstemps(j->path, 4)) < 0)
		return false;
	close(tmp);
	if (child_start(j->c->app->base, config_path, args, 0, export_done, j) == NULL) {
		unlink(j->path);
		return false;
	}
	return true;
}

static void
export_pupil_found(struct api_call *c, const struct db_reply *r)
{
	struct export_job *j = c->state;

	if (r->status != DB_OK) {
		api_db_failed(c, r);
		return;
	}
	if (PQntuples(r->results[0]) != 1) {
		api_problem(c, 404, "not-found", "Not found", "no such pupil");
		return;
	}
	c->state = NULL;	/* the job's now, until it answers */
	j->c = c;
	if (!export_spawn(j, c->app->config_path)) {
		log_warnx("privacy", "export not started", "err=\"%s\"", strerror(errno));
		free(j);
		api_problem(c, 503, "export-failed", "Export failed",
		    "the export could not be started now; try again later");
	}
}

/*
 * Everything recalld holds about the pupil, as a zip (privacy/export.h),
 * made by a child process so that the loop goes on meanwhile.
 */
static void
pupil_export(struct api_call *c)
{
	int64_t id;

	if (!api_param_id(c, "id", &id))
		return;
	pupil_state(c, id, sizeof(struct export_job),
	    "SELECT 1 FROM pupil WHERE school_id = $1 AND pupil_id = $2::bigint", export_pupil_found);
}

/* ---- the whole school ---- */

static void
school_deleted(struct api_call *c, const struct db_reply *r)
{
	if (r->status != DB_OK) {
		api_db_failed(c, r);
		return;
	}
	if (PQntuples(r->results[0]) != 1 || PQgetisnull(r->results[0], 0, 0)) {
		api_problem(c, 404, "not-found", "Not found", "no such school");
		return;
	}
	log_info("privacy", "school deleted", "school=%s rows=%s", c->school,
	    PQgetvalue(r->results[0], 0, 0));
	/* its tokens die here at once; other daemons hear the NOTIFY */
	token_cache_clear(c->app->tokens);
	api_reply(c, 200, json_pack("{s:s, s:s}", "deleted", "school", "deleted_at", c->now));
}

static void
school_found(struct api_call *c, const struct db_reply *r)
{
	const char *p[1] = { c->school };

	if (r->status != DB_OK) {
		api_db_failed(c, r);
		return;
	}
	if (PQntuples(r->results[0]) != 1 ||
	    strcmp(PQgetvalue(r->results[0], 0, 0), api_query(c, "confirm")) != 0) {
		api_field_error(c, "confirm", "must be the school's name, to confirm that this school"
		    " and everything it holds are to be deleted");
		api_validation_failed(c);
		return;
	}
	api_query_db(c, "SELECT recalld_delete_school($1::bigint)", 1, p, school_deleted);
}

/*
 * DELETE /v1/school?confirm=<the school's name>: the school leaves. Every
 * row of every table with its school_id goes (recalld_delete_school, from
 * the catalogue), its tokens and endpoints with them.
 */
static void
school_delete(struct api_call *c)
{
	const char *confirm = api_query(c, "confirm");
	const char *p[1] = { c->school };

	if (confirm == NULL || *confirm == '\0') {
		api_field_error(c, "confirm", "is required: the school's name, to confirm");
		api_validation_failed(c);
		return;
	}
	api_query_db(c, "SELECT name FROM school WHERE school_id = $1", 1, p, school_found);
}

/* ---- the access audit ---- */

/*
 * GET /v1/audit?pupil=&since=&limit=&cursor=: the school's access audit,
 * newest first; pupil: the entries about one pupil; since: from a time on.
 */
static void
audit_list(struct api_call *c)
{
	const char *pupil = api_query(c, "pupil"), *since = api_query(c, "since");
	char *cursor = NULL, *end, lim[16], pid[24] = "", at[40] = "";
	const char *p[5];
	int64_t us;

	api_page_params(c, &cursor);
	if (pupil != NULL) {
		long long n = strtoll(pupil, &end, 10);

		if (*pupil == '\0' || *end != '\0' || n < 1)
			api_field_error(c, "pupil", "must be a pupil's id");
		else
			snprintf(pid, sizeof pid, "%lld", n);
	}
	if (since != NULL) {
		if (!clock_parse_iso(since, &us))
			api_field_error(c, "since", "must be an ISO 8601 time such as 2026-09-07T06:00:00Z");
		else
			clock_format_iso(us, at, sizeof at);
	}
	if (api_has_errors(c)) {
		free(cursor);
		api_validation_failed(c);
		return;
	}
	snprintf(lim, sizeof lim, "%d", c->page_limit + 1);
	p[0] = c->school;
	p[1] = cursor;
	p[2] = lim;
	p[3] = pid[0] ? pid : NULL;
	p[4] = at[0] ? at : NULL;
	api_query_db(c, "SELECT json_build_object('id', a.audit_id, 'at', a.at, 'token_id',"
	    " a.token_id, 'role', a.role, 'method', a.method, 'route', a.route, 'object_id',"
	    " a.object_id, 'pupil_id', a.pupil_id, 'status', a.status, 'addr', a.addr)::text,"
	    " a.audit_id FROM audit a WHERE a.school_id = $1"
	    " AND ($2::bigint IS NULL OR a.audit_id < $2::bigint)"
	    " AND ($4::bigint IS NULL OR a.pupil_id = $4::bigint)"
	    " AND ($5::timestamptz IS NULL OR a.at >= $5::timestamptz)"
	    " ORDER BY a.audit_id DESC LIMIT $3::int", 5, p, api_reply_page);
	free(cursor);
}

void
privacy_routes(http_server *s)
{
	api_route(s, EVHTTP_REQ_GET, "/v1/audit", ROLE_ADMIN, audit_list);
	api_route(s, EVHTTP_REQ_DELETE, "/v1/school", ROLE_ADMIN, school_delete);
	api_route(s, EVHTTP_REQ_GET, "/v1/pupils/{id}/export", ROLE_ADMIN, pupil_export);
	api_route(s, EVHTTP_REQ_POST, "/v1/pupils/{id}/erase", ROLE_ADMIN, pupil_erase);
}
