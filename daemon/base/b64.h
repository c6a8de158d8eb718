/*
 * b64.h: base64 (RFC 4648) in both alphabets, and secret keys written as
 * base64 text. Decoding is strict (no stray characters, exact padding,
 * unused bits zero), so a signed token cannot be re-spelled and a typo in
 * a key is refused rather than read as another key.
 * Pure: no I/O, no allocation.
 */
#ifndef RECALLD_B64_H
#define RECALLD_B64_H

#include <stdbool.h>
#include <stddef.h>

/* The answer link signing keys (responses.link_key), in bytes. */
#define B64_LINK_KEY_MIN 32
#define B64_LINK_KEY_MAX 64

/* The largest key b64_key_parse takes, in bytes. */
#define B64_KEY_MAX 64

/* A buffer for the padded encoding of n bytes and its NUL. */
#define B64_SIZE(n) (4 * (((n) + 2) / 3) + 1)

enum b64_form {
	B64_URL_UNPADDED,	/* base64url, no '=': what b64_encode_url makes */
	B64_ANY,		/* either alphabet (one per text), '=' padding optional */
};

/*
 * Standard alphabet, padded, and a NUL into out. False, with out "" when
 * outlen > 0, if it does not fit (B64_SIZE(n) always does).
 */
bool b64_encode(const unsigned char *in, size_t n, char *out, size_t outlen)
    __attribute__((warn_unused_result));
/* The same in the URL-safe alphabet ('-' '_'), unpadded. */
bool b64_encode_url(const unsigned char *in, size_t n, char *out, size_t outlen)
    __attribute__((warn_unused_result));

/*
 * Decode n characters of in as form, into out (outmax bytes); *outlen is
 * the length. Refused: characters outside the alphabet or mixing both,
 * '=' anywhere but as the padding of a last group of four, an impossible
 * length, non-zero unused trailing bits, more than outmax bytes. On
 * failure the bytes written to out are wiped.
 */
bool b64_decode(const char *in, size_t n, enum b64_form form, unsigned char *out,
    size_t outmax, size_t *outlen) __attribute__((warn_unused_result));

/*
 * A secret key as text: an optional "whsec_" prefix, then base64
 * (B64_ANY) of min to max bytes, max at most B64_KEY_MAX. The key goes to
 * key (max bytes) and its length to *keylen; key may be NULL just to check
 * the text. On failure err names the key by what ("the current answer
 * link key is not base64"), never by its value, and key is wiped. The
 * decoded bytes are wiped from the stack in any case.
 */
bool b64_key_parse(const char *text, const char *what, size_t min, size_t max,
    unsigned char *key, size_t *keylen, char *err, size_t errlen)
    __attribute__((warn_unused_result));

#endif
