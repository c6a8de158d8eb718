/*
 * pupil_page.c: a pupil's own page at /p/{token} (a pupil link, alink.h):
 * today's open questions, answerable in place (plain forms posting to
 * their answer links, no JavaScript), then each unit they were taught with
 * their level, what it means (the school's words and the unit's own),
 * what the next level needs, the questions they keep missing with the
 * answers, and a small chart of recall and level over time (inline SVG).
 * Only this pupil's data is read (every statement is keyed by the school
 * and pupil the signature vouches for). Same style and headers as the
 * answer page; every text escaped.
 */
#include "autoconf.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "answer_page.h"
#include "api.h"
#include "clock.h"
#include "db.h"
#include "log.h"
#include "mastery.h"
#include "pgrow.h"
#include "pupil_page.h"
#include "scope.h"
#include "settings.h"
#include "util.h"

#define OPEN_MAX 20
#define CHART_W 320
#define CHART_H 140

/* $1 school, $2 pupil, $3 now */
static const char pupil_sql[] =
    "SELECT p.given_name, p.active, s.name, " SETTINGS_COLUMNS("$3")
    " FROM pupil p JOIN school s ON s.school_id = p.school_id"
    " WHERE p.school_id = $1 AND p.pupil_id = $2::bigint AND s.active";
static const char open_sql[] =
    "SELECT pr.prompt_id, q.kind, q.prompt, q.choices::text, u.name,"
    " (extract(epoch FROM pr.expires_at))::bigint, q.accepted_answers->>0"
    " FROM prompt pr JOIN question q ON q.school_id = pr.school_id"
    "  AND q.question_id = pr.question_id"
    " JOIN unit u ON u.school_id = q.school_id AND u.unit_id = q.unit_id"
    " WHERE pr.school_id = $1 AND pr.pupil_id = $2::bigint AND pr.answered_at IS NULL"
    " AND pr.expires_at > $3::timestamptz ORDER BY pr.expires_at, pr.batch_id, pr.position"
    " LIMIT 20";	/* OPEN_MAX */
/* Every counted question of every unit taught to one of the pupil's classes. */
static const char units_sql[] =
    "SELECT u.unit_id, u.name, m.stability, m.difficulty, m.reps, m.lapses,"
    " m.last_review_day - date '1970-01-01'"
    " FROM unit u JOIN school s ON s.school_id = u.school_id"
    " JOIN question q ON q.school_id = u.school_id AND q.unit_id = u.unit_id"
    " LEFT JOIN memory_state m ON m.school_id = q.school_id AND m.pupil_id = $2::bigint"
    "  AND m.question_id = q.question_id"
    " WHERE u.school_id = $1 AND u.active AND " SETTINGS_QUESTION_COUNTS("q", "s")
    " AND u.unit_id IN (SELECT t.unit_id FROM taught t JOIN class_pupil cp"
    "  ON cp.school_id = t.school_id AND cp.class_id = t.class_id AND cp.active"
    "  WHERE t.school_id = $1 AND cp.pupil_id = $2::bigint)"
    " ORDER BY u.course_id, u.position, u.unit_id, q.question_id";
/* Questions whose latest answer was wrong, with what is right and why. */
static const char missed_sql[] =
    "SELECT q.unit_id, q.prompt, coalesce(q.accepted_answers->>0,"
    " q.choices->>q.correct_choice), q.explanation"
    " FROM (SELECT DISTINCT ON (r.question_id) r.question_id, r.rating FROM review r"
    "  WHERE r.school_id = $1 AND r.pupil_id = $2::bigint"
    "  ORDER BY r.question_id, r.reviewed_at DESC) l"
    " JOIN question q ON q.school_id = $1 AND q.question_id = l.question_id"
    " WHERE l.rating = 1 ORDER BY q.unit_id, q.question_id";
static const char history_sql[] =
    "SELECT unit_id, (extract(epoch FROM changed_at))::bigint, to_level, recall"
    " FROM mastery_history WHERE school_id = $1 AND pupil_id = $2::bigint"
    " ORDER BY unit_id, changed_at";
