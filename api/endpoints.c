/* endpoints.c: /v1/endpoints and /v1/deliveries (see endpoints.h). */
#include "autoconf.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <curl/curl.h>

#include "api.h"
#include "endpoints.h"
#include "event.h"
#include "outbox.h"
#include "pgrow.h"
#include "push.h"
#include "sign.h"
#include "ssrf.h"
#include "util.h"

#define URL_MAX 2000
#define ADMIN_REASON "disabled by an admin"

/* The JSON of endpoint alias e: never its secrets. */
#define ENDPOINT_JSON \
	"json_build_object('id', e.endpoint_id, 'url', e.url, 'format', e.format," \
	" 'event_types', to_json(e.event_types), 'class_id', e.class_id, 'enabled', e.enabled," \
	" 'disabled_reason', e.disabled_reason, 'failing_since', e.failing_since," \
	" 'previous_secret_until', e.previous_secret_until, 'created_at', e.created_at)"

/* The JSON of delivery alias d, without its payload. */
#define DELIVERY_JSON \
	"json_build_object('id', d.delivery_id, 'endpoint_id', d.endpoint_id," \
	" 'event_type', d.event_type, 'webhook_id', d.webhook_id, 'status', d.status," \
	" 'attempts', d.attempts, 'next_attempt_at', d.next_attempt_at," \
	" 'created_at', d.created_at, 'delivered_at', d.delivered_at," \
	" 'last_http_status', l.http_status, 'last_error', l.error)"

#define LAST_ATTEMPT \
	" LEFT JOIN LATERAL (SELECT a.http_status, a.error FROM delivery_attempt a" \
	" WHERE a.school_id = d.school_id AND a.delivery_id = d.delivery_id" \
	" ORDER BY a.attempt DESC LIMIT 1) l ON true"


static void
not_found(struct api_call *c)
{
	api_problem(c, 404, "not-found", "Not found", "no such object in this school");
}

static void
wake_sender(struct api_call *c)
{
	if (c->app->push != NULL)
		push_wake(c->app->push, c->school_id);
}

/* ---- validating an endpoint's fields ---- */

static bool
host_blocked(const char *host, char *why, size_t len)
{
	struct sockaddr_in in4 = { .sin_family = AF_INET };
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6 };
	char h[INET6_ADDRSTRLEN + 2];
	size_t n = strlen(host);

	if (n > 2 && host[0] == '[' && host[n - 1] == ']' && n - 2 < sizeof h) {
		memcpy(h, host + 1, n - 2);
		h[n - 2] = '\0';
	} else {
		util_strlcpy(h, host, sizeof h);
	}
	if (inet_pton(AF_INET, h, &in4.sin_addr) == 1)
		return ssrf_addr_blocked((struct sockaddr *)&in4, why, len);
	if (inet_pton(AF_INET6, h, &in6.sin6_addr) == 1)
		return ssrf_addr_blocked((struct sockaddr *)&in6, why, len);
	if (strcasecmp(h, "localhost") == 0 || (n > 10 && strcasecmp(h + n - 10, ".localhost") == 0)) {
		snprintf(why, len, "loopback name %s", h);
		return true;
	}
	return false;
}

/* An absolute http(s) URL with a host; the normalised form into *out. */
static void
check_url(struct api_call *c, json_t *v, char **out)
{
	const char *s;
	CURLU *u;
	char *scheme = NULL, *host = NULL, *norm = NULL, why[160];

	*out = NULL;
	if (!json_is_string(v) || json_string_length(v) == 0) {
		api_field_error(c, "url", "must be an http or https URL");
		return;
	}
	s = json_string_value(v);
	if (strlen(s) != json_string_length(v) || strlen(s) > URL_MAX) {
		api_field_error(c, "url", "must be a URL of at most %d characters", URL_MAX);
		return;
	}
	for (const char *p = s; *p != '\0'; p++) {
		if ((unsigned char)*p <= 0x20 || *p == 0x7f) {
			api_field_error(c, "url", "may not contain spaces or control characters");
			return;
		}
	}
	u = curl_url();
	if (curl_url_set(u, CURLUPART_URL, s, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
		api_field_error(c, "url", "must be an absolute http or https URL");
		goto done;
	}
	if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || host[0] == '\0') {
		api_field_error(c, "url", "must name a host");
		goto done;
	}
	if (!c->app->cfg->webhooks_allow_private && host_blocked(host, why, sizeof why)) {
		api_field_error(c, "url", "points to a %s (webhooks.allow_private is false)", why);
		goto done;
	}
	if (curl_url_get(u, CURLUPART_URL, &norm, 0) != CURLUE_OK || strlen(norm) > URL_MAX) {
		api_field_error(c, "url", "must be a valid URL");
		goto done;
	}
	*out = xstrdup(norm);
done:
	curl_free(scheme);
	curl_free(host);
	curl_free(norm);
	curl_url_cleanup(u);
}

