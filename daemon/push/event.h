/*
 * event.h: the events recalld pushes by webhook, and their renderings per
 * endpoint format. Pure: no I/O, no libevent; jansson in, JSON text out.
 *
 * json   the generic envelope {"type", "timestamp", "data"}.
 * slack  an incoming-webhook message: "text" (the notification line) and
 *        Block Kit "blocks".
 * teams  a message with one Adaptive Card 1.4 attachment, as the Teams
 *        workflows webhook ("Post to a channel when a webhook request is
 *        received") accepts.
 *
 * prompt.batch is rendered for people in slack and teams (each prompt's
 * text, its choices and its answer link); the other events as a title and
 * the top-level fields of data. The data of prompt.batch:
 *
 *   {"batch_id": 7, "local_date": "2026-09-07", "kind": "daily",
 *    "pupil": {"id": 3, "external_id": "p-17", "given_name": "Ada"},
 *    "prompts": [{"prompt_id": 1, "text": "2 + 2?", "choices": ["3", "4"],
 *                 "answer_url": "https://...", "expires_at": "..."}]}
 */
#ifndef RECALLD_EVENT_H
#define RECALLD_EVENT_H

#include <stdbool.h>

#include <jansson.h>

/*
 * The endpoint formats, the one table of them: X(ID, name, ord, bit) is
 * EVENT_FORMAT_ID = ord, its endpoint.format value, and its bit (1 << ord)
 * in a mask of formats. ord and bit are written out as numbers so the SQL
 * fragments below can carry them; event.c checks they agree.
 */
#define EVENT_FORMAT_TABLE(X) \
	X(JSON, "json", 0, 1) \
	X(SLACK, "slack", 1, 2) \
	X(TEAMS, "teams", 2, 4)

#define EVENT_FORMAT_ENUM_(id, name, ord, bit) EVENT_FORMAT_##id = ord,
enum event_format {
	EVENT_FORMAT_TABLE(EVENT_FORMAT_ENUM_)
};
#define EVENT_FORMAT_COUNT_(id, name, ord, bit) EVENT_FORMAT_COUNT_##id,
enum {
	EVENT_FORMAT_TABLE(EVENT_FORMAT_COUNT_)
	EVENT_NFORMATS		/* the rows of the table */
};

/* The bit of format f in a mask of formats. */
#define EVENT_FORMAT_BIT(f) (1u << (f))

/*
 * SQL expressions over a format column (an SQL expression, "e.format"):
 * its bit, and its ord (0-based, the index of enum event_format).
 */
#define EVENT_FORMAT_WHEN_BIT_(id, name, ord, bit) " WHEN '" name "' THEN " #bit
#define EVENT_FORMAT_BIT_SQL(col) \
	"(CASE " col EVENT_FORMAT_TABLE(EVENT_FORMAT_WHEN_BIT_) " END)"
#define EVENT_FORMAT_WHEN_ORD_(id, name, ord, bit) " WHEN '" name "' THEN " #ord
#define EVENT_FORMAT_ORD_SQL(col) \
	"(CASE " col EVENT_FORMAT_TABLE(EVENT_FORMAT_WHEN_ORD_) " END)"

/* The event types an endpoint can subscribe to, NULL-terminated. */
extern const char *const event_types[];
/* The names of EVENT_FORMAT_TABLE, NULL-terminated: indexed by enum event_format. */
extern const char *const event_format_names[];

/* The test event of POST /v1/endpoints/{id}/test; not subscribable. */
#define EVENT_PING "ping"

bool event_type_known(const char *type);
bool event_format_parse(const char *name, enum event_format *out)
    __attribute__((warn_unused_result));

/*
 * The request body for one endpoint format (malloc'd, compact JSON).
 * timestamp is ISO 8601 from the clock; data is only read.
 */
char *event_render(enum event_format f, const char *type, const char *timestamp,
    const json_t *data);

#endif
