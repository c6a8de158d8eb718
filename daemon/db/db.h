/*
 * db.h: a pool of non-blocking libpq connections driven by libevent.
 *
 * Requests queue FIFO and run on the first idle connection. A request of
 * one statement is sent with PQsendQueryParams; a request of several runs
 * in pipeline mode with one sync, so its statements form one implicit
 * transaction: all commit or none. Parameters are text, copied at submit.
 *
 * When no connection is up after a failure, requests fail fast with
 * DB_UNAVAILABLE (callers answer 503) while the connections come back
 * with exponential backoff and jitter. Callbacks always run from the
 * event loop, never from inside db_submit.
 */
#ifndef RECALLD_DB_H
#define RECALLD_DB_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>
#include <libpq-fe.h>

typedef struct db_pool db_pool;
typedef struct db_req db_req;

enum db_status {
	DB_OK = 0,
	DB_ERROR,	/* the server refused a statement: a bug or a constraint */
	DB_UNAVAILABLE,	/* no connection, connection lost, or queue timeout */
};

struct db_reply {
	enum db_status status;
	const char *error;	/* message when status != DB_OK */
	const char *sqlstate;	/* five characters for DB_ERROR, else "" */
	int nresults;
	PGresult *const *results;	/* one per statement; freed after the callback */
};

/* r and everything it points to is valid only during the call. */
typedef void (*db_cb)(const struct db_reply *r, void *arg);

struct db_pool_opts {
	const char *conninfo;	/* libpq keyword string or URI; never logged */
	int size;		/* connections (the LISTEN connection is extra) */
	int connect_timeout_ms;
	int queue_timeout_ms;	/* how long a request may wait for a connection */
};

struct db_stats {
	int connecting;
	int idle;
	int busy;
	int down;
	int queued;
	uint64_t completed;
	uint64_t failed;
	uint64_t reconnects;
};

db_pool *db_pool_new(struct event_base *base, const struct db_pool_opts *o);
/* Frees queued and in-flight requests without calling their callbacks. */
void db_pool_free(db_pool *p);

/* Build a request; statements are run in the order added. */
db_req *db_req_new(db_cb cb, void *arg);
void db_req_add(db_req *r, const char *sql, int nparams,
    const char *const *params);
/*
 * Queue r (the pool owns it from now on). The handle stays valid until its
 * callback has returned or db_cancel is called.
 */
db_req *db_submit(db_pool *p, db_req *r);
/* One statement: db_req_new + db_req_add + db_submit. */
db_req *db_query(db_pool *p, const char *sql, int nparams,
    const char *const *params, db_cb cb, void *arg);
/* The callback will not be called; the pool frees r when it can. */
void db_cancel(db_req *r);

/*
 * Transactions that need C work between statements (read FOR UPDATE,
 * compute, write back): the statements run on one connection reserved
 * until the end. db_txn_begin sends BEGIN plus r's statements; each reply
 * shows only the caller's statements. After an OK reply the caller must
 * go on with db_txn_continue (commit or not) or db_txn_abort. After a
 * failed reply, or the reply of a commit, the transaction is over (the
 * pool rolls back what needs it) and the handle is gone.
 */
typedef struct db_txn db_txn;
db_txn *db_txn_begin(db_pool *p, db_req *r);
void db_txn_continue(db_txn *t, db_req *r, bool commit);
void db_txn_abort(db_txn *t);

/* At least one connection is up (idle or busy). */
bool db_pool_live(const db_pool *p);
/* Queued plus in-flight requests, for graceful shutdown. */
int db_pool_pending(const db_pool *p);
void db_pool_stats(const db_pool *p, struct db_stats *out);

/*
 * LISTEN on a dedicated connection. notify runs for every notification;
 * up runs each time the LISTEN is (re)established, so the caller can run
 * a catch-up query for what was sent while it was down.
 */
typedef void (*db_notify_cb)(const char *channel, const char *payload, void *arg);
typedef void (*db_up_cb)(void *arg);
void db_listen(db_pool *p, const char *channel, db_notify_cb notify,
    db_up_cb up, void *arg);

#endif
