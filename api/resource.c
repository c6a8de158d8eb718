/* resource.c: generic CRUD over one school-scoped table (see resource.h). */
#include "autoconf.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "resource.h"
#include "sbuf.h"
#include "util.h"

#define MAX_PARAMS 48

/* Parameters of one statement under construction; strings are owned. */
struct params {
	char *v[MAX_PARAMS];
	int n;
};

static int
param_add(struct params *p, const char *s)
{
	p->v[p->n] = s ? xstrdup(s) : NULL;
	return ++p->n;	/* its $number */
}

static int
param_take(struct params *p, char *s)
{
	p->v[p->n] = s;
	return ++p->n;
}

static void
params_free(struct params *p)
{
	for (int i = 0; i < p->n; i++)
		free(p->v[i]);
	p->n = 0;
}

/* Append to a statement under construction. */
static void
sql_add(struct sbuf *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
sql_add(struct sbuf *q, const char *fmt, ...)
{
	va_list ap;
	char *more;

	va_start(ap, fmt);
	more = xvasprintf(fmt, ap);
	va_end(ap);
	sbuf_str(q, more);
	free(more);
}

const char *
resource_cast(const struct res_field *f)
{
	switch (f->type) {
	case RT_INT: return "::integer";
	case RT_NUMBER: return "::double precision";
	case RT_BOOL: return "::boolean";
	case RT_DATE: return "::date";
	case RT_TIME: return "::time";
	case RT_REF: return "::bigint";
	case RT_STRINGS: return "::jsonb";
	case RT_WEEKDAYS: return "::smallint[]";
	default: return "";
	}
}

/* The JSON of a row of alias t: the id as "id", never school_id. */
static char *
row_json(const struct resource *r)
{
	return xasprintf("(jsonb_build_object('id', t.%s) || (to_jsonb(t) - 'school_id' - '%s'))::text",
	    r->id_col, r->id_col);
}

static bool
valid_date(const char *s)
{
	int y, m, d;
	char extra;

	if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &extra) != 3)
		return false;
	if (s[4] != '-' || s[7] != '-' || y < 1900 || y > 2200 || m < 1 || m > 12 || d < 1)
		return false;
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (d > mdays[m - 1])
		return false;
	if (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return false;
	return true;
}

static bool
valid_time(const char *s)
{
	int h, m, sec = 0;
	size_t n = strlen(s);

	if (n != 5 && n != 8)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((i == 2 || i == 5) ? s[i] != ':' : !isdigit((unsigned char)s[i]))
			return false;
	h = atoi(s);
	m = atoi(s + 3);
	if (n == 8)
		sec = atoi(s + 6);
	return h < 24 && m < 60 && sec < 60;
}

