/*
 * partitions.h: the partitions job. Answers (review) and the access audit
 * live in monthly partitions (sql/0027): this job makes each month's
 * partition three months ahead, turns the default partition into a
 * history partition the first time, and drops whole partitions once they
 * are past privacy.review_retention and privacy.audit_retention. The
 * partitions are the database's, not a school's, so it takes no school
 * lease: one statement under a transaction-scoped advisory lock, which a
 * second daemon finds taken and skips. Hourly, at start, and whenever the
 * manual clock moves (on the daemon's clock).
 */
#ifndef RECALLD_PARTITIONS_H
#define RECALLD_PARTITIONS_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>

#include "db.h"

typedef struct partitions partitions;

struct partitions_spec {
	struct event_base *base;
	db_pool *db;
	int64_t interval_ms;
	int64_t review_retention_ms;	/* privacy.review_retention */
	int64_t audit_retention_ms;	/* privacy.audit_retention */
};

partitions *partitions_new(const struct partitions_spec *spec);
void partitions_stop(partitions *p);
bool partitions_busy(const partitions *p);
bool partitions_idle(const partitions *p);
void partitions_free(partitions *p);

#endif
