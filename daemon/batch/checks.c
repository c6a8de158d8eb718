/* checks.c: diagnostic checks and re-checks pushed on demand (see checks.h). */
#include "autoconf.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "batches_writer.h"
#include "checks.h"
#include "clock.h"
#include "db.h"
#include "fsrs.h"
#include "log.h"
#include "pgrow.h"
#include "settings.h"
#include "util.h"

#define DEFAULT_QUESTIONS 5

struct op {
	checks *ck;
	struct op *prev, *next;
	struct checks_request rq;
	checks_cb cb;
	void *arg;
	db_req *req;
	batches_writer *w;
	char school[24], class_id[24], unit_id[24];
	char local_date[16], expires_at[40];
	int64_t n_pupils;	/* active pupils of the class */
};

struct checks {
	db_pool *db;
	batches_writer_link_fn link;
	void *link_arg;
	struct op *ops;		/* being pushed */
	int pending;
};

const char *
checks_kind_name(enum checks_kind k)
{
	switch (k) {
	case CHECKS_DIAGNOSTIC:
		return "diagnostic";
	case CHECKS_RECHECK:
		return "recheck";
	}
	return "?";
}

bool
checks_kind_parse(const char *s, enum checks_kind *out)
{
	if (s == NULL)
		return false;
	if (strcmp(s, "diagnostic") == 0)
		*out = CHECKS_DIAGNOSTIC;
	else if (strcmp(s, "recheck") == 0)
		*out = CHECKS_RECHECK;
	else
		return false;
	return true;
}

/* ---- statements ---- */

/*
 * The class (as this caller may see it: the teacher's filter is api/scope.h's
 * SCOPE_CLASS, on $4), the unit, and the school's day.
 */
enum { CTX_SETTINGS = 2, CTX_EXPIRES = CTX_SETTINGS + SETTINGS_NCOLUMNS };
static const char context_sql[] =
    "SELECT (SELECT k.active FROM class k WHERE k.school_id = s.school_id"
    "   AND k.class_id = $2::bigint AND ($4::bigint IS NULL OR EXISTS (SELECT 1"
    "   FROM class_teacher ct WHERE ct.school_id = k.school_id AND ct.class_id = k.class_id"
    "   AND ct.active AND ct.teacher_id = $4::bigint))),"
    " (SELECT u.active FROM unit u WHERE u.school_id = s.school_id AND u.unit_id = $3::bigint),"
    " " SETTINGS_COLUMNS("$5") ","
    /* the prompts expire at the end of the local day, as daily ones do */
    " to_char(((($5::timestamptz AT TIME ZONE s.tz)::date + 1)::timestamp AT TIME ZONE s.tz)"
    "   AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
    " extract(epoch FROM ((($5::timestamptz AT TIME ZONE s.tz)::date + 1)::timestamp"
    "   AT TIME ZONE s.tz))::bigint"
    " FROM school s WHERE s.school_id = $1";

/*
 * Every active pupil of the class x every active question of the unit,
 * with the pupil's memory state and whether they missed the question
 * (rated Again) in their last CHECKS_RECENT_REVIEWS reviews of it.
 */
