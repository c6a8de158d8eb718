/* test_alink.c: answer link tokens: round trip, tampering, expiry, rotation. */
#include "autoconf.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "alink.h"
#include "cktest.h"

#define NOW 1790000000LL	/* 2026-09-21 */

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* base64 (standard, padded) of n random bytes, or of fill when given. */
static void
key_text(size_t n, int fill, char *out)
{
	unsigned char raw[128];

	if (fill >= 0)
		memset(raw, fill, n);
	else
		ck_assert_int_eq(RAND_bytes(raw, (int)n), 1);
	EVP_EncodeBlock((unsigned char *)out, raw, (int)n);
}

static struct alink_keys
keys(const char *current, const char *previous)
{
	struct alink_keys k;
	char err[200] = "";

	ck_assert_msg(alink_keys_parse(current, previous, &k, err, sizeof err), "%s", err);
	return k;
}

static enum alink_status
check(const struct alink_keys *k, const char *tok, int64_t now, int64_t *school,
    int64_t *prompt)
{
	enum alink_status st = (enum alink_status)-1;
	int64_t s = -7, p = -7;
	bool ok = alink_check(k, tok, now, &s, &p, &st);

	ck_assert(ok == (st == ALINK_OK));
	if (st == ALINK_BAD) {
		ck_assert_int_eq(s, -7);	/* left alone */
		ck_assert_int_eq(p, -7);
	}
	if (school != NULL)
		*school = s;
	if (prompt != NULL)
		*prompt = p;
	return st;
}

/* Test-side codec, to build tokens the module never would. */
static size_t
dec(const char *tok, unsigned char *out)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;

	for (const char *p = tok; *p; p++) {
		acc = acc << 6 | (uint32_t)(strchr(alphabet, *p) - alphabet);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	return o;
}

static void
enc(const unsigned char *in, size_t n, char *out)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		acc = acc << 8 | in[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[o++] = alphabet[acc >> bits & 63];
		}
	}
	if (bits > 0)
		out[o++] = alphabet[acc << (6 - bits) & 63];
	out[o] = '\0';
}

/* A token of any payload, signed right with the current key. */
static void
forge(const struct alink_keys *k, const unsigned char *payload, size_t n, char *out)
{
	unsigned char raw[256], md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;

	memcpy(raw, payload, n);
	HMAC(EVP_sha256(), k->current.bytes, (int)k->current.len, payload, n, md, &mdlen);
	memcpy(raw + n, md, ALINK_MAC_LEN);
	enc(raw, n + ALINK_MAC_LEN, out);
}

static char key_a[128], key_b[128];
static struct alink_keys ka;

static void
setup(void)
{
	key_text(32, -1, key_a);
	key_text(48, -1, key_b);
	ka = keys(key_a, NULL);
}

START_TEST(test_round_trip)
{
	static const int64_t ids[][3] = {
		{ 1, 1, 1 }, { 7, 123456, NOW + 86400 }, { 300, 2000000000, NOW + 1 },
		{ INT64_MAX, INT64_MAX, INT64_MAX }, { 1, INT64_MAX, NOW + 5 },
	};
	char tok[ALINK_TOKEN_MAX];
	int64_t s, p, e;
	enum alink_status st;

	for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
		ck_assert(alink_make(&ka, ids[i][0], ids[i][1], ids[i][2], tok, sizeof tok));
		ck_assert_uint_lt(strlen(tok), ALINK_TOKEN_MAX);
		ck_assert_uint_eq(strspn(tok, alphabet), strlen(tok));
		ck_assert_int_eq(check(&ka, tok, ids[i][2] - 1, &s, &p), ALINK_OK);
		ck_assert_int_eq(s, ids[i][0]);
		ck_assert_int_eq(p, ids[i][1]);
		ck_assert(alink_check_full(&ka, tok, ids[i][2] - 1, NULL, NULL, &e, &st));
		ck_assert_int_eq(e, ids[i][2]);
	}
	/* Short enough for a chat message. */
	ck_assert(alink_make(&ka, 42, 98765432, NOW + 3 * 86400, tok, sizeof tok));
	ck_assert_uint_le(strlen(tok), 40);
	ck_assert(alink_make(&ka, INT64_MAX, INT64_MAX, INT64_MAX, tok, sizeof tok));
	ck_assert_uint_le(strlen(tok), 60);
	/* Deterministic for one key. */
	{
		char again[ALINK_TOKEN_MAX];

		ck_assert(alink_make(&ka, INT64_MAX, INT64_MAX, INT64_MAX, again, sizeof again));
		ck_assert_str_eq(tok, again);
	}
}
END_TEST

