/*
 * test_lti.c: LTI 1.3 pieces on their own and through the daemon.
 *
 * Pure: the tool's keys (ltikey) sign what the id_token checker
 * (idtoken) verifies; every claim rule (aud with several audiences and
 * azp, exp and iat with their leeway, nonce, deployment, version, message
 * type, roles) refuses what it must and names it; "none", HS256 and a
 * short RSA key are refused whatever the rest says. (The launches
 * themselves, against an independent platform, are in tests/browser.sh.)
 *
 * Daemon: /v1/lti/platforms registers, shows, changes and forgets a
 * school's LMS; bad fields are 422 with each named; a teacher is 403;
 * another school's platform is 404 and its data stays; /lti/jwks shows
 * the tool's key `recalld lti rotate-key` made, and the old one during
 * the overlap. With lti.create_people on, a launch by someone the roster
 * lacks makes a pupil or a teacher with the roster's id only.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>
#include <cjose/cjose.h>

#include "apitest.h"
#include "b64.h"
#include "cktest.h"
#include "idtoken.h"
#include "ltikey.h"
#include "nrps.h"
#include "plan.h"
#include "sbuf.h"
#include "pgtest.h"
#include "util.h"

static char admin[128], other[128], teacher[128];
static char conninfo[512];
static struct ltikey_pair kp;	/* a platform's key, made once */
static json_t *jwks;
static struct idtoken held;	/* the last token check() read: launches point into it */

#define ISS "https://lms.example"
#define CLIENT "tool-client"

static const char *const deps[] = { "dep-1", "dep-2" };

/* Good claims of a resource-link launch at now with nonce n. */
static json_t *
claims_at(int64_t now, const char *n)
{
	return json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:s, s:s, s:[s], s:s, s:{s:s},"
	    " s:{s:s, s:s}, s:{s:s, s:s}}",
	    "iss", ISS, "aud", CLIENT, "sub", "user-1", "iat", (json_int_t)now,
	    "exp", (json_int_t)(now + 300), "nonce", n,
	    LTI_CLAIM "version", "1.3.0", LTI_CLAIM "deployment_id", "dep-2",
	    LTI_CLAIM "message_type", "LtiResourceLinkRequest",
	    LTI_CLAIM "roles", "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor",
	    LTI_CLAIM "target_link_uri", "https://recalld.example/lti/1/launch",
	    LTI_CLAIM "resource_link", "id", "rl-1",
	    LTI_CLAIM "context", "id", "ctx-1", "title", "8A Science",
	    LTI_CLAIM "lis", "person_sourcedid", "teacher-01", "course_section_sourcedid", "class-8a");
}

/* Check claims signed with the test key: the status, the why into why. */
static enum idtoken_status
check(json_t *claims, char *why, size_t len, struct lti_launch *out)
{
	struct idtoken_expect e = { ISS, CLIENT, "n-1", deps, 2, (int64_t)time(NULL) };
	struct lti_launch l;
	char *tok = ltikey_sign(kp.private_jwk, claims, why, len);
	enum idtoken_status st;

	json_decref(claims);
	ck_assert(tok != NULL);
	idtoken_free(&held);
	st = idtoken_parse(tok, &held, why, len);
	if (st == IDTOKEN_OK)
		st = idtoken_verify(tok, &held, jwks, why, len);
	if (st == IDTOKEN_OK)
		st = idtoken_check(&held, &e, out != NULL ? out : &l, why, len);
	free(tok);
	return st;
}

static json_t *
with(json_t *c, const char *k, json_t *v)
{
	if (v == NULL)
		json_object_del(c, k);
	else
		json_object_set_new(c, k, v);
	return c;
}

