/* admin.c: /v1/admin/clock, the manual clock of tests and the demo. */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "clock.h"
#include "log.h"

static void
clock_answer(struct api_call *c)
{
	char now[40];

	clock_now_iso(now, sizeof now);
	api_reply(c, 200, json_pack("{s:s, s:s}", "now", now, "mode",
	    clock_is_manual() ? "manual" : "system"));
}

static void
clock_get(struct api_call *c)
{
	if (!clock_is_manual()) {
		api_problem(c, 404, "not-found", "Not found", "no such route");
		return;
	}
	clock_answer(c);
}

static void
clock_stored(struct api_call *c, const struct db_reply *r)
{
	int64_t us;
	char iso[40];

	if (r->status != DB_OK) {
		api_db_failed(c, r);
		return;
	}
	if (PQntuples(r->results[0]) != 1) {
		api_field_error(c, "now", "the clock does not go backwards");
		api_validation_failed(c);
		return;
	}
	us = strtoll(PQgetvalue(r->results[0], 0, 0), NULL, 10);
	/* Our own NOTIFY comes back too; whichever is first moves the clock. */
	if (us > clock_now_us() && !clock_set(us)) {
		api_field_error(c, "now", "the clock does not go backwards");
		api_validation_failed(c);
		return;
	}
	clock_format_iso(us, iso, sizeof iso);
	log_info("clock", "manual clock set", "now=%s", iso);
	clock_answer(c);
}

/*
 * {"now": "2026-09-07T06:00:00Z"}: timers run at once as if it had passed,
 * in every daemon on this database (the time is stored and NOTIFYed).
 */
static void
clock_post(struct api_call *c)
{
	json_t *v = c->body ? json_object_get(c->body, "now") : NULL;
	int64_t us;
	char arg[24];
	const char *p[1] = { arg };

	if (!clock_is_manual()) {
		api_problem(c, 404, "not-found", "Not found", "no such route");
		return;
	}
	if (!json_is_string(v) || !clock_parse_iso(json_string_value(v), &us)) {
		api_field_error(c, "now", "must be an ISO 8601 time such as 2026-09-07T06:00:00Z");
		api_validation_failed(c);
		return;
	}
	snprintf(arg, sizeof arg, "%lld", (long long)us);
	api_query_db(c, "WITH up AS (INSERT INTO manual_clock (id, now_us) VALUES (true, $1::bigint)"
	    " ON CONFLICT (id) DO UPDATE SET now_us = EXCLUDED.now_us"
	    "  WHERE manual_clock.now_us <= EXCLUDED.now_us RETURNING now_us)"
	    " SELECT now_us, pg_notify('" CLOCK_CHANNEL "', now_us::text) FROM up", 1, p, clock_stored);
}

void
admin_routes(http_server *s)
{
	api_route(s, EVHTTP_REQ_GET, "/v1/admin/clock", ROLE_ADMIN, clock_get);
	api_route(s, EVHTTP_REQ_POST, "/v1/admin/clock", ROLE_ADMIN, clock_post);
}
