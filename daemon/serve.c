/* serve.c: `recalld serve`, the daemon's life from start-up checks to exit. */
#include "autoconf.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "api.h"
#include "alink.h"
#include "answers.h"
#include "app.h"
#include "b64.h"
#include "batches.h"
#include "checks.h"
#include "clock.h"
#include "dashboard.h"
#include "endpoints.h"
#include "flagjob.h"
#include "audit.h"
#include "leavers.h"
#include "nrps.h"
#include "fitjob.h"
#include "partitions.h"
#include "http.h"
#include "log.h"
#include "secretbox.h"
#include "notify.h"
#include "ops.h"
#include "push.h"
#include "pupil_page.h"
#include "hfetch.h"
#include "ags.h"
#include "serve.h"
#include "util.h"

/* Backstop for a revocation whose NOTIFY was lost with a connection. */
#define TOKEN_CACHE_TTL_MS 30000

struct serve {
	struct app app;
	struct event *sigterm, *sigint, *sighup;
	struct event *ready_timer;
	struct event *watchdog;
	struct event *drain_timer;
	struct event *deadline;
	int exit_code;
};

/*
 * Start-up may block (nothing is served yet): wait for the database, then
 * refuse a schema that is behind, edited or newer than this binary.
 */
/*
 * A manual clock is shared by every daemon on the database: the later of
 * the stored time and this daemon's clock.start wins, for all of them.
 */
static bool
clock_join(PGconn *pg)
{
	char start[24];
	const char *p[1] = { start };
	PGresult *res;
	bool ok;

	snprintf(start, sizeof start, "%lld", (long long)clock_now_us());
	/* Ours may be the later: the others follow (the NOTIFY). */
	res = PQexecParams(pg, "WITH up AS (INSERT INTO manual_clock (id, now_us)"
	    " VALUES (true, $1::bigint) ON CONFLICT (id) DO UPDATE"
	    "  SET now_us = greatest(manual_clock.now_us, EXCLUDED.now_us) RETURNING now_us)"
	    " SELECT now_us, pg_notify('" CLOCK_CHANNEL "', now_us::text) FROM up",
	    1, NULL, p, NULL, NULL, 0);
	ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
	if (!ok)
		log_errorx("serve", "cannot read the shared manual clock", "err=\"%.*s\"",
		    (int)strcspn(PQerrorMessage(pg), "\n"), PQerrorMessage(pg));
	else if (!clock_set(strtoll(PQgetvalue(res, 0, 0), NULL, 10)))
		ok = false;	/* cannot be: the stored time is never earlier */
	PQclear(res);
	return ok;
}

/* A fresh answer-link key, base64 (caller wipes and frees). */
static char *
link_key_new(void)
{
	char *text = alink_key_new();

	if (text == NULL)
		fatalx("serve", "no randomness for the answer link key", "");
	return text;
}

static void
wipe(char *s)
{
	if (s != NULL) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

/*
 * The answer-link key every daemon on the database shares (sql/0028), made
 * and sealed by the first to start: with a key file and no link key in the
 * configuration. Opened into *cur and *prev (caller wipes and frees).
 */
static bool
link_key_join(struct app *app, PGconn *pg, char **cur, char **prev)
{
	char *fresh = link_key_new(), *sealed = secretbox_seal(app->secrets, fresh), err[256];
	const char *p[1] = { sealed };
	PGresult *res;
	bool ok = false;

	wipe(fresh);
	res = PQexecParams(pg, "WITH made AS (INSERT INTO link_key (id, sealed) VALUES (true, $1)"
	    " ON CONFLICT (id) DO NOTHING RETURNING sealed, previous_sealed)"
	    " SELECT sealed, previous_sealed FROM made UNION ALL"
	    " SELECT sealed, previous_sealed FROM link_key WHERE NOT EXISTS (SELECT 1 FROM made)",
	    1, NULL, p, NULL, NULL, 0);
	free(sealed);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		log_errorx("serve", "cannot read the answer link key", "err=\"%.*s\"",
		    (int)strcspn(PQerrorMessage(pg), "\n"), PQerrorMessage(pg));
		goto out;
	}
	*cur = secretbox_open(app->secrets, PQgetvalue(res, 0, 0), err, sizeof err);
	*prev = PQgetisnull(res, 0, 1) ? NULL :
	    secretbox_open(app->secrets, PQgetvalue(res, 0, 1), err, sizeof err);
	if (*cur == NULL || (!PQgetisnull(res, 0, 1) && *prev == NULL)) {
		log_errorx("serve", "cannot open the answer link key", "err=\"%s\"", err);
		wipe(*cur);
		*cur = NULL;
		goto out;
	}
	log_info("serve", "answer links signed with the database's sealed key", "");
	ok = true;
out:
	PQclear(res);
	return ok;
}

