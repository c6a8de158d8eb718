/*
 * lti_cmd.c: `recalld lti add|list|show|remove|rotate-key`: a school's LMS
 * as an LTI 1.3 platform, and the tool's own key (blocking libpq).
 */
#include "autoconf.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "b64.h"
#include "cli.h"
#include "config.h"
#include "token.h"
#include "lti_cmd.h"
#include "ltikey.h"
#include "secretbox.h"

static const char lti_usage[] =
    "usage: recalld [-c FILE] lti add --school ID --issuer URL --client-id ID\n"
    "           --deployment-id ID [--deployment-id ID ...] --auth-url URL\n"
    "           --token-url URL --jwks-url URL [--name NAME]\n"
    "       recalld [-c FILE] lti list --school ID\n"
    "       recalld [-c FILE] lti show --school ID\n"
    "       recalld [-c FILE] lti remove --school ID --platform ID\n"
    "       recalld [-c FILE] lti register-link --school ID [--ttl DURATION]\n"
    "       recalld [-c FILE] lti rotate-key\n\n"
    "add registers the school's LMS (what its LTI 1.3 tool registration shows:\n"
    "issuer, client id, deployment id, and its authorization, token and JWKS\n"
    "URLs) and makes the tool's key pair if there is none yet (it is kept\n"
    "sealed with secrets.key_file). show prints what the LMS administrator\n"
    "pastes into the LMS: the login, launch (redirect) and JWKS URLs of this\n"
    "school. register-link prints a one-time URL (valid for --ttl, 1h by\n"
    "default) to give an LMS that supports LTI Dynamic Registration instead:\n"
    "it registers itself. rotate-key makes a new key pair; the old one stays published at\n"
    "/lti/jwks for lti.key_overlap.\n";

static bool
url_ok(const char *u, const char *what)
{
	if (u != NULL && (strncmp(u, "https://", 8) == 0 || strncmp(u, "http://", 7) == 0) &&
	    strlen(u) <= 2000 && strcspn(u, " \t\r\n") == strlen(u))
		return true;
	fprintf(stderr, "recalld lti add: %s must be an http(s) URL\n", what);
	return false;
}

/* A new current key; the current one (if any) retired, published for the overlap. */
static bool
new_key(PGconn *pg, const struct config *cfg, bool only_if_none, bool *made)
{
	char err[512], overlap[48], *sealed = NULL;
	struct ltikey_pair kp;
	secretbox *sb;
	const char *p[4];
	PGresult *res;
	bool ok = false;

	*made = false;
	if (only_if_none) {
		res = cli_exec(pg, "SELECT 1 FROM lti_key WHERE retired_at IS NULL", 0, NULL,
		    "reading the tool's key");
		if (res == NULL)
			return false;
		ok = PQntuples(res) > 0;
		PQclear(res);
		if (ok)
			return true;
	}
	if (cfg->secrets_key_file[0] == '\0') {
		fputs("recalld: the tool's LTI key is kept sealed: set secrets.key_file"
		    " (recalld keys init) first\n", stderr);
		return false;
	}
	if ((sb = secretbox_load(cfg->secrets_key_file, err, sizeof err)) == NULL) {
		fprintf(stderr, "recalld: %s\n", err);
		return false;
	}
	if (!ltikey_generate(LTIKEY_BITS, &kp, err, sizeof err)) {
		fprintf(stderr, "recalld: %s\n", err);
		secretbox_free(sb);
		return false;
	}
	sealed = secretbox_seal(sb, kp.private_jwk);
	snprintf(overlap, sizeof overlap, "%lld milliseconds", (long long)cfg->lti_key_overlap_ms);
	p[0] = kp.kid;
	p[1] = sealed;
	p[2] = kp.public_jwk;
	p[3] = overlap;
	res = cli_exec(pg, "WITH old AS (UPDATE lti_key SET retired_at = now(),"
	    "  publish_until = now() + $4::interval WHERE retired_at IS NULL RETURNING kid)"
	    " INSERT INTO lti_key (kid, private_sealed, public_jwk, created_at)"
	    " SELECT $1, $2, $3::jsonb, now() FROM (SELECT count(*) FROM old) o RETURNING kid", 4, p,
	    "storing the tool's key");
	if (res != NULL) {
		ok = *made = true;
		PQclear(res);
	}
	free(sealed);
	ltikey_pair_clear(&kp);
	secretbox_free(sb);
	return ok;
}

