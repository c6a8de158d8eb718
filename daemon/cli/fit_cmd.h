/* fit_cmd.h: `recalld fit`: FSRS-6 weights fitted to review histories. */
#ifndef RECALLD_FIT_CMD_H
#define RECALLD_FIT_CMD_H

#include <stdbool.h>

/* argv[0] is "fit"; returns the process exit code (2: bad input or usage). */
int fit_cmd_run(int argc, char **argv, const char *config_path, bool config_given);

#endif
