/* answers.c: grading and group commit of answers (see answers.h). */
#include "autoconf.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "answers.h"
#include "clock.h"
#include "db.h"
#include "fsrs.h"
#include "log.h"
#include "mastery.h"
#include "payload.h"
#include "pgrow.h"
#include "outbox.h"
#include "sbuf.h"
#include "settings.h"
#include "util.h"

struct item {
	struct answer_in in;
	answers_cb cb;
	void *arg;
	int status;
	char *result;		/* feedback JSON */
	char *error;
	char at[40];		/* answered_at, ISO 8601 */
	char *answer;		/* the right answer for feedback, or NULL */
	int64_t pupil_id;	/* once graded: whose answer it was */
};

struct group {
	answers *a;
	struct item *items;
	int n;
	db_txn *txn;
	int tries;		/* deadlock or serialization retries */
};

static void group_begin(struct group *g);

struct answers {
	db_pool *db;
	int64_t late_limit_us;
	int64_t window_ms;
	struct group *open;	/* collecting */
	struct event *flush_ev;
	int inflight;		/* answers in groups being committed */
	int groups;		/* groups being committed */
};

/* ---- statements ---- */

/*
 * A group's answers come as three parallel arrays, $1 school ids, $2
 * prompt ids and $3 answer times; unnest gives the planner their true
 * number, where jsonb_to_recordset guessed 100. A group is one school's
 * ($4, the same in every row): each statement stays on that school's rows
 * (a Citus shard), and answers of several schools arriving together
 * commit in one transaction each, side by side.
 */
#define ANSWERS_IN \
    "unnest($1::bigint[], $2::bigint[], $3::timestamptz[]) WITH ORDINALITY" \
    " AS x(school_id, prompt_id, at, i)"

/*
 * First the settings for the statements that follow (transaction-local).
 *
 * Plans: these statements run at every group with new parameters, and
 * PostgreSQL would plan each one afresh (a custom plan) at a cost of up
 * to ten times its execution (measured: 0.1-0.3 ms of planning against
 * 0.02-0.13 ms of execution per statement). Their generic plans, made
 * once per connection under the settings below, probe the same keys; an
 * ANALYZE of a table they read (autovacuum's, as it grows) has them made
 * again.
 *
 * A group touches a handful of rows by key, but on tables that grew since
 * their last ANALYZE (memory_state, mastery fill up as pupils answer) the
 * planner may scan or hash them whole: make it probe the keys, joining in
 * the order written (answers, then their prompts, then the rest), and
 * keep the JIT away from the cost penalties.
 */
static const char settings_sql[] =
    "SELECT set_config('plan_cache_mode', 'force_generic_plan', true),"
    " set_config('enable_hashjoin', 'off', true),"
    " set_config('enable_mergejoin', 'off', true), set_config('enable_seqscan', 'off', true),"
    " set_config('join_collapse_limit', '1', true), set_config('jit', 'off', true)";

/*
 * One answer at a time per pupil: a transaction-scoped advisory lock per
 * pupil of the group, taken in one global order (so two groups never
 * deadlock) before anything is read. It covers the pupil's prompts (a
 * second answer waits, then reads the first one's result), memory states
 * and unit levels (mastery is assessed over states no other group is
 * changing), and costs no row lock: nothing written to disk.
 */
#define ANSWERS_LOCK_CLASS "1634628466"	/* "ansr" */
static const char lock_pupils_sql[] =
    "SELECT count(*) FROM (SELECT DISTINCT p.school_id, p.pupil_id FROM " ANSWERS_IN
    "  CROSS JOIN LATERAL (SELECT p.school_id, p.pupil_id FROM prompt p"
    "   WHERE p.school_id = $4::bigint AND p.school_id = x.school_id"
    "   AND p.prompt_id = x.prompt_id LIMIT 1) p"
    "  ORDER BY 1, 2) k"
    " CROSS JOIN LATERAL pg_advisory_xact_lock(" ANSWERS_LOCK_CLASS ","
    "  (k.pupil_id % 2147483647)::int) l";

