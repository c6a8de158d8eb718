/*
 * test_answer_page.c: the answer page's HTML (escaping, labels, forms),
 * its headers, and the /a/{token} route on a real evhttp server in this
 * process with stand-in load/submit operations.
 */
#include "autoconf.h"

#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "alink.h"
#include "answer_page.h"
#include "grade.h"
#include "http.h"
#include "log.h"

#define HOSTILE "<script>alert(\"x\")</script> & 'q' <img src=x onerror=alert(1)>"
#define HOSTILE_ESC "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39; " \
	"&lt;img src=x onerror=alert(1)&gt;"

static char *
take(struct evbuffer *b)
{
	size_t n = evbuffer_get_length(b);
	char *s = malloc(n + 1);

	evbuffer_remove(b, s, n);
	s[n] = '\0';
	evbuffer_free(b);
	return s;
}

static size_t
count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

#define has(s, sub) ck_assert_msg(strstr((s), (sub)) != NULL, "missing: %s", (sub))
#define hasnt(s, sub) ck_assert_msg(strstr((s), (sub)) == NULL, "present: %s", (sub))

/* What every page must be: a phone-friendly, script-free HTML document. */
static void
page_shape(const char *html)
{
	ck_assert_msg(strncmp(html, "<!DOCTYPE html>\n<html lang=\"en\">", 31) == 0, "%.40s", html);
	has(html, "<meta charset=\"utf-8\">");
	has(html, "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
	has(html, "<title>");
	ck_assert_uint_eq(count(html, "<main>"), 1);
	ck_assert_uint_eq(count(html, "</main>"), 1);
	ck_assert_uint_eq(count(html, "<h1"), 1);
	ck_assert_uint_eq(count(html, "<style>"), 1);
	hasnt(html, "<script");
	hasnt(html, "<img");
	hasnt(html, "src=\"");
	hasnt(html, "http://");
	hasnt(html, "https://");
	ck_assert_msg(strcmp(html + strlen(html) - 8, "</html>\n") == 0, "unterminated");
}

static char *
escaped(const char *s)
{
	struct evbuffer *b = evbuffer_new();

	answer_page_escape(b, s);
	return take(b);
}

START_TEST(test_escape)
{
	char *s;

	s = escaped(HOSTILE);
	ck_assert_str_eq(s, HOSTILE_ESC);
	free(s);
	s = escaped("a\x01" "b\tc\nd\r\x7f" "e");
	ck_assert_str_eq(s, "ab\tc\nd\re");
	free(s);
	s = escaped("le frère, 東京 & co");
	ck_assert_str_eq(s, "le frère, 東京 &amp; co");
	free(s);
	s = escaped("");
	ck_assert_str_eq(s, "");
	free(s);
	s = escaped(NULL);
	ck_assert_str_eq(s, "");
	free(s);
	s = escaped("&amp;");		/* no double meaning */
	ck_assert_str_eq(s, "&amp;amp;");
	free(s);
}
END_TEST

static const char *const hostile_choices[] = { "Berlin", HOSTILE, "\"Rome\"", "O'Neil & co" };

static char *
render_q(const struct answer_page_question *q)
{
	struct evbuffer *b = evbuffer_new();

	answer_page_question(b, q);
	return take(b);
}

START_TEST(test_question_mcq)
{
	struct answer_page_question q = {
		.action = "/a/AbC-_9", .lang = "fr", .heading = "Unit <1>", .prompt = HOSTILE,
		.kind = GRADE_MCQ, .choices = hostile_choices, .nchoices = 4,
		.started_ms = 1790000000123LL,
	};
	char *h = render_q(&q), buf[128];

	page_shape(h);
	has(h, "<h1 id=\"prompt\" class=\"prompt\" lang=\"fr\">" HOSTILE_ESC "</h1>");
	has(h, "<p class=\"unit\" lang=\"fr\">Unit &lt;1&gt;</p>");
	has(h, "<form method=\"post\" action=\"/a/AbC-_9\">");
	has(h, "<input type=\"hidden\" name=\"t\" value=\"1790000000123\">");
	has(h, "<fieldset>\n<legend>Choose one answer</legend>");
	for (int i = 0; i < 4; i++) {
		snprintf(buf, sizeof buf, "<label class=\"choice\" for=\"c%d\"><input type=\"radio\" "
		    "id=\"c%d\" name=\"choice\" value=\"%d\" required>", i, i, i);
		has(h, buf);
	}
	ck_assert_uint_eq(count(h, "type=\"radio\""), 4);
	ck_assert_uint_eq(count(h, "<label"), 4);
	has(h, "<span lang=\"fr\">" HOSTILE_ESC "</span>");
	has(h, "<span lang=\"fr\">&quot;Rome&quot;</span>");
	has(h, "O&#39;Neil &amp; co");
	has(h, "<button type=\"submit\">Check my answer</button>");
	hasnt(h, "role=\"alert\"");
	free(h);

	/* A hostile action and language cannot break out of attributes. */
	q.action = "/a/x\"><script>";
	q.lang = "en\" onload=\"x";
	q.error = "<b>no</b>";
	h = render_q(&q);
	page_shape(h);
	has(h, "action=\"/a/x&quot;&gt;&lt;script&gt;\"");
	hasnt(h, "onload");
	has(h, "<p class=\"error\" role=\"alert\"><strong>Please try again.</strong> "
	    "&lt;b&gt;no&lt;/b&gt;</p>");
	free(h);
}
END_TEST

START_TEST(test_question_short)
{
	struct answer_page_question q = {
		.action = "/a/tok", .prompt = "Name the <organelle>\nthat makes energy.",
		.kind = GRADE_SHORT, .started_ms = 42,
	};
	char *h = render_q(&q);

	page_shape(h);
	has(h, "<h1 id=\"prompt\" class=\"prompt\">Name the &lt;organelle&gt;\nthat makes energy.</h1>");
	has(h, "<label for=\"answer\">Your answer</label>");
	has(h, "<input type=\"text\" id=\"answer\" name=\"answer\" required");
	has(h, "aria-describedby=\"prompt\"");
	has(h, "<form method=\"post\" action=\"/a/tok\">");
	has(h, "name=\"t\" value=\"42\"");
	hasnt(h, "type=\"radio\"");
	free(h);
}
END_TEST

START_TEST(test_question_self)
{
	struct answer_page_question q = {
		.action = "/a/tok", .prompt = "What is 7 x 8?", .kind = GRADE_SELF,
		.answer = "56 <exactly>", .started_ms = 1,
	};
	char *h = render_q(&q), buf[96];

	page_shape(h);
	for (int r = 1; r <= 4; r++) {
		snprintf(buf, sizeof buf, "<button type=\"submit\" name=\"rating\" value=\"%d\">", r);
		has(h, buf);
	}
	ck_assert_uint_eq(count(h, "<button"), 4);
	has(h, "<legend>How well did you remember it?</legend>");
	has(h, "<details>\n<summary>Show the answer</summary>");
	has(h, "56 &lt;exactly&gt;");
	free(h);
	q.answer = NULL;
	h = render_q(&q);
	hasnt(h, "<details>");
	free(h);
}
END_TEST

START_TEST(test_question_external)
{
	struct answer_page_question q = {
		.action = "/a/tok", .prompt = "Write an essay", .kind = GRADE_EXTERNAL,
	};
	char *h = render_q(&q);

	page_shape(h);
	hasnt(h, "<form");
	has(h, "marked by your teacher");
	free(h);
}
END_TEST

static char *
render_f(const struct answer_page_feedback *f)
{
	struct evbuffer *b = evbuffer_new();

	answer_page_feedback(b, f);
	return take(b);
}

START_TEST(test_feedback)
{
	struct answer_page_feedback f = {
		.outcome = ANSWER_PAGE_WRONG, .prompt = HOSTILE, .given = "<b>ribosome</b>",
		.answer = "Mitochondria & co", .explanation = "It's where \"respiration\" happens.",
		.unit = "Cells <KS3>", .level = "Developing",
		.next = "2 more questions answered correctly for <Secure>.",
	};
	char *h = render_f(&f);

	page_shape(h);
	has(h, "<h1 class=\"wrong\">Not quite.</h1>");
	has(h, HOSTILE_ESC);
	has(h, "&lt;b&gt;ribosome&lt;/b&gt;");
	has(h, "<h2>The right answer</h2>\n<p class=\"prompt\">Mitochondria &amp; co</p>");
	has(h, "It&#39;s where &quot;respiration&quot; happens.");
	has(h, "Your level for <span>Cells &lt;KS3&gt;</span>: <strong>Developing</strong>.");
	has(h, "2 more questions answered correctly for &lt;Secure&gt;.");
	hasnt(h, "already");
	hasnt(h, "See all your units");
	free(h);

	/* a level change in the pupil's words, and the way to their own page */
	f.level = "secure";
	f.level_before = "developing";
	f.progress_url = "https://r.example/p/tok\"en";
	h = render_f(&f);
	has(h, "<strong>You moved up from Developing to Secure in <span>Cells &lt;KS3&gt;</span>."
	    "</strong> Well done!");
	has(h, "<a href=\"https://r.example/p/tok&quot;en\">See all your units");
	free(h);
	f.level = "emerging";
	f.level_before = "developing";
	h = render_f(&f);
	has(h, "You moved down from Developing to Emerging");
	free(h);
	f.level = "Developing";
	f.level_before = NULL;
	f.progress_url = NULL;

	f.outcome = ANSWER_PAGE_RIGHT;
	f.explanation = NULL;
	f.unit = NULL;
	f.lang = "de";
	h = render_f(&f);
	page_shape(h);
	has(h, "<h1 class=\"right\">Right!</h1>");
	hasnt(h, "<h2>Why</h2>");
	has(h, "Your level for this unit: <strong>Developing</strong>.");
	has(h, "<p class=\"prompt\" lang=\"de\">Mitochondria &amp; co</p>");
	free(h);

	f.outcome = ANSWER_PAGE_RECORDED;
	f.level = f.next = NULL;
	f.repeat = true;
	h = render_f(&f);
	page_shape(h);
	has(h, "<h1>You already answered this question</h1>");
	has(h, "Here is what you answered.");
	has(h, "Your answer is saved.");
	hasnt(h, "Your level");
	free(h);

	f.outcome = ANSWER_PAGE_WRONG;
	h = render_f(&f);
	has(h, "<p class=\"wrong\">Your answer was not right.</p>");
	free(h);
}
END_TEST

START_TEST(test_message)
{
	struct evbuffer *b = evbuffer_new();
	char *h;

	answer_page_message(b, "This link has <expired>", "Ask your teacher & \"try\"");
	h = take(b);
	page_shape(h);
	has(h, "<title>This link has &lt;expired&gt;</title>");
	has(h, "<h1>This link has &lt;expired&gt;</h1>");
	has(h, "<p>Ask your teacher &amp; &quot;try&quot;</p>");
	free(h);
	b = evbuffer_new();
	answer_page_message(b, NULL, NULL);
	h = take(b);
	page_shape(h);
	free(h);
}
END_TEST

/* The style-src hash in the CSP is that of the page's one <style>. */
static void
csp_matches(const char *csp, const char *html)
{
	const char *a = strstr(html, "<style>"), *z = strstr(html, "</style>");
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;
	char b64[64], want[96];

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(z);
	a += 7;
	EVP_Digest(a, (size_t)(z - a), md, &mdlen, EVP_sha256(), NULL);
	EVP_EncodeBlock((unsigned char *)b64, md, (int)mdlen);
	snprintf(want, sizeof want, "style-src 'sha256-%s'", b64);
	has(csp, want);
	has(csp, "default-src 'none'");
	has(csp, "form-action 'self'");
	has(csp, "frame-ancestors 'none'");
	hasnt(csp, "unsafe");
	hasnt(csp, "script-src");
}

static size_t
header_count(struct evkeyvalq *h, const char *name)
{
	size_t n = 0;

	for (struct evkeyval *kv = h->tqh_first; kv != NULL; kv = kv->next.tqe_next)
		if (strcasecmp(kv->key, name) == 0)
			n++;
	return n;
}

START_TEST(test_headers)
{
	struct evhttp_request *req = evhttp_request_new(NULL, NULL);
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *b = evbuffer_new();
	char *html;

	evhttp_add_header(h, "Cache-Control", "public, max-age=3600");
	evhttp_add_header(h, "X-Other", "kept");
	answer_page_headers(h);
	answer_page_headers(h);		/* idempotent */
	answer_page_message(b, "t", "x");
	html = take(b);
	csp_matches(evhttp_find_header(h, "Content-Security-Policy"), html);
	ck_assert_str_eq(evhttp_find_header(h, "Referrer-Policy"), "no-referrer");
	ck_assert_str_eq(evhttp_find_header(h, "Cache-Control"), "no-store");
	ck_assert_str_eq(evhttp_find_header(h, "X-Frame-Options"), "DENY");
	ck_assert_str_eq(evhttp_find_header(h, "X-Content-Type-Options"), "nosniff");
	ck_assert_str_eq(evhttp_find_header(h, "X-Other"), "kept");
	ck_assert_uint_eq(header_count(h, "Cache-Control"), 1);
	ck_assert_uint_eq(header_count(h, "Content-Security-Policy"), 1);
	free(html);
	evhttp_request_free(req);
}
END_TEST

/* ---- the route, in process ---- */

#define NOW_US 1790000000000000LL
#define NOW_MS (NOW_US / 1000)

static struct event_base *base;
static http_server *srv;
static struct alink_keys keys;
static int port;

/* What submit saw. */
static struct {
	int calls;
	int64_t school, prompt;
	char text[256];
	bool has_text;
	int choice, rating;
	int64_t latency;
} seen;

/* A submit answered later, from the loop. */
static struct {
	answer_page_cb cb;
	void *arg;
} later;

static int64_t
fake_now(void *app)
{
	return NOW_US;
}

static const char *const caps[] = { "Berlin", "Paris <capital>" };

static void
show_question(struct answer_page_view *v)
{
	v->question.prompt = "Capital of <France>?";
	v->question.kind = GRADE_MCQ;
	v->question.choices = caps;
	v->question.nchoices = 2;
	v->question.action = "/not/used";	/* the route sets its own */
	v->question.started_ms = 5;
}

static void
fake_load(void *app, int64_t school, int64_t prompt, answer_page_cb cb, void *arg)
{
	struct answer_page_view v;

	memset(&v, 0, sizeof v);
	ck_assert_int_eq(school, 7);
	switch (prompt) {
	case 1:
		v.state = ANSWER_PAGE_SHOW;
		show_question(&v);
		break;
	case 2:
		v.state = ANSWER_PAGE_ANSWERED;
		v.feedback.outcome = ANSWER_PAGE_RIGHT;
		v.feedback.given = "Paris";
		break;
	case 3:
		v.state = ANSWER_PAGE_EXPIRED;
		break;
	case 4:
		v.state = ANSWER_PAGE_GONE;
		break;
	default:
		v.state = ANSWER_PAGE_UNAVAILABLE;
		break;
	}
	cb(&v, arg);
}

static void
fire_later(evutil_socket_t fd, short what, void *arg)
{
	struct answer_page_view v;

	memset(&v, 0, sizeof v);
	v.state = ANSWER_PAGE_FEEDBACK;
	v.feedback.outcome = ANSWER_PAGE_WRONG;
	v.feedback.answer = "later";
	later.cb(&v, later.arg);
}

static void
fake_submit(void *app, int64_t school, int64_t prompt, const struct grade_input *in,
    answer_page_cb cb, void *arg)
{
	struct answer_page_view v;
	struct timeval zero = { 0, 0 };

	seen.calls++;
	seen.school = school;
	seen.prompt = prompt;
	seen.has_text = in->text != NULL;
	snprintf(seen.text, sizeof seen.text, "%s", in->text ? in->text : "");
	seen.choice = in->choice;
	seen.rating = in->rating;
	seen.latency = in->latency_ms;
	memset(&v, 0, sizeof v);
	switch (prompt) {
	case 1:
		v.state = ANSWER_PAGE_FEEDBACK;
		v.feedback.outcome = ANSWER_PAGE_RIGHT;
		v.feedback.answer = "Paris";
		v.feedback.next = "Next: <more>";
		break;
	case 6:
		v.state = ANSWER_PAGE_INVALID;
		v.message = "not a <choice>";
		show_question(&v);
		break;
	case 7:
		v.state = ANSWER_PAGE_INVALID;
		v.message = "self-rating is turned off";
		break;
	case 8:
		later.cb = cb;
		later.arg = arg;
		event_base_once(base, -1, EV_TIMEOUT, fire_later, NULL, &zero);
		return;
	default:
		v.state = ANSWER_PAGE_ANSWERED;
		v.feedback.outcome = ANSWER_PAGE_WRONG;
		break;
	}
	cb(&v, arg);
}

/* (Re)start the server with these ops on a free port. */
static void
serve(const struct answer_page_ops *ops)
{
	struct http_opts o = { .max_body = 1 << 20, .max_headers = 16384, .timeout_ms = 5000 };
	char err[128];

	http_server_free(srv);
	srv = http_server_new(base, &o, NULL);
	answer_page_routes(srv, ops);
	if (port == 0)
		port = 21000 + (int)(getpid() % 20000);
	for (int i = 0;; i++, port += 11) {
		char listen[64];

		ck_assert_int_lt(i, 20);
		snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
		if (http_server_listen(srv, listen, err, sizeof err))
			break;
	}
}

static void
route_setup(void)
{
	struct answer_page_ops ops = {
		.keys = &keys, .now_us = fake_now, .load = fake_load, .submit = fake_submit,
	};
	unsigned char raw[32];
	char text[64], err[128];

	ck_assert_int_eq(RAND_bytes(raw, sizeof raw), 1);
	EVP_EncodeBlock((unsigned char *)text, raw, sizeof raw);
	ck_assert(alink_keys_parse(text, NULL, &keys, err, sizeof err));
	base = event_base_new();
	srv = NULL;
	port = 0;
	serve(&ops);
	memset(&seen, 0, sizeof seen);
}

static void
route_teardown(void)
{
	http_server_free(srv);
	event_base_free(base);
	alink_keys_clear(&keys);
}

struct response {
	int status;
	char *body;
	struct evkeyvalq headers;
	bool done;
};

static void
response_cb(struct evhttp_request *req, void *arg)
{
	struct response *r = arg;

	r->done = true;
	if (req != NULL) {
		struct evkeyvalq *h = evhttp_request_get_input_headers(req);

		r->status = evhttp_request_get_response_code(req);
		{
			struct evbuffer *b = evhttp_request_get_input_buffer(req);
			size_t n = evbuffer_get_length(b);

			r->body = malloc(n + 1);
			evbuffer_copyout(b, r->body, n);
			r->body[n] = '\0';
		}
		for (struct evkeyval *kv = h->tqh_first; kv != NULL; kv = kv->next.tqe_next)
			evhttp_add_header(&r->headers, kv->key, kv->value);
	}
	event_base_loopbreak(base);
}

static void
response_free(struct response *r)
{
	free(r->body);
	evhttp_clear_headers(&r->headers);
}

static void
request(enum evhttp_cmd_type method, const char *path, const char *ctype, const char *body,
    struct response *r)
{
	struct evhttp_connection *conn = evhttp_connection_base_new(base, NULL, "127.0.0.1",
	    (unsigned short)port);
	struct evhttp_request *req;

	memset(r, 0, sizeof *r);
	TAILQ_INIT(&r->headers);
	req = evhttp_request_new(response_cb, r);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Host", "127.0.0.1");
	if (ctype != NULL)
		evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", ctype);
	if (body != NULL)
		evbuffer_add(evhttp_request_get_output_buffer(req), body, strlen(body));
	ck_assert_int_eq(evhttp_make_request(conn, req, method, path), 0);
	event_base_dispatch(base);
	ck_assert(r->done);
	if (r->body == NULL)
		r->body = strdup("");
	evhttp_connection_free(conn);
}

static void
link_for(int64_t prompt, int64_t expires, char *path)
{
	char tok[ALINK_TOKEN_MAX];

	ck_assert(alink_make(&keys, 7, prompt, expires, tok, sizeof tok));
	sprintf(path, "/a/%s", tok);
}

#define FORM "application/x-www-form-urlencoded"
#define LIVE (NOW_US / 1000000 + 3600)

/* Every answer of the route carries the strict headers, once each. */
static void
strict(struct response *r)
{
	ck_assert_str_eq(evhttp_find_header(&r->headers, "Content-Type"),
	    "text/html; charset=utf-8");
	ck_assert_str_eq(evhttp_find_header(&r->headers, "Referrer-Policy"), "no-referrer");
	ck_assert_str_eq(evhttp_find_header(&r->headers, "Cache-Control"), "no-store");
	ck_assert_str_eq(evhttp_find_header(&r->headers, "X-Frame-Options"), "DENY");
	ck_assert_uint_eq(header_count(&r->headers, "Cache-Control"), 1);
	ck_assert_uint_eq(header_count(&r->headers, "X-Content-Type-Options"), 1);
	ck_assert_uint_eq(header_count(&r->headers, "Content-Security-Policy"), 1);
	csp_matches(evhttp_find_header(&r->headers, "Content-Security-Policy"), r->body);
	page_shape(r->body);
}

START_TEST(test_route_get)
{
	struct response r;
	char path[128], buf[160];

	link_for(1, LIVE, path);
	request(EVHTTP_REQ_GET, path, NULL, NULL, &r);
	ck_assert_int_eq(r.status, 200);
	strict(&r);
	has(r.body, "Capital of &lt;France&gt;?");
	snprintf(buf, sizeof buf, "<form method=\"post\" action=\"%s\">", path);
	has(r.body, buf);
	snprintf(buf, sizeof buf, "name=\"t\" value=\"%" PRId64 "\"", (int64_t)NOW_MS);
	has(r.body, buf);
	has(r.body, "Paris &lt;capital&gt;");
	response_free(&r);

	link_for(2, LIVE, path);
	request(EVHTTP_REQ_GET, path, NULL, NULL, &r);
	ck_assert_int_eq(r.status, 200);
	strict(&r);
	has(r.body, "You already answered this question");
	response_free(&r);

	link_for(3, LIVE, path);
	request(EVHTTP_REQ_GET, path, NULL, NULL, &r);
	ck_assert_int_eq(r.status, 410);
	strict(&r);
	has(r.body, "This link has expired");
	response_free(&r);

	link_for(4, LIVE, path);
	request(EVHTTP_REQ_GET, path, NULL, NULL, &r);
	ck_assert_int_eq(r.status, 404);
	strict(&r);
	response_free(&r);

	link_for(5, LIVE, path);
	request(EVHTTP_REQ_GET, path, NULL, NULL, &r);
	ck_assert_int_eq(r.status, 503);
	strict(&r);
	ck_assert_ptr_nonnull(evhttp_find_header(&r.headers, "Retry-After"));
	response_free(&r);
	ck_assert_int_eq(seen.calls, 0);
}
END_TEST

/* A NUL in the path is no link, even after a good token: /a/<token>%00 is not /a/<token>. */
START_TEST(test_route_nul)
{
	struct response r;
	char path[128], nul[140];

	link_for(1, LIVE, path);
	snprintf(nul, sizeof nul, "%s%%00", path);
	request(EVHTTP_REQ_GET, nul, NULL, NULL, &r);
	ck_assert_int_eq(r.status, 404);
	response_free(&r);
	snprintf(nul, sizeof nul, "%s%%00x", path);
	request(EVHTTP_REQ_POST, nul, FORM, "answer=Paris", &r);
	ck_assert_int_eq(r.status, 404);
	response_free(&r);
	ck_assert_int_eq(seen.calls, 0);
	request(EVHTTP_REQ_GET, path, NULL, NULL, &r);
	ck_assert_int_eq(r.status, 200);
	response_free(&r);
}
END_TEST

START_TEST(test_route_links)
{
	struct response r;
	char path[128];

	/* Expired by the token itself: the ops are not asked. */
	link_for(1, NOW_US / 1000000, path);
	request(EVHTTP_REQ_GET, path, NULL, NULL, &r);
	ck_assert_int_eq(r.status, 410);
	strict(&r);
	has(r.body, "This link has expired");
	response_free(&r);
	request(EVHTTP_REQ_POST, path, FORM, "choice=1", &r);
	ck_assert_int_eq(r.status, 410);
	response_free(&r);

	/* Tampered, malformed. */
	link_for(1, LIVE, path);
	path[5] = path[5] == 'A' ? 'B' : 'A';
	request(EVHTTP_REQ_GET, path, NULL, NULL, &r);
	ck_assert_int_eq(r.status, 404);
	strict(&r);
	has(r.body, "Link not valid");
	response_free(&r);
	request(EVHTTP_REQ_POST, path, FORM, "choice=1", &r);
	ck_assert_int_eq(r.status, 404);
	response_free(&r);
	request(EVHTTP_REQ_GET, "/a/%3Cscript%3E", NULL, NULL, &r);
	ck_assert_int_eq(r.status, 404);
	strict(&r);
	hasnt(r.body, "<script");
	response_free(&r);
	ck_assert_int_eq(seen.calls, 0);

	/* Only GET and POST. */
	link_for(1, LIVE, path);
	request(EVHTTP_REQ_PUT, path, FORM, "choice=1", &r);
	ck_assert_int_eq(r.status, 405);
	response_free(&r);
}
END_TEST

START_TEST(test_route_post)
{
	struct response r;
	char path[128], body[256];

	link_for(1, LIVE, path);
	snprintf(body, sizeof body, "choice=1&t=%" PRId64, (int64_t)NOW_MS - 4200);
	request(EVHTTP_REQ_POST, path, FORM, body, &r);
	ck_assert_int_eq(r.status, 200);
	strict(&r);
	has(r.body, "<h1 class=\"right\">Right!</h1>");
	has(r.body, "Next: &lt;more&gt;");
	ck_assert_int_eq(seen.calls, 1);
	ck_assert_int_eq(seen.school, 7);
	ck_assert_int_eq(seen.prompt, 1);
	ck_assert_int_eq(seen.choice, 1);
	ck_assert_int_eq(seen.rating, 0);
	ck_assert(!seen.has_text);
	ck_assert_int_eq(seen.latency, 4200);
	response_free(&r);

	/* A typed answer: '+' and percent-escapes decoded; charset allowed. */
	request(EVHTTP_REQ_POST, path, FORM "; charset=UTF-8",
	    "answer=le+fr%C3%A8re+%26+co&t=abc", &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert(seen.has_text);
	ck_assert_str_eq(seen.text, "le frère & co");
	ck_assert_int_eq(seen.choice, -1);
	ck_assert_int_eq(seen.latency, -1);		/* t not a number */
	response_free(&r);

	/* A rating; start times in the future or too long ago give no latency. */
	snprintf(body, sizeof body, "rating=4&t=%" PRId64, (int64_t)NOW_MS + 1000);
	request(EVHTTP_REQ_POST, path, FORM, body, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(seen.rating, 4);
	ck_assert_int_eq(seen.latency, -1);
	response_free(&r);
	snprintf(body, sizeof body, "rating=2&t=%" PRId64,
	    (int64_t)NOW_MS - ANSWER_PAGE_MAX_LATENCY_MS - 1);
	request(EVHTTP_REQ_POST, path, FORM, body, &r);
	ck_assert_int_eq(seen.latency, -1);
	response_free(&r);
	snprintf(body, sizeof body, "rating=2&t=%" PRId64,
	    (int64_t)NOW_MS - ANSWER_PAGE_MAX_LATENCY_MS);
	request(EVHTTP_REQ_POST, path, FORM, body, &r);
	ck_assert_int_eq(seen.latency, ANSWER_PAGE_MAX_LATENCY_MS);
	response_free(&r);
	ck_assert_int_eq(seen.calls, 5);

	/* Answered later, from the loop. */
	link_for(8, LIVE, path);
	request(EVHTTP_REQ_POST, path, FORM, "choice=0", &r);
	ck_assert_int_eq(r.status, 200);
	strict(&r);
	has(r.body, "Not quite.");
	has(r.body, "later");
	response_free(&r);

	/* A repeat shows the first result. */
	link_for(9, LIVE, path);
	request(EVHTTP_REQ_POST, path, FORM, "choice=0", &r);
	ck_assert_int_eq(r.status, 200);
	has(r.body, "You already answered this question");
	response_free(&r);
}
END_TEST

START_TEST(test_route_post_bad)
{
	struct response r;
	char path[128], *big;
	static const struct {
		const char *ctype, *body;
		int status;
	} cases[] = {
		{ NULL, "choice=1", 415 },
		{ "application/json", "{\"choice\":1}", 415 },
		{ "application/x-www-form-urlencodedX", "choice=1", 415 },
		{ "multipart/form-data; boundary=x", "choice=1", 415 },
		{ FORM, "", 422 },
		{ FORM, "t=123", 422 },
		{ FORM, "choice=abc", 422 },
		{ FORM, "choice=-1", 422 },
		{ FORM, "choice=1001", 422 },
		{ FORM, "rating=5", 422 },
		{ FORM, "rating=0", 422 },
		{ FORM, "rating=", 422 },
	};

	link_for(1, LIVE, path);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		request(EVHTTP_REQ_POST, path, cases[i].ctype, cases[i].body, &r);
		ck_assert_msg(r.status == cases[i].status, "case %zu: %d", i, r.status);
		strict(&r);
		response_free(&r);
	}
	/* Too big a form, too long an answer. */
	big = malloc(ANSWER_PAGE_MAX_BODY + 16);
	memset(big, 'a', ANSWER_PAGE_MAX_BODY + 15);
	memcpy(big, "answer=", 7);
	big[ANSWER_PAGE_MAX_BODY + 15] = '\0';
	request(EVHTTP_REQ_POST, path, FORM, big, &r);
	ck_assert_int_eq(r.status, 413);
	strict(&r);
	response_free(&r);
	big[GRADE_TEXT_MAX + 8] = '\0';
	request(EVHTTP_REQ_POST, path, FORM, big, &r);
	ck_assert_int_eq(r.status, 422);
	response_free(&r);
	free(big);
	ck_assert_int_eq(seen.calls, 0);

	/* Refused by submit: the question again, with why; or a message. */
	link_for(6, LIVE, path);
	request(EVHTTP_REQ_POST, path, FORM, "choice=5", &r);
	ck_assert_int_eq(r.status, 422);
	strict(&r);
	has(r.body, "role=\"alert\"");
	has(r.body, "not a &lt;choice&gt;");
	has(r.body, "Capital of &lt;France&gt;?");
	response_free(&r);
	link_for(7, LIVE, path);
	request(EVHTTP_REQ_POST, path, FORM, "rating=3", &r);
	ck_assert_int_eq(r.status, 422);
	strict(&r);
	has(r.body, "self-rating is turned off");
	has(r.body, "Back to the question</a>");
	response_free(&r);
}
END_TEST

START_TEST(test_route_unwired)
{
	struct answer_page_ops ops = { .keys = NULL };
	struct response r;
	char path[128];

	/* No keys yet: every link is refused, nothing breaks. */
	serve(&ops);
	link_for(1, LIVE, path);
	request(EVHTTP_REQ_GET, path, NULL, NULL, &r);
	ck_assert_int_eq(r.status, 404);
	strict(&r);
	response_free(&r);
	/* Keys but no load/submit: try again later. */
	ops.keys = &keys;
	serve(&ops);
	link_for(1, INT64_MAX, path);
	request(EVHTTP_REQ_GET, path, NULL, NULL, &r);
	ck_assert_int_eq(r.status, 503);
	strict(&r);
	response_free(&r);
	request(EVHTTP_REQ_POST, path, FORM, "choice=1", &r);
	ck_assert_int_eq(r.status, 503);
	response_free(&r);
}
END_TEST

static Suite *
answer_page_suite(void)
{
	Suite *s = suite_create("answer_page");
	TCase *tr = tcase_create("render");
	TCase *tu = tcase_create("route");

	tcase_add_test(tr, test_escape);
	tcase_add_test(tr, test_question_mcq);
	tcase_add_test(tr, test_question_short);
	tcase_add_test(tr, test_question_self);
	tcase_add_test(tr, test_question_external);
	tcase_add_test(tr, test_feedback);
	tcase_add_test(tr, test_message);
	tcase_add_test(tr, test_headers);
	suite_add_tcase(s, tr);
	tcase_add_checked_fixture(tu, route_setup, route_teardown);
	tcase_add_test(tu, test_route_get);
	tcase_add_test(tu, test_route_links);
	tcase_add_test(tu, test_route_nul);
	tcase_add_test(tu, test_route_post);
	tcase_add_test(tu, test_route_post_bad);
	tcase_add_test(tu, test_route_unwired);
	suite_add_tcase(s, tu);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(answer_page_suite());
	int failed;

	log_init();
	log_set_level(LOG_LEVEL_ERROR);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
