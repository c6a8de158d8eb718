/*
 * cli.h: what the subcommands of the recalld command line share: the
 * exit code of a usage error, loading the configuration, and blocking
 * libpq helpers for the administration commands.
 */
#ifndef RECALLD_CLI_H
#define RECALLD_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "config.h"

#define CLI_EXIT_USAGE 2

/* A subcommand: argv[0] is its name; returns the process exit code. */
typedef int (*cli_run_fn)(int argc, char **argv, const char *config_path, bool config_given);

/* Load (and validate) the configuration; on error print it and return NULL. */
struct config *cli_load_config(const char *path, bool given);

/*
 * For subcommands without options of their own (-c is global): true to go
 * on; false when it printed usage (for --help or a stray argument), with
 * the exit code in *code.
 */
bool cli_no_args(int argc, char **argv, const char *name, const char *usage, int *code);

/*
 * Run fn with the loaded configuration; --help runs it with NULL and
 * no configuration read.
 */
int cli_with_config(int argc, char **argv, const char *path, bool given,
    int (*fn)(int, char **, const struct config *));

/* Connect as "recalld-admin"; on failure print why and return NULL. */
PGconn *cli_connect_db(const struct config *cfg);

/* Run one statement; on failure print why, prefixed by what, and return NULL. */
PGresult *cli_exec(PGconn *pg, const char *sql, int n, const char *const *params,
    const char *what);

/* A positive id into out as decimal text; on failure print why (naming what). */
bool cli_parse_id(const char *s, const char *what, char *out, size_t len);

#endif