static const char levels_sql[] =
    "SELECT unit_id, level, descriptor FROM unit_level WHERE school_id = $1";

enum { R_PUPIL, R_OPEN, R_UNITS, R_MISSED, R_HISTORY, R_LEVELS, R_COUNT };

struct page {
	http_ctx *ctx;
	struct app *app;
	bool view;		/* a teacher's read-only view: no forms */
	int64_t school, pupil, expires, now_us;
	char school_s[24], pupil_s[24], now[40];
};

static const char *const level_title[MASTERY_NLEVELS] = {
	"Emerging", "Developing", "Secure", "Mastery",
};

static void
put(struct evbuffer *b, const char *s)
{
	evbuffer_add(b, s, strlen(s));
}

/* The page may be shown in the school's LMS (an LTI launch lands here). */
static void
message(const struct app *app, http_ctx *ctx, int status, const char *title, const char *text)
{
	struct evbuffer *b = evbuffer_new();

	answer_page_message(b, title, text);
	answer_page_send_framed(ctx, status, b, app->cfg->lti_frame_ancestors);
	evbuffer_free(b);
}

static void
fmt_day(int64_t unix_s, char *buf, size_t len)
{
	time_t t = (time_t)unix_s;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%e %B", &tm);
	if (buf[0] == ' ')
		memmove(buf, buf + 1, strlen(buf));
}

/* Today's open questions, each a form posting to its own answer link. */
static void
render_open(struct page *pg, struct evbuffer *b, const PGresult *res)
{
	int n = PQntuples(res);

	put(b, "<section aria-labelledby=\"today-h\">\n<h2 id=\"today-h\">Today's questions</h2>\n");
	if (n == 0)
		put(b, "<p>Nothing to answer right now. Your next questions come with your next"
		    " set.</p>\n");
	for (int i = 0; i < n; i++) {
		char tok[ALINK_TOKEN_MAX], action[8 + ALINK_TOKEN_MAX], idp[16];
		struct answer_page_question q = { 0 };
		json_t *choices = NULL;
		const char **cv = NULL;
		size_t nc = 0;

		if (pg->view) {
			/* what the pupil sees, without the means to answer for them */
			put(b, "<div class=\"card\">\n<p class=\"unit\">");
			answer_page_escape(b, PQgetvalue(res, i, 4));
			put(b, "</p>\n<p class=\"prompt\">");
			answer_page_escape(b, PQgetvalue(res, i, 2));
			put(b, "</p>\n</div>\n");
			continue;
		}
		if (!alink_make(pg->app->link_keys, pg->school, pgrow_i64(res, i, 0),
		    pgrow_i64(res, i, 5), tok, sizeof tok))
			continue;
		snprintf(action, sizeof action, "/a/%s", tok);
		snprintf(idp, sizeof idp, "q%d-", i + 1);
		q.action = action;
		q.lang = "en";
		q.prompt = PQgetvalue(res, i, 2);
		if (!grade_kind_parse(PQgetvalue(res, i, 1), &q.kind))
			q.kind = GRADE_EXTERNAL;	/* shown, with nothing to send */
		q.started_ms = pg->now_us / 1000;
		if (q.kind == GRADE_MCQ && !PQgetisnull(res, i, 3) &&
		    (choices = json_loads(PQgetvalue(res, i, 3), 0, NULL)) != NULL) {
			size_t k;
			json_t *e;

			nc = json_array_size(choices);
			cv = xcalloc(nc + 1, sizeof *cv);
			json_array_foreach(choices, k, e)
				cv[k] = json_is_string(e) ? json_string_value(e) : "";
			q.choices = cv;
			q.nchoices = nc;
		}
		if (q.kind == GRADE_SELF && !PQgetisnull(res, i, 6))
			q.answer = PQgetvalue(res, i, 6);
		put(b, "<div class=\"card\">\n<p class=\"unit\">");
		answer_page_escape(b, PQgetvalue(res, i, 4));
		put(b, "</p>\n");
		answer_page_question_part(b, &q, idp);
		put(b, "</div>\n");
		free(cv);
		json_decref(choices);
	}
	put(b, "</section>\n");
}

