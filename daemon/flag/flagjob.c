/* flagjob.c: mastery refresh, forgotten-topic flags and digests (see flagjob.h). */
#include "autoconf.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "app.h"
#include "batches.h"
#include "clock.h"
#include "db.h"
#include "flagjob.h"
#include "flags.h"
#include "fsrs.h"
#include "log.h"
#include "mastery.h"
#include "outbox.h"
#include "util.h"

#define LEASE "interval '15 minutes'"
#define LEASE_EVERY 20		/* classes between lease renewals */
#define CLASS_TRIES 3		/* serialization failures before a class is skipped */
#define YIELD_MS 200		/* while the batch job runs, look again after this */

/* ---- school settings ---- */

bool
flagjob_school_parse(const PGresult *res, int row, int col, struct flagjob_school *out,
    char *err, size_t errlen)
{
	const char *v[FLAGJOB_SCHOOL_NCOLUMNS];

	memset(out, 0, sizeof *out);
	for (int i = 0; i < FLAGJOB_SCHOOL_NCOLUMNS; i++)
		v[i] = PQgetvalue(res, row, col + i);
	out->mastery.min_coverage = strtod(v[2], NULL);
	out->mastery.developing_recall = strtod(v[3], NULL);
	out->mastery.secure_recall = strtod(v[4], NULL);
	out->mastery.secure_share = strtod(v[5], NULL);
	out->mastery.durable_days = strtod(v[6], NULL);
	out->mastery.durable_share = strtod(v[7], NULL);
	out->flags.recall = strtod(v[8], NULL);
	out->flags.fallen_share = strtod(v[9], NULL);
	out->flags.horizon_days = (int32_t)atoi(v[10]);
	out->today = (int32_t)atoi(v[11]);
	util_strlcpy(out->local_date, v[12], sizeof out->local_date);
	if (!mastery_thresholds_valid(&out->mastery, err, errlen) ||
	    !flags_thresholds_valid(&out->flags, err, errlen))
		return false;
	out->model = fsrs_model_new(NULL, strtod(v[0], NULL), atoi(v[1]), err, errlen);
	return out->model != NULL;
}

void
flagjob_school_clear(struct flagjob_school *s)
{
	fsrs_model_free(s->model);
	s->model = NULL;
}

/* ---- the class snapshot ---- */

struct cell {
	int level;		/* stored, -1 none */
	int high;		/* highest since taught, -1 none */
	size_t first, n;	/* its reviewed states in states[] */
};

