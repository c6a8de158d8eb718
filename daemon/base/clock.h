/*
 * clock.h: the one clock of the daemon. Every "now" comes from here and
 * reaches SQL as a parameter, never as now(). In manual mode (tests, the
 * demo) the time only moves when it is set, and whoever subscribed runs
 * at once, as if the time had passed: 60 school days run in seconds.
 */
#ifndef RECALLD_CLOCK_H
#define RECALLD_CLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Microseconds since the Unix epoch. */
int64_t clock_now_us(void);
/*
 * The real time even in manual mode: for security timeouts (sign-in links,
 * dashboard sessions) that live in the real world, not the school's.
 */
int64_t clock_wall_us(void);
/* ISO 8601 UTC with microseconds, e.g. 2026-09-07T06:00:00.000000Z. */
void clock_format_iso(int64_t us, char *buf, size_t len);
/* clock_format_iso(clock_now_us()) */
void clock_now_iso(char *buf, size_t len);
/*
 * Parse ISO 8601 ("2026-09-07T06:00:00Z", fractional seconds, "+01:00")
 * or Unix seconds into microseconds.
 */
bool clock_parse_iso(const char *s, int64_t *us) __attribute__((warn_unused_result));

/* Switch to manual time starting at start_us (the process's own clock). */
void clock_set_manual(int64_t start_us);
bool clock_is_manual(void);
/* Manual mode only: set the time (it may not go backwards). */
bool clock_set(int64_t us) __attribute__((warn_unused_result));

/* Called after the manual clock moved; at most 8 subscribers. */
typedef void (*clock_changed_cb)(void *arg);
void clock_subscribe(clock_changed_cb cb, void *arg);
void clock_unsubscribe(clock_changed_cb cb, void *arg);
void clock_unsubscribe_all(void);

#endif
