/* answer_page.c: the pupil's answer page at /a/{token}: HTML and route. */
#include "autoconf.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include <event2/keyvalq_struct.h>
#include <openssl/evp.h>

#include "answer_page.h"
#include "b64.h"
#include "clock.h"
#include "util.h"

/*
 * The one stylesheet, inline: the CSP allows exactly this text by its
 * hash. Large type and tap targets (>= 48px), dark on white, a visible
 * focus ring; works from 320px wide.
 */
static const char css[] =
    "html{font-size:112.5%;-webkit-text-size-adjust:100%}"
    "body{margin:0;background:#fff;color:#111;"
    "font-family:system-ui,-apple-system,\"Segoe UI\",Roboto,Arial,sans-serif;"
    "line-height:1.5}"
    "main{max-width:36rem;margin:0 auto;padding:1rem 1rem 3rem}"
    "h1{font-size:1.4rem;line-height:1.3;margin:.5rem 0 1rem}"
    "h2{font-size:1.15rem;margin:1.5rem 0 .25rem}"
    ".prompt{white-space:pre-line;overflow-wrap:anywhere}"
    ".unit{margin:0;color:#333;font-weight:600}"
    "fieldset{border:0;margin:0 0 1rem;padding:0;min-width:0}"
    "legend{font-weight:600;padding:0;margin-bottom:.25rem}"
    ".choice{display:flex;align-items:center;gap:.75rem;min-height:3rem;"
    "margin:.5rem 0;padding:.5rem .75rem;border:2px solid #333;border-radius:.5rem;"
    "overflow-wrap:anywhere;cursor:pointer}"
    ".choice input{flex:none;width:1.5rem;height:1.5rem;margin:0}"
    "label{display:block;font-weight:600}"
    "input[type=text]{display:block;width:100%;box-sizing:border-box;min-height:3rem;"
    "margin:.25rem 0 1rem;padding:.5rem .75rem;font:inherit;font-size:1.2rem;"
    "color:#111;background:#fff;border:2px solid #333;border-radius:.5rem}"
    "button{display:block;width:100%;min-height:3rem;margin:.75rem 0;padding:.5rem 1rem;"
    "font:inherit;font-weight:700;color:#fff;background:#0b4f9c;border:2px solid #0b4f9c;"
    "border-radius:.5rem;cursor:pointer}"
    "summary{min-height:3rem;line-height:3rem;font-weight:600;cursor:pointer}"
    ":focus-visible{outline:3px solid #b34700;outline-offset:2px}"
    "a{color:#0b4f9c}"
    ".right{color:#0a5a1f}"
    ".wrong{color:#a3000b}"
    ".error{margin:1rem 0;padding:.5rem .75rem;border-left:6px solid #a3000b;background:#fdeeee}"
    ".card{margin:1rem 0;padding:.25rem 1rem 1rem;border:2px solid #767676;border-radius:.5rem}"
    ".level{font-size:1.1rem}"
    ".mine{padding-left:.75rem;border-left:4px solid #0b4f9c}"
    "svg{display:block;max-width:100%;height:auto}";

/* ---- escaping ---- */

void
answer_page_escape(struct evbuffer *out, const char *text)
{
	const char *p = text, *run = text;

	if (text == NULL)
		return;
	for (; *p != '\0'; p++) {
		const char *rep;
		unsigned char c = (unsigned char)*p;

		switch (c) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		default:
			if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f)
				rep = "";	/* not allowed in HTML text */
			else
				continue;
		}
		evbuffer_add(out, run, (size_t)(p - run));
		evbuffer_add(out, rep, strlen(rep));
		run = p + 1;
	}
	evbuffer_add(out, run, (size_t)(p - run));
}

static void
put(struct evbuffer *out, const char *s)
{
	evbuffer_add(out, s, strlen(s));
}

