/* token.c: generate, parse and hash API tokens (OpenSSL for randomness). */
#include "autoconf.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "b64.h"
#include "token.h"
#include "util.h"

#define SECRET_BYTES 32
#define SECRET_CHARS 43		/* base64url of 32 bytes, unpadded */

static bool
generate(const char *prefix, int64_t school_id, char *out, size_t outlen)
{
	unsigned char raw[SECRET_BYTES];
	char secret[B64_SIZE(SECRET_BYTES)];
	int n;

	if (RAND_bytes(raw, SECRET_BYTES) != 1 ||
	    !b64_encode_url(raw, SECRET_BYTES, secret, sizeof secret))
		return false;
	OPENSSL_cleanse(raw, sizeof raw);
	n = snprintf(out, outlen, "%s%" PRId64 "_%s", prefix, school_id, secret);
	OPENSSL_cleanse(secret, sizeof secret);
	return n > 0 && (size_t)n < outlen;
}

static bool
parse(const char *prefix, const char *token, int64_t *school_id)
{
	const char *p, *us;
	char *end;
	long long id;
	unsigned char raw[SECRET_BYTES];
	size_t got;

	if (strncmp(token, prefix, 4) != 0)
		return false;
	p = token + 4;
	if ((us = strchr(p, '_')) == NULL || us == p || us - p > 18)
		return false;
	for (const char *q = p; q < us; q++)
		if (!isdigit((unsigned char)*q))
			return false;
	errno = 0;
	id = strtoll(p, &end, 10);
	if (errno != 0 || end != us || id <= 0)
		return false;
	if (strlen(us + 1) != SECRET_CHARS ||
	    !b64_decode(us + 1, SECRET_CHARS, B64_URL_UNPADDED, raw, sizeof raw, &got) ||
	    got != SECRET_BYTES)
		return false;
	OPENSSL_cleanse(raw, sizeof raw);
	*school_id = id;
	return true;
}

bool
token_generate(int64_t school_id, char *out, size_t outlen)
{
	return generate("rcl_", school_id, out, outlen);
}

bool
token_parse(const char *token, int64_t *school_id)
{
	return parse("rcl_", token, school_id);
}

bool
token_signin_generate(int64_t school_id, char *out, size_t outlen)
{
	return generate("rcs_", school_id, out, outlen);
}

bool
token_signin_parse(const char *code, int64_t *school_id)
{
	return parse("rcs_", code, school_id);
}

void
token_hash_hex(const char *token, char out[TOKEN_HASH_HEX])
{
	util_sha256_hex(token, out);
}

#define CACHE_SLOTS 4096	/* a power of two */

struct cache_slot {
	char hash[TOKEN_HASH_HEX];	/* "" when empty */
	uint64_t expires_ms;
	struct token_identity id;
};

struct token_cache {
	int ttl_ms;
	struct cache_slot slots[CACHE_SLOTS];
};

token_cache *
token_cache_new(int ttl_ms)
{
	token_cache *tc = calloc(1, sizeof *tc);

	if (tc == NULL)
		abort();
	tc->ttl_ms = ttl_ms;
	return tc;
}

void
token_cache_free(token_cache *tc)
{
	free(tc);
}

/* The hash is already uniform: its first hex digits pick the slot. */
static struct cache_slot *
slot_of(token_cache *tc, const char *hash)
{
	return &tc->slots[strtoul((char[9]){ hash[0], hash[1], hash[2], hash[3], hash[4],
	    hash[5], hash[6], hash[7], 0 }, NULL, 16) & (CACHE_SLOTS - 1)];
}

bool
token_cache_get(token_cache *tc, const char *hash, uint64_t now_ms,
    struct token_identity *out)
{
	struct cache_slot *s = slot_of(tc, hash);

	if (strcmp(s->hash, hash) != 0 || now_ms >= s->expires_ms)
		return false;
	*out = s->id;
	return true;
}

void
token_cache_put(token_cache *tc, const char *hash, uint64_t now_ms,
    const struct token_identity *id)
{
	struct cache_slot *s = slot_of(tc, hash);

	memcpy(s->hash, hash, TOKEN_HASH_HEX);
	s->expires_ms = now_ms + (uint64_t)tc->ttl_ms;
	s->id = *id;
}

void
token_cache_clear(token_cache *tc)
{
	memset(tc->slots, 0, sizeof tc->slots);
}
