/* import_cmd.c: `recalld import`: parse, check the school, run the plan. */
#include "autoconf.h"

#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "cli.h"
#include "config.h"
#include "import_cmd.h"
#include "log.h"
#include "migrate.h"
#include "plan.h"
#include "qbank.h"
#include "roster.h"
#include "util.h"

/* A question bank is text a person wrote: far below this. */
#define QBANK_FILE_MAX	(64UL * 1024 * 1024)

enum kind { KIND_ROSTER, KIND_QUESTIONS };

struct args {
	enum kind kind;
	const char *path;
	int64_t school;
	bool dry_run;
	bool pseudonymous;	/* --pseudonymous: no names kept */
	bool json;
	bool help;
};

static void
import_usage(FILE *fp)
{
	fputs(
"usage: recalld [-c FILE] import roster DIR|FILE.zip --school ID [--dry-run] [--json]\n"
"                                     [--pseudonymous]\n"
"       recalld [-c FILE] import questions FILE.csv --school ID [--dry-run] [--json]\n"
"\n"
"Loads a school's data in one transaction: everything or nothing. Every row is\n"
"checked first; any problem rejects the whole import, the report lists every\n"
"problem with its file and line, and nothing is changed.\n"
"\n"
"  roster      a OneRoster 1.2 CSV set (manifest.csv, courses.csv, classes.csv,\n"
"              users.csv, enrollments.csv, ...), a directory or a zip archive;\n"
"              bulk files deactivate what they do not list, delta files change\n"
"              only what they list\n"
"  questions   a question bank CSV (columns course_id, course_name, unit_id,\n"
"              unit_name, unit_order, question_id, kind, prompt, choices,\n"
"              answer, explanation, active, fast_ms, slow_ms; see the README)\n"
"\n"
"options:\n"
"  --school ID  the school to load into (its school_id)\n"
"  --dry-run    check everything, also against the database, then roll back\n"
"  --pseudonymous  keep only the roster's sourcedIds: names and emails are\n"
"               dropped (the school setting pseudonymous does it for every import)\n"
"  --json       print the report as JSON on standard output\n"
"\n"
"Exit codes: 0 applied; 1 rejected (nothing changed) or a runtime failure;\n"
"2 a usage error.\n", fp);
}

static bool
usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static bool
usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "recalld import: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n\n");
	va_end(ap);
	import_usage(stderr);
	return false;
}

static bool
parse_school(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (*s < '1' || *s > '9')
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return false;
	*out = v;
	return true;
}

/* Usage errors are printed here; false means exit 2 (or 0 for help). */
static bool
parse_args(int argc, char **argv, struct args *a)
{
	memset(a, 0, sizeof *a);
	a->school = -1;
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			a->help = true;
			return false;
		}
	if (argc < 2)
		return usage_error("%s", "what to import: roster or questions");
	if (strcmp(argv[1], "roster") == 0)
		a->kind = KIND_ROSTER;
	else if (strcmp(argv[1], "questions") == 0)
		a->kind = KIND_QUESTIONS;
	else
		return usage_error("unknown import '%s': roster or questions",
		    argv[1]);
	for (int i = 2; i < argc; i++) {
		const char *s = argv[i], *v = NULL;

		if (strcmp(s, "--school") == 0) {
			if (i + 1 == argc)
				return usage_error("%s needs a school id", s);
			v = argv[++i];
		} else if (strncmp(s, "--school=", 9) == 0) {
			v = s + 9;
		} else if (strcmp(s, "--dry-run") == 0) {
			a->dry_run = true;
			continue;
		} else if (strcmp(s, "--json") == 0) {
			a->json = true;
			continue;
		} else if (strcmp(s, "--pseudonymous") == 0) {
			a->pseudonymous = true;
			continue;
		} else if (s[0] == '-' && s[1] != '\0') {
			return usage_error("unknown option '%s'", s);
		} else if (a->path != NULL) {
			return usage_error("unexpected argument '%s'", s);
		} else {
			a->path = s;
			continue;
		}
		if (!parse_school(v, &a->school))
			return usage_error("--school '%s' is not a school id", v);
	}
	if (a->path == NULL)
		return usage_error("%s", a->kind == KIND_ROSTER ?
		    "roster needs a directory or a zip file" :
		    "questions needs a CSV file");
	if (a->school < 0)
		return usage_error("%s", "--school ID is required");
	return true;
}

static bool
read_all(const char *path, unsigned long max, char **buf, size_t *len, char *err,
    size_t errlen)
{
	FILE *fp = fopen(path, "rb");
	struct stat st;

	if (fp == NULL)
		return util_err(err, errlen, "%s: %s", path, strerror(errno));
	if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode)) {
		fclose(fp);
		return util_err(err, errlen, "%s: not a regular file", path);
	}
	if ((unsigned long long)st.st_size > max) {
		fclose(fp);
		return util_err(err, errlen, "%s: larger than %lu bytes", path, max);
	}
	*buf = xmalloc((size_t)st.st_size + 1);
	*len = fread(*buf, 1, (size_t)st.st_size, fp);
	if (ferror(fp)) {
		fclose(fp);
		free(*buf);
		*buf = NULL;
		return util_err(err, errlen, "%s: read error", path);
	}
	fclose(fp);
	return true;
}

