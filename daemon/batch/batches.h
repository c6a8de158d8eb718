/*
 * batches.h: the daily batch job. On a timer (and whenever the manual
 * clock moves) it claims, one school at a time under a lease, the schools
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

#include "db.h"

typedef struct batches batches;

/* Writes a prompt's answer_url into out; NULL: prompts carry no link. */
typedef bool (*batches_link_fn)(void *arg, int64_t school_id, int64_t prompt_id,
    int64_t expires_unix, char *out, size_t outlen);

/*
 * Writing batches, for the daily job and for checks on demand (checks.h).
 * Add each pupil's picks in prompt order (one pupil's picks together),
 * then two requests of the caller's: batches_writer_prepare adds the
 * statements that reserve the ids and read what the events show; from
 * their results batches_writer_write adds the transaction: the batches,
 * their prompts, and one prompt.batch event a pupil (deliveries for every
 * endpoint that takes it, answer links in it). Whatever else the caller
 * adds to that request commits with it, or nothing does.
 */
typedef struct batches_writer batches_writer;

struct batches_spec {
	const char *school;		/* school_id, decimal */
	const char *local_date;		/* YYYY-MM-DD in the school's calendar */
	const char *kind;		/* "daily", "diagnostic" or "recheck" */
	const char *class_id;		/* checks: the class and unit; else NULL */
	const char *unit_id;
	const char *expires_at;		/* ISO 8601: when the prompts expire */
	int64_t expires_unix;
	batches_link_fn link;		/* NULL: prompts carry no answer link */
	void *link_arg;
};

/* The spec's strings are copied. */
batches_writer *batches_writer_new(const struct batches_spec *spec);
void batches_writer_free(batches_writer *w);
/* Forget the picks (the next chunk), keep the spec. */
void batches_writer_clear(batches_writer *w);
void batches_writer_add(batches_writer *w, int64_t pupil_id, int64_t question_id);
size_t batches_writer_npupils(const batches_writer *w);
size_t batches_writer_nprompts(const batches_writer *w);
/* Adds BATCHES_PREPARE_STATEMENTS statements to r. */
#define BATCHES_PREPARE_STATEMENTS 3
void batches_writer_prepare(batches_writer *w, db_req *r);
/*
 * prepared: the results of prepare's statements, in order. Takes the
 * reserved ids from them; false when they cannot be read.
 */
bool batches_writer_take_ids(batches_writer *w, PGresult *const *prepared)
    __attribute__((warn_unused_result));
/*
 * After batches_writer_take_ids with the same results: adds the writing
 * statements to r: one delivery INSERT a pupil (its rows: the deliveries
 * queued), then the NOTIFY, and the batch and prompt INSERTs. When no
 * endpoint of the school takes prompt.batch there are neither delivery
 * INSERTs nor the NOTIFY: nothing is rendered for no one.
 */
void batches_writer_write(batches_writer *w, PGresult *const *prepared, const char *now,
    db_req *r);
/* Deliveries queued by a committed write whose first statement was results[first]. */
int batches_writer_deliveries(const batches_writer *w, const struct db_reply *r, int first);

batches *batches_new(struct event_base *base, db_pool *db, int64_t interval_ms, int chunk,
    batches_link_fn link, void *link_arg);
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
