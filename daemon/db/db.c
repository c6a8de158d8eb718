/* db.c: the asynchronous PostgreSQL pool (see db.h). */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "db.h"
#include "log.h"
#include "util.h"

#define BACKOFF_MIN_MS	100
#define BACKOFF_MAX_MS	2000
/* Statements prepared per connection; beyond this, unnamed ones. */
#define PREP_MAX	256

enum conn_state {
	CONN_DOWN,		/* waiting for the backoff timer */
	CONN_CONNECTING,	/* PQconnectPoll in progress */
	CONN_IDLE,
	CONN_BUSY,		/* a request in flight */
	CONN_CLOSED,		/* pool is being freed */
};

static const char *const conn_state_names[] = {
	"down", "connecting", "idle", "busy", "closed",
};

struct db_cmd {
	char *sql;
	int nparams;
	char **params;
};

struct db_req {
	TAILQ_ENTRY(db_req) entry;
	db_pool *pool;
	struct db_conn *conn;	/* while in flight */
	struct db_cmd *cmds;
	int ncmds;
	db_cb cb;
	void *arg;
	struct event *timer;	/* queue deadline, or a deferred failure */
	bool queued;
	bool cancelled;
	bool internal;		/* the LISTEN set-up; no user callback */
	/* Part of a transaction spanning requests (db_txn_*). */
	struct db_txn *txn;
	bool txn_begin;		/* cmds[0] is our BEGIN */
	bool txn_commit;	/* the last cmd is our COMMIT */
	bool txn_rollback;	/* our own ROLLBACK after an error */
	bool txn_orphan;	/* the transaction ends with this reply: free it */
	/* What was sent: per entry a statement index, or -1 for a Prepare. */
	int *entries;
	int *entry_prep;	/* the prepared slot of each entry, or -1 */
	bool *entry_ok;		/* a Prepare entry succeeded */
	int nentries;
	int cur_entry;
	/* Results as they come back. */
	PGresult **results;
	int cur;		/* statement whose results are being read */
	enum db_status status;
	char *error;
	char sqlstate[6];
};

TAILQ_HEAD(db_req_queue, db_req);

struct db_listener {
	char *channel;
	db_notify_cb notify;
	db_up_cb up;
	void *arg;
};

struct db_conn {
	db_pool *pool;
	int id;
	bool listener;		/* the dedicated LISTEN connection */
	enum conn_state state;
	PGconn *pg;
	struct event *ev;	/* socket */
	int ev_fd;
	short ev_what;
	struct event *timer;	/* connect timeout or backoff */
	int failures;		/* consecutive, for the backoff */
	db_req *req;		/* in flight */
	bool pipeline;
	bool relisten;		/* a channel was added during a LISTEN */
	struct db_txn *txn;	/* reserved for this open transaction */
	/* Statements prepared on this session, by SQL text (see prep_find). */
	struct db_prep {
		uint64_t hash;
		char *sql;	/* NULL: free slot */
		char name[16];
	} preps[PREP_MAX];
	int npreps;
	unsigned prep_seq;	/* names are never reused within a session */
};

struct db_pool {
	struct event_base *base;
	char *conninfo;
	int connect_timeout_ms;
	int queue_timeout_ms;
	struct db_conn *conns;
	int nconns;
	struct db_conn *lconn;	/* NULL until db_listen */
	struct db_listener *listeners;
	int nlisteners;
	struct db_req_queue queue;
	int nqueued;
	struct event *dispatch_ev;	/* runs pool_dispatch from the loop */
	int nup;		/* idle + busy */
	bool healthy;		/* false after a failure, until a connection is up */
	uint64_t completed, failed, reconnects;
};

/* A transaction across requests, on one reserved connection. */
struct db_txn {
	db_pool *pool;
	struct db_conn *conn;	/* NULL until the BEGIN request is dispatched */
};

static void conn_connect(struct db_conn *c);
static void conn_start(struct db_conn *c, db_req *r);
static void txn_after(struct db_conn *c, db_req *r);
static void conn_lost(struct db_conn *c, const char *why);
static void conn_io_cb(evutil_socket_t fd, short what, void *arg);
static void pool_dispatch(db_pool *p);
static void req_finish(db_req *r);

/*
 * The only place a connection changes state: it checks the transition,
 * keeps the up count and logs at debug.
 */
