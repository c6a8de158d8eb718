/*
 * lti.c: recalld as an LTI 1.3 tool (1EdTech LTI Core 1.3): the OIDC
 * login a platform starts (/lti/{school}/login), the launch it posts back
 * (/lti/{school}/launch), a teacher linking an LMS course to a class, and
 * the tool's public keys (/lti/jwks).
 *
 * Each school has its own login and launch URLs, so a launch is looked up
 * in one school only: another school's platform, deployment or state is
 * simply unknown there. The login's state is bound to the browser by a
 * cookie holding a random value whose hash is stored with the state; the
 * id_token's nonce must be the login's, and the login is consumed in the
 * transaction that acts on the launch, so a replay finds nothing.
 *
 * Where a launch lands: a pupil on their own page (/p/, answered in
 * place), a teacher on the dashboard signed in by a single-use sign-in
 * code in the URL fragment (sessionStorage, no cookie: works in an LMS
 * frame). Nothing is created for someone the roster does not know unless
 * lti.create_people is set. Deep linking and Dynamic Registration have
 * files of their own (lti_deeplink.c, lti_register.c); the pages and form
 * helpers they share with this one are in lti.h.
 */
#include "autoconf.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <sys/queue.h>
#include <openssl/rand.h>

#include "ags.h"
#include "answer_page.h"
#include "api.h"
#include "b64.h"
#include "clock.h"
#include "hfetch.h"
#include "lti.h"
#include "idtoken.h"
#include "log.h"
#include "nrps.h"
#include "pgrow.h"
#include "pupil_page.h"
#include "token.h"
#include "util.h"

#define COOKIE "recalld_lti"
#define RANDOM_CHARS ((LTI_RANDOM_BYTES * 4 + 2) / 3)	/* unpadded base64url */
#define FORM_MAX (IDTOKEN_MAX + 4096)
#define PARAM_MAX 2000
#define LOGIN_TTL "10 minutes"
#define JWKS_REFETCH "30 seconds"	/* an unknown kid fetches the JWKS again at most this often */
#define JWKS_MAX (256 * 1024)

/* ---- pages and forms (lti.h) ---- */

void
lti_page_send(struct app *app, http_ctx *ctx, int status, struct evbuffer *b)
{
	answer_page_send_framed(ctx, status, b, app->cfg->lti_frame_ancestors);
}

void
lti_page(struct app *app, http_ctx *ctx, int status, const char *title, const char *text)
{
	struct evbuffer *b = evbuffer_new();

	answer_page_message(b, title, text);
	lti_page_send(app, ctx, status, b);
	evbuffer_free(b);
}

void
lti_form_start(struct evbuffer *b, const char *school, const char *path, const char *legend)
{
	evbuffer_add_printf(b, "<form method=\"post\" action=\"/lti/%s/%s\">\n"
	    "<fieldset><legend>%s</legend>\n", school, path, legend);
}

void
lti_radio(struct evbuffer *b, const char *name, const char *value, bool checked,
    const char *before, const char *text, const char *after)
{
	evbuffer_add_printf(b, "<div><input type=\"radio\" name=\"%s\" id=\"%s-%s\" value=\"%s\"%s>"
	    " <label for=\"%s-%s\">%s", name, name, value, value, checked ? " checked" : "", name,
	    value, before);
	if (text != NULL)
		answer_page_escape(b, text);
	evbuffer_add_printf(b, "%s</label></div>\n", after);
}

void
lti_form_end(struct evbuffer *b, const char *const *hidden, const char *button)
{
	lti_put(b, "</fieldset>\n");
	for (; hidden[0] != NULL; hidden += 2) {
		evbuffer_add_printf(b, "<input type=\"hidden\" name=\"%s\" value=\"", hidden[0]);
		answer_page_escape(b, hidden[1]);
		lti_put(b, "\">\n");
	}
	evbuffer_add_printf(b, "<button type=\"submit\">%s</button>\n</form>\n", button);
}

void
lti_put(struct evbuffer *b, const char *s)
{
	evbuffer_add(b, s, strlen(s));
}

/* A refused launch: what went wrong, and that nothing was changed. */
void
lti_db_away(struct app *app, http_ctx *ctx)
{
	lti_page(app, ctx, 503, "Please try again soon", "recalld cannot reach its database just now."
	    " Nothing was changed; go back and open recalld again in a minute.");
}

void
lti_refused(struct app *app, http_ctx *ctx, int status, const char *why)
{
	struct evbuffer *b = evbuffer_new();

	answer_page_start(b, "recalld could not open");
	lti_put(b, "<h1>recalld could not open</h1>\n<p>");
	answer_page_escape(b, why);
	lti_put(b, "</p>\n<p>Go back to your course and open recalld again. If this keeps happening,"
	    " tell your school's recalld administrator what this page says.</p>\n");
	answer_page_end(b);
	lti_page_send(app, ctx, status, b);
	evbuffer_free(b);
}

/* ---- small pieces ---- */

bool
lti_random_b64(char out[LTI_RANDOM_LEN])
{
	unsigned char raw[LTI_RANDOM_BYTES];

	return RAND_bytes(raw, sizeof raw) == 1 && b64_encode_url(raw, sizeof raw, out, LTI_RANDOM_LEN);
}

void
lti_hash_bytea(const char *text, char out[LTI_HASH_BYTEA])
{
	char hex[TOKEN_HASH_HEX];

	token_hash_hex(text, hex);
	snprintf(out, LTI_HASH_BYTEA, "\\x%s", hex);
}

bool
lti_school_of(http_ctx *ctx, int64_t *school, char out[24])
{
	const char *s = http_ctx_param(ctx, "school");
	char *end;
	long long v;

	if (s == NULL || *s < '1' || *s > '9')
		return false;
	v = strtoll(s, &end, 10);
	if (*end != '\0' || v <= 0)
		return false;
	*school = v;
	snprintf(out, 24, "%lld", v);
	return true;
}

