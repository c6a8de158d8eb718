/* lti_cmd.h: `recalld lti ...`, a school's LMS as an LTI 1.3 platform (blocking). */
#ifndef RECALLD_LTI_CMD_H
#define RECALLD_LTI_CMD_H

#include <stdbool.h>

/* argv[0] is "lti"; returns the process exit code. */
int lti_cmd_run(int argc, char **argv, const char *config_path, bool config_given);

#endif
