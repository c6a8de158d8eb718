/*
 * batches.h: the daily batch job. On a timer (and whenever the manual
 * clock moves) it claims, one school at a time under a lease (lease.h), the schools
 * whose local prompt time has come on a school day and whose batches for
 * that local date are not built yet; for each chunk of pupils it reads
 * their candidates, chooses with sched/batch, and writes the batches, the
 * prompts and their prompt.batch deliveries in one transaction (the
 * transactional outbox). Missed days are never back-filled.
 */
#ifndef RECALLD_BATCHES_H
#define RECALLD_BATCHES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "batches_writer.h"
#include "db.h"
#include "lease.h"

typedef struct batches batches;

struct batches_spec {
	struct event_base *base;
	db_pool *db;
	lease_keeper *leases;
	int64_t interval_ms;
	int chunk;		/* pupils a transaction */
	batches_writer_link_fn link;
	void *link_arg;
};

batches *batches_new(const struct batches_spec *spec);
/* Run now (again after the current run, if one is going). */
void batches_kick(batches *b);
/* No new runs; the current chunk finishes. */
void batches_stop(batches *b);
/* A run is going (or asked for and about to start). */
bool batches_busy(const batches *b);
/* Not busy, and no run asked for: what /metrics shows. */
bool batches_idle(const batches *b);
void batches_free(batches *b);

#endif
