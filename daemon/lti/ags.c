/*
 * ags.c: access tokens and line items for LMS gradebooks (ags.h).
 */
#include "autoconf.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "ags.h"
#include "clock.h"
#include "log.h"
#include "ltikey.h"
#include "pgrow.h"
#include "util.h"

#define TOKEN_EARLY_MS 60000	/* a token is renewed this long before it expires */
#define TOKEN_MAX_BODY (64 * 1024)

struct token_slot {
	struct token_slot *next;
	int64_t school, platform;
	char *bearer;		/* "Bearer ..." */
	uint64_t until_ms;	/* monotonic */
};

struct ags {
	struct event_base *base;
	db_pool *db;
	hfetch *fetch;
	const struct config *cfg;
	secretbox *secrets;
	struct token_slot *tokens;
	struct ags_prep *preps;	/* in flight */
};

enum step { STEP_READ, STEP_TOKEN, STEP_FIND, STEP_CREATE, STEP_STORE, STEP_WAIT };

struct ags_prep {
	struct ags_prep *next, **prevp;
	ags *a;
	enum step step;
	int64_t school, endpoint, platform, unit;
	char school_s[24], endpoint_s[24], platform_s[24], unit_s[24];
	char *container, *unit_name, *lineitem, *bearer;
	char *token_url, *client_id, *kid, *sealed;
	ags_ready_cb ready;
	ags_token_cb token_only;	/* ags_token: stop after the token */
	void *arg;
	db_req *req;
	hfetch_req *http;
	struct event *later;		/* a result from the loop */
	char *error;
};

ags *
ags_new(struct event_base *base, db_pool *db, hfetch *fetch, const struct config *cfg,
    secretbox *secrets)
{
	ags *a = xcalloc(1, sizeof *a);

	a->base = base;
	a->db = db;
	a->fetch = fetch;
	a->cfg = cfg;
	a->secrets = secrets;
	return a;
}

static void
prep_free(struct ags_prep *p)
{
	if (p->req != NULL)
		db_cancel(p->req);
	if (p->http != NULL)
		hfetch_cancel(p->http);
	if (p->later != NULL)
		event_free(p->later);
	*p->prevp = p->next;
	if (p->next != NULL)
		p->next->prevp = p->prevp;
	if (p->sealed != NULL)
		OPENSSL_cleanse(p->sealed, strlen(p->sealed));
	free(p->sealed);
	free(p->container);
	free(p->unit_name);
	free(p->lineitem);
	free(p->bearer);
	free(p->token_url);
	free(p->client_id);
	free(p->kid);
	free(p->error);
	free(p);
}

void
ags_free(ags *a)
{
	struct token_slot *t, *n;

	if (a == NULL)
		return;
	while (a->preps != NULL)
		prep_free(a->preps);
	for (t = a->tokens; t != NULL; t = n) {
		n = t->next;
		OPENSSL_cleanse(t->bearer, strlen(t->bearer));
		free(t->bearer);
		free(t);
	}
	free(a);
}

void
ags_cancel(ags_prep *p)
{
	if (p != NULL)
		prep_free(p);
}

static struct token_slot *
token_of(ags *a, int64_t school, int64_t platform)
{
	for (struct token_slot *t = a->tokens; t != NULL; t = t->next)
		if (t->school == school && t->platform == platform)
			return t;
	return NULL;
}

static void finish(struct ags_prep *p);

/* Another preparation finds or makes the same line item: one at a time (no twins). */
static bool
same_item(const struct ags_prep *a, const struct ags_prep *b)
{
	return a != b && a->token_only == NULL && b->token_only == NULL && a->school == b->school &&
	    a->endpoint == b->endpoint && a->unit == b->unit;
}

static void
wake_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ags_prep *p = arg;

	event_free(p->later);
	p->later = NULL;
	finish(p);
}

