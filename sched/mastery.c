/*
 * mastery.c: a pupil's level for a unit (rules in mastery.h).
 *
 * Every share threshold is turned into a whole number of questions with
 * need_count(), and a level is met when the count reaches it. That keeps the
 * level and the "N more questions" of the next level in exact agreement,
 * with no floating-point edge where 4 of 5 is "not quite 80%".
 */
#include "mastery.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* The model's stability floor: guards the division in the forgetting curve. */
#define STABILITY_FLOOR 0.001

mastery_thresholds
mastery_thresholds_default(void)
{
	mastery_thresholds t = {
		/*
		 * Evidence: at least half the questions reviewed. With unseen
		 * questions at recall 0 the mean recall can never exceed the
		 * coverage, so at the defaults this rule is implied by the
		 * recall rule; it is kept separate so a school can ask for more
		 * evidence than recall alone implies (e.g. 0.75).
		 */
		.min_coverage = 0.5,
		.developing_recall = 0.5,
		.secure_recall = 0.8,
		.secure_share = 0.8,	/* the 80% bar of mastery learning */
		.durable_days = 30.0,
		.durable_share = 0.8,
	};
	return t;
}

static bool
unit_interval(double x)
{
	return x >= 0.0 && x <= 1.0;	/* false for NaN too */
}