bool
resource_value(struct api_call *c, const struct res_field *f, json_t *v, char **out)
{
	*out = NULL;
	if (json_is_null(v)) {
		if (f->flags & RF_NULLABLE)
			return true;
		api_field_error(c, f->name, "may not be null");
		return false;
	}
	switch (f->type) {
	case RT_TEXT:
	case RT_TZ: {
		const char *s;
		if (!json_is_string(v)) {
			api_field_error(c, f->name, "must be a string");
			return false;
		}
		s = json_string_value(v);
		if (strlen(s) != json_string_length(v)) {
			api_field_error(c, f->name, "may not contain NUL characters");
			return false;
		}
		if ((f->flags & RF_REQUIRED) && *s == '\0') {
			api_field_error(c, f->name, "may not be empty");
			return false;
		}
		if (f->maxlen > 0 && util_utf8_chars(s) > (size_t)f->maxlen) {
			api_field_error(c, f->name, "is too long (at most %d characters)", f->maxlen);
			return false;
		}
		*out = xstrdup(s);
		return true;
	}
	case RT_INT:
	case RT_REF: {
		json_int_t n;
		if (!json_is_integer(v)) {
			api_field_error(c, f->name, "must be an integer");
			return false;
		}
		n = json_integer_value(v);
		if (f->type == RT_REF ? n < 1 : (n < f->min || n > f->max)) {
			if (f->type == RT_REF)
				api_field_error(c, f->name, "must be a positive id");
			else
				api_field_error(c, f->name, "must be between %g and %g", f->min, f->max);
			return false;
		}
		*out = xasprintf("%" JSON_INTEGER_FORMAT, n);
		return true;
	}
	case RT_NUMBER: {
		double d;
		if (!json_is_number(v)) {
			api_field_error(c, f->name, "must be a number");
			return false;
		}
		d = json_number_value(v);
		if (!isfinite(d) || d < f->min || d > f->max) {
			api_field_error(c, f->name, "must be between %g and %g", f->min, f->max);
			return false;
		}
		*out = xasprintf("%.17g", d);
		return true;
	}
	case RT_BOOL:
		if (!json_is_boolean(v)) {
			api_field_error(c, f->name, "must be true or false");
			return false;
		}
		*out = xstrdup(json_is_true(v) ? "true" : "false");
		return true;
	case RT_DATE:
		if (!json_is_string(v) || !valid_date(json_string_value(v))) {
			api_field_error(c, f->name, "must be a date YYYY-MM-DD");
			return false;
		}
		*out = xstrdup(json_string_value(v));
		return true;
	case RT_TIME:
		if (!json_is_string(v) || !valid_time(json_string_value(v))) {
			api_field_error(c, f->name, "must be a time of day HH:MM");
			return false;
		}
		*out = xstrdup(json_string_value(v));
		return true;
	case RT_ENUM:
		if (json_is_string(v)) {
			for (const char *const *e = f->enums; *e != NULL; e++) {
				if (strcmp(*e, json_string_value(v)) == 0) {
					*out = xstrdup(*e);
					return true;
				}
			}
		}
		{
			char list[256] = "";
			size_t off = 0;
			for (const char *const *e = f->enums; *e != NULL && off < sizeof list; e++)
				off += (size_t)snprintf(list + off, sizeof list - off, "%s%s",
				    off ? ", " : "", *e);
			api_field_error(c, f->name, "must be one of: %s", list);
		}
		return false;
	case RT_STRINGS: {
		size_t i;
		json_t *e;
		if (!json_is_array(v) || json_array_size(v) > 50) {
			api_field_error(c, f->name, "must be an array of at most 50 strings");
			return false;
		}
		json_array_foreach(v, i, e) {
			if (!json_is_string(e) || json_string_length(e) == 0 ||
			    util_utf8_chars(json_string_value(e)) > 500 ||
			    strlen(json_string_value(e)) != json_string_length(e)) {
				api_field_error(c, f->name,
				    "item %zu must be a non-empty string of at most 500 characters", i);
				return false;
			}
		}
		*out = json_dumps(v, JSON_COMPACT);
		return true;
	}
	case RT_WEEKDAYS: {
		size_t i;
		json_t *e;
		char buf[64] = "{";
		size_t off = 1;
		if (!json_is_array(v) || json_array_size(v) > 7) {
			api_field_error(c, f->name, "must be an array of ISO weekdays 1..7");
			return false;
		}
		json_array_foreach(v, i, e) {
			if (!json_is_integer(e) || json_integer_value(e) < 1 || json_integer_value(e) > 7) {
				api_field_error(c, f->name, "must be an array of ISO weekdays 1..7 (1 Monday)");
				return false;
			}
			off += (size_t)snprintf(buf + off, sizeof buf - off, "%s%d", i ? "," : "",
			    (int)json_integer_value(e));
		}
		snprintf(buf + off, sizeof buf - off, "}");
		*out = xstrdup(buf);
		return true;
	}
	}
	return false;
}

/* A ?filter=value of a list, as a parameter's text. */
static bool
filter_value(struct api_call *c, const struct res_field *f, const char *s, char **out)
{
	json_t *v;
	bool ok;

	switch (f->type) {
	case RT_INT:
	case RT_REF: {
		char *end;
		long long n = strtoll(s, &end, 10);
		if (*s == '\0' || *end != '\0') {
			api_field_error(c, f->name, "filter must be an integer");
			return false;
		}
		v = json_integer(n);
		break;
	}
	case RT_BOOL:
		if (strcmp(s, "true") != 0 && strcmp(s, "false") != 0) {
			api_field_error(c, f->name, "filter must be true or false");
			return false;
		}
		v = json_boolean(strcmp(s, "true") == 0);
		break;
	default:
		v = json_string(s);
		break;
	}
	if (v == NULL) {
		api_field_error(c, f->name, "filter is not valid UTF-8");
		return false;
	}
	ok = resource_value(c, f, v, out);
	json_decref(v);
	return ok;
}

