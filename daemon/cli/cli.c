/* cli.c: helpers shared by the subcommands (config, usage, blocking libpq). */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "log.h"

struct config *
cli_load_config(const char *path, bool given)
{
	struct config *c = config_new();
	char err[512];

	if (!config_load(c, path, given, err, sizeof err)) {
		fprintf(stderr, "recalld: %s\n", err);
		config_free(c);
		return NULL;
	}
	log_set_level(c->log_level);
	return c;
}

bool
cli_no_args(int argc, char **argv, const char *name, const char *usage, int *code)
{
	if (argc == 1)
		return true;
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		fputs(usage, stdout);
		*code = 0;
		return false;
	}
	fprintf(stderr, "recalld %s: unexpected argument '%s'\n", name, argv[1]);
	fputs(usage, stderr);
	*code = CLI_EXIT_USAGE;
	return false;
}

int
cli_with_config(int argc, char **argv, const char *path, bool given,
    int (*fn)(int, char **, const struct config *))
{
	struct config *c;
	int code;

	if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0))
		return fn(argc, argv, NULL);
	if ((c = cli_load_config(path, given)) == NULL)
		return CLI_EXIT_USAGE;
	code = fn(argc, argv, c);
	config_free(c);
	return code;
}

PGconn *
cli_connect_db(const struct config *cfg)
{
	const char *keys[] = { "fallback_application_name", "dbname", NULL };
	const char *vals[] = { "recalld-admin", cfg->database_url, NULL };
	PGconn *pg = PQconnectdbParams(keys, vals, 1);

	if (PQstatus(pg) != CONNECTION_OK) {
		fprintf(stderr, "recalld: cannot connect to the database: %s", PQerrorMessage(pg));
		PQfinish(pg);
		return NULL;
	}
	return pg;
}

PGresult *
cli_exec(PGconn *pg, const char *sql, int n, const char *const *params, const char *what)
{
	PGresult *res = PQexecParams(pg, sql, n, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(res);

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return res;
	fprintf(stderr, "recalld: %s: %s", what, PQresultErrorMessage(res));
	PQclear(res);
	return NULL;
}

bool
cli_parse_id(const char *s, const char *what, char *out, size_t len)
{
	char *end;
	long long v;

	errno = 0;
	v = s ? strtoll(s, &end, 10) : 0;
	if (s == NULL || *s == '\0' || *end != '\0' || errno != 0 || v < 1) {
		fprintf(stderr, "recalld: %s must be a positive id\n", what);
		return false;
	}
	snprintf(out, len, "%lld", v);
	return true;
}
