/* school_cmd.h: `recalld school create|list` (blocking libpq). */
#ifndef RECALLD_SCHOOL_CMD_H
#define RECALLD_SCHOOL_CMD_H

#include <stdbool.h>

/* argv[0] is "school"; returns the process exit code. */
int school_cmd_run(int argc, char **argv, const char *config_path, bool config_given);

#endif
