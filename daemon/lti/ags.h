/*
 * ags.h: mastery into an LMS gradebook (LTI Assignment and Grade Services
 * 2.0). Scores are outbox deliveries (event lti.score) to an endpoint of
 * format lti-ags, one per linked class; the webhook sender (push.h) sends
 * them, asking this module first for where and with what token:
 *
 *  - an access token by OAuth 2.0 client credentials with a JWT client
 *    assertion signed by the tool's key (RFC 7523, as LTI Security
 *    Framework §4.1 asks), kept until shortly before it expires;
 *  - the unit's line item ("Recall: <unit>", resourceId the unit's id,
 *    tag recalld), found in the container or created, kept in lti_lineitem.
 */
#ifndef RECALLD_AGS_H
#define RECALLD_AGS_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>

#include "config.h"
#include "db.h"
#include "hfetch.h"
#include "secretbox.h"

typedef struct ags ags;
typedef struct ags_prep ags_prep;

#define AGS_EVENT "lti.score"
#define AGS_FORMAT "lti-ags"
#define AGS_SCORE_TYPE "application/vnd.ims.lis.v1.score+json"
#define AGS_SCOPES "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem" \
	" https://purl.imsglobal.org/spec/lti-ags/scope/score" \
	" https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"

ags *ags_new(struct event_base *base, db_pool *db, hfetch *fetch, const struct config *cfg,
    secretbox *secrets);
/* Preparations in flight end without their callbacks. */
void ags_free(ags *a);

/*
 * Where a score goes and with which token: scores_url and bearer (an
 * "Authorization" value) on success, else error says why (an attempt's
 * error). Strings live for the call only.
 */
typedef void (*ags_ready_cb)(const char *scores_url, const char *bearer, const char *error,
    void *arg);
/*
 * For a delivery of endpoint (its url the line-items container) whose
 * payload is an lti.score event; cb runs once, always from the loop,
 * unless the preparation is cancelled.
 */
ags_prep *ags_prepare(ags *a, int64_t school, int64_t endpoint, const char *container,
    const char *payload, ags_ready_cb cb, void *arg);
void ags_cancel(ags_prep *p);
/* The platform answered 401 to a token: the next preparation gets a new one. */
void ags_token_refused(ags *a, int64_t school, int64_t endpoint);
/* The body of an lti.score payload to send (malloc'd), or NULL. */
char *ags_score_body(const char *payload);

/*
 * An access token from a platform (for NRPS too): the same cache.
 * cb(bearer, error, arg).
 */
typedef void (*ags_token_cb)(const char *bearer, const char *error, void *arg);
ags_prep *ags_token(ags *a, int64_t school, int64_t platform, ags_token_cb cb, void *arg);

/*
 * The statement the flag job adds to its school's closing transaction:
 * queue an lti.score for each pupil x taught unit of each linked class
 * whose mastery changed since its last score, at most one each
 * lti.score_interval. Parameters: $1 school, $2 now (ISO), $3 the
 * interval in milliseconds (text).
 */
extern const char ags_queue_sql[];
#define AGS_QUEUE_NPARAMS 3

#endif
