/* keys_cmd.c: `recalld keys init|rotate` (see auth/secretbox.h). */
#include "autoconf.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <openssl/crypto.h>

#include "cli.h"
#include "keys_cmd.h"
#include "secretbox.h"

static const char keys_usage[] =
    "usage: recalld [-c FILE] keys init [--file PATH]\n"
    "       recalld [-c FILE] keys rotate\n\n"
    "init makes the key file that seals webhook secrets in the database\n"
    "(secrets.key_file, or PATH), readable only by its owner: run it as the\n"
    "service user. rotate puts a new key at the head of that file and seals\n"
    "every endpoint's secrets again under it (secrets stored in clear before\n"
    "the file existed included); older keys stay in the file.\n";

static int
keys_init(int argc, char **argv, const struct config *cfg)
{
	static const struct option opts[] = {
		{ "file", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = cfg->secrets_key_file;
	char err[512];
	secretbox *sb;
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'f': path = optarg; break;
		case 'h': fputs(keys_usage, stdout); return 0;
		default: fputs(keys_usage, stderr); return CLI_EXIT_USAGE;
		}
	}
	if (optind != argc || path == NULL || *path == '\0') {
		fputs("recalld keys init: set secrets.key_file, or give --file PATH\n", stderr);
		return CLI_EXIT_USAGE;
	}
	if (!secretbox_init_file(path, err, sizeof err)) {
		fprintf(stderr, "recalld: %s\n", err);
		return CLI_EXIT_USAGE;
	}
	sb = secretbox_load(path, err, sizeof err);
	if (sb == NULL) {
		fprintf(stderr, "recalld: %s\n", err);
		return 1;
	}
	printf("made %s (key %s)\n", path, secretbox_kid(sb));
	secretbox_free(sb);
	return 0;
}

/* Seal column col of one endpoint again; false (printed) when it does not open. */
static bool
reseal(PGconn *pg, secretbox *sb, PGresult *rows, int i, int col, const char *column, int *n)
{
	char err[256], *plain, *sealed, *sql;
	const char *p[3];
	PGresult *res;

	if (PQgetisnull(rows, i, col) || secretbox_is_current(sb, PQgetvalue(rows, i, col)))
		return true;
	plain = secretbox_open(sb, PQgetvalue(rows, i, col), err, sizeof err);
	if (plain == NULL) {
		fprintf(stderr, "recalld: endpoint %s of school %s: %s\n", PQgetvalue(rows, i, 1),
		    PQgetvalue(rows, i, 0), err);
		return false;
	}
	sealed = secretbox_seal(sb, plain);
	OPENSSL_cleanse(plain, strlen(plain));
	free(plain);
	p[0] = PQgetvalue(rows, i, 0);
	p[1] = PQgetvalue(rows, i, 1);
	p[2] = sealed;
	sql = column[0] == 's' ?
	    "UPDATE endpoint SET secret = $3 WHERE school_id = $1 AND endpoint_id = $2" :
	    "UPDATE endpoint SET previous_secret = $3 WHERE school_id = $1 AND endpoint_id = $2";
	res = cli_exec(pg, sql, 3, p, "sealing a secret");
	free(sealed);
	if (res == NULL)
		return false;
	PQclear(res);
	(*n)++;
	return true;
}

static int
keys_rotate(const struct config *cfg)
{
	char err[512];
	secretbox *sb;
	PGconn *pg = NULL;
	PGresult *rows = NULL, *schools = NULL, *res;
	int n = 0, code = 1;

	if (cfg->secrets_key_file[0] == '\0') {
		fputs("recalld keys rotate: secrets.key_file is not set\n", stderr);
		return CLI_EXIT_USAGE;
	}
	if ((sb = secretbox_load(cfg->secrets_key_file, err, sizeof err)) == NULL) {
		fprintf(stderr, "recalld: %s\n", err);
		return CLI_EXIT_USAGE;
	}
	if ((pg = cli_connect_db(cfg)) == NULL)
		goto done;
	/* The new key first: if sealing fails half way, every key still opens what it sealed. */
	if (!secretbox_rotate_file(sb, err, sizeof err)) {
		fprintf(stderr, "recalld: %s\n", err);
		goto done;
	}
	if ((res = cli_exec(pg, "BEGIN", 0, NULL, "starting")) == NULL)
		goto done;
	PQclear(res);
	/* school by school: each statement stays on one school's rows (Citus) */
	schools = cli_exec(pg, "SELECT school_id FROM school ORDER BY school_id", 0, NULL,
	    "reading the schools");
	if (schools == NULL)
		goto rollback;
	for (int s = 0; s < PQntuples(schools); s++) {
		const char *p[1] = { PQgetvalue(schools, s, 0) };

		PQclear(rows);
		rows = cli_exec(pg, "SELECT school_id, endpoint_id, secret, previous_secret FROM endpoint"
		    " WHERE school_id = $1 ORDER BY endpoint_id FOR UPDATE", 1, p,
		    "reading the endpoints");
		if (rows == NULL)
			goto rollback;
		for (int i = 0; i < PQntuples(rows); i++)
			if (!reseal(pg, sb, rows, i, 2, "secret", &n) ||
			    !reseal(pg, sb, rows, i, 3, "previous_secret", &n))
				goto rollback;
	}
	if ((res = cli_exec(pg, "COMMIT", 0, NULL, "committing")) == NULL)
		goto done;
	PQclear(res);
	printf("new key %s; %d secrets sealed under it\n", secretbox_kid(sb), n);
	code = 0;
	goto done;
rollback:
	PQclear(cli_exec(pg, "ROLLBACK", 0, NULL, "rolling back"));
done:
	PQclear(rows);
	PQclear(schools);
	PQfinish(pg);
	secretbox_free(sb);
	return code;
}

static int
keys_main(int argc, char **argv, const struct config *cfg)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(keys_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_EXIT_USAGE : 0;
	}
	if (strcmp(argv[1], "init") == 0)
		return keys_init(argc - 1, argv + 1, cfg);
	if (strcmp(argv[1], "rotate") == 0 && argc == 2)
		return keys_rotate(cfg);
	fprintf(stderr, "recalld keys: unknown command '%s'\n%s", argv[1], keys_usage);
	return CLI_EXIT_USAGE;
}

int
keys_cmd_run(int argc, char **argv, const char *path, bool given)
{
	return cli_with_config(argc, argv, path, given, keys_main);
}
