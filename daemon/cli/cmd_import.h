/*
 * cmd_import.h: `recalld import roster|questions`, a school's data in one
 * transaction, all or nothing (blocking libpq: a command, not the daemon).
 *
 *   recalld import roster DIR|FILE.zip --school ID [--dry-run] [--json]
 *   recalld import questions FILE.csv --school ID [--dry-run] [--json]
 *
 * Exit codes: 0 applied (or, with --dry-run, would apply); 1 rejected
 * (the report goes to standard error, nothing changed) or a runtime
 * failure (database unreachable, no such school); 2 a usage error.
 */
#ifndef RECALLD_CMD_IMPORT_H
#define RECALLD_CMD_IMPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "config.h"

/* argv[0] is "import". cfg may be NULL for --help (main's with_config). */
int import_main(int argc, char **argv, const struct config *cfg);
void import_usage(FILE *fp);

#endif
