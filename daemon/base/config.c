/* config.c: the configuration table, INI parsing (inih) and env overrides. */
#include "autoconf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>
#include <libpq-fe.h>

#include "b64.h"
#include "clock.h"
#include "config.h"
#include "util.h"

enum cfg_type {
	CFG_STRING,
	CFG_INT,	/* plain integer */
	CFG_SIZE,	/* bytes, optional K/M/G suffix */
	CFG_DURATION,	/* seconds, optional ms/s/m/h suffix; stored as ms */
	CFG_LOGLEVEL,
	CFG_BOOL,	/* true/false, yes/no, on/off, 1/0 */
	CFG_DURLIST,	/* comma-separated durations: struct config_durlist */
};

#define CFG_SECRET	0x1	/* masked by check-config */
#define CFG_RELOAD	0x2	/* SIGHUP applies it */
#define CFG_URL		0x4	/* a connection string: passwords masked */

struct cfg_def {
	const char *section;
	const char *key;
	enum cfg_type type;
	size_t offset;
	const char *def;
	int flags;
	int64_t min, max;	/* for numbers, in stored units */
	const char *help;
	const char *choices;	/* strings: "a|b|c", the only values allowed */
};

#define OFF(f) offsetof(struct config, f)

/* Every key, its default and its limits: the one place they live. */
static const struct cfg_def cfg_table[] = {
	{ "log", "level", CFG_LOGLEVEL, OFF(log_level), "info", CFG_RELOAD, 0, 0,
	  "error, warn, info or debug", NULL },
	{ "http", "listen", CFG_STRING, OFF(http_listen), "127.0.0.1:8080", 0, 0, 0,
	  "address:port to serve HTTP on ([::1]:8080 for IPv6)", NULL },
	{ "http", "max_body", CFG_SIZE, OFF(http_max_body), "1M", 0, 1024, INT64_C(1) << 30,
	  "largest request body accepted; larger gets 413", NULL },
	{ "http", "max_headers", CFG_SIZE, OFF(http_max_headers), "16K", 0, 1024, 1 << 20,
	  "largest request header block accepted", NULL },
	{ "http", "timeout", CFG_DURATION, OFF(http_timeout_ms), "30s", 0, 100, 3600000,
	  "read/write timeout of an HTTP connection", NULL },
	{ "http", "public_url", CFG_STRING, OFF(http_public_url), "http://127.0.0.1:8080", 0, 0, 0,
	  "the address pupils' answer links start with (as seen from their phones)", NULL },
	{ "dashboard", "dir", CFG_STRING, OFF(dashboard_dir), "", 0, 0, 0,
	  "directory of the teachers' dashboard files, served under /dashboard/"
	  " (empty: the files built into recalld)", NULL },
	{ "dashboard", "session_ttl", CFG_DURATION, OFF(dashboard_session_ttl_ms), "12h", 0, 60000, INT64_C(30) * 86400000,
	  "how long a dashboard sign-in lasts (real time, even with a manual clock)", NULL },
	{ "dashboard", "link_ttl", CFG_DURATION, OFF(dashboard_link_ttl_ms), "24h", 0, 1000, INT64_C(30) * 86400000,
	  "how long a `recalld token link` sign-in link stays valid by default", NULL },
	{ "database", "url", CFG_STRING, OFF(database_url), "dbname=recalld", CFG_URL, 0, 0,
	  "libpq connection string or postgresql:// URI", NULL },
	{ "database", "read_url", CFG_STRING, OFF(database_read_url), "", CFG_URL, 0, 0,
	  "a hot standby for teachers' reads (flags, mastery grid, progress); empty: none", NULL },
	{ "database", "max_read_lag", CFG_DURATION, OFF(database_max_read_lag_ms), "5s", 0, 0, 3600000,
	  "reads go back to the primary while the standby is further behind than this", NULL },
	{ "database", "pool_size", CFG_INT, OFF(database_pool_size), "4", 0, 1, 256,
	  "connections in the pool", NULL },
	{ "database", "connect_timeout", CFG_DURATION, OFF(database_connect_timeout_ms), "5s", 0, 100, 600000,
	  "give up on one connection attempt after this long", NULL },
	{ "database", "startup_wait", CFG_DURATION, OFF(database_startup_wait_ms), "60s", 0, 0, 3600000,
	  "how long serve waits for the database at start-up", NULL },
	{ "database", "migrations", CFG_STRING, OFF(database_migrations), "", 0, 0, 0,
	  "directory of the NNNN_name.sql migration files (empty: those built into recalld)", NULL },
	{ "serve", "shutdown_timeout", CFG_DURATION, OFF(serve_shutdown_timeout_ms), "10s", 0, 0, 600000,
	  "on SIGTERM, exit after this long even if work is in flight", NULL },
	{ "clock", "mode", CFG_STRING, OFF(clock_mode), "system", 0, 0, 0,
	  "system, or manual: time moves only by POST /v1/admin/clock (tests, demos)", "system|manual" },
	{ "clock", "start", CFG_STRING, OFF(clock_start), "", 0, 0, 0,
	  "manual mode: the time to start at, ISO 8601 (empty: the real time)", NULL },
	{ "scheduler", "interval", CFG_DURATION, OFF(scheduler_interval_ms), "60s", 0, 100, 3600000,
	  "how often the daily batch job looks for schools whose prompt time has come", NULL },
	{ "scheduler", "chunk", CFG_INT, OFF(scheduler_chunk), "2000", 0, 1, 100000,
	  "pupils whose batches are built in one transaction", NULL },
	{ "jobs", "lease_timeout", CFG_DURATION, OFF(jobs_lease_timeout_ms), "60s", 0, 1000, 3600000,
	  "a job's claim on a school lapses this long after its daemon stops renewing it"
	  " (real time): then another daemon takes the school over", NULL },
	{ "privacy", "leaver_erase_after", CFG_DURATION, OFF(privacy_leaver_erase_after_ms), "90d", 0,
	  86400000, INT64_C(3650) * 86400000,
	  "a pupil who left the school (made inactive) is erased this long after", NULL },
	{ "privacy", "review_retention", CFG_DURATION, OFF(privacy_review_retention_ms), "1095d", 0,
	  86400000, INT64_C(3650) * 86400000,
	  "pupils' answers are kept this long (three school years); memory states stay", NULL },
	{ "privacy", "delivery_retention", CFG_DURATION, OFF(privacy_delivery_retention_ms), "30d", 0,
	  86400000, INT64_C(3650) * 86400000,
	  "what a delivered or dead webhook delivery carried is emptied this long after", NULL },
	{ "privacy", "audit_retention", CFG_DURATION, OFF(privacy_audit_retention_ms), "365d", 0,
	  86400000, INT64_C(3650) * 86400000,
	  "access-audit entries are kept this long", NULL },
	{ "fsrs", "min_reviews_to_fit", CFG_INT, OFF(fsrs_min_reviews_to_fit), "2000", 0, 100, 100000000,
	  "a school is fitted (FSRS-6 weights from its own answers) once it has this many answers", NULL },
	{ "fsrs", "fit_interval", CFG_DURATION, OFF(fsrs_fit_interval_ms), "7d", 0, 60000,
	  INT64_C(365) * 86400000,
	  "how often each school's weights are fitted again", NULL },
	{ "flags", "interval", CFG_DURATION, OFF(flags_interval_ms), "1h", 0, 100, 86400000,
	  "how often the flag job refreshes mastery levels, forgotten-topic flags and digests", NULL },
	{ "flags", "debounce", CFG_DURATION, OFF(flags_debounce_ms), "30s", 0, 1, 3600000,
	  "after answers, the flag job visits the schools that had them this much later", NULL },
	{ "responses", "late_limit", CFG_DURATION, OFF(responses_late_limit_ms), "6h", 0, 0, 7 * 86400000LL,
	  "answers are still taken this long after a prompt expired (the end of its day); later: 410", NULL },
	{ "responses", "group_window", CFG_DURATION, OFF(responses_group_window_ms), "2ms", 0, 1, 1000,
	  "answers arriving within this window share one transaction (group commit)", NULL },
	{ "secrets", "key_file", CFG_STRING, OFF(secrets_key_file), "", 0, 0, 0,
	  "the file of keys that seal webhook secrets in the database (recalld keys init);"
	  " empty: they are stored in clear", NULL },
	{ "responses", "link_key", CFG_STRING, OFF(responses_link_key), "", CFG_SECRET, 0, 0,
	  "base64 of 32-64 random bytes signing answer links (openssl rand -base64 32);"
	  " empty: a new key at each start, so links die with a restart", NULL },
	{ "responses", "link_key_previous", CFG_STRING, OFF(responses_link_key_previous), "", CFG_SECRET, 0, 0,
	  "the key before the current one: its links keep working while they last", NULL },
	{ "lti", "allow_private", CFG_BOOL, OFF(lti_allow_private), "false", 0, 0, 0,
	  "allow an LMS (its JWKS, token and service URLs) on loopback and private addresses:"
	  " an LMS on the school's own network", NULL },
	{ "lti", "create_people", CFG_BOOL, OFF(lti_create_people), "false", 0, 0, 0,
	  "an LMS launch by someone the roster does not know creates them (false: the launch"
	  " is refused with a page saying what the school's admin must do)", NULL },
	{ "lti", "key_overlap", CFG_DURATION, OFF(lti_key_overlap_ms), "7d", 0, 0, INT64_C(365) * 86400000,
	  "after `recalld lti rotate-key`, the old key stays published at /lti/jwks this long", NULL },
	{ "lti", "score_interval", CFG_DURATION, OFF(lti_score_interval_ms), "1h", 0, 0, INT64_C(7) * 86400000,
	  "at most one score a pupil's unit goes to an LMS gradebook in this long (the latest wins)", NULL },
	{ "lti", "frame_ancestors", CFG_STRING, OFF(lti_frame_ancestors), "", 0, 0, 0,
	  "the LMS origins (space-separated, e.g. https://moodle.school.example) whose pages may"
	  " show recalld's pupil page and dashboard in a frame; empty: never framed", NULL },
	{ "webhooks", "poll_interval", CFG_DURATION, OFF(webhooks_poll_interval_ms), "5s", CFG_RELOAD, 10, 3600000,
	  "the backstop: probe the next 256 schools for due deliveries this often (NOTIFY wakes the sender sooner)", NULL },
	{ "webhooks", "connect_timeout", CFG_DURATION, OFF(webhooks_connect_timeout_ms), "5s", CFG_RELOAD, 100, 600000,
	  "give up connecting to a webhook receiver after this long", NULL },
	{ "webhooks", "timeout", CFG_DURATION, OFF(webhooks_timeout_ms), "15s", CFG_RELOAD, 100, 600000,
	  "give up on one delivery attempt after this long in total", NULL },
	{ "webhooks", "max_in_flight_per_endpoint", CFG_INT, OFF(webhooks_max_in_flight_per_endpoint), "4", CFG_RELOAD, 1, 1000,
	  "concurrent deliveries to one endpoint", NULL },
	{ "webhooks", "max_in_flight", CFG_INT, OFF(webhooks_max_in_flight), "64", CFG_RELOAD, 1, 10000,
	  "concurrent deliveries in total", NULL },
	{ "webhooks", "disable_after", CFG_DURATION, OFF(webhooks_disable_after_ms), "120h", CFG_RELOAD, 1000, INT64_C(365) * 86400000,
	  "disable an endpoint that has failed for this long with no success", NULL },
	{ "webhooks", "allow_private", CFG_BOOL, OFF(webhooks_allow_private), "false", CFG_RELOAD, 0, 0,
	  "allow webhook targets on loopback and private addresses (SSRF guard off)", NULL },
	{ "webhooks", "lease", CFG_DURATION, OFF(webhooks_lease_ms), "60s", CFG_RELOAD, 1000, 3600000,
	  "how long a claimed delivery stays reserved (real time); must exceed the timeout", NULL },
	{ "webhooks", "retry_schedule", CFG_DURLIST, OFF(webhooks_retry_schedule), "5s,5m,30m,2h,5h,10h,14h,20h,24h",
	  CFG_RELOAD, 0, INT64_C(7) * 86400000,
	  "delays before each retry (+-20% jitter); after the last the delivery is dead", NULL },
};