/*
 * The unit's recall (line) and level (steps) over time, from its level
 * history and today's figures: inline SVG with its own text alternative.
 */
static void
render_chart(struct evbuffer *b, const char *unit, const PGresult *h, int from, int to,
    int64_t now_s, double recall_now, int level_now)
{
	int64_t t0 = to > from ? pgrow_i64(h, from, 1) : now_s, span;
	char first[32], label[400], pts[2048] = "", steps[2048] = "";
	size_t pl = 0, sl = 0;
	double r0 = to > from ? pgrow_f64(h, from, 3) : recall_now;

	if (t0 > now_s - 86400)
		t0 = now_s - 86400;
	span = now_s - t0;
	fmt_day(t0, first, sizeof first);
	snprintf(label, sizeof label, "%s: predicted recall %.0f%% on %s, %.0f%% today; level"
	    " now %s.", unit, r0 * 100, first, recall_now * 100, level_title[level_now]);
	for (int i = from; i <= to; i++) {
		int64_t t = i < to ? pgrow_i64(h, i, 1) : now_s;
		double r = i < to ? pgrow_f64(h, i, 3) : recall_now;
		int l = i < to ? pgrow_int(h, i, 2) : level_now;
		double x = 40 + (double)(t - t0) / (double)span * (CHART_W - 50);
		double y = 10 + (1 - r) * (CHART_H - 40);
		double ly = 10 + (3 - l) / 3.0 * (CHART_H - 40);

		pl += (size_t)snprintf(pts + pl, sizeof pts - pl, "%s%.1f,%.1f", pl ? " " : "", x, y);
		if (pl >= sizeof pts)
			pl = sizeof pts - 1;
		sl += (size_t)snprintf(steps + sl, sizeof steps - sl, "%s%.1f,%.1f", sl ? " " : "",
		    x, ly);
		if (sl >= sizeof steps)
			sl = sizeof steps - 1;
	}
	evbuffer_add_printf(b, "<svg viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" role=\"img\""
	    " aria-label=\"", CHART_W, CHART_H, CHART_W, CHART_H);
	answer_page_escape(b, label);
	put(b, "\">\n<title>");
	answer_page_escape(b, label);
	evbuffer_add_printf(b, "</title>\n"
	    "<line x1=\"40\" y1=\"10\" x2=\"40\" y2=\"%d\" stroke=\"#333\"/>"
	    "<line x1=\"40\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#333\"/>"
	    "<text x=\"34\" y=\"16\" text-anchor=\"end\" font-size=\"11\">100%%</text>"
	    "<text x=\"34\" y=\"%d\" text-anchor=\"end\" font-size=\"11\">0%%</text>"
	    "<text x=\"40\" y=\"%d\" font-size=\"11\">",
	    CHART_H - 30, CHART_H - 30, CHART_W - 10, CHART_H - 30, CHART_H - 30, CHART_H - 14);
	answer_page_escape(b, first);
	evbuffer_add_printf(b, "</text><text x=\"%d\" y=\"%d\" text-anchor=\"end\" font-size=\"11\">"
	    "today</text>\n", CHART_W - 10, CHART_H - 14);
	evbuffer_add_printf(b, "<polyline points=\"%s\" fill=\"none\" stroke=\"#767676\""
	    " stroke-width=\"2\" stroke-dasharray=\"5 3\"/>\n", steps);
	evbuffer_add_printf(b, "<polyline points=\"%s\" fill=\"none\" stroke=\"#0b4f9c\""
	    " stroke-width=\"3\"/>\n</svg>\n", pts);
	put(b, "<p class=\"help\">Solid line: how likely you are to remember this unit's questions."
	    " Dashed: your level (Emerging at the bottom, Mastery at the top).</p>\n");
}

static const char *
own_descriptor(const PGresult *lv, int64_t unit, mastery_level l)
{
	for (int i = 0; i < PQntuples(lv); i++)
		if (pgrow_i64(lv, i, 0) == unit &&
		    strcmp(PQgetvalue(lv, i, 1), mastery_level_name(l)) == 0)
			return PQgetvalue(lv, i, 2);
	return NULL;
}