static void
check_format(struct api_call *c, json_t *v, char **out)
{
	enum event_format f;

	*out = NULL;
	if (!json_is_string(v) || !event_format_parse(json_string_value(v), &f)) {
		api_field_error(c, "format", "must be one of: json, slack, teams");
		return;
	}
	*out = xstrdup(event_format_names[f]);
}

/* A subset of the known event types, as a text[] literal ("{}" = all). */
static void
check_event_types(struct api_call *c, json_t *v, char **out)
{
	size_t i, n = 0;
	json_t *e;
	const char *seen[16];
	char *lit = xstrdup("{"), *next;

	*out = NULL;
	if (!json_is_array(v) || json_array_size(v) > 16) {
		api_field_error(c, "event_types", "must be an array of event types ([] for all)");
		free(lit);
		return;
	}
	json_array_foreach(v, i, e) {
		const char *t = json_is_string(e) ? json_string_value(e) : NULL;
		bool dup = false;

		if (t == NULL || !event_type_known(t)) {
			api_field_error(c, "event_types", "item %zu is not one of: prompt.batch,"
			    " response.feedback, mastery.changed, topic.flagged, digest.teacher,"
			    " endpoint.disabled", i);
			free(lit);
			return;
		}
		for (size_t k = 0; k < n; k++)
			dup |= strcmp(seen[k], t) == 0;
		if (dup)
			continue;
		seen[n] = t;
		next = xasprintf("%s%s%s", lit, n ? "," : "", t);
		free(lit);
		lit = next;
		n++;
	}
	*out = xasprintf("%s}", lit);
	free(lit);
}

static void
check_class(struct api_call *c, json_t *v, char **out)
{
	*out = NULL;
	if (json_is_null(v))
		return;
	if (!json_is_integer(v) || json_integer_value(v) < 1) {
		api_field_error(c, "class_id", "must be a class id or null");
		return;
	}
	*out = xasprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
}

struct ep_fields {
	char *url, *format, *event_types, *class_id, *enabled;
	bool has_class;
};

static void
fields_free(struct ep_fields *f)
{
	free(f->url);
	free(f->format);
	free(f->event_types);
	free(f->class_id);
	free(f->enabled);
}

static void
read_fields(struct api_call *c, struct ep_fields *f, bool create)
{
	const char *key;
	json_t *v;

	memset(f, 0, sizeof *f);
	json_object_foreach(c->body, key, v) {
		if (strcmp(key, "url") == 0)
			check_url(c, v, &f->url);
		else if (strcmp(key, "format") == 0)
			check_format(c, v, &f->format);
		else if (strcmp(key, "event_types") == 0)
			check_event_types(c, v, &f->event_types);
		else if (strcmp(key, "class_id") == 0) {
			f->has_class = true;
			check_class(c, v, &f->class_id);
		} else if (strcmp(key, "enabled") == 0 && !create) {
			if (!json_is_boolean(v))
				api_field_error(c, "enabled", "must be true or false");
			else
				f->enabled = xstrdup(json_is_true(v) ? "true" : "false");
		} else if (strcmp(key, "secret") == 0 || strcmp(key, "id") == 0) {
			api_field_error(c, key, "cannot be set");
		} else {
			api_field_error(c, key, "is not a field of an endpoint");
		}
	}
	if (create && json_object_get(c->body, "url") == NULL)
		api_field_error(c, "url", "is required");
}

