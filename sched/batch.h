/*
 * batch.h: one pupil's daily batch of retrieval prompts.
 *
 * Pure C: no I/O, no globals, deterministic. The daemon feeds the pupil's
 * candidates straight from SQL (one row per question of a taught unit) and
 * gets back the questions to prompt, in order, each with why it was chosen.
 *
 * Days are integer day numbers: days since 1970-01-01 in the school's local
 * calendar, so SQL can compute them with AT TIME ZONE and date arithmetic.
 *
 * Rules, applied in this order of priority:
 *   1. exam: a reviewed question of a course whose exam day is within the
 *      next exam_window_days (today <= exam_day <= today + window) and that
 *      was last reviewed before the window opened (exam_day - window), due
 *      or not: that is how intervals get capped before an exam;
 *   2. due: a reviewed question with due_day <= today;
 *   3. new: an unseen question (reps == 0) whose unit was taught at least
 *      first_retrieval_delay_days ago; at most new_per_day of them.
 * Exam and due questions go by lowest predicted recall first; new ones by
 * unit taught day, then question order, then question id. Remaining ties go
 * by question id, then candidate index. Not-due questions are never picked
 * except by the exam rule.
 *   4. early: when rules 1-3 give fewer than min_per_day prompts, the
 *      batch is topped up to min_per_day with the pupil's other taught
 *      questions, lowest predicted recall first: reviewed ones not due
 *      (nor reviewed today; reason early) and new ones past their delay
 *      that new_per_day left out (recall 0, so first; reason new). A daily
 *      habit on days nothing is due. An early review is sound for FSRS-6, which updates
 *      a memory state with the real elapsed time, so a remembered
 *      question's interval still grows, only by less.
 * At most max_per_day prompts, and no unit gets more than
 * ceil(max_per_day / 2) unless nothing else is left to fill the batch.
 * The picks are then interleaved: each next prompt is the highest-priority
 * remaining one from a different unit than the one before, when there is one.
 */
#ifndef RECALLD_BATCH_H
#define RECALLD_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fsrs.h"

/* "No day": a unit not taught, a course without an exam. */
#define BATCH_NO_DAY INT32_MIN

typedef struct batch_settings {
	uint32_t max_per_day;		/* prompts per batch; 0 = no batch */
	uint32_t new_per_day;		/* first retrievals per batch */
	uint32_t min_per_day;		/* top-up floor (rule 4); 0 = none */
	int32_t first_retrieval_delay_days; /* days after the taught day */
	int32_t exam_window_days;	/* exam rule starts this long before */
} batch_settings;

/* max 5, new 2, min 0, delay 1, exam window 42 days. */
batch_settings batch_settings_default(void);

/* Settings a school may save: delay and window >= 0. */
bool batch_settings_valid(const batch_settings *s, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/*
 * One question of a taught unit for this pupil. state.reps == 0 means the
 * pupil has never reviewed it (a new question); then last_review_day and
 * due_day are ignored. A plain value: the caller fills an array of them.
 */
typedef struct batch_candidate {
	int64_t question_id;
	int64_t unit_id;
	int64_t course_id;
	fsrs_state state;
	int32_t last_review_day;	/* reviewed questions */
	int32_t due_day;		/* reviewed questions */
	int32_t taught_day;		/* the unit's, or BATCH_NO_DAY */
	int32_t question_order;		/* position in the unit */
	int32_t exam_day;		/* course's next exam or BATCH_NO_DAY */
} batch_candidate;

typedef enum {
	BATCH_DUE = 1,
	BATCH_NEW = 2,
	BATCH_EXAM = 3,
	BATCH_EARLY = 4,
} batch_reason;

/* One chosen prompt. */
typedef struct batch_pick {
	uint32_t index;			/* into the candidate array */
	int64_t question_id;
	batch_reason reason;
	double recall;			/* predicted on the day; new: 0 */
} batch_pick;

/* "due", "new", "exam", "early"; "?" for anything else. */
const char *batch_reason_name(batch_reason r);

/*
 * Scratch space reused across pupils so the per-pupil path does not
 * allocate once it has grown to the largest candidate list seen.
 * Not thread-safe: one selector per thread.
 */
typedef struct batch_selector batch_selector;

batch_selector *batch_selector_new(void) __attribute__((warn_unused_result));
void batch_selector_free(batch_selector *s);

/*
 * Choose today's batch from the n candidates into out (capacity out_cap;
 * the batch is at most min(max_per_day, out_cap) long) and its length into
 * *n_out. Returns false, with *n_out = 0, only when the scratch space cannot
 * grow (out of memory), n does not fit in uint32_t, or arguments are NULL.
 */
bool batch_select(batch_selector *s, const fsrs_model *m,
    const batch_settings *set, int32_t today,
    const batch_candidate *cand, size_t n,
    batch_pick *out, size_t out_cap, size_t *n_out)
    __attribute__((warn_unused_result));

#endif
