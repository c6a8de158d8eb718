/*
 * push.h: webhook delivery from the transactional outbox.
 *
 * Producers add deliveries in their own transaction (outbox.h); the
 * sender claims due ones with FOR NO KEY UPDATE SKIP LOCKED and a lease, so
 * several daemons on one database share the work and never send the same
 * delivery at once, and POSTs them with libcurl multi on the daemon's
 * event base (at most webhooks.max_in_flight at once, and
 * max_in_flight_per_endpoint to one endpoint; as many again are claimed
 * ahead so a free slot never waits for the database; results are written
 * in batches), signed the Standard Webhooks way (sign.h):
 *
 *   webhook-id         the delivery's msg_... id, the same on every retry
 *   webhook-timestamp  Unix seconds (wall time) of this attempt
 *   webhook-signature  v1,<base64 HMAC-SHA256(key, "id.timestamp.body")>,
 *                      space-separated, one per valid secret
 *
 * 2xx delivers; anything else is retried after webhooks.retry_schedule
 * (+-20% jitter, a longer Retry-After on 429/502/504 wins) until the
 * schedule runs out and the delivery is dead. 410 Gone, or nothing but
 * failures for webhooks.disable_after, disables the endpoint: its pending
 * deliveries die and the school's other endpoints get endpoint.disabled.
 * Every attempt is logged in delivery_attempt.
 *
 * Targets resolving to loopback, private, link-local, CGNAT, multicast or
 * reserved addresses are refused at connect time (after DNS) unless
 * webhooks.allow_private is true (ssrf.h).
 */
#ifndef RECALLD_PUSH_H
#define RECALLD_PUSH_H

#include <stdint.h>

#include <event2/event.h>

#include "config.h"
#include "db.h"
#include "secretbox.h"

typedef struct push push;

/*
 * A sender on base using db. It reads cfg's [webhooks] keys live, so a
 * SIGHUP reload applies; cfg must outlive it. It LISTENs on OUTBOX_CHANNEL
 * and claims at once when the LISTEN is (re)established. With the manual
 * clock it also claims when the clock moves (until push_stop or push_free).
 */
/* secrets opens the endpoints' sealed secrets (secretbox.h); NULL: they are in clear. */
push *push_new(struct event_base *base, db_pool *db, const struct config *cfg, secretbox *secrets);
/*
 * Stop claiming; transfers in flight finish and their results are
 * written; deliveries claimed ahead but not sent get their leases released.
 */
void push_stop(push *p);
/* Scores to LMS gradebooks (endpoints of format lti-ags) are prepared by a (ags.h). */
struct ags;
void push_set_ags(push *p, struct ags *a);
/* Claims, transfers and result writes not finished yet (0: drained). */
int push_pending(const push *p);
/* Look for school's due deliveries now (this daemon queued some). */
void push_wake(push *p, int64_t school);
/*
 * Abort what is in flight and free. Leases of deliveries still in flight
 * (or queued, without push_stop) are left to expire (webhooks.lease), so
 * another sender retries them.
 * Call before db_pool_free and event_base_free, and do not run the loop
 * of db between the two (the LISTEN callback points here).
 */
void push_free(push *p);

struct push_stats {
	int sending;		/* transfers in flight */
	int queued;		/* claimed ahead, waiting for a transfer slot */
	uint64_t claimed;	/* deliveries claimed */
	uint64_t delivered;	/* 2xx */
	uint64_t failed;	/* attempts that failed (retry or dead) */
	uint64_t dead;
	uint64_t disabled;	/* endpoints this sender disabled */
	uint64_t claims;	/* claim queries run (one school each) */
	uint64_t sweeps;	/* sweeps run (a chunk of schools each) */
};
void push_get_stats(const push *p, struct push_stats *out);

#endif
