/*
 * nrps.c: a linked course's membership from the LMS (nrps.h).
 */
#include "autoconf.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clock.h"
#include "idtoken.h"
#include "log.h"
#include "nrps.h"
#include "pgrow.h"
#include "runner.h"
#include "sbuf.h"
#include "util.h"

#define JOB "nrps"
#define NRPS_TYPE "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
#define PAGE_MAX (4 * 1024 * 1024)
#define DUE "1 day"

/* ---- pure: the Link header and the plan ---- */

char *
nrps_link(const char *link, const char *rel)
{
	size_t rl = strlen(rel);
	const char *p = link;

	/* <url>; rel="next", <url>; rel="differences" (RFC 8288) */
	while ((p = strchr(p, '<')) != NULL) {
		const char *end = strchr(p, '>'), *stop;

		if (end == NULL)
			return NULL;
		if ((stop = strchr(end, '<')) == NULL)
			stop = end + strlen(end);
		for (const char *r = end; (r = strstr(r, "rel=")) != NULL && r < stop; r += 4) {
			const char *v = r + 4;
			bool quoted = *v == '"';

			v += quoted;
			if (strncmp(v, rel, rl) == 0 && (quoted ? v[rl] == '"' :
			    (v[rl] == ';' || v[rl] == ',' || v[rl] == ' ' || v[rl] == '\0')))
				return xstrndup(p + 1, (size_t)(end - p - 1));
		}
		p = stop;
	}
	return NULL;
}

/* A learner's enrolment as the platform says it is now. */
static const char join_pupil_sql[] =
    "INSERT INTO pupil (school_id, external_id, updated_at) VALUES ($1, $2, $3::timestamptz)"
    " ON CONFLICT (school_id, external_id) DO NOTHING";
static const char join_user_sql[] =
    "INSERT INTO lti_user (school_id, platform_id, sub, pupil_id, last_launch_at)"
    " SELECT $1, $4::bigint, $5, p.pupil_id, $3::timestamptz FROM pupil p"
    " WHERE p.school_id = $1 AND p.external_id = $2"
    " ON CONFLICT (school_id, platform_id, sub) DO NOTHING";
static const char join_class_sql[] =
    "INSERT INTO class_pupil (school_id, class_id, pupil_id, active, updated_at)"
    " SELECT $1, $4::bigint, p.pupil_id, true, $3::timestamptz FROM pupil p"
    " WHERE p.school_id = $1 AND p.external_id = $2 AND p.active"
    " ON CONFLICT (school_id, class_id, pupil_id) DO UPDATE"
    " SET active = true, updated_at = EXCLUDED.updated_at WHERE NOT class_pupil.active";
static const char leave_class_sql[] =
    "UPDATE class_pupil cp SET active = false, updated_at = $3::timestamptz FROM pupil p"
    " WHERE cp.school_id = $1 AND cp.class_id = $4::bigint AND p.school_id = cp.school_id"
    " AND p.pupil_id = cp.pupil_id AND p.external_id = $2 AND cp.active";
static const char leave_absent_sql[] =
    "UPDATE class_pupil cp SET active = false, updated_at = $3::timestamptz FROM pupil p"
    " WHERE cp.school_id = $1 AND cp.class_id = $2::bigint AND p.school_id = cp.school_id"
    " AND p.pupil_id = cp.pupil_id AND cp.active AND NOT (p.external_id = ANY ($4::text[]))";

