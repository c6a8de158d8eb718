/* api.c: authentication, bodies, problems and database errors for /v1. */
#include "autoconf.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <sys/queue.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "api.h"
#include "audit.h"
#include "settings.h"
#include "clock.h"
#include "log.h"
#include "scope.h"
#include "token.h"
#include "util.h"

/* One registered /v1 route: roles and handler, kept for the wrapper. */
struct api_route_def {
	char pattern[160];	/* for the access audit */
	bool pupil_route;	/* /v1/pupils/{id}...: {id} is a pupil's */
	unsigned roles;
	api_handler h;
	bool raw;		/* the body is not JSON: the handler reads it */
	bool reads_replica;	/* may read database.read_url (api_route_reads) */
};

/* The wrapper's state per call, before the handler runs. */
struct call_priv {
	struct api_call pub;
	const struct api_route_def *def;
	void (*next)(struct api_call *c, const struct db_reply *r);
	char token_hash[TOKEN_HASH_HEX];
	struct evkeyvalq query;
	bool query_parsed;
	char *idem_key;		/* Idempotency-Key of a POST seen for the first time */
	char idem_hash[65];	/* SHA-256 of method, URI and body */
	int idem_status;	/* the answer, kept while it is being stored */
	char *idem_body;
	db_pool *pool;		/* where this call's statements go, chosen once */
	bool audited;		/* a person's token: an audit entry when answered */
	const char *method;	/* taken before the answer frees the request */
	char peer[64];
	int64_t object_id;	/* the path's {id}, 0 without one */
	bool pupil_route;
};

static struct call_priv *
priv(struct api_call *c)
{
	return (struct call_priv *)c;	/* pub is the first member */
}

static void
call_free(struct api_call *c, int status)
{
	struct call_priv *p = priv(c);

	if (p->audited && c->app->audit != NULL)
		audit_add(c->app->audit, &(struct audit_entry){ .school_id = c->school_id,
		    .token_id = c->token_id, .role = c->role == ROLE_ADMIN ? "admin" : "teacher",
		    .method = p->method,
		    .route = p->def->pattern, .object_id = p->object_id, .pupil = p->pupil_route,
		    .status = status, .addr = p->peer, .at = c->now });

	if (c->req != NULL)
		db_cancel(c->req);
	json_decref(c->body);
	json_decref(c->errors);
	free(c->state);
	if (p->query_parsed)
		evhttp_clear_headers(&p->query);
	free(p->idem_key);
	free(p->idem_body);
	free(p);
}

static void
idem_stored(const struct db_reply *r, void *arg)
{
	struct api_call *c = arg;
	struct call_priv *p = priv(c);

	c->req = NULL;
	/* Answer even if storing failed: the work itself is committed. */
	if (r->status != DB_OK)
		log_warnx("api", "idempotency key not stored", "err=\"%s\"", r->error);
	http_reply_text(c->ctx, p->idem_status, "application/json", p->idem_body);
	call_free(c, p->idem_status);
}

/*
 * The answer as kept for a replay: member (a secret) replaced by a note
 * that it was shown once. The database, its dumps and a replay never see it.
 */
static char *
without_secret(const char *json, const char *member)
{
	json_t *j = json_loads(json, 0, NULL);
	char *s;

	if (!json_is_object(j) || json_object_get(j, member) == NULL) {
		json_decref(j);
		return NULL;
	}
	json_object_set_new(j, member, json_string(API_SECRET_SHOWN));
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return s;
}

void
api_reply_raw(struct api_call *c, int status, const char *json)
{
	struct call_priv *p = priv(c);
	const char *params[6];
	char st[8], *kept;

	if (p->idem_key == NULL || status < 200 || status > 299) {
		http_reply_text(c->ctx, status, "application/json", json);
		call_free(c, status);
		return;
	}
	/* Keep the answer for a retry with the same key, then answer. */
	p->idem_status = status;
	p->idem_body = xstrdup(json);
	kept = c->secret_member != NULL ? without_secret(json, c->secret_member) : NULL;
	snprintf(st, sizeof st, "%d", status);
	params[0] = c->school;
	params[1] = p->idem_key;
	params[2] = p->idem_hash;
	params[3] = st;
	params[4] = kept != NULL ? kept : json;
	params[5] = c->now;
	c->req = db_query(c->app->db,
	    "INSERT INTO idempotency (school_id, key, request_hash, status, body, created_at)"
	    " VALUES ($1, $2, $3, $4::integer, $5, $6::timestamptz) ON CONFLICT DO NOTHING",
	    6, params, idem_stored, c);
	free(kept);	/* db_query copied it */
}

