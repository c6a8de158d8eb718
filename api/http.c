/* http.c: evhttp server, routing, replies and request metrics. */
#include "autoconf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/keyvalq_struct.h>

#include "config.h"
#include "http.h"
#include "log.h"
#include "util.h"

#define MAX_PARAMS 4
#define MAX_SEGMENTS 16

/* Latency buckets in seconds, as Prometheus expects them. */
static const double lat_buckets[] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};
#define NBUCKETS (sizeof lat_buckets / sizeof lat_buckets[0])

struct status_count {
	int status;
	uint64_t n;
};

/* One route's counters; route index -1 counts unmatched paths. */
struct route_stats {
	struct status_count *by_status;
	int nstatus;
	uint64_t buckets[NBUCKETS];
	uint64_t count;
	double sum;
};

struct route {
	enum evhttp_cmd_type method;
	char *pattern;
	char *segs[MAX_SEGMENTS];
	int nsegs;
	http_handler fn;
	void *data;
	struct route_stats stats;
};

struct http_server {
	struct event_base *base;
	struct evhttp *http;
	void *app;
	struct route *routes;
	int nroutes;
	struct route_stats unmatched;
	int inflight;
	struct evhttp_bound_socket *bound[4];
	int nbound;
	size_t max_body;
	bool rewriting;		/* inside rewrite_cb's own changes */
	uint64_t timeout_ms;
	struct head_scan *fresh;	/* scans of connections not yet heard from, oldest first */
	struct head_scan *fresh_last;
	struct head_scan *owned;	/* scans evhttp's close callback frees */
};

/*
 * One connection's input, looked at for NULs as it arrives (see "NUL
 * bytes" below). evhttp gives no hook when a connection opens, and none
 * when one closes that never sent a byte: a scan waits in its server's
 * fresh list until the first bytes come, then evhttp's close callback
 * owns it (nothing else may set a server connection's close callback);
 * the fresh ones are freed once evhttp's read timeout must have closed them.
 */
enum scan_state {
	SCAN_LINE_START,	/* at the start of a line of the head */
	SCAN_CR_START,		/* a CR at the start of a line */
	SCAN_LINE,		/* inside a line of the head */
	SCAN_BODY,		/* past the head: not looked at until the next request */
};

struct head_scan {
	http_server *srv;
	struct bufferevent *bev;
	struct evbuffer_cb_entry *cb;
	size_t pos;		/* bytes at the input's front already looked at */
	enum scan_state st;
	bool nul;		/* a NUL in the head of the request being read */
	bool owned;
	uint64_t born_ms;
	struct head_scan *prev, *next;
};

struct http_ctx {
	http_server *srv;
	struct evhttp_request *req;
	struct route *route;	/* NULL when unmatched */
	uint64_t start_ms;
	struct {
		const char *name;
		char *value;
	} params[MAX_PARAMS];
	int nparams;
};

static const char *
method_name(enum evhttp_cmd_type m)
{
	switch (m) {
	case EVHTTP_REQ_GET: return "GET";
	case EVHTTP_REQ_POST: return "POST";
	case EVHTTP_REQ_HEAD: return "HEAD";
	case EVHTTP_REQ_PUT: return "PUT";
	case EVHTTP_REQ_DELETE: return "DELETE";
	case EVHTTP_REQ_OPTIONS: return "OPTIONS";
	case EVHTTP_REQ_TRACE: return "TRACE";
	case EVHTTP_REQ_CONNECT: return "CONNECT";
	case EVHTTP_REQ_PATCH: return "PATCH";
	}
	return "OTHER";
}

/* Split "/a/b/c" into segments in buf; returns count or -1 if too many. */
static int
split_path(char *buf, char **segs, int max)
{
	int n = 0;
	char *p = buf, *s;

	while (*p == '/')
		p++;
	while (*p != '\0') {
		if (n == max)
			return -1;
		s = p;
		while (*p != '\0' && *p != '/')
			p++;
		if (*p == '/')
			*p++ = '\0';
		segs[n++] = s;
	}
	return n;
}

void
http_route(http_server *s, enum evhttp_cmd_type method, const char *pattern,
    http_handler fn)
{
	http_route_data(s, method, pattern, fn, NULL);
}