static void
conn_set_state(struct db_conn *c, enum conn_state to, const char *reason)
{
	enum conn_state from = c->state;
	bool ok;
	bool was_up = from == CONN_IDLE || from == CONN_BUSY;
	bool is_up = to == CONN_IDLE || to == CONN_BUSY;

	switch (to) {
	case CONN_CONNECTING:
		ok = from == CONN_DOWN;
		break;
	case CONN_IDLE:
		ok = from == CONN_CONNECTING || from == CONN_BUSY;
		break;
	case CONN_BUSY:
		ok = from == CONN_IDLE;
		break;
	case CONN_DOWN:
		ok = from == CONN_CONNECTING || from == CONN_IDLE || from == CONN_BUSY ||
		    from == CONN_DOWN;
		break;
	case CONN_CLOSED:
		ok = true;
		break;
	default:
		ok = false;
	}
	if (!ok)
		fatalx("db", "impossible connection state change", "conn=%d from=%s to=%s",
		    c->id, conn_state_names[from], conn_state_names[to]);
	log_debug("db", "connection state", "conn=%d from=%s to=%s reason=\"%s\"", c->id,
	    conn_state_names[from], conn_state_names[to], reason);
	c->state = to;
	if (c->listener)
		return;
	if (was_up && !is_up)
		c->pool->nup--;
	else if (!was_up && is_up)
		c->pool->nup++;
}

/* Wait on the connection's socket for what; re-arms only on change. */
static void
conn_arm(struct db_conn *c, short what)
{
	int fd = PQsocket(c->pg);

	if (c->ev_fd == fd && c->ev_what == what && event_pending(c->ev, EV_READ | EV_WRITE, NULL))
		return;
	event_del(c->ev);
	c->ev_fd = fd;
	c->ev_what = what;
	if (fd < 0)
		return;
	event_assign(c->ev, c->pool->base, fd, what | EV_PERSIST, conn_io_cb, c);
	event_add(c->ev, NULL);
}

static uint64_t
sql_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;	/* FNV-1a */

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static int
prep_find(struct db_conn *c, const char *sql, uint64_t h)
{
	for (int i = 0; i < PREP_MAX; i++)
		if (c->preps[i].sql != NULL && c->preps[i].hash == h &&
		    strcmp(c->preps[i].sql, sql) == 0)
			return i;
	return -1;
}

/* Reserve a slot for a statement about to be prepared, or -1 when full. */
static int
prep_add(struct db_conn *c, const char *sql, uint64_t h)
{
	if (c->npreps == PREP_MAX)
		return -1;
	for (int i = 0; i < PREP_MAX; i++) {
		if (c->preps[i].sql == NULL) {
			c->preps[i].sql = xstrdup(sql);
			c->preps[i].hash = h;
			snprintf(c->preps[i].name, sizeof c->preps[i].name, "rd%u", c->prep_seq++);
			c->npreps++;
			return i;
		}
	}
	return -1;
}

static void
prep_remove(struct db_conn *c, int i)
{
	if (c->preps[i].sql == NULL)
		return;
	free(c->preps[i].sql);
	c->preps[i].sql = NULL;
	c->npreps--;
}

/* A new session knows no prepared statements. */
static void
prep_clear(struct db_conn *c)
{
	for (int i = 0; i < PREP_MAX; i++)
		prep_remove(c, i);
	c->prep_seq = 0;
}

static void
conn_close_pg(struct db_conn *c)
{
	/* event_del before PQfinish: the fd is about to be closed. */
	event_del(c->ev);
	c->ev_fd = -1;
	c->ev_what = 0;
	if (c->pg != NULL) {
		PQfinish(c->pg);
		c->pg = NULL;
	}
	prep_clear(c);
}

static void
conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct db_conn *c = arg;

	if (c->state == CONN_DOWN)
		conn_connect(c);
	else if (c->state == CONN_CONNECTING)
		conn_lost(c, "connect timeout");
}

static void
conn_schedule_retry(struct db_conn *c)
{
	int shift = c->failures < 5 ? c->failures : 5;
	double d = BACKOFF_MIN_MS * (double)(1 << shift);
	struct timeval tv;

	if (d > BACKOFF_MAX_MS)
		d = BACKOFF_MAX_MS;
	/* Jitter in [d/2, d]: daemons restarted together do not knock together. */
	d = d / 2 + util_jitter() * d / 2;
	tv.tv_sec = (time_t)(d / 1000);
	tv.tv_usec = (suseconds_t)((long)d % 1000) * 1000;
	evtimer_del(c->timer);
	evtimer_add(c->timer, &tv);
}

static void
notice_cb(void *arg, const char *message)
{
	struct db_conn *c = arg;
	size_t n = strlen(message);

	while (n > 0 && message[n - 1] == '\n')
		n--;
	log_debug("db", "server notice", "conn=%d notice=\"%.*s\"", c->id, (int)n, message);
}

