/* classview.c: a class's units, pupils, levels and memory states (see classview.h). */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "classview.h"
#include "pgrow.h"
#include "util.h"

struct cell {
	int level;		/* stored, -1 none */
	int high;		/* highest since taught, -1 none */
	size_t first, n;	/* its reviewed states in states[] */
	struct classview_evidence ev;
};

struct classview {
	struct classview_unit *units;
	size_t nunits;
	struct classview_pupil *pupils;
	size_t npupils;
	struct cell *cells;	/* nunits x npupils */
	mastery_item *states;
	size_t nstates;
	int32_t *last_day;	/* per pupil: latest review over the units, INT32_MIN none */
	mastery_item *scratch;	/* one unit's items */
	size_t scratch_cap;
};

/* The taught units with the number of questions that count, and stored flags. */
static const char class_units_sql[] =
    "SELECT t.unit_id, u.name, t.taught_on::text, t.taught_on - date '1970-01-01',"
    " (SELECT count(*) FROM question q JOIN school s ON s.school_id = q.school_id"
    "   WHERE q.school_id = t.school_id AND q.unit_id = t.unit_id"
    "   AND " SETTINGS_QUESTION_COUNTS("q", "s") "),"
    " f.status, f.since - date '1970-01-01'"
    " FROM taught t JOIN unit u ON u.school_id = t.school_id AND u.unit_id = t.unit_id AND u.active"
    " LEFT JOIN flag f ON f.school_id = t.school_id AND f.class_id = t.class_id"
    "   AND f.unit_id = t.unit_id"
    " WHERE t.school_id = $1 AND t.class_id = $2::bigint ORDER BY t.unit_id";

static const char class_pupils_sql[] =
    "SELECT p.pupil_id, p.external_id, p.given_name, p.family_name"
    " FROM class_pupil cp JOIN pupil p ON p.school_id = cp.school_id"
    "   AND p.pupil_id = cp.pupil_id AND p.active"
    " WHERE cp.school_id = $1 AND cp.class_id = $2::bigint AND cp.active ORDER BY p.pupil_id";

/* Stored levels, and the highest level reached since the unit was taught. */
static const char class_mastery_sql[] =
    "SELECT ml.unit_id, ml.pupil_id, ml.level,"
    " (SELECT max(h.to_level) FROM mastery_history h WHERE h.school_id = ml.school_id"
    "   AND h.pupil_id = ml.pupil_id AND h.unit_id = ml.unit_id"
    "   AND h.changed_at >= (t.taught_on::timestamp AT TIME ZONE s.tz))"
    " FROM taught t JOIN school s ON s.school_id = t.school_id"
    " JOIN class_pupil cp ON cp.school_id = t.school_id AND cp.class_id = t.class_id AND cp.active"
    " JOIN mastery ml ON ml.school_id = t.school_id AND ml.pupil_id = cp.pupil_id"
    "   AND ml.unit_id = t.unit_id"
    " WHERE t.school_id = $1 AND t.class_id = $2::bigint ORDER BY 1, 2";

/* The reviewed questions that count only: the others are unseen. */
static const char class_states_sql[] =
    "SELECT q.unit_id, m.pupil_id, m.stability, m.difficulty, m.reps, m.lapses,"
    " m.last_review_day - date '1970-01-01'"
    " FROM taught t JOIN school s ON s.school_id = t.school_id"
    " JOIN question q ON q.school_id = t.school_id AND q.unit_id = t.unit_id"
    "   AND " SETTINGS_QUESTION_COUNTS("q", "s")
    " JOIN class_pupil cp ON cp.school_id = t.school_id AND cp.class_id = t.class_id AND cp.active"
    " JOIN memory_state m ON m.school_id = t.school_id AND m.pupil_id = cp.pupil_id"
    "   AND m.question_id = q.question_id"
    " WHERE t.school_id = $1 AND t.class_id = $2::bigint ORDER BY 1, 2";