/* The leader is done: its waiters end the same way, each from the loop. */
static void
wake_waiters(struct ags_prep *leader)
{
	for (struct ags_prep *w = leader->a->preps; w != NULL; w = w->next) {
		if (w->step != STEP_WAIT || !same_item(w, leader))
			continue;
		if (leader->error != NULL)
			w->error = xstrdup(leader->error);
		else
			w->lineitem = xstrdup(leader->lineitem);
		w->step = STEP_STORE;
		w->later = event_new(leader->a->base, -1, 0, wake_cb, w);
		event_active(w->later, 0, 0);
	}
}

/* The end: the callback with what was found, and the preparation freed. */
static void
finish(struct ags_prep *p)
{
	char *scores = NULL;

	if (p->step == STEP_FIND || p->step == STEP_CREATE || p->step == STEP_STORE)
		wake_waiters(p);
	if (p->token_only != NULL) {
		p->token_only(p->bearer, p->error, p->arg);
	} else if (p->error != NULL) {
		p->ready(NULL, NULL, p->error, p->arg);
	} else {
		/* the line item's scores: its URL's path plus /scores, its query kept (AGS §3.4) */
		size_t q = strcspn(p->lineitem, "?");

		scores = xasprintf("%.*s/scores%s", (int)q, p->lineitem, p->lineitem + q);
		p->ready(scores, p->bearer, NULL, p->arg);
	}
	free(scores);
	prep_free(p);
}

static void
fail(struct ags_prep *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
fail(struct ags_prep *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	free(p->error);
	p->error = xvasprintf(fmt, ap);
	va_end(ap);
	finish(p);
}

static void step(struct ags_prep *p);

/* A request to the LMS as step: its address rules, the sender's timeout, the token once known. */
static void
lms_call(struct ags_prep *p, enum step st, struct hfetch_opts *o, hfetch_cb cb)
{
	o->authorization = p->bearer;
	o->allow_private = p->a->cfg->lti_allow_private;
	o->timeout_ms = p->a->cfg->webhooks_timeout_ms;
	p->step = st;
	p->http = hfetch_start(p->a->fetch, o, cb, p);
}

static void
token_got(const struct hfetch_reply *r, void *arg)
{
	struct ags_prep *p = arg;
	json_t *j = NULL;
	const char *tok;
	json_int_t ttl;
	struct token_slot *t;

	p->http = NULL;
	if (r->status == 200)
		j = json_loadb(r->body, r->len, 0, NULL);
	tok = json_string_value(json_object_get(j, "access_token"));
	if (tok == NULL || strlen(tok) > 4096 || strcspn(tok, "\r\n") != strlen(tok)) {
		if (r->error != NULL)
			fail(p, "the LMS's token endpoint: %s", r->error);
		else
			fail(p, "the LMS's token endpoint answered %ld without an access token", r->status);
		json_decref(j);
		return;
	}
	ttl = json_integer_value(json_object_get(j, "expires_in"));
	if (ttl <= 0)
		ttl = 3600;
	if ((t = token_of(p->a, p->school, p->platform)) == NULL) {
		t = xcalloc(1, sizeof *t);
		t->school = p->school;
		t->platform = p->platform;
		t->next = p->a->tokens;
		p->a->tokens = t;
	} else {
		OPENSSL_cleanse(t->bearer, strlen(t->bearer));
		free(t->bearer);
	}
	t->bearer = xasprintf("Bearer %s", tok);
	t->until_ms = util_mono_ms() + (uint64_t)ttl * 1000 -
	    ((uint64_t)ttl * 1000 > 2 * TOKEN_EARLY_MS ? TOKEN_EARLY_MS : 0);
	json_decref(j);
	p->step = STEP_FIND;
	step(p);
}

/* Ask the platform for a token: client credentials with our signed assertion. */
static void
token_start(struct ags_prep *p)
{
	struct hfetch_opts o = { 0 };
	unsigned char jti[16];
	char jti_hex[33], err[256], *priv, *assertion, *enc_a, *enc_s, *body;
	int64_t now = clock_wall_us() / 1000000;
	json_t *claims;

	if (p->kid == NULL || p->sealed == NULL) {
		fail(p, "the tool has no LTI key (recalld lti rotate-key)");
		return;
	}
	if ((priv = secretbox_open(p->a->secrets, p->sealed, err, sizeof err)) == NULL) {
		fail(p, "the tool's LTI key cannot be opened: %s", err);
		return;
	}
	if (RAND_bytes(jti, sizeof jti) != 1) {
		OPENSSL_cleanse(priv, strlen(priv));
		free(priv);
		fail(p, "no randomness for a client assertion");
		return;
	}
	for (size_t i = 0; i < sizeof jti; i++)
		snprintf(jti_hex + 2 * i, 3, "%02x", jti[i]);
	claims = json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}", "iss", p->client_id, "sub", p->client_id,
	    "aud", p->token_url, "iat", (json_int_t)now, "exp", (json_int_t)(now + 300), "jti", jti_hex);
	assertion = ltikey_sign(priv, claims, err, sizeof err);
	OPENSSL_cleanse(priv, strlen(priv));
	free(priv);
	json_decref(claims);
	if (assertion == NULL) {
		fail(p, "cannot sign the client assertion: %s", err);
		return;
	}
	enc_a = evhttp_encode_uri(assertion);
	enc_s = evhttp_encode_uri(AGS_SCOPES);
	body = xasprintf("grant_type=client_credentials&client_assertion_type="
	    "urn%%3Aietf%%3Aparams%%3Aoauth%%3Aclient-assertion-type%%3Ajwt-bearer"
	    "&client_assertion=%s&scope=%s", enc_a, enc_s);
	o.method = "POST";
	o.url = p->token_url;
	o.body = body;
	o.content_type = "application/x-www-form-urlencoded";
	o.accept = "application/json";
	o.max_body = TOKEN_MAX_BODY;
	lms_call(p, STEP_TOKEN, &o, token_got);
	free(body);
	free(enc_s);
	free(enc_a);
	free(assertion);
}

