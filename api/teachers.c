/*
 * teachers.c: what teachers see and do: a class's forgotten and at-risk
 * units, the class x unit mastery grid, a pupil's progress over time, and
 * checks on demand. Admins see the whole school; a teacher's token only
 * the classes they teach and the pupils enrolled in them (others are 404,
 * as are other schools' ids).
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "app.h"
#include "checks.h"
#include "classview.h"
#include "flags.h"
#include "mastery.h"
#include "sbuf.h"
#include "scope.h"
#include "settings.h"
#include "util.h"

#define LEVEL_NAMES "(ARRAY['emerging', 'developing', 'secure', 'mastery'])"

/* ---- GET /v1/classes/{id}/flags ---- */

/*
 * A not-practised flag names each pupil's last answer on the unit (null:
 * never), oldest first: who to talk to. The numbers behind each reason
 * ("evidence") are as daemon/push/payload.c sends them in events.
 */
static const char flags_sql[] =
    "SELECT json_build_object("
    " 'class', json_build_object('id', k.class_id, 'name', k.name),"
    " 'local_date', ($4::timestamptz AT TIME ZONE s.tz)::date,"
    " 'as_of', (SELECT j.done_at FROM school_flag_job j WHERE j.school_id = k.school_id),"
    " 'items', coalesce((SELECT json_agg(json_build_object("
    "   'unit', json_build_object('id', u.unit_id, 'name', u.name),"
    "   'status', f.status,"
    /* $5: the reasons' names, bit 0 first (reason_names) */
    "   'reasons', (SELECT coalesce(json_agg(n.name ORDER BY n.i), '[]')"
    "     FROM unnest($5::text[]) WITH ORDINALITY AS n(name, i)"
    "     WHERE f.reasons & (1 << (n.i::int - 1)) <> 0),"
    "   'pupils', f.pupils, 'class_pupils', f.class_pupils, 'fallen', f.fallen,"
    "   'class_recall', f.class_recall, 'class_recall_ahead', f.class_recall_ahead,"
    "   'horizon_days', f.horizon_days, 'since', f.since, 'updated_at', f.updated_at,"
    "   'unanswered', f.unanswered, 'unanswered_days', f.unanswered_days,"
    "   'evidence', json_strip_nulls(json_build_object("
    "     'low_recall', CASE WHEN f.reasons & $6::int <> 0 THEN json_build_object("
    "       'class_recall', CASE WHEN f.status = 'at_risk' THEN f.class_recall_ahead"
    "         ELSE f.class_recall END, 'below', s.flag_recall,"
    "       'ahead', f.status = 'at_risk') END,"
    "     'fallen', CASE WHEN f.reasons & $7::int <> 0 THEN json_build_object("
    "       'pupils', f.fallen, 'class_pupils', f.class_pupils,"
    "       'share', s.flag_fallen_share) END,"
    "     'unanswered', CASE WHEN f.reasons & $8::int <> 0 THEN json_build_object("
    "       'pupils', f.unanswered, 'class_pupils', f.class_pupils,"
    "       'share', s.flag_unanswered_share, 'school_days', f.unanswered_days) END)),"
    "   'last_answers', CASE WHEN f.reasons & $8::int <> 0 THEN"
    "     (SELECT coalesce(json_agg(json_build_object("
    "       'pupil', json_build_object('id', p.pupil_id, 'external_id', p.external_id,"
    "         'given_name', p.given_name, 'family_name', p.family_name),"
    "       'last_answered_on', la.day) ORDER BY la.day NULLS FIRST, p.pupil_id), '[]')"
    "      FROM class_pupil cp JOIN pupil p ON p.school_id = cp.school_id"
    "        AND p.pupil_id = cp.pupil_id AND p.active"
    "      CROSS JOIN LATERAL (SELECT max((r.reviewed_at AT TIME ZONE s.tz)::date) AS day"
    "        FROM review r JOIN question q ON q.school_id = r.school_id"
    "        AND q.question_id = r.question_id AND q.unit_id = f.unit_id"
    "        WHERE r.school_id = cp.school_id AND r.pupil_id = cp.pupil_id) la"
    "      WHERE cp.school_id = f.school_id AND cp.class_id = f.class_id AND cp.active) END,"
    "   'retaught_on', (SELECT t.retaught_on FROM taught t WHERE t.school_id = f.school_id"
    "     AND t.class_id = f.class_id AND t.unit_id = f.unit_id))"
    "   ORDER BY f.status = 'forgotten' DESC, f.status = 'not_practised' DESC, f.since,"
    "   u.unit_id)"
    "  FROM flag f JOIN unit u ON u.school_id = f.school_id AND u.unit_id = f.unit_id"
    "  WHERE f.school_id = k.school_id AND f.class_id = k.class_id AND f.status <> 'none'),"
    "  '[]'))::text"
    " FROM class k JOIN school s ON s.school_id = k.school_id"
    " WHERE k.school_id = $1 AND k.class_id = $2::bigint" SCOPE_CLASS("k");

