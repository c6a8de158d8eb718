/* main.c: the recalld command line: global options and subcommands. */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "cmd_admin.h"
#include "cmd_import.h"
#include "config.h"
#include "log.h"
#include "migrate.h"
#include "replay.h"
#include "serve.h"
#include "util.h"

#define EXIT_USAGE 2

struct cmd {
	const char *name;
	const char *summary;
	const char *usage;	/* options and what it does, for `help NAME` */
	int (*run)(int argc, char **argv, const char *config_path, bool config_given);
	bool needs_config;
};

static int cmd_serve(int, char **, const char *, bool);
static int cmd_migrate(int, char **, const char *, bool);
static int cmd_check_config(int, char **, const char *, bool);
static int cmd_replay(int, char **, const char *, bool);
static int cmd_help(int, char **, const char *, bool);
static int cmd_school(int, char **, const char *, bool);
static int cmd_token(int, char **, const char *, bool);
static int cmd_import(int, char **, const char *, bool);

static const struct cmd cmds[] = {
	{ "serve", "run the daemon in the foreground",
	  "usage: recalld [-c FILE] serve\n\n"
	  "Runs the daemon in the foreground until SIGTERM or SIGINT (graceful: stops\n"
	  "accepting, finishes work in flight, exits 0 within serve.shutdown_timeout).\n"
	  "SIGHUP reloads the configuration file (log level and other reloadable keys).\n"
	  "Refuses to start if the database schema is not current: run `recalld migrate`.\n",
	  cmd_serve, true },
	{ "migrate", "apply pending database migrations",
	  "usage: recalld [-c FILE] migrate\n\n"
	  "Applies the pending sql/NNNN_name.sql migrations from database.migrations,\n"
	  "each in its own transaction, under an advisory lock: safe to run from every\n"
	  "node at once. Refuses if an applied file has changed since.\n",
	  cmd_migrate, true },
	{ "check-config", "print the effective configuration, secrets masked",
	  "usage: recalld [-c FILE] check-config\n\n"
	  "Reads the configuration file and RECALLD_<SECTION>_<KEY> environment\n"
	  "variables, and prints the effective configuration with secrets masked.\n"
	  "Exits 2 naming the file, line and key on an unknown key, a key set twice,\n"
	  "a bad value or a syntax error, and on anything serve would refuse (the\n"
	  "listen address, the answer link keys, clock.start, the database URL).\n",
	  cmd_check_config, true },
	{ "school", "create and list schools",
	  NULL, cmd_school, true },
	{ "token", "create, list and revoke API tokens",
	  NULL, cmd_token, true },
	{ "import", "import a OneRoster roster or a question bank CSV",
	  NULL, cmd_import, true },
	{ "replay", "replay a reviews CSV through FSRS-6 (CSV in, states out)",
	  NULL, cmd_replay, false },
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

static struct config *
load_config(const char *path, bool given)
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

/* Subcommands without their own options: only --help, -c is global. */
static bool
no_args(int argc, char **argv, const struct cmd *c, int *code)
{
	if (argc == 1)
		return true;
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		*code = show_cmd_help(c, stdout);
		return false;
	}
	fprintf(stderr, "recalld %s: unexpected argument '%s'\n", c->name, argv[1]);
	show_cmd_help(c, stderr);
	*code = EXIT_USAGE;
	return false;
}

static int
cmd_serve(int argc, char **argv, const char *path, bool given)
{
	struct config *c;
	int code;

	if (!no_args(argc, argv, find_cmd("serve"), &code))
		return code;
	if ((c = load_config(path, given)) == NULL)
		return EXIT_USAGE;
	code = serve_main(c, path);
	config_free(c);
	return code;
}

static int
cmd_migrate(int argc, char **argv, const char *path, bool given)
{
	struct config *c;
	migrate_set *s = NULL;
	PGconn *pg = NULL;
	char err[1024];
	int code = 1;
	const char *keys[] = { "fallback_application_name", "dbname", NULL };
	const char *vals[] = { "recalld-migrate", NULL, NULL };

	if (!no_args(argc, argv, find_cmd("migrate"), &code))
		return code;
	if ((c = load_config(path, given)) == NULL)
		return EXIT_USAGE;
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

static int
cmd_check_config(int argc, char **argv, const char *path, bool given)
{
	struct config *c;
	int code;

	if (!no_args(argc, argv, find_cmd("check-config"), &code))
		return code;
	if ((c = load_config(path, given)) == NULL)
		return EXIT_USAGE;
	printf("# effective configuration (%s%s)\n", given ? path : "defaults",
	    given ? "" : ", environment");
	config_print(c, stdout);
	config_free(c);
	return 0;
}

/* Subcommands that take their own arguments and a loaded configuration. */
static int
with_config(int argc, char **argv, const char *path, bool given,
    int (*fn)(int, char **, const struct config *))
{
	struct config *c;
	int code;

	if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0))
		return fn(argc, argv, NULL);
	if ((c = load_config(path, given)) == NULL)
		return EXIT_USAGE;
	code = fn(argc, argv, c);
	config_free(c);
	return code;
}

static int
cmd_school(int argc, char **argv, const char *path, bool given)
{
	return with_config(argc, argv, path, given, school_main);
}

static int
cmd_token(int argc, char **argv, const char *path, bool given)
{
	return with_config(argc, argv, path, given, token_main);
}

static int
cmd_import(int argc, char **argv, const char *path, bool given)
{
	return with_config(argc, argv, path, given, import_main);
}

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
		return EXIT_USAGE;
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
				return EXIT_USAGE;
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
			return EXIT_USAGE;
		}
		break;
	}
	if (i == argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if ((c = find_cmd(argv[i])) == NULL) {
		fprintf(stderr, "recalld: no subcommand '%s'\n\n", argv[i]);
		usage(stderr);
		return EXIT_USAGE;
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