static void
conn_connect(struct db_conn *c)
{
	const char *keys[] = { "fallback_application_name", "dbname", NULL };
	const char *vals[] = { "recalld", c->pool->conninfo, NULL };
	struct timeval tv;

	conn_set_state(c, CONN_CONNECTING, "connect");
	c->pg = PQconnectStartParams(keys, vals, 1);
	if (c->pg == NULL || PQstatus(c->pg) == CONNECTION_BAD) {
		conn_lost(c, c->pg ? PQerrorMessage(c->pg) : "out of memory");
		return;
	}
	PQsetNoticeProcessor(c->pg, notice_cb, c);
	/* libpq ignores connect_timeout while we poll: arm our own. */
	tv.tv_sec = c->pool->connect_timeout_ms / 1000;
	tv.tv_usec = (c->pool->connect_timeout_ms % 1000) * 1000;
	evtimer_del(c->timer);
	evtimer_add(c->timer, &tv);
	/* A fresh connection first waits to be writable. */
	conn_arm(c, EV_WRITE);
}

static void
listener_start(struct db_conn *c)
{
	db_pool *p = c->pool;
	db_req *r;
	char *sql = xstrdup("");

	for (int i = 0; i < p->nlisteners; i++) {
		char *id = PQescapeIdentifier(c->pg, p->listeners[i].channel,
		    strlen(p->listeners[i].channel));
		char *s;

		if (id == NULL) {
			free(sql);
			conn_lost(c, PQerrorMessage(c->pg));
			return;
		}
		s = xasprintf("%sLISTEN %s;", sql, id);
		PQfreemem(id);
		free(sql);
		sql = s;
	}
	if (p->nlisteners == 0) {
		free(sql);
		return;
	}
	r = db_req_new(NULL, NULL);
	r->internal = true;
	db_req_add(r, sql, 0, NULL);
	free(sql);
	r->pool = p;
	r->results = xcalloc(1, sizeof(PGresult *));
	r->conn = c;
	c->req = r;
	c->pipeline = false;
	conn_set_state(c, CONN_BUSY, "listen");
	/* Simple protocol: several LISTEN statements in one string. */
	if (!PQsendQuery(c->pg, r->cmds[0].sql)) {
		conn_lost(c, PQerrorMessage(c->pg));
		return;
	}
	conn_arm(c, EV_READ | EV_WRITE);
}

static void
conn_poll_connect(struct db_conn *c)
{
	PostgresPollingStatusType st = PQconnectPoll(c->pg);

	/*
	 * While connecting, libpq may close one host's socket and open the
	 * next (a host list, target_session_attrs, a refused SSL attempt),
	 * often under the same number. Closing dropped the kernel's epoll
	 * registration but libevent still counts it as pending, so a
	 * same-number socket must be registered afresh, not trusted.
	 */
	c->ev_fd = -1;
	switch (st) {
	case PGRES_POLLING_READING:
		conn_arm(c, EV_READ);
		return;
	case PGRES_POLLING_WRITING:
		conn_arm(c, EV_WRITE);
		return;
	case PGRES_POLLING_FAILED:
		conn_lost(c, PQerrorMessage(c->pg));
		return;
	case PGRES_POLLING_OK:
		break;
	default:
		return;
	}
	evtimer_del(c->timer);
	if (PQsetnonblocking(c->pg, 1) != 0) {
		conn_lost(c, PQerrorMessage(c->pg));
		return;
	}
	if (c->failures > 0)
		c->pool->reconnects++;
	if (c->failures > 0 || !c->pool->healthy)
		log_info("db", "connected", "conn=%d after_failures=%d", c->id, c->failures);
	else
		log_debug("db", "connected", "conn=%d", c->id);
	c->failures = 0;
	c->pool->healthy = true;
	conn_set_state(c, CONN_IDLE, "connected");
	conn_arm(c, EV_READ);	/* notice the server going away while idle */
	if (c->listener)
		listener_start(c);
	else
		pool_dispatch(c->pool);
}

static void
req_set_error(db_req *r, enum db_status st, const char *msg, const char *sqlstate)
{
	size_t n;

	if (r->status != DB_OK)
		return;	/* keep the first error */
	r->status = st;
	free(r->error);
	r->error = xstrdup(msg ? msg : "unknown error");
	n = strlen(r->error);
	while (n > 0 && (r->error[n - 1] == '\n' || r->error[n - 1] == ' '))
		r->error[--n] = '\0';
	util_strlcpy(r->sqlstate, sqlstate ? sqlstate : "", sizeof r->sqlstate);
}