void
api_reply(struct api_call *c, int status, json_t *body)
{
	char *s = json_dumps(body, JSON_COMPACT);

	json_decref(body);
	api_reply_raw(c, status, s ? s : "{}");
	free(s);
}

void
api_reply_file(struct api_call *c, int fd, const char *content_type, const char *filename)
{
	struct evbuffer *b = evbuffer_new();
	struct stat st;
	char disp[160];

	if (b == NULL || fstat(fd, &st) != 0 || evbuffer_add_file(b, fd, 0, st.st_size) != 0) {
		if (b != NULL)
			evbuffer_free(b);
		close(fd);
		api_problem(c, 503, "unavailable", "Service unavailable", "the file could not be sent");
		return;
	}
	snprintf(disp, sizeof disp, "attachment; filename=\"%s\"", filename);
	evhttp_add_header(evhttp_request_get_output_headers(http_ctx_req(c->ctx)),
	    "Content-Disposition", disp);
	http_reply(c->ctx, 200, content_type, b);
	evbuffer_free(b);
	call_free(c, 200);
}

void
api_problem(struct api_call *c, int status, const char *type, const char *title,
    const char *detail)
{
	http_problem(c->ctx, status, type, title, detail);
	call_free(c, status);
}

#define PAGE_DEFAULT 100
#define PAGE_MAX 500

void
api_reply_row_of(struct api_call *c, const struct db_reply *r, int i)
{
	const PGresult *res;

	if (r->status != DB_OK) {
		api_db_failed(c, r);
		return;
	}
	res = r->results[i];
	if (res == NULL || PQntuples(res) == 0 || PQgetisnull(res, 0, 0)) {
		api_problem(c, 404, "not-found", "Not found", "no such object in this school");
		return;
	}
	api_reply_raw(c, c->status ? c->status : 200, PQgetvalue(res, 0, 0));
}

void
api_settings_refused(struct api_call *c, const char *who, const struct settings_error *e)
{
	char detail[320];

	settings_warn(who, e);
	settings_error_text(e, detail, sizeof detail);
	api_problem(c, 500, "internal", "Internal error", detail);
}

bool
api_id_params(struct api_call *c, const char *p[4])
{
	int64_t id;

	if (!api_param_id(c, "id", &id))
		return false;
	p[0] = c->school;
	p[1] = api_param(c, "id");
	p[2] = scope_teacher(c);
	p[3] = c->now;
	return true;
}

void
api_row_by_id(struct api_call *c, const char *sql, int n)
{
	const char *p[4];

	if (api_id_params(c, p))
		api_query_db(c, sql, n, p, api_reply_row);
}

void
api_reply_row(struct api_call *c, const struct db_reply *r)
{
	api_reply_row_of(c, r, 0);
}

void
api_reply_page(struct api_call *c, const struct db_reply *r)
{
	const PGresult *res;
	struct evbuffer *b;
	int rows, shown, limit = c->page_limit > 0 ? c->page_limit : PAGE_DEFAULT;
	size_t n;
	char *s;

	if (r->status != DB_OK) {
		api_db_failed(c, r);
		return;
	}
	res = r->results[0];
	rows = PQntuples(res);
	shown = rows > limit ? limit : rows;
	b = evbuffer_new();
	evbuffer_add_printf(b, "{\"items\":[");
	for (int i = 0; i < shown; i++)
		evbuffer_add_printf(b, "%s%s", i ? "," : "", PQgetvalue(res, i, 0));
	if (rows > limit)
		evbuffer_add_printf(b, "],\"next_cursor\":\"%s\"}", PQgetvalue(res, shown - 1, 1));
	else
		evbuffer_add_printf(b, "],\"next_cursor\":null}");
	n = evbuffer_get_length(b);
	s = xmalloc(n + 1);
	evbuffer_remove(b, s, n);
	s[n] = '\0';
	evbuffer_free(b);
	api_reply_raw(c, 200, s);
	free(s);
}

