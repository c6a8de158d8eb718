/* sign.c: endpoint secrets and webhook signatures (see sign.h). */
#include "autoconf.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "b64.h"
#include "log.h"
#include "sign.h"
#include "util.h"

/* The key bytes of a webhook secret. */
#define SECRET_KEY_MIN 24
#define SECRET_KEY_MAX 64

/* The HMAC key of a whsec_ secret; 0 when malformed. */
static size_t
secret_key(const char *secret, unsigned char key[SECRET_KEY_MAX])
{
	size_t n;

	/* Unlike an answer link key, the prefix is part of the form here. */
	if (secret == NULL || strncmp(secret, "whsec_", 6) != 0 ||
	    !b64_key_parse(secret, "the webhook secret", SECRET_KEY_MIN, SECRET_KEY_MAX, key, &n,
	    NULL, 0))
		return 0;
	return n;
}

bool
sign_secret_valid(const char *secret)
{
	unsigned char key[SECRET_KEY_MAX];
	bool ok = secret != NULL && strlen(secret) < 6 + 4 * SECRET_KEY_MAX &&
	    secret_key(secret, key) > 0;

	OPENSSL_cleanse(key, sizeof key);
	return ok;
}

char *
sign_secret_new(void)
{
	unsigned char key[32];
	char b64[B64_SIZE(sizeof key)];
	bool ok;

	if (RAND_bytes(key, sizeof key) != 1)
		fatalx("sign", "no randomness for a secret", "");
	ok = b64_encode(key, sizeof key, b64, sizeof b64);
	OPENSSL_cleanse(key, sizeof key);
	if (!ok)
		abort();	/* B64_SIZE always fits */
	return xasprintf("whsec_%s", b64);
}

bool
sign_webhook(const char *secret, const char *msg_id, int64_t ts, const char *body, size_t len,
    char *out, size_t outlen)
{
	unsigned char key[SECRET_KEY_MAX], mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	char *msg, b64[B64_SIZE(EVP_MAX_MD_SIZE)];
	size_t keylen, idlen = strlen(msg_id), n;
	bool ok;

	if (outlen < 64 || (keylen = secret_key(secret, key)) == 0)
		return false;
	/* The signed content: id.timestamp.body */
	msg = xmalloc(idlen + len + 32);
	n = (size_t)snprintf(msg, idlen + 32, "%s.%" PRId64 ".", msg_id, ts);
	memcpy(msg + n, body, len);
	ok = HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)msg, n + len, mac,
	    &maclen) != NULL;
	free(msg);
	OPENSSL_cleanse(key, sizeof key);
	if (!ok)
		return false;
	if (!b64_encode(mac, maclen, b64, sizeof b64))
		return false;
	snprintf(out, outlen, "v1,%s", b64);
	return true;
}