static void *
field(struct config *c, const struct cfg_def *d)
{
	return (char *)c + d->offset;
}

static const void *
cfield(const struct config *c, const struct cfg_def *d)
{
	return (const char *)c + d->offset;
}

static bool
parse_number(const char *s, enum cfg_type type, int64_t *out)
{
	char *end;
	double v, mult = 1;

	while (isspace((unsigned char)*s))
		s++;
	if (*s == '\0')
		return false;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || !isfinite(v))
		return false;
	while (isspace((unsigned char)*end))
		end++;
	if (type == CFG_INT) {
		if (*end != '\0' || v != floor(v))
			return false;
	} else if (type == CFG_SIZE) {
		if (*end == '\0' || strcasecmp(end, "b") == 0)
			mult = 1;
		else if (strcasecmp(end, "k") == 0 || strcasecmp(end, "kb") == 0)
			mult = 1024;
		else if (strcasecmp(end, "m") == 0 || strcasecmp(end, "mb") == 0)
			mult = 1024 * 1024;
		else if (strcasecmp(end, "g") == 0 || strcasecmp(end, "gb") == 0)
			mult = 1024.0 * 1024 * 1024;
		else
			return false;
	} else {	/* CFG_DURATION: seconds by default */
		if (*end == '\0' || strcmp(end, "s") == 0)
			mult = 1000;
		else if (strcmp(end, "ms") == 0)
			mult = 1;
		else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
			mult = 60000;
		else if (strcmp(end, "h") == 0)
			mult = 3600000;
		else if (strcmp(end, "d") == 0)
			mult = 86400000;
		else
			return false;
	}
	v *= mult;
	if (v < -9e18 || v > 9e18)
		return false;
	*out = (int64_t)llround(v);
	return true;
}

