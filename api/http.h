/*
 * http.h: the HTTP edge on evhttp. Routes are method + path pattern
 * ("/v1/pupils/{id}"); a handler gets an http_ctx and must answer it
 * exactly once, now or later from a callback (database work is async).
 * Every answer is counted for /metrics by route and status.
 */
#ifndef RECALLD_HTTP_H
#define RECALLD_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>

typedef struct http_server http_server;
typedef struct http_ctx http_ctx;
/* route_data: what http_route_data registered with the route, or NULL. */
typedef void (*http_handler)(http_ctx *ctx, void *app, const void *route_data);

struct http_opts {
	int64_t max_body;
	int64_t max_headers;
	int64_t timeout_ms;
};

http_server *http_server_new(struct event_base *base, const struct http_opts *o,
    void *app);
void http_server_free(http_server *s);
/* "127.0.0.1:8080", "[::1]:8080": the forms config_parse_listen takes. */
bool http_server_listen(http_server *s, const char *listen, char *err,
    size_t errlen) __attribute__((warn_unused_result));
/* Close the listening sockets; requests in flight still get answers. */
void http_server_stop_accepting(http_server *s);
int http_server_inflight(const http_server *s);
void http_route(http_server *s, enum evhttp_cmd_type method, const char *pattern,
    http_handler fn);
/* The same with data for the handler; the server frees it with free(). */
void http_route_data(http_server *s, enum evhttp_cmd_type method,
    const char *pattern, http_handler fn, void *data);
/* Prometheus text for the request counters and latency histogram. */
void http_server_metrics(const http_server *s, struct evbuffer *out);
/* Every registered route, in registration order. */
typedef void (*http_route_visit)(const char *method, const char *pattern, http_handler fn,
    void *data, void *arg);
void http_server_each_route(const http_server *s, http_route_visit visit, void *arg);

struct evhttp_request *http_ctx_req(http_ctx *c);
/* "GET", "POST", ... */
const char *http_ctx_method(http_ctx *c);
/* The client's address ("" when the connection is gone). */
const char *http_ctx_peer(http_ctx *c);
/* A {name} segment of the route pattern, or NULL. */
const char *http_ctx_param(http_ctx *c, const char *name);

/* Answer; the ctx is freed by any of these. */
void http_reply(http_ctx *c, int status, const char *content_type,
    struct evbuffer *body);
void http_reply_text(http_ctx *c, int status, const char *content_type,
    const char *text);
/* body is stolen (json_decref'd). */
void http_reply_json(http_ctx *c, int status, json_t *body);
/*
 * RFC 9457 problem+json. type is a stable slug ("not-found"), served as
 * "/problems/<slug>"; detail says what to do about it.
 */
void http_problem(http_ctx *c, int status, const char *type, const char *title,
    const char *detail);

#endif
