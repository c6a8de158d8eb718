/* flagjob.c: mastery refresh, forgotten-topic flags and digests (see flagjob.h). */
#include "autoconf.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "classview.h"
#include "clock.h"
#include "db.h"
#include "flagjob.h"
#include "flags.h"
#include "fsrs.h"
#include "lease.h"
#include "log.h"
#include "mastery.h"
#include "payload.h"
#include "pgrow.h"
#include "ags.h"
#include "outbox.h"
#include "runner.h"
#include "sbuf.h"
#include "settings.h"
#include "util.h"

#define JOB "flags"
#define CLASS_TRIES 3		/* serialization failures before a class is skipped */
#define YIELD_MS 200		/* while the batch job runs, look again after this */

/* A run asked for by answers: only the schools with reviews the job has not seen. */
#define WHY_ANSWERS RUNNER_USER

struct flagjob {
	db_pool *db;
	lease_keeper *leases;
	runner *run;
	int64_t debounce_ms;
	char score_interval[24];	/* ms, for ags_queue_sql */
	bool (*busy)(void *arg);
	void *busy_arg;
	struct event *yield;	/* waiting for the batch job to finish */
	bool yielded;		/* since the last lease renewal */
	bool full;		/* this run: every school, else new reviews only */
	db_req *req;		/* in flight */
	bool in_txn;		/* a class transaction is in flight */
	/* schools whose answers were heard of since the last answers-only run */
	int64_t *dirty;
	size_t ndirty, dirty_cap;
	char *run_set;		/* this answers-only run's schools, a bigint[] literal */
	char mark[24];		/* the school's newest review when its visit began */

