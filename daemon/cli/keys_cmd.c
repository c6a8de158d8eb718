/* keys_cmd.c: `recalld keys init|rotate|new-link-key` (see auth/secretbox.h). */
#include "autoconf.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <openssl/crypto.h>

#include "cli.h"
#include "keys_cmd.h"
#include "alink.h"
#include "secretbox.h"

static const char keys_usage[] =
    "usage: recalld [-c FILE] keys init [--file PATH]\n"
    "       recalld [-c FILE] keys rotate\n"
    "       recalld [-c FILE] keys new-link-key\n\n"
    "init makes the key file that seals secrets in the database (webhook\n"
    "secrets, the answer-link key and the LTI keys; secrets.key_file, or\n"
    "PATH), readable\n"
    "only by its owner: run it as the service user. rotate puts a new key at\n"
    "the head of that file and seals every secret again under it (secrets\n"
    "stored in clear before the file existed included); older keys stay in\n"
    "the file. new-link-key replaces the key that signs answer links (after\n"
    "a leak, say): links already sent keep working until they expire; restart\n"
    "the daemons to sign with the new one.\n";

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

/*
 * text sealed again under sb's current key (malloc'd), or NULL when it is
 * already (*same set) or does not open (printed, naming what).
 */
static char *
reseal_text(secretbox *sb, const char *text, const char *what, bool *same)
{
	char err[256], *plain, *sealed;

	*same = secretbox_is_current(sb, text);
	if (*same)
		return NULL;
	if ((plain = secretbox_open(sb, text, err, sizeof err)) == NULL) {
		fprintf(stderr, "recalld: %s: %s\n", what, err);
		return NULL;
	}
	sealed = secretbox_seal(sb, plain);
	OPENSSL_cleanse(plain, strlen(plain));
	free(plain);
	return sealed;
}

/* Seal column col of one endpoint again; false (printed) when it does not open. */
static bool
reseal(PGconn *pg, secretbox *sb, PGresult *rows, int i, int col, const char *column, int *n)
{
	char what[96], *sealed, *sql;
	const char *p[3];
	PGresult *res;
	bool same;

	if (PQgetisnull(rows, i, col))
		return true;
	snprintf(what, sizeof what, "endpoint %s of school %s", PQgetvalue(rows, i, 1),
	    PQgetvalue(rows, i, 0));
	if ((sealed = reseal_text(sb, PQgetvalue(rows, i, col), what, &same)) == NULL)
		return same;
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

/* The answer-link key (sql/0028) sealed again; false (printed) on failure. */
static bool
reseal_link_key(PGconn *pg, secretbox *sb, int *n)
{
	PGresult *row = cli_exec(pg, "SELECT sealed, previous_sealed FROM link_key FOR UPDATE", 0,
	    NULL, "reading the answer-link key");
	char *cur = NULL, *prev = NULL;
	bool same, ok = false;

	if (row == NULL)
		return false;
	if (PQntuples(row) == 0) {
		ok = true;	/* no daemon made one yet */
		goto out;
	}
	cur = reseal_text(sb, PQgetvalue(row, 0, 0), "the answer-link key", &same);
	if (cur == NULL && !same)
		goto out;
	if (!PQgetisnull(row, 0, 1)) {
		prev = reseal_text(sb, PQgetvalue(row, 0, 1), "the previous answer-link key", &same);
		if (prev == NULL && !same)
			goto out;
	}
	if (cur != NULL || prev != NULL) {
		const char *p[2] = { cur, prev };
		PGresult *res = cli_exec(pg, "UPDATE link_key SET sealed = coalesce($1, sealed),"
		    " previous_sealed = coalesce($2, previous_sealed)", 2, p, "sealing the link key");

		if (res == NULL)
			goto out;
		PQclear(res);
		*n += (cur != NULL) + (prev != NULL);
	}
	ok = true;
out:
	free(cur);
	free(prev);
	PQclear(row);
	return ok;
}

/* The tool's LTI private keys (sql/0031) sealed again; false (printed) on failure. */
static bool
reseal_lti_keys(PGconn *pg, secretbox *sb, int *n)
{
	PGresult *rows = cli_exec(pg, "SELECT kid, private_sealed FROM lti_key ORDER BY kid FOR UPDATE",
	    0, NULL, "reading the LTI keys");
	bool ok = false;

	if (rows == NULL)
		return false;
	for (int i = 0; i < PQntuples(rows); i++) {
		char what[96], *sealed;
		const char *p[2];
		PGresult *res;
		bool same;

		snprintf(what, sizeof what, "the LTI key %s", PQgetvalue(rows, i, 0));
		if ((sealed = reseal_text(sb, PQgetvalue(rows, i, 1), what, &same)) == NULL) {
			if (same)
				continue;
			goto out;
		}
		p[0] = PQgetvalue(rows, i, 0);
		p[1] = sealed;
		res = cli_exec(pg, "UPDATE lti_key SET private_sealed = $2 WHERE kid = $1", 2, p,
		    "sealing an LTI key");
		free(sealed);
		if (res == NULL)
			goto out;
		PQclear(res);
		(*n)++;
	}
	ok = true;
out:
	PQclear(rows);
	return ok;
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
	if (!reseal_link_key(pg, sb, &n) || !reseal_lti_keys(pg, sb, &n))
		goto rollback;
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

/* A new answer-link key; the current one becomes the previous. */
static int
keys_new_link_key(const struct config *cfg)
{
	char err[512], *fresh = NULL, *sealed = NULL;
	secretbox *sb;
	PGconn *pg = NULL;
	PGresult *res;
	int code = 1;

	if (cfg->secrets_key_file[0] == '\0') {
		fputs("recalld keys new-link-key: secrets.key_file is not set (without it the key is"
		    " responses.link_key in the configuration)\n", stderr);
		return CLI_EXIT_USAGE;
	}
	if ((sb = secretbox_load(cfg->secrets_key_file, err, sizeof err)) == NULL) {
		fprintf(stderr, "recalld: %s\n", err);
		return CLI_EXIT_USAGE;
	}
	if ((fresh = alink_key_new()) == NULL || (pg = cli_connect_db(cfg)) == NULL)
		goto done;
	sealed = secretbox_seal(sb, fresh);
	{
		const char *p[1] = { sealed };

		res = cli_exec(pg, "INSERT INTO link_key (id, sealed) VALUES (true, $1)"
		    " ON CONFLICT (id) DO UPDATE SET previous_sealed = link_key.sealed,"
		    " sealed = EXCLUDED.sealed, created_at = now()", 1, p, "replacing the link key");
	}
	if (res == NULL)
		goto done;
	PQclear(res);
	puts("new answer-link key made; restart the daemons to sign with it (links already sent"
	    " keep working until they expire)");
	code = 0;
done:
	if (fresh != NULL)
		OPENSSL_cleanse(fresh, strlen(fresh));
	free(fresh);
	free(sealed);
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
	if (strcmp(argv[1], "new-link-key") == 0 && argc == 2)
		return keys_new_link_key(cfg);
	fprintf(stderr, "recalld keys: unknown command '%s'\n%s", argv[1], keys_usage);
	return CLI_EXIT_USAGE;
}

int
keys_cmd_run(int argc, char **argv, const char *path, bool given)
{
	return cli_with_config(argc, argv, path, given, keys_main);
}