/* The form (POST) or query (GET) into kv; false when it cannot be read. */
bool
lti_read_params(http_ctx *ctx, struct evkeyvalq *kv)
{
	struct evhttp_request *req = http_ctx_req(ctx);
	struct evbuffer *body = evhttp_request_get_input_buffer(req);
	const char *ct = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
	size_t len;
	char *text;
	int rc;

	TAILQ_INIT(kv);
	if (evhttp_request_get_command(req) == EVHTTP_REQ_GET) {
		const char *q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));

		return evhttp_parse_query_str(q != NULL ? q : "", kv) == 0;
	}
	len = evbuffer_get_length(body);
	if (ct == NULL || strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0 ||
	    len > FORM_MAX)
		return false;
	text = xmalloc(len + 1);
	evbuffer_copyout(body, text, len);
	text[len] = '\0';
	rc = strlen(text) == len ? evhttp_parse_query_str(text, kv) : -1;
	free(text);
	return rc == 0;
}

/* A parameter of at most PARAM_MAX bytes, or NULL. */
const char *
lti_param(struct evkeyvalq *kv, const char *name)
{
	const char *v = evhttp_find_header(kv, name);

	return v != NULL && v[0] != '\0' && strlen(v) <= PARAM_MAX ? v : NULL;
}

/* The browser's value of our cookie, when it is one we could have set. */
static bool
cookie_of(http_ctx *ctx, char out[LTI_RANDOM_LEN])
{
	const char *h = evhttp_find_header(evhttp_request_get_input_headers(http_ctx_req(ctx)),
	    "Cookie");
	const char *p = h;
	size_t n;

	while (p != NULL && (p = strstr(p, COOKIE "=")) != NULL) {
		if (p == h || p[-1] == ' ' || p[-1] == ';') {
			p += sizeof COOKIE;
			n = strcspn(p, "; ");
			if (n != RANDOM_CHARS || strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			    "0123456789-_") < n)
				return false;
			memcpy(out, p, n);
			out[n] = '\0';
			return true;
		}
		p++;
	}
	return false;
}

/* Our public URL's base, without a trailing slash. */
char *
lti_public_base(const struct app *app)
{
	const char *u = app->cfg->http_public_url;
	size_t n = strlen(u);

	while (n > 0 && u[n - 1] == '/')
		n--;
	return xstrndup(u, n);
}

/* ---- GET /lti/jwks ---- */

static void
jwks_done(const struct db_reply *r, void *arg)
{
	http_ctx *ctx = arg;

	if (r->status != DB_OK) {
		http_problem(ctx, 503, "database-unavailable", "Database unavailable",
		    "the tool's keys cannot be read just now; try again");
		return;
	}
	evhttp_add_header(evhttp_request_get_output_headers(http_ctx_req(ctx)), "Cache-Control",
	    "public, max-age=300");
	http_reply_text(ctx, 200, "application/json", PQgetvalue(r->results[0], 0, 0));
}

static void
jwks_handler(http_ctx *ctx, void *app_, const void *data)
{
	struct app *app = app_;

	(void)data;
	db_query(app->db,
	    "SELECT json_build_object('keys', coalesce(json_agg(public_jwk ORDER BY created_at DESC),"
	    " '[]'))::text FROM lti_key WHERE retired_at IS NULL OR publish_until > now()",
	    0, NULL, jwks_done, ctx);
}

/* ---- /lti/{school}/login: OIDC third-party login initiation ---- */

struct login {
	http_ctx *ctx;
	struct app *app;
	int64_t school;
	char school_s[24];
	char state[LTI_RANDOM_LEN], nonce[LTI_RANDOM_LEN], browser[LTI_RANDOM_LEN];
	char *login_hint, *message_hint;
};

static void
login_free(struct login *l)
{
	free(l->login_hint);
	free(l->message_hint);
	free(l);
}

static void
add_q(struct evbuffer *b, const char *name, const char *value)
{
	char *enc;

	if (value == NULL)
		return;
	enc = evhttp_encode_uri(value);
	evbuffer_add_printf(b, "%s%s=%s", evbuffer_get_length(b) > 0 ? "&" : "", name, enc);
	free(enc);
}

static void
login_done(const struct db_reply *r, void *arg)
{
	struct login *l = arg;
	const PGresult *found;
	struct evbuffer *q;
	struct evkeyvalq *h;
	char *base, *redirect, *loc, *cookie, *qs;
	const char *auth;
	bool secure;

	if (r->status != DB_OK) {
		lti_db_away(l->app, l->ctx);
		goto out;
	}
	found = r->results[1];
	if (PQntuples(found) == 0 || PQntuples(r->results[0]) != 1) {
		lti_refused(l->app, l->ctx, 400, PQntuples(found) == 0 ?
		    "This LMS is not registered with recalld for this school (its issuer, client_id or"
		    " deployment_id is unknown here). The school's recalld administrator registers it"
		    " with `recalld lti add`." :
		    "Several registrations of this LMS match; the LMS must send its client_id.");
		goto out;
	}
	auth = PQgetvalue(found, 0, 0);
	base = lti_public_base(l->app);
	redirect = xasprintf("%s/lti/%s/launch", base, l->school_s);
	q = evbuffer_new();
	add_q(q, "scope", "openid");
	add_q(q, "response_type", "id_token");
	add_q(q, "response_mode", "form_post");
	add_q(q, "prompt", "none");
	add_q(q, "client_id", PQgetvalue(found, 0, 1));
	add_q(q, "redirect_uri", redirect);
	add_q(q, "login_hint", l->login_hint);
	add_q(q, "lti_message_hint", l->message_hint);
	add_q(q, "state", l->state);
	add_q(q, "nonce", l->nonce);
	evbuffer_add(q, "", 1);
	qs = (char *)evbuffer_pullup(q, -1);
	loc = xasprintf("%s%c%s", auth, strchr(auth, '?') != NULL ? '&' : '?', qs);
	secure = strncmp(l->app->cfg->http_public_url, "https:", 6) == 0;
	/*
	 * In an LMS frame the launch is a cross-site POST: only SameSite=None
	 * (which needs Secure) comes back; Partitioned keeps it to this LMS.
	 * Without https (a test, a LAN) Lax is what a browser accepts.
	 */
	cookie = xasprintf(COOKIE "=%s; Path=/lti/%s/; Max-Age=600; HttpOnly; %s", l->browser,
	    l->school_s, secure ? "Secure; SameSite=None; Partitioned" : "SameSite=Lax");
	h = evhttp_request_get_output_headers(http_ctx_req(l->ctx));
	evhttp_add_header(h, "Location", loc);
	evhttp_add_header(h, "Set-Cookie", cookie);
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
	http_reply(l->ctx, 302, NULL, NULL);
	free(cookie);
	free(loc);
	evbuffer_free(q);
	free(redirect);
	free(base);
out:
	login_free(l);
}

