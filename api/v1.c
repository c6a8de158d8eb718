/* v1.c: the /v1 school data routes: descriptors and the special cases. */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "levels.h"
#include "resource.h"
#include "scope.h"
#include "settings.h"
#include "util.h"

#define R_READ ROLES_ALL
#define R_WRITE (ROLE_ADMIN | ROLE_INTEGRATION)

static const char *const question_kinds[] = { "mcq", "short", "self", "external", NULL };
static const char *const calendar_kinds[] = { "holiday", "closure", "training", NULL };
static const char *const enrol_roles[] = { "pupil", "teacher", NULL };

#define EXTERNAL_ID { "external_id", RT_TEXT, RF_REQUIRED | RF_FILTER, 200, 0, 0, NULL }
#define ACTIVE { "active", RT_BOOL, RF_FILTER, 0, 0, 0, NULL }
#define UPDATED_AT { "updated_at", RT_TEXT, RF_READONLY, 0, 0, 0, NULL }
#define END { NULL, 0, 0, 0, 0, 0, NULL }

static const struct res_field pupil_fields[] = {
	EXTERNAL_ID,
	{ "given_name", RT_TEXT, RF_NULLABLE, 100, 0, 0, NULL },
	{ "family_name", RT_TEXT, RF_NULLABLE, 100, 0, 0, NULL },
	{ "year_group", RT_TEXT, RF_NULLABLE | RF_FILTER, 20, 0, 0, NULL },
	ACTIVE, UPDATED_AT, END,
};
static const struct resource pupils = {
	"pupil", "pupil_id", pupil_fields, R_READ, R_WRITE,
	SCOPE_ON_PUPIL, false,
};

static const struct res_field teacher_fields[] = {
	EXTERNAL_ID,
	{ "given_name", RT_TEXT, RF_NULLABLE, 100, 0, 0, NULL },
	{ "family_name", RT_TEXT, RF_NULLABLE, 100, 0, 0, NULL },
	{ "email", RT_TEXT, RF_NULLABLE, 254, 0, 0, NULL },
	ACTIVE, UPDATED_AT, END,
};
static const struct resource teachers = {
	"teacher", "teacher_id", teacher_fields, R_READ, R_WRITE,
	SCOPE_ON_SELF, false,
};

static const struct res_field class_fields[] = {
	EXTERNAL_ID,
	{ "name", RT_TEXT, RF_REQUIRED, 200, 0, 0, NULL },
	{ "course_id", RT_REF, RF_NULLABLE | RF_FILTER, 0, 0, 0, NULL },
	ACTIVE, UPDATED_AT, END,
};
static const struct resource classes = {
	"class", "class_id", class_fields, R_READ, R_WRITE, SCOPE_ON_CLASS, false,
};

static const struct res_field course_fields[] = {
	EXTERNAL_ID,
	{ "name", RT_TEXT, RF_REQUIRED, 200, 0, 0, NULL },
	{ "exam_date", RT_DATE, RF_NULLABLE, 0, 0, 0, NULL },
	ACTIVE, UPDATED_AT, END,
};
static const struct resource courses = {
	"course", "course_id", course_fields, R_READ, R_WRITE, SCOPE_NONE, false,
};

static const struct res_field unit_fields[] = {
	{ "course_id", RT_REF, RF_REQUIRED | RF_FILTER, 0, 0, 0, NULL },
	EXTERNAL_ID,
	{ "name", RT_TEXT, RF_REQUIRED, 200, 0, 0, NULL },
	{ "position", RT_INT, 0, 0, 0, 100000, NULL },
	ACTIVE, UPDATED_AT, END,
};
static const struct resource units = {
	"unit", "unit_id", unit_fields, R_READ, R_WRITE, SCOPE_NONE, false,
};