static bool
startup_check(struct app *app, char **link_cur, char **link_prev)
{
	uint64_t deadline = util_mono_ms() + (uint64_t)app->cfg->database_startup_wait_ms;
	char timeout[32], err[1024];
	const char *keys[] = { "fallback_application_name", "connect_timeout", "dbname", NULL };
	const char *vals[] = { "recalld", timeout, app->cfg->database_url, NULL };
	enum migrate_verdict v;
	int pending = 0, attempt = 0;
	PGconn *pg;

	snprintf(timeout, sizeof timeout, "%lld",
	    (long long)(app->cfg->database_connect_timeout_ms + 999) / 1000);
	for (;;) {
		pg = PQconnectdbParams(keys, vals, 1);
		if (PQstatus(pg) == CONNECTION_OK)
			break;
		if (attempt++ == 0 || log_get_level() >= LOG_LEVEL_DEBUG) {
			const char *e = PQerrorMessage(pg);
			log_warnx("serve", "database not reachable yet", "err=\"%.*s\"",
			    (int)strcspn(e, "\n"), e);
		}
		PQfinish(pg);
		if (util_mono_ms() >= deadline) {
			log_errorx("serve", "database not reachable, giving up",
			    "waited_ms=%lld", (long long)app->cfg->database_startup_wait_ms);
			return false;
		}
		usleep(500 * 1000);
	}
	if (!migrate_check(pg, app->migrations, &v, &pending, err, sizeof err)) {
		log_errorx("serve", "cannot check the schema", "err=\"%s\"", err);
		PQfinish(pg);
		return false;
	}
	if (v != MIGRATE_CURRENT) {
		PQfinish(pg);
		log_errorx("serve", "refusing to start", "err=\"%s\"", err);
		fprintf(stderr, "recalld: %s\n", err);
		return false;
	}
	if (clock_is_manual() && !clock_join(pg)) {
		PQfinish(pg);
		return false;
	}
	if (app->cfg->responses_link_key[0] == '\0' && app->secrets != NULL &&
	    !link_key_join(app, pg, link_cur, link_prev)) {
		PQfinish(pg);
		return false;
	}
	PQfinish(pg);
	return true;
}

static void
serve_stop_loop(struct serve *sv)
{
	event_base_loopbreak(sv->app.base);
}

static void
drain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct serve *sv = arg;
	int http = http_server_inflight(sv->app.http), db = db_pool_pending(sv->app.db);
	int pushing = push_pending(sv->app.push);

	if (http == 0 && db == 0 && pushing == 0 && !batches_busy(sv->app.batches) &&
	    answers_pending(sv->app.answers) == 0 && !flagjob_busy(sv->app.flagjob) &&
	    !leavers_busy(sv->app.leavers) && !fitjob_busy(sv->app.fitjob) &&
	    !nrps_busy(sv->app.nrps) &&
	    !partitions_busy(sv->app.partitions) &&
	    audit_pending(sv->app.audit) == 0) {
		log_info("serve", "drained, exiting", "");
		serve_stop_loop(sv);
	}
}

static void
deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct serve *sv = arg;

	log_warnx("serve", "shutdown deadline passed, exiting with work in flight",
	    "http_inflight=%d db_pending=%d push_pending=%d", http_server_inflight(sv->app.http),
	    db_pool_pending(sv->app.db), push_pending(sv->app.push));
	serve_stop_loop(sv);
}

