/* push.c: the webhook sender: outbox claims, libcurl multi on libevent (see push.h). */
#include "autoconf.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/queue.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "ags.h"
#include "clock.h"
#include "curlev.h"
#include "dueset.h"
#include "event.h"
#include "log.h"
#include "outbox.h"
#include "pgrow.h"
#include "push.h"
#include "runner.h"
#include "sbuf.h"
#include "secretbox.h"
#include "sign.h"
#include "ssrf.h"
#include "util.h"

#define HEAD_MAX	2048	/* response body kept in the attempt log */
#define RETRY_AFTER_MAX_MS	(INT64_C(24) * 3600 * 1000)
#define WRITE_RETRY_MS	1000	/* results not written (database down): again after */
#define FLUSH_DELAY_MS	2	/* results wait this long for more to share a write */
#define JITTER		0.2
#define CLAIM_MIN(p)	((int)((p)->cfg->webhooks_max_in_flight + 3) / 4)

/*
 * A claimed delivery. Its state moves one way, through job_set_state:
 * QUEUED (claimed ahead, waiting for a transfer slot) -> SENDING (a curl
 * transfer) -> DONE (outcome known, result not written) -> WRITING (in a
 * result request) -> freed. A failed write puts WRITING jobs back to
 * DONE; stopping frees QUEUED jobs and releases their leases.
 */
enum job_state {
	JOB_NEW,
	JOB_QUEUED,
	JOB_SENDING,
	JOB_DONE,
	JOB_WRITING,
};

static const char *const job_state_names[] = { "new", "queued", "sending", "done", "writing" };

enum outcome {
	OUT_DELIVERED,
	OUT_RETRY,
	OUT_DEAD,
};

struct ep_slot;

struct job {
	TAILQ_ENTRY(job) entry;
	push *p;
	enum job_state state;
	int64_t school_id, delivery_id, endpoint_id;
	char *webhook_id, *event_type, *payload, *url, *secret, *prev_secret;
	int attempts;			/* before this one */
	int64_t failing_since_us;	/* -1: the endpoint was not failing */
	/* An LMS gradebook (format lti-ags): sent to target with bearer, after prep. */
	bool lti;
	ags_prep *prep;
	char *target, *bearer, *body;
	struct ep_slot *ep;
	struct preq *wb;		/* WRITING: the write of its school's batch */
	CURL *easy;
	struct curl_slist *headers;
	char errbuf[CURL_ERROR_SIZE];
	struct ssrf_guard guard;
	char head[HEAD_MAX + 1];
	size_t headlen;
	int64_t at_us;			/* attempt start, clock time */
	uint64_t start_ms;		/* monotonic, for the latency */
	/* The outcome. */
	enum outcome outcome;
	long http_status;		/* 0: no HTTP answer */
	int latency_ms;
	char *error;			/* NULL on success */
	int64_t done_us;
	int64_t next_us;		/* OUT_RETRY: next attempt */
	char *disable_reason;		/* set: disable the endpoint with this */
};

TAILQ_HEAD(job_list, job);

/* Transfers in flight (and queued) to one endpoint, for the per-endpoint cap. */
struct ep_slot {
	LIST_ENTRY(ep_slot) entry;
	int64_t school_id, endpoint_id;
	int running;
	int queued;
};

/* A request for one school: a claim, a write of results or a release. */
struct preq {
	LIST_ENTRY(preq) entry;
	push *p;
	int64_t school_id;
	db_req *req;
	int limit;		/* a claim's */
	bool capped;		/* a claim sent with an endpoint at its cap */
};
LIST_HEAD(preq_list, preq);

struct push {
	struct event_base *base;
	db_pool *db;
	const struct config *cfg;
	secretbox *secrets;		/* opens the endpoints' secrets; NULL: stored in clear */
	ags *ags;			/* tokens and line items of LMS gradebooks; NULL: none */
	curlev *cev;			/* libcurl multi on the loop */
	CURLM *multi;			/* curlev_multi(cev) */
	/*
	 * A run is a sweep when asked, then the claims of the schools due:
	 * kicked by a wake, a NOTIFY, the LISTEN coming up, a clock move, a
	 * due retry or a finished transfer, and by the poll (the backstop); a
	 * kick during a run runs again after it.
	 */
	runner *run;
	struct event *due;		/* the earliest known retry */
	struct event *flush;		/* write DONE results */
	int64_t due_us;			/* what due is armed for, 0 if not */
	dueset *dues;			/* the schools that may have due deliveries */
	db_req *sweep_req;
	int64_t sweep_cursor;		/* the last school probed; 0: from the first */
	bool sweep_full;		/* on through every school */
	struct job_list queued, sending, done, writing;
	int nqueued, nsending, ndone, nwriting;
	LIST_HEAD(, ep_slot) eps;
	struct preq_list claims, writes, releases;
	bool more;			/* schools due were left for want of room */
	bool claim_failed;		/* a claim of this run failed */
	bool write_retry;		/* flush is armed for a retry after a failure */
	bool starting;			/* inside start_queued */
	CURL **idle;			/* easy handles kept for reuse */
	int nidle, idle_cap;
	struct push_stats st;
};

static void start_queued(push *p);
static void sweep_next(push *p);
static bool capacity_free(const push *p);
static void job_finished(struct job *j, CURLcode res);
static void release_queued(push *p);
static void flush_soon(push *p, int delay_ms);
static void flush_retry(push *p);

/* ---- small helpers ---- */

static void
set_tv(struct timeval *tv, int64_t ms)
{
	if (ms < 0)
		ms = 0;
	tv->tv_sec = (time_t)(ms / 1000);
	tv->tv_usec = (suseconds_t)(ms % 1000) * 1000;
}

/* Replace what is not UTF-8 (and NUL) with '?': the log is text and JSON. */
static void
utf8_clean(char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = (unsigned char)s[i];
		size_t n = 0;
		uint32_t cp = 0;

		if (c == 0) {
			s[i++] = '?';
			continue;
		}
		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0) {
			n = 1;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3;
			cp = c & 0x07;
		} else {
			s[i++] = '?';
			continue;
		}
		bool ok = i + n < len;
		for (size_t k = 1; ok && k <= n; k++) {
			unsigned char cc = (unsigned char)s[i + k];
			ok = (cc & 0xc0) == 0x80;
			cp = (cp << 6) | (cc & 0x3f);
		}
		if (ok && ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
		    (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff)))
			ok = false;
		if (!ok) {
			s[i++] = '?';
			continue;
		}
		i += n + 1;
	}
}

/* ---- endpoint slots ---- */

static struct ep_slot *
ep_get(push *p, int64_t school, int64_t endpoint)
{
	struct ep_slot *e;

	LIST_FOREACH(e, &p->eps, entry)
		if (e->school_id == school && e->endpoint_id == endpoint)
			return e;
	e = xcalloc(1, sizeof *e);
	e->school_id = school;
	e->endpoint_id = endpoint;
	LIST_INSERT_HEAD(&p->eps, e, entry);
	return e;
}

/* Forget a slot nothing runs or waits on. */
static void
ep_maybe_free(struct ep_slot *e)
{
	if (e->running <= 0 && e->queued <= 0) {
		LIST_REMOVE(e, entry);
		free(e);
	}
}

/* ---- jobs ---- */

static struct job_list *
job_list_of(push *p, enum job_state s, int **count)
{
	switch (s) {
	case JOB_QUEUED: *count = &p->nqueued; return &p->queued;
	case JOB_SENDING: *count = &p->nsending; return &p->sending;
	case JOB_DONE: *count = &p->ndone; return &p->done;
	case JOB_WRITING: *count = &p->nwriting; return &p->writing;
	default: *count = NULL; return NULL;
	}
}