static void
render_unit(struct page *pg, struct evbuffer *b, const struct settings *set,
    const fsrs_model *m, const PGresult *ur, int from, int to, const PGresult *missed,
    const PGresult *hist, const PGresult *lv, int index)
{
	int64_t unit = pgrow_i64(ur, from, 0);
	mastery_item *items = xcalloc((size_t)(to - from) + 1, sizeof *items);
	mastery_result res;
	char text[400], next[200];
	const char *own;
	int hf = -1, ht = -1, nmissed = 0;

	for (int i = from; i < to; i++) {
		mastery_item *it = &items[i - from];

		if (PQgetisnull(ur, i, 2))
			continue;	/* never answered: unseen */
		it->state.stability = pgrow_f64(ur, i, 2);
		it->state.difficulty = pgrow_f64(ur, i, 3);
		it->state.reps = (uint32_t)pgrow_int(ur, i, 4);
		it->state.lapses = (uint32_t)pgrow_int(ur, i, 5);
		it->last_review_day = (int32_t)pgrow_int(ur, i, 6);
	}
	mastery_assess(m, &set->mastery, items, (size_t)(to - from), set->today, &res);
	free(items);

	/* unit-<id>: where a launch of one unit's check lands (LTI deep linking) */
	evbuffer_add_printf(b, "<div class=\"card\" id=\"unit-%s\">\n<h3 id=\"u%d\">",
	    PQgetvalue(ur, from, 0), index);
	answer_page_escape(b, PQgetvalue(ur, from, 1));
	evbuffer_add_printf(b, "</h3>\n<p class=\"level\">Your level: <strong>%s</strong></p>\n",
	    level_title[res.level]);
	mastery_level_describe(res.level, &set->mastery, text, sizeof text);
	put(b, "<p>");
	answer_page_escape(b, text);
	put(b, "</p>\n");
	if ((own = own_descriptor(lv, unit, res.level)) != NULL) {
		put(b, "<p class=\"mine\">In this unit: ");
		answer_page_escape(b, own);
		put(b, "</p>\n");
	}
	mastery_next_render(&res.next, next, sizeof next);
	if (res.level < MASTERY_MASTERY) {
		evbuffer_add_printf(b, "<p>To reach <strong>%s</strong> you need: ",
		    level_title[res.next.target]);
		answer_page_escape(b, next);
		put(b, ".</p>\n");
		if ((own = own_descriptor(lv, unit, res.next.target)) != NULL) {
			evbuffer_add_printf(b, "<p class=\"mine\">%s in this unit looks like this: ",
			    level_title[res.next.target]);
			answer_page_escape(b, own);
			put(b, "</p>\n");
		}
	} else {
		put(b, "<p>");
		answer_page_escape(b, next);
		put(b, ".</p>\n");
	}
	for (int i = 0; i < PQntuples(missed); i++) {
		if (pgrow_i64(missed, i, 0) != unit)
			continue;
		if (nmissed++ == 0)
			evbuffer_add_printf(b, "<h4>Questions you keep missing</h4>\n<ul>\n");
		put(b, "<li><p>");
		answer_page_escape(b, PQgetvalue(missed, i, 1));
		put(b, "</p>");
		if (!PQgetisnull(missed, i, 2)) {
			put(b, "<p>The right answer: <strong>");
			answer_page_escape(b, PQgetvalue(missed, i, 2));
			put(b, "</strong></p>");
		}
		if (!PQgetisnull(missed, i, 3)) {
			put(b, "<p>Why: ");
			answer_page_escape(b, PQgetvalue(missed, i, 3));
			put(b, "</p>");
		}
		put(b, "</li>\n");
	}
	if (nmissed > 0)
		put(b, "</ul>\n");
	for (int i = 0; i < PQntuples(hist); i++)
		if (pgrow_i64(hist, i, 0) == unit) {
			if (hf < 0)
				hf = i;
			ht = i + 1;
		}
	if (hf < 0)
		hf = ht = 0;
	render_chart(b, PQgetvalue(ur, from, 1), hist, hf, ht, pg->now_us / 1000000,
	    res.mean_recall, res.level);
	put(b, "</div>\n");
}

