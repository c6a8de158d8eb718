/*
 * app.h: the process's own state while `serve` runs, handed to the HTTP
 * handlers. One instance, made and freed by serve.c.
 */
#ifndef RECALLD_APP_H
#define RECALLD_APP_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>

#include "config.h"
#include "db.h"
#include "secretbox.h"
#include "lease.h"
#include "migrate.h"
#include "replica.h"
#include "token.h"

/* The shared manual clock moves on this NOTIFY channel (payload: Unix us). */
#define CLOCK_CHANNEL "recalld_clock"

struct http_server;
typedef struct batches batches;
typedef struct answers answers;
typedef struct flagjob flagjob;
typedef struct leavers leavers;
typedef struct fitjob fitjob;
typedef struct partitions partitions;
typedef struct audit_log audit_log;
typedef struct checks checks;
typedef struct dashboard dashboard;

struct app {
	struct event_base *base;
	struct config *cfg;
	const char *config_path;	/* NULL: defaults and environment only */
	db_pool *db;
	replica *reads;			/* database.read_url, or NULL */
	migrate_set *migrations;
	struct http_server *http;
	token_cache *tokens;		/* checked API tokens, cleared on revocation */
	lease_keeper *leases;		/* the jobs' leases on schools (lease.h) */
	batches *batches;		/* the daily batch job */
	answers *answers;		/* answers in, group commit */
	flagjob *flagjob;		/* mastery refresh, flags, digests */
	leavers *leavers;		/* erasing pupils who left */
	fitjob *fitjob;			/* fitting each school's FSRS-6 weights */
	partitions *partitions;		/* monthly partitions of answers and audit */
	audit_log *audit;		/* the access audit's writer */
	checks *checks;			/* checks on demand */
	struct alink_keys *link_keys;	/* answer links */
	secretbox *secrets;		/* secrets.key_file; NULL: secrets in clear */
	struct push *push;		/* the webhook sender (push.h) */
	struct hfetch *fetch;		/* requests to LMSs (hfetch.h) */
	struct ags *ags;		/* LMS gradebooks' tokens and line items (ags.h) */
	struct nrps *nrps;		/* courses' memberships from LMSs (nrps.h) */
	dashboard *dashboard;		/* the dashboard's files; NULL if not installed */
	bool ready;			/* READY=1 sent */
	bool stopping;			/* SIGTERM seen: readyz says 503 */
	uint64_t started_ms;
};

#endif
