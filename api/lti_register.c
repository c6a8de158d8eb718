/*
 * lti_register.c: LTI Dynamic Registration 1.0 (GET /lti/register). An
 * admin gives the LMS a one-time URL (`recalld lti register-link`); the
 * LMS opens it with its openid_configuration (and a registration token).
 * recalld fetches the configuration off the loop, checks that it is the
 * issuer's own, posts its registration (login, launch and JWKS URLs, the
 * grants, private_key_jwt, the grade and roster scopes, deep linking) and
 * keeps the platform with the client and deployment ids the LMS returns,
 * spending the token in the same transaction. The closing page tells the
 * LMS's window it is done (its one script allowed by hash).
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <sys/queue.h>
#include <jansson.h>
#include <openssl/sha.h>

#include "ags.h"
#include "answer_page.h"
#include "api.h"
#include "b64.h"
#include "hfetch.h"
#include "log.h"
#include "lti.h"
#include "util.h"

/* The page that tells the platform's window registration is over (Dynamic Registration §3.6). */
static const char close_script[] =
    "(window.opener || window.parent).postMessage({subject: 'org.imsglobal.lti.close'}, '*');";

struct reg {
	http_ctx *ctx;
	struct app *app;
	char school_s[24];
	char token_h[LTI_HASH_BYTEA];
	char *config_url, *reg_token, *base;
	json_t *config;
	char *client_id, *deployment_id;
};

static void
reg_free(struct reg *g)
{
	free(g->config_url);
	free(g->reg_token);
	free(g->base);
	json_decref(g->config);
	free(g->client_id);
	free(g->deployment_id);
	free(g);
}

static const char *
cfg_url(const json_t *c, const char *k)
{
	const char *v = json_string_value(json_object_get(c, k));

	return v != NULL && strlen(v) <= 2000 && (strncmp(v, "https://", 8) == 0 ||
	    strncmp(v, "http://", 7) == 0) && strcspn(v, " \t\r\n") == strlen(v) ? v : NULL;
}

static void
reg_stored(const struct db_reply *r, void *arg)
{
	struct reg *g = arg;
	struct evbuffer *b;
	struct evkeyvalq *h;
	unsigned char md[32];
	char b64[B64_SIZE(32)], *csp = NULL;
	const char *old, *name;

	if (r->status != DB_OK) {
		lti_refused(g->app, g->ctx, 503, "recalld could not keep the registration just now; try again.");
		goto out;
	}
	if (PQntuples(r->results[0]) == 0) {
		lti_refused(g->app, g->ctx, 401, "This registration link was used or has expired; ask the"
		    " school's recalld administrator for a new one (recalld lti register-link).");
		goto out;
	}
	name = json_string_value(json_object_get(json_object_get(g->config,
	    "https://purl.imsglobal.org/spec/lti-platform-configuration"), "product_family_code"));
	log_info("lti", "platform registered", "school=%s platform=%s client_id=\"%s\"", g->school_s,
	    PQgetvalue(r->results[0], 0, 0), g->client_id);
	b = evbuffer_new();
	answer_page_start(b, "recalld is registered");
	lti_put(b, "<h1>recalld is registered</h1>\n<p>");
	if (name != NULL) {
		answer_page_escape(b, name);
		lti_put(b, " can now open recalld.");
	} else {
		lti_put(b, "Your LMS can now open recalld.");
	}
	lti_put(b, " You may close this window.</p>\n<script>");
	lti_put(b, close_script);
	lti_put(b, "</script>\n");
	answer_page_end(b);
	/* its one script, by hash */
	SHA256((const unsigned char *)close_script, strlen(close_script), md);
	if (!b64_encode(md, sizeof md, b64, sizeof b64))
		b64[0] = '\0';
	h = evhttp_request_get_output_headers(http_ctx_req(g->ctx));
	answer_page_headers_framed(h, g->app->cfg->lti_frame_ancestors);
	old = evhttp_find_header(h, "Content-Security-Policy");
	if (old != NULL) {
		csp = xasprintf("%s; script-src 'sha256-%s'", old, b64);
		evhttp_remove_header(h, "Content-Security-Policy");
		evhttp_add_header(h, "Content-Security-Policy", csp);
	}
	evhttp_remove_header(h, "Cache-Control");
	evhttp_remove_header(h, "X-Content-Type-Options");
	http_reply(g->ctx, 200, "text/html; charset=utf-8", b);
	evbuffer_free(b);
	free(csp);
out:
	reg_free(g);
}