/* A pupil's page link and an answer link never stand for each other. */
START_TEST(test_pupil_links)
{
	char tok[ALINK_TOKEN_MAX], ptok[ALINK_TOKEN_MAX];
	int64_t s = 0, p = 0;
	enum alink_status st;

	ck_assert(alink_make(&ka, 7, 99, NOW + 60, tok, sizeof tok));
	ck_assert(alink_pupil_make(&ka, 7, 99, NOW + 60, ptok, sizeof ptok));
	ck_assert_str_ne(tok, ptok);
	ck_assert(alink_pupil_check(&ka, ptok, NOW, &s, &p, NULL, &st));
	ck_assert(s == 7 && p == 99 && st == ALINK_OK);
	ck_assert(!alink_pupil_check(&ka, tok, NOW, &s, &p, NULL, &st));
	ck_assert_int_eq(st, ALINK_BAD);
	ck_assert(!alink_check(&ka, ptok, NOW, &s, &p, &st));
	ck_assert_int_eq(st, ALINK_BAD);
	ck_assert(!alink_pupil_check(&ka, ptok, NOW + 60, &s, &p, NULL, &st));
	ck_assert_int_eq(st, ALINK_EXPIRED);
	/* the version byte is under the signature: flipping it breaks the link */
	{
		unsigned char raw[96];
		size_t n;
		char forged[ALINK_TOKEN_MAX];

		ck_assert(b64_decode(ptok, strlen(ptok), B64_URL_UNPADDED, raw, sizeof raw, &n));
		raw[0] = ALINK_VERSION;
		ck_assert(b64_encode_url(raw, n, forged, sizeof forged));
		ck_assert(!alink_check(&ka, forged, NOW, &s, &p, &st));
		ck_assert_int_eq(st, ALINK_BAD);
	}
}
END_TEST

START_TEST(test_make_bad)
{
	char tok[ALINK_TOKEN_MAX];
	struct alink_keys none;
	size_t len;

	ck_assert(!alink_make(&ka, 0, 1, NOW, tok, sizeof tok));
	ck_assert(!alink_make(&ka, 1, 0, NOW, tok, sizeof tok));
	ck_assert(!alink_make(&ka, -1, 1, NOW, tok, sizeof tok));
	ck_assert(!alink_make(&ka, 1, -5, NOW, tok, sizeof tok));
	ck_assert(!alink_make(&ka, 1, 1, 0, tok, sizeof tok));
	ck_assert(!alink_make(&ka, 1, 1, -NOW, tok, sizeof tok));
	ck_assert(!alink_make(NULL, 1, 1, NOW, tok, sizeof tok));
	memset(&none, 0, sizeof none);
	ck_assert(!alink_make(&none, 1, 1, NOW, tok, sizeof tok));
	ck_assert(alink_make(&ka, 1, 1, NOW, tok, sizeof tok));
	len = strlen(tok);
	ck_assert(!alink_make(&ka, 1, 1, NOW, tok, len));
	ck_assert_str_eq(tok, "");
	ck_assert(alink_make(&ka, 1, 1, NOW, tok, len + 1));
}
END_TEST

START_TEST(test_expired)
{
	char tok[ALINK_TOKEN_MAX];
	int64_t s, p;

	ck_assert(alink_make(&ka, 5, 6, NOW, tok, sizeof tok));
	ck_assert_int_eq(check(&ka, tok, NOW - 1, NULL, NULL), ALINK_OK);
	ck_assert_int_eq(check(&ka, tok, NOW, &s, &p), ALINK_EXPIRED);
	ck_assert_int_eq(s, 5);		/* known, for "this link has expired" */
	ck_assert_int_eq(p, 6);
	ck_assert_int_eq(check(&ka, tok, NOW + 86400 * 365, NULL, NULL), ALINK_EXPIRED);
	ck_assert_int_eq(check(&ka, tok, INT64_MIN, NULL, NULL), ALINK_OK);
}
END_TEST

/* Change each character to each other one: never accepted. */
START_TEST(test_tamper_chars)
{
	char tok[ALINK_TOKEN_MAX], bad[ALINK_TOKEN_MAX];
	size_t len;

	ck_assert(alink_make(&ka, 1234, 567890, NOW + 600, tok, sizeof tok));
	len = strlen(tok);
	for (size_t i = 0; i < len; i++)
		for (const char *c = alphabet; *c; c++) {
			if (*c == tok[i])
				continue;
			strcpy(bad, tok);
			bad[i] = *c;
			ck_assert_msg(check(&ka, bad, NOW, NULL, NULL) == ALINK_BAD,
			    "accepted %s (position %zu)", bad, i);
		}
}
END_TEST