START_TEST(test_good_launch)
{
	struct lti_launch l;
	char why[256] = "";
	int64_t now = (int64_t)time(NULL);
	json_t *c = claims_at(now, "n-1");
	enum idtoken_status st;

	/* kept alive: l points into the claims, which check() frees */
	json_incref(c);
	st = check(c, why, sizeof why, &l);
	ck_assert_msg(st == IDTOKEN_OK, "%s", why);
	json_decref(c);
	/* several audiences: azp must name us */
	c = with(claims_at(now, "n-1"), "aud", json_pack("[s, s]", "someone", CLIENT));
	ck_assert_int_eq(check(c, why, sizeof why, NULL), IDTOKEN_CLAIMS);
	ck_assert(strstr(why, "azp") != NULL);
	c = with(claims_at(now, "n-1"), "aud", json_pack("[s, s]", "someone", CLIENT));
	c = with(c, "azp", json_string(CLIENT));
	ck_assert_int_eq(check(c, why, sizeof why, NULL), IDTOKEN_OK);
	/* within the leeway on both sides */
	c = with(claims_at(now, "n-1"), "exp", json_integer(now - IDTOKEN_LEEWAY_S / 2));
	ck_assert_int_eq(check(c, why, sizeof why, NULL), IDTOKEN_OK);
	c = with(claims_at(now, "n-1"), "iat", json_integer(now + IDTOKEN_LEEWAY_S / 2));
	ck_assert_int_eq(check(c, why, sizeof why, NULL), IDTOKEN_OK);
}
END_TEST

START_TEST(test_claims_refused)
{
	static const struct {
		const char *claim;
		const char *json;	/* NULL: removed */
		const char *why;
	} cases[] = {
		{ "iss", "\"https://other.example\"", "iss" },
		{ "aud", "\"other-tool\"", "aud" },
		{ "azp", "\"other-tool\"", "azp" },
		{ "exp", NULL, "exp" },
		{ "nonce", "\"n-2\"", "nonce" },
		{ "nonce", NULL, "nonce" },
		{ LTI_CLAIM "version", "\"1.1.0\"", "1.3.0" },
		{ LTI_CLAIM "deployment_id", "\"dep-3\"", "deployment_id" },
		{ LTI_CLAIM "deployment_id", NULL, "deployment_id" },
		{ LTI_CLAIM "message_type", "\"LtiSubmissionReviewRequest\"", "message_type" },
		{ "sub", NULL, "sub" },
		{ "sub", "\"\"", "sub" },
		{ LTI_CLAIM "roles", "\"Instructor\"", "roles" },
		{ LTI_CLAIM "resource_link", NULL, "resource_link" },
		{ LTI_CLAIM "context", "{\"title\": \"no id\"}", "context" },
	};
	int64_t now = (int64_t)time(NULL);
	char why[256];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		json_t *v = cases[i].json ? json_loads(cases[i].json, JSON_DECODE_ANY, NULL) : NULL;

		why[0] = '\0';
		ck_assert_msg(check(with(claims_at(now, "n-1"), cases[i].claim, v), why, sizeof why,
		    NULL) == IDTOKEN_CLAIMS, "%s %s was taken", cases[i].claim,
		    cases[i].json ? cases[i].json : "(removed)");
		ck_assert_msg(strstr(why, cases[i].why) != NULL, "%s: '%s' does not say %s",
		    cases[i].claim, why, cases[i].why);
	}
	/* too old, too new, expired beyond the leeway */
	ck_assert_int_eq(check(with(claims_at(now, "n-1"), "exp", json_integer(now - IDTOKEN_LEEWAY_S - 5)),
	    why, sizeof why, NULL), IDTOKEN_CLAIMS);
	ck_assert(strstr(why, "expired") != NULL);
	ck_assert_int_eq(check(with(claims_at(now, "n-1"), "iat", json_integer(now + 600)),
	    why, sizeof why, NULL), IDTOKEN_CLAIMS);
	ck_assert_int_eq(check(with(claims_at(now, "n-1"), "iat",
	    json_integer(now - IDTOKEN_MAX_AGE_S - 100)), why, sizeof why, NULL), IDTOKEN_CLAIMS);
}
END_TEST

/* A compact token of header and claims, with sig as its third part. */
static char *
compact(const char *header, const json_t *claims, const char *sig)
{
	char *c = json_dumps(claims, JSON_COMPACT), h64[2048], c64[8192], *out;

	ck_assert(b64_encode_url((const unsigned char *)header, strlen(header), h64, sizeof h64));
	ck_assert(b64_encode_url((const unsigned char *)c, strlen(c), c64, sizeof c64));
	out = xasprintf("%s.%s.%s", h64, c64, sig);
	free(c);
	return out;
}

