/*
 * hfetch.c: outbound HTTP on the event loop (hfetch.h).
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include <curl/curl.h>

#include "curlev.h"
#include "hfetch.h"
#include "log.h"
#include "sbuf.h"
#include "ssrf.h"
#include "util.h"

#define DEFAULT_TIMEOUT_MS 10000L
#define DEFAULT_MAX_BODY ((size_t)1 << 20)

struct hfetch_req {
	TAILQ_ENTRY(hfetch_req) entry;
	hfetch *h;
	CURL *easy;
	struct curl_slist *headers;
	char *body_out;		/* what we send */
	struct sbuf in;		/* what came back */
	size_t max_body;
	bool too_big;
	char *link;
	struct ssrf_guard guard;
	char errbuf[CURL_ERROR_SIZE];
	hfetch_cb cb;
	void *arg;
	struct event *failed;	/* could not start: the callback from the loop */
	char *start_error;
};

TAILQ_HEAD(req_list, hfetch_req);

struct hfetch {
	struct event_base *base;
	curlev *cev;
	CURLM *multi;		/* curlev_multi(cev) */
	struct req_list reqs;
	int n;
};

static void
req_free(struct hfetch_req *r)
{
	hfetch *h = r->h;

	TAILQ_REMOVE(&h->reqs, r, entry);
	h->n--;
	if (r->easy != NULL) {
		curl_multi_remove_handle(h->multi, r->easy);
		curl_easy_cleanup(r->easy);
	}
	curl_slist_free_all(r->headers);
	if (r->failed != NULL)
		event_free(r->failed);
	sbuf_free(&r->in);
	free(r->body_out);
	free(r->link);
	free(r->start_error);
	free(r);
}

static size_t
write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct hfetch_req *r = arg;
	size_t n = size * nmemb;

	if (r->in.len + n > r->max_body) {
		r->too_big = true;
		return 0;	/* fails the transfer */
	}
	sbuf_put(&r->in, data, n);
	return n;
}

static size_t
header_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct hfetch_req *r = arg;
	size_t n = size * nmemb, v;
	char *old = r->link;

	if (n > 5 && strncasecmp(data, "link:", 5) == 0) {
		for (v = 5; v < n && (data[v] == ' ' || data[v] == '\t'); v++)
			;
		while (n > v && (data[n - 1] == '\r' || data[n - 1] == '\n' || data[n - 1] == ' '))
			n--;
		r->link = old == NULL ? xasprintf("%.*s", (int)(n - v), data + v) :
		    xasprintf("%s, %.*s", old, (int)(n - v), data + v);
		free(old);
	} else if (n >= 5 && strncmp(data, "HTTP/", 5) == 0 && r->link != NULL) {
		free(r->link);	/* a new response (after 100 Continue): its own headers */
		r->link = NULL;
	}
	return size * nmemb;
}

static void
finish(struct hfetch_req *r, CURLcode res)
{
	struct hfetch_reply rep = { 0 };
	char *ct = NULL;

	if (r->start_error != NULL) {
		rep.error = r->start_error;
	} else if (res != CURLE_OK) {
		rep.error = r->too_big ? "the answer is too large" :
		    r->guard.refused[0] != '\0' ? r->guard.refused :
		    r->errbuf[0] != '\0' ? r->errbuf : curl_easy_strerror(res);
	} else {
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &rep.status);
		curl_easy_getinfo(r->easy, CURLINFO_CONTENT_TYPE, &ct);
		rep.content_type = ct;
	}
	rep.body = sbuf_text(&r->in);
	rep.len = r->in.len;
	rep.link = r->link;
	r->cb(&rep, r->arg);
	req_free(r);
}

/* A transfer ended (curlev.h's callback). */
static void
transfer_done(CURL *easy, CURLcode res, void *arg)
{
	struct hfetch_req *r = NULL;

	(void)arg;
	curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&r);
	finish(r, res);
}

hfetch *
hfetch_new(struct event_base *base)
{
	hfetch *h = xcalloc(1, sizeof *h);

	h->base = base;
	TAILQ_INIT(&h->reqs);
	h->cev = curlev_new(base, transfer_done, h);
	h->multi = curlev_multi(h->cev);
	return h;
}

void
hfetch_free(hfetch *h)
{
	if (h == NULL)
		return;
	while (!TAILQ_EMPTY(&h->reqs))
		req_free(TAILQ_FIRST(&h->reqs));
	curlev_free(h->cev);
	free(h);
}

static void
failed_ev(evutil_socket_t fd, short what, void *arg)
{
	finish(arg, CURLE_FAILED_INIT);
}

static void
add_header(struct hfetch_req *r, const char *name, const char *value)
{
	char *line;
	struct curl_slist *l;

	if (value == NULL)
		return;
	line = xasprintf("%s: %s", name, value);
	l = curl_slist_append(r->headers, line);
	free(line);
	if (l == NULL)
		fatalx("hfetch", "out of memory", "");
	r->headers = l;
}

hfetch_req *
hfetch_start(hfetch *h, const struct hfetch_opts *o, hfetch_cb cb, void *arg)
{
	struct hfetch_req *r = xcalloc(1, sizeof *r);
	const char *method = o->method != NULL ? o->method : "GET";
	CURLMcode mc;

	r->h = h;
	r->cb = cb;
	r->arg = arg;
	r->max_body = o->max_body > 0 ? o->max_body : DEFAULT_MAX_BODY;
	TAILQ_INSERT_TAIL(&h->reqs, r, entry);
	h->n++;
	if ((r->easy = curl_easy_init()) == NULL) {
		r->start_error = xstrdup("curl_easy_init failed");
		goto fail;
	}
	add_header(r, "User-Agent", "recalld/" PACKAGE_VERSION);
	add_header(r, "Accept", o->accept);
	add_header(r, "Authorization", o->authorization);
	add_header(r, "Content-Type", o->body != NULL ? o->content_type : NULL);
	add_header(r, "Expect", "");
	curl_easy_setopt(r->easy, CURLOPT_URL, o->url);
	curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(r->easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, o->timeout_ms > 0 ? o->timeout_ms : DEFAULT_TIMEOUT_MS);
	curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(r->easy, CURLOPT_PRIVATE, r);
	curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->headers);
	curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(r->easy, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(r->easy, CURLOPT_HEADERDATA, r);
	if (o->body != NULL) {
		r->body_out = xstrdup(o->body);
		curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, r->body_out);
		curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(r->body_out));
	}
	if (strcmp(method, "GET") != 0)
		curl_easy_setopt(r->easy, CURLOPT_CUSTOMREQUEST, method);
	r->guard.allow_private = o->allow_private;
	ssrf_guard_easy(r->easy, &r->guard);
	if ((mc = curl_multi_add_handle(h->multi, r->easy)) != CURLM_OK) {
		r->start_error = xasprintf("cannot start the request: %s", curl_multi_strerror(mc));
		curl_easy_cleanup(r->easy);
		r->easy = NULL;
		goto fail;
	}
	return r;
fail:
	r->failed = event_new(h->base, -1, 0, failed_ev, r);
	event_active(r->failed, 0, 0);
	return r;
}

void
hfetch_cancel(hfetch_req *r)
{
	if (r != NULL)
		req_free(r);
}

int
hfetch_pending(const hfetch *h)
{
	return h->n;
}