/* Flip each bit of each decoded byte: never accepted. */
START_TEST(test_tamper_bytes)
{
	char tok[ALINK_TOKEN_MAX], bad[ALINK_TOKEN_MAX];
	unsigned char raw[64];
	size_t n;

	ck_assert(alink_make(&ka, 99, 100000, NOW + 600, tok, sizeof tok));
	n = dec(tok, raw);
	enc(raw, n, bad);
	ck_assert_str_eq(bad, tok);	/* the test codec agrees */
	for (size_t i = 0; i < n; i++)
		for (int bit = 0; bit < 8; bit++) {
			raw[i] ^= (unsigned char)(1 << bit);
			enc(raw, n, bad);
			ck_assert_msg(check(&ka, bad, NOW, NULL, NULL) == ALINK_BAD,
			    "byte %zu bit %d", i, bit);
			raw[i] ^= (unsigned char)(1 << bit);
		}
	/* Cut or lengthened. */
	for (size_t k = 0; k < n; k++) {
		enc(raw, k, bad);
		ck_assert_int_eq(check(&ka, bad, NOW, NULL, NULL), ALINK_BAD);
	}
	raw[n] = 0;
	enc(raw, n + 1, bad);
	ck_assert_int_eq(check(&ka, bad, NOW, NULL, NULL), ALINK_BAD);
	/* The MAC of another token on this payload. */
	{
		char other[ALINK_TOKEN_MAX];
		unsigned char oraw[64];
		size_t on;

		ck_assert(alink_make(&ka, 99, 100001, NOW + 600, other, sizeof other));
		on = dec(other, oraw);
		ck_assert_uint_eq(on, n);
		memcpy(raw + n - ALINK_MAC_LEN, oraw + n - ALINK_MAC_LEN, ALINK_MAC_LEN);
		enc(raw, n, bad);
		ck_assert_int_eq(check(&ka, bad, NOW, NULL, NULL), ALINK_BAD);
	}
}
END_TEST

START_TEST(test_rotation)
{
	char tok_a[ALINK_TOKEN_MAX], tok_b[ALINK_TOKEN_MAX];
	struct alink_keys kb = keys(key_b, NULL);
	struct alink_keys kba = keys(key_b, key_a);
	struct alink_keys kab = keys(key_a, key_b);
	int64_t s, p;

	ck_assert(alink_make(&ka, 3, 4, NOW + 60, tok_a, sizeof tok_a));
	ck_assert(alink_make(&kba, 3, 4, NOW + 60, tok_b, sizeof tok_b));
	ck_assert_str_ne(tok_a, tok_b);		/* made with the current key, B */
	/* After rotation the old key is still accepted as previous. */
	ck_assert_int_eq(check(&kba, tok_a, NOW, &s, &p), ALINK_OK);
	ck_assert_int_eq(s, 3);
	ck_assert_int_eq(p, 4);
	ck_assert_int_eq(check(&kba, tok_b, NOW, NULL, NULL), ALINK_OK);
	/* ... and not once it is dropped. */
	ck_assert_int_eq(check(&kb, tok_a, NOW, NULL, NULL), ALINK_BAD);
	ck_assert_int_eq(check(&kb, tok_b, NOW, NULL, NULL), ALINK_OK);
	/* A token of the new key is not accepted by the old alone. */
	ck_assert_int_eq(check(&ka, tok_b, NOW, NULL, NULL), ALINK_BAD);
	ck_assert_int_eq(check(&kab, tok_b, NOW, NULL, NULL), ALINK_OK);
	/* Expiry holds for the previous key too. */
	ck_assert_int_eq(check(&kba, tok_a, NOW + 60, NULL, NULL), ALINK_EXPIRED);
	alink_keys_clear(&kb);
	alink_keys_clear(&kba);
	alink_keys_clear(&kab);
	ck_assert_uint_eq(kb.current.len, 0);
}
END_TEST

/* Two keys with the same one-byte id: both are tried. */
START_TEST(test_key_id_collision)
{
	char tok[ALINK_TOKEN_MAX], text[128];
	struct alink_keys other, both, alone;
	int tries = 0;

	do {
		ck_assert_int_lt(tries++, 100000);
		key_text(32, -1, text);
		other = keys(text, NULL);
	} while (other.current.id != ka.current.id);
	both = keys(text, key_a);
	alone = keys(text, NULL);
	ck_assert(alink_make(&ka, 8, 9, NOW + 60, tok, sizeof tok));
	ck_assert_int_eq(check(&both, tok, NOW, NULL, NULL), ALINK_OK);
	ck_assert_int_eq(check(&alone, tok, NOW, NULL, NULL), ALINK_BAD);
}
END_TEST

