/*
 * resource.h: generic list/get/create/update/deactivate over one table,
 * driven by a descriptor of its fields. PostgreSQL renders the JSON of
 * each row; this module validates input, builds parameterized SQL scoped
 * to the caller's school (and, for teachers, to their classes) and maps
 * the outcome to HTTP.
 */
#ifndef RECALLD_RESOURCE_H
#define RECALLD_RESOURCE_H

#include <stdbool.h>

#include "api.h"
#include "scope.h"

enum res_type {
	RT_TEXT,	/* string, maxlen */
	RT_INT,		/* integer within min..max */
	RT_NUMBER,	/* number within min..max */
	RT_BOOL,
	RT_DATE,	/* "YYYY-MM-DD" */
	RT_TIME,	/* "HH:MM" or "HH:MM:SS" */
	RT_ENUM,	/* one of enums */
	RT_REF,		/* an id of another object of the school */
	RT_STRINGS,	/* array of strings (jsonb) */
	RT_WEEKDAYS,	/* array of ISO weekdays 1..7 (smallint[]) */
	RT_TZ,		/* an IANA time zone name (PostgreSQL checks it) */
};

#define RF_REQUIRED	0x01	/* must be given on create */
#define RF_READONLY	0x02	/* never written through the API */
#define RF_FILTER	0x04	/* ?name=value filters lists */
#define RF_NULLABLE	0x08	/* null clears it */
#define RF_CONTENT	0x10	/* part of a versioned content (questions) */

struct res_field {
	const char *name;	/* JSON name and column name */
	enum res_type type;
	unsigned flags;
	int maxlen;
	double min, max;
	const char *const *enums;	/* NULL-terminated, RT_ENUM */
};

struct resource {
	const char *table;
	const char *id_col;		/* exposed as "id" */
	const struct res_field *fields;
	unsigned read_roles, write_roles;
	enum scope_rule teacher_scope;	/* what of it a teacher's token sees */
	bool versioned;			/* bump version, keep history on content change */
};

/* Route handlers; the resource comes from api_call state set by the caller. */
void resource_list(struct api_call *c, const struct resource *r);
void resource_get(struct api_call *c, const struct resource *r);
void resource_create(struct api_call *c, const struct resource *r);
void resource_update(struct api_call *c, const struct resource *r);
void resource_deactivate(struct api_call *c, const struct resource *r);
/* The same with the id given rather than taken from the path. */
void resource_get_id(struct api_call *c, const struct resource *r, const char *id);
void resource_update_id(struct api_call *c, const struct resource *r, const char *id);

/*
 * Validate one value of a JSON body against its field; on success writes
 * its text form for a parameter into *out (caller frees; NULL for null).
 */
bool resource_value(struct api_call *c, const struct res_field *f, json_t *v,
    char **out);

/* The SQL cast of a field's parameter ("::date"), "" for text. */
const char *resource_cast(const struct res_field *f);

#endif