bool
mastery_thresholds_valid(const mastery_thresholds *t, char *err,
    size_t errlen)
{
	const char *why = NULL;

	if (t == NULL)
		why = "no thresholds";
	else if (!unit_interval(t->min_coverage))
		why = "min_coverage must be in [0, 1]";
	else if (!unit_interval(t->developing_recall))
		why = "developing_recall must be in [0, 1]";
	else if (!unit_interval(t->secure_recall))
		why = "secure_recall must be in [0, 1]";
	else if (!unit_interval(t->secure_share))
		why = "secure_share must be in [0, 1]";
	else if (!unit_interval(t->durable_share))
		why = "durable_share must be in [0, 1]";
	else if (!(t->durable_days > 0.0 && t->durable_days <= 36500.0))
		why = "durable_days must be in (0, 36500]";
	if (why != NULL && err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", why);
	return why == NULL;
}

/* Smallest k in 0..n with k / n >= share (n > 0, share in [0, 1]). */
static uint32_t
need_count(uint32_t n, double share)
{
	double guess = ceil(share * n);
	uint32_t k = guess < 0.0 ? 0 : guess > n ? n : (uint32_t)guess;

	/* share * n may round either way; settle on the exact division. */
	while (k > 0 && (double)(k - 1) / n >= share)
		k--;
	while (k < n && (double)k / n < share)
		k++;
	return k;
}

static double
item_recall(const fsrs_model *m, const mastery_item *it, int32_t day)
{
	int64_t elapsed;
	double s;

	if (it->state.reps == 0)
		return 0.0;
	elapsed = (int64_t)day - it->last_review_day;
	if (elapsed < 0)	/* reviewed "after" day: clock skew */
		elapsed = 0;
	s = it->state.stability;
	if (!(s >= STABILITY_FLOOR))
		s = STABILITY_FLOOR;
	return fsrs_retrievability(m, s, (double)elapsed);
}

/*
 * Fewest questions that, answered right now (recall 1), lift the mean
 * recall to the threshold: take the lowest recalls first (unseen ones are
 * 0, so they come first, which also raises the coverage). Walks the
 * distinct recall values upwards instead of sorting, to need no scratch.
 */
static uint32_t
need_correct_for_mean(const fsrs_model *m, const mastery_item *items,
    uint32_t n, int32_t day, double sum, double threshold)
{
	uint32_t k = 0;
	double floor_v = -1.0;

	while (k < n && !(sum / n >= threshold)) {
		double v = INFINITY;
		uint32_t mult = 0;

		for (uint32_t i = 0; i < n; i++) {
			double r = item_recall(m, &items[i], day);

			if (r <= floor_v || r > v)
				continue;
			if (r < v) {
				v = r;
				mult = 0;
			}
			mult++;
		}
		if (mult == 0)
			break;
		while (mult-- > 0 && k < n && !(sum / n >= threshold)) {
			sum += 1.0 - v;
			k++;
		}
		floor_v = v;
	}
	return k;
}

void
mastery_project_practised(const fsrs_model *m, mastery_item *items, size_t n, int32_t from,
    int32_t until)
{
	for (size_t i = 0; i < n; i++) {
		mastery_item *it = &items[i];

		/* Intervals only grow on success: a few rounds reach any horizon. */
		for (int round = 0; round < 64 && it->state.reps > 0; round++) {
			int64_t day = (int64_t)it->last_review_day +
			    fsrs_interval(m, it->state.stability);

			if (day < from)
				day = from;	/* overdue: reviewed from now on */
			if (day <= it->last_review_day)
				day = (int64_t)it->last_review_day + 1;
			if (day > until)
				break;
			fsrs_review(m, &it->state, (uint32_t)(day - it->last_review_day), FSRS_GOOD,
			    NULL);
			it->last_review_day = (int32_t)day;
		}
	}
}

void
mastery_assess(const fsrs_model *m, const mastery_thresholds *t,
    const mastery_item *items, size_t n_items, int32_t day,
    mastery_result *out)
{
	uint32_t n = n_items > UINT32_MAX ? UINT32_MAX : (uint32_t)n_items;
	uint32_t need_cov, need_sec, need_dur;
	double sum = 0.0, sum_seen = 0.0;

	memset(out, 0, sizeof(*out));
	out->level = MASTERY_EMERGING;
	out->n_questions = n;
	out->next.target = MASTERY_DEVELOPING;
	if (n == 0) {
		out->next.kind = MASTERY_NEED_QUESTIONS;
		return;
	}

	for (uint32_t i = 0; i < n; i++) {
		const mastery_item *it = &items[i];
		double r;

		if (it->state.reps == 0)
			continue;
		r = item_recall(m, it, day);
		out->n_reviewed++;
		sum += r;
		sum_seen += r;
		if (r >= t->secure_recall)
			out->n_secure++;
		if (it->state.stability >= t->durable_days)
			out->n_durable++;
	}
	out->coverage = (double)out->n_reviewed / n;
	out->mean_recall = sum / n;
	out->mean_recall_seen = out->n_reviewed > 0 ?
	    sum_seen / out->n_reviewed : 0.0;
	out->share_secure = (double)out->n_secure / n;
	out->share_durable = (double)out->n_durable / n;

	need_cov = need_count(n, t->min_coverage);
	need_sec = need_count(n, t->secure_share);
	need_dur = need_count(n, t->durable_share);

	if (out->n_reviewed < need_cov ||
	    !(out->mean_recall >= t->developing_recall)) {
		uint32_t k_cov = out->n_reviewed < need_cov ?
		    need_cov - out->n_reviewed : 0;
		uint32_t k_rec = need_correct_for_mean(m, items, n, day, sum,
		    t->developing_recall);

		out->next.kind = MASTERY_NEED_CORRECT;
		out->next.count = k_cov > k_rec ? k_cov : k_rec;
		return;
	}
	if (out->n_secure < need_sec) {
		out->level = MASTERY_DEVELOPING;
		out->next.target = MASTERY_SECURE;
		out->next.kind = MASTERY_NEED_CORRECT;
		out->next.count = need_sec - out->n_secure;
		return;
	}
	if (out->n_durable < need_dur) {
		out->level = MASTERY_SECURE;
		out->next.target = MASTERY_MASTERY;
		out->next.kind = MASTERY_NEED_SPACED;
		out->next.count = need_dur - out->n_durable;
		/*
		 * Stability of S days means the memory is expected to last S
		 * days; recalling after a gap that long is what builds it.
		 */
		out->next.gap_days = (uint32_t)ceil(t->durable_days);
		return;
	}
	out->level = MASTERY_MASTERY;
	out->next.target = MASTERY_MASTERY;
	out->next.kind = MASTERY_NEED_NONE;
}

static const char *const level_names[] = {
	[MASTERY_EMERGING] = "emerging",
	[MASTERY_DEVELOPING] = "developing",
	[MASTERY_SECURE] = "secure",
	[MASTERY_MASTERY] = "mastery",
};

const char *
mastery_level_name(mastery_level l)
{
	if ((unsigned)l > MASTERY_MASTERY)
		return "?";
	return level_names[l];
}

bool
mastery_level_parse(const char *name, mastery_level *out)
{
	if (name == NULL)
		return false;
	for (unsigned i = 0; i <= MASTERY_MASTERY; i++) {
		if (strcmp(name, level_names[i]) == 0) {
			*out = (mastery_level)i;
			return true;
		}
	}
	return false;
}

int
mastery_next_render(const mastery_next *next, char *buf, size_t len)
{
	const char *q = next->count == 1 ? "question" : "questions";
	uint32_t g = next->gap_days;

	switch (next->kind) {
	case MASTERY_NEED_NONE:
		return snprintf(buf, len, "nothing more: keep recalling to "
		    "hold Mastery");
	case MASTERY_NEED_QUESTIONS:
		return snprintf(buf, len, "questions: this unit has none yet");
	case MASTERY_NEED_CORRECT:
		return snprintf(buf, len, "%u more %s answered correctly",
		    next->count, q);
	case MASTERY_NEED_SPACED:
		/* Whole weeks read better to a pupil: "a gap of 3 weeks". */
		if (g > 0 && g % 7 == 0)
			return snprintf(buf, len, "%u more %s recalled after a "
			    "gap of %u week%s", next->count, q, g / 7,
			    g == 7 ? "" : "s");
		return snprintf(buf, len, "%u more %s recalled after a gap "
		    "of %u day%s", next->count, q, g, g == 1 ? "" : "s");
	}
	return snprintf(buf, len, "?");
}

/* A share as a pupil reads it: "half", "8 in 10", "all". */
static void
share_words(double share, char *buf, size_t len)
{
	long tenths = lround(share * 10);

	if (tenths >= 10)
		snprintf(buf, len, "all");
	else if (tenths == 5)
		snprintf(buf, len, "half");
	else
		snprintf(buf, len, "%ld in 10", tenths < 1 ? 1 : tenths);
}

/* A span of days in words: "a week", "3 weeks", "a month", "45 days". */
static void
days_words(double days, char *buf, size_t len)
{
	long d = lround(days);

	if (d >= 28 && d <= 31)
		snprintf(buf, len, "a month");
	else if (d == 7)
		snprintf(buf, len, "a week");
	else if (d > 0 && d % 7 == 0)
		snprintf(buf, len, "%ld weeks", d / 7);
	else
		snprintf(buf, len, "%ld day%s", d, d == 1 ? "" : "s");
}

int
mastery_level_describe(mastery_level l, const mastery_thresholds *t, char *buf, size_t len)
{
	char cov[32], dev[32], sec[32], dur[32], days[32];

	share_words(t->min_coverage, cov, sizeof cov);
	share_words(t->developing_recall, dev, sizeof dev);
	share_words(t->secure_share, sec, sizeof sec);
	share_words(t->durable_share, dur, sizeof dur);
	days_words(t->durable_days, days, sizeof days);
	switch (l) {
	case MASTERY_EMERGING:
		return snprintf(buf, len, "You are starting on this unit: you have tried fewer "
		    "than %s of its questions so far, or would get fewer than %s of them "
		    "right today.", cov, dev);
	case MASTERY_DEVELOPING:
		return snprintf(buf, len, "You have tried at least %s of this unit's questions "
		    "and would get at least %s of them right today.", cov, dev);
	case MASTERY_SECURE:
		return snprintf(buf, len, "You would get at least %s of this unit's questions "
		    "right today, each with a good chance of remembering it.", sec);
	case MASTERY_MASTERY:
		return snprintf(buf, len, "You would get at least %s of this unit's questions "
		    "right, and %s of them have stayed with you for %s or more: they have "
		    "stuck.", sec, dur, days);
	}
	return snprintf(buf, len, "?");
}