START_TEST(test_algorithms_refused)
{
	int64_t now = (int64_t)time(NULL);
	json_t *c = claims_at(now, "n-1");
	struct idtoken t;
	char why[256], *tok, *good;
	const char *dot;
	unsigned char secret[2048];
	cjose_err ce;
	cjose_jwk_t *oct;
	cjose_header_t *h;
	cjose_jws_t *jws;
	const char *ser;

	/* none, with and without a signature part */
	tok = compact("{\"alg\":\"none\",\"kid\":\"k\"}", c, "");
	ck_assert_int_eq(idtoken_parse(tok, &t, why, sizeof why), IDTOKEN_ALG);
	idtoken_free(&t);
	free(tok);
	tok = compact("{\"alg\":\"none\",\"kid\":\"k\"}", c, "AAAA");
	ck_assert_int_eq(idtoken_parse(tok, &t, why, sizeof why), IDTOKEN_ALG);
	ck_assert(strstr(why, "none") != NULL);
	idtoken_free(&t);
	free(tok);
	/* HS256 keyed with the platform's public key text: refused before any key is used */
	snprintf((char *)secret, sizeof secret, "%s", kp.public_jwk);
	oct = cjose_jwk_create_oct_spec(secret, strlen((char *)secret), &ce);
	h = cjose_header_new(&ce);
	cjose_header_set(h, CJOSE_HDR_ALG, CJOSE_HDR_ALG_HS256, &ce);
	cjose_header_set(h, CJOSE_HDR_KID, kp.kid, &ce);
	tok = json_dumps(c, JSON_COMPACT);
	jws = cjose_jws_sign(oct, h, (const uint8_t *)tok, strlen(tok), &ce);
	free(tok);
	ck_assert(jws != NULL && cjose_jws_export(jws, &ser, &ce));
	ck_assert_int_eq(idtoken_parse(ser, &t, why, sizeof why), IDTOKEN_ALG);
	ck_assert(strstr(why, "HS256") != NULL);
	idtoken_free(&t);
	cjose_jws_release(jws);
	cjose_header_release(h);
	cjose_jwk_release(oct);
	/* a good signature under an RS256 header, with "crit": refused */
	good = ltikey_sign(kp.private_jwk, c, why, sizeof why);
	dot = strchr(good, '.');
	tok = compact("{\"alg\":\"RS256\",\"kid\":\"k\",\"crit\":[\"exp\"]}", c, strrchr(good, '.') + 1);
	ck_assert_int_eq(idtoken_parse(tok, &t, why, sizeof why), IDTOKEN_ALG);
	idtoken_free(&t);
	free(tok);
	/* the signature of one token on other claims */
	json_object_set_new(c, "sub", json_string("someone-else"));
	tok = compact("{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"x\"}", c, strrchr(good, '.') + 1);
	ck_assert_int_eq(idtoken_parse(tok, &t, why, sizeof why), IDTOKEN_OK);
	ck_assert_int_eq(idtoken_verify(tok, &t, jwks, why, sizeof why), IDTOKEN_UNKNOWN_KID);
	idtoken_free(&t);
	free(tok);
	{
		/* the real kid, other claims: the signature fails */
		char hdr[256];

		snprintf(hdr, sizeof hdr, "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"%s\"}", kp.kid);
		tok = compact(hdr, c, strrchr(good, '.') + 1);
		ck_assert_int_eq(idtoken_parse(tok, &t, why, sizeof why), IDTOKEN_OK);
		ck_assert_int_eq(idtoken_verify(tok, &t, jwks, why, sizeof why), IDTOKEN_SIGNATURE);
		idtoken_free(&t);
		free(tok);
	}
	(void)dot;
	free(good);
	/* malformed: two parts, four parts, not base64, not JSON, too long */
	ck_assert_int_eq(idtoken_parse("a.b", &t, why, sizeof why), IDTOKEN_MALFORMED);
	idtoken_free(&t);
	ck_assert_int_eq(idtoken_parse("a.b.c.d", &t, why, sizeof why), IDTOKEN_MALFORMED);
	idtoken_free(&t);
	ck_assert_int_eq(idtoken_parse("!!.??.x", &t, why, sizeof why), IDTOKEN_MALFORMED);
	idtoken_free(&t);
	ck_assert_int_eq(idtoken_parse("YWJj.YWJj.x", &t, why, sizeof why), IDTOKEN_MALFORMED);
	idtoken_free(&t);
	tok = xmalloc(IDTOKEN_MAX + 2);
	memset(tok, 'a', IDTOKEN_MAX + 1);
	tok[IDTOKEN_MAX + 1] = '\0';
	ck_assert_int_eq(idtoken_parse(tok, &t, why, sizeof why), IDTOKEN_MALFORMED);
	idtoken_free(&t);
	free(tok);
	json_decref(c);
}
END_TEST