static bool
need_body(struct api_call *c)
{
	if (c->body != NULL)
		return true;
	api_problem(c, 400, "malformed-json", "Malformed JSON",
	    "send the endpoint as a JSON object, e.g. {\"url\": \"https://...\", \"format\": \"json\"}");
	return false;
}

/* ---- /v1/endpoints ---- */

static void
endpoints_list(struct api_call *c)
{
	char *cursor;
	char lim[16];
	const char *p[3];

	api_page_params(c, &cursor);
	if (api_has_errors(c)) {
		free(cursor);
		api_validation_failed(c);
		return;
	}
	snprintf(lim, sizeof lim, "%d", c->page_limit + 1);
	p[0] = c->school;
	p[1] = cursor;
	p[2] = lim;
	api_query_db(c, "SELECT " ENDPOINT_JSON "::text, e.endpoint_id FROM endpoint e"
	    " WHERE e.school_id = $1 AND ($2::bigint IS NULL OR e.endpoint_id > $2::bigint)"
	    " ORDER BY e.endpoint_id LIMIT $3::int", 3, p, api_reply_page);
	free(cursor);
}

static void
created(struct api_call *c, const struct db_reply *r)
{
	if (r->status == DB_OK && PQntuples(r->results[0]) == 0) {
		api_field_error(c, "class_id", "refers to no class of this school");
		api_validation_failed(c);
		return;
	}
	api_reply_row_of(c, r, 0);
}

/* What the database keeps of a new secret: sealed under secrets.key_file, or (without one) itself. */
static char *
stored_secret(struct api_call *c, const char *secret)
{
	return c->app->secrets != NULL ? secretbox_seal(c->app->secrets, secret) : xstrdup(secret);
}

static void
endpoint_create(struct api_call *c)
{
	struct ep_fields f;
	char *secret, *stored;
	const char *p[8];

	if (!need_body(c))
		return;
	read_fields(c, &f, true);
	if (api_has_errors(c)) {
		fields_free(&f);
		api_validation_failed(c);
		return;
	}
	secret = sign_secret_new();
	stored = stored_secret(c, secret);
	p[0] = c->school;
	p[1] = f.url;
	p[2] = f.format ? f.format : "json";
	p[3] = f.event_types ? f.event_types : "{}";
	p[4] = f.class_id;
	p[5] = stored;
	p[6] = c->now;
	p[7] = secret;	/* for the answer only: never stored */
	c->status = 201;
	/* The secret is in this answer and never again (not in a replay either). */
	c->secret_member = "secret";
	api_query_db(c,
	    "INSERT INTO endpoint AS e (school_id, url, format, event_types, class_id, enabled,"
	    " secret, created_at) SELECT $1::bigint, $2, $3, $4::text[], $5::bigint, true, $6,"
	    " $7::timestamptz WHERE $5::bigint IS NULL OR EXISTS (SELECT 1 FROM class k"
	    " WHERE k.school_id = $1::bigint AND k.class_id = $5::bigint)"
	    " RETURNING (" ENDPOINT_JSON "::jsonb || jsonb_build_object('secret', $8::text))::text",
	    8, p, created);
	memset(secret, 0, strlen(secret));
	free(secret);
	free(stored);
	fields_free(&f);
}

static void
endpoint_get(struct api_call *c)
{
	api_row_by_id(c, "SELECT " ENDPOINT_JSON "::text FROM endpoint e"
	    " WHERE e.school_id = $1 AND e.endpoint_id = $2::bigint", 2);
}

static void
updated(struct api_call *c, const struct db_reply *r)
{
	if (r->status == DB_OK && PQntuples(r->results[0]) == 0) {
		not_found(c);
		return;
	}
	if (r->status == DB_OK && PQntuples(r->results[1]) == 0) {
		api_field_error(c, "class_id", "refers to no class of this school");
		api_validation_failed(c);
		return;
	}
	api_reply_row_of(c, r, 1);
}

/*
 * Disabling kills the endpoint's pending deliveries (they can be retried
 * once it is enabled again); enabling clears the reason and the failures.
 */
