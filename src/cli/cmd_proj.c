/* berth proj create, get, list, delete, add-destination, add-source:
 * AppProjects through the API server; create and update send the AppProject
 * itself. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "client.h"
#include "err.h"
#include "jsonx.h"
#include "model.h"
#include "resource.h"
#include "str.h"

/* Adds {server|name, namespace} for "SERVER,NAMESPACE" to spec.destinations. */
static int add_destination(json_t *spec, const char *arg, bool by_name)
{
	const char *comma = strchr(arg, ',');
	if (!comma || comma == arg || !comma[1])
		return -1;
	char *server = strndup(arg, (size_t)(comma - arg));
	json_t *list = json_object_get(spec, "destinations");
	if (!json_is_array(list)) {
		list = json_array();
		json_object_set_new(spec, "destinations", list);
	}
	json_array_append_new(list, json_pack("{s:s,s:s}", by_name ? "name" : "server", server ? server : "",
					      "namespace", comma + 1));
	free(server);
	return 0;
}

static void add_source(json_t *spec, const char *repo)
{
	json_t *list = json_object_get(spec, "sourceRepos"), *v;
	size_t i;
	if (!json_is_array(list)) {
		list = json_array();
		json_object_set_new(spec, "sourceRepos", list);
	}
	json_array_foreach(list, i, v)
		if (str_eq_null(json_string_value(v), repo))
			return;
	json_array_append_new(list, json_string(repo));
}

static const char create_usage[] =
	"Usage: berth proj create NAME [--description D] [-d SERVER,NAMESPACE]...\n"
	"                         [--dest-name NAME,NAMESPACE]... [-s REPO]... [--upsert]\n"
	"\n"
	"Creates an AppProject: the source repositories and destinations its\n"
	"applications may use (globs allowed, e.g. -d '*,team-*' -s '*').\n"
	"\n"
	"      --description D          what the project is for\n"
	"  -d, --dest SERVER,NAMESPACE  an allowed destination (repeatable)\n"
	"      --dest-name NAME,NAMESPACE  an allowed destination by cluster name\n"
	"  -s, --src REPO               an allowed source repository (repeatable)\n"
	"      --upsert                 replace a project of the same name\n"
	"  -h, --help                   show this help\n"
	"\n" CLI_GLOBAL_HELP "\n"
	"Exit status: 0 created, 2 an error.\n";

int cmd_proj_create(int argc, char **argv)
{
	enum { OPT_DESC = CLI_OPT_FIRST_FREE, OPT_DEST_NAME, OPT_UPSERT };
	static const struct option opts[] = {{"description", required_argument, NULL, OPT_DESC},
					     {"dest", required_argument, NULL, 'd'},
					     {"dest-name", required_argument, NULL, OPT_DEST_NAME},
					     {"src", required_argument, NULL, 's'},
					     {"upsert", no_argument, NULL, OPT_UPSERT},
					     {"help", no_argument, NULL, 'h'},
					     CLI_GLOBAL_LONGOPTS,
					     {NULL, 0, NULL, 0}};
	struct cli_global g = {0};
	struct cli_conn conn = {0};
	json_t *spec = json_object(), *proj = NULL, *resp = NULL;
	bool upsert = false;
	int c, rc;

	while ((c = getopt_long(argc, argv, "d:s:h", opts, NULL)) != -1) {
		if (cli_global_opt(&g, c, optarg))
			continue;
		switch (c) {
		case OPT_DESC: json_object_set_new(spec, "description", json_string(optarg)); break;
		case 'd':
		case OPT_DEST_NAME:
			if (add_destination(spec, optarg, c == OPT_DEST_NAME) < 0) {
				rc = cli_usage_error(argv[0], "a destination is SERVER,NAMESPACE, not \"%s\"", optarg);
				goto out;
			}
			break;
		case 's': add_source(spec, optarg); break;
		case OPT_UPSERT: upsert = true; break;
		case 'h': fputs(create_usage, stdout); rc = 0; goto out;
		default: rc = cli_usage_error(argv[0], "bad flag"); goto out;
		}
	}
	if (optind + 1 != argc) {
		rc = cli_usage_error(argv[0], "expected one NAME");
		goto out;
	}
	proj = json_pack("{s:s,s:s,s:{s:s},s:O}", "apiVersion", MODEL_API_VERSION, "kind", MODEL_KIND_PROJECT,
			 "metadata", "name", argv[optind], "spec", spec);
	if ((rc = cli_connect(argv[0], &g, true, &conn)) != 0)
		goto out;
	if ((rc = cli_call(&conn, "POST", upsert ? "/api/v1/projects?upsert=true" : "/api/v1/projects", proj, NULL,
			   &resp)) == 0)
		printf("project '%s' created\n", argv[optind]);
out:
	json_decref(spec);
	json_decref(proj);
	json_decref(resp);
	cli_conn_release(&conn);
	return rc;
}

static const char get_usage[] =
	"Usage: berth proj get NAME [-o json|yaml]\n"
	"\n"
	"Shows a project: its sources and destinations.\n"
	"\n"
	"  -o, --output FORMAT          json or yaml instead of the summary\n"
	"  -h, --help                   show this help\n"
	"\n" CLI_GLOBAL_HELP "\n"
	"Exit status: 0 shown, 2 an error.\n";