/* The prompts, their questions and schools (read after the locks). */
static const char read_prompts_sql[] =
    "SELECT x.i - 1, p.pupil_id, p.question_id,"
    " (extract(epoch FROM p.expires_at) * 1000000)::bigint,"
    " p.answered_at IS NOT NULL, r.result::text,"
    " q.kind, q.choices::text, q.correct_choice, q.accepted_answers::text, q.explanation,"
    " q.fast_ms, q.slow_ms, q.unit_id, u.name, pu.external_id,"
    /* the school's settings, with its local day at the answer's time */
    " " SETTINGS_COLUMNS("x.at") ","
    /* the question's course's own weights, when the fit job made some */
    " coalesce((SELECT array_to_string(cf.weights, ',') FROM course_fsrs cf"
    "   WHERE cf.school_id = u.school_id AND cf.course_id = u.course_id), '')"
    " FROM " ANSWERS_IN
    " JOIN prompt p ON p.school_id = $4::bigint AND p.school_id = x.school_id"
    "  AND p.prompt_id = x.prompt_id"
    " JOIN question q ON q.school_id = p.school_id AND q.question_id = p.question_id"
    " JOIN unit u ON u.school_id = q.school_id AND u.unit_id = q.unit_id"
    " JOIN school s ON s.school_id = p.school_id"
    " JOIN pupil pu ON pu.school_id = p.school_id AND pu.pupil_id = p.pupil_id"
    /* an answered prompt's first result, kept on its review (by the whole key) */
    " LEFT JOIN LATERAL (SELECT r.result FROM review r WHERE p.answered_at IS NOT NULL"
    "  AND r.school_id = p.school_id AND r.prompt_id = p.prompt_id"
    "  AND r.reviewed_at = p.answered_at LIMIT 1) r ON true";

/*
 * Every question of the answered units with the pupil's state, and their
 * levels; whether it counts for mastery (SETTINGS_QUESTION_COUNTS) is column 4.
 */
static const char read_units_sql[] =
    "SELECT k.school_id, k.pupil_id, k.unit_id, q.question_id,"
    "  " SETTINGS_QUESTION_COUNTS("q", "s") ","
    "  m.stability, m.difficulty, m.reps, m.lapses, m.last_review_day - date '1970-01-01',"
    "  ml.level, ml.best_level"
    " FROM (SELECT DISTINCT p.school_id, p.pupil_id, q0.unit_id FROM " ANSWERS_IN
    "  JOIN prompt p ON p.school_id = $4::bigint AND p.school_id = x.school_id"
    "  AND p.prompt_id = x.prompt_id"
    "  JOIN question q0 ON q0.school_id = p.school_id AND q0.question_id = p.question_id) k"
    " JOIN school s ON s.school_id = k.school_id"
    " JOIN question q ON q.school_id = k.school_id AND q.unit_id = k.unit_id"
    /*
     * Probes by the whole key, however small the tables looked at their last
     * ANALYZE (LIMIT keeps them from being flattened into a join, where the
     * planner may probe by a part of the key and filter the rest).
     */
    " LEFT JOIN LATERAL (SELECT m.stability, m.difficulty, m.reps, m.lapses, m.last_review_day"
    "  FROM memory_state m WHERE m.school_id = k.school_id AND m.pupil_id = k.pupil_id"
    "  AND m.question_id = q.question_id LIMIT 1) m ON true"
    " LEFT JOIN LATERAL (SELECT ml.level, ml.best_level FROM mastery ml"
    "  WHERE ml.school_id = k.school_id AND ml.pupil_id = k.pupil_id AND ml.unit_id = k.unit_id"
    "  LIMIT 1) ml ON true"
    " ORDER BY 1, 2, 3, 4";

/* Which event types the school's enabled endpoints take ('*': all), in which format. */
static const char read_endpoints_sql[] =
    "SELECT DISTINCT e.school_id, coalesce(t.type, '*'),"
    " " EVENT_FORMAT_BIT_SQL("e.format")
    " FROM endpoint e LEFT JOIN LATERAL unnest(e.event_types) AS t(type) ON true"
    " WHERE e.school_id = $1::bigint AND e.enabled";

/*
 * The formats (EVENT_FORMAT_BIT mask) of the school's enabled endpoints that take
 * this event type; 0: nobody wants it.
 */
static unsigned
wanted(const PGresult *eps, int64_t school, const char *type)
{
	unsigned formats = 0;

	for (int i = 0; i < PQntuples(eps); i++) {
		const char *t = PQgetvalue(eps, i, 1);

		if (pgrow_i64(eps, i, 0) == school && (strcmp(t, "*") == 0 || strcmp(t, type) == 0))
			formats |= (unsigned)pgrow_int(eps, i, 2);
	}
	return formats;
}

/*
 * Everything a group writes, in one statement. The rows come as parallel
 * arrays too, one per column, built in C as array literals (cheaper to
 * build than JSON, and to read than jsonb_to_recordset): $1-$3 the
 * answered prompts, $4-$13 the memory states, $14-$26 the reviews with
 * their results, $27-$36 the pupils' unit levels (a history row where the
 * level changed); $37 the group's school.
 */
