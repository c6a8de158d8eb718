/*
 * lti_deeplink.c: LTI Deep Linking 2.0. A teacher's deep-linking launch
 * (lti.c keeps the request in lti_deeplink under the launch's sign-in
 * code) gets a page to choose what to place: the class's daily practice
 * or one unit's recall check. The choice comes back to
 * /lti/{school}/deep-link; recalld answers with a signed
 * LtiDeepLinkingResponse (an ltiResourceLink, custom.unit, a line item
 * where the platform offers grades, the platform's data echoed), posted
 * back by a button on a page whose form may post only to the platform.
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
#include <openssl/crypto.h>

#include "answer_page.h"
#include "api.h"
#include "clock.h"
#include "idtoken.h"
#include "log.h"
#include "lti.h"
#include "ltikey.h"
#include "pgrow.h"
#include "secretbox.h"
#include "token.h"
#include "util.h"

struct dlpage {
	http_ctx *ctx;
	struct app *app;
	char school_s[24];
	char code[TOKEN_MAX];
};

/* What to place: the class's daily practice, or one unit's recall check. */
static void
dl_units(const struct db_reply *r, void *arg)
{
	struct dlpage *x = arg;
	struct evbuffer *b;
	const PGresult *res;
	int i, n;

	if (r->status != DB_OK) {
		lti_db_away(x->app, x->ctx);
		goto out;
	}
	res = r->results[0];
	n = PQntuples(res);
	b = evbuffer_new();
	answer_page_start(b, "Add recalld to your course");
	lti_put(b, "<h1>Add recalld to your course</h1>\n");
	lti_form_start(b, x->school_s, "deep-link", "What to add");
	lti_radio(b, "choice", "practice", true, n > 0 ? "Daily retrieval practice for " :
	    "Daily retrieval practice", n > 0 ? PQgetvalue(res, 0, 2) : NULL,
	    " (each pupil's questions of the day and their levels)");
	for (i = 0; i < n; i++) {
		char value[40];

		snprintf(value, sizeof value, "unit-%s", PQgetvalue(res, i, 0));
		lti_radio(b, "choice", value, false, "A recall check on ", PQgetvalue(res, i, 1), "");
	}
	lti_form_end(b, (const char *const[]){ "code", x->code, NULL }, "Add to the course");
	answer_page_end(b);
	lti_page_send(x->app, x->ctx, 200, b);
	evbuffer_free(b);
out:
	free(x);
}

void
lti_deeplink_page(struct app *app, http_ctx *ctx, const char *school, const char *klass,
    const char *code)
{
	struct dlpage *x = xcalloc(1, sizeof *x);
	const char *p[2] = { school, klass };

	x->ctx = ctx;
	x->app = app;
	snprintf(x->school_s, sizeof x->school_s, "%s", school);
	snprintf(x->code, sizeof x->code, "%s", code);
	db_query(app->db, "SELECT u.unit_id, u.name, c.name FROM class c JOIN unit u"
	    " ON u.school_id = c.school_id AND u.course_id = c.course_id"
	    " WHERE c.school_id = $1 AND c.class_id = $2::bigint ORDER BY u.unit_id", 2, p,
	    dl_units, x);
}

struct dlchoice {
	http_ctx *ctx;
	struct app *app;
	char *unit;		/* NULL: the practice */
};