int cmd_proj_get(int argc, char **argv)
{
	struct cli_global g = {0};
	struct cli_conn conn = {0};
	const char *out_fmt = NULL;
	json_t *proj = NULL, *v;
	char *path = NULL, what[400];
	size_t i;
	int rc = cli_simple_args(argc, argv, get_usage, 1, "one NAME", &g, &out_fmt);

	if (rc)
		return rc < 0 ? 0 : rc;
	if ((rc = cli_connect(argv[0], &g, true, &conn)) != 0)
		return rc;
	path = cli_path("projects", argv[optind], NULL);
	snprintf(what, sizeof(what), "project \"%s\"", argv[optind]);
	if ((rc = cli_call(&conn, "GET", path, NULL, what, &proj)) != 0)
		goto out;
	if (out_fmt) {
		rc = cli_print_value(argv[0], proj, out_fmt);
		goto out;
	}
	printf("%-20s%s\n", "Name:", cli_str(proj, "", "metadata", "name", NULL));
	printf("%-20s%s\n", "Description:", cli_str(proj, "", "spec", "description", NULL));
	json_array_foreach(jx_path(proj, "spec", "destinations", NULL), i, v)
		printf("%-20s%s,%s\n", i == 0 ? "Destinations:" : "", cli_str(v, cli_str(v, "", "name", NULL), "server", NULL),
		       cli_str(v, "", "namespace", NULL));
	json_array_foreach(jx_path(proj, "spec", "sourceRepos", NULL), i, v)
		printf("%-20s%s\n", i == 0 ? "Repositories:" : "", json_string_value(v) ? json_string_value(v) : "");
out:
	free(path);
	json_decref(proj);
	cli_conn_release(&conn);
	return rc;
}

static const char list_usage[] =
	"Usage: berth proj list [-o json|yaml]\n"
	"\n"
	"Lists the projects.\n"
	"\n"
	"  -o, --output FORMAT          json or yaml instead of the table\n"
	"  -h, --help                   show this help\n"
	"\n" CLI_GLOBAL_HELP "\n"
	"Exit status: 0 listed, 2 an error.\n";

static void proj_row(json_t *rows, const json_t *p)
{
	char nd[32], ns[32];
	snprintf(nd, sizeof(nd), "%zu", json_array_size(jx_path(p, "spec", "destinations", NULL)));
	snprintf(ns, sizeof(ns), "%zu", json_array_size(jx_path(p, "spec", "sourceRepos", NULL)));
	cli_table_row(rows, 4, cli_str(p, "", "metadata", "name", NULL), cli_str(p, "", "spec", "description", NULL), nd,
		      ns);
}

int cmd_proj_list(int argc, char **argv)
{
	static const char *const header[] = {"NAME", "DESCRIPTION", "DESTINATIONS", "SOURCES", NULL};
	static const struct cli_listing l = {list_usage, "projects", header, proj_row};
	return cli_list_command(argc, argv, &l);
}

static const char delete_usage[] =
	"Usage: berth proj delete NAME\n"
	"\n"
	"Deletes a project (refused by the server while applications use it).\n"
	"\n"
	"  -h, --help                   show this help\n"
	"\n" CLI_GLOBAL_HELP "\n"
	"Exit status: 0 deleted, 2 an error.\n";

int cmd_proj_delete(int argc, char **argv)
{
	static const struct cli_removal r = {delete_usage, "projects", "project", "one NAME", "deleted"};
	return cli_remove_command(argc, argv, &r);
}

/* GET the project, let edit change its spec, PUT it back. */
static int update_project(int argc, char **argv, const char *usage, bool dest)
{
	struct cli_global g = {0};
	struct cli_conn conn = {0};
	json_t *proj = NULL, *resp = NULL;
	char *path = NULL, what[400];
	int rc = cli_simple_args(argc, argv, usage, dest ? 3 : 2, dest ? "NAME, SERVER and NAMESPACE" : "NAME and REPO", &g, NULL);

	if (rc)
		return rc < 0 ? 0 : rc;
	if ((rc = cli_connect(argv[0], &g, true, &conn)) != 0)
		return rc;
	path = cli_path("projects", argv[optind], NULL);
	snprintf(what, sizeof(what), "project \"%s\"", argv[optind]);
	if ((rc = cli_call(&conn, "GET", path, NULL, what, &proj)) != 0)
		goto out;
	json_t *spec = jx_obj_ensure(proj, "spec");
	if (dest) {
		char *d = str_printf("%s,%s", argv[optind + 1], argv[optind + 2]);
		add_destination(spec, d ? d : ",", false);
		free(d);
	} else {
		add_source(spec, argv[optind + 1]);
	}
	if ((rc = cli_call(&conn, "PUT", path, proj, what, &resp)) == 0)
		printf("project '%s' updated\n", argv[optind]);
out:
	free(path);
	json_decref(proj);
	json_decref(resp);
	cli_conn_release(&conn);
	return rc;
}

static const char add_dest_usage[] =
	"Usage: berth proj add-destination NAME SERVER NAMESPACE\n"
	"\n"
	"Allows the project's applications to deploy to NAMESPACE on the cluster at\n"
	"SERVER (globs allowed).\n"
	"\n"
	"  -h, --help                   show this help\n"
	"\n" CLI_GLOBAL_HELP "\n"
	"Exit status: 0 updated, 2 an error.\n";

int cmd_proj_add_destination(int argc, char **argv)
{
	return update_project(argc, argv, add_dest_usage, true);
}

static const char add_src_usage[] =
	"Usage: berth proj add-source NAME REPO\n"
	"\n"
	"Allows the project's applications to use repository REPO (a glob allowed).\n"
	"\n"
	"  -h, --help                   show this help\n"
	"\n" CLI_GLOBAL_HELP "\n"
	"Exit status: 0 updated, 2 an error.\n";

int cmd_proj_add_source(int argc, char **argv)
{
	return update_project(argc, argv, add_src_usage, false);
}
