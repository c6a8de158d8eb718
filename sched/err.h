/*
 * err.h: the one way sched's modules write a message for their caller
 * (into err, errlen; nothing when err is NULL). Private to sched/.
 */
#ifndef RECALLD_SCHED_ERR_H
#define RECALLD_SCHED_ERR_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

static inline void sched_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline void
sched_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

#endif
