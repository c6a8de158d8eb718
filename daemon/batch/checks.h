/*
 * checks.h: checks on demand. A teacher pushes an extra
 * batch now to every active pupil of a class, on one unit, up to the
 * school's max_per_day questions each (5 when the school's is 0):
 *
 *   diagnostic  before teaching (the unit need not be taught): questions
 *               spread evenly over the unit, each pupil's set shifted so
 *               the class covers more of it;
 *   recheck     after re-teaching a flagged unit: parallel questions first
 *               (reviewed, and not missed in the pupil's last
 *               CHECKS_RECENT_REVIEWS reviews of it; lowest predicted recall
 *               first), then unseen ones, then the missed ones.
 *
 * The batches (kind diagnostic or recheck, beside any daily one), their
 * prompts and prompt.batch deliveries with answer links are written in one
 * transaction (batches.h). Answers come back through POST /v1/responses
 * like any others.
 */
#ifndef RECALLD_CHECKS_H
#define RECALLD_CHECKS_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "batches_writer.h"

#define CHECKS_RECENT_REVIEWS 2

typedef struct checks checks;

enum checks_kind {
	CHECKS_DIAGNOSTIC = 1,
	CHECKS_RECHECK = 2,
};

/* "diagnostic", "recheck" */
const char *checks_kind_name(enum checks_kind k);
bool checks_kind_parse(const char *s, enum checks_kind *out)
    __attribute__((warn_unused_result));

struct checks_request {
	int64_t school_id;
	int64_t class_id;
	int64_t unit_id;
	int64_t teacher_id;	/* > 0: only a class this teacher teaches */
	enum checks_kind kind;
};

/*
 * status 201: pushed, body says what (the counts); 404: no such class
 * (or not the teacher's) or unit in the school; 422: the check cannot be
 * made: field ("class_id", "unit_id") and detail say why; 503: database
 * unavailable; 500 otherwise. body, field and detail are valid during the
 * call only (NULL when they do not apply).
 */
typedef void (*checks_cb)(int status, const json_t *body, const char *field,
    const char *detail, void *arg);

checks *checks_new(db_pool *db, batches_writer_link_fn link, void *link_arg);
void checks_push(checks *ck, const struct checks_request *rq, checks_cb cb, void *arg);
/* Checks being pushed. */
int checks_pending(const checks *ck);
/* Checks still being pushed are dropped without their callbacks. */
void checks_free(checks *ck);

#endif