/* What the LMS administrator pastes, for one school. */
static void
print_urls(const struct config *cfg, const char *school)
{
	const char *u = cfg->http_public_url;
	int n = (int)strlen(u);

	while (n > 0 && u[n - 1] == '/')
		n--;
	printf("Tool URL / target link URI:   %.*s/lti/%s/launch\n", n, u, school);
	printf("OpenID Connect login URL:     %.*s/lti/%s/login\n", n, u, school);
	printf("Redirect URI(s):              %.*s/lti/%s/launch\n", n, u, school);
	printf("Deep linking URL:             %.*s/lti/%s/launch\n", n, u, school);
	printf("Public keyset (JWKS) URL:     %.*s/lti/jwks\n", n, u);
	printf("Signature method:             RSA SHA-256 (RS256)\n");
}

static int
lti_add(int argc, char **argv, const struct config *cfg)
{
	static const struct option opts[] = {
		{ "school", required_argument, NULL, 's' },
		{ "issuer", required_argument, NULL, 'i' },
		{ "client-id", required_argument, NULL, 'c' },
		{ "deployment-id", required_argument, NULL, 'd' },
		{ "auth-url", required_argument, NULL, 'a' },
		{ "token-url", required_argument, NULL, 't' },
		{ "jwks-url", required_argument, NULL, 'j' },
		{ "name", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *issuer = NULL, *client = NULL, *auth = NULL, *tok = NULL, *jwks = NULL;
	const char *name = NULL, *sid = NULL, *p[8];
	char school[24], deps[4096] = "{";
	PGconn *pg = NULL;
	PGresult *res;
	int ch, ndeps = 0, code = 1;
	bool made;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 's': sid = optarg; break;
		case 'i': issuer = optarg; break;
		case 'c': client = optarg; break;
		case 'd':
			/* an array literal, every element quoted */
			if (strlen(optarg) > 255 || strpbrk(optarg, "\"\\{},") != NULL ||
			    strlen(deps) + strlen(optarg) + 4 >= sizeof deps) {
				fprintf(stderr, "recalld lti add: a deployment id of at most 255 characters,"
				    " without quotes, braces, commas or backslashes\n");
				return CLI_EXIT_USAGE;
			}
			snprintf(deps + strlen(deps), sizeof deps - strlen(deps), "%s\"%s\"",
			    ndeps++ > 0 ? "," : "", optarg);
			break;
		case 'a': auth = optarg; break;
		case 't': tok = optarg; break;
		case 'j': jwks = optarg; break;
		case 'n': name = optarg; break;
		case 'h': fputs(lti_usage, stdout); return 0;
		default: fputs(lti_usage, stderr); return CLI_EXIT_USAGE;
		}
	}
	if (optind != argc || !cli_parse_id(sid, "--school", school, sizeof school))
		return CLI_EXIT_USAGE;
	if (issuer == NULL || *issuer == '\0' || client == NULL || *client == '\0' || ndeps == 0) {
		fputs("recalld lti add: --issuer, --client-id and --deployment-id are required\n", stderr);
		return CLI_EXIT_USAGE;
	}
	if (!url_ok(auth, "--auth-url") || !url_ok(tok, "--token-url") || !url_ok(jwks, "--jwks-url"))
		return CLI_EXIT_USAGE;
	strcat(deps, "}");
	if ((pg = cli_connect_db(cfg)) == NULL)
		return 1;
	if (!new_key(pg, cfg, true, &made))
		goto done;
	if (made)
		printf("made the tool's LTI key pair\n");
	p[0] = school;
	p[1] = name;
	p[2] = issuer;
	p[3] = client;
	p[4] = deps;
	p[5] = auth;
	p[6] = tok;
	p[7] = jwks;
	res = cli_exec(pg, "INSERT INTO lti_platform (school_id, name, issuer, client_id, deployment_ids,"
	    " auth_url, token_url, jwks_url, created_at, updated_at)"
	    " SELECT school_id, $2, $3, $4, $5::text[], $6, $7, $8, now(), now() FROM school"
	    " WHERE school_id = $1::bigint RETURNING platform_id", 8, p, "registering the platform");
	if (res == NULL)
		goto done;
	if (PQntuples(res) == 0) {
		fprintf(stderr, "recalld: no school %s\n", school);
		PQclear(res);
		goto done;
	}
	printf("platform %s registered for school %s\n\n", PQgetvalue(res, 0, 0), school);
	PQclear(res);
	print_urls(cfg, school);
	code = 0;
done:
	PQfinish(pg);
	return code;
}

