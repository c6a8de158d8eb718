/*
 * session.c: the dashboard's sign-in. `recalld token link` stores the hash
 * of a single-use code and prints a link carrying it in the URL fragment
 * (never sent to a server, so never in an access log); the page posts the
 * code here and gets a session token that expires on its own
 * (dashboard.session_ttl, real time). Also who the token belongs to
 * (/v1/me) and signing out.
 */
#include "autoconf.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "clock.h"
#include "pgrow.h"
#include "token.h"
#include "util.h"

/* ---- POST /v1/auth/signin {"code": "rcs_..."} ---- */

struct signin {
	char token[TOKEN_MAX];
};

/* $1 school, $2 code hash, $3 wall clock, $4 token hash, $5 session ttl. */
static const char signin_sql[] =
    "WITH used AS (UPDATE signin_code c SET used_at = $3::timestamptz"
    "  WHERE c.school_id = $1 AND c.hash = $2::bytea AND c.used_at IS NULL"
    "  AND c.expires_at > $3::timestamptz"
    "  AND EXISTS (SELECT 1 FROM school s WHERE s.school_id = $1 AND s.active)"
    "  AND (c.teacher_id IS NULL OR EXISTS (SELECT 1 FROM teacher t"
    "   WHERE t.school_id = $1 AND t.teacher_id = c.teacher_id AND t.active))"
    "  RETURNING c.role, c.teacher_id)"
    " INSERT INTO api_token (school_id, role, teacher_id, name, hash, created_at, expires_at)"
    " SELECT $1, u.role, u.teacher_id, 'dashboard sign-in', $4::bytea, $3::timestamptz,"
    "  $3::timestamptz + $5::interval FROM used u"
    " RETURNING role, to_json(expires_at)#>>'{}'";

/* Read only when the first found nothing: why the code was refused. */
static const char signin_why_sql[] =
    "SELECT used_at IS NOT NULL, expires_at <= $3::timestamptz FROM signin_code"
    " WHERE school_id = $1 AND hash = $2::bytea AND $4::text IS NOT NULL AND $5::text IS NOT NULL";

static void
signin_done(struct api_call *c, const struct db_reply *r)
{
	struct signin *s = c->state;
	const PGresult *res, *why;

	if (r->status != DB_OK) {
		api_db_failed(c, r);
		return;
	}
	res = r->results[0];
	if (PQntuples(res) == 1) {
		api_reply(c, 201, json_pack("{s:s, s:s, s:s}", "token", s->token,
		    "role", PQgetvalue(res, 0, 0), "expires_at", PQgetvalue(res, 0, 1)));
		return;
	}
	why = r->results[1];
	if (PQntuples(why) == 1 && pgrow_bool(why, 0, 0))
		api_problem(c, 410, "signin-link-used", "Sign-in link already used",
		    "this sign-in link has been used; ask for a new one (recalld token link)");
	else if (PQntuples(why) == 1 && pgrow_bool(why, 0, 1))
		api_problem(c, 410, "signin-link-expired", "Sign-in link expired",
		    "this sign-in link has expired; ask for a new one (recalld token link)");
	else
		api_problem(c, 401, "unauthorized", "Unauthorized",
		    "this sign-in link is not valid (or its teacher no longer is)");
}

