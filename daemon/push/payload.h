/*
 * payload.h: the data object of each event type, built in one place, so
 * every producer of a type sends the same shape (the envelope and the
 * renderings are push.h's). Each builder returns a new reference.
 */
#ifndef RECALLD_PAYLOAD_H
#define RECALLD_PAYLOAD_H

#include <stdint.h>

#include <jansson.h>

#include "flags.h"
#include "mastery.h"

/* A unit as events name it. */
struct payload_unit {
	int64_t id;
	const char *name;
};

/* ---- mastery.changed (answers, and the flag job where forgetting moved a level) ---- */

struct payload_mastery {
	int64_t school_id, pupil_id;
	const char *external_id;	/* the pupil's */
	struct payload_unit unit;
	mastery_level from, to;
	const char *next;		/* what the next level needs (mastery_next_render) */
};
json_t *payload_mastery_changed(const struct payload_mastery *m);

/* ---- response.feedback ---- */

/* feedback: the answer's feedback JSON text, as the API answered it. */
json_t *payload_response_feedback(int64_t school_id, int64_t pupil_id, const char *external_id,
    const char *feedback);

/* ---- topic.flagged, digest.teacher ---- */

/* A class as events name it. */
struct payload_class {
	int64_t id;
	const char *name;
};

/*
 * A new or worse flag of the class x unit; previous: the flag stored before;
 * t: the thresholds it was assessed with (the numbers behind its reasons).
 */
json_t *payload_topic_flagged(int64_t school_id, const struct payload_class *k,
    const struct payload_unit *u, const flags_result *res, const flags_thresholds *t,
    flags_status previous);

/*
 * A class's weekly digest: new, then one payload_digest_add_unit per taught
 * unit (its flag, if any, and how many pupils are at each level).
 */
json_t *payload_digest_new(int64_t school_id, const struct payload_class *k, const char *week,
    const char *local_date, size_t pupils);
void payload_digest_add_unit(json_t *digest, const struct payload_unit *u, const char *taught_on,
    const flags_result *res, const flags_thresholds *t, const uint32_t levels[MASTERY_NLEVELS]);

/* ---- prompt.batch ---- */

struct payload_batch {
	int64_t school_id, batch_id;
	const char *kind;		/* "daily", "diagnostic", "recheck" */
	int64_t pupil_id;
	const char *external_id;	/* the pupil's */
	int64_t class_id;		/* 0: none (a daily batch) */
	const char *local_date, *expires_at;
	const char *progress_url;	/* the pupil's own page; NULL: none */
};
json_t *payload_batch_new(const struct payload_batch *b);

struct payload_prompt {
	int64_t prompt_id, question_id;
	struct payload_unit unit;
	const char *kind, *text;
	const char *choices;		/* an mcq's choices, JSON array text; NULL otherwise */
	const char *answer_url;		/* NULL: none */
};
void payload_batch_add_prompt(json_t *batch, const struct payload_prompt *p);

#endif