void
api_page_params(struct api_call *c, char **cursor)
{
	const char *limit = api_query(c, "limit"), *cur = api_query(c, "cursor");
	char *end;

	c->page_limit = PAGE_DEFAULT;
	*cursor = NULL;
	if (limit != NULL) {
		long n = strtol(limit, &end, 10);
		if (*limit == '\0' || *end != '\0' || n < 1 || n > PAGE_MAX)
			api_field_error(c, "limit", "must be an integer from 1 to %d", PAGE_MAX);
		else
			c->page_limit = (int)n;
	}
	if (cur != NULL) {
		long long n;

		errno = 0;
		n = strtoll(cur, &end, 10);
		if (*cur == '\0' || *end != '\0' || n < 0 || errno == ERANGE)
			api_field_error(c, "cursor", "is not a cursor this API gave out");
		else
			*cursor = xasprintf("%lld", n);
	}
}

void
api_problem_doc(struct api_call *c, int status, json_t *doc)
{
	char *s;

	json_object_set_new(doc, "instance", json_string(
	    evhttp_request_get_uri(http_ctx_req(c->ctx))));
	s = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	http_reply_text(c->ctx, status, "application/problem+json", s ? s : "{}");
	free(s);
	call_free(c, status);
}

void
api_field_error(struct api_call *c, const char *field, const char *fmt, ...)
{
	va_list ap;
	char *msg;
	json_t *e;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	if (c->errors == NULL)
		c->errors = json_array();
	e = json_pack("{s:s, s:s}", "field", field, "detail", msg);
	json_array_append_new(c->errors, e);
	free(msg);
}

void
api_fields_only(struct api_call *c, const char *what, const char *const *known)
{
	const char *key;
	json_t *v;

	json_object_foreach(c->body, key, v) {
		const char *const *k = known;

		while (*k != NULL && strcmp(*k, key) != 0)
			k++;
		if (*k == NULL)
			api_field_error(c, key, "is not a field of %s", what);
	}
}

bool
api_has_errors(const struct api_call *c)
{
	return c->errors != NULL && json_array_size(c->errors) > 0;
}

void
api_validation_failed(struct api_call *c)
{
	json_t *p = json_object();
	char *s;

	json_object_set_new(p, "type", json_string("/problems/validation-failed"));
	json_object_set_new(p, "title", json_string("Validation failed"));
	json_object_set_new(p, "status", json_integer(422));
	json_object_set_new(p, "detail", json_string(
	    "some fields are missing or wrong; see errors"));
	json_object_set_new(p, "instance", json_string(
	    evhttp_request_get_uri(http_ctx_req(c->ctx))));
	json_object_set(p, "errors", c->errors ? c->errors : json_array());
	s = json_dumps(p, JSON_COMPACT);
	json_decref(p);
	http_reply_text(c->ctx, 422, "application/problem+json", s);
	free(s);
	call_free(c, 422);
}

const char *
api_param(struct api_call *c, const char *name)
{
	return http_ctx_param(c->ctx, name);
}

bool
api_param_id(struct api_call *c, const char *name, int64_t *out)
{
	const char *s = api_param(c, name);
	char *end;
	long long v;

	if (s == NULL || *s < '1' || *s > '9' || strlen(s) > 18)
		goto bad;
	v = strtoll(s, &end, 10);
	if (*end != '\0')
		goto bad;
	*out = v;
	return true;
bad:
	/* A malformed id cannot exist: the same 404 as a missing one. */
	api_problem(c, 404, "not-found", "Not found", "no such object in this school");
	return false;
}

const char *
api_query(struct api_call *c, const char *name)
{
	struct call_priv *p = priv(c);

	if (!p->query_parsed) {
		const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(http_ctx_req(c->ctx));
		const char *q = u ? evhttp_uri_get_query(u) : NULL;

		TAILQ_INIT(&p->query);
		p->query_parsed = true;
		if (q != NULL && evhttp_parse_query_str(q, &p->query) != 0)
			evhttp_clear_headers(&p->query);
	}
	return evhttp_find_header(&p->query, name);
}