static const char write_sql[] =
    "WITH p AS (UPDATE prompt p SET answered_at = x.at"
    "  FROM unnest($1::bigint[], $2::bigint[], $3::timestamptz[]) AS x(school_id, prompt_id, at)"
    "  WHERE p.school_id = $37::bigint AND p.school_id = x.school_id"
    "  AND p.prompt_id = x.prompt_id),"
    " st AS (INSERT INTO memory_state AS m (school_id, pupil_id, question_id, stability,"
    "  difficulty, reps, lapses, last_review, last_review_day, due_day)"
    "  SELECT x.school_id, x.pupil_id, x.question_id, x.stability, x.difficulty, x.reps,"
    "   x.lapses, x.at, date '1970-01-01' + x.day, date '1970-01-01' + x.due"
    "  FROM unnest($4::bigint[], $5::bigint[], $6::bigint[], $7::float8[], $8::float8[],"
    "   $9::int[], $10::int[], $11::timestamptz[], $12::int[], $13::int[])"
    "   AS x(school_id, pupil_id, question_id, stability, difficulty, reps, lapses, at, day, due)"
    "  ON CONFLICT (school_id, pupil_id, question_id) DO UPDATE SET"
    "  stability = EXCLUDED.stability, difficulty = EXCLUDED.difficulty, reps = EXCLUDED.reps,"
    "  lapses = EXCLUDED.lapses, last_review = EXCLUDED.last_review,"
    "  last_review_day = EXCLUDED.last_review_day, due_day = EXCLUDED.due_day),"
    " rv AS (INSERT INTO review (school_id, pupil_id, question_id, prompt_id, reviewed_at,"
    "  rating, correct, latency_ms, elapsed_days, retrievability, stability, difficulty, result)"
    "  SELECT * FROM unnest($14::bigint[], $15::bigint[], $16::bigint[], $17::bigint[],"
    "   $18::timestamptz[], $19::smallint[], $20::boolean[], $21::int[], $22::int[],"
    "   $23::float8[], $24::float8[], $25::float8[], $26::jsonb[])),"
    " x AS (SELECT * FROM unnest($27::bigint[], $28::bigint[], $29::bigint[], $30::smallint[],"
    "  $31::smallint[], $32::float8[], $33::float8[], $34::timestamptz[], $35::boolean[],"
    "  $36::smallint[]) AS x(school_id, pupil_id, unit_id, level, best, recall, coverage, at,"
    "  changed, from_level)),"
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

/* Its columns, in order. */
enum {
	W_PROMPTS = 0, W_STATES = 3, W_REVIEWS = 13, W_MASTERY = 26, W_COLUMNS = 36
};

/* ---- the pupil x unit states of a group ---- */

struct qstate {
	int64_t school_id, pupil_id, unit_id, question_id;
	bool counts;		/* SETTINGS_QUESTION_COUNTS: counts for mastery */
	fsrs_state st;
	int32_t last_day;
	int level, best;	/* stored mastery of the unit, -1 none */
	bool touched;		/* answered in this group: write back */
	int32_t due;
	const char *at;		/* the answer's time, ISO 8601 (the item's) */
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
		double w[FSRS_NPARAMS];
		fsrs_model *m;
	} v[8];
	int n;
};

static const fsrs_model *
model_for(struct models *ms, const struct settings *set)
{
	double retention = set->desired_retention;
	int max_interval = set->max_interval_days;

	for (int i = 0; i < ms->n; i++)
		if (ms->v[i].retention == retention && ms->v[i].max_interval == max_interval &&
		    memcmp(ms->v[i].w, set->fsrs_w, sizeof(set->fsrs_w)) == 0)
			return ms->v[i].m;
	if (ms->n == 8) {
		fsrs_model_free(ms->v[7].m);
		ms->n = 7;
	}
	ms->v[ms->n].retention = retention;
	ms->v[ms->n].max_interval = max_interval;
	memcpy(ms->v[ms->n].w, set->fsrs_w, sizeof(set->fsrs_w));
	ms->v[ms->n].m = settings_model_new(set);
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
		free(g->items[i].answer);
	}
	free(g->items);
	free(g);
}

