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

enum event_format {
	EVENT_FORMAT_JSON = 0,
	EVENT_FORMAT_SLACK,
	EVENT_FORMAT_TEAMS,
};
#define EVENT_NFORMATS 3

/* The event types an endpoint can subscribe to, NULL-terminated. */
extern const char *const event_types[];
/* "json", "slack", "teams", NULL: indexed by enum event_format. */
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