START_TEST(test_keys)
{
	struct ltikey_pair k;
	char err[256];
	json_t *pub;

	ck_assert(!ltikey_generate(1024, &k, err, sizeof err));
	ck_assert(strstr(err, "too short") != NULL);
	pub = json_loads(kp.public_jwk, 0, NULL);
	ck_assert(pub != NULL);
	ck_assert_str_eq(json_string_value(json_object_get(pub, "kty")), "RSA");
	ck_assert_str_eq(json_string_value(json_object_get(pub, "alg")), "RS256");
	ck_assert_str_eq(json_string_value(json_object_get(pub, "kid")), kp.kid);
	ck_assert(json_object_get(pub, "d") == NULL && json_object_get(pub, "p") == NULL);
	json_decref(pub);
	/* roles: context, institution and the short names */
	{
		int64_t now = (int64_t)time(NULL);
		struct lti_launch l;
		json_t *c = with(claims_at(now, "n-1"), LTI_CLAIM "roles", json_pack("[s, s]",
		    "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Student", "Learner"));

		json_incref(c);
		ck_assert_int_eq(check(c, err, sizeof err, &l), IDTOKEN_OK);
		ck_assert_uint_eq(l.roles, LTI_ROLE_LEARNER);
		ck_assert_str_eq(l.section_sourcedid, "class-8a");
		ck_assert_str_eq(l.person_sourcedid, "teacher-01");
		json_decref(c);
		c = with(claims_at(now, "n-1"), LTI_CLAIM "roles", json_pack("[s]",
		    "http://purl.imsglobal.org/vocab/lis/v2/membership#Mentor"));
		json_incref(c);
		ck_assert_int_eq(check(c, err, sizeof err, &l), IDTOKEN_OK);
		ck_assert_uint_eq(l.roles, 0);	/* a mentor (a parent) is neither */
		json_decref(c);
	}
}
END_TEST