static const char endpoint_update_sql[] =
    "UPDATE endpoint e SET url = coalesce($3, e.url), format = coalesce($4, e.format),"
    " event_types = coalesce($5::text[], e.event_types),"
    " class_id = CASE WHEN $6::boolean THEN $7::bigint ELSE e.class_id END,"
    " enabled = coalesce($8::boolean, e.enabled),"
    " disabled_reason = CASE WHEN $8::boolean IS NULL THEN e.disabled_reason"
    "  WHEN $8::boolean THEN NULL WHEN e.enabled THEN '" ADMIN_REASON "' ELSE e.disabled_reason END,"
    " failing_since = CASE WHEN $8::boolean AND NOT e.enabled THEN NULL ELSE e.failing_since END"
    " WHERE e.school_id = $1::bigint AND e.endpoint_id = $2::bigint"
    " AND (NOT $6::boolean OR $7::bigint IS NULL OR EXISTS (SELECT 1 FROM class k"
    "  WHERE k.school_id = $1::bigint AND k.class_id = $7::bigint))"
    " RETURNING " ENDPOINT_JSON "::text";

static const char endpoint_exists_sql[] =
    "SELECT 1 FROM endpoint WHERE school_id = $1::bigint AND endpoint_id = $2::bigint FOR UPDATE";

static const char kill_pending_sql[] =
    "UPDATE delivery d SET status = 'dead', lease_until = NULL FROM endpoint e"
    " WHERE d.school_id = $1::bigint AND d.endpoint_id = $2::bigint AND d.status = 'pending'"
    " AND e.school_id = d.school_id AND e.endpoint_id = d.endpoint_id AND NOT e.enabled";

static void
endpoint_update(struct api_call *c)
{
	struct ep_fields f;
	int64_t id;
	const char *p[8];
	db_req *r;

	if (!api_param_id(c, "id", &id) || !need_body(c))
		return;
	read_fields(c, &f, false);
	if (api_has_errors(c)) {
		fields_free(&f);
		api_validation_failed(c);
		return;
	}
	p[0] = c->school;
	p[1] = api_param(c, "id");
	p[2] = f.url;
	p[3] = f.format;
	p[4] = f.event_types;
	p[5] = f.has_class ? "true" : "false";
	p[6] = f.class_id;
	p[7] = f.enabled;
	r = api_req_new(c);
	db_req_add(r, endpoint_exists_sql, 2, p);
	db_req_add(r, endpoint_update_sql, 8, p);
	db_req_add(r, kill_pending_sql, 2, p);
	api_submit(c, r, updated);
	fields_free(&f);
}

static void
endpoint_delete(struct api_call *c)
{
	int64_t id;
	const char *p[2];
	db_req *r;

	if (!api_param_id(c, "id", &id))
		return;
	p[0] = c->school;
	p[1] = api_param(c, "id");
	r = api_req_new(c);
	db_req_add(r, "UPDATE endpoint e SET enabled = false, disabled_reason ="
	    " CASE WHEN e.enabled THEN '" ADMIN_REASON "' ELSE e.disabled_reason END"
	    " WHERE e.school_id = $1::bigint AND e.endpoint_id = $2::bigint"
	    " RETURNING " ENDPOINT_JSON "::text", 2, p);
	db_req_add(r, kill_pending_sql, 2, p);
	api_submit(c, r, api_reply_row);
}

static void
endpoint_rotate(struct api_call *c)
{
	int64_t id;
	const char *p[5];
	char *secret, *stored;

	if (!api_param_id(c, "id", &id))
		return;
	secret = sign_secret_new();
	stored = stored_secret(c, secret);
	p[0] = c->school;
	p[1] = api_param(c, "id");
	p[2] = c->now;
	p[3] = stored;
	p[4] = secret;	/* for the answer only */
	c->secret_member = "secret";
	/* The old secret keeps signing beside the new one for 24 hours. */
	api_query_db(c, "UPDATE endpoint e SET previous_secret = e.secret,"
	    " previous_secret_until = $3::timestamptz + interval '24 hours', secret = $4"
	    " WHERE e.school_id = $1::bigint AND e.endpoint_id = $2::bigint"
	    " RETURNING json_build_object('id', e.endpoint_id, 'secret', $5::text,"
	    " 'previous_secret_until', e.previous_secret_until)::text", 5, p, api_reply_row);
	memset(secret, 0, strlen(secret));
	free(secret);
	free(stored);
}

