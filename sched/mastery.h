/*
 * mastery.h: a pupil's level for one unit, from the memory states of the
 * unit's questions, and what the next level needs.
 *
 * Pure C: no I/O, no globals, no allocation, deterministic.
 *
 * "Recall" is the model's predicted probability of recall at the given day,
 * not the share of past answers right; an unseen question counts as 0.
 * Levels are cumulative, each needs the one below:
 *   Emerging    little evidence (coverage < min_coverage) or mean recall
 *               < developing_recall;
 *   Developing  coverage >= min_coverage and mean recall >= developing_recall;
 *   Secure      and recall >= secure_recall on >= secure_share of the
 *               questions;
 *   Mastery     and stability >= durable_days on >= durable_share of them.
 * An empty unit is Emerging. All comparisons are inclusive (>=).
 */
#ifndef RECALLD_MASTERY_H
#define RECALLD_MASTERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fsrs.h"

typedef enum {
	MASTERY_EMERGING = 0,
	MASTERY_DEVELOPING = 1,
	MASTERY_SECURE = 2,
	MASTERY_MASTERY = 3,
} mastery_level;

/* How many levels there are: count per level in arrays of this size. */
#define MASTERY_NLEVELS (MASTERY_MASTERY + 1)

typedef struct mastery_thresholds {
	double min_coverage;		/* share of questions reviewed; 0.5 */
	double developing_recall;	/* mean recall; 0.5 */
	double secure_recall;		/* per question; 0.8 */
	double secure_share;		/* of the questions; 0.8 */
	double durable_days;		/* stability; 30 */
	double durable_share;		/* of the questions; 0.8 */
} mastery_thresholds;

mastery_thresholds mastery_thresholds_default(void);

/* Shares and recalls in [0, 1], durable_days > 0. */
bool mastery_thresholds_valid(const mastery_thresholds *t, char *err,
    size_t errlen) __attribute__((warn_unused_result));

/* One question of the unit for this pupil; state.reps == 0: unseen. */
typedef struct mastery_item {
	fsrs_state state;
	int32_t last_review_day;	/* day number, as in batch.h */
} mastery_item;

/* What the next level needs, as data a feedback message can render. */
typedef enum {
	MASTERY_NEED_NONE = 0,		/* at Mastery: keep it */
	MASTERY_NEED_QUESTIONS,		/* the unit has no questions yet */
	MASTERY_NEED_CORRECT,		/* count more answered correctly */
	MASTERY_NEED_SPACED,		/* count more recalled after gap_days */
} mastery_need_kind;

typedef struct mastery_next {
	mastery_level target;		/* next level; Mastery at the top */
	mastery_need_kind kind;
	uint32_t count;
	uint32_t gap_days;		/* MASTERY_NEED_SPACED only */
} mastery_next;

typedef struct mastery_result {
	mastery_level level;
	uint32_t n_questions;
	uint32_t n_reviewed;
	uint32_t n_secure;		/* recall >= secure_recall */
	uint32_t n_durable;		/* stability >= durable_days */
	double coverage;		/* n_reviewed / n_questions */
	double mean_recall;		/* over all questions, unseen = 0 */
	double mean_recall_seen;	/* over reviewed ones; 0 if none */
	double share_secure;
	double share_durable;
	mastery_next next;
} mastery_result;

/*
 * Assess the n items at day. t must be valid (mastery_thresholds_valid);
 * items may be NULL when n == 0.
 */
void mastery_assess(const fsrs_model *m, const mastery_thresholds *t,
    const mastery_item *items, size_t n, int32_t day, mastery_result *out);

/*
 * The items as they will stand at day until for a pupil who keeps
 * practising from day from: each reviewed item is reviewed again on its
 * due day (the interval of its stability under m; from, if that is past)
 * and recalled (Good), until a review day passes until. Unseen items
 * (reps == 0) stay unseen. For at-risk flags: projected without reviews,
 * every unit taught a few days ago would look about to be forgotten,
 * practised daily or not.
 */
void mastery_project_practised(const fsrs_model *m, mastery_item *items, size_t n,
    int32_t from, int32_t until);

/* "emerging", "developing", "secure", "mastery"; "?" otherwise. */
const char *mastery_level_name(mastery_level l);
/* The inverse, for levels read back from SQL. */
bool mastery_level_parse(const char *name, mastery_level *out)
    __attribute__((warn_unused_result));

/*
 * Render next as an English phrase into buf, e.g. "2 more questions
 * recalled after a gap of 30 days". Returns what snprintf returns: the
 * length it needed, so >= len means it was cut short.
 */
int mastery_next_render(const mastery_next *next, char *buf, size_t len);

/*
 * What a level means, in words a pupil can act on, from the school's
 * thresholds (e.g. Secure: "You would get at least 8 in 10 of this unit's
 * questions right today, ..."): the school-wide descriptor a unit's own
 * (written by its teacher) may add to. snprintf's return.
 */
int mastery_level_describe(mastery_level l, const mastery_thresholds *t, char *buf,
    size_t len);

#endif