static void
stored(const struct db_reply *r, void *arg)
{
	struct ags_prep *p = arg;

	p->req = NULL;
	if (r->status != DB_OK)
		log_warnx("ags", "line item not kept", "school=%s endpoint=%s err=\"%s\"", p->school_s,
		    p->endpoint_s, r->error != NULL ? r->error : "");
	finish(p);	/* found either way: the score can go */
}

static void
lineitem_known(struct ags_prep *p, const char *url)
{
	const char *q[4] = { p->school_s, p->endpoint_s, p->unit_s, url };

	p->lineitem = xstrdup(url);
	p->step = STEP_STORE;
	p->req = db_query(p->a->db, "INSERT INTO lti_lineitem (school_id, endpoint_id, unit_id,"
	    " lineitem_url, created_at) VALUES ($1, $2::bigint, $3::bigint, $4, now())"
	    " ON CONFLICT (school_id, endpoint_id, unit_id) DO UPDATE SET lineitem_url = EXCLUDED.lineitem_url",
	    4, q, stored, p);
}

static void
created(const struct hfetch_reply *r, void *arg)
{
	struct ags_prep *p = arg;
	json_t *j = NULL;
	const char *id;

	p->http = NULL;
	if (r->status == 200 || r->status == 201)
		j = json_loadb(r->body, r->len, 0, NULL);
	id = json_string_value(json_object_get(j, "id"));
	if (id == NULL || strncmp(id, "http", 4) != 0) {
		if (r->status == 401)
			ags_token_refused(p->a, p->school, p->endpoint);
		fail(p, "the LMS did not create the line item: %s", r->error != NULL ? r->error :
		    r->status == 200 || r->status == 201 ? "no id in its answer" : "it answered an error");
	} else {
		lineitem_known(p, id);
	}
	json_decref(j);
}