static void
pool_fail_queue(db_pool *p, const char *why)
{
	db_req *r;

	while ((r = TAILQ_FIRST(&p->queue)) != NULL) {
		TAILQ_REMOVE(&p->queue, r, entry);
		p->nqueued--;
		r->queued = false;
		r->txn_orphan = r->txn != NULL;	/* its BEGIN never ran */
		req_set_error(r, DB_UNAVAILABLE, why, NULL);
		req_finish(r);
	}
}

/* The connection failed or was lost: fail its request, back off, retry. */
static void
conn_lost(struct db_conn *c, const char *why)
{
	db_pool *p = c->pool;
	db_req *r = c->req;
	char msg[256];
	size_t n;

	util_strlcpy(msg, why ? why : "", sizeof msg);
	/* libpq's messages span lines and quote names: keep the log line parseable. */
	for (char *q = msg; *q != '\0'; q++)
		if (*q == '"')
			*q = '\'';
		else if (*q == '\n' || *q == '\t')
			*q = ' ';
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		msg[--n] = '\0';
	if (c->failures == 0)
		log_warnx("db", c->state == CONN_CONNECTING ? "connect failed" :
		    "connection lost", "conn=%d reason=\"%s\"", c->id, msg);
	else
		log_debug("db", "connect failed", "conn=%d failures=%d reason=\"%s\"", c->id,
		    c->failures, msg);
	c->failures++;
	c->req = NULL;
	if (c->txn != NULL) {
		/* The server rolls back; the handle dies with the request's reply. */
		c->txn->conn = NULL;
		c->txn = NULL;
	}
	conn_close_pg(c);
	evtimer_del(c->timer);
	conn_set_state(c, CONN_DOWN, msg);
	conn_schedule_retry(c);
	if (r != NULL) {
		r->conn = NULL;
		r->txn_orphan = r->txn != NULL;
		req_set_error(r, DB_UNAVAILABLE, "connection to the database lost", NULL);
		req_finish(r);
	}
	if (!c->listener && p->nup == 0) {
		p->healthy = false;
		pool_fail_queue(p, "database unavailable");
	}
}

/* Send what libpq has buffered; wait for writable only while it has more. */
static bool
conn_flush(struct db_conn *c)
{
	int rc = PQflush(c->pg);

	if (rc < 0) {
		conn_lost(c, PQerrorMessage(c->pg));
		return false;
	}
	/* 1: more to send; read too, the server may need us to consume first. */
	conn_arm(c, rc == 1 ? (EV_READ | EV_WRITE) : EV_READ);
	return true;
}

static void
conn_drain_notifies(struct db_conn *c)
{
	PGnotify *n;
	db_pool *p = c->pool;

	while ((n = PQnotifies(c->pg)) != NULL) {
		for (int i = 0; i < p->nlisteners; i++)
			if (strcmp(p->listeners[i].channel, n->relname) == 0 &&
			    p->listeners[i].notify != NULL)
				p->listeners[i].notify(n->relname, n->extra, p->listeners[i].arg);
		PQfreemem(n);
	}
}

static void
req_store_error(db_req *r, const PGresult *res)
{
	ExecStatusType st = PQresultStatus(res);

	if (st == PGRES_PIPELINE_ABORTED)
		req_set_error(r, DB_ERROR, "pipeline aborted", NULL);
	else
		req_set_error(r, DB_ERROR, PQresultErrorMessage(res),
		    PQresultErrorField(res, PG_DIAG_SQLSTATE));
}

static void
req_store(db_req *r, PGresult *res)
{
	ExecStatusType st = PQresultStatus(res);

	if (st == PGRES_FATAL_ERROR || st == PGRES_NONFATAL_ERROR)
		req_set_error(r, DB_ERROR, PQresultErrorMessage(res),
		    PQresultErrorField(res, PG_DIAG_SQLSTATE));
	else if (st == PGRES_PIPELINE_ABORTED)
		req_set_error(r, DB_ERROR, "pipeline aborted", NULL);
	if (r->cur < r->ncmds && r->results[r->cur] == NULL)
		r->results[r->cur] = res;
	else
		PQclear(res);	/* a statement has one result we keep */
}

