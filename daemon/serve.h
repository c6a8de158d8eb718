/* serve.h: the `serve` subcommand. */
#ifndef RECALLD_SERVE_H
#define RECALLD_SERVE_H

#include <stdio.h>

#include "config.h"

/* Runs until SIGTERM/SIGINT; returns the process exit code. */
int serve_main(struct config *cfg, const char *config_path);
/*
 * Print the routes serve registers ("METHOD PATTERN ROLES" lines) without
 * starting anything: `recalld serve --routes`, for tests/openapi.sh.
 */
int serve_routes(FILE *out);

#endif