static void
found(const struct hfetch_reply *r, void *arg)
{
	struct ags_prep *p = arg;
	struct hfetch_opts o = { 0 };
	json_t *j = NULL, *item;
	char *body;
	const char *id;

	p->http = NULL;
	if (r->status == 200)
		j = json_loadb(r->body, r->len, 0, NULL);
	if (!json_is_array(j)) {
		if (r->status == 401)
			ags_token_refused(p->a, p->school, p->endpoint);
		fail(p, "the LMS's line items: %s", r->error != NULL ? r->error :
		    r->status != 200 ? "it answered an error" : "not a list");
		json_decref(j);
		return;
	}
	item = json_array_get(j, 0);
	id = json_string_value(json_object_get(item, "id"));
	if (id != NULL && strncmp(id, "http", 4) == 0) {
		lineitem_known(p, id);
		json_decref(j);
		return;
	}
	json_decref(j);
	/* none yet: create it (AGS §3.2) */
	j = json_pack("{s:i, s:s+, s:s, s:s}", "scoreMaximum", 100, "label", "Recall: ", p->unit_name,
	    "resourceId", p->unit_s, "tag", "recalld");
	body = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	o.method = "POST";
	o.url = p->container;
	o.body = body;
	o.content_type = "application/vnd.ims.lis.v2.lineitem+json";
	o.accept = "application/vnd.ims.lis.v2.lineitem+json";
	lms_call(p, STEP_CREATE, &o, created);
	free(body);
}

/* Find the unit's line item in the container by resource id and tag. */
static void
find_start(struct ags_prep *p)
{
	struct hfetch_opts o = { 0 };
	char *url;

	url = xasprintf("%s%cresource_id=%s&tag=recalld", p->container,
	    strchr(p->container, '?') != NULL ? '&' : '?', p->unit_s);
	o.url = url;
	o.accept = "application/vnd.ims.lis.v2.lineitemcontainer+json";
	lms_call(p, STEP_FIND, &o, found);
	free(url);
}

/* The next step: a token (cached or asked for), then the line item. */
static void
step(struct ags_prep *p)
{
	struct token_slot *t = token_of(p->a, p->school, p->platform);

	if (p->bearer == NULL) {
		if (t == NULL || t->until_ms <= util_mono_ms()) {
			if (p->step != STEP_TOKEN) {
				token_start(p);
				return;
			}
			fail(p, "the LMS's token expired at once");
			return;
		}
		p->bearer = xstrdup(t->bearer);
	}
	if (p->token_only != NULL || p->lineitem != NULL) {
		finish(p);
		return;
	}
	for (struct ags_prep *o = p->a->preps; o != NULL; o = o->next)
		if (same_item(o, p) && (o->step == STEP_FIND || o->step == STEP_CREATE ||
		    o->step == STEP_STORE) && o->lineitem == NULL) {
			p->step = STEP_WAIT;	/* woken by o */
			return;
		}
	find_start(p);
}

static void
read_done(const struct db_reply *r, void *arg)
{
	struct ags_prep *p = arg;
	const PGresult *res;

	p->req = NULL;
	if (r->status != DB_OK) {
		fail(p, "the database is not reachable");
		return;
	}
	res = r->results[0];
	if (PQntuples(res) == 0) {
		fail(p, "the LMS registration of this gradebook is gone");
		return;
	}
	p->platform = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	p->token_url = xstrdup(PQgetvalue(res, 0, 1));
	p->client_id = xstrdup(PQgetvalue(res, 0, 2));
	p->kid = pgrow_str(res, 0, 3) != NULL ? xstrdup(PQgetvalue(res, 0, 3)) : NULL;
	p->sealed = pgrow_str(res, 0, 4) != NULL ? xstrdup(PQgetvalue(res, 0, 4)) : NULL;
	if (pgrow_str(res, 0, 5) != NULL)
		p->lineitem = xstrdup(PQgetvalue(res, 0, 5));
	p->step = STEP_READ;
	step(p);
}