/* Constraint names follow <table>_<column>_fk, so a violation names its field. */
static void
constraint_field(const char *constraint, const char *table, char *out, size_t len)
{
	size_t tl = strlen(table), cl;

	out[0] = '\0';
	if (constraint == NULL || strncmp(constraint, table, tl) != 0 || constraint[tl] != '_')
		return;
	cl = strlen(constraint);
	if (cl < tl + 4 || strcmp(constraint + cl - 3, "_fk") != 0)
		return;
	snprintf(out, len, "%.*s", (int)(cl - tl - 4), constraint + tl + 1);
}

void
api_db_failed(struct api_call *c, const struct db_reply *r)
{
	const PGresult *res = NULL;
	const char *constraint = NULL, *table = NULL;
	char field[64];

	if (r->status == DB_UNAVAILABLE) {
		api_problem(c, 503, "database-unavailable", "Database unavailable",
		    "the database cannot be reached right now; retry shortly");
		return;
	}
	for (int i = 0; i < r->nresults; i++) {
		if (r->results[i] != NULL &&
		    PQresultStatus(r->results[i]) == PGRES_FATAL_ERROR) {
			res = r->results[i];
			break;
		}
	}
	if (res != NULL) {
		constraint = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);
		table = PQresultErrorField(res, PG_DIAG_TABLE_NAME);
	}
	if (strcmp(r->sqlstate, "23503") == 0) {	/* foreign_key_violation */
		constraint_field(constraint, table ? table : "", field, sizeof field);
		api_field_error(c, field[0] ? field : "reference",
		    "refers to something that does not exist in this school");
		api_validation_failed(c);
		return;
	}
	if (strcmp(r->sqlstate, "23505") == 0) {	/* unique_violation */
		api_problem(c, 409, "conflict", "Conflict",
		    "an object with this external_id (or key) already exists");
		return;
	}
	if (strcmp(r->sqlstate, "23514") == 0 || strcmp(r->sqlstate, "23502") == 0 ||
	    strncmp(r->sqlstate, "22", 2) == 0) {
		/* check_violation, not_null, data exceptions: the values are wrong */
		const char *col = res ? PQresultErrorField(res, PG_DIAG_COLUMN_NAME) : NULL;
		size_t tl = table ? strlen(table) : 0, cl = constraint ? strlen(constraint) : 0;

		/* <table>_<column>_check names its column */
		if (col == NULL && constraint != NULL && table != NULL && cl > tl + 7 &&
		    strncmp(constraint, table, tl) == 0 && constraint[tl] == '_' &&
		    strcmp(constraint + cl - 6, "_check") == 0) {
			snprintf(field, sizeof field, "%.*s", (int)(cl - tl - 7), constraint + tl + 1);
			col = field;
		}
		/* The primary message only: the detail would echo the whole row. */
		if (constraint != NULL && strcmp(constraint, "school_tz_check") == 0)
			api_field_error(c, "tz", "is not a time zone PostgreSQL knows (an IANA name such as Europe/London)");
		else if (constraint != NULL && strcmp(constraint, "question_mcq_shape") == 0)
			api_field_error(c, "correct_choice", "must be the 0-based index of one of"
			    " the choices (a multiple choice question has 2 to 10 choices)");
		else if (constraint != NULL && strcmp(constraint, "question_short_shape") == 0)
			api_field_error(c, "accepted_answers", "must hold at least one answer for a short question");
		else
			api_field_error(c, col ? col : constraint ? constraint : "body",
			    "is not acceptable: %s", res ? PQresultErrorField(res,
			    PG_DIAG_MESSAGE_PRIMARY) : "refused by the database");
		api_validation_failed(c);
		return;
	}
	log_warnx("api", "database error", "sqlstate=%s err=\"%s\"", r->sqlstate, r->error);
	api_problem(c, 500, "internal", "Internal error",
	    "the request failed inside recalld; it has been logged");
}

static void
call_db_cb(const struct db_reply *r, void *arg)
{
	struct api_call *c = arg;

	c->req = NULL;
	priv(c)->next(c, r);
}

db_req *
api_req_new(struct api_call *c)
{
	return db_req_new(call_db_cb, c);
}

