/*
 * flagjob.h: the flag job, and the class snapshot it shares with the
 * teachers' mastery grid (api/teachers.c).
 *
 * The job runs on a timer (flags.interval), whenever the manual clock
 * moves, and flags.debounce after answers (it LISTENs on the outbox
 * channel that every answer's transaction notifies; such a run visits only
 * the schools with reviews it has not seen). It takes one school at a time
 * under a lease and, one class at a time in a REPEATABLE READ transaction
 * (a concurrent answer makes it retry the class):
 *
 *  - assesses every active pupil x taught unit with sched/mastery at the
 *    school's local today and at today + flag_horizon_days;
 *  - refreshes the stored mastery level where forgetting moved it
 *    (mastery_history and a mastery.changed event);
 *  - flags the class x unit with sched/flags (thresholds from the school)
 *    and stores the flag (since carried while it holds or worsens); a new
 *    or worse flag queues a topic.flagged event;
 *  - on the school's digest_weekday, from its prompt_time, queues the
 *    class's digest.teacher once per ISO week (class_digest remembers it).
 *
 * Everything of a class commits together with its events, or nothing does.
 */
#ifndef RECALLD_FLAGJOB_H
#define RECALLD_FLAGJOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "db.h"
#include "flags.h"
#include "fsrs.h"
#include "mastery.h"

struct app;
typedef struct flagjob flagjob;

flagjob *flagjob_new(struct app *app, int64_t interval_ms, int64_t debounce_ms);
/* Run now over every school (again after the current run, if one is going). */
void flagjob_kick(flagjob *f);
/* Answers came in: a run over the schools with new reviews, debounce_ms from now. */
void flagjob_kick_answers(flagjob *f);
/* No new runs; the current class finishes. */
void flagjob_stop(flagjob *f);
/* A run is going (or asked for and about to start). */
bool flagjob_busy(const flagjob *f);
/* Call before db_pool_free, without running the loop in between (LISTEN). */
void flagjob_free(flagjob *f);

/*
 * Whether question q of school s counts: is scheduled, counts in its
 * unit's number of questions for mastery and coverage, and is picked by
 * checks. Self-rated questions count only where the school takes
 * self-ratings, or a unit with some could never reach Secure. One rule,
 * used by every statement that counts or picks questions.
 */
#define QUESTION_COUNTS(q, s) \
	"(" q ".active AND (" q ".kind <> 'self' OR " s ".self_rating))"

/* ---- a school's settings, as the job and the grid read them ---- */

/*
 * The columns of school s that flagjob_school_parse reads (13 of them);
 * now is the placeholder of the clock's time, e.g. "$3".
 */
#define FLAGJOB_SCHOOL_COLUMNS(now) \
	"s.desired_retention, s.max_interval_days, s.mastery_min_coverage," \
	" s.mastery_developing_recall, s.mastery_secure_recall, s.mastery_secure_share," \
	" s.mastery_stability_days, s.mastery_durable_share, s.flag_recall," \
	" s.flag_fallen_share, s.flag_horizon_days," \
	" ((" now "::timestamptz AT TIME ZONE s.tz)::date - date '1970-01-01')," \
	" ((" now "::timestamptz AT TIME ZONE s.tz)::date)::text"
#define FLAGJOB_SCHOOL_NCOLUMNS 13

struct flagjob_school {
	fsrs_model *model;		/* the school's retention and maximum interval */
	mastery_thresholds mastery;
	flags_thresholds flags;
	int32_t today;			/* day number in the school's calendar */
	char local_date[16];		/* today, YYYY-MM-DD */
};

/* Parse the columns from col on; false (err says why) for settings sched refuses. */
bool flagjob_school_parse(const PGresult *res, int row, int col, struct flagjob_school *out,
    char *err, size_t errlen) __attribute__((warn_unused_result));
void flagjob_school_clear(struct flagjob_school *s);

/* ---- a class's taught units, pupils and memory states ---- */

struct flagjob_unit {
	int64_t id;
	char *name;
	char taught_on[16];		/* YYYY-MM-DD */
	int32_t taught_day;
	uint32_t n_questions;		/* active ones */
	flags_status flag;		/* as stored; FLAG_NONE without a row */
	int32_t flag_since;		/* day number; stored flags only */
};

struct flagjob_pupil {
	int64_t id;
	char *external_id;
	char *given_name, *family_name;	/* NULL when not stored */
};

typedef struct flagjob_class flagjob_class;

/* The statements flagjob_class_parse reads, added to r (school, class: decimal). */
#define FLAGJOB_CLASS_STATEMENTS 4
void flagjob_class_sql(db_req *r, const char *school, const char *class_id);
/* res: the FLAGJOB_CLASS_STATEMENTS results, in order. */
flagjob_class *flagjob_class_parse(PGresult *const *res);
void flagjob_class_free(flagjob_class *k);

size_t flagjob_class_nunits(const flagjob_class *k);
size_t flagjob_class_npupils(const flagjob_class *k);
const struct flagjob_unit *flagjob_class_unit(const flagjob_class *k, size_t u);
const struct flagjob_pupil *flagjob_class_pupil(const flagjob_class *k, size_t p);
/*
 * The stored mastery level of pupil p for unit u, and the highest level of
 * their mastery history since the unit was taught; -1 for none.
 */
int flagjob_class_level(const flagjob_class *k, size_t u, size_t p);
int flagjob_class_high(const flagjob_class *k, size_t u, size_t p);
/* Assess pupil p on unit u at day from the memory states read. */
void flagjob_class_assess(flagjob_class *k, size_t u, size_t p, const fsrs_model *m,
    const mastery_thresholds *t, int32_t day, mastery_result *out);
/*
 * Assess pupil p on unit u at the flags' horizon, as the pupil will stand
 * then (sched/flags.h): still practising, or stopped.
 */
void flagjob_class_assess_ahead(flagjob_class *k, size_t u, size_t p,
    const struct flagjob_school *set, mastery_result *out);

/* The reasons of a flag as a JSON array: "low_recall", "fallen". */
json_t *flagjob_reasons_json(unsigned reasons);

#endif
