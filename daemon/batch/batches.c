/* batches.c: the daily batch job (see batches.h). */
#include "autoconf.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "batch.h"
#include "batches.h"
#include "batches_writer.h"
#include "clock.h"
#include "db.h"
#include "fsrs.h"
#include "log.h"
#include "pgrow.h"
#include "runner.h"
#include "settings.h"
#include "util.h"

#define JOB "batches"

struct batches {
	db_pool *db;
	lease_keeper *leases;
	runner *run;
	int chunk;
	batches_writer_link_fn link;
	void *link_arg;
	db_req *req;		/* in flight */
	batch_selector *sel;

	/* the school being built */
	char school[24];
	char local_date[16];
	char expires_at[40];
	int64_t expires_unix;
	int32_t today;
	batch_settings set;
	fsrs_model *model;
	int64_t last_pupil;
	int built;		/* batches written for this school */

	/* the chunk being built */
	batches_writer *w;
	int chunk_rows;		/* pupils the candidate query returned */
};

static void run_next_school(batches *b);
static void load_chunk(batches *b);

/* The first school due, if no daemon holds it; the take says whether we won it. */
static const char claim_sql[] =
    "WITH pick AS MATERIALIZED (SELECT s2.school_id FROM school s2 WHERE s2.active"
    "   AND " LEASE_FREE(JOB, "s2.school_id")
    "   AND s2.batches_done_for IS DISTINCT FROM ($1::timestamptz AT TIME ZONE s2.tz)::date"
    "   AND ($1::timestamptz AT TIME ZONE s2.tz)::time >= s2.prompt_time"
    /* the one rule of a school day, which the flags' windows count by too */
    "   AND recalld_school_day(s2.school_id, ($1::timestamptz AT TIME ZONE s2.tz)::date)"
    "   ORDER BY s2.school_id LIMIT 1),"
    " won AS MATERIALIZED (SELECT school_id, " LEASE_TAKE(JOB, "school_id", "$2", "$3")
    "   AS won FROM pick)"
    " SELECT won.won,"
    /* prompts expire at the end of the local day */
    " to_char(((($1::timestamptz AT TIME ZONE s.tz)::date + 1)::timestamp AT TIME ZONE s.tz)"
    "   AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
    " extract(epoch FROM ((($1::timestamptz AT TIME ZONE s.tz)::date + 1)::timestamp AT TIME ZONE s.tz))::bigint,"
    " " SETTINGS_COLUMNS("$1")
    " FROM won JOIN school s ON s.school_id = won.school_id";

/*
 * A chunk's candidates come as three results, each read in key order (a
 * range scan, not a probe per candidate): the next pupils without a batch
 * today with the units taught to their classes (a pupil with nothing
 * taught still gives one row, so paging moves past them); the school's
 * active questions by unit; and the memory states of the chunk's pupil
 * range. Days are day numbers (days since 1970-01-01 in the school's
 * calendar).
 *
 * Every table read is bounded to the chunk's pupil range (pupil_id > $2,
 * and at most the chunk's last), restated on each: where the planner
 * merges or hashes, a bound on one side only would still read the other
 * from the school's first pupil, each chunk again (quadratic in pupils).
 */
#define CHUNK_PUPILS \
    "SELECT p.pupil_id FROM pupil p" \
    " WHERE p.school_id = $1 AND p.active AND p.pupil_id > $2::bigint" \
    "  AND EXISTS (SELECT 1 FROM class_pupil cp WHERE cp.school_id = p.school_id" \
    "    AND cp.pupil_id = p.pupil_id AND cp.pupil_id > $2::bigint AND cp.active)" \
    "  AND NOT EXISTS (SELECT 1 FROM batch b WHERE b.school_id = p.school_id" \
    "    AND b.pupil_id = p.pupil_id AND b.pupil_id > $2::bigint" \
    "    AND b.local_date = $3::date AND b.kind = 'daily')" \
    " ORDER BY p.pupil_id LIMIT $4::int"