void
http_server_each_route(const http_server *s, http_route_visit visit, void *arg)
{
	for (int i = 0; i < s->nroutes; i++)
		visit(method_name(s->routes[i].method), s->routes[i].pattern, s->routes[i].fn,
		    s->routes[i].data, arg);
}

void
http_route_data(http_server *s, enum evhttp_cmd_type method, const char *pattern,
    http_handler fn, void *data)
{
	struct route *r;
	int n;

	s->routes = xreallocarray(s->routes, (size_t)s->nroutes + 1, sizeof *s->routes);
	r = &s->routes[s->nroutes++];
	memset(r, 0, sizeof *r);
	r->method = method;
	r->pattern = xstrdup(pattern);
	r->fn = fn;
	r->data = data;
	{
		char *copy = xstrdup(pattern);
		char *segs[MAX_SEGMENTS];

		n = split_path(copy, segs, MAX_SEGMENTS);
		if (n < 0)
			fatalx("http", "route pattern too deep", "pattern=%s", pattern);
		for (int i = 0; i < n; i++)
			r->segs[i] = xstrdup(segs[i]);
		r->nsegs = n;
		free(copy);
	}
}

/* Match path segments against a route; fills ctx params on success. */
static bool
route_match(struct route *r, char **segs, int n, http_ctx *c)
{
	int np = 0;

	if (r->nsegs != n)
		return false;
	for (int i = 0; i < n; i++) {
		const char *p = r->segs[i];
		if (p[0] == '{') {
			if (segs[i][0] == '\0' || np == MAX_PARAMS)
				return false;
			np++;
		} else if (strcmp(p, segs[i]) != 0) {
			return false;
		}
	}
	if (c != NULL) {
		c->nparams = 0;
		for (int i = 0; i < n; i++) {
			const char *p = r->segs[i];
			if (p[0] != '{')
				continue;
			c->params[c->nparams].name = p;
			c->params[c->nparams].value = evhttp_uridecode(segs[i], 0, NULL);
			c->nparams++;
		}
	}
	return true;
}

const char *
http_ctx_param(http_ctx *c, const char *name)
{
	size_t n = strlen(name);

	for (int i = 0; i < c->nparams; i++) {
		const char *p = c->params[i].name;	/* "{id}" */
		if (strncmp(p + 1, name, n) == 0 && p[n + 1] == '}')
			return c->params[i].value;
	}
	return NULL;
}

const char *
http_ctx_method(http_ctx *c)
{
	return method_name(evhttp_request_get_command(c->req));
}

const char *
http_ctx_peer(http_ctx *c)
{
	struct evhttp_connection *con = evhttp_request_get_connection(c->req);
	char *addr = NULL;
	ev_uint16_t port = 0;

	if (con != NULL)
		evhttp_connection_get_peer(con, &addr, &port);
	return addr != NULL ? addr : "";
}

struct evhttp_request *
http_ctx_req(http_ctx *c)
{
	return c->req;
}

static void
stats_add(struct route_stats *st, int status, double secs)
{
	int i;

	for (i = 0; i < st->nstatus; i++)
		if (st->by_status[i].status == status)
			break;
	if (i == st->nstatus) {
		st->by_status = xreallocarray(st->by_status, (size_t)st->nstatus + 1,
		    sizeof *st->by_status);
		st->by_status[i].status = status;
		st->by_status[i].n = 0;
		st->nstatus++;
	}
	st->by_status[i].n++;
	for (size_t b = 0; b < NBUCKETS; b++)
		if (secs <= lat_buckets[b])
			st->buckets[b]++;
	st->count++;
	st->sum += secs;
}

static void
ctx_free(http_ctx *c)
{
	for (int i = 0; i < c->nparams; i++)
		free(c->params[i].value);
	free(c);
}

void
http_reply(http_ctx *c, int status, const char *content_type, struct evbuffer *body)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(c->req);
	double secs;

	if (content_type != NULL)
		evhttp_add_header(h, "Content-Type", content_type);
	/* API answers are never cached; static files set their own. */
	if (evhttp_find_header(h, "Cache-Control") == NULL)
		evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_send_reply(c->req, status, NULL, body);
	secs = (double)(util_mono_ms() - c->start_ms) / 1000.0;
	stats_add(c->route ? &c->route->stats : &c->srv->unmatched, status, secs);
	c->srv->inflight--;
	ctx_free(c);
}

