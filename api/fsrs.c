/*
 * fsrs.c: the school's memory model for its admin: the weights in use and
 * where they came from, every fit and why it was or was not adopted,
 * calibration (predicted against recalled), pinning weights or going back
 * to the defaults, asking for a fit now, and the workload simulator.
 * Fitting and simulating run in child processes (fitjob.h, child.h).
 */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "child.h"
#include "fitjob.h"
#include "fsrs.h"
#include "log.h"
#include "util.h"

#define SIM_OUT_MAX 8192

/* Bins of the predictions the scheduler made, over the last 90 days ($2: now). */
#define AS_SCHEDULED \
	"(SELECT coalesce(json_agg(json_build_object('from', b / 10.0, 'to', (b + 1) / 10.0," \
	"   'reviews', n, 'mean_predicted', mp, 'share_recalled', sr) ORDER BY b), '[]')" \
	" FROM (SELECT least(floor(r.retrievability * 10)::int, 9) AS b, count(*) AS n," \
	"   avg(r.retrievability) AS mp, avg((r.rating > 1)::int) AS sr FROM review r" \
	"   WHERE r.school_id = $1 AND r.elapsed_days > 0 AND r.retrievability > 0" \
	"   AND r.reviewed_at >= $2::timestamptz - interval '90 days'" \
	"   AND r.reviewed_at <= $2::timestamptz GROUP BY 1) q)"

#define METRICS(p) \
	"json_build_object('log_loss', " p "_log_loss, 'rmse_bins', " p "_rmse_bins," \
	" 'auc', " p "_auc)"

/* The whole answer of GET /v1/school/fsrs ($1 school, $2 now, $3 the defaults). */
static const char fsrs_sql[] =
    "SELECT json_build_object("
    " 'weights', coalesce(f.weights, $3::double precision[]),"
    " 'source', CASE WHEN f.weights IS NULL THEN 'default'"
    "   WHEN f.pinned THEN 'pinned' ELSE 'fitted' END,"
    " 'pinned', coalesce(f.pinned, false),"
    " 'next_fit', f.fit_due,"
    " 'fits', (SELECT coalesce(json_agg(x ORDER BY x.fitted_at DESC, x.id DESC), '[]') FROM"
    "   (SELECT fit_id AS id, fitted_at, course_id, reviews, train_reviews, heldout_reviews,"
    "     previous_weights, weights, " METRICS("old") " AS previous_heldout,"
    "     " METRICS("new") " AS fitted_heldout, adopted, reason, seconds"
    "    FROM fsrs_fit WHERE school_id = $1 ORDER BY fitted_at DESC, fit_id DESC LIMIT 10) x),"
    " 'courses', (SELECT coalesce(json_agg(json_build_object('course_id', cf.course_id,"
    "   'name', c.name, 'weights', cf.weights, 'updated_at', cf.updated_at)"
    "   ORDER BY cf.course_id), '[]') FROM course_fsrs cf JOIN course c"
    "   ON c.school_id = cf.school_id AND c.course_id = cf.course_id WHERE cf.school_id = $1),"
    " 'calibration', json_build_object("
    "   'days', 90, 'as_scheduled', " AS_SCHEDULED ","
    "   'latest_fit', (SELECT calibration FROM fsrs_fit WHERE school_id = $1"
    "     ORDER BY fitted_at DESC, fit_id DESC LIMIT 1))"
    ")::text FROM school s LEFT JOIN school_fsrs f ON f.school_id = s.school_id"
    " WHERE s.school_id = $1";

/* FSRS-6's defaults as an SQL array literal, made once. */
static const char *
defaults_literal(void)
{
	static char buf[512];

	if (buf[0] == '\0') {
		const double *w = fsrs_default_params();
		size_t o = 0;

		o += (size_t)snprintf(buf, sizeof buf, "{");
		for (int i = 0; i < FSRS_NPARAMS; i++)
			o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%.17g", i ? "," : "",
			    w[i]);
		snprintf(buf + o, sizeof buf - o, "}");
	}
	return buf;
}

