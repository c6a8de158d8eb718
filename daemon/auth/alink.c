/* alink.c: answer link tokens, HMAC-SHA256 signed (OpenSSL). */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "alink.h"
#include "b64.h"
#include "util.h"

#define VARINT_MAX 9	/* 63 bits: any positive int64_t */
/* version, three varints, key id */
#define PAYLOAD_MIN (1 + 3 * 1 + 1)
#define PAYLOAD_MAX (1 + 3 * VARINT_MAX + 1)
#define RAW_MAX (PAYLOAD_MAX + ALINK_MAC_LEN)

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
key_parse(const char *text, const char *what, struct alink_key *k, char *err,
    size_t errlen)
{
	if (!b64_key_parse(text, what, ALINK_KEY_MIN, ALINK_KEY_MAX, k->bytes, &k->len, err,
	    errlen))
		return false;
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
	if (!key_parse(current, "the current answer link key", &out->current, err, errlen))
		goto fail;
	if (previous != NULL && previous[0] != '\0' &&
	    !key_parse(previous, "the previous answer link key", &out->previous, err, errlen))
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

/* A token of kind (its first byte: ALINK_VERSION or ALINK_PUPIL_VERSION). */
static bool
make_kind(unsigned char kind, const struct alink_keys *k, int64_t school_id,
    int64_t prompt_id, int64_t expires_unix, char *out, size_t outlen)
{
	unsigned char raw[RAW_MAX], md[EVP_MAX_MD_SIZE];
	size_t n = 0;

	if (outlen > 0)
		out[0] = '\0';
	if (k == NULL || k->current.len == 0 || school_id <= 0 || prompt_id <= 0 ||
	    expires_unix <= 0)
		return false;
	raw[n++] = kind;
	n += varint_put(raw + n, (uint64_t)school_id);
	n += varint_put(raw + n, (uint64_t)prompt_id);
	n += varint_put(raw + n, (uint64_t)expires_unix);
	raw[n++] = k->current.id;
	if (!mac(&k->current, raw, n, md))
		return false;
	memcpy(raw + n, md, ALINK_MAC_LEN);
	n += ALINK_MAC_LEN;
	return b64_encode_url(raw, n, out, outlen);
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
alink_make(const struct alink_keys *k, int64_t school_id, int64_t prompt_id,
    int64_t expires_unix, char *out, size_t outlen)
{
	return make_kind(ALINK_VERSION, k, school_id, prompt_id, expires_unix, out, outlen);
}

bool
alink_pupil_make(const struct alink_keys *k, int64_t school_id, int64_t pupil_id,
    int64_t expires_unix, char *out, size_t outlen)
{
	return make_kind(ALINK_PUPIL_VERSION, k, school_id, pupil_id, expires_unix, out, outlen);
}

bool
alink_view_make(const struct alink_keys *k, int64_t school_id, int64_t pupil_id,
    int64_t expires_unix, char *out, size_t outlen)
{
	return make_kind(ALINK_VIEW_VERSION, k, school_id, pupil_id, expires_unix, out, outlen);
}

static bool
check_kind(unsigned char kind, const struct alink_keys *k, const char *token,
    int64_t now_unix, int64_t *school_id, int64_t *prompt_id, int64_t *expires_unix,
    enum alink_status *st)
{
	unsigned char raw[RAW_MAX];
	size_t tlen, n, plen, pos = 1;
	int64_t school, prompt, expires;
	unsigned char id;
	bool good;
	enum alink_status st_unused;

	if (st == NULL)		/* alink.h: any of the outputs may be NULL */
		st = &st_unused;
	*st = ALINK_BAD;
	if (k == NULL || token == NULL || (tlen = strnlen(token, ALINK_TOKEN_MAX)) ==
	    ALINK_TOKEN_MAX)
		return false;
	if (!b64_decode(token, tlen, B64_URL_UNPADDED, raw, sizeof raw, &n) ||
	    n < PAYLOAD_MIN + ALINK_MAC_LEN)
		return false;
	plen = n - ALINK_MAC_LEN;
	if (raw[0] != kind)	/* signed: a prompt's link is never a pupil's */
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
alink_check_full(const struct alink_keys *k, const char *token, int64_t now_unix,
    int64_t *school_id, int64_t *prompt_id, int64_t *expires_unix,
    enum alink_status *st)
{
	return check_kind(ALINK_VERSION, k, token, now_unix, school_id, prompt_id, expires_unix,
	    st);
}

bool
alink_pupil_check(const struct alink_keys *k, const char *token, int64_t now_unix,
    int64_t *school_id, int64_t *pupil_id, int64_t *expires_unix, enum alink_status *st)
{
	return check_kind(ALINK_PUPIL_VERSION, k, token, now_unix, school_id, pupil_id,
	    expires_unix, st);
}

bool
alink_view_check(const struct alink_keys *k, const char *token, int64_t now_unix,
    int64_t *school_id, int64_t *pupil_id, int64_t *expires_unix, enum alink_status *st)
{
	return check_kind(ALINK_VIEW_VERSION, k, token, now_unix, school_id, pupil_id,
	    expires_unix, st);
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

char *
alink_key_new(void)
{
	unsigned char raw[B64_LINK_KEY_MIN];
	char *text = xmalloc(B64_SIZE(sizeof raw));
	bool ok = RAND_bytes(raw, sizeof raw) == 1 &&
	    b64_encode(raw, sizeof raw, text, B64_SIZE(sizeof raw));

	OPENSSL_cleanse(raw, sizeof raw);
	if (!ok) {
		free(text);
		return NULL;
	}
	return text;
}
