/*
 * imports.c: POST /v1/import/roster (a OneRoster zip) and POST
 * /v1/import/questions (the question CSV). The same plans as the CLI,
 * run through the pool as one pipelined transaction: all or nothing.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "plan.h"
#include "qbank.h"
#include "roster.h"

/* Answer with the plan's report: 200 applied, 422 refused. */
static void
answer(struct api_call *c, plan *p, int status)
{
	json_t *report = plan_report_json(p);

	if (status == 200) {
		api_reply(c, 200, report);
		return;
	}
	/* A problem document that carries the whole report. */
	api_problem_doc(c, status, json_pack("{s:s, s:s, s:i, s:s, s:o}",
	    "type", "/problems/import-rejected", "title", "Import rejected",
	    "status", status, "detail",
	    "nothing was changed; the report lists every problem with its file and line",
	    "report", report));
}

static void
ran(struct api_call *c, const struct db_reply *r)
{
	plan *p = c->state;
	int i;

	c->state = NULL;
	if (r->status == DB_OK) {
		plan_set_applied(p, true);
		answer(c, p, 200);
		plan_free(p);
		return;
	}
	if (r->status == DB_UNAVAILABLE) {
		plan_free(p);
		api_db_failed(c, r);
		return;
	}
	i = plan_first_error(r->results, r->nresults);
	plan_fail(p, i, r->error);
	answer(c, p, 422);
	plan_free(p);
}

static bool
content_type_is(struct api_call *c, const char *want)
{
	const char *ct = evhttp_find_header(evhttp_request_get_input_headers(
	    http_ctx_req(c->ctx)), "Content-Type");
	size_t n = strlen(want);

	return ct != NULL && strncasecmp(ct, want, n) == 0 &&
	    (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

static void
run_plan(struct api_call *c, plan *p, bool ok, const char *err)
{
	db_req *r;

	if (!ok) {
		api_problem(c, 400, "unreadable-import", "Unreadable import", err);
		return;
	}
	if (plan_nrejected(p) > 0 || plan_count(p) == 0) {
		answer(c, p, 422);
		plan_free(p);
		return;
	}
	c->state = p;	/* freed in ran(), or by the call if it ends first */
	r = api_req_new(c);
	for (int i = 0; i < plan_count(p); i++)
		db_req_add(r, plan_sql(p, i), plan_nparams(p, i), plan_params(p, i));
	api_submit(c, r, ran);
}

/* The raw body, when it comes as ctype; else a 415 that says what to send. */
static bool
body_as(struct api_call *c, const char *ctype, const char *detail, const void **buf,
    size_t *len)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(http_ctx_req(c->ctx));

	if (!content_type_is(c, ctype)) {
		api_problem(c, 415, "unsupported-media-type", "Unsupported media type", detail);
		return false;
	}
	*len = evbuffer_get_length(in);
	*buf = evbuffer_pullup(in, -1);
	return true;
}

static void
import_roster(struct api_call *c)
{
	char err[512] = "";
	const void *buf;
	size_t len;
	plan *p = NULL;
	bool ok;

	if (!body_as(c, "application/zip",
	    "send the OneRoster CSV files as one zip, Content-Type: application/zip", &buf, &len))
		return;
	ok = roster_parse_zip(buf, len, c->school_id, c->now, &p, err, sizeof err);
	run_plan(c, p, ok, err);
}

static void
import_questions(struct api_call *c)
{
	char err[512] = "";
	const void *buf;
	size_t len;
	plan *p = NULL;
	bool ok;

	if (!body_as(c, "text/csv", "send the question bank as Content-Type: text/csv", &buf,
	    &len))
		return;
	ok = qbank_parse(buf, len, "questions.csv", c->school_id, c->now, &p, err, sizeof err);
	run_plan(c, p, ok, err);
}

void
imports_routes(http_server *s)
{
	api_route_raw(s, EVHTTP_REQ_POST, "/v1/import/roster", ROLE_ADMIN | ROLE_INTEGRATION,
	    import_roster);
	api_route_raw(s, EVHTTP_REQ_POST, "/v1/import/questions", ROLE_ADMIN | ROLE_INTEGRATION,
	    import_questions);
}