START_TEST(test_nrps_pure)
{
	char *u;
	plan *p;
	struct sbuf keep = { 0 };
	unsigned long line = 0;
	json_t *page;

	u = nrps_link("<https://lms.example/m?page=2>; rel=\"next\", <https://lms.example/d?since=1>;"
	    " rel=\"differences\"", "next");
	ck_assert_str_eq(u, "https://lms.example/m?page=2");
	free(u);
	u = nrps_link("<https://lms.example/m?page=2>; rel=\"next\", <https://lms.example/d?since=1>;"
	    " rel=\"differences\"", "differences");
	ck_assert_str_eq(u, "https://lms.example/d?since=1");
	free(u);
	u = nrps_link("<https://lms.example/m?page=3>;rel=next", "next");
	ck_assert_str_eq(u, "https://lms.example/m?page=3");
	free(u);
	ck_assert(nrps_link("<https://lms.example/m>; rel=\"nextish\"", "next") == NULL);
	ck_assert(nrps_link("<https://lms.example/m; rel=\"next\"", "next") == NULL);
	ck_assert(nrps_link("", "next") == NULL);

	/* a page: two learners (one left), a teacher, a member without a user id */
	page = json_loads("{\"members\": ["
	    "{\"user_id\": \"u1\", \"lis_person_sourcedid\": \"p-1\", \"roles\":"
	    " [\"http://purl.imsglobal.org/vocab/lis/v2/membership#Learner\"]},"
	    "{\"user_id\": \"u2\", \"status\": \"Inactive\", \"roles\": [\"Learner\"]},"
	    "{\"user_id\": \"t1\", \"roles\": [\"http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor\"]}"
	    "]}", 0, NULL);
	p = plan_new();
	plan_file(p, NRPS_FILE);
	nrps_plan_page(p, page, "1", "2", "3", "2026-10-19T15:30:00Z", &keep, &line);
	ck_assert_int_eq(line, 3);
	ck_assert_int_eq(plan_nrejected(p), 0);
	ck_assert_int_eq(plan_accepted(p, NRPS_FILE), 2);
	ck_assert_int_eq(plan_count(p), 3 + 1);	/* joined: pupil, user, class; left: class */
	nrps_plan_finish(p, true, "1", "3", "2026-10-19T15:30:00Z", &keep);
	ck_assert_int_eq(plan_count(p), 5);
	/* the pupil who left has no sourcedId: the id made from the LMS's */
	ck_assert_str_eq(plan_params(p, 3)[1], "lti:u2");
	ck_assert_str_eq(plan_params(p, 4)[3], "{\"p-1\"}");
	json_decref(page);
	page = json_loads("{\"members\": [{\"roles\": [\"Learner\"]}]}", 0, NULL);
	nrps_plan_page(p, page, "1", "2", "3", "2026-10-19T15:30:00Z", &keep, &line);
	ck_assert_int_eq(plan_nrejected(p), 1);
	json_decref(page);
	page = json_loads("{\"id\": \"x\"}", 0, NULL);
	nrps_plan_page(p, page, "1", "2", "3", "2026-10-19T15:30:00Z", &keep, &line);
	ck_assert_int_eq(plan_nrejected(p), 2);
	json_decref(page);
	plan_free(p);
	sbuf_free(&keep);
}
END_TEST

/* ---- through the daemon ---- */

static const char platform_body[] =
    "{\"name\": \"Moodle\", \"issuer\": \"https://moodle.school.example\", \"client_id\": \"abc\","
    " \"deployment_ids\": [\"1\"], \"auth_url\": \"https://moodle.school.example/mod/lti/auth.php\","
    " \"token_url\": \"https://moodle.school.example/mod/lti/token.php\","
    " \"jwks_url\": \"https://moodle.school.example/mod/lti/certs.php\"}";

START_TEST(test_platforms_api)
{
	json_t *r = NULL;
	long long id, bid;
	char path[64];

	ck_assert_int_eq(apitest_json("POST", admin, platform_body, &r, "/v1/lti/platforms"), 201);
	id = apitest_jint(r, "id");
	ck_assert(strstr(apitest_jstr(json_object_get(r, "tool"), "login_url"), "/lti/1/login") != NULL);
	json_decref(r);
	/* the same issuer and client again: a conflict */
	ck_assert_int_eq(apitest_json("POST", admin, platform_body, NULL, "/v1/lti/platforms"), 409);
	/* bad fields, each named */
	ck_assert_int_eq(apitest_json("POST", admin, "{\"issuer\": \"\", \"client_id\": 3,"
	    " \"deployment_ids\": [], \"auth_url\": \"ftp://x\", \"token_url\": \"https://x\","
	    " \"jwks_url\": \"https://x y\", \"colour\": \"red\"}", &r, "/v1/lti/platforms"), 422);
	ck_assert(apitest_field_error(r, "issuer") && apitest_field_error(r, "client_id") &&
	    apitest_field_error(r, "deployment_ids") && apitest_field_error(r, "auth_url") &&
	    apitest_field_error(r, "jwks_url") && apitest_field_error(r, "colour"));
	json_decref(r);
	ck_assert_int_eq(apitest_json("POST", teacher, platform_body, NULL, "/v1/lti/platforms"), 403);
	/* another school's platform: 404, and it stays */
	ck_assert_int_eq(apitest_json("POST", other, platform_body, &r, "/v1/lti/platforms"), 201);
	bid = apitest_jint(r, "id");
	json_decref(r);
	snprintf(path, sizeof path, "/v1/lti/platforms/%lld", bid);
	ck_assert_int_eq(apitest_json("GET", admin, NULL, NULL, "%s", path), 404);
	ck_assert_int_eq(apitest_json("PATCH", admin, "{\"name\": \"mine\"}", NULL, "%s", path), 404);
	ck_assert_int_eq(apitest_json("DELETE", admin, NULL, NULL, "%s", path), 404);
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM lti_platform WHERE school_id = 2"
	    " AND name = 'Moodle'"), 1);
	/* change: a new JWKS URL drops the cached keys */
	ck_assert(apitest_sql_ok("UPDATE lti_platform SET jwks = '{\"keys\": []}', jwks_fetched_at = now()"
	    " WHERE school_id = 1 AND platform_id = %lld", id));
	ck_assert_int_eq(apitest_json("PATCH", admin, "{\"deployment_ids\": [\"1\", \"2\"],"
	    " \"jwks_url\": \"https://moodle.school.example/keys\"}", &r, "/v1/lti/platforms/%lld", id), 200);
	ck_assert_int_eq(json_array_size(json_object_get(r, "deployment_ids")), 2);
	ck_assert(json_is_null(json_object_get(r, "jwks_fetched_at")));
	json_decref(r);
	ck_assert_int_eq(apitest_json("GET", admin, NULL, &r, "/v1/lti/platforms"), 200);
	ck_assert_int_eq(json_array_size(json_object_get(r, "items")), 1);
	json_decref(r);
	ck_assert_int_eq(apitest_json("DELETE", admin, NULL, NULL, "/v1/lti/platforms/%lld", id), 200);
	ck_assert_int_eq(apitest_json("GET", admin, NULL, NULL, "/v1/lti/platforms/%lld", id), 404);
}
END_TEST

