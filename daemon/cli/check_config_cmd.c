/* check_config_cmd.c: `recalld check-config`: load, validate, print. */
#include "autoconf.h"

#include <stdio.h>
#include <string.h>

#include "check_config_cmd.h"
#include "cli.h"

const char check_config_cmd_usage[] =
    "usage: recalld [-c FILE] check-config\n\n"
    "Reads the configuration file and RECALLD_<SECTION>_<KEY> environment\n"
    "variables, and prints the effective configuration with secrets masked.\n"
    "Exits 2 naming the file, line and key on an unknown key, a key set twice,\n"
    "a bad value or a syntax error, and on anything serve would refuse (the\n"
    "listen address, the answer link keys, clock.start, the database URL).\n";

int
check_config_cmd_run(int argc, char **argv, const char *path, bool given)
{
	struct config *c;
	int code;

	/* Not in the usage: the build makes recalld.conf(5) from the table with it. */
	if (argc == 2 && strcmp(argv[1], "--man") == 0) {
		config_print_man(stdout);
		return 0;
	}
	if (!cli_no_args(argc, argv, "check-config", check_config_cmd_usage, &code))
		return code;
	/* The same load as serve's: what passes here, serve accepts. */
	if ((c = cli_load_config(path, given)) == NULL)
		return CLI_EXIT_USAGE;
	printf("# effective configuration (%s%s)\n", given ? path : "defaults",
	    given ? "" : ", environment");
	config_print(c, stdout);
	config_free(c);
	return 0;
}
