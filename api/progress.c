/*
 * progress.c: what the dashboard shows beside the flags and the grid: the
 * units of a class's course with their taught dates, and progress over
 * time, week by week.
 *
 * Progress is assessed, not remembered: for each week's last day the
 * memory state of each question is rebuilt from the reviews up to that
 * day (each review stores the state it left) and sched/mastery assesses it
 * at that day, exactly as the grid assesses today's states. So a class
 * that stopped answering shows its decline, which the stored history of
 * level changes (written when answers come in) would not.
 */
#include "autoconf.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "mastery.h"
#include "pgrow.h"
#include "scope.h"
#include "settings.h"
#include "util.h"

#define WEEKS_DEFAULT 12
#define WEEKS_MAX 52

/* ---- GET /v1/classes/{id}/units ---- */

static const char units_sql[] =
    "SELECT json_build_object("
    " 'class', json_build_object('id', k.class_id, 'name', k.name),"
    " 'local_date', ($4::timestamptz AT TIME ZONE s.tz)::date,"
    " 'items', coalesce((SELECT json_agg(json_build_object("
    "   'id', u.unit_id, 'name', u.name,"
    "   'course', json_build_object('id', c.course_id, 'name', c.name),"
    "   'position', u.position,"
    "   'questions', (SELECT count(*) FROM question q WHERE q.school_id = u.school_id"
    "     AND q.unit_id = u.unit_id AND " SETTINGS_QUESTION_COUNTS("q", "s") "),"
    "   'taught_on', t.taught_on, 'retaught_on', t.retaught_on,"
    "   'flag', coalesce(f.status, 'none'))"
    "   ORDER BY c.course_id = k.course_id DESC, c.course_id, u.position, u.unit_id)"
    "  FROM unit u JOIN course c ON c.school_id = u.school_id AND c.course_id = u.course_id"
    "  LEFT JOIN taught t ON t.school_id = u.school_id AND t.class_id = k.class_id"
    "   AND t.unit_id = u.unit_id"
    "  LEFT JOIN flag f ON f.school_id = u.school_id AND f.class_id = k.class_id"
    "   AND f.unit_id = u.unit_id"
    "  WHERE u.school_id = k.school_id AND u.active"
    "  AND (u.course_id = k.course_id OR t.unit_id IS NOT NULL)), '[]'))::text"
    " FROM class k JOIN school s ON s.school_id = k.school_id"
    " WHERE k.school_id = $1 AND k.class_id = $2::bigint" SCOPE_CLASS("k");

static void
units_get(struct api_call *c)
{
	api_row_by_id(c, units_sql, 4);
}

/* ---- GET /v1/classes/{id}/progress[?pupil_id=][&weeks=] ---- */

/* $1 school, $2 class, $3 teacher or NULL, $4 now, $5 pupil or NULL. */
static const char prog_class_sql[] =
    "SELECT k.name, " SETTINGS_COLUMNS("$4") ","
    " (SELECT min(t.taught_on) - date '1970-01-01' FROM taught t"
    "   WHERE t.school_id = k.school_id AND t.class_id = k.class_id),"
    " ($5::bigint IS NULL OR EXISTS (SELECT 1 FROM class_pupil cp WHERE cp.school_id = k.school_id"
    "   AND cp.class_id = k.class_id AND cp.pupil_id = $5::bigint AND cp.active))"
    " FROM class k JOIN school s ON s.school_id = k.school_id"
    " WHERE k.school_id = $1 AND k.class_id = $2::bigint" SCOPE_CLASS("k");

/*
 * The statements below run only for a visible class (the first statement
 * decides, in the same transaction); their parameters: $1 school,
 * $2 class, $3 pupil or NULL, $4 now.
 */
static const char prog_units_sql[] =
    "SELECT t.unit_id, u.name, t.taught_on::text, t.taught_on - date '1970-01-01',"
    " (SELECT count(*) FROM question q WHERE q.school_id = t.school_id"
    "   AND q.unit_id = t.unit_id AND " SETTINGS_QUESTION_COUNTS("q", "s") ")"
    " FROM taught t JOIN school s ON s.school_id = t.school_id"
    " JOIN unit u ON u.school_id = t.school_id AND u.unit_id = t.unit_id AND u.active"
    " WHERE t.school_id = $1 AND t.class_id = $2::bigint"
    " ORDER BY u.course_id, u.position, u.unit_id";