static void
loaded(const struct db_reply *r, void *arg)
{
	struct page *pg = arg;
	const PGresult *pr, *ur;
	struct settings set;
	struct settings_error e;
	struct evbuffer *b;
	fsrs_model *m;
	char until[32];
	int n, from, idx = 0;

	if (r->status != DB_OK || r->nresults < R_COUNT) {
		message(pg->app, pg->ctx, 503, "Please try again soon", "Your page cannot be shown right now."
		    " Please try again in a few minutes.");
		goto out;
	}
	pr = r->results[R_PUPIL];
	if (PQntuples(pr) == 0 || !pgrow_bool(pr, 0, 1)) {
		message(pg->app, pg->ctx, 410, "This link no longer works", "This page is not available any"
		    " more. If you are still at the school, ask your teacher for a new link.");
		goto out;
	}
	if (!settings_parse(pr, 0, 3, &set, &e)) {
		settings_warn("pupil_page", &e);
		message(pg->app, pg->ctx, 503, "Please try again soon", "Your page cannot be shown right now.");
		goto out;
	}
	m = settings_model_new(&set);
	b = evbuffer_new();
	answer_page_start(b, "Your practice");
	if (pg->view)
		put(b, "<p class=\"error\" role=\"note\">A teacher's view: this is what the pupil"
		    " sees on their own page, read-only. Their questions are answered by them alone.</p>\n");
	if (!PQgetisnull(pr, 0, 0) && PQgetvalue(pr, 0, 0)[0] != '\0') {
		put(b, "<h1>Hello, ");
		answer_page_escape(b, PQgetvalue(pr, 0, 0));
		put(b, "</h1>\n");
	} else
		put(b, "<h1>Your practice</h1>\n");
	put(b, "<p>");
	answer_page_escape(b, PQgetvalue(pr, 0, 2));
	put(b, "</p>\n");
	render_open(pg, b, r->results[R_OPEN]);
	put(b, "<section aria-labelledby=\"units-h\">\n<h2 id=\"units-h\">Your units</h2>\n");
	ur = r->results[R_UNITS];
	n = PQntuples(ur);
	if (n == 0)
		put(b, "<p>No unit has been taught to your classes yet.</p>\n");
	for (int i = 0; i < n; i = from) {
		for (from = i; from < n && pgrow_i64(ur, from, 0) == pgrow_i64(ur, i, 0); from++)
			;
		render_unit(pg, b, &set, m, ur, i, from, r->results[R_MISSED],
		    r->results[R_HISTORY], r->results[R_LEVELS], ++idx);
	}
	put(b, "</section>\n");
	fmt_day(pg->expires, until, sizeof until);
	if (!pg->view) {
		put(b, "<p class=\"help\">This page is yours alone: please do not share its link."
		    " The link works until ");
		answer_page_escape(b, until);
		put(b, "; each new set of questions brings a fresh one.</p>\n");
	}
	answer_page_end(b);
	answer_page_send_framed(pg->ctx, 200, b, pg->app->cfg->lti_frame_ancestors);
	evbuffer_free(b);
	fsrs_model_free(m);
out:
	free(pg);
}

