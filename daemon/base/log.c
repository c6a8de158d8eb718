/* log.c: key=value lines on stderr, with syslog priorities under journald. */
#include "autoconf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "log.h"
#include "util.h"

/* The process's own logging state: one stderr, one level. */
static enum log_level log_level = LOG_LEVEL_INFO;
static bool log_journal;

static const char *const level_names[] = { "error", "warn", "info", "debug" };
static const int level_prio[] = { 3, 4, 6, 7 };

void
log_init(void)
{
	log_journal = getenv("JOURNAL_STREAM") != NULL;
}

void
log_set_level(enum log_level level)
{
	log_level = level;
}

enum log_level
log_get_level(void)
{
	return log_level;
}

bool
log_level_parse(const char *s, enum log_level *out)
{
	for (int i = 0; i < 4; i++) {
		if (strcasecmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return true;
		}
	}
	if (strcasecmp(s, "warning") == 0) {
		*out = LOG_LEVEL_WARN;
		return true;
	}
	return false;
}

const char *
log_level_name(enum log_level level)
{
	return level_names[level];
}

static void
log_vline(enum log_level level, const char *mod, const char *msg,
    const char *errstr, const char *fields, va_list ap)
{
	char line[2048], masked[2048 + 64];
	size_t off = 0;
	int n;

	if (level > log_level)
		return;
	if (log_journal) {
		n = snprintf(line, sizeof line, "<%d>", level_prio[level]);
	} else {
		struct timeval tv;
		struct tm tm;

		gettimeofday(&tv, NULL);
		gmtime_r(&tv.tv_sec, &tm);
		n = snprintf(line, sizeof line,
		    "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03dZ ",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec, (int)(tv.tv_usec / 1000));
	}
	off = n > 0 ? (size_t)n : 0;
	n = snprintf(line + off, sizeof line - off, "level=%s mod=%s msg=\"%s\"",
	    level_names[level], mod, msg);
	if (n > 0)
		off += (size_t)n;
	if (off < sizeof line && fields != NULL && *fields != '\0') {
		line[off++] = ' ';
		n = vsnprintf(line + off, sizeof line - off, fields, ap);
		if (n > 0)
			off += (size_t)n;
	}
	if (off < sizeof line && errstr != NULL) {
		n = snprintf(line + off, sizeof line - off, " err=\"%s\"", errstr);
		if (n > 0)
			off += (size_t)n;
	}
	if (off >= sizeof line - 1)
		off = sizeof line - 2;	/* truncated: keep the newline */
	/* One event, one line: fold any newline a field brought in. */
	for (size_t i = 0; i < off; i++)
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	line[off] = '\0';
	/* No password reaches a log, whatever message (libpq's too) carried it. */
	off = util_mask_passwords(line, masked, sizeof masked - 1);
	masked[off++] = '\n';
	fwrite(masked, 1, off, stderr);
	fflush(stderr);
}

void
log_msg(enum log_level level, const char *mod, const char *msg,
    const char *fields, ...)
{
	va_list ap;

	va_start(ap, fields);
	log_vline(level, mod, msg, NULL, fields, ap);
	va_end(ap);
}

void
log_warn(const char *mod, const char *msg, const char *fields, ...)
{
	va_list ap;
	int saved = errno;

	/* Single-threaded process: strerror's static buffer is safe here. */
	va_start(ap, fields);
	log_vline(LOG_LEVEL_WARN, mod, msg, strerror(saved), fields, ap);
	va_end(ap);
	errno = saved;
}

void
fatalx(const char *mod, const char *msg, const char *fields, ...)
{
	va_list ap;

	va_start(ap, fields);
	log_vline(LOG_LEVEL_ERROR, mod, msg, NULL, fields, ap);
	va_end(ap);
	exit(1);
}