static void
registered(const struct hfetch_reply *r, void *arg)
{
	struct reg *g = arg;
	json_t *j = NULL, *tool;
	const char *cid, *dep, *p[9];
	char why[512], dep_arr[300];

	if (r->status == 200 || r->status == 201)
		j = json_loadb(r->body, r->len, 0, NULL);
	cid = json_string_value(json_object_get(j, "client_id"));
	tool = json_object_get(j, "https://purl.imsglobal.org/spec/lti-tool-configuration");
	dep = json_string_value(json_object_get(tool, "deployment_id"));
	if (cid == NULL || cid[0] == '\0' || strlen(cid) > 500 || dep == NULL || dep[0] == '\0' ||
	    strlen(dep) > 255 || strpbrk(dep, "\"\\{},") != NULL) {
		snprintf(why, sizeof why, "The LMS did not register recalld: %s.", r->error != NULL ?
		    r->error : r->status != 200 && r->status != 201 ? "it answered an error" :
		    "its answer has no client_id or deployment_id");
		lti_refused(g->app, g->ctx, 502, why);
		json_decref(j);
		reg_free(g);
		return;
	}
	g->client_id = xstrdup(cid);
	g->deployment_id = xstrdup(dep);
	json_decref(j);
	snprintf(dep_arr, sizeof dep_arr, "{\"%s\"}", g->deployment_id);
	p[0] = g->school_s;
	p[1] = g->token_h;
	p[2] = json_string_value(json_object_get(json_object_get(g->config,
	    "https://purl.imsglobal.org/spec/lti-platform-configuration"), "product_family_code"));
	p[3] = json_string_value(json_object_get(g->config, "issuer"));
	p[4] = g->client_id;
	p[5] = dep_arr;
	p[6] = cfg_url(g->config, "authorization_endpoint");
	p[7] = cfg_url(g->config, "token_endpoint");
	p[8] = cfg_url(g->config, "jwks_uri");
	/* the token is spent in the transaction that keeps the platform */
	db_query(g->app->db,
	    "WITH t AS (UPDATE lti_registration SET used_at = now() WHERE school_id = $1"
	    "  AND hash = $2::bytea AND used_at IS NULL AND expires_at > now() RETURNING school_id),"
	    " pl AS (INSERT INTO lti_platform (school_id, name, issuer, client_id, deployment_ids,"
	    "  auth_url, token_url, jwks_url, created_at, updated_at)"
	    "  SELECT school_id, left($3, 200), $4, $5, $6::text[], $7, $8, $9, now(), now() FROM t"
	    "  ON CONFLICT (school_id, issuer, client_id) DO UPDATE SET deployment_ids ="
	    "   ARRAY(SELECT DISTINCT unnest(lti_platform.deployment_ids || EXCLUDED.deployment_ids)),"
	    "   auth_url = EXCLUDED.auth_url, token_url = EXCLUDED.token_url,"
	    "   jwks_url = EXCLUDED.jwks_url, jwks = NULL, updated_at = now() RETURNING platform_id)"
	    " SELECT platform_id FROM pl", 9, p, reg_stored, g);
}

