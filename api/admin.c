/* admin.c: /v1/admin/clock, the manual clock of tests and the demo. */
#include "autoconf.h"

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

/* {"now": "2026-09-07T06:00:00Z"}: timers run at once as if it had passed. */
static void
clock_post(struct api_call *c)
{
	json_t *v = c->body ? json_object_get(c->body, "now") : NULL;
	int64_t us;

	if (!clock_is_manual()) {
		api_problem(c, 404, "not-found", "Not found", "no such route");
		return;
	}
	if (!json_is_string(v) || !clock_parse_iso(json_string_value(v), &us)) {
		api_field_error(c, "now", "must be an ISO 8601 time such as 2026-09-07T06:00:00Z");
		api_validation_failed(c);
		return;
	}
	if (!clock_set(us)) {
		api_field_error(c, "now", "the clock does not go backwards");
		api_validation_failed(c);
		return;
	}
	log_info("clock", "manual clock set", "now=%s", json_string_value(v));
	clock_answer(c);
}

void
admin_routes(http_server *s)
{
	api_route(s, EVHTTP_REQ_GET, "/v1/admin/clock", ROLE_ADMIN, clock_get);
	api_route(s, EVHTTP_REQ_POST, "/v1/admin/clock", ROLE_ADMIN, clock_post);
}