/* --school ID (and --platform ID when platform is not NULL). */
static bool
school_opts(int argc, char **argv, char school[24], char *platform)
{
	static const struct option opts[] = {
		{ "school", required_argument, NULL, 's' },
		{ "platform", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sid = NULL, *pid = NULL;
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 's': sid = optarg; break;
		case 'p': pid = optarg; break;
		case 'h': fputs(lti_usage, stdout); exit(0);
		default: fputs(lti_usage, stderr); return false;
		}
	}
	if (optind != argc || !cli_parse_id(sid, "--school", school, 24))
		return false;
	if (platform != NULL)
		return cli_parse_id(pid, "--platform", platform, 24);
	if (pid != NULL) {
		fputs("recalld lti: --platform is not taken here\n", stderr);
		return false;
	}
	return true;
}

static int
lti_list(int argc, char **argv, const struct config *cfg, bool urls)
{
	char school[24];
	const char *p[1] = { school };
	PGconn *pg;
	PGresult *res;
	int code = 1;

	if (!school_opts(argc, argv, school, NULL))
		return CLI_EXIT_USAGE;
	if ((pg = cli_connect_db(cfg)) == NULL)
		return 1;
	res = cli_exec(pg, "SELECT platform_id, coalesce(name, ''), issuer, client_id,"
	    " array_to_string(deployment_ids, ' '), auth_url, token_url, jwks_url,"
	    " coalesce(to_char(jwks_fetched_at, 'YYYY-MM-DD HH24:MI:SS'), 'never')"
	    " FROM lti_platform WHERE school_id = $1::bigint ORDER BY platform_id", 1, p,
	    "reading the platforms");
	if (res == NULL)
		goto done;
	if (urls) {
		print_urls(cfg, school);
		printf("\n");
	}
	if (PQntuples(res) == 0)
		printf("no LMS registered for school %s (recalld lti add)\n", school);
	for (int i = 0; i < PQntuples(res); i++)
		printf("platform %s %s\n  issuer %s\n  client_id %s\n  deployments %s\n"
		    "  auth %s\n  token %s\n  jwks %s (fetched %s)\n", PQgetvalue(res, i, 0),
		    PQgetvalue(res, i, 1), PQgetvalue(res, i, 2), PQgetvalue(res, i, 3),
		    PQgetvalue(res, i, 4), PQgetvalue(res, i, 5), PQgetvalue(res, i, 6),
		    PQgetvalue(res, i, 7), PQgetvalue(res, i, 8));
	PQclear(res);
	code = 0;
done:
	PQfinish(pg);
	return code;
}

static int
lti_remove(int argc, char **argv, const struct config *cfg)
{
	char school[24], platform[24];
	const char *p[2] = { school, platform };
	PGconn *pg;
	PGresult *res;
	int code = 1;

	if (!school_opts(argc, argv, school, platform))
		return CLI_EXIT_USAGE;
	if ((pg = cli_connect_db(cfg)) == NULL)
		return 1;
	res = cli_exec(pg, "DELETE FROM lti_platform WHERE school_id = $1::bigint"
	    " AND platform_id = $2::bigint RETURNING platform_id", 2, p, "removing the platform");
	if (res != NULL) {
		if (PQntuples(res) == 0) {
			fprintf(stderr, "recalld: school %s has no platform %s\n", school, platform);
		} else {
			printf("platform %s removed; its launches are refused from now on\n", platform);
			code = 0;
		}
		PQclear(res);
	}
	PQfinish(pg);
	return code;
}

