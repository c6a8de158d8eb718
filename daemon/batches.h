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

struct app;
typedef struct batches batches;

/* Writes a prompt's answer_url into out; NULL: prompts carry no link. */
typedef bool (*batches_link_fn)(void *arg, int64_t school_id, int64_t prompt_id,
    int64_t expires_unix, char *out, size_t outlen);

batches *batches_new(struct app *app, int64_t interval_ms, int chunk,
    batches_link_fn link, void *link_arg);
/* Run now (again after the current run, if one is going). */
void batches_kick(batches *b);
/* No new runs; the current chunk finishes. */
void batches_stop(batches *b);
/* A run is going (or asked for and about to start). */
bool batches_busy(const batches *b);
void batches_free(batches *b);

#endif