/*
 * Per unit and pupil: the latest answer on the unit (in the school's
 * calendar) and how many; the unit's prompts since the first day of the
 * not-practised window ($3: now) and how many were answered; and how many
 * expired unanswered after the later of the last answer and the taught day.
 */
/*
 * The window's first day is computed once (MATERIALIZED): as a plain
 * subquery the planner would inline the calendar walk into every row's
 * FILTER, most of the statement's time at 30 pupils.
 */
static const char class_evidence_sql[] =
    "WITH win AS MATERIALIZED (SELECT recalld_school_days_back(s.school_id,"
    "   ($3::timestamptz AT TIME ZONE s.tz)::date, s.flag_unanswered_days) AS day"
    "  FROM school s WHERE s.school_id = $1)"
    " SELECT t.unit_id, cp.pupil_id, la.last_day - date '1970-01-01', la.last_day::text, la.n,"
    " pr.prompts, pr.answered, pr.missed"
    " FROM taught t JOIN school s ON s.school_id = t.school_id"
    " CROSS JOIN win"
    " JOIN class_pupil cp ON cp.school_id = t.school_id AND cp.class_id = t.class_id AND cp.active"
    " CROSS JOIN LATERAL (SELECT max((r.reviewed_at AT TIME ZONE s.tz)::date) AS last_day,"
    "   count(*) AS n FROM review r JOIN question q ON q.school_id = r.school_id"
    "   AND q.question_id = r.question_id AND q.unit_id = t.unit_id"
    "   WHERE r.school_id = t.school_id AND r.pupil_id = cp.pupil_id) la"
    " CROSS JOIN LATERAL (SELECT count(*) FILTER (WHERE b.local_date >= win.day) AS prompts,"
    "   count(*) FILTER (WHERE b.local_date >= win.day AND p.answered_at IS NOT NULL) AS answered,"
    "   count(*) FILTER (WHERE p.answered_at IS NULL AND p.expires_at <= $3::timestamptz"
    "     AND b.local_date > greatest(la.last_day, t.taught_on)) AS missed"
    "   FROM prompt p JOIN question q ON q.school_id = p.school_id"
    "   AND q.question_id = p.question_id AND q.unit_id = t.unit_id"
    "   JOIN batch b ON b.school_id = p.school_id AND b.batch_id = p.batch_id"
    "   WHERE p.school_id = t.school_id AND p.pupil_id = cp.pupil_id) pr"
    " WHERE t.school_id = $1 AND t.class_id = $2::bigint ORDER BY 1, 2";

void
classview_sql(db_req *r, const char *school, const char *class_id, const char *now)
{
	const char *p[3] = { school, class_id, now };

	db_req_add(r, class_units_sql, 2, p);
	db_req_add(r, class_pupils_sql, 2, p);
	db_req_add(r, class_mastery_sql, 2, p);
	db_req_add(r, class_states_sql, 2, p);
	db_req_add(r, class_evidence_sql, 3, p);
}

