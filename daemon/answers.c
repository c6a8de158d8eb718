/* answers.c: grading and group commit of answers (see answers.h). */
#include "autoconf.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "answers.h"
#include "app.h"
#include "clock.h"
#include "db.h"
#include "fsrs.h"
#include "log.h"
#include "mastery.h"
#include "push.h"
#include "util.h"

struct item {
	struct answer_in in;
	answers_cb cb;
	void *arg;
	int status;
	char *result;		/* feedback JSON */
	char *error;
};

struct group {
	answers *a;
	struct item *items;
	int n;
	db_txn *txn;
	json_t *inputs;		/* [{i, school_id, prompt_id, at}] */
	int tries;		/* deadlock or serialization retries */
};

static void group_begin(struct group *g);

struct answers {
	struct app *app;
	int64_t late_limit_us;
	int64_t window_ms;
	struct group *open;	/* collecting */
	struct event *flush_ev;
	int inflight;		/* answers in groups being committed */
	int groups;		/* groups being committed */
};

/* ---- statements ---- */

/* The prompts, their questions and schools, locked against a second answer. */
static const char read_prompts_sql[] =
    "SELECT x.i, p.pupil_id, p.question_id,"
    " (extract(epoch FROM p.expires_at) * 1000000)::bigint,"
    " p.answered_at IS NOT NULL, p.result::text,"
    " q.kind, q.choices::text, q.correct_choice, q.accepted_answers::text, q.explanation,"
    " q.fast_ms, q.slow_ms, q.unit_id, u.name,"
    " s.desired_retention, s.max_interval_days, s.self_rating,"
    " ((x.at AT TIME ZONE s.tz)::date - date '1970-01-01'),"
    " s.mastery_min_coverage, s.mastery_developing_recall, s.mastery_secure_recall,"
    " s.mastery_secure_share, s.mastery_stability_days, s.mastery_durable_share,"
    " pu.external_id"
    " FROM jsonb_to_recordset($1::jsonb) AS x(i int, school_id bigint, prompt_id bigint, at timestamptz)"
    " JOIN prompt p ON p.school_id = x.school_id AND p.prompt_id = x.prompt_id"
    " JOIN question q ON q.school_id = p.school_id AND q.question_id = p.question_id"
    " JOIN unit u ON u.school_id = q.school_id AND u.unit_id = q.unit_id"
    " JOIN school s ON s.school_id = p.school_id"
    " JOIN pupil pu ON pu.school_id = p.school_id AND pu.pupil_id = p.pupil_id"
    /* locks taken in one global order, so two groups never deadlock */
    " ORDER BY p.school_id, p.prompt_id FOR UPDATE OF p";

/* Lock the states the answers will change (they may not exist yet). */
static const char lock_states_sql[] =
    /* driven from the few answered prompts, row by row through the keys */
    "SELECT l.n FROM (SELECT p.school_id, p.pupil_id, p.question_id"
    "  FROM jsonb_to_recordset($1::jsonb) AS x(school_id bigint, prompt_id bigint)"
    "  JOIN prompt p ON p.school_id = x.school_id AND p.prompt_id = x.prompt_id"
    "  ORDER BY 1, 2, 3) k"
    " CROSS JOIN LATERAL (SELECT 1 AS n FROM memory_state m WHERE m.school_id = k.school_id"
    "  AND m.pupil_id = k.pupil_id AND m.question_id = k.question_id FOR UPDATE) l";

/* Every question of the answered units with the pupil's state, and their levels. */
static const char read_units_sql[] =
    "WITH pu AS (SELECT DISTINCT p.school_id, p.pupil_id, q0.unit_id"
    "  FROM jsonb_to_recordset($1::jsonb) AS x(school_id bigint, prompt_id bigint)"
    "  JOIN prompt p ON p.school_id = x.school_id AND p.prompt_id = x.prompt_id"
    "  JOIN question q0 ON q0.school_id = p.school_id AND q0.question_id = p.question_id)"
    " SELECT pu.school_id, pu.pupil_id, pu.unit_id, q.question_id, q.active,"
    "  m.stability, m.difficulty, m.reps, m.lapses, m.last_review_day - date '1970-01-01',"
    "  ml.level, ml.best_level"
    " FROM pu JOIN question q ON q.school_id = pu.school_id AND q.unit_id = pu.unit_id"
    " LEFT JOIN memory_state m ON m.school_id = pu.school_id AND m.pupil_id = pu.pupil_id"
    "  AND m.question_id = q.question_id"
    " LEFT JOIN mastery ml ON ml.school_id = pu.school_id AND ml.pupil_id = pu.pupil_id"
    "  AND ml.unit_id = pu.unit_id"
    " ORDER BY 1, 2, 3, 4";