static const char prog_pupils_sql[] =
    "SELECT p.pupil_id, p.external_id, p.given_name, p.family_name"
    " FROM class_pupil cp JOIN pupil p ON p.school_id = cp.school_id"
    "   AND p.pupil_id = cp.pupil_id AND p.active"
    " WHERE cp.school_id = $1 AND cp.class_id = $2::bigint AND cp.active"
    " AND ($3::bigint IS NULL OR cp.pupil_id = $3::bigint)"
    " ORDER BY p.pupil_id";

/* Every review up to now, grouped by unit, pupil and question, oldest first. */
static const char prog_reviews_sql[] =
    "SELECT t.unit_id, r.pupil_id, r.question_id,"
    " (r.reviewed_at AT TIME ZONE s.tz)::date - date '1970-01-01', r.stability, r.difficulty"
    " FROM taught t JOIN school s ON s.school_id = t.school_id"
    " JOIN question q ON q.school_id = t.school_id AND q.unit_id = t.unit_id"
    "   AND " SETTINGS_QUESTION_COUNTS("q", "s")
    " JOIN class_pupil cp ON cp.school_id = t.school_id AND cp.class_id = t.class_id AND cp.active"
    " JOIN review r ON r.school_id = t.school_id AND r.pupil_id = cp.pupil_id"
    "   AND r.question_id = q.question_id AND r.reviewed_at <= $4::timestamptz"
    " WHERE t.school_id = $1 AND t.class_id = $2::bigint"
    " AND ($3::bigint IS NULL OR cp.pupil_id = $3::bigint)"
    " ORDER BY t.unit_id, r.pupil_id, r.question_id, r.reviewed_at";

struct review {
	int64_t unit, pupil, question;
	int32_t day;
	double stability, difficulty;
};

struct prog {
	int64_t pupil_id;	/* 0: the whole class */
	int weeks;
};

/*
 * The level of one pupil for one unit at day, from the pupil's reviews of
 * the unit (rv[0..n), grouped by question, oldest first).
 */
static void
assess_at(const fsrs_model *m, const struct settings *set, const struct review *rv, size_t n,
    uint32_t n_questions, int32_t day, mastery_item *items, mastery_result *out)
{
	size_t k = 0;

	for (size_t i = 0; i < n;) {
		size_t j = i;
		mastery_item *it = NULL;

		for (; j < n && rv[j].question == rv[i].question; j++) {
			if (rv[j].day > day)
				continue;
			if (it == NULL) {
				if (k == n_questions)
					break;	/* a question made inactive since: never counted */
				it = &items[k++];
				memset(it, 0, sizeof *it);
			}
			it->state.stability = rv[j].stability;
			it->state.difficulty = rv[j].difficulty;
			it->state.reps++;
			it->last_review_day = rv[j].day;
		}
		while (j < n && rv[j].question == rv[i].question)
			j++;
		i = j;
	}
	if (k < n_questions)
		memset(items + k, 0, (n_questions - k) * sizeof *items);	/* unseen */
	mastery_assess(m, &set->mastery, items, n_questions, day, out);
}

static json_t *
maybe_string(const PGresult *res, int row, int col)
{
	return pgrow_null(res, row, col) ? json_null() : json_string(PQgetvalue(res, row, col));
}