/* ` lang="xx"` for a plausible BCP 47 tag; nothing otherwise. */
static void
put_lang(struct evbuffer *out, const char *lang)
{
	size_t n;

	if (lang == NULL || (n = strlen(lang)) == 0 || n > 35 ||
	    strspn(lang, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-") != n)
		return;
	evbuffer_add_printf(out, " lang=\"%s\"", lang);
}

static void
page_start(struct evbuffer *out, const char *title)
{
	put(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	    "<meta name=\"robots\" content=\"noindex, nofollow\">\n"
	    "<meta name=\"referrer\" content=\"no-referrer\">\n<title>");
	answer_page_escape(out, title);
	put(out, "</title>\n<style>");
	put(out, css);
	put(out, "</style>\n</head>\n<body>\n<main>\n");
}

static void
page_end(struct evbuffer *out)
{
	put(out, "</main>\n</body>\n</html>\n");
}

/* <tag class="cls" lang="..">text</tag>\n */
static void
put_elem(struct evbuffer *out, const char *tag, const char *attrs, const char *lang,
    const char *text)
{
	evbuffer_add_printf(out, "<%s%s%s", tag, attrs[0] ? " " : "", attrs);
	put_lang(out, lang);
	put(out, ">");
	answer_page_escape(out, text);
	evbuffer_add_printf(out, "</%s>\n", tag);
}

/* ---- pages ---- */

static void
form_start(struct evbuffer *out, const struct answer_page_question *q)
{
	put(out, "<form method=\"post\" action=\"");
	answer_page_escape(out, q->action != NULL ? q->action : "");
	evbuffer_add_printf(out, "\">\n<input type=\"hidden\" name=\"t\" value=\"%" PRId64 "\">\n",
	    q->started_ms > 0 ? q->started_ms : 0);
}

static const struct {
	int rating;
	const char *text;
} self_ratings[] = {
	{ 1, "I forgot it" },
	{ 2, "Hard: I remembered it with effort" },
	{ 3, "Good: I remembered it" },
	{ 4, "Easy: I knew it at once" },
};

/*
 * The question and its form. idp prefixes every id (so that several
 * questions share a page: the pupil's page), tag is the question's
 * heading (h1 on its own page).
 */
static void
question_body(struct evbuffer *out, const struct answer_page_question *q, const char *idp,
    const char *tag)
{
	char attrs[96];

	snprintf(attrs, sizeof attrs, "id=\"%sprompt\" class=\"prompt\"", idp);
	put_elem(out, tag, attrs, q->lang, q->prompt != NULL ? q->prompt : "");
	if (q->error != NULL) {
		put(out, "<p class=\"error\" role=\"alert\"><strong>Please try again.</strong> ");
		answer_page_escape(out, q->error);
		put(out, "</p>\n");
	}
	switch (q->kind) {
	case GRADE_MCQ:
		form_start(out, q);
		put(out, "<fieldset>\n<legend>Choose one answer</legend>\n");
		for (size_t i = 0; q->choices != NULL && i < q->nchoices; i++) {
			evbuffer_add_printf(out, "<label class=\"choice\" for=\"%sc%zu\">"
			    "<input type=\"radio\" id=\"%sc%zu\" name=\"choice\" value=\"%zu\" "
			    "required>", idp, i, idp, i, i);
			put_elem(out, "span", "", q->lang, q->choices[i] != NULL ? q->choices[i] : "");
			put(out, "</label>\n");
		}
		put(out, "</fieldset>\n<button type=\"submit\">Check my answer</button>\n</form>\n");
		break;
	case GRADE_SHORT:
		form_start(out, q);
		/* Characters of up to 4 bytes: never more than GRADE_TEXT_MAX bytes. */
		evbuffer_add_printf(out, "<label for=\"%sanswer\">Your answer</label>\n"
		    "<input type=\"text\" id=\"%sanswer\" name=\"answer\" required maxlength=\"%d\" "
		    "autocomplete=\"off\" autocapitalize=\"none\" autocorrect=\"off\" "
		    "spellcheck=\"false\" aria-describedby=\"%sprompt\"", idp, idp,
		    GRADE_TEXT_MAX / 4, idp);
		put_lang(out, q->lang);
		put(out, ">\n<button type=\"submit\">Check my answer</button>\n</form>\n");
		break;
	case GRADE_SELF:
		put(out, "<p>Think of the answer first. Then say how well you remembered it.</p>\n");
		if (q->answer != NULL) {
			put(out, "<details>\n<summary>Show the answer</summary>\n");
			put_elem(out, "p", "class=\"prompt\"", q->lang, q->answer);
			put(out, "</details>\n");
		}
		form_start(out, q);
		put(out, "<fieldset>\n<legend>How well did you remember it?</legend>\n");
		for (size_t i = 0; i < nitems(self_ratings); i++)
			evbuffer_add_printf(out, "<button type=\"submit\" name=\"rating\" "
			    "value=\"%d\">%s</button>\n", self_ratings[i].rating, self_ratings[i].text);
		put(out, "</fieldset>\n</form>\n");
		break;
	case GRADE_EXTERNAL:
	default:
		put(out, "<p>This question is marked by your teacher or your school's system, "
		    "not on this page. There is nothing to send here.</p>\n");
		break;
	}
}

void
answer_page_question(struct evbuffer *out, const struct answer_page_question *q)
{
	page_start(out, "Question");
	if (q->heading != NULL)
		put_elem(out, "p", "class=\"unit\"", q->lang, q->heading);
	question_body(out, q, "", "h1");
	page_end(out);
}

void
answer_page_question_part(struct evbuffer *out, const struct answer_page_question *q,
    const char *idp)
{
	question_body(out, q, idp, "h3");
}

void
answer_page_start(struct evbuffer *out, const char *title)
{
	page_start(out, title);
}

void
answer_page_end(struct evbuffer *out)
{
	page_end(out);
}

static const char *const level_titles[] = { "Emerging", "Developing", "Secure", "Mastery" };

/* 0..3 for a level's name in either case; -1 for anything else. */
static int
level_rank(const char *name)
{
	for (int i = 0; name != NULL && i < (int)nitems(level_titles); i++)
		if (strcasecmp(name, level_titles[i]) == 0)
			return i;
	return -1;
}

void
answer_page_feedback(struct evbuffer *out, const struct answer_page_feedback *f)
{
	static const char *const said[] = {
		[ANSWER_PAGE_RIGHT] = "Right!",
		[ANSWER_PAGE_WRONG] = "Not quite.",
		[ANSWER_PAGE_RECORDED] = "Thank you, your answer is saved.",
	};
	static const char *const was[] = {
		[ANSWER_PAGE_RIGHT] = "Your answer was right.",
		[ANSWER_PAGE_WRONG] = "Your answer was not right.",
		[ANSWER_PAGE_RECORDED] = "Your answer is saved.",
	};
	unsigned o = f->outcome <= ANSWER_PAGE_RECORDED ? f->outcome : ANSWER_PAGE_RECORDED;
	const char *cls = o == ANSWER_PAGE_RIGHT ? "class=\"right\"" :
	    o == ANSWER_PAGE_WRONG ? "class=\"wrong\"" : "";

	if (f->repeat) {
		page_start(out, "Already answered");
		put(out, "<h1>You already answered this question</h1>\n"
		    "<p>Here is what you answered.</p>\n");
		put_elem(out, "p", cls, NULL, was[o]);
	} else {
		page_start(out, o == ANSWER_PAGE_RIGHT ? "Right" : o == ANSWER_PAGE_WRONG ?
		    "Not quite" : "Saved");
		put_elem(out, "h1", cls, NULL, said[o]);
	}
	if (f->prompt != NULL) {
		put(out, "<h2>Question</h2>\n");
		put_elem(out, "p", "class=\"prompt\"", f->lang, f->prompt);
	}
	if (f->given != NULL) {
		put(out, "<h2>Your answer</h2>\n");
		put_elem(out, "p", "class=\"prompt\"", f->lang, f->given);
	}
	if (f->answer != NULL) {
		put(out, "<h2>The right answer</h2>\n");
		put_elem(out, "p", "class=\"prompt\"", f->lang, f->answer);
	}
	if (f->explanation != NULL) {
		put(out, "<h2>Why</h2>\n");
		put_elem(out, "p", "class=\"prompt\"", f->lang, f->explanation);
	}
	if (f->level != NULL || f->next != NULL) {
		int now = level_rank(f->level), before = level_rank(f->level_before);

		put(out, "<h2>Your level</h2>\n");
		if (now >= 0 && before >= 0 && now != before) {
			/* the change, in the pupil's words */
			evbuffer_add_printf(out, "<p><strong>You moved %s from %s to %s",
			    now > before ? "up" : "down", level_titles[before], level_titles[now]);
			if (f->unit != NULL) {
				put(out, " in <span");
				put_lang(out, f->lang);
				put(out, ">");
				answer_page_escape(out, f->unit);
				put(out, "</span>");
			}
			put(out, now > before ? ".</strong> Well done!</p>\n" :
			    ".</strong> Practising the questions you missed brings it back.</p>\n");
		} else if (f->level != NULL) {
			put(out, "<p>Your level for ");
			if (f->unit != NULL) {
				put(out, "<span");
				put_lang(out, f->lang);
				put(out, ">");
				answer_page_escape(out, f->unit);
				put(out, "</span>");
			} else {
				put(out, "this unit");
			}
			put(out, ": <strong>");
			if (now >= 0)
				put(out, level_titles[now]);
			else
				answer_page_escape(out, f->level);
			put(out, "</strong>.</p>\n");
		}
		if (f->next != NULL)
			put_elem(out, "p", "", NULL, f->next);
	}
	if (f->progress_url != NULL) {
		put(out, "<p><a href=\"");
		answer_page_escape(out, f->progress_url);
		put(out, "\">See all your units and what each level needs</a></p>\n");
	}
	put(out, "<p>You can close this page now.</p>\n");
	page_end(out);
}

/* A message page, with a link back to the question when back is set. */
static void
message_page(struct evbuffer *out, const char *title, const char *text, const char *back)
{
	page_start(out, title != NULL ? title : "");
	put_elem(out, "h1", "", NULL, title != NULL ? title : "");
	if (text != NULL)
		put_elem(out, "p", "", NULL, text);
	if (back != NULL) {
		put(out, "<p><a href=\"");
		answer_page_escape(out, back);
		put(out, "\">Back to the question</a></p>\n");
	}
	page_end(out);
}

void
answer_page_message(struct evbuffer *out, const char *title, const char *text)
{
	message_page(out, title, text, NULL);
}

void
answer_page_headers(struct evkeyvalq *h)
{
	answer_page_headers_framed(h, NULL);
}

void
answer_page_headers_framed(struct evkeyvalq *h, const char *ancestors)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char b64[B64_SIZE(EVP_MAX_MD_SIZE)], csp[1024];
	bool framed = ancestors != NULL && ancestors[0] != '\0';
	static const char *const names[] = {
		"Content-Security-Policy", "Referrer-Policy", "Cache-Control",
		"X-Frame-Options", "X-Content-Type-Options",
	};

	if (EVP_Digest(css, sizeof css - 1, md, &mdlen, EVP_sha256(), NULL) != 1)
		abort();	/* SHA-256 cannot fail but for lack of memory */
	if (!b64_encode(md, mdlen, b64, sizeof b64))
		abort();	/* B64_SIZE always fits */
	snprintf(csp, sizeof csp, "default-src 'none'; style-src 'sha256-%s'; "
	    "form-action 'self'; frame-ancestors %s; base-uri 'none'", b64,
	    framed ? ancestors : "'none'");
	for (size_t i = 0; i < nitems(names); i++)
		while (evhttp_remove_header(h, names[i]) == 0)
			;
	evhttp_add_header(h, "Content-Security-Policy", csp);
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
	evhttp_add_header(h, "Cache-Control", "no-store");
	if (!framed)
		evhttp_add_header(h, "X-Frame-Options", "DENY");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
}

/* ---- the route ---- */

struct page_call {
	http_ctx *ctx;
	const char *frame;	/* the ops' frame_ancestors */
	bool post;
	int64_t now_ms;
	char action[4 + ALINK_TOKEN_MAX];	/* "/a/<token>" */
};

void
answer_page_send(http_ctx *ctx, int status, struct evbuffer *body)
{
	answer_page_send_framed(ctx, status, body, NULL);
}

void
answer_page_send_framed(http_ctx *ctx, int status, struct evbuffer *body, const char *ancestors)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(http_ctx_req(ctx));

	answer_page_headers_framed(h, ancestors);
	/* http_reply adds these two itself. */
	evhttp_remove_header(h, "Cache-Control");
	evhttp_remove_header(h, "X-Content-Type-Options");
	if (status == 503)
		evhttp_add_header(h, "Retry-After", "30");
	http_reply(ctx, status, "text/html; charset=utf-8", body);
}

