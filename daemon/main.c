/* main.c: the recalld command line: global options and the subcommand table. */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_config_cmd.h"
#include "cli.h"
#include "config.h"
#include "import_cmd.h"
#include "log.h"
#include "migrate_cmd.h"
#include "replay.h"
#include "fit_cmd.h"
#include "simulate_cmd.h"
#include "keys_cmd.h"
#include "lti_cmd.h"
#include "pupil_cmd.h"
#include "school_cmd.h"
#include "serve_cmd.h"
#include "token_cmd.h"
#include "util.h"

struct cmd {
	const char *name;
	const char *summary;
	const char *usage;	/* options and what it does, for `help NAME` */
	cli_run_fn run;
	bool needs_config;
};

static int cmd_replay(int, char **, const char *, bool);
static int cmd_help(int, char **, const char *, bool);

/* Each subcommand lives in daemon/cli/; NULL usage: it documents itself. */
static const struct cmd cmds[] = {
	{ "serve", "run the daemon in the foreground",
	  serve_cmd_usage, serve_cmd_run, true },
	{ "migrate", "apply pending database migrations",
	  migrate_cmd_usage, migrate_cmd_run, true },
	{ "check-config", "print the effective configuration, secrets masked",
	  check_config_cmd_usage, check_config_cmd_run, true },
	{ "school", "create, list and delete schools",
	  NULL, school_cmd_run, true },
	{ "keys", "make and rotate the keys that seal secrets at rest",
	  NULL, keys_cmd_run, true },
	{ "lti", "register the school's LMS as an LTI 1.3 platform; the tool's key",
	  NULL, lti_cmd_run, true },
	{ "pupil", "export or erase one pupil's data",
	  NULL, pupil_cmd_run, true },
	{ "token", "create, list and revoke API tokens",
	  NULL, token_cmd_run, true },
	{ "import", "import a OneRoster roster or a question bank CSV",
	  NULL, import_cmd_run, true },
	{ "replay", "replay a reviews CSV through FSRS-6 (CSV in, states out)",
	  NULL, cmd_replay, false },
	{ "fit", "fit FSRS-6 weights to review histories (a file or a school)",
	  NULL, fit_cmd_run, false },
	{ "simulate", "what each desired retention costs a class in prompts a day",
	  NULL, simulate_cmd_run, false },
	{ "help", "show help for a subcommand",
	  "usage: recalld help [SUBCOMMAND]\n", cmd_help, false },
};

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: recalld [-c FILE] SUBCOMMAND [ARGS]\n"
	    "       recalld --help | --version\n\n"
	    "recalld schedules spaced retrieval practice for schools.\n\n"
	    "options:\n"
	    "  -c, --config FILE  configuration file (default %s;\n"
	    "                     a missing default file is fine)\n"
	    "  -h, --help         this help\n"
	    "  -V, --version      print the version\n\n"
	    "subcommands:\n", CONFIG_DEFAULT_PATH);
	for (size_t i = 0; i < nitems(cmds); i++)
		fprintf(fp, "  %-14s %s\n", cmds[i].name, cmds[i].summary);
	fprintf(fp, "\n`recalld help SUBCOMMAND` or `recalld SUBCOMMAND --help` for more.\n");
}

static const struct cmd *
find_cmd(const char *name)
{
	for (size_t i = 0; i < nitems(cmds); i++)
		if (strcmp(cmds[i].name, name) == 0)
			return &cmds[i];
	return NULL;
}

static int
show_cmd_help(const struct cmd *c, FILE *fp)
{
	if (c->usage == NULL) {
		/* These document themselves. */
		char *argv[] = { (char *)c->name, (char *)"--help", NULL };
		return c->run(2, argv, NULL, false);
	}
	fputs(c->usage, fp);
	return 0;
}

/* replay reads no configuration: its own options only. */
static int
cmd_replay(int argc, char **argv, const char *path, bool given)
{
	return replay_main(argc, argv);
}

static int
cmd_help(int argc, char **argv, const char *path, bool given)
{
	const struct cmd *c;

	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return 0;
	}
	if ((c = find_cmd(argv[1])) == NULL) {
		fprintf(stderr, "recalld: no subcommand '%s'\n\n", argv[1]);
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	return show_cmd_help(c, stdout);
}

int
main(int argc, char **argv)
{
	const char *path = CONFIG_DEFAULT_PATH;
	bool given = false;
	const struct cmd *c;
	int i;

	log_init();
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		}
		if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
			printf("recalld %s\n", PACKAGE_VERSION);
			return 0;
		}
		if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) {
			if (i + 1 == argc) {
				fprintf(stderr, "recalld: %s needs a file\n", a);
				return CLI_EXIT_USAGE;
			}
			path = argv[++i];
			given = true;
			continue;
		}
		if (strncmp(a, "--config=", 9) == 0) {
			path = a + 9;
			given = true;
			continue;
		}
		if (a[0] == '-') {
			fprintf(stderr, "recalld: unknown option '%s'\n\n", a);
			usage(stderr);
			return CLI_EXIT_USAGE;
		}
		break;
	}
	if (i == argc) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if ((c = find_cmd(argv[i])) == NULL) {
		fprintf(stderr, "recalld: no subcommand '%s'\n\n", argv[i]);
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	/* -c is also taken after the subcommand, where people tend to put it. */
	if (c->needs_config && argc - i >= 3 && (strcmp(argv[i + 1], "-c") == 0 ||
	    strcmp(argv[i + 1], "--config") == 0)) {
		path = argv[i + 2];
		given = true;
		argv[i + 2] = argv[i];
		i += 2;
	}
	return c->run(argc - i, argv + i, path, given);
}