static void
progress_read(struct api_call *c, const struct db_reply *r)
{
	const struct prog *pg = c->state;
	const PGresult *cr, *ur, *pr, *rr;
	struct settings set;
	struct settings_error e;
	fsrs_model *model;
	struct review *rv = NULL;
	mastery_item *items = NULL;
	int32_t *days = NULL, first;
	size_t nu, np, nr, nweeks, maxq = 0;
	json_t *body = NULL, *weeks, *units, *pupil_units = NULL;

	if (r->status != DB_OK) {
		api_db_failed(c, r);
		return;
	}
	cr = r->results[0];
	ur = r->results[1];
	pr = r->results[2];
	rr = r->results[3];
	if (PQntuples(cr) == 0) {
		api_problem(c, 404, "not-found", "Not found", "no such class in this school");
		return;
	}
	if (!pgrow_bool(cr, 0, SETTINGS_NCOLUMNS + 2) ||
	    (pg->pupil_id > 0 && PQntuples(pr) == 0)) {
		api_problem(c, 404, "not-found", "Not found", "no such pupil in this class");
		return;
	}
	if (!settings_parse(cr, 0, 1, &set, &e)) {
		api_settings_refused(c, "progress", &e);
		return;
	}
	model = settings_model_new(&set);

	/* The weeks: today and the same weekday before, back to the first taught unit. */
	first = (int32_t)pgrow_i64_or(cr, 0, SETTINGS_NCOLUMNS + 1, set.today);
	nweeks = first < set.today ? (size_t)((set.today - first) / 7) + 1 : 1;
	if (nweeks > (size_t)pg->weeks)
		nweeks = (size_t)pg->weeks;
	days = xcalloc(nweeks, sizeof *days);
	weeks = json_array();
	for (size_t w = 0; w < nweeks; w++) {
		time_t t;
		struct tm tm;
		char d[16];

		days[w] = set.today - 7 * (int32_t)(nweeks - 1 - w);
		t = (time_t)days[w] * 86400;	/* a day number is a date: UTC says which */
		gmtime_r(&t, &tm);
		strftime(d, sizeof d, "%Y-%m-%d", &tm);
		json_array_append_new(weeks, json_string(d));
	}

	nr = (size_t)PQntuples(rr);
	rv = xcalloc(nr + 1, sizeof *rv);
	for (size_t i = 0; i < nr; i++) {
		rv[i].unit = pgrow_i64(rr, (int)i, 0);
		rv[i].pupil = pgrow_i64(rr, (int)i, 1);
		rv[i].question = pgrow_i64(rr, (int)i, 2);
		rv[i].day = (int32_t)pgrow_int(rr, (int)i, 3);
		rv[i].stability = pgrow_f64(rr, (int)i, 4);
		rv[i].difficulty = pgrow_f64(rr, (int)i, 5);
	}
	nu = (size_t)PQntuples(ur);
	np = (size_t)PQntuples(pr);
	for (size_t u = 0; u < nu; u++) {
		size_t q = (size_t)pgrow_i64(ur, (int)u, 4);
		if (q > maxq)
			maxq = q;
	}
	items = xcalloc(maxq + 1, sizeof *items);

	units = json_array();
	if (pg->pupil_id > 0)
		pupil_units = json_array();
	for (size_t u = 0; u < nu; u++) {
		int64_t uid = pgrow_i64(ur, (int)u, 0);
		int32_t taught = (int32_t)pgrow_int(ur, (int)u, 3);
		uint32_t nq = (uint32_t)pgrow_i64(ur, (int)u, 4);
		json_t *share = json_array(), *levels = json_array(), *recall = json_array();
		size_t lo = 0;

		/* Reviews come sorted by unit id; the units by course order: find the run. */
		while (lo < nr && rv[lo].unit != uid)
			lo++;
		for (size_t w = 0; w < nweeks; w++) {
			size_t secure = 0, i = lo;

			if (days[w] < taught) {
				json_array_append_new(share, json_null());
				json_array_append_new(levels, json_null());
				json_array_append_new(recall, json_null());
				continue;
			}
			for (size_t p = 0; p < np; p++) {
				int64_t pid = pgrow_i64(pr, (int)p, 0);
				size_t j;
				mastery_result m;

				while (i < nr && rv[i].unit == uid && rv[i].pupil < pid)
					i++;
				for (j = i; j < nr && rv[j].unit == uid && rv[j].pupil == pid; j++)
					;
				assess_at(model, &set, rv + i, j - i, nq, days[w], items, &m);
				i = j;
				if (m.level >= MASTERY_SECURE)
					secure++;
				if (pg->pupil_id > 0) {
					json_array_append_new(levels, json_string(mastery_level_name(m.level)));
					json_array_append_new(recall, json_real(m.mean_recall));
				}
			}
			json_array_append_new(share, np > 0 ? json_real((double)secure / (double)np) :
			    json_null());
		}
		json_array_append_new(units, json_pack("{s:I, s:s, s:s, s:o}",
		    "id", (json_int_t)uid, "name", PQgetvalue(ur, (int)u, 1),
		    "taught_on", PQgetvalue(ur, (int)u, 2), "secure_share", share));
		if (pupil_units != NULL)
			json_array_append_new(pupil_units, json_pack("{s:I, s:o, s:o}",
			    "id", (json_int_t)uid, "levels", levels, "recall", recall));
		else {
			json_decref(levels);
			json_decref(recall);
		}
	}
	body = json_pack("{s:{s:s, s:s}, s:s, s:o, s:o, s:o}",
	    "class", "id", api_param(c, "id"), "name", PQgetvalue(cr, 0, 0),
	    "local_date", set.local_date, "weeks", weeks, "units", units,
	    "pupil", pupil_units == NULL ? json_null() : json_pack("{s:I, s:s, s:o, s:o, s:o}",
		"id", (json_int_t)pg->pupil_id, "external_id", PQgetvalue(pr, 0, 1),
		"given_name", maybe_string(pr, 0, 2), "family_name", maybe_string(pr, 0, 3),
		"units", pupil_units));
	/* The class id goes out as a number, like everywhere else. */
	json_object_set_new(json_object_get(body, "class"), "id",
	    json_integer(strtoll(api_param(c, "id"), NULL, 10)));
	free(days);
	free(rv);
	free(items);
	fsrs_model_free(model);
	api_reply(c, 200, body);
}