bool
config_parse_duration(const char *s, int64_t *ms)
{
	return parse_number(s, CFG_DURATION, ms) && *ms >= 0;
}

/* 1 to CONFIG_DURLIST_MAX comma-separated durations, each 0..max ms. */
static bool
durlist_parse(const char *s, int64_t max, struct config_durlist *out)
{
	const char *p = s;
	char item[64];
	int n = 0;

	for (;;) {
		size_t len = strcspn(p, ",");

		if (n == CONFIG_DURLIST_MAX || len >= sizeof item)
			return false;
		memcpy(item, p, len);
		item[len] = '\0';
		if (!config_parse_duration(item, &out->ms[n]) || out->ms[n] > max)
			return false;
		n++;
		if (p[len] == '\0')
			break;
		p += len + 1;
	}
	out->n = n;
	return true;
}

/* Set one key from text; on error explain in err. */
static bool
cfg_set(struct config *c, const struct cfg_def *d, const char *value,
    char *err, size_t errlen)
{
	int64_t n;

	switch (d->type) {
	case CFG_DURLIST: {
		struct config_durlist *dl = field(c, d), parsed = { 0 };

		if (!durlist_parse(value, d->max, &parsed))
			return util_err(err, errlen, "bad value '%s' (expected durations like"
			    " 5s,5m,2h,1d, each at most %lldd, 1 to %d of them)", value,
			    (long long)(d->max / 86400000), CONFIG_DURLIST_MAX);
		parsed.text = xstrdup(value);
		free(dl->text);
		*dl = parsed;
		return true;
	}
	case CFG_STRING: {
		char **sp = field(c, d);
		if (d->choices != NULL) {
			size_t vl = strlen(value);
			const char *at = strstr(d->choices, value);
			bool ok = vl > 0 && at != NULL && (at == d->choices || at[-1] == '|') &&
			    (at[vl] == '\0' || at[vl] == '|');
			if (!ok)
				return util_err(err, errlen, "bad value '%s' (expected one of %s)",
				    value, d->choices);
		}
		free(*sp);
		*sp = xstrdup(value);
		return true;
	}
	case CFG_BOOL:
		if (strcasecmp(value, "true") == 0 || strcasecmp(value, "yes") == 0 ||
		    strcasecmp(value, "on") == 0 || strcmp(value, "1") == 0)
			*(bool *)field(c, d) = true;
		else if (strcasecmp(value, "false") == 0 || strcasecmp(value, "no") == 0 ||
		    strcasecmp(value, "off") == 0 || strcmp(value, "0") == 0)
			*(bool *)field(c, d) = false;
		else
			return util_err(err, errlen, "bad value '%s' (expected true or false)", value);
		return true;
	case CFG_LOGLEVEL:
		if (!log_level_parse(value, field(c, d)))
			return util_err(err, errlen,
			    "bad value '%s' (expected error, warn, info or debug)", value);
		return true;
	case CFG_INT:
	case CFG_SIZE:
	case CFG_DURATION:
		if (!parse_number(value, d->type, &n))
			return util_err(err, errlen, "bad value '%s' (expected %s)", value,
			    d->type == CFG_INT ? "an integer" :
			    d->type == CFG_SIZE ? "a size like 1048576, 512K or 1M" :
			    "a duration like 10, 10s, 500ms, 5m or 1h");
		if (n < d->min || n > d->max)
			return util_err(err, errlen, "value '%s' out of range", value);
		*(int64_t *)field(c, d) = n;
		return true;
	}
	return util_err(err, errlen, "internal: bad type");
}

