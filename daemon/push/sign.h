/*
 * sign.h: endpoint secrets and webhook signatures, the Standard Webhooks
 * way. A secret is "whsec_" + base64 of its key; a signature is
 * "v1,<base64 HMAC-SHA256(key, "id.timestamp.body")>". Pure: no I/O.
 */
#ifndef RECALLD_SIGN_H
#define RECALLD_SIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A new endpoint secret: "whsec_" + base64 of 32 random bytes (malloc'd). */
char *sign_secret_new(void);
/*
 * A secret has the whsec_ form with 24 to 64 bytes of key (base64 as
 * b64_key_parse reads it: strict, either alphabet, padding optional).
 */
bool sign_secret_valid(const char *secret);
/*
 * "v1,<base64>" for one secret into out (at least 64 bytes); false when
 * the secret is malformed.
 */
bool sign_webhook(const char *secret, const char *msg_id, int64_t ts, const char *body,
    size_t len, char *out, size_t outlen) __attribute__((warn_unused_result));

#endif
