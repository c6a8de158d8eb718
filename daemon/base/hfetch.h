/*
 * hfetch.h: outbound HTTP requests on the event loop (libcurl multi on
 * libevent), for talking to an LMS: its JWKS, token endpoint, membership
 * and gradebook services. Every connection goes through the SSRF guard
 * (ssrf.h) unless private targets are allowed; no redirects are
 * followed, no proxy is used, only http and https. A reply's body is kept
 * up to max_body bytes (more fails the request). Callbacks always run
 * from the loop, never from inside hfetch_start.
 */
#ifndef RECALLD_HFETCH_H
#define RECALLD_HFETCH_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/event.h>

typedef struct hfetch hfetch;
typedef struct hfetch_req hfetch_req;

struct hfetch_opts {
	const char *method;		/* "GET" (NULL), "POST", "PUT" */
	const char *url;
	const char *body;		/* POST/PUT */
	const char *content_type;	/* of body */
	const char *accept;
	const char *authorization;	/* the whole header value: "Bearer ..." */
	bool allow_private;		/* let loopback and private targets through */
	long timeout_ms;		/* whole request; 0: 10 s */
	size_t max_body;		/* 0: 1 MiB */
};

struct hfetch_reply {
	long status;		/* HTTP status; 0 when no answer came */
	const char *body;	/* NUL-terminated; "" when none */
	size_t len;
	const char *error;	/* why there is no answer (status 0), else NULL */
	const char *link;	/* the Link header(s), joined by ", "; NULL if none */
	const char *content_type;
};

typedef void (*hfetch_cb)(const struct hfetch_reply *r, void *arg);

hfetch *hfetch_new(struct event_base *base);
/* Ends every request in flight without calling its callback. */
void hfetch_free(hfetch *h);
/* Start a request; cb runs exactly once unless it is cancelled. */
hfetch_req *hfetch_start(hfetch *h, const struct hfetch_opts *o, hfetch_cb cb, void *arg);
/* The callback will not run. */
void hfetch_cancel(hfetch_req *r);
/* Requests in flight. */
int hfetch_pending(const hfetch *h);

#endif
