/*
 * batch.c: daily batch selection for one pupil (rules in batch.h).
 *
 * Only the candidates that may be picked today get a sort key, so the cost
 * of the many not-due questions is one test each. The eligible keys go into
 * a binary heap and are popped in priority order only until the batch is
 * full: a pupil with 300 due questions and a batch of 5 pays O(n + 5 log n),
 * not a full sort.
 */
#include "batch.h"

#include <stdio.h>
#include <stdlib.h>

/* Lower tier = higher priority. */
enum { TIER_EXAM = 0, TIER_DUE = 1, TIER_NEW = 2 };

/* The model's stability floor: guards the division in the forgetting curve. */
#define STABILITY_FLOOR 0.001

struct batch_key {
	double primary;		/* recall (exam, due) or taught day (new) */
	int64_t question_id;
	int32_t secondary;	/* question order (new), else 0 */
	uint32_t index;		/* into the candidates: the last tie-break */
	uint8_t tier;
};

struct batch_selector {
	struct batch_key *keys;
	size_t cap;
};

batch_settings
batch_settings_default(void)
{
	batch_settings s = {
		.max_per_day = 5,
		.new_per_day = 2,
		.first_retrieval_delay_days = 1,
		.exam_window_days = 42,
	};
	return s;
}

bool
batch_settings_valid(const batch_settings *s, char *err, size_t errlen)
{
	const char *why = NULL;

	if (s == NULL)
		why = "no settings";
	else if (s->first_retrieval_delay_days < 0)
		why = "first_retrieval_delay_days must be >= 0";
	else if (s->exam_window_days < 0)
		why = "exam_window_days must be >= 0";
	if (why != NULL && err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", why);
	return why == NULL;
}

const char *
batch_reason_name(batch_reason r)
{
	switch (r) {
	case BATCH_DUE:
		return "due";
	case BATCH_NEW:
		return "new";
	case BATCH_EXAM:
		return "exam";
	case BATCH_EARLY:
		return "early";
	}
	return "?";
}

batch_selector *
batch_selector_new(void)
{
	return calloc(1, sizeof(batch_selector));
}

void
batch_selector_free(batch_selector *s)
{
	if (s == NULL)
		return;
	free(s->keys);
	free(s);
}

/* Grow the scratch to n keys; growth is geometric so it settles quickly. */
static bool
selector_reserve(batch_selector *s, size_t n)
{
	struct batch_key *k;
	size_t cap;

	if (n <= s->cap)
		return true;
	cap = s->cap < 64 ? 64 : s->cap;
	while (cap < n) {
		if (cap > SIZE_MAX / 2 / sizeof(*k))
			return false;
		cap *= 2;
	}
	k = realloc(s->keys, cap * sizeof(*k));
	if (k == NULL)
		return false;
	s->keys = k;
	s->cap = cap;
	return true;
}

/* Strict priority order; total because the candidate index is unique. */
static inline bool
key_before(const struct batch_key *a, const struct batch_key *b)
{
	if (a->tier != b->tier)
		return a->tier < b->tier;
	if (a->primary != b->primary)
		return a->primary < b->primary;
	if (a->secondary != b->secondary)
		return a->secondary < b->secondary;
	if (a->question_id != b->question_id)
		return a->question_id < b->question_id;
	return a->index < b->index;
}

static void
heap_sift_down(struct batch_key *h, size_t len, size_t i)
{
	struct batch_key x = h[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= len)
			break;
		if (c + 1 < len && key_before(&h[c + 1], &h[c]))
			c++;
		if (!key_before(&h[c], &x))
			break;
		h[i] = h[c];
		i = c;
	}
	h[i] = x;
}

/*
 * Which tier, if any, a candidate is in today. Day sums are done in 64 bits
 * so that BATCH_NO_DAY or garbage from a caller cannot overflow.
 */
static int
candidate_tier(const batch_candidate *c, const batch_settings *set,
    int64_t today)
{
	/* Only taught units are scheduled, not a diagnostic before teaching. */
	if (c->taught_day == BATCH_NO_DAY || c->taught_day > today)
		return -1;
	if (c->state.reps == 0) {
		if (today < (int64_t)c->taught_day +
		    set->first_retrieval_delay_days)
			return -1;
		return TIER_NEW;
	}
	if (c->exam_day != BATCH_NO_DAY && c->exam_day >= today &&
	    c->exam_day <= today + set->exam_window_days &&
	    c->last_review_day < (int64_t)c->exam_day - set->exam_window_days)
		return TIER_EXAM;
	if (c->due_day <= today)
		return TIER_DUE;
	return -1;
}

static double
candidate_recall(const fsrs_model *m, const batch_candidate *c, int64_t today)
{
	int64_t elapsed = today - c->last_review_day;
	double s = c->state.stability;

	if (elapsed < 0)	/* reviewed "after" today: clock skew */
		elapsed = 0;
	if (!(s >= STABILITY_FLOOR))
		s = STABILITY_FLOOR;
	return fsrs_retrievability(m, s, (double)elapsed);
}

static uint32_t
unit_count(const batch_pick *out, size_t n_out, const batch_candidate *cand,
    int64_t unit_id)
{
	uint32_t count = 0;

	for (size_t i = 0; i < n_out; i++)
		if (cand[out[i].index].unit_id == unit_id)
			count++;
	return count;
}

static void
pick_add(batch_pick *out, size_t *n_out, const batch_candidate *cand,
    const struct batch_key *k)
{
	batch_pick *p = &out[(*n_out)++];

	p->index = k->index;
	p->question_id = cand[k->index].question_id;
	switch (k->tier) {
	case TIER_EXAM:
		p->reason = BATCH_EXAM;
		break;
	case TIER_DUE:
		p->reason = BATCH_DUE;
		break;
	default:
		p->reason = BATCH_NEW;
		break;
	}
	p->recall = k->tier == TIER_NEW ? 0.0 : k->primary;
}