static void
login_handler(http_ctx *ctx, void *app_, const void *data)
{
	struct app *app = app_;
	struct evkeyvalq kv;
	struct login *l = NULL;
	const char *iss, *target, *client, *dep, *p[8];
	char state_h[LTI_HASH_BYTEA], browser_h[LTI_HASH_BYTEA], *base = NULL;
	struct evbuffer *relaunch = NULL;
	db_req *req;

	(void)data;
	TAILQ_INIT(&kv);
	l = xcalloc(1, sizeof *l);
	l->ctx = ctx;
	l->app = app;
	if (!lti_school_of(ctx, &l->school, l->school_s)) {
		lti_refused(app, ctx, 404, "This recalld address is not one of a school.");
		goto fail;
	}
	if (!lti_read_params(ctx, &kv)) {
		lti_refused(app, ctx, 400, "The LMS's login request could not be read.");
		goto fail;
	}
	iss = lti_param(&kv, "iss");
	target = lti_param(&kv, "target_link_uri");
	client = lti_param(&kv, "client_id");
	dep = lti_param(&kv, "lti_deployment_id");
	if (iss == NULL || lti_param(&kv, "login_hint") == NULL || target == NULL) {
		lti_refused(app, ctx, 400, "The LMS's login request lacks iss, login_hint or"
		    " target_link_uri (or one is longer than 2000 characters).");
		goto fail;
	}
	/* Only our own pages are launched: never a redirect elsewhere. */
	base = lti_public_base(app);
	if (strncmp(target, base, strlen(base)) != 0 ||
	    (target[strlen(base)] != '/' && target[strlen(base)] != '\0')) {
		lti_refused(app, ctx, 400, "The LMS asked to launch an address that is not this recalld's"
		    " (check the tool's target link URI in the LMS; `recalld lti show` prints it).");
		goto fail;
	}
	l->login_hint = xstrdup(lti_param(&kv, "login_hint"));
	l->message_hint = lti_param(&kv, "lti_message_hint") ? xstrdup(lti_param(&kv, "lti_message_hint")) : NULL;
	if (!lti_random_b64(l->state) || !lti_random_b64(l->nonce) ||
	    (!cookie_of(ctx, l->browser) && !lti_random_b64(l->browser))) {
		lti_refused(app, ctx, 503, "No randomness for a login just now.");
		goto fail;
	}
	lti_hash_bytea(l->state, state_h);
	lti_hash_bytea(l->browser, browser_h);
	/* The login again, for a new tab when a framed page gets no cookie. */
	relaunch = evbuffer_new();
	add_q(relaunch, "iss", iss);
	add_q(relaunch, "login_hint", l->login_hint);
	add_q(relaunch, "target_link_uri", target);
	add_q(relaunch, "lti_message_hint", l->message_hint);
	add_q(relaunch, "client_id", client);
	add_q(relaunch, "lti_deployment_id", dep);
	evbuffer_add(relaunch, "", 1);
	p[0] = l->school_s;
	p[1] = iss;
	p[2] = client;
	p[3] = dep;
	p[4] = state_h;
	p[5] = l->nonce;
	p[6] = browser_h;
	p[7] = (const char *)evbuffer_pullup(relaunch, -1);
	req = db_req_new(login_done, l);
	/* Logins nobody finished are deleted by the hourly leavers job (leavers.h). */
	db_req_add(req,
	    "INSERT INTO lti_login (school_id, state_hash, platform_id, nonce, browser_hash, relaunch,"
	    " expires_at)"
	    " SELECT $1, $5::bytea, min(platform_id), $6, $7::bytea, $8, now() + interval '" LOGIN_TTL "'"
	    " FROM lti_platform WHERE school_id = $1 AND issuer = $2"
	    " AND ($3::text IS NULL OR client_id = $3) AND ($4::text IS NULL OR $4 = ANY (deployment_ids))"
	    " HAVING count(*) = 1 RETURNING platform_id", 8, p);
	db_req_add(req,
	    "SELECT auth_url, client_id FROM lti_platform WHERE school_id = $1 AND issuer = $2"
	    " AND ($3::text IS NULL OR client_id = $3) AND ($4::text IS NULL OR $4 = ANY (deployment_ids))"
	    " ORDER BY platform_id LIMIT 2", 4, p);
	db_submit(app->db, req);
	evbuffer_free(relaunch);
	evhttp_clear_headers(&kv);
	free(base);
	return;
fail:
	if (relaunch != NULL)
		evbuffer_free(relaunch);
	evhttp_clear_headers(&kv);
	free(base);
	login_free(l);
}

/* ---- POST /lti/{school}/launch ---- */

struct launch {
	http_ctx *ctx;
	struct app *app;
	int64_t school;
	char school_s[24];
	char *compact;		/* the id_token */
	struct idtoken t;
	char state_h[LTI_HASH_BYTEA];
	char platform_s[24];
	char *nonce, *issuer, *client_id, *jwks_url;
	json_t *deployments;
	json_t *jwks;
	bool may_fetch;
	struct lti_launch l;
	db_txn *txn;
	bool teacher;		/* acting as a teacher, else a pupil */
	int64_t person;		/* pupil or teacher id; 0: to be created */
	int64_t class_id;	/* the context's class; 0: none known */
	bool context_known;	/* lti_context has it already */
	char code[TOKEN_MAX];	/* a teacher's sign-in code */
	char person_s[24], class_s[24];
};

