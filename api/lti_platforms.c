/*
 * lti_platforms.c: /v1/lti/platforms (admin): the school's LMS as an LTI
 * 1.3 platform, as `recalld lti add|list|remove` does on the command line.
 * Every answer carries the tool's own URLs for the LMS administrator.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "util.h"

/* The platform's row as JSON; $1 school, $2 platform, $3 our public URL. */
#define PLATFORM_JSON \
	"json_build_object('id', p.platform_id, 'name', p.name, 'issuer', p.issuer," \
	" 'client_id', p.client_id, 'deployment_ids', p.deployment_ids, 'auth_url', p.auth_url," \
	" 'token_url', p.token_url, 'jwks_url', p.jwks_url, 'jwks_fetched_at', p.jwks_fetched_at," \
	" 'created_at', p.created_at, 'updated_at', p.updated_at," \
	" 'tool', json_build_object('login_url', $3 || '/lti/' || p.school_id || '/login'," \
	"  'launch_url', $3 || '/lti/' || p.school_id || '/launch'," \
	"  'redirect_uris', json_build_array($3 || '/lti/' || p.school_id || '/launch')," \
	"  'jwks_url', $3 || '/lti/jwks'))"

static const char *const fields[] = {
	"name", "issuer", "client_id", "deployment_ids", "auth_url", "token_url", "jwks_url", NULL
};

static char *
base_of(const struct api_call *c)
{
	const char *u = c->app->cfg->http_public_url;
	size_t n = strlen(u);

	while (n > 0 && u[n - 1] == '/')
		n--;
	return xstrndup(u, n);
}

static void
check_text(struct api_call *c, const char *f, size_t max, bool required)
{
	json_t *v = json_object_get(c->body, f);

	if (v == NULL) {
		if (required)
			api_field_error(c, f, "is required");
		return;
	}
	if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > max)
		api_field_error(c, f, "must be a text of 1 to %zu characters", max);
}

static void
check_url(struct api_call *c, const char *f, bool required)
{
	json_t *v = json_object_get(c->body, f);
	const char *s = json_string_value(v);

	if (v == NULL) {
		if (required)
			api_field_error(c, f, "is required: the LMS's URL from its tool registration");
		return;
	}
	if (s == NULL || (strncmp(s, "https://", 8) != 0 && strncmp(s, "http://", 7) != 0) ||
	    strlen(s) > 2000 || strcspn(s, " \t\r\n") != strlen(s))
		api_field_error(c, f, "must be an http(s) URL of at most 2000 characters");
}

static void
check_body(struct api_call *c, bool create)
{
	json_t *d = json_object_get(c->body, "deployment_ids"), *e;
	size_t i;

	api_fields_only(c, "an LTI platform", fields);
	if (json_object_get(c->body, "name") != NULL && !json_is_null(json_object_get(c->body, "name")))
		check_text(c, "name", 200, false);
	check_text(c, "issuer", 500, create);
	check_text(c, "client_id", 500, create);
	check_url(c, "auth_url", create);
	check_url(c, "token_url", create);
	check_url(c, "jwks_url", create);
	if (d == NULL) {
		if (create)
			api_field_error(c, "deployment_ids", "is required: the LMS's deployment id(s)");
		return;
	}
	if (!json_is_array(d) || json_array_size(d) == 0 || json_array_size(d) > 50) {
		api_field_error(c, "deployment_ids", "must be a list of 1 to 50 deployment ids");
		return;
	}
	json_array_foreach(d, i, e)
		if (!json_is_string(e) || json_string_length(e) == 0 || json_string_length(e) > 255) {
			api_field_error(c, "deployment_ids", "each must be a text of 1 to 255 characters");
			return;
		}
}

/* Parameters $1..$10 from the body: school, id, base, then the fields (NULL when absent). */
static void
body_params(struct api_call *c, const char *p[10], char **deps)
{
	json_t *d = json_object_get(c->body, "deployment_ids");

	*deps = d != NULL ? json_dumps(d, JSON_COMPACT) : NULL;
	p[3] = json_string_value(json_object_get(c->body, "name"));
	p[4] = json_string_value(json_object_get(c->body, "issuer"));
	p[5] = json_string_value(json_object_get(c->body, "client_id"));
	p[6] = *deps;
	p[7] = json_string_value(json_object_get(c->body, "auth_url"));
	p[8] = json_string_value(json_object_get(c->body, "token_url"));
	p[9] = json_string_value(json_object_get(c->body, "jwks_url"));
}

static void
platforms_list(struct api_call *c)
{
	char *base = base_of(c);
	const char *p[3] = { c->school, NULL, base };

	api_query_db(c, "SELECT json_build_object('items', coalesce(json_agg(" PLATFORM_JSON
	    " ORDER BY p.platform_id), '[]'))::text"
	    " FROM lti_platform p WHERE p.school_id = $1 AND $2::bigint IS NULL", 3, p, api_reply_row);
	free(base);
}