static json_t *
get_jwks(void)
{
	long st = 0;
	json_t *j = api_call("GET", "/lti/jwks", NULL, NULL, NULL, &st, NULL, NULL);

	ck_assert_int_eq(st, 200);
	return j;
}

START_TEST(test_tool_keys)
{
	json_t *j;
	char *out = NULL;
	const char *first;
	char kid[64];

	/* no key yet: an empty set */
	j = get_jwks();
	ck_assert_int_eq(json_array_size(json_object_get(j, "keys")), 0);
	json_decref(j);
	ck_assert_int_eq(apitest_recalld(&out, "lti", "rotate-key", NULL), 0);
	free(out);
	j = get_jwks();
	ck_assert_int_eq(json_array_size(json_object_get(j, "keys")), 1);
	first = json_string_value(json_object_get(json_array_get(json_object_get(j, "keys"), 0), "kid"));
	snprintf(kid, sizeof kid, "%s", first);
	json_decref(j);
	/* sealed in the database: no private part in clear */
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM lti_key WHERE private_sealed LIKE 'enc1:%%'"
	    " AND public_jwk ? 'n' AND NOT public_jwk ? 'd'"), 1);
	/* rotated: both published during the overlap, the new one first */
	ck_assert_int_eq(apitest_recalld(&out, "lti", "rotate-key", NULL), 0);
	free(out);
	j = get_jwks();
	ck_assert_int_eq(json_array_size(json_object_get(j, "keys")), 2);
	ck_assert_str_ne(json_string_value(json_object_get(json_array_get(json_object_get(j, "keys"), 0),
	    "kid")), kid);
	json_decref(j);
	/* after the overlap only the new one */
	ck_assert(apitest_sql_ok("UPDATE lti_key SET publish_until = now() - interval '1 second'"
	    " WHERE retired_at IS NOT NULL"));
	j = get_jwks();
	ck_assert_int_eq(json_array_size(json_object_get(j, "keys")), 1);
	json_decref(j);
	/* keys rotate seals them again under the new key file key */
	ck_assert_int_eq(apitest_recalld(&out, "keys", "rotate", NULL), 0);
	ck_assert_msg(strstr(out, "sealed") != NULL, "%s", out);
	free(out);
}
END_TEST