static void
tested(struct api_call *c, const struct db_reply *r)
{
	const PGresult *res;

	if (r->status != DB_OK) {
		api_db_failed(c, r);
		return;
	}
	if (PQntuples(r->results[0]) == 0) {
		not_found(c);
		return;
	}
	res = r->results[1];
	if (PQntuples(res) == 0) {
		api_problem(c, 409, "endpoint-disabled", "Endpoint disabled",
		    "enable the endpoint (PATCH {\"enabled\": true}) before testing it");
		return;
	}
	wake_sender(c);
	c->status = 202;
	api_reply(c, 202, json_pack("{s:I, s:s, s:s}",
	    "delivery_id", (json_int_t)pgrow_i64(res, 0, 0),
	    "webhook_id", PQgetvalue(res, 0, 1), "event_type", EVENT_PING));
}

static void
endpoint_test(struct api_call *c)
{
	int64_t id;
	const char *p[2];
	db_req *r;
	json_t *data;
	struct outbox_event ev;

	if (!api_param_id(c, "id", &id))
		return;
	p[0] = c->school;
	p[1] = api_param(c, "id");
	data = json_pack("{s:s, s:I}", "message", "This is a test event from recalld.",
	    "endpoint_id", (json_int_t)id);
	ev = (struct outbox_event){ .school_id = c->school, .type = EVENT_PING, .data = data,
	    .now = c->now, .endpoint_id = p[1] };
	r = api_req_new(c);
	db_req_add(r, "SELECT 1 FROM endpoint WHERE school_id = $1::bigint"
	    " AND endpoint_id = $2::bigint", 2, p);
	outbox_enqueue_sql(r, &ev);
	api_submit(c, r, tested);
	json_decref(data);
}

/* ---- /v1/deliveries ---- */

static const char *const delivery_statuses[] = { "pending", "delivered", "dead", NULL };

static void
deliveries_list(struct api_call *c)
{
	const char *status = api_query(c, "status"), *ep = api_query(c, "endpoint_id");
	char *cursor, *endpoint = NULL, *end, lim[16];
	const char *p[5];
	bool ok = status == NULL;

	api_page_params(c, &cursor);
	for (int i = 0; status != NULL && delivery_statuses[i] != NULL; i++)
		ok |= strcmp(status, delivery_statuses[i]) == 0;
	if (!ok)
		api_field_error(c, "status", "must be pending, delivered or dead");
	if (ep != NULL) {
		long long n = strtoll(ep, &end, 10);
		if (*ep == '\0' || *end != '\0' || n < 1)
			api_field_error(c, "endpoint_id", "must be an endpoint id");
		else
			endpoint = xasprintf("%lld", n);
	}
	if (api_has_errors(c)) {
		free(cursor);
		free(endpoint);
		api_validation_failed(c);
		return;
	}
	snprintf(lim, sizeof lim, "%d", c->page_limit + 1);
	p[0] = c->school;
	p[1] = status;
	p[2] = endpoint;
	p[3] = cursor;
	p[4] = lim;
	/* Newest first; the cursor is the last id shown. */
	api_query_db(c, "SELECT " DELIVERY_JSON "::text, d.delivery_id FROM delivery d" LAST_ATTEMPT
	    " WHERE d.school_id = $1::bigint AND ($2::text IS NULL OR d.status = $2::text)"
	    " AND ($3::bigint IS NULL OR d.endpoint_id = $3::bigint)"
	    " AND ($4::bigint IS NULL OR d.delivery_id < $4::bigint)"
	    " ORDER BY d.delivery_id DESC LIMIT $5::int", 5, p, api_reply_page);
	free(cursor);
	free(endpoint);
}

