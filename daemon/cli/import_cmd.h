/*
 * import_cmd.h: `recalld import roster|questions`, a school's data in one
 * transaction, all or nothing (blocking libpq: a command, not the daemon).
 *
 *   recalld import roster DIR|FILE.zip --school ID [--dry-run] [--json]
 *   recalld import questions FILE.csv --school ID [--dry-run] [--json]
 *
 * Exit codes: 0 applied (or, with --dry-run, would apply); 1 rejected
 * (the report goes to standard error, nothing changed) or a runtime
 * failure (database unreachable, no such school); 2 a usage error.
 */
#ifndef RECALLD_IMPORT_CMD_H
#define RECALLD_IMPORT_CMD_H

#include <stdbool.h>

/* argv[0] is "import"; returns the process exit code. */
int import_cmd_run(int argc, char **argv, const char *config_path, bool config_given);

#endif
