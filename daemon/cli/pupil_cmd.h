/* pupil_cmd.h: `recalld pupil export|erase` (blocking libpq). */
#ifndef RECALLD_PUPIL_CMD_H
#define RECALLD_PUPIL_CMD_H

#include <stdbool.h>

/* argv[0] is "pupil"; returns the process exit code. */
int pupil_cmd_run(int argc, char **argv, const char *config_path, bool config_given);

#endif