/* Call every answer back (after the commit, or on failure) and free. */
static void
group_done(struct group *g)
{
	answers *a = g->a;

	for (int i = 0; i < g->n; i++) {
		struct item *it = &g->items[i];
		it->cb(it->status, it->result, it->error, it->pupil_id, it->arg);
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
			free(g->items[i].answer);
			g->items[i].result = g->items[i].error = g->items[i].answer = NULL;
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

/* ---- grading a group ---- */

/* Column numbers of read_prompts_sql. */
enum {
	P_I, P_PUPIL, P_QUESTION, P_EXPIRES_US, P_ANSWERED, P_RESULT, P_KIND, P_CHOICES,
	P_CORRECT_CHOICE, P_ACCEPTED, P_EXPLANATION, P_FAST_MS, P_SLOW_MS, P_UNIT, P_UNIT_NAME,
	P_EXTERNAL_ID, P_SETTINGS,	/* SETTINGS_NCOLUMNS from here */
	P_COURSE_WEIGHTS = P_SETTINGS + SETTINGS_NCOLUMNS,
};

/* One mastery row per pupil x unit per transaction. */
struct mrow {
	int64_t school_id, pupil_id, unit_id;
	int level, best, from;	/* from: the level before the group, -1 none */
	double recall, coverage;
	const char *at;		/* the item's */
};

/* What a group's transaction reads and writes back. */
struct work {
	struct group *g;
	const PGresult *pr, *eps;
	struct qstate *qs;
	int nqs;
	struct models models;
	struct sbuf cols[W_COLUMNS];	/* array literals of write_sql */
	struct mrow *mastery;
	int nmastery;
	db_req *req;		/* the writes, events queued as they come */
	int nevents;
	char now[40];
};

static const char *
pv(const struct work *w, int k, int col)
{
	return PQgetvalue(w->pr, k, col);
}

static void
parse_states(struct work *w, const PGresult *ur)
{
	w->nqs = PQntuples(ur);
	w->qs = xcalloc((size_t)w->nqs + 1, sizeof *w->qs);
	for (int i = 0; i < w->nqs; i++) {
		struct qstate *q = &w->qs[i];

		q->school_id = pgrow_i64(ur, i, 0);
		q->pupil_id = pgrow_i64(ur, i, 1);
		q->unit_id = pgrow_i64(ur, i, 2);
		q->question_id = pgrow_i64(ur, i, 3);
		q->counts = pgrow_bool(ur, i, 4);
		if (!pgrow_null(ur, i, 5)) {
			q->st.stability = pgrow_f64(ur, i, 5);
			q->st.difficulty = pgrow_f64(ur, i, 6);
			q->st.reps = (uint32_t)pgrow_int(ur, i, 7);
			q->st.lapses = (uint32_t)pgrow_int(ur, i, 8);
			q->last_day = pgrow_int(ur, i, 9);
		}
		q->level = (int)pgrow_i64_or(ur, i, 10, -1);
		q->best = (int)pgrow_i64_or(ur, i, 11, -1);
	}
}

/* A repeat, in an earlier transaction or earlier in this group: the first result. */
static bool
repeat(struct work *w, int i, int k)
{
	struct item *it = &w->g->items[i];

	it->pupil_id = pgrow_i64(w->pr, k, P_PUPIL);
	if (pgrow_bool(w->pr, k, P_ANSWERED)) {
		it->status = 200;
		/* Its review keeps the result; without one (a review erased), just the fact. */
		it->result = PQgetisnull(w->pr, k, P_RESULT) ?
		    xasprintf("{\"prompt_id\":%" PRId64 ",\"question_id\":%s}", it->in.prompt_id,
		    pv(w, k, P_QUESTION)) : xstrdup(pv(w, k, P_RESULT));
		return true;
	}
	for (int j = 0; j < i; j++) {
		const struct item *o = &w->g->items[j];

		if (o->in.prompt_id == it->in.prompt_id && o->in.school_id == it->in.school_id &&
		    o->status == 200 && o->result != NULL) {
			it->status = 200;
			it->result = xstrdup(o->result);
			return true;
		}
	}
	return false;
}

/* Grade the answer against its question; false with the item's 422 set. */
static bool
grade(struct work *w, struct item *it, int k, const struct settings *set,
    struct grade_result *gr)
{
	struct grade_question gq = { 0 };
	json_t *choices = NULL, *accepted = NULL;
	const char **cv, **av;
	size_t nc, na;
	char err[256];
	bool ok = false;

	if (!grade_kind_parse(pv(w, k, P_KIND), &gq.kind)) {
		set_error(it, 422, "this question cannot be answered here");
		return false;
	}
	if (!PQgetisnull(w->pr, k, P_CHOICES))
		choices = json_loads(pv(w, k, P_CHOICES), 0, NULL);
	if (!PQgetisnull(w->pr, k, P_ACCEPTED))
		accepted = json_loads(pv(w, k, P_ACCEPTED), 0, NULL);
	cv = strings_of(choices, &nc);
	av = strings_of(accepted, &na);
	gq.choices = cv;
	gq.nchoices = nc;
	gq.correct_choice = (int)pgrow_i64_or(w->pr, k, P_CORRECT_CHOICE, -1);
	gq.accepted = av;
	gq.naccepted = na;
	gq.fast_ms = (int)pgrow_i64_or(w->pr, k, P_FAST_MS, 0);
	gq.slow_ms = (int)pgrow_i64_or(w->pr, k, P_SLOW_MS, 0);
	gq.self_rating_allowed = set->self_rating;
	if (!grade_answer(&gq, &it->in.in, gr, err, sizeof err))
		set_error(it, 422, err);
	else
		ok = true;
	/* gr->answer points into the choices or accepted answers: keep it. */
	if (ok && gr->answer != NULL)
		it->answer = xstrdup(gr->answer);
	gr->answer = it->answer;
	free(cv);
	free(av);
	json_decref(choices);
	json_decref(accepted);
	return ok;
}

/* The unit's level now, over its questions that count; stored on its rows. */
static void
assess_unit(struct work *w, const struct qstate *st, const fsrs_model *model,
    const mastery_thresholds *mt, int32_t today, mastery_result *out)
{
	mastery_item *mi = xcalloc((size_t)w->nqs + 1, sizeof *mi);
	size_t n = 0;

	for (int q = 0; q < w->nqs; q++) {
		const struct qstate *o = &w->qs[q];

		if (o->school_id != st->school_id || o->pupil_id != st->pupil_id ||
		    o->unit_id != st->unit_id || !o->counts)
			continue;
		mi[n].state = o->st;
		mi[n].last_review_day = o->last_day;
		n++;
	}
	mastery_assess(model, mt, mi, n, today, out);
	free(mi);
	for (int q = 0; q < w->nqs; q++) {
		struct qstate *o = &w->qs[q];

		if (o->school_id == st->school_id && o->pupil_id == st->pupil_id &&
		    o->unit_id == st->unit_id) {
			if ((int)out->level > o->best)
				o->best = (int)out->level;
			o->level = (int)out->level;
		}
	}
}

/* The feedback, as JSON text (built by hand: it is on every answer's path). */
static char *
feedback_json(const struct work *w, const struct item *it, int k, const struct grade_result *gr,
    const mastery_result *mres, mastery_level before, const char *next)
{
	struct sbuf b = { 0 };
	char num[32];

	sbuf_str(&b, "{\"prompt_id\":");
	sbuf_i64(&b, it->in.prompt_id);
	sbuf_str(&b, ",\"question_id\":");
	sbuf_str(&b, pv(w, k, P_QUESTION));
	sbuf_str(&b, gr->correct ? ",\"correct\":true,\"rating\":" : ",\"correct\":false,\"rating\":");
	sbuf_i64(&b, (int64_t)gr->rating);
	sbuf_str(&b, ",\"correct_answer\":");
	if (gr->answer != NULL)
		sbuf_json_str(&b, gr->answer);
	else
		sbuf_str(&b, "null");
	sbuf_str(&b, ",\"explanation\":");
	if (!PQgetisnull(w->pr, k, P_EXPLANATION))
		sbuf_json_str(&b, pv(w, k, P_EXPLANATION));
	else
		sbuf_str(&b, "null");
	sbuf_str(&b, ",\"unit\":{\"id\":");
	sbuf_str(&b, pv(w, k, P_UNIT));
	sbuf_str(&b, ",\"name\":");
	sbuf_json_str(&b, pv(w, k, P_UNIT_NAME));
	sbuf_str(&b, "},\"level\":\"");
	sbuf_str(&b, mastery_level_name(mres->level));
	sbuf_str(&b, "\",\"level_before\":\"");
	sbuf_str(&b, mastery_level_name(before));
	sbuf_str(&b, "\",\"next_level_needs\":");
	sbuf_json_str(&b, next);
	sbuf_str(&b, ",\"unit_recall\":");
	/* a JSON real, as jansson writes one: never a bare integer */
	snprintf(num, sizeof num, "%.17g", mres->mean_recall);
	sbuf_str(&b, num);
	if (strpbrk(num, ".eE") == NULL)
		sbuf_str(&b, ".0");
	sbuf_str(&b, "}");
	return sbuf_take(&b);
}

/* The pupil x unit's mastery row: a later answer of the group overwrites, keeping "from". */
static void
note_mastery(struct work *w, const struct qstate *st, const mastery_result *mres, int prev,
    const char *at)
{
	struct mrow *m = NULL;

	for (int i = 0; i < w->nmastery && m == NULL; i++)
		if (w->mastery[i].unit_id == st->unit_id && w->mastery[i].pupil_id == st->pupil_id &&
		    w->mastery[i].school_id == st->school_id)
			m = &w->mastery[i];
	if (m == NULL) {
		m = &w->mastery[w->nmastery++];
		m->school_id = st->school_id;
		m->pupil_id = st->pupil_id;
		m->unit_id = st->unit_id;
		m->from = prev;
	}
	m->level = (int)mres->level;
	m->best = st->best;
	m->recall = mres->mean_recall;
	m->coverage = mres->coverage;
	m->at = at;
}

static void
queue_event(struct work *w, int64_t school, const char *type, unsigned formats, json_t *data)
{
	struct outbox_event ev = { 0 };
	char id[24];

	snprintf(id, sizeof id, "%" PRId64, school);
	ev.school_id = id;
	ev.type = type;
	ev.data = data;
	ev.now = w->now;
	ev.no_notify = true;	/* once for the whole group, at the end */
	ev.formats = formats;	/* only the renderings some endpoint takes */
	outbox_enqueue_sql(w->req, &ev);
	w->nevents++;
	json_decref(data);
}

/* response.feedback, and mastery.changed when the level moved; only if subscribed. */
static void
queue_events(struct work *w, const struct item *it, int k, const struct qstate *st,
    mastery_level before, const mastery_result *mres, const char *next)
{
	int64_t school = st->school_id;
	unsigned formats;

	if ((formats = wanted(w->eps, school, "response.feedback")) != 0)
		queue_event(w, school, "response.feedback", formats,
		    payload_response_feedback(school, st->pupil_id, pv(w, k, P_EXTERNAL_ID),
		    it->result));
	if (before != mres->level &&
	    (formats = wanted(w->eps, school, "mastery.changed")) != 0)
		queue_event(w, school, "mastery.changed", formats,
		    payload_mastery_changed(&(struct payload_mastery){ .school_id = school,
		    .pupil_id = st->pupil_id, .external_id = pv(w, k, P_EXTERNAL_ID),
		    .unit = { st->unit_id, pv(w, k, P_UNIT_NAME) }, .from = before,
		    .to = mres->level, .next = next }));
}

/* One answer: grade, FSRS, mastery, feedback, and its rows to write. */
static void
answer_one(struct work *w, int i, int k)
{
	struct item *it = &w->g->items[i];
	struct grade_result gr;
	struct qstate *st;
	const fsrs_model *model;
	struct settings set;
	struct settings_error e;
	mastery_result mres;
	mastery_level before;
	double rbefore = 0;
	uint32_t ivl = 0, elapsed = 0;
	int32_t today;
	char next[256];
	int prev;

	if (it->in.answered_at_us > pgrow_i64(w->pr, k, P_EXPIRES_US) + w->g->a->late_limit_us) {
		set_error(it, 410, "this prompt has expired: it counts as not reviewed, never as wrong");
		return;
	}
	/* A refused setting is reported, never replaced: the answer is not recorded. */
	if (!settings_parse(w->pr, k, P_SETTINGS, &set, &e)) {
		char msg[320];

		settings_warn("answers", &e);
		settings_error_text(&e, msg, sizeof msg);
		set_error(it, 500, msg);
		return;
	}
	if (!grade(w, it, k, &set, &gr))
		return;
	st = find_state(w->qs, w->nqs, it->in.school_id, it->pupil_id,
	    pgrow_i64(w->pr, k, P_QUESTION));
	if (st == NULL) {
		set_error(it, 422, "this question is no longer part of its unit");
		return;
	}
	today = set.today;
	/*
	 * A course with weights of its own schedules with them; they share the
	 * school's forgetting curve, so predicted recall reads the same.
	 */
	if (pv(w, k, P_COURSE_WEIGHTS)[0] != '\0' &&
	    !fsrs_params_parse(pv(w, k, P_COURSE_WEIGHTS), set.fsrs_w, NULL, 0))
		log_warnx("answers", "a course's weights refused: the school's used",
		    "school=%" PRId64, it->in.school_id);	/* set.fsrs_w untouched */
	model = model_for(&w->models, &set);
	prev = st->level;
	before = prev >= 0 ? (mastery_level)prev : MASTERY_EMERGING;
	/* Days count in the school's calendar. */
	if (st->st.reps > 0) {
		elapsed = today > st->last_day ? (uint32_t)(today - st->last_day) : 0;
		rbefore = fsrs_retrievability(model, st->st.stability, elapsed);
	}
	fsrs_review(model, &st->st, elapsed, gr.rating, &ivl);
	st->last_day = today;
	st->due = today + (int32_t)ivl;
	st->touched = true;
	st->at = it->at;
	assess_unit(w, st, model, &set.mastery, today, &mres);
	mastery_next_render(&mres.next, next, sizeof next);

	it->result = feedback_json(w, it, k, &gr, &mres, before, next);
	it->status = 200;
	sbuf_arr_i64(&w->cols[W_PROMPTS + 0], it->in.school_id);
	sbuf_arr_i64(&w->cols[W_PROMPTS + 1], it->in.prompt_id);
	sbuf_arr_text(&w->cols[W_PROMPTS + 2], it->at);
	sbuf_arr_i64(&w->cols[W_REVIEWS + 0], st->school_id);
	sbuf_arr_i64(&w->cols[W_REVIEWS + 1], st->pupil_id);
	sbuf_arr_i64(&w->cols[W_REVIEWS + 2], st->question_id);
	sbuf_arr_i64(&w->cols[W_REVIEWS + 3], it->in.prompt_id);
	sbuf_arr_text(&w->cols[W_REVIEWS + 4], it->at);
	sbuf_arr_i64(&w->cols[W_REVIEWS + 5], (int64_t)gr.rating);
	sbuf_arr_text(&w->cols[W_REVIEWS + 6], gr.correct ? "t" : "f");
	if (it->in.in.latency_ms >= 0)
		sbuf_arr_i64(&w->cols[W_REVIEWS + 7], it->in.in.latency_ms);
	else
		sbuf_arr_null(&w->cols[W_REVIEWS + 7]);
	sbuf_arr_i64(&w->cols[W_REVIEWS + 8], elapsed);
	sbuf_arr_f64(&w->cols[W_REVIEWS + 9], rbefore);
	sbuf_arr_f64(&w->cols[W_REVIEWS + 10], st->st.stability);
	sbuf_arr_f64(&w->cols[W_REVIEWS + 11], st->st.difficulty);
	sbuf_arr_text(&w->cols[W_REVIEWS + 12], it->result);
	note_mastery(w, st, &mres, prev, it->at);
	queue_events(w, it, k, st, before, &mres, next);
}

/* The touched states and the mastery rows, then the write. */
static void
add_writes(struct work *w)
{
	struct sbuf *states = &w->cols[W_STATES], *mastery = &w->cols[W_MASTERY];
	const char *params[W_COLUMNS + 1];
	char school[24];
	bool reviewed = w->cols[W_REVIEWS].n > 0;	/* before sbuf_arr_end resets it */

	for (int q = 0; q < w->nqs; q++) {
		const struct qstate *o = &w->qs[q];

		if (!o->touched)
			continue;
		sbuf_arr_i64(&states[0], o->school_id);
		sbuf_arr_i64(&states[1], o->pupil_id);
		sbuf_arr_i64(&states[2], o->question_id);
		sbuf_arr_f64(&states[3], o->st.stability);
		sbuf_arr_f64(&states[4], o->st.difficulty);
		sbuf_arr_i64(&states[5], o->st.reps);
		sbuf_arr_i64(&states[6], o->st.lapses);
		sbuf_arr_text(&states[7], o->at);
		sbuf_arr_i64(&states[8], o->last_day);
		sbuf_arr_i64(&states[9], o->due);
	}
	for (int i = 0; i < w->nmastery; i++) {
		const struct mrow *m = &w->mastery[i];

		sbuf_arr_i64(&mastery[0], m->school_id);
		sbuf_arr_i64(&mastery[1], m->pupil_id);
		sbuf_arr_i64(&mastery[2], m->unit_id);
		sbuf_arr_i64(&mastery[3], m->level);
		sbuf_arr_i64(&mastery[4], m->best);
		sbuf_arr_f64(&mastery[5], m->recall);
		sbuf_arr_f64(&mastery[6], m->coverage);
		sbuf_arr_text(&mastery[7], m->at);
		sbuf_arr_text(&mastery[8], m->from < 0 || m->from != m->level ? "t" : "f");
		if (m->from >= 0)
			sbuf_arr_i64(&mastery[9], m->from);
		else
			sbuf_arr_null(&mastery[9]);
	}
	for (int i = 0; i < W_COLUMNS; i++)
		params[i] = sbuf_arr_end(&w->cols[i]);
	snprintf(school, sizeof school, "%" PRId64, w->g->items[0].in.school_id);
	params[W_COLUMNS] = school;
	db_req_add(w->req, write_sql, W_COLUMNS + 1, params);
	for (int i = 0; i < W_COLUMNS; i++)
		sbuf_free(&w->cols[i]);
	/*
	 * The flag job refreshes after answers, webhooks or none: one NOTIFY a
	 * group, naming its schools, so the job needs no scan of the answers.
	 */
	if (reviewed) {
		struct sbuf ids = { 0 };
		const char *np[1];
		int nids = 0;

		for (int q = 0; q < w->nqs; q++) {
			bool seen = false;

			if (!w->qs[q].touched)
				continue;
			for (int k = 0; k < q && !seen; k++)
				seen = w->qs[k].touched && w->qs[k].school_id == w->qs[q].school_id;
			if (seen)
				continue;
			if (nids++ > 0)
				sbuf_putc(&ids, ',');
			sbuf_i64(&ids, w->qs[q].school_id);
		}
		np[0] = sbuf_text(&ids);
		db_req_add(w->req, "SELECT pg_notify('" ANSWERS_REVIEWS_CHANNEL "', $1)", 1, np);
		sbuf_free(&ids);
	}
	if (w->nevents > 0)
		outbox_notify_sql(w->req, school);	/* once for the school's group, events queued */
}

/*
 * The pupils are locked and their prompts and states read: grade, run
 * FSRS, assess mastery, and write everything back with the events in the
 * same transaction.
 */
static void
compute(const struct db_reply *r, void *arg)
{
	struct group *g = arg;
	struct work w = { .g = g };
	int *row_of;

	if (r->status != DB_OK) {
		g->txn = NULL;
		group_fail(g, r);
		return;
	}
	w.pr = r->results[2];	/* after the settings and the locks */
	w.eps = r->results[4];
	parse_states(&w, r->results[3]);
	w.mastery = xcalloc((size_t)g->n, sizeof *w.mastery);
	w.req = db_req_new(committed, g);
	clock_now_iso(w.now, sizeof w.now);
	row_of = xcalloc((size_t)g->n, sizeof *row_of);
	for (int i = 0; i < g->n; i++)
		row_of[i] = -1;
	for (int k = 0; k < PQntuples(w.pr); k++)
		row_of[pgrow_int(w.pr, k, P_I)] = k;
	for (int i = 0; i < g->n; i++) {
		if (row_of[i] < 0)
			set_error(&g->items[i], 404, "no such prompt in this school");
		else if (!repeat(&w, i, row_of[i]))
			answer_one(&w, i, row_of[i]);
	}
	add_writes(&w);
	free(row_of);
	free(w.qs);
	free(w.mastery);
	models_free(&w.models);
	db_txn_continue(g->txn, w.req, true);
}

/* ---- collecting ---- */

/* Lock the pupils and read; compute() goes on from there. */
static void
group_begin(struct group *g)
{
	struct sbuf in[3] = { 0 };
	const char *params[4];
	char school[24];
	db_req *req;

	for (int i = 0; i < g->n; i++) {
		sbuf_arr_i64(&in[0], g->items[i].in.school_id);
		sbuf_arr_i64(&in[1], g->items[i].in.prompt_id);
		sbuf_arr_text(&in[2], g->items[i].at);
	}
	for (int i = 0; i < 3; i++)
		params[i] = sbuf_arr_end(&in[i]);
	snprintf(school, sizeof school, "%" PRId64, g->items[0].in.school_id);
	params[3] = school;
	req = db_req_new(compute, g);
	db_req_add(req, settings_sql, 0, NULL);
	db_req_add(req, lock_pupils_sql, 4, params);
	db_req_add(req, read_prompts_sql, 4, params);
	db_req_add(req, read_units_sql, 4, params);
	db_req_add(req, read_endpoints_sql, 1, params + 3);
	for (int i = 0; i < 3; i++)
		sbuf_free(&in[i]);
	g->txn = db_txn_begin(g->a->db, req);
}

/*
 * The gathered answers go, one transaction for each school among them
 * (in the order each school first answered), all at once.
 */
static void
flush(answers *a)
{
	struct group *g = a->open, *sub;
	int i, j, n;

	if (g == NULL)
		return;
	a->open = NULL;
	event_del(a->flush_ev);
	for (i = 0; i < g->n; i++) {
		int64_t school = g->items[i].in.school_id;

		if (school == 0)
			continue;	/* taken by an earlier school's group */
		sub = xcalloc(1, sizeof *sub);
		sub->a = a;
		sub->items = xcalloc((size_t)g->n, sizeof *sub->items);
		for (j = i, n = 0; j < g->n; j++)
			if (g->items[j].in.school_id == school) {
				sub->items[n++] = g->items[j];
				g->items[j].in.school_id = 0;	/* moved */
			}
		sub->n = n;
		a->groups++;
		group_begin(sub);
	}
	/* the items moved: only the shell is left */
	free(g->items);
	free(g);
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

	if (g == NULL) {
		struct timeval tv = { (time_t)(a->window_ms / 1000),
		    (suseconds_t)(a->window_ms % 1000) * 1000 };

		g = a->open = xcalloc(1, sizeof *g);
		g->a = a;
		g->items = xcalloc(ANSWERS_GROUP_MAX, sizeof *g->items);
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
	iso_of(it->in.answered_at_us, it->at, sizeof it->at);
	g->n++;
	a->inflight++;
	if (g->n == ANSWERS_GROUP_MAX)
		flush(a);
}

answers *
answers_new(struct event_base *base, db_pool *db, int64_t late_limit_ms, int64_t window_ms)
{
	answers *a = xcalloc(1, sizeof *a);

	a->db = db;
	a->late_limit_us = late_limit_ms * 1000;
	a->window_ms = window_ms > 0 ? window_ms : 2;
	a->flush_ev = evtimer_new(base, flush_cb, a);
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
