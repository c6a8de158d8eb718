/*
 * classview.h: a class as the flags see it, read in one go: its taught
 * units (with their stored flags), its active pupils, their stored levels
 * and the memory states of the questions that count. The flag job assesses
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

typedef struct classview classview;

/* The statements classview_parse reads, added to r (school, class: decimal). */
#define CLASSVIEW_STATEMENTS 4
void classview_sql(db_req *r, const char *school, const char *class_id);
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
