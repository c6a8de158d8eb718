/*
 * leavers.h: the leavers job. A pupil who left the school (made inactive:
 * their batches stop at once) is erased privacy.leaver_erase_after later,
 * with every table erase.h lists, and an erasure record whose reason is
 * "leaver". It also applies the school's retention: access-audit entries
 * past privacy.audit_retention and answers past privacy.review_retention
 * go (memory states stay: they are the running state, not recomputed
 * from the answers), what deliveries past privacy.delivery_retention
 * carried is emptied (the row and its status stay), replies kept for
 * idempotent retries go after a day, and LMS logins and deep-linking
 * choices nobody finished go once expired. Runs hourly and whenever the manual clock
 * moves, one school at a time under its lease (lease.h), one pupil a
 * transaction.
 */
#ifndef RECALLD_LEAVERS_H
#define RECALLD_LEAVERS_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>

#include "db.h"
#include "lease.h"

typedef struct leavers leavers;

struct leavers_spec {
	struct event_base *base;
	db_pool *db;
	lease_keeper *leases;
	int64_t interval_ms;
	int64_t erase_after_ms;		/* privacy.leaver_erase_after */
	int64_t audit_retention_ms;	/* privacy.audit_retention */
	int64_t review_retention_ms;	/* privacy.review_retention */
	int64_t delivery_retention_ms;	/* privacy.delivery_retention */
};

leavers *leavers_new(const struct leavers_spec *spec);
void leavers_stop(leavers *l);
bool leavers_busy(const leavers *l);
bool leavers_idle(const leavers *l);
void leavers_free(leavers *l);

#endif