void
http_reply_text(http_ctx *c, int status, const char *content_type, const char *text)
{
	struct evbuffer *b = evbuffer_new();

	evbuffer_add(b, text, strlen(text));
	http_reply(c, status, content_type, b);
	evbuffer_free(b);
}

void
http_reply_json(http_ctx *c, int status, json_t *body)
{
	char *s = json_dumps(body, JSON_COMPACT);

	json_decref(body);
	if (s == NULL) {
		http_reply_text(c, 500, "text/plain", "cannot encode JSON\n");
		return;
	}
	http_reply_text(c, status, "application/json", s);
	free(s);
}

void
http_problem(http_ctx *c, int status, const char *type, const char *title,
    const char *detail)
{
	json_t *p = json_object();
	char *t = xasprintf("/problems/%s", type);
	char *s;

	json_object_set_new(p, "type", json_string(t));
	json_object_set_new(p, "title", json_string(title));
	json_object_set_new(p, "status", json_integer(status));
	if (detail != NULL)
		json_object_set_new(p, "detail", json_string(detail));
	json_object_set_new(p, "instance", json_string(evhttp_request_get_uri(c->req)));
	free(t);
	s = json_dumps(p, JSON_COMPACT);
	json_decref(p);
	http_reply_text(c, status, "application/problem+json", s);
	free(s);
}

/* ---- NUL bytes ---- */

/*
 * evhttp reads the request line and the headers as C strings, so a raw
 * NUL cuts one short without a word ("Authorization: Bearer <token>\0junk"
 * reads as the token alone). Every connection's input is looked at as it
 * arrives, before evhttp parses it, and a request whose head held a NUL is
 * refused by gen_cb with the 400 of a request that cannot be read as HTTP
 * (what evhttp answers to other malformed heads, through rewrite_cb).
 * Bodies may hold NULs (a roster zip), so only heads are looked at: from
 * the start of a request (a connection's first byte, or the first byte
 * after the previous request, which gen_cb marks) to the empty line that
 * ends it. A NUL decoded from %00 in the path is gen_cb's (path_has_nul).
 */
static void
scan_unlink(struct head_scan *h)
{
	http_server *s = h->srv;

	if (h->prev != NULL)
		h->prev->next = h->next;
	else if (h->owned)
		s->owned = h->next;
	else
		s->fresh = h->next;
	if (h->next != NULL)
		h->next->prev = h->prev;
	else if (!h->owned)
		s->fresh_last = h->prev;
	h->prev = h->next = NULL;
}

/* evhttp frees the connection: stop looking at its input, which it may yet drain. */
static void
scan_close_cb(struct evhttp_connection *evcon, void *arg)
{
	struct head_scan *h = arg;

	evbuffer_remove_cb_entry(bufferevent_get_input(h->bev), h->cb);
	scan_unlink(h);
	free(h);
}

/*
 * The first bytes came: evhttp set the bufferevent's callbacks, with its
 * connection as their argument, before it let the socket be read. False
 * (and h freed) if not: nothing would free h when the connection closes.
 */
static bool
scan_own(struct head_scan *h, struct evbuffer *in)
{
	void *arg = NULL;
	struct evhttp_connection *evcon;

	bufferevent_getcb(h->bev, NULL, NULL, NULL, &arg);
	evcon = arg;
	if (evcon == NULL || evhttp_connection_get_bufferevent(evcon) != h->bev) {
		log_warnx("http", "cannot follow a connection's input; its NULs go unseen", "");
		evbuffer_remove_cb_entry(in, h->cb);
		scan_unlink(h);
		free(h);
		return false;
	}
	scan_unlink(h);
	h->owned = true;
	h->next = h->srv->owned;
	if (h->next != NULL)
		h->next->prev = h;
	h->srv->owned = h;
	evhttp_connection_set_closecb(evcon, scan_close_cb, h);
	return true;
}

