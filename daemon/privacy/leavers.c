/* leavers.c: erasing pupils who left, once their time is up (see leavers.h). */
#include "autoconf.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "erase.h"
#include "leavers.h"
#include "log.h"
#include "pgrow.h"
#include "runner.h"
#include "util.h"

#define JOB "leavers"
#define BATCH 50		/* leavers read at a time */

struct leavers {
	db_pool *db;
	lease_keeper *leases;
	runner *run;
	int64_t erase_after_ms, audit_retention_ms, review_retention_ms, delivery_retention_ms;
	db_req *req;		/* in flight */
	char now[40];
	char school[24];
	int64_t last_school;
	int64_t *pupils;
	int npupils, next, erased;
};

/*
 * The next school after $1 that no daemon holds ($2 holder, $3 lease ms).
 * Every school in turn, each looked at by one statement of its own: the
 * claim reads only the school and lease tables (Citus reference tables).
 */
static const char claim_sql[] = LEASE_CLAIM_NEXT(JOB, "school s", "true");

static const char leavers_sql[] =
    "SELECT pupil_id FROM pupil WHERE school_id = $1 AND left_at IS NOT NULL AND NOT active"
    " AND left_at <= $2::timestamptz - $3::bigint * interval '1 millisecond'"
    " ORDER BY pupil_id LIMIT 50";	/* BATCH */

static void next_school(leavers *l);
static void next_pupil(leavers *l);
static void load_leavers(leavers *l);

static void
run_done(leavers *l)
{
	free(l->pupils);
	l->pupils = NULL;
	l->npupils = l->next = 0;
	lease_let_go(l->leases, JOB, l->db);
	runner_done(l->run);
}

static void
released(const struct db_reply *r, void *arg)
{
	leavers *l = arg;

	l->req = NULL;
	if (r->status != DB_OK)
		log_warnx("leavers", "lease not released", "school=%s err=\"%s\"", l->school, r->error);
	next_school(l);
}

static void
erased(const struct db_reply *r, void *arg)
{
	leavers *l = arg;

	l->req = NULL;
	if (r->status != DB_OK) {
		log_warnx("leavers", "leaver not erased", "school=%s err=\"%s\"", l->school, r->error);
		run_done(l);	/* the lease lapses; a later run tries again */
		return;
	}
	if (PQntuples(r->results[r->nresults - 1]) == 1) {
		l->erased++;
		log_info("leavers", "leaver erased", "school=%s erasure=%s", l->school,
		    PQgetvalue(r->results[r->nresults - 1], 0, 0));
	}
	next_pupil(l);
}

/* One leaver a transaction: the lease renewed first, then erase.h's statements. */
static void
next_pupil(leavers *l)
{
	char pupil[24], ref[36];
	const char *p[ERASE_NPARAMS];
	db_req *req;

	if (runner_stopping(l->run)) {
		run_done(l);
		return;
	}
	if (l->next >= l->npupils) {
		if (l->npupils == BATCH) {	/* a full batch: there may be more */
			load_leavers(l);
			return;
		}
		req = db_req_new(released, l);
		lease_add_release(req, l->leases, JOB);
		l->req = db_submit(l->db, req);
		return;
	}
	snprintf(pupil, sizeof pupil, "%" PRId64, l->pupils[l->next++]);
	erase_new_ref(ref);
	p[0] = l->school;
	p[1] = pupil;
	p[2] = ref;
	p[3] = l->now;
	p[4] = "leavers job";
	p[5] = "leaver";
	req = db_req_new(erased, l);
	lease_add_renew(req, l->leases, JOB);
	for (size_t i = 0; i < erase_nsql; i++)
		db_req_add(req, erase_sql[i], ERASE_NPARAMS, p);
	l->req = db_submit(l->db, req);
}

static void
leavers_read(const struct db_reply *r, void *arg)
{
	leavers *l = arg;
	const PGresult *res;

	l->req = NULL;
	if (r->status != DB_OK) {
		log_warnx("leavers", "leavers not read", "school=%s err=\"%s\"", l->school, r->error);
		run_done(l);
		return;
	}
	res = r->results[0];
	free(l->pupils);
	l->npupils = PQntuples(res);
	l->pupils = xcalloc((size_t)l->npupils + 1, sizeof *l->pupils);
	for (int i = 0; i < l->npupils; i++)
		l->pupils[i] = pgrow_i64(res, i, 0);
	l->next = 0;
	next_pupil(l);
}