void
api_submit(struct api_call *c, db_req *r,
    void (*cb)(struct api_call *c, const struct db_reply *r))
{
	struct call_priv *p = priv(c);

	/* One choice per call: its reads see one database, not a mix. */
	if (p->pool == NULL)
		p->pool = p->def != NULL && p->def->reads_replica ?
		    replica_pick(c->app->reads, c->app->db) : c->app->db;
	p->next = cb;
	c->req = db_submit(p->pool, r);
}

void
api_query_db(struct api_call *c, const char *sql, int n, const char *const *params,
    void (*cb)(struct api_call *c, const struct db_reply *r))
{
	db_req *r = api_req_new(c);

	db_req_add(r, sql, n, params);
	api_submit(c, r, cb);
}

/* ---- the wrapper: token, role, body ---- */

static bool
body_ok(struct api_call *c)
{
	struct evhttp_request *req = http_ctx_req(c->ctx);
	enum evhttp_cmd_type m = evhttp_request_get_command(req);
	struct evbuffer *in;
	const char *ct;
	json_error_t jerr;
	size_t len;

	if (m != EVHTTP_REQ_POST && m != EVHTTP_REQ_PATCH && m != EVHTTP_REQ_PUT)
		return true;
	in = evhttp_request_get_input_buffer(req);
	len = evbuffer_get_length(in);
	if (len == 0 && m == EVHTTP_REQ_POST)
		return true;	/* actions such as .../taught may carry no body */
	ct = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
	if (ct == NULL || strncasecmp(ct, "application/json", 16) != 0 ||
	    (ct[16] != '\0' && ct[16] != ';' && ct[16] != ' ')) {
		api_problem(c, 415, "unsupported-media-type", "Unsupported media type",
		    "send the body as Content-Type: application/json");
		return false;
	}
	c->body = json_loadb((const char *)evbuffer_pullup(in, -1), len,
	    JSON_REJECT_DUPLICATES, &jerr);
	if (c->body == NULL) {
		char detail[256];
		snprintf(detail, sizeof detail, "the body is not valid JSON: %s (line %d, column %d)",
		    jerr.text, jerr.line, jerr.column);
		api_problem(c, 400, "malformed-json", "Malformed JSON", detail);
		return false;
	}
	if (!json_is_object(c->body)) {
		api_problem(c, 400, "malformed-json", "Malformed JSON",
		    "the body must be a JSON object");
		return false;
	}
	return true;
}

static void
idem_checked(struct api_call *c, const struct db_reply *r)
{
	struct call_priv *p = priv(c);
	const PGresult *res;

	if (r->status != DB_OK) {
		api_db_failed(c, r);
		return;
	}
	res = r->results[0];
	if (PQntuples(res) == 0) {
		p->def->h(c);	/* first time: do it, and remember the answer */
		return;
	}
	free(p->idem_key);
	p->idem_key = NULL;
	if (strcmp(PQgetvalue(res, 0, 0), p->idem_hash) != 0) {
		api_problem(c, 422, "idempotency-key-reused", "Idempotency key reused",
		    "this Idempotency-Key was used with a different request");
		return;
	}
	evhttp_add_header(evhttp_request_get_output_headers(http_ctx_req(c->ctx)),
	    "Idempotent-Replayed", "true");
	api_reply_raw(c, atoi(PQgetvalue(res, 0, 1)), PQgetvalue(res, 0, 2));
}

