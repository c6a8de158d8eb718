/* sign.c: endpoint secrets and webhook signatures (see sign.h). */
#include "autoconf.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "log.h"
#include "sign.h"
#include "util.h"

static size_t
b64_decode(const char *in, unsigned char *out, size_t outlen)
{
	size_t n = strlen(in), pad = 0;
	int got;

	if (n == 0 || n % 4 != 0 || n / 4 * 3 > outlen)
		return 0;
	if (in[n - 1] == '=')
		pad++;
	if (in[n - 2] == '=')
		pad++;
	got = EVP_DecodeBlock(out, (const unsigned char *)in, (int)n);
	if (got < 0 || (size_t)got < pad)
		return 0;
	return (size_t)got - pad;
}

/* The HMAC key of a whsec_ secret; 0 when malformed. */
static size_t
secret_key(const char *secret, unsigned char *key, size_t keylen)
{
	size_t n;

	if (secret == NULL || strncmp(secret, "whsec_", 6) != 0)
		return 0;
	n = b64_decode(secret + 6, key, keylen);
	return n >= 24 && n <= 64 ? n : 0;
}

bool
sign_secret_valid(const char *secret)
{
	unsigned char key[96];

	return secret != NULL && strlen(secret) < 6 + 4 * 64 && secret_key(secret, key, sizeof key) > 0;
}

char *
sign_secret_new(void)
{
	unsigned char key[32];
	char b64[64];

	if (RAND_bytes(key, sizeof key) != 1)
		fatalx("sign", "no randomness for a secret", "");
	EVP_EncodeBlock((unsigned char *)b64, key, sizeof key);
	OPENSSL_cleanse(key, sizeof key);
	return xasprintf("whsec_%s", b64);
}

bool
sign_webhook(const char *secret, const char *msg_id, int64_t ts, const char *body, size_t len,
    char *out, size_t outlen)
{
	unsigned char key[96], mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	size_t keylen = secret_key(secret, key, sizeof key);
	char *msg, b64[96];
	size_t idlen = strlen(msg_id), n;
	bool ok;

	if (keylen == 0 || outlen < 64)
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
	EVP_EncodeBlock((unsigned char *)b64, mac, (int)maclen);
	snprintf(out, outlen, "v1,%s", b64);
	return true;
}
