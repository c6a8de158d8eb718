/*
 * outbox.h: the webhook outbox, as producers see it. Any module queues a
 * delivery per matching endpoint inside its own transaction (one request
 * of the pool), rendered for each endpoint's format, and NOTIFYs
 * OUTBOX_CHANNEL so a sender (push.h) claims it at once.
 */
#ifndef RECALLD_OUTBOX_H
#define RECALLD_OUTBOX_H

#include <stdbool.h>

#include <jansson.h>

#include "db.h"
#include "event.h"

/*
 * The NOTIFY channel that wakes senders; the payload is the school's id
 * (several, comma-separated, or none: senders then look at every school).
 */
#define OUTBOX_CHANNEL "recalld_outbox"

struct outbox_event {
	const char *school_id;		/* decimal text */
	const char *type;		/* an event_types name (or EVENT_PING) */
	const json_t *data;		/* the event's data object; only read */
	const char *now;		/* ISO time from the clock: the envelope's timestamp */
	const char *class_id;		/* NULL, or only endpoints without a class or of this one */
	const char *endpoint_id;	/* NULL, or only this endpoint, whatever its filters */
	bool no_notify;			/* leave the NOTIFY out: add outbox_notify_sql once */
	/*
	 * The renderings to make, a mask of EVENT_FORMAT_BIT(enum event_format);
	 * 0: all. Endpoints of a format left out get nothing: the caller read
	 * the formats in use (OUTBOX_FORMATS_SQL) just before.
	 */
	unsigned formats;
};

/*
 * An SQL expression: the formats (EVENT_FORMAT_BIT mask, 0 for none) of
 * the enabled endpoints of school that take events of type for class (SQL
 * expressions; class may be NULL::bigint), as outbox_enqueue_sql picks
 * them. A producer that finds none needs to render nothing.
 */
#define OUTBOX_FORMATS_SQL(school, type, class) \
	"(SELECT coalesce(bit_or(" EVENT_FORMAT_BIT_SQL("e.format") "), 0)::int" \
	" FROM endpoint e WHERE e.school_id = " school " AND e.enabled" \
	" AND (cardinality(e.event_types) = 0 OR " type " = ANY (e.event_types))" \
	" AND (" class " IS NULL OR e.class_id IS NULL OR e.class_id = " class "))"

/*
 * Append to r the statements that queue ev for every enabled endpoint of
 * the school that takes it (event_types empty or naming ev->type, class
 * filter), rendered per endpoint format, with a fresh webhook-id each,
 * and NOTIFY OUTBOX_CHANNEL; all in r's transaction. Adds two statements:
 * the INSERT (one row of delivery_id, webhook_id per delivery) and the
 * NOTIFY (none with ev->no_notify).
 */
void outbox_enqueue_sql(db_req *r, const struct outbox_event *ev);
/*
 * The NOTIFY alone: one statement, for many outbox_enqueue_sql with
 * no_notify. With school, only if that school has an enabled endpoint;
 * NULL (a write that spans schools and knows it queued something): always,
 * and senders then look at every school.
 */
void outbox_notify_sql(db_req *r, const char *school);

/*
 * For a statement that queues an event as part of more work (a WITH in
 * front, more conditions on the endpoint e after it): the INSERT of
 * outbox_enqueue_sql, whose parameters outbox_params fills.
 */
#define OUTBOX_NPARAMS 6
#define OUTBOX_INSERT_SQL \
	"INSERT INTO delivery (school_id, endpoint_id, event_type, webhook_id, payload, status," \
	" attempts, next_attempt_at, created_at)" \
	" SELECT e.school_id, e.endpoint_id, $2::text," \
	" 'msg_' || replace(gen_random_uuid()::text, '-', ''), b.payload," \
	" 'pending', 0, $3::timestamptz, $3::timestamptz" \
	" FROM endpoint e CROSS JOIN LATERAL" \
	" (SELECT ($4::text[])[1 + " EVENT_FORMAT_ORD_SQL("e.format") "] AS payload) b" \
	" WHERE e.school_id = $1::bigint AND e.enabled" \
	/* a format the producer did not render: an endpoint newer than its look */ \
	" AND b.payload IS NOT NULL" \
	" AND CASE WHEN $6::bigint IS NOT NULL THEN e.endpoint_id = $6::bigint" \
	" ELSE (cardinality(e.event_types) = 0 OR $2::text = ANY (e.event_types))" \
	" AND ($5::bigint IS NULL OR e.class_id IS NULL OR e.class_id = $5::bigint) END"
/*
 * params[0 .. OUTBOX_NPARAMS - 1] of OUTBOX_INSERT_SQL for ev; they point
 * into ev and into *renderings, which the caller frees after adding the
 * statement.
 */
void outbox_params(const struct outbox_event *ev, const char *params[OUTBOX_NPARAMS],
    char **renderings);

#endif