/* Which event types the schools' enabled endpoints take ('*': all). */
static const char read_endpoints_sql[] =
    "SELECT DISTINCT e.school_id, coalesce(t.type, '*') FROM endpoint e"
    " LEFT JOIN LATERAL unnest(e.event_types) AS t(type) ON true"
    " WHERE e.enabled AND e.school_id IN (SELECT x.school_id"
    "  FROM jsonb_to_recordset($1::jsonb) AS x(school_id bigint))";

/* Does an enabled endpoint of the school take this event type? */
static bool
wanted(const PGresult *eps, int64_t school, const char *type)
{
	for (int i = 0; i < PQntuples(eps); i++) {
		const char *t = PQgetvalue(eps, i, 1);
		if (strtoll(PQgetvalue(eps, i, 0), NULL, 10) == school &&
		    (strcmp(t, "*") == 0 || strcmp(t, type) == 0))
			return true;
	}
	return false;
}

static const char write_prompts_sql[] =
    "UPDATE prompt p SET answered_at = x.at, result = x.result"
    " FROM jsonb_to_recordset($1::jsonb) AS x(school_id bigint, prompt_id bigint,"
    "  at timestamptz, result jsonb)"
    " WHERE p.school_id = x.school_id AND p.prompt_id = x.prompt_id";

static const char write_states_sql[] =
    "INSERT INTO memory_state AS m (school_id, pupil_id, question_id, stability, difficulty,"
    " reps, lapses, last_review, last_review_day, due_day)"
    " SELECT x.school_id, x.pupil_id, x.question_id, x.stability, x.difficulty, x.reps,"
    "  x.lapses, x.at, date '1970-01-01' + x.day, date '1970-01-01' + x.due"
    " FROM jsonb_to_recordset($1::jsonb) AS x(school_id bigint, pupil_id bigint,"
    "  question_id bigint, stability float8, difficulty float8, reps int, lapses int,"
    "  at timestamptz, day int, due int)"
    " ON CONFLICT (school_id, pupil_id, question_id) DO UPDATE SET"
    " stability = EXCLUDED.stability, difficulty = EXCLUDED.difficulty, reps = EXCLUDED.reps,"
    " lapses = EXCLUDED.lapses, last_review = EXCLUDED.last_review,"
    " last_review_day = EXCLUDED.last_review_day, due_day = EXCLUDED.due_day";

static const char write_reviews_sql[] =
    "INSERT INTO review (school_id, pupil_id, question_id, prompt_id, reviewed_at, rating,"
    " correct, latency_ms, elapsed_days, retrievability, stability, difficulty)"
    " SELECT x.school_id, x.pupil_id, x.question_id, x.prompt_id, x.at, x.rating, x.correct,"
    "  x.latency_ms, x.elapsed, x.r, x.stability, x.difficulty"
    " FROM jsonb_to_recordset($1::jsonb) AS x(school_id bigint, pupil_id bigint,"
    "  question_id bigint, prompt_id bigint, at timestamptz, rating smallint, correct boolean,"
    "  latency_ms int, elapsed int, r float8, stability float8, difficulty float8)";