struct flagjob_class {
	struct flagjob_unit *units;
	size_t nunits;
	struct flagjob_pupil *pupils;
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
    "   AND " QUESTION_COUNTS("q", "s") "),"
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
    "   AND " QUESTION_COUNTS("q", "s")
    " JOIN class_pupil cp ON cp.school_id = t.school_id AND cp.class_id = t.class_id AND cp.active"
    " JOIN memory_state m ON m.school_id = t.school_id AND m.pupil_id = cp.pupil_id"
    "   AND m.question_id = q.question_id"
    " WHERE t.school_id = $1 AND t.class_id = $2::bigint ORDER BY 1, 2";

void
flagjob_class_sql(db_req *r, const char *school, const char *class_id)
{
	const char *p[2] = { school, class_id };

	db_req_add(r, class_units_sql, 2, p);
	db_req_add(r, class_pupils_sql, 2, p);
	db_req_add(r, class_mastery_sql, 2, p);
	db_req_add(r, class_states_sql, 2, p);
}

static char *
dup_or_null(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : xstrdup(PQgetvalue(res, row, col));
}

static int64_t
id_at(const PGresult *res, int row, int col)
{
	return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

/* Index of id in the sorted units or pupils; -1 when absent. */
static long
find_unit(const flagjob_class *k, int64_t id)
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
find_pupil(const flagjob_class *k, int64_t id)
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
cell_of(const flagjob_class *k, const PGresult *res, int row)
{
	long u = find_unit(k, id_at(res, row, 0)), p = find_pupil(k, id_at(res, row, 1));

	if (u < 0 || p < 0)
		return NULL;
	return &k->cells[(size_t)u * k->npupils + (size_t)p];
}

flagjob_class *
flagjob_class_parse(PGresult *const *res)
{
	const PGresult *ur = res[0], *pr = res[1], *mr = res[2], *sr = res[3];
	flagjob_class *k = xcalloc(1, sizeof *k);
	size_t ncells;

	k->nunits = (size_t)PQntuples(ur);
	k->units = xcalloc(k->nunits + 1, sizeof *k->units);
	for (size_t i = 0; i < k->nunits; i++) {
		struct flagjob_unit *u = &k->units[i];
		int row = (int)i;
		flags_status st = FLAG_NONE;

		u->id = id_at(ur, row, 0);
		u->name = xstrdup(PQgetvalue(ur, row, 1));
		util_strlcpy(u->taught_on, PQgetvalue(ur, row, 2), sizeof u->taught_on);
		u->taught_day = (int32_t)atoi(PQgetvalue(ur, row, 3));
		u->n_questions = (uint32_t)strtoul(PQgetvalue(ur, row, 4), NULL, 10);
		if (!PQgetisnull(ur, row, 5)) {
			const char *s = PQgetvalue(ur, row, 5);
			st = strcmp(s, "forgotten") == 0 ? FLAG_FORGOTTEN :
			    strcmp(s, "at_risk") == 0 ? FLAG_AT_RISK : FLAG_NONE;
		}
		u->flag = st;
		u->flag_since = PQgetisnull(ur, row, 6) ? 0 : (int32_t)atoi(PQgetvalue(ur, row, 6));
	}
	k->npupils = (size_t)PQntuples(pr);
	k->pupils = xcalloc(k->npupils + 1, sizeof *k->pupils);
	for (size_t i = 0; i < k->npupils; i++) {
		struct flagjob_pupil *p = &k->pupils[i];

		p->id = id_at(pr, (int)i, 0);
		p->external_id = xstrdup(PQgetvalue(pr, (int)i, 1));
		p->given_name = dup_or_null(pr, (int)i, 2);
		p->family_name = dup_or_null(pr, (int)i, 3);
	}
	ncells = k->nunits * k->npupils;
	k->cells = xcalloc(ncells + 1, sizeof *k->cells);
	for (size_t i = 0; i < ncells; i++)
		k->cells[i].level = k->cells[i].high = -1;
	for (int row = 0; row < PQntuples(mr); row++) {
		struct cell *c = cell_of(k, mr, row);

		if (c == NULL)
			continue;
		c->level = atoi(PQgetvalue(mr, row, 2));
		c->high = PQgetisnull(mr, row, 3) ? -1 : atoi(PQgetvalue(mr, row, 3));
	}
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
		it->state.stability = strtod(PQgetvalue(sr, row, 2), NULL);
		it->state.difficulty = strtod(PQgetvalue(sr, row, 3), NULL);
		it->state.reps = (uint32_t)strtoul(PQgetvalue(sr, row, 4), NULL, 10);
		it->state.lapses = (uint32_t)strtoul(PQgetvalue(sr, row, 5), NULL, 10);
		it->last_review_day = (int32_t)atoi(PQgetvalue(sr, row, 6));
		c->n++;
		pupil = (size_t)(c - k->cells) % k->npupils;
		if (it->last_review_day > k->last_day[pupil])
			k->last_day[pupil] = it->last_review_day;
	}
	return k;
}

void
flagjob_class_free(flagjob_class *k)
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
flagjob_class_nunits(const flagjob_class *k)
{
	return k->nunits;
}

size_t
flagjob_class_npupils(const flagjob_class *k)
{
	return k->npupils;
}

const struct flagjob_unit *
flagjob_class_unit(const flagjob_class *k, size_t u)
{
	return &k->units[u];
}

const struct flagjob_pupil *
flagjob_class_pupil(const flagjob_class *k, size_t p)
{
	return &k->pupils[p];
}

int
flagjob_class_level(const flagjob_class *k, size_t u, size_t p)
{
	return k->cells[u * k->npupils + p].level;
}

int
flagjob_class_high(const flagjob_class *k, size_t u, size_t p)
{
	return k->cells[u * k->npupils + p].high;
}

/* Pupil p's items for unit u in k->scratch (unseen ones zero); how many. */
static size_t
class_items(flagjob_class *k, size_t u, size_t p)
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
flagjob_class_assess(flagjob_class *k, size_t u, size_t p, const fsrs_model *m,
    const mastery_thresholds *t, int32_t day, mastery_result *out)
{
	size_t n = class_items(k, u, p);

	mastery_assess(m, t, k->scratch, n, day, out);
}

void
flagjob_class_assess_ahead(flagjob_class *k, size_t u, size_t p,
    const struct flagjob_school *set, mastery_result *out)
{
	int32_t until = set->today + set->flags.horizon_days;
	size_t n = class_items(k, u, p);

	if (flags_practising(&set->flags, k->last_day[p], set->today))
		mastery_project_practised(set->model, k->scratch, n, set->today, until);
	mastery_assess(set->model, &set->mastery, k->scratch, n, until, out);
}

json_t *
flagjob_reasons_json(unsigned reasons)
{
	json_t *a = json_array();

	if (reasons & FLAG_REASON_LOW_RECALL)
		json_array_append_new(a, json_string("low_recall"));
	if (reasons & FLAG_REASON_FALLEN)
		json_array_append_new(a, json_string("fallen"));
	return a;
}

/* ---- the job ---- */

struct flagjob {
	struct app *app;
	struct event *timer;	/* the interval */
	struct event *kick;	/* a full run, from the loop */
	struct event *debounce;	/* a run after answers */
	struct event *yield;	/* waiting for the batch job to finish */
	bool yielded;		/* since the last lease renewal */
	int64_t interval_ms, debounce_ms;
	bool running, stopped;
	bool again, again_full;	/* asked for while running */
	bool full;		/* this run: every school, else new reviews only */
	db_req *req;		/* in flight */
	bool in_txn;		/* a class transaction is in flight */