static int
lti_register_link(int argc, char **argv, const struct config *cfg)
{
	static const struct option opts[] = {
		{ "school", required_argument, NULL, 's' },
		{ "ttl", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sid = NULL, *ttl = "1h", *p[3];
	char school[24], ttl_s[48], raw_b64[B64_SIZE(32)], token[80], hash[TOKEN_HASH_HEX],
	    bytea[TOKEN_HASH_HEX + 2];
	unsigned char raw[32];
	int64_t ttl_ms = 0;
	PGconn *pg;
	PGresult *res;
	bool made;
	int ch, code = 1, n;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 's': sid = optarg; break;
		case 't': ttl = optarg; break;
		case 'h': fputs(lti_usage, stdout); return 0;
		default: fputs(lti_usage, stderr); return CLI_EXIT_USAGE;
		}
	}
	if (optind != argc || !cli_parse_id(sid, "--school", school, sizeof school))
		return CLI_EXIT_USAGE;
	if (!config_parse_duration(ttl, &ttl_ms) || ttl_ms < 60000 || ttl_ms > INT64_C(7) * 86400000) {
		fprintf(stderr, "recalld lti register-link: --ttl must be a duration from 1m to 7d\n");
		return CLI_EXIT_USAGE;
	}
	if (RAND_bytes(raw, sizeof raw) != 1 || !b64_encode_url(raw, sizeof raw, raw_b64, sizeof raw_b64)) {
		fputs("recalld: no randomness\n", stderr);
		return 1;
	}
	snprintf(token, sizeof token, "rlr_%s", raw_b64);
	token_hash_hex(token, hash);
	snprintf(bytea, sizeof bytea, "\\x%s", hash);
	snprintf(ttl_s, sizeof ttl_s, "%lld milliseconds", (long long)ttl_ms);
	if ((pg = cli_connect_db(cfg)) == NULL)
		return 1;
	/* the platform fetches the tool's keys right after registering */
	if (!new_key(pg, cfg, true, &made))
		goto done;
	p[0] = school;
	p[1] = bytea;
	p[2] = ttl_s;
	res = cli_exec(pg, "INSERT INTO lti_registration (school_id, hash, created_at, expires_at)"
	    " SELECT school_id, $2::bytea, now(), now() + $3::interval FROM school"
	    " WHERE school_id = $1::bigint RETURNING 1", 3, p, "making the registration link");
	if (res == NULL)
		goto done;
	n = PQntuples(res);
	PQclear(res);
	if (n == 0) {
		fprintf(stderr, "recalld: no school %s\n", school);
		goto done;
	}
	{
		const char *u = cfg->http_public_url;
		int ul = (int)strlen(u);

		while (ul > 0 && u[ul - 1] == '/')
			ul--;
		printf("Give the LMS this registration URL (LTI Dynamic Registration; once, within %s):\n"
		    "%.*s/lti/register?school=%s&token=%s\n", ttl, ul, u, school, token);
	}
	code = 0;
done:
	OPENSSL_cleanse(raw, sizeof raw);
	PQfinish(pg);
	return code;
}

static int
lti_rotate(int argc, char **argv, const struct config *cfg)
{
	PGconn *pg;
	bool made;
	int code = 1;

	if (argc > 1) {
		if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
			fputs(lti_usage, stdout);
			return 0;
		}
		fputs(lti_usage, stderr);
		return CLI_EXIT_USAGE;
	}
	if ((pg = cli_connect_db(cfg)) == NULL)
		return 1;
	if (new_key(pg, cfg, false, &made)) {
		printf("new LTI key pair; the old one stays published for %lld s\n",
		    (long long)(cfg->lti_key_overlap_ms / 1000));
		code = 0;
	}
	PQfinish(pg);
	return code;
}

static int
lti_dispatch(int argc, char **argv, const struct config *cfg)
{
	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		fputs(lti_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_EXIT_USAGE : 0;
	}
	if (strcmp(argv[1], "add") == 0)
		return lti_add(argc - 1, argv + 1, cfg);
	if (strcmp(argv[1], "list") == 0)
		return lti_list(argc - 1, argv + 1, cfg, false);
	if (strcmp(argv[1], "show") == 0)
		return lti_list(argc - 1, argv + 1, cfg, true);
	if (strcmp(argv[1], "remove") == 0)
		return lti_remove(argc - 1, argv + 1, cfg);
	if (strcmp(argv[1], "register-link") == 0)
		return lti_register_link(argc - 1, argv + 1, cfg);
	if (strcmp(argv[1], "rotate-key") == 0)
		return lti_rotate(argc - 1, argv + 1, cfg);
	fprintf(stderr, "recalld lti: unknown command '%s'\n", argv[1]);
	fputs(lti_usage, stderr);
	return CLI_EXIT_USAGE;
}

int
lti_cmd_run(int argc, char **argv, const char *config_path, bool config_given)
{
	return cli_with_config(argc, argv, config_path, config_given, lti_dispatch);
}