/* POST with Idempotency-Key: a repeat gets the first answer, not a second effect. */
static bool
idempotency_begin(struct api_call *c)
{
	struct call_priv *p = priv(c);
	struct evhttp_request *req = http_ctx_req(c->ctx);
	const char *key = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Idempotency-Key");
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	EVP_MD_CTX *md;
	unsigned char h[EVP_MAX_MD_SIZE];
	unsigned int hl = 0;
	const char *params[2];
	size_t n;

	if (key == NULL || evhttp_request_get_command(req) != EVHTTP_REQ_POST)
		return false;
	n = strlen(key);
	for (size_t i = 0; i < n; i++)
		if (key[i] < 0x21 || key[i] > 0x7e)
			n = 0;
	if (n == 0 || n > 200) {
		api_problem(c, 400, "bad-idempotency-key", "Bad Idempotency-Key",
		    "an Idempotency-Key is 1 to 200 printable ASCII characters");
		return true;
	}
	md = EVP_MD_CTX_new();
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	EVP_DigestUpdate(md, evhttp_request_get_uri(req), strlen(evhttp_request_get_uri(req)));
	EVP_DigestUpdate(md, "\n", 1);
	EVP_DigestUpdate(md, evbuffer_pullup(in, -1), evbuffer_get_length(in));
	EVP_DigestFinal_ex(md, h, &hl);
	EVP_MD_CTX_free(md);
	for (unsigned int i = 0; i < hl && i < 32; i++)
		snprintf(p->idem_hash + 2 * i, 3, "%02x", h[i]);
	p->idem_key = xstrdup(key);
	params[0] = c->school;
	params[1] = key;
	api_query_db(c, "SELECT request_hash, status, body FROM idempotency"
	    " WHERE school_id = $1 AND key = $2", 2, params, idem_checked);
	return true;
}

static void
unauthorized(struct api_call *c, const char *detail)
{
	evhttp_add_header(evhttp_request_get_output_headers(http_ctx_req(c->ctx)),
	    "WWW-Authenticate", "Bearer realm=\"recalld\"");
	api_problem(c, 401, "unauthorized", "Unauthorized", detail);
}

/* The token is good: role, body, idempotency, then the handler. */
static void
authorized(struct api_call *c)
{
	struct call_priv *p = priv(c);

	/* A path with %00 never gets here: http.c refuses NULs for every route. */
	/* The access audit: every call a person makes (integration tokens are counted). */
	if (c->role == ROLE_INTEGRATION) {
		if (c->app->audit != NULL)
			audit_count_integration(c->app->audit);
	} else {
		const char *id = http_ctx_param(c->ctx, "id");

		p->audited = true;
		p->method = http_ctx_method(c->ctx);
		util_strlcpy(p->peer, http_ctx_peer(c->ctx), sizeof p->peer);
		p->pupil_route = p->def->pupil_route;
		p->object_id = id != NULL ? strtoll(id, NULL, 10) : 0;
		if (p->object_id < 0)
			p->object_id = 0;
	}
	if (!(p->def->roles & c->role)) {
		api_problem(c, 403, "forbidden", "Forbidden",
		    "this token's role may not do this");
		return;
	}
	if ((!p->def->raw && !body_ok(c)) || idempotency_begin(c))
		return;
	p->def->h(c);
}

static void
set_identity(struct api_call *c, const struct token_identity *id)
{
	c->token_id = id->token_id;
	c->role = (enum api_role)id->role;
	c->teacher_id = id->teacher_id;
	if (id->teacher_id > 0)
		snprintf(c->teacher, sizeof c->teacher, "%" PRId64, id->teacher_id);
}

static void
auth_cb(struct api_call *c, const struct db_reply *r)
{
	struct call_priv *p = priv(c);
	struct token_identity id = { 0 };
	const PGresult *res;
	const char *role;

	if (r->status != DB_OK) {
		api_db_failed(c, r);
		return;
	}
	res = r->results[0];
	if (PQntuples(res) != 1) {
		unauthorized(c, "the token is unknown, revoked or expired");
		return;
	}
	id.school_id = c->school_id;
	id.token_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	role = PQgetvalue(res, 0, 1);
	id.role = strcmp(role, "admin") == 0 ? ROLE_ADMIN :
	    strcmp(role, "teacher") == 0 ? ROLE_TEACHER : ROLE_INTEGRATION;
	if (!PQgetisnull(res, 0, 2))
		id.teacher_id = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
	if (!PQgetisnull(res, 0, 3))
		id.expires_us = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
	token_cache_put(c->app->tokens, p->token_hash, util_mono_ms(), &id);
	set_identity(c, &id);
	authorized(c);
}

