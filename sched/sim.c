/* sim.c: a class over a term under one desired retention (see sim.h). */
#include "sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
sim_opts_init(sim_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->batch = batch_settings_default();
	o->max_interval_days = 36500;
	o->pupils = 30;
	o->units = 6;
	o->questions_per_unit = 10;
	o->school_days = 65;
	o->first_recall = 0.7;
	o->seed = 1;
}

/* A uniform draw fixed by (seed, pupil, question, day): common to every retention. */
static double
draw(uint64_t seed, uint64_t pupil, uint64_t q, uint64_t day)
{
	uint64_t z = seed ^ (pupil * 0x9e3779b97f4a7c15ULL) ^
	    (q * 0xc2b2ae3d27d4eb4fULL) ^ (day * 0x165667b19e3779f9ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return (double)(z >> 11) * 0x1.0p-53;
}

static bool
school_day(int32_t day)
{
	return day % 7 < 5;	/* day 0 is a Monday */
}

bool
sim_run(const sim_opts *o, double retention, sim_result *out, char *err, size_t errlen)
{
	uint32_t nq = o->units * o->questions_per_unit;
	int32_t days = 0, end, spread;
	batch_candidate *cand = NULL;
	batch_pick *pick = NULL;
	batch_selector *sel = NULL;
	fsrs_model *m = NULL;
	double prompts = 0, recall = 0;
	bool ok = false;

	if (o->pupils == 0 || nq == 0 || o->school_days == 0 ||
	    !(o->first_recall >= 0 && o->first_recall <= 1)) {
		snprintf(err, errlen, "a simulation needs pupils, questions, "
		    "school days and a first recall in [0, 1]");
		return false;
	}
	if ((m = fsrs_model_new(o->w, retention, (int)o->max_interval_days, err,
	    errlen)) == NULL)
		return false;
	for (uint32_t sd = 0; sd < o->school_days; days++)
		sd += school_day(days);
	end = days;			/* the first day after the term */
	spread = days * 2 / 3;		/* units taught over two thirds */
	cand = calloc(nq, sizeof(*cand));
	pick = calloc(o->batch.max_per_day + 1, sizeof(*pick));
	sel = batch_selector_new();
	if (cand == NULL || pick == NULL || sel == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (uint32_t p = 0; p < o->pupils; p++) {
		for (uint32_t q = 0; q < nq; q++) {
			uint32_t u = q / o->questions_per_unit;

			cand[q] = (batch_candidate){
				.question_id = q + 1,
				.unit_id = u + 1,
				.course_id = 1,
				.taught_day = (int32_t)((int64_t)spread * u / o->units),
				.question_order = (int32_t)(q % o->questions_per_unit),
				.exam_day = BATCH_NO_DAY,
			};
		}
		for (int32_t day = 0; day < end; day++) {
			size_t n = 0, taught = 0, got;

			if (!school_day(day))
				continue;
			while (taught < nq && cand[taught].taught_day <= day)
				taught++;
			if (!batch_select(sel, m, &o->batch, day, cand, taught, pick,
			    o->batch.max_per_day + 1, &got)) {
				snprintf(err, errlen, "out of memory");
				goto out;
			}
			for (n = 0; n < got; n++) {
				batch_candidate *c = &cand[pick[n].index];
				uint32_t elapsed = c->state.reps ? (uint32_t)(day -
				    c->last_review_day) : 0, ivl;
				double r = c->state.reps ? fsrs_retrievability(m,
				    c->state.stability, elapsed) : o->first_recall;
				bool right = draw(o->seed, p, c->question_id, (uint64_t)day) < r;

				fsrs_review(m, &c->state, elapsed, right ? FSRS_GOOD : FSRS_AGAIN,
				    &ivl);
				c->last_review_day = day;
				c->due_day = day + (int32_t)ivl;
			}
			prompts += (double)got;
		}
		for (uint32_t q = 0; q < nq; q++)
			recall += cand[q].state.reps ? fsrs_retrievability(m,
			    cand[q].state.stability, end - cand[q].last_review_day) :
			    o->first_recall;
	}
	out->retention = retention;
	out->prompts_per_day = prompts / ((double)o->pupils * o->school_days);
	out->recall_at_end = recall / ((double)o->pupils * nq);
	out->reviews_per_question = prompts / ((double)o->pupils * nq);
	ok = true;
out:
	batch_selector_free(sel);
	free(pick);
	free(cand);
	fsrs_model_free(m);
	return ok;
}