#define STR2(x) #x
#define STR(x) STR2(x)
static const char candidates_sql[] =
    "WITH pupils AS (SELECT p.pupil_id FROM class_pupil cp JOIN pupil p"
    "   ON p.school_id = cp.school_id AND p.pupil_id = cp.pupil_id AND p.active"
    "   WHERE cp.school_id = $1 AND cp.class_id = $2::bigint AND cp.active),"
    " qs AS (SELECT q.question_id FROM question q JOIN school s ON s.school_id = q.school_id"
    "   WHERE q.school_id = $1 AND q.unit_id = $3::bigint AND " SETTINGS_QUESTION_COUNTS("q", "s") "),"
    " recent AS (SELECT r.pupil_id, r.question_id, bool_or(r.rating = 1) AS missed"
    "   FROM (SELECT r.pupil_id, r.question_id, r.rating, row_number() OVER"
    "     (PARTITION BY r.pupil_id, r.question_id ORDER BY r.reviewed_at DESC) AS n"
    "     FROM review r WHERE r.school_id = $1 AND r.pupil_id IN (SELECT pupil_id FROM pupils)"
    "     AND r.question_id IN (SELECT question_id FROM qs)) r"
    "   WHERE r.n <= " STR(CHECKS_RECENT_REVIEWS) " GROUP BY 1, 2)"
    " SELECT x.pupil_id, q.question_id, m.stability, m.reps,"
    "  m.last_review_day - date '1970-01-01', coalesce(rc.missed, false)"
    " FROM pupils x CROSS JOIN qs q"
    " LEFT JOIN memory_state m ON m.school_id = $1 AND m.pupil_id = x.pupil_id"
    "   AND m.question_id = q.question_id"
    " LEFT JOIN recent rc ON rc.pupil_id = x.pupil_id AND rc.question_id = q.question_id"
    " ORDER BY x.pupil_id, q.question_id";

/* ---- choosing ---- */

struct cand {
	int64_t question_id;
	int group;		/* recheck: 0 parallel, 1 unseen, 2 missed */
	double recall;		/* reviewed ones, at today */
	size_t order;		/* tie-break: rotated question order */
};

static int
cand_cmp(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;

	if (x->group != y->group)
		return x->group < y->group ? -1 : 1;
	if (x->group != 1 && x->recall != y->recall)
		return x->recall < y->recall ? -1 : 1;
	if (x->order != y->order)
		return x->order < y->order ? -1 : 1;
	return x->question_id < y->question_id ? -1 : x->question_id > y->question_id;
}

/*
 * One pupil's questions from rows [from, to) (the unit's questions in
 * question order); nth is the pupil's place in the class, k the count.
 */
static void
choose(struct op *o, const PGresult *res, int from, int to, size_t nth, size_t k,
    const fsrs_model *m, int32_t today, struct cand *c)
{
	size_t n = (size_t)(to - from);
	int64_t pupil = pgrow_i64(res, from, 0);

	if (k > n)
		k = n;
	if (k == 0)
		return;
	if (o->rq.kind == CHECKS_DIAGNOSTIC) {
		/* k questions evenly over the unit, shifted by the pupil's place. */
		size_t stride = (n + k - 1) / k, shift = nth % stride;

		for (size_t j = 0; j < k; j++) {
			size_t at = (j * n / k + shift) % n;
			batches_writer_add(o->w, pupil, pgrow_i64(res, from + (int)at, 1));
		}
		return;
	}
	for (size_t i = 0; i < n; i++) {
		int row = from + (int)i;
		bool seen = pgrow_int(res, row, 3) > 0;

		c[i].question_id = pgrow_i64(res, row, 1);
		c[i].order = (i + n - nth % n) % n;
		c[i].recall = 0;
		if (!seen) {
			c[i].group = 1;
			continue;
		}
		c[i].group = pgrow_bool(res, row, 5) ? 2 : 0;
		c[i].recall = fsrs_retrievability(m, pgrow_f64(res, row, 2),
		    (double)(today - pgrow_int(res, row, 4)));
	}
	qsort(c, n, sizeof *c, cand_cmp);
	for (size_t j = 0; j < k; j++)
		batches_writer_add(o->w, pupil, c[j].question_id);
}

/* ---- the steps ---- */

static void
op_end(struct op *o, int status, const json_t *body, const char *field,
    const char *detail)
{
	checks *ck = o->ck;

	if (o->prev != NULL)
		o->prev->next = o->next;
	else
		ck->ops = o->next;
	if (o->next != NULL)
		o->next->prev = o->prev;
	ck->pending--;
	o->cb(status, body, field, detail, o->arg);
	batches_writer_free(o->w);
	free(o);
}

