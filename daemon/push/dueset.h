/*
 * dueset.h: the schools whose webhook deliveries may be due, as one
 * sender knows them, so that it claims school by school (each school one
 * shard on Citus) and never scans every school's deliveries. Pure: no
 * I/O, no clock (the caller passes now); times in microseconds of the
 * daemon's clock.
 *
 * A school is due now (0) or at a time. It is heard of from the outbox
 * NOTIFY, from a retry the sender wrote, or from a sweep's probe: none of
 * these ever makes it due later than known. A claim of the school then
 * says what is left: more (claim again), or its next retry, or nothing
 * (forgotten). What is heard while the school's claim runs may be newer
 * than what the claim read, so it counts on top of the claim's answer.
 */
#ifndef RECALLD_DUESET_H
#define RECALLD_DUESET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DUESET_NONE INT64_MAX	/* no due time */

typedef struct dueset dueset;

dueset *dueset_new(void);
void dueset_free(dueset *s);

/* school may have deliveries due at at_us (0: now); never later than known. */
void dueset_heard(dueset *s, int64_t school, int64_t at_us);
/*
 * Up to max schools due by now, neither claiming nor waiting, the least
 * recently claimed first, into out; each is marked claiming.
 */
size_t dueset_pick(dueset *s, int64_t now, int64_t *out, size_t max);
/* How many schools are due by now and could be picked (not claiming, not waiting). */
size_t dueset_ready(const dueset *s, int64_t now);

/* What a claim of a school found. */
struct dueset_claim {
	bool failed;		/* it did not run: the school stays due now */
	bool more;		/* it may have left due ones: due now */
	bool wait;		/* with more: claim only after a transfer of it ends */
	int64_t next_us;	/* without more: its next retry, or DUESET_NONE */
};
void dueset_claimed(dueset *s, int64_t school, const struct dueset_claim *c, int64_t now);
/* A transfer of school ended; true when the school was waiting for one (claim it again). */
bool dueset_transfer_ended(dueset *s, int64_t school);

/* The earliest due time after now, for a timer; DUESET_NONE if none. */
int64_t dueset_next(const dueset *s, int64_t now);
/* Schools known; of them, due now but waiting for a transfer to end. */
size_t dueset_count(const dueset *s);
size_t dueset_waiting(const dueset *s, int64_t now);

#endif
