/* fitjob.c: fitting each school's FSRS-6 weights, weekly (see fitjob.h). */
#include "autoconf.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "child.h"
#include "clock.h"
#include "fitjob.h"
#include "log.h"
#include "pgrow.h"
#include "runner.h"
#include "util.h"

#define JOB "fsrs_fit"
#define RETRY_MS (3600 * 1000)	/* a fit that failed is tried again this much later */
#define OUT_MAX 4096

struct fitjob {
	struct event_base *base;
	db_pool *db;
	lease_keeper *leases;
	runner *run;
	const char *config_path;
	int64_t fit_interval_ms;
	db_req *req;		/* in flight */
	child *kid;		/* the fit in progress */
	char now[40];
	char school[24];
	int64_t last_school;
	int fitted;
};

/*
 * The next school after $1 whose fit is due at $4 and that no daemon
 * holds ($2 holder, $3 lease ms). Reads only reference tables (school,
 * school_fsrs, job_lease).
 */
static const char claim_sql[] =
    LEASE_CLAIM_NEXT(JOB, "school s LEFT JOIN school_fsrs f ON f.school_id = s.school_id",
	"s.active AND (f.fit_due IS NULL OR f.fit_due <= $4::timestamptz)");

/* When to look at the school again, written with the lease's release. */
static const char due_sql[] =
    "INSERT INTO school_fsrs (school_id, fit_due)"
    " VALUES ($1, $2::timestamptz + $3::bigint * interval '1 millisecond')"
    " ON CONFLICT (school_id) DO UPDATE SET fit_due = EXCLUDED.fit_due";

static void next_school(fitjob *f);

static void
run_done(fitjob *f)
{
	lease_let_go(f->leases, JOB, f->db);
	runner_done(f->run);
}

static void
released(const struct db_reply *r, void *arg)
{
	fitjob *f = arg;

	f->req = NULL;
	if (r->status != DB_OK)
		log_warnx("fitjob", "next fit not set", "school=%s err=\"%s\"", f->school, r->error);
	next_school(f);
}

static void
fit_done(const struct child_result *r, void *arg)
{
	fitjob *f = arg;
	char ms[24], err[512];
	const char *p[3] = { f->school, f->now, ms };
	json_t *j = r->status == 0 ? json_loads(r->out, 0, NULL) : NULL;
	db_req *req;

	f->kid = NULL;
	if (j == NULL) {
		child_err_line(r, err, sizeof err);
		log_warnx("fitjob", "fit failed", "school=%s status=%d err=\"%s\"", f->school,
		    r->status, err);
	} else if (json_object_get(j, "skipped") != NULL) {
		log_info("fitjob", "fit skipped", "school=%s why=\"%s\"", f->school,
		    json_string_value(json_object_get(j, "skipped")));
	} else {
		f->fitted++;
		log_info("fitjob", "school fitted", "school=%s fit=%" JSON_INTEGER_FORMAT
		    " adopted=%s reviews=%" JSON_INTEGER_FORMAT, f->school,
		    json_integer_value(json_object_get(j, "fit_id")),
		    json_is_true(json_object_get(j, "adopted")) ? "yes" : "no",
		    json_integer_value(json_object_get(j, "predictable")));
	}
	snprintf(ms, sizeof ms, "%" PRId64, j != NULL ? f->fit_interval_ms : RETRY_MS);
	json_decref(j);
	if (runner_stopping(f->run)) {
		run_done(f);
		return;
	}
	req = db_req_new(released, f);
	db_req_add(req, due_sql, 3, p);
	lease_add_release(req, f->leases, JOB);
	f->req = db_submit(f->db, req);
}

static void
start_fit(fitjob *f)
{
	const char *args[] = { "fit", "--school", f->school, "--record", "--at", f->now,
	    "--lease", lease_holder(f->leases), "--lease-ms", lease_timeout_param(f->leases),
	    NULL };

	f->kid = child_start(f->base, f->config_path, args, OUT_MAX, fit_done, f);
	if (f->kid == NULL) {
		log_warnx("fitjob", "fit not started", "school=%s err=\"%s\"", f->school,
		    strerror(errno));
		run_done(f);
	}
}

static void
claimed(const struct db_reply *r, void *arg)
{
	fitjob *f = arg;
	const PGresult *res;

	f->req = NULL;
	if (r->status != DB_OK) {
		if (r->status != DB_UNAVAILABLE)
			log_warnx("fitjob", "claim failed", "err=\"%s\"", r->error);
		run_done(f);
		return;
	}
	res = r->results[0];
	if (PQntuples(res) == 0) {
		run_done(f);	/* no school is due */
		return;
	}
	f->last_school = pgrow_i64(res, 0, 0);
	if (!pgrow_bool(res, 0, 1)) {
		next_school(f);	/* another daemon took it first */
		return;
	}
	util_strlcpy(f->school, PQgetvalue(res, 0, 0), sizeof f->school);
	lease_held(f->leases, JOB, f->school);
	start_fit(f);
}

static void
next_school(fitjob *f)
{
	char last[24];
	const char *p[4] = { last, lease_holder(f->leases), lease_timeout_param(f->leases),
	    f->now };

	if (runner_stopping(f->run)) {
		run_done(f);
		return;
	}
	snprintf(last, sizeof last, "%" PRId64, f->last_school);
	f->req = db_query(f->db, claim_sql, 4, p, claimed, f);
}

static void
run_start(runner *r, unsigned why, void *arg)
{
	fitjob *f = arg;

	(void)r;
	(void)why;
	clock_now_iso(f->now, sizeof f->now);
	f->fitted = 0;
	f->last_school = 0;
	next_school(f);
}

fitjob *
fitjob_new(const struct fitjob_spec *spec)
{
	fitjob *f = xcalloc(1, sizeof *f);

	f->base = spec->base;
	f->db = spec->db;
	f->leases = spec->leases;
	f->config_path = spec->config_path;
	f->fit_interval_ms = spec->fit_interval_ms;
	f->run = runner_new(spec->base, &(struct runner_spec){ .name = JOB,
	    .interval_ms = spec->interval_ms, .on_clock = true, .at_start = true }, run_start, f);
	return f;
}

void
fitjob_kick(fitjob *f)
{
	runner_kick(f->run, RUNNER_KICK);
}

void
fitjob_stop(fitjob *f)
{
	runner_stop(f->run);
	if (f->kid != NULL) {
		child_kill(f->kid);
		f->kid = NULL;
		run_done(f);
	}
}

bool
fitjob_busy(const fitjob *f)
{
	return runner_running(f->run) || f->req != NULL || f->kid != NULL;
}

bool
fitjob_idle(const fitjob *f)
{
	return runner_idle(f->run) && f->req == NULL && f->kid == NULL;
}

void
fitjob_free(fitjob *f)
{
	if (f == NULL)
		return;
	if (f->req != NULL)
		db_cancel(f->req);
	child_kill(f->kid);
	runner_free(f->run);
	free(f);
}