/* A login then a launch by hand, signed with the test platform's key; the launch's status and Location. */
static long
launch_as(const char *sourcedid, const char *sub, const char *role, char *loc, size_t loclen)
{
	char path[512], hdr[2048], state[128], nonce[128], cookie[160], *headers = NULL, *raw = NULL;
	char *tok, *form, err[256], *p, *q;
	const char *extra[3];
	long st = 0;
	int64_t now = (int64_t)time(NULL);
	json_t *c;

	snprintf(path, sizeof path, "/lti/1/login?iss=https%%3A%%2F%%2Flms.test&login_hint=x"
	    "&target_link_uri=http%%3A%%2F%%2F127.0.0.1%%3A8080%%2Flti%%2F1%%2Flaunch&client_id=c1");
	json_decref(api_call("GET", path, NULL, NULL, NULL, &st, &raw, &headers));
	free(raw);
	ck_assert_int_eq(st, 302);
	ck_assert(apitest_header(headers, "Location", hdr, sizeof hdr) != NULL);
	ck_assert((p = strstr(hdr, "state=")) != NULL && (q = strstr(hdr, "nonce=")) != NULL);
	snprintf(state, sizeof state, "%.*s", (int)strcspn(p + 6, "&"), p + 6);
	snprintf(nonce, sizeof nonce, "%.*s", (int)strcspn(q + 6, "&"), q + 6);
	ck_assert(apitest_header(headers, "Set-Cookie", hdr, sizeof hdr) != NULL);
	snprintf(cookie, sizeof cookie, "Cookie: %.*s", (int)strcspn(hdr, ";"), hdr);
	free(headers);
	headers = NULL;
	c = json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:s, s:s, s:[s], s:s, s:{s:s}, s:{s:s}}",
	    "iss", "https://lms.test", "aud", "c1", "sub", sub, "iat", (json_int_t)now,
	    "exp", (json_int_t)(now + 300), "nonce", nonce,
	    LTI_CLAIM "version", "1.3.0", LTI_CLAIM "deployment_id", "d1",
	    LTI_CLAIM "message_type", "LtiResourceLinkRequest", LTI_CLAIM "roles", role,
	    LTI_CLAIM "target_link_uri", "http://127.0.0.1:8080/lti/1/launch",
	    LTI_CLAIM "resource_link", "id", "rl-9", LTI_CLAIM "lis", "person_sourcedid", sourcedid);
	tok = ltikey_sign(kp.private_jwk, c, err, sizeof err);
	json_decref(c);
	ck_assert(tok != NULL);
	form = xasprintf("id_token=%s&state=%s", tok, state);
	extra[0] = cookie;
	extra[1] = NULL;
	json_decref(api_call_ex("POST", "/lti/1/launch", NULL, "application/x-www-form-urlencoded",
	    form, strlen(form), extra, &st, &raw, &headers));
	loc[0] = '\0';
	if (st != 303 && raw != NULL && strstr(raw, "<h1>") != NULL)
		fprintf(stderr, "launch %ld: %.300s\n", st, strstr(raw, "<h1>"));	/* why, for the log */
	if (apitest_header(headers, "Location", hdr, sizeof hdr) != NULL)
		util_strlcpy(loc, hdr, loclen);
	free(raw);
	free(headers);
	free(form);
	free(tok);
	return st;
}

START_TEST(test_create_people)
{
	char loc[512];
	char *jwks_text = json_dumps(jwks, JSON_COMPACT);

	/* a platform whose keys recalld holds already (no fetch): the test key's */
	ck_assert(apitest_sql_ok("INSERT INTO lti_platform (school_id, issuer, client_id, deployment_ids,"
	    " auth_url, token_url, jwks_url, jwks, jwks_fetched_at, created_at, updated_at)"
	    " VALUES (1, 'https://lms.test', 'c1', '{d1}', 'https://lms.test/auth',"
	    " 'https://lms.test/token', 'https://lms.test/jwks', '%s', now(), now(), now())", jwks_text));
	free(jwks_text);
	/* lti.create_people is on in this suite: someone new is made, with the roster id only */
	ck_assert_int_eq(launch_as("brand-new-pupil", "sub-p", "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner",
	    loc, sizeof loc), 303);
	ck_assert_msg(strstr(loc, "/p/") != NULL, "%s", loc);
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM pupil p JOIN lti_user u ON u.school_id = p.school_id"
	    " AND u.pupil_id = p.pupil_id WHERE p.school_id = 1 AND p.external_id = 'brand-new-pupil'"
	    " AND p.given_name IS NULL AND p.family_name IS NULL AND u.sub = 'sub-p'"), 1);
	ck_assert_int_eq(launch_as("brand-new-teacher", "sub-t",
	    "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor", loc, sizeof loc), 303);
	ck_assert_msg(strstr(loc, "/dashboard/#signin=rcs_") != NULL, "%s", loc);
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM teacher WHERE school_id = 1"
	    " AND external_id = 'brand-new-teacher' AND email IS NULL AND given_name IS NULL"), 1);
	/* the same pupil again: found by the LMS's id, nobody new */
	ck_assert_int_eq(launch_as("brand-new-pupil", "sub-p", "Learner", loc, sizeof loc), 303);
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM pupil WHERE school_id = 1"
	    " AND external_id = 'brand-new-pupil'"), 1);
}
END_TEST

