/*
 * idtoken.c: checking a platform's id_token (idtoken.h).
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjose/cjose.h>

#include "b64.h"
#include "idtoken.h"
#include "util.h"

#define WHY(...) util_err(why, len, __VA_ARGS__)

/* One base64url part of a compact JWS as a JSON object, or NULL. */
static json_t *
part_json(const char *s, size_t n)
{
	unsigned char *buf;
	size_t out = 0;
	json_t *j = NULL;

	if (n == 0 || n > IDTOKEN_MAX)
		return NULL;
	buf = xmalloc(n);
	if (b64_decode(s, n, B64_URL_UNPADDED, buf, n, &out))
		j = json_loadb((const char *)buf, out, JSON_REJECT_DUPLICATES, NULL);
	free(buf);
	if (j != NULL && !json_is_object(j)) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

enum idtoken_status
idtoken_parse(const char *compact, struct idtoken *t, char *why, size_t len)
{
	const char *d1, *d2, *alg;
	size_t n;

	memset(t, 0, sizeof *t);
	n = strnlen(compact, IDTOKEN_MAX + 1);
	if (n > IDTOKEN_MAX)
		return WHY("the id_token is longer than %d bytes", IDTOKEN_MAX), IDTOKEN_MALFORMED;
	d1 = strchr(compact, '.');
	d2 = d1 != NULL ? strchr(d1 + 1, '.') : NULL;
	if (d1 == NULL || d2 == NULL || strchr(d2 + 1, '.') != NULL)
		return WHY("the id_token is not a signed JWT (three parts)"), IDTOKEN_MALFORMED;
	t->header = part_json(compact, (size_t)(d1 - compact));
	t->claims = part_json(d1 + 1, (size_t)(d2 - d1 - 1));
	if (t->header == NULL || t->claims == NULL)
		return WHY("the id_token's header or claims are not base64url JSON objects"), IDTOKEN_MALFORMED;
	if (d2[1] == '\0')
		return WHY("the id_token has no signature"), IDTOKEN_ALG;
	alg = json_string_value(json_object_get(t->header, "alg"));
	if (alg == NULL || strcmp(alg, "RS256") != 0)
		return WHY("the id_token is signed with %s; only RS256 is taken",
		    alg != NULL ? alg : "no algorithm"), IDTOKEN_ALG;
	/* A critical extension we do not know must make us refuse (RFC 7515 §4.1.11). */
	if (json_object_get(t->header, "crit") != NULL)
		return WHY("the id_token's header has critical extensions"), IDTOKEN_ALG;
	t->kid = json_string_value(json_object_get(t->header, "kid"));
	if (t->kid == NULL || t->kid[0] == '\0')
		return WHY("the id_token's header has no kid"), IDTOKEN_MALFORMED;
	return IDTOKEN_OK;
}

void
idtoken_free(struct idtoken *t)
{
	json_decref(t->header);
	json_decref(t->claims);
	memset(t, 0, sizeof *t);
}

/* The JWKS's key named kid that may check an RS256 signature, or NULL. */
static const json_t *
find_key(const json_t *jwks, const char *kid)
{
	const json_t *keys = json_object_get(jwks, "keys"), *k;
	size_t i;

	json_array_foreach(keys, i, k) {
		const char *id = json_string_value(json_object_get(k, "kid"));
		const char *kty = json_string_value(json_object_get(k, "kty"));
		const char *use = json_string_value(json_object_get(k, "use"));
		const char *alg = json_string_value(json_object_get(k, "alg"));

		if (id == NULL || strcmp(id, kid) != 0 || kty == NULL || strcmp(kty, "RSA") != 0)
			continue;
		if ((use != NULL && strcmp(use, "sig") != 0) || (alg != NULL && strcmp(alg, "RS256") != 0))
			continue;
		return k;
	}
	return NULL;
}

enum idtoken_status
idtoken_verify(const char *compact, const struct idtoken *t, const json_t *jwks, char *why,
    size_t len)
{
	const json_t *key = find_key(jwks, t->kid);
	cjose_err ce = { 0 };
	cjose_jwk_t *jwk = NULL;
	cjose_jws_t *jws = NULL;
	enum idtoken_status st = IDTOKEN_SIGNATURE;

	if (key == NULL)
		return WHY("the platform has no RS256 key with the id_token's kid"), IDTOKEN_UNKNOWN_KID;
	jwk = cjose_jwk_import_json((cjose_header_t *)key, &ce);
	if (jwk == NULL || cjose_jwk_get_kty(jwk, &ce) != CJOSE_JWK_KTY_RSA) {
		WHY("the platform's key %s cannot be read", t->kid);
		goto out;
	}
	if (cjose_jwk_get_keysize(jwk, &ce) < 2048) {
		WHY("the platform's key %s is shorter than 2048 bits", t->kid);
		goto out;
	}
	jws = cjose_jws_import(compact, strlen(compact), &ce);
	if (jws == NULL) {
		WHY("the id_token cannot be read as a JWS");
		st = IDTOKEN_MALFORMED;
		goto out;
	}
	if (!cjose_jws_verify(jws, jwk, &ce)) {
		WHY("the id_token's signature does not verify with the platform's key %s", t->kid);
		goto out;
	}
	st = IDTOKEN_OK;
out:
	if (jws != NULL)
		cjose_jws_release(jws);
	if (jwk != NULL)
		cjose_jwk_release(jwk);
	return st;
}

static const char *
str_in(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* A role's URI as recalld's role bits (LIS v2 vocabularies; the short names too). */
unsigned
lti_role_bits(const char *r)
{
	const char *hash = strrchr(r, '#');
	const char *name = hash != NULL ? hash + 1 : r;
	bool institution = strstr(r, "/institution/") != NULL || strstr(r, "/system/") != NULL;

	if (strcmp(name, "Learner") == 0 || (institution && strcmp(name, "Student") == 0))
		return LTI_ROLE_LEARNER;
	if (strcmp(name, "Instructor") == 0 || strcmp(name, "TeachingAssistant") == 0 ||
	    strcmp(name, "ContentDeveloper") == 0 || (institution && strcmp(name, "Faculty") == 0))
		return LTI_ROLE_INSTRUCTOR;
	if (strcmp(name, "Administrator") == 0)
		return LTI_ROLE_ADMIN;
	return 0;
}

/* An integer NumericDate claim. */
static bool
num_date(const json_t *claims, const char *k, int64_t *out)
{
	const json_t *v = json_object_get(claims, k);

	if (json_is_integer(v))
		*out = (int64_t)json_integer_value(v);
	else if (json_is_real(v))
		*out = (int64_t)json_real_value(v);
	else
		return false;
	return true;
}

static bool
aud_ok(const json_t *claims, const char *client_id, char *why, size_t len)
{
	const json_t *aud = json_object_get(claims, "aud"), *a;
	const char *azp = str_in(claims, "azp");
	bool found = false;
	size_t i, n = 0;

	if (json_is_string(aud)) {
		found = strcmp(json_string_value(aud), client_id) == 0;
		n = 1;
	} else if (json_is_array(aud)) {
		json_array_foreach(aud, i, a)
			if (json_is_string(a) && strcmp(json_string_value(a), client_id) == 0)
				found = true;
		n = json_array_size(aud);
	}
	if (!found)
		return WHY("the id_token is not for this tool (aud does not hold its client_id)");
	/* Several audiences: azp must name us (OIDC Core §3.1.3.7 items 4-5). */
	if ((n > 1 && azp == NULL) || (azp != NULL && strcmp(azp, client_id) != 0))
		return WHY("the id_token's azp is not this tool's client_id");
	return true;
}

enum idtoken_status
idtoken_check(const struct idtoken *t, const struct idtoken_expect *e, struct lti_launch *out,
    char *why, size_t len)
{
	const json_t *c = t->claims, *roles, *r, *ctx, *lis, *link, *dl, *nrps, *ags, *custom;
	const char *iss = str_in(c, "iss"), *nonce = str_in(c, "nonce"), *mt, *ver;
	int64_t exp, iat;
	size_t i;
	bool dep = false;

	memset(out, 0, sizeof *out);
	if (iss == NULL || strcmp(iss, e->issuer) != 0)
		return WHY("the id_token's iss is not the platform's issuer"), IDTOKEN_CLAIMS;
	if (!aud_ok(c, e->client_id, why, len))
		return IDTOKEN_CLAIMS;
	if (!num_date(c, "exp", &exp) || !num_date(c, "iat", &iat))
		return WHY("the id_token has no exp or iat"), IDTOKEN_CLAIMS;
	if (exp + IDTOKEN_LEEWAY_S <= e->now)
		return WHY("the id_token has expired"), IDTOKEN_CLAIMS;
	if (iat - IDTOKEN_LEEWAY_S > e->now || iat + IDTOKEN_MAX_AGE_S < e->now)
		return WHY("the id_token's iat is not now (check the clocks of the LMS and of recalld)"),
		    IDTOKEN_CLAIMS;
	if (nonce == NULL || e->nonce == NULL || strcmp(nonce, e->nonce) != 0)
		return WHY("the id_token's nonce is not the one of this login"), IDTOKEN_CLAIMS;
	ver = str_in(c, LTI_CLAIM "version");
	if (ver == NULL || strcmp(ver, "1.3.0") != 0)
		return WHY("the launch is not LTI 1.3.0"), IDTOKEN_CLAIMS;
	out->deployment_id = str_in(c, LTI_CLAIM "deployment_id");
	for (i = 0; out->deployment_id != NULL && i < e->ndeployments; i++)
		if (strcmp(out->deployment_id, e->deployments[i]) == 0)
			dep = true;
	if (!dep)
		return WHY("the launch's deployment_id is not one registered for this school"), IDTOKEN_CLAIMS;
	mt = str_in(c, LTI_CLAIM "message_type");
	if (mt != NULL && strcmp(mt, "LtiResourceLinkRequest") == 0)
		out->message = LTI_RESOURCE_LINK;
	else if (mt != NULL && strcmp(mt, "LtiDeepLinkingRequest") == 0)
		out->message = LTI_DEEP_LINKING;
	else
		return WHY("the launch's message_type is not one recalld takes"), IDTOKEN_CLAIMS;
	out->sub = str_in(c, "sub");
	if (out->sub == NULL || out->sub[0] == '\0' || strlen(out->sub) > 255)
		return WHY("the launch has no user (sub)"), IDTOKEN_CLAIMS;
	roles = json_object_get(c, LTI_CLAIM "roles");
	if (!json_is_array(roles))
		return WHY("the launch has no roles claim"), IDTOKEN_CLAIMS;
	json_array_foreach(roles, i, r)
		if (json_is_string(r))
			out->roles |= lti_role_bits(json_string_value(r));
	out->target_link_uri = str_in(c, LTI_CLAIM "target_link_uri");
	if (out->message == LTI_RESOURCE_LINK) {
		link = json_object_get(c, LTI_CLAIM "resource_link");
		out->resource_link_id = str_in(link, "id");
		if (out->resource_link_id == NULL || out->target_link_uri == NULL)
			return WHY("the launch has no resource_link id or target_link_uri"), IDTOKEN_CLAIMS;
	} else {
		dl = json_object_get(c, LTI_DL_CLAIM "deep_linking_settings");
		out->dl_return_url = str_in(dl, "deep_link_return_url");
		out->dl_data = str_in(dl, "data");
		if (out->dl_return_url == NULL || strlen(out->dl_return_url) > 2000 ||
		    (strncmp(out->dl_return_url, "https://", 8) != 0 &&
		    strncmp(out->dl_return_url, "http://", 7) != 0) ||
		    strcspn(out->dl_return_url, " \t\r\n\"'<>") != strlen(out->dl_return_url))
			return WHY("the deep-linking request has no deep_link_return_url (an http(s) URL)"),
			    IDTOKEN_CLAIMS;
		if (out->dl_data != NULL && strlen(out->dl_data) > 4000)
			return WHY("the deep-linking request's data is longer than 4000 bytes"), IDTOKEN_CLAIMS;
	}
	ctx = json_object_get(c, LTI_CLAIM "context");
	out->context_id = str_in(ctx, "id");
	out->context_title = str_in(ctx, "title");
	if (ctx != NULL && (out->context_id == NULL || strlen(out->context_id) > 255))
		return WHY("the launch's context has no id"), IDTOKEN_CLAIMS;
	lis = json_object_get(c, LTI_CLAIM "lis");
	out->person_sourcedid = str_in(lis, "person_sourcedid");
	out->section_sourcedid = str_in(lis, "course_section_sourcedid");
	out->email = str_in(c, "email");
	out->given_name = str_in(c, "given_name");
	custom = json_object_get(c, LTI_CLAIM "custom");
	out->custom_unit = str_in(custom, "unit");
	nrps = json_object_get(c, LTI_NRPS_CLAIM);
	out->nrps_url = str_in(nrps, "context_memberships_url");
	if (out->nrps_url != NULL && (strlen(out->nrps_url) > 2000 ||
	    (strncmp(out->nrps_url, "https://", 8) != 0 && strncmp(out->nrps_url, "http://", 7) != 0)))
		out->nrps_url = NULL;	/* not a URL we would call */
	ags = json_object_get(c, LTI_AGS_CLAIM);
	out->ags_lineitems = str_in(ags, "lineitems");
	json_array_foreach(json_object_get(ags, "scope"), i, r)
		if (json_is_string(r) && strcmp(json_string_value(r),
		    "https://purl.imsglobal.org/spec/lti-ags/scope/score") == 0)
			out->ags_scores = true;
	if (out->ags_lineitems != NULL && (strlen(out->ags_lineitems) > 2000 ||
	    (strncmp(out->ags_lineitems, "https://", 8) != 0 &&
	    strncmp(out->ags_lineitems, "http://", 7) != 0)))
		out->ags_lineitems = NULL;	/* not a URL we would call */
	return IDTOKEN_OK;
}
