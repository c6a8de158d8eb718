/* alink.c: answer link tokens, HMAC-SHA256 signed (OpenSSL). */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "alink.h"
#include "util.h"

#define VARINT_MAX 9	/* 63 bits: any positive int64_t */
/* version, three varints, key id */
#define PAYLOAD_MIN (1 + 3 * 1 + 1)
#define PAYLOAD_MAX (1 + 3 * VARINT_MAX + 1)
#define RAW_MAX (PAYLOAD_MAX + ALINK_MAC_LEN)

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* ---- base64 ---- */

/* Unpadded base64url of n bytes into out (4 * ceil(n / 3) + 1 bytes). */
static size_t
b64url_encode(const unsigned char *in, size_t n, char *out)
{
	size_t o = 0, i;

	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		out[o++] = b64url[v >> 18 & 63];
		out[o++] = b64url[v >> 12 & 63];
		out[o++] = b64url[v >> 6 & 63];
		out[o++] = b64url[v & 63];
	}
	if (n - i == 1) {
		out[o++] = b64url[in[i] >> 2];
		out[o++] = b64url[(in[i] & 3) << 4];
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 8 | in[i + 1];

		out[o++] = b64url[v >> 10 & 63];
		out[o++] = b64url[v >> 4 & 63];
		out[o++] = b64url[(v & 15) << 2];
	}
	out[o] = '\0';
	return o;
}

/* The 6-bit value of c, or -1. url: '-' '_'; else '+' '/'. */
static int
b64_value(char c, bool url)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == (url ? '-' : '+'))
		return 62;
	if (c == (url ? '_' : '/'))
		return 63;
	return -1;
}

/*
 * Decode n unpadded characters of one alphabet, strictly: no stray
 * characters, no impossible length, unused trailing bits zero (so one
 * byte string has exactly one encoding). Returns the length or -1.
 */
static int
b64_decode(const char *in, size_t n, bool url, unsigned char *out, size_t outmax)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;

	if (n % 4 == 1 || n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0) > outmax)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int v = b64_value(in[i], url);

		if (v < 0)
			return -1;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (acc != 0)
		return -1;
	return (int)o;
}

/* ---- keys ---- */

static void
key_id(struct alink_key *k)
{
	static const char label[] = "recalld alink key id";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, label, sizeof label - 1) != 1 ||
	    EVP_DigestUpdate(ctx, k->bytes, k->len) != 1 ||
	    EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen == 0)
		abort();	/* SHA-256 always works; as out of memory otherwise */
	EVP_MD_CTX_free(ctx);
	k->id = md[0];
}

static bool
key_parse(const char *text, const char *which, struct alink_key *k, char *err,
    size_t errlen)
{
	unsigned char buf[4 * ALINK_KEY_MAX];
	size_t total, n, pad = 0;
	int got = -1;

	if (strncmp(text, "whsec_", 6) == 0)
		text += 6;
	total = n = strlen(text);
	while (n > 0 && text[n - 1] == '=' && pad < 2) {
		n--;
		pad++;
	}
	/* Padded means whole groups of four. The alphabet: URL-safe if - or _. */
	if (n <= 4 * sizeof buf / 3 && (pad == 0 || total % 4 == 0))
		got = b64_decode(text, n, strcspn(text, "-_") < n, buf, sizeof buf);
	if (got < 0)
		return util_err(err, errlen, "%s answer link key is not base64", which);
	if (got < ALINK_KEY_MIN || got > ALINK_KEY_MAX) {
		OPENSSL_cleanse(buf, sizeof buf);
		return util_err(err, errlen,
		    "%s answer link key must be base64 of %d to %d bytes, not %d", which,
		    ALINK_KEY_MIN, ALINK_KEY_MAX, got);
	}
	memcpy(k->bytes, buf, (size_t)got);
	OPENSSL_cleanse(buf, sizeof buf);
	k->len = (size_t)got;
	key_id(k);
	return true;
}

bool
alink_keys_parse(const char *current, const char *previous, struct alink_keys *out,
    char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	if (current == NULL || current[0] == '\0') {
		util_err(err, errlen, "the current answer link key is not set");
		goto fail;
	}
	if (!key_parse(current, "the current", &out->current, err, errlen))
		goto fail;
	if (previous != NULL && previous[0] != '\0' &&
	    !key_parse(previous, "the previous", &out->previous, err, errlen))
		goto fail;
	return true;
fail:
	alink_keys_clear(out);
	return false;
}

void
alink_keys_clear(struct alink_keys *k)
{
	OPENSSL_cleanse(k, sizeof *k);
}

/* ---- tokens ---- */

static size_t
varint_put(unsigned char *p, uint64_t v)
{
	size_t n = 0;

	do {
		p[n] = (unsigned char)(v & 0x7f);
		v >>= 7;
		if (v != 0)
			p[n] |= 0x80;
		n++;
	} while (v != 0);
	return n;
}

