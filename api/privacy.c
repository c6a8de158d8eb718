/* privacy.c: a pupil's data on request: POST /v1/pupils/{id}/erase. */
#include "autoconf.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "erase.h"
#include "log.h"

struct erase_state {
	char pupil[24];
	char ref[36];
	char who[40];
};

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
	struct erase_state *st;
	json_t *confirm = c->body ? json_object_get(c->body, "confirm") : NULL;
	int64_t id;
	const char *p[2];

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
	st = calloc(1, sizeof *st);
	if (st == NULL) {
		api_problem(c, 503, "overloaded", "Service unavailable", "out of memory");
		return;
	}
	c->state = st;
	snprintf(st->pupil, sizeof st->pupil, "%" PRId64, id);
	p[0] = c->school;
	p[1] = st->pupil;
	api_query_db(c, "SELECT external_id FROM pupil WHERE school_id = $1 AND pupil_id = $2::bigint",
	    2, p, pupil_found);
}

void
privacy_routes(http_server *s)
{
	api_route(s, EVHTTP_REQ_POST, "/v1/pupils/{id}/erase", ROLE_ADMIN, pupil_erase);
}
