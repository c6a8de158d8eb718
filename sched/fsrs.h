/*
 * fsrs.h: the FSRS-6 memory model, numerically identical to the reference
 * ts-fsrs 5.4 (enable_short_term = false). Pure C: no I/O, no globals,
 * no allocation in the per-review path. Depends on libm only.
 */
#ifndef RECALLD_FSRS_H
#define RECALLD_FSRS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FSRS_NPARAMS 21

typedef enum {
	FSRS_AGAIN = 1,
	FSRS_HARD = 2,
	FSRS_GOOD = 3,
	FSRS_EASY = 4,
} fsrs_rating;

/*
 * Memory state of one pupil x question. A plain value the caller stores
 * (in PostgreSQL, in a replay table); reps == 0 means never reviewed, and
 * then stability and difficulty are 0.
 */
typedef struct fsrs_state {
	double stability;	/* days */
	double difficulty;	/* 1..10 */
	uint32_t reps;
	uint32_t lapses;
} fsrs_state;

/* Parameters plus constants derived from them; opaque, immutable once made. */
typedef struct fsrs_model fsrs_model;

/* The 21 FSRS-6 default parameters of the reference. */
const double *fsrs_default_params(void);

/*
 * Make a model. w: FSRS_NPARAMS values, or NULL for the defaults; each must
 * be finite and inside the reference's clamp range (see fsrs_params_from).
 * retention: desired retention in (0, 1). max_interval_days >= 1.
 * Returns NULL with a message in err (when given) if anything is out of
 * range. Free with fsrs_model_free.
 */
fsrs_model *fsrs_model_new(const double *w, double retention,
    int max_interval_days, char *err, size_t errlen)
    __attribute__((warn_unused_result));
void fsrs_model_free(fsrs_model *m);

/*
 * Predicted probability of recall after elapsed_days with this stability:
 * the reference's forgetting curve, rounded to 8 decimals as it rounds it.
 * 0 for a stability <= 0 (never reviewed); negative days count as 0.
 */
double fsrs_retrievability(const fsrs_model *m, double stability,
    double elapsed_days);

/*
 * Interval in whole days for a stability at the model's retention, rounded
 * and clamped to 1..max_interval as the reference does.
 */
uint32_t fsrs_interval(const fsrs_model *m, double stability);

/*
 * Apply one review to *st in place. elapsed_days counts whole days since the
 * previous review (ignored for a state with reps == 0). Writes the interval
 * until the next review to *interval_days when not NULL.
 *
 * As the reference with enable_short_term = false: a same-day review
 * (elapsed_days 0) is an ordinary review at R = 1, so a success leaves the
 * stability as it is and moves only the difficulty. The intervals of the
 * four ratings are put in order, each at least a day more than the one
 * below (Again < Hard < Good < Easy); that order wins over the maximum
 * interval, which Hard, Good and Easy can then pass by up to 1, 2 and 3
 * days.
 */
void fsrs_review(const fsrs_model *m, fsrs_state *st, uint32_t elapsed_days,
    fsrs_rating rating, uint32_t *interval_days);

/*
 * Check n parameter values and turn them into the FSRS_NPARAMS values of
 * FSRS-6 in w: 21 values as they are, or the 17 (FSRS-4.5) or 19 (FSRS-5)
 * of older fits migrated as the reference migrates them. Rejects a wrong
 * count, a non-finite value or a value outside the reference's clamp range
 * (the reference clips silently; a school should hear about it instead).
 */
bool fsrs_params_from(const double *v, size_t n, double w[FSRS_NPARAMS],
    char *err, size_t errlen) __attribute__((warn_unused_result));

/* The clamp range of parameter i (0 <= i < FSRS_NPARAMS) as the reference
 * clips it; a fitter keeps every weight inside it. */
void fsrs_param_bounds(int i, double *lo, double *hi);

/* The same from text: numbers separated by commas (spaces allowed). */
bool fsrs_params_parse(const char *s, double w[FSRS_NPARAMS], char *err,
    size_t errlen) __attribute__((warn_unused_result));

/* The model's parameters (FSRS_NPARAMS values), retention, maximum interval. */
const double *fsrs_model_params(const fsrs_model *m);
double fsrs_model_retention(const fsrs_model *m);
uint32_t fsrs_model_max_interval(const fsrs_model *m);

/*
 * Whole UTC calendar days from one Unix time to a later one, as ts-fsrs
 * counts the elapsed days of a review (23:59 to 00:01 the next day is 1).
 * Negative when to is on an earlier date.
 */
int64_t fsrs_utc_day_diff(int64_t from_unix, int64_t to_unix);

/*
 * The reference's fuzz range for an interval (get_fuzz_range): intervals of
 * 3 days and more spread by 15% (2.5-7 days), 10% (7-20) and 5% (beyond),
 * never below 2, never above the maximum interval, and past elapsed_days
 * when the interval is.
 */
void fsrs_fuzz_range(const fsrs_model *m, uint32_t interval,
    uint32_t elapsed_days, uint32_t *min_ivl, uint32_t *max_ivl);

/*
 * Fuzz an interval: a value of fsrs_fuzz_range drawn uniformly with a
 * caller-supplied seed (the same seed gives the same interval). Intervals
 * below 3 days come back unchanged, as in the reference.
 */
uint32_t fsrs_fuzz_interval(const fsrs_model *m, uint32_t interval,
    uint32_t elapsed_days, uint64_t seed);

/*
 * fsrs_review with the reference's fuzz (enable_fuzz): every rating's
 * interval is fuzzed with the same draw from seed before they are put in
 * order, as ts-fsrs does. The state update is the same as fsrs_review.
 */
void fsrs_review_fuzzed(const fsrs_model *m, fsrs_state *st,
    uint32_t elapsed_days, fsrs_rating rating, uint64_t seed,
    uint32_t *interval_days);

#endif