static void
platform_get(struct api_call *c)
{
	char *base = base_of(c);
	const char *p[3] = { c->school, api_param(c, "id"), base };
	int64_t id;

	if (api_param_id(c, "id", &id))
		api_query_db(c, "SELECT " PLATFORM_JSON "::text FROM lti_platform p"
		    " WHERE p.school_id = $1 AND p.platform_id = $2::bigint", 3, p, api_reply_row);
	free(base);
}

static void
platform_create(struct api_call *c)
{
	const char *p[10];
	char *base, *deps;

	if (c->body == NULL || !json_is_object(c->body))
		api_field_error(c, "issuer", "send the platform as a JSON object");
	else
		check_body(c, true);
	if (api_has_errors(c)) {
		api_validation_failed(c);
		return;
	}
	base = base_of(c);
	p[0] = c->school;
	p[1] = NULL;
	p[2] = base;
	body_params(c, p, &deps);
	c->status = 201;
	api_query_db(c, "WITH p AS (INSERT INTO lti_platform (school_id, name, issuer, client_id,"
	    " deployment_ids, auth_url, token_url, jwks_url, created_at, updated_at)"
	    " SELECT $1, $4, $5, $6, ARRAY(SELECT json_array_elements_text($7::json)), $8, $9, $10,"
	    "  now(), now() WHERE $2::bigint IS NULL RETURNING *)"
	    " SELECT " PLATFORM_JSON "::text FROM p", 10, p, api_reply_row);
	free(deps);
	free(base);
}

static void
platform_patch(struct api_call *c)
{
	const char *p[10];
	char *base, *deps;
	int64_t id;

	if (!api_param_id(c, "id", &id))
		return;
	if (c->body == NULL || !json_is_object(c->body) || json_object_size(c->body) == 0)
		api_field_error(c, "issuer", "send the fields to change as a JSON object");
	else
		check_body(c, false);
	if (api_has_errors(c)) {
		api_validation_failed(c);
		return;
	}
	base = base_of(c);
	p[0] = c->school;
	p[1] = api_param(c, "id");
	p[2] = base;
	body_params(c, p, &deps);
	/* a new JWKS URL: the keys cached from the old one go */
	api_query_db(c, "WITH p AS (UPDATE lti_platform SET name = CASE WHEN $4::text IS NULL THEN name"
	    "  ELSE $4 END, issuer = coalesce($5, issuer), client_id = coalesce($6, client_id),"
	    " deployment_ids = CASE WHEN $7::text IS NULL THEN deployment_ids"
	    "  ELSE ARRAY(SELECT json_array_elements_text($7::json)) END,"
	    " auth_url = coalesce($8, auth_url), token_url = coalesce($9, token_url),"
	    " jwks = CASE WHEN $10::text IS NULL OR $10 = jwks_url THEN jwks END,"
	    " jwks_fetched_at = CASE WHEN $10::text IS NULL OR $10 = jwks_url THEN jwks_fetched_at END,"
	    " jwks_url = coalesce($10, jwks_url), updated_at = now()"
	    " WHERE school_id = $1 AND platform_id = $2::bigint RETURNING *)"
	    " SELECT " PLATFORM_JSON "::text FROM p", 10, p, api_reply_row);
	free(deps);
	free(base);
}

static void
platform_delete(struct api_call *c)
{
	char *base = base_of(c);
	const char *p[3] = { c->school, api_param(c, "id"), base };
	int64_t id;

	/* its logins, users and course links go with it (ON DELETE CASCADE) */
	if (api_param_id(c, "id", &id))
		api_query_db(c, "DELETE FROM lti_platform p WHERE p.school_id = $1"
		    " AND p.platform_id = $2::bigint RETURNING " PLATFORM_JSON "::text", 3, p,
		    api_reply_row);
	free(base);
}

void
lti_platforms_routes(http_server *s)
{
	api_route(s, EVHTTP_REQ_GET, "/v1/lti/platforms", ROLE_ADMIN, platforms_list);
	api_route(s, EVHTTP_REQ_POST, "/v1/lti/platforms", ROLE_ADMIN, platform_create);
	api_route(s, EVHTTP_REQ_GET, "/v1/lti/platforms/{id}", ROLE_ADMIN, platform_get);
	api_route(s, EVHTTP_REQ_PATCH, "/v1/lti/platforms/{id}", ROLE_ADMIN, platform_patch);
	api_route(s, EVHTTP_REQ_DELETE, "/v1/lti/platforms/{id}", ROLE_ADMIN, platform_delete);
}