void
nrps_plan_page(plan *p, const json_t *container, const char *school, const char *platform,
    const char *klass, const char *now, struct sbuf *keep, unsigned long *line)
{
	const json_t *members = json_object_get(container, "members"), *m, *r;
	size_t i, k;

	if (!json_is_array(members)) {
		plan_reject(p, NRPS_FILE, 0, "the membership has no members list");
		return;
	}
	json_array_foreach(members, i, m) {
		const char *uid = json_string_value(json_object_get(m, "user_id"));
		const char *sid = json_string_value(json_object_get(m, "lis_person_sourcedid"));
		const char *status = json_string_value(json_object_get(m, "status"));
		unsigned roles = 0;
		char ext[256];

		++*line;
		json_array_foreach(json_object_get(m, "roles"), k, r)
			if (json_is_string(r))
				roles |= lti_role_bits(json_string_value(r));
		if (uid == NULL || uid[0] == '\0' || strlen(uid) > 255) {
			plan_reject(p, NRPS_FILE, *line, "a member without a user_id");
			continue;
		}
		if (!(roles & LTI_ROLE_LEARNER) || (roles & (LTI_ROLE_INSTRUCTOR | LTI_ROLE_ADMIN))) {
			plan_skip(p, NRPS_FILE, *line, "%s is not a learner: not imported", uid);
			continue;
		}
		if (sid != NULL && (sid[0] == '\0' || strlen(sid) > 200)) {
			plan_reject(p, NRPS_FILE, *line, "%s: lis_person_sourcedid is empty or longer"
			    " than 200 characters", uid);
			continue;
		}
		/* the roster's id when the LMS has it, else one made from the LMS's */
		if (sid != NULL)
			snprintf(ext, sizeof ext, "%s", sid);
		else
			snprintf(ext, sizeof ext, "lti:%.190s", uid);
		plan_accept(p, NRPS_FILE);
		if (status == NULL || strcmp(status, "Active") == 0) {
			const char *a[3] = { school, ext, now };
			const char *b[5] = { school, ext, now, platform, uid };
			const char *c[4] = { school, ext, now, klass };

			plan_add(p, NRPS_FILE, *line, NULL, join_pupil_sql, 3, a);
			plan_add(p, NRPS_FILE, *line, NULL, join_user_sql, 5, b);
			plan_add(p, NRPS_FILE, *line, NULL, join_class_sql, 4, c);
			sbuf_arr_text(keep, ext);
		} else {
			const char *c[4] = { school, ext, now, klass };

			plan_add(p, NRPS_FILE, *line, NULL, leave_class_sql, 4, c);
		}
	}
}

void
nrps_plan_finish(plan *p, bool full, const char *school, const char *klass, const char *now,
    struct sbuf *keep)
{
	const char *arr = sbuf_arr_end(keep);

	if (full) {
		const char *a[4] = { school, klass, now, arr };

		plan_add(p, NRPS_FILE, 0, NULL, leave_absent_sql, 4, a);
	}
}

/* ---- the job ---- */

struct nrps {
	db_pool *db;
	lease_keeper *leases;
	hfetch *fetch;
	ags *tokens;
	bool allow_private;
	runner *run;
	db_req *req;
	hfetch_req *http;
	ags_prep *tok;
	char now[40];
	char school[24];
	int64_t last_school;
	/* the school's courses due, and the one being synced */
	PGresult *due;
	int di;
	char *bearer;
	char *url;		/* the page being read */
	bool full;		/* the whole membership, not differences */
	int pages;
	plan *plan;
	struct sbuf keep;
	unsigned long line;
	char *differences;	/* offered by the last page */
};

/* Every active school in turn (the courses due are read under the lease). */
static const char claim_sql[] = LEASE_CLAIM_NEXT(JOB, "school s", "s.active");

/* platform, context, class, url, differences */
static const char due_sql[] =
    "SELECT platform_id, context_id, class_id, nrps_url, nrps_differences FROM lti_context"
    " WHERE school_id = $1 AND nrps_url IS NOT NULL"
    " AND (nrps_synced_at IS NULL OR nrps_synced_at <= $2::timestamptz - interval '" DUE "')"
    " ORDER BY platform_id, context_id LIMIT 50";

static void next_school(nrps *n);
static void next_course(nrps *n);

static void
course_reset(nrps *n)
{
	if (n->http != NULL)
		hfetch_cancel(n->http);
	n->http = NULL;
	ags_cancel(n->tok);
	n->tok = NULL;
	plan_free(n->plan);
	n->plan = NULL;
	sbuf_free(&n->keep);
	free(n->bearer);
	free(n->url);
	free(n->differences);
	n->bearer = n->url = n->differences = NULL;
	n->line = 0;
	n->pages = 0;
}

static void
run_done(nrps *n)
{
	course_reset(n);
	PQclear(n->due);
	n->due = NULL;
	lease_let_go(n->leases, JOB, n->db);
	runner_done(n->run);
}

static const char *
due_val(nrps *n, int col)
{
	return PQgetisnull(n->due, n->di, col) ? NULL : PQgetvalue(n->due, n->di, col);
}

static void
recorded(const struct db_reply *r, void *arg)
{
	nrps *n = arg;

	n->req = NULL;
	if (r->status != DB_OK) {
		log_warnx("nrps", "sync not recorded", "school=%s err=\"%s\"", n->school, r->error);
		run_done(n);
		return;
	}
	n->di++;
	next_course(n);
}

/* The course's sync is over (applied or not): its report kept, its time set. */
static void
record(nrps *n, const char *error)
{
	json_t *rep = n->plan != NULL ? plan_report_json(n->plan) : json_object();
	char *text;
	const char *p[6];
	db_req *req;