static void
add_get(struct api_call *c, db_req *req)
{
	const char *p[3] = { c->school, c->now, defaults_literal() };

	db_req_add(req, fsrs_sql, 3, p);
}

static void
reply_last(struct api_call *c, const struct db_reply *r)
{
	if (r->status != DB_OK) {
		api_db_failed(c, r);
		return;
	}
	api_reply_row_of(c, r, r->nresults - 1);
}

static void
fsrs_get(struct api_call *c)
{
	db_req *req = api_req_new(c);

	add_get(c, req);
	api_submit(c, req, reply_last);
}

/*
 * {"weights": [21 numbers] | null, "pinned": bool}: weights an admin sets
 * are pinned unless "pinned": false says otherwise (the weekly fit still
 * runs and records, but never replaces pinned weights); null goes back to
 * FSRS-6's defaults, unpinned unless "pinned": true. "pinned" alone pins
 * or unpins the weights in use. New school weights drop the courses' own.
 */
static void
fsrs_put(struct api_call *c)
{
	static const char *const known[] = { "weights", "pinned", NULL };
	json_t *jw = c->body ? json_object_get(c->body, "weights") : NULL;
	json_t *jp = c->body ? json_object_get(c->body, "pinned") : NULL;
	double v[FSRS_NPARAMS + 1], w[FSRS_NPARAMS];
	char lit[1024], err[200];
	const char *p[4];
	bool pinned;
	db_req *req;

	if (c->body != NULL)
		api_fields_only(c, "the school's FSRS weights", known);
	if (jw == NULL && jp == NULL)
		api_field_error(c, "weights", "give weights (21 numbers, or null for the "
		    "defaults) or pinned");
	if (jp != NULL && !json_is_boolean(jp))
		api_field_error(c, "pinned", "must be true or false");
	if (jw != NULL && !json_is_null(jw)) {
		size_t n = json_is_array(jw) ? json_array_size(jw) : 0;
		bool numbers = n > 0 && n <= FSRS_NPARAMS;

		for (size_t i = 0; numbers && i < n; i++) {
			numbers = json_is_number(json_array_get(jw, i));
			if (numbers)
				v[i] = json_number_value(json_array_get(jw, i));
		}
		if (!numbers)
			api_field_error(c, "weights", "must be an array of 21 numbers (FSRS-6), "
			    "or null for the defaults");
		else if (!fsrs_params_from(v, n, w, err, sizeof err))
			api_field_error(c, "weights", "%s", err);
	}
	if (api_has_errors(c)) {
		api_validation_failed(c);
		return;
	}
	req = api_req_new(c);
	p[0] = c->school;
	if (jw != NULL) {
		size_t o = 0;

		pinned = jp != NULL ? json_is_true(jp) : !json_is_null(jw);
		if (!json_is_null(jw)) {
			o += (size_t)snprintf(lit, sizeof lit, "{");
			for (int i = 0; i < FSRS_NPARAMS; i++)
				o += (size_t)snprintf(lit + o, sizeof lit - o, "%s%.17g",
				    i ? "," : "", w[i]);
			snprintf(lit + o, sizeof lit - o, "}");
		}
		p[1] = json_is_null(jw) ? NULL : lit;
		p[2] = pinned ? "t" : "f";
		p[3] = c->now;
		db_req_add(req, "INSERT INTO school_fsrs AS f (school_id, weights, pinned, updated_at)"
		    " VALUES ($1, $2::double precision[], $3::boolean, $4::timestamptz)"
		    " ON CONFLICT (school_id) DO UPDATE SET weights = EXCLUDED.weights,"
		    " pinned = EXCLUDED.pinned, updated_at = EXCLUDED.updated_at", 4, p);
		/* courses' weights were fitted beside the school's old ones */
		db_req_add(req, "DELETE FROM course_fsrs WHERE school_id = $1", 1, p);
	} else {
		p[1] = json_is_true(jp) ? "t" : "f";
		p[2] = c->now;
		db_req_add(req, "INSERT INTO school_fsrs AS f (school_id, pinned, updated_at)"
		    " VALUES ($1, $2::boolean, $3::timestamptz) ON CONFLICT (school_id)"
		    " DO UPDATE SET pinned = EXCLUDED.pinned, updated_at = EXCLUDED.updated_at",
		    3, p);
	}
	log_info("fsrs", "weights set by an admin", "school=%s weights=%s pinned=%s", c->school,
	    jw == NULL ? "kept" : json_is_null(jw) ? "default" : "given",
	    jp == NULL ? "default" : json_is_true(jp) ? "yes" : "no");
	add_get(c, req);
	api_submit(c, req, reply_last);
}

