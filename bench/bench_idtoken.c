/*
 * bench_idtoken.c: recalld's whole check of an LTI launch's id_token on
 * one core (daemon/lti/idtoken.c: parse, the key imported from the
 * platform's JWKS, the RS256 signature, every claim), beside the raw
 * ceiling measured in the same run: OpenSSL alone checking an RS256
 * signature of each same signing input (SHA-256 and one RSA-2048 verify)
 * with its key loaded once. Target: the check at least 25% of the ceiling.
 * The network, the database and the pages of a launch are measured
 * end to end by bench/bench_lti.sh.
 *
 *   bench_idtoken [TOKENS [SECONDS]]     (default 2000 tokens, 3 s each)
 *
 * The tokens are distinct launches (their own nonce and user) signed by
 * a platform key made here; each timed check must pass. Run by hand or
 * through bench/bench_lti.sh, never in CI.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>

#include <cjose/cjose.h>

#include "idtoken.h"
#include "ltikey.h"
#include "util.h"

#define ISS "https://lms.bench.example"
#define CLIENT "bench-client"

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A pupil's launch from a course, as a platform sends it. */
static json_t *
launch_claims(int64_t now, int i)
{
	char sub[32], nonce[32], pupil[32];

	snprintf(sub, sizeof sub, "user-%d", i);
	snprintf(nonce, sizeof nonce, "nonce-%d", i);
	snprintf(pupil, sizeof pupil, "p%d", i);
	return json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:s, s:s, s:[s],"
	    " s:s, s:{s:s}, s:{s:s, s:s}, s:{s:s, s:s}}",
	    "iss", ISS, "aud", CLIENT, "sub", sub, "iat", (json_int_t)now,
	    "exp", (json_int_t)(now + 300), "nonce", nonce,
	    LTI_CLAIM "version", "1.3.0", LTI_CLAIM "deployment_id", "dep-1",
	    LTI_CLAIM "message_type", "LtiResourceLinkRequest",
	    LTI_CLAIM "roles", "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner",
	    LTI_CLAIM "target_link_uri", "https://recalld.example/lti/1/launch",
	    LTI_CLAIM "resource_link", "id", "rl-1",
	    LTI_CLAIM "context", "id", "ctx-1", "title", "8A Science",
	    LTI_CLAIM "lis", "person_sourcedid", pupil, "course_section_sourcedid", "class-8a");
}

/* An RS256 signature of in by pk (the baseline's own key, the same size as the platform's). */
static unsigned char *
rs256_sign(EVP_PKEY *pk, const char *in, size_t n, size_t *len)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char *sig = NULL;

	if (md == NULL || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pk) != 1 ||
	    EVP_DigestSign(md, NULL, len, (const unsigned char *)in, n) != 1)
		goto out;
	sig = xmalloc(*len);
	if (EVP_DigestSign(md, sig, len, (const unsigned char *)in, n) != 1) {
		free(sig);
		sig = NULL;
	}
out:
	EVP_MD_CTX_free(md);
	return sig;
}