/* A teacher's filter on the rows of r, its parameter added to p (malloc'd). */
static char *
teacher_filter(struct api_call *c, const struct resource *r, struct params *p)
{
	if (r->teacher_scope == SCOPE_NONE)
		return xstrdup("");
	return scope_sql(r->teacher_scope, param_add(p, scope_teacher(c)));
}

static void
submit(struct api_call *c, struct sbuf *q, struct params *p,
    void (*cb)(struct api_call *c, const struct db_reply *r))
{
	api_query_db(c, sbuf_text(q), p->n, (const char *const *)p->v, cb);
	sbuf_free(q);
	params_free(p);
}

/* ---- list ---- */

void
resource_list(struct api_call *c, const struct resource *r)
{
	struct params p = { 0 };
	struct sbuf q = { 0 };
	char *json = row_json(r), *scope, *cursor;

	api_page_params(c, &cursor);
	param_add(&p, c->school);
	sql_add(&q, "SELECT %s, t.%s FROM %s t WHERE t.school_id = $1", json, r->id_col,
	    r->table);
	free(json);
	if (cursor != NULL)
		sql_add(&q, " AND t.%s > $%d::bigint", r->id_col, param_take(&p, cursor));
	for (const struct res_field *f = r->fields; f->name != NULL; f++) {
		const char *v;
		char *text;
		if (!(f->flags & RF_FILTER) || (v = api_query(c, f->name)) == NULL)
			continue;
		if (filter_value(c, f, v, &text))
			sql_add(&q, " AND t.%s = $%d%s", f->name, param_take(&p, text),
			    resource_cast(f));
	}
	if (api_has_errors(c)) {
		sbuf_free(&q);
		params_free(&p);
		api_validation_failed(c);
		return;
	}
	scope = teacher_filter(c, r, &p);
	sql_add(&q, "%s ORDER BY t.%s LIMIT %d", scope, r->id_col, c->page_limit + 1);
	free(scope);
	submit(c, &q, &p, api_reply_page);
}

/* ---- get, create, update, deactivate: one row back ---- */

void
resource_get(struct api_call *c, const struct resource *r)
{
	int64_t id;

	if (api_param_id(c, "id", &id))
		resource_get_id(c, r, api_param(c, "id"));
}

void
resource_get_id(struct api_call *c, const struct resource *r, const char *id)
{
	struct params p = { 0 };
	struct sbuf q = { 0 };
	char *json, *scope;

	json = row_json(r);
	param_add(&p, c->school);
	param_add(&p, id);
	sql_add(&q, "SELECT %s FROM %s t WHERE t.school_id = $1 AND t.%s = $2::bigint", json,
	    r->table, r->id_col);
	free(json);
	scope = teacher_filter(c, r, &p);
	sql_add(&q, "%s", scope);
	free(scope);
	submit(c, &q, &p, api_reply_row);
}

/* Check every body key is a writable field of r. */
static void
check_unknown(struct api_call *c, const struct resource *r)
{
	const char *key;
	json_t *v;

	json_object_foreach(c->body, key, v) {
		const struct res_field *f;
		for (f = r->fields; f->name != NULL; f++)
			if (strcmp(f->name, key) == 0)
				break;
		if (f->name == NULL)
			api_field_error(c, key, "is not a field of this object");
		else if (f->flags & RF_READONLY)
			api_field_error(c, key, "cannot be set");
	}
}

void
resource_create(struct api_call *c, const struct resource *r)
{
	struct params p = { 0 };
	struct sbuf cols = { 0 }, vals = { 0 }, q = { 0 };
	char *json;

	if (c->body == NULL) {
		api_problem(c, 400, "malformed-json", "Malformed JSON",
		    "send the object as a JSON body");
		return;
	}
	check_unknown(c, r);
	param_add(&p, c->school);
	for (const struct res_field *f = r->fields; f->name != NULL; f++) {
		json_t *v = json_object_get(c->body, f->name);
		char *text;

		if (f->flags & RF_READONLY)
			continue;
		if (v == NULL) {
			if (f->flags & RF_REQUIRED)
				api_field_error(c, f->name, "is required");
			continue;
		}
		if (!resource_value(c, f, v, &text))
			continue;
		sql_add(&cols, ", %s", f->name);
		sql_add(&vals, ", $%d%s", param_take(&p, text), resource_cast(f));
	}
	if (api_has_errors(c)) {
		sbuf_free(&cols);
		sbuf_free(&vals);
		params_free(&p);
		api_validation_failed(c);
		return;
	}
	json = row_json(r);
	sql_add(&q, "INSERT INTO %s AS t (school_id%s, updated_at) VALUES ($1%s, $%d::timestamptz)"
	    " RETURNING %s", r->table, sbuf_text(&cols), sbuf_text(&vals),
	    param_add(&p, c->now), json);
	free(json);
	sbuf_free(&cols);
	sbuf_free(&vals);
	c->status = 201;
	submit(c, &q, &p, api_reply_row);
}

