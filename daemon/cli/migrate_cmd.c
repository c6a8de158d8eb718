/* migrate_cmd.c: `recalld migrate`: apply the pending migrations (blocking libpq). */
#include "autoconf.h"

#include <stdio.h>
#include <string.h>

#include <libpq-fe.h>

#include "cli.h"
#include "migrate.h"
#include "migrate_cmd.h"

const char migrate_cmd_usage[] =
    "usage: recalld [-c FILE] migrate [--status]\n\n"
    "Applies the pending NNNN_name.sql migrations built into recalld (or those\n"
    "of database.migrations when it names a directory), each in its own\n"
    "transaction, under an advisory lock: safe to run from every node at once.\n"
    "Refuses if an applied migration has changed since.\n\n"
    "  --status  change nothing: list the migrations against the database's,\n"
    "            and exit 0 only if the database is current (1 if it is behind,\n"
    "            changed, ahead of this recalld, or unreachable)\n";

int
migrate_cmd_run(int argc, char **argv, const char *path, bool given)
{
	struct config *c = NULL;
	migrate_set *s = NULL;
	PGconn *pg = NULL;
	enum migrate_verdict v;
	char err[1024];
	int code = 1;
	bool status = false;
	const char *keys[] = { "fallback_application_name", "dbname", NULL };
	const char *vals[] = { "recalld-migrate", NULL, NULL };

	if (argc == 2 && strcmp(argv[1], "--status") == 0)
		status = true;
	else if (!cli_no_args(argc, argv, "migrate", migrate_cmd_usage, &code))
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
	if (status) {
		if (!migrate_status(pg, s, stdout, &v, err, sizeof err)) {
			fprintf(stderr, "recalld migrate: %s\n", err);
			goto done;
		}
		if (v != MIGRATE_CURRENT) {
			printf("%s\n", err);
			goto done;
		}
		printf("the database is current\n");
		code = 0;
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
