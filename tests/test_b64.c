/* test_b64.c: base64 both ways, strict decoding, secret keys as text. */
#include "autoconf.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "b64.h"
#include "cktest.h"
#include "util.h"

/* Decode a NUL-terminated text; -1 when refused. */
static int
dec(const char *text, enum b64_form form, unsigned char *out, size_t outmax)
{
	size_t n = 99;
	bool ok = b64_decode(text, strlen(text), form, out, outmax, &n);

	if (!ok) {
		ck_assert_uint_eq(n, 0);
		return -1;
	}
	return (int)n;
}

START_TEST(test_vectors)
{
	/* RFC 4648, section 10. */
	static const struct {
		const char *raw, *std, *url;
	} v[] = {
		{ "", "", "" },
		{ "f", "Zg==", "Zg" },
		{ "fo", "Zm8=", "Zm8" },
		{ "foo", "Zm9v", "Zm9v" },
		{ "foob", "Zm9vYg==", "Zm9vYg" },
		{ "fooba", "Zm9vYmE=", "Zm9vYmE" },
		{ "foobar", "Zm9vYmFy", "Zm9vYmFy" },
	};
	char text[64];
	unsigned char raw[64];

	for (size_t i = 0; i < nitems(v); i++) {
		size_t n = strlen(v[i].raw);

		ck_assert(b64_encode((const unsigned char *)v[i].raw, n, text, sizeof text));
		ck_assert_str_eq(text, v[i].std);
		ck_assert(b64_encode_url((const unsigned char *)v[i].raw, n, text, sizeof text));
		ck_assert_str_eq(text, v[i].url);
		ck_assert_int_eq(dec(v[i].std, B64_ANY, raw, sizeof raw), (int)n);
		ck_assert_mem_eq(raw, v[i].raw, n);
		ck_assert_int_eq(dec(v[i].url, B64_ANY, raw, sizeof raw), (int)n);
		ck_assert_mem_eq(raw, v[i].raw, n);
		ck_assert_int_eq(dec(v[i].url, B64_URL_UNPADDED, raw, sizeof raw), (int)n);
		ck_assert_mem_eq(raw, v[i].raw, n);
	}
}
END_TEST

/* Every length and byte value, against OpenSSL's encoder. */
START_TEST(test_round_trip)
{
	unsigned char raw[80], back[80];
	char text[B64_SIZE(sizeof raw)], ref[B64_SIZE(sizeof raw)], url[B64_SIZE(sizeof raw)];

	for (size_t n = 0; n <= sizeof raw; n++) {
		for (size_t i = 0; i < n; i++)
			raw[i] = (unsigned char)(n * 37 + i * 101 + (i & 1 ? 0xf0 : 0));
		ck_assert(b64_encode(raw, n, text, sizeof text));
		EVP_EncodeBlock((unsigned char *)ref, raw, (int)n);
		ck_assert_str_eq(text, ref);
		ck_assert_uint_eq(strlen(text), B64_SIZE(n) - 1);
		ck_assert_int_eq(dec(text, B64_ANY, back, sizeof back), (int)n);
		ck_assert_mem_eq(back, raw, n);

		/* URL-safe: the same text, - for +, _ for /, no padding. */
		ck_assert(b64_encode_url(raw, n, url, sizeof url));
		for (char *p = text; *p != '\0'; p++)
			*p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
		text[strcspn(text, "=")] = '\0';
		ck_assert_str_eq(url, text);
		ck_assert_int_eq(dec(url, B64_URL_UNPADDED, back, sizeof back), (int)n);
		ck_assert_mem_eq(back, raw, n);
		ck_assert_int_eq(dec(url, B64_ANY, back, sizeof back), (int)n);
		ck_assert_mem_eq(back, raw, n);
	}
}
END_TEST

START_TEST(test_alphabets)
{
	static const unsigned char fb[] = { 0xfb, 0xff, 0xbf };
	unsigned char raw[8];
	char text[16];

	ck_assert(b64_encode(fb, 3, text, sizeof text));
	ck_assert_str_eq(text, "+/+/");
	ck_assert(b64_encode_url(fb, 3, text, sizeof text));
	ck_assert_str_eq(text, "-_-_");
	ck_assert(b64_encode(fb, 2, text, sizeof text));
	ck_assert_str_eq(text, "+/8=");
	ck_assert(b64_encode_url(fb, 2, text, sizeof text));
	ck_assert_str_eq(text, "-_8");
	ck_assert_int_eq(dec("+/+/", B64_ANY, raw, sizeof raw), 3);
	ck_assert_mem_eq(raw, fb, 3);
	ck_assert_int_eq(dec("-_-_", B64_ANY, raw, sizeof raw), 3);
	ck_assert_mem_eq(raw, fb, 3);
	ck_assert_int_eq(dec("+/8=", B64_ANY, raw, sizeof raw), 2);
	ck_assert_int_eq(dec("-_8=", B64_ANY, raw, sizeof raw), 2);
	ck_assert_int_eq(dec("-_8", B64_URL_UNPADDED, raw, sizeof raw), 2);
	/* Never both alphabets in one text. */
	ck_assert_int_eq(dec("+_+_", B64_ANY, raw, sizeof raw), -1);
	ck_assert_int_eq(dec("-/-/", B64_ANY, raw, sizeof raw), -1);
	ck_assert_int_eq(dec("AAAA+/-_", B64_ANY, raw, sizeof raw), -1);
	/* Tokens: URL-safe only. */
	ck_assert_int_eq(dec("+/+/", B64_URL_UNPADDED, raw, sizeof raw), -1);
	ck_assert_int_eq(dec("-_+/", B64_URL_UNPADDED, raw, sizeof raw), -1);
}
END_TEST

