/*
 * classview.h: a class as the flags see it, read in one go: its taught
 * units (with their stored flags), its active pupils, their stored levels,
 * the memory states of the questions that count, and the evidence behind
 * each pupil's level of each unit (their answers and prompts). The flag job assesses
 * it; the teachers' mastery grid (api/teachers.c) reads the same, so the
 * grid shows what the job flags.
 */
#ifndef RECALLD_CLASSVIEW_H
#define RECALLD_CLASSVIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "db.h"
#include "flags.h"
#include "fsrs.h"
#include "mastery.h"
#include "settings.h"

struct classview_unit {
	int64_t id;
	char *name;
	char taught_on[16];		/* YYYY-MM-DD */
	int32_t taught_day;
	uint32_t n_questions;		/* the ones that count */
	flags_status flag;		/* as stored; FLAG_NONE without a row */
	int32_t flag_since;		/* day number; stored flags only */
};

struct classview_pupil {
	int64_t id;
	char *external_id;
	char *given_name, *family_name;	/* NULL when not stored */
};

/* What a pupil's level of a unit rests on. */
struct classview_evidence {
	int32_t last_answered_day;	/* latest answer on the unit; INT32_MIN none */
	char last_answered_on[16];	/* the same, YYYY-MM-DD; "" none */
	uint32_t reviews;		/* answers on the unit, ever */
	uint32_t prompts, answered;	/* the unit's prompts in the not-practised window */
	uint32_t missed;		/* expired unanswered since the last answer (or taught) */
};

typedef struct classview classview;

/*
 * The statements classview_parse reads, added to r (school, class: decimal;
 * now: the time the windows are counted back from, as settings read it).
 */
#define CLASSVIEW_STATEMENTS 5
void classview_sql(db_req *r, const char *school, const char *class_id, const char *now);
/* res: the CLASSVIEW_STATEMENTS results, in order. */
classview *classview_parse(PGresult *const *res);
void classview_free(classview *k);

size_t classview_nunits(const classview *k);
size_t classview_npupils(const classview *k);
const struct classview_unit *classview_unit(const classview *k, size_t u);
const struct classview_pupil *classview_pupil(const classview *k, size_t p);
/*
 * The stored mastery level of pupil p for unit u, and the highest level of
 * their mastery history since the unit was taught; -1 for none.
 */
int classview_level(const classview *k, size_t u, size_t p);
int classview_high(const classview *k, size_t u, size_t p);
/* Pupil p's evidence on unit u (zeros and no day when none). */
const struct classview_evidence *classview_evidence(const classview *k, size_t u, size_t p);
/*
 * Whether pupil p has left unit u unanswered (sched/flags.h), with set's
 * window (settings_parse_windows).
 */
bool classview_unanswered(const classview *k, size_t u, size_t p, const struct settings *set);
/* Whether pupil p's level of unit u rests on an answer older than set's evidence window. */
bool classview_stale(const classview *k, size_t u, size_t p, const struct settings *set);

/* Assess pupil p on unit u at day from the memory states read. */
void classview_assess(classview *k, size_t u, size_t p, const fsrs_model *m,
    const mastery_thresholds *t, int32_t day, mastery_result *out);
/*
 * Assess pupil p on unit u at the flags' horizon from set->today, as the
 * pupil will stand then (sched/flags.h): still practising, or stopped.
 */
void classview_assess_ahead(classview *k, size_t u, size_t p, const fsrs_model *m,
    const struct settings *set, mastery_result *out);

#endif
