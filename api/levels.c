/*
 * levels.c: what each level means for one unit. GET /v1/units/{id}/levels
 * gives, per level, the school-wide descriptor recalld derives from the
 * school's thresholds (mastery_level_describe) and the unit's own, in its
 * teacher's words; PUT sets or removes the unit's own (plain text, up to
 * 300 characters; a teacher of a class of the unit's course, or an admin).
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "levels.h"
#include "mastery.h"
#include "pgrow.h"
#include "scope.h"
#include "settings.h"
#include "util.h"

#define DESCRIPTOR_MAX 300

/* $1 school, $2 unit, $3 now, $4 teacher (NULL: any). */
static const char unit_sql[] =
    "SELECT u.unit_id, " SETTINGS_COLUMNS("$3") ","
    " ($4::bigint IS NULL OR EXISTS (SELECT 1 FROM class k JOIN class_teacher ct"
    "   ON ct.school_id = k.school_id AND ct.class_id = k.class_id AND ct.active"
    "   WHERE k.school_id = u.school_id AND k.course_id = u.course_id"
    "   AND ct.teacher_id = $4::bigint))"
    " FROM unit u JOIN school s ON s.school_id = u.school_id"
    " WHERE u.school_id = $1 AND u.unit_id = $2::bigint";

static const char own_sql[] =
    "SELECT level, descriptor FROM unit_level WHERE school_id = $1 AND unit_id = $2::bigint";

void
levels_json_add(json_t *levels, const mastery_thresholds *t, const PGresult *own)
{
	for (int l = 0; l < MASTERY_NLEVELS; l++) {
		const char *name = mastery_level_name((mastery_level)l);
		json_t *unit = json_null();
		char school[400];

		mastery_level_describe((mastery_level)l, t, school, sizeof school);
		for (int i = 0; own != NULL && i < PQntuples(own); i++)
			if (strcmp(PQgetvalue(own, i, 0), name) == 0)
				unit = json_string(PQgetvalue(own, i, 1));
		json_object_set_new(levels, name, json_pack("{s:s, s:o}", "school", school,
		    "unit", unit));
	}
}

static void
levels_read(struct api_call *c, const struct db_reply *r)
{
	const PGresult *ur, *own;
	struct settings set;
	struct settings_error e;
	json_t *levels;

	if (r->status != DB_OK) {
		api_db_failed(c, r);
		return;
	}
	ur = r->results[r->nresults - 2];
	own = r->results[r->nresults - 1];
	if (PQntuples(ur) == 0) {
		api_problem(c, 404, "not-found", "Not found", "no such unit in this school");
		return;
	}
	if (!pgrow_bool(ur, 0, 1 + SETTINGS_NCOLUMNS)) {
		api_problem(c, 403, "forbidden", "Forbidden",
		    "only a teacher of this unit's course, or an admin, may change it");
		return;
	}
	if (!settings_parse(ur, 0, 1, &set, &e)) {
		api_settings_refused(c, "levels", &e);
		return;
	}
	levels = json_object();
	levels_json_add(levels, &set.mastery, own);
	api_reply(c, 200, json_pack("{s:I, s:o}", "unit_id",
	    (json_int_t)strtoll(api_param(c, "id"), NULL, 10), "levels", levels));
}

static void
add_read(struct api_call *c, db_req *req, const char *const *p)
{
	db_req_add(req, unit_sql, 4, p);
	db_req_add(req, own_sql, 2, p);
}

static void
levels_get(struct api_call *c)
{
	int64_t id;
	const char *p[4];
	db_req *req;

	if (!api_param_id(c, "id", &id))
		return;
	p[0] = c->school;
	p[1] = api_param(c, "id");
	p[2] = c->now;
	p[3] = NULL;	/* reading: every role of the school */
	req = api_req_new(c);
	add_read(c, req, p);
	api_submit(c, req, levels_read);
}

