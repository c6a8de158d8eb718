/*
 * responses.c: POST /v1/responses, answers from an integration (a chat
 * bot, the LMS). The reply is sent only after the answer's group commit.
 */
#include "autoconf.h"

#include <string.h>

#include "answers.h"
#include "api.h"
#include "clock.h"
#include "util.h"

static void
answered(int status, const char *result, const char *error, int64_t pupil_id, void *arg)
{
	struct api_call *c = arg;

	(void)pupil_id;	/* the reply names the prompt; the pupil is the prompt's */

	switch (status) {
	case 200:
		api_reply_raw(c, 200, result);
		return;
	case 404:
		api_problem(c, 404, "not-found", "Not found", error);
		return;
	case 410:
		api_problem(c, 410, "prompt-expired", "Prompt expired", error);
		return;
	case 422:
		api_field_error(c, "answer", "%s", error);
		api_validation_failed(c);
		return;
	case 503:
		api_problem(c, 503, "database-unavailable", "Database unavailable", error);
		return;
	default:
		api_problem(c, 500, "internal", "Internal error", error);
	}
}

/*
 * {"prompt_id": N, "answer": "text" | index} or {"prompt_id": N, "correct": bool}
 * or {"prompt_id": N, "rating": 1..4}; optional "answered_at" (ISO 8601) and
 * "latency_ms".
 */
static void
respond(struct api_call *c)
{
	struct answer_in in = { 0 };
	struct grade_input gi = GRADE_INPUT_INIT;
	json_t *v;
	int given = 0;

	if (c->body == NULL) {
		api_problem(c, 400, "malformed-json", "Malformed JSON",
		    "send {\"prompt_id\": N, \"answer\": ...}");
		return;
	}
	api_fields_only(c, "a response", (const char *const[]){ "prompt_id", "answer", "correct",
	    "rating", "answered_at", "latency_ms", NULL });
	v = json_object_get(c->body, "prompt_id");
	if (!json_is_integer(v) || json_integer_value(v) < 1)
		api_field_error(c, "prompt_id", "is required: a prompt id from a prompt.batch event");
	else
		in.prompt_id = json_integer_value(v);
	if ((v = json_object_get(c->body, "answer")) != NULL) {
		given++;
		if (json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) < 100)
			gi.choice = (int)json_integer_value(v);
		else if (json_is_string(v) && json_string_length(v) <= GRADE_TEXT_MAX &&
		    strlen(json_string_value(v)) == json_string_length(v))
			gi.text = json_string_value(v);
		else
			api_field_error(c, "answer", "must be the answer's text or a choice's index (0-based)");
	}
	if ((v = json_object_get(c->body, "correct")) != NULL) {
		given++;
		if (!json_is_boolean(v))
			api_field_error(c, "correct", "must be true or false");
		else
			gi.correct = json_is_true(v) ? 1 : 0;
	}
	if ((v = json_object_get(c->body, "rating")) != NULL) {
		given++;
		if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 4)
			api_field_error(c, "rating", "must be 1 (Again), 2 (Hard), 3 (Good) or 4 (Easy)");
		else
			gi.rating = (int)json_integer_value(v);
	}
	if (given != 1)
		api_field_error(c, "answer", "give exactly one of answer, correct or rating");
	if ((v = json_object_get(c->body, "latency_ms")) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > 86400000)
			api_field_error(c, "latency_ms", "must be milliseconds, 0 to 86400000");
		else
			gi.latency_ms = json_integer_value(v);
	}
	if ((v = json_object_get(c->body, "answered_at")) != NULL) {
		int64_t us;
		if (!json_is_string(v) || !clock_parse_iso(json_string_value(v), &us))
			api_field_error(c, "answered_at", "must be an ISO 8601 time");
		else if (us > clock_now_us() + 60 * INT64_C(1000000))
			api_field_error(c, "answered_at", "is in the future");
		else
			in.answered_at_us = us;
	}
	if (api_has_errors(c)) {
		api_validation_failed(c);
		return;
	}
	in.school_id = c->school_id;
	in.in = gi;
	answers_submit(c->app->answers, &in, answered, c);
}

void
responses_routes(http_server *s)
{
	api_route(s, EVHTTP_REQ_POST, "/v1/responses", ROLE_ADMIN | ROLE_INTEGRATION, respond);
}