	if (error != NULL)
		json_object_set_new(rep, "error", json_string(error));
	text = json_dumps(rep, JSON_COMPACT);
	p[0] = n->school;
	p[1] = due_val(n, 0);
	p[2] = due_val(n, 1);
	p[3] = n->now;
	p[4] = text;
	p[5] = error == NULL ? n->differences : due_val(n, 4);
	req = db_req_new(recorded, n);
	lease_add_renew(req, n->leases, JOB);
	db_req_add(req, "UPDATE lti_context SET nrps_synced_at = $4::timestamptz, nrps_report = $5::jsonb,"
	    " nrps_differences = $6 WHERE school_id = $1 AND platform_id = $2::bigint AND context_id = $3",
	    6, p);
	n->req = db_submit(n->db, req);
	if (error != NULL)
		log_warnx("nrps", "course not synced", "school=%s context=\"%s\" err=\"%s\"", n->school,
		    p[2], error);
	else
		log_info("nrps", "course synced", "school=%s context=\"%s\" members=%lu full=%s",
		    n->school, p[2], n->line, n->full ? "yes" : "no");
	json_decref(rep);
	free(text);
}

static void
applied(const struct db_reply *r, void *arg)
{
	nrps *n = arg;
	int bad;

	n->req = NULL;
	if (r->status != DB_OK) {
		bad = plan_first_error(r->results, r->nresults);
		plan_fail(n->plan, bad > 0 ? bad - 1 : -1, r->error != NULL ? r->error : "failed");
		if (r->sqlstate != NULL && strcmp(r->sqlstate, LEASE_LOST) == 0) {
			run_done(n);
			return;
		}
		record(n, "the membership could not be applied");
		return;
	}
	plan_set_applied(n->plan, true);
	record(n, NULL);
}

static void
apply(nrps *n)
{
	db_req *req;

	nrps_plan_finish(n->plan, n->full, n->school, due_val(n, 2), n->now, &n->keep);
	if (plan_nrejected(n->plan) > 0) {
		record(n, "the membership was refused (see the report)");
		return;
	}
	req = db_req_new(applied, n);
	lease_add_renew(req, n->leases, JOB);
	for (int i = 0; i < plan_count(n->plan); i++)
		db_req_add(req, plan_sql(n->plan, i), plan_nparams(n->plan, i), plan_params(n->plan, i));
	n->req = db_submit(n->db, req);
}

static void page_start(nrps *n);

static void
page_got(const struct hfetch_reply *r, void *arg)
{
	nrps *n = arg;
	json_t *j = NULL;
	char *next, why[256];

	n->http = NULL;
	if (r->status == 200)
		j = json_loadb(r->body, r->len, 0, NULL);
	if (!json_is_object(j)) {
		if (r->status == 401)
			ags_token_refused(n->tokens, strtoll(n->school, NULL, 10), 0);
		snprintf(why, sizeof why, "the LMS's membership (page %d): %s", n->pages,
		    r->error != NULL ? r->error : r->status != 200 ? "it answered an error" : "not JSON");
		json_decref(j);
		record(n, why);
		return;
	}
	nrps_plan_page(n->plan, j, n->school, due_val(n, 0), due_val(n, 2), n->now, &n->keep,
	    &n->line);
	json_decref(j);
	next = r->link != NULL ? nrps_link(r->link, "next") : NULL;
	if (r->link != NULL) {
		char *d = nrps_link(r->link, "differences");

		if (d != NULL) {
			free(n->differences);
			n->differences = d;
		}
	}
	if (next != NULL && n->pages < NRPS_MAX_PAGES) {
		free(n->url);
		n->url = next;
		page_start(n);
		return;
	}
	free(next);
	apply(n);
}

static void
page_start(nrps *n)
{
	struct hfetch_opts o = { 0 };

	n->pages++;
	o.url = n->url;
	o.accept = NRPS_TYPE;
	o.authorization = n->bearer;
	o.allow_private = n->allow_private;
	o.timeout_ms = 30000;
	o.max_body = PAGE_MAX;
	n->http = hfetch_start(n->fetch, &o, page_got, n);
}

static void
token_got(const char *bearer, const char *error, void *arg)
{
	nrps *n = arg;

	n->tok = NULL;
	if (error != NULL) {
		record(n, error);
		return;
	}
	n->bearer = xstrdup(bearer);
	page_start(n);
}

