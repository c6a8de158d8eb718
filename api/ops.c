/*
 * ops.c: /healthz, /readyz and /metrics for load balancers and Prometheus,
 * and /v1/openapi.yaml, the API's description, for client generators.
 */
#include "autoconf.h"

#include <stdlib.h>

#include "app.h"
#include "batches.h"
#include "embed.h"
#include "flagjob.h"
#include "audit.h"
#include "leavers.h"
#include "nrps.h"
#include "fitjob.h"
#include "partitions.h"
#include "http.h"
#include "lease.h"
#include "log.h"
#include "ops.h"
#include "push.h"
#include "util.h"

/* readyz must answer before a load balancer gives up on it. */
#define READYZ_TIMEOUT_MS 1500

struct readyz {
	http_ctx *ctx;
	struct app *app;
	db_req *req;
	struct event *timer;
};

static void
healthz(http_ctx *c, void *arg, const void *data)
{
	http_reply_text(c, 200, "application/json", "{\"status\":\"ok\"}");
}

/* The document built into the binary (embed.sh), public like /healthz. */
static void
openapi_get(http_ctx *c, void *arg, const void *data)
{
	const struct embed_file *f = embed_find(&embed_api, "openapi.yaml");

	if (f == NULL) {
		http_problem(c, 404, "not-found", "Not found", "no API document in this build");
		return;
	}
	http_reply_text(c, 200, "application/yaml", (const char *)f->data);
}

static void
readyz_done(struct readyz *r)
{
	event_free(r->timer);
	free(r);
}

static void
readyz_cb(const struct db_reply *rep, void *arg)
{
	struct readyz *r = arg;
	char why[512];

	if (rep->status != DB_OK) {
		http_problem(r->ctx, 503, "database-unavailable", "Database unavailable",
		    rep->error);
	} else if (migrate_compare(r->app->migrations, rep->results[0], NULL, why,
	    sizeof why) != MIGRATE_CURRENT) {
		http_problem(r->ctx, 503, "schema-not-current", "Database schema not current",
		    why);
	} else {
		http_reply_text(r->ctx, 200, "application/json", "{\"status\":\"ready\"}");
	}
	readyz_done(r);
}

static void
readyz_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct readyz *r = arg;

	db_cancel(r->req);
	http_problem(r->ctx, 503, "database-unavailable", "Database unavailable",
	    "the database did not answer in time");
	readyz_done(r);
}

static void
readyz(http_ctx *c, void *arg, const void *data)
{
	struct app *app = arg;
	struct readyz *r;
	struct timeval tv = { READYZ_TIMEOUT_MS / 1000, (READYZ_TIMEOUT_MS % 1000) * 1000 };

	if (app->stopping) {
		http_problem(c, 503, "shutting-down", "Shutting down",
		    "recalld is stopping and takes no new work");
		return;
	}
	if (!db_pool_live(app->db)) {
		http_problem(c, 503, "database-unavailable", "Database unavailable",
		    "no connection to the database is up; recalld keeps reconnecting");
		return;
	}
	r = xcalloc(1, sizeof *r);
	r->ctx = c;
	r->app = app;
	r->timer = evtimer_new(app->base, readyz_timeout, r);
	evtimer_add(r->timer, &tv);
	r->req = db_query(app->db, migrate_status_sql, 0, NULL, readyz_cb, r);
}

static void
lease_line(const char *job, const char *school, void *arg)
{
	evbuffer_add_printf(arg, "recalld_lease_held{job=\"%s\",school=\"%s\"} 1\n", job, school);
}