/* Look at the input from h->pos to its end while in a head. */
static void
scan_run(struct head_scan *h, struct evbuffer *in)
{
	struct evbuffer_iovec v[8];
	struct evbuffer_ptr at;
	size_t len = evbuffer_get_length(in);
	int n;

	while (h->st != SCAN_BODY && h->pos < len) {
		if (evbuffer_ptr_set(in, &at, h->pos, EVBUFFER_PTR_SET) != 0)
			return;
		n = evbuffer_peek(in, (ev_ssize_t)(len - h->pos), &at, v, (int)nitems(v));
		for (int i = 0; i < n && i < (int)nitems(v) && h->st != SCAN_BODY; i++) {
			const unsigned char *b = v[i].iov_base;
			size_t k;

			for (k = 0; k < v[i].iov_len && h->st != SCAN_BODY; k++) {
				if (b[k] == '\0')
					h->nul = true;
				if (b[k] == '\n')
					h->st = h->st == SCAN_LINE ? SCAN_LINE_START : SCAN_BODY;
				else if (b[k] == '\r' && h->st == SCAN_LINE_START)
					h->st = SCAN_CR_START;
				else
					h->st = SCAN_LINE;
			}
			h->pos += k;
		}
		if (n <= 0)
			return;
	}
}

static void
scan_input_cb(struct evbuffer *in, const struct evbuffer_cb_info *info, void *arg)
{
	struct head_scan *h = arg;

	h->pos = h->pos > info->n_deleted ? h->pos - info->n_deleted : 0;
	if (info->n_added == 0)
		return;
	if (!h->owned && !scan_own(h, in))
		return;
	scan_run(h, in);
}

/*
 * A request was read: whether its head held a NUL. The next request
 * starts at the input's front (evhttp took exactly this one's bytes).
 */
static bool
scan_next_request(http_server *s, struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
	bool nul;

	for (struct head_scan *h = s->owned; bev != NULL && h != NULL; h = h->next) {
		if (h->bev == bev) {
			nul = h->nul;
			h->nul = false;
			h->st = SCAN_LINE_START;
			h->pos = 0;
			scan_run(h, bufferevent_get_input(bev));
			return nul;
		}
	}
	return false;
}

/* Scans of connections that never sent a byte and that evhttp's timeout has closed. */
static void
scan_sweep(http_server *s)
{
	uint64_t now = util_mono_ms();
	struct head_scan *h;

	while ((h = s->fresh) != NULL && now - h->born_ms > 2 * s->timeout_ms + 1000) {
		scan_unlink(h);
		free(h);
	}
}

/* "%00" anywhere in the path: a NUL no route can take, and it would cut a parameter short. */
static bool
path_has_nul(const char *path)
{
	return strstr(path, "%00") != NULL;
}

static void
gen_cb(struct evhttp_request *req, void *arg)
{
	http_server *s = arg;
	http_ctx *c = xcalloc(1, sizeof *c);
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	enum evhttp_cmd_type method = evhttp_request_get_command(req);
	char *buf, *segs[MAX_SEGMENTS];
	bool path_known = false;
	int n;

	c->srv = s;
	c->req = req;
	c->start_ms = util_mono_ms();
	s->inflight++;
	if (scan_next_request(s, req)) {
		/* The stream may no longer be where the client thinks: end it. */
		evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
		http_problem(c, 400, "malformed-request", "Bad request",
		    "a NUL byte in the request line or a header");
		return;
	}
	if (path == NULL || *path == '\0')
		path = "/";
	/*
	 * No path we serve holds a NUL, so such a path names nothing: 404, the
	 * answer every route gives a path it does not know (/v1/pupils/1%00 is
	 * not pupil 1, /dashboard/index.html%00.png not index.html).
	 */
	if (path_has_nul(path)) {
		http_problem(c, 404, "not-found", "Not found", "no such route");
		return;
	}
	buf = xstrdup(path);
	n = split_path(buf, segs, MAX_SEGMENTS);
	for (int i = 0; n >= 0 && i < s->nroutes; i++) {
		struct route *r = &s->routes[i];
		bool head_ok = method == EVHTTP_REQ_HEAD && r->method == EVHTTP_REQ_GET;

		if (!route_match(r, segs, n, NULL))
			continue;
		path_known = true;
		if (r->method != method && !head_ok)
			continue;
		route_match(r, segs, n, c);
		c->route = r;
		break;
	}
	free(buf);
	if (c->route != NULL) {
		c->route->fn(c, s->app, c->route->data);
		return;
	}
	if (path_known) {
		char allow[128] = "";
		size_t off = 0;

		buf = xstrdup(path);
		n = split_path(buf, segs, MAX_SEGMENTS);
		for (int i = 0; i < s->nroutes; i++)
			if (route_match(&s->routes[i], segs, n, NULL) && off < sizeof allow)
				off += (size_t)snprintf(allow + off, sizeof allow - off, "%s%s",
				    off ? ", " : "", method_name(s->routes[i].method));
		free(buf);
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", allow);
		http_problem(c, 405, "method-not-allowed", "Method not allowed",
		    "this path does not take that method; see the Allow header");
		return;
	}
	http_problem(c, 404, "not-found", "Not found", "no such route");
}