static struct ags_prep *
prep_new(ags *a, int64_t school)
{
	struct ags_prep *p = xcalloc(1, sizeof *p);

	p->a = a;
	p->school = school;
	snprintf(p->school_s, sizeof p->school_s, "%" PRId64, school);
	p->next = a->preps;
	if (a->preps != NULL)
		a->preps->prevp = &p->next;
	a->preps = p;
	p->prevp = &a->preps;
	return p;
}

static void
later_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ags_prep *p = arg;

	event_free(p->later);
	p->later = NULL;
	finish(p);
}

ags_prep *
ags_prepare(ags *a, int64_t school, int64_t endpoint, const char *container, const char *payload,
    ags_ready_cb cb, void *arg)
{
	struct ags_prep *p = prep_new(a, school);
	json_t *j = json_loads(payload, 0, NULL);
	json_t *unit = json_object_get(json_object_get(j, "data"), "unit");
	const char *q[3];

	p->endpoint = endpoint;
	p->ready = cb;
	p->arg = arg;
	p->container = xstrdup(container);
	snprintf(p->endpoint_s, sizeof p->endpoint_s, "%" PRId64, endpoint);
	p->unit = json_integer_value(json_object_get(unit, "id"));
	p->unit_name = xstrdup(json_string_value(json_object_get(unit, "name")) ?
	    json_string_value(json_object_get(unit, "name")) : "a unit");
	snprintf(p->unit_s, sizeof p->unit_s, "%" PRId64, p->unit);
	json_decref(j);
	if (p->unit <= 0 || a->secrets == NULL) {
		p->error = xstrdup(a->secrets == NULL ? "secrets.key_file is not set: the tool's LTI key"
		    " cannot be opened" : "the score names no unit");
		p->later = event_new(a->base, -1, 0, later_cb, p);
		event_active(p->later, 0, 0);
		return p;
	}
	q[0] = p->school_s;
	q[1] = p->endpoint_s;
	q[2] = p->unit_s;
	p->req = db_query(a->db,
	    "SELECT e.platform_id, pl.token_url, pl.client_id, k.kid, k.private_sealed, li.lineitem_url"
	    " FROM endpoint e JOIN lti_platform pl ON pl.school_id = e.school_id"
	    "  AND pl.platform_id = e.platform_id"
	    " LEFT JOIN lti_key k ON k.retired_at IS NULL"
	    " LEFT JOIN lti_lineitem li ON li.school_id = e.school_id AND li.endpoint_id = e.endpoint_id"
	    "  AND li.unit_id = $3::bigint"
	    " WHERE e.school_id = $1 AND e.endpoint_id = $2::bigint", 3, q, read_done, p);
	return p;
}

ags_prep *
ags_token(ags *a, int64_t school, int64_t platform, ags_token_cb cb, void *arg)
{
	struct ags_prep *p = prep_new(a, school);
	const char *q[2];

	p->token_only = cb;
	p->arg = arg;
	snprintf(p->platform_s, sizeof p->platform_s, "%" PRId64, platform);
	if (a->secrets == NULL) {
		p->error = xstrdup("secrets.key_file is not set: the tool's LTI key cannot be opened");
		p->later = event_new(a->base, -1, 0, later_cb, p);
		event_active(p->later, 0, 0);
		return p;
	}
	q[0] = p->school_s;
	q[1] = p->platform_s;
	p->req = db_query(a->db,
	    "SELECT pl.platform_id, pl.token_url, pl.client_id, k.kid, k.private_sealed, NULL"
	    " FROM lti_platform pl LEFT JOIN lti_key k ON k.retired_at IS NULL"
	    " WHERE pl.school_id = $1 AND pl.platform_id = $2::bigint", 2, q, read_done, p);
	return p;
}

void
ags_token_refused(ags *a, int64_t school, int64_t endpoint)
{
	/* By endpoint or platform id: either way every token of the school goes. */
	(void)endpoint;
	for (struct token_slot *t = a->tokens; t != NULL; t = t->next)
		if (t->school == school)
			t->until_ms = 0;
}