static void
metrics(http_ctx *c, void *arg, const void *data)
{
	struct app *app = arg;
	struct evbuffer *b = evbuffer_new();
	struct db_stats st;

	http_server_metrics(app->http, b);
	db_pool_stats(app->db, &st);
	evbuffer_add_printf(b,
	    "# HELP recalld_db_connections Pool connections by state.\n"
	    "# TYPE recalld_db_connections gauge\n"
	    "recalld_db_connections{state=\"connecting\"} %d\n"
	    "recalld_db_connections{state=\"idle\"} %d\n"
	    "recalld_db_connections{state=\"busy\"} %d\n"
	    "recalld_db_connections{state=\"down\"} %d\n"
	    "# HELP recalld_db_queue_depth Requests waiting for a connection.\n"
	    "# TYPE recalld_db_queue_depth gauge\n"
	    "recalld_db_queue_depth %d\n"
	    "# HELP recalld_db_requests_total Database requests finished, by outcome.\n"
	    "# TYPE recalld_db_requests_total counter\n"
	    "recalld_db_requests_total{outcome=\"ok\"} %llu\n"
	    "recalld_db_requests_total{outcome=\"failed\"} %llu\n"
	    "# HELP recalld_db_reconnects_total Connections re-established after a failure.\n"
	    "# TYPE recalld_db_reconnects_total counter\n"
	    "recalld_db_reconnects_total %llu\n"
	    "# HELP recalld_up_seconds Seconds since serve started.\n"
	    "# TYPE recalld_up_seconds gauge\n"
	    "recalld_up_seconds %.3f\n",
	    st.connecting, st.idle, st.busy, st.down, st.queued,
	    (unsigned long long)st.completed, (unsigned long long)st.failed,
	    (unsigned long long)st.reconnects,
	    (double)(util_mono_ms() - app->started_ms) / 1000.0);
	if (app->reads != NULL) {
		struct replica_stats rs;

		replica_get_stats(app->reads, &rs);
		evbuffer_add_printf(b,
		    "# HELP recalld_db_read_lag_seconds How far database.read_url's standby is behind"
		    " the primary (-1: not known, or down).\n"
		    "# TYPE recalld_db_read_lag_seconds gauge\n"
		    "recalld_db_read_lag_seconds %.3f\n"
		    "# HELP recalld_db_reads_total Teachers' reads, by the database that served them.\n"
		    "# TYPE recalld_db_reads_total counter\n"
		    "recalld_db_reads_total{db=\"replica\"} %llu\n"
		    "recalld_db_reads_total{db=\"primary\"} %llu\n",
		    rs.lag_ms < 0 ? -1.0 : (double)rs.lag_ms / 1000.0,
		    (unsigned long long)rs.to_replica, (unsigned long long)rs.to_primary);
	}
	if (app->push != NULL) {
		struct push_stats ps;

		push_get_stats(app->push, &ps);
		evbuffer_add_printf(b,
		    "# HELP recalld_webhook_deliveries_in_flight Webhook transfers under way.\n"
		    "# TYPE recalld_webhook_deliveries_in_flight gauge\n"
		    "recalld_webhook_deliveries_in_flight %d\n"
		    "# HELP recalld_webhook_deliveries_queued Claimed deliveries waiting for a slot.\n"
		    "# TYPE recalld_webhook_deliveries_queued gauge\n"
		    "recalld_webhook_deliveries_queued %d\n"
		    "# HELP recalld_webhook_attempts_total Delivery attempts by outcome.\n"
		    "# TYPE recalld_webhook_attempts_total counter\n"
		    "recalld_webhook_attempts_total{outcome=\"delivered\"} %llu\n"
		    "recalld_webhook_attempts_total{outcome=\"failed\"} %llu\n"
		    "# HELP recalld_webhook_dead_total Deliveries given up after the last retry.\n"
		    "# TYPE recalld_webhook_dead_total counter\n"
		    "recalld_webhook_dead_total %llu\n"
		    "# HELP recalld_webhook_endpoints_disabled_total Endpoints this daemon disabled.\n"
		    "# TYPE recalld_webhook_endpoints_disabled_total counter\n"
		    "recalld_webhook_endpoints_disabled_total %llu\n",
		    ps.sending, ps.queued, (unsigned long long)ps.delivered,
		    (unsigned long long)ps.failed, (unsigned long long)ps.dead,
		    (unsigned long long)ps.disabled);
	}
	/* Lets a test (or an operator) see that a job has nothing left to do. */
	evbuffer_add_printf(b,
	    "# HELP recalld_job_idle 1 when a job neither runs nor has a run asked for.\n"
	    "# TYPE recalld_job_idle gauge\n");
	if (app->batches != NULL)
		evbuffer_add_printf(b, "recalld_job_idle{job=\"batches\"} %d\n",
		    batches_idle(app->batches));
	if (app->flagjob != NULL)
		evbuffer_add_printf(b, "recalld_job_idle{job=\"flags\"} %d\n",
		    flagjob_idle(app->flagjob));
	if (app->leavers != NULL)
		evbuffer_add_printf(b, "recalld_job_idle{job=\"leavers\"} %d\n",
		    leavers_idle(app->leavers));
	if (app->nrps != NULL)
		evbuffer_add_printf(b, "recalld_job_idle{job=\"nrps\"} %d\n", nrps_idle(app->nrps));
	if (app->fitjob != NULL)
		evbuffer_add_printf(b, "recalld_job_idle{job=\"fsrs_fit\"} %d\n",
		    fitjob_idle(app->fitjob));
	if (app->partitions != NULL)
		evbuffer_add_printf(b, "recalld_job_idle{job=\"partitions\"} %d\n",
		    partitions_idle(app->partitions));
	if (app->audit != NULL) {
		struct audit_stats as;

		audit_get_stats(app->audit, &as);
		evbuffer_add_printf(b,
		    "# HELP recalld_audit_entries_total Access audit entries, by outcome.\n"
		    "# TYPE recalld_audit_entries_total counter\n"
		    "recalld_audit_entries_total{outcome=\"written\"} %llu\n"
		    "recalld_audit_entries_total{outcome=\"dropped\"} %llu\n"
		    "# HELP recalld_audit_integration_requests_total Integration tokens' requests"
		    " (counted, not logged one by one).\n"
		    "# TYPE recalld_audit_integration_requests_total counter\n"
		    "recalld_audit_integration_requests_total %llu\n",
		    (unsigned long long)as.written, (unsigned long long)as.dropped,
		    (unsigned long long)as.integration);
	}
	if (app->leases != NULL) {
		evbuffer_add_printf(b,
		    "# HELP recalld_lease_held 1 for each school whose share of a job this daemon holds.\n"
		    "# TYPE recalld_lease_held gauge\n");
		lease_each(app->leases, lease_line, b);
	}
	http_reply(c, 200, "text/plain; version=0.0.4; charset=utf-8", b);
	evbuffer_free(b);
}

void
ops_routes(http_server *s)
{
	http_route(s, EVHTTP_REQ_GET, "/healthz", healthz);
	http_route(s, EVHTTP_REQ_GET, "/readyz", readyz);
	http_route(s, EVHTTP_REQ_GET, "/metrics", metrics);
	http_route(s, EVHTTP_REQ_GET, "/v1/openapi.yaml", openapi_get);
}