/*
 * Rule 4: top the picks up to floor with reviewed questions not picked,
 * not due (so not in a tier) and not reviewed today, and new ones past
 * their delay that new_per_day left out, lowest recall first (new: 0).
 * floor is at most max_per_day (<= 50), so a scan per pick is cheap.
 */
static void
top_up(const fsrs_model *m, const batch_settings *set, int64_t today,
    const batch_candidate *cand, size_t n, batch_pick *out, size_t *picked, size_t floor)
{
	while (*picked < floor) {
		size_t best = n;
		double best_recall = 0.0;

		for (size_t i = 0; i < n; i++) {
			const batch_candidate *c = &cand[i];
			bool taken = false;
			double r;

			int tier = candidate_tier(c, set, today);

			/* Reviewed, not due, not today; or new past its delay, over new_per_day. */
			if (c->state.reps == 0 ? tier != TIER_NEW :
			    (tier >= 0 || c->taught_day == BATCH_NO_DAY || c->taught_day > today ||
			    c->last_review_day >= today))
				continue;
			for (size_t j = 0; j < *picked && !taken; j++)
				taken = out[j].index == i;
			if (taken)
				continue;
			r = c->state.reps == 0 ? 0.0 : candidate_recall(m, c, today);
			/* Ties by question id, then index: the scan order. */
			if (best == n || r < best_recall || (r == best_recall &&
			    c->question_id < cand[best].question_id)) {
				best = i;
				best_recall = r;
			}
		}
		if (best == n)
			return;
		out[*picked] = (batch_pick){ .index = (uint32_t)best,
		    .question_id = cand[best].question_id,
		    .reason = cand[best].state.reps == 0 ? BATCH_NEW : BATCH_EARLY,
		    .recall = best_recall };
		(*picked)++;
	}
}

/*
 * Reorder the picks so consecutive prompts come from different units when
 * possible (interleaved retrieval), otherwise keeping priority order.
 */
static void
interleave(batch_pick *out, size_t n, const batch_candidate *cand)
{
	for (size_t pos = 1; pos < n; pos++) {
		int64_t prev = cand[out[pos - 1].index].unit_id;
		size_t j = pos;

		while (j < n && cand[out[j].index].unit_id == prev)
			j++;
		if (j == n || j == pos)
			continue;
		batch_pick moved = out[j];
		for (size_t i = j; i > pos; i--)
			out[i] = out[i - 1];
		out[pos] = moved;
	}
}

bool
batch_select(batch_selector *s, const fsrs_model *m,
    const batch_settings *set, int32_t today,
    const batch_candidate *cand, size_t n,
    batch_pick *out, size_t out_cap, size_t *n_out)
{
	struct batch_key *h;
	size_t want, len = 0, n_elig, nskip = 0, picked = 0;
	uint32_t unit_cap, new_taken = 0;

	if (n_out != NULL)
		*n_out = 0;
	if (s == NULL || m == NULL || set == NULL || n_out == NULL ||
	    (cand == NULL && n > 0) || (out == NULL && out_cap > 0) ||
	    n > UINT32_MAX)
		return false;
	want = set->max_per_day < out_cap ? set->max_per_day : out_cap;
	if (want == 0 || n == 0)
		return true;
	if (!selector_reserve(s, n))
		return false;
	/* ceil(max/2) per unit, so at least two units share a full batch. */
	unit_cap = (uint32_t)((want + 1) / 2);

	h = s->keys;
	for (size_t i = 0; i < n; i++) {
		const batch_candidate *c = &cand[i];
		int tier = candidate_tier(c, set, today);
		struct batch_key *k;

		if (tier < 0)
			continue;
		if (tier == TIER_NEW && set->new_per_day == 0)
			continue;
		k = &h[len++];
		k->tier = (uint8_t)tier;
		k->question_id = c->question_id;
		k->index = (uint32_t)i;
		if (tier == TIER_NEW) {
			k->primary = (double)c->taught_day;
			k->secondary = c->question_order;
		} else {
			k->primary = candidate_recall(m, c, today);
			k->secondary = 0;
		}
	}
	n_elig = len;
	for (size_t i = len / 2; i-- > 0;)
		heap_sift_down(h, len, i);

	/*
	 * Pass 1, in priority order, with the per-unit cap. A key skipped for
	 * the cap is parked in the slot the heap has just given up (the tail
	 * grows downwards, in pop order) for pass 2.
	 */
	while (picked < want && len > 0) {
		struct batch_key k = h[0];

		h[0] = h[--len];
		heap_sift_down(h, len, 0);
		if (k.tier == TIER_NEW && new_taken >= set->new_per_day)
			continue;
		if (unit_count(out, picked, cand, cand[k.index].unit_id) >=
		    unit_cap) {
			h[n_elig - 1 - nskip++] = k;
			continue;
		}
		pick_add(out, &picked, cand, &k);
		if (k.tier == TIER_NEW)
			new_taken++;
	}
	/* Pass 2: nothing else was left, so capped units fill the rest. */
	for (size_t i = 0; i < nskip && picked < want; i++) {
		const struct batch_key *k = &h[n_elig - 1 - i];

		if (k->tier == TIER_NEW && new_taken >= set->new_per_day)
			continue;
		pick_add(out, &picked, cand, k);
		if (k->tier == TIER_NEW)
			new_taken++;
	}
	top_up(m, set, today, cand, n, out, &picked, set->min_per_day < want ? set->min_per_day : want);
	interleave(out, picked, cand);
	*n_out = picked;
	return true;
}