static const char write_mastery_sql[] =
    "WITH x AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(school_id bigint,"
    "  pupil_id bigint, unit_id bigint, level smallint, best smallint, recall float8,"
    "  coverage float8, at timestamptz, changed boolean, from_level smallint)),"
    " h AS (INSERT INTO mastery_history (school_id, pupil_id, unit_id, changed_at,"
    "  from_level, to_level, recall)"
    "  SELECT school_id, pupil_id, unit_id, at, from_level, level, recall FROM x WHERE changed"
    "  ON CONFLICT (school_id, pupil_id, unit_id, changed_at) DO UPDATE SET"
    "  to_level = EXCLUDED.to_level, recall = EXCLUDED.recall)"
    " INSERT INTO mastery AS ml (school_id, pupil_id, unit_id, level, best_level, recall,"
    "  coverage, updated_at)"
    " SELECT school_id, pupil_id, unit_id, level, best, recall, coverage, at FROM x"
    " ON CONFLICT (school_id, pupil_id, unit_id) DO UPDATE SET level = EXCLUDED.level,"
    " best_level = greatest(ml.best_level, EXCLUDED.best_level), recall = EXCLUDED.recall,"
    " coverage = EXCLUDED.coverage, updated_at = EXCLUDED.updated_at";

/* ---- the pupil x unit states of a group ---- */

struct qstate {
	int64_t school_id, pupil_id, unit_id, question_id;
	bool active;
	fsrs_state st;
	int32_t last_day;
	int level, best;	/* stored mastery of the unit, -1 none */
	bool touched;		/* answered in this group: write back */
	int32_t due;
	int64_t at_us;
};

static struct qstate *
find_state(struct qstate *qs, int n, int64_t school, int64_t pupil, int64_t question)
{
	for (int i = 0; i < n; i++)
		if (qs[i].question_id == question && qs[i].pupil_id == pupil &&
		    qs[i].school_id == school)
			return &qs[i];
	return NULL;
}

/* A model per school setting; a group rarely spans more than a few schools. */
struct models {
	struct {
		double retention;
		int max_interval;
		fsrs_model *m;
	} v[8];
	int n;
};

static const fsrs_model *
model_for(struct models *ms, double retention, int max_interval)
{
	char err[128];

	for (int i = 0; i < ms->n; i++)
		if (ms->v[i].retention == retention && ms->v[i].max_interval == max_interval)
			return ms->v[i].m;
	if (ms->n == 8) {
		fsrs_model_free(ms->v[7].m);
		ms->n = 7;
	}
	ms->v[ms->n].retention = retention;
	ms->v[ms->n].max_interval = max_interval;
	ms->v[ms->n].m = fsrs_model_new(NULL, retention, max_interval, err, sizeof err);
	if (ms->v[ms->n].m == NULL)
		ms->v[ms->n].m = fsrs_model_new(NULL, 0.9, 36500, err, sizeof err);
	return ms->v[ms->n++].m;
}

static void
models_free(struct models *ms)
{
	for (int i = 0; i < ms->n; i++)
		fsrs_model_free(ms->v[i].m);
}

/* ---- finishing ---- */

static void
group_free(struct group *g)
{
	for (int i = 0; i < g->n; i++) {
		free(g->items[i].in.in.text ? (char *)g->items[i].in.in.text : NULL);
		free(g->items[i].result);
		free(g->items[i].error);
	}
	free(g->items);
	json_decref(g->inputs);
	free(g);
}

/* Call every answer back (after the commit, or on failure) and free. */
static void
group_done(struct group *g)
{
	answers *a = g->a;

	for (int i = 0; i < g->n; i++) {
		struct item *it = &g->items[i];
		it->cb(it->status, it->result, it->error, it->arg);
	}
	a->inflight -= g->n;
	a->groups--;
	group_free(g);
	/* What gathered while this group committed goes next, at once. */
	if (a->open != NULL && a->groups == 0)
		event_active(a->flush_ev, EV_TIMEOUT, 0);
}