	/* the school being worked on */
	int64_t last_school;
	char claimed_at[40];	/* the clock when the school was claimed */
	char school[24];
	char week[16];		/* Monday of the local week */
	bool digest_due;	/* digest weekday, from the prompt time */
	struct flagjob_school set;
	int64_t *classes;
	size_t nclasses, ci;
	int tries;
	db_txn *txn;
	int n_flagged, n_changed, n_digests;
};

static void run_next_school(flagjob *f);
static void next_class(flagjob *f);
static void run_done(flagjob *f);

/*
 * Claim the next school after $2 (all of them, or with $3 only those with
 * reviews past their mark), and move the mark to the newest review now.
 */
static const char claim_sql[] =
    "WITH j AS (UPDATE school_flag_job j SET lease_until = $1::timestamptz + " LEASE ","
    "  review_mark = coalesce((SELECT max(r.review_id) FROM review r"
    "   WHERE r.school_id = j.school_id), 0)"
    " FROM (SELECT j2.school_id FROM school_flag_job j2 JOIN school s2"
    "   ON s2.school_id = j2.school_id AND s2.active WHERE j2.school_id > $2::bigint"
    "   AND (j2.lease_until IS NULL OR j2.lease_until < $1::timestamptz)"
    "   AND (NOT $3::boolean OR EXISTS (SELECT 1 FROM review r WHERE r.school_id = j2.school_id"
    "     AND r.review_id > j2.review_mark))"
    "   ORDER BY j2.school_id LIMIT 1 FOR UPDATE OF j2 SKIP LOCKED) pick"
    " WHERE j.school_id = pick.school_id RETURNING j.school_id)"
    " SELECT s.school_id,"
    " extract(isodow FROM ($1::timestamptz AT TIME ZONE s.tz))::int = s.digest_weekday"
    "   AND ($1::timestamptz AT TIME ZONE s.tz)::time >= s.prompt_time,"
    " date_trunc('week', $1::timestamptz AT TIME ZONE s.tz)::date::text, "
    FLAGJOB_SCHOOL_COLUMNS("$1")
    " FROM j JOIN school s ON s.school_id = j.school_id";

static void
rows_made(const struct db_reply *r, void *arg)
{
	flagjob *f = arg;

	f->req = NULL;
	if (r->status != DB_OK) {
		if (r->status != DB_UNAVAILABLE)
			log_warnx("flagjob", "run failed", "step=start err=\"%s\"", r->error);
		run_done(f);
		return;
	}
	run_next_school(f);
}

static void
start_run(flagjob *f, bool full)
{
	f->running = true;
	f->full = full;
	f->last_school = 0;
	if (!full) {
		run_next_school(f);
		return;
	}
	/* A school new since the last run gets its row. */
	f->req = db_query(f->app->db, "INSERT INTO school_flag_job (school_id)"
	    " SELECT school_id FROM school ON CONFLICT DO NOTHING", 0, NULL, rows_made, f);
}

static void
kick_cb(evutil_socket_t fd, short what, void *arg)
{
	flagjob *f = arg;

	if (f->stopped)
		return;
	if (f->running) {
		f->again = true;
		f->again_full = true;
		return;
	}
	start_run(f, true);
}

static void
debounce_cb(evutil_socket_t fd, short what, void *arg)
{
	flagjob *f = arg;

	if (f->stopped)
		return;
	if (f->running) {
		f->again = true;
		return;
	}
	start_run(f, false);
}

void
flagjob_kick(flagjob *f)
{
	event_active(f->kick, EV_TIMEOUT, 0);
}

void
flagjob_kick_answers(flagjob *f)
{
	struct timeval tv = { (time_t)(f->debounce_ms / 1000),
	    (suseconds_t)(f->debounce_ms % 1000) * 1000 };

	/* The first answer arms it; later ones ride along. */
	if (!f->stopped && !evtimer_pending(f->debounce, NULL))
		evtimer_add(f->debounce, &tv);
}

static void
clock_moved(void *arg)
{
	flagjob_kick(arg);
}

/* Every answer's transaction notifies the outbox channel. */
static void
outbox_notified(const char *channel, const char *payload, void *arg)
{
	flagjob_kick_answers(arg);
}

static void
run_done(flagjob *f)
{
	f->running = false;
	flagjob_school_clear(&f->set);
	free(f->classes);
	f->classes = NULL;
	f->nclasses = 0;
	if (f->again && !f->stopped) {
		bool full = f->again_full;

		f->again = f->again_full = false;
		start_run(f, full);
	}
}

static void classes_listed(const struct db_reply *r, void *arg);

static void
claimed(const struct db_reply *r, void *arg)
{
	flagjob *f = arg;
	const PGresult *res;
	char err[256];
	const char *p[1];

	f->req = NULL;
	if (r->status != DB_OK) {
		if (r->status != DB_UNAVAILABLE)
			log_warnx("flagjob", "claim failed", "err=\"%s\"", r->error);
		run_done(f);
		return;
	}
	res = r->results[0];
	if (PQntuples(res) == 0) {
		run_done(f);	/* every school visited */
		return;
	}
	util_strlcpy(f->school, PQgetvalue(res, 0, 0), sizeof f->school);
	f->last_school = strtoll(f->school, NULL, 10);
	f->digest_due = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
	util_strlcpy(f->week, PQgetvalue(res, 0, 2), sizeof f->week);
	flagjob_school_clear(&f->set);
	if (!flagjob_school_parse(res, 0, 3, &f->set, err, sizeof err)) {
		log_warnx("flagjob", "school settings refused", "school=%s err=\"%s\"", f->school, err);
		flagjob_school_clear(&f->set);
		run_next_school(f);
		return;
	}
	f->n_flagged = f->n_changed = f->n_digests = 0;
	p[0] = f->school;
	{
		db_req *req = db_req_new(classes_listed, f);

		/* Flags of units no longer taught (or gone) go; then the classes to visit. */
		db_req_add(req, "DELETE FROM flag fl WHERE fl.school_id = $1 AND NOT EXISTS"
		    " (SELECT 1 FROM taught t JOIN unit u ON u.school_id = t.school_id"
		    "   AND u.unit_id = t.unit_id AND u.active"
		    "   WHERE t.school_id = fl.school_id AND t.class_id = fl.class_id"
		    "   AND t.unit_id = fl.unit_id)", 1, p);
		db_req_add(req, "SELECT k.class_id FROM class k WHERE k.school_id = $1 AND k.active"
		    " AND EXISTS (SELECT 1 FROM taught t WHERE t.school_id = k.school_id"
		    "   AND t.class_id = k.class_id) ORDER BY k.class_id", 1, p);
		f->req = db_submit(f->app->db, req);
	}
}

static void
run_next_school(flagjob *f)
{
	const char *p[3] = { f->claimed_at, NULL, f->full ? "false" : "true" };
	char last[24];

	if (f->stopped) {
		run_done(f);
		return;
	}
	clock_now_iso(f->claimed_at, sizeof f->claimed_at);
	snprintf(last, sizeof last, "%" PRId64, f->last_school);
	p[1] = last;
	f->req = db_query(f->app->db, claim_sql, 3, p, claimed, f);
}

static void
school_released(const struct db_reply *r, void *arg)
{
	flagjob *f = arg;

	f->req = NULL;
	if (r->status != DB_OK)
		log_warnx("flagjob", "lease not released", "school=%s err=\"%s\"", f->school, r->error);
	run_next_school(f);
}

static void
finish_school(flagjob *f)
{
	const char *p[2] = { f->school, f->claimed_at };

	log_debug("flagjob", "school done", "school=%s classes=%zu flagged=%d level_changes=%d"
	    " digests=%d", f->school, f->nclasses, f->n_flagged, f->n_changed, f->n_digests);
	if (f->n_flagged > 0 || f->n_digests > 0)
		log_info("flagjob", "flags updated", "school=%s flagged=%d digests=%d",
		    f->school, f->n_flagged, f->n_digests);
	/* Done as of the claim: what the flags were computed for. */
	f->req = db_query(f->app->db, "UPDATE school_flag_job SET lease_until = NULL,"
	    " done_at = $2::timestamptz WHERE school_id = $1", 2, p, school_released, f);
}

static void
classes_listed(const struct db_reply *r, void *arg)
{
	flagjob *f = arg;
	const PGresult *res;

	f->req = NULL;
	if (r->status != DB_OK) {
		log_warnx("flagjob", "classes not read", "school=%s err=\"%s\"", f->school, r->error);
		run_done(f);	/* the lease runs out; a later run tries again */
		return;
	}
	res = r->results[1];
	free(f->classes);
	f->nclasses = (size_t)PQntuples(res);
	f->classes = xcalloc(f->nclasses + 1, sizeof *f->classes);
	for (size_t i = 0; i < f->nclasses; i++)
		f->classes[i] = strtoll(PQgetvalue(res, (int)i, 0), NULL, 10);
	f->ci = 0;
	f->tries = 0;
	next_class(f);
}

static void class_read(const struct db_reply *r, void *arg);

static void
lease_renewed(const struct db_reply *r, void *arg)
{
	flagjob *f = arg;

	f->req = NULL;
	if (r->status != DB_OK) {
		log_warnx("flagjob", "lease not renewed", "school=%s err=\"%s\"", f->school, r->error);
		run_done(f);
		return;
	}
	f->ci++;	/* marks the renewal done: see next_class */
	next_class(f);
}

/* The class's statements run as a snapshot: a concurrent answer makes the write fail and retry. */
static void
start_class(flagjob *f)
{
	char cls[24];
	const char *p[3] = { f->school, cls, f->week };
	db_req *req = db_req_new(class_read, f);

	snprintf(cls, sizeof cls, "%" PRId64, f->classes[f->ci / 2]);
	db_req_add(req, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", 0, NULL);
	db_req_add(req, "SELECT k.name, EXISTS (SELECT 1 FROM class_digest d WHERE"
	    " d.school_id = k.school_id AND d.class_id = k.class_id AND d.week = $3::date)"
	    " FROM class k WHERE k.school_id = $1 AND k.class_id = $2::bigint", 3, p);
	flagjob_class_sql(req, f->school, cls);
	f->in_txn = true;
	f->txn = db_txn_begin(f->app->db, req);
}

static void
yield_cb(evutil_socket_t fd, short what, void *arg)
{
	next_class(arg);
}

/*
 * The daily batches are what pupils wait for, the flags can wait: while the
 * batch job runs (both start when the clock reaches the prompt time, and
 * both read every memory state), classes are not started.
 */
static bool
yield_to_batches(flagjob *f)
{
	struct timeval tv = { 0, YIELD_MS * 1000 };

	if (f->app->batches == NULL || !batches_busy(f->app->batches))
		return false;
	f->yielded = true;
	evtimer_add(f->yield, &tv);
	return true;
}

/*
 * f->ci counts two steps a class: even, renew the lease (every LEASE_EVERY
 * classes, and after waiting for the batch job) and start it; odd, it is
 * in its transaction.
 */
static void
next_class(flagjob *f)
{
	size_t k = f->ci / 2;

	if (f->stopped) {
		run_done(f);
		return;
	}
	if (k >= f->nclasses) {
		finish_school(f);
		return;
	}
	if (f->ci % 2 == 0) {
		if (yield_to_batches(f))
			return;
		if ((k > 0 && k % LEASE_EVERY == 0) || f->yielded) {
			f->yielded = false;
			char now[40];
			const char *p[2] = { now, f->school };

			clock_now_iso(now, sizeof now);
			f->req = db_query(f->app->db, "UPDATE school_flag_job SET lease_until ="
			    " $1::timestamptz + " LEASE " WHERE school_id = $2", 2, p, lease_renewed, f);
			return;
		}
		f->ci++;
	}
	start_class(f);
}

/* The class is done (or given up): on to the next. */
static void
class_next(flagjob *f)
{
	f->ci++;
	f->tries = 0;
	next_class(f);
}

static void
class_failed(flagjob *f, const struct db_reply *r, const char *step)
{
	f->in_txn = false;
	f->txn = NULL;	/* a failed reply ends the transaction */
	if (r->status == DB_UNAVAILABLE) {
		run_done(f);
		return;
	}
	if ((strcmp(r->sqlstate, "40001") == 0 || strcmp(r->sqlstate, "40P01") == 0) &&
	    ++f->tries < CLASS_TRIES) {
		log_debug("flagjob", "class retried", "school=%s class=%" PRId64 " try=%d",
		    f->school, f->classes[f->ci / 2], f->tries);
		start_class(f);
		return;
	}
	log_warnx("flagjob", "class skipped", "school=%s class=%" PRId64 " step=%s err=\"%s\"",
	    f->school, f->classes[f->ci / 2], step, r->error);
	class_next(f);
}

static void
class_written(const struct db_reply *r, void *arg)
{
	flagjob *f = arg;

	if (r->status != DB_OK) {
		class_failed(f, r, "write");
		return;
	}
	f->in_txn = false;
	f->txn = NULL;
	class_next(f);
}

/* What one class x unit came to, for the flag row, the event and the digest. */
struct unit_outcome {
	flags_result res;
	uint32_t levels[4];	/* pupils at each level now */
};

static void
set_class_json(json_t *data, int64_t class_id, const char *name)
{
	json_object_set_new(data, "class", json_pack("{s:I, s:s}", "id", (json_int_t)class_id,
	    "name", name));
}

static json_t *
unit_json(const struct flagjob_unit *u)
{
	return json_pack("{s:I, s:s}", "id", (json_int_t)u->id, "name", u->name);
}

static char *
day_text(int32_t day, char *buf, size_t len)
{
	/* Days since 1970-01-01 to a civil date (proleptic Gregorian). */
	int64_t z = (int64_t)day + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t y = (int64_t)yoe + era * 400;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	unsigned d = doy - (153 * mp + 2) / 5 + 1;
	unsigned m = mp < 10 ? mp + 3 : mp - 9;

	snprintf(buf, len, "%04" PRId64 "-%02u-%02u", y + (m <= 2), m, d);
	return buf;
}

static json_t *
flag_json(const struct flagjob_unit *u, const flags_result *res, int32_t horizon)
{
	char since[32];

	return json_pack("{s:o, s:s, s:o, s:i, s:i, s:i, s:o, s:o, s:i, s:s}",
	    "unit", unit_json(u),
	    "status", flags_status_name(res->status),
	    "reasons", flagjob_reasons_json(res->reasons),
	    "pupils", (int)res->n_concerned,
	    "class_pupils", (int)res->n_pupils,
	    "fallen", (int)res->n_fallen,
	    "class_recall", res->n_evidence > 0 ? json_real(res->mean_recall) : json_null(),
	    "class_recall_ahead", res->n_evidence > 0 ? json_real(res->mean_recall_ahead) :
	    json_null(),
	    "horizon_days", (int)horizon,
	    "since", day_text(res->since_day, since, sizeof since));
}

static void
add_event(db_req *req, const char *school, const char *class_id, const char *type,
    json_t *data, const char *now)
{
	struct outbox_event ev = { 0 };

	ev.school_id = school;
	ev.type = type;
	ev.data = data;
	ev.now = now;
	ev.class_id = class_id;
	ev.no_notify = true;
	outbox_enqueue_sql(req, &ev);
	json_decref(data);
}

static const char write_flags_sql[] =
    "INSERT INTO flag AS f (school_id, class_id, unit_id, status, reasons, pupils, class_pupils,"
    " fallen, class_recall, class_recall_ahead, horizon_days, since, updated_at)"
    " SELECT $1, $2::bigint, x.unit_id, x.status, x.reasons, x.pupils, x.class_pupils, x.fallen,"
    "  x.recall, x.ahead, x.horizon, date '1970-01-01' + x.since, $3::timestamptz"
    " FROM jsonb_to_recordset($4::jsonb) AS x(unit_id bigint, status text, reasons int,"
    "  pupils int, class_pupils int, fallen int, recall float8, ahead float8, horizon int,"
    "  since int)"
    " ON CONFLICT (school_id, class_id, unit_id) DO UPDATE SET status = EXCLUDED.status,"
    " reasons = EXCLUDED.reasons, pupils = EXCLUDED.pupils,"
    " class_pupils = EXCLUDED.class_pupils, fallen = EXCLUDED.fallen,"
    " class_recall = EXCLUDED.class_recall, class_recall_ahead = EXCLUDED.class_recall_ahead,"
    " horizon_days = EXCLUDED.horizon_days, since = EXCLUDED.since,"
    " updated_at = EXCLUDED.updated_at";

/* Levels forgetting moved: the history row, then the level (rows exist: they were read). */
static const char write_mastery_sql[] =
    "WITH x AS (SELECT * FROM jsonb_to_recordset($3::jsonb) AS x(pupil_id bigint,"
    "  unit_id bigint, from_level smallint, level smallint, recall float8, coverage float8)),"
    " h AS (INSERT INTO mastery_history (school_id, pupil_id, unit_id, changed_at,"
    "  from_level, to_level, recall)"
    "  SELECT $1, pupil_id, unit_id, $2::timestamptz, from_level, level, recall FROM x"
    "  ON CONFLICT (school_id, pupil_id, unit_id, changed_at) DO UPDATE SET"
    "  to_level = EXCLUDED.to_level, recall = EXCLUDED.recall)"
    " UPDATE mastery ml SET level = x.level, recall = x.recall, coverage = x.coverage,"
    " updated_at = $2::timestamptz"
    " FROM x WHERE ml.school_id = $1 AND ml.pupil_id = x.pupil_id AND ml.unit_id = x.unit_id";

/* The snapshot is read: assess, flag, and write it all back with the events. */
static void
class_read(const struct db_reply *r, void *arg)
{
	flagjob *f = arg;
	const struct flagjob_school *set = &f->set;
	const PGresult *cr;
	flagjob_class *k;
	size_t nu, np;
	struct unit_outcome *out;
	flags_pupil *fp;
	json_t *flag_rows = json_array(), *mastery_rows = json_array(), *events = json_array();
	char now[40], cls[24];
	int64_t class_id = f->classes[f->ci / 2];
	const char *class_name;
	bool digest;
	db_req *req;

	if (r->status != DB_OK) {
		class_failed(f, r, "read");
		json_decref(flag_rows);
		json_decref(mastery_rows);
		json_decref(events);
		return;
	}
	snprintf(cls, sizeof cls, "%" PRId64, class_id);
	clock_now_iso(now, sizeof now);
	cr = r->results[1];
	if (PQntuples(cr) == 0) {	/* the class went away */
		json_decref(flag_rows);
		json_decref(mastery_rows);
		json_decref(events);
		db_txn_abort(f->txn);
		f->txn = NULL;
		f->in_txn = false;
		class_next(f);
		return;
	}
	class_name = PQgetvalue(cr, 0, 0);
	digest = f->digest_due && strcmp(PQgetvalue(cr, 0, 1), "f") == 0;
	k = flagjob_class_parse(&r->results[2]);
	nu = flagjob_class_nunits(k);
	np = flagjob_class_npupils(k);
	out = xcalloc(nu + 1, sizeof *out);
	fp = xcalloc(np + 1, sizeof *fp);

	for (size_t u = 0; u < nu; u++) {
		const struct flagjob_unit *unit = flagjob_class_unit(k, u);
		flags_state prev = { unit->flag, unit->flag_since };
		flags_result *res = &out[u].res;
		char since[32];

		for (size_t p = 0; p < np; p++) {
			mastery_result now_r, ahead_r;
			int stored = flagjob_class_level(k, u, p), high = flagjob_class_high(k, u, p);
			mastery_level previous = high >= 0 ? (mastery_level)high : MASTERY_EMERGING;

			flagjob_class_assess(k, u, p, set->model, &set->mastery, set->today, &now_r);
			flagjob_class_assess_ahead(k, u, p, set, &ahead_r);
			fp[p] = flags_pupil_from_mastery(previous, &now_r, &ahead_r);
			out[u].levels[now_r.level]++;
			if (stored >= 0 && stored != (int)now_r.level) {
				const struct flagjob_pupil *pu = flagjob_class_pupil(k, p);
				char next[256];

				mastery_next_render(&now_r.next, next, sizeof next);
				json_array_append_new(mastery_rows, json_pack(
				    "{s:I, s:I, s:i, s:i, s:f, s:f}",
				    "pupil_id", (json_int_t)pu->id, "unit_id", (json_int_t)unit->id,
				    "from_level", stored, "level", (int)now_r.level,
				    "recall", now_r.mean_recall, "coverage", now_r.coverage));
				json_array_append_new(events, json_pack("{s:s, s:o}",
				    "type", "mastery.changed", "data", json_pack(
				    "{s:I, s:{s:I, s:s}, s:o, s:s, s:s, s:s}",
				    "school_id", (json_int_t)strtoll(f->school, NULL, 10),
				    "pupil", "id", (json_int_t)pu->id, "external_id", pu->external_id,
				    "unit", unit_json(unit),
				    "from", mastery_level_name((mastery_level)stored),
				    "to", mastery_level_name(now_r.level),
				    "next_level_needs", next)));
				f->n_changed++;
			}
		}
		flags_assess(&set->flags, fp, np, set->today,
		    unit->flag != FLAG_NONE ? &prev : NULL, res);
		json_array_append_new(flag_rows, json_pack(
		    "{s:I, s:s, s:i, s:i, s:i, s:i, s:o, s:o, s:i, s:o}",
		    "unit_id", (json_int_t)unit->id,
		    "status", flags_status_name(res->status),
		    "reasons", (int)res->reasons,
		    "pupils", (int)res->n_concerned,
		    "class_pupils", (int)res->n_pupils,
		    "fallen", (int)res->n_fallen,
		    "recall", res->n_evidence > 0 ? json_real(res->mean_recall) : json_null(),
		    "ahead", res->n_evidence > 0 ? json_real(res->mean_recall_ahead) : json_null(),
		    "horizon", (int)set->flags.horizon_days,
		    "since", res->status != FLAG_NONE ? json_integer(res->since_day) : json_null()));
		/* A new flag, or a worse one (at risk -> forgotten), is news. */
		if (res->status > unit->flag) {
			json_t *data = flag_json(unit, res, set->flags.horizon_days);

			json_object_set_new(data, "school_id",
			    json_integer(strtoll(f->school, NULL, 10)));
			set_class_json(data, class_id, class_name);
			json_object_set_new(data, "previous_status",
			    json_string(flags_status_name(unit->flag)));
			json_array_append_new(events, json_pack("{s:s, s:o}", "type", "topic.flagged",
			    "data", data));
			f->n_flagged++;
			log_debug("flagjob", "flagged", "school=%s class=%s unit=%" PRId64
			    " status=%s since=%s", f->school, cls, unit->id,
			    flags_status_name(res->status),
			    day_text(res->since_day, since, sizeof since));
		}
	}

	req = db_req_new(class_written, f);
	{
		char *rows = json_dumps(flag_rows, JSON_COMPACT);
		const char *p[4] = { f->school, cls, now, rows };

		db_req_add(req, write_flags_sql, 4, p);
		free(rows);
	}
	if (json_array_size(mastery_rows) > 0) {
		char *rows = json_dumps(mastery_rows, JSON_COMPACT);
		const char *p[3] = { f->school, now, rows };

		db_req_add(req, write_mastery_sql, 3, p);
		free(rows);
	}
	if (digest) {
		json_t *data = json_object(), *flags = json_array(), *units = json_array();
		const char *p[4] = { f->school, cls, f->week, now };

		json_object_set_new(data, "school_id", json_integer(strtoll(f->school, NULL, 10)));
		set_class_json(data, class_id, class_name);
		json_object_set_new(data, "week", json_string(f->week));
		json_object_set_new(data, "local_date", json_string(set->local_date));
		for (size_t u = 0; u < nu; u++) {
			const struct flagjob_unit *unit = flagjob_class_unit(k, u);
			const flags_result *res = &out[u].res;

			if (res->status != FLAG_NONE)
				json_array_append_new(flags, flag_json(unit, res,
				    set->flags.horizon_days));
			json_array_append_new(units, json_pack(
			    "{s:o, s:s, s:{s:i, s:i, s:i, s:i}, s:o}",
			    "unit", unit_json(unit), "taught_on", unit->taught_on,
			    "levels", "emerging", (int)out[u].levels[MASTERY_EMERGING],
			    "developing", (int)out[u].levels[MASTERY_DEVELOPING],
			    "secure", (int)out[u].levels[MASTERY_SECURE],
			    "mastery", (int)out[u].levels[MASTERY_MASTERY],
			    "class_recall", res->n_evidence > 0 ? json_real(res->mean_recall) :
			    json_null()));
		}
		json_object_set_new(data, "pupils", json_integer((json_int_t)np));
		json_object_set_new(data, "flags", flags);
		json_object_set_new(data, "units", units);
		json_array_append_new(events, json_pack("{s:s, s:o}", "type", "digest.teacher",
		    "data", data));
		/* Once a class a week: a second insert fails the transaction. */
		db_req_add(req, "INSERT INTO class_digest (school_id, class_id, week, sent_at)"
		    " VALUES ($1, $2::bigint, $3::date, $4::timestamptz)", 4, p);
		f->n_digests++;
	}
	{
		size_t i;
		json_t *e;

		json_array_foreach(events, i, e)
			add_event(req, f->school, cls, json_string_value(json_object_get(e, "type")),
			    json_incref(json_object_get(e, "data")), now);
		if (json_array_size(events) > 0)
			outbox_notify_sql(req);
	}
	json_decref(flag_rows);
	json_decref(mastery_rows);
	json_decref(events);
	free(out);
	free(fp);
	flagjob_class_free(k);
	db_txn_continue(f->txn, req, true);
}

/* ---- life ---- */

flagjob *
flagjob_new(struct app *app, int64_t interval_ms, int64_t debounce_ms)
{
	flagjob *f = xcalloc(1, sizeof *f);
	struct timeval tv = { (time_t)(interval_ms / 1000),
	    (suseconds_t)(interval_ms % 1000) * 1000 };

	f->app = app;
	f->interval_ms = interval_ms;
	f->debounce_ms = debounce_ms > 0 ? debounce_ms : 1;
	f->timer = event_new(app->base, -1, EV_PERSIST, kick_cb, f);
	f->kick = event_new(app->base, -1, 0, kick_cb, f);
	f->debounce = evtimer_new(app->base, debounce_cb, f);
	f->yield = evtimer_new(app->base, yield_cb, f);
	event_add(f->timer, &tv);
	clock_subscribe(clock_moved, f);
	db_listen(app->db, OUTBOX_CHANNEL, outbox_notified, NULL, f);
	flagjob_kick(f);
	return f;
}

void
flagjob_stop(flagjob *f)
{
	f->stopped = true;
	event_del(f->timer);
	event_del(f->debounce);
	/* A class waiting for the batch job: give up the run now. */
	if (evtimer_pending(f->yield, NULL)) {
		event_del(f->yield);
		run_done(f);
	}
}

bool
flagjob_busy(const flagjob *f)
{
	return f->running || f->req != NULL || f->in_txn;
}

void
flagjob_free(flagjob *f)
{
	if (f == NULL)
		return;
	if (f->req != NULL)
		db_cancel(f->req);
	event_free(f->timer);
	event_free(f->kick);
	event_free(f->debounce);
	event_free(f->yield);
	flagjob_school_clear(&f->set);
	free(f->classes);
	free(f);
}
