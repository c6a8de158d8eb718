/*
 * replay.h: `recalld replay`, a reviews CSV through FSRS-6, one output row
 * per review. Counts days as ts-fsrs does (UTC calendar days), so its output
 * can be checked against the reference (tests/fsrs-vectors/replay_check.mjs).
 *
 * In:  card_id,review_time,rating
 *      review_time ISO 8601 (2025-03-01T21:11:08Z, fractional seconds and
 *      numeric offsets allowed) or integer Unix seconds; rating 1..4; cards
 *      may interleave, each card's rows in time order.
 * Out: card_id,review_time,rating,elapsed_days,retrievability,stability,
 *      difficulty,interval_days
 *
 * Memory grows with the number of cards, never with the number of rows.
 */
#ifndef RECALLD_REPLAY_H
#define RECALLD_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fsrs.h"

/* Exit codes of replay_main and replay_stream. */
#define REPLAY_OK	0
#define REPLAY_EIO	1	/* reading, writing, memory */
#define REPLAY_EINPUT	2	/* bad input row or option */

/* Longest card_id accepted, in bytes. */
#define REPLAY_MAX_CARD_ID 1024

typedef struct replay_opts {
	double w[FSRS_NPARAMS];
	double retention;
	int max_interval;
} replay_opts;

/* The reference's defaults: FSRS-6 parameters, retention 0.9, 36500 days. */
void replay_opts_init(replay_opts *o);

/*
 * Replay in to out. Returns REPLAY_OK, or REPLAY_EINPUT / REPLAY_EIO with a
 * message in err (naming the input line for a bad row); rows before a bad
 * row have been written.
 */
int replay_stream(FILE *in, FILE *out, const replay_opts *o, char *err,
    size_t errlen) __attribute__((warn_unused_result));

/*
 * A review_time as replay reads it: integer Unix seconds, or ISO 8601
 * (YYYY-MM-DDTHH:MM:SS[.fraction] with Z or a numeric offset). Shared
 * with `recalld fit`.
 */
bool replay_parse_time(const char *s, size_t len, int64_t *sec, int32_t *nsec);

/* The subcommand: argv[0] is "replay". Returns the process exit code. */
int replay_main(int argc, char **argv);

#endif
