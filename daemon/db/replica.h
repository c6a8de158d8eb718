/*
 * replica.h: the optional read replica (database.read_url), a hot standby
 * that serves reads which may be a little stale (teachers' views).
 *
 * How stale it is, is measured without writing anything: every tick the
 * primary's WAL position is sampled with its time, and the replica's
 * replayed position says which samples it has caught up with; the replica
 * holds everything committed up to the newest such sample. A read goes to
 * the replica only while that is within max_lag and the replica is up.
 */
#ifndef RECALLD_REPLICA_H
#define RECALLD_REPLICA_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>

#include "db.h"

typedef struct replica replica;

struct replica_opts {
	const char *conninfo;	/* never logged */
	int size;
	int connect_timeout_ms;
	int64_t max_lag_ms;
	int tick_ms;		/* how often the lag is measured */
};

struct replica_stats {
	int64_t lag_ms;		/* -1: not known yet, or the replica is down */
	uint64_t to_replica;	/* reads sent to the replica */
	uint64_t to_primary;	/* reads that fell back to the primary */
};

replica *replica_new(struct event_base *base, db_pool *primary, const struct replica_opts *o);
void replica_free(replica *r);
/* The pool for a read that may be stale by max_lag; r NULL: the primary. */
db_pool *replica_pick(replica *r, db_pool *primary);
void replica_get_stats(const replica *r, struct replica_stats *out);
/* "X/Y" as PostgreSQL prints an LSN, into *out; false if it is not one. */
bool replica_parse_lsn(const char *s, uint64_t *out);

#endif