/* Index of id in the sorted units or pupils; -1 when absent. */
static long
find_unit(const classview *k, int64_t id)
{
	size_t lo = 0, hi = k->nunits;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (k->units[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < k->nunits && k->units[lo].id == id ? (long)lo : -1;
}

static long
find_pupil(const classview *k, int64_t id)
{
	size_t lo = 0, hi = k->npupils;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (k->pupils[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < k->npupils && k->pupils[lo].id == id ? (long)lo : -1;
}

static struct cell *
cell_of(const classview *k, const PGresult *res, int row)
{
	long u = find_unit(k, pgrow_i64(res, row, 0)), p = find_pupil(k, pgrow_i64(res, row, 1));

	if (u < 0 || p < 0)
		return NULL;
	return &k->cells[(size_t)u * k->npupils + (size_t)p];
}

static void
parse_units(classview *k, const PGresult *ur)
{
	k->nunits = (size_t)PQntuples(ur);
	k->units = xcalloc(k->nunits + 1, sizeof *k->units);
	for (size_t i = 0; i < k->nunits; i++) {
		struct classview_unit *u = &k->units[i];
		int row = (int)i;

		u->id = pgrow_i64(ur, row, 0);
		u->name = pgrow_dup(ur, row, 1);
		util_strlcpy(u->taught_on, PQgetvalue(ur, row, 2), sizeof u->taught_on);
		u->taught_day = (int32_t)pgrow_int(ur, row, 3);
		u->n_questions = (uint32_t)pgrow_i64(ur, row, 4);
		/* No flag row (or, never expected, a status this binary does not know): none. */
		if (pgrow_null(ur, row, 5) || !flags_status_parse(pgrow_str(ur, row, 5), &u->flag))
			u->flag = FLAG_NONE;
		u->flag_since = (int32_t)pgrow_i64_or(ur, row, 6, 0);
	}
}

static void
parse_pupils(classview *k, const PGresult *pr)
{
	k->npupils = (size_t)PQntuples(pr);
	k->pupils = xcalloc(k->npupils + 1, sizeof *k->pupils);
	for (size_t i = 0; i < k->npupils; i++) {
		struct classview_pupil *p = &k->pupils[i];

		p->id = pgrow_i64(pr, (int)i, 0);
		p->external_id = pgrow_dup(pr, (int)i, 1);
		p->given_name = pgrow_dup(pr, (int)i, 2);
		p->family_name = pgrow_dup(pr, (int)i, 3);
	}
}

static void
parse_levels(classview *k, const PGresult *mr)
{
	size_t ncells = k->nunits * k->npupils;

	k->cells = xcalloc(ncells + 1, sizeof *k->cells);
	for (size_t i = 0; i < ncells; i++) {
		k->cells[i].level = k->cells[i].high = -1;
		k->cells[i].ev.last_answered_day = INT32_MIN;
	}
	for (int row = 0; row < PQntuples(mr); row++) {
		struct cell *c = cell_of(k, mr, row);

		if (c == NULL)
			continue;
		c->level = pgrow_int(mr, row, 2);
		c->high = (int)pgrow_i64_or(mr, row, 3, -1);
	}
}

static void
parse_states(classview *k, const PGresult *sr)
{
	/* Rows come grouped by unit and pupil: each cell's states are contiguous. */
	k->states = xcalloc((size_t)PQntuples(sr) + 1, sizeof *k->states);
	k->last_day = xcalloc(k->npupils + 1, sizeof *k->last_day);
	for (size_t i = 0; i < k->npupils; i++)
		k->last_day[i] = INT32_MIN;
	for (int row = 0; row < PQntuples(sr); row++) {
		struct cell *c = cell_of(k, sr, row);
		mastery_item *it;
		size_t pupil;

		if (c == NULL)
			continue;
		if (c->n == 0)
			c->first = k->nstates;
		else if (c->first + c->n != k->nstates)
			continue;	/* not grouped after all: never expected */
		it = &k->states[k->nstates++];
		it->state.stability = pgrow_f64(sr, row, 2);
		it->state.difficulty = pgrow_f64(sr, row, 3);
		it->state.reps = (uint32_t)pgrow_i64(sr, row, 4);
		it->state.lapses = (uint32_t)pgrow_i64(sr, row, 5);
		it->last_review_day = (int32_t)pgrow_int(sr, row, 6);
		c->n++;
		pupil = (size_t)(c - k->cells) % k->npupils;
		if (it->last_review_day > k->last_day[pupil])
			k->last_day[pupil] = it->last_review_day;
	}
}

static void
parse_evidence(classview *k, const PGresult *er)
{
	for (int row = 0; row < PQntuples(er); row++) {
		struct cell *c = cell_of(k, er, row);
		struct classview_evidence *ev;

		if (c == NULL)
			continue;
		ev = &c->ev;
		if (!pgrow_null(er, row, 2)) {
			ev->last_answered_day = (int32_t)pgrow_int(er, row, 2);
			util_strlcpy(ev->last_answered_on, PQgetvalue(er, row, 3),
			    sizeof ev->last_answered_on);
		}
		ev->reviews = (uint32_t)pgrow_i64(er, row, 4);
		ev->prompts = (uint32_t)pgrow_i64(er, row, 5);
		ev->answered = (uint32_t)pgrow_i64(er, row, 6);
		ev->missed = (uint32_t)pgrow_i64(er, row, 7);
	}
}

classview *
classview_parse(PGresult *const *res)
{
	classview *k = xcalloc(1, sizeof *k);

	/* Units and pupils first: levels and states are found among them. */
	parse_units(k, res[0]);
	parse_pupils(k, res[1]);
	parse_levels(k, res[2]);
	parse_states(k, res[3]);
	parse_evidence(k, res[4]);
	return k;
}

void
classview_free(classview *k)
{
	if (k == NULL)
		return;
	for (size_t i = 0; i < k->nunits; i++)
		free(k->units[i].name);
	for (size_t i = 0; i < k->npupils; i++) {
		free(k->pupils[i].external_id);
		free(k->pupils[i].given_name);
		free(k->pupils[i].family_name);
	}
	free(k->units);
	free(k->pupils);
	free(k->cells);
	free(k->states);
	free(k->last_day);
	free(k->scratch);
	free(k);
}

size_t
classview_nunits(const classview *k)
{
	return k->nunits;
}

size_t
classview_npupils(const classview *k)
{
	return k->npupils;
}

const struct classview_unit *
classview_unit(const classview *k, size_t u)
{
	return &k->units[u];
}

const struct classview_pupil *
classview_pupil(const classview *k, size_t p)
{
	return &k->pupils[p];
}

int
classview_level(const classview *k, size_t u, size_t p)
{
	return k->cells[u * k->npupils + p].level;
}

int
classview_high(const classview *k, size_t u, size_t p)
{
	return k->cells[u * k->npupils + p].high;
}

const struct classview_evidence *
classview_evidence(const classview *k, size_t u, size_t p)
{
	return &k->cells[u * k->npupils + p].ev;
}

bool
classview_unanswered(const classview *k, size_t u, size_t p, const struct settings *set)
{
	const struct classview_evidence *ev = classview_evidence(k, u, p);
	flags_answers a = {
		.last_answered_day = ev->last_answered_day,
		.taught_day = k->units[u].taught_day,
		.window_start = set->unanswered_from,
		.missed = ev->missed,
	};

	return flags_pupil_unanswered(&a);
}

bool
classview_stale(const classview *k, size_t u, size_t p, const struct settings *set)
{
	int32_t last = classview_evidence(k, u, p)->last_answered_day;

	return last != INT32_MIN && last < set->evidence_from;
}

/* Pupil p's items for unit u in k->scratch (unseen ones zero); how many. */
static size_t
class_items(classview *k, size_t u, size_t p)
{
	const struct cell *c = &k->cells[u * k->npupils + p];
	size_t n = k->units[u].n_questions;

	/* A question made inactive between two reads: count what was reviewed. */
	if (n < c->n)
		n = c->n;
	if (n > k->scratch_cap) {
		k->scratch_cap = n;
		k->scratch = xreallocarray(k->scratch, n, sizeof *k->scratch);
	}
	if (n > 0) {
		memset(k->scratch, 0, n * sizeof *k->scratch);	/* unseen: reps 0 */
		if (c->n > 0)
			memcpy(k->scratch, &k->states[c->first], c->n * sizeof *k->scratch);
	}
	return n;
}

void
classview_assess(classview *k, size_t u, size_t p, const fsrs_model *m,
    const mastery_thresholds *t, int32_t day, mastery_result *out)
{
	size_t n = class_items(k, u, p);

	mastery_assess(m, t, k->scratch, n, day, out);
}

void
classview_assess_ahead(classview *k, size_t u, size_t p, const fsrs_model *m,
    const struct settings *set, mastery_result *out)
{
	int32_t until = set->today + set->flags.horizon_days;
	size_t n = class_items(k, u, p);

	if (flags_practising(&set->flags, k->last_day[p], set->today))
		mastery_project_practised(m, k->scratch, n, set->today, until);
	mastery_assess(m, &set->mastery, k->scratch, n, until, out);
}

