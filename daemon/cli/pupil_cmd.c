/* pupil_cmd.c: `recalld pupil erase` (blocking libpq); see privacy/erase.h. */
#include "autoconf.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <libpq-fe.h>

#include "cli.h"
#include "clock.h"
#include "erase.h"
#include "pupil_cmd.h"

static const char pupil_usage[] =
    "usage: recalld [-c FILE] pupil erase --school ID --pupil ID --confirm EXTERNAL_ID\n\n"
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

static int
pupil_main(int argc, char **argv, const struct config *cfg)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(pupil_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_EXIT_USAGE : 0;
	}
	if (strcmp(argv[1], "erase") == 0)
		return pupil_erase(argc - 1, argv + 1, cfg);
	fprintf(stderr, "recalld pupil: unknown command '%s'\n%s", argv[1], pupil_usage);
	return CLI_EXIT_USAGE;
}

int
pupil_cmd_run(int argc, char **argv, const char *path, bool given)
{
	return cli_with_config(argc, argv, path, given, pupil_main);
}