static void
op_db_failed(struct op *o, const struct db_reply *r, const char *step)
{
	if (r->status == DB_UNAVAILABLE) {
		op_end(o, 503, NULL, NULL, "the database cannot be reached right now; retry shortly");
		return;
	}
	log_warnx("checks", "check failed", "school=%s class=%s unit=%s step=%s err=\"%s\"",
	    o->school, o->class_id, o->unit_id, step, r->error);
	op_end(o, 500, NULL, NULL, "the check could not be pushed; it has been logged");
}

static void
op_reply(struct op *o, int deliveries)
{
	json_t *body = json_pack("{s:I, s:I, s:s, s:s, s:s, s:I, s:I, s:I, s:i}",
	    "class_id", (json_int_t)o->rq.class_id,
	    "unit_id", (json_int_t)o->rq.unit_id,
	    "kind", checks_kind_name(o->rq.kind),
	    "local_date", o->local_date,
	    "expires_at", o->expires_at,
	    "pupils", (json_int_t)o->n_pupils,
	    "batches", (json_int_t)(o->w ? batches_writer_npupils(o->w) : 0),
	    "prompts", (json_int_t)(o->w ? batches_writer_nprompts(o->w) : 0),
	    "deliveries", deliveries);

	log_info("checks", "check pushed", "school=%s class=%s unit=%s kind=%s batches=%zu",
	    o->school, o->class_id, o->unit_id, checks_kind_name(o->rq.kind),
	    o->w ? batches_writer_npupils(o->w) : 0);
	op_end(o, 201, body, NULL, NULL);
	json_decref(body);
}

static void
written(const struct db_reply *r, void *arg)
{
	struct op *o = arg;

	o->req = NULL;
	if (r->status != DB_OK) {
		op_db_failed(o, r, "write");
		return;
	}
	op_reply(o, batches_writer_deliveries(o->w, r, 0));
}

static void
prepared(const struct db_reply *r, void *arg)
{
	struct op *o = arg;
	char now[40];
	db_req *req;

	o->req = NULL;
	if (r->status != DB_OK) {
		op_db_failed(o, r, "prepare");
		return;
	}
	if (!batches_writer_take_ids(o->w, r->results)) {
		log_warnx("checks", "could not reserve ids", "school=%s", o->school);
		op_end(o, 500, NULL, NULL, "the check could not be pushed; it has been logged");
		return;
	}
	clock_now_iso(now, sizeof now);
	req = db_req_new(written, o);
	batches_writer_write(o->w, r->results, now, req);
	o->req = db_submit(o->ck->db, req);
}