static bool
build_plan(const struct args *a, const char *now, plan **out, char *err, size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	bool ok;

	if (a->kind == KIND_ROSTER) {
		if (stat(a->path, &st) != 0)
			return util_err(err, errlen, "%s: %s", a->path, strerror(errno));
		if (S_ISDIR(st.st_mode))
			return roster_parse_dir(a->path, a->school, now, out, err, errlen);
		if (!read_all(a->path, ROSTER_FILE_MAX, &buf, &len, err, errlen))
			return false;
		ok = roster_parse_zip(buf, len, a->school, now, out, err, errlen);
		if (!ok) {
			char *why = xstrdup(err);

			util_err(err, errlen, "%s: %s", a->path, why);
			free(why);
		}
	} else {
		const char *base = strrchr(a->path, '/');

		if (!read_all(a->path, QBANK_FILE_MAX, &buf, &len, err, errlen))
			return false;
		ok = qbank_parse(buf, len, base != NULL ? base + 1 : a->path, a->school,
		    now, out, err, errlen);
	}
	free(buf);
	return ok;
}

static void
quiet_notice(void *arg, const char *message)
{
}

/* The schema must be current, as for `serve`; skipped if the files are not here. */
static bool
schema_current(PGconn *pg, const struct config *cfg, char *err, size_t errlen)
{
	enum migrate_verdict v;
	migrate_set *s;
	bool ok;

	if ((s = migrate_load(cfg->database_migrations, err, errlen)) == NULL) {
		log_debug("import", "schema check skipped", "reason=\"%s\"", err);
		return true;
	}
	ok = migrate_check(pg, s, &v, NULL, err, errlen) && v == MIGRATE_CURRENT;
	migrate_set_free(s);
	return ok;
}

/* 1: there; 0: no such school (err says so); -1: query failed. */
static int
school_exists(PGconn *pg, int64_t school, char *err, size_t errlen)
{
	char id[24];
	const char *params[1] = { id };
	PGresult *res;
	int found;

	snprintf(id, sizeof id, "%" PRId64, school);
	res = PQexecParams(pg, "SELECT name FROM school WHERE school_id = $1::bigint",
	    1, NULL, params, NULL, NULL, 0);
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		util_err(err, errlen, "reading school %s: %s", id, res != NULL ?
		    PQresultErrorMessage(res) : PQerrorMessage(pg));
		PQclear(res);
		return -1;
	}
	found = PQntuples(res) == 1;
	if (!found)
		util_err(err, errlen, "no school with id %s: create the school first", id);
	PQclear(res);
	return found;
}

static void
print_report(const plan *p, const struct args *a, FILE *human)
{
	if (a->json) {
		json_t *o = plan_report_json(p);

		json_dumpf(o, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
		json_decref(o);
	} else {
		plan_report_print(p, human);
	}
}

static int
import_main(int argc, char **argv, const struct config *cfg)
{
	const char *keys[] = { "fallback_application_name", "dbname", NULL };
	const char *vals[] = { "recalld-import", NULL, NULL };
	struct args a;
	char err[1024], now[32];
	time_t t = time(NULL);
	struct tm tm;
	plan *p = NULL;
	PGconn *pg = NULL;
	int code = 1;

	if (!parse_args(argc, argv, &a)) {
		if (a.help) {
			import_usage(stdout);
			return 0;
		}
		return CLI_EXIT_USAGE;
	}
	if (cfg == NULL) {
		/* Only --help may come without one (cli_with_config). */
		fprintf(stderr, "recalld import: no configuration\n");
		return CLI_EXIT_USAGE;
	}
	gmtime_r(&t, &tm);
	strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (!build_plan(&a, now, &p, err, sizeof err)) {
		fprintf(stderr, "recalld import: %s\n", err);
		goto done;
	}
	vals[1] = cfg->database_url;
	pg = PQconnectdbParams(keys, vals, 1);
	if (PQstatus(pg) != CONNECTION_OK) {
		fprintf(stderr, "recalld import: cannot connect to the database: %s",
		    PQerrorMessage(pg));
		goto done;
	}
	PQsetNoticeProcessor(pg, quiet_notice, NULL);
	if (!schema_current(pg, cfg, err, sizeof err)) {
		fprintf(stderr, "recalld import: %s\n", err);
		goto done;
	}
	if (school_exists(pg, a.school, err, sizeof err) != 1) {
		fprintf(stderr, "recalld import: %s\n", err);
		goto done;
	}
	if (plan_nrejected(p) > 0) {
		print_report(p, &a, stderr);
		goto done;
	}
	if (a.pseudonymous) {
		/* the names triggers (sql/0025) drop names and emails for this session */
		PGresult *res = PQexec(pg, "SET recalld.pseudonymous = 'on'");
		bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;

		PQclear(res);
		if (!ok) {
			fprintf(stderr, "recalld import: %s", PQerrorMessage(pg));
			goto done;
		}
	}
	if (a.dry_run ? !plan_check(pg, p, err, sizeof err) :
	    !plan_exec(pg, p, err, sizeof err)) {
		print_report(p, &a, stderr);
		goto done;
	}
	print_report(p, &a, stdout);
	if (a.dry_run && !a.json)
		printf("dry run: every check passed; nothing was changed\n");
	code = 0;
done:
	PQfinish(pg);
	plan_free(p);
	return code;
}

int
import_cmd_run(int argc, char **argv, const char *path, bool given)
{
	return cli_with_config(argc, argv, path, given, import_main);
}