static void
route_cb(http_ctx *ctx, void *arg, const void *route_data)
{
	struct app *app = arg;
	struct call_priv *p = xcalloc(1, sizeof *p);
	struct api_call *c = &p->pub;
	struct evhttp_request *req = http_ctx_req(ctx);
	const char *auth = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Authorization");
	char bytea[TOKEN_HASH_HEX + 2], wall[40];
	const char *params[3];
	struct token_identity id;

	p->def = route_data;
	c->ctx = ctx;
	c->app = app;
	clock_now_iso(c->now, sizeof c->now);
	if (p->def->roles == 0) {	/* public: no token, no idempotency */
		if (body_ok(c))
			p->def->h(c);
		return;
	}
	if (auth == NULL || strncasecmp(auth, "Bearer ", 7) != 0) {
		unauthorized(c, "send Authorization: Bearer <token>");
		return;
	}
	auth += 7;
	while (*auth == ' ')
		auth++;
	if (!token_parse(auth, &c->school_id)) {
		unauthorized(c, "the token is malformed");
		return;
	}
	snprintf(c->school, sizeof c->school, "%" PRId64, c->school_id);
	token_hash_hex(auth, p->token_hash);
	/* A cached session past its end goes back to the database (which says 401). */
	if (token_cache_get(app->tokens, p->token_hash, util_mono_ms(), &id) &&
	    id.school_id == c->school_id &&
	    (id.expires_us == 0 || id.expires_us > clock_wall_us())) {
		set_identity(c, &id);
		authorized(c);
		return;
	}
	snprintf(bytea, sizeof bytea, "\\x%s", p->token_hash);
	/* Sessions end in real time, whatever the school's clock says. */
	clock_format_iso(clock_wall_us(), wall, sizeof wall);
	params[0] = c->school;
	params[1] = bytea;
	params[2] = wall;
	api_query_db(c,
	    "SELECT t.token_id, t.role, t.teacher_id,"
	    " (extract(epoch FROM t.expires_at) * 1000000)::bigint FROM api_token t"
	    " JOIN school s ON s.school_id = t.school_id AND s.active"
	    " WHERE t.school_id = $1 AND t.hash = $2::bytea AND t.revoked_at IS NULL"
	    " AND (t.expires_at IS NULL OR t.expires_at > $3::timestamptz)",
	    3, params, auth_cb);
}

static void
route_add(http_server *s, enum evhttp_cmd_type method, const char *pattern,
    unsigned roles, api_handler h, bool raw, bool from_replica)
{
	struct api_route_def *d = xcalloc(1, sizeof *d);

	util_strlcpy(d->pattern, pattern, sizeof d->pattern);
	d->pupil_route = strncmp(pattern, "/v1/pupils/{id}", 15) == 0;
	d->roles = roles;
	d->h = h;
	d->raw = raw;
	d->reads_replica = from_replica;
	http_route_data(s, method, pattern, route_cb, d);
}

static void
dump_route(const char *method, const char *pattern, http_handler fn, void *data, void *arg)
{
	const struct api_route_def *d = data;
	FILE *out = arg;

	fprintf(out, "%s %s ", method, pattern);
	if (fn != route_cb)
		fputs("-\n", out);
	else if (d->roles == 0)
		fputs("public\n", out);
	else
		fprintf(out, "%s%s%s%s%s\n", d->roles & ROLE_ADMIN ? "admin" : "",
		    (d->roles & ROLE_ADMIN) && (d->roles & ~ROLE_ADMIN) ? "," : "",
		    d->roles & ROLE_TEACHER ? "teacher" : "",
		    (d->roles & ROLE_TEACHER) && (d->roles & ROLE_INTEGRATION) ? "," : "",
		    d->roles & ROLE_INTEGRATION ? "integration" : "");
}

void
api_routes_dump(const http_server *s, FILE *out)
{
	http_server_each_route(s, dump_route, out);
}

void
api_route(http_server *s, enum evhttp_cmd_type method, const char *pattern,
    unsigned roles, api_handler h)
{
	route_add(s, method, pattern, roles, h, false, false);
}

void
api_route_public(http_server *s, enum evhttp_cmd_type method, const char *pattern,
    api_handler h)
{
	route_add(s, method, pattern, 0, h, false, false);
}

void
api_route_reads(http_server *s, enum evhttp_cmd_type method, const char *pattern,
    unsigned roles, api_handler h)
{
	route_add(s, method, pattern, roles, h, false, true);
}

void
api_route_raw(http_server *s, enum evhttp_cmd_type method, const char *pattern,
    unsigned roles, api_handler h)
{
	route_add(s, method, pattern, roles, h, true, false);
}