/* The names of the flag reasons, bit 0 first, as a text[] literal (sched/flags.h names them). */
static char *
reason_names(void)
{
	struct sbuf b = { 0 };

	for (unsigned bit = 1; bit & FLAG_REASONS_ALL; bit <<= 1)
		sbuf_arr_text(&b, flags_reason_name(bit));
	sbuf_arr_end(&b);
	return sbuf_take(&b);
}

/* The names of the mastery levels, lowest first, as a text[] literal (sched/mastery.h). */
static char *
level_names(void)
{
	struct sbuf b = { 0 };

	for (int l = 0; l < MASTERY_NLEVELS; l++)
		sbuf_arr_text(&b, mastery_level_name((mastery_level)l));
	sbuf_arr_end(&b);
	return sbuf_take(&b);
}

static void
flags_get(struct api_call *c)
{
	int64_t id;
	char *names, bits[3][8];
	const char *p[8];

	if (!api_param_id(c, "id", &id))
		return;
	names = reason_names();
	snprintf(bits[0], sizeof bits[0], "%u", (unsigned)FLAG_REASON_LOW_RECALL);
	snprintf(bits[1], sizeof bits[1], "%u", (unsigned)FLAG_REASON_FALLEN);
	snprintf(bits[2], sizeof bits[2], "%u", (unsigned)FLAG_REASON_UNANSWERED);
	p[0] = c->school;
	p[1] = api_param(c, "id");
	p[2] = scope_teacher(c);
	p[3] = c->now;
	p[4] = names;
	p[5] = bits[0];
	p[6] = bits[1];
	p[7] = bits[2];
	api_query_db(c, flags_sql, 8, p, api_reply_row);
	free(names);
}

/* ---- GET /v1/classes/{id}/mastery ---- */

static const char grid_class_sql[] =
    "SELECT k.name, " SETTINGS_COLUMNS("$4") "," SETTINGS_WINDOW_COLUMNS("$4")
    " FROM class k JOIN school s ON s.school_id = k.school_id"
    " WHERE k.school_id = $1 AND k.class_id = $2::bigint" SCOPE_CLASS("k");