static void
launch_free(struct launch *x)
{
	idtoken_free(&x->t);
	free(x->compact);
	free(x->nonce);
	free(x->issuer);
	free(x->client_id);
	free(x->jwks_url);
	json_decref(x->deployments);
	json_decref(x->jwks);
	free(x);
}

static void launch_verify(struct launch *x);

static void
jwks_stored(const struct db_reply *r, void *arg)
{
	(void)r;
	(void)arg;	/* a cache: a failed write is fetched again next time */
}

static void
jwks_fetched(const struct hfetch_reply *r, void *arg)
{
	struct launch *x = arg;
	json_t *j = NULL;
	const char *p[3];
	char *text;

	x->may_fetch = false;
	if (r->status == 200)
		j = json_loadb(r->body, r->len, 0, NULL);
	if (j == NULL || !json_is_array(json_object_get(j, "keys"))) {
		char why[512];

		snprintf(why, sizeof why, "recalld could not fetch the LMS's keys (%s): %s",
		    x->jwks_url, r->error != NULL ? r->error : r->status != 200 ?
		    "it did not answer 200" : "the answer is not a JWK Set");
		log_warnx("lti", "JWKS fetch failed", "school=%s platform=%s status=%ld",
		    x->school_s, x->platform_s, r->status);
		json_decref(j);
		lti_refused(x->app, x->ctx, 502, why);
		launch_free(x);
		return;
	}
	json_decref(x->jwks);
	x->jwks = j;
	text = json_dumps(j, JSON_COMPACT);
	p[0] = x->school_s;
	p[1] = x->platform_s;
	p[2] = text;
	db_query(x->app->db, "UPDATE lti_platform SET jwks = $3::jsonb, jwks_fetched_at = now()"
	    " WHERE school_id = $1 AND platform_id = $2::bigint", 3, p, jwks_stored, NULL);
	free(text);
	launch_verify(x);
}

static void launch_act(struct launch *x);

/* Verify the signature (fetching the JWKS once when the kid is unknown), then the claims. */
static void
launch_verify(struct launch *x)
{
	struct idtoken_expect e = { 0 };
	const char *deps[50];
	enum idtoken_status st;
	char why[512];
	size_t i, n = 0;
	json_t *d;

	st = x->jwks != NULL ? idtoken_verify(x->compact, &x->t, x->jwks, why, sizeof why) :
	    IDTOKEN_UNKNOWN_KID;
	if (st == IDTOKEN_UNKNOWN_KID && x->may_fetch) {
		struct hfetch_opts o = { 0 };

		o.url = x->jwks_url;
		o.accept = "application/json";
		o.allow_private = x->app->cfg->lti_allow_private;
		o.timeout_ms = 5000;
		o.max_body = JWKS_MAX;
		hfetch_start(x->app->fetch, &o, jwks_fetched, x);
		return;
	}
	if (st == IDTOKEN_UNKNOWN_KID && x->jwks == NULL)
		snprintf(why, sizeof why, "recalld has no keys of this LMS yet; try again in a minute");
	if (st != IDTOKEN_OK) {
		lti_refused(x->app, x->ctx, 401, why);
		launch_free(x);
		return;
	}
	json_array_foreach(x->deployments, i, d)
		if (json_is_string(d) && n < 50)
			deps[n++] = json_string_value(d);
	e.issuer = x->issuer;
	e.client_id = x->client_id;
	e.nonce = x->nonce;
	e.deployments = deps;
	e.ndeployments = n;
	/* The platform's clock is the real one, whatever the manual clock says. */
	e.now = clock_wall_us() / 1000000;
	if (idtoken_check(&x->t, &e, &x->l, why, sizeof why) != IDTOKEN_OK) {
		lti_refused(x->app, x->ctx, 401, why);
		launch_free(x);
		return;
	}
	launch_act(x);
}

/* The relaunch page: no cookie came back (a frame whose browser blocks them). */
static void
no_cookie(struct launch *x, const char *relaunch)
{
	struct evbuffer *b = evbuffer_new();
	char *base = lti_public_base(x->app);
	char *url = xasprintf("%s/lti/%s/login?%s", base, x->school_s, relaunch);

	answer_page_start(b, "Open recalld in a new tab");
	lti_put(b, "<h1>Open recalld in a new tab</h1>\n<p>Your browser does not let recalld sign you in"
	    " inside this page.</p>\n<p><a href=\"");
	answer_page_escape(b, url);
	lti_put(b, "\" target=\"_blank\" rel=\"noopener\">Open recalld in a new tab</a></p>\n");
	answer_page_end(b);
	lti_page_send(x->app, x->ctx, 401, b);
	evbuffer_free(b);
	free(url);
	free(base);
}

static void
login_found(const struct db_reply *r, void *arg)
{
	struct launch *x = arg;
	const PGresult *res;

	if (r->status != DB_OK) {
		lti_db_away(x->app, x->ctx);
		goto drop;
	}
	res = r->results[0];
	if (PQntuples(res) == 0) {
		lti_refused(x->app, x->ctx, 401, "This launch is not one recalld started, or it was used"
		    " already (its state is unknown here).");
		goto drop;
	}
	if (pgrow_null(res, 0, 2)) {
		no_cookie(x, PQgetvalue(res, 0, 4));
		goto drop;
	}
	if (!pgrow_bool(res, 0, 2)) {
		lti_refused(x->app, x->ctx, 401, "This launch was started in another browser.");
		goto drop;
	}
	if (!pgrow_bool(res, 0, 3)) {
		lti_refused(x->app, x->ctx, 401, "This launch took too long; open recalld again.");
		goto drop;
	}
	snprintf(x->platform_s, sizeof x->platform_s, "%s", PQgetvalue(res, 0, 0));
	x->nonce = xstrdup(PQgetvalue(res, 0, 1));
	x->issuer = xstrdup(PQgetvalue(res, 0, 5));
	x->client_id = xstrdup(PQgetvalue(res, 0, 6));
	x->deployments = json_loads(PQgetvalue(res, 0, 7), 0, NULL);
	x->jwks = pgrow_null(res, 0, 8) ? NULL : json_loads(PQgetvalue(res, 0, 8), 0, NULL);
	x->jwks_url = xstrdup(PQgetvalue(res, 0, 9));
	x->may_fetch = pgrow_bool(res, 0, 10);
	launch_verify(x);
	return;
drop:
	launch_free(x);
}

