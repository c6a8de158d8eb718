/*
 * lease.h: which daemon works on a school's share of a periodic job.
 *
 * Every job that visits schools (the daily batches, the flags and digests,
 * and every later one) claims each school with a lease, a row of job_lease
 * (sql/0020) held by one daemon until a real time. The holder renews it
 * while it works, in the same request as its writes, so that a write made
 * after the lease was lost fails instead of committing twice; it deletes
 * the lease when done. A daemon that dies leaves its leases to lapse after
 * jobs.lease_timeout and any other daemon then takes those schools over.
 *
 * A claim is one statement the job writes itself (what is due is the job's
 * business): its candidate filter uses LEASE_FREE, and it takes the one
 * school it picked with LEASE_TAKE in a MATERIALIZED CTE, so that the take
 * runs once. A take that loses a race returns false: the job claims again.
 *
 * A lease_keeper is one daemon's side: its holder id (host:pid:nonce), the
 * timeout, and the leases its jobs hold now, for /metrics.
 */
#ifndef RECALLD_LEASE_H
#define RECALLD_LEASE_H

#include <stdbool.h>
#include <stdint.h>

#include "db.h"

typedef struct lease_keeper lease_keeper;

/* job names are SQL literals: [a-z_], as job_lease's CHECK says */
#define LEASE_FREE(job, school) \
	"NOT EXISTS (SELECT 1 FROM job_lease l WHERE l.school_id = " school \
	" AND l.job = '" job "' AND l.until > clock_timestamp())"
/* holder and ms: the claim's parameters, from lease_params */
#define LEASE_TAKE(job, school, holder, ms) \
	"recalld_lease_take(" school ", '" job "', " holder ", " ms "::bigint)"
/*
 * The claim of a job that visits the schools in turn: the next school s
 * after $1 (the last one visited) in from, which cond (SQL after WHERE,
 * "true" for every one) lets through and no daemon holds, taken for $2
 * holder and $3 ms (lease_holder, lease_timeout_param). Answers one row
 * (school_id, won), none when every school is visited; reads only the
 * reference tables when from and cond do (Citus).
 */
#define LEASE_CLAIM_NEXT(job, from, cond) \
	"WITH pick AS MATERIALIZED (SELECT s.school_id FROM " from \
	"   WHERE s.school_id > $1::bigint AND (" cond ")" \
	"   AND " LEASE_FREE(job, "s.school_id") \
	"   ORDER BY s.school_id LIMIT 1)," \
	" won AS MATERIALIZED (SELECT school_id, " LEASE_TAKE(job, "school_id", "$2", "$3") \
	"   AS won FROM pick)" \
	" SELECT school_id, won FROM won"

lease_keeper *lease_keeper_new(int64_t timeout_ms);
void lease_keeper_free(lease_keeper *k);
/* The parameters LEASE_TAKE's holder and ms stand for. */
const char *lease_holder(const lease_keeper *k);
const char *lease_timeout_param(const lease_keeper *k);

/* The job now holds school's lease (after a take that returned true). */
void lease_held(lease_keeper *k, const char *job, const char *school);
/* Is a renewal due (a third of the timeout since the take or last renewal)? */
bool lease_renew_due(const lease_keeper *k, const char *job);
/*
 * Add the renewal to req: it fails req (and its transaction) with SQLSTATE
 * LEASE_LOST when the lease lapsed and another daemon took it.
 */
void lease_add_renew(db_req *req, lease_keeper *k, const char *job);
#define LEASE_LOST "RL001"
/* Add the release to req (usually the job's last write for the school). */
void lease_add_release(db_req *req, lease_keeper *k, const char *job);
/* The job let its lease go without a release (it lapses): forget it. */
void lease_forget(lease_keeper *k, const char *job);
/*
 * A run ended early (stopping, or a failure): release what the job still
 * holds, without waiting for the reply, so that the school is not left
 * for jobs.lease_timeout. If the release fails, the lease lapses.
 */
void lease_let_go(lease_keeper *k, const char *job, db_pool *db);

/*
 * Add to req the time until the first lease of job that another daemon
 * holds lapses; lease_next_lapse_ms reads it from that statement's result:
 * -1 when there is none. A job whose claim found nothing free asks again
 * then, rather than leave a dead daemon's school to its next interval.
 */
void lease_add_next_lapse(db_req *req, lease_keeper *k, const char *job);
int64_t lease_next_lapse_ms(const PGresult *res);

/* For /metrics: each lease this daemon holds. */
typedef void (*lease_each_fn)(const char *job, const char *school, void *arg);
void lease_each(const lease_keeper *k, lease_each_fn fn, void *arg);

#endif