static json_t *
maybe_string(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

/*
 * Whether pupil p is behind unit u's stored flag, by the flags' own rule
 * (today for a forgotten unit, at the horizon for an at-risk one, not
 * practising for a not-practised one): what lets the page say "2 units
 * are being forgotten by 11 of 28 pupils".
 */
static bool
behind_flag(classview *k, size_t u, size_t p, const fsrs_model *m, const struct settings *set,
    const mastery_result *now)
{
	flags_status st = classview_unit(k, u)->flag;
	int high = classview_high(k, u, p);
	mastery_result ahead;
	flags_pupil fp;

	if (st == FLAG_NONE)
		return false;
	classview_assess_ahead(k, u, p, m, set, &ahead);
	fp = flags_pupil_from_mastery(high >= 0 ? (mastery_level)high : MASTERY_EMERGING, now, &ahead);
	fp.unanswered = classview_unanswered(k, u, p, set);
	return flags_pupil_behind(&set->flags, &fp, st);
}

/*
 * The evidence beside pupil p's level of unit u: their last answer on it,
 * the share of its prompts they answered in the not-practised window
 * (null when none came), their answers on it ever, and whether the level
 * rests on answers older than the school's evidence window (stale).
 */
static void
cell_evidence(json_t *cell, const classview *k, size_t u, size_t p, const struct settings *set)
{
	const struct classview_evidence *ev = classview_evidence(k, u, p);

	json_object_set_new(cell, "last_answered_on", ev->last_answered_on[0] != '\0' ?
	    json_string(ev->last_answered_on) : json_null());
	json_object_set_new(cell, "answered_share", ev->prompts > 0 ?
	    json_real((double)ev->answered / ev->prompts) : json_null());
	json_object_set_new(cell, "reviews", json_integer(ev->reviews));
	json_object_set_new(cell, "stale", json_boolean(classview_stale(k, u, p, set)));
}

/* Pupils at each level, by the levels' names. */
static json_t *
levels_json(const uint32_t levels[MASTERY_NLEVELS])
{
	json_t *o = json_object();

	for (int l = 0; l < MASTERY_NLEVELS; l++)
		json_object_set_new(o, mastery_level_name((mastery_level)l), json_integer(levels[l]));
	return o;
}

static void
grid_read(struct api_call *c, const struct db_reply *r)
{
	const PGresult *cr;
	struct settings set;
	struct settings_error e;
	fsrs_model *model;
	classview *k;
	json_t *body, *units, *pupils;
	uint32_t (*levels)[MASTERY_NLEVELS];
	double *recall_sum;
	uint32_t *recall_n;
	size_t nu, np, n_behind = 0, n_flagged = 0;

	if (r->status != DB_OK) {
		api_db_failed(c, r);
		return;
	}
	cr = r->results[0];
	if (PQntuples(cr) == 0) {
		api_problem(c, 404, "not-found", "Not found", "no such class in this school");
		return;
	}
	if (!settings_parse(cr, 0, 1, &set, &e)) {
		api_settings_refused(c, "teachers", &e);
		return;
	}
	settings_parse_windows(cr, 0, 1 + SETTINGS_NCOLUMNS, &set);
	model = settings_model_new(&set);
	k = classview_parse(&r->results[1]);
	nu = classview_nunits(k);
	np = classview_npupils(k);
	levels = xcalloc(nu + 1, sizeof *levels);
	recall_sum = xcalloc(nu + 1, sizeof *recall_sum);
	recall_n = xcalloc(nu + 1, sizeof *recall_n);
	pupils = json_array();
	for (size_t p = 0; p < np; p++) {
		const struct classview_pupil *pu = classview_pupil(k, p);
		json_t *cells = json_array();

		bool behind_any = false;

		for (size_t u = 0; u < nu; u++) {
			mastery_result m;
			json_t *cell;
			bool behind;

			classview_assess(k, u, p, model, &set.mastery, set.today, &m);
			levels[u][m.level]++;
			if (m.n_reviewed > 0) {
				recall_sum[u] += m.mean_recall_seen;
				recall_n[u]++;
			}
			behind = behind_flag(k, u, p, model, &set, &m);
			behind_any |= behind;
			cell = json_pack("{s:I, s:s, s:f, s:f, s:i, s:i, s:b}",
			    "unit_id", (json_int_t)classview_unit(k, u)->id,
			    "level", mastery_level_name(m.level),
			    "recall", m.mean_recall,
			    "coverage", m.coverage,
			    "reviewed", (int)m.n_reviewed,
			    "questions", (int)m.n_questions,
			    "behind_flag", behind);
			cell_evidence(cell, k, u, p, &set);
			json_array_append_new(cells, cell);
		}
		n_behind += behind_any;
		json_array_append_new(pupils, json_pack("{s:I, s:s, s:o, s:o, s:o}",
		    "id", (json_int_t)pu->id, "external_id", pu->external_id,
		    "given_name", maybe_string(pu->given_name),
		    "family_name", maybe_string(pu->family_name),
		    "units", cells));
	}
	units = json_array();
	for (size_t u = 0; u < nu; u++) {
		const struct classview_unit *un = classview_unit(k, u);

		n_flagged += un->flag != FLAG_NONE;
		json_array_append_new(units, json_pack("{s:I, s:s, s:s, s:s, s:i, s:o, s:o}",
		    "id", (json_int_t)un->id, "name", un->name, "taught_on", un->taught_on,
		    "flag", flags_status_name(un->flag),
		    "questions", (int)un->n_questions,
		    "levels", levels_json(levels[u]),
		    "class_recall", recall_n[u] > 0 ? json_real(recall_sum[u] / recall_n[u]) :
		    json_null()));
	}
	body = json_pack("{s:{s:I, s:s}, s:s, s:{s:i, s:i, s:i}, s:o, s:o}",
	    "class", "id", (json_int_t)strtoll(api_param(c, "id"), NULL, 10),
	    "name", PQgetvalue(cr, 0, 0),
	    "local_date", set.local_date,
	    "behind_flags", "units", (int)n_flagged, "pupils", (int)n_behind,
	    "class_pupils", (int)np,
	    "units", units, "pupils", pupils);
	free(levels);
	free(recall_sum);
	free(recall_n);
	classview_free(k);
	fsrs_model_free(model);
	api_reply(c, 200, body);
}

static void
mastery_get(struct api_call *c)
{
	const char *p[4];
	db_req *req;

	if (!api_id_params(c, p))
		return;
	req = api_req_new(c);
	db_req_add(req, grid_class_sql, 4, p);
	classview_sql(req, c->school, api_param(c, "id"), c->now);
	api_submit(c, req, grid_read);
}

/* ---- GET /v1/pupils/{id}/progress ---- */

/* The windows are computed once (MATERIALIZED), as in classview.c. */
static const char progress_sql[] =
    "WITH win AS MATERIALIZED (SELECT recalld_school_days_back(s.school_id,"
    "   ($6::timestamptz AT TIME ZONE s.tz)::date, s.flag_unanswered_days) AS unanswered,"
    "   recalld_school_days_back(s.school_id, ($6::timestamptz AT TIME ZONE s.tz)::date,"
    "   s.mastery_evidence_days) AS evidence FROM school s WHERE s.school_id = $1)"
    " SELECT json_build_object("
    " 'pupil', json_build_object('id', p.pupil_id, 'external_id', p.external_id,"
    "   'given_name', p.given_name, 'family_name', p.family_name),"
    " 'units', coalesce((SELECT json_agg(json_build_object("
    "   'unit', json_build_object('id', u.unit_id, 'name', u.name),"
    /* $5: the levels' names, lowest first (level_names) */
    "   'level', ($5::text[])[ml.level + 1],"
    "   'best_level', ($5::text[])[ml.best_level + 1],"
    "   'recall', ml.recall, 'coverage', ml.coverage, 'updated_at', ml.updated_at,"
    "   'last_answered_on', ev.last_day, 'reviews', ev.n,"
    "   'answered_share', CASE WHEN pr.prompts > 0 THEN pr.answered::float8 / pr.prompts END,"
    "   'stale', coalesce(ev.last_day < win.evidence, false),"
    "   'history', coalesce((SELECT json_agg(json_build_object("
    "     'at', h.changed_at, 'date', (h.changed_at AT TIME ZONE s.tz)::date,"
    "     'from', ($5::text[])[h.from_level + 1], 'to', ($5::text[])[h.to_level + 1],"
    "     'recall', h.recall) ORDER BY h.changed_at)"
    "    FROM mastery_history h WHERE h.school_id = ml.school_id"
    "    AND h.pupil_id = ml.pupil_id AND h.unit_id = ml.unit_id), '[]'))"
    "   ORDER BY u.course_id, u.position, u.unit_id)"
    "  FROM mastery ml JOIN unit u ON u.school_id = ml.school_id AND u.unit_id = ml.unit_id"
    /* the evidence, as the grid gives it (classview.c) */
    "  CROSS JOIN LATERAL (SELECT max((r.reviewed_at AT TIME ZONE s.tz)::date) AS last_day,"
    "    count(*) AS n FROM review r JOIN question q ON q.school_id = r.school_id"
    "    AND q.question_id = r.question_id AND q.unit_id = ml.unit_id"
    "    WHERE r.school_id = ml.school_id AND r.pupil_id = ml.pupil_id) ev"
    "  CROSS JOIN LATERAL (SELECT count(*) AS prompts, count(pp.answered_at) AS answered"
    "    FROM prompt pp JOIN question q ON q.school_id = pp.school_id"
    "    AND q.question_id = pp.question_id AND q.unit_id = ml.unit_id"
    "    JOIN batch b ON b.school_id = pp.school_id AND b.batch_id = pp.batch_id"
    "    WHERE pp.school_id = ml.school_id AND pp.pupil_id = ml.pupil_id"
    "    AND b.local_date >= win.unanswered) pr"
    "  WHERE ml.school_id = p.school_id AND ml.pupil_id = p.pupil_id"
    "  AND ($4::bigint IS NULL OR ml.unit_id = $4::bigint)), '[]'))::text"
    " FROM pupil p JOIN school s ON s.school_id = p.school_id CROSS JOIN win"
    " WHERE p.school_id = $1 AND p.pupil_id = $2::bigint" SCOPE_PUPIL("p");

static void
progress_get(struct api_call *c)
{
	int64_t id;
	const char *unit = api_query(c, "unit_id"), *p[6];
	char *names;

	if (!api_param_id(c, "id", &id))
		return;
	if (unit != NULL) {
		char *end;
		long long v = strtoll(unit, &end, 10);

		if (*unit < '1' || *unit > '9' || *end != '\0' || strlen(unit) > 18 || v < 1) {
			api_field_error(c, "unit_id", "must be a unit id");
			api_validation_failed(c);
			return;
		}
	}
	p[0] = c->school;
	p[1] = api_param(c, "id");
	p[2] = scope_teacher(c);
	p[3] = unit;
	p[4] = names = level_names();
	p[5] = c->now;
	api_query_db(c, progress_sql, 6, p, api_reply_row);
	free(names);
}

/* ---- POST /v1/classes/{id}/units/{unit_id}/checks ---- */

static void
check_pushed(int status, const json_t *body, const char *field, const char *detail, void *arg)
{
	struct api_call *c = arg;

	switch (status) {
	case 201:
		api_reply(c, 201, json_deep_copy(body));
		return;
	case 404:
		api_problem(c, 404, "not-found", "Not found", detail);
		return;
	case 422:
		api_field_error(c, field ? field : "body", "%s", detail);
		api_validation_failed(c);
		return;
	case 503:
		api_problem(c, 503, "database-unavailable", "Database unavailable", detail);
		return;
	default:
		api_problem(c, 500, "internal", "Internal error", detail);
	}
}

/* {"kind": "diagnostic" | "recheck"} */
static void
check_post(struct api_call *c)
{
	struct checks_request rq = { 0 };
	json_t *v;

	if (!api_param_id(c, "id", &rq.class_id) || !api_param_id(c, "unit_id", &rq.unit_id))
		return;
	if (c->body == NULL) {
		api_problem(c, 400, "malformed-json", "Malformed JSON",
		    "send {\"kind\": \"diagnostic\"} or {\"kind\": \"recheck\"}");
		return;
	}
	api_fields_only(c, "a check (only kind)", (const char *const[]){ "kind", NULL });
	v = json_object_get(c->body, "kind");
	if (v == NULL)
		api_field_error(c, "kind", "is required: diagnostic or recheck");
	else if (!json_is_string(v) || !checks_kind_parse(json_string_value(v), &rq.kind))
		api_field_error(c, "kind", "must be one of: diagnostic, recheck");
	if (api_has_errors(c)) {
		api_validation_failed(c);
		return;
	}
	rq.school_id = c->school_id;
	rq.teacher_id = scope_teacher_id(c);
	checks_push(c->app->checks, &rq, check_pushed, c);
}

void
teachers_routes(http_server *s)
{
	api_route_reads(s, EVHTTP_REQ_GET, "/v1/classes/{id}/flags", ROLE_ADMIN | ROLE_TEACHER,
	    flags_get);
	api_route_reads(s, EVHTTP_REQ_GET, "/v1/classes/{id}/mastery", ROLE_ADMIN | ROLE_TEACHER,
	    mastery_get);
	api_route_reads(s, EVHTTP_REQ_GET, "/v1/pupils/{id}/progress", ROLE_ADMIN | ROLE_TEACHER,
	    progress_get);
	api_route(s, EVHTTP_REQ_POST, "/v1/classes/{id}/units/{unit_id}/checks",
	    ROLE_ADMIN | ROLE_TEACHER, check_post);
}
