/*
 * answers.h: answers in, with group commit. Answers arriving within a few
 * milliseconds (up to ANSWERS_GROUP_MAX) share one transaction: their
 * pupils are locked (one answer at a time per pupil, across groups and
 * daemons), their prompts and memory states read, graded and run through
 * FSRS-6 in C, and the states, reviews, mastery and feedback events are
 * written back; each answer's callback runs only after the commit. A
 * prompt answered twice records one review and returns the first result.
 */
#ifndef RECALLD_ANSWERS_H
#define RECALLD_ANSWERS_H

#include <stdbool.h>
#include <stdint.h>

#include "db.h"
#include "grade.h"

#define ANSWERS_GROUP_MAX 256

/* NOTIFYed by every commit that records answers (the flag job listens). */
#define ANSWERS_REVIEWS_CHANNEL "recalld_reviews"

typedef struct answers answers;

struct answer_in {
	int64_t school_id;
	int64_t prompt_id;
	struct grade_input in;		/* in.text is copied */
	int64_t answered_at_us;		/* 0: now, from the clock */
};

/*
 * status: 200 recorded (or recorded before: the first result), 404 no such
 * prompt in this school, 410 expired past the late limit, 422 the answer
 * does not fit the question (error says why), 503 database unavailable.
 * result: the feedback JSON (200 only); both strings valid during the call.
 */
/* pupil_id: whose answer it was, 0 when it was refused before that was known. */
typedef void (*answers_cb)(int status, const char *result, const char *error, int64_t pupil_id,
    void *arg);

answers *answers_new(struct event_base *base, db_pool *db, int64_t late_limit_ms,
    int64_t window_ms);
void answers_submit(answers *a, const struct answer_in *in, answers_cb cb, void *arg);
/* Answers queued or in a transaction, for graceful shutdown. */
int answers_pending(const answers *a);
void answers_free(answers *a);

#endif