/* Read what results are complete; finish the request at its end. */
static void
conn_read_results(struct db_conn *c)
{
	db_req *r = c->req;
	PGresult *res;
	bool done = false;

	while (!done && !PQisBusy(c->pg)) {
		res = PQgetResult(c->pg);
		if (c->pipeline) {
			int e;

			if (res == NULL) {
				r->cur_entry++;	/* the end of one entry's results */
				continue;
			}
			if (PQresultStatus(res) == PGRES_PIPELINE_SYNC) {
				PQclear(res);
				done = true;
				continue;
			}
			e = r->cur_entry < r->nentries ? r->entries[r->cur_entry] : r->ncmds;
			if (e < 0) {	/* a Prepare: only its success matters */
				if (PQresultStatus(res) == PGRES_COMMAND_OK)
					r->entry_ok[r->cur_entry] = true;
				else
					req_store_error(r, res);
				PQclear(res);
				continue;
			}
			r->cur = e;
			req_store(r, res);
		} else {
			if (res == NULL)
				done = true;
			else
				req_store(r, res);
		}
	}
	if (!done)
		return;
	if (c->pipeline && PQexitPipelineMode(c->pg) != 1) {
		conn_lost(c, PQerrorMessage(c->pg));
		return;
	}
	/* Forget statements whose Prepare did not happen (an error aborted it). */
	for (int i = 0; i < r->nentries; i++)
		if (r->entries[i] < 0 && !r->entry_ok[i])
			prep_remove(c, r->entry_prep[i]);
	/* A schema change under us invalidates cached plans: start afresh. */
	if (strcmp(r->sqlstate, "0A000") == 0)
		prep_clear(c);
	c->req = NULL;
	r->conn = NULL;
	conn_set_state(c, CONN_IDLE, "request done");
	conn_arm(c, EV_READ);
	if (r->txn != NULL) {
		txn_after(c, r);	/* calls back, and may end the transaction */
		return;
	}
	req_finish(r);
	if (c->listener && c->relisten) {
		c->relisten = false;
		listener_start(c);
	} else if (c->listener) {
		for (int i = 0; i < c->pool->nlisteners; i++)
			if (c->pool->listeners[i].up != NULL)
				c->pool->listeners[i].up(c->pool->listeners[i].arg);
	} else {
		pool_dispatch(c->pool);
	}
}

static void
conn_io_cb(evutil_socket_t fd, short what, void *arg)
{
	struct db_conn *c = arg;

	switch (c->state) {
	case CONN_CONNECTING:
		conn_poll_connect(c);
		return;
	case CONN_IDLE:
		if (!PQconsumeInput(c->pg) || PQstatus(c->pg) == CONNECTION_BAD) {
			conn_lost(c, PQerrorMessage(c->pg));
			return;
		}
		conn_drain_notifies(c);
		return;
	case CONN_BUSY:
		if ((what & EV_WRITE) && !conn_flush(c))
			return;
		if (what & EV_READ) {
			if (!PQconsumeInput(c->pg)) {
				conn_lost(c, PQerrorMessage(c->pg));
				return;
			}
			conn_drain_notifies(c);
			conn_read_results(c);
		}
		return;
	default:
		event_del(c->ev);
		return;
	}
}

/*
 * Send r. Each statement runs as a prepared statement of this session,
 * prepared in the same pipeline the first time it is seen: the server
 * parses and plans a hot query once per connection, not once per call.
 */
static void
conn_start(struct db_conn *c, db_req *r)
{
	int n = 0;

	if (r->txn != NULL && r->txn_begin) {
		r->txn->conn = c;
		c->txn = r->txn;
	}
	r->conn = c;
	c->req = r;
	r->entries = xcalloc((size_t)r->ncmds * 2, sizeof *r->entries);
	r->entry_prep = xcalloc((size_t)r->ncmds * 2, sizeof *r->entry_prep);
	r->entry_ok = xcalloc((size_t)r->ncmds * 2, sizeof *r->entry_ok);
	for (int i = 0; i < r->ncmds; i++) {
		uint64_t h = sql_hash(r->cmds[i].sql);
		int slot = prep_find(c, r->cmds[i].sql, h);

		if (slot < 0 && (slot = prep_add(c, r->cmds[i].sql, h)) >= 0) {
			r->entries[n] = -1;
			r->entry_prep[n++] = slot;
		}
		r->entries[n] = i;
		r->entry_prep[n++] = slot;
	}
	r->nentries = n;
	r->cur_entry = 0;
	c->pipeline = n > 1;
	conn_set_state(c, CONN_BUSY, "request");
	if (c->pipeline && PQenterPipelineMode(c->pg) != 1)
		goto fail;
	for (int k = 0; k < n; k++) {
		int slot = r->entry_prep[k];
		bool ok;

		if (r->entries[k] < 0) {
			struct db_cmd *cmd = &r->cmds[r->entries[k + 1]];
			ok = PQsendPrepare(c->pg, c->preps[slot].name, cmd->sql, cmd->nparams, NULL);
		} else if (slot >= 0) {
			struct db_cmd *cmd = &r->cmds[r->entries[k]];
			ok = PQsendQueryPrepared(c->pg, c->preps[slot].name, cmd->nparams,
			    (const char *const *)cmd->params, NULL, NULL, 0);
		} else {
			struct db_cmd *cmd = &r->cmds[r->entries[k]];
			ok = PQsendQueryParams(c->pg, cmd->sql, cmd->nparams, NULL,
			    (const char *const *)cmd->params, NULL, NULL, 0);
		}
		if (!ok)
			goto fail;
	}
	if (c->pipeline && PQpipelineSync(c->pg) != 1)
		goto fail;
	conn_flush(c);
	return;
fail:
	conn_lost(c, PQerrorMessage(c->pg));
}