/* The only place a job changes state: moves it between the lists. */
static void
job_set_state(struct job *j, enum job_state to)
{
	push *p = j->p;
	struct job_list *l;
	int *n;
	bool ok;

	switch (to) {
	case JOB_QUEUED: ok = j->state == JOB_NEW; break;
	case JOB_SENDING: ok = j->state == JOB_QUEUED; break;
	case JOB_DONE: ok = j->state == JOB_SENDING || j->state == JOB_WRITING; break;
	case JOB_WRITING: ok = j->state == JOB_DONE; break;
	default: ok = false; break;
	}
	if (!ok)
		fatalx("push", "impossible job transition", "delivery=%" PRId64 " from=%s to=%s",
		    j->delivery_id, job_state_names[j->state], job_state_names[to]);
	if ((l = job_list_of(p, j->state, &n)) != NULL) {
		TAILQ_REMOVE(l, j, entry);
		(*n)--;
	}
	l = job_list_of(p, to, &n);
	TAILQ_INSERT_TAIL(l, j, entry);
	(*n)++;
	j->state = to;
}

static void
job_free(struct job *j)
{
	if (j->easy != NULL) {
		curl_multi_remove_handle(j->p->multi, j->easy);
		curl_easy_cleanup(j->easy);
	}
	ags_cancel(j->prep);
	if (j->bearer != NULL)
		OPENSSL_cleanse(j->bearer, strlen(j->bearer));
	free(j->bearer);
	free(j->target);
	free(j->body);
	curl_slist_free_all(j->headers);
	free(j->webhook_id);
	free(j->event_type);
	free(j->payload);
	free(j->url);
	if (j->secret != NULL)
		OPENSSL_cleanse(j->secret, strlen(j->secret));
	free(j->secret);
	if (j->prev_secret != NULL)
		OPENSSL_cleanse(j->prev_secret, strlen(j->prev_secret));
	free(j->prev_secret);
	free(j->error);
	free(j->disable_reason);
	free(j);
}

/* Remove from its list and free. */
static void
job_drop(struct job *j)
{
	struct job_list *l;
	int *n;

	if ((l = job_list_of(j->p, j->state, &n)) != NULL) {
		TAILQ_REMOVE(l, j, entry);
		(*n)--;
	}
	job_free(j);
}

static size_t
write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct job *j = arg;
	size_t n = size * nmemb, room = HEAD_MAX - j->headlen;

	if (room > 0) {
		size_t take = n < room ? n : room;
		memcpy(j->head + j->headlen, data, take);
		j->headlen += take;
		j->head[j->headlen] = '\0';
	}
	return n;	/* read the rest and drop it */
}