static const char chunk_units_sql[] =
    "WITH pupils AS (" CHUNK_PUPILS "),"
    " taught_units AS ("
    "  SELECT cp.pupil_id, t.unit_id, min(t.taught_on) AS taught_on"
    "  FROM pupils x JOIN class_pupil cp ON cp.school_id = $1 AND cp.pupil_id = x.pupil_id"
    "   AND cp.active AND cp.pupil_id > $2::bigint"
    "   AND cp.pupil_id <= (SELECT max(pupil_id) FROM pupils)"
    "  JOIN class k ON k.school_id = cp.school_id AND k.class_id = cp.class_id AND k.active"
    "  JOIN taught t ON t.school_id = cp.school_id AND t.class_id = cp.class_id"
    "  GROUP BY cp.pupil_id, t.unit_id)"
    " SELECT x.pupil_id, u.unit_id, u.course_id,"
    "  tu.taught_on - date '1970-01-01', c.exam_date - date '1970-01-01'"
    " FROM pupils x"
    " LEFT JOIN taught_units tu ON tu.pupil_id = x.pupil_id"
    " LEFT JOIN unit u ON u.school_id = $1 AND u.unit_id = tu.unit_id AND u.active"
    " LEFT JOIN course c ON c.school_id = $1 AND c.course_id = u.course_id"
    " ORDER BY x.pupil_id, u.unit_id";

/* The questions that count (self-rated ones only where the school takes them). */
static const char school_questions_sql[] =
    "SELECT q.unit_id, q.question_id FROM question q"
    " JOIN school s ON s.school_id = q.school_id"
    " WHERE q.school_id = $1 AND " SETTINGS_QUESTION_COUNTS("q", "s")
    " ORDER BY q.unit_id, q.question_id";

static const char chunk_states_sql[] =
    "SELECT m.pupil_id, m.question_id, m.stability, m.difficulty, m.reps, m.lapses,"
    " m.last_review_day - date '1970-01-01', m.due_day - date '1970-01-01'"
    " FROM memory_state m WHERE m.school_id = $1 AND m.pupil_id > $2::bigint"
    " AND m.pupil_id <= (SELECT max(pupil_id) FROM (" CHUNK_PUPILS ") x)"
    " ORDER BY m.pupil_id, m.question_id";

static void
run_start(runner *r, unsigned why, void *arg)
{
	run_next_school(arg);
}

void
batches_kick(batches *b)
{
	runner_kick(b->run, RUNNER_KICK);
}

/* The run is over (the runner starts it again if kicked meanwhile). */
static void
run_done(batches *b)
{
	fsrs_model_free(b->model);
	b->model = NULL;
	lease_let_go(b->leases, JOB, b->db);
	runner_done(b->run);
}

static void
school_failed(batches *b, const struct db_reply *r, const char *step)
{
	/* The lease lapses and this (or another) daemon tries again. */
	log_warnx("batches", "batch run failed", "school=%s step=%s err=\"%s\"", b->school,
	    step, r->error);
	run_done(b);
}

