/*
 * settings.h: a school's settings as every job and page reads them (the
 * batch job, answers, the flag job, the mastery grid, progress): one
 * column list, one parse, one validation against one set of bounds.
 *
 * The bounds below are also what PATCH /v1/school accepts (api/v1.c) and
 * what the school table's CHECK constraints allow (sql/0002, sql/0008, sql/0009;
 * tests/test_migrate holds the two together). A stored value outside them
 * (written by hand past a dropped constraint) is never replaced by a
 * default: settings_parse refuses it, naming the setting, and the caller
 * reports it (settings_warn; an API read answers 500 saying which).
 */
#ifndef RECALLD_SETTINGS_H
#define RECALLD_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "batch.h"
#include "flags.h"
#include "fsrs.h"
#include "mastery.h"

/* Inclusive bounds of each setting. */
#define SETTINGS_PER_DAY_MIN 0			/* max_per_day, new_per_day, min_per_day */
#define SETTINGS_PER_DAY_MAX 50
#define SETTINGS_RETENTION_MIN 0.7		/* desired_retention */
#define SETTINGS_RETENTION_MAX 0.99
#define SETTINGS_INTERVAL_MIN 1			/* max_interval_days */
#define SETTINGS_INTERVAL_MAX 36500
#define SETTINGS_DELAY_MIN 0			/* first_retrieval_delay_days */
#define SETTINGS_DELAY_MAX 60
#define SETTINGS_SHARE_MIN 0			/* every share, coverage and recall threshold */
#define SETTINGS_SHARE_MAX 1
#define SETTINGS_STABILITY_MIN 1		/* mastery_stability_days */
#define SETTINGS_STABILITY_MAX 3650
#define SETTINGS_HORIZON_MIN 1			/* flag_horizon_days, flag_unanswered_days */
#define SETTINGS_HORIZON_MAX 60
#define SETTINGS_EVIDENCE_MIN 1			/* mastery_evidence_days */
#define SETTINGS_EVIDENCE_MAX 200
#define SETTINGS_WEEKDAY_MIN 1			/* digest_weekday (ISO) */
#define SETTINGS_WEEKDAY_MAX 7

/*
 * Whether question q of school s counts: is scheduled, counts in its
 * unit's number of questions for mastery and coverage, and is picked by
 * checks. Self-rated questions count only where the school takes
 * self-ratings, or a unit with some could never reach Secure. One rule,
 * used by every statement that counts or picks questions.
 */
#define SETTINGS_QUESTION_COUNTS(q, s) \
	"(" q ".active AND (" q ".kind <> 'self' OR " s ".self_rating))"

/*
 * The columns of school s that settings_parse reads (SETTINGS_NCOLUMNS of
 * them); now is an SQL expression of the time whose local date is wanted,
 * e.g. "$3" or "x.at".
 */
#define SETTINGS_COLUMNS(now) \
	"s.school_id, s.desired_retention, s.max_interval_days, s.max_per_day," \
	" s.new_per_day, s.first_retrieval_delay_days, s.self_rating," \
	" s.mastery_min_coverage, s.mastery_developing_recall, s.mastery_secure_recall," \
	" s.mastery_secure_share, s.mastery_stability_days, s.mastery_durable_share," \
	" s.flag_recall, s.flag_fallen_share, s.flag_horizon_days," \
	" ((" now "::timestamptz AT TIME ZONE s.tz)::date - date '1970-01-01')," \
	" ((" now "::timestamptz AT TIME ZONE s.tz)::date)::text," \
	" s.flag_unanswered_share, s.flag_unanswered_days, s.mastery_evidence_days," \
	" s.min_per_day, coalesce((SELECT array_to_string(f.weights, ',') FROM school_fsrs f" \
	"   WHERE f.school_id = s.school_id), '')"
#define SETTINGS_NCOLUMNS 23

/*
 * The two windows counted in school days (struct settings' unanswered_from
 * and evidence_from), for the readers that need them (the flag job, the
 * grid, progress): a walk back over the calendar, so not on every answer.
 * settings_parse_windows reads them.
 */
#define SETTINGS_WINDOW_COLUMNS(now) \
	" recalld_school_days_back(s.school_id, (" now "::timestamptz AT TIME ZONE s.tz)::date," \
	"   s.flag_unanswered_days) - date '1970-01-01'," \
	" recalld_school_days_back(s.school_id, (" now "::timestamptz AT TIME ZONE s.tz)::date," \
	"   s.mastery_evidence_days) - date '1970-01-01'"
#define SETTINGS_NWINDOW_COLUMNS 2

struct settings {
	int64_t school_id;
	double desired_retention;
	int32_t max_interval_days;
	/* FSRS-6 weights: the school's adopted or pinned fit, else the defaults. */
	double fsrs_w[FSRS_NPARAMS];
	bool fsrs_fitted;		/* fsrs_w is not the defaults */
	batch_settings batch;		/* per day, first delay; the rest sched's defaults */
	bool self_rating;
	mastery_thresholds mastery;
	flags_thresholds flags;
	int32_t today;			/* day number of now in the school's calendar */
	char local_date[16];		/* the same, YYYY-MM-DD */
	/*
	 * The first of the last flags.unanswered_days school days (the window
	 * of the not-practised rule and of answered_share), and of the last
	 * evidence_days school days: a level whose latest answer came before
	 * evidence_from is stale. Set by settings_parse_windows only.
	 */
	int32_t unanswered_from;
	int32_t evidence_days;
	int32_t evidence_from;
};

/* Why settings_parse refused. */
struct settings_error {
	int64_t school_id;
	const char *field;		/* the column, e.g. "desired_retention" */
	char detail[160];		/* "desired_retention is 0.6, outside [0.7, 0.99]" */
};

/* Parse and check the columns from col on; false with e filled for a refused value. */
bool settings_parse(const PGresult *res, int row, int col, struct settings *out,
    struct settings_error *e) __attribute__((warn_unused_result));

/* The SETTINGS_WINDOW_COLUMNS from col on into s. */
void settings_parse_windows(const PGresult *res, int row, int col, struct settings *s);

/* The school's FSRS model (caller frees). Parsed settings always make one. */
fsrs_model *settings_model_new(const struct settings *s);

/* The one report of a refused setting: a warning of module who. */
void settings_warn(const char *who, const struct settings_error *e);
/*
 * What a caller answers about it ("the school's setting desired_retention
 * is refused (...); it has been logged"); snprintf's return.
 */
int settings_error_text(const struct settings_error *e, char *buf, size_t len);

#endif