static const struct cfg_def *
cfg_find(const char *section, const char *key)
{
	for (size_t i = 0; i < nitems(cfg_table); i++)
		if (strcasecmp(cfg_table[i].section, section) == 0 &&
		    strcasecmp(cfg_table[i].key, key) == 0)
			return &cfg_table[i];
	return NULL;
}

static bool
cfg_section_known(const char *section)
{
	for (size_t i = 0; i < nitems(cfg_table); i++)
		if (strcasecmp(cfg_table[i].section, section) == 0)
			return true;
	return false;
}

struct config *
config_new(void)
{
	struct config *c = xcalloc(1, sizeof *c);

	for (size_t i = 0; i < nitems(cfg_table); i++) {
		char err[128];
		if (!cfg_set(c, &cfg_table[i], cfg_table[i].def, err, sizeof err))
			fatalx("config", "bad built-in default", "key=%s.%s err=\"%s\"",
			    cfg_table[i].section, cfg_table[i].key, err);
	}
	return c;
}

void
config_free(struct config *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < nitems(cfg_table); i++) {
		if (cfg_table[i].type == CFG_STRING)
			free(*(char **)field(c, &cfg_table[i]));
		else if (cfg_table[i].type == CFG_DURLIST)
			free(((struct config_durlist *)field(c, &cfg_table[i]))->text);
	}
	free(c);
}

struct ini_ctx {
	struct config *c;
	char msg[256];	/* the first error only */
	bool failed;
	bool seen[nitems(cfg_table)];	/* set by the file: a second time is an error */
};