static void
claimed(const struct db_reply *r, void *arg)
{
	batches *b = arg;
	const PGresult *res;
	struct settings set;
	struct settings_error e;

	b->req = NULL;
	if (r->status != DB_OK) {
		if (r->status != DB_UNAVAILABLE)
			log_warnx("batches", "claim failed", "err=\"%s\"", r->error);
		run_done(b);
		return;
	}
	res = r->results[0];
	if (PQntuples(res) == 0) {
		int64_t lapse = lease_next_lapse_ms(r->results[1]);

		/* Nothing due that is free; a school another daemon holds: look again then. */
		if (lapse >= 0)
			runner_kick_after(b->run, lapse + 100, RUNNER_KICK);
		run_done(b);
		return;
	}
	if (!pgrow_bool(res, 0, 0)) {
		run_next_school(b);	/* another daemon took it first: the next */
		return;
	}
	/* A school whose settings are refused is reported and left leased: on to the next. */
	if (!settings_parse(res, 0, 3, &set, &e)) {
		lease_forget(b->leases, JOB);
		settings_warn("batches", &e);
		run_next_school(b);
		return;
	}
	snprintf(b->school, sizeof b->school, "%" PRId64, set.school_id);
	lease_held(b->leases, JOB, b->school);
	util_strlcpy(b->local_date, set.local_date, sizeof b->local_date);
	b->today = set.today;
	util_strlcpy(b->expires_at, PQgetvalue(res, 0, 1), sizeof b->expires_at);
	b->expires_unix = pgrow_i64(res, 0, 2);
	b->set = set.batch;
	fsrs_model_free(b->model);
	b->model = settings_model_new(&set);
	b->last_pupil = 0;
	b->built = 0;
	batches_writer_free(b->w);
	b->w = batches_writer_new(&(struct batches_writer_spec){ .school = b->school,
	    .local_date = b->local_date, .kind = "daily", .expires_at = b->expires_at,
	    .expires_unix = b->expires_unix, .link = b->link, .link_arg = b->link_arg });
	log_debug("batches", "building", "school=%s local_date=%s", b->school, b->local_date);
	load_chunk(b);
}

static void
run_next_school(batches *b)
{
	char now[40];
	const char *p[3] = { now, lease_holder(b->leases), lease_timeout_param(b->leases) };
	db_req *req;

	if (runner_stopping(b->run)) {
		run_done(b);
		return;
	}
	clock_now_iso(now, sizeof now);
	req = db_req_new(claimed, b);
	db_req_add(req, claim_sql, 3, p);
	lease_add_next_lapse(req, b->leases, JOB);
	b->req = db_submit(b->db, req);
}

static void
school_done(const struct db_reply *r, void *arg)
{
	batches *b = arg;

	b->req = NULL;
	if (r->status != DB_OK) {
		school_failed(b, r, "finish");
		return;
	}
	log_info("batches", "daily batches built", "school=%s local_date=%s batches=%d",
	    b->school, b->local_date, b->built);
	run_next_school(b);
}

static void
finish_school(batches *b)
{
	const char *p[2] = { b->school, b->local_date };
	db_req *req = db_req_new(school_done, b);

	db_req_add(req, "UPDATE school SET batches_done_for = $2::date WHERE school_id = $1", 2, p);
	lease_add_release(req, b->leases, JOB);
	b->req = db_submit(b->db, req);
}

static int32_t
day_or_none(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? BATCH_NO_DAY : (int32_t)atoi(PQgetvalue(res, row, col));
}

