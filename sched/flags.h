/*
 * flags.h: forgotten and at-risk topics per class x taught unit
 * from the pupils' unit summaries now and horizon days
 * ahead (the daemon runs mastery_assess at both days).
 *
 * Pure C: no I/O, no globals, no allocation, deterministic.
 *
 * Forgotten at a day when either
 *   - low class recall: the class mean predicted recall < recall, where the
 *     class mean is over pupils with evidence (at least one reviewed
 *     question) of their mean recall over reviewed questions. Questions not
 *     yet introduced are not forgetting, so they do not count; otherwise
 *     every freshly taught unit would be flagged until fully introduced;
 *   - fallen: the share of the class's pupils whose previous level was
 *     Secure or Mastery and whose level is now below is >= fallen_share.
 * At risk when not forgotten now but forgotten at today + horizon_days,
 * with each pupil as they will stand then: one still practising
 * (flags_practising) taken to answer every review on its due day
 * (mastery_project_practised), one who stopped taken to answer nothing.
 * So a unit a class keeps practising is not at risk for being new, and a
 * class that stops is warned a horizon before it falls.
 *
 * Not practised when at least unanswered_share of the class's pupils (and
 * at least one) have left the unit's prompts unanswered for
 * unanswered_days school days (flags_pupil_unanswered). The model alone
 * cannot see this: FSRS predicts slow forgetting of a well-learnt unit, so
 * a class that stopped answering would look Secure on no evidence at all.
 * It ranks above at risk and below forgotten; its reason, "unanswered",
 * is given beside low_recall or fallen when those hold too.
 */
#ifndef RECALLD_FLAGS_H
#define RECALLD_FLAGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mastery.h"

typedef enum {
	FLAG_NONE = 0,
	FLAG_AT_RISK = 1,
	FLAG_NOT_PRACTISED = 2,
	FLAG_FORGOTTEN = 3,		/* ordered: higher is worse */
} flags_status;

/* Why, as bits: for at risk, what will hold at the horizon. */
enum {
	FLAG_REASON_LOW_RECALL = 1u << 0,
	FLAG_REASON_FALLEN = 1u << 1,
	FLAG_REASON_UNANSWERED = 1u << 2,
};
#define FLAG_REASONS_ALL (FLAG_REASON_LOW_RECALL | FLAG_REASON_FALLEN | FLAG_REASON_UNANSWERED)

typedef struct flags_thresholds {
	double recall;			/* class mean recall below: 0.7 */
	double fallen_share;		/* share of pupils fallen: 0.3 */
	int32_t horizon_days;		/* "ahead" is today + this: 7 */
	double unanswered_share;	/* share of pupils not practising: 0.5 */
	int32_t unanswered_days;	/* school days without an answer: 10 */
} flags_thresholds;

flags_thresholds flags_thresholds_default(void);

/* recall and the shares in [0, 1], horizon_days and unanswered_days >= 1. */
bool flags_thresholds_valid(const flags_thresholds *t, char *err,
    size_t errlen) __attribute__((warn_unused_result));

/*
 * One pupil of the class for this unit. previous is the level a fall is
 * measured from: the daemon should pass the highest level in the pupil's
 * mastery history since the unit was taught, so a pupil keeps counting as
 * fallen until they regain Secure (passing yesterday's level would count
 * a fall for one day only).
 */
typedef struct flags_pupil {
	mastery_level previous;
	mastery_level now;
	mastery_level ahead;
	double recall_now;		/* mean over reviewed questions */
	double recall_ahead;
	bool evidence;			/* reviewed at least one question */
	bool unanswered;		/* flags_pupil_unanswered */
} flags_pupil;

/*
 * What the daemon knows of one pupil's answers on one unit, in day numbers
 * of the school's calendar.
 */
typedef struct flags_answers {
	int32_t last_answered_day;	/* latest answer on the unit; INT32_MIN none */
	int32_t taught_day;		/* the unit's, for a pupil who never answered */
	int32_t window_start;		/* the first of the last unanswered_days school days */
	uint32_t missed;		/* prompts of the unit expired unanswered since
					   the later of the two days above */
} flags_answers;