static bool
small_int(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	if (s == NULL || *s < '0' || *s > '9' || strlen(s) > 18)
		return false;
	v = strtol(s, &end, 10);
	if (*end != '\0' || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

static void
progress_get(struct api_call *c)
{
	const char *pupil = api_query(c, "pupil_id"), *weeks = api_query(c, "weeks"), *p[5], *q[4];
	struct prog *pg;
	int64_t id;
	long v;
	db_req *req;

	if (!api_param_id(c, "id", &id))
		return;
	pg = c->state = xcalloc(1, sizeof *pg);
	pg->weeks = WEEKS_DEFAULT;
	if (pupil != NULL) {
		if (!small_int(pupil, 1, LONG_MAX, &v))
			api_field_error(c, "pupil_id", "must be a pupil id");
		else
			pg->pupil_id = v;
	}
	if (weeks != NULL) {
		if (!small_int(weeks, 1, WEEKS_MAX, &v))
			api_field_error(c, "weeks", "must be a number of weeks from 1 to %d", WEEKS_MAX);
		else
			pg->weeks = (int)v;
	}
	if (api_has_errors(c)) {
		api_validation_failed(c);
		return;
	}
	p[0] = c->school;
	p[1] = api_param(c, "id");
	p[2] = scope_teacher(c);
	p[3] = c->now;
	p[4] = pupil;
	req = api_req_new(c);
	db_req_add(req, prog_class_sql, 5, p);
	q[0] = c->school;
	q[1] = api_param(c, "id");
	q[2] = pupil;
	q[3] = c->now;
	db_req_add(req, prog_units_sql, 2, q);
	db_req_add(req, prog_pupils_sql, 3, q);
	db_req_add(req, prog_reviews_sql, 4, q);
	api_submit(c, req, progress_read);
}

void
progress_routes(http_server *s)
{
	api_route_reads(s, EVHTTP_REQ_GET, "/v1/classes/{id}/units", ROLE_ADMIN | ROLE_TEACHER,
	    units_get);
	api_route_reads(s, EVHTTP_REQ_GET, "/v1/classes/{id}/progress", ROLE_ADMIN | ROLE_TEACHER,
	    progress_get);
}
