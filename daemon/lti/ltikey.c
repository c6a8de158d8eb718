/*
 * ltikey.c: the tool's RSA keys (ltikey.h), on libcjose.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjose/cjose.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "b64.h"
#include "ltikey.h"
#include "util.h"

static bool
fail(char *err, size_t errlen, const char *what, const cjose_err *ce)
{
	snprintf(err, errlen, "%s: %s", what, ce != NULL && ce->message ? ce->message : "failed");
	return false;
}

/* The public JWK with what a platform needs to pick it: alg and use. */
static char *
public_of(cjose_jwk_t *jwk, cjose_err *ce)
{
	char *pub = cjose_jwk_to_json(jwk, false, ce), *out;
	json_t *j;

	if (pub == NULL)
		return NULL;
	j = json_loads(pub, 0, NULL);
	free(pub);
	if (j == NULL)
		return NULL;
	json_object_set_new(j, "alg", json_string("RS256"));
	json_object_set_new(j, "use", json_string("sig"));
	out = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	return out;
}

bool
ltikey_generate(int bits, struct ltikey_pair *out, char *err, size_t errlen)
{
	static const uint8_t e65537[] = { 0x01, 0x00, 0x01 };
	unsigned char raw[16];
	char kid[B64_SIZE(sizeof raw)];
	cjose_err ce = { 0 };
	cjose_jwk_t *jwk = NULL;
	bool ok = false;

	memset(out, 0, sizeof *out);
	if (bits < LTIKEY_BITS) {
		snprintf(err, errlen, "an RSA key of %d bits is too short (at least %d)", bits, LTIKEY_BITS);
		return false;
	}
	if (RAND_bytes(raw, sizeof raw) != 1) {
		snprintf(err, errlen, "no random bytes");
		return false;
	}
	if (!b64_encode_url(raw, sizeof raw, kid, sizeof kid)) {
		snprintf(err, errlen, "cannot name the key");
		return false;
	}
	jwk = cjose_jwk_create_RSA_random((size_t)bits, e65537, sizeof e65537, &ce);
	if (jwk == NULL) {
		fail(err, errlen, "cannot make an RSA key", &ce);
		goto out;
	}
	if (!cjose_jwk_set_kid(jwk, kid, strlen(kid), &ce)) {
		fail(err, errlen, "cannot name the key", &ce);
		goto out;
	}
	out->kid = xstrdup(kid);
	out->private_jwk = cjose_jwk_to_json(jwk, true, &ce);
	out->public_jwk = public_of(jwk, &ce);
	if (out->private_jwk == NULL || out->public_jwk == NULL) {
		fail(err, errlen, "cannot write the key as a JWK", &ce);
		ltikey_pair_clear(out);
		goto out;
	}
	ok = true;
out:
	if (jwk != NULL)
		cjose_jwk_release(jwk);
	return ok;
}

void
ltikey_pair_clear(struct ltikey_pair *p)
{
	if (p->private_jwk != NULL)
		OPENSSL_cleanse(p->private_jwk, strlen(p->private_jwk));
	free(p->private_jwk);
	free(p->public_jwk);
	free(p->kid);
	memset(p, 0, sizeof *p);
}

char *
ltikey_sign(const char *private_jwk, const json_t *claims, char *err, size_t errlen)
{
	cjose_err ce = { 0 };
	cjose_jwk_t *jwk = NULL;
	cjose_header_t *hdr = NULL;
	cjose_jws_t *jws = NULL;
	const char *ser = NULL, *kid;
	char *payload = NULL, *out = NULL;

	jwk = cjose_jwk_import(private_jwk, strlen(private_jwk), &ce);
	if (jwk == NULL || cjose_jwk_get_kty(jwk, &ce) != CJOSE_JWK_KTY_RSA) {
		fail(err, errlen, "the tool's key cannot be read", &ce);
		goto out;
	}
	kid = cjose_jwk_get_kid(jwk, &ce);
	hdr = cjose_header_new(&ce);
	if (hdr == NULL || !cjose_header_set(hdr, CJOSE_HDR_ALG, CJOSE_HDR_ALG_RS256, &ce) ||
	    !cjose_header_set(hdr, "typ", "JWT", &ce) ||
	    (kid != NULL && !cjose_header_set(hdr, CJOSE_HDR_KID, kid, &ce))) {
		fail(err, errlen, "cannot make the header", &ce);
		goto out;
	}
	payload = json_dumps(claims, JSON_COMPACT);
	if (payload == NULL) {
		snprintf(err, errlen, "the claims are not JSON");
		goto out;
	}
	jws = cjose_jws_sign(jwk, hdr, (const uint8_t *)payload, strlen(payload), &ce);
	if (jws == NULL || !cjose_jws_export(jws, &ser, &ce)) {
		fail(err, errlen, "cannot sign", &ce);
		goto out;
	}
	out = xstrdup(ser);
out:
	free(payload);
	if (jws != NULL)
		cjose_jws_release(jws);
	if (hdr != NULL)
		cjose_header_release(hdr);
	if (jwk != NULL)
		cjose_jwk_release(jwk);
	return out;
}