static int
ini_cb(void *user, const char *section, const char *key, const char *value)
{
	struct ini_ctx *ctx = user;
	const struct cfg_def *d;
	char why[160];

	if (ctx->failed)
		return 0;
	if (key == NULL)	/* a section header alone (INI_CALL_HANDLER_ON_NEW_SECTION) */
		return 1;
	if (!cfg_section_known(section)) {
		snprintf(ctx->msg, sizeof ctx->msg, "unknown section [%s] (key '%s')",
		    section, key);
		goto fail;
	}
	if ((d = cfg_find(section, key)) == NULL) {
		snprintf(ctx->msg, sizeof ctx->msg, "unknown key '%s' in section [%s]",
		    key, section);
		goto fail;
	}
	/*
	 * A repeated key would silently win over the first; inih also gives an
	 * indented line as a second value of the key above it.
	 */
	if (ctx->seen[d - cfg_table]) {
		snprintf(ctx->msg, sizeof ctx->msg, "[%s] %s: duplicate key (set above already,"
		    " or an indented line continues it); keep one", section, key);
		goto fail;
	}
	ctx->seen[d - cfg_table] = true;
	if (!cfg_set(ctx->c, d, value, why, sizeof why)) {
		snprintf(ctx->msg, sizeof ctx->msg, "[%s] %s: %s", section, key, why);
		goto fail;
	}
	return 1;
fail:
	ctx->failed = true;
	return 0;
}

static bool
env_apply(struct config *c, char *err, size_t errlen)
{
	extern char **environ;
	char name[128], why[160];

	for (size_t i = 0; i < nitems(cfg_table); i++) {
		const struct cfg_def *d = &cfg_table[i];
		const char *v;
		size_t n;

		n = (size_t)snprintf(name, sizeof name, "RECALLD_%s_%s", d->section, d->key);
		for (size_t j = 0; j < n && j < sizeof name; j++)
			name[j] = (char)toupper((unsigned char)name[j]);
		if ((v = getenv(name)) == NULL)
			continue;
		if (!cfg_set(c, d, v, why, sizeof why))
			return util_err(err, errlen, "environment %s: %s", name, why);
	}
	/* A misspelt variable of a known section would otherwise pass silently. */
	for (char **e = environ; *e != NULL; e++) {
		bool known = false;

		if (strncmp(*e, "RECALLD_", 8) != 0)
			continue;
		for (size_t i = 0; i < nitems(cfg_table) && !known; i++) {
			const struct cfg_def *d = &cfg_table[i];
			size_t n = (size_t)snprintf(name, sizeof name, "RECALLD_%s_%s=",
			    d->section, d->key);
			known = strncasecmp(*e, name, n) == 0;
		}
		if (known)
			continue;
		for (size_t i = 0; i < nitems(cfg_table); i++) {
			size_t n = (size_t)snprintf(name, sizeof name, "RECALLD_%s_",
			    cfg_table[i].section);
			if (strncasecmp(*e, name, n) == 0) {
				const char *eq = strchr(*e, '=');
				int len = eq ? (int)(eq - *e) : (int)strlen(*e);
				return util_err(err, errlen,
				    "environment %.*s: unknown key in section [%s]", len, *e,
				    cfg_table[i].section);
			}
		}
	}
	return true;
}

bool
config_load(struct config *c, const char *path, bool required, char *err,
    size_t errlen)
{
	struct ini_ctx ctx = { .c = c };
	FILE *fp;
	int line;

	if (path != NULL) {
		if ((fp = fopen(path, "r")) == NULL) {
			if (errno == ENOENT && !required)
				goto env;
			return util_err(err, errlen, "%s: %s", path, strerror(errno));
		}
		line = ini_parse_file(fp, ini_cb, &ctx);
		fclose(fp);
		if (line != 0) {
			if (line < 0)
				return util_err(err, errlen, "%s: cannot read", path);
			if (ctx.failed)
				return util_err(err, errlen, "%s:%d: %s", path, line, ctx.msg);
			return util_err(err, errlen,
			    "%s:%d: syntax error (expected [section] or key = value)", path, line);
		}
	}
env:
	return env_apply(c, err, errlen) && config_validate(c, err, errlen);
}

bool
config_set(struct config *c, const char *section, const char *key, const char *value,
    char *err, size_t errlen)
{
	const struct cfg_def *d = cfg_find(section, key);
	char why[160];

	if (d == NULL)
		return util_err(err, errlen, "unknown key '%s' in section [%s]", key, section);
	if (!cfg_set(c, d, value, why, sizeof why))
		return util_err(err, errlen, "[%s] %s: %s", section, key, why);
	return true;
}

