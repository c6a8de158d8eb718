/* b64.c: base64 both ways, strict decoding, secret keys as text (see b64.h). */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "b64.h"
#include "util.h"

static const char std_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static bool
encode(const unsigned char *in, size_t n, const char *alphabet, bool pad, char *out,
    size_t outlen)
{
	size_t len = pad ? 4 * ((n + 2) / 3) : n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);
	size_t o = 0, i;

	if (len >= outlen) {
		if (outlen > 0)
			out[0] = '\0';
		return false;
	}
	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		out[o++] = alphabet[v >> 18 & 63];
		out[o++] = alphabet[v >> 12 & 63];
		out[o++] = alphabet[v >> 6 & 63];
		out[o++] = alphabet[v & 63];
	}
	if (n - i == 1) {
		out[o++] = alphabet[in[i] >> 2];
		out[o++] = alphabet[(in[i] & 3) << 4];
		if (pad) {
			out[o++] = '=';
			out[o++] = '=';
		}
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 8 | in[i + 1];

		out[o++] = alphabet[v >> 10 & 63];
		out[o++] = alphabet[v >> 4 & 63];
		out[o++] = alphabet[(v & 15) << 2];
		if (pad)
			out[o++] = '=';
	}
	out[o] = '\0';
	return true;
}

bool
b64_encode(const unsigned char *in, size_t n, char *out, size_t outlen)
{
	return encode(in, n, std_alphabet, true, out, outlen);
}

bool
b64_encode_url(const unsigned char *in, size_t n, char *out, size_t outlen)
{
	return encode(in, n, url_alphabet, false, out, outlen);
}

/* The 6-bit value of c, or -1. url: '-' '_'; else '+' '/'. */
static int
value(char c, bool url)
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

bool
b64_decode(const char *in, size_t n, enum b64_form form, unsigned char *out,
    size_t outmax, size_t *outlen)
{
	size_t total = n, pad = 0, o = 0;
	uint32_t acc = 0;
	int bits = 0;
	bool url = true;

	*outlen = 0;
	if (form == B64_ANY) {
		while (n > 0 && in[n - 1] == '=' && pad < 2) {
			n--;
			pad++;
		}
		/* Padded means whole groups of four. */
		if (pad > 0 && total % 4 != 0)
			return false;
		/* The alphabet: URL-safe if - or _; a stray + or / then fails. */
		url = false;
		for (size_t i = 0; i < n && !url; i++)
			url = in[i] == '-' || in[i] == '_';
	}
	if (n % 4 == 1 || n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0) > outmax)
		return false;
	for (size_t i = 0; i < n; i++) {
		int v = value(in[i], url);

		if (v < 0)
			goto fail;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* Unused trailing bits must be zero: one encoding per byte string. */
	if (acc != 0)
		goto fail;
	*outlen = o;
	return true;
fail:
	OPENSSL_cleanse(out, o);
	return false;
}

bool
b64_key_parse(const char *text, const char *what, size_t min, size_t max,
    unsigned char *key, size_t *keylen, char *err, size_t errlen)
{
	/* Room past max so that a too long key is told its length. */
	unsigned char buf[4 * B64_KEY_MAX];
	size_t got = 0;
	bool ok = false;

	if (max > B64_KEY_MAX || min > max)
		abort();	/* a caller's bug */
	if (key != NULL)
		OPENSSL_cleanse(key, max);
	if (keylen != NULL)
		*keylen = 0;
	if (strncmp(text, "whsec_", 6) == 0)
		text += 6;
	if (!b64_decode(text, strlen(text), B64_ANY, buf, sizeof buf, &got))
		util_err(err, errlen, "%s is not base64", what);
	else if (got < min || got > max)
		util_err(err, errlen, "%s must be base64 of %zu to %zu bytes, not %zu", what,
		    min, max, got);
	else {
		if (key != NULL)
			memcpy(key, buf, got);
		if (keylen != NULL)
			*keylen = got;
		ok = true;
	}
	OPENSSL_cleanse(buf, sizeof buf);
	return ok;
}
