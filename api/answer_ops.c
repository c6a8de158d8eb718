/*
 * answer_ops.c: what the answer page (/a/<token>) needs from the daemon:
 * loading a prompt's question, and submitting through the group commit.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "answer_page.h"
#include "answers.h"
#include "api.h"
#include "app.h"
#include "clock.h"
#include "db.h"
#include "pgrow.h"
#include "pupil_page.h"
#include "util.h"

struct pending {
	answer_page_cb cb;
	void *arg;
	struct app *app;
	int64_t school_id;
};

/* Fill a feedback view from an answer's result JSON (answers.c). */
static void
feedback_of(json_t *r, struct answer_page_feedback *f)
{
	f->outcome = json_is_true(json_object_get(r, "correct")) ? ANSWER_PAGE_RIGHT : ANSWER_PAGE_WRONG;
	f->answer = json_string_value(json_object_get(r, "correct_answer"));
	f->explanation = json_string_value(json_object_get(r, "explanation"));
	f->unit = json_string_value(json_object_get(json_object_get(r, "unit"), "name"));
	f->level = json_string_value(json_object_get(r, "level"));
	f->level_before = json_string_value(json_object_get(r, "level_before"));
	f->next = json_string_value(json_object_get(r, "next_level_needs"));
	f->lang = "en";
}

static void
loaded(const struct db_reply *r, void *arg)
{
	struct pending *pd = arg;
	struct answer_page_view v;
	const PGresult *res;
	json_t *choices = NULL, *result = NULL;
	const char **cv = NULL;

	memset(&v, 0, sizeof v);
	if (r->status != DB_OK) {
		v.state = ANSWER_PAGE_UNAVAILABLE;
		v.message = "recalld cannot reach its database just now; please try again in a minute.";
		goto out;
	}
	res = r->results[0];
	if (PQntuples(res) == 0) {
		v.state = ANSWER_PAGE_GONE;
		goto out;
	}
	if (pgrow_bool(res, 0, 0)) {
		v.state = ANSWER_PAGE_ANSWERED;
		result = json_loads(PQgetvalue(res, 0, 1), 0, NULL);
		if (result != NULL)
			feedback_of(result, &v.feedback);
		v.feedback.repeat = true;
		v.feedback.prompt = PQgetvalue(res, 0, 3);
		goto out;
	}
	v.state = ANSWER_PAGE_SHOW;
	v.question.lang = "en";
	v.question.heading = PQgetvalue(res, 0, 5);
	v.question.prompt = PQgetvalue(res, 0, 3);
	if (!grade_kind_parse(PQgetvalue(res, 0, 2), &v.question.kind))
		v.question.kind = GRADE_EXTERNAL;
	if (!pgrow_null(res, 0, 4)) {
		size_t i;
		json_t *e;

		choices = json_loads(PQgetvalue(res, 0, 4), 0, NULL);
		cv = xcalloc(json_array_size(choices) + 1, sizeof *cv);
		json_array_foreach(choices, i, e)
			cv[i] = json_string_value(e) ? json_string_value(e) : "";
		v.question.choices = cv;
		v.question.nchoices = json_array_size(choices);
	}
	v.question.answer = pgrow_str(res, 0, 6);
	v.question.started_ms = clock_now_us() / 1000;
out:
	pd->cb(&v, pd->arg);
	free(cv);
	json_decref(choices);
	json_decref(result);
	free(pd);
}

static void
op_load(void *app_, int64_t school_id, int64_t prompt_id, answer_page_cb cb, void *arg)
{
	struct app *app = app_;
	struct pending *pd = xcalloc(1, sizeof *pd);
	char s[24], p[24];
	const char *params[2] = { s, p };

	pd->cb = cb;
	pd->arg = arg;
	snprintf(s, sizeof s, "%lld", (long long)school_id);
	snprintf(p, sizeof p, "%lld", (long long)prompt_id);
	db_query(app->db,
	    "SELECT p.answered_at IS NOT NULL, r.result::text, q.kind, q.prompt, q.choices::text,"
	    " u.name, q.accepted_answers->>0"
	    " FROM prompt p JOIN question q ON q.school_id = p.school_id AND q.question_id = p.question_id"
	    " JOIN unit u ON u.school_id = q.school_id AND u.unit_id = q.unit_id"
	    /* the first answer's result is kept on its review */
	    " LEFT JOIN review r ON p.answered_at IS NOT NULL AND r.school_id = p.school_id"
	    "  AND r.prompt_id = p.prompt_id AND r.reviewed_at = p.answered_at"
	    " WHERE p.school_id = $1 AND p.prompt_id = $2::bigint", 2, params, loaded, pd);
}

static void
submitted(int status, const char *result, const char *error, int64_t pupil_id, void *arg)
{
	struct pending *pd = arg;
	struct answer_page_view v;
	json_t *r = NULL;
	char url[512];

	memset(&v, 0, sizeof v);
	switch (status) {
	case 200:
		v.state = ANSWER_PAGE_FEEDBACK;
		r = json_loads(result, 0, NULL);
		if (r != NULL)
			feedback_of(r, &v.feedback);
		/* the way to the pupil's own page */
		if (pupil_id > 0 && pupil_page_link(pd->app, pd->school_id, pupil_id,
		    clock_now_us() / 1000000 + PUPIL_PAGE_TTL_S, url, sizeof url))
			v.feedback.progress_url = url;
		break;
	case 404:
		v.state = ANSWER_PAGE_GONE;
		break;
	case 410:
		v.state = ANSWER_PAGE_EXPIRED;
		break;
	case 422:
		v.state = ANSWER_PAGE_INVALID;
		v.message = error;
		break;
	default:
		v.state = ANSWER_PAGE_UNAVAILABLE;
		v.message = "recalld could not record the answer just now; please try again in a minute.";
	}
	pd->cb(&v, pd->arg);
	json_decref(r);
	free(pd);
}

static void
op_submit(void *app_, int64_t school_id, int64_t prompt_id, const struct grade_input *in,
    answer_page_cb cb, void *arg)
{
	struct app *app = app_;
	struct pending *pd = xcalloc(1, sizeof *pd);
	struct answer_in a = { 0 };

	pd->cb = cb;
	pd->arg = arg;
	pd->app = app;
	pd->school_id = school_id;
	a.school_id = school_id;
	a.prompt_id = prompt_id;
	a.in = *in;
	answers_submit(app->answers, &a, submitted, pd);
}

void
answer_ops_routes(http_server *s, struct app *app)
{
	struct answer_page_ops ops = { 0 };

	ops.keys = app->link_keys;
	ops.frame_ancestors = app->cfg != NULL ? app->cfg->lti_frame_ancestors : NULL;
	ops.load = op_load;
	ops.submit = op_submit;
	answer_page_routes(s, &ops);
}