/* A name or an IPv4 address; digits and dots alone must be a valid IPv4 address. */
static bool
host_ok(const char *h)
{
	struct in_addr a4;
	size_t n = strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-");

	if (h[n] != '\0')
		return false;
	if (h[strspn(h, "0123456789.")] == '\0')
		return inet_pton(AF_INET, h, &a4) == 1;
	return h[0] != '-' && h[0] != '.';
}

bool
config_parse_listen(const char *listen, char *host, size_t hostlen, int *port,
    char *err, size_t errlen)
{
	const char *colon, *p;
	struct in6_addr a6;
	size_t hl;
	long v = 0;

	if (listen[0] == '[') {
		const char *close = strchr(listen, ']');
		if (close == NULL || close[1] != ':')
			return util_err(err, errlen, "bad listen address '%s'"
			    " (expected [IPv6 address]:port)", listen);
		hl = (size_t)(close - listen - 1);
		if (hl >= hostlen)
			return util_err(err, errlen, "bad listen address '%s'", listen);
		snprintf(host, hostlen, "%.*s", (int)hl, listen + 1);
		if (inet_pton(AF_INET6, host, &a6) != 1)
			return util_err(err, errlen, "bad IPv6 address in listen address '%s'", listen);
		colon = close + 1;
	} else {
		colon = strrchr(listen, ':');
		if (colon == NULL || memchr(listen, ':', (size_t)(colon - listen)) != NULL)
			return util_err(err, errlen,
			    "bad listen address '%s' (expected host:port, [::1]:port for IPv6)",
			    listen);
		hl = (size_t)(colon - listen);
		if (hl >= hostlen)
			return util_err(err, errlen, "bad listen address '%s'", listen);
		snprintf(host, hostlen, "%.*s", (int)hl, listen);
		if (host[0] != '\0' && !host_ok(host))
			return util_err(err, errlen, "bad host in listen address '%s'", listen);
	}
	for (p = colon + 1; *p >= '0' && *p <= '9' && v <= 65535; p++)
		v = v * 10 + (*p - '0');
	if (p == colon + 1 || *p != '\0' || v > 65535)
		return util_err(err, errlen, "bad port in listen address '%s' (0 to 65535)",
		    listen);
	*port = (int)v;
	return true;
}

/* Whether libpq can parse a connection string, without ever quoting a password. */
static bool
conninfo_check(const char *key, const char *url, char *err, size_t errlen)
{
	PQconninfoOption *opts;
	char *pqerr = NULL;

	if ((opts = PQconninfoParse(url, &pqerr)) == NULL) {
		/*
		 * libpq's message may quote a piece of the string (a password's
		 * too): shown only when it names an unknown option.
		 */
		bool named = pqerr != NULL && (strncmp(pqerr, "invalid connection option", 25) == 0 ||
		    strncmp(pqerr, "invalid URI query parameter", 27) == 0);
		util_err(err, errlen, "%s: not a libpq connection string (host=db"
		    " dbname=recalld) or postgresql:// URI%s%.*s", key, named ? ": " : "",
		    named ? (int)strcspn(pqerr, "\n") : 0, named ? pqerr : "");
		PQfreemem(pqerr);
		return false;
	}
	PQconninfoFree(opts);
	return true;
}

/*
 * Space-separated origins (http[s]://host[:port]), as they go into a
 * Content-Security-Policy: nothing that could end or extend the policy.
 */
static bool
origins_check(const char *list, char *why, size_t len)
{
	const char *p = list;

	while (*p != '\0') {
		size_t n = strcspn(p, " "), i, start;

		if (n > 0) {
			start = strncmp(p, "https://", 8) == 0 ? 8 : strncmp(p, "http://", 7) == 0 ? 7 : 0;
			if (start == 0 || n == start)
				return util_err(why, len, "'%.*s' is not an origin like"
				    " https://lms.school.example", (int)n, p);
			for (i = start; i < n; i++)
				if (!isalnum((unsigned char)p[i]) && strchr(".-:[]", p[i]) == NULL)
					return util_err(why, len, "'%.*s' is not an origin (scheme, host"
					    " and port only)", (int)n, p);
		}
		p += n;
		while (*p == ' ')
			p++;
	}
	return true;
}