/* PostgreSQL away: every LTI page says so with a 503, and nothing is half done. */
START_TEST(test_database_down)
{
	char *raw = NULL;
	long st = 0;
	const char *extra[2] = { "Cookie: recalld_lti=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL };

	apitest_db_close();
	pgtest_stop();
	json_decref(api_call("GET", "/lti/1/login?iss=https%3A%2F%2Flms.test&login_hint=x"
	    "&target_link_uri=http%3A%2F%2F127.0.0.1%3A8080%2Flti%2F1%2Flaunch&client_id=c1",
	    NULL, NULL, NULL, &st, &raw, NULL));
	ck_assert_int_eq(st, 503);
	ck_assert_msg(raw != NULL && strstr(raw, "cannot reach its database") != NULL, "%s", raw);
	free(raw);
	raw = NULL;
	json_decref(api_call_ex("POST", "/lti/1/launch", NULL, "application/x-www-form-urlencoded",
	    "id_token=a.b.c&state=s", 22, extra, &st, &raw, NULL));
	/* a malformed token is refused before the database is asked */
	ck_assert_int_eq(st, 400);
	free(raw);
	raw = NULL;
	json_decref(api_call("GET", "/lti/jwks", NULL, NULL, NULL, &st, NULL, NULL));
	ck_assert_int_eq(st, 503);
	pgtest_resume();
	apitest_db_open(conninfo);
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM lti_login"), 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("lti");
	TCase *pure = tcase_create("pure"), *daemon = tcase_create("daemon");
	char err[256];
	int failed;

	if (!ltikey_generate(LTIKEY_BITS, &kp, err, sizeof err)) {
		fprintf(stderr, "test_lti: %s\n", err);
		return EXIT_FAILURE;
	}
	jwks = json_pack("{s:[o]}", "keys", json_loads(kp.public_jwk, 0, NULL));
	snprintf(conninfo, sizeof conninfo, "%s", pgtest_start());
	apitest_env(conninfo, "5s");
	setenv("RECALLD_LTI_CREATE_PEOPLE", "true", 1);
	CKTEST_MUST(apitest_two_schools("A", "B", admin, other, sizeof admin));
	CKTEST_MUST(apitest_import_demo(false));
	apitest_db_open(conninfo);
	CKTEST_MUST(apitest_teacher_token(teacher, sizeof teacher,
	    "SELECT min(teacher_id)::text FROM teacher WHERE school_id = 1"));
	if (!apitest_daemon_start()) {
		apitest_daemon_dump_log();
		return EXIT_FAILURE;
	}
	tcase_add_test(pure, test_good_launch);
	tcase_add_test(pure, test_claims_refused);
	tcase_add_test(pure, test_algorithms_refused);
	tcase_add_test(pure, test_keys);
	tcase_add_test(pure, test_nrps_pure);
	tcase_set_timeout(daemon, 120);
	tcase_add_test(daemon, test_platforms_api);
	tcase_add_test(daemon, test_tool_keys);
	tcase_add_test(daemon, test_create_people);
	tcase_add_test(daemon, test_database_down);
	suite_add_tcase(s, pure);
	suite_add_tcase(s, daemon);
	failed = cktest_run_nofork(s);
	ltikey_pair_clear(&kp);
	idtoken_free(&held);
	json_decref(jwks);
	return apitest_finish(failed);
}
