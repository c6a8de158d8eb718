/*
 * ltikey.h: the tool's own RSA keys, through libcjose: making a key pair,
 * its public JWK for /lti/jwks, and signing what recalld sends a platform
 * (RS256 compact JWS: deep-linking replies, client assertions). Pure: no
 * I/O; the caller keeps the private JWK sealed (table lti_key).
 */
#ifndef RECALLD_LTIKEY_H
#define RECALLD_LTIKEY_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define LTIKEY_BITS 2048

/* A tool key pair: text malloc'd, freed by ltikey_pair_clear (the private part wiped). */
struct ltikey_pair {
	char *kid;		/* 16 random bytes, base64url */
	char *private_jwk;	/* JSON text of the whole key */
	char *public_jwk;	/* JSON text: kty, kid, n, e, alg RS256, use sig */
};

/* A new pair of bits (>= 2048); false with err. */
bool ltikey_generate(int bits, struct ltikey_pair *out, char *err, size_t errlen);
void ltikey_pair_clear(struct ltikey_pair *p);

/*
 * claims signed as a compact JWS (header alg RS256, typ JWT, kid) with the
 * private JWK text; malloc'd, or NULL with err.
 */
char *ltikey_sign(const char *private_jwk, const json_t *claims, char *err, size_t errlen);

#endif