static void
group_fail(struct group *g, const struct db_reply *r)
{
	/* Lost a race with another transaction: the whole group simply runs again. */
	if ((strcmp(r->sqlstate, "40P01") == 0 || strcmp(r->sqlstate, "40001") == 0) &&
	    g->tries++ < 3) {
		for (int i = 0; i < g->n; i++) {
			free(g->items[i].result);
			free(g->items[i].error);
			g->items[i].result = g->items[i].error = NULL;
			g->items[i].status = 500;
		}
		log_debug("answers", "group retried", "sqlstate=%s try=%d", r->sqlstate, g->tries);
		group_begin(g);
		return;
	}
	for (int i = 0; i < g->n; i++) {
		g->items[i].status = r->status == DB_UNAVAILABLE ? 503 : 500;
		free(g->items[i].error);
		g->items[i].error = xstrdup(r->status == DB_UNAVAILABLE ?
		    "the database cannot be reached right now; retry shortly" :
		    "the answer could not be recorded; it has been logged");
	}
	if (r->status != DB_UNAVAILABLE)
		log_warnx("answers", "group failed", "answers=%d err=\"%s\"", g->n, r->error);
	group_done(g);
}

static void
committed(const struct db_reply *r, void *arg)
{
	struct group *g = arg;

	g->txn = NULL;
	if (r->status != DB_OK) {
		group_fail(g, r);
		return;
	}
	group_done(g);
}

static void
set_error(struct item *it, int status, const char *msg)
{
	it->status = status;
	free(it->error);
	it->error = xstrdup(msg);
}

static void
iso_of(int64_t us, char *buf, size_t len)
{
	clock_format_iso(us, buf, len);
}

/* Parse a JSON array of strings into a NULL-terminated vector (owned by j). */
static const char **
strings_of(json_t *j, size_t *n)
{
	const char **v;
	size_t i;
	json_t *e;

	*n = json_is_array(j) ? json_array_size(j) : 0;
	v = xcalloc(*n + 1, sizeof *v);
	json_array_foreach(j, i, e)
		v[i] = json_is_string(e) ? json_string_value(e) : "";
	return v;
}

/*
 * The states are read and locked: grade, run FSRS, assess mastery, and
 * write everything back with the events in the same transaction.
 */
