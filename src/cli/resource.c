/* The shared list and remove commands (resource.h). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "client.h"
#include "resource.h"

int cli_simple_args(int argc, char **argv, const char *usage, int nargs, const char *args, struct cli_global *g,
		    const char **out_fmt)
{
	static const struct option opts[] = {{"output", required_argument, NULL, 'o'},
					     {"help", no_argument, NULL, 'h'},
					     CLI_GLOBAL_LONGOPTS,
					     {NULL, 0, NULL, 0}};
	int c;

	while ((c = getopt_long(argc, argv, out_fmt ? "o:h" : "h", opts, NULL)) != -1) {
		if (cli_global_opt(g, c, optarg))
			continue;
		if (c == 'o' && out_fmt) {
			*out_fmt = optarg;
		} else if (c == 'h') {
			fputs(usage, stdout);
			return -1;
		} else {
			return cli_usage_error(argv[0], "bad flag");
		}
	}
	if (nargs == 0 && optind != argc)
		return cli_usage_error(argv[0], "unexpected argument \"%s\"", argv[optind]);
	if (argc - optind != nargs)
		return cli_usage_error(argv[0], "expected %s", args);
	if (out_fmt && *out_fmt && strcmp(*out_fmt, "json") && strcmp(*out_fmt, "yaml"))
		return cli_usage_error(argv[0], "-o is json or yaml");
	return 0;
}

int cli_list_command(int argc, char **argv, const struct cli_listing *l)
{
	struct cli_global g = {0};
	struct cli_conn conn = {0};
	const char *out_fmt = NULL;
	json_t *resp = NULL, *item, *rows, *items;
	char path[128];
	size_t i;
	int rc = cli_simple_args(argc, argv, l->usage, 0, NULL, &g, &out_fmt);

	if (rc)
		return rc < 0 ? CLI_EXIT_OK : rc;
	if ((rc = cli_connect(argv[0], &g, true, &conn)) != 0)
		return rc;
	snprintf(path, sizeof(path), "/api/v1/%s", l->collection);
	if ((rc = cli_call(&conn, "GET", path, NULL, NULL, &resp)) != 0)
		goto out;
	items = json_object_get(resp, "items");
	if (out_fmt) {
		rc = cli_print_value(argv[0], items ? items : resp, out_fmt);
		goto out;
	}
	rows = json_array();
	json_t *header = json_array();
	for (const char *const *h = l->header; *h; h++)
		json_array_append_new(header, json_string(*h));
	json_array_append_new(rows, header);
	json_array_foreach(items, i, item)
		l->row(rows, item);
	cli_table_print(rows);
	json_decref(rows);
out:
	json_decref(resp);
	cli_conn_release(&conn);
	return rc;
}

int cli_remove_command(int argc, char **argv, const struct cli_removal *r)
{
	struct cli_global g = {0};
	struct cli_conn conn = {0};
	char what[600], *path;
	int rc = cli_simple_args(argc, argv, r->usage, 1, r->arg, &g, NULL);

	if (rc)
		return rc < 0 ? CLI_EXIT_OK : rc;
	if ((rc = cli_connect(argv[0], &g, true, &conn)) != 0)
		return rc;
	path = cli_path(r->collection, argv[optind], NULL);
	snprintf(what, sizeof(what), "%s \"%s\"", r->noun, argv[optind]);
	if ((rc = cli_call(&conn, "DELETE", path, NULL, what, NULL)) == 0)
		printf("%s '%s' %s\n", r->noun, argv[optind], r->done);
	free(path);
	cli_conn_release(&conn);
	return rc;
}
