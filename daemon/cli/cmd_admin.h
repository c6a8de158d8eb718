/* cmd_admin.h: the `school` and `token` subcommands. */
#ifndef RECALLD_CMD_ADMIN_H
#define RECALLD_CMD_ADMIN_H

#include "config.h"

/* argv[0] is the subcommand's name; return the process exit code. */
int school_main(int argc, char **argv, const struct config *cfg);
int token_main(int argc, char **argv, const struct config *cfg);

#endif
