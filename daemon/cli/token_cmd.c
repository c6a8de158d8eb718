/* token_cmd.c: `recalld token create|link|list|revoke` (blocking libpq). */
#include "autoconf.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "cli.h"
#include "clock.h"
#include "token.h"
#include "token_cmd.h"

static int token_link(const struct config *cfg, const char *sid, bool admin,
    const char *teacher, const char *ttl);

static const char token_usage[] =
    "usage: recalld [-c FILE] token create --school ID --role admin|teacher|integration\n"
    "                                      [--teacher ID] [--name LABEL]\n"
    "       recalld [-c FILE] token link --school ID (--teacher ID | --admin) [--ttl DURATION]\n"
    "       recalld [-c FILE] token list --school ID\n"
    "       recalld [-c FILE] token revoke --school ID TOKEN_ID\n\n"
    "create prints a new token once; only its hash is stored, so keep it safe.\n"
    "Roles: admin (the whole school), teacher (their own classes: --teacher is\n"
    "the teacher's id), integration (roster, questions and responses).\n"
    "link prints a single-use sign-in link to the teachers' dashboard, valid\n"
    "for DURATION (dashboard.link_ttl, 24h by default; e.g. 30m, 12h, 7d); it\n"
    "opens a session of dashboard.session_ttl for that teacher (or an admin).\n";

static int
token_main(int argc, char **argv, const struct config *cfg)
{
	static const struct option opts[] = {
		{ "school", required_argument, NULL, 's' },
		{ "role", required_argument, NULL, 'r' },
		{ "teacher", required_argument, NULL, 't' },
		{ "name", required_argument, NULL, 'n' },
		{ "admin", no_argument, NULL, 'a' },
		{ "ttl", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd, *school = NULL, *role = NULL, *teacher = NULL, *name = NULL, *ttl = NULL;
	char sid[24], tid[24], now[40];
	bool admin = false;
	PGconn *pg = NULL;
	PGresult *res;
	int ch, code = 1;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(token_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_EXIT_USAGE : 0;
	}
	cmd = argv[1];
	argc--;
	argv++;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 's': school = optarg; break;
		case 'r': role = optarg; break;
		case 't': teacher = optarg; break;
		case 'n': name = optarg; break;
		case 'a': admin = true; break;
		case 'l': ttl = optarg; break;
		case 'h': fputs(token_usage, stdout); return 0;
		default: fputs(token_usage, stderr); return CLI_EXIT_USAGE;
		}
	}
	if (!cli_parse_id(school, "--school", sid, sizeof sid))
		return CLI_EXIT_USAGE;
	clock_now_iso(now, sizeof now);

	if (strcmp(cmd, "create") == 0) {
		char token[TOKEN_MAX], hash[TOKEN_HASH_HEX], bytea[TOKEN_HASH_HEX + 2];
		const char *p[6];

		if (optind != argc || role == NULL || (strcmp(role, "admin") != 0 &&
		    strcmp(role, "teacher") != 0 && strcmp(role, "integration") != 0)) {
			fputs("recalld token create: --role must be admin, teacher or integration\n", stderr);
			return CLI_EXIT_USAGE;
		}
		if ((strcmp(role, "teacher") == 0) != (teacher != NULL)) {
			fputs("recalld token create: --teacher ID goes with --role teacher, and only with it\n",
			    stderr);
			return CLI_EXIT_USAGE;
		}
		if (teacher != NULL && !cli_parse_id(teacher, "--teacher", tid, sizeof tid))
			return CLI_EXIT_USAGE;
		if (!token_generate(strtoll(sid, NULL, 10), token, sizeof token)) {
			fputs("recalld: no randomness for a token\n", stderr);
			return 1;
		}
		token_hash_hex(token, hash);
		snprintf(bytea, sizeof bytea, "\\x%s", hash);
		if ((pg = cli_connect_db(cfg)) == NULL)
			return 1;
		p[0] = sid;
		p[1] = role;
		p[2] = teacher ? tid : NULL;
		p[3] = name;
		p[4] = bytea;
		p[5] = now;
		res = cli_exec(pg, "INSERT INTO api_token (school_id, role, teacher_id, name, hash, created_at)"
		    " SELECT s.school_id, $2, $3::bigint, $4, $5::bytea, $6::timestamptz FROM school s"
		    " WHERE s.school_id = $1::bigint RETURNING token_id", 6, p, "creating the token");
		if (res == NULL)
			goto done;
		if (PQntuples(res) == 0) {
			fprintf(stderr, "recalld: no school %s\n", sid);
			PQclear(res);
			goto done;
		}
		PQclear(res);
		/* The only time the token is ever shown. */
		printf("%s\n", token);
		code = 0;
	} else if (strcmp(cmd, "link") == 0) {
		code = token_link(cfg, sid, admin, teacher, ttl);
	} else if (strcmp(cmd, "list") == 0 && optind == argc) {
		const char *p[1] = { sid };

		if ((pg = cli_connect_db(cfg)) == NULL)
			return 1;
		res = cli_exec(pg, "SELECT token_id, role, coalesce(teacher_id::text, '-'), coalesce(name, ''),"
		    " to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'),"
		    " coalesce(to_char(revoked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), '-')"
		    " FROM api_token WHERE school_id = $1::bigint ORDER BY token_id", 1, p, "listing tokens");
		if (res == NULL)
			goto done;
		printf("%-8s %-12s %-8s %-17s %-17s %s\n", "id", "role", "teacher", "created (UTC)",
		    "revoked (UTC)", "name");
		for (int i = 0; i < PQntuples(res); i++)
			printf("%-8s %-12s %-8s %-17s %-17s %s\n", PQgetvalue(res, i, 0),
			    PQgetvalue(res, i, 1), PQgetvalue(res, i, 2), PQgetvalue(res, i, 4),
			    PQgetvalue(res, i, 5), PQgetvalue(res, i, 3));
		PQclear(res);
		code = 0;
	} else if (strcmp(cmd, "revoke") == 0 && optind == argc - 1) {
		char id[24];
		const char *p[3];

		if (!cli_parse_id(argv[optind], "TOKEN_ID", id, sizeof id))
			return CLI_EXIT_USAGE;
		if ((pg = cli_connect_db(cfg)) == NULL)
			return 1;
		p[0] = sid;
		p[1] = id;
		p[2] = now;
		/* The NOTIFY tells running daemons to drop their cached tokens. */
		res = cli_exec(pg, "WITH r AS (UPDATE api_token SET revoked_at = coalesce(revoked_at, $3::timestamptz)"
		    " WHERE school_id = $1::bigint AND token_id = $2::bigint RETURNING token_id)"
		    " SELECT token_id, pg_notify('recalld_tokens', token_id::text) FROM r", 3, p,
		    "revoking the token");
		if (res == NULL)
			goto done;
		if (PQntuples(res) == 0) {
			fprintf(stderr, "recalld: no token %s in school %s\n", id, sid);
			PQclear(res);
			goto done;
		}
		PQclear(res);
		printf("revoked token %s\n", id);
		code = 0;
	} else {
		fprintf(stderr, "recalld token: bad command or arguments\n%s", token_usage);
		return CLI_EXIT_USAGE;
	}
done:
	PQfinish(pg);
	return code;
}