/*
 * evhttp answers some requests itself, before any callback of ours: a body
 * over max_body (413), a request it cannot parse (400), a method it does
 * not take (501). libevent 2.1 has no hook for those, and its page is
 * HTML. Every connection's output buffer gets this callback, which spots
 * that page as evhttp appends its body (always the last thing it writes:
 * the fixed "<HTML><HEAD>\n<TITLE>" of evhttp_send_error, which no page of
 * ours starts with) and swaps evhttp's whole response, status line to
 * body, for problem+json. evhttp closes the connection after it.
 */
#define EVHTTP_ERROR_PAGE "<HTML><HEAD>\n<TITLE>"

static char *
own_error_response(const http_server *s, int status)
{
	static const struct {
		int status;
		const char *type, *title, *detail;
	} known[] = {
		{ 400, "malformed-request", "Bad request", "the request could not be read as HTTP" },
		{ 413, "payload-too-large", "Payload too large", "the body is larger than http.max_body" },
		{ 417, "expectation-failed", "Expectation failed", "only Expect: 100-continue is taken" },
		{ 501, "not-implemented", "Not implemented", "recalld does not take this HTTP method" },
	};
	const char *type = "http-error", *title = "HTTP error",
	    *detail = "the request was refused before it was read";
	char *body, *resp;

	for (size_t i = 0; i < nitems(known); i++)
		if (known[i].status == status) {
			type = known[i].type;
			title = known[i].title;
			detail = known[i].detail;
		}
	body = status == 413 ?
	    xasprintf("{\"type\":\"/problems/%s\",\"title\":\"%s\",\"status\":%d,"
	    "\"detail\":\"%s (%zu bytes)\"}", type, title, status, detail, s->max_body) :
	    xasprintf("{\"type\":\"/problems/%s\",\"title\":\"%s\",\"status\":%d,"
	    "\"detail\":\"%s\"}", type, title, status, detail);
	resp = xasprintf("HTTP/1.1 %d %s\r\nContent-Type: application/problem+json\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n%s", status, title,
	    strlen(body), body);
	free(body);
	return resp;
}

/* Where evhttp's response starts: its status line, the last one before the page. */
static size_t
response_start(struct evbuffer *buf, size_t page)
{
	struct evbuffer_ptr p = evbuffer_search(buf, "HTTP/1.", 7, NULL);
	size_t start = 0;

	while (p.pos >= 0 && (size_t)p.pos < page) {
		start = (size_t)p.pos;
		if (evbuffer_ptr_set(buf, &p, 1, EVBUFFER_PTR_ADD) != 0)
			break;
		p = evbuffer_search(buf, "HTTP/1.", 7, &p);
	}
	return start;
}

/* Whether the len bytes at pos of buf are s (read in place: no copy, no freeze check). */
static bool
bytes_at(struct evbuffer *buf, size_t pos, const char *s, size_t len)
{
	struct evbuffer_ptr at;
	struct evbuffer_iovec v[4];
	int n;
	size_t off = 0;

	if (evbuffer_ptr_set(buf, &at, pos, EVBUFFER_PTR_SET) != 0)
		return false;
	n = evbuffer_peek(buf, (ev_ssize_t)len, &at, v, 4);
	for (int i = 0; i < n && i < 4 && off < len; i++) {
		size_t k = v[i].iov_len < len - off ? v[i].iov_len : len - off;

		if (memcmp(v[i].iov_base, s + off, k) != 0)
			return false;
		off += k;
	}
	return off == len;
}

