/*
 * answer_page.h: the answer page at /a/{token}: one
 * question of a pupil's batch, answered from a phone without logging in,
 * then the feedback. The token is an answer link (alink.h): it is the only
 * credential, so the page never leaks it (Referrer-Policy: no-referrer),
 * is never cached and never framed. Plain HTML, no JavaScript, no
 * outside resources; every text is HTML-escaped.
 *
 * The renderers are pure (they append to an evbuffer). The route glue
 * checks the token and leaves the data to the caller's answer_page_ops.
 */
#ifndef RECALLD_ANSWER_PAGE_H
#define RECALLD_ANSWER_PAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "alink.h"
#include "grade.h"
#include "http.h"

#define ANSWER_PAGE_MAX_BODY 8192	/* bytes of a posted form */
/* A start time older than this gives no latency (the page was left open). */
#define ANSWER_PAGE_MAX_LATENCY_MS (30 * 60 * 1000)

/* A question to answer. Strings are the caller's; NULL where optional. */
struct answer_page_question {
	const char *action;		/* the form's URL: "/a/<token>" */
	const char *lang;		/* language of the question's text, BCP 47 */
	const char *heading;		/* e.g. the unit's name */
	const char *prompt;		/* the question */
	enum grade_kind kind;
	const char *const *choices;	/* mcq */
	size_t nchoices;
	const char *answer;		/* self: shown behind "Show the answer" */
	int64_t started_ms;		/* Unix ms when shown, posted back as "t" */
	const char *error;		/* why the last answer was not taken */
};

enum answer_page_outcome {
	ANSWER_PAGE_RIGHT = 0,
	ANSWER_PAGE_WRONG,
	ANSWER_PAGE_RECORDED,		/* self-rated: neither right nor wrong */
};

/* What the pupil sees after answering. Strings NULL where not known. */
struct answer_page_feedback {
	enum answer_page_outcome outcome;
	bool repeat;			/* answered before: "here is what you answered" */
	const char *lang;		/* of the question's texts */
	const char *prompt;
	const char *given;		/* what the pupil answered, as text */
	const char *answer;		/* the right answer */
	const char *explanation;
	const char *unit;		/* the unit's name */
	const char *level;		/* "developing" (or "Developing") */
	const char *level_before;	/* the level before this answer; NULL: unknown */
	const char *next;		/* a sentence: what the next level needs */
	const char *progress_url;	/* the pupil's own page; NULL: none */
};

/* Append text to out with & < > " ' escaped; C0 controls but tab and newlines dropped. */
void answer_page_escape(struct evbuffer *out, const char *text);

/* Whole pages (<!DOCTYPE html> to </html>). */
void answer_page_question(struct evbuffer *out, const struct answer_page_question *q);
void answer_page_feedback(struct evbuffer *out, const struct answer_page_feedback *f);
void answer_page_message(struct evbuffer *out, const char *title, const char *text);

/*
 * For other pages in the same style (the pupil's page): its head with the
 * one stylesheet, its end, and one question's form in it, every id
 * prefixed with idp, its heading an h3.
 */
void answer_page_start(struct evbuffer *out, const char *title);
void answer_page_end(struct evbuffer *out);
void answer_page_question_part(struct evbuffer *out, const struct answer_page_question *q,
    const char *idp);
/* Answer with such a page: HTML with answer_page_headers (503: Retry-After). */
void answer_page_send(http_ctx *ctx, int status, struct evbuffer *body);
/* The same, framable by ancestors (CSP frame-ancestors sources; NULL or "": never). */
void answer_page_send_framed(http_ctx *ctx, int status, struct evbuffer *body,
    const char *ancestors);

/*
 * The page's security headers: Content-Security-Policy (nothing but its
 * own inline style, by hash; forms to itself; no framing),
 * Referrer-Policy: no-referrer, Cache-Control: no-store,
 * X-Frame-Options: DENY, X-Content-Type-Options: nosniff. Replaces any of
 * them already in h.
 */
void answer_page_headers(struct evkeyvalq *h);
/* The same, but pages of the LMS origins in ancestors may frame it (lti.frame_ancestors). */
void answer_page_headers_framed(struct evkeyvalq *h, const char *ancestors);

/* ---- the route ---- */

enum answer_page_state {
	ANSWER_PAGE_SHOW = 0,		/* load: the question to answer (200) */
	ANSWER_PAGE_FEEDBACK,		/* submit: graded and stored (200) */
	ANSWER_PAGE_ANSWERED,		/* answered before: the first result (200) */
	ANSWER_PAGE_EXPIRED,		/* the prompt expired unanswered (410) */
	ANSWER_PAGE_INVALID,		/* submit: the answer does not fit (422) */
	ANSWER_PAGE_GONE,		/* no such prompt any more (404) */
	ANSWER_PAGE_UNAVAILABLE,	/* try again later, e.g. database down (503) */
};

/*
 * What load or submit found. SHOW: question (its action and started_ms are
 * filled in by the route). FEEDBACK, ANSWERED: feedback (the route sets
 * repeat for ANSWERED). INVALID: message, and question when it should be
 * shown again (prompt not NULL).
 */
struct answer_page_view {
	enum answer_page_state state;
	struct answer_page_question question;
	struct answer_page_feedback feedback;
	const char *message;
};

/*
 * Called exactly once per load or submit, now or later; v and all it
 * points to need only live for the call.
 */
typedef void (*answer_page_cb)(const struct answer_page_view *v, void *arg);

struct answer_page_ops {
	/* The caller's; may be changed in place (a reload), never freed while served. */
	const struct alink_keys *keys;
	/* LMS origins that may frame the page (lti.frame_ancestors); NULL: none. */
	const char *frame_ancestors;
	/* Unix microseconds; NULL: clock_now_us(). */
	int64_t (*now_us)(void *app);
	/* The prompt's question, or its stored result, or why not. */
	void (*load)(void *app, int64_t school_id, int64_t prompt_id, answer_page_cb cb,
	    void *arg);
	/*
	 * Grade (grade_answer) and store the answer; a repeat gives ANSWERED
	 * with the first result, a grade_answer refusal INVALID. in lives for
	 * the call only.
	 */
	void (*submit)(void *app, int64_t school_id, int64_t prompt_id,
	    const struct grade_input *in, answer_page_cb cb, void *arg);
};

/*
 * Register GET and POST /a/{token} (no bearer token: the link is the
 * credential). ops is copied; the pointers in it must outlive s. The
 * form is application/x-www-form-urlencoded, at most ANSWER_PAGE_MAX_BODY
 * bytes, with fields choice (0-based), answer (text), rating (1..4) and
 * t (the start time for the latency).
 */
void answer_page_routes(http_server *s, const struct answer_page_ops *ops);

#endif