static void
config_got(const struct hfetch_reply *r, void *arg)
{
	struct reg *g = arg;
	struct hfetch_opts o = { 0 };
	json_t *body;
	const char *iss, *regurl;
	char *text, *auth = NULL, *host, *launch, *login;
	size_t hn;

	if (r->status == 200)
		g->config = json_loadb(r->body, r->len, 0, NULL);
	iss = json_string_value(json_object_get(g->config, "issuer"));
	regurl = cfg_url(g->config, "registration_endpoint");
	if (iss == NULL || strlen(iss) > 500 || regurl == NULL ||
	    cfg_url(g->config, "authorization_endpoint") == NULL ||
	    cfg_url(g->config, "token_endpoint") == NULL || cfg_url(g->config, "jwks_uri") == NULL) {
		lti_refused(g->app, g->ctx, 502, r->error != NULL ? r->error : "The LMS's OpenID configuration"
		    " lacks its issuer or its authorization, token, JWKS or registration endpoint.");
		reg_free(g);
		return;
	}
	/* the configuration must be the issuer's own (Dynamic Registration §3.5.1) */
	if (strncmp(g->config_url, iss, strlen(iss)) != 0) {
		lti_refused(g->app, g->ctx, 400, "The LMS's OpenID configuration is not under its issuer.");
		reg_free(g);
		return;
	}
	host = g->base + (strncmp(g->base, "https://", 8) == 0 ? 8 : 7);
	hn = strcspn(host, "/:");
	launch = xasprintf("%s/lti/%s/launch", g->base, g->school_s);
	login = xasprintf("%s/lti/%s/login", g->base, g->school_s);
	body = json_pack("{s:s, s:[s], s:[s, s], s:s, s:[s], s:s, s:s+, s:s, s:s,"
	    " s:{s:s%, s:s, s:[s, s], s:s, s:[{s:s, s:s, s:s}]}}",
	    "application_type", "web", "response_types", "id_token",
	    "grant_types", "implicit", "client_credentials", "initiate_login_uri", login,
	    "redirect_uris", launch, "client_name", "recalld", "jwks_uri", g->base, "/lti/jwks",
	    "token_endpoint_auth_method", "private_key_jwt", "scope", AGS_SCOPES,
	    "https://purl.imsglobal.org/spec/lti-tool-configuration",
	    "domain", host, hn, "target_link_uri", launch, "claims", "iss", "sub",
	    "description", "Spaced retrieval practice: daily questions and each pupil's level",
	    "messages", "type", "LtiDeepLinkingRequest", "target_link_uri", launch, "label", "recalld");
	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	if (g->reg_token != NULL)
		auth = xasprintf("Bearer %s", g->reg_token);
	o.method = "POST";
	o.url = regurl;
	o.body = text;
	o.content_type = "application/json";
	o.accept = "application/json";
	o.authorization = auth;
	o.allow_private = g->app->cfg->lti_allow_private;
	o.timeout_ms = 15000;
	hfetch_start(g->app->fetch, &o, registered, g);
	free(text);
	free(auth);
	free(launch);
	free(login);
}

static void
reg_token_checked(const struct db_reply *r, void *arg)
{
	struct reg *g = arg;
	struct hfetch_opts o = { 0 };

	if (r->status != DB_OK) {
		lti_db_away(g->app, g->ctx);
		reg_free(g);
		return;
	}
	if (PQntuples(r->results[0]) == 0) {
		lti_refused(g->app, g->ctx, 401, "This registration link was used or has expired; ask the"
		    " school's recalld administrator for a new one (recalld lti register-link).");
		reg_free(g);
		return;
	}
	o.url = g->config_url;
	o.accept = "application/json";
	o.allow_private = g->app->cfg->lti_allow_private;
	o.timeout_ms = 15000;
	o.max_body = 256 * 1024;
	hfetch_start(g->app->fetch, &o, config_got, g);
}

void
lti_register_handler(http_ctx *ctx, void *app_, const void *data)
{
	struct app *app = app_;
	struct evkeyvalq kv;
	const char *school, *token, *conf, *rt, *p[2];
	struct reg *g;
	char *end;
	long long sid;

	(void)data;
	TAILQ_INIT(&kv);
	if (!lti_read_params(ctx, &kv)) {
		lti_refused(app, ctx, 400, "This registration request could not be read.");
		goto out;
	}
	school = lti_param(&kv, "school");
	token = lti_param(&kv, "token");
	conf = lti_param(&kv, "openid_configuration");
	rt = lti_param(&kv, "registration_token");
	sid = school != NULL ? strtoll(school, &end, 10) : 0;
	if (school == NULL || *end != '\0' || sid <= 0 || token == NULL || conf == NULL ||
	    (strncmp(conf, "https://", 8) != 0 && strncmp(conf, "http://", 7) != 0)) {
		lti_refused(app, ctx, 400, "A registration needs the link recalld made (school and token) and"
		    " the LMS's openid_configuration URL.");
		goto out;
	}
	g = xcalloc(1, sizeof *g);
	g->ctx = ctx;
	g->app = app;
	snprintf(g->school_s, sizeof g->school_s, "%lld", sid);
	lti_hash_bytea(token, g->token_h);
	g->config_url = xstrdup(conf);
	g->reg_token = rt != NULL ? xstrdup(rt) : NULL;
	g->base = lti_public_base(app);
	p[0] = g->school_s;
	p[1] = g->token_h;
	db_query(app->db, "SELECT 1 FROM lti_registration WHERE school_id = $1 AND hash = $2::bytea"
	    " AND used_at IS NULL AND expires_at > now()", 2, p, reg_token_checked, g);
out:
	evhttp_clear_headers(&kv);
}
