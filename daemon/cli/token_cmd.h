/* token_cmd.h: `recalld token create|link|list|revoke` (blocking libpq). */
#ifndef RECALLD_TOKEN_CMD_H
#define RECALLD_TOKEN_CMD_H

#include <stdbool.h>

/* argv[0] is "token"; returns the process exit code. */
int token_cmd_run(int argc, char **argv, const char *config_path, bool config_given);

#endif
