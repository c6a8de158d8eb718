/*
 * config.h: the daemon's configuration. One table in config.c holds every
 * key with its type, default and whether SIGHUP can change it; the INI file
 * (parsed by inih) overrides the defaults and RECALLD_<SECTION>_<KEY>
 * environment variables override the file.
 */
#ifndef RECALLD_CONFIG_H
#define RECALLD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "log.h"

#define CONFIG_DEFAULT_PATH SYSCONFDIR "/recalld/recalld.conf"

#define CONFIG_DURLIST_MAX 32

/* A list of durations: the text as written (check-config prints it) and parsed. */
struct config_durlist {
	char *text;
	int n;				/* 1..CONFIG_DURLIST_MAX */
	int64_t ms[CONFIG_DURLIST_MAX];
};

/* Read by every module; written only by config.c. Durations in ms. */
struct config {
	enum log_level log_level;

	char *http_listen;
	int64_t http_max_body;
	int64_t http_max_headers;
	int64_t http_timeout_ms;
	char *http_public_url;

	char *dashboard_dir;
	int64_t dashboard_session_ttl_ms;
	int64_t dashboard_link_ttl_ms;

	char *database_url;
	int64_t database_pool_size;
	int64_t database_connect_timeout_ms;
	int64_t database_startup_wait_ms;
	char *database_migrations;
	char *database_read_url;
	int64_t database_max_read_lag_ms;

	int64_t serve_shutdown_timeout_ms;

	char *clock_mode;		/* "system" or "manual" */
	char *clock_start;		/* manual: ISO start time, "" for now */
	int64_t scheduler_interval_ms;
	int64_t scheduler_chunk;
	int64_t jobs_lease_timeout_ms;
	int64_t privacy_leaver_erase_after_ms;
	int64_t privacy_audit_retention_ms;
	int64_t fsrs_min_reviews_to_fit;
	int64_t fsrs_fit_interval_ms;
	int64_t privacy_review_retention_ms;
	int64_t privacy_delivery_retention_ms;
	int64_t flags_interval_ms;
	int64_t flags_debounce_ms;

	int64_t responses_late_limit_ms;
	int64_t responses_group_window_ms;
	char *secrets_key_file;
	char *responses_link_key;
	char *responses_link_key_previous;

	bool lti_allow_private;
	bool lti_create_people;
	int64_t lti_key_overlap_ms;
	int64_t lti_score_interval_ms;
	char *lti_frame_ancestors;

	int64_t webhooks_poll_interval_ms;
	int64_t webhooks_connect_timeout_ms;
	int64_t webhooks_timeout_ms;
	int64_t webhooks_max_in_flight_per_endpoint;
	int64_t webhooks_max_in_flight;
	int64_t webhooks_disable_after_ms;
	bool webhooks_allow_private;
	int64_t webhooks_lease_ms;
	struct config_durlist webhooks_retry_schedule;	/* the delay before each retry */
};

struct config *config_new(void);
void config_free(struct config *c);

/*
 * Load path (when required is false a missing file is fine), then the
 * environment, then config_validate: a config that loads is one serve
 * accepts. On error, err says file, line and key; the config is left
 * half-loaded and must be freed.
 */
bool config_load(struct config *c, const char *path, bool required,
    char *err, size_t errlen) __attribute__((warn_unused_result));

/*
 * The checks that need more than one key's syntax: the listen address,
 * clock.start, the answer link keys and the database URL. config_load
 * calls it; err names the key.
 */
bool config_validate(const struct config *c, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Set one key from text, as a line of the file would (tools and tests). */
bool config_set(struct config *c, const char *section, const char *key,
    const char *value, char *err, size_t errlen) __attribute__((warn_unused_result));

/*
 * Every key as roff for recalld.conf(5)'s KEYS section: its default,
 * type and limits, whether SIGHUP reloads it, its environment variable.
 */
void config_print_man(FILE *fp);

/* Print the effective configuration as INI, secrets masked. */
void config_print(const struct config *c, FILE *fp);

/*
 * Copy what SIGHUP may change from next into cur, and log what changed.
 * Keys that need a restart are reported in the log and left alone.
 */
void config_reload(struct config *cur, const struct config *next);

/* "90s", "15m", "12h", "7d", "250ms" or plain seconds, into ms (>= 0). */
bool config_parse_duration(const char *s, int64_t *ms) __attribute__((warn_unused_result));

/*
 * "127.0.0.1:8080", "[::1]:8080", "localhost:8080", ":8080" (every
 * address: host is then ""): host into host, port 0..65535 into port.
 */
bool config_parse_listen(const char *listen, char *host, size_t hostlen, int *port,
    char *err, size_t errlen) __attribute__((warn_unused_result));

/*
 * A link people follow: http.public_url (trailing slashes dropped), then
 * path ("/a/", "/p/", "/dashboard/#signin=") and token, into out; false
 * when it does not fit.
 */
bool config_public_link(const struct config *c, const char *path, const char *token,
    char *out, size_t outlen);

/* A connection string safe to log or print: passwords masked. */
char *config_mask_url(const char *url);

#endif