void
resource_update(struct api_call *c, const struct resource *r)
{
	int64_t id;

	if (api_param_id(c, "id", &id))
		resource_update_id(c, r, api_param(c, "id"));
}

void
resource_update_id(struct api_call *c, const struct resource *r, const char *id)
{
	struct params p = { 0 };
	struct sbuf set = { 0 }, changed = { 0 }, q = { 0 };
	char *json;

	if (c->body == NULL) {
		api_problem(c, 400, "malformed-json", "Malformed JSON",
		    "send the fields to change as a JSON body");
		return;
	}
	check_unknown(c, r);
	param_add(&p, c->school);
	param_add(&p, id);
	for (const struct res_field *f = r->fields; f->name != NULL; f++) {
		json_t *v = json_object_get(c->body, f->name);
		char *text;
		int n;

		if (v == NULL || (f->flags & RF_READONLY))
			continue;
		if (!resource_value(c, f, v, &text))
			continue;
		n = param_take(&p, text);
		sql_add(&set, "%s = $%d%s, ", f->name, n, resource_cast(f));
		if (r->versioned && (f->flags & RF_CONTENT))
			sql_add(&changed, "%sq.%s IS DISTINCT FROM $%d%s",
			    *sbuf_text(&changed) != '\0' ? " OR " : "", f->name, n, resource_cast(f));
	}
	if (api_has_errors(c)) {
		sbuf_free(&set);
		sbuf_free(&changed);
		params_free(&p);
		api_validation_failed(c);
		return;
	}
	json = row_json(r);
	if (*sbuf_text(&changed) != '\0') {
		/* Content changes keep the old version; states stay with the question. */
		sql_add(&q, "WITH hist AS (INSERT INTO question_version (school_id, question_id,"
		    " version, kind, prompt, choices, correct_choice, accepted_answers, explanation,"
		    " replaced_at) SELECT q.school_id, q.question_id, q.version, q.kind, q.prompt,"
		    " q.choices, q.correct_choice, q.accepted_answers, q.explanation, $%d::timestamptz"
		    " FROM question q WHERE q.school_id = $1 AND q.question_id = $2::bigint AND (%s)"
		    " RETURNING 1) ", param_add(&p, c->now), sbuf_text(&changed));
		sql_add(&q, "UPDATE %s AS t SET %sversion = t.version + (SELECT count(*) FROM hist)::int,"
		    " updated_at = $%d::timestamptz WHERE t.school_id = $1 AND t.%s = $2::bigint"
		    " RETURNING %s", r->table, sbuf_text(&set), p.n, r->id_col, json);
	} else {
		sql_add(&q, "UPDATE %s AS t SET %supdated_at = $%d::timestamptz"
		    " WHERE t.school_id = $1 AND t.%s = $2::bigint RETURNING %s", r->table,
		    sbuf_text(&set), param_add(&p, c->now), r->id_col, json);
	}
	free(json);
	sbuf_free(&set);
	sbuf_free(&changed);
	submit(c, &q, &p, api_reply_row);
}

void
resource_deactivate(struct api_call *c, const struct resource *r)
{
	struct params p = { 0 };
	struct sbuf q = { 0 };
	char *json;
	int64_t id;

	if (!api_param_id(c, "id", &id))
		return;
	json = row_json(r);
	param_add(&p, c->school);
	param_add(&p, api_param(c, "id"));
	sql_add(&q, "UPDATE %s AS t SET active = false, updated_at = $3::timestamptz"
	    " WHERE t.school_id = $1 AND t.%s = $2::bigint RETURNING %s", r->table, r->id_col,
	    json);
	param_add(&p, c->now);
	free(json);
	submit(c, &q, &p, api_reply_row);
}
