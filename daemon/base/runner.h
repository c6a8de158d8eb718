/*
 * runner.h: one periodic job's life on the loop, the same for every job
 * (the daily batches, the flags, the webhook sender, and any later job).
 *
 * A run starts from the loop, never inside the caller's stack: on the
 * interval, on runner_kick, on a move of the manual clock, or after a
 * runner_kick_after delay. One run at a time: a kick that arrives while
 * the job runs is remembered and the job runs again as soon as it calls
 * runner_done, so no kick waits for the next interval. The reasons of
 * every kick since the last start are OR-ed and handed to the next run.
 *
 * The runner knows nothing of what the job does: it is handed the event
 * base alone, and the job keeps its own pool and state.
 */
#ifndef RECALLD_RUNNER_H
#define RECALLD_RUNNER_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>

typedef struct runner runner;

/* Why a run starts; a job may define its own reasons from RUNNER_USER up. */
#define RUNNER_TIMER	0x1u	/* the interval */
#define RUNNER_KICK	0x2u	/* runner_kick(r, RUNNER_KICK) */
#define RUNNER_CLOCK	0x4u	/* the manual clock moved */
#define RUNNER_USER	0x100u

/* Start one run; the job calls runner_done(r) when it is over. */
typedef void (*runner_fn)(runner *r, unsigned why, void *arg);

struct runner_spec {
	const char *name;	/* for logs */
	int64_t interval_ms;	/* 0: no interval */
	bool on_clock;		/* a clock move starts a run */
	bool at_start;		/* run once as soon as the loop turns */
};

runner *runner_new(struct event_base *base, const struct runner_spec *spec, runner_fn fn,
    void *arg);
/* Start a run from the loop, or once more after the current one. */
void runner_kick(runner *r, unsigned why);
/* The same after ms; while one is pending, later calls only add their reasons. */
void runner_kick_after(runner *r, int64_t ms, unsigned why);
/* The run is over (from any callback of the job). */
void runner_done(runner *r);
/* No more runs; a job in a run sees runner_stopping and ends it early. */
void runner_stop(runner *r);
bool runner_stopping(const runner *r);
bool runner_running(const runner *r);
/* Neither running nor with a run kicked or waiting on a delay (the interval aside). */
bool runner_idle(const runner *r);
/* After runner_stop and once the job has nothing in flight. */
void runner_free(runner *r);

#endif