static void
compute(const struct db_reply *r, void *arg)
{
	struct group *g = arg;
	const PGresult *pr, *ur, *eps;
	struct qstate *qs;
	int nqs, *row_of;
	struct models models = { .n = 0 };
	json_t *wp = json_array(), *ws = json_array(), *wr = json_array(), *wm = json_object();
	json_t *events = json_array();
	db_req *req;
	char now[40];

	if (r->status != DB_OK) {
		g->txn = NULL;
		group_fail(g, r);
		return;
	}
	pr = r->results[4];	/* after the four SETs */
	ur = r->results[6];
	eps = r->results[7];
	nqs = PQntuples(ur);
	qs = xcalloc((size_t)nqs + 1, sizeof *qs);
	for (int i = 0; i < nqs; i++) {
		struct qstate *q = &qs[i];
		q->school_id = strtoll(PQgetvalue(ur, i, 0), NULL, 10);
		q->pupil_id = strtoll(PQgetvalue(ur, i, 1), NULL, 10);
		q->unit_id = strtoll(PQgetvalue(ur, i, 2), NULL, 10);
		q->question_id = strtoll(PQgetvalue(ur, i, 3), NULL, 10);
		q->active = strcmp(PQgetvalue(ur, i, 4), "t") == 0;
		if (!PQgetisnull(ur, i, 5)) {
			q->st.stability = strtod(PQgetvalue(ur, i, 5), NULL);
			q->st.difficulty = strtod(PQgetvalue(ur, i, 6), NULL);
			q->st.reps = (uint32_t)atoi(PQgetvalue(ur, i, 7));
			q->st.lapses = (uint32_t)atoi(PQgetvalue(ur, i, 8));
			q->last_day = atoi(PQgetvalue(ur, i, 9));
		}
		q->level = PQgetisnull(ur, i, 10) ? -1 : atoi(PQgetvalue(ur, i, 10));
		q->best = PQgetisnull(ur, i, 11) ? -1 : atoi(PQgetvalue(ur, i, 11));
	}
	row_of = xcalloc((size_t)g->n, sizeof *row_of);
	for (int i = 0; i < g->n; i++)
		row_of[i] = -1;
	for (int k = 0; k < PQntuples(pr); k++)
		row_of[atoi(PQgetvalue(pr, k, 0))] = k;
	clock_now_iso(now, sizeof now);

	for (int i = 0; i < g->n; i++) {
		struct item *it = &g->items[i];
		int k = row_of[i];
		struct grade_question gq = { 0 };
		struct grade_result gr;
		json_t *choices = NULL, *accepted = NULL, *fb;
		const char **cv = NULL, **av = NULL;
		size_t nc = 0, na = 0;
		char err[256], at[40], next[256];
		struct qstate *st;
		const fsrs_model *model;
		mastery_thresholds mt;
		mastery_item *mi;
		mastery_result mres;
		size_t nmi = 0;
		double rbefore = 0;
		uint32_t ivl = 0, elapsed = 0;
		int32_t today;
		int64_t pupil, question, unit, school = it->in.school_id;
		mastery_level before;
		int prev;

		if (k < 0) {
			set_error(it, 404, "no such prompt in this school");
			continue;
		}
		/* A repeat, in an earlier transaction or earlier in this group. */
		if (strcmp(PQgetvalue(pr, k, 4), "t") == 0) {
			it->status = 200;
			it->result = xstrdup(PQgetvalue(pr, k, 5));
			continue;
		}
		{
			int j;
			for (j = 0; j < i; j++)
				if (g->items[j].in.prompt_id == it->in.prompt_id &&
				    g->items[j].in.school_id == school && g->items[j].status == 200 &&
				    g->items[j].result != NULL)
					break;
			if (j < i) {
				it->status = 200;
				it->result = xstrdup(g->items[j].result);
				continue;
			}
		}
		if (it->in.answered_at_us > strtoll(PQgetvalue(pr, k, 3), NULL, 10) +
		    g->a->late_limit_us) {
			set_error(it, 410, "this prompt has expired: it counts as not reviewed, never as wrong");
			continue;
		}
		if (!grade_kind_parse(PQgetvalue(pr, k, 6), &gq.kind)) {
			set_error(it, 422, "this question cannot be answered here");
			continue;
		}
		if (!PQgetisnull(pr, k, 7))
			choices = json_loads(PQgetvalue(pr, k, 7), 0, NULL);
		if (!PQgetisnull(pr, k, 9))
			accepted = json_loads(PQgetvalue(pr, k, 9), 0, NULL);
		cv = strings_of(choices, &nc);
		av = strings_of(accepted, &na);
		gq.choices = cv;
		gq.nchoices = nc;
		gq.correct_choice = PQgetisnull(pr, k, 8) ? -1 : atoi(PQgetvalue(pr, k, 8));
		gq.accepted = av;
		gq.naccepted = na;
		gq.fast_ms = PQgetisnull(pr, k, 11) ? 0 : atoi(PQgetvalue(pr, k, 11));
		gq.slow_ms = PQgetisnull(pr, k, 12) ? 0 : atoi(PQgetvalue(pr, k, 12));
		gq.self_rating_allowed = strcmp(PQgetvalue(pr, k, 17), "t") == 0;
		if (!grade_answer(&gq, &it->in.in, &gr, err, sizeof err)) {
			set_error(it, 422, err);
			goto next_item;
		}
		pupil = strtoll(PQgetvalue(pr, k, 1), NULL, 10);
		question = strtoll(PQgetvalue(pr, k, 2), NULL, 10);
		unit = strtoll(PQgetvalue(pr, k, 13), NULL, 10);
		today = (int32_t)atoi(PQgetvalue(pr, k, 18));
		st = find_state(qs, nqs, school, pupil, question);
		if (st == NULL) {
			set_error(it, 422, "this question is no longer part of its unit");
			goto next_item;
		}
		model = model_for(&models, strtod(PQgetvalue(pr, k, 15), NULL),
		    atoi(PQgetvalue(pr, k, 16)));
		mt.min_coverage = strtod(PQgetvalue(pr, k, 19), NULL);
		mt.developing_recall = strtod(PQgetvalue(pr, k, 20), NULL);
		mt.secure_recall = strtod(PQgetvalue(pr, k, 21), NULL);
		mt.secure_share = strtod(PQgetvalue(pr, k, 22), NULL);
		mt.durable_days = strtod(PQgetvalue(pr, k, 23), NULL);
		mt.durable_share = strtod(PQgetvalue(pr, k, 24), NULL);
		prev = st->level;
		before = prev >= 0 ? (mastery_level)prev : MASTERY_EMERGING;
		/* Days count in the school's calendar (DESIGN.md §3). */
		if (st->st.reps > 0) {
			elapsed = today > st->last_day ? (uint32_t)(today - st->last_day) : 0;
			rbefore = fsrs_retrievability(model, st->st.stability, elapsed);
		}
		fsrs_review(model, &st->st, elapsed, gr.rating, &ivl);
		st->last_day = today;
		st->due = today + (int32_t)ivl;
		st->touched = true;
		st->at_us = it->in.answered_at_us;
		iso_of(it->in.answered_at_us, at, sizeof at);

		/* The unit's level now, over its active questions. */
		mi = xcalloc((size_t)nqs + 1, sizeof *mi);
		for (int q = 0; q < nqs; q++) {
			if (qs[q].school_id != school || qs[q].pupil_id != pupil ||
			    qs[q].unit_id != unit || !qs[q].active)
				continue;
			mi[nmi].state = qs[q].st;
			mi[nmi].last_review_day = qs[q].last_day;
			nmi++;
		}
		mastery_assess(model, &mt, mi, nmi, today, &mres);
		free(mi);
		mastery_next_render(&mres.next, next, sizeof next);
		for (int q = 0; q < nqs; q++) {
			if (qs[q].school_id == school && qs[q].pupil_id == pupil && qs[q].unit_id == unit) {
				if ((int)mres.level > qs[q].best)
					qs[q].best = (int)mres.level;
				qs[q].level = (int)mres.level;
			}
		}

		fb = json_pack("{s:I, s:I, s:b, s:i, s:s?, s:s?, s:{s:I, s:s}, s:s, s:s, s:s, s:f}",
		    "prompt_id", (json_int_t)it->in.prompt_id,
		    "question_id", (json_int_t)question,
		    "correct", gr.correct,
		    "rating", (int)gr.rating,
		    "correct_answer", gr.answer,
		    "explanation", PQgetisnull(pr, k, 10) ? NULL : PQgetvalue(pr, k, 10),
		    "unit", "id", (json_int_t)unit, "name", PQgetvalue(pr, k, 14),
		    "level", mastery_level_name(mres.level),
		    "level_before", mastery_level_name(before),
		    "next_level_needs", next,
		    "unit_recall", mres.mean_recall);
		it->result = json_dumps(fb, JSON_COMPACT);
		it->status = 200;

		json_array_append_new(wp, json_pack("{s:I, s:I, s:s, s:O}", "school_id",
		    (json_int_t)school, "prompt_id", (json_int_t)it->in.prompt_id, "at", at,
		    "result", fb));
		json_array_append_new(wr, json_pack("{s:I, s:I, s:I, s:I, s:s, s:i, s:b, s:o, s:i, s:f, s:f, s:f}",
		    "school_id", (json_int_t)school, "pupil_id", (json_int_t)pupil,
		    "question_id", (json_int_t)question, "prompt_id", (json_int_t)it->in.prompt_id,
		    "at", at, "rating", (int)gr.rating, "correct", gr.correct,
		    "latency_ms", it->in.in.latency_ms >= 0 ?
		    json_integer(it->in.in.latency_ms) : json_null(),
		    "elapsed", (int)elapsed, "r", rbefore, "stability", st->st.stability,
		    "difficulty", st->st.difficulty));
		/*
		 * One mastery row per pupil x unit per transaction: a later answer of
		 * the group overwrites an earlier one's level, keeping the first "from".
		 */
		{
			char key[80];
			json_t *m = NULL, *from;

			snprintf(key, sizeof key, "%" PRId64 ":%" PRId64 ":%" PRId64, school, pupil, unit);
			from = json_object_get(json_object_get(wm, key), "from_level");
			from = from ? json_incref(from) : prev >= 0 ? json_integer(prev) : json_null();
			m = json_pack("{s:I, s:I, s:I, s:i, s:i, s:f, s:f, s:s, s:b, s:o}",
			    "school_id", (json_int_t)school, "pupil_id", (json_int_t)pupil,
			    "unit_id", (json_int_t)unit, "level", (int)mres.level,
			    "best", st->best, "recall", mres.mean_recall, "coverage", mres.coverage,
			    "at", at, "changed", json_is_null(from) ||
			    json_integer_value(from) != (json_int_t)mres.level, "from_level", from);
			json_object_set_new(wm, key, m);
		}
		/* The feedback event, and mastery.changed when the level moved. */
		{
			json_t *data = json_pack("{s:I, s:{s:I, s:s}, s:O}", "school_id", (json_int_t)school,
			    "pupil", "id", (json_int_t)pupil, "external_id", PQgetvalue(pr, k, 25),
			    "feedback", fb);
			/* Events nobody subscribed to are not rendered or stored. */
			if (wanted(eps, school, "response.feedback"))
				json_array_append_new(events, json_pack("{s:I, s:s, s:o}", "school",
				    (json_int_t)school, "type", "response.feedback", "data", data));
			else
				json_decref(data);
			if (before != mres.level && wanted(eps, school, "mastery.changed")) {
				data = json_pack("{s:I, s:{s:I, s:s}, s:{s:I, s:s}, s:s, s:s, s:s}",
				    "school_id", (json_int_t)school,
				    "pupil", "id", (json_int_t)pupil, "external_id", PQgetvalue(pr, k, 25),
				    "unit", "id", (json_int_t)unit, "name", PQgetvalue(pr, k, 14),
				    "from", mastery_level_name(before), "to", mastery_level_name(mres.level),
				    "next_level_needs", next);
				json_array_append_new(events, json_pack("{s:I, s:s, s:o}", "school",
				    (json_int_t)school, "type", "mastery.changed", "data", data));
			}
		}
		json_decref(fb);
next_item:
		free(cv);
		free(av);
		json_decref(choices);
		json_decref(accepted);
	}
	for (int q = 0; q < nqs; q++) {
		char at[40];

		if (!qs[q].touched)
			continue;
		iso_of(qs[q].at_us, at, sizeof at);
		json_array_append_new(ws, json_pack("{s:I, s:I, s:I, s:f, s:f, s:i, s:i, s:s, s:i, s:i}",
		    "school_id", (json_int_t)qs[q].school_id, "pupil_id", (json_int_t)qs[q].pupil_id,
		    "question_id", (json_int_t)qs[q].question_id, "stability", qs[q].st.stability,
		    "difficulty", qs[q].st.difficulty, "reps", (int)qs[q].st.reps,
		    "lapses", (int)qs[q].st.lapses, "at", at, "day", (int)qs[q].last_day,
		    "due", (int)qs[q].due));
	}

	req = db_req_new(committed, g);
	{
		char *s;
		json_t *rows = json_array(), *arrays[4] = { wp, ws, wr, rows };
		const char *key;
		json_t *v;

		json_object_foreach(wm, key, v)
			json_array_append(rows, v);
		const char *sqls[4] = { write_prompts_sql, write_states_sql, write_reviews_sql,
		    write_mastery_sql };

		for (int i = 0; i < 4; i++) {
			s = json_dumps(arrays[i], JSON_COMPACT);
			db_req_add(req, sqls[i], 1, (const char *const *)&s);
			free(s);
		}
		json_decref(rows);
	}
	{
		size_t i;
		json_t *e;

		json_array_foreach(events, i, e) {
			struct push_event ev = { 0 };
			char school[24];

			snprintf(school, sizeof school, "%" JSON_INTEGER_FORMAT,
			    json_integer_value(json_object_get(e, "school")));
			ev.school_id = school;
			ev.type = json_string_value(json_object_get(e, "type"));
			ev.data = json_object_get(e, "data");
			ev.now = now;
			ev.no_notify = true;
			push_enqueue_sql(req, &ev);
		}
		if (json_array_size(events) > 0)
			push_notify_sql(req);	/* once for the whole group */
	}
	json_decref(wp);
	json_decref(ws);
	json_decref(wr);
	json_decref(wm);
	json_decref(events);
	free(qs);
	free(row_of);
	models_free(&models);
	db_txn_continue(g->txn, req, true);
}