char *
ags_score_body(const char *payload)
{
	json_t *j = json_loads(payload, 0, NULL);
	json_t *score = json_object_get(json_object_get(j, "data"), "score");
	char *out = json_is_object(score) ? json_dumps(score, JSON_COMPACT) : NULL;

	json_decref(j);
	return out;
}

const char ags_queue_sql[] =
    "WITH due AS (SELECT e.endpoint_id, m.pupil_id, m.unit_id, lu.sub, un.name AS unit_name,"
    "  m.level, m.recall"
    " FROM endpoint e"
    " JOIN class_pupil cp ON cp.school_id = e.school_id AND cp.class_id = e.class_id"
    " JOIN pupil pu ON pu.school_id = cp.school_id AND pu.pupil_id = cp.pupil_id AND pu.active"
    " JOIN lti_user lu ON lu.school_id = e.school_id AND lu.platform_id = e.platform_id"
    "  AND lu.pupil_id = cp.pupil_id"
    " JOIN taught t ON t.school_id = e.school_id AND t.class_id = e.class_id"
    " JOIN mastery m ON m.school_id = e.school_id AND m.pupil_id = cp.pupil_id AND m.unit_id = t.unit_id"
    " JOIN unit un ON un.school_id = m.school_id AND un.unit_id = m.unit_id"
    " LEFT JOIN lti_score s ON s.school_id = e.school_id AND s.endpoint_id = e.endpoint_id"
    "  AND s.pupil_id = m.pupil_id AND s.unit_id = m.unit_id"
    " WHERE e.school_id = $1 AND e.enabled AND e.format = '" AGS_FORMAT "'"
    " AND (s.queued_at IS NULL OR (m.updated_at > s.queued_at"
    "  AND s.queued_at <= $2::timestamptz - $3::bigint * interval '1 millisecond'))),"
    " names (l, name) AS (VALUES (0, 'Emerging'), (1, 'Developing'), (2, 'Secure'), (3, 'Mastery')),"
    " queued AS (INSERT INTO delivery (school_id, endpoint_id, event_type, webhook_id, payload,"
    "  status, attempts, next_attempt_at, created_at)"
    " SELECT $1, d.endpoint_id, '" AGS_EVENT "', 'msg_' || replace(gen_random_uuid()::text, '-', ''),"
    "  json_build_object('type', '" AGS_EVENT "', 'timestamp', $2::timestamptz, 'data',"
    "   json_build_object('pupil', json_build_object('id', d.pupil_id),"
    "    'unit', json_build_object('id', d.unit_id, 'name', d.unit_name),"
    "    'score', json_build_object('userId', d.sub,"
    "     'scoreGiven', round((100 * d.recall)::numeric, 1), 'scoreMaximum', 100,"
    "     'activityProgress', CASE WHEN d.level = 3 THEN 'Completed' ELSE 'InProgress' END,"
    "     'gradingProgress', 'FullyGraded',"
    "     'comment', n.name || ': recalls ' || round(100 * d.recall) || '% of this unit today.'"
    "      || CASE WHEN d.level = 3 THEN ' The highest level: practise now and then to keep it.'"
    "      ELSE ' To reach ' || nx.name || ': keep answering its questions right as they come back.'"
    "      END,"
    "     'timestamp', $2::timestamptz)))::text,"
    "  'pending', 0, $2::timestamptz, $2::timestamptz"
    " FROM due d JOIN names n ON n.l = d.level LEFT JOIN names nx ON nx.l = d.level + 1"
    " RETURNING 1)"
    " INSERT INTO lti_score (school_id, endpoint_id, pupil_id, unit_id, queued_at)"
    " SELECT $1, endpoint_id, pupil_id, unit_id, $2::timestamptz FROM due"
    " ON CONFLICT (school_id, endpoint_id, pupil_id, unit_id) DO UPDATE"
    "  SET queued_at = EXCLUDED.queued_at";