static const struct res_field question_fields[] = {
	{ "unit_id", RT_REF, RF_REQUIRED | RF_FILTER, 0, 0, 0, NULL },
	EXTERNAL_ID,
	{ "kind", RT_ENUM, RF_REQUIRED | RF_FILTER | RF_CONTENT, 0, 0, 0, question_kinds },
	{ "prompt", RT_TEXT, RF_REQUIRED | RF_CONTENT, 2000, 0, 0, NULL },
	{ "choices", RT_STRINGS, RF_NULLABLE | RF_CONTENT, 0, 0, 0, NULL },
	{ "correct_choice", RT_INT, RF_NULLABLE | RF_CONTENT, 0, 0, 9, NULL },
	{ "accepted_answers", RT_STRINGS, RF_NULLABLE | RF_CONTENT, 0, 0, 0, NULL },
	{ "explanation", RT_TEXT, RF_NULLABLE | RF_CONTENT, 2000, 0, 0, NULL },
	{ "fast_ms", RT_INT, RF_NULLABLE, 0, 1, 600000, NULL },
	{ "slow_ms", RT_INT, RF_NULLABLE, 0, 1, 600000, NULL },
	{ "version", RT_INT, RF_READONLY, 0, 0, 0, NULL },
	ACTIVE, UPDATED_AT, END,
};
static const struct resource questions = {
	"question", "question_id", question_fields, R_READ, R_WRITE, SCOPE_NONE, true,
};

static const struct res_field school_fields[] = {
	{ "name", RT_TEXT, 0, 200, 0, 0, NULL },
	{ "tz", RT_TZ, 0, 64, 0, 0, NULL },
	{ "prompt_time", RT_TIME, 0, 0, 0, 0, NULL },
	{ "school_days", RT_WEEKDAYS, 0, 0, 0, 0, NULL },
	/* The bounds are the reader's and the schema's too (settings.h). */
	{ "max_per_day", RT_INT, 0, 0, SETTINGS_PER_DAY_MIN, SETTINGS_PER_DAY_MAX, NULL },
	{ "new_per_day", RT_INT, 0, 0, SETTINGS_PER_DAY_MIN, SETTINGS_PER_DAY_MAX, NULL },
	{ "desired_retention", RT_NUMBER, 0, 0, SETTINGS_RETENTION_MIN, SETTINGS_RETENTION_MAX,
	    NULL },
	{ "max_interval_days", RT_INT, 0, 0, SETTINGS_INTERVAL_MIN, SETTINGS_INTERVAL_MAX, NULL },
	{ "first_retrieval_delay_days", RT_INT, 0, 0, SETTINGS_DELAY_MIN, SETTINGS_DELAY_MAX,
	    NULL },
	{ "self_rating", RT_BOOL, 0, 0, 0, 0, NULL },
	/* keep no names (sql/0025): set, the school's names go at once */
	{ "pseudonymous", RT_BOOL, 0, 0, 0, 0, NULL },
	{ "mastery_min_coverage", RT_NUMBER, 0, 0, SETTINGS_SHARE_MIN, SETTINGS_SHARE_MAX, NULL },
	{ "mastery_developing_recall", RT_NUMBER, 0, 0, SETTINGS_SHARE_MIN, SETTINGS_SHARE_MAX,
	    NULL },
	{ "mastery_secure_recall", RT_NUMBER, 0, 0, SETTINGS_SHARE_MIN, SETTINGS_SHARE_MAX, NULL },
	{ "mastery_secure_share", RT_NUMBER, 0, 0, SETTINGS_SHARE_MIN, SETTINGS_SHARE_MAX, NULL },
	{ "mastery_stability_days", RT_NUMBER, 0, 0, SETTINGS_STABILITY_MIN,
	    SETTINGS_STABILITY_MAX, NULL },
	{ "mastery_durable_share", RT_NUMBER, 0, 0, SETTINGS_SHARE_MIN, SETTINGS_SHARE_MAX, NULL },
	{ "flag_recall", RT_NUMBER, 0, 0, SETTINGS_SHARE_MIN, SETTINGS_SHARE_MAX, NULL },
	{ "flag_fallen_share", RT_NUMBER, 0, 0, SETTINGS_SHARE_MIN, SETTINGS_SHARE_MAX, NULL },
	{ "flag_horizon_days", RT_INT, 0, 0, SETTINGS_HORIZON_MIN, SETTINGS_HORIZON_MAX, NULL },
	{ "flag_unanswered_share", RT_NUMBER, 0, 0, SETTINGS_SHARE_MIN, SETTINGS_SHARE_MAX, NULL },
	{ "flag_unanswered_days", RT_INT, 0, 0, SETTINGS_HORIZON_MIN, SETTINGS_HORIZON_MAX, NULL },
	{ "mastery_evidence_days", RT_INT, 0, 0, SETTINGS_EVIDENCE_MIN, SETTINGS_EVIDENCE_MAX,
	    NULL },
	{ "min_per_day", RT_INT, 0, 0, SETTINGS_PER_DAY_MIN, SETTINGS_PER_DAY_MAX, NULL },
	{ "digest_weekday", RT_INT, 0, 0, SETTINGS_WEEKDAY_MIN, SETTINGS_WEEKDAY_MAX, NULL },
	/* the families' weekly note (digest.guardian) */
	{ "guardian_digest", RT_BOOL, 0, 0, 0, 0, NULL },
	{ "active", RT_BOOL, RF_READONLY, 0, 0, 0, NULL },
	{ "created_at", RT_TEXT, RF_READONLY, 0, 0, 0, NULL },
	UPDATED_AT, END,
};
static const struct resource school = {
	"school", "school_id", school_fields, R_READ, ROLE_ADMIN, SCOPE_NONE, false,
};