	/* the school being worked on */
	int64_t last_school;
	char claimed_at[40];	/* the clock when the school was claimed */
	char school[24];
	char week[16];		/* Monday of the local week */
	bool digest_due;	/* digest weekday, from the prompt time */
	bool families_done;	/* this school's digest.guardian notes queued */
	batches_writer_link_fn link;
	void *link_arg;
	struct settings set;
	fsrs_model *model;	/* of set */
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
 * Claim the next school after $2 (all of them, or with $3 only those whose
 * answers were heard of, from the reviews channel's payloads) that no
 * daemon holds. The pick reads only the reference tables (Citus): which
 * schools had answers comes from the NOTIFY, not from a scan of reviews;
 * the mark (the newest review a visit saw, for whoever waits for the job)
 * is left by the school's own statements.
 */
static const char claim_sql[] =
    "WITH pick AS MATERIALIZED (SELECT j2.school_id FROM school_flag_job j2 JOIN school s2"
    "   ON s2.school_id = j2.school_id AND s2.active WHERE j2.school_id > $2::bigint"
    "   AND " LEASE_FREE(JOB, "j2.school_id")
    "   AND ($3::bigint[] IS NULL OR j2.school_id = ANY ($3::bigint[]))"
    "   ORDER BY j2.school_id LIMIT 1),"
    " won AS MATERIALIZED (SELECT school_id, " LEASE_TAKE(JOB, "school_id", "$4", "$5")
    "   AS won FROM pick)"
    " SELECT s.school_id, won.won,"
    " extract(isodow FROM ($1::timestamptz AT TIME ZONE s.tz))::int = s.digest_weekday"
    "   AND ($1::timestamptz AT TIME ZONE s.tz)::time >= s.prompt_time,"
    " date_trunc('week', $1::timestamptz AT TIME ZONE s.tz)::date::text, "
    SETTINGS_COLUMNS("$1") ","
    SETTINGS_WINDOW_COLUMNS("$1")
    " FROM won JOIN school s ON s.school_id = won.school_id";

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
dirty_add(flagjob *f, int64_t school)
{
	for (size_t i = 0; i < f->ndirty; i++)
		if (f->dirty[i] == school)
			return;
	if (f->ndirty == f->dirty_cap) {
		f->dirty_cap = f->dirty_cap ? 2 * f->dirty_cap : 16;
		f->dirty = xreallocarray(f->dirty, f->dirty_cap, sizeof *f->dirty);
	}
	f->dirty[f->ndirty++] = school;
}

/* The runner starts a run: a full one unless only answers asked for it. */
static void
run_start(runner *r, unsigned why, void *arg)
{
	flagjob *f = arg;

	f->full = (why & ~WHY_ANSWERS) != 0;
	f->last_school = 0;
	free(f->run_set);
	f->run_set = NULL;
	if (!f->full) {
		/* the schools heard of so far; later answers kick another run */
		f->run_set = sbuf_ids_literal(f->dirty, f->ndirty, sizeof *f->dirty);
		f->ndirty = 0;
		run_next_school(f);
		return;
	}
	f->ndirty = 0;	/* a full run visits them all */
	/* A school new since the last run gets its row. */
	f->req = db_query(f->db, "INSERT INTO school_flag_job (school_id)"
	    " SELECT school_id FROM school ON CONFLICT DO NOTHING", 0, NULL, rows_made, f);
}

void
flagjob_kick(flagjob *f)
{
	runner_kick(f->run, RUNNER_KICK);
}

void
flagjob_kick_answers(flagjob *f)
{
	/* The first answer arms it; later ones ride along. */
	runner_kick_after(f->run, f->debounce_ms, WHY_ANSWERS);
}

/*
 * Every commit of answers notifies the reviews channel with its schools'
 * ids, comma-separated. One without (another version's): a full run.
 */
static void
dirty_add_cb(int64_t school, void *arg)
{
	dirty_add(arg, school);
}

static void
reviews_notified(const char *channel, const char *payload, void *arg)
{
	flagjob *f = arg;

	(void)channel;
	if (util_each_id(payload, dirty_add_cb, f))
		flagjob_kick_answers(f);
	else
		flagjob_kick(f);
}

/* The LISTEN is (back) up: answers committed while it was down were not heard. */
static void
reviews_listening(void *arg)
{
	flagjob_kick(arg);
}

static void
run_done(flagjob *f)
{
	fsrs_model_free(f->model);
	f->model = NULL;
	free(f->classes);
	f->classes = NULL;
	f->nclasses = 0;
	lease_let_go(f->leases, JOB, f->db);
	runner_done(f->run);
}

static void classes_listed(const struct db_reply *r, void *arg);

static void
claimed(const struct db_reply *r, void *arg)
{
	flagjob *f = arg;
	const PGresult *res;
	struct settings_error e;
	const char *p[1];
	db_req *req;

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
	f->last_school = pgrow_i64(res, 0, 0);
	if (!pgrow_bool(res, 0, 1)) {
		/* Another daemon took it first; answers it has not seen get another run. */
		if (!f->full) {
			dirty_add(f, f->last_school);
			flagjob_kick_answers(f);
		}
		run_next_school(f);
		return;
	}
	lease_held(f->leases, JOB, f->school);
	f->digest_due = pgrow_bool(res, 0, 2);
	f->families_done = false;
	util_strlcpy(f->week, PQgetvalue(res, 0, 3), sizeof f->week);
	fsrs_model_free(f->model);
	f->model = NULL;
	if (!settings_parse(res, 0, 4, &f->set, &e)) {
		settings_warn("flagjob", &e);
		lease_forget(f->leases, JOB);	/* left to lapse, as the batch job does */
		run_next_school(f);
		return;
	}
	settings_parse_windows(res, 0, 4 + SETTINGS_NCOLUMNS, &f->set);
	f->model = settings_model_new(&f->set);
	f->n_flagged = f->n_changed = f->n_digests = 0;
	p[0] = f->school;
	req = db_req_new(classes_listed, f);
	/* Flags of units no longer taught (or gone) go; then the classes to visit. */
	db_req_add(req, "DELETE FROM flag fl WHERE fl.school_id = $1 AND NOT EXISTS"
	    " (SELECT 1 FROM taught t JOIN unit u ON u.school_id = t.school_id"
	    "   AND u.unit_id = t.unit_id AND u.active"
	    "   WHERE t.school_id = fl.school_id AND t.class_id = fl.class_id"
	    "   AND t.unit_id = fl.unit_id)", 1, p);
	db_req_add(req, "SELECT k.class_id FROM class k WHERE k.school_id = $1 AND k.active"
	    " AND EXISTS (SELECT 1 FROM taught t WHERE t.school_id = k.school_id"
	    "   AND t.class_id = k.class_id) ORDER BY k.class_id", 1, p);
	/* the newest answer this visit sees: the mark it leaves when done */
	db_req_add(req, "SELECT coalesce(max(review_id), 0) FROM review WHERE school_id = $1", 1, p);
	f->req = db_submit(f->db, req);
}

static void
run_next_school(flagjob *f)
{
	const char *p[5] = { f->claimed_at, NULL, f->full ? NULL : f->run_set,
	    lease_holder(f->leases), lease_timeout_param(f->leases) };
	char last[24];

	if (runner_stopping(f->run)) {
		run_done(f);
		return;
	}
	clock_now_iso(f->claimed_at, sizeof f->claimed_at);
	snprintf(last, sizeof last, "%" PRId64, f->last_school);
	p[1] = last;
	f->req = db_query(f->db, claim_sql, 5, p, claimed, f);
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

/*
 * The week's note to each pupil's family (digest.guardian), one event per
 * pupil with active guardians, on the digest weekday unless the school
 * switched it off; a guardian_digest row each, so it goes once a week.
 * $1 school, $2 now, $3 the week's Monday.
 */
static const char families_sql[] =
    "SELECT p.pupil_id, p.external_id,"
    " (SELECT json_agg(g.external_id ORDER BY g.external_id) FROM guardian_pupil gp"
    "   JOIN guardian g ON g.school_id = gp.school_id AND g.guardian_id = gp.guardian_id"
    "   WHERE gp.school_id = p.school_id AND gp.pupil_id = p.pupil_id AND g.active)::text,"
    " (SELECT count(*) FROM review r WHERE r.school_id = p.school_id AND r.pupil_id = p.pupil_id"
    "   AND r.reviewed_at > $2::timestamptz - interval '7 days' AND r.reviewed_at <= $2::timestamptz),"
    " (SELECT count(*) FROM review r WHERE r.school_id = p.school_id AND r.pupil_id = p.pupil_id"
    "   AND r.rating > 1"
    "   AND r.reviewed_at > $2::timestamptz - interval '7 days' AND r.reviewed_at <= $2::timestamptz),"
    " (SELECT coalesce(json_agg(json_build_object('unit', json_build_object('id', u.unit_id,"
    "   'name', u.name), 'from', h.from_level, 'to', h.to_level) ORDER BY h.changed_at), '[]')"
    "   FROM mastery_history h JOIN unit u ON u.school_id = h.school_id AND u.unit_id = h.unit_id"
    "   WHERE h.school_id = p.school_id AND h.pupil_id = p.pupil_id"
    "   AND h.changed_at > $2::timestamptz - interval '7 days'"
    "   AND h.changed_at <= $2::timestamptz)::text,"
    " (SELECT u.name FROM mastery m JOIN unit u ON u.school_id = m.school_id"
    "   AND u.unit_id = m.unit_id WHERE m.school_id = p.school_id AND m.pupil_id = p.pupil_id"
    "   ORDER BY m.recall, u.unit_id LIMIT 1)"
    " FROM pupil p JOIN school s ON s.school_id = p.school_id"
    " WHERE p.school_id = $1 AND p.active AND s.guardian_digest"
    " AND EXISTS (SELECT 1 FROM guardian_pupil gp JOIN guardian g"
    "   ON g.school_id = gp.school_id AND g.guardian_id = gp.guardian_id"
    "   WHERE gp.school_id = p.school_id AND gp.pupil_id = p.pupil_id AND g.active)"
    " AND NOT EXISTS (SELECT 1 FROM guardian_digest d WHERE d.school_id = p.school_id"
    "   AND d.pupil_id = p.pupil_id AND d.week = $3::date)"
    " ORDER BY p.pupil_id";

static void finish_school(flagjob *f);

static void
families_written(const struct db_reply *r, void *arg)
{
	flagjob *f = arg;

	f->req = NULL;
	if (r->status != DB_OK)
		log_warnx("flagjob", "families' notes not queued", "school=%s err=\"%s\"", f->school,
		    r->error);
	finish_school(f);
}

static const char *const level_names[] = { "emerging", "developing", "secure", "mastery" };

/* One pupil's note: what was practised, what moved, one thing to talk about. */
static json_t *
family_note(flagjob *f, const PGresult *res, int i)
{
	long long answers = atoll(PQgetvalue(res, i, 3)), right = atoll(PQgetvalue(res, i, 4));
	json_t *changes = json_loads(PQgetvalue(res, i, 5), 0, NULL), *c, *data;
	char url[512], tip[400];
	size_t k;

	json_array_foreach(changes, k, c) {
		int from = (int)json_integer_value(json_object_get(c, "from"));
		int to = (int)json_integer_value(json_object_get(c, "to"));

		json_object_set_new(c, "from", json_is_null(json_object_get(c, "from")) ||
		    from < 0 || from > 3 ? json_null() : json_string(level_names[from]));
		json_object_set_new(c, "to", to < 0 || to > 3 ? json_null() :
		    json_string(level_names[to]));
	}
	if (PQgetisnull(res, i, 6))
		snprintf(tip, sizeof tip, "Ask them what they learnt this week and which question"
		    " surprised them.");
	else if (answers == 0)
		snprintf(tip, sizeof tip, "No questions were answered this week: a few minutes a"
		    " day keeps %s from fading. Ask them to try today's.", PQgetvalue(res, i, 6));
	else
		snprintf(tip, sizeof tip, "Ask them to explain something from %s: it is the unit"
		    " they are least sure of right now, and saying it aloud helps it stick.",
		    PQgetvalue(res, i, 6));
	data = json_pack("{s:I, s:s, s:{s:I, s:s}, s:o, s:{s:I, s:I}, s:o, s:s}",
	    "school_id", (json_int_t)f->set.school_id, "week", f->week,
	    "pupil", "id", (json_int_t)pgrow_i64(res, i, 0), "external_id", PQgetvalue(res, i, 1),
	    "guardians", json_loads(PQgetvalue(res, i, 2), 0, NULL),
	    "practised", "answers", (json_int_t)answers, "right", (json_int_t)right,
	    "levels_changed", changes != NULL ? changes : json_array(), "encourage", tip);
	if (f->link != NULL && f->link(f->link_arg, BATCHES_LINK_PUPIL, f->set.school_id,
	    pgrow_i64(res, i, 0), clock_now_us() / 1000000, url, sizeof url))
		json_object_set_new(data, "progress_url", json_string(url));
	return data;
}

static void
families_read(const struct db_reply *r, void *arg)
{
	flagjob *f = arg;
	const PGresult *res;
	db_req *req;
	int n;

	f->req = NULL;
	if (r->status != DB_OK) {
		log_warnx("flagjob", "families not read", "school=%s err=\"%s\"", f->school,
		    r->error);
		finish_school(f);
		return;
	}
	res = r->results[0];
	n = PQntuples(res);
	if (n == 0) {
		finish_school(f);
		return;
	}
	req = db_req_new(families_written, f);
	lease_add_renew(req, f->leases, JOB);
	for (int i = 0; i < n; i++) {
		char pupil[24];
		const char *p[4] = { f->school, pupil, f->week, f->claimed_at };
		json_t *data = family_note(f, res, i);

		snprintf(pupil, sizeof pupil, "%" PRId64, pgrow_i64(res, i, 0));
		db_req_add(req, "INSERT INTO guardian_digest (school_id, pupil_id, week, sent_at)"
		    " VALUES ($1, $2, $3::date, $4::timestamptz)", 4, p);
		outbox_enqueue_sql(req, &(struct outbox_event){ .school_id = f->school,
		    .type = "digest.guardian", .data = data, .now = f->claimed_at, .no_notify = true });
		json_decref(data);
	}
	outbox_notify_sql(req, f->school);
	log_info("flagjob", "families' notes queued", "school=%s pupils=%d", f->school, n);
	f->req = db_submit(f->db, req);
}

static void
finish_school(flagjob *f)
{
	db_req *req;

	if (f->digest_due && !f->families_done && !runner_stopping(f->run)) {
		const char *q[3] = { f->school, f->claimed_at, f->week };

		f->families_done = true;
		f->req = db_query(f->db, families_sql, 3, q, families_read, f);
		return;
	}

	log_debug("flagjob", "school done", "school=%s classes=%zu flagged=%d level_changes=%d"
	    " digests=%d", f->school, f->nclasses, f->n_flagged, f->n_changed, f->n_digests);
	if (f->n_flagged > 0 || f->n_digests > 0)
		log_info("flagjob", "flags updated", "school=%s flagged=%d digests=%d",
		    f->school, f->n_flagged, f->n_digests);
	/* Done as of the claim: what the flags were computed for. */
	req = db_req_new(school_released, f);
	/* levels and recall as they are now, to the LMS gradebooks of linked classes */
	{
		const char *q[AGS_QUEUE_NPARAMS] = { f->school, f->claimed_at, f->score_interval };

		db_req_add(req, ags_queue_sql, AGS_QUEUE_NPARAMS, q);
		outbox_notify_sql(req, f->school);
	}
	{
		const char *q[3] = { f->school, f->claimed_at, f->mark };

		db_req_add(req, "UPDATE school_flag_job SET done_at = $2::timestamptz,"
		    " review_mark = greatest(review_mark, $3::bigint) WHERE school_id = $1", 3, q);
	}
	lease_add_release(req, f->leases, JOB);
	f->req = db_submit(f->db, req);
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
	util_strlcpy(f->mark, PQgetvalue(r->results[2], 0, 0), sizeof f->mark);
	res = r->results[1];
	free(f->classes);
	f->nclasses = (size_t)PQntuples(res);
	f->classes = xcalloc(f->nclasses + 1, sizeof *f->classes);
	for (size_t i = 0; i < f->nclasses; i++)
		f->classes[i] = pgrow_i64(res, (int)i, 0);
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
	/* The windows as the claim counted them. */
	classview_sql(req, f->school, cls, f->claimed_at);
	f->in_txn = true;
	f->txn = db_txn_begin(f->db, req);
}

static void
yield_cb(evutil_socket_t fd, short what, void *arg)
{
	next_class(arg);
}

/*
 * While the batch job runs (both start when the clock reaches the prompt
 * time, and both read every memory state), classes are not started.
 */
static bool
yield_to_batches(flagjob *f)
{
	struct timeval tv = { 0, YIELD_MS * 1000 };

	if (f->busy == NULL || !f->busy(f->busy_arg))
		return false;
	f->yielded = true;
	evtimer_add(f->yield, &tv);
	return true;
}

/*
 * f->ci counts two steps a class: even, renew the lease (when a third of
 * its time has gone, and after waiting for the batch job) and start it;
 * odd, it is in its transaction.
 */
static void
next_class(flagjob *f)
{
	size_t k = f->ci / 2;

	if (runner_stopping(f->run)) {
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
		if (lease_renew_due(f->leases, JOB) || f->yielded) {
			db_req *req = db_req_new(lease_renewed, f);

			f->yielded = false;
			lease_add_renew(req, f->leases, JOB);
			f->req = db_submit(f->db, req);
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
	if (strcmp(r->sqlstate, LEASE_LOST) == 0) {
		/* Another daemon has the school now: its writes count, not ours. */
		log_warnx("flagjob", "lease lost", "school=%s", f->school);
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

/* ---- one class: assess, flag, write ---- */

static const char write_flags_sql[] =
    "INSERT INTO flag AS f (school_id, class_id, unit_id, status, reasons, pupils, class_pupils,"
    " fallen, class_recall, class_recall_ahead, horizon_days, since, updated_at, unanswered,"
    " unanswered_days)"
    " SELECT $1, $2::bigint, x.unit_id, x.status, x.reasons, x.pupils, x.class_pupils, x.fallen,"
    "  x.recall, x.ahead, x.horizon, date '1970-01-01' + x.since, $3::timestamptz,"
    "  x.unanswered, x.unanswered_days"
    " FROM jsonb_to_recordset($4::jsonb) AS x(unit_id bigint, status text, reasons int,"
    "  pupils int, class_pupils int, fallen int, recall float8, ahead float8, horizon int,"
    "  since int, unanswered int, unanswered_days int)"
    " ON CONFLICT (school_id, class_id, unit_id) DO UPDATE SET status = EXCLUDED.status,"
    " reasons = EXCLUDED.reasons, pupils = EXCLUDED.pupils,"
    " class_pupils = EXCLUDED.class_pupils, fallen = EXCLUDED.fallen,"
    " class_recall = EXCLUDED.class_recall, class_recall_ahead = EXCLUDED.class_recall_ahead,"
    " horizon_days = EXCLUDED.horizon_days, since = EXCLUDED.since,"
    " updated_at = EXCLUDED.updated_at, unanswered = EXCLUDED.unanswered,"
    " unanswered_days = EXCLUDED.unanswered_days";

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

/* What one class x unit came to, for the flag row, the event and the digest. */
struct unit_outcome {
	flags_result res;
	uint32_t levels[MASTERY_NLEVELS];	/* pupils at each level now */
};

/* One class between its read and its write. */
struct class_work {
	classview *k;
	struct payload_class cls;
	char cls_id[24];
	char now[40];
	size_t nu, np;
	struct unit_outcome *out;	/* per unit */
	flags_pupil *fp;		/* per pupil, of the unit being flagged */
	json_t *flag_rows, *mastery_rows;
	json_t *events;			/* [{"type": ..., "data": ...}], queued after the rows */
};

static void
add_event(struct class_work *w, const char *type, json_t *data)
{
	json_array_append_new(w->events, json_pack("{s:s, s:o}", "type", type, "data", data));
}

static struct payload_unit
unit_of(const struct classview_unit *u)
{
	return (struct payload_unit){ u->id, u->name };
}

/* Pupil p's level of unit u moved since it was stored: a history row and mastery.changed. */
static void
level_moved(flagjob *f, struct class_work *w, size_t u, size_t p, int stored,
    const mastery_result *now)
{
	const struct classview_unit *unit = classview_unit(w->k, u);
	const struct classview_pupil *pu = classview_pupil(w->k, p);
	char next[256];

	mastery_next_render(&now->next, next, sizeof next);
	json_array_append_new(w->mastery_rows, json_pack("{s:I, s:I, s:i, s:i, s:f, s:f}",
	    "pupil_id", (json_int_t)pu->id, "unit_id", (json_int_t)unit->id,
	    "from_level", stored, "level", (int)now->level,
	    "recall", now->mean_recall, "coverage", now->coverage));
	add_event(w, "mastery.changed", payload_mastery_changed(&(struct payload_mastery){
	    .school_id = f->set.school_id, .pupil_id = pu->id, .external_id = pu->external_id,
	    .unit = unit_of(unit), .from = (mastery_level)stored, .to = now->level,
	    .next = next }));
	f->n_changed++;
}

/* Every pupil of unit u, now and at the horizon, into w->fp for the flag. */
static void
assess_pupils(flagjob *f, struct class_work *w, size_t u)
{
	for (size_t p = 0; p < w->np; p++) {
		mastery_result now_r, ahead_r;
		int stored = classview_level(w->k, u, p), high = classview_high(w->k, u, p);
		mastery_level previous = high >= 0 ? (mastery_level)high : MASTERY_EMERGING;

		classview_assess(w->k, u, p, f->model, &f->set.mastery, f->set.today, &now_r);
		classview_assess_ahead(w->k, u, p, f->model, &f->set, &ahead_r);
		w->fp[p] = flags_pupil_from_mastery(previous, &now_r, &ahead_r);
		w->fp[p].unanswered = classview_unanswered(w->k, u, p, &f->set);
		w->out[u].levels[now_r.level]++;
		if (stored >= 0 && stored != (int)now_r.level)
			level_moved(f, w, u, p, stored, &now_r);
	}
}

/* Flag unit u from w->fp: its row, and topic.flagged when new or worse. */
static void
flag_unit(flagjob *f, struct class_work *w, size_t u)
{
	const struct classview_unit *unit = classview_unit(w->k, u);
	struct payload_unit pu = unit_of(unit);
	flags_state prev = { unit->flag, unit->flag_since };
	flags_result *res = &w->out[u].res;
	int32_t horizon = f->set.flags.horizon_days;
	json_t *row;

	flags_assess(&f->set.flags, w->fp, w->np, f->set.today,
	    unit->flag != FLAG_NONE ? &prev : NULL, res);
	row = json_pack("{s:I, s:s, s:i, s:i, s:i, s:i, s:o, s:o, s:i, s:o}",
	    "unit_id", (json_int_t)unit->id,
	    "status", flags_status_name(res->status),
	    "reasons", (int)res->reasons,
	    "pupils", (int)res->n_concerned,
	    "class_pupils", (int)res->n_pupils,
	    "fallen", (int)res->n_fallen,
	    "recall", res->n_evidence > 0 ? json_real(res->mean_recall) : json_null(),
	    "ahead", res->n_evidence > 0 ? json_real(res->mean_recall_ahead) : json_null(),
	    "horizon", (int)horizon,
	    "since", res->status != FLAG_NONE ? json_integer(res->since_day) : json_null());
	json_object_set_new(row, "unanswered", json_integer(res->n_unanswered));
	json_object_set_new(row, "unanswered_days", json_integer(f->set.flags.unanswered_days));
	json_array_append_new(w->flag_rows, row);
	/* A new flag, or a worse one (at risk -> forgotten), is news. */
	if (res->status <= unit->flag)
		return;
	add_event(w, "topic.flagged", payload_topic_flagged(f->set.school_id, &w->cls,
	    &pu, res, &f->set.flags, unit->flag));
	f->n_flagged++;
	log_debug("flagjob", "flagged", "school=%s class=%s unit=%" PRId64 " status=%s"
	    " since_day=%" PRId32, f->school, w->cls_id, unit->id, flags_status_name(res->status),
	    res->since_day);
}

/* The week's digest.teacher, and its class_digest row (a second one fails the transaction). */
static void
add_digest(flagjob *f, struct class_work *w, db_req *req)
{
	const char *p[4] = { f->school, w->cls_id, f->week, w->now };
	json_t *data = payload_digest_new(f->set.school_id, &w->cls, f->week, f->set.local_date,
	    w->np);

	for (size_t u = 0; u < w->nu; u++) {
		const struct classview_unit *unit = classview_unit(w->k, u);
		struct payload_unit pu = unit_of(unit);

		payload_digest_add_unit(data, &pu, unit->taught_on, &w->out[u].res,
		    &f->set.flags, w->out[u].levels);
	}
	add_event(w, "digest.teacher", data);
	db_req_add(req, "INSERT INTO class_digest (school_id, class_id, week, sent_at)"
	    " VALUES ($1, $2::bigint, $3::date, $4::timestamptz)", 4, p);
	f->n_digests++;
}

/* The rows, then the events with one NOTIFY: the class's transaction goes on and commits. */
static void
write_class(flagjob *f, struct class_work *w, bool digest)
{
	db_req *req = db_req_new(class_written, f);
	char *rows = json_dumps(w->flag_rows, JSON_COMPACT);
	const char *p[4] = { f->school, w->cls_id, w->now, rows };
	size_t i;
	json_t *e;

	/* A class written under a lost lease must not commit (its events would go twice). */
	lease_add_renew(req, f->leases, JOB);
	db_req_add(req, write_flags_sql, 4, p);
	free(rows);
	if (json_array_size(w->mastery_rows) > 0) {
		rows = json_dumps(w->mastery_rows, JSON_COMPACT);
		p[1] = w->now;
		p[2] = rows;
		db_req_add(req, write_mastery_sql, 3, p);
		free(rows);
	}
	if (digest)
		add_digest(f, w, req);
	json_array_foreach(w->events, i, e) {
		struct outbox_event ev = { 0 };

		ev.school_id = f->school;
		ev.type = json_string_value(json_object_get(e, "type"));
		ev.data = json_object_get(e, "data");
		ev.now = w->now;
		ev.class_id = w->cls_id;
		ev.no_notify = true;
		outbox_enqueue_sql(req, &ev);
	}
	if (json_array_size(w->events) > 0)
		outbox_notify_sql(req, f->school);
	db_txn_continue(f->txn, req, true);
}

static void
class_work_free(struct class_work *w)
{
	json_decref(w->flag_rows);
	json_decref(w->mastery_rows);
	json_decref(w->events);
	free(w->out);
	free(w->fp);
	classview_free(w->k);
}

/* The class is read: assess, flag, and write it all back with the events. */
static void
class_read(const struct db_reply *r, void *arg)
{
	flagjob *f = arg;
	struct class_work w = { 0 };
	const PGresult *cr;
	bool digest;

	if (r->status != DB_OK) {
		class_failed(f, r, "read");
		return;
	}
	cr = r->results[1];
	if (PQntuples(cr) == 0) {	/* the class went away */
		db_txn_abort(f->txn);
		f->txn = NULL;
		f->in_txn = false;
		class_next(f);
		return;
	}
	w.cls.id = f->classes[f->ci / 2];
	w.cls.name = PQgetvalue(cr, 0, 0);
	snprintf(w.cls_id, sizeof w.cls_id, "%" PRId64, w.cls.id);
	clock_now_iso(w.now, sizeof w.now);
	digest = f->digest_due && !pgrow_bool(cr, 0, 1);
	w.k = classview_parse(&r->results[2]);
	w.nu = classview_nunits(w.k);
	w.np = classview_npupils(w.k);
	w.out = xcalloc(w.nu + 1, sizeof *w.out);
	w.fp = xcalloc(w.np + 1, sizeof *w.fp);
	w.flag_rows = json_array();
	w.mastery_rows = json_array();
	w.events = json_array();
	for (size_t u = 0; u < w.nu; u++) {
		assess_pupils(f, &w, u);
		flag_unit(f, &w, u);
	}
	write_class(f, &w, digest);
	class_work_free(&w);
}

/* ---- life ---- */

flagjob *
flagjob_new(const struct flagjob_spec *spec)
{
	flagjob *f = xcalloc(1, sizeof *f);

	f->db = spec->db;
	f->leases = spec->leases;
	f->debounce_ms = spec->debounce_ms > 0 ? spec->debounce_ms : 1;
	snprintf(f->score_interval, sizeof f->score_interval, "%lld", (long long)spec->score_interval_ms);
	f->busy = spec->busy;
	f->link = spec->link;
	f->link_arg = spec->link_arg;
	f->busy_arg = spec->busy_arg;
	f->yield = evtimer_new(spec->base, yield_cb, f);
	if (f->yield == NULL)
		fatalx("flagjob", "out of memory", "");
	f->run = runner_new(spec->base, &(struct runner_spec){ .name = "flags",
	    .interval_ms = spec->interval_ms, .on_clock = true, .at_start = true }, run_start, f);
	db_listen(spec->db, spec->reviews_channel, reviews_notified, reviews_listening, f);
	return f;
}

void
flagjob_stop(flagjob *f)
{
	runner_stop(f->run);
	/* A class waiting for the batch job: give up the run now. */
	if (evtimer_pending(f->yield, NULL)) {
		event_del(f->yield);
		run_done(f);
	}
}

bool
flagjob_busy(const flagjob *f)
{
	return runner_running(f->run) || f->req != NULL || f->in_txn;
}

bool
flagjob_idle(const flagjob *f)
{
	return !flagjob_busy(f) && runner_idle(f->run);
}

void
flagjob_free(flagjob *f)
{
	if (f == NULL)
		return;
	if (f->req != NULL)
		db_cancel(f->req);
	runner_free(f->run);
	event_free(f->yield);
	fsrs_model_free(f->model);
	free(f->classes);
	free(f->dirty);
	free(f->run_set);
	free(f);
}
