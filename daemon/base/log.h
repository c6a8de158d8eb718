/*
 * log.h: one line per event on stderr, as key=value fields:
 *   ts=2026-11-23T01:02:03.456Z level=info mod=http msg="listening" addr=127.0.0.1:8080
 * Under systemd (JOURNAL_STREAM set) the line starts with a syslog priority
 * (<6>) and the timestamp is left to the journal. Callers never pass
 * secrets (tokens, passwords, connection strings) as fields.
 */
#ifndef RECALLD_LOG_H
#define RECALLD_LOG_H

#include <stdbool.h>

enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

void log_init(void);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
bool log_level_parse(const char *s, enum log_level *out);
const char *log_level_name(enum log_level level);

/*
 * mod: the module or object prefix; msg: a fixed message; fields: printf
 * format for further key=value pairs (may be NULL or "").
 */
void log_msg(enum log_level level, const char *mod, const char *msg,
    const char *fields, ...) __attribute__((format(printf, 4, 5)));

#define log_debug(mod, msg, ...) log_msg(LOG_LEVEL_DEBUG, mod, msg, __VA_ARGS__)
#define log_info(mod, msg, ...) log_msg(LOG_LEVEL_INFO, mod, msg, __VA_ARGS__)
#define log_warnx(mod, msg, ...) log_msg(LOG_LEVEL_WARN, mod, msg, __VA_ARGS__)
#define log_errorx(mod, msg, ...) log_msg(LOG_LEVEL_ERROR, mod, msg, __VA_ARGS__)

/* The errno-aware twin: appends err="strerror(errno)". */
void log_warn(const char *mod, const char *msg, const char *fields, ...)
    __attribute__((format(printf, 3, 4)));

/* Start-up failures and broken invariants only; never for a bad request. */
void fatalx(const char *mod, const char *msg, const char *fields, ...)
    __attribute__((format(printf, 3, 4), noreturn));

#endif