/*
 * `recalld token link`: store the hash of a single-use sign-in code and
 * print the dashboard link that carries it. Expiry is real time (the
 * link is used by a person, whatever a manual school clock says).
 */
static int
token_link(const struct config *cfg, const char *sid, bool admin, const char *teacher,
    const char *ttl)
{
	char code[TOKEN_MAX], hash[TOKEN_HASH_HEX], bytea[TOKEN_HASH_HEX + 2];
	char tid[24], now[40], until[40];
	int64_t ttl_ms = cfg->dashboard_link_ttl_ms;
	const char *p[6];
	PGconn *pg = NULL;
	PGresult *res;
	char url[1024];
	int rc = 1;

	if (admin == (teacher != NULL)) {
		fputs("recalld token link: give --teacher ID or --admin (one of them)\n", stderr);
		return CLI_EXIT_USAGE;
	}
	if (teacher != NULL && !cli_parse_id(teacher, "--teacher", tid, sizeof tid))
		return CLI_EXIT_USAGE;
	if (ttl != NULL && (!config_parse_duration(ttl, &ttl_ms) || ttl_ms < 1000 ||
	    ttl_ms > INT64_C(30) * 86400000)) {
		fputs("recalld token link: --ttl must be a duration from 1s to 30d (e.g. 30m, 12h, 7d)\n",
		    stderr);
		return CLI_EXIT_USAGE;
	}
	if (!token_signin_generate(strtoll(sid, NULL, 10), code, sizeof code)) {
		fputs("recalld: no randomness for a sign-in code\n", stderr);
		return 1;
	}
	token_hash_hex(code, hash);
	snprintf(bytea, sizeof bytea, "\\x%s", hash);
	clock_format_iso(clock_wall_us(), now, sizeof now);
	clock_format_iso(clock_wall_us() + ttl_ms * 1000, until, sizeof until);
	if ((pg = cli_connect_db(cfg)) == NULL)
		return 1;
	p[0] = sid;
	p[1] = admin ? "admin" : "teacher";
	p[2] = admin ? NULL : tid;
	p[3] = bytea;
	p[4] = now;
	p[5] = until;
	res = cli_exec(pg, "INSERT INTO signin_code (school_id, role, teacher_id, hash, created_at, expires_at)"
	    " SELECT s.school_id, $2, $3::bigint, $4::bytea, $5::timestamptz, $6::timestamptz"
	    " FROM school s WHERE s.school_id = $1::bigint AND ($3::bigint IS NULL OR EXISTS"
	    "  (SELECT 1 FROM teacher t WHERE t.school_id = s.school_id AND t.teacher_id = $3::bigint"
	    "  AND t.active)) RETURNING code_id", 6, p, "creating the sign-in link");
	if (res == NULL)
		goto done;
	if (PQntuples(res) == 0) {
		fprintf(stderr, "recalld: no school %s%s%s\n", sid,
		    admin ? "" : " with an active teacher ", admin ? "" : tid);
		PQclear(res);
		goto done;
	}
	PQclear(res);
	/* The code rides in the fragment: browsers never send it to a server. */
	if (!config_public_link(cfg, "/dashboard/#signin=", code, url, sizeof url)) {
		fputs("recalld token link: http.public_url is too long for a link\n", stderr);
		goto done;
	}
	printf("%s\n", url);
	rc = 0;
done:
	PQfinish(pg);
	return rc;
}

int
token_cmd_run(int argc, char **argv, const char *path, bool given)
{
	return cli_with_config(argc, argv, path, given, token_main);
}