static void
send_message(http_ctx *ctx, const char *frame, int status, const char *title, const char *text,
    const char *back)
{
	struct evbuffer *b = evbuffer_new();

	message_page(b, title, text, back);
	answer_page_send_framed(ctx, status, b, frame);
	evbuffer_free(b);
}

#define MSG_BAD_LINK "This answer link is not valid. Check that you opened all of it, " \
	"or use the newest link you were sent."
#define MSG_EXPIRED "The time to answer this question is over. " \
	"It will come back in a later set of questions."
#define MSG_GONE "This question is not available any more."
#define MSG_UNAVAILABLE "Answers cannot be taken right now. Please try again in a few minutes."

static void
view_cb(const struct answer_page_view *v, void *arg)
{
	struct page_call *c = arg;
	struct evbuffer *b = evbuffer_new();
	struct answer_page_question q = v->question;
	struct answer_page_feedback f = v->feedback;
	int status = 200;

	q.action = c->action;
	q.started_ms = c->now_ms;
	switch (v->state) {
	case ANSWER_PAGE_SHOW:
		q.error = NULL;
		answer_page_question(b, &q);
		break;
	case ANSWER_PAGE_ANSWERED:
		f.repeat = true;
		/* FALLTHROUGH */
	case ANSWER_PAGE_FEEDBACK:
		answer_page_feedback(b, &f);
		break;
	case ANSWER_PAGE_EXPIRED:
		status = 410;
		message_page(b, "This link has expired", MSG_EXPIRED, NULL);
		break;
	case ANSWER_PAGE_INVALID:
		status = 422;
		if (q.prompt != NULL) {
			q.error = v->message != NULL ? v->message : "that answer could not be taken.";
			answer_page_question(b, &q);
		} else {
			message_page(b, "Please try again", v->message != NULL ? v->message :
			    "That answer could not be taken.", c->action);
		}
		break;
	case ANSWER_PAGE_GONE:
		status = 404;
		message_page(b, "Question not found", MSG_GONE, NULL);
		break;
	case ANSWER_PAGE_UNAVAILABLE:
	default:
		status = 503;
		message_page(b, "Please try again soon", MSG_UNAVAILABLE, NULL);
		break;
	}
	answer_page_send_framed(c->ctx, status, b, c->frame);
	evbuffer_free(b);
	free(c);
}

