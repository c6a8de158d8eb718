/*
 * push.h: webhook delivery from the transactional outbox.
 *
 * Producers add deliveries in their own transaction (push_enqueue_sql);
 * the sender claims due ones with FOR UPDATE SKIP LOCKED and a lease, so
 * several daemons on one database share the work and never send the same
 * delivery at once, and POSTs them with libcurl multi on the daemon's
 * event base (at most webhooks.max_in_flight at once, and
 * max_in_flight_per_endpoint to one endpoint; as many again are claimed
 * ahead so a free slot never waits for the database; results are written
 * in batches), signed the Standard Webhooks way:
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
 * webhooks.allow_private is true.
 */
#ifndef RECALLD_PUSH_H
#define RECALLD_PUSH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sys/socket.h>

#include <event2/event.h>
#include <jansson.h>

#include "config.h"
#include "db.h"

typedef struct push push;

/* The NOTIFY channel that wakes senders; the payload is ignored. */
#define PUSH_CHANNEL "recalld_outbox"

/*
 * A sender on base using db. It reads cfg's [webhooks] keys live, so a
 * SIGHUP reload applies; cfg must outlive it. It LISTENs on PUSH_CHANNEL
 * and claims at once when the LISTEN is (re)established. With the manual
 * clock it also subscribes to clock moves (clock_unsubscribe_all before
 * push_free if the clock may still move).
 */
push *push_new(struct event_base *base, db_pool *db, const struct config *cfg);
/*
 * Stop claiming; transfers in flight finish and their results are
 * written; deliveries claimed ahead but not sent get their leases released.
 */
void push_stop(push *p);
/* Claims, transfers and result writes not finished yet (0: drained). */
int push_pending(const push *p);
/* Look for due deliveries now (another module queued some, the clock moved). */
void push_wake(push *p);
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
	uint64_t claims;	/* claim queries run */
};
void push_get_stats(const push *p, struct push_stats *out);

/* ---- producing events (any module) ---- */

struct push_event {
	const char *school_id;		/* decimal text */
	const char *type;		/* an event_types name (or EVENT_PING) */
	const json_t *data;		/* the event's data object; only read */
	const char *now;		/* ISO time from the clock: the envelope's timestamp */
	const char *class_id;		/* NULL, or only endpoints without a class or of this one */
	const char *endpoint_id;	/* NULL, or only this endpoint, whatever its filters */
	bool no_notify;			/* leave the NOTIFY out: add push_notify_sql once */
	/*
	 * The renderings to make, a mask of PUSH_FORMAT(enum event_format);
	 * 0: all. Endpoints of a format left out get nothing: the caller read
	 * the formats in use (PUSH_FORMATS_SQL) just before.
	 */
	unsigned formats;
};

#define PUSH_FORMAT(f) (1u << (f))
/*
 * An SQL expression: the formats (PUSH_FORMAT mask, 0 for none) of the
 * enabled endpoints of school that take events of type for class (SQL
 * expressions; class may be NULL::bigint), as push_enqueue_sql picks them.
 * A producer that finds none needs to render nothing.
 */
#define PUSH_FORMATS_SQL(school, type, class) \
	"(SELECT coalesce(bit_or(CASE e.format WHEN 'slack' THEN 2 WHEN 'teams' THEN 4" \
	" ELSE 1 END), 0)::int FROM endpoint e WHERE e.school_id = " school " AND e.enabled" \
	" AND (cardinality(e.event_types) = 0 OR " type " = ANY (e.event_types))" \
	" AND (" class " IS NULL OR e.class_id IS NULL OR e.class_id = " class "))"

/*
 * Append to r the statements that queue ev for every enabled endpoint of
 * the school that takes it (event_types empty or naming ev->type, class
 * filter), rendered per endpoint format, with a fresh webhook-id each,
 * and NOTIFY PUSH_CHANNEL; all in r's transaction. Adds two statements:
 * the INSERT (one row of delivery_id, webhook_id per delivery) and the
 * NOTIFY (none with ev->no_notify).
 */
void push_enqueue_sql(db_req *r, const struct push_event *ev);
/* The NOTIFY alone: one statement, for many push_enqueue_sql with no_notify. */
void push_notify_sql(db_req *r);

/* ---- secrets, signatures, addresses ---- */

/* A new endpoint secret: "whsec_" + base64 of 32 random bytes (malloc'd). */
char *push_secret_new(void);
/* A secret has the whsec_ form with 24 to 64 bytes of key. */
bool push_secret_valid(const char *secret);
/*
 * "v1,<base64>" for one secret into out (at least 64 bytes); false when
 * the secret is malformed.
 */
bool push_sign(const char *secret, const char *msg_id, int64_t ts, const char *body,
    size_t len, char *out, size_t outlen) __attribute__((warn_unused_result));
/*
 * Whether the SSRF guard refuses sa; why names the range ("loopback
 * 127.0.0.1"). IPv4-mapped, NAT64 and 6to4 IPv6 forms are judged by the
 * IPv4 address inside.
 */
bool push_addr_blocked(const struct sockaddr *sa, char *why, size_t len);

#endif