static void
pool_dispatch(db_pool *p)
{
	for (int i = 0; i < p->nconns && !TAILQ_EMPTY(&p->queue); i++) {
		struct db_conn *c = &p->conns[i];
		db_req *r;

		if (c->state != CONN_IDLE || c->txn != NULL)
			continue;
		r = TAILQ_FIRST(&p->queue);
		TAILQ_REMOVE(&p->queue, r, entry);
		p->nqueued--;
		r->queued = false;
		evtimer_del(r->timer);
		conn_start(c, r);
	}
}

static void
req_free(db_req *r)
{
	for (int i = 0; i < r->ncmds; i++) {
		free(r->cmds[i].sql);
		for (int j = 0; j < r->cmds[i].nparams; j++)
			free(r->cmds[i].params[j]);
		free(r->cmds[i].params);
		if (r->results != NULL && r->results[i] != NULL)
			PQclear(r->results[i]);
	}
	free(r->cmds);
	free(r->entries);
	free(r->entry_prep);
	free(r->entry_ok);
	free(r->results);
	free(r->error);
	if (r->timer != NULL)
		event_free(r->timer);
	free(r);
}

/* Call back (unless cancelled) and free. */
static void
req_finish(db_req *r)
{
	struct db_reply reply;

	if (r->status == DB_OK)
		r->pool->completed++;
	else
		r->pool->failed++;
	if (!r->cancelled && !r->internal && r->cb != NULL) {
		reply.status = r->status;
		reply.error = r->error ? r->error : "";
		reply.sqlstate = r->sqlstate;
		reply.nresults = r->ncmds - (r->txn_begin ? 1 : 0) - (r->txn_commit ? 1 : 0);
		reply.results = r->results + (r->txn_begin ? 1 : 0);
		r->cb(&reply, r->arg);
	}
	if (r->txn != NULL && r->txn_orphan)
		free(r->txn);
	req_free(r);
}

static void
req_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	db_req *r = arg;
	db_pool *p = r->pool;

	if (r->queued) {
		TAILQ_REMOVE(&p->queue, r, entry);
		p->nqueued--;
		r->queued = false;
		req_set_error(r, DB_UNAVAILABLE, "timed out waiting for a database connection", NULL);
	}
	/* Failed before reaching a connection: its transaction never started. */
	r->txn_orphan = r->txn != NULL;
	req_finish(r);
}

/* ---- transactions across requests ---- */

static void
cmd_insert(db_req *r, int at, const char *sql)
{
	r->cmds = xreallocarray(r->cmds, (size_t)r->ncmds + 1, sizeof *r->cmds);
	memmove(&r->cmds[at + 1], &r->cmds[at], sizeof *r->cmds * (size_t)(r->ncmds - at));
	memset(&r->cmds[at], 0, sizeof *r->cmds);
	r->cmds[at].sql = xstrdup(sql);
	r->ncmds++;
}

/* Release the reserved connection and let the queue use it again. */
static void
txn_release(db_pool *p, struct db_txn *t)
{
	if (t->conn != NULL)
		t->conn->txn = NULL;
	free(t);
	event_active(p->dispatch_ev, EV_TIMEOUT, 0);
}

/*
 * A request of a transaction came back on c. Call back; then, if the
 * transaction is over (committed, failed, or our ROLLBACK done), make sure
 * the session is out of any transaction and release the connection.
 */
