/* pupil_cmd.c: `recalld pupil export|erase` (blocking libpq); see privacy/. */
#include "autoconf.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "cli.h"
#include "clock.h"
#include "audit.h"
#include "erase.h"
#include "export.h"
#include "pupil_cmd.h"

static const char pupil_usage[] =
    "usage: recalld [-c FILE] pupil export --school ID --pupil ID [-o FILE]\n"
    "       recalld [-c FILE] pupil erase --school ID --pupil ID --confirm EXTERNAL_ID\n\n"
    "export writes everything recalld holds about one pupil as a zip of JSON\n"
    "files with a README inside (a subject access request), to FILE or stdout.\n"
    "erase removes everything recalld holds about one pupil, in one transaction,\n"
    "and prints the erasure's reference (keep it with the request's record).\n"
    "--confirm must repeat the pupil's external id (their roster sourcedId).\n";

static int
pupil_erase(int argc, char **argv, const struct config *cfg)
{
	static const struct option opts[] = {
		{ "school", required_argument, NULL, 's' },
		{ "pupil", required_argument, NULL, 'p' },
		{ "confirm", required_argument, NULL, 'y' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *school_arg = NULL, *pupil_arg = NULL, *confirm = NULL, *p[ERASE_NPARAMS];
	char school[24], pupil[24], ref[36], now[40];
	PGconn *pg = NULL;
	PGresult *res = NULL;
	int ch, code = 1;
	size_t i;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 's': school_arg = optarg; break;
		case 'p': pupil_arg = optarg; break;
		case 'y': confirm = optarg; break;
		case 'h': fputs(pupil_usage, stdout); return 0;
		default: fputs(pupil_usage, stderr); return CLI_EXIT_USAGE;
		}
	}
	if (optind != argc || confirm == NULL || *confirm == '\0') {
		fputs("recalld pupil erase: --school, --pupil and --confirm are required\n", stderr);
		return CLI_EXIT_USAGE;
	}
	if (!cli_parse_id(school_arg, "--school", school, sizeof school) ||
	    !cli_parse_id(pupil_arg, "--pupil", pupil, sizeof pupil))
		return CLI_EXIT_USAGE;
	if ((pg = cli_connect_db(cfg)) == NULL)
		return 1;
	p[0] = school;
	p[1] = pupil;
	res = cli_exec(pg, "SELECT external_id FROM pupil WHERE school_id = $1::bigint"
	    " AND pupil_id = $2::bigint", 2, p, "finding the pupil");
	if (res == NULL)
		goto done;
	if (PQntuples(res) != 1) {
		fprintf(stderr, "recalld: school %s has no pupil %s (erased already?)\n", school, pupil);
		code = CLI_EXIT_USAGE;
		goto done;
	}
	if (strcmp(PQgetvalue(res, 0, 0), confirm) != 0) {
		fputs("recalld: --confirm is not this pupil's external id: nothing erased\n", stderr);
		code = CLI_EXIT_USAGE;
		goto done;
	}
	PQclear(res);
	res = NULL;
	erase_new_ref(ref);
	clock_now_iso(now, sizeof now);
	p[2] = ref;
	p[3] = now;
	p[4] = "command line";
	p[5] = "request";
	PQclear(cli_exec(pg, "BEGIN", 0, NULL, "starting the erasure"));
	for (i = 0; i < erase_nsql; i++) {
		PQclear(res);
		if ((res = cli_exec(pg, erase_sql[i], ERASE_NPARAMS, p, "erasing")) == NULL)
			goto rollback;
	}
	if (PQntuples(res) != 1) {
		fprintf(stderr, "recalld: pupil %s was erased meanwhile\n", pupil);
		goto rollback;
	}
	PQclear(res);
	{
		/* the audit says who erased, never whom */
		const char *a[6] = { school, now, "POST", "recalld pupil erase", NULL, NULL };

		if ((res = cli_exec(pg, AUDIT_CLI_SQL, 6, a, "auditing")) == NULL)
			goto rollback;
		PQclear(res);
	}
	res = cli_exec(pg, "COMMIT", 0, NULL, "committing the erasure");
	if (res == NULL)
		goto done;
	printf("%s\n", ref);
	code = 0;
	goto done;
rollback:
	PQclear(cli_exec(pg, "ROLLBACK", 0, NULL, "rolling back"));
done:
	PQclear(res);
	PQfinish(pg);
	return code;
}