static void
launch_handler(http_ctx *ctx, void *app_, const void *data)
{
	struct app *app = app_;
	struct evkeyvalq kv;
	struct launch *x = xcalloc(1, sizeof *x);
	const char *tok, *state, *err, *p[3];
	char browser[LTI_RANDOM_LEN], browser_h[LTI_HASH_BYTEA], why[256];

	(void)data;
	TAILQ_INIT(&kv);
	x->ctx = ctx;
	x->app = app;
	if (!lti_school_of(ctx, &x->school, x->school_s)) {
		lti_refused(app, ctx, 404, "This recalld address is not one of a school.");
		goto fail;
	}
	if (!lti_read_params(ctx, &kv)) {
		lti_refused(app, ctx, evbuffer_get_length(evhttp_request_get_input_buffer(http_ctx_req(ctx))) >
		    FORM_MAX ? 413 : 400, "The LMS's launch could not be read (a form post of id_token"
		    " and state, at most 16 KB).");
		goto fail;
	}
	if ((err = evhttp_find_header(&kv, "error")) != NULL) {
		const char *d = evhttp_find_header(&kv, "error_description");

		snprintf(why, sizeof why, "The LMS did not sign you in: %.80s%s%.120s", err,
		    d != NULL ? ": " : "", d != NULL ? d : "");
		lti_refused(app, ctx, 400, why);
		goto fail;
	}
	tok = evhttp_find_header(&kv, "id_token");
	state = lti_param(&kv, "state");
	if (tok == NULL || state == NULL) {
		lti_refused(app, ctx, 400, "The LMS's launch lacks its id_token or state.");
		goto fail;
	}
	if (idtoken_parse(tok, &x->t, why, sizeof why) != IDTOKEN_OK) {
		lti_refused(app, ctx, 400, why);
		goto fail;
	}
	x->compact = xstrdup(tok);
	lti_hash_bytea(state, x->state_h);
	p[0] = x->school_s;
	p[1] = x->state_h;
	p[2] = NULL;
	if (cookie_of(ctx, browser)) {
		lti_hash_bytea(browser, browser_h);
		p[2] = browser_h;
	}
	db_query(app->db,
	    "SELECT l.platform_id, l.nonce, l.browser_hash = $3::bytea, l.expires_at > now(),"
	    " l.relaunch, p.issuer, p.client_id, array_to_json(p.deployment_ids)::text, p.jwks::text,"
	    " p.jwks_url, p.jwks_fetched_at IS NULL OR p.jwks_fetched_at < now() - interval '"
	    JWKS_REFETCH "'"
	    " FROM lti_login l JOIN lti_platform p ON p.school_id = l.school_id"
	    "  AND p.platform_id = l.platform_id"
	    " WHERE l.school_id = $1 AND l.state_hash = $2::bytea", 3, p, login_found, x);
	evhttp_clear_headers(&kv);
	return;
fail:
	evhttp_clear_headers(&kv);
	launch_free(x);
}

/* ---- acting on a good launch: one transaction ---- */

static void act_done(const struct db_reply *r, void *arg);

/* The classes a teacher may link a course to. */
static const char teacher_classes_sql[] =
    "SELECT c.class_id, c.name FROM class_teacher ct JOIN class c ON c.school_id = ct.school_id"
    " AND c.class_id = ct.class_id WHERE ct.school_id = $1 AND ct.teacher_id = $2::bigint"
    " AND c.active ORDER BY c.name, c.class_id";

