/* keys_cmd.h: `recalld keys init|rotate`, the keys of secrets at rest (blocking). */
#ifndef RECALLD_KEYS_CMD_H
#define RECALLD_KEYS_CMD_H

#include <stdbool.h>

/* argv[0] is "keys"; returns the process exit code. */
int keys_cmd_run(int argc, char **argv, const char *config_path, bool config_given);

#endif
