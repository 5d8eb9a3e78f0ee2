/*
 * resource.h — the "list" and "remove" commands that repositories, clusters
 * and projects share.
 *
 * Each of `berth repo|cluster|proj list` GETs /api/v1/<collection> (answered
 * {items:[…]}) and prints the items as a table, or as JSON/YAML with -o; each
 * of `berth repo rm`, `cluster rm`, `proj delete` DELETEs
 * /api/v1/<collection>/<name>. Only the usage text, the path, the words in
 * messages and the table's columns differ, so a command describes them in a
 * struct and hands its argv here. Both functions parse the command's flags
 * (-o/--output for lists, --help, the connection flags of client.h) and
 * return the process exit status, errors already printed.
 */
#ifndef BERTH_CLI_RESOURCE_H
#define BERTH_CLI_RESOURCE_H

#include <jansson.h>

#include "client.h"

/* Parses the flags of a command with only --help, the connection flags and
 * (when out_fmt is not NULL) -o json|yaml, and checks that exactly nargs
 * positional arguments follow (args says which, for the message: "one
 * URL", "NAME and REPO"). -1 after --help (printed), else 0 to go on or an
 * exit status (the usage error printed). */
int cli_simple_args(int argc, char **argv, const char *usage, int nargs, const char *args, struct cli_global *g,
		    const char **out_fmt);

struct cli_listing {
	const char *usage;                 /* printed for --help */
	const char *collection;            /* "repositories" → GET /api/v1/repositories */
	const char *const *header;         /* column titles, NULL-terminated */
	void (*row)(json_t *rows, const json_t *item); /* appends item's row (cli_table_row) */
};

/* `berth <group> list [-o json|yaml]`: 0 listed, CLI_EXIT_ERROR. */
int cli_list_command(int argc, char **argv, const struct cli_listing *l);

struct cli_removal {
	const char *usage;      /* printed for --help */
	const char *collection; /* "repositories" → DELETE /api/v1/repositories/<arg> */
	const char *noun;       /* "repository", in messages */
	const char *arg;        /* "one URL": the argument, in usage errors */
	const char *done;       /* "removed" or "deleted", in the success line */
};

/* `berth <group> rm ARG`: 0 removed, CLI_EXIT_ERROR (404 → "<noun> "ARG" not found"). */
int cli_remove_command(int argc, char **argv, const struct cli_removal *r);

#endif