START_TEST(test_refused)
{
	static const char *const any[] = {
		/* characters */
		"Zm9v!", "Zm 9v", " Zm9v", "Zm9v\n", "Zm9v\r\n", "Zm.v", "Zm9\x80", "Zm\tv",
		/* padding */
		"=", "==", "===", "====", "Zg=", "Zg===", "Z===", "Zm9v=", "Zm9v==", "Zm9v====",
		"Zm=v", "=m9v", "Zg==Zg==", "Zg==Zm9v", "Zm8==", "Zm8=Zm8=", "Zm9vYg=",
		/* impossible lengths */
		"Z", "Zm9vY", "Zm9vYmFyZ",
		/* non-zero unused trailing bits: one text per byte string */
		"Zh==", "Zh", "Zm9=", "Zm9", "Zm9vYh", "Zm9vYmF", "AB", "AAB", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB",
	};
	static const char *const url[] = {
		"Zg==", "Zm8=", "Zg=", "Zh", "Zm9", "Z", "Zm9vY", "+/+/", "Zm9v\n", "Zm.v",
	};
	unsigned char raw[64];

	for (size_t i = 0; i < nitems(any); i++)
		ck_assert_msg(dec(any[i], B64_ANY, raw, sizeof raw) == -1, "accepted '%s'", any[i]);
	for (size_t i = 0; i < nitems(url); i++)
		ck_assert_msg(dec(url[i], B64_URL_UNPADDED, raw, sizeof raw) == -1,
		    "accepted '%s'", url[i]);
	/* A NUL inside the given length is a bad character too. */
	ck_assert(!b64_decode("Zm9v\0Zm9v", 9, B64_ANY, raw, sizeof raw, &(size_t){ 0 }));
}
END_TEST

START_TEST(test_sizes)
{
	unsigned char raw[8];
	char text[8];
	size_t n;

	/* Decoding: no more than outmax bytes. */
	ck_assert_int_eq(dec("Zm9vYmFy", B64_ANY, raw, 5), -1);
	ck_assert_int_eq(dec("Zm9vYmFy", B64_ANY, raw, 6), 6);
	ck_assert_int_eq(dec("Zm9vYmE=", B64_ANY, raw, 4), -1);
	ck_assert_int_eq(dec("Zm9vYmE=", B64_ANY, raw, 5), 5);
	ck_assert_int_eq(dec("Zm9vYmE", B64_URL_UNPADDED, raw, 4), -1);
	ck_assert_int_eq(dec("Zm9vYmE", B64_URL_UNPADDED, raw, 5), 5);
	/* Only n characters are read. */
	ck_assert(b64_decode("Zm9vYmFy", 4, B64_ANY, raw, sizeof raw, &n));
	ck_assert_uint_eq(n, 3);
	ck_assert_mem_eq(raw, "foo", 3);

	/* Encoding: the text and its NUL must fit. */
	ck_assert(!b64_encode((const unsigned char *)"foo", 3, text, 4));
	ck_assert_str_eq(text, "");
	ck_assert(b64_encode((const unsigned char *)"foo", 3, text, 5));
	ck_assert(!b64_encode((const unsigned char *)"f", 1, text, 4));
	ck_assert(b64_encode((const unsigned char *)"f", 1, text, 5));
	ck_assert_str_eq(text, "Zg==");
	ck_assert(!b64_encode_url((const unsigned char *)"f", 1, text, 2));
	ck_assert_str_eq(text, "");
	ck_assert(b64_encode_url((const unsigned char *)"f", 1, text, 3));
	ck_assert_str_eq(text, "Zg");
	ck_assert(!b64_encode_url((const unsigned char *)"", 0, text, 0));
	ck_assert(b64_encode_url((const unsigned char *)"", 0, text, 1));
	ck_assert_str_eq(text, "");
	ck_assert_uint_eq(B64_SIZE(0), 1);
	ck_assert_uint_eq(B64_SIZE(1), 5);
	ck_assert_uint_eq(B64_SIZE(3), 5);
	ck_assert_uint_eq(B64_SIZE(32), 45);
}
END_TEST

/* What a refused text had decoded so far is wiped. */
START_TEST(test_wipe)
{
	unsigned char raw[16];
	static const unsigned char zero[16];

	memset(raw, 0, sizeof raw);
	ck_assert_int_eq(dec("Zm9vYmFyZm9v!AAA", B64_ANY, raw, sizeof raw), -1);
	ck_assert_mem_eq(raw, zero, sizeof raw);
	ck_assert_int_eq(dec("Zm9vYmFyZh", B64_URL_UNPADDED, raw, sizeof raw), -1);
	ck_assert_mem_eq(raw, zero, sizeof raw);
}
END_TEST