static void
fit_queued(struct api_call *c, const struct db_reply *r)
{
	if (r->status != DB_OK) {
		api_db_failed(c, r);
		return;
	}
	if (c->app->fitjob != NULL)
		fitjob_kick(c->app->fitjob);
	api_reply(c, 202, json_pack("{s:b, s:s}", "queued", 1, "detail",
	    "the school is fitted shortly; GET /v1/school/fsrs shows the result"));
}

/* Fit now rather than at the next weekly time. */
static void
fsrs_fit_now(struct api_call *c)
{
	const char *p[2] = { c->school, c->now };

	api_query_db(c, "INSERT INTO school_fsrs (school_id, fit_due, updated_at)"
	    " VALUES ($1, NULL, $2::timestamptz) ON CONFLICT (school_id)"
	    " DO UPDATE SET fit_due = NULL", 2, p, fit_queued);
}

/* ---- the simulator, in a child process ---- */

struct sim_job {
	struct api_call *c;
	char retention[16];
};

static void
sim_done(const struct child_result *r, void *arg)
{
	struct sim_job *j = arg;
	char err[512];

	if (r->status != 0 || r->outlen == 0 || r->out[0] != '{') {
		child_err_line(r, err, sizeof err);
		log_warnx("fsrs", "simulation failed", "school=%s status=%d err=\"%s\"",
		    j->c->school, r->status, err);
		api_problem(j->c, 503, "simulation-failed", "Simulation failed",
		    "the simulation could not be run now; try again later");
	} else
		api_reply_raw(j->c, 200, r->out);
	free(j);
}

static void
fsrs_simulate(struct api_call *c)
{
	const char *ret = api_query(c, "retention");
	const char *args[8] = { "simulate", "--school", c->school, "--json", NULL };
	struct sim_job *j;
	char *end = NULL;
	double v = ret != NULL ? strtod(ret, &end) : 0;

	if (ret != NULL && (end == ret || *end != '\0' || !(v >= 0.7 && v <= 0.99))) {
		api_field_error(c, "retention", "must be a number from 0.7 to 0.99");
		api_validation_failed(c);
		return;
	}
	j = xcalloc(1, sizeof *j);
	j->c = c;
	if (ret != NULL) {
		snprintf(j->retention, sizeof j->retention, "%.4f", v);
		args[4] = "--retention";
		args[5] = j->retention;
		args[6] = NULL;
	}
	if (child_start(c->app->base, c->app->config_path, args, SIM_OUT_MAX, sim_done, j)
	    == NULL) {
		log_warnx("fsrs", "simulation not started", "err=\"%s\"", strerror(errno));
		free(j);
		api_problem(c, 503, "simulation-failed", "Simulation failed",
		    "the simulation could not be started now; try again later");
	}
}

void
fsrs_routes(http_server *s)
{
	api_route(s, EVHTTP_REQ_GET, "/v1/school/fsrs", ROLE_ADMIN, fsrs_get);
	api_route(s, EVHTTP_REQ_PUT, "/v1/school/fsrs", ROLE_ADMIN, fsrs_put);
	api_route(s, EVHTTP_REQ_POST, "/v1/school/fsrs/fit", ROLE_ADMIN, fsrs_fit_now);
	api_route(s, EVHTTP_REQ_GET, "/v1/school/fsrs/simulate", ROLE_ADMIN, fsrs_simulate);
}