static void
begin_shutdown(struct serve *sv, const char *signame)
{
	struct timeval poll = { 0, 50 * 1000 };
	int64_t ms = sv->app.cfg->serve_shutdown_timeout_ms;
	struct timeval dl = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };

	if (sv->app.stopping)
		return;
	sv->app.stopping = true;
	log_info("serve", "stopping", "signal=%s timeout_ms=%lld", signame, (long long)ms);
	notify_stopping();
	http_server_stop_accepting(sv->app.http);
	push_stop(sv->app.push);
	batches_stop(sv->app.batches);
	flagjob_stop(sv->app.flagjob);
	leavers_stop(sv->app.leavers);
	nrps_stop(sv->app.nrps);
	fitjob_stop(sv->app.fitjob);
	partitions_stop(sv->app.partitions);
	audit_flush(sv->app.audit);
	sv->drain_timer = event_new(sv->app.base, -1, EV_PERSIST, drain_cb, sv);
	event_add(sv->drain_timer, &poll);
	sv->deadline = evtimer_new(sv->app.base, deadline_cb, sv);
	evtimer_add(sv->deadline, &dl);
	drain_cb(-1, 0, sv);
}

static void
reload(struct serve *sv)
{
	struct config *next = config_new();
	char err[512];

	notify_reloading();
	if (!config_load(next, sv->app.config_path, sv->app.config_path != NULL &&
	    strcmp(sv->app.config_path, CONFIG_DEFAULT_PATH) != 0, err, sizeof err)) {
		log_warnx("serve", "reload failed, keeping the running configuration",
		    "err=\"%s\"", err);
	} else {
		config_reload(sv->app.cfg, next);
		log_set_level(sv->app.cfg->log_level);
		log_info("serve", "configuration reloaded", "level=%s",
		    log_level_name(sv->app.cfg->log_level));
	}
	config_free(next);
	notify_ready();
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct serve *sv = arg;

	switch (sig) {
	case SIGHUP:
		reload(sv);
		break;
	case SIGTERM:
		begin_shutdown(sv, "TERM");
		break;
	case SIGINT:
		begin_shutdown(sv, "INT");
		break;
	}
}

/* READY=1 only once listening and a database connection is up. */
static void
ready_cb(evutil_socket_t fd, short what, void *arg)
{
	struct serve *sv = arg;

	if (sv->app.ready || !db_pool_live(sv->app.db))
		return;
	sv->app.ready = true;
	event_del(sv->ready_timer);
	log_info("serve", "ready", "listen=%s pool_size=%lld", sv->app.cfg->http_listen,
	    (long long)sv->app.cfg->database_pool_size);
	notify_ready();
}

/* A token was revoked somewhere (or we may have missed it): forget them all. */
static void
tokens_notify(const char *channel, const char *payload, void *arg)
{
	struct app *app = arg;

	token_cache_clear(app->tokens);
	log_debug("serve", "token cache cleared", "reason=revoked");
}

static void
tokens_up(void *arg)
{
	struct app *app = arg;

	token_cache_clear(app->tokens);
}

/* Another daemon moved the shared manual clock: move ours, jobs run. */
static void
clock_moved(int64_t us)
{
	char iso[40];

	if (us <= clock_now_us() || !clock_set(us))
		return;
	clock_format_iso(us, iso, sizeof iso);
	log_info("clock", "manual clock moved", "now=%s", iso);
}

static void
clock_notify(const char *channel, const char *payload, void *arg)
{
	char *end;
	long long us = strtoll(payload, &end, 10);

	if (end != payload && *end == '\0')
		clock_moved(us);
}

static void
clock_read(const struct db_reply *r, void *arg)
{
	if (r->status == DB_OK && PQntuples(r->results[0]) == 1)
		clock_moved(strtoll(PQgetvalue(r->results[0], 0, 0), NULL, 10));
}

/* (Re)listening: a move made while we were not may have been missed. */
static void
clock_up(void *arg)
{
	struct app *app = arg;

	db_query(app->db, "SELECT now_us FROM manual_clock", 0, NULL, clock_read, NULL);
}

static void
watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	notify_watchdog();
}