static void
released(const struct db_reply *r, void *arg)
{
	nrps *n = arg;

	n->req = NULL;
	if (r->status != DB_OK)
		log_warnx("nrps", "lease not released", "school=%s err=\"%s\"", n->school, r->error);
	next_school(n);
}

static void
next_course(nrps *n)
{
	const char *diff;
	char *url;

	course_reset(n);
	if (runner_stopping(n->run)) {
		run_done(n);
		return;
	}
	if (n->di >= PQntuples(n->due)) {
		/* this school is done: its lease goes, then the next school */
		db_req *req = db_req_new(released, n);

		PQclear(n->due);
		n->due = NULL;
		lease_add_release(req, n->leases, JOB);
		n->req = db_submit(n->db, req);
		return;
	}
	diff = due_val(n, 4);
	n->full = diff == NULL;
	url = xstrdup(diff != NULL ? diff : due_val(n, 3));
	n->url = url;
	n->plan = plan_new();
	plan_file(n->plan, NRPS_FILE);
	n->tok = ags_token(n->tokens, strtoll(n->school, NULL, 10), strtoll(due_val(n, 0), NULL, 10),
	    token_got, n);
}

static void
due_read(const struct db_reply *r, void *arg)
{
	nrps *n = arg;

	n->req = NULL;
	if (r->status != DB_OK) {
		log_warnx("nrps", "courses not read", "school=%s err=\"%s\"", n->school, r->error);
		run_done(n);
		return;
	}
	PQclear(n->due);
	n->due = NULL;
	/* the result lives past the callback: copy what is needed */
	n->due = PQcopyResult(r->results[0], PG_COPYRES_ATTRS | PG_COPYRES_TUPLES);
	n->di = 0;
	next_course(n);
}

static void
claimed(const struct db_reply *r, void *arg)
{
	nrps *n = arg;
	const PGresult *res;
	const char *p[2];

	n->req = NULL;
	if (r->status != DB_OK) {
		if (r->status != DB_UNAVAILABLE)
			log_warnx("nrps", "claim failed", "err=\"%s\"", r->error);
		run_done(n);
		return;
	}
	res = r->results[0];
	if (PQntuples(res) == 0) {
		run_done(n);
		return;
	}
	n->last_school = pgrow_i64(res, 0, 0);
	if (!pgrow_bool(res, 0, 1)) {
		next_school(n);
		return;
	}
	util_strlcpy(n->school, PQgetvalue(res, 0, 0), sizeof n->school);
	lease_held(n->leases, JOB, n->school);
	p[0] = n->school;
	p[1] = n->now;
	n->req = db_query(n->db, due_sql, 2, p, due_read, n);
}

static void
next_school(nrps *n)
{
	char last[24];
	const char *p[3] = { last, lease_holder(n->leases), lease_timeout_param(n->leases) };

	if (runner_stopping(n->run)) {
		run_done(n);
		return;
	}
	snprintf(last, sizeof last, "%" PRId64, n->last_school);
	n->req = db_query(n->db, claim_sql, 3, p, claimed, n);
}

static void
run_start(runner *r, unsigned why, void *arg)
{
	nrps *n = arg;

	(void)r;
	(void)why;
	clock_now_iso(n->now, sizeof n->now);
	n->last_school = 0;
	next_school(n);
}

nrps *
nrps_new(const struct nrps_spec *spec)
{
	nrps *n = xcalloc(1, sizeof *n);

	n->db = spec->db;
	n->leases = spec->leases;
	n->fetch = spec->fetch;
	n->tokens = spec->tokens;
	n->allow_private = spec->allow_private;
	n->run = runner_new(spec->base, &(struct runner_spec){ .name = JOB,
	    .interval_ms = spec->interval_ms, .on_clock = true, .at_start = true }, run_start, n);
	return n;
}

void
nrps_kick(nrps *n)
{
	if (n != NULL)
		runner_kick(n->run, RUNNER_KICK);
}

void
nrps_stop(nrps *n)
{
	runner_stop(n->run);
}

bool
nrps_idle(const nrps *n)
{
	return runner_idle(n->run) && n->req == NULL && n->http == NULL && n->tok == NULL;
}

bool
nrps_busy(const nrps *n)
{
	return runner_running(n->run) || n->req != NULL || n->http != NULL || n->tok != NULL;
}

void
nrps_free(nrps *n)
{
	if (n == NULL)
		return;
	if (n->req != NULL)
		db_cancel(n->req);
	course_reset(n);
	PQclear(n->due);
	runner_free(n->run);
	free(n);
}