static void
txn_after(struct db_conn *c, db_req *r)
{
	struct db_txn *t = r->txn;
	db_pool *p = c->pool;
	bool over = r->txn_commit || r->txn_rollback || r->status != DB_OK;

	req_finish(r);
	if (!over)
		return;
	if (c->state == CONN_IDLE && c->pg != NULL &&
	    PQtransactionStatus(c->pg) != PQTRANS_IDLE) {
		db_req *rb = db_req_new(NULL, NULL);

		db_req_add(rb, "ROLLBACK", 0, NULL);
		rb->pool = p;
		rb->internal = true;
		rb->txn = t;
		rb->txn_rollback = true;
		rb->results = xcalloc(1, sizeof(PGresult *));
		conn_start(c, rb);
		return;
	}
	txn_release(p, t);
}

db_txn *
db_txn_begin(db_pool *p, db_req *r)
{
	struct db_txn *t = xcalloc(1, sizeof *t);

	t->pool = p;
	cmd_insert(r, 0, "BEGIN");
	r->txn = t;
	r->txn_begin = true;
	db_submit(p, r);
	return t;
}

void
db_txn_continue(db_txn *t, db_req *r, bool commit)
{
	struct db_conn *c = t->conn;
	struct timeval now = { 0, 0 };

	r->txn = t;
	if (commit) {
		cmd_insert(r, r->ncmds, "COMMIT");
		r->txn_commit = true;
	}
	r->pool = t->pool;
	r->results = xcalloc((size_t)r->ncmds, sizeof(PGresult *));
	r->timer = evtimer_new(t->pool->base, req_timer_cb, r);
	if (c == NULL || c->state != CONN_IDLE || c->req != NULL) {
		/* The connection went away: fail from the loop, then forget t. */
		req_set_error(r, DB_UNAVAILABLE, "connection to the database lost", NULL);
		evtimer_add(r->timer, &now);	/* req_timer_cb orphans t */
		return;
	}
	conn_start(c, r);
}

void
db_txn_abort(db_txn *t)
{
	struct db_conn *c = t->conn;
	db_req *rb;

	if (c == NULL || c->state != CONN_IDLE) {
		free(t);
		return;
	}
	rb = db_req_new(NULL, NULL);
	db_req_add(rb, "ROLLBACK", 0, NULL);
	rb->pool = t->pool;
	rb->internal = true;
	rb->txn = t;
	rb->txn_rollback = true;
	rb->results = xcalloc(1, sizeof(PGresult *));
	rb->timer = evtimer_new(t->pool->base, req_timer_cb, rb);
	conn_start(c, rb);
}

db_req *
db_req_new(db_cb cb, void *arg)
{
	db_req *r = xcalloc(1, sizeof *r);

	r->cb = cb;
	r->arg = arg;
	return r;
}

void
db_req_add(db_req *r, const char *sql, int nparams, const char *const *params)
{
	struct db_cmd *cmd;

	r->cmds = xreallocarray(r->cmds, (size_t)r->ncmds + 1, sizeof *r->cmds);
	cmd = &r->cmds[r->ncmds++];
	cmd->sql = xstrdup(sql);
	cmd->nparams = nparams;
	cmd->params = nparams > 0 ? xcalloc((size_t)nparams, sizeof(char *)) : NULL;
	for (int i = 0; i < nparams; i++)
		cmd->params[i] = params[i] ? xstrdup(params[i]) : NULL;
}

db_req *
db_submit(db_pool *p, db_req *r)
{
	struct timeval tv = { 0, 0 };

	r->pool = p;
	r->results = xcalloc((size_t)(r->ncmds > 0 ? r->ncmds : 1), sizeof(PGresult *));
	r->timer = evtimer_new(p->base, req_timer_cb, r);
	if (r->ncmds == 0) {
		req_set_error(r, DB_ERROR, "empty request", NULL);
		evtimer_add(r->timer, &tv);
		return r;
	}
	if (p->nup == 0 && !p->healthy) {
		/* Fail fast, but from the loop: callers never re-enter. */
		req_set_error(r, DB_UNAVAILABLE, "database unavailable", NULL);
		evtimer_add(r->timer, &tv);
		return r;
	}
	r->queued = true;
	TAILQ_INSERT_TAIL(&p->queue, r, entry);
	p->nqueued++;
	tv.tv_sec = p->queue_timeout_ms / 1000;
	tv.tv_usec = (p->queue_timeout_ms % 1000) * 1000;
	evtimer_add(r->timer, &tv);
	/* Dispatch from the loop: a send failure calls back, never in here. */
	event_active(p->dispatch_ev, EV_TIMEOUT, 0);	/* no-op when already active */
	return r;
}

db_req *
db_query(db_pool *p, const char *sql, int nparams, const char *const *params,
    db_cb cb, void *arg)
{
	db_req *r = db_req_new(cb, arg);

	db_req_add(r, sql, nparams, params);
	return db_submit(p, r);
}

void
db_cancel(db_req *r)
{
	r->cancelled = true;
}

