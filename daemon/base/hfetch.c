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
	CURLM *multi;
	struct event *timer;
	struct req_list reqs;
	int n;
};

struct sock {
	struct event *ev;
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

static void
check_multi(hfetch *h)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(h->multi, &left)) != NULL) {
		struct hfetch_req *r = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		finish(r, msg->data.result);
	}
}

static void
action(hfetch *h, curl_socket_t fd, int mask)
{
	int running;
	CURLMcode mc = curl_multi_socket_action(h->multi, fd, mask, &running);

	if (mc != CURLM_OK)
		log_warnx("hfetch", "curl_multi_socket_action failed", "err=\"%s\"",
		    curl_multi_strerror(mc));
	check_multi(h);
}

static void
sock_ev(evutil_socket_t fd, short what, void *arg)
{
	action(arg, fd, ((what & EV_READ) ? CURL_CSELECT_IN : 0) |
	    ((what & EV_WRITE) ? CURL_CSELECT_OUT : 0));
}

static void
timer_ev(evutil_socket_t fd, short what, void *arg)
{
	action(arg, CURL_SOCKET_TIMEOUT, 0);
}

/* CURLMOPT_SOCKETFUNCTION: watch, re-watch or forget a socket. */
static int
socket_cb(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
	hfetch *h = userp;
	struct sock *sk = socketp;
	short kind;

	if (what == CURL_POLL_REMOVE) {
		if (sk != NULL) {
			event_free(sk->ev);
			free(sk);
			curl_multi_assign(h->multi, s, NULL);
		}
		return 0;
	}
	kind = (short)(((what & CURL_POLL_IN) ? EV_READ : 0) |
	    ((what & CURL_POLL_OUT) ? EV_WRITE : 0) | EV_PERSIST);
	if (sk == NULL) {
		sk = xcalloc(1, sizeof *sk);
		sk->ev = event_new(h->base, s, kind, sock_ev, h);
		curl_multi_assign(h->multi, s, sk);
	} else {
		event_del(sk->ev);
		event_assign(sk->ev, h->base, s, kind, sock_ev, h);
	}
	event_add(sk->ev, NULL);
	return 0;
}

/* CURLMOPT_TIMERFUNCTION: arm the one timer; never calls libcurl. */
static int
timer_cb(CURLM *m, long timeout_ms, void *userp)
{
	hfetch *h = userp;
	struct timeval tv;

	if (timeout_ms < 0) {
		evtimer_del(h->timer);
		return 0;
	}
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	evtimer_add(h->timer, &tv);
	return 0;
}

hfetch *
hfetch_new(struct event_base *base)
{
	hfetch *h = xcalloc(1, sizeof *h);

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		fatalx("hfetch", "curl_global_init failed", "");
	h->base = base;
	TAILQ_INIT(&h->reqs);
	if ((h->multi = curl_multi_init()) == NULL)
		fatalx("hfetch", "curl_multi_init failed", "");
	h->timer = evtimer_new(base, timer_ev, h);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	return h;
}

void
hfetch_free(hfetch *h)
{
	if (h == NULL)
		return;
	while (!TAILQ_EMPTY(&h->reqs))
		req_free(TAILQ_FIRST(&h->reqs));
	curl_multi_cleanup(h->multi);
	event_free(h->timer);
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