static void
delivery_get(struct api_call *c)
{
	api_row_by_id(c, "SELECT (" DELIVERY_JSON "::jsonb || jsonb_build_object("
	    "'payload', d.payload::jsonb, 'attempt_log', coalesce((SELECT json_agg(json_build_object("
	    "'attempt', a.attempt, 'at', a.at, 'http_status', a.http_status,"
	    " 'latency_ms', a.latency_ms, 'error', a.error, 'response_head', a.response_head)"
	    " ORDER BY a.attempt) FROM delivery_attempt a WHERE a.school_id = d.school_id"
	    " AND a.delivery_id = d.delivery_id), '[]')))::text"
	    " FROM delivery d" LAST_ATTEMPT
	    " WHERE d.school_id = $1::bigint AND d.delivery_id = $2::bigint", 2);
}

static void
retried(struct api_call *c, const struct db_reply *r)
{
	const PGresult *res;

	if (r->status != DB_OK) {
		api_db_failed(c, r);
		return;
	}
	res = r->results[0];
	if (PQntuples(res) == 0) {
		not_found(c);
		return;
	}
	if (strcmp(PQgetvalue(res, 0, 0), "delivered") == 0) {
		api_problem(c, 409, "already-delivered", "Already delivered",
		    "this delivery was delivered; nothing to retry");
		return;
	}
	if (!pgrow_bool(res, 0, 1)) {
		api_problem(c, 409, "endpoint-disabled", "Endpoint disabled",
		    "enable the endpoint (PATCH {\"enabled\": true}) before retrying its deliveries");
		return;
	}
	wake_sender(c);
	api_reply_row_of(c, r, 2);
}

static void
delivery_retry(struct api_call *c)
{
	int64_t id;
	const char *p[3];
	db_req *r;

	if (!api_param_id(c, "id", &id))
		return;
	p[0] = c->school;
	p[1] = api_param(c, "id");
	p[2] = c->now;
	r = api_req_new(c);
	db_req_add(r, "SELECT d.status, e.enabled FROM delivery d JOIN endpoint e"
	    " ON e.school_id = d.school_id AND e.endpoint_id = d.endpoint_id"
	    " WHERE d.school_id = $1::bigint AND d.delivery_id = $2::bigint FOR UPDATE OF d", 2, p);
	/* A pending one keeps its lease: a transfer in flight is not doubled. */
	db_req_add(r, "UPDATE delivery d SET status = 'pending', next_attempt_at = $3::timestamptz"
	    " FROM endpoint e WHERE d.school_id = $1::bigint AND d.delivery_id = $2::bigint"
	    " AND d.status IN ('pending', 'dead') AND e.school_id = d.school_id"
	    " AND e.endpoint_id = d.endpoint_id AND e.enabled", 3, p);
	db_req_add(r, "SELECT " DELIVERY_JSON "::text FROM delivery d" LAST_ATTEMPT
	    " WHERE d.school_id = $1::bigint AND d.delivery_id = $2::bigint", 2, p);
	outbox_notify_sql(r, c->school);
	api_submit(c, r, retried);
}

void
endpoints_routes(http_server *s)
{
	api_route(s, EVHTTP_REQ_GET, "/v1/endpoints", ROLE_ADMIN, endpoints_list);
	api_route(s, EVHTTP_REQ_POST, "/v1/endpoints", ROLE_ADMIN, endpoint_create);
	api_route(s, EVHTTP_REQ_GET, "/v1/endpoints/{id}", ROLE_ADMIN, endpoint_get);
	api_route(s, EVHTTP_REQ_PATCH, "/v1/endpoints/{id}", ROLE_ADMIN, endpoint_update);
	api_route(s, EVHTTP_REQ_DELETE, "/v1/endpoints/{id}", ROLE_ADMIN, endpoint_delete);
	api_route(s, EVHTTP_REQ_POST, "/v1/endpoints/{id}/rotate-secret", ROLE_ADMIN, endpoint_rotate);
	api_route(s, EVHTTP_REQ_POST, "/v1/endpoints/{id}/test", ROLE_ADMIN, endpoint_test);
	api_route(s, EVHTTP_REQ_GET, "/v1/deliveries", ROLE_ADMIN, deliveries_list);
	api_route(s, EVHTTP_REQ_GET, "/v1/deliveries/{id}", ROLE_ADMIN, delivery_get);
	api_route(s, EVHTTP_REQ_POST, "/v1/deliveries/{id}/retry", ROLE_ADMIN, delivery_retry);
}
