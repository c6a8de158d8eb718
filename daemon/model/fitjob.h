/*
 * fitjob.h: the weekly fit job. Each school whose fit is due (school_fsrs
 * .fit_due, every fsrs.fit_interval) is claimed under its lease (lease.h)
 * and fitted by `recalld fit --school ID --record` in a child process
 * (child.h), so that no request waits on the arithmetic: the child fits
 * FSRS-6 to the school's answers once it has fsrs.min_reviews_to_fit,
 * adopts the new weights only if they beat the ones in use on the
 * school's latest answers (and an admin did not pin them), and records
 * the fit in fsrs_fit, renewing the lease in that transaction so that a
 * fit made under a lost lease is never recorded. Runs hourly, at start,
 * whenever the manual clock moves, and on fitjob_kick.
 */
#ifndef RECALLD_FITJOB_H
#define RECALLD_FITJOB_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>

#include "db.h"
#include "lease.h"

typedef struct fitjob fitjob;

struct fitjob_spec {
	struct event_base *base;
	db_pool *db;
	lease_keeper *leases;
	const char *config_path;	/* handed to the child; may be NULL */
	int64_t interval_ms;		/* how often it looks for due schools */
	int64_t fit_interval_ms;	/* fsrs.fit_interval */
};

fitjob *fitjob_new(const struct fitjob_spec *spec);
/* Look for due schools now (an admin asked for a fit). */
void fitjob_kick(fitjob *f);
/* Stop: a fit in progress is killed, its lease let go. */
void fitjob_stop(fitjob *f);
bool fitjob_busy(const fitjob *f);
bool fitjob_idle(const fitjob *f);
void fitjob_free(fitjob *f);

#endif