/* ---- collecting ---- */

/* Read and lock; compute() goes on from there. */
static void
group_begin(struct group *g)
{
	db_req *req;
	char *in;

	in = json_dumps(g->inputs, JSON_COMPACT);
	req = db_req_new(compute, g);
	/*
	 * A group touches a handful of rows by key, but the planner guesses
	 * 100 rows for jsonb_to_recordset and, on tables that grew since their
	 * last ANALYZE (mastery, memory_state fill up as pupils answer), scans
	 * or hashes them whole: make it probe the keys.
	 */
	db_req_add(req, "SET LOCAL enable_hashjoin = off", 0, NULL);
	db_req_add(req, "SET LOCAL enable_mergejoin = off", 0, NULL);
	db_req_add(req, "SET LOCAL enable_seqscan = off", 0, NULL);
	/* ...and the cost penalties of the above must not summon the JIT. */
	db_req_add(req, "SET LOCAL jit = off", 0, NULL);
	db_req_add(req, read_prompts_sql, 1, (const char *const *)&in);
	db_req_add(req, lock_states_sql, 1, (const char *const *)&in);
	db_req_add(req, read_units_sql, 1, (const char *const *)&in);
	db_req_add(req, read_endpoints_sql, 1, (const char *const *)&in);
	free(in);
	g->txn = db_txn_begin(g->a->app->db, req);
}

