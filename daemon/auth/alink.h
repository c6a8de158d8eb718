/*
 * alink.h: answer link tokens: a signed, expiring reference to one
 * prompt, put in the URL of the answer page (/a/{token}) so that a pupil
 * answers without logging in.
 *
 *   token   = base64url, unpadded, of  payload || first 16 bytes of
 *             HMAC-SHA256(key, payload)
 *   payload = version (1 byte, ALINK_VERSION)
 *             school_id, prompt_id, expiry (Unix seconds): each an
 *             unsigned LEB128 varint, shortest form, > 0
 *             key id (1 byte)
 *
 * Typically 40 characters, at most ALINK_TOKEN_MAX - 1. The key id is the
 * first byte of SHA-256("recalld alink key id" || key); two keys may share
 * one, so a check tries every key with the token's id.
 *
 * Keys rotate: links are made with the current key and checked against the
 * current and, when configured, the previous one. A link stays valid until
 * its expiry or until its key is neither current nor previous.
 *
 * Pure: no I/O, no allocation, no clock (the caller passes now).
 */
#ifndef RECALLD_ALINK_H
#define RECALLD_ALINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "b64.h"

#define ALINK_VERSION 1		/* an answer link: school, prompt */
#define ALINK_PUPIL_VERSION 2	/* a pupil's page link: school, pupil */
#define ALINK_VIEW_VERSION 3	/* a teacher's read-only view of it: school, pupil */
#define ALINK_MAC_LEN 16
#define ALINK_KEY_MIN B64_LINK_KEY_MIN	/* bytes */
#define ALINK_KEY_MAX B64_LINK_KEY_MAX
#define ALINK_TOKEN_MAX 72	/* a buffer for any token and its NUL */

struct alink_key {
	unsigned char id;
	size_t len;		/* 0: no key */
	unsigned char bytes[ALINK_KEY_MAX];
};

/* Embeddable; wipe with alink_keys_clear when done. */
struct alink_keys {
	struct alink_key current;
	struct alink_key previous;	/* len 0 when there is none */
};

enum alink_status {
	ALINK_OK = 0,
	ALINK_BAD,		/* malformed, unknown key or wrong signature */
	ALINK_EXPIRED,		/* well signed, but now >= its expiry */
};

/*
 * Keys from config text: current is required, previous may be NULL or
 * "". Each is base64 (standard or URL-safe alphabet, padding optional, an
 * optional "whsec_" prefix) of ALINK_KEY_MIN to ALINK_KEY_MAX bytes. On
 * failure err says which key is wrong (never its value) and out is wiped.
 */
bool alink_keys_parse(const char *current, const char *previous,
    struct alink_keys *out, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/* Wipe the key bytes. */
void alink_keys_clear(struct alink_keys *k);

/*
 * Make a link token with the current key into out (ALINK_TOKEN_MAX bytes
 * always suffice). False when an id or the expiry is not > 0, there is no
 * current key, or outlen is too small.
 */
bool alink_make(const struct alink_keys *k, int64_t school_id, int64_t prompt_id,
    int64_t expires_unix, char *out, size_t outlen)
    __attribute__((warn_unused_result));

/*
 * Check a token at now_unix. True only for ALINK_OK. *st is always set;
 * school_id and prompt_id are set for ALINK_OK and ALINK_EXPIRED (the
 * signature was good), left alone for ALINK_BAD. The signature is
 * compared in constant time.
 */
bool alink_check(const struct alink_keys *k, const char *token, int64_t now_unix,
    int64_t *school_id, int64_t *prompt_id, enum alink_status *st)
    __attribute__((warn_unused_result));

/* The same, also giving the expiry; any of the outputs may be NULL. */
bool alink_check_full(const struct alink_keys *k, const char *token, int64_t now_unix,
    int64_t *school_id, int64_t *prompt_id, int64_t *expires_unix,
    enum alink_status *st) __attribute__((warn_unused_result));

/*
 * The same for a pupil's own page (/p/{token}): the version byte says
 * which kind a token is, under the signature, so an answer link never
 * opens a pupil's page nor the other way round.
 */
bool alink_pupil_make(const struct alink_keys *k, int64_t school_id, int64_t pupil_id,
    int64_t expires_unix, char *out, size_t outlen) __attribute__((warn_unused_result));
bool alink_pupil_check(const struct alink_keys *k, const char *token, int64_t now_unix,
    int64_t *school_id, int64_t *pupil_id, int64_t *expires_unix, enum alink_status *st)
    __attribute__((warn_unused_result));
/* A teacher's read-only view of a pupil's page: a third kind, never the pupil's own. */
bool alink_view_make(const struct alink_keys *k, int64_t school_id, int64_t pupil_id,
    int64_t expires_unix, char *out, size_t outlen) __attribute__((warn_unused_result));
bool alink_view_check(const struct alink_keys *k, const char *token, int64_t now_unix,
    int64_t *school_id, int64_t *pupil_id, int64_t *expires_unix, enum alink_status *st)
    __attribute__((warn_unused_result));

/* "ok", "bad", "expired" */
const char *alink_status_name(enum alink_status st);

/* A new random key as base64, as responses.link_key takes it (caller wipes and frees); NULL without randomness. */
char *alink_key_new(void);

#endif