bool
config_validate(const struct config *c, char *err, size_t errlen)
{
	char host[256], why[256];
	int port;
	int64_t us;

	if (!config_parse_listen(c->http_listen, host, sizeof host, &port, why, sizeof why))
		return util_err(err, errlen, "http.listen: %s", why);
	if (c->clock_start[0] != '\0' && !clock_parse_iso(c->clock_start, &us))
		return util_err(err, errlen, "clock.start: '%s' is not an ISO 8601 time"
		    " (like 2026-09-07T06:00:00Z) or Unix seconds", c->clock_start);
	/* Empty is fine: serve makes a random current key, and previous is optional. */
	if (c->responses_link_key[0] != '\0' && !b64_key_parse(c->responses_link_key,
	    "the current answer link key", B64_LINK_KEY_MIN, B64_LINK_KEY_MAX, NULL, NULL, why,
	    sizeof why))
		return util_err(err, errlen, "responses.link_key: %s", why);
	if (c->responses_link_key_previous[0] != '\0' &&
	    !b64_key_parse(c->responses_link_key_previous, "the previous answer link key",
	    B64_LINK_KEY_MIN, B64_LINK_KEY_MAX, NULL, NULL, why, sizeof why))
		return util_err(err, errlen, "responses.link_key_previous: %s", why);
	if (!conninfo_check("database.url", c->database_url, err, errlen))
		return false;
	if (!origins_check(c->lti_frame_ancestors, why, sizeof why))
		return util_err(err, errlen, "lti.frame_ancestors: %s", why);
	return c->database_read_url[0] == '\0' ||
	    conninfo_check("database.read_url", c->database_read_url, err, errlen);
}

bool
config_public_link(const struct config *c, const char *path, const char *token, char *out,
    size_t outlen)
{
	size_t n = strlen(c->http_public_url);
	int w;

	while (n > 0 && c->http_public_url[n - 1] == '/')
		n--;
	w = snprintf(out, outlen, "%.*s%s%s", (int)n, c->http_public_url, path, token);
	return w > 0 && (size_t)w < outlen;
}

char *
config_mask_url(const char *url)
{
	size_t n = strlen(url) + 5;	/* masking only grows a password shorter than 4 */
	char *out;

	for (const char *p = url; (p = strstr(p, "password")) != NULL; p++)
		n += 4;
	n += 4;				/* a URI's userinfo */
	out = xmalloc(n);
	util_mask_passwords(url, out, n);
	return out;
}

static void
fmt_value(const struct config *c, const struct cfg_def *d, char *buf, size_t len)
{
	int64_t n;

	switch (d->type) {
	case CFG_DURLIST:
		snprintf(buf, len, "%s", ((const struct config_durlist *)cfield(c, d))->text);
		return;
	case CFG_STRING: {
		const char *s = *(char *const *)cfield(c, d);
		if (d->flags & CFG_SECRET) {
			snprintf(buf, len, "%s", *s ? "********" : "");
		} else if (d->flags & CFG_URL) {
			char *m = config_mask_url(s);
			snprintf(buf, len, "%s", m);
			free(m);
		} else {
			snprintf(buf, len, "%s", s);
		}
		return;
	}
	case CFG_LOGLEVEL:
		snprintf(buf, len, "%s", log_level_name(*(const enum log_level *)cfield(c, d)));
		return;
	case CFG_BOOL:
		snprintf(buf, len, "%s", *(const bool *)cfield(c, d) ? "true" : "false");
		return;
	case CFG_INT:
	case CFG_SIZE:
		snprintf(buf, len, "%lld", (long long)*(const int64_t *)cfield(c, d));
		return;
	case CFG_DURATION:
		n = *(const int64_t *)cfield(c, d);
		if (n % 1000 == 0)
			snprintf(buf, len, "%llds", (long long)(n / 1000));
		else
			snprintf(buf, len, "%lldms", (long long)n);
		return;
	}
}

void
config_print(const struct config *c, FILE *fp)
{
	const char *section = NULL;
	char buf[1024];

	for (size_t i = 0; i < nitems(cfg_table); i++) {
		const struct cfg_def *d = &cfg_table[i];

		if (section == NULL || strcmp(section, d->section) != 0) {
			fprintf(fp, "%s[%s]\n", section ? "\n" : "", d->section);
			section = d->section;
		}
		fmt_value(c, d, buf, sizeof buf);
		fprintf(fp, "# %s%s\n%s = %s\n", d->help,
		    (d->flags & CFG_RELOAD) ? " (SIGHUP reloads)" : "", d->key, buf);
	}
}

void
config_reload(struct config *cur, const struct config *next)
{
	char a[1024], b[1024];

	for (size_t i = 0; i < nitems(cfg_table); i++) {
		const struct cfg_def *d = &cfg_table[i];

		fmt_value(cur, d, a, sizeof a);
		fmt_value(next, d, b, sizeof b);
		if (strcmp(a, b) == 0)
			continue;
		if (!(d->flags & CFG_RELOAD)) {
			log_warnx("config", "change needs a restart", "key=%s.%s",
			    d->section, d->key);
			continue;
		}
		switch (d->type) {
		case CFG_STRING: {
			char **sp = field(cur, d);
			free(*sp);
			*sp = xstrdup(*(char *const *)cfield(next, d));
			break;
		}
		case CFG_DURLIST: {
			struct config_durlist *dl = field(cur, d);
			free(dl->text);
			*dl = *(const struct config_durlist *)cfield(next, d);
			dl->text = xstrdup(dl->text);
			break;
		}
		case CFG_LOGLEVEL:
			*(enum log_level *)field(cur, d) = *(const enum log_level *)cfield(next, d);
			break;
		case CFG_BOOL:
			*(bool *)field(cur, d) = *(const bool *)cfield(next, d);
			break;
		default:
			*(int64_t *)field(cur, d) = *(const int64_t *)cfield(next, d);
			break;
		}
		log_info("config", "reloaded key", "key=%s.%s value=\"%s\"", d->section,
		    d->key, (d->flags & CFG_SECRET) ? "********" : b);
	}
}

