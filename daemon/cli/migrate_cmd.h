/* migrate_cmd.h: `recalld migrate`, pending database migrations applied. */
#ifndef RECALLD_MIGRATE_CMD_H
#define RECALLD_MIGRATE_CMD_H

#include <stdbool.h>

/* What `recalld help migrate` prints. */
extern const char migrate_cmd_usage[];

/* argv[0] is "migrate"; returns the process exit code. */
int migrate_cmd_run(int argc, char **argv, const char *config_path, bool config_given);

#endif
