/*
 * fit.h: fitting FSRS-6's weights to a school's own review histories, and
 * measuring how well a set of weights predicts them. Pure C (libm only),
 * deterministic for a given input and seed.
 *
 * The model fitted is the one recalld schedules with (fsrs.h: ts-fsrs with
 * short-term scheduling off), without the reference's 8-decimal rounding,
 * which has no derivative: a same-day review updates the state as the
 * scheduler does (R = 1) but is left out of the loss, because a prediction
 * of exactly 1 says nothing a gradient could use; w17..w19 (short-term
 * weights) are unused by that model and stay as given.
 *
 * Method, as the fsrs-rs optimizer: the four initial stabilities are first
 * fitted from each first rating's second reviews; then Adam over mini-batches
 * of cards (cosine-annealed rate) minimises the log loss of every
 * predictable review, later reviews weighted more, plus a penalty that
 * keeps weights near their start when reviews are few, clipping every
 * weight into its clamp range after each step. Gradients are exact: the
 * derivative of the memory state with respect to all 21 weights is carried
 * forward through each card's reviews (forward mode, by hand).
 */
#ifndef RECALLD_FIT_H
#define RECALLD_FIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fsrs.h"

/* Review histories: cards, each an ordered list of reviews. Opaque. */
typedef struct fit_data fit_data;

fit_data *fit_data_new(void) __attribute__((warn_unused_result));
void fit_data_free(fit_data *d);

/*
 * Start a new card; the reviews added next belong to it. Returns false
 * when out of memory.
 */
bool fit_data_card(fit_data *d) __attribute__((warn_unused_result));

/*
 * Add a review to the current card. delta_days: whole days since the card's
 * previous review (ignored for its first). rating 1..4, or 0 for a last
 * review whose outcome is known but not its rating (the seq2seq format).
 * recalled: the outcome (1 or 0; a rating > 1 is a recall). key: when it
 * happened, in any unit that orders reviews in time (Unix seconds, or a
 * card's rank); never smaller than the card's previous review's key.
 * Returns false with a message in err on out-of-order input or memory.
 */
bool fit_data_review(fit_data *d, uint32_t delta_days, int rating,
    bool recalled, int64_t key, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Cards, reviews, and predictable reviews (not first, not same-day). */
size_t fit_data_cards(const fit_data *d);
size_t fit_data_reviews(const fit_data *d);
size_t fit_data_items(const fit_data *d, int64_t from_key, int64_t to_key);

/*
 * The key at which a time-series split leaves about share (0..1) of the
 * predictable reviews before it: train on keys < the result, evaluate on
 * keys >= it.
 */
int64_t fit_data_split_key(const fit_data *d, double share);

typedef struct fit_opts {
	uint64_t seed;		/* card order of each epoch */
	int epochs;		/* 5 */
	size_t batch_items;	/* predictable reviews a step, 512 */
	double learning_rate;	/* 0.04, cosine-annealed to 0 */
	double gamma;		/* weight of the penalty, 1 */
	int64_t train_before;	/* reviews with key < this are fitted */
	bool recency;		/* weigh later reviews more (true) */
	bool hold_decay;	/* keep w20 (the forgetting curve's shape) as
				 * start has it: a course's fit beside its
				 * school's predicts recall the same way */
} fit_opts;

void fit_opts_init(fit_opts *o);

/*
 * Fit. start: the weights to begin from and to keep near (NULL: the
 * defaults). Writes the fitted weights to w_out; false with a message when
 * there is nothing to fit (no predictable review before train_before).
 */
bool fit_run(const fit_data *d, const double *start, const fit_opts *o,
    double w_out[FSRS_NPARAMS], char *err, size_t errlen)
    __attribute__((warn_unused_result));

/*
 * The summed log loss of the predictable reviews with key < before_key and
 * its exact gradient with respect to all weights (grad may be NULL).
 * Returns the number of reviews counted in *n (may be NULL). For tests and
 * for the fitter itself.
 */
double fit_loss(const fit_data *d, const double w[FSRS_NPARAMS],
    int64_t before_key, double grad[FSRS_NPARAMS], size_t *n);

typedef struct fit_metrics {
	size_t n;		/* predictable reviews evaluated */
	double log_loss;	/* mean */
	double rmse_bins;	/* srs-benchmark's RMSE(bins) */
	double auc;		/* NaN when only one outcome is present */
} fit_metrics;

/* One part of an evaluation: these weights on these reviews. */
typedef struct fit_fold {
	const double *w;	/* FSRS_NPARAMS weights */
	int64_t from_key, to_key;
} fit_fold;

/*
 * Evaluate: each fold's weights predict the predictable reviews with
 * from_key <= key < to_key (each from its card's whole earlier history);
 * the metrics are of all folds' predictions pooled (a time-series split
 * evaluates fold k's later reviews with weights fitted before them). false
 * when out of memory or no review falls in any fold.
 */
bool fit_evaluate(const fit_data *d, const fit_fold *folds, size_t nfolds,
    fit_metrics *out) __attribute__((warn_unused_result));

/* One calibration bin: reviews whose predicted recall fell in it. */
typedef struct fit_bin {
	size_t n;
	double mean_predicted;
	double share_recalled;
} fit_bin;

/*
 * Predicted recall against actual recall in nbins equal bins of predicted
 * recall over [0, 1], for reviews with from_key <= key < to_key.
 */
void fit_calibration(const fit_data *d, const double w[FSRS_NPARAMS],
    int64_t from_key, int64_t to_key, fit_bin *bins, size_t nbins);

/*
 * The adoption rule: new weights replace the current ones only when their
 * held-out log loss is lower. Writes why to reason.
 */
bool fit_adopt(const fit_metrics *current, const fit_metrics *fitted,
    char *reason, size_t reasonlen);

#endif
