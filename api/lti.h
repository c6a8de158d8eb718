/*
 * lti.h: what api/lti*.c share: their pages (in the pupil pages' style,
 * framable by the school's LMS: lti.frame_ancestors), reading the forms
 * and queries a platform or a browser sends, and one-time values. Not a
 * public interface: api.h has the routes.
 */
#ifndef RECALLD_API_LTI_H
#define RECALLD_API_LTI_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>

#include "app.h"
#include "b64.h"
#include "http.h"
#include "token.h"

#define LTI_RANDOM_BYTES 32
#define LTI_RANDOM_LEN B64_SIZE(LTI_RANDOM_BYTES)
#define LTI_HASH_BYTEA (TOKEN_HASH_HEX + 2)	/* "\\x" and the hex */
#define CODE_TTL "10 minutes"			/* a launch's sign-in code, a deep-linking choice */

/* Pages: b sent (framable by the LMS); a title and a sentence; a refusal saying why. */
void lti_page_send(struct app *app, http_ctx *ctx, int status, struct evbuffer *b);
void lti_page(struct app *app, http_ctx *ctx, int status, const char *title, const char *text);
void lti_refused(struct app *app, http_ctx *ctx, int status, const char *why);
/* The 503 page when the database is away: nothing was done, come back in a minute. */
void lti_db_away(struct app *app, http_ctx *ctx);
void lti_put(struct evbuffer *b, const char *s);
/*
 * A form posting to /lti/{school}/{path}: its fieldset, a radio button
 * (name-value its id; before and after trusted markup around the escaped
 * text), and its end (hidden name/value pairs, NULL-ended; the button).
 */
void lti_form_start(struct evbuffer *b, const char *school, const char *path, const char *legend);
void lti_radio(struct evbuffer *b, const char *name, const char *value, bool checked,
    const char *before, const char *text, const char *after);
void lti_form_end(struct evbuffer *b, const char *const *hidden, const char *button);

/* 32 random bytes as base64url; false without randomness. */
bool lti_random_b64(char out[LTI_RANDOM_LEN]);
/* SHA-256 of text as a bytea parameter ("\\x..."). */
void lti_hash_bytea(const char *text, char out[LTI_HASH_BYTEA]);
/* The {school} path segment as an id (and its text). */
bool lti_school_of(http_ctx *ctx, int64_t *school, char out[24]);
/* The query (GET) or urlencoded form (POST) into kv; false when unreadable. */
bool lti_read_params(http_ctx *ctx, struct evkeyvalq *kv);
/* A parameter of 1 to 2000 bytes, or NULL. */
const char *lti_param(struct evkeyvalq *kv, const char *name);
/* http.public_url without a trailing slash (malloc'd). */
char *lti_public_base(const struct app *app);

/* Deep linking (lti_deeplink.c): the teacher's choice page, and its form's route. */
void lti_deeplink_page(struct app *app, http_ctx *ctx, const char *school, const char *klass,
    const char *code);
void lti_deeplink_handler(http_ctx *ctx, void *app, const void *data);
/* Dynamic Registration (lti_register.c): GET /lti/register. */
void lti_register_handler(http_ctx *ctx, void *app, const void *data);

#endif