static void
flush(answers *a)
{
	struct group *g = a->open;

	if (g == NULL)
		return;
	a->open = NULL;
	a->groups++;
	event_del(a->flush_ev);
	group_begin(g);
}

static void
flush_cb(evutil_socket_t fd, short what, void *arg)
{
	flush(arg);
}

void
answers_submit(answers *a, const struct answer_in *in, answers_cb cb, void *arg)
{
	struct group *g = a->open;
	struct item *it;
	char at[40];

	if (g == NULL) {
		struct timeval tv = { (time_t)(a->window_ms / 1000),
		    (suseconds_t)(a->window_ms % 1000) * 1000 };

		g = a->open = xcalloc(1, sizeof *g);
		g->a = a;
		g->items = xcalloc(ANSWERS_GROUP_MAX, sizeof *g->items);
		g->inputs = json_array();
		/*
		 * Group commit: with nothing committing, go as soon as the loop has
		 * read what else arrived; otherwise gather while the group before
		 * commits, for at most the window.
		 */
		if (a->groups == 0)
			event_active(a->flush_ev, EV_TIMEOUT, 0);
		else
			evtimer_add(a->flush_ev, &tv);
	}
	it = &g->items[g->n];
	it->in = *in;
	it->in.in.text = in->in.text ? xstrdup(in->in.text) : NULL;
	if (it->in.answered_at_us == 0)
		it->in.answered_at_us = clock_now_us();
	it->cb = cb;
	it->arg = arg;
	it->status = 500;
	iso_of(it->in.answered_at_us, at, sizeof at);
	json_array_append_new(g->inputs, json_pack("{s:i, s:I, s:I, s:s}", "i", g->n,
	    "school_id", (json_int_t)in->school_id, "prompt_id", (json_int_t)in->prompt_id,
	    "at", at));
	g->n++;
	a->inflight++;
	if (g->n == ANSWERS_GROUP_MAX)
		flush(a);
}

answers *
answers_new(struct app *app, int64_t late_limit_ms, int64_t window_ms)
{
	answers *a = xcalloc(1, sizeof *a);

	a->app = app;
	a->late_limit_us = late_limit_ms * 1000;
	a->window_ms = window_ms > 0 ? window_ms : 2;
	a->flush_ev = evtimer_new(app->base, flush_cb, a);
	return a;
}

int
answers_pending(const answers *a)
{
	return a->inflight;
}

void
answers_free(answers *a)
{
	if (a == NULL)
		return;
	/* Shutdown waits for answers; anything still here is dropped unanswered. */
	if (a->open != NULL)
		group_free(a->open);
	event_free(a->flush_ev);
	free(a);
}