static void
page_handler(http_ctx *ctx, void *app_, const void *data)
{
	struct app *app = app_;
	const char *token = http_ctx_param(ctx, "token");
	enum alink_status st = ALINK_BAD;
	int64_t now_us = clock_now_us(), now_s = now_us / 1000000, school = 0, pupil = 0;
	int64_t expires = 0;
	bool view = false;
	struct page *pg;
	const char *p[3];
	db_req *req;

	(void)data;
	/* A pupil's own link, else a teacher's read-only view of it. */
	if (token != NULL && app->link_keys != NULL &&
	    !alink_pupil_check(app->link_keys, token, now_s, &school, &pupil, &expires, &st) &&
	    st == ALINK_BAD)
		view = alink_view_check(app->link_keys, token, now_s, &school, &pupil, &expires, &st);
	if (st != ALINK_OK) {
		if (st == ALINK_EXPIRED)
			message(app, ctx, 410, "This link has expired", "Links to your page last two weeks."
			    " Open the link in your newest set of questions instead.");
		else
			message(app, ctx, 404, "Link not valid", "This link is not valid. Check that you"
			    " opened all of it, or use the newest link you were sent.");
		return;
	}
	pg = xcalloc(1, sizeof *pg);
	pg->ctx = ctx;
	pg->app = app;
	pg->school = school;
	pg->pupil = pupil;
	pg->now_us = now_us;
	pg->expires = expires;
	pg->view = view;
	snprintf(pg->school_s, sizeof pg->school_s, "%" PRId64, school);
	snprintf(pg->pupil_s, sizeof pg->pupil_s, "%" PRId64, pupil);
	clock_now_iso(pg->now, sizeof pg->now);
	p[0] = pg->school_s;
	p[1] = pg->pupil_s;
	p[2] = pg->now;
	req = db_req_new(loaded, pg);
	db_req_add(req, pupil_sql, 3, p);
	db_req_add(req, open_sql, 3, p);
	db_req_add(req, units_sql, 2, p);
	db_req_add(req, missed_sql, 2, p);
	db_req_add(req, history_sql, 2, p);
	db_req_add(req, levels_sql, 1, p);
	db_submit(app->db, req);
}

bool
pupil_page_link(const struct app *app, int64_t school_id, int64_t pupil_id,
    int64_t expires_unix, char *out, size_t outlen)
{
	char token[ALINK_TOKEN_MAX];

	return alink_pupil_make(app->link_keys, school_id, pupil_id, expires_unix, token,
	    sizeof token) && config_public_link(app->cfg, "/p/", token, out, outlen);
}

#define VIEW_TTL_S 3600

static void
view_found(struct api_call *c, const struct db_reply *r)
{
	char token[ALINK_TOKEN_MAX], url[512], at[40];
	int64_t pupil = strtoll(api_param(c, "id"), NULL, 10);
	int64_t until = clock_now_us() / 1000000 + VIEW_TTL_S;
	time_t t = (time_t)until;
	struct tm tm;

	if (r->status != DB_OK) {
		api_db_failed(c, r);
		return;
	}
	if (PQntuples(r->results[0]) == 0) {
		api_problem(c, 404, "not-found", "Not found", "no such pupil in your classes");
		return;
	}
	if (!alink_view_make(c->app->link_keys, c->school_id, pupil, until, token, sizeof token) ||
	    !config_public_link(c->app->cfg, "/p/", token, url, sizeof url)) {
		api_problem(c, 503, "internal", "Not available", "no link can be made now");
		return;
	}
	gmtime_r(&t, &tm);
	strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", &tm);
	api_reply(c, 200, json_pack("{s:s, s:s}", "url", url, "expires_at", at));
}

/*
 * POST /v1/pupils/{id}/view-link: for a teacher of one of the pupil's
 * classes (or an admin), a link to what the pupil sees, read-only, for an
 * hour (audited like every call a person makes).
 */
static void
view_link(struct api_call *c)
{
	int64_t id;
	const char *p[3];

	if (!api_param_id(c, "id", &id))
		return;
	p[0] = c->school;
	p[1] = api_param(c, "id");
	p[2] = scope_teacher(c);
	api_query_db(c, "SELECT 1 FROM pupil p WHERE p.school_id = $1 AND p.pupil_id = $2::bigint"
	    " AND p.active" SCOPE_PUPIL("p"), 3, p, view_found);
}

void
pupil_page_routes(http_server *s)
{
	http_route(s, EVHTTP_REQ_GET, "/p/{token}", page_handler);
	api_route(s, EVHTTP_REQ_POST, "/v1/pupils/{id}/view-link", ROLE_ADMIN | ROLE_TEACHER,
	    view_link);
}
