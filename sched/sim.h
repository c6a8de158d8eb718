/*
 * sim.h: what a desired retention costs a class: FSRS-6 run forward for a
 * class of simulated pupils over a term, with the school's weights and its
 * batch rules (batch.h picks each day's prompts, as the daemon does), so a
 * school can choose desired_retention knowing how many prompts a pupil
 * gets a school day and how much of what was taught is remembered at the
 * end of term. Pure C, deterministic for a seed.
 *
 * The term: units taught one after another, evenly spread over its first
 * two thirds, the school days Monday to Friday. Each prompt is answered
 * right with the model's predicted recall (a question's first retrieval
 * with first_recall, since the model predicts nothing before it), rated
 * Good when right and Again when not. The same random draws serve every
 * retention, so differences between rows are the retention's, not luck's.
 */
#ifndef RECALLD_SIM_H
#define RECALLD_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "batch.h"
#include "fsrs.h"

typedef struct sim_opts {
	const double *w;		/* FSRS_NPARAMS weights; NULL: defaults */
	batch_settings batch;		/* the school's batch rules */
	uint32_t max_interval_days;
	uint32_t pupils;		/* 30 */
	uint32_t units;			/* 6 */
	uint32_t questions_per_unit;	/* 10 */
	uint32_t school_days;		/* 65: a term of 13 weeks */
	double first_recall;		/* 0.7 */
	uint64_t seed;
} sim_opts;

void sim_opts_init(sim_opts *o);

typedef struct sim_result {
	double retention;
	double prompts_per_day;		/* per pupil per school day */
	double recall_at_end;		/* mean predicted recall of taught questions */
	double reviews_per_question;	/* prompts per taught question over the term */
} sim_result;

/* Simulate one desired retention; false with a message on bad options. */
bool sim_run(const sim_opts *o, double retention, sim_result *out, char *err,
    size_t errlen) __attribute__((warn_unused_result));

#endif
