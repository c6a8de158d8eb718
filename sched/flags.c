/*
 * flags.c: forgotten and at-risk topics per class x unit (rules in flags.h).
 */
#include "flags.h"

#include <stdio.h>
#include <string.h>

flags_thresholds
flags_thresholds_default(void)
{
	flags_thresholds t = {
		.recall = 0.7,
		.fallen_share = 0.3,
		.horizon_days = 7,
		.unanswered_share = 0.5,
		.unanswered_days = 10,
	};
	return t;
}

bool
flags_thresholds_valid(const flags_thresholds *t, char *err, size_t errlen)
{
	const char *why = NULL;

	if (t == NULL)
		why = "no thresholds";
	else if (!(t->recall >= 0.0 && t->recall <= 1.0))
		why = "recall must be in [0, 1]";
	else if (!(t->fallen_share >= 0.0 && t->fallen_share <= 1.0))
		why = "fallen_share must be in [0, 1]";
	else if (t->horizon_days < 1)
		why = "horizon_days must be >= 1";
	else if (!(t->unanswered_share >= 0.0 && t->unanswered_share <= 1.0))
		why = "unanswered_share must be in [0, 1]";
	else if (t->unanswered_days < 1)
		why = "unanswered_days must be >= 1";
	if (why != NULL && err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", why);
	return why == NULL;
}

bool
flags_practising(const flags_thresholds *t, int32_t last_review_day, int32_t today)
{
	return last_review_day != INT32_MIN &&
	    (int64_t)last_review_day >= (int64_t)today - t->horizon_days;
}

bool
flags_pupil_unanswered(const flags_answers *a)
{
	int32_t ref = a->last_answered_day;

	if (ref == INT32_MIN || ref < a->taught_day)
		ref = a->taught_day;
	return a->missed > 0 && ref < a->window_start;
}

flags_pupil
flags_pupil_from_mastery(mastery_level previous, const mastery_result *now,
    const mastery_result *ahead)
{
	flags_pupil p = {
		.previous = previous,
		.now = now->level,
		.ahead = ahead->level,
		.recall_now = now->mean_recall_seen,
		.recall_ahead = ahead->mean_recall_seen,
		.evidence = now->n_reviewed > 0,
	};
	return p;
}

/* The class at one day (now or the horizon). */
struct class_eval {
	bool forgotten;
	unsigned reasons;
	uint32_t n_evidence;
	uint32_t n_fallen;
	uint32_t n_concerned;
	double mean_recall;
};

static bool
pupil_fallen(const flags_pupil *p, bool ahead)
{
	return p->previous >= MASTERY_SECURE && (ahead ? p->ahead : p->now) < MASTERY_SECURE;
}

bool
flags_pupil_concerned(const flags_thresholds *t, const flags_pupil *p, bool ahead)
{
	double recall = ahead ? p->recall_ahead : p->recall_now;

	return pupil_fallen(p, ahead) || (p->evidence && recall < t->recall);
}

bool
flags_pupil_behind(const flags_thresholds *t, const flags_pupil *p, flags_status status)
{
	if (status == FLAG_NONE)
		return false;
	if (status >= FLAG_NOT_PRACTISED && p->unanswered)
		return true;
	return flags_pupil_concerned(t, p, status == FLAG_AT_RISK);
}

static void
class_eval(const flags_thresholds *t, const flags_pupil *pupils, size_t n,
    bool ahead, struct class_eval *e)
{
	double sum = 0.0;

	*e = (struct class_eval){ 0 };
	for (size_t i = 0; i < n; i++) {
		const flags_pupil *p = &pupils[i];
		bool fallen = pupil_fallen(p, ahead);

		if (p->evidence) {
			e->n_evidence++;
			sum += ahead ? p->recall_ahead : p->recall_now;
		}
		if (fallen)
			e->n_fallen++;
		if (flags_pupil_concerned(t, p, ahead))
			e->n_concerned++;
	}
	if (e->n_evidence > 0) {
		e->mean_recall = sum / e->n_evidence;
		if (e->mean_recall < t->recall)
			e->reasons |= FLAG_REASON_LOW_RECALL;
	}
	/* n_fallen > 0: a share threshold of 0 must not flag a calm class. */
	if (e->n_fallen > 0 && (double)e->n_fallen / n >= t->fallen_share)
		e->reasons |= FLAG_REASON_FALLEN;
	e->forgotten = e->reasons != 0;
}

void
flags_assess(const flags_thresholds *t, const flags_pupil *pupils,
    size_t n, int32_t today, const flags_state *prev, flags_result *out)
{
	struct class_eval now, ahead;
	const struct class_eval *about = NULL;
	uint32_t n_unanswered = 0, n_both = 0;
	bool unanswered;

	class_eval(t, pupils, n, false, &now);
	class_eval(t, pupils, n, true, &ahead);
	for (size_t i = 0; i < n; i++) {
		if (!pupils[i].unanswered)
			continue;
		n_unanswered++;
		n_both += flags_pupil_concerned(t, &pupils[i], false);
	}
	/* n_unanswered > 0: a share of 0 must not flag a class that answers. */
	unanswered = n_unanswered > 0 && (double)n_unanswered / n >= t->unanswered_share;

	*out = (flags_result){ 0 };
	out->n_pupils = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
	out->n_evidence = now.n_evidence;
	out->mean_recall = now.mean_recall;
	out->mean_recall_ahead = ahead.mean_recall;
	out->n_unanswered = n_unanswered;
	out->status = FLAG_NONE;
	if (now.forgotten) {
		out->status = FLAG_FORGOTTEN;
		about = &now;
	} else if (unanswered) {
		out->status = FLAG_NOT_PRACTISED;
		about = &now;
	} else if (ahead.forgotten) {
		out->status = FLAG_AT_RISK;
		about = &ahead;
	}
	if (about != NULL) {
		out->reasons = about->reasons;
		out->n_concerned = about->n_concerned;
		out->n_fallen = about->n_fallen;
	} else {
		out->n_fallen = now.n_fallen;
	}
	if (unanswered && about == &now)
		out->reasons |= FLAG_REASON_UNANSWERED;
	/* As flags_pupil_behind: a pupil not practising is behind any flag from not practised up. */
	if (out->status >= FLAG_NOT_PRACTISED)
		out->n_concerned += n_unanswered - n_both;

	/* A flag that held on (or got worse) keeps when it started. */
	out->since_day = today;
	if (out->status != FLAG_NONE && prev != NULL &&
	    prev->status != FLAG_NONE && out->status >= prev->status)
		out->since_day = prev->since_day;
}

const char *
flags_status_name(flags_status s)
{
	switch (s) {
	case FLAG_NONE:
		return "none";
	case FLAG_AT_RISK:
		return "at_risk";
	case FLAG_NOT_PRACTISED:
		return "not_practised";
	case FLAG_FORGOTTEN:
		return "forgotten";
	}
	return "?";
}

bool
flags_status_parse(const char *name, flags_status *out)
{
	if (name == NULL)
		return false;
	for (int s = FLAG_NONE; s <= FLAG_FORGOTTEN; s++) {
		if (strcmp(name, flags_status_name((flags_status)s)) == 0) {
			*out = (flags_status)s;
			return true;
		}
	}
	return false;
}

const char *
flags_reason_name(unsigned reason)
{
	switch (reason) {
	case FLAG_REASON_LOW_RECALL:
		return "low_recall";
	case FLAG_REASON_FALLEN:
		return "fallen";
	case FLAG_REASON_UNANSWERED:
		return "unanswered";
	}
	return NULL;
}

bool
flags_reason_parse(const char *name, unsigned *out)
{
	if (name == NULL)
		return false;
	for (unsigned bit = 1; bit & FLAG_REASONS_ALL; bit <<= 1) {
		if (strcmp(name, flags_reason_name(bit)) == 0) {
			*out = bit;
			return true;
		}
	}
	return false;
}

int
flags_reasons_json(unsigned reasons, char *buf, size_t len)
{
	int n = snprintf(buf, len, "[");

	for (unsigned bit = 1; bit & FLAG_REASONS_ALL; bit <<= 1) {
		if (reasons & bit)
			n += snprintf(len > (size_t)n ? buf + n : NULL, len > (size_t)n ?
			    len - (size_t)n : 0, "%s\"%s\"", n > 1 ? "," : "",
			    flags_reason_name(bit));
	}
	n += snprintf(len > (size_t)n ? buf + n : NULL, len > (size_t)n ? len - (size_t)n : 0,
	    "]");
	return n;
}