/* Plain text a pupil's page shows: no markup, no control characters. */
static bool
plain_text(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s == '<' || *s == '>' || ((unsigned char)*s < 0x20 && *s != '\n'))
			return false;
	return true;
}

struct put_state {
	char *p[4];	/* school, unit, now, teacher */
	json_t *body;
};

static void
put_checked(struct api_call *c, const struct db_reply *r)
{
	struct put_state *ps = c->state;
	const char *key;
	json_t *v;
	db_req *req;

	if (r->status != DB_OK) {
		api_db_failed(c, r);
		return;
	}
	if (PQntuples(r->results[0]) == 0) {
		api_problem(c, 404, "not-found", "Not found", "no such unit in this school");
		return;
	}
	if (!pgrow_bool(r->results[0], 0, 1 + SETTINGS_NCOLUMNS)) {
		api_problem(c, 403, "forbidden", "Forbidden",
		    "only a teacher of this unit's course, or an admin, may describe its levels");
		return;
	}
	req = api_req_new(c);
	json_object_foreach(c->body, key, v) {
		const char *p[5] = { ps->p[0], ps->p[1], key, json_string_value(v), ps->p[2] };

		if (json_is_null(v))
			db_req_add(req, "DELETE FROM unit_level WHERE school_id = $1"
			    " AND unit_id = $2::bigint AND level = $3", 3, p);
		else
			db_req_add(req, "INSERT INTO unit_level (school_id, unit_id, level, descriptor,"
			    " updated_at) VALUES ($1, $2, $3, $4, $5::timestamptz)"
			    " ON CONFLICT (school_id, unit_id, level) DO UPDATE SET"
			    " descriptor = EXCLUDED.descriptor, updated_at = EXCLUDED.updated_at", 5, p);
	}
	add_read(c, req, (const char *const *)ps->p);
	api_submit(c, req, levels_read);
}

/*
 * {"emerging": "...", "secure": null, ...}: each level given is set (text)
 * or removed (null); levels not given stay as they are.
 */
static void
levels_put(struct api_call *c)
{
	static const char *const known[] = { "emerging", "developing", "secure", "mastery", NULL };
	struct put_state *ps;
	const char *key;
	json_t *v;
	int64_t id;

	if (!api_param_id(c, "id", &id))
		return;
	if (c->body == NULL || !json_is_object(c->body) || json_object_size(c->body) == 0)
		api_field_error(c, "emerging", "give at least one level: emerging, developing,"
		    " secure or mastery, each a text or null");
	else {
		api_fields_only(c, "a unit's level descriptors", known);
		json_object_foreach(c->body, key, v) {
			size_t n;

			if (json_is_null(v))
				continue;
			if (!json_is_string(v)) {
				api_field_error(c, key, "must be a text (plain, up to %d characters)"
				    " or null to remove it", DESCRIPTOR_MAX);
				continue;
			}
			n = util_utf8_chars(json_string_value(v));
			if (n == 0 || n > DESCRIPTOR_MAX)
				api_field_error(c, key, "must be 1 to %d characters, not %zu",
				    DESCRIPTOR_MAX, n);
			else if (!plain_text(json_string_value(v)))
				api_field_error(c, key, "must be plain text: no < or >, no control"
				    " characters");
		}
	}
	if (api_has_errors(c)) {
		api_validation_failed(c);
		return;
	}
	ps = xcalloc(1, sizeof *ps);
	c->state = ps;
	ps->p[0] = c->school;
	ps->p[1] = (char *)api_param(c, "id");
	ps->p[2] = c->now;
	ps->p[3] = (char *)scope_teacher(c);
	api_query_db(c, unit_sql, 4, (const char *const *)ps->p, put_checked);
}

void
levels_routes(http_server *s)
{
	api_route(s, EVHTTP_REQ_GET, "/v1/units/{id}/levels", ROLES_ALL, levels_get);
	api_route(s, EVHTTP_REQ_PUT, "/v1/units/{id}/levels", ROLE_ADMIN | ROLE_TEACHER,
	    levels_put);
}
