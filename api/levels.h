/* levels.h: what each level means, school-wide and per unit (levels.c). */
#ifndef RECALLD_LEVELS_H
#define RECALLD_LEVELS_H

#include <jansson.h>
#include <libpq-fe.h>

#include "http.h"
#include "mastery.h"

/*
 * Into levels (an object): per level name, {"school": the descriptor from
 * the thresholds, "unit": the unit's own or null}; own: rows (level,
 * descriptor) of unit_level for one unit, or NULL.
 */
void levels_json_add(json_t *levels, const mastery_thresholds *t, const PGresult *own);

/* GET and PUT /v1/units/{id}/levels. */
void levels_routes(http_server *s);

#endif