static void
signin_post(struct api_call *c)
{
	struct signin *s;
	const char *code = NULL;
	char code_hash[TOKEN_HASH_HEX], tok_hash[TOKEN_HASH_HEX];
	char code_bytea[TOKEN_HASH_HEX + 2], tok_bytea[TOKEN_HASH_HEX + 2];
	char wall[40], ttl[48];
	const char *p[5];
	json_t *v;
	db_req *req;

	if (c->body == NULL || !json_is_object(c->body)) {
		api_problem(c, 400, "malformed-json", "Malformed JSON",
		    "send {\"code\": \"rcs_...\"}, the code of a sign-in link");
		return;
	}
	api_fields_only(c, "a sign-in (only code)", (const char *const[]){ "code", NULL });
	v = json_object_get(c->body, "code");
	if (v == NULL || !json_is_string(v))
		api_field_error(c, "code", "is required: the code of a sign-in link");
	else
		code = json_string_value(v);
	if (api_has_errors(c)) {
		api_validation_failed(c);
		return;
	}
	if (!token_signin_parse(code, &c->school_id)) {
		api_problem(c, 401, "unauthorized", "Unauthorized", "this sign-in link is not valid");
		return;
	}
	snprintf(c->school, sizeof c->school, "%" PRId64, c->school_id);
	s = c->state = xcalloc(1, sizeof *s);
	if (!token_generate(c->school_id, s->token, sizeof s->token)) {
		api_problem(c, 500, "internal", "Internal error", "no randomness for a session");
		return;
	}
	token_hash_hex(code, code_hash);
	token_hash_hex(s->token, tok_hash);
	snprintf(code_bytea, sizeof code_bytea, "\\x%s", code_hash);
	snprintf(tok_bytea, sizeof tok_bytea, "\\x%s", tok_hash);
	clock_format_iso(clock_wall_us(), wall, sizeof wall);
	snprintf(ttl, sizeof ttl, "%" PRId64 " milliseconds", c->app->cfg->dashboard_session_ttl_ms);
	p[0] = c->school;
	p[1] = code_bytea;
	p[2] = wall;
	p[3] = tok_bytea;
	p[4] = ttl;
	req = api_req_new(c);
	db_req_add(req, signin_sql, 5, p);
	db_req_add(req, signin_why_sql, 5, p);
	api_submit(c, req, signin_done);
}

/* ---- POST /v1/auth/signout ---- */

static void
signout_done(struct api_call *c, const struct db_reply *r)
{
	if (r->status != DB_OK) {
		api_db_failed(c, r);
		return;
	}
	/* This daemon forgets at once; the NOTIFY tells the others. */
	token_cache_clear(c->app->tokens);
	api_reply(c, 200, json_pack("{s:b}", "signed_out", PQntuples(r->results[0]) > 0));
}

/*
 * Ends a dashboard session. A long-lived token pasted into the sign-in
 * form is left alone: the page only forgets it (revoking it is the
 * school's decision, `recalld token revoke`).
 */
static void
signout_post(struct api_call *c)
{
	char id[24], wall[40];
	const char *p[3] = { c->school, id, wall };

	snprintf(id, sizeof id, "%" PRId64, c->token_id);
	clock_format_iso(clock_wall_us(), wall, sizeof wall);
	api_query_db(c, "WITH r AS (UPDATE api_token SET revoked_at = $3::timestamptz"
	    " WHERE school_id = $1 AND token_id = $2::bigint AND expires_at IS NOT NULL"
	    " AND revoked_at IS NULL RETURNING token_id)"
	    " SELECT pg_notify('recalld_tokens', token_id::text) FROM r", 3, p, signout_done);
}

/* ---- GET /v1/me ---- */

static const char me_sql[] =
    "SELECT json_build_object("
    " 'role', t.role,"
    " 'school', json_build_object('id', s.school_id, 'name', s.name, 'tz', s.tz,"
    "   'local_date', ($3::timestamptz AT TIME ZONE s.tz)::date),"
    " 'teacher', (SELECT json_build_object('id', te.teacher_id, 'external_id', te.external_id,"
    "   'given_name', te.given_name, 'family_name', te.family_name)"
    "   FROM teacher te WHERE te.school_id = t.school_id AND te.teacher_id = t.teacher_id),"
    " 'expires_at', t.expires_at)::text"
    " FROM api_token t JOIN school s ON s.school_id = t.school_id"
    " WHERE t.school_id = $1 AND t.token_id = $2::bigint";

static void
me_get(struct api_call *c)
{
	char id[24];
	const char *p[3] = { c->school, id, c->now };

	snprintf(id, sizeof id, "%" PRId64, c->token_id);
	api_query_db(c, me_sql, 3, p, api_reply_row);
}

void
session_routes(http_server *s)
{
	api_route_public(s, EVHTTP_REQ_POST, "/v1/auth/signin", signin_post);
	api_route(s, EVHTTP_REQ_POST, "/v1/auth/signout", ROLES_ALL, signout_post);
	api_route(s, EVHTTP_REQ_GET, "/v1/me", ROLES_ALL, me_get);
}
