/* serve_cmd.c: `recalld serve`: the configuration loaded, then serve_main. */
#include "autoconf.h"

#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "serve.h"
#include "serve_cmd.h"

const char serve_cmd_usage[] =
    "usage: recalld [-c FILE] serve\n\n"
    "Runs the daemon in the foreground until SIGTERM or SIGINT (graceful: stops\n"
    "accepting, finishes work in flight, exits 0 within serve.shutdown_timeout).\n"
    "SIGHUP reloads the configuration file (log level and other reloadable keys).\n"
    "Refuses to start if the database schema is not current: run `recalld migrate`.\n";

int
serve_cmd_run(int argc, char **argv, const char *path, bool given)
{
	struct config *c;
	int code;

	/* Hidden, like check-config --man: the router table for the tests. */
	if (argc == 2 && strcmp(argv[1], "--routes") == 0)
		return serve_routes(stdout);
	if (!cli_no_args(argc, argv, "serve", serve_cmd_usage, &code))
		return code;
	if ((c = cli_load_config(path, given)) == NULL)
		return CLI_EXIT_USAGE;
	code = serve_main(c, path);
	config_free(c);
	return code;
}