static void
conn_init(db_pool *p, struct db_conn *c, int id, bool listener)
{
	c->pool = p;
	c->id = id;
	c->listener = listener;
	c->state = CONN_DOWN;
	c->ev_fd = -1;
	c->ev = event_new(p->base, -1, 0, conn_io_cb, c);
	c->timer = evtimer_new(p->base, conn_timer_cb, c);
}

static void
dispatch_cb(evutil_socket_t fd, short what, void *arg)
{
	pool_dispatch(arg);
}

db_pool *
db_pool_new(struct event_base *base, const struct db_pool_opts *o)
{
	db_pool *p = xcalloc(1, sizeof *p);

	p->base = base;
	p->conninfo = xstrdup(o->conninfo);
	p->connect_timeout_ms = o->connect_timeout_ms > 0 ? o->connect_timeout_ms : 5000;
	p->queue_timeout_ms = o->queue_timeout_ms > 0 ? o->queue_timeout_ms : 5000;
	p->nconns = o->size > 0 ? o->size : 1;
	p->conns = xcalloc((size_t)p->nconns, sizeof *p->conns);
	p->healthy = true;	/* optimistic until the first failure */
	TAILQ_INIT(&p->queue);
	p->dispatch_ev = event_new(base, -1, 0, dispatch_cb, p);
	for (int i = 0; i < p->nconns; i++) {
		conn_init(p, &p->conns[i], i, false);
		conn_connect(&p->conns[i]);
	}
	return p;
}

static void
conn_destroy(struct db_conn *c)
{
	if (c->req != NULL) {
		c->req->conn = NULL;
		c->req->cancelled = true;
		c->req->txn_orphan = c->req->txn != NULL;
		req_finish(c->req);
		c->req = NULL;
	} else if (c->txn != NULL) {
		free(c->txn);	/* open between two of its requests */
	}
	c->txn = NULL;
	conn_close_pg(c);
	conn_set_state(c, CONN_CLOSED, "pool freed");
	event_free(c->ev);
	event_free(c->timer);
}

void
db_pool_free(db_pool *p)
{
	db_req *r;

	if (p == NULL)
		return;
	while ((r = TAILQ_FIRST(&p->queue)) != NULL) {
		TAILQ_REMOVE(&p->queue, r, entry);
		r->cancelled = true;
		r->txn_orphan = r->txn != NULL;
		req_finish(r);
	}
	for (int i = 0; i < p->nconns; i++)
		conn_destroy(&p->conns[i]);
	if (p->lconn != NULL) {
		conn_destroy(p->lconn);
		free(p->lconn);
	}
	for (int i = 0; i < p->nlisteners; i++)
		free(p->listeners[i].channel);
	free(p->listeners);
	event_free(p->dispatch_ev);
	free(p->conns);
	free(p->conninfo);
	free(p);
}

bool
db_pool_live(const db_pool *p)
{
	return p->nup > 0;
}

int
db_pool_pending(const db_pool *p)
{
	int n = p->nqueued;

	for (int i = 0; i < p->nconns; i++)
		if (p->conns[i].req != NULL)
			n++;
	return n;
}

void
db_pool_stats(const db_pool *p, struct db_stats *s)
{
	memset(s, 0, sizeof *s);
	for (int i = 0; i < p->nconns; i++) {
		switch (p->conns[i].state) {
		case CONN_CONNECTING: s->connecting++; break;
		case CONN_IDLE: s->idle++; break;
		case CONN_BUSY: s->busy++; break;
		default: s->down++; break;
		}
	}
	s->queued = p->nqueued;
	s->completed = p->completed;
	s->failed = p->failed;
	s->reconnects = p->reconnects;
}

void
db_listen(db_pool *p, const char *channel, db_notify_cb notify, db_up_cb up,
    void *arg)
{
	struct db_listener *l;

	p->listeners = xreallocarray(p->listeners, (size_t)p->nlisteners + 1,
	    sizeof *p->listeners);
	l = &p->listeners[p->nlisteners++];
	l->channel = xstrdup(channel);
	l->notify = notify;
	l->up = up;
	l->arg = arg;
	if (p->lconn == NULL) {
		p->lconn = xcalloc(1, sizeof *p->lconn);
		conn_init(p, p->lconn, p->nconns, true);
		conn_connect(p->lconn);
	} else if (p->lconn->state == CONN_IDLE) {
		listener_start(p->lconn);	/* LISTEN is idempotent: send the set */
	} else if (p->lconn->state == CONN_BUSY) {
		p->lconn->relisten = true;
	}
}