/* Five handlers a resource: list, create, get, update, deactivate. */
#define RESOURCE_HANDLERS(name) \
	static void name##_list(struct api_call *c) { resource_list(c, &name); } \
	static void name##_create(struct api_call *c) { resource_create(c, &name); } \
	static void name##_get(struct api_call *c) { resource_get(c, &name); } \
	static void name##_update(struct api_call *c) { resource_update(c, &name); } \
	static void name##_deactivate(struct api_call *c) { resource_deactivate(c, &name); }

RESOURCE_HANDLERS(pupils)
RESOURCE_HANDLERS(teachers)
RESOURCE_HANDLERS(classes)
RESOURCE_HANDLERS(courses)
RESOURCE_HANDLERS(units)
RESOURCE_HANDLERS(questions)

#define RESOURCE_ROUTES(s, name, res) do { \
	api_route(s, EVHTTP_REQ_GET, "/v1/" #name, (res).read_roles, name##_list); \
	api_route(s, EVHTTP_REQ_POST, "/v1/" #name, (res).write_roles, name##_create); \
	api_route(s, EVHTTP_REQ_GET, "/v1/" #name "/{id}", (res).read_roles, name##_get); \
	api_route(s, EVHTTP_REQ_PATCH, "/v1/" #name "/{id}", (res).write_roles, name##_update); \
	api_route(s, EVHTTP_REQ_DELETE, "/v1/" #name "/{id}", (res).write_roles, name##_deactivate); \
} while (0)

static void
school_get(struct api_call *c)
{
	resource_get_id(c, &school, c->school);
}

static void
school_update(struct api_call *c)
{
	resource_update_id(c, &school, c->school);
}

/* ---- calendar ---- */

/* Calendar, enrollment and taught lists are short: one page, next_cursor null. */

static const struct res_field f_date = { "date", RT_DATE, RF_REQUIRED, 0, 0, 0, NULL };
static const struct res_field f_kind = { "kind", RT_ENUM, 0, 0, 0, 0, calendar_kinds };
static const struct res_field f_name = { "name", RT_TEXT, RF_NULLABLE, 200, 0, 0, NULL };

static void
calendar_list(struct api_call *c)
{
	const char *from = api_query(c, "from"), *to = api_query(c, "to");
	char *vfrom = NULL, *vto = NULL;
	json_t *j;
	const char *p[3];

	if (from != NULL) {
		j = json_string(from);
		if (j == NULL || !resource_value(c, &f_date, j, &vfrom))
			api_field_error(c, "from", "must be a date YYYY-MM-DD");
		json_decref(j);
	}
	if (to != NULL) {
		j = json_string(to);
		if (j == NULL || !resource_value(c, &f_date, j, &vto))
			api_field_error(c, "to", "must be a date YYYY-MM-DD");
		json_decref(j);
	}
	if (api_has_errors(c)) {
		free(vfrom);
		free(vto);
		api_validation_failed(c);
		return;
	}
	p[0] = c->school;
	p[1] = vfrom;
	p[2] = vto;
	api_query_db(c,
	    "SELECT json_build_object('items', coalesce(json_agg(json_build_object("
	    "'date', d.day, 'kind', d.kind, 'name', d.name) ORDER BY d.day), '[]'),"
	    " 'next_cursor', NULL)::text"
	    " FROM school_calendar d WHERE d.school_id = $1"
	    " AND ($2::date IS NULL OR d.day >= $2::date) AND ($3::date IS NULL OR d.day <= $3::date)",
	    3, p, api_reply_row);
	free(vfrom);
	free(vto);
}

static void
calendar_put(struct api_call *c)
{
	char *date = NULL, *kind = NULL, *name = NULL;
	json_t *v;
	const char *p[5];

	if (c->body == NULL) {
		api_problem(c, 400, "malformed-json", "Malformed JSON",
		    "send {\"date\": \"YYYY-MM-DD\", \"kind\": \"holiday\", \"name\": \"...\"}");
		return;
	}
	api_fields_only(c, "a calendar day", (const char *const[]){ "date", "kind", "name", NULL });
	if ((v = json_object_get(c->body, "date")) == NULL)
		api_field_error(c, "date", "is required");
	else
		resource_value(c, &f_date, v, &date);
	if ((v = json_object_get(c->body, "kind")) != NULL)
		resource_value(c, &f_kind, v, &kind);
	if ((v = json_object_get(c->body, "name")) != NULL)
		resource_value(c, &f_name, v, &name);
	if (api_has_errors(c)) {
		free(date);
		free(kind);
		free(name);
		api_validation_failed(c);
		return;
	}
	p[0] = c->school;
	p[1] = date;
	p[2] = kind ? kind : "holiday";
	p[3] = name;
	c->status = 201;
	api_query_db(c,
	    "INSERT INTO school_calendar AS d (school_id, day, kind, name) VALUES ($1, $2::date, $3, $4)"
	    " ON CONFLICT (school_id, day) DO UPDATE SET kind = EXCLUDED.kind, name = EXCLUDED.name"
	    " RETURNING json_build_object('date', d.day, 'kind', d.kind, 'name', d.name)::text",
	    4, p, api_reply_row);
	free(date);
	free(kind);
	free(name);
}

static void
calendar_delete(struct api_call *c)
{
	json_t *j = json_string(api_param(c, "date"));
	char *date = NULL;
	const char *p[2];

	if (j == NULL || !resource_value(c, &f_date, j, &date)) {
		json_decref(j);
		api_problem(c, 404, "not-found", "Not found", "no such day in the calendar");
		return;
	}
	json_decref(j);
	p[0] = c->school;
	p[1] = date;
	api_query_db(c,
	    "DELETE FROM school_calendar d WHERE d.school_id = $1 AND d.day = $2::date"
	    " RETURNING json_build_object('date', d.day, 'kind', d.kind, 'name', d.name)::text",
	    2, p, api_reply_row);
	free(date);
}

/* ---- enrollments ---- */

static void
enrollments_list(struct api_call *c)
{
	int64_t id;
	const char *p[3];

	if (!api_param_id(c, "id", &id))
		return;
	p[0] = c->school;
	p[1] = api_param(c, "id");
	p[2] = scope_teacher(c);
	api_query_db(c,
	    "SELECT json_build_object('items', coalesce((SELECT json_agg(x ORDER BY x.role, x.id) FROM ("
	    "  SELECT 'pupil' AS role, cp.pupil_id AS id, pu.external_id, cp.active"
	    "  FROM class_pupil cp JOIN pupil pu ON pu.school_id = cp.school_id AND pu.pupil_id = cp.pupil_id"
	    "  WHERE cp.school_id = k.school_id AND cp.class_id = k.class_id"
	    "  UNION ALL"
	    "  SELECT 'teacher', ct.teacher_id, te.external_id, ct.active"
	    "  FROM class_teacher ct JOIN teacher te ON te.school_id = ct.school_id AND te.teacher_id = ct.teacher_id"
	    "  WHERE ct.school_id = k.school_id AND ct.class_id = k.class_id) x), '[]'),"
	    " 'next_cursor', NULL)::text"
	    " FROM class k WHERE k.school_id = $1 AND k.class_id = $2::bigint" SCOPE_CLASS("k"),
	    3, p, api_reply_row);
}

static void
enrollment_add(struct api_call *c)
{
	static const struct res_field f_role = { "role", RT_ENUM, RF_REQUIRED, 0, 0, 0, enrol_roles };
	static const struct res_field f_pupil = { "pupil_id", RT_REF, 0, 0, 0, 0, NULL };
	static const struct res_field f_teacher = { "teacher_id", RT_REF, 0, 0, 0, 0, NULL };
	char *role = NULL, *person = NULL;
	json_t *v;
	const char *p[4];
	int64_t id;
	bool pupil;

	if (!api_param_id(c, "id", &id))
		return;
	if (c->body == NULL) {
		api_problem(c, 400, "malformed-json", "Malformed JSON",
		    "send {\"role\": \"pupil\", \"pupil_id\": N} or {\"role\": \"teacher\", \"teacher_id\": N}");
		return;
	}
	api_fields_only(c, "an enrollment",
	    (const char *const[]){ "role", "pupil_id", "teacher_id", NULL });
	if ((v = json_object_get(c->body, "role")) == NULL)
		api_field_error(c, "role", "is required");
	else
		resource_value(c, &f_role, v, &role);
	pupil = role != NULL && strcmp(role, "pupil") == 0;
	if (role != NULL) {
		const struct res_field *f = pupil ? &f_pupil : &f_teacher;
		if ((v = json_object_get(c->body, f->name)) == NULL)
			api_field_error(c, f->name, "is required for role %s", role);
		else
			resource_value(c, f, v, &person);
	}
	if (api_has_errors(c)) {
		free(role);
		free(person);
		api_validation_failed(c);
		return;
	}
	p[0] = c->school;
	p[1] = api_param(c, "id");
	p[2] = person;
	p[3] = c->now;
	c->status = 201;
	/* INSERT ... SELECT: a class of another school is 404, not a bad reference. */
	api_query_db(c, pupil ?
	    "INSERT INTO class_pupil AS e (school_id, class_id, pupil_id, active, updated_at)"
	    " SELECT k.school_id, k.class_id, $3::bigint, true, $4::timestamptz FROM class k"
	    " WHERE k.school_id = $1 AND k.class_id = $2::bigint"
	    " ON CONFLICT (school_id, class_id, pupil_id) DO UPDATE SET active = true, updated_at = EXCLUDED.updated_at"
	    " RETURNING json_build_object('role', 'pupil', 'id', e.pupil_id, 'class_id', e.class_id, 'active', e.active)::text" :
	    "INSERT INTO class_teacher AS e (school_id, class_id, teacher_id, active, updated_at)"
	    " SELECT k.school_id, k.class_id, $3::bigint, true, $4::timestamptz FROM class k"
	    " WHERE k.school_id = $1 AND k.class_id = $2::bigint"
	    " ON CONFLICT (school_id, class_id, teacher_id) DO UPDATE SET active = true, updated_at = EXCLUDED.updated_at"
	    " RETURNING json_build_object('role', 'teacher', 'id', e.teacher_id, 'class_id', e.class_id, 'active', e.active)::text",
	    4, p, api_reply_row);
	free(role);
	free(person);
}

static void
enrollment_remove(struct api_call *c, bool pupil)
{
	int64_t id, person;
	const char *p[4];

	if (!api_param_id(c, "id", &id) || !api_param_id(c, "person_id", &person))
		return;
	p[0] = c->school;
	p[1] = api_param(c, "id");
	p[2] = api_param(c, "person_id");
	p[3] = c->now;
	api_query_db(c, pupil ?
	    "UPDATE class_pupil e SET active = false, updated_at = $4::timestamptz"
	    " WHERE e.school_id = $1 AND e.class_id = $2::bigint AND e.pupil_id = $3::bigint"
	    " RETURNING json_build_object('role', 'pupil', 'id', e.pupil_id, 'class_id', e.class_id, 'active', e.active)::text" :
	    "UPDATE class_teacher e SET active = false, updated_at = $4::timestamptz"
	    " WHERE e.school_id = $1 AND e.class_id = $2::bigint AND e.teacher_id = $3::bigint"
	    " RETURNING json_build_object('role', 'teacher', 'id', e.teacher_id, 'class_id', e.class_id, 'active', e.active)::text",
	    4, p, api_reply_row);
}

static void
enrollment_remove_pupil(struct api_call *c)
{
	enrollment_remove(c, true);
}

static void
enrollment_remove_teacher(struct api_call *c)
{
	enrollment_remove(c, false);
}

/* ---- taught ---- */

static void
taught_reply(struct api_call *c, const struct db_reply *r)
{
	if (r->status == DB_OK && PQntuples(r->results[0]) == 0) {
		api_problem(c, 404, "not-found", "Not found", c->status == 200 ?
		    "this class has not been taught that unit: mark it taught first" :
		    "no such class or unit in this school");
		return;
	}
	api_reply_row(c, r);
}

/*
 * POST .../taught and .../retaught {"date": "YYYY-MM-DD"}: a class finished
 * a unit, or taught a flagged one again (the unit must be taught already).
 * No date: today in the school's own time zone.
 */
static void
taught_write(struct api_call *c, bool again)
{
	int64_t cid, uid;
	char *date = NULL;
	const char *sql;
	json_t *v;
	const char *p[6];

	if (!api_param_id(c, "id", &cid) || !api_param_id(c, "unit_id", &uid))
		return;
	if (c->body != NULL) {
		api_fields_only(c, "this action (only date)", (const char *const[]){ "date", NULL });
		if ((v = json_object_get(c->body, "date")) != NULL)
			resource_value(c, &f_date, v, &date);
	}
	if (api_has_errors(c)) {
		free(date);
		api_validation_failed(c);
		return;
	}
	p[0] = c->school;
	p[1] = api_param(c, "id");
	p[2] = scope_teacher(c);
	p[3] = api_param(c, "unit_id");
	p[4] = date;
	p[5] = c->now;
	if (again)
		sql =
		    "UPDATE taught d SET retaught_on = coalesce($5::date,"
		    " ($6::timestamptz AT TIME ZONE s.tz)::date), updated_at = $6::timestamptz"
		    " FROM class k JOIN school s ON s.school_id = k.school_id"
		    " WHERE k.school_id = $1 AND k.class_id = $2::bigint" SCOPE_CLASS("k")
		    " AND d.school_id = k.school_id AND d.class_id = k.class_id AND d.unit_id = $4::bigint"
		    " RETURNING json_build_object('class_id', d.class_id, 'unit_id', d.unit_id,"
		    " 'taught_on', d.taught_on, 'retaught_on', d.retaught_on)::text";
	else
		sql =
		    "INSERT INTO taught AS d (school_id, class_id, unit_id, taught_on, updated_at)"
		    " SELECT k.school_id, k.class_id, $4::bigint,"
		    " coalesce($5::date, ($6::timestamptz AT TIME ZONE s.tz)::date), $6::timestamptz"
		    " FROM class k JOIN school s ON s.school_id = k.school_id"
		    " WHERE k.school_id = $1 AND k.class_id = $2::bigint" SCOPE_CLASS("k")
		    " AND EXISTS (SELECT 1 FROM unit u WHERE u.school_id = k.school_id AND u.unit_id = $4::bigint)"
		    " ON CONFLICT (school_id, class_id, unit_id) DO UPDATE SET taught_on = EXCLUDED.taught_on,"
		    " updated_at = EXCLUDED.updated_at"
		    " RETURNING json_build_object('class_id', d.class_id, 'unit_id', d.unit_id,"
		    " 'taught_on', d.taught_on, 'retaught_on', d.retaught_on)::text";
	c->status = again ? 200 : 201;
	api_query_db(c, sql, 6, p, taught_reply);
	free(date);
}

static void
taught_mark(struct api_call *c)
{
	taught_write(c, false);
}

static void
retaught_mark(struct api_call *c)
{
	taught_write(c, true);
}

static void
taught_undo(struct api_call *c)
{
	int64_t cid, uid;
	const char *p[4];

	if (!api_param_id(c, "id", &cid) || !api_param_id(c, "unit_id", &uid))
		return;
	p[0] = c->school;
	p[1] = api_param(c, "id");
	p[2] = scope_teacher(c);
	p[3] = api_param(c, "unit_id");
	api_query_db(c,
	    "DELETE FROM taught d USING class k"
	    " WHERE k.school_id = $1 AND k.class_id = $2::bigint" SCOPE_CLASS("k")
	    " AND d.school_id = k.school_id AND d.class_id = k.class_id AND d.unit_id = $4::bigint"
	    " RETURNING json_build_object('class_id', d.class_id, 'unit_id', d.unit_id,"
	    " 'taught_on', d.taught_on)::text",
	    4, p, api_reply_row);
}

static void
taught_list(struct api_call *c)
{
	int64_t cid;
	const char *p[3];

	if (!api_param_id(c, "id", &cid))
		return;
	p[0] = c->school;
	p[1] = api_param(c, "id");
	p[2] = scope_teacher(c);
	api_query_db(c,
	    "SELECT json_build_object('items', coalesce((SELECT json_agg(json_build_object("
	    "'unit_id', d.unit_id, 'taught_on', d.taught_on, 'retaught_on', d.retaught_on)"
	    " ORDER BY d.taught_on, d.unit_id)"
	    " FROM taught d WHERE d.school_id = k.school_id AND d.class_id = k.class_id), '[]'),"
	    " 'next_cursor', NULL)::text"
	    " FROM class k WHERE k.school_id = $1 AND k.class_id = $2::bigint" SCOPE_CLASS("k"),
	    3, p, api_reply_row);
}

void
api_routes(http_server *s)
{
	RESOURCE_ROUTES(s, pupils, pupils);
	RESOURCE_ROUTES(s, teachers, teachers);
	RESOURCE_ROUTES(s, classes, classes);
	RESOURCE_ROUTES(s, courses, courses);
	RESOURCE_ROUTES(s, units, units);
	RESOURCE_ROUTES(s, questions, questions);
	api_route(s, EVHTTP_REQ_GET, "/v1/school", R_READ, school_get);
	api_route(s, EVHTTP_REQ_PATCH, "/v1/school", ROLE_ADMIN, school_update);
	api_route(s, EVHTTP_REQ_GET, "/v1/calendar", R_READ, calendar_list);
	api_route(s, EVHTTP_REQ_POST, "/v1/calendar", ROLE_ADMIN, calendar_put);
	api_route(s, EVHTTP_REQ_DELETE, "/v1/calendar/{date}", ROLE_ADMIN, calendar_delete);
	api_route(s, EVHTTP_REQ_GET, "/v1/classes/{id}/enrollments", R_READ, enrollments_list);
	api_route(s, EVHTTP_REQ_POST, "/v1/classes/{id}/enrollments", R_WRITE, enrollment_add);
	api_route(s, EVHTTP_REQ_DELETE, "/v1/classes/{id}/enrollments/pupils/{person_id}",
	    R_WRITE, enrollment_remove_pupil);
	api_route(s, EVHTTP_REQ_DELETE, "/v1/classes/{id}/enrollments/teachers/{person_id}",
	    R_WRITE, enrollment_remove_teacher);
	api_route(s, EVHTTP_REQ_GET, "/v1/classes/{id}/taught", R_READ, taught_list);
	api_route(s, EVHTTP_REQ_POST, "/v1/classes/{id}/units/{unit_id}/taught",
	    ROLE_ADMIN | ROLE_TEACHER, taught_mark);
	api_route(s, EVHTTP_REQ_POST, "/v1/classes/{id}/units/{unit_id}/retaught",
	    ROLE_ADMIN | ROLE_TEACHER, retaught_mark);
	api_route(s, EVHTTP_REQ_DELETE, "/v1/classes/{id}/units/{unit_id}/taught",
	    ROLE_ADMIN | ROLE_TEACHER, taught_undo);
	admin_routes(s);
	imports_routes(s);
	responses_routes(s);
	teachers_routes(s);
	progress_routes(s);
	privacy_routes(s);
	fsrs_routes(s);
	levels_routes(s);
	session_routes(s);
	lti_platforms_routes(s);
}