static void
act_found(const struct db_reply *r, void *arg)
{
	struct launch *x = arg;
	const PGresult *who, *cls;
	bool want_teacher = (x->l.roles & (LTI_ROLE_INSTRUCTOR | LTI_ROLE_ADMIN)) != 0;
	char code_h[LTI_HASH_BYTEA], ext[300];
	const char *p[7];
	int i;
	db_req *req;

	if (r->status != DB_OK) {
		x->txn = NULL;
		lti_db_away(x->app, x->ctx);
		launch_free(x);
		return;
	}
	if (PQntuples(r->results[0]) == 0) {
		db_txn_abort(x->txn);
		lti_refused(x->app, x->ctx, 401, "This launch was used already (its nonce was spent).");
		launch_free(x);
		return;
	}
	who = r->results[1];
	for (i = 0; i < PQntuples(who); i++) {
		if ((PQgetvalue(who, i, 0)[0] == 't') != want_teacher)
			continue;
		if (!pgrow_bool(who, i, 2)) {
			db_txn_abort(x->txn);
			lti_refused(x->app, x->ctx, 403, want_teacher ?
			    "Your recalld account at this school is no longer active." :
			    "You are no longer on this school's roll in recalld, so there is nothing to practise here.");
			launch_free(x);
			return;
		}
		x->person = strtoll(PQgetvalue(who, i, 1), NULL, 10);
		break;
	}
	if (x->person == 0 && !x->app->cfg->lti_create_people) {
		struct evbuffer *b = evbuffer_new();

		db_txn_abort(x->txn);
		answer_page_start(b, "recalld does not know you yet");
		lti_put(b, "<h1>recalld does not know you yet</h1>\n<p>Your school has not added you to"
		    " recalld, so it cannot show you anything.</p>\n<p>Ask your school's recalld"
		    " administrator to import you in the roster (OneRoster users.csv) with your"
		    " school's id for you");
		if (x->l.person_sourcedid != NULL) {
			lti_put(b, " (the LMS says it is <code>");
			answer_page_escape(b, x->l.person_sourcedid);
			lti_put(b, "</code>)");
		}
		lti_put(b, ", then open recalld again.</p>\n");
		answer_page_end(b);
		lti_page_send(x->app, x->ctx, 403, b);
		evbuffer_free(b);
		launch_free(x);
		return;
	}
	x->teacher = want_teacher;
	if (x->teacher && !token_signin_generate(x->school, x->code, sizeof x->code)) {
		db_txn_abort(x->txn);
		lti_refused(x->app, x->ctx, 503, "No randomness for a sign-in just now.");
		launch_free(x);
		return;
	}
	cls = r->results[2];
	if (PQntuples(cls) > 0) {
		x->class_id = strtoll(PQgetvalue(cls, 0, 0), NULL, 10);
		x->context_known = pgrow_bool(cls, 0, 1);
	}
	snprintf(x->person_s, sizeof x->person_s, "%" PRId64, x->person);
	snprintf(x->class_s, sizeof x->class_s, "%" PRId64, x->class_id);
	snprintf(ext, sizeof ext, "%s", x->l.person_sourcedid != NULL ? x->l.person_sourcedid : "");
	if (ext[0] == '\0')
		snprintf(ext, sizeof ext, "lti:%.200s", x->l.sub);
	p[0] = x->school_s;
	p[1] = x->platform_s;
	p[2] = x->l.sub;
	p[3] = x->person > 0 ? x->person_s : NULL;
	p[4] = ext;
	req = db_req_new(act_done, x);
	/* Someone new (lti.create_people): with the roster's id, never a name. */
	db_req_add(req, x->teacher ?
	    "WITH made AS (INSERT INTO teacher (school_id, external_id, updated_at)"
	    "  SELECT $1, $5, now() WHERE $4::bigint IS NULL"
	    "  ON CONFLICT (school_id, external_id) DO NOTHING RETURNING teacher_id),"
	    " who AS (SELECT coalesce($4::bigint, (SELECT teacher_id FROM made)) AS id)"
	    " INSERT INTO lti_user (school_id, platform_id, sub, teacher_id, last_launch_at)"
	    " SELECT $1, $2::bigint, $3, id, now() FROM who WHERE id IS NOT NULL"
	    " ON CONFLICT (school_id, platform_id, sub) DO UPDATE SET pupil_id = NULL,"
	    "  teacher_id = EXCLUDED.teacher_id, last_launch_at = EXCLUDED.last_launch_at"
	    " RETURNING teacher_id" :
	    "WITH made AS (INSERT INTO pupil (school_id, external_id, updated_at)"
	    "  SELECT $1, $5, now() WHERE $4::bigint IS NULL"
	    "  ON CONFLICT (school_id, external_id) DO NOTHING RETURNING pupil_id),"
	    " who AS (SELECT coalesce($4::bigint, (SELECT pupil_id FROM made)) AS id)"
	    " INSERT INTO lti_user (school_id, platform_id, sub, pupil_id, last_launch_at)"
	    " SELECT $1, $2::bigint, $3, id, now() FROM who WHERE id IS NOT NULL"
	    " ON CONFLICT (school_id, platform_id, sub) DO UPDATE SET teacher_id = NULL,"
	    "  pupil_id = EXCLUDED.pupil_id, last_launch_at = EXCLUDED.last_launch_at"
	    " RETURNING pupil_id", 5, p);
	if (x->class_id > 0 && x->l.context_id != NULL) {
		const char *q[5] = { x->school_s, x->platform_s, x->l.context_id, x->class_s,
			x->l.nrps_url };

		/* the course as the class; a new membership URL is synced soon (nrps.h) */
		db_req_add(req, "INSERT INTO lti_context (school_id, platform_id, context_id, class_id,"
		    " linked_at, nrps_url) VALUES ($1, $2::bigint, $3, $4::bigint, now(), $5)"
		    " ON CONFLICT (school_id, platform_id, context_id) DO UPDATE SET nrps_url = EXCLUDED.nrps_url,"
		    "  nrps_synced_at = CASE WHEN lti_context.nrps_url IS DISTINCT FROM EXCLUDED.nrps_url"
		    "   THEN NULL ELSE lti_context.nrps_synced_at END,"
		    "  nrps_differences = CASE WHEN lti_context.nrps_url IS DISTINCT FROM EXCLUDED.nrps_url"
		    "   THEN NULL ELSE lti_context.nrps_differences END"
		    " WHERE lti_context.nrps_url IS DISTINCT FROM EXCLUDED.nrps_url", 5, q);
	}
	/* The class's gradebook in the LMS, when the platform offers it (AGS). */
	if (x->class_id > 0 && x->l.ags_lineitems != NULL && x->l.ags_scores) {
		p[2] = x->l.ags_lineitems;
		p[3] = x->class_s;
		db_req_add(req, "INSERT INTO endpoint (school_id, url, format, event_types, class_id,"
		    " enabled, platform_id, created_at) VALUES ($1, $3, '" AGS_FORMAT "',"
		    " '{" AGS_EVENT "}', $4::bigint, true, $2::bigint, now())"
		    " ON CONFLICT (school_id, platform_id, class_id) WHERE format = '" AGS_FORMAT "'"
		    " DO UPDATE SET url = EXCLUDED.url", 4, p);
	}
	if (x->teacher) {
		lti_hash_bytea(x->code, code_h);
		p[1] = x->person > 0 ? x->person_s : NULL;
		p[2] = code_h;
		p[3] = ext;
		db_req_add(req, "INSERT INTO signin_code (school_id, role, teacher_id, hash, created_at,"
		    " expires_at) SELECT $1, 'teacher', coalesce($2::bigint, (SELECT teacher_id FROM"
		    " teacher WHERE school_id = $1 AND external_id = $4)), $3::bytea, now(),"
		    " now() + interval '" CODE_TTL "' RETURNING teacher_id", 4, p);
	}
	if (x->teacher && x->l.message == LTI_DEEP_LINKING) {
		const char *d[8] = { x->school_s, code_h, x->platform_s, x->l.deployment_id,
			x->l.dl_return_url, x->l.dl_data, x->class_id > 0 ? x->class_s : NULL,
			x->l.ags_lineitems != NULL ? "true" : "false" };

		db_req_add(req, "INSERT INTO lti_deeplink (school_id, code_hash, platform_id, deployment_id,"
		    " return_url, data, class_id, ags, expires_at) VALUES ($1, $2::bytea, $3::bigint, $4, $5,"
		    " $6, $7::bigint, $8::boolean, now() + interval '" CODE_TTL "')", 8, d);
	}
	db_txn_continue(x->txn, req, true);
}