/* The LtiDeepLinkingResponse, signed, and a page whose button posts it back. */
static void
dl_found(const struct db_reply *r, void *arg)
{
	struct dlchoice *k = arg;
	const PGresult *res;
	json_t *claims = NULL, *item;
	char err[256], *priv = NULL, *jwt = NULL, *base = NULL, *url = NULL, *title = NULL;
	char *csp = NULL, origin[512], nonce[LTI_RANDOM_LEN];
	const char *ret, *old;
	struct evbuffer *b;
	struct evkeyvalq *h;
	int64_t now = clock_wall_us() / 1000000;
	size_t on;

	if (r->status != DB_OK) {
		lti_db_away(k->app, k->ctx);
		goto out;
	}
	res = r->results[0];
	if (PQntuples(res) == 0 || (k->unit != NULL && pgrow_null(res, 0, 9))) {
		lti_refused(k->app, k->ctx, 409, "This page is too old, or the unit is not one of the"
		    " course's. Add recalld from your course again.");
		goto out;
	}
	if (pgrow_null(res, 0, 7) || k->app->secrets == NULL || (priv = secretbox_open(k->app->secrets,
	    PQgetvalue(res, 0, 7), err, sizeof err)) == NULL) {
		lti_refused(k->app, k->ctx, 503, "recalld has no key to sign with: its administrator must"
		    " run `recalld lti rotate-key` (with secrets.key_file set).");
		goto out;
	}
	base = lti_public_base(k->app);
	url = xasprintf("%s/lti/%s/launch", base, PQgetvalue(res, 0, 11));
	if (k->unit != NULL)
		title = xasprintf("Recall check: %s", PQgetvalue(res, 0, 10));
	else if (!pgrow_null(res, 0, 8))
		title = xasprintf("Retrieval practice: %s", PQgetvalue(res, 0, 8));
	else
		title = xstrdup("Retrieval practice");
	item = json_pack("{s:s, s:s, s:s}", "type", "ltiResourceLink", "title", title, "url", url);
	if (k->unit != NULL) {
		json_object_set_new(item, "custom", json_pack("{s:s}", "unit", k->unit));
		/* where the platform offers grades, the unit's column with it (DL §3.4.3) */
		if (pgrow_bool(res, 0, 4))
			json_object_set_new(item, "lineItem", json_pack("{s:i, s:s+, s:s, s:s}",
			    "scoreMaximum", 100, "label", "Recall: ", PQgetvalue(res, 0, 10),
			    "resourceId", k->unit, "tag", "recalld"));
	}
	if (!lti_random_b64(nonce)) {
		json_decref(item);
		lti_refused(k->app, k->ctx, 503, "No randomness just now.");
		goto out;
	}
	claims = json_pack("{s:s, s:s, s:I, s:I, s:s, s:s, s:s, s:s, s:[o]}",
	    "iss", PQgetvalue(res, 0, 6), "aud", PQgetvalue(res, 0, 5),
	    "iat", (json_int_t)now, "exp", (json_int_t)(now + 300), "nonce", nonce,
	    LTI_CLAIM "message_type", "LtiDeepLinkingResponse", LTI_CLAIM "version", "1.3.0",
	    LTI_CLAIM "deployment_id", PQgetvalue(res, 0, 1),
	    LTI_DL_CLAIM "content_items", item);
	if (!pgrow_null(res, 0, 3))
		json_object_set_new(claims, LTI_DL_CLAIM "data", json_string(PQgetvalue(res, 0, 3)));
	jwt = ltikey_sign(priv, claims, err, sizeof err);
	if (jwt == NULL) {
		lti_refused(k->app, k->ctx, 503, err);
		goto out;
	}
	ret = PQgetvalue(res, 0, 2);
	b = evbuffer_new();
	answer_page_start(b, "Back to your course");
	lti_put(b, "<h1>Back to your course</h1>\n<p>");
	answer_page_escape(b, title);
	lti_put(b, " is ready to add.</p>\n<form method=\"post\" action=\"");
	answer_page_escape(b, ret);
	lti_put(b, "\">\n<input type=\"hidden\" name=\"JWT\" value=\"");
	answer_page_escape(b, jwt);
	lti_put(b, "\">\n<button type=\"submit\">Add it to the course</button>\n</form>\n");
	answer_page_end(b);
	/* the one form of this page posts to the platform: its origin, and only it */
	on = strcspn(ret + (strncmp(ret, "https://", 8) == 0 ? 8 : 7), "/?#") +
	    (strncmp(ret, "https://", 8) == 0 ? 8 : 7);
	snprintf(origin, sizeof origin, "%.*s", (int)(on < sizeof origin ? on : sizeof origin - 1), ret);
	h = evhttp_request_get_output_headers(http_ctx_req(k->ctx));
	answer_page_headers_framed(h, k->app->cfg->lti_frame_ancestors);
	old = evhttp_find_header(h, "Content-Security-Policy");
	if (old != NULL && strstr(old, "form-action 'self'") != NULL) {
		const char *at = strstr(old, "form-action 'self'");

		csp = xasprintf("%.*sform-action %s%s", (int)(at - old), old, origin,
		    at + strlen("form-action 'self'"));
		evhttp_remove_header(h, "Content-Security-Policy");
		evhttp_add_header(h, "Content-Security-Policy", csp);
	}
	evhttp_remove_header(h, "Cache-Control");
	evhttp_remove_header(h, "X-Content-Type-Options");
	http_reply(k->ctx, 200, "text/html; charset=utf-8", b);
	evbuffer_free(b);
	log_info("lti", "deep link", "school=%s unit=%s", PQgetvalue(res, 0, 11),
	    k->unit != NULL ? k->unit : "-");
out:
	if (priv != NULL) {
		OPENSSL_cleanse(priv, strlen(priv));
		free(priv);
	}
	json_decref(claims);
	free(csp);
	free(jwt);
	free(title);
	free(url);
	free(base);
	free(k->unit);
	free(k);
}