static void
rewrite_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	http_server *s = arg;
	struct evbuffer_ptr at;
	const size_t n = sizeof EVHTTP_ERROR_PAGE - 1;
	char head[4] = { 0 }, *prefix = NULL, *resp;
	size_t start;
	int status;
	bool frozen;

	if (s->rewriting || info->n_added < n + 3 ||
	    !bytes_at(buf, info->orig_size, EVHTTP_ERROR_PAGE, n))
		return;
	/*
	 * A socket bufferevent freezes its output's front between its writes,
	 * and a frozen front can be neither read nor drained: thaw it for the
	 * swap, and leave it as it was.
	 */
	frozen = evbuffer_copyout(buf, head, 1) < 0;
	evbuffer_unfreeze(buf, 1);
	if (evbuffer_ptr_set(buf, &at, info->orig_size + n, EVBUFFER_PTR_SET) != 0 ||
	    evbuffer_copyout_from(buf, &at, head, 3) != 3)
		goto out;
	status = atoi(head);
	if (status < 400 || status > 599)
		goto out;
	s->rewriting = true;
	/* Responses still waiting before it stay as they are. */
	start = response_start(buf, info->orig_size);
	if (start > 0) {
		prefix = xmalloc(start);
		evbuffer_copyout(buf, prefix, start);
	}
	evbuffer_drain(buf, evbuffer_get_length(buf));
	if (prefix != NULL)
		evbuffer_add(buf, prefix, start);
	resp = own_error_response(s, status);
	evbuffer_add(buf, resp, strlen(resp));
	s->rewriting = false;
	free(resp);
	free(prefix);
out:
	if (frozen)
		evbuffer_freeze(buf, 1);
}

static struct bufferevent *
conn_bev_cb(struct event_base *base, void *arg)
{
	http_server *s = arg;
	struct bufferevent *bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	struct head_scan *h;

	scan_sweep(s);
	if (bev == NULL)
		return NULL;
	h = xcalloc(1, sizeof *h);
	h->srv = s;
	h->bev = bev;
	h->born_ms = util_mono_ms();
	h->st = SCAN_LINE_START;
	if (evbuffer_add_cb(bufferevent_get_output(bev), rewrite_cb, arg) == NULL ||
	    (h->cb = evbuffer_add_cb(bufferevent_get_input(bev), scan_input_cb, h)) == NULL) {
		bufferevent_free(bev);
		free(h);
		return NULL;
	}
	h->prev = s->fresh_last;
	if (s->fresh_last != NULL)
		s->fresh_last->next = h;
	else
		s->fresh = h;
	s->fresh_last = h;
	return bev;
}

http_server *
http_server_new(struct event_base *base, const struct http_opts *o, void *app)
{
	http_server *s = xcalloc(1, sizeof *s);
	struct timeval tv;

	s->base = base;
	s->app = app;
	s->http = evhttp_new(base);
	if (s->http == NULL)
		fatalx("http", "evhttp_new failed", "");
	evhttp_set_max_body_size(s->http, (ev_ssize_t)o->max_body);
	s->max_body = o->max_body;
	evhttp_set_bevcb(s->http, conn_bev_cb, s);
	/*
	 * On a body over the limit, read and drop the rest before closing, so
	 * the client gets its 413 instead of a connection reset mid-upload.
	 */
	evhttp_set_flags(s->http, EVHTTP_SERVER_LINGERING_CLOSE);
	evhttp_set_max_headers_size(s->http, (ev_ssize_t)o->max_headers);
	s->timeout_ms = (uint64_t)o->timeout_ms;
	tv.tv_sec = o->timeout_ms / 1000;
	tv.tv_usec = (o->timeout_ms % 1000) * 1000;
	evhttp_set_timeout_tv(s->http, &tv);
	evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_PATCH |
	    EVHTTP_REQ_OPTIONS);
	evhttp_set_default_content_type(s->http, "text/plain");
	evhttp_set_gencb(s->http, gen_cb, s);
	return s;
}

