/*
 * simulate_cmd.c: `recalld simulate`: sched/sim.h for desired retentions
 * 0.75 to 0.97, with a school's weights, batch rules and unit sizes (or
 * the defaults), as a table or JSON (what GET /v1/school/fsrs/simulate
 * runs in a child process).
 */
#include "autoconf.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "cli.h"
#include "sim.h"
#include "simulate_cmd.h"

static const double retentions[] = {
	0.75, 0.80, 0.85, 0.88, 0.90, 0.92, 0.94, 0.95, 0.97,
};

static const char sim_usage[] =
"usage: recalld [-c FILE] simulate [--school ID] [--retention R] [--pupils N]\n"
"                                  [--units N] [--questions-per-unit N]\n"
"                                  [--days N] [--first-recall P] [--json]\n"
"\n"
"Runs the FSRS-6 memory model forward for a class over a term, with the\n"
"school's weights and batch rules (max and new prompts a day, the delay\n"
"before a first retrieval), and prints for each desired retention from 0.75\n"
"to 0.97 (or only --retention R) the prompts a pupil gets a school day and\n"
"the share of the term's taught questions they are expected to recall at\n"
"its end. Without --school: FSRS-6's defaults and recalld's default rules.\n"
"\n"
"  --units, --questions-per-unit  the term's teaching (default: the\n"
"                 school's average unit sizes, else 6 units of 10)\n"
"  --pupils N     simulated pupils (30)     --days N  school days (65)\n"
"  --first-recall P  share right at a question's first retrieval (0.7)\n"
"\n"
"Exit status: 0 done, 1 database, 2 bad usage or no such school.\n";

static bool
num_arg(const char *s, double lo, double hi, double *out)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end != '\0' || !(v >= lo && v <= hi))
		return false;
	*out = v;
	return true;
}

/* The school's rules, weights and typical unit sizes into o; 0, 1 or 2. */
static int
school_opts(const struct config *cfg, const char *school, sim_opts *o, double *w,
    double *current, bool units_given, bool size_given)
{
	static const char sql[] =
	    "SELECT s.max_per_day, s.new_per_day, s.min_per_day, s.first_retrieval_delay_days,"
	    " s.max_interval_days, s.desired_retention,"
	    " coalesce((SELECT array_to_string(f.weights, ',') FROM school_fsrs f"
	    "   WHERE f.school_id = s.school_id), ''),"
	    " (SELECT round(avg(n)) FROM (SELECT count(*) AS n FROM question q"
	    "   WHERE q.school_id = s.school_id AND q.active GROUP BY q.unit_id) x),"
	    " (SELECT round(avg(n)) FROM (SELECT count(*) AS n FROM unit u"
	    "   WHERE u.school_id = s.school_id AND u.active GROUP BY u.course_id) y)"
	    " FROM school s WHERE s.school_id = $1";
	const char *p[1] = { school };
	char err[200];
	PGconn *pg = cli_connect_db(cfg);
	PGresult *res;
	int rc = 1;

	if (pg == NULL)
		return 1;
	if ((res = cli_exec(pg, sql, 1, p, "reading the school")) == NULL)
		goto out;
	if (PQntuples(res) != 1) {
		fprintf(stderr, "recalld simulate: no school %s\n", school);
		rc = 2;
		goto out;
	}
	o->batch.max_per_day = (uint32_t)atoi(PQgetvalue(res, 0, 0));
	o->batch.new_per_day = (uint32_t)atoi(PQgetvalue(res, 0, 1));
	o->batch.min_per_day = (uint32_t)atoi(PQgetvalue(res, 0, 2));
	o->batch.first_retrieval_delay_days = atoi(PQgetvalue(res, 0, 3));
	o->max_interval_days = (uint32_t)atoi(PQgetvalue(res, 0, 4));
	*current = atof(PQgetvalue(res, 0, 5));
	if (PQgetvalue(res, 0, 6)[0] != '\0') {
		if (!fsrs_params_parse(PQgetvalue(res, 0, 6), w, err, sizeof err)) {
			fprintf(stderr, "recalld simulate: the school's weights: %s\n", err);
			goto out;
		}
		o->w = w;
	}
	if (!size_given && !PQgetisnull(res, 0, 7))
		o->questions_per_unit = (uint32_t)fmin(fmax(atof(PQgetvalue(res, 0, 7)), 1), 200);
	if (!units_given && !PQgetisnull(res, 0, 8))
		o->units = (uint32_t)fmin(fmax(atof(PQgetvalue(res, 0, 8)), 1), 40);
	rc = 0;
out:
	PQclear(res);
	PQfinish(pg);
	return rc;
}

