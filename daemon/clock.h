/*
 * clock.h: the one clock of the daemon. Every "now" comes from here and
 * reaches SQL as a parameter, never as now(), so tests can run weeks of
 * school days in seconds once the manual clock lands.
 */
#ifndef RECALLD_CLOCK_H
#define RECALLD_CLOCK_H

#include <stddef.h>
#include <stdint.h>

/* Microseconds since the Unix epoch. */
int64_t clock_now_us(void);
/* ISO 8601 UTC with microseconds, e.g. 2026-09-07T06:00:00.000000Z. */
void clock_format_iso(int64_t us, char *buf, size_t len);
/* clock_format_iso(clock_now_us()) */
void clock_now_iso(char *buf, size_t len);

#endif
