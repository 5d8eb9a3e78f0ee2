/* berth version — print the client's version. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int cmd_version(int argc, char **argv)
{
	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		printf("Usage: berth version\n\n"
		       "Prints the version of the berth client.\n"
		       "  -h, --help        show this help\n");
		return CLI_EXIT_OK;
	}
	if (argc > 1)
		return cli_usage_error(argv[0], "unexpected argument \"%s\"", argv[1]);
	printf("berth %s\n", BERTH_VERSION);
	return CLI_EXIT_OK;
}