/* The same over a sorted array. */
static int
lower_bound_ids(const int64_t *v, int lo, int hi, int64_t key)
{
	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;
		if (v[mid] < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * The school's questions (unit, question; sorted so) and one pupil's
 * state rows' question ids, parsed once: the searches below run per
 * candidate and must not parse text each step.
 */
struct chunk_ids {
	int64_t *qunit, *qid;
	int nq;
	int64_t *sqid;		/* the pupil's states, rows [sfrom, sto) */
	int scap;
};

/*
 * Choose one pupil's prompts: units are rows [from, to) of the units
 * result, questions come from the school's list, states from the pupil's
 * rows [sfrom, sto) of the states result.
 */
static void
choose(batches *b, const PGresult *units, int from, int to, struct chunk_ids *ci,
    const PGresult *st, int sfrom, int sto, batch_candidate *cand, size_t cap,
    batch_pick *out)
{
	int64_t pupil = pgrow_i64(units, from, 0);
	int ns = sto - sfrom;
	size_t n = 0, nout = 0;

	if (ns > ci->scap) {
		ci->scap = ns;
		ci->sqid = xreallocarray(ci->sqid, (size_t)ns, sizeof *ci->sqid);
	}
	for (int s = 0; s < ns; s++)
		ci->sqid[s] = pgrow_i64(st, sfrom + s, 1);
	for (int i = from; i < to; i++) {
		int64_t unit;
		int q;

		if (PQgetisnull(units, i, 1))
			continue;	/* nothing taught yet, or the unit is inactive */
		unit = pgrow_i64(units, i, 1);
		for (q = lower_bound_ids(ci->qunit, 0, ci->nq, unit);
		    q < ci->nq && ci->qunit[q] == unit && n < cap; q++) {
			batch_candidate *c = &cand[n];
			int64_t question = ci->qid[q];
			int s = lower_bound_ids(ci->sqid, 0, ns, question);

			memset(c, 0, sizeof *c);
			c->question_id = question;
			c->unit_id = unit;
			c->course_id = pgrow_i64(units, i, 2);
			c->last_review_day = BATCH_NO_DAY;
			c->due_day = BATCH_NO_DAY;
			if (s < ns && ci->sqid[s] == question) {
				int srow = sfrom + s;

				c->state.stability = strtod(PQgetvalue(st, srow, 2), NULL);
				c->state.difficulty = strtod(PQgetvalue(st, srow, 3), NULL);
				c->state.reps = (uint32_t)atoi(PQgetvalue(st, srow, 4));
				c->state.lapses = (uint32_t)atoi(PQgetvalue(st, srow, 5));
				c->last_review_day = day_or_none(st, srow, 6);
				c->due_day = day_or_none(st, srow, 7);
			}
			c->taught_day = day_or_none(units, i, 3);
			c->exam_day = day_or_none(units, i, 4);
			c->question_order = (int32_t)n;
			n++;
		}
	}
	if (n == 0)
		return;
	if (!batch_select(b->sel, b->model, &b->set, b->today, cand, n, out,
	    b->set.max_per_day, &nout)) {
		log_warnx("batches", "batch selection refused", "school=%s pupil=%" PRId64,
		    b->school, pupil);
		return;
	}
	for (size_t k = 0; k < nout; k++)
		batches_writer_add(b->w, pupil, out[k].question_id);
}

static void write_chunk(const struct db_reply *r, void *arg);

/* Candidates came back: choose, then reserve ids and read what events need. */
static void
candidates_read(const struct db_reply *r, void *arg)
{
	batches *b = arg;
	const PGresult *units, *qs, *st;
	int rows, start = 0, srow = 0, nst;
	size_t cap;
	batch_candidate *cand;
	batch_pick *out;
	struct chunk_ids ci = { 0 };
	db_req *req;

	b->req = NULL;
	if (r->status != DB_OK) {
		school_failed(b, r, "candidates");
		return;
	}
	units = r->results[0];
	qs = r->results[1];
	st = r->results[2];
	rows = PQntuples(units);
	nst = PQntuples(st);
	if (rows == 0) {
		finish_school(b);
		return;
	}
	batches_writer_clear(b->w);
	cap = (size_t)PQntuples(qs) + 1;	/* no pupil has more candidates than that */
	cand = xcalloc(cap, sizeof *cand);
	out = xcalloc(b->set.max_per_day + 1, sizeof *out);
	ci.nq = PQntuples(qs);
	ci.qunit = xcalloc((size_t)ci.nq + 1, sizeof *ci.qunit);
	ci.qid = xcalloc((size_t)ci.nq + 1, sizeof *ci.qid);
	for (int q = 0; q < ci.nq; q++) {
		ci.qunit[q] = pgrow_i64(qs, q, 0);
		ci.qid[q] = pgrow_i64(qs, q, 1);
	}
	b->chunk_rows = 0;
	for (int i = 1; i <= rows; i++) {
		int64_t pupil;
		int sfrom;

		if (i < rows && pgrow_i64(units, i, 0) == pgrow_i64(units, start, 0))
			continue;
		/* This pupil's states: the next run of the states result. */
		pupil = pgrow_i64(units, start, 0);
		while (srow < nst && pgrow_i64(st, srow, 0) < pupil)
			srow++;
		sfrom = srow;
		while (srow < nst && pgrow_i64(st, srow, 0) == pupil)
			srow++;
		choose(b, units, start, i, &ci, st, sfrom, srow, cand, cap, out);
		b->chunk_rows++;
		start = i;
	}
	b->last_pupil = pgrow_i64(units, rows - 1, 0);
	free(cand);
	free(out);
	free(ci.qunit);
	free(ci.qid);
	free(ci.sqid);
	if (batches_writer_nprompts(b->w) == 0) {
		load_chunk(b);	/* nobody in this chunk has anything due */
		return;
	}
	/* Ids first, so the events can carry prompt ids and answer links. */
	req = db_req_new(write_chunk, b);
	batches_writer_prepare(b->w, req);
	b->req = db_submit(b->db, req);
}

static void chunk_written(const struct db_reply *r, void *arg);

/* The transaction: the lease, then the batches, prompts and their events. */
static void
write_chunk(const struct db_reply *r, void *arg)
{
	batches *b = arg;
	char now[40];
	db_req *req;

	b->req = NULL;
	if (r->status != DB_OK) {
		school_failed(b, r, "prepare");
		return;
	}
	if (!batches_writer_take_ids(b->w, r->results)) {
		log_warnx("batches", "could not reserve ids", "school=%s", b->school);
		run_done(b);
		return;
	}
	clock_now_iso(now, sizeof now);
	req = db_req_new(chunk_written, b);
	/* first: a chunk written under a lost lease must not commit */
	lease_add_renew(req, b->leases, JOB);
	batches_writer_write(b->w, r->results, now, req);
	b->built += (int)batches_writer_npupils(b->w);
	b->req = db_submit(b->db, req);
}

static void
chunk_written(const struct db_reply *r, void *arg)
{
	batches *b = arg;

	b->req = NULL;
	if (r->status != DB_OK) {
		school_failed(b, r, "write");
		return;
	}
	if (b->chunk_rows < b->chunk) {
		finish_school(b);
		return;
	}
	load_chunk(b);
}

static void
load_chunk(batches *b)
{
	char last[24], limit[16];
	const char *p[4];
	db_req *req;

	if (runner_stopping(b->run)) {
		run_done(b);
		return;
	}
	snprintf(last, sizeof last, "%" PRId64, b->last_pupil);
	snprintf(limit, sizeof limit, "%d", b->chunk);
	p[0] = b->school;
	p[1] = last;
	p[2] = b->local_date;
	p[3] = limit;
	req = db_req_new(candidates_read, b);
	db_req_add(req, chunk_units_sql, 4, p);
	db_req_add(req, school_questions_sql, 1, p);
	db_req_add(req, chunk_states_sql, 4, p);
	b->req = db_submit(b->db, req);
}

batches *
batches_new(const struct batches_spec *spec)
{
	batches *b = xcalloc(1, sizeof *b);

	b->db = spec->db;
	b->leases = spec->leases;
	b->chunk = spec->chunk > 0 ? spec->chunk : 500;
	b->link = spec->link;
	b->link_arg = spec->link_arg;
	b->sel = batch_selector_new();
	if (b->sel == NULL)
		fatalx("batches", "out of memory", "");
	b->run = runner_new(spec->base, &(struct runner_spec){ .name = "batches",
	    .interval_ms = spec->interval_ms, .on_clock = true, .at_start = true }, run_start, b);
	return b;
}

void
batches_stop(batches *b)
{
	runner_stop(b->run);
}

bool
batches_busy(const batches *b)
{
	return runner_running(b->run) || b->req != NULL;
}

bool
batches_idle(const batches *b)
{
	return !batches_busy(b) && runner_idle(b->run);
}

void
batches_free(batches *b)
{
	if (b == NULL)
		return;
	if (b->req != NULL)
		db_cancel(b->req);
	runner_free(b->run);
	batch_selector_free(b->sel);
	fsrs_model_free(b->model);
	batches_writer_free(b->w);
	free(b);
}