static void
serve_free(struct serve *sv)
{
	struct event **evs[] = { &sv->sigterm, &sv->sigint, &sv->sighup, &sv->ready_timer,
	    &sv->watchdog, &sv->drain_timer, &sv->deadline };

	for (size_t i = 0; i < nitems(evs); i++) {
		if (*evs[i] != NULL) {
			event_free(*evs[i]);
			*evs[i] = NULL;
		}
	}
	http_server_free(sv->app.http);
	batches_free(sv->app.batches);
	answers_free(sv->app.answers);
	checks_free(sv->app.checks);
	flagjob_free(sv->app.flagjob);	/* before the pool: it holds a LISTEN */
	leavers_free(sv->app.leavers);
	nrps_free(sv->app.nrps);	/* before the sender and ags: it holds a token request */
	fitjob_free(sv->app.fitjob);
	partitions_free(sv->app.partitions);
	audit_free(sv->app.audit);	/* before the pool: its write may be in flight */
	lease_keeper_free(sv->app.leases);	/* after every job that holds one */
	if (sv->app.link_keys != NULL) {
		alink_keys_clear(sv->app.link_keys);
		free(sv->app.link_keys);
	}
	push_free(sv->app.push);	/* before the pool: it holds requests and a LISTEN */
	ags_free(sv->app.ags);		/* after the sender: its jobs hold preparations */
	hfetch_free(sv->app.fetch);	/* after both: they hold requests */
	secretbox_free(sv->app.secrets);
	replica_free(sv->app.reads);	/* before the primary it samples */
	db_pool_free(sv->app.db);
	migrate_set_free(sv->app.migrations);
	token_cache_free(sv->app.tokens);
	dashboard_free(sv->app.dashboard);
	clock_unsubscribe_all();
	if (sv->app.base != NULL)
		event_base_free(sv->app.base);
}

/* The flag job waits while the batch job runs. */
static bool
batches_running(void *arg)
{
	return batches_busy(arg);
}

/*
 * A prompt's answer link (public_url/a/<signed token>), or a pupil's page
 * link (public_url/p/<token>), which outlasts the batch by two weeks.
 */
static bool
answer_link(void *arg, enum batches_link kind, int64_t school_id, int64_t id,
    int64_t expires_unix, char *out, size_t outlen)
{
	struct app *app = arg;
	char token[ALINK_TOKEN_MAX];

	if (kind == BATCHES_LINK_PUPIL)
		return pupil_page_link(app, school_id, id, expires_unix + PUPIL_PAGE_TTL_S, out,
		    outlen);
	return alink_make(app->link_keys, school_id, id, expires_unix, token, sizeof token) &&
	    config_public_link(app->cfg, "/a/", token, out, outlen);
}

/*
 * The keys of answer links: responses.link_key (and its previous) from the
 * configuration when set; else the database's sealed key (db_cur, db_prev);
 * else, without a key file, a new key at each start.
 */
static bool
link_keys_init(struct app *app, const char *db_cur, const char *db_prev)
{
	const struct config *cfg = app->cfg;
	char err[256], *generated = NULL;
	const char *cur = cfg->responses_link_key, *prev = cfg->responses_link_key_previous;
	bool ok;

	app->link_keys = xcalloc(1, sizeof *app->link_keys);
	if (cur[0] == '\0' && db_cur != NULL) {
		cur = db_cur;
		prev = db_prev != NULL ? db_prev : "";
	} else if (cur[0] == '\0') {
		cur = generated = link_key_new();
		log_warnx("serve", "no responses.link_key and no secrets.key_file: answer links"
		    " will not survive a restart", "");
	}
	ok = alink_keys_parse(cur, prev[0] ? prev : NULL, app->link_keys, err, sizeof err);
	wipe(generated);
	/* config_load checked the configured keys (config_validate): check-config and serve agree. */
	if (!ok)
		fatalx("serve", "answer link key refused", "err=\"%s\"", err);
	return ok;
}

/* Every route serve answers, in one place for serve and serve_routes. */
static void
register_routes(struct app *app)
{
	ops_routes(app->http);
	dashboard_routes(app->http);
	api_routes(app->http);
	endpoints_routes(app->http);
	answer_ops_routes(app->http, app);
	pupil_page_routes(app->http);
	lti_routes(app->http);
}

int
serve_routes(FILE *out)
{
	struct app app = { 0 };
	struct http_opts ho = { .max_body = 1 << 20, .max_headers = 16384, .timeout_ms = 1000 };

	app.base = event_base_new();
	if (app.base == NULL)
		return 1;
	app.http = http_server_new(app.base, &ho, &app);
	register_routes(&app);
	api_routes_dump(app.http, out);
	http_server_free(app.http);
	event_base_free(app.base);
	return ferror(out) ? 1 : 0;
}