/* Text for roff: backslashes and hyphens escaped, no control character first. */
static void
man_text(FILE *fp, const char *s)
{
	if (*s == '.' || *s == '\'')
		fputs("\\&", fp);
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			fputs("\\e", fp);
		else if (*s == '-')
			fputs("\\-", fp);
		else
			fputc(*s, fp);
	}
}

/* A limit in the unit it is written in: 1048576 -> 1M, 3600000 ms -> 1h. */
static void
fmt_limit(enum cfg_type type, int64_t n, char *buf, size_t len)
{
	static const struct {
		int64_t div;
		const char *unit;
	} dur[] = { { 86400000, "d" }, { 3600000, "h" }, { 60000, "m" }, { 1000, "s" } },
	  size[] = { { INT64_C(1) << 30, "G" }, { 1 << 20, "M" }, { 1 << 10, "K" } };

	if (type == CFG_DURATION || type == CFG_DURLIST) {
		for (size_t i = 0; i < nitems(dur); i++)
			if (n != 0 && n % dur[i].div == 0) {
				snprintf(buf, len, "%lld%s", (long long)(n / dur[i].div), dur[i].unit);
				return;
			}
		snprintf(buf, len, "%lldms", (long long)n);
		return;
	}
	if (type == CFG_SIZE)
		for (size_t i = 0; i < nitems(size); i++)
			if (n != 0 && n % size[i].div == 0) {
				snprintf(buf, len, "%lld%s", (long long)(n / size[i].div), size[i].unit);
				return;
			}
	snprintf(buf, len, "%lld", (long long)n);
}

void
config_print_man(FILE *fp)
{
	static const char *const type_names[] = {
		[CFG_STRING] = "text", [CFG_INT] = "integer", [CFG_SIZE] = "size",
		[CFG_DURATION] = "duration", [CFG_LOGLEVEL] = "log level",
		[CFG_BOOL] = "boolean", [CFG_DURLIST] = "list of durations",
	};
	const char *section = NULL;
	char name[128], lo[32], hi[32];

	for (size_t i = 0; i < nitems(cfg_table); i++) {
		const struct cfg_def *d = &cfg_table[i];
		size_t n;

		if (section == NULL || strcmp(section, d->section) != 0) {
			fprintf(fp, ".SS [%s]\n", d->section);
			section = d->section;
		}
		fprintf(fp, ".TP\n.BI \"%s = \" \"", d->key);
		man_text(fp, d->def);
		/* .br: a tag shorter than the indent would share its line with the text. */
		fprintf(fp, "\"\n.br\n");
		man_text(fp, d->help);
		fprintf(fp, ".\n.br\nDefault: ");
		if (d->def[0] != '\0') {
			fputs("\\fB", fp);
			man_text(fp, d->def);
			fputs("\\fR", fp);
		} else {
			fputs("empty", fp);
		}
		fprintf(fp, "; %s", type_names[d->type]);
		if (d->type == CFG_INT || d->type == CFG_SIZE || d->type == CFG_DURATION) {
			fmt_limit(d->type, d->min, lo, sizeof lo);
			fmt_limit(d->type, d->max, hi, sizeof hi);
			fprintf(fp, ", %s to %s", lo, hi);
		} else if (d->type == CFG_DURLIST) {
			fmt_limit(d->type, d->max, hi, sizeof hi);
			fprintf(fp, ", 1 to %d of them, each at most %s", CONFIG_DURLIST_MAX, hi);
		} else if (d->choices != NULL) {
			fputs(": ", fp);
			man_text(fp, d->choices);
		}
		fprintf(fp, "%s.\n", (d->flags & CFG_SECRET) ? "; a secret, masked by check\\-config" : "");
		n = (size_t)snprintf(name, sizeof name, "RECALLD_%s_%s", d->section, d->key);
		for (size_t j = 0; j < n && j < sizeof name; j++)
			name[j] = (char)toupper((unsigned char)name[j]);
		fputs(".br\n", fp);
		fputs((d->flags & CFG_RELOAD) ? "SIGHUP reloads it" :
		    "A change needs a restart (SIGHUP leaves it as it was)", fp);
		fputs("; environment: \\fB", fp);
		man_text(fp, name);
		fputs("\\fR.\n", fp);
	}
}