/* Decimal digits only, 1 to 18 of them, at most max. */
static bool
parse_num(const char *s, int64_t max, int64_t *out)
{
	int64_t v = 0;
	size_t n = strlen(s);

	if (n == 0 || n > 18 || strspn(s, "0123456789") != n)
		return false;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	if (v > max)
		return false;
	*out = v;
	return true;
}

/*
 * Read the posted form into kv and in (whose text points into kv).
 * Answers the request and returns false when it cannot be read.
 */
static bool
read_form(struct page_call *c, struct evkeyvalq *kv, struct grade_input *in)
{
	struct evhttp_request *req = http_ctx_req(c->ctx);
	struct evbuffer *body = evhttp_request_get_input_buffer(req);
	const char *ct = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Content-Type");
	static const char form_type[] = "application/x-www-form-urlencoded";
	const char *v;
	size_t len = evbuffer_get_length(body);
	char *text;
	int64_t n;
	int rc;

	if (ct == NULL || strncasecmp(ct, form_type, sizeof form_type - 1) != 0 ||
	    (ct[sizeof form_type - 1] != '\0' && ct[sizeof form_type - 1] != ';' &&
	    ct[sizeof form_type - 1] != ' ')) {
		send_message(c->ctx, c->frame, 415, "Could not read the answer",
		    "Please send the answer from the question page.", c->action);
		return false;
	}
	if (len > ANSWER_PAGE_MAX_BODY) {
		send_message(c->ctx, c->frame, 413, "The answer is too long",
		    "Please send a shorter answer.", c->action);
		return false;
	}
	text = xmalloc(len + 1);
	evbuffer_copyout(body, text, len);
	text[len] = '\0';
	rc = strlen(text) == len ? evhttp_parse_query_str(text, kv) : -1;
	free(text);
	if (rc != 0) {
		send_message(c->ctx, c->frame, 400, "Could not read the answer",
		    "Please send the answer from the question page.", c->action);
		return false;
	}
	if ((v = evhttp_find_header(kv, "choice")) != NULL) {
		if (!parse_num(v, 1000, &n)) {
			send_message(c->ctx, c->frame, 422, "Please try again",
			    "Please choose one of the answers.", c->action);
			return false;
		}
		in->choice = (int)n;
	}
	if ((v = evhttp_find_header(kv, "rating")) != NULL) {
		if (!parse_num(v, 4, &n) || n < 1) {
			send_message(c->ctx, c->frame, 422, "Please try again",
			    "Please choose how well you remembered it.", c->action);
			return false;
		}
		in->rating = (int)n;
	}
	if ((v = evhttp_find_header(kv, "answer")) != NULL) {
		if (strlen(v) > GRADE_TEXT_MAX) {
			send_message(c->ctx, c->frame, 422, "The answer is too long",
			    "Please send a shorter answer.", c->action);
			return false;
		}
		in->text = v;
	}
	if (in->choice == -1 && in->rating == 0 && in->text == NULL) {
		send_message(c->ctx, c->frame, 422, "Please try again",
		    "Please choose or type an answer before sending it.", c->action);
		return false;
	}
	/* The latency from the page's start time, when it is believable. */
	if ((v = evhttp_find_header(kv, "t")) != NULL && parse_num(v, INT64_MAX / 2, &n) &&
	    n > 0 && n <= c->now_ms && c->now_ms - n <= ANSWER_PAGE_MAX_LATENCY_MS)
		in->latency_ms = c->now_ms - n;
	return true;
}