bool
http_server_listen(http_server *s, const char *listen, char *err, size_t errlen)
{
	char host[256];
	int port;
	struct evhttp_bound_socket *b;

	if (!config_parse_listen(listen, host, sizeof host, &port, err, errlen))
		return false;
	if (s->nbound == (int)nitems(s->bound))
		return util_err(err, errlen, "too many listen addresses");
	b = evhttp_bind_socket_with_handle(s->http, host[0] ? host : "0.0.0.0",
	    (ev_uint16_t)port);
	if (b == NULL)
		return util_err(err, errlen, "cannot listen on %s: %s", listen,
		    strerror(errno));
	s->bound[s->nbound++] = b;
	return true;
}

void
http_server_stop_accepting(http_server *s)
{
	for (int i = 0; i < s->nbound; i++)
		evhttp_del_accept_socket(s->http, s->bound[i]);
	s->nbound = 0;
}

int
http_server_inflight(const http_server *s)
{
	return s->inflight;
}

static void
stats_free(struct route_stats *st)
{
	free(st->by_status);
}

void
http_server_free(http_server *s)
{
	if (s == NULL)
		return;
	evhttp_free(s->http);	/* its connections' close callbacks free the owned scans */
	while (s->owned != NULL || s->fresh != NULL) {
		struct head_scan *h = s->owned != NULL ? s->owned : s->fresh;

		scan_unlink(h);
		free(h);
	}
	for (int i = 0; i < s->nroutes; i++) {
		free(s->routes[i].pattern);
		free(s->routes[i].data);
		for (int j = 0; j < s->routes[i].nsegs; j++)
			free(s->routes[i].segs[j]);
		stats_free(&s->routes[i].stats);
	}
	stats_free(&s->unmatched);
	free(s->routes);
	free(s);
}

static void
stats_render(struct evbuffer *out, const char *method, const char *route,
    const struct route_stats *st, bool counters)
{
	if (counters) {
		for (int i = 0; i < st->nstatus; i++)
			evbuffer_add_printf(out,
			    "recalld_http_requests_total{method=\"%s\",route=\"%s\",status=\"%d\"} %llu\n",
			    method, route, st->by_status[i].status,
			    (unsigned long long)st->by_status[i].n);
		return;
	}
	if (st->count == 0)
		return;
	for (size_t b = 0; b < NBUCKETS; b++)
		evbuffer_add_printf(out,
		    "recalld_http_request_duration_seconds_bucket{method=\"%s\",route=\"%s\",le=\"%g\"} %llu\n",
		    method, route, lat_buckets[b], (unsigned long long)st->buckets[b]);
	evbuffer_add_printf(out,
	    "recalld_http_request_duration_seconds_bucket{method=\"%s\",route=\"%s\",le=\"+Inf\"} %llu\n"
	    "recalld_http_request_duration_seconds_sum{method=\"%s\",route=\"%s\"} %.6f\n"
	    "recalld_http_request_duration_seconds_count{method=\"%s\",route=\"%s\"} %llu\n",
	    method, route, (unsigned long long)st->count, method, route, st->sum, method,
	    route, (unsigned long long)st->count);
}

void
http_server_metrics(const http_server *s, struct evbuffer *out)
{
	evbuffer_add_printf(out,
	    "# HELP recalld_http_requests_total HTTP requests answered, by route and status.\n"
	    "# TYPE recalld_http_requests_total counter\n");
	for (int i = 0; i < s->nroutes; i++)
		stats_render(out, method_name(s->routes[i].method), s->routes[i].pattern,
		    &s->routes[i].stats, true);
	stats_render(out, "any", "unmatched", &s->unmatched, true);
	evbuffer_add_printf(out,
	    "# HELP recalld_http_request_duration_seconds Time from request to reply.\n"
	    "# TYPE recalld_http_request_duration_seconds histogram\n");
	for (int i = 0; i < s->nroutes; i++)
		stats_render(out, method_name(s->routes[i].method), s->routes[i].pattern,
		    &s->routes[i].stats, false);
	stats_render(out, "any", "unmatched", &s->unmatched, false);
	evbuffer_add_printf(out,
	    "# HELP recalld_http_requests_in_flight Requests not yet answered.\n"
	    "# TYPE recalld_http_requests_in_flight gauge\n"
	    "recalld_http_requests_in_flight %d\n", s->inflight);
}