static void
add_header(struct job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
add_header(struct job *j, const char *fmt, ...)
{
	va_list ap;
	char *h;
	struct curl_slist *l;

	va_start(ap, fmt);
	h = xvasprintf(fmt, ap);
	va_end(ap);
	l = curl_slist_append(j->headers, h);
	free(h);
	if (l == NULL)
		fatalx("push", "out of memory", "");
	j->headers = l;
}

static bool
transfer_start(struct job *j, const char *url, const char *body)
{
	push *p = j->p;
	const struct config *cfg = p->cfg;
	CURLMcode mc;

	curl_easy_setopt(j->easy, CURLOPT_URL, url);
	curl_easy_setopt(j->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(j->easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(j->easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(j->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(j->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)cfg->webhooks_connect_timeout_ms);
	curl_easy_setopt(j->easy, CURLOPT_TIMEOUT_MS, (long)cfg->webhooks_timeout_ms);
	curl_easy_setopt(j->easy, CURLOPT_ERRORBUFFER, j->errbuf);
	curl_easy_setopt(j->easy, CURLOPT_PRIVATE, j);
	curl_easy_setopt(j->easy, CURLOPT_HTTPHEADER, j->headers);
	curl_easy_setopt(j->easy, CURLOPT_POST, 1L);
	curl_easy_setopt(j->easy, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(j->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	curl_easy_setopt(j->easy, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(j->easy, CURLOPT_WRITEDATA, j);
	/* an LMS on the school's own network is lti.allow_private's call */
	j->guard.allow_private = j->lti ? cfg->lti_allow_private : cfg->webhooks_allow_private;
	ssrf_guard_easy(j->easy, &j->guard);
	curl_easy_setopt(j->easy, CURLOPT_TCP_KEEPALIVE, 1L);
	j->errbuf[0] = '\0';
	if ((mc = curl_multi_add_handle(p->multi, j->easy)) != CURLM_OK) {
		j->error = xasprintf("cannot start the transfer: %s", curl_multi_strerror(mc));
		return false;
	}
	return true;
}

static CURL *
easy_get(push *p)
{
	CURL *e;

	if (p->nidle > 0)
		return p->idle[--p->nidle];
	if ((e = curl_easy_init()) == NULL)
		fatalx("push", "curl_easy_init failed", "");
	return e;
}

/* A score to an LMS gradebook (AGS §3.4), once ags_prepare found where and how. */
static bool
lti_start(struct job *j)
{
	if (j->body == NULL && (j->body = ags_score_body(j->payload)) == NULL) {
		j->error = xstrdup("the score is malformed");
		return false;
	}
	j->easy = easy_get(j->p);
	add_header(j, "Content-Type: " AGS_SCORE_TYPE);
	add_header(j, "User-Agent: recalld/%s", PACKAGE_VERSION);
	add_header(j, "Authorization: %s", j->bearer);
	add_header(j, "Expect:");
	return transfer_start(j, j->target, j->body);
}

/* Set up and start one transfer; false (with j->error) when it cannot start. */
static bool
job_start(struct job *j)
{
	push *p = j->p;
	char sig[2][128];
	int64_t ts = (int64_t)time(NULL);	/* receivers check it against their wall clock */
	bool have_prev;

	j->at_us = clock_now_us();
	j->start_ms = util_mono_ms();
	if (j->lti)
		return lti_start(j);
	if (j->secret == NULL) {
		j->error = xstrdup("the endpoint's secret could not be opened (secrets.key_file:"
		    " see the daemon's log)");
		return false;
	}
	if (!sign_webhook(j->secret, j->webhook_id, ts, j->payload, strlen(j->payload), sig[0],
	    sizeof sig[0])) {
		j->error = xstrdup("the endpoint's secret is malformed; rotate it");
		return false;
	}
	have_prev = j->prev_secret != NULL && sign_webhook(j->prev_secret, j->webhook_id, ts,
	    j->payload, strlen(j->payload), sig[1], sizeof sig[1]);
	j->easy = easy_get(p);
	add_header(j, "Content-Type: application/json");
	add_header(j, "User-Agent: recalld/%s", PACKAGE_VERSION);
	add_header(j, "webhook-id: %s", j->webhook_id);
	add_header(j, "webhook-timestamp: %" PRId64, ts);
	add_header(j, "webhook-signature: %s%s%s", sig[0], have_prev ? " " : "",
	    have_prev ? sig[1] : "");
	add_header(j, "Expect:");
	return transfer_start(j, j->url, j->payload);
}

/* Retry-After: delta seconds or an HTTP date; -1 when absent or bad. */
static int64_t
retry_after_ms(CURL *e)
{
	struct curl_header *h;
	const char *v;
	char *end;
	long long secs;
	time_t t;

	if (curl_easy_header(e, "Retry-After", 0, CURLH_HEADER, -1, &h) != CURLHE_OK)
		return -1;
	v = h->value;
	while (*v == ' ')
		v++;
	if (isdigit((unsigned char)*v)) {
		errno = 0;
		secs = strtoll(v, &end, 10);
		while (*end == ' ')
			end++;
		if (errno != 0 || *end != '\0' || secs > RETRY_AFTER_MAX_MS / 1000)
			return errno == 0 && *end == '\0' ? RETRY_AFTER_MAX_MS : -1;
		return (int64_t)secs * 1000;
	}
	if ((t = curl_getdate(v, NULL)) == -1)
		return -1;
	secs = (long long)t - (long long)time(NULL);	/* the receiver's wall clock */
	if (secs < 0)
		return 0;
	return secs > RETRY_AFTER_MAX_MS / 1000 ? RETRY_AFTER_MAX_MS : (int64_t)secs * 1000;
}

/* Decide what the attempt means: delivered, a retry when, or dead. */
static void
job_judge(struct job *j, CURLcode res)
{
	push *p = j->p;
	const struct config *cfg = p->cfg;
	const int64_t *sched = cfg->webhooks_retry_schedule.ms;
	int64_t delay, ra = -1;
	int n, attempt = j->attempts + 1;
	char iso[40];

	j->done_us = clock_now_us();
	j->latency_ms = (int)(util_mono_ms() - j->start_ms);
	if (res == CURLE_OK && j->easy != NULL && j->error == NULL) {
		curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &j->http_status);
		if (j->http_status == 429 || j->http_status == 502 || j->http_status == 504)
			ra = retry_after_ms(j->easy);
	}
	if (j->headlen > 0)
		utf8_clean(j->head, j->headlen);
	if (j->error == NULL) {
		if (res == CURLE_OK && j->http_status >= 200 && j->http_status <= 299) {
			j->outcome = OUT_DELIVERED;
			p->st.delivered++;
			return;
		}
		if (res != CURLE_OK && j->guard.refused[0] != '\0')
			j->error = xstrdup(j->guard.refused);
		else if (res != CURLE_OK)
			j->error = xasprintf("%s: %s", curl_easy_strerror(res),
			    j->errbuf[0] ? j->errbuf : "no detail");
		else if (j->http_status >= 300 && j->http_status <= 399)
			j->error = xasprintf("HTTP %ld (redirects are not followed)", j->http_status);
		else
			j->error = xasprintf("HTTP %ld", j->http_status);
		utf8_clean(j->error, strlen(j->error));
	}
	p->st.failed++;
	if (j->lti && res == CURLE_OK && j->http_status == 401 && p->ags != NULL)
		ags_token_refused(p->ags, j->school_id, j->endpoint_id);
	if (res == CURLE_OK && j->http_status == 410) {
		j->disable_reason = xstrdup("the receiver answered 410 Gone");
	} else if (j->failing_since_us >= 0 &&
	    j->done_us - j->failing_since_us >= cfg->webhooks_disable_after_ms * 1000) {
		clock_format_iso(j->failing_since_us, iso, sizeof iso);
		j->disable_reason = xasprintf("every delivery failed since %.19sZ"
		    " (webhooks.disable_after); the last: %s", iso, j->error);
	}
	n = cfg->webhooks_retry_schedule.n;
	if (j->disable_reason != NULL || attempt > n) {
		j->outcome = OUT_DEAD;
		p->st.dead++;
		return;
	}
	delay = (int64_t)((double)sched[attempt - 1] * (1.0 - JITTER + 2 * JITTER * util_jitter()));
	if (ra > delay)
		delay = ra;
	j->outcome = OUT_RETRY;
	j->next_us = j->done_us + delay * 1000;
}

/* Keep an easy handle for the next transfer (cheaper than a new one). */
static void
easy_release(push *p, CURL *e)
{
	if (p->nidle >= p->cfg->webhooks_max_in_flight) {
		curl_easy_cleanup(e);
		return;
	}
	if (p->nidle == p->idle_cap) {
		p->idle_cap = p->idle_cap ? p->idle_cap * 2 : 16;
		p->idle = xreallocarray(p->idle, (size_t)p->idle_cap, sizeof *p->idle);
	}
	curl_easy_reset(e);
	p->idle[p->nidle++] = e;
}

/* A transfer ended (or never started): judge it and queue its result. */
static void
job_finished(struct job *j, CURLcode res)
{
	push *p = j->p;

	job_judge(j, res);
	if (j->easy != NULL) {
		curl_multi_remove_handle(p->multi, j->easy);
		easy_release(p, j->easy);
		j->easy = NULL;
	}
	if (j->ep != NULL) {
		j->ep->running--;
		ep_maybe_free(j->ep);
		j->ep = NULL;
	}
	log_debug("push", "attempt", "delivery=%" PRId64 " endpoint=%" PRId64 " attempt=%d"
	    " status=%ld ms=%d outcome=%s err=\"%s\"", j->delivery_id, j->endpoint_id,
	    j->attempts + 1, j->http_status, j->latency_ms,
	    j->outcome == OUT_DELIVERED ? "delivered" : j->outcome == OUT_RETRY ? "retry" : "dead",
	    j->error ? j->error : "");
	job_set_state(j, JOB_DONE);
	/* Results are written in batches: at once when enough or nothing else runs. */
	flush_soon(p, p->ndone >= CLAIM_MIN(p) || p->nsending == 0 ? 0 : FLUSH_DELAY_MS);
	if (!p->starting)
		start_queued(p);
	if (dueset_transfer_ended(p->dues, j->school_id)) {
		runner_kick(p->run, RUNNER_KICK);	/* its endpoint has room again */
	} else if (p->more) {
		runner_kick(p->run, RUNNER_KICK);
	}
}

static void
lti_prepared(const char *url, const char *bearer, const char *error, void *arg)
{
	struct job *j = arg;

	j->prep = NULL;
	if (error != NULL) {
		j->error = xstrdup(error);
		utf8_clean(j->error, strlen(j->error));
		job_finished(j, CURLE_OK);
		return;
	}
	j->target = xstrdup(url);
	j->bearer = xstrdup(bearer);
	if (!job_start(j))
		job_finished(j, CURLE_OK);
}

/* The gradebook's token and line item first (ags.h): the attempt's clock starts now. */
static void
lti_prepare(struct job *j)
{
	j->at_us = clock_now_us();
	j->start_ms = util_mono_ms();
	if (j->p->ags == NULL) {
		j->error = xstrdup("LMS gradebooks are not set up in this daemon");
		job_finished(j, CURLE_OK);
		return;
	}
	j->prep = ags_prepare(j->p->ags, j->school_id, j->endpoint_id, j->url, j->payload,
	    lti_prepared, j);
}

/* Start queued jobs while transfer slots are free, within each endpoint's cap. */
static void
start_queued(push *p)
{
	int max = (int)p->cfg->webhooks_max_in_flight;
	int cap = (int)p->cfg->webhooks_max_in_flight_per_endpoint;
	struct job *j, *next;

	p->starting = true;
	for (j = TAILQ_FIRST(&p->queued); j != NULL && p->nsending < max; j = next) {
		next = TAILQ_NEXT(j, entry);
		if (j->ep->running >= cap)
			continue;
		j->ep->queued--;
		j->ep->running++;
		job_set_state(j, JOB_SENDING);
		if (j->lti && j->target == NULL) {
			lti_prepare(j);		/* job_start when the LMS says where and how */
			continue;
		}
		if (!job_start(j))
			job_finished(j, CURLE_OK);	/* does not touch the queue now */
	}
	p->starting = false;
}

/* A transfer ended (curlev.h's callback). */
static void
transfer_done(CURL *easy, CURLcode res, void *arg)
{
	struct job *j = NULL;

	(void)arg;
	curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&j);
	job_finished(j, res);
}

/* ---- which schools have due deliveries ---- */

/*
 * The sender never scans every school's deliveries (on Citus each school
 * is one shard): it keeps the schools that may have due deliveries and
 * claims school by school. A school is heard of from the outbox NOTIFY
 * (its payload names the school), from this sender's own retries, and
 * from a sweep that probes each school in turn: all of them when the
 * LISTEN comes (back) up, a payload names no school or the manual clock
 * moves, and SWEEP_CHUNK of them at each poll, the backstop for what
 * another sender left (its retries, the leases of one that died).
 */
#define SWEEP_CHUNK	256
#define MAX_CLAIMS	8	/* schools claimed at once, one request each */
#define MAX_WRITES	8	/* schools' results written at once, one transaction each */
#define WHY_SWEEP	RUNNER_USER	/* every school, not just the ones heard of */

/* Wake for the earliest known due time still ahead. */
static void
arm_due(push *p)
{
	struct timeval tv;
	int64_t now = clock_now_us(), at = dueset_next(p->dues, now);

	if (runner_stopping(p->run) || at == DUESET_NONE || at == p->due_us)
		return;
	p->due_us = at;
	set_tv(&tv, (at - now) / 1000 + 1);
	evtimer_add(p->due, &tv);
}

/* School may have deliveries due at at_us (0: now); never later than known. */
static void
due_by(push *p, int64_t school, int64_t at_us)
{
	dueset_heard(p->dues, school, at_us);
	if (at_us > 0)
		arm_due(p);
}

static void
due_now_cb(int64_t school, void *arg)
{
	due_by(arg, school, 0);
}

/* ---- claiming ---- */

/*
 * One school's ($8) due deliveries, shared fairly between its enabled
 * endpoints: each offers its oldest due ones up to its room under $6
 * counting our own transfers ($4 endpoint ids, $5 their transfers), and
 * the claim of at most $3 takes them least loaded endpoint first, oldest
 * first among equals: round-robin, so one endpoint's backlog never keeps
 * the others waiting. Leased for $2 ms of the database's real time (as
 * the jobs' leases: a dead sender's claims lapse even while a test's
 * manual clock stands still). Each endpoint's rows are locked as they are
 * taken, skipping those another sender holds, so a sender claiming at
 * the same moment takes the next ones; a row another sender leased
 * meanwhile fails the re-check under its lock. The lock is FOR NO KEY
 * UPDATE, as the UPDATE's own (the key does not change): FOR UPDATE
 * would also skip a delivery on which an insert of its attempt log (a
 * foreign key) holds FOR KEY SHARE. The second statement finds the
 * school's next retry not yet due, to wake for it.
 */
static const char claim_sql[] =
    "WITH room AS (SELECT e.endpoint_id,"
    "  coalesce(($5::int[])[array_position($4::bigint[], e.endpoint_id)], 0) AS used"
    "  FROM endpoint e WHERE e.school_id = $8::bigint AND e.enabled),"
    " cand AS (SELECT c.delivery_id, c.endpoint_id, c.next_attempt_at,"
    "  r.used + row_number() OVER (PARTITION BY c.endpoint_id"
    "   ORDER BY c.next_attempt_at, c.delivery_id) AS load"
    "  FROM room r CROSS JOIN LATERAL (SELECT d.delivery_id, d.endpoint_id,"
    "   d.next_attempt_at FROM delivery d WHERE d.school_id = $8::bigint"
    "   AND d.endpoint_id = r.endpoint_id AND d.status = 'pending'"
    "   AND d.next_attempt_at <= $1::timestamptz"
    "   AND (d.lease_until IS NULL OR d.lease_until < clock_timestamp())"
    /* never a delivery this sender still holds, even past its lease */
    "   AND d.delivery_id <> ALL ($7::bigint[])"
    "   ORDER BY d.next_attempt_at, d.delivery_id LIMIT least($6::int - r.used, $3::int)"
    "   FOR NO KEY UPDATE OF d SKIP LOCKED) c"
    "  WHERE r.used < $6::int),"
    " pick AS (SELECT c.delivery_id, c.endpoint_id FROM cand c"
    "  ORDER BY c.load, c.next_attempt_at, c.delivery_id LIMIT $3::int)"
    " UPDATE delivery d SET lease_until = clock_timestamp() + $2::bigint * interval '1 millisecond'"
    " FROM pick l JOIN endpoint e ON e.school_id = $8::bigint AND e.endpoint_id = l.endpoint_id"
    " WHERE d.school_id = $8::bigint AND d.delivery_id = l.delivery_id"
    " RETURNING d.school_id, d.delivery_id, d.endpoint_id, d.webhook_id, d.event_type, d.payload,"
    " d.attempts, e.url, e.secret,"
    " CASE WHEN e.previous_secret_until > $1::timestamptz THEN e.previous_secret END,"
    " (extract(epoch FROM e.failing_since) * 1000000)::bigint, e.format = '" AGS_FORMAT "'";

static const char next_due_sql[] =
    "SELECT (extract(epoch FROM min(next_attempt_at)) * 1000000)::bigint FROM delivery"
    " WHERE school_id = $2::bigint AND status = 'pending' AND next_attempt_at > $1::timestamptz";

/* A sweep: the next schools in turn (a reference table), then a probe of each. */
static const char sweep_sql[] =
    "SELECT school_id FROM school WHERE school_id > $1::bigint ORDER BY school_id LIMIT $2::int";
/* When the school's first pending delivery nobody holds is due; NULL: none. */
static const char probe_sql[] =
    "SELECT $1::bigint, (extract(epoch FROM min(next_attempt_at)) * 1000000)::bigint FROM delivery"
    " WHERE school_id = $1::bigint AND status = 'pending'"
    " AND (lease_until IS NULL OR lease_until < clock_timestamp())";

/* An endpoint's secret as the claim returned it, opened; NULL (logged) if it cannot be. */
static char *
open_secret(push *p, const PGresult *res, int row, int col)
{
	char err[160], *plain;

	if (PQgetisnull(res, row, col))
		return NULL;
	if (p->secrets == NULL)
		return pgrow_dup(res, row, col);
	plain = secretbox_open(p->secrets, PQgetvalue(res, row, col), err, sizeof err);
	if (plain == NULL)
		log_errorx("push", "endpoint secret not opened", "err=\"%s\"", err);
	return plain;
}

static struct preq *
preq_new(push *p, struct preq_list *l, int64_t school)
{
	struct preq *q = xcalloc(1, sizeof *q);

	q->p = p;
	q->school_id = school;
	LIST_INSERT_HEAD(l, q, entry);
	return q;
}

static void
preq_free(struct preq *q)
{
	LIST_REMOVE(q, entry);
	free(q);
}

/* This sender has transfers of school in flight or queued. */
static bool
school_busy(const push *p, int64_t school)
{
	const struct ep_slot *e;

	LIST_FOREACH(e, &p->eps, entry)
		if (e->school_id == school && e->running + e->queued > 0)
			return true;
	return false;
}

/* Some endpoint of school is at its cap of transfers and queued ones. */
static bool
school_capped(const push *p, int64_t school)
{
	const struct ep_slot *e;

	LIST_FOREACH(e, &p->eps, entry)
		if (e->school_id == school &&
		    e->running + e->queued >= 2 * p->cfg->webhooks_max_in_flight_per_endpoint)
			return true;
	return false;
}

static void claims_start(push *p);

/* The last claim of a run returned: the run is over. */
static void
claims_over(push *p)
{
	int64_t now = clock_now_us();
	bool left = dueset_ready(p->dues, now) > 0;

	/*
	 * Schools left for want of room: claim as transfers end; others wait
	 * for theirs. After a failure (the database away), a NOTIFY, the poll
	 * or the LISTEN coming back claims again, not a loop here.
	 */
	p->more = left && !p->claim_failed;
	if (p->more && !runner_stopping(p->run) && capacity_free(p))
		runner_kick(p->run, RUNNER_KICK);
	p->claim_failed = false;
	log_debug("push", "claimed", "schools_known=%zu queued=%d sending=%d unwritten=%d",
	    dueset_count(p->dues), p->nqueued, p->nsending, p->ndone + p->nwriting);
	runner_done(p->run);
}

static void
claim_done(const struct db_reply *r, void *arg)
{
	struct preq *q = arg;
	push *p = q->p;
	const PGresult *res;
	struct dueset_claim c = { .next_us = DUESET_NONE };
	int rows;

	if (r->status != DB_OK) {
		c.failed = true;
		p->claim_failed = true;	/* no claim again until a NOTIFY, the poll or the LISTEN */
		/* Unavailable: the pool reconnects; the LISTEN up callback sweeps again. */
		if (r->status == DB_ERROR)
			log_warnx("push", "claim failed", "school=%" PRId64 " sqlstate=%s err=\"%s\"",
			    q->school_id, r->sqlstate, r->error);
		else
			log_debug("push", "claim failed", "err=\"%s\"", r->error);
		goto out;
	}
	res = r->results[0];
	rows = PQntuples(res);
	p->st.claimed += (uint64_t)rows;
	for (int i = 0; i < rows; i++) {
		struct job *j = xcalloc(1, sizeof *j);

		j->p = p;
		j->school_id = pgrow_i64(res, i, 0);
		j->delivery_id = pgrow_i64(res, i, 1);
		j->endpoint_id = pgrow_i64(res, i, 2);
		j->webhook_id = pgrow_dup(res, i, 3);
		j->event_type = pgrow_dup(res, i, 4);
		j->payload = pgrow_dup(res, i, 5);
		j->attempts = pgrow_int(res, i, 6);
		j->url = pgrow_dup(res, i, 7);
		j->secret = open_secret(p, res, i, 8);
		j->prev_secret = open_secret(p, res, i, 9);
		j->failing_since_us = pgrow_i64_or(res, i, 10, -1);
		j->lti = pgrow_bool(res, i, 11);
		j->ep = ep_get(p, j->school_id, j->endpoint_id);
		j->ep->queued++;
		job_set_state(j, JOB_QUEUED);
	}
	if (runner_stopping(p->run))
		release_queued(p);	/* claimed as we stopped: let others have them */
	else
		start_queued(p);
	/*
	 * Anything claimed, or an endpoint at its cap (when sent or now), may
	 * have left due ones (the window, the per-endpoint cap, rows skipped
	 * under another's lock): the school stays due. A claim of none is
	 * what says it has none due now: then it is due at its next retry,
	 * or at what was heard of while the claim ran, if sooner.
	 */
	c.more = rows > 0 || q->capped || school_capped(p, q->school_id);
	/* Short of a full claim: again when one of its transfers ends, not before. */
	c.wait = rows < q->limit && school_busy(p, q->school_id);
	if (r->nresults > 1 && PQntuples(r->results[1]) == 1 && !PQgetisnull(r->results[1], 0, 0))
		c.next_us = pgrow_i64(r->results[1], 0, 0);
	log_debug("push", "claim", "school=%" PRId64 " rows=%d limit=%d capped=%d", q->school_id,
	    rows, q->limit, q->capped);
out:
	dueset_claimed(p->dues, q->school_id, &c, clock_now_us());
	if (!c.failed && !c.more)
		arm_due(p);	/* it may be due later */
	preq_free(q);
	if (LIST_EMPTY(&p->claims))
		claims_over(p);
}

/*
 * A claimed delivery may wait one transfer in the queue, then take one:
 * the lease covers both, whatever the configuration says.
 */
static int64_t
lease_ms(const struct config *cfg)
{
	int64_t min = 2 * cfg->webhooks_timeout_ms + 5000;

	return cfg->webhooks_lease_ms > min ? cfg->webhooks_lease_ms : min;
}

/*
 * How many to claim: enough to fill the free transfer slots and as many
 * again queued ahead, so a slot that frees starts its next transfer
 * without waiting for the database. Results waiting to be written hold
 * no slot, but when the database falls behind that much, claiming waits.
 */
static int
capacity(const push *p)
{
	int max = (int)p->cfg->webhooks_max_in_flight;

	if (p->ndone + p->nwriting >= 4 * max)
		return 0;
	return 2 * max - p->nsending - p->nqueued;
}

/*
 * With transfers in flight, claim when a quarter of the slots are free:
 * fewer, larger claims cost the database much less per delivery.
 */
static bool
capacity_free(const push *p)
{
	int n = capacity(p);

	return n > 0 && (n >= CLAIM_MIN(p) || p->nsending + p->nqueued == 0);
}

/* Claim up to limit of school's due deliveries (one request, one shard). */
static void
claim_school(push *p, int64_t school_id, int limit)
{
	char now[40], lease[24], lim[16], cap[16], school[24];
	struct sbuf endpoints = { 0 }, used = { 0 }, held = { 0 };
	struct ep_slot *e;
	struct job *j;
	struct job_list *lists[4] = { &p->queued, &p->sending, &p->done, &p->writing };
	const char *params[8];
	struct preq *q = preq_new(p, &p->claims, school_id);
	db_req *r;

	q->limit = limit;
	q->capped = school_capped(p, school_id);
	clock_now_iso(now, sizeof now);
	snprintf(lease, sizeof lease, "%lld", (long long)lease_ms(p->cfg));
	snprintf(lim, sizeof lim, "%d", limit);
	/* Per endpoint, too: its cap in flight and as many queued. */
	snprintf(cap, sizeof cap, "%lld", 2 * (long long)p->cfg->webhooks_max_in_flight_per_endpoint);
	snprintf(school, sizeof school, "%" PRId64, school_id);
	/* Our own transfers per endpoint of the school, as two array literals. */
	LIST_FOREACH(e, &p->eps, entry) {
		if (e->school_id != school_id)
			continue;
		sbuf_arr_i64(&endpoints, e->endpoint_id);
		sbuf_arr_i64(&used, e->running + e->queued);
	}
	/*
	 * What this sender holds (a lease can run out while a result waits to
	 * be written): claiming it again would send it twice.
	 */
	for (int l = 0; l < 4; l++)
		TAILQ_FOREACH(j, lists[l], entry)
			if (j->school_id == school_id)
				sbuf_arr_i64(&held, j->delivery_id);
	params[0] = now;
	params[1] = lease;
	params[2] = lim;
	params[3] = sbuf_arr_end(&endpoints);
	params[4] = sbuf_arr_end(&used);
	params[5] = cap;
	params[6] = sbuf_arr_end(&held);
	params[7] = school;
	r = db_req_new(claim_done, q);
	db_req_add(r, claim_sql, 8, params);
	params[1] = school;
	db_req_add(r, next_due_sql, 2, params);
	p->st.claims++;
	q->req = db_submit(p->db, r);
	sbuf_free(&endpoints);
	sbuf_free(&used);
	sbuf_free(&held);
}

/*
 * Claim for the schools due now, least recently claimed first, up to
 * MAX_CLAIMS at once, sharing the room between them; the run ends when
 * the last returns.
 */
static void
claims_start(push *p)
{
	int64_t now = clock_now_us(), ids[MAX_CLAIMS];
	size_t n, k;
	int room = capacity(p);

	if (runner_stopping(p->run)) {
		runner_done(p->run);
		return;
	}
	n = dueset_ready(p->dues, now);
	if (n == 0 || !capacity_free(p)) {
		p->more = n > 0;	/* a finished transfer kicks */
		runner_done(p->run);
		return;
	}
	k = n < MAX_CLAIMS ? n : MAX_CLAIMS;
	if ((size_t)room < k)
		k = (size_t)room;
	k = dueset_pick(p->dues, now, ids, k);
	for (size_t i = 0; i < k; i++)
		claim_school(p, ids[i], room / (int)k);
	p->more = false;
}

/* The run ends; the poll or the LISTEN coming back sweeps again. */
static void
sweep_failed(push *p, const struct db_reply *r)
{
	if (r->status == DB_ERROR)
		log_warnx("push", "sweep failed", "sqlstate=%s err=\"%s\"", r->sqlstate, r->error);
	else
		log_debug("push", "sweep failed", "err=\"%s\"", r->error);
	runner_done(p->run);
}

/* A sweep's probes: each school's first due time. */
static void
probed(const struct db_reply *r, void *arg)
{
	push *p = arg;

	p->sweep_req = NULL;
	if (r->status != DB_OK) {
		sweep_failed(p, r);
		return;
	}
	for (int i = 0; i < r->nresults; i++)
		if (PQntuples(r->results[i]) == 1 && !PQgetisnull(r->results[i], 0, 1))
			due_by(p, pgrow_i64(r->results[i], 0, 0), pgrow_i64(r->results[i], 0, 1));
	if (p->sweep_full && p->sweep_cursor != 0 && !runner_stopping(p->run)) {
		sweep_next(p);	/* on through every school */
		return;
	}
	p->sweep_full = false;
	claims_start(p);
}

static void
swept(const struct db_reply *r, void *arg)
{
	push *p = arg;
	const PGresult *res;
	db_req *q;
	int rows;

	p->sweep_req = NULL;
	if (r->status != DB_OK) {
		sweep_failed(p, r);
		return;
	}
	res = r->results[0];
	rows = PQntuples(res);
	/* Fewer than a chunk: the end of the schools; the next sweep starts again. */
	p->sweep_cursor = rows < SWEEP_CHUNK ? 0 : pgrow_i64(res, rows - 1, 0);
	if (rows == 0) {
		p->sweep_full = false;
		claims_start(p);
		return;
	}
	q = db_req_new(probed, p);
	for (int i = 0; i < rows; i++) {
		const char *param[1] = { PQgetvalue(res, i, 0) };

		db_req_add(q, probe_sql, 1, param);	/* one school, one shard */
	}
	p->sweep_req = db_submit(p->db, q);
}

static void
sweep_next(push *p)
{
	char cursor[24], chunk[16];
	const char *param[2] = { cursor, chunk };

	snprintf(cursor, sizeof cursor, "%" PRId64, p->sweep_cursor);
	snprintf(chunk, sizeof chunk, "%d", SWEEP_CHUNK);
	p->st.sweeps++;
	p->sweep_req = db_query(p->db, sweep_sql, 2, param, swept, p);
}

/*
 * One run of the runner: a sweep when asked (every school, or the next
 * chunk at a poll), then the claims of the schools due.
 */
static void
claim_run(runner *r, unsigned why, void *arg)
{
	push *p = arg;

	/* The backstop: the next poll, at the interval read now (SIGHUP may change it). */
	runner_kick_after(r, p->cfg->webhooks_poll_interval_ms, RUNNER_TIMER);
	if (why & (WHY_SWEEP | RUNNER_CLOCK)) {
		if (!p->sweep_full)
			p->sweep_cursor = 0;
		p->sweep_full = true;
	}
	if (p->sweep_full || (why & RUNNER_TIMER)) {
		sweep_next(p);
		return;
	}
	claims_start(p);
}

void
push_wake(push *p, int64_t school)
{
	due_by(p, school, 0);
	runner_kick(p->run, RUNNER_KICK);
}

static void
due_cb(evutil_socket_t fd, short what, void *arg)
{
	push *p = arg;

	p->due_us = 0;
	runner_kick(p->run, RUNNER_KICK);
}

/* The outbox NOTIFY names the school; one that does not (another version's): a sweep. */
static void
notify_cb(const char *channel, const char *payload, void *arg)
{
	push *p = arg;

	(void)channel;
	runner_kick(p->run, util_each_id(payload, due_now_cb, p) ? RUNNER_KICK : WHY_SWEEP);
}

static void
listen_up_cb(void *arg)
{
	push *p = arg;

	log_debug("push", "listening, sweeping every school", "channel=%s", OUTBOX_CHANNEL);
	runner_kick(p->run, WHY_SWEEP);
}

/* Leases of deliveries claimed but not sent (stopping): others may take them now. */
static const char release_sql[] =
    "UPDATE delivery d SET lease_until = NULL FROM jsonb_to_recordset($1::jsonb) AS x(d bigint,"
    " n int) WHERE d.school_id = $2::bigint AND d.delivery_id = x.d AND d.attempts = x.n"
    " AND d.status = 'pending'";

static void
release_done(const struct db_reply *r, void *arg)
{
	struct preq *q = arg;

	if (r->status != DB_OK)
		log_warnx("push", "leases not released; they will expire", "school=%" PRId64
		    " err=\"%s\"", q->school_id, r->error);
	preq_free(q);
}

/* Every queued delivery's lease, one school (one transaction) at a time. */
static void
release_queued(push *p)
{
	int n = p->nqueued;

	while (!TAILQ_EMPTY(&p->queued)) {
		int64_t school = TAILQ_FIRST(&p->queued)->school_id;
		json_t *rows = json_array();
		struct job *j, *next;
		struct preq *q;
		const char *param[2];
		char id[24], *text;
		db_req *r;

		for (j = TAILQ_FIRST(&p->queued); j != NULL; j = next) {
			next = TAILQ_NEXT(j, entry);
			if (j->school_id != school)
				continue;
			json_array_append_new(rows, json_pack("{s:I, s:i}",
			    "d", (json_int_t)j->delivery_id, "n", j->attempts));
			j->ep->queued--;
			ep_maybe_free(j->ep);
			j->ep = NULL;
			job_drop(j);
		}
		if ((text = json_dumps(rows, JSON_COMPACT)) == NULL)
			fatalx("push", "cannot encode leases", "");
		snprintf(id, sizeof id, "%" PRId64, school);
		param[0] = text;
		param[1] = id;
		q = preq_new(p, &p->releases, school);
		r = db_req_new(release_done, q);
		db_req_add(r, release_sql, 2, param);
		q->req = db_submit(p->db, r);
		free(text);
		json_decref(rows);
	}
	if (n > 0)
		log_info("push", "releasing unsent claims", "deliveries=%d", n);
}

/* ---- writing results ---- */

/*
 * One request (one transaction) for a batch of one school's ($2)
 * results: the attempt log and the deliveries, then the endpoints'
 * failure state, then each endpoint to disable. A delivery is only
 * updated if no other sender recorded this attempt first (its lease ran
 * out), and a failure does not revive a delivery that died meanwhile (its
 * endpoint was disabled).
 */
static const char results_sql[] =
    "WITH r AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(d bigint, n int,"
    "  at timestamptz, st int, ms int, err text, head text, o text, next timestamptz, fin timestamptz)),"
    " a AS (INSERT INTO delivery_attempt (school_id, delivery_id, attempt, at, http_status,"
    "  latency_ms, error, response_head) SELECT $2::bigint, d, n, at, st, ms, err, head FROM r"
    "  ON CONFLICT DO NOTHING)"
    " UPDATE delivery t SET status = r.o, attempts = r.n,"
    " next_attempt_at = coalesce(r.next, t.next_attempt_at),"
    " delivered_at = CASE WHEN r.o = 'delivered' THEN r.fin ELSE t.delivered_at END,"
    " lease_until = NULL"
    " FROM r WHERE t.school_id = $2::bigint AND t.delivery_id = r.d AND t.attempts = r.n - 1"
    " AND (r.o = 'delivered' OR t.status = 'pending')";

/* ok: the last success in the batch; fail: the first failure after it. */
static const char endpoints_sql[] =
    "WITH x AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(e bigint,"
    "  ok timestamptz, fail timestamptz))"
    " UPDATE endpoint t SET failing_since ="
    " CASE WHEN x.ok IS NOT NULL THEN x.fail ELSE coalesce(t.failing_since, x.fail) END"
    " FROM x WHERE t.school_id = $2::bigint AND t.endpoint_id = x.e AND t.failing_since IS DISTINCT FROM"
    " (CASE WHEN x.ok IS NOT NULL THEN x.fail ELSE coalesce(t.failing_since, x.fail) END)";

/*
 * Disable endpoint $7 with reason $8 if it is still enabled; only then
 * its pending deliveries die and the school's other endpoints hear of it
 * ($1 .. $6: the outbox's, for the endpoint.disabled event).
 */
_Static_assert(OUTBOX_NPARAMS == 6, "disable_sql numbers its parameters after the outbox's");
static const char disable_sql[] =
    "WITH dis AS (UPDATE endpoint SET enabled = false, disabled_reason = $8::text"
    "  WHERE school_id = $1::bigint AND endpoint_id = $7::bigint AND enabled RETURNING 1),"
    " dead AS (UPDATE delivery SET status = 'dead', lease_until = NULL"
    "  WHERE school_id = $1::bigint AND endpoint_id = $7::bigint AND status = 'pending'"
    "  AND EXISTS (SELECT 1 FROM dis))"
    " " OUTBOX_INSERT_SQL " AND e.endpoint_id <> $7::bigint AND EXISTS (SELECT 1 FROM dis)";

/* The host of a URL, for the endpoint.disabled event (URLs may hold tokens). */
static char *
url_host(const char *url)
{
	CURLU *u = curl_url();
	char *host = NULL, *out;

	if (u != NULL && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
		out = xstrdup(host);
		curl_free(host);
	} else {
		out = xstrdup("");
	}
	curl_url_cleanup(u);
	return out;
}

static void
add_disable(db_req *r, struct job *j)
{
	char school[24], endpoint[24], now[40];
	char *renderings, *host = url_host(j->url);
	const char *params[OUTBOX_NPARAMS + 2];
	json_t *data;
	struct outbox_event ev;

	snprintf(school, sizeof school, "%" PRId64, j->school_id);
	snprintf(endpoint, sizeof endpoint, "%" PRId64, j->endpoint_id);
	clock_format_iso(j->done_us, now, sizeof now);
	data = json_pack("{s:I, s:s, s:s, s:s}", "endpoint_id", (json_int_t)j->endpoint_id,
	    "host", host, "reason", j->disable_reason, "disabled_at", now);
	ev = (struct outbox_event){ .school_id = school, .type = "endpoint.disabled", .data = data,
	    .now = now };
	outbox_params(&ev, params, &renderings);
	params[OUTBOX_NPARAMS] = endpoint;
	params[OUTBOX_NPARAMS + 1] = j->disable_reason;
	db_req_add(r, disable_sql, OUTBOX_NPARAMS + 2, params);
	free(renderings);
	json_decref(data);
	free(host);
}

static const char *
outcome_name(enum outcome o)
{
	return o == OUT_DELIVERED ? "delivered" : o == OUT_RETRY ? "pending" : "dead";
}

static json_t *
iso_or_null(int64_t us)
{
	char iso[40];

	if (us <= 0)
		return json_null();
	clock_format_iso(us, iso, sizeof iso);
	return json_string(iso);
}

struct ep_agg {
	int64_t e, ok_us, fail_us;
	bool dirty;	/* failing_since may change */
};

static void
write_done(const struct db_reply *r, void *arg)
{
	struct preq *q = arg;
	push *p = q->p;
	struct job *j, *next;
	bool retries = false;

	if (r->status != DB_OK && r->status != DB_ERROR) {
		log_warnx("push", "results not written, retrying", "school=%" PRId64 " err=\"%s\"",
		    q->school_id, r->error);
		for (j = TAILQ_FIRST(&p->writing); j != NULL; j = next) {
			next = TAILQ_NEXT(j, entry);
			if (j->wb == q) {
				j->wb = NULL;
				job_set_state(j, JOB_DONE);
			}
		}
		preq_free(q);
		flush_retry(p);
		return;
	}
	/* A bug (DB_ERROR): dropping the results lets the leases expire and retry. */
	if (r->status == DB_ERROR)
		log_warnx("push", "results not written", "school=%" PRId64 " sqlstate=%s err=\"%s\"",
		    q->school_id, r->sqlstate, r->error);
	for (j = TAILQ_FIRST(&p->writing); j != NULL; j = next) {
		next = TAILQ_NEXT(j, entry);
		if (j->wb != q)
			continue;
		if (r->status != DB_OK) {
			/* nothing */
		} else if (j->disable_reason != NULL) {
			p->st.disabled++;
			log_info("push", "endpoint disabled", "school=%" PRId64 " endpoint=%" PRId64
			    " reason=\"%s\"", j->school_id, j->endpoint_id, j->disable_reason);
		} else if (j->outcome == OUT_DEAD) {
			log_info("push", "delivery dead", "school=%" PRId64 " delivery=%" PRId64
			    " attempts=%d err=\"%s\"", j->school_id, j->delivery_id,
			    j->attempts + 1, j->error ? j->error : "");
		}
		/* Its school is due again at its retry (the timer armed once, below). */
		if (r->status == DB_OK && j->outcome == OUT_RETRY) {
			dueset_heard(p->dues, j->school_id, j->next_us);
			retries = true;
		}
		job_drop(j);
	}
	if (retries)
		arm_due(p);
	preq_free(q);
	if (p->ndone > 0)
		flush_soon(p, 0);
	if (p->more)
		runner_kick(p->run, RUNNER_KICK);
}

/* The DONE results of school, as one write (one transaction). */
static void
write_school(push *p, int64_t school)
{
	json_t *rows = json_array(), *eps = json_array();
	struct ep_agg *agg = NULL;
	size_t nagg = 0;
	struct job *j, *next;
	struct preq *q = preq_new(p, &p->writes, school);
	db_req *r;
	char *s1, *s2, id[24];
	const char *param[2] = { NULL, id };
	bool disables = false;

	for (j = TAILQ_FIRST(&p->done); j != NULL; j = next) {
		size_t k;

		next = TAILQ_NEXT(j, entry);
		if (j->school_id != school)
			continue;
		json_array_append_new(rows, json_pack("{s:I, s:i, s:o, s:o, s:i, s:o, s:o,"
		    " s:s, s:o, s:o}",
		    "d", (json_int_t)j->delivery_id,
		    "n", j->attempts + 1, "at", iso_or_null(j->at_us),
		    "st", j->http_status > 0 ? json_integer(j->http_status) : json_null(),
		    "ms", j->latency_ms,
		    "err", j->error ? json_string(j->error) : json_null(),
		    "head", j->headlen > 0 ? json_stringn(j->head, j->headlen) : json_null(),
		    "o", outcome_name(j->outcome),
		    "next", j->outcome == OUT_RETRY ? iso_or_null(j->next_us) : json_null(),
		    "fin", iso_or_null(j->done_us)));
		/* Per endpoint: the last success, and the first failure after it. */
		for (k = 0; k < nagg; k++)
			if (agg[k].e == j->endpoint_id)
				break;
		if (k == nagg) {
			agg = xreallocarray(agg, nagg + 1, sizeof *agg);
			agg[nagg++] = (struct ep_agg){ j->endpoint_id, 0, 0, false };
		}
		if (j->outcome == OUT_DELIVERED) {
			if (j->done_us >= agg[k].ok_us) {
				agg[k].ok_us = j->done_us;
				if (agg[k].fail_us != 0 && agg[k].fail_us <= j->done_us)
					agg[k].fail_us = 0;
			}
		} else if (j->at_us > agg[k].ok_us &&
		    (agg[k].fail_us == 0 || j->at_us < agg[k].fail_us)) {
			agg[k].fail_us = j->at_us;
		}
		/* A success where nothing was failing changes nothing. */
		agg[k].dirty |= j->outcome != OUT_DELIVERED || j->failing_since_us >= 0;
		disables |= j->disable_reason != NULL;
		j->wb = q;
		job_set_state(j, JOB_WRITING);
	}
	for (size_t k = 0; k < nagg; k++)
		if (agg[k].dirty)
			json_array_append_new(eps, json_pack("{s:I, s:o, s:o}",
			    "e", (json_int_t)agg[k].e,
			    "ok", iso_or_null(agg[k].ok_us), "fail", iso_or_null(agg[k].fail_us)));
	free(agg);
	s1 = json_dumps(rows, JSON_COMPACT);
	s2 = json_dumps(eps, JSON_COMPACT);
	if (s1 == NULL || s2 == NULL)
		fatalx("push", "cannot encode results", "");
	snprintf(id, sizeof id, "%" PRId64, school);
	/* One transaction: attempts and deliveries, endpoints, then disables. */
	r = db_req_new(write_done, q);
	param[0] = s1;
	db_req_add(r, results_sql, 2, param);
	if (json_array_size(eps) > 0) {
		param[0] = s2;
		db_req_add(r, endpoints_sql, 2, param);
	}
	if (disables) {
		TAILQ_FOREACH(j, &p->writing, entry)
			if (j->wb == q && j->disable_reason != NULL)
				add_disable(r, j);
		outbox_notify_sql(r, id);	/* each disable queued an event */
	}
	q->req = db_submit(p->db, r);
	free(s1);
	free(s2);
	json_decref(rows);
	json_decref(eps);
}

static bool
writing_school(const push *p, int64_t school)
{
	const struct preq *q;

	LIST_FOREACH(q, &p->writes, entry)
		if (q->school_id == school)
			return true;
	return false;
}

/*
 * Write what is DONE: one school per transaction, a few schools at once,
 * one write at a time per school (its endpoints' failure state is
 * written in the order it happened).
 */
static void
flush_cb(evutil_socket_t fd, short what, void *arg)
{
	push *p = arg;
	int nwrites = 0;
	struct preq *q;
	struct job *j;

	p->write_retry = false;
	LIST_FOREACH(q, &p->writes, entry)
		nwrites++;
	for (j = TAILQ_FIRST(&p->done); j != NULL && nwrites < MAX_WRITES; ) {
		if (writing_school(p, j->school_id)) {
			j = TAILQ_NEXT(j, entry);
			continue;
		}
		write_school(p, j->school_id);	/* moves this school's jobs out of done */
		nwrites++;
		j = TAILQ_FIRST(&p->done);
	}
}

static void
flush_soon(push *p, int delay_ms)
{
	struct timeval tv;

	if (p->write_retry)
		return;	/* the retry timer writes everything done by then */
	if (delay_ms > 0) {
		if (!evtimer_pending(p->flush, NULL)) {
			set_tv(&tv, delay_ms);
			evtimer_add(p->flush, &tv);
		}
		return;
	}
	event_active(p->flush, EV_TIMEOUT, 0);
}

/* The database did not take the results: try again in a while. */
static void
flush_retry(push *p)
{
	struct timeval tv;

	set_tv(&tv, WRITE_RETRY_MS);
	p->write_retry = true;
	evtimer_add(p->flush, &tv);
}

/* ---- life ---- */

push *
push_new(struct event_base *base, db_pool *db, const struct config *cfg, secretbox *secrets)
{
	push *p = xcalloc(1, sizeof *p);

	p->base = base;
	p->db = db;
	p->cfg = cfg;
	p->secrets = secrets;
	TAILQ_INIT(&p->queued);
	TAILQ_INIT(&p->sending);
	TAILQ_INIT(&p->done);
	TAILQ_INIT(&p->writing);
	LIST_INIT(&p->eps);
	LIST_INIT(&p->claims);
	LIST_INIT(&p->writes);
	LIST_INIT(&p->releases);
	p->dues = dueset_new();
	p->cev = curlev_new(base, transfer_done, p);
	p->multi = curlev_multi(p->cev);
	/* Keep-alive connections: one per concurrent transfer, shared by host. */
	curl_multi_setopt(p->multi, CURLMOPT_MAXCONNECTS, (long)cfg->webhooks_max_in_flight);
	curl_multi_setopt(p->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)cfg->webhooks_max_in_flight);
	curl_multi_setopt(p->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
	p->due = evtimer_new(base, due_cb, p);
	p->flush = evtimer_new(base, flush_cb, p);
	if (p->due == NULL || p->flush == NULL)
		fatalx("push", "out of memory", "");
	/* No claim at start: the LISTEN coming up claims (and after each reconnect). */
	p->run = runner_new(base, &(struct runner_spec){ .name = "push",
	    .on_clock = clock_is_manual() }, claim_run, p);
	runner_kick_after(p->run, cfg->webhooks_poll_interval_ms, RUNNER_TIMER);
	db_listen(db, OUTBOX_CHANNEL, notify_cb, listen_up_cb, p);
	if (cfg->webhooks_lease_ms < lease_ms(cfg))
		log_warnx("push", "webhooks.lease is short; using twice the timeout plus 5 s",
		    "lease_ms=%lld", (long long)lease_ms(cfg));
	log_info("push", "sender started", "poll_ms=%lld max_in_flight=%lld per_endpoint=%lld"
	    " allow_private=%s", (long long)cfg->webhooks_poll_interval_ms,
	    (long long)cfg->webhooks_max_in_flight,
	    (long long)cfg->webhooks_max_in_flight_per_endpoint,
	    cfg->webhooks_allow_private ? "true" : "false");
	return p;
}

void
push_stop(push *p)
{
	if (runner_stopping(p->run))
		return;
	runner_stop(p->run);
	evtimer_del(p->due);
	log_info("push", "stopping", "sending=%d queued=%d unwritten=%d", p->nsending, p->nqueued,
	    p->ndone + p->nwriting);
	/* A claim in flight releases everything queued when it returns. */
	if (LIST_EMPTY(&p->claims))
		release_queued(p);
}

static int
preq_count(const struct preq_list *l)
{
	const struct preq *q;
	int n = 0;

	LIST_FOREACH(q, l, entry)
		n++;
	return n;
}

int
push_pending(const push *p)
{
	return p->nqueued + p->nsending + p->ndone + p->nwriting + preq_count(&p->claims) +
	    preq_count(&p->releases) + (p->sweep_req != NULL ? 1 : 0);
}

void
push_get_stats(const push *p, struct push_stats *out)
{
	*out = p->st;
	out->sending = p->nsending;
	out->queued = p->nqueued;
}

void
push_set_ags(push *p, ags *a)
{
	p->ags = a;
}

void
push_free(push *p)
{
	struct job *j;
	struct ep_slot *e;
	struct preq *q;
	struct preq_list *reqs[3];

	if (p == NULL)
		return;
	reqs[0] = &p->claims;
	reqs[1] = &p->writes;
	reqs[2] = &p->releases;

	for (int i = 0; i < 3; i++)
		while ((q = LIST_FIRST(reqs[i])) != NULL) {
			db_cancel(q->req);
			preq_free(q);
		}
	if (p->sweep_req != NULL)
		db_cancel(p->sweep_req);
	if (p->nqueued + p->nsending + p->ndone + p->nwriting > 0)
		log_warnx("push", "exiting with deliveries in flight; their leases will expire",
		    "queued=%d sending=%d unwritten=%d", p->nqueued, p->nsending,
		    p->ndone + p->nwriting);
	while ((j = TAILQ_FIRST(&p->queued)) != NULL)
		job_drop(j);
	while ((j = TAILQ_FIRST(&p->sending)) != NULL)
		job_drop(j);
	while ((j = TAILQ_FIRST(&p->done)) != NULL)
		job_drop(j);
	while ((j = TAILQ_FIRST(&p->writing)) != NULL)
		job_drop(j);
	while ((e = LIST_FIRST(&p->eps)) != NULL) {
		LIST_REMOVE(e, entry);
		free(e);
	}
	while (p->nidle > 0)
		curl_easy_cleanup(p->idle[--p->nidle]);
	free(p->idle);
	dueset_free(p->dues);
	/* Removing the handles above closed their sockets through curlev. */
	curlev_free(p->cev);
	runner_free(p->run);
	event_free(p->due);
	event_free(p->flush);
	free(p);
}
