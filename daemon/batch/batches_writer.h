/*
 * batches_writer.h: writing batches, for the daily job (batches.h) and for
 * checks on demand (checks.h). Add each pupil's picks in prompt order (one
 * pupil's picks together), then two requests of the caller's:
 * batches_writer_prepare adds the statements that reserve the ids and read
 * what the events show; from their results batches_writer_write adds the
 * transaction: the batches, their prompts, and one prompt.batch event a
 * pupil (deliveries for every endpoint that takes it, answer links in it).
 * Whatever else the caller adds to that request commits with it, or
 * nothing does.
 */
#ifndef RECALLD_BATCHES_WRITER_H
#define RECALLD_BATCHES_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"

/* Which link a batches_writer_link_fn makes. */
enum batches_link {
	BATCHES_LINK_ANSWER,	/* id: a prompt; its answer_url */
	BATCHES_LINK_PUPIL,	/* id: a pupil; the batch's progress_url (their page) */
};

/* Writes a link into out; NULL: prompts and batches carry no link. */
typedef bool (*batches_writer_link_fn)(void *arg, enum batches_link kind, int64_t school_id,
    int64_t id, int64_t expires_unix, char *out, size_t outlen);

typedef struct batches_writer batches_writer;

struct batches_writer_spec {
	const char *school;		/* school_id, decimal */
	const char *local_date;		/* YYYY-MM-DD in the school's calendar */
	const char *kind;		/* "daily", "diagnostic" or "recheck" */
	const char *class_id;		/* checks: the class and unit; else NULL */
	const char *unit_id;
	const char *expires_at;		/* ISO 8601: when the prompts expire */
	int64_t expires_unix;
	batches_writer_link_fn link;		/* NULL: prompts carry no answer link */
	void *link_arg;
};

/* The spec's strings are copied. */
batches_writer *batches_writer_new(const struct batches_writer_spec *spec);
void batches_writer_free(batches_writer *w);
/* Forget the picks (the next chunk), keep the spec. */
void batches_writer_clear(batches_writer *w);
void batches_writer_add(batches_writer *w, int64_t pupil_id, int64_t question_id);
size_t batches_writer_npupils(const batches_writer *w);
size_t batches_writer_nprompts(const batches_writer *w);
/* Adds BATCHES_WRITER_PREPARE_STATEMENTS statements to r. */
#define BATCHES_WRITER_PREPARE_STATEMENTS 3
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

#endif