START_TEST(test_key_parse)
{
	unsigned char key[B64_KEY_MAX], raw[B64_KEY_MAX];
	char text[200], err[200];
	size_t len;

	for (size_t i = 0; i < sizeof raw; i++)
		raw[i] = (unsigned char)(0xf0 + i);

	/* Length bounds, in bytes. */
	for (size_t n = 0; n <= 66; n++) {
		unsigned char big[70];
		bool in = n >= 24 && n <= 40;

		memset(big, 0xa5, sizeof big);
		ck_assert(b64_encode(big, n, text, sizeof text));
		memset(key, 0x55, sizeof key);
		len = 99;
		ck_assert_int_eq(b64_key_parse(text, "the test key", 24, 40, key, &len, err,
		    sizeof err), in);
		if (in) {
			ck_assert_uint_eq(len, n);
			ck_assert_mem_eq(key, big, n);
		} else {
			char want[100];

			snprintf(want, sizeof want,
			    "the test key must be base64 of 24 to 40 bytes, not %zu", n);
			ck_assert_str_eq(err, want);
			ck_assert_uint_eq(len, 0);
			for (size_t i = 0; i < 40; i++)	/* wiped */
				ck_assert_uint_eq(key[i], 0);
		}
	}

	/* The shapes of one key: padded, unpadded, whsec_, URL-safe. */
	ck_assert(b64_encode(raw, 32, text, sizeof text));
	ck_assert_ptr_nonnull(strpbrk(text, "+/"));
	ck_assert_ptr_nonnull(strchr(text, '='));
	{
		char shapes[4][sizeof text + 8];

		snprintf(shapes[0], sizeof shapes[0], "%s", text);
		snprintf(shapes[1], sizeof shapes[1], "whsec_%s", text);
		snprintf(shapes[2], sizeof shapes[2], "%.*s", (int)strcspn(text, "="), text);
		ck_assert(b64_encode_url(raw, 32, shapes[3], sizeof shapes[3]));
		for (size_t i = 0; i < 4; i++) {
			ck_assert_msg(b64_key_parse(shapes[i], "k", B64_LINK_KEY_MIN,
			    B64_LINK_KEY_MAX, key, &len, err, sizeof err), "%s: %s", shapes[i], err);
			ck_assert_uint_eq(len, 32);
			ck_assert_mem_eq(key, raw, 32);
		}
	}

	/* Not base64: the message names the key, never its text. */
	static const char *const junk[] = {
		"not*base64", "AAAA=", "Y===", "+-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB", "WHSEC_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
	};
	for (size_t i = 0; i < nitems(junk); i++) {
		memset(key, 0x55, sizeof key);
		ck_assert_msg(!b64_key_parse(junk[i], "the current answer link key",
		    B64_LINK_KEY_MIN, B64_LINK_KEY_MAX, key, &len, err, sizeof err), "%s", junk[i]);
		ck_assert_str_eq(err, "the current answer link key is not base64");
		ck_assert_uint_eq(len, 0);
		for (size_t j = 0; j < B64_LINK_KEY_MAX; j++)
			ck_assert_uint_eq(key[j], 0);
	}
	/* Empty, and a prefix alone: no bytes. */
	ck_assert(!b64_key_parse("", "k", 1, 8, NULL, NULL, err, sizeof err));
	ck_assert_str_eq(err, "k must be base64 of 1 to 8 bytes, not 0");
	ck_assert(!b64_key_parse("whsec_", "k", 1, 8, NULL, NULL, err, sizeof err));
	ck_assert_str_eq(err, "k must be base64 of 1 to 8 bytes, not 0");
	/* Longer than the largest key is still told its length. */
	ck_assert(b64_encode(raw, 64, text, sizeof text));
	ck_assert(!b64_key_parse(text, "k", 1, 8, NULL, NULL, err, sizeof err));
	ck_assert_str_eq(err, "k must be base64 of 1 to 8 bytes, not 64");
	/* Just checking: no key, no length, no err. */
	ck_assert(b64_key_parse("Zm9vYmFy", "k", 6, 6, NULL, NULL, NULL, 0));
	ck_assert(!b64_key_parse("Zm9vYmF", "k", 6, 6, NULL, NULL, NULL, 0));
	ck_assert_uint_eq(B64_LINK_KEY_MIN, 32);
	ck_assert_uint_eq(B64_LINK_KEY_MAX, 64);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("b64");
	TCase *tc = tcase_create("b64");
	int failed;

	tcase_add_test(tc, test_vectors);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_alphabets);
	tcase_add_test(tc, test_refused);
	tcase_add_test(tc, test_sizes);
	tcase_add_test(tc, test_wipe);
	tcase_add_test(tc, test_key_parse);
	suite_add_tcase(s, tc);
	failed = cktest_run(s);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
