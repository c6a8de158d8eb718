/* check_config_cmd.h: `recalld check-config`, the effective configuration printed. */
#ifndef RECALLD_CHECK_CONFIG_CMD_H
#define RECALLD_CHECK_CONFIG_CMD_H

#include <stdbool.h>

/* What `recalld help check-config` prints. */
extern const char check_config_cmd_usage[];

/* argv[0] is "check-config"; returns the process exit code. */
int check_config_cmd_run(int argc, char **argv, const char *config_path, bool config_given);

#endif