/* The school's leavers whose time is up (and, first time round, its audit past retention). */
static void
load_leavers(leavers *l)
{
	char ms[24], keep[24], reviews[24], deliveries[24];
	const char *p[3] = { l->school, l->now, ms };
	db_req *req = db_req_new(leavers_read, l);

	snprintf(ms, sizeof ms, "%" PRId64, l->erase_after_ms);
	snprintf(keep, sizeof keep, "%" PRId64, l->audit_retention_ms);
	snprintf(reviews, sizeof reviews, "%" PRId64, l->review_retention_ms);
	snprintf(deliveries, sizeof deliveries, "%" PRId64, l->delivery_retention_ms);
	db_req_add(req, leavers_sql, 3, p);
	if (l->npupils == 0) {
		/* retention, school by school: each limit as the configuration says */
		p[2] = keep;
		db_req_add(req, "DELETE FROM audit WHERE school_id = $1 AND"
		    " at < $2::timestamptz - $3::bigint * interval '1 millisecond'", 3, p);
		p[2] = reviews;
		db_req_add(req, "DELETE FROM review WHERE school_id = $1 AND"
		    " reviewed_at < $2::timestamptz - $3::bigint * interval '1 millisecond'", 3, p);
		/* a delivery's row and status stay for the operator; what it carried goes */
		p[2] = deliveries;
		db_req_add(req, "UPDATE delivery_attempt a SET error = NULL, response_head = NULL"
		    " FROM delivery d WHERE a.school_id = $1 AND d.school_id = $1"
		    " AND a.delivery_id = d.delivery_id AND d.status <> 'pending' AND d.payload <> '{}'"
		    " AND coalesce(d.delivered_at, d.next_attempt_at) <"
		    "  $2::timestamptz - $3::bigint * interval '1 millisecond'", 3, p);
		db_req_add(req, "UPDATE delivery d SET payload = '{}' WHERE d.school_id = $1"
		    " AND d.status <> 'pending' AND d.payload <> '{}'"
		    " AND coalesce(d.delivered_at, d.next_attempt_at) <"
		    "  $2::timestamptz - $3::bigint * interval '1 millisecond'", 3, p);
		/* a family note's weekly marker only guards its week; a guardian
		 * linked to no pupil any more is of no use to keep */
		db_req_add(req, "DELETE FROM guardian_digest WHERE school_id = $1"
		    " AND week < ($2::timestamptz - $3::bigint * interval '1 millisecond')::date", 3, p);
		db_req_add(req, "DELETE FROM guardian g WHERE g.school_id = $1 AND NOT EXISTS"
		    " (SELECT 1 FROM guardian_pupil gp WHERE gp.school_id = g.school_id"
		    "  AND gp.guardian_id = g.guardian_id)", 1, p);
		/* LMS logins and deep-linking choices nobody finished */
		db_req_add(req, "DELETE FROM lti_login WHERE school_id = $1 AND expires_at < now()", 1, p);
		db_req_add(req, "DELETE FROM lti_deeplink WHERE school_id = $1 AND expires_at < now()",
		    1, p);
		/* replies kept for a client's retry: a day is plenty */
		db_req_add(req, "DELETE FROM idempotency WHERE school_id = $1"
		    " AND created_at < $2::timestamptz - interval '1 day'", 2, p);
	}
	l->req = db_submit(l->db, req);
}

static void
claimed(const struct db_reply *r, void *arg)
{
	leavers *l = arg;
	const PGresult *res;

	l->req = NULL;
	if (r->status != DB_OK) {
		if (r->status != DB_UNAVAILABLE)
			log_warnx("leavers", "claim failed", "err=\"%s\"", r->error);
		run_done(l);
		return;
	}
	res = r->results[0];
	if (PQntuples(res) == 0) {
		if (l->erased > 0)
			log_info("leavers", "leavers erased", "count=%d", l->erased);
		run_done(l);	/* nobody's time is up */
		return;
	}
	l->last_school = pgrow_i64(res, 0, 0);
	if (!pgrow_bool(res, 0, 1)) {
		next_school(l);	/* another daemon took it first */
		return;
	}
	util_strlcpy(l->school, PQgetvalue(res, 0, 0), sizeof l->school);
	lease_held(l->leases, JOB, l->school);
	free(l->pupils);
	l->pupils = NULL;
	l->npupils = l->next = 0;	/* a new school: its audit is trimmed with the first read */
	load_leavers(l);
}

static void
next_school(leavers *l)
{
	char last[24];
	const char *p[3] = { last, lease_holder(l->leases), lease_timeout_param(l->leases) };

	if (runner_stopping(l->run)) {
		run_done(l);
		return;
	}
	snprintf(last, sizeof last, "%" PRId64, l->last_school);
	l->req = db_query(l->db, claim_sql, 3, p, claimed, l);
}

static void
run_start(runner *r, unsigned why, void *arg)
{
	leavers *l = arg;

	clock_now_iso(l->now, sizeof l->now);
	l->erased = 0;
	l->last_school = 0;
	next_school(l);
}

leavers *
leavers_new(const struct leavers_spec *spec)
{
	leavers *l = xcalloc(1, sizeof *l);

	l->db = spec->db;
	l->leases = spec->leases;
	l->erase_after_ms = spec->erase_after_ms;
	l->audit_retention_ms = spec->audit_retention_ms;
	l->review_retention_ms = spec->review_retention_ms;
	l->delivery_retention_ms = spec->delivery_retention_ms;
	l->run = runner_new(spec->base, &(struct runner_spec){ .name = JOB,
	    .interval_ms = spec->interval_ms, .on_clock = true, .at_start = true }, run_start, l);
	return l;
}

void
leavers_stop(leavers *l)
{
	runner_stop(l->run);
}

bool
leavers_busy(const leavers *l)
{
	return runner_running(l->run) || l->req != NULL;
}

bool
leavers_idle(const leavers *l)
{
	return runner_idle(l->run) && l->req == NULL;
}

void
leavers_free(leavers *l)
{
	if (l == NULL)
		return;
	if (l->req != NULL)
		db_cancel(l->req);
	runner_free(l->run);
	free(l->pupils);
	free(l);
}