/* A teacher's page: which class is this LMS course? */
static void
classes_found(const struct db_reply *r, void *arg)
{
	struct launch *x = arg;
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
	answer_page_start(b, "Which class is this course?");
	lti_put(b, "<h1>Which class is this course?</h1>\n");
	if (n == 0) {
		lti_put(b, "<p>You teach no class in recalld yet. Ask your school's recalld administrator"
		    " to import your classes, then open recalld again.</p>\n");
	} else {
		lti_put(b, "<p>recalld does not know this LMS course yet");
		if (x->l.context_title != NULL) {
			lti_put(b, " (");
			answer_page_escape(b, x->l.context_title);
			lti_put(b, ")");
		}
		lti_put(b, ". Choose your class it belongs to; pupils launched from it then practise"
		    " that class's units.</p>\n");
		lti_form_start(b, x->school_s, "context", "Your classes");
		for (i = 0; i < n; i++)
			lti_radio(b, "class", PQgetvalue(res, i, 0), i == 0, "", PQgetvalue(res, i, 1), "");
		lti_form_end(b, (const char *const[]){ "code", x->code, "platform", x->platform_s,
		    "context", x->l.context_id, NULL }, "Link this course");
	}
	answer_page_end(b);
	lti_page_send(x->app, x->ctx, 200, b);
	evbuffer_free(b);
out:
	launch_free(x);
}

/* To the dashboard, signed in by the code (its fragment never reaches a server). */
static void
to_dashboard(struct app *app, http_ctx *ctx, const char *code, int64_t class_id)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(http_ctx_req(ctx));
	char *base = lti_public_base(app), *loc;

	loc = class_id > 0 ? xasprintf("%s/dashboard/#signin=%s&class=%" PRId64, base, code, class_id) :
	    xasprintf("%s/dashboard/#signin=%s", base, code);
	evhttp_add_header(h, "Location", loc);
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
	http_reply(ctx, 303, NULL, NULL);
	free(loc);
	free(base);
}

static void
act_done(const struct db_reply *r, void *arg)
{
	struct launch *x = arg;
	const PGresult *who;
	char url[512];

	x->txn = NULL;
	if (r->status != DB_OK) {
		log_warnx("lti", "launch not recorded", "school=%s err=\"%s\"", x->school_s,
		    r->error != NULL ? r->error : "");
		lti_page(x->app, x->ctx, 503, "Please try again soon",
		    "recalld could not sign you in just now. Go back and open recalld again in a minute.");
		launch_free(x);
		return;
	}
	who = r->results[0];
	if (PQntuples(who) != 1) {
		lti_refused(x->app, x->ctx, 409, "recalld could not add you: someone of the roster already"
		    " has your school id. Ask your school's recalld administrator.");
		launch_free(x);
		return;
	}
	x->person = strtoll(PQgetvalue(who, 0, 0), NULL, 10);
	snprintf(x->person_s, sizeof x->person_s, "%" PRId64, x->person);
	if (x->l.nrps_url != NULL && x->class_id > 0)
		nrps_kick(x->app->nrps);
	log_info("lti", "launch", "school=%s platform=%s role=%s message=%s", x->school_s,
	    x->platform_s, x->teacher ? "teacher" : "pupil",
	    x->l.message == LTI_DEEP_LINKING ? "deep-linking" : "resource-link");
	if (!x->teacher) {
		struct evkeyvalq *h = evhttp_request_get_output_headers(http_ctx_req(x->ctx));

		if (!pupil_page_link(x->app, x->school, x->person,
		    clock_now_us() / 1000000 + PUPIL_PAGE_TTL_S, url, sizeof url)) {
			lti_page(x->app, x->ctx, 503, "Please try again soon",
			    "Your page cannot be shown right now.");
			launch_free(x);
			return;
		}
		/* a unit's check (placed by deep linking): its part of the page */
		if (x->l.custom_unit != NULL && x->l.custom_unit[0] != '\0' &&
		    strlen(x->l.custom_unit) < 20 &&
		    strspn(x->l.custom_unit, "0123456789") == strlen(x->l.custom_unit))
			snprintf(url + strlen(url), sizeof url - strlen(url), "#unit-%s", x->l.custom_unit);
		evhttp_add_header(h, "Location", url);
		evhttp_add_header(h, "Cache-Control", "no-store");
		evhttp_add_header(h, "Referrer-Policy", "no-referrer");
		http_reply(x->ctx, 303, NULL, NULL);
		launch_free(x);
		return;
	}
	if (x->l.message == LTI_DEEP_LINKING) {
		lti_deeplink_page(x->app, x->ctx, x->school_s, x->class_id > 0 ? x->class_s : NULL,
		    x->code);
		launch_free(x);
		return;
	}
	if (x->class_id == 0 && x->l.context_id != NULL) {
		const char *p[2] = { x->school_s, x->person_s };

		db_query(x->app->db, teacher_classes_sql, 2, p, classes_found, x);
		return;
	}
	to_dashboard(x->app, x->ctx, x->code, x->class_id);
	launch_free(x);
}