/* A shortest-form varint of a value in 1..INT64_MAX from p[*pos] below end. */
static bool
varint_get(const unsigned char *p, size_t end, size_t *pos, int64_t *out)
{
	uint64_t v = 0;
	size_t n = 0;
	unsigned char b;

	do {
		if (*pos >= end || n == VARINT_MAX)
			return false;
		b = p[(*pos)++];
		v |= (uint64_t)(b & 0x7f) << (7 * n);
		n++;
	} while (b & 0x80);
	if (n > 1 && b == 0)	/* a trailing zero group: not shortest */
		return false;
	if (v == 0 || v > INT64_MAX)
		return false;
	*out = (int64_t)v;
	return true;
}

static bool
mac(const struct alink_key *k, const unsigned char *payload, size_t n,
    unsigned char out[EVP_MAX_MD_SIZE])
{
	unsigned int len = 0;

	return HMAC(EVP_sha256(), k->bytes, (int)k->len, payload, n, out, &len) != NULL &&
	    len >= ALINK_MAC_LEN;
}

bool
alink_make(const struct alink_keys *k, int64_t school_id, int64_t prompt_id,
    int64_t expires_unix, char *out, size_t outlen)
{
	unsigned char raw[RAW_MAX], md[EVP_MAX_MD_SIZE];
	char tok[ALINK_TOKEN_MAX];
	size_t n = 0, len;

	if (outlen > 0)
		out[0] = '\0';
	if (k == NULL || k->current.len == 0 || school_id <= 0 || prompt_id <= 0 ||
	    expires_unix <= 0)
		return false;
	raw[n++] = ALINK_VERSION;
	n += varint_put(raw + n, (uint64_t)school_id);
	n += varint_put(raw + n, (uint64_t)prompt_id);
	n += varint_put(raw + n, (uint64_t)expires_unix);
	raw[n++] = k->current.id;
	if (!mac(&k->current, raw, n, md))
		return false;
	memcpy(raw + n, md, ALINK_MAC_LEN);
	n += ALINK_MAC_LEN;
	len = b64url_encode(raw, n, tok);
	if (len >= outlen)
		return false;
	memcpy(out, tok, len + 1);
	return true;
}

/* Whether key k signed payload with sig; constant time in the signature. */
static bool
signed_by(const struct alink_key *k, unsigned char id, const unsigned char *payload,
    size_t n, const unsigned char *sig)
{
	unsigned char md[EVP_MAX_MD_SIZE];

	if (k->len == 0 || k->id != id || !mac(k, payload, n, md))
		return false;
	return CRYPTO_memcmp(md, sig, ALINK_MAC_LEN) == 0;
}

bool
alink_check_full(const struct alink_keys *k, const char *token, int64_t now_unix,
    int64_t *school_id, int64_t *prompt_id, int64_t *expires_unix,
    enum alink_status *st)
{
	unsigned char raw[RAW_MAX];
	size_t tlen, plen, pos = 1;
	int64_t school, prompt, expires;
	unsigned char id;
	int n;
	bool good;
	enum alink_status st_unused;

	if (st == NULL)		/* alink.h: any of the outputs may be NULL */
		st = &st_unused;
	*st = ALINK_BAD;
	if (k == NULL || token == NULL || (tlen = strnlen(token, ALINK_TOKEN_MAX)) ==
	    ALINK_TOKEN_MAX)
		return false;
	n = b64_decode(token, tlen, true, raw, sizeof raw);
	if (n < PAYLOAD_MIN + ALINK_MAC_LEN)
		return false;
	plen = (size_t)n - ALINK_MAC_LEN;
	if (raw[0] != ALINK_VERSION)
		return false;
	if (!varint_get(raw, plen - 1, &pos, &school) ||
	    !varint_get(raw, plen - 1, &pos, &prompt) ||
	    !varint_get(raw, plen - 1, &pos, &expires) || pos != plen - 1)
		return false;
	id = raw[plen - 1];
	/* Both keys are tried when they share an id; either may sign. */
	good = signed_by(&k->current, id, raw, plen, raw + plen);
	good |= signed_by(&k->previous, id, raw, plen, raw + plen);
	if (!good)
		return false;
	if (school_id != NULL)
		*school_id = school;
	if (prompt_id != NULL)
		*prompt_id = prompt;
	if (expires_unix != NULL)
		*expires_unix = expires;
	if (now_unix >= expires) {
		*st = ALINK_EXPIRED;
		return false;
	}
	*st = ALINK_OK;
	return true;
}

bool
alink_check(const struct alink_keys *k, const char *token, int64_t now_unix,
    int64_t *school_id, int64_t *prompt_id, enum alink_status *st)
{
	return alink_check_full(k, token, now_unix, school_id, prompt_id, NULL, st);
}

const char *
alink_status_name(enum alink_status st)
{
	switch (st) {
	case ALINK_OK: return "ok";
	case ALINK_BAD: return "bad";
	case ALINK_EXPIRED: return "expired";
	}
	return "?";
}