int
serve_main(struct config *cfg, const char *config_path)
{
	struct serve sv = { 0 };
	struct app *app = &sv.app;
	char err[1024];
	struct http_opts ho;
	struct db_pool_opts po;
	struct timeval tv_ready = { 0, 100 * 1000 };
	char *link_cur = NULL, *link_prev = NULL;	/* the database's answer-link key */
	uint64_t wd;
	bool ok;

	app->cfg = cfg;
	app->config_path = config_path;
	app->started_ms = util_mono_ms();
	if (strcmp(cfg->clock_mode, "manual") == 0) {
		int64_t start = clock_now_us();

		/* config_load checked it (config_validate): check-config and serve agree. */
		if (cfg->clock_start[0] != '\0' && !clock_parse_iso(cfg->clock_start, &start))
			fatalx("serve", "clock.start not validated", "value=%s", cfg->clock_start);
		clock_set_manual(start);
		log_warnx("serve", "manual clock: time moves only by POST /v1/admin/clock",
		    "start=%s", cfg->clock_start[0] ? cfg->clock_start : "now");
	}
	signal(SIGPIPE, SIG_IGN);

	/* Before waiting for the database: a missing key file is the operator's to fix. */
	if (cfg->secrets_key_file[0] != '\0') {
		app->secrets = secretbox_load(cfg->secrets_key_file, err, sizeof err);
		if (app->secrets == NULL) {
			log_errorx("serve", "cannot read the secrets key file", "err=\"%s\"", err);
			fprintf(stderr, "recalld: %s\n", err);
			return 2;
		}
		log_info("serve", "secrets sealed", "key=%s", secretbox_kid(app->secrets));
	} else {
		log_warnx("serve", "secrets.key_file is not set: webhook secrets are stored in clear", "");
	}
	app->migrations = migrate_load(cfg->database_migrations, err, sizeof err);
	if (app->migrations == NULL) {
		fprintf(stderr, "recalld: %s\n", err);
		return 1;
	}
	notify_status("waiting for the database");
	if (!startup_check(app, &link_cur, &link_prev)) {
		serve_free(&sv);
		return 1;
	}

	app->base = event_base_new();
	if (app->base == NULL)
		fatalx("serve", "event_base_new failed", "");

	po.conninfo = cfg->database_url;
	po.size = (int)cfg->database_pool_size;
	po.connect_timeout_ms = (int)cfg->database_connect_timeout_ms;
	po.queue_timeout_ms = (int)cfg->database_connect_timeout_ms;
	app->db = db_pool_new(app->base, &po);
	if (cfg->database_read_url[0] != '\0')
		app->reads = replica_new(app->base, app->db, &(struct replica_opts){
		    .conninfo = cfg->database_read_url, .size = po.size,
		    .connect_timeout_ms = po.connect_timeout_ms,
		    .max_lag_ms = cfg->database_max_read_lag_ms, .tick_ms = 250 });
	app->tokens = token_cache_new(TOKEN_CACHE_TTL_MS);
	app->audit = audit_new(app->base, app->db, 500);
	db_listen(app->db, "recalld_tokens", tokens_notify, tokens_up, app);
	if (clock_is_manual())
		db_listen(app->db, CLOCK_CHANNEL, clock_notify, clock_up, app);
	app->push = push_new(app->base, app->db, cfg, app->secrets);
	app->fetch = hfetch_new(app->base);
	app->ags = ags_new(app->base, app->db, app->fetch, cfg, app->secrets);
	push_set_ags(app->push, app->ags);
	ok = link_keys_init(app, link_cur, link_prev);
	wipe(link_cur);
	wipe(link_prev);
	if (!ok) {
		serve_free(&sv);
		return 2;
	}
	app->leases = lease_keeper_new(cfg->jobs_lease_timeout_ms);
	log_info("serve", "job leases", "holder=%s timeout_ms=%lld", lease_holder(app->leases),
	    (long long)cfg->jobs_lease_timeout_ms);
	app->batches = batches_new(&(struct batches_spec){ .base = app->base, .db = app->db,
	    .leases = app->leases, .interval_ms = cfg->scheduler_interval_ms,
	    .chunk = (int)cfg->scheduler_chunk, .link = answer_link, .link_arg = app });
	app->answers = answers_new(app->base, app->db, cfg->responses_late_limit_ms,
	    cfg->responses_group_window_ms);
	app->flagjob = flagjob_new(&(struct flagjob_spec){ .base = app->base, .db = app->db,
	    .leases = app->leases,
	    .interval_ms = cfg->flags_interval_ms, .debounce_ms = cfg->flags_debounce_ms,
	    .reviews_channel = ANSWERS_REVIEWS_CHANNEL, .busy = batches_running,
	    .busy_arg = app->batches, .link = answer_link, .link_arg = app,
	    .score_interval_ms = cfg->lti_score_interval_ms });
	app->checks = checks_new(app->db, answer_link, app);
	app->nrps = nrps_new(&(struct nrps_spec){ .base = app->base, .db = app->db,
	    .leases = app->leases, .fetch = app->fetch, .tokens = app->ags,
	    .allow_private = cfg->lti_allow_private, .interval_ms = 3600 * 1000 });
	app->leavers = leavers_new(&(struct leavers_spec){ .base = app->base, .db = app->db,
	    .leases = app->leases, .interval_ms = 3600 * 1000,
	    .erase_after_ms = cfg->privacy_leaver_erase_after_ms,
	    .audit_retention_ms = cfg->privacy_audit_retention_ms,
	    .review_retention_ms = cfg->privacy_review_retention_ms,
	    .delivery_retention_ms = cfg->privacy_delivery_retention_ms });
	app->fitjob = fitjob_new(&(struct fitjob_spec){ .base = app->base, .db = app->db,
	    .leases = app->leases, .config_path = app->config_path, .interval_ms = 3600 * 1000,
	    .fit_interval_ms = cfg->fsrs_fit_interval_ms });
	app->partitions = partitions_new(&(struct partitions_spec){ .base = app->base,
	    .db = app->db, .interval_ms = 3600 * 1000,
	    .review_retention_ms = cfg->privacy_review_retention_ms,
	    .audit_retention_ms = cfg->privacy_audit_retention_ms });

	ho.max_body = cfg->http_max_body;
	ho.max_headers = cfg->http_max_headers;
	ho.timeout_ms = cfg->http_timeout_ms;
	app->http = http_server_new(app->base, &ho, app);
	app->dashboard = dashboard_load(cfg->dashboard_dir, err, sizeof err);
	if (app->dashboard == NULL)
		log_warnx("serve", "no dashboard", "err=\"%s\"", err);
	else
		log_info("serve", "dashboard loaded", "dir=%s files=%zu",
		    cfg->dashboard_dir[0] ? cfg->dashboard_dir : "(built in)",
		    dashboard_nfiles(app->dashboard));
	register_routes(app);
	if (!http_server_listen(app->http, cfg->http_listen, err, sizeof err)) {
		log_errorx("serve", "cannot listen", "err=\"%s\"", err);
		fprintf(stderr, "recalld: %s\n", err);
		serve_free(&sv);
		return 1;
	}
	log_info("serve", "listening", "addr=%s version=%s", cfg->http_listen, PACKAGE_VERSION);

	sv.sigterm = evsignal_new(app->base, SIGTERM, signal_cb, &sv);
	sv.sigint = evsignal_new(app->base, SIGINT, signal_cb, &sv);
	sv.sighup = evsignal_new(app->base, SIGHUP, signal_cb, &sv);
	event_add(sv.sigterm, NULL);
	event_add(sv.sigint, NULL);
	event_add(sv.sighup, NULL);

	sv.ready_timer = event_new(app->base, -1, EV_PERSIST, ready_cb, &sv);
	event_add(sv.ready_timer, &tv_ready);

	if ((wd = notify_watchdog_usec()) > 0) {
		/* Ping at half the interval systemd asked for. */
		struct timeval tv = { (time_t)(wd / 2 / 1000000), (suseconds_t)(wd / 2 % 1000000) };
		sv.watchdog = event_new(app->base, -1, EV_PERSIST, watchdog_cb, &sv);
		event_add(sv.watchdog, &tv);
	}

	event_base_dispatch(app->base);
	log_info("serve", "stopped", "");
	serve_free(&sv);
	return 0;
}
