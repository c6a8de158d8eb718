/* partitions.c: monthly partitions of answers and audit (see partitions.h). */
#include "autoconf.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "partitions.h"
#include "pgrow.h"
#include "runner.h"
#include "util.h"

#define AHEAD_MONTHS "3"

#define ROUNDS 6		/* calls a table a run at most (see sql/0027) */
#define RETRY_MS 60000		/* after a lock not granted in time */

struct partitions {
	db_pool *db;
	runner *run;
	int64_t keep_ms[2];	/* review, audit */
	db_req *req;
	char now[40];
	int table, round, changed;
};

static const char *const tables[2] = { "review", "audit" };

/* -1: another daemon holds the lock and does it now. */
static const char maintain_sql[] =
    "SELECT CASE WHEN pg_try_advisory_xact_lock(hashtext('recalld_partitions')) THEN"
    " recalld_partitions($1::regclass, $2::timestamptz, " AHEAD_MONTHS ","
    "   $3::bigint * interval '1 millisecond') ELSE -1 END";

static void step(partitions *p);

static void
stepped(const struct db_reply *r, void *arg)
{
	partitions *p = arg;
	int64_t n;

	p->req = NULL;
	if (r->status != DB_OK) {
		/* 55P03: a lock not granted within lock_timeout; a writer had it */
		if (r->sqlstate != NULL && strcmp(r->sqlstate, "55P03") == 0)
			runner_kick_after(p->run, RETRY_MS, RUNNER_KICK);
		else if (r->status != DB_UNAVAILABLE)
			log_warnx("partitions", "partitions not kept", "table=%s err=\"%s\"",
			    tables[p->table], r->error);
		runner_done(p->run);
		return;
	}
	n = pgrow_i64(r->results[0], 0, 0);
	if (n > 0) {
		p->changed += (int)n;
		if (++p->round < ROUNDS) {
			step(p);
			return;
		}
	}
	if (n >= 0 && ++p->table < 2) {
		p->round = 0;
		step(p);
		return;
	}
	if (p->changed > 0)
		log_info("partitions", "partitions made or dropped", "changes=%d now=%s",
		    p->changed, p->now);
	runner_done(p->run);
}

static void
step(partitions *p)
{
	char keep[24];
	const char *params[3] = { tables[p->table], p->now, keep };

	if (runner_stopping(p->run)) {
		runner_done(p->run);
		return;
	}
	snprintf(keep, sizeof keep, "%" PRId64, p->keep_ms[p->table]);
	p->req = db_query(p->db, maintain_sql, 3, params, stepped, p);
}

static void
run_start(runner *r, unsigned why, void *arg)
{
	partitions *p = arg;

	(void)r;
	(void)why;
	clock_now_iso(p->now, sizeof p->now);
	p->table = p->round = p->changed = 0;
	step(p);
}

partitions *
partitions_new(const struct partitions_spec *spec)
{
	partitions *p = xcalloc(1, sizeof *p);

	p->db = spec->db;
	p->keep_ms[0] = spec->review_retention_ms;
	p->keep_ms[1] = spec->audit_retention_ms;
	p->run = runner_new(spec->base, &(struct runner_spec){ .name = "partitions",
	    .interval_ms = spec->interval_ms, .on_clock = true, .at_start = true }, run_start, p);
	return p;
}

void
partitions_stop(partitions *p)
{
	runner_stop(p->run);
}

bool
partitions_busy(const partitions *p)
{
	return runner_running(p->run) || p->req != NULL;
}

bool
partitions_idle(const partitions *p)
{
	return runner_idle(p->run) && p->req == NULL;
}

void
partitions_free(partitions *p)
{
	if (p == NULL)
		return;
	if (p->req != NULL)
		db_cancel(p->req);
	runner_free(p->run);
	free(p);
}