/* Copy the file at path to stdout. */
static bool
cat_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char buf[65536];
	size_t n;
	bool ok = f != NULL;

	while (ok && (n = fread(buf, 1, sizeof buf, f)) > 0)
		ok = fwrite(buf, 1, n, stdout) == n;
	if (f != NULL)
		fclose(f);
	return ok && fflush(stdout) == 0;
}

static int
pupil_export(int argc, char **argv, const struct config *cfg)
{
	static const struct option opts[] = {
		{ "school", required_argument, NULL, 's' },
		{ "pupil", required_argument, NULL, 'p' },
		{ "output", required_argument, NULL, 'o' },
		{ "no-audit", no_argument, NULL, 'n' },	/* serve's child: serve audits */
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *school_arg = NULL, *pupil_arg = NULL, *out = NULL;
	char school[24], pupil[24], tmp[] = "/tmp/recalld-export-XXXXXX.zip", err[512] = "";
	enum export_result r;
	PGconn *pg;
	int ch, fd;
	bool audit = true;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
		switch (ch) {
		case 's': school_arg = optarg; break;
		case 'p': pupil_arg = optarg; break;
		case 'o': out = optarg; break;
		case 'n': audit = false; break;
		case 'h': fputs(pupil_usage, stdout); return 0;
		default: fputs(pupil_usage, stderr); return CLI_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fputs(pupil_usage, stderr);
		return CLI_EXIT_USAGE;
	}
	if (!cli_parse_id(school_arg, "--school", school, sizeof school) ||
	    !cli_parse_id(pupil_arg, "--pupil", pupil, sizeof pupil))
		return CLI_EXIT_USAGE;
	if (out == NULL && isatty(STDOUT_FILENO)) {
		fputs("recalld: the export is a zip file: give -o FILE, or redirect stdout\n", stderr);
		return CLI_EXIT_USAGE;
	}
	if (out == NULL) {
		if ((fd = mkstemps(tmp, 4)) < 0) {
			fprintf(stderr, "recalld: %s: %s\n", tmp, strerror(errno));
			return 1;
		}
		close(fd);
	}
	if ((pg = cli_connect_db(cfg)) == NULL)
		return 1;
	r = export_pupil(pg, school, pupil, out != NULL ? out : tmp, err, sizeof err);
	if (r == EXPORT_OK && audit) {
		char now[40];
		const char *a[6] = { school, now, "GET", "recalld pupil export", pupil, pupil };
		PGresult *res;

		clock_now_iso(now, sizeof now);
		if ((res = cli_exec(pg, AUDIT_CLI_SQL, 6, a, "auditing")) == NULL)
			r = EXPORT_FAILED;
		PQclear(res);
		if (r != EXPORT_OK)
			snprintf(err, sizeof err, "the export was not audited, so it is not given");
	}
	PQfinish(pg);
	if (r == EXPORT_OK && out == NULL && !cat_file(tmp)) {
		fprintf(stderr, "recalld: writing the export to stdout failed\n");
		r = EXPORT_FAILED;
	}
	if (out == NULL)
		unlink(tmp);
	if (r != EXPORT_OK) {
		fprintf(stderr, "recalld: export: %s\n", err);
		return r == EXPORT_NO_PUPIL ? CLI_EXIT_USAGE : 1;
	}
	return 0;
}

static int
pupil_main(int argc, char **argv, const struct config *cfg)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(pupil_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_EXIT_USAGE : 0;
	}
	if (strcmp(argv[1], "erase") == 0)
		return pupil_erase(argc - 1, argv + 1, cfg);
	if (strcmp(argv[1], "export") == 0)
		return pupil_export(argc - 1, argv + 1, cfg);
	fprintf(stderr, "recalld pupil: unknown command '%s'\n%s", argv[1], pupil_usage);
	return CLI_EXIT_USAGE;
}

int
pupil_cmd_run(int argc, char **argv, const char *path, bool given)
{
	return cli_with_config(argc, argv, path, given, pupil_main);
}
