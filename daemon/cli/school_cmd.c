/* school_cmd.c: `recalld school create|list|delete` (blocking libpq). */
#include "autoconf.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <libpq-fe.h>

#include "cli.h"
#include "clock.h"
#include "school_cmd.h"

static const char school_usage[] =
    "usage: recalld [-c FILE] school create --name NAME [--tz ZONE]\n"
    "       recalld [-c FILE] school list\n"
    "       recalld [-c FILE] school delete --school ID --confirm NAME\n\n"
    "delete removes the school and every row it holds (pupils, answers,\n"
    "tokens, endpoints, deliveries); --confirm must repeat its name.\n"
    "create prints the new school's id. ZONE is an IANA time zone such as\n"
    "Europe/London (the default is UTC); the school's days and prompt times\n"
    "are counted in it.\n";

static int
school_create(int argc, char **argv, const struct config *cfg)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "tz", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *name = NULL, *tz = "UTC", *p[3];
	char now[40];
	PGconn *pg;
	PGresult *res;
	int ch, code = 1;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'n': name = optarg; break;
		case 't': tz = optarg; break;
		case 'h': fputs(school_usage, stdout); return 0;
		default: fputs(school_usage, stderr); return CLI_EXIT_USAGE;
		}
	}
	if (name == NULL || *name == '\0' || optind != argc) {
		fputs("recalld school create: --name is required\n", stderr);
		return CLI_EXIT_USAGE;
	}
	if ((pg = cli_connect_db(cfg)) == NULL)
		return 1;
	p[0] = tz;
	res = cli_exec(pg, "SELECT recalld_valid_tz($1)", 1, p, "checking the time zone");
	if (res == NULL)
		goto done;
	if (strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
		fprintf(stderr, "recalld: unknown time zone '%s' (an IANA name such as Europe/London)\n", tz);
		PQclear(res);
		code = CLI_EXIT_USAGE;
		goto done;
	}
	PQclear(res);
	clock_now_iso(now, sizeof now);
	p[0] = name;
	p[1] = tz;
	p[2] = now;
	res = cli_exec(pg, "INSERT INTO school (name, tz, created_at, updated_at)"
	    " VALUES ($1, $2, $3::timestamptz, $3::timestamptz) RETURNING school_id", 3, p,
	    "creating the school");
	if (res == NULL)
		goto done;
	printf("%s\n", PQgetvalue(res, 0, 0));
	PQclear(res);
	code = 0;
done:
	PQfinish(pg);
	return code;
}

static int
school_list(const struct config *cfg)
{
	PGconn *pg = cli_connect_db(cfg);
	PGresult *res;

	if (pg == NULL)
		return 1;
	res = cli_exec(pg, "SELECT school_id, name, tz, active FROM school ORDER BY school_id", 0,
	    NULL, "listing schools");
	if (res == NULL) {
		PQfinish(pg);
		return 1;
	}
	printf("%-8s %-6s %-24s %s\n", "id", "active", "time zone", "name");
	for (int i = 0; i < PQntuples(res); i++)
		printf("%-8s %-6s %-24s %s\n", PQgetvalue(res, i, 0),
		    strcmp(PQgetvalue(res, i, 3), "t") == 0 ? "yes" : "no", PQgetvalue(res, i, 2),
		    PQgetvalue(res, i, 1));
	PQclear(res);
	PQfinish(pg);
	return 0;
}

static int
school_delete(int argc, char **argv, const struct config *cfg)
{
	static const struct option opts[] = {
		{ "school", required_argument, NULL, 's' },
		{ "confirm", required_argument, NULL, 'y' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *school_arg = NULL, *confirm = NULL, *p[1];
	char school[24];
	PGconn *pg;
	PGresult *res = NULL;
	int ch, code = 1;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 's': school_arg = optarg; break;
		case 'y': confirm = optarg; break;
		case 'h': fputs(school_usage, stdout); return 0;
		default: fputs(school_usage, stderr); return CLI_EXIT_USAGE;
		}
	}
	if (optind != argc || confirm == NULL) {
		fputs("recalld school delete: --school and --confirm are required\n", stderr);
		return CLI_EXIT_USAGE;
	}
	if (!cli_parse_id(school_arg, "--school", school, sizeof school))
		return CLI_EXIT_USAGE;
	if ((pg = cli_connect_db(cfg)) == NULL)
		return 1;
	p[0] = school;
	res = cli_exec(pg, "SELECT name FROM school WHERE school_id = $1::bigint", 1, p,
	    "finding the school");
	if (res == NULL)
		goto done;
	if (PQntuples(res) != 1 || strcmp(PQgetvalue(res, 0, 0), confirm) != 0) {
		fprintf(stderr, "recalld: %s: nothing deleted\n", PQntuples(res) != 1 ?
		    "no such school" : "--confirm is not the school's name");
		code = CLI_EXIT_USAGE;
		goto done;
	}
	PQclear(res);
	res = cli_exec(pg, "SELECT recalld_delete_school($1::bigint)", 1, p, "deleting the school");
	if (res == NULL)
		goto done;
	printf("school %s deleted (%s rows)\n", school, PQgetvalue(res, 0, 0));
	code = 0;
done:
	PQclear(res);
	PQfinish(pg);
	return code;
}

static int
school_main(int argc, char **argv, const struct config *cfg)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(school_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_EXIT_USAGE : 0;
	}
	if (strcmp(argv[1], "create") == 0)
		return school_create(argc - 1, argv + 1, cfg);
	if (strcmp(argv[1], "list") == 0 && argc == 2)
		return school_list(cfg);
	if (strcmp(argv[1], "delete") == 0)
		return school_delete(argc - 1, argv + 1, cfg);
	fprintf(stderr, "recalld school: unknown command '%s'\n%s", argv[1], school_usage);
	return CLI_EXIT_USAGE;
}

int
school_cmd_run(int argc, char **argv, const char *path, bool given)
{
	return cli_with_config(argc, argv, path, given, school_main);
}