int
main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 2000;
	double secs = argc > 2 ? atof(argv[2]) : 3.0;
	const char *deps[1] = { "dep-1" };
	int64_t now = (int64_t)time(NULL);
	struct ltikey_pair kp = { 0 };
	char err[256], why[256];
	char **toks = NULL, **nonces = NULL;
	unsigned char **sigs = NULL;
	size_t *siglen = NULL, *inlen = NULL;
	json_t *jwks = NULL, *pub = NULL;
	EVP_PKEY *pk = NULL;
	double t0, dt, checks_s, raw_s;
	long done, ok = 0;
	int rc = 1;

	if (n < 1 || secs <= 0) {
		fprintf(stderr, "usage: bench_idtoken [TOKENS [SECONDS]]\n");
		return 2;
	}
	if (!ltikey_generate(2048, &kp, err, sizeof err)) {
		fprintf(stderr, "bench_idtoken: %s\n", err);
		return 1;
	}
	if ((pub = json_loads(kp.public_jwk, 0, NULL)) == NULL ||
	    (jwks = json_pack("{s:[O]}", "keys", pub)) == NULL ||
	    (pk = EVP_RSA_gen(LTIKEY_BITS)) == NULL) {
		fprintf(stderr, "bench_idtoken: cannot load the key\n");
		goto out;
	}
	toks = calloc((size_t)n, sizeof *toks);
	nonces = calloc((size_t)n, sizeof *nonces);
	sigs = calloc((size_t)n, sizeof *sigs);
	siglen = calloc((size_t)n, sizeof *siglen);
	inlen = calloc((size_t)n, sizeof *inlen);
	if (toks == NULL || nonces == NULL || sigs == NULL || siglen == NULL || inlen == NULL)
		goto out;
	for (int i = 0; i < n; i++) {
		json_t *c = launch_claims(now, i);

		toks[i] = ltikey_sign(kp.private_jwk, c, err, sizeof err);
		json_decref(c);
		if (toks[i] == NULL) {
			fprintf(stderr, "bench_idtoken: %s\n", err);
			goto out;
		}
		nonces[i] = xasprintf("nonce-%d", i);
		/* the same signing input signed by OpenSSL alone, for the raw baseline */
		inlen[i] = (size_t)(strrchr(toks[i], '.') - toks[i]);
		if ((sigs[i] = rs256_sign(pk, toks[i], inlen[i], &siglen[i])) == NULL) {
			fprintf(stderr, "bench_idtoken: OpenSSL cannot sign\n");
			goto out;
		}
	}

	/* recalld's check, token after token, until secs have passed */
	t0 = now_s();
	for (done = 0; (dt = now_s() - t0) < secs; done++) {
		int i = (int)(done % n);
		struct idtoken t = { 0 };
		struct idtoken_expect e = { ISS, CLIENT, nonces[i], deps, 1, now };
		struct lti_launch l;

		if (idtoken_parse(toks[i], &t, why, sizeof why) == IDTOKEN_OK &&
		    idtoken_verify(toks[i], &t, jwks, why, sizeof why) == IDTOKEN_OK &&
		    idtoken_check(&t, &e, &l, why, sizeof why) == IDTOKEN_OK)
			ok++;
		else
			fprintf(stderr, "bench_idtoken: token %d refused: %s\n", i, why);
		idtoken_free(&t);
	}
	checks_s = (double)done / dt;
	if (ok != done)
		goto out;

	/* the ceiling: OpenSSL alone, the same inputs, its key loaded once */
	t0 = now_s();
	for (done = 0; (dt = now_s() - t0) < secs; done++) {
		int i = (int)(done % n);
		EVP_MD_CTX *md = EVP_MD_CTX_new();

		if (md == NULL || EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pk) != 1 ||
		    EVP_DigestVerify(md, sigs[i], siglen[i], (const unsigned char *)toks[i],
		    inlen[i]) != 1) {
			fprintf(stderr, "bench_idtoken: the raw verify failed\n");
			EVP_MD_CTX_free(md);
			goto out;
		}
		EVP_MD_CTX_free(md);
	}
	raw_s = (double)done / dt;
	printf("id_token checks %.0f/s on one core (%.1f us each: parse, key from the JWKS,"
	    " RS256, claims); OpenSSL RS256 verify alone %.0f/s (%.1f us); check/ceiling = %.1f%%"
	    " (target >= 25%%)\n", checks_s, 1e6 / checks_s, raw_s, 1e6 / raw_s,
	    100.0 * checks_s / raw_s);
	rc = 0;
out:
	for (int i = 0; toks != NULL && i < n; i++) {
		free(toks[i]);
		free(nonces[i]);
		free(sigs[i]);
	}
	free(toks);
	free(nonces);
	free(sigs);
	free(siglen);
	free(inlen);
	EVP_PKEY_free(pk);
	json_decref(pub);
	json_decref(jwks);
	ltikey_pair_clear(&kp);
	return rc;
}
