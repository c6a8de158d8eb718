/*
 * flagjob.h: the flag job.
 *
 * The job runs on a timer (flags.interval), whenever the manual clock
 * moves, and flags.debounce after answers (it LISTENs on the channel every
 * answers commit notifies; such a run visits only the schools with reviews
 * it has not seen). It takes one school at a time under a lease and, one
 * class at a time in a REPEATABLE READ transaction (a concurrent answer
 * makes it retry the class), reads the class (classview.h) and:
 *
 *  - assesses every active pupil x taught unit with sched/mastery at the
 *    school's local today and at today + flag_horizon_days;
 *  - refreshes the stored mastery level where forgetting moved it
 *    (mastery_history and a mastery.changed event);
 *  - flags the class x unit with sched/flags (thresholds from the school)
 *    and stores the flag (since carried while it holds or worsens); a new
 *    or worse flag queues a topic.flagged event;
 *  - on the school's digest_weekday, from its prompt_time, queues the
 *    class's digest.teacher once per ISO week (class_digest remembers it).
 *
 * Everything of a class commits together with its events, or nothing does.
 */
#ifndef RECALLD_FLAGJOB_H
#define RECALLD_FLAGJOB_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>

#include "db.h"
#include "batches_writer.h"
#include "lease.h"

typedef struct flagjob flagjob;

struct flagjob_spec {
	struct event_base *base;
	db_pool *db;
	lease_keeper *leases;		/* one school at a time, under its lease */
	int64_t interval_ms;		/* between full runs */
	int64_t debounce_ms;		/* from the first answer to the run it asks for */
	const char *reviews_channel;	/* NOTIFYed by every commit of answers */
	/*
	 * The batch job is running (NULL: never): classes wait for it. The
	 * daily batches are what pupils wait for, the flags can wait.
	 */
	bool (*busy)(void *arg);
	void *busy_arg;
	/* LMS gradebooks: a pupil's unit gets at most one score in this long (ags.h). */
	int64_t score_interval_ms;
	/* The pupil's page link of a family's weekly note (NULL: none). */
	batches_writer_link_fn link;
	void *link_arg;
};

/* A full run starts as soon as the loop turns. */
flagjob *flagjob_new(const struct flagjob_spec *spec);
/* Run now over every school (again after the current run, if one is going). */
void flagjob_kick(flagjob *f);
/* Answers came in: a run over the schools with new reviews, debounce_ms from now. */
void flagjob_kick_answers(flagjob *f);
/* No new runs; the current class finishes. */
void flagjob_stop(flagjob *f);
/* A run is going (or asked for and about to start). */
bool flagjob_busy(const flagjob *f);
/* Not busy, and no run asked for (after answers, a kick): what /metrics shows. */
bool flagjob_idle(const flagjob *f);
/* Call before db_pool_free, without running the loop in between (LISTEN). */
void flagjob_free(flagjob *f);

#endif