START_TEST(test_malformed)
{
	static const char *bad[] = {
		"", "A", "AA", "AAAA", "====", "not a token", "AQ==",
		"AQEBAQ+/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"AQEBAQ AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"%41%42%43", "/a/xyz", "\xff\xfe",
	};
	char tok[ALINK_TOKEN_MAX], padded[ALINK_TOKEN_MAX + 4], big[1001];
	enum alink_status st;
	int64_t s, p;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(check(&ka, bad[i], NOW, NULL, NULL) == ALINK_BAD, "%zu", i);
	ck_assert(!alink_check(&ka, NULL, NOW, &s, &p, &st));
	ck_assert_int_eq(st, ALINK_BAD);
	ck_assert(alink_make(&ka, 1, 2, NOW + 60, tok, sizeof tok));
	ck_assert(!alink_check(NULL, tok, NOW, &s, &p, &st));
	ck_assert_int_eq(st, ALINK_BAD);
	snprintf(padded, sizeof padded, "%s=", tok);
	ck_assert_int_eq(check(&ka, padded, NOW, NULL, NULL), ALINK_BAD);
	snprintf(padded, sizeof padded, " %s", tok);
	ck_assert_int_eq(check(&ka, padded, NOW, NULL, NULL), ALINK_BAD);
	memset(big, 'A', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	ck_assert_int_eq(check(&ka, big, NOW, NULL, NULL), ALINK_BAD);
}
END_TEST

/* Well signed but not well formed: still refused. */
START_TEST(test_signed_garbage)
{
	unsigned char pl[64];
	char tok[ALINK_TOKEN_MAX + 32];
	unsigned char id = ka.current.id;

	/* Well formed: accepted (the forging helper is right). */
	memcpy(pl, (unsigned char[]){ 1, 5, 6, 0xff, 0xff, 0xff, 0xff, 0x0f, id }, 9);
	forge(&ka, pl, 9, tok);
	ck_assert_int_eq(check(&ka, tok, 1, NULL, NULL), ALINK_OK);
	/* Another version. */
	pl[0] = 2;
	forge(&ka, pl, 9, tok);
	ck_assert_int_eq(check(&ka, tok, 1, NULL, NULL), ALINK_BAD);
	/* Zero ids or expiry. */
	memcpy(pl, (unsigned char[]){ 1, 0, 6, 100, id }, 5);
	forge(&ka, pl, 5, tok);
	ck_assert_int_eq(check(&ka, tok, 1, NULL, NULL), ALINK_BAD);
	memcpy(pl, (unsigned char[]){ 1, 5, 6, 0, id }, 5);
	forge(&ka, pl, 5, tok);
	ck_assert_int_eq(check(&ka, tok, 1, NULL, NULL), ALINK_BAD);
	/* Not shortest form: 5 as 0x85 0x00. */
	memcpy(pl, (unsigned char[]){ 1, 0x85, 0x00, 6, 100, id }, 6);
	forge(&ka, pl, 6, tok);
	ck_assert_int_eq(check(&ka, tok, 1, NULL, NULL), ALINK_BAD);
	/* A byte too many or too few before the key id. */
	memcpy(pl, (unsigned char[]){ 1, 5, 6, 100, 7, id }, 6);
	forge(&ka, pl, 6, tok);
	ck_assert_int_eq(check(&ka, tok, 1, NULL, NULL), ALINK_BAD);
	memcpy(pl, (unsigned char[]){ 1, 5, 6, id }, 4);
	forge(&ka, pl, 4, tok);
	ck_assert_int_eq(check(&ka, tok, 1, NULL, NULL), ALINK_BAD);
	/* An unfinished varint, and one past 63 bits. */
	memcpy(pl, (unsigned char[]){ 1, 5, 6, 0x80, id }, 5);
	forge(&ka, pl, 5, tok);
	ck_assert_int_eq(check(&ka, tok, 1, NULL, NULL), ALINK_BAD);
	memcpy(pl, (unsigned char[]){ 1, 5, 6, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0x01, id }, 14);
	forge(&ka, pl, 14, tok);
	ck_assert_int_eq(check(&ka, tok, 1, NULL, NULL), ALINK_BAD);
	/* Another key id. */
	memcpy(pl, (unsigned char[]){ 1, 5, 6, 100, (unsigned char)(id + 1) }, 5);
	forge(&ka, pl, 5, tok);
	ck_assert_int_eq(check(&ka, tok, 1, NULL, NULL), ALINK_BAD);
}
END_TEST

START_TEST(test_keys_parse)
{
	struct alink_keys k;
	char err[200], text[200], url[200];
	size_t n;

	/* Sizes. */
	key_text(31, 7, text);
	ck_assert(!alink_keys_parse(text, NULL, &k, err, sizeof err));
	ck_assert_ptr_nonnull(strstr(err, "32 to 64 bytes"));
	ck_assert_ptr_null(strstr(err, text));		/* never the secret */
	key_text(65, 7, text);
	ck_assert(!alink_keys_parse(text, NULL, &k, err, sizeof err));
	ck_assert_ptr_nonnull(strstr(err, "not 65"));
	key_text(64, 7, text);
	ck_assert(alink_keys_parse(text, NULL, &k, err, sizeof err));
	ck_assert_uint_eq(k.current.len, 64);
	ck_assert_uint_eq(k.previous.len, 0);
	key_text(32, 7, text);
	ck_assert(alink_keys_parse(text, "", &k, err, sizeof err));
	ck_assert_uint_eq(k.current.len, 32);
	ck_assert_uint_eq(k.current.bytes[31], 7);
	ck_assert_uint_eq(k.previous.len, 0);

	/* Shapes: padded, unpadded, whsec_, URL-safe; all the same key. */
	key_text(32, 0xfb, text);		/* "+/" in it */
	ck_assert_ptr_nonnull(strpbrk(text, "+/"));
	{
		struct alink_keys a = keys(text, NULL), b, c, d;
		char tmp[220];

		snprintf(tmp, sizeof tmp, "whsec_%s", text);
		b = keys(tmp, NULL);
		strcpy(tmp, text);
		tmp[strcspn(tmp, "=")] = '\0';
		c = keys(tmp, NULL);
		strcpy(url, tmp);
		for (char *q = url; *q; q++)
			*q = *q == '+' ? '-' : *q == '/' ? '_' : *q;
		d = keys(url, NULL);
		ck_assert_mem_eq(a.current.bytes, b.current.bytes, 32);
		ck_assert_mem_eq(a.current.bytes, c.current.bytes, 32);
		ck_assert_mem_eq(a.current.bytes, d.current.bytes, 32);
		ck_assert_uint_eq(a.current.id, d.current.id);
	}

	/* Not base64. */
	static const char *junk[] = {
		"!!!!", "abc def", "YWJj\n", "Y===", "AAAA=", "+-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB",	/* non-zero spare bits */
	};
	for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
		ck_assert_msg(!alink_keys_parse(junk[i], NULL, &k, err, sizeof err), "%zu", i);
		ck_assert_ptr_nonnull(strstr(err, "current"));
		ck_assert_uint_eq(k.current.len, 0);
	}
	ck_assert(!alink_keys_parse(NULL, NULL, &k, err, sizeof err));
	ck_assert_ptr_nonnull(strstr(err, "not set"));
	ck_assert(!alink_keys_parse("", NULL, &k, err, sizeof err));
	/* A bad previous key names itself and wipes the current. */
	ck_assert(!alink_keys_parse(key_a, "short", &k, err, sizeof err));
	ck_assert_ptr_nonnull(strstr(err, "previous"));
	ck_assert_uint_eq(k.current.len, 0);
	n = strlen(key_b);
	ck_assert_uint_gt(n, 0);
	ck_assert(alink_keys_parse(key_a, key_b, &k, err, sizeof err));
	ck_assert_uint_eq(k.previous.len, 48);
	ck_assert_str_eq(alink_status_name(ALINK_OK), "ok");
	ck_assert_str_eq(alink_status_name(ALINK_BAD), "bad");
	ck_assert_str_eq(alink_status_name(ALINK_EXPIRED), "expired");
}
END_TEST

static Suite *
alink_suite(void)
{
	Suite *s = suite_create("alink");
	TCase *tc = tcase_create("alink");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_make_bad);
	tcase_add_test(tc, test_expired);
	tcase_add_test(tc, test_tamper_chars);
	tcase_add_test(tc, test_tamper_bytes);
	tcase_add_test(tc, test_rotation);
	tcase_add_test(tc, test_key_id_collision);
	tcase_add_test(tc, test_malformed);
	tcase_add_test(tc, test_signed_garbage);
	tcase_add_test(tc, test_keys_parse);
	tcase_add_test(tc, test_pupil_links);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	int failed;

	failed = cktest_run(alink_suite());
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
