/*
 * audit.h: the access audit's writer (table audit, sql/0024). Requests are
 * added as they are answered and written in batches, one INSERT a school
 * every flush_ms (or sooner when many wait), off the request's own path:
 * a request never waits for its audit entry. An entry in the buffer when
 * the daemon is killed is lost; one not written because the database is
 * away is dropped and counted (recalld_audit_dropped_total).
 */
#ifndef RECALLD_AUDIT_H
#define RECALLD_AUDIT_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>

#include "db.h"

typedef struct audit_log audit_log;

struct audit_entry {
	int64_t school_id;
	int64_t token_id;
	const char *role;	/* "admin", "teacher" */
	const char *method;
	const char *route;	/* the route's pattern, never the path itself */
	int64_t object_id;	/* the path's {id}, 0 without one */
	bool pupil;		/* object_id is a pupil's */
	int status;
	const char *addr;
	const char *at;		/* ISO 8601 */
};

struct audit_stats {
	uint64_t written, dropped, integration;
};

/* For the command line's own entries: $1 school, $2 at, $3 method, $4 route, $5 object, $6 pupil. */
#define AUDIT_CLI_SQL \
	"INSERT INTO audit (school_id, at, token_id, role, method, route, object_id, pupil_id," \
	" status, addr) VALUES ($1::bigint, $2::timestamptz, NULL, 'cli', $3, $4, $5::bigint," \
	" $6::bigint, 0, NULL)"

audit_log *audit_new(struct event_base *base, db_pool *db, int flush_ms);
void audit_add(audit_log *a, const struct audit_entry *e);
/* An integration token's request: counted, not logged. */
void audit_count_integration(audit_log *a);
/* Write what waits now (at shutdown: the pool's drain waits for it). */
void audit_flush(audit_log *a);
void audit_get_stats(const audit_log *a, struct audit_stats *out);
/* Entries waiting or being written. */
int audit_pending(const audit_log *a);
void audit_free(audit_log *a);

#endif
