/* migrate_cmd.c: `recalld migrate`: apply the pending migrations (blocking libpq). */
#include "autoconf.h"

#include <stdio.h>

#include <libpq-fe.h>

#include "cli.h"
#include "migrate.h"
#include "migrate_cmd.h"

const char migrate_cmd_usage[] =
    "usage: recalld [-c FILE] migrate\n\n"
    "Applies the pending sql/NNNN_name.sql migrations from database.migrations,\n"
    "each in its own transaction, under an advisory lock: safe to run from every\n"
    "node at once. Refuses if an applied file has changed since.\n";

int
migrate_cmd_run(int argc, char **argv, const char *path, bool given)
{
	struct config *c;
	migrate_set *s = NULL;
	PGconn *pg = NULL;
	char err[1024];
	int code = 1;
	const char *keys[] = { "fallback_application_name", "dbname", NULL };
	const char *vals[] = { "recalld-migrate", NULL, NULL };

	if (!cli_no_args(argc, argv, "migrate", migrate_cmd_usage, &code))
		return code;
	if ((c = cli_load_config(path, given)) == NULL)
		return CLI_EXIT_USAGE;
	if ((s = migrate_load(c->database_migrations, err, sizeof err)) == NULL) {
		fprintf(stderr, "recalld migrate: %s\n", err);
		goto done;
	}
	vals[1] = c->database_url;
	pg = PQconnectdbParams(keys, vals, 1);
	if (PQstatus(pg) != CONNECTION_OK) {
		fprintf(stderr, "recalld migrate: cannot connect to the database: %s",
		    PQerrorMessage(pg));
		goto done;
	}
	if (!migrate_apply(pg, s, stdout, err, sizeof err)) {
		fprintf(stderr, "recalld migrate: %s\n", err);
		goto done;
	}
	code = 0;
done:
	PQfinish(pg);
	migrate_set_free(s);
	config_free(c);
	return code;
}
