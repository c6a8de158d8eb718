/* replica.c: the read replica and its measured staleness (replica.h). */
#include "autoconf.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "replica.h"
#include "util.h"

#define SAMPLES 128	/* at a 250 ms tick, 32 s of the primary's history */

struct sample {
	uint64_t at_ms;		/* monotonic time the primary was at lsn */
	uint64_t lsn;
};

struct replica {
	db_pool *primary;	/* sampled, not owned */
	db_pool *pool;		/* the replica's own */
	struct event *tick;
	int64_t max_lag_ms;
	struct sample ring[SAMPLES];
	int nsamples, head;	/* head: where the next sample goes */
	uint64_t fresh_at_ms;	/* the replica holds all commits up to this; 0: unknown */
	db_req *p_req, *r_req;	/* measurements in flight */
	bool warned;
	uint64_t to_replica, to_primary;
};

bool
replica_parse_lsn(const char *s, uint64_t *out)
{
	unsigned long long hi, lo;
	int n = 0;

	if (s == NULL || sscanf(s, "%llx/%llx%n", &hi, &lo, &n) != 2 || s[n] != '\0' ||
	    hi > UINT32_MAX || lo > UINT32_MAX)
		return false;
	*out = (uint64_t)hi << 32 | (uint64_t)lo;
	return true;
}

static void
primary_cb(const struct db_reply *rep, void *arg)
{
	replica *r = arg;
	uint64_t lsn;

	r->p_req = NULL;
	if (rep->status != DB_OK || PQntuples(rep->results[0]) != 1 ||
	    !replica_parse_lsn(PQgetvalue(rep->results[0], 0, 1), &lsn))
		return;
	r->ring[r->head].at_ms = (uint64_t)strtoull(PQgetvalue(rep->results[0], 0, 0), NULL, 10);
	r->ring[r->head].lsn = lsn;
	r->head = (r->head + 1) % SAMPLES;
	if (r->nsamples < SAMPLES)
		r->nsamples++;
}

static void
replica_cb(const struct db_reply *rep, void *arg)
{
	replica *r = arg;
	uint64_t replayed;

	r->r_req = NULL;
	if (rep->status != DB_OK || PQntuples(rep->results[0]) != 1) {
		r->fresh_at_ms = 0;	/* down: do not use it */
		return;
	}
	if (PQgetisnull(rep->results[0], 0, 1)) {
		if (!r->warned)
			log_warnx("replica", "database.read_url is not a standby: reads stay on the primary", "");
		r->warned = true;
		r->fresh_at_ms = 0;
		return;
	}
	if (!replica_parse_lsn(PQgetvalue(rep->results[0], 0, 1), &replayed))
		return;
	/* The newest primary sample the replica has replayed past. */
	for (int i = 0; i < r->nsamples; i++) {
		const struct sample *s = &r->ring[(r->head - 1 - i + SAMPLES) % SAMPLES];

		if (s->lsn <= replayed) {
			if (s->at_ms > r->fresh_at_ms)
				r->fresh_at_ms = s->at_ms;
			break;
		}
	}
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	replica *r = arg;
	char now[24];
	const char *p[1] = { now };

	(void)fd;
	(void)what;
	/* The time goes through the query so the sample and its LSN pair up. */
	snprintf(now, sizeof now, "%" PRIu64, util_mono_ms());
	if (r->p_req == NULL)
		r->p_req = db_query(r->primary, "SELECT $1::text, pg_current_wal_lsn()::text",
		    1, p, primary_cb, r);
	if (r->r_req == NULL)
		r->r_req = db_query(r->pool, "SELECT 1, CASE WHEN pg_is_in_recovery()"
		    " THEN pg_last_wal_replay_lsn()::text END", 0, NULL, replica_cb, r);
}

replica *
replica_new(struct event_base *base, db_pool *primary, const struct replica_opts *o)
{
	replica *r = xcalloc(1, sizeof *r);
	struct db_pool_opts po = {
		.conninfo = o->conninfo, .size = o->size,
		.connect_timeout_ms = o->connect_timeout_ms,
		.queue_timeout_ms = o->connect_timeout_ms,
	};
	struct timeval tv = { o->tick_ms / 1000, (o->tick_ms % 1000) * 1000 };

	r->primary = primary;
	r->pool = db_pool_new(base, &po);
	r->max_lag_ms = o->max_lag_ms;
	r->tick = event_new(base, -1, EV_PERSIST, tick_cb, r);
	event_add(r->tick, &tv);
	return r;
}

void
replica_free(replica *r)
{
	if (r == NULL)
		return;
	if (r->p_req != NULL)
		db_cancel(r->p_req);
	if (r->r_req != NULL)
		db_cancel(r->r_req);
	event_free(r->tick);
	db_pool_free(r->pool);
	free(r);
}

static int64_t
lag_ms(const replica *r)
{
	uint64_t now = util_mono_ms();

	if (r->fresh_at_ms == 0 || !db_pool_live(r->pool))
		return -1;
	return now > r->fresh_at_ms ? (int64_t)(now - r->fresh_at_ms) : 0;
}

db_pool *
replica_pick(replica *r, db_pool *primary)
{
	int64_t lag;

	if (r == NULL)
		return primary;
	lag = lag_ms(r);
	if (lag >= 0 && lag <= r->max_lag_ms) {
		r->to_replica++;
		return r->pool;
	}
	r->to_primary++;
	return primary;
}

void
replica_get_stats(const replica *r, struct replica_stats *out)
{
	memset(out, 0, sizeof *out);
	out->lag_ms = -1;
	if (r == NULL)
		return;
	out->lag_ms = lag_ms(r);
	out->to_replica = r->to_replica;
	out->to_primary = r->to_primary;
}