static int
run(int argc, char **argv, const struct config *cfg)
{
	static const struct option opts[] = {
		{ "school", required_argument, NULL, 's' },
		{ "retention", required_argument, NULL, 'r' },
		{ "pupils", required_argument, NULL, 'p' },
		{ "units", required_argument, NULL, 'u' },
		{ "questions-per-unit", required_argument, NULL, 'q' },
		{ "days", required_argument, NULL, 'd' },
		{ "first-recall", required_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *school_arg = NULL;
	char school[24], err[256];
	double only = 0, v = 0, w[FSRS_NPARAMS], current = NAN;
	bool json = false, units_given = false, size_given = false;
	json_t *rows;
	sim_opts o;
	int ch, rc;

	sim_opts_init(&o);
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		bool good = true;

		switch (ch) {
		case 's': school_arg = optarg; break;
		case 'r': good = num_arg(optarg, 0.7, 0.99, &only); break;
		case 'p': good = num_arg(optarg, 1, 1000, &v); o.pupils = (uint32_t)v; break;
		case 'u': good = num_arg(optarg, 1, 40, &v); o.units = (uint32_t)v;
			units_given = true; break;
		case 'q': good = num_arg(optarg, 1, 200, &v); o.questions_per_unit = (uint32_t)v;
			size_given = true; break;
		case 'd': good = num_arg(optarg, 5, 400, &v); o.school_days = (uint32_t)v; break;
		case 'f': good = num_arg(optarg, 0, 1, &o.first_recall); break;
		case 'j': json = true; break;
		case 'h': fputs(sim_usage, stdout); return 0;
		default: fputs(sim_usage, stderr); return CLI_EXIT_USAGE;
		}
		if (!good) {
			fprintf(stderr, "recalld simulate: '%s' is out of range "
			    "(see --help)\n", optarg);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "recalld simulate: unexpected argument '%s'\n", argv[optind]);
		return CLI_EXIT_USAGE;
	}
	if (school_arg != NULL) {
		if (!cli_parse_id(school_arg, "--school", school, sizeof school))
			return CLI_EXIT_USAGE;
		if ((rc = school_opts(cfg, school, &o, w, &current, units_given, size_given)) != 0)
			return rc;
	}
	rows = json_array();
	if (!json)
		printf("%u pupils, a term of %u school days, %u units of %u questions;\n"
		    "at most %u prompts a day, %u of them new\n\n"
		    "retention  prompts/day  recalled at end  prompts per question\n",
		    o.pupils, o.school_days, o.units, o.questions_per_unit,
		    o.batch.max_per_day, o.batch.new_per_day);
	for (size_t i = 0; i < sizeof retentions / sizeof *retentions; i++) {
		double r = only > 0 ? only : retentions[i];
		sim_result s;

		if (!sim_run(&o, r, &s, err, sizeof err)) {
			fprintf(stderr, "recalld simulate: %s\n", err);
			json_decref(rows);
			return CLI_EXIT_USAGE;
		}
		if (json)
			json_array_append_new(rows, json_pack("{s:f, s:f, s:f, s:f, s:b}",
			    "retention", r, "prompts_per_day", s.prompts_per_day,
			    "recall_at_end", s.recall_at_end, "prompts_per_question",
			    s.reviews_per_question, "current", fabs(r - current) < 1e-9));
		else
			printf("%-9.2f  %11.2f  %15.3f  %20.1f%s\n", r, s.prompts_per_day,
			    s.recall_at_end, s.reviews_per_question,
			    fabs(r - current) < 1e-9 ? "   (the school's now)" : "");
		if (only > 0)
			break;
	}
	if (json) {
		json_t *j = json_pack("{s:i, s:i, s:i, s:i, s:i, s:i, s:f, s:s, s:o}",
		    "pupils", o.pupils, "school_days", o.school_days, "units", o.units,
		    "questions_per_unit", o.questions_per_unit, "max_per_day",
		    o.batch.max_per_day, "new_per_day", o.batch.new_per_day,
		    "first_recall", o.first_recall, "weights", o.w != NULL ? "fitted" : "default",
		    "rows", rows);
		char *s = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(6));

		puts(s != NULL ? s : "{}");
		free(s);
		json_decref(j);
	} else
		json_decref(rows);
	return 0;
}

int
simulate_cmd_run(int argc, char **argv, const char *config_path, bool config_given)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--school") == 0 || strncmp(argv[i], "--school=", 9) == 0)
			return cli_with_config(argc, argv, config_path, config_given, run);
	return run(argc, argv, NULL);
}
