/* serve.h: the `serve` subcommand. */
#ifndef RECALLD_SERVE_H
#define RECALLD_SERVE_H

#include "config.h"

/* Runs until SIGTERM/SIGINT; returns the process exit code. */
int serve_main(struct config *cfg, const char *config_path);

#endif