/*
 * Whether the pupil has left the unit's prompts unanswered for
 * unanswered_days school days: at least one prompt of it went unanswered,
 * and their latest answer on it (the taught day when there is none) came
 * before the window of the last unanswered_days school days. A pupil who
 * was simply not asked (a long interval) is not counted: nothing was left.
 */
bool flags_pupil_unanswered(const flags_answers *a);

/*
 * Whether a pupil whose latest review was on last_review_day (any unit of
 * the class; INT32_MIN for none) is still practising at today: a review
 * within the last horizon_days.
 */
bool flags_practising(const flags_thresholds *t, int32_t last_review_day, int32_t today);

/* Fill a flags_pupil from two mastery results (now and at the horizon). */
flags_pupil flags_pupil_from_mastery(mastery_level previous,
    const mastery_result *now, const mastery_result *ahead);

/* The flag as stored for this class x unit; FLAG_NONE when there is none. */
typedef struct flags_state {
	flags_status status;
	int32_t since_day;
} flags_state;

typedef struct flags_result {
	flags_status status;
	unsigned reasons;		/* FLAG_REASON_* */
	uint32_t n_pupils;
	uint32_t n_evidence;		/* pupils in the class mean */
	uint32_t n_concerned;		/* see flags_assess */
	uint32_t n_fallen;		/* now (at the horizon when at risk) */
	uint32_t n_unanswered;		/* pupils not practising, now */
	double mean_recall;		/* class mean now; 0 without evidence */
	double mean_recall_ahead;
	int32_t since_day;		/* day number; meaningless if NONE */
} flags_result;

/*
 * Flag one class x unit at today from its n pupils (NULL when n == 0).
 * prev: the stored flag, or NULL for none. t must be valid.
 * since_day: a flag the same as or worse than prev keeps prev's since_day;
 * a new flag, or one that got better (forgotten -> at risk), starts today;
 * FLAG_NONE clears it (since_day = today, to be ignored).
 * n_concerned counts the pupils behind the flag at the day it is about
 * (today when forgotten, the horizon when at risk): those with evidence
 * whose own recall is below the threshold, plus those fallen, plus (from
 * not practised up) those not practising: the pupils flags_pupil_behind
 * names. An empty
 * class, or one where no pupil has evidence and none has fallen, is never
 * flagged.
 */
void flags_assess(const flags_thresholds *t, const flags_pupil *pupils,
    size_t n, int32_t today, const flags_state *prev, flags_result *out);

/*
 * Whether one pupil is behind a flag (counted in n_concerned): fallen, or
 * with evidence and their own recall below the threshold; at the horizon
 * when ahead (an at-risk flag), else today. For a not-practised flag
 * (status), those not practising are behind it too.
 */
bool flags_pupil_concerned(const flags_thresholds *t, const flags_pupil *p, bool ahead);
bool flags_pupil_behind(const flags_thresholds *t, const flags_pupil *p, flags_status status);

/* "none", "at_risk", "not_practised", "forgotten"; "?" otherwise. */
const char *flags_status_name(flags_status s);
/* The inverse, for statuses read back from SQL. */
bool flags_status_parse(const char *name, flags_status *out)
    __attribute__((warn_unused_result));

/* One reason bit's name: "low_recall", "fallen", "unanswered"; NULL for anything else. */
const char *flags_reason_name(unsigned reason);
/* The inverse: one name to its bit. */
bool flags_reason_parse(const char *name, unsigned *out)
    __attribute__((warn_unused_result));
/*
 * The reasons as a JSON array of their names, lowest bit first, e.g.
 * ["low_recall","fallen"] (unknown bits left out) into buf. Returns what
 * snprintf returns: >= len means it was cut short.
 */
int flags_reasons_json(unsigned reasons, char *buf, size_t len);

#endif
