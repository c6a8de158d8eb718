/* simulate_cmd.h: `recalld simulate`: what each desired retention costs a class. */
#ifndef RECALLD_SIMULATE_CMD_H
#define RECALLD_SIMULATE_CMD_H

#include <stdbool.h>

/* argv[0] is "simulate"; returns the process exit code. */
int simulate_cmd_run(int argc, char **argv, const char *config_path, bool config_given);

#endif