static void
page_handler(http_ctx *ctx, void *app, const void *data)
{
	const struct answer_page_ops *ops = data;
	const char *token = http_ctx_param(ctx, "token");
	enum alink_status st = ALINK_BAD;
	int64_t now_us, school = 0, prompt = 0;
	struct page_call *c;

	now_us = ops->now_us != NULL ? ops->now_us(app) : clock_now_us();
	if (token == NULL || ops->keys == NULL ||
	    !alink_check(ops->keys, token, now_us / 1000000, &school, &prompt, &st)) {
		if (st == ALINK_EXPIRED)
			send_message(ctx, ops->frame_ancestors, 410, "This link has expired", MSG_EXPIRED, NULL);
		else
			send_message(ctx, ops->frame_ancestors, 404, "Link not valid", MSG_BAD_LINK, NULL);
		return;
	}
	c = xcalloc(1, sizeof *c);
	c->ctx = ctx;
	c->frame = ops->frame_ancestors;
	c->now_ms = now_us / 1000;
	c->post = evhttp_request_get_command(http_ctx_req(ctx)) == EVHTTP_REQ_POST;
	snprintf(c->action, sizeof c->action, "/a/%s", token);
	if (!c->post) {
		if (ops->load == NULL) {
			free(c);
			send_message(ctx, ops->frame_ancestors, 503, "Please try again soon", MSG_UNAVAILABLE, NULL);
			return;
		}
		ops->load(app, school, prompt, view_cb, c);
		return;
	}
	{
		struct evkeyvalq kv;
		struct grade_input in = GRADE_INPUT_INIT;

		TAILQ_INIT(&kv);
		if (ops->submit == NULL) {
			free(c);
			send_message(ctx, ops->frame_ancestors, 503, "Please try again soon", MSG_UNAVAILABLE, NULL);
		} else if (read_form(c, &kv, &in)) {
			ops->submit(app, school, prompt, &in, view_cb, c);
		} else {
			free(c);
		}
		evhttp_clear_headers(&kv);
	}
}

void
answer_page_routes(http_server *s, const struct answer_page_ops *ops)
{
	struct answer_page_ops *get = xmalloc(sizeof *get), *post = xmalloc(sizeof *post);

	/* One copy each: the server frees every route's data. */
	*get = *ops;
	*post = *ops;
	http_route_data(s, EVHTTP_REQ_GET, "/a/{token}", page_handler, get);
	http_route_data(s, EVHTTP_REQ_POST, "/a/{token}", page_handler, post);
}