void
lti_deeplink_handler(http_ctx *ctx, void *app_, const void *data)
{
	struct app *app = app_;
	struct evkeyvalq kv;
	int64_t school, code_school = 0;
	char school_s[24], code_h[LTI_HASH_BYTEA];
	const char *code, *choice, *p[3];
	struct dlchoice *k;

	(void)data;
	TAILQ_INIT(&kv);
	if (!lti_school_of(ctx, &school, school_s) || !lti_read_params(ctx, &kv)) {
		lti_refused(app, ctx, 400, "This form could not be read.");
		goto out;
	}
	code = lti_param(&kv, "code");
	choice = lti_param(&kv, "choice");
	if (code == NULL || choice == NULL || !token_signin_parse(code, &code_school) ||
	    code_school != school || (strcmp(choice, "practice") != 0 &&
	    (strncmp(choice, "unit-", 5) != 0 || choice[5] == '\0' || strlen(choice) > 24 ||
	    strspn(choice + 5, "0123456789") != strlen(choice + 5)))) {
		lti_refused(app, ctx, 400, "This form is not one recalld made; add recalld from your course again.");
		goto out;
	}
	k = xcalloc(1, sizeof *k);
	k->ctx = ctx;
	k->app = app;
	k->unit = strcmp(choice, "practice") == 0 ? NULL : xstrdup(choice + 5);
	lti_hash_bytea(code, code_h);
	p[0] = school_s;
	p[1] = code_h;
	p[2] = k->unit;
	/* the request is spent here: one answer to it */
	db_query(app->db,
	    "WITH d AS (DELETE FROM lti_deeplink WHERE school_id = $1 AND code_hash = $2::bytea"
	    "  AND expires_at > now() RETURNING *)"
	    " SELECT d.platform_id, d.deployment_id, d.return_url, d.data, d.ags, pl.issuer,"
	    "  pl.client_id, k.private_sealed, c.name, u.unit_id, u.name, d.school_id"
	    " FROM d JOIN lti_platform pl ON pl.school_id = d.school_id AND pl.platform_id = d.platform_id"
	    " LEFT JOIN lti_key k ON k.retired_at IS NULL"
	    " LEFT JOIN class c ON c.school_id = d.school_id AND c.class_id = d.class_id"
	    " LEFT JOIN unit u ON u.school_id = d.school_id AND u.unit_id = $3::bigint"
	    "  AND (c.course_id IS NULL OR u.course_id = c.course_id)", 3, p, dl_found, k);
out:
	evhttp_clear_headers(&kv);
}
