/* serve_cmd.h: `recalld serve`, the daemon in the foreground (see serve.h). */
#ifndef RECALLD_SERVE_CMD_H
#define RECALLD_SERVE_CMD_H

#include <stdbool.h>

/* What `recalld help serve` prints. */
extern const char serve_cmd_usage[];

/* argv[0] is "serve"; returns the process exit code. */
int serve_cmd_run(int argc, char **argv, const char *config_path, bool config_given);

#endif