static void
read_done(const struct db_reply *r, void *arg)
{
	struct op *o = arg;
	const PGresult *ctx, *res;
	fsrs_model *m;
	char err[256];
	struct settings set;
	struct settings_error se;
	size_t k, nth = 0;
	int rows, start = 0;
	struct cand *c;
	db_req *req;
	int32_t today;

	o->req = NULL;
	if (r->status != DB_OK) {
		op_db_failed(o, r, "read");
		return;
	}
	ctx = r->results[0];
	res = r->results[1];
	if (PQntuples(ctx) == 0 || pgrow_null(ctx, 0, 0)) {
		op_end(o, 404, NULL, NULL, "no such class in this school");
		return;
	}
	if (pgrow_null(ctx, 0, 1)) {
		op_end(o, 404, NULL, NULL, "no such unit in this school");
		return;
	}
	if (!pgrow_bool(ctx, 0, 0)) {
		op_end(o, 422, NULL, "class_id", "the class is not active");
		return;
	}
	if (!pgrow_bool(ctx, 0, 1)) {
		op_end(o, 422, NULL, "unit_id", "the unit is not active");
		return;
	}
	if (pgrow_int(r->results[2], 0, 0) == 0) {
		op_end(o, 422, NULL, "unit_id", "the unit has no questions to ask (active;"
		    " self-rated only where the school takes self-ratings)");
		return;
	}
	if (!settings_parse(ctx, 0, CTX_SETTINGS, &set, &se)) {
		settings_warn("checks", &se);
		settings_error_text(&se, err, sizeof err);
		op_end(o, 500, NULL, NULL, err);
		return;
	}
	k = set.batch.max_per_day;
	if (k == 0)
		k = DEFAULT_QUESTIONS;
	util_strlcpy(o->local_date, set.local_date, sizeof o->local_date);
	today = set.today;
	util_strlcpy(o->expires_at, PQgetvalue(ctx, 0, CTX_EXPIRES), sizeof o->expires_at);
	rows = PQntuples(res);
	m = settings_model_new(&set);
	o->w = batches_writer_new(&(struct batches_writer_spec){ .school = o->school,
	    .local_date = o->local_date, .kind = checks_kind_name(o->rq.kind),
	    .class_id = o->class_id, .unit_id = o->unit_id, .expires_at = o->expires_at,
	    .expires_unix = pgrow_i64(ctx, 0, CTX_EXPIRES + 1),
	    .link = o->ck->link, .link_arg = o->ck->link_arg });
	c = xcalloc((size_t)rows + 1, sizeof *c);
	for (int i = 1; i <= rows; i++) {
		if (i < rows && strcmp(PQgetvalue(res, i, 0), PQgetvalue(res, start, 0)) == 0)
			continue;
		choose(o, res, start, i, nth++, k, m, today, c);
		start = i;
	}
	free(c);
	fsrs_model_free(m);
	o->n_pupils = (int64_t)nth;
	if (batches_writer_nprompts(o->w) == 0) {
		op_reply(o, 0);	/* nobody to push to */
		return;
	}
	req = db_req_new(prepared, o);
	batches_writer_prepare(o->w, req);
	o->req = db_submit(o->ck->db, req);
}

void
checks_push(checks *ck, const struct checks_request *rq, checks_cb cb, void *arg)
{
	struct op *o = xcalloc(1, sizeof *o);
	char teacher[24], now[40];
	const char *p[5];
	db_req *req;

	o->ck = ck;
	o->rq = *rq;
	o->cb = cb;
	o->arg = arg;
	snprintf(o->school, sizeof o->school, "%" PRId64, rq->school_id);
	snprintf(o->class_id, sizeof o->class_id, "%" PRId64, rq->class_id);
	snprintf(o->unit_id, sizeof o->unit_id, "%" PRId64, rq->unit_id);
	snprintf(teacher, sizeof teacher, "%" PRId64, rq->teacher_id);
	clock_now_iso(now, sizeof now);
	o->next = ck->ops;
	if (ck->ops != NULL)
		ck->ops->prev = o;
	ck->ops = o;
	ck->pending++;
	p[0] = o->school;
	p[1] = o->class_id;
	p[2] = o->unit_id;
	p[3] = rq->teacher_id > 0 ? teacher : NULL;
	p[4] = now;
	req = db_req_new(read_done, o);
	db_req_add(req, context_sql, 5, p);
	db_req_add(req, candidates_sql, 3, p);
	db_req_add(req, "SELECT count(*) FROM question q JOIN school s ON s.school_id = q.school_id"
	    " WHERE q.school_id = $1 AND q.unit_id = $2::bigint AND " SETTINGS_QUESTION_COUNTS("q", "s"),
	    2, (const char *[]){ o->school, o->unit_id });
	o->req = db_submit(ck->db, req);
}

checks *
checks_new(db_pool *db, batches_writer_link_fn link, void *link_arg)
{
	checks *ck = xcalloc(1, sizeof *ck);

	ck->db = db;
	ck->link = link;
	ck->link_arg = link_arg;
	return ck;
}

int
checks_pending(const checks *ck)
{
	return ck->pending;
}

void
checks_free(checks *ck)
{
	struct op *o, *next;

	if (ck == NULL)
		return;
	for (o = ck->ops; o != NULL; o = next) {
		next = o->next;
		if (o->req != NULL)
			db_cancel(o->req);
		batches_writer_free(o->w);
		free(o);
	}
	free(ck);
}