static void
launch_act(struct launch *x)
{
	const char *p[6];
	db_req *req;

	p[0] = x->school_s;
	p[1] = x->state_h;
	req = db_req_new(act_found, x);
	/* Spent here, in the transaction that acts: a replay finds nothing. */
	db_req_add(req, "DELETE FROM lti_login WHERE school_id = $1 AND state_hash = $2::bytea"
	    " AND expires_at > now() RETURNING 1", 2, p);
	p[1] = x->platform_s;
	p[2] = x->l.sub;
	p[3] = x->l.person_sourcedid;
	p[4] = x->l.email;
	/* Linked before, else the roster's sourcedId (a teacher: or the email). */
	db_req_add(req,
	    "SELECT 'p', p.pupil_id, p.active, 0 FROM lti_user u JOIN pupil p ON p.school_id = u.school_id"
	    "  AND p.pupil_id = u.pupil_id WHERE u.school_id = $1 AND u.platform_id = $2::bigint AND u.sub = $3"
	    " UNION ALL SELECT 't', t.teacher_id, t.active, 0 FROM lti_user u JOIN teacher t"
	    "  ON t.school_id = u.school_id AND t.teacher_id = u.teacher_id"
	    "  WHERE u.school_id = $1 AND u.platform_id = $2::bigint AND u.sub = $3"
	    " UNION ALL SELECT 'p', pupil_id, active, 1 FROM pupil WHERE school_id = $1 AND external_id = $4"
	    " UNION ALL SELECT 't', teacher_id, active, 1 FROM teacher WHERE school_id = $1"
	    "  AND (external_id = $4 OR ($5::text IS NOT NULL AND lower(email) = lower($5)))"
	    " ORDER BY 4", 5, p);
	p[2] = x->l.context_id;
	p[3] = x->l.section_sourcedid;
	db_req_add(req,
	    "SELECT class_id, true FROM lti_context WHERE school_id = $1 AND platform_id = $2::bigint"
	    "  AND context_id = $3"
	    " UNION ALL SELECT class_id, false FROM class WHERE school_id = $1 AND external_id = $4"
	    "  AND active", 4, p);
	x->txn = db_txn_begin(x->app->db, req);
}

/* ---- POST /lti/{school}/context: a teacher links an LMS course to a class ---- */

struct linkctx {
	http_ctx *ctx;
	struct app *app;
	char *code;
};

static void
linked(const struct db_reply *r, void *arg)
{
	struct linkctx *k = arg;

	if (r->status != DB_OK) {
		lti_db_away(k->app, k->ctx);
	} else if (PQntuples(r->results[0]) == 0) {
		lti_refused(k->app, k->ctx, 409, "The course could not be linked: this page is too old, the"
		    " class is not yours, or the course is linked to a class already.");
	} else {
		to_dashboard(k->app, k->ctx, k->code, strtoll(PQgetvalue(r->results[0], 0, 0), NULL, 10));
	}
	free(k->code);
	free(k);
}

static void
context_handler(http_ctx *ctx, void *app_, const void *data)
{
	struct app *app = app_;
	struct evkeyvalq kv;
	int64_t school, code_school = 0;
	char school_s[24], code_h[LTI_HASH_BYTEA];
	const char *code, *cls, *plat, *context, *p[5];
	struct linkctx *k;

	(void)data;
	TAILQ_INIT(&kv);
	if (!lti_school_of(ctx, &school, school_s) || !lti_read_params(ctx, &kv)) {
		lti_refused(app, ctx, 400, "This form could not be read.");
		goto out;
	}
	code = lti_param(&kv, "code");
	cls = lti_param(&kv, "class");
	plat = lti_param(&kv, "platform");
	context = lti_param(&kv, "context");
	if (code == NULL || cls == NULL || plat == NULL || context == NULL ||
	    !token_signin_parse(code, &code_school) || code_school != school ||
	    strspn(cls, "0123456789") != strlen(cls) || strlen(cls) > 18 ||
	    strspn(plat, "0123456789") != strlen(plat) || strlen(plat) > 18 || strlen(context) > 255) {
		lti_refused(app, ctx, 400, "This form is not one recalld made; open recalld from your course again.");
		goto out;
	}
	lti_hash_bytea(code, code_h);
	p[0] = school_s;
	p[1] = code_h;
	p[2] = cls;
	p[3] = plat;
	p[4] = context;
	k = xcalloc(1, sizeof *k);
	k->ctx = ctx;
	k->app = app;
	k->code = xstrdup(code);
	/* The unused sign-in code of the launch is the teacher's credential here. */
	db_query(app->db,
	    "WITH t AS (SELECT teacher_id FROM signin_code WHERE school_id = $1 AND hash = $2::bytea"
	    "  AND role = 'teacher' AND used_at IS NULL AND expires_at > now())"
	    " INSERT INTO lti_context (school_id, platform_id, context_id, class_id, linked_by, linked_at)"
	    " SELECT $1, $4::bigint, $5, ct.class_id, ct.teacher_id, now() FROM class_teacher ct"
	    "  JOIN t ON t.teacher_id = ct.teacher_id"
	    "  JOIN lti_platform pl ON pl.school_id = ct.school_id AND pl.platform_id = $4::bigint"
	    "  WHERE ct.school_id = $1 AND ct.class_id = $3::bigint"
	    " ON CONFLICT (school_id, platform_id, context_id) DO NOTHING RETURNING class_id",
	    5, p, linked, k);
out:
	evhttp_clear_headers(&kv);
}

void
lti_routes(http_server *s)
{
	http_route(s, EVHTTP_REQ_GET, "/lti/jwks", jwks_handler);
	http_route(s, EVHTTP_REQ_GET, "/lti/register", lti_register_handler);
	http_route(s, EVHTTP_REQ_GET, "/lti/{school}/login", login_handler);
	http_route(s, EVHTTP_REQ_POST, "/lti/{school}/login", login_handler);
	http_route(s, EVHTTP_REQ_POST, "/lti/{school}/launch", launch_handler);
	http_route(s, EVHTTP_REQ_POST, "/lti/{school}/context", context_handler);
	http_route(s, EVHTTP_REQ_POST, "/lti/{school}/deep-link", lti_deeplink_handler);
}
