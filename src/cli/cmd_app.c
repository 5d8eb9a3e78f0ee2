/* berth app create, set, get, list, history, delete, manifests and
 * terminate-op: Applications through the API server (DESIGN.md §9). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "cli.h"
#include "client.h"
#include "err.h"
#include "jsonx.h"
#include "kyaml.h"
#include "model.h"
#include "str.h"

/* ---- spec flags ------------------------------------------------------- */

void app_flags_init(struct app_flags *f)
{
	memset(f, 0, sizeof(*f));
	f->sync_options = json_array();
	f->helm_sets = json_array();
	f->values = json_array();
	f->kustomize_images = json_array();
}

void app_flags_release(struct app_flags *f)
{
	json_decref(f->sync_options);
	json_decref(f->helm_sets);
	json_decref(f->values);
	json_decref(f->kustomize_images);
	memset(f, 0, sizeof(*f));
}

bool app_flags_opt(struct app_flags *f, int c, const char *arg)
{
	switch (c) {
	case APP_OPT_REPO: f->repo = arg; break;
	case APP_OPT_PATH: f->path = arg; break;
	case APP_OPT_REVISION: f->revision = arg; break;
	case APP_OPT_DEST_SERVER: f->dest_server = arg; break;
	case APP_OPT_DEST_NAME: f->dest_name = arg; break;
	case APP_OPT_DEST_NAMESPACE: f->dest_namespace = arg; break;
	case APP_OPT_PROJECT: f->project = arg; break;
	case APP_OPT_SYNC_POLICY: f->sync_policy = arg; break;
	case APP_OPT_AUTO_PRUNE: f->auto_prune = true; break;
	case APP_OPT_SELF_HEAL: f->self_heal = true; break;
	case APP_OPT_ALLOW_EMPTY: f->allow_empty = true; break;
	case APP_OPT_SYNC_OPTION: json_array_append_new(f->sync_options, json_string(arg)); break;
	case APP_OPT_HELM_SET: json_array_append_new(f->helm_sets, json_string(arg)); break;
	case APP_OPT_VALUES: json_array_append_new(f->values, json_string(arg)); break;
	case APP_OPT_RELEASE_NAME: f->release_name = arg; break;
	case APP_OPT_KUSTOMIZE_IMAGE: json_array_append_new(f->kustomize_images, json_string(arg)); break;
	case APP_OPT_DIRECTORY_RECURSE: f->directory_recurse = true; break;
	default: return false;
	}
	return true;
}

/* Appends s to the string array at obj[key] unless it is there already. */
static void add_unique(json_t *obj, const char *key, const char *s)
{
	json_t *arr = json_object_get(obj, key), *v;
	size_t i;
	if (!json_is_array(arr)) {
		arr = json_array();
		json_object_set_new(obj, key, arr);
	}
	json_array_foreach(arr, i, v)
		if (str_eq_null(json_string_value(v), s))
			return;
	json_array_append_new(arr, json_string(s));
}

static int apply_helm_sets(const struct app_flags *f, json_t *source, const char **err)
{
	json_t *v, *params, *p;
	size_t i, j;

	json_array_foreach(f->helm_sets, i, v) {
		const char *kv = json_string_value(v), *eq = strchr(kv, '=');
		if (!eq || eq == kv) {
			*err = "--helm-set wants KEY=VALUE";
			return -1;
		}
		char *key = strndup(kv, (size_t)(eq - kv));
		json_t *helm = jx_obj_ensure(source, "helm");
		params = json_object_get(helm, "parameters");
		if (!json_is_array(params)) {
			params = json_array();
			json_object_set_new(helm, "parameters", params);
		}
		bool found = false;
		json_array_foreach(params, j, p) {
			if (key && str_eq_null(jx_str(p, "name"), key)) {
				json_object_set_new(p, "value", json_string(eq + 1));
				found = true;
			}
		}
		if (!found)
			json_array_append_new(params, json_pack("{s:s,s:s}", "name", key ? key : "", "value", eq + 1));
		free(key);
	}
	return 0;
}

int app_flags_apply(const struct app_flags *f, json_t *app, const char **err)
{
	json_t *spec = jx_obj_ensure(app, "spec"), *source, *dest, *policy, *v;
	size_t i;

	if (json_is_array(json_object_get(spec, "sources")) && !json_object_get(spec, "source") &&
	    json_array_size(json_object_get(spec, "sources")) > 0)
		source = json_array_get(json_object_get(spec, "sources"), 0);
	else
		source = jx_obj_ensure(spec, "source");
	dest = jx_obj_ensure(spec, "destination");
	if (f->repo)
		json_object_set_new(source, "repoURL", json_string(f->repo));
	if (f->path)
		json_object_set_new(source, "path", json_string(f->path));
	if (f->revision)
		json_object_set_new(source, "targetRevision", json_string(f->revision));
	if (f->dest_server && f->dest_name) {
		*err = "give one of --dest-server and --dest-name";
		return -1;
	}
	if (f->dest_server) {
		json_object_set_new(dest, "server", json_string(f->dest_server));
		json_object_del(dest, "name");
	}
	if (f->dest_name) {
		json_object_set_new(dest, "name", json_string(f->dest_name));
		json_object_del(dest, "server");
	}
	if (f->dest_namespace)
		json_object_set_new(dest, "namespace", json_string(f->dest_namespace));
	if (f->project)
		json_object_set_new(spec, "project", json_string(f->project));
	if (f->sync_policy && strcmp(f->sync_policy, "automated") != 0 && strcmp(f->sync_policy, "auto") != 0 &&
	    strcmp(f->sync_policy, "none") != 0 && strcmp(f->sync_policy, "manual") != 0) {
		*err = "--sync-policy is automated or none";
		return -1;
	}
	if (f->sync_policy && (strcmp(f->sync_policy, "none") == 0 || strcmp(f->sync_policy, "manual") == 0)) {
		json_object_del(jx_obj_ensure(spec, "syncPolicy"), "automated");
	} else if (f->sync_policy || f->auto_prune || f->self_heal || f->allow_empty) {
		policy = jx_obj_ensure(spec, "syncPolicy");
		if (!f->sync_policy && !json_object_get(policy, "automated")) {
			*err = "--auto-prune, --self-heal and --allow-empty need --sync-policy automated";
			return -1;
		}
		json_t *a = jx_obj_ensure(policy, "automated");
		if (f->auto_prune)
			json_object_set_new(a, "prune", json_true());
		if (f->self_heal)
			json_object_set_new(a, "selfHeal", json_true());
		if (f->allow_empty)
			json_object_set_new(a, "allowEmpty", json_true());
	}
	json_array_foreach(f->sync_options, i, v)
		add_unique(jx_obj_ensure(spec, "syncPolicy"), "syncOptions", json_string_value(v));
	if (apply_helm_sets(f, source, err) < 0)
		return -1;
	json_array_foreach(f->values, i, v)
		add_unique(jx_obj_ensure(source, "helm"), "valueFiles", json_string_value(v));
	if (f->release_name)
		json_object_set_new(jx_obj_ensure(source, "helm"), "releaseName", json_string(f->release_name));
	json_array_foreach(f->kustomize_images, i, v)
		add_unique(jx_obj_ensure(source, "kustomize"), "images", json_string_value(v));
	if (f->directory_recurse)
		json_object_set_new(jx_obj_ensure(source, "directory"), "recurse", json_true());
	return 0;
}

int app_fetch(struct cli_conn *c, const char *name, const char *refresh, json_t **ret)
{
	char *path = cli_path("applications", name, NULL), *full;
	char what[400];
	int rc;

	full = refresh ? str_printf("%s?refresh=%s", path, refresh) : str_dup(path);
	snprintf(what, sizeof(what), "application \"%s\"", name);
	rc = full ? cli_call(c, "GET", full, NULL, what, ret) : cli_error(c->cmd, "out of memory");
	free(full);
	free(path);
	return rc;
}

/* ---- app create / set ------------------------------------------------- */

static const char create_usage[] =
	"Usage: berth app create NAME --repo URL [--path P] [--revision R]\n"
	"                        (--dest-server URL | --dest-name N) --dest-namespace NS\n"
	"                        [--project P] [--sync-policy automated [--auto-prune]\n"
	"                        [--self-heal] [--allow-empty]] [--sync-option O]...\n"
	"                        [--helm-set K=V]... [--values F]... [--release-name N]\n"
	"                        [--kustomize-image IMG]... [--directory-recurse] [--upsert]\n"
	"       berth app create -f FILE [--upsert]\n"
	"\n"
	"Creates an application from flags, or from the Application manifests in FILE\n"
	"(YAML or JSON, several documents allowed; berth.dev/v1alpha1 and Argo CD's\n"
	"argoproj.io/v1alpha1 are both accepted).\n"
	"\n"
	"  -f, --file FILE              Application manifests (\"-\": stdin)\n"
	"      --upsert                 replace an existing application of that name\n"
	"  -h, --help                   show this help\n"
	"\n" APP_SPEC_HELP "\n" CLI_GLOBAL_HELP "\n"
	"Exit status: 0 created, 2 an error.\n";

static int post_app(struct cli_conn *conn, json_t *app, bool upsert)
{
	const char *name = jx_path_str(app, "metadata", "name", NULL);
	json_t *resp = NULL;
	int rc;

	rc = cli_call(conn, "POST", upsert ? "/api/v1/applications?upsert=true" : "/api/v1/applications", app,
		      NULL, &resp);
	if (rc == 0)
		printf("application '%s' %s\n", name ? name : "?", upsert ? "created or updated" : "created");
	json_decref(resp);
	return rc;
}

static int create_from_file(struct cli_conn *conn, const char *file, bool upsert)
{
	json_t *objs = NULL, *o;
	size_t i;
	int rc = 0;

	if (cli_load_objects(file, &objs) < 0)
		return cli_error(conn->cmd, "%s", err_msg());
	json_array_foreach(objs, i, o) {
		const char *kind = jx_str(o, "kind");
		if (!kind || strcmp(kind, "Application") != 0) {
			rc = cli_error(conn->cmd, "\"%s\": document %zu is a %s, not an Application", file, i + 1,
				       kind ? kind : "?");
			break;
		}
		if (model_convert_argocd(o) < 0) {
			rc = cli_error(conn->cmd, "\"%s\": %s", file, err_msg());
			break;
		}
		/* The API server keeps applications in its own namespace. */
		json_object_del(jx_obj_ensure(o, "metadata"), "namespace");
		if ((rc = post_app(conn, o, upsert)) != 0)
			break;
	}
	json_decref(objs);
	return rc;
}

int cmd_app_create(int argc, char **argv)
{
	enum { OPT_UPSERT = CLI_OPT_FIRST_FREE };
	static const struct option opts[] = {APP_SPEC_LONGOPTS,
					     {"file", required_argument, NULL, 'f'},
					     {"upsert", no_argument, NULL, OPT_UPSERT},
					     {"help", no_argument, NULL, 'h'},
					     CLI_GLOBAL_LONGOPTS,
					     {NULL, 0, NULL, 0}};
	struct cli_global g = {0};
	struct app_flags f;
	struct cli_conn conn = {0};
	const char *file = NULL, *err = NULL;
	bool upsert = false;
	json_t *app = NULL;
	int c, rc = CLI_EXIT_ERROR;

	app_flags_init(&f);
	while ((c = getopt_long(argc, argv, "f:h", opts, NULL)) != -1) {
		if (cli_global_opt(&g, c, optarg) || app_flags_opt(&f, c, optarg))
			continue;
		switch (c) {
		case 'f': file = optarg; break;
		case OPT_UPSERT: upsert = true; break;
		case 'h': fputs(create_usage, stdout); rc = 0; goto out;
		default: rc = cli_usage_error(argv[0], "bad flag"); goto out;
		}
	}
	if (file) {
		if (optind != argc) {
			rc = cli_usage_error(argv[0], "-f FILE takes no NAME");
			goto out;
		}
		if ((rc = cli_connect(argv[0], &g, true, &conn)) == 0)
			rc = create_from_file(&conn, file, upsert);
		goto out;
	}
	if (optind + 1 != argc) {
		rc = cli_usage_error(argv[0], "expected one NAME (or -f FILE)");
		goto out;
	}
	if (!f.repo || !f.dest_namespace || (!f.dest_server && !f.dest_name)) {
		rc = cli_usage_error(argv[0], "--repo, --dest-namespace and one of --dest-server or --dest-name "
					      "are required");
		goto out;
	}
	app = json_pack("{s:s,s:s,s:{s:s},s:{s:s,s:{s:s,s:s},s:{}}}", "apiVersion", MODEL_API_VERSION, "kind",
			"Application", "metadata", "name", argv[optind], "spec", "project", "default", "source",
			"path", ".", "targetRevision", "HEAD", "destination");
	if (!app || app_flags_apply(&f, app, &err) < 0) {
		rc = cli_usage_error(argv[0], "%s", err ? err : "out of memory");
		goto out;
	}
	if ((rc = cli_connect(argv[0], &g, true, &conn)) == 0)
		rc = post_app(&conn, app, upsert);
out:
	json_decref(app);
	app_flags_release(&f);
	cli_conn_release(&conn);
	return rc;
}

static const char set_usage[] =
	"Usage: berth app set NAME [spec flags as for app create]...\n"
	"\n"
	"Changes the spec of an application: each flag given replaces (or, for the\n"
	"repeatable ones, adds to) what the application has.\n"
	"\n"
	"  -h, --help                   show this help\n"
	"\n" APP_SPEC_HELP "\n" CLI_GLOBAL_HELP "\n"
	"Exit status: 0 changed, 2 an error.\n";

int cmd_app_set(int argc, char **argv)
{
	static const struct option opts[] = {APP_SPEC_LONGOPTS, {"help", no_argument, NULL, 'h'},
					     CLI_GLOBAL_LONGOPTS, {NULL, 0, NULL, 0}};
	struct cli_global g = {0};
	struct app_flags f;
	struct cli_conn conn = {0};
	const char *err = NULL;
	json_t *app = NULL, *resp = NULL;
	char *path = NULL;
	int c, rc = CLI_EXIT_ERROR;

	app_flags_init(&f);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (cli_global_opt(&g, c, optarg) || app_flags_opt(&f, c, optarg))
			continue;
		if (c == 'h') {
			fputs(set_usage, stdout);
			rc = 0;
		} else
			rc = cli_usage_error(argv[0], "bad flag");
		goto out;
	}
	if (optind + 1 != argc) {
		rc = cli_usage_error(argv[0], "expected one NAME");
		goto out;
	}
	if ((rc = cli_connect(argv[0], &g, true, &conn)) != 0 || (rc = app_fetch(&conn, argv[optind], NULL, &app)))
		goto out;
	if (app_flags_apply(&f, app, &err) < 0) {
		rc = cli_usage_error(argv[0], "%s", err);
		goto out;
	}
	json_object_del(app, "status");
	path = cli_path("applications", argv[optind], NULL);
	if ((rc = cli_call(&conn, "PUT", path, app, NULL, &resp)) == 0)
		printf("application '%s' updated\n", argv[optind]);
out:
	free(path);
	json_decref(app);
	json_decref(resp);
	app_flags_release(&f);
	cli_conn_release(&conn);
	return rc;
}

/* ---- app get ---------------------------------------------------------- */

static const char get_usage[] =
	"Usage: berth app get NAME [--refresh | --hard-refresh] [-o json|yaml|wide|tree]\n"
	"\n"
	"Shows an application: a summary, then its resources with their sync status\n"
	"and health.\n"
	"\n"
	"      --refresh                compare with Git and the cluster again first\n"
	"      --hard-refresh           the same, rendering again without the cache\n"
	"  -o, --output FORMAT          json, yaml, wide (more columns) or tree (the\n"
	"                               resource tree, with owned objects)\n"
	"  -h, --help                   show this help\n"
	"\n" CLI_GLOBAL_HELP "\n"
	"Exit status: 0 shown, 2 an error (no such application).\n";

static void print_field(const char *label, const char *value)
{
	const char *col = cli_status_colour(value);
	printf("%-20s%s%s%s\n", label, col, value ? value : "", *col ? cli_colour_reset() : "");
}

void app_print_resources(const json_t *app, bool wide)
{
	json_t *rows = json_array(), *r;
	size_t i;

	if (wide)
		cli_table_row(rows, 9, "GROUP", "KIND", "NAMESPACE", "NAME", "STATUS", "HEALTH", "WAVE", "HOOK",
			      "MESSAGE");
	else
		cli_table_row(rows, 6, "GROUP", "KIND", "NAMESPACE", "NAME", "STATUS", "HEALTH");
	json_array_foreach(jx_path(app, "status", "resources", NULL), i, r) {
		char wave[32];
		snprintf(wave, sizeof(wave), "%lld", (long long)json_integer_value(json_object_get(r, "syncWave")));
		const char *status = cli_str(r, "", "status", NULL);
		if (json_is_true(json_object_get(r, "requiresPruning")))
			status = "OutOfSync (prune)";
		if (wide)
			cli_table_row(rows, 9, cli_str(r, "", "group", NULL), cli_str(r, "", "kind", NULL),
				      cli_str(r, "", "namespace", NULL), cli_str(r, "", "name", NULL), status,
				      cli_str(r, "", "health", "status", NULL), wave,
				      json_is_true(json_object_get(r, "hook")) ? "hook" : "",
				      cli_str(r, "", "health", "message", NULL));
		else
			cli_table_row(rows, 6, cli_str(r, "", "group", NULL), cli_str(r, "", "kind", NULL),
				      cli_str(r, "", "namespace", NULL), cli_str(r, "", "name", NULL), status,
				      cli_str(r, "", "health", "status", NULL));
	}
	cli_table_print(rows);
	json_decref(rows);
}

static void print_summary(const struct cli_conn *conn, const json_t *app)
{
	const json_t *spec = json_object_get(app, "spec");
	const json_t *src = json_object_get(spec, "source");
	const json_t *auto_ = jx_path(spec, "syncPolicy", "automated", NULL);
	const char *name = jx_path_str(app, "metadata", "name", NULL);
	const char *rev = cli_str(app, NULL, "status", "sync", "revision", NULL);
	char line[1024], url[1024];
	size_t i;
	json_t *cond;

	if (!src)
		src = json_array_get(json_object_get(spec, "sources"), 0);
	print_field("Name:", name);
	print_field("Project:", cli_str(spec, "default", "project", NULL));
	print_field("Server:", cli_str(spec, cli_str(spec, "", "destination", "name", NULL), "destination", "server",
				       NULL));
	print_field("Namespace:", cli_str(spec, "", "destination", "namespace", NULL));
	snprintf(url, sizeof(url), "%s/applications/%s", conn->base, name ? name : "");
	print_field("URL:", url);
	print_field("Repo:", cli_str(src, "", "repoURL", NULL));
	print_field("Target:", cli_str(src, "HEAD", "targetRevision", NULL));
	print_field("Path:", cli_str(src, cli_str(src, "", "chart", NULL), "path", NULL));
	if (auto_)
		snprintf(line, sizeof(line), "Automated%s%s", json_is_true(json_object_get(auto_, "prune")) ? " (Prune)" : "",
			 json_is_true(json_object_get(auto_, "selfHeal")) ? " (Self-heal)" : "");
	else
		str_copy(line, "Manual", sizeof(line));
	print_field("Sync Policy:", line);
	const char *sync = cli_str(app, "Unknown", "status", "sync", "status", NULL);
	const char *col = cli_status_colour(sync);
	printf("%-20s%s%s%s", "Sync Status:", col, sync, *col ? cli_colour_reset() : "");
	if (rev)
		printf(" to %s (%.7s)", cli_str(src, "HEAD", "targetRevision", NULL), rev);
	putchar('\n');
	print_field("Health Status:", cli_str(app, "Unknown", "status", "health", "status", NULL));
	const json_t *op = jx_path(app, "status", "operationState", NULL);
	if (op) {
		snprintf(line, sizeof(line), "%s%s%s", cli_str(op, "", "phase", NULL),
			 jx_str(op, "message") ? ": " : "", cli_str(op, "", "message", NULL));
		print_field("Last Operation:", line);
	}
	json_array_foreach(jx_path(app, "status", "conditions", NULL), i, cond) {
		snprintf(line, sizeof(line), "%s: %s", cli_str(cond, "", "type", NULL), cli_str(cond, "", "message", NULL));
		print_field(i == 0 ? "Conditions:" : "", line);
	}
}

static bool same_key(const json_t *a, const json_t *b)
{
	static const char *const keys[] = {"group", "kind", "namespace", "name"};
	for (int i = 0; i < 4; i++)
		if (!str_eq_null(cli_str(a, "", keys[i], NULL), cli_str(b, "", keys[i], NULL)))
			return false;
	return true;
}

/* Is n a child of parent? Trees name parents by "parentUid", or by
 * "parentRefs" entries holding a uid or group/kind/namespace/name. */
static bool is_child_of(const json_t *n, const json_t *parent)
{
	const char *puid = jx_str(parent, "uid"), *pu = jx_str(n, "parentUid");
	json_t *ref;
	size_t j;

	if (pu)
		return puid && strcmp(pu, puid) == 0;
	json_array_foreach(json_object_get(n, "parentRefs"), j, ref) {
		const char *ru = jx_str(ref, "uid");
		if (ru ? puid && strcmp(ru, puid) == 0 : same_key(ref, parent))
			return true;
	}
	return false;
}

static bool is_root(const json_t *n)
{
	return !jx_str(n, "parentUid") && json_array_size(json_object_get(n, "parentRefs")) == 0;
}

/* The health of node: its own, else that of the same resource in the
 * application's status. */
static const char *node_health(const json_t *node, const json_t *resources)
{
	json_t *r;
	size_t i;
	if (jx_path_str(node, "health", "status", NULL))
		return jx_path_str(node, "health", "status", NULL);
	json_array_foreach(resources, i, r)
		if (same_key(r, node))
			return cli_str(r, "", "health", "status", NULL);
	return "";
}

/* Prints node and, indented, its children. */
static void print_tree_node(const json_t *nodes, const json_t *resources, const json_t *node, const char *prefix,
			    bool last, int depth)
{
	const char *health = node_health(node, resources);
	const char *col = cli_status_colour(health);
	char sub[256];
	json_t *n;
	size_t i, nkids = 0, k = 0;

	printf("%s%s%s/%s %s%s%s\n", prefix, depth == 0 ? "" : last ? "└─" : "├─", cli_str(node, "", "kind", NULL),
	       cli_str(node, "", "name", NULL), col, health, *col ? cli_colour_reset() : "");
	if (depth > 16)
		return;
	snprintf(sub, sizeof(sub), "%s%s", prefix, depth == 0 ? "" : last ? "  " : "│ ");
	json_array_foreach(nodes, i, n)
		if (n != node && is_child_of(n, node))
			nkids++;
	json_array_foreach(nodes, i, n) {
		if (n != node && is_child_of(n, node)) {
			k++;
			print_tree_node(nodes, resources, n, sub, k == nkids, depth + 1);
		}
	}
}

static int print_tree(struct cli_conn *conn, const char *name, const json_t *resources)
{
	char *path = cli_path("applications", name, "/resource-tree");
	json_t *tree = NULL, *nodes, *n;
	size_t i;
	int rc;

	if ((rc = cli_call(conn, "GET", path, NULL, "application", &tree)) != 0)
		goto out;
	nodes = json_object_get(tree, "nodes");
	json_array_foreach(nodes, i, n)
		if (is_root(n))
			print_tree_node(nodes, resources, n, "", true, 0);
out:
	json_decref(tree);
	free(path);
	return rc;
}

int cmd_app_get(int argc, char **argv)
{
	enum { OPT_REFRESH = CLI_OPT_FIRST_FREE, OPT_HARD };
	static const struct option opts[] = {{"refresh", no_argument, NULL, OPT_REFRESH},
					     {"hard-refresh", no_argument, NULL, OPT_HARD},
					     {"output", required_argument, NULL, 'o'},
					     {"help", no_argument, NULL, 'h'},
					     CLI_GLOBAL_LONGOPTS,
					     {NULL, 0, NULL, 0}};
	struct cli_global g = {0};
	struct cli_conn conn = {0};
	const char *refresh = NULL, *out_fmt = "table";
	json_t *app = NULL;
	int c, rc;

	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		if (cli_global_opt(&g, c, optarg))
			continue;
		switch (c) {
		case OPT_REFRESH: refresh = "normal"; break;
		case OPT_HARD: refresh = "hard"; break;
		case 'o': out_fmt = optarg; break;
		case 'h': fputs(get_usage, stdout); return 0;
		default: return cli_usage_error(argv[0], "bad flag");
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error(argv[0], "expected one NAME");
	if (strcmp(out_fmt, "table") && strcmp(out_fmt, "json") && strcmp(out_fmt, "yaml") &&
	    strcmp(out_fmt, "wide") && strcmp(out_fmt, "tree"))
		return cli_usage_error(argv[0], "-o is json, yaml, wide or tree");
	if ((rc = cli_connect(argv[0], &g, true, &conn)) != 0)
		return rc;
	rc = refresh ? app_refresh(&conn, argv[optind], refresh, 60, &app) : app_fetch(&conn, argv[optind], NULL, &app);
	if (rc != 0)
		goto out;
	if (strcmp(out_fmt, "json") == 0 || strcmp(out_fmt, "yaml") == 0) {
		rc = cli_print_value(argv[0], app, out_fmt);
	} else if (strcmp(out_fmt, "tree") == 0) {
		print_summary(&conn, app);
		putchar('\n');
		rc = print_tree(&conn, argv[optind], jx_path(app, "status", "resources", NULL));
	} else {
		print_summary(&conn, app);
		putchar('\n');
		app_print_resources(app, strcmp(out_fmt, "wide") == 0);
	}
out:
	json_decref(app);
	cli_conn_release(&conn);
	return rc;
}

/* ---- app list --------------------------------------------------------- */

static const char list_usage[] =
	"Usage: berth app list [-p PROJECT] [-l SELECTOR] [-o json|yaml|wide|name]\n"
	"\n"
	"Lists the applications, one a line, with their sync status and health.\n"
	"\n"
	"  -p, --project P              only the applications of project P\n"
	"  -l, --selector SELECTOR      only those whose labels match (key=value,...)\n"
	"  -o, --output FORMAT          json, yaml, wide (repository and path) or name\n"
	"  -h, --help                   show this help\n"
	"\n" CLI_GLOBAL_HELP "\n"
	"Exit status: 0 listed, 2 an error.\n";

static int fetch_all_apps(struct cli_conn *conn, const char *project, const char *selector, json_t **ret)
{
	json_t *all = json_array(), *page = NULL;
	char *cont = NULL;
	int rc = 0;

	for (int n = 0; n < 10000; n++) {
		struct buf q;
		buf_init(&q, 1 << 16);
		buf_puts(&q, "/api/v1/applications?limit=500");
		if (project) {
			buf_puts(&q, "&project=");
			cli_escape(&q, project);
		}
		if (selector) {
			buf_puts(&q, "&selector=");
			cli_escape(&q, selector);
		}
		if (cont) {
			buf_puts(&q, "&continue=");
			cli_escape(&q, cont);
		}
		rc = cli_call(conn, "GET", q.ptr, NULL, NULL, &page);
		buf_release(&q);
		if (rc != 0)
			break;
		json_array_extend(all, json_is_array(json_object_get(page, "items")) ? json_object_get(page, "items")
										    : json_array());
		free(cont);
		cont = NULL;
		const char *next = jx_path_str(page, "metadata", "continue", NULL);
		if (next && *next)
			cont = str_dup(next);
		json_decref(page);
		page = NULL;
		if (!cont)
			break;
	}
	free(cont);
	if (rc == 0)
		*ret = all;
	else
		json_decref(all);
	return rc;
}

int cmd_app_list(int argc, char **argv)
{
	static const struct option opts[] = {{"project", required_argument, NULL, 'p'},
					     {"selector", required_argument, NULL, 'l'},
					     {"output", required_argument, NULL, 'o'},
					     {"help", no_argument, NULL, 'h'},
					     CLI_GLOBAL_LONGOPTS,
					     {NULL, 0, NULL, 0}};
	struct cli_global g = {0};
	struct cli_conn conn = {0};
	const char *project = NULL, *selector = NULL, *out_fmt = "table";
	json_t *apps = NULL, *a, *rows;
	size_t i;
	int c, rc;

	while ((c = getopt_long(argc, argv, "p:l:o:h", opts, NULL)) != -1) {
		if (cli_global_opt(&g, c, optarg))
			continue;
		switch (c) {
		case 'p': project = optarg; break;
		case 'l': selector = optarg; break;
		case 'o': out_fmt = optarg; break;
		case 'h': fputs(list_usage, stdout); return 0;
		default: return cli_usage_error(argv[0], "bad flag");
		}
	}
	if (optind != argc)
		return cli_usage_error(argv[0], "unexpected argument \"%s\"", argv[optind]);
	if (strcmp(out_fmt, "table") && strcmp(out_fmt, "json") && strcmp(out_fmt, "yaml") &&
	    strcmp(out_fmt, "wide") && strcmp(out_fmt, "name"))
		return cli_usage_error(argv[0], "-o is json, yaml, wide or name");
	if ((rc = cli_connect(argv[0], &g, true, &conn)) != 0)
		return rc;
	if ((rc = fetch_all_apps(&conn, project, selector, &apps)) != 0)
		goto out;
	if (strcmp(out_fmt, "json") == 0 || strcmp(out_fmt, "yaml") == 0) {
		rc = cli_print_value(argv[0], apps, out_fmt);
		goto out;
	}
	rows = json_array();
	bool wide = strcmp(out_fmt, "wide") == 0, names = strcmp(out_fmt, "name") == 0;
	if (wide)
		cli_table_row(rows, 9, "NAME", "CLUSTER", "NAMESPACE", "PROJECT", "STATUS", "HEALTH", "SYNCPOLICY",
			      "REPO", "PATH");
	else if (!names)
		cli_table_row(rows, 7, "NAME", "CLUSTER", "NAMESPACE", "PROJECT", "STATUS", "HEALTH", "SYNCPOLICY");
	json_array_foreach(apps, i, a) {
		const json_t *spec = json_object_get(a, "spec");
		const json_t *src = json_object_get(spec, "source");
		if (!src)
			src = json_array_get(json_object_get(spec, "sources"), 0);
		const char *cluster = cli_str(spec, cli_str(spec, "", "destination", "name", NULL), "destination",
					      "server", NULL);
		const char *policy = jx_path(spec, "syncPolicy", "automated", NULL) ? "Auto" : "Manual";
		if (names)
			cli_table_row(rows, 1, jx_path_str(a, "metadata", "name", NULL));
		else if (wide)
			cli_table_row(rows, 9, jx_path_str(a, "metadata", "name", NULL), cluster,
				      cli_str(spec, "", "destination", "namespace", NULL), cli_str(spec, "default", "project", NULL),
				      cli_str(a, "Unknown", "status", "sync", "status", NULL),
				      cli_str(a, "Unknown", "status", "health", "status", NULL), policy,
				      cli_str(src, "", "repoURL", NULL), cli_str(src, "", "path", NULL));
		else
			cli_table_row(rows, 7, jx_path_str(a, "metadata", "name", NULL), cluster,
				      cli_str(spec, "", "destination", "namespace", NULL), cli_str(spec, "default", "project", NULL),
				      cli_str(a, "Unknown", "status", "sync", "status", NULL),
				      cli_str(a, "Unknown", "status", "health", "status", NULL), policy);
	}
	cli_table_print(rows);
	json_decref(rows);
out:
	json_decref(apps);
	cli_conn_release(&conn);
	return rc;
}

/* ---- app history ------------------------------------------------------ */

static const char history_usage[] =
	"Usage: berth app history NAME [-o json]\n"
	"\n"
	"Lists the deployments of an application (the IDs app rollback takes).\n"
	"\n"
	"  -o, --output FORMAT          json or yaml instead of the table\n"
	"  -h, --help                   show this help\n"
	"\n" CLI_GLOBAL_HELP "\n"
	"Exit status: 0 shown, 2 an error.\n";

int cmd_app_history(int argc, char **argv)
{
	static const struct option opts[] = {{"output", required_argument, NULL, 'o'},
					     {"help", no_argument, NULL, 'h'},
					     CLI_GLOBAL_LONGOPTS,
					     {NULL, 0, NULL, 0}};
	struct cli_global g = {0};
	struct cli_conn conn = {0};
	const char *out_fmt = NULL;
	json_t *app = NULL, *h, *hist, *rows;
	size_t i;
	int c, rc;

	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		if (cli_global_opt(&g, c, optarg))
			continue;
		if (c == 'o')
			out_fmt = optarg;
		else if (c == 'h') {
			fputs(history_usage, stdout);
			return 0;
		} else
			return cli_usage_error(argv[0], "bad flag");
	}
	if (optind + 1 != argc)
		return cli_usage_error(argv[0], "expected one NAME");
	if (out_fmt && strcmp(out_fmt, "json") && strcmp(out_fmt, "yaml"))
		return cli_usage_error(argv[0], "-o is json or yaml");
	if ((rc = cli_connect(argv[0], &g, true, &conn)) != 0 || (rc = app_fetch(&conn, argv[optind], NULL, &app)))
		goto out;
	hist = jx_path(app, "status", "history", NULL);
	if (out_fmt) {
		rc = cli_print_value(argv[0], hist ? hist : json_array(), out_fmt);
		goto out;
	}
	rows = json_array();
	cli_table_row(rows, 4, "ID", "DATE", "REVISION", "PATH");
	json_array_foreach(hist, i, h) {
		char id[32];
		snprintf(id, sizeof(id), "%lld", (long long)json_integer_value(json_object_get(h, "id")));
		cli_table_row(rows, 4, id, cli_str(h, "", "deployedAt", NULL), cli_str(h, "", "revision", NULL),
			      cli_str(h, "", "source", "path", NULL));
	}
	cli_table_print(rows);
	json_decref(rows);
out:
	json_decref(app);
	cli_conn_release(&conn);
	return rc;
}

/* ---- app delete ------------------------------------------------------- */

static const char delete_usage[] =
	"Usage: berth app delete NAME [--cascade[=true|false]] [-y]\n"
	"\n"
	"Deletes an application; with --cascade (the default) also the resources it\n"
	"deployed, before the application goes away.\n"
	"\n"
	"      --cascade[=BOOL]         delete the deployed resources too (default true)\n"
	"  -y, --yes                    do not ask for confirmation on a terminal\n"
	"  -h, --help                   show this help\n"
	"\n" CLI_GLOBAL_HELP "\n"
	"Exit status: 0 deleted, 2 an error.\n";

int cmd_app_delete(int argc, char **argv)
{
	enum { OPT_CASCADE = CLI_OPT_FIRST_FREE };
	static const struct option opts[] = {{"cascade", optional_argument, NULL, OPT_CASCADE},
					     {"yes", no_argument, NULL, 'y'},
					     {"help", no_argument, NULL, 'h'},
					     CLI_GLOBAL_LONGOPTS,
					     {NULL, 0, NULL, 0}};
	struct cli_global g = {0};
	struct cli_conn conn = {0};
	bool cascade = true, yes = false;
	char *path = NULL, *full = NULL;
	char what[400];
	int c, rc;

	while ((c = getopt_long(argc, argv, "yh", opts, NULL)) != -1) {
		if (cli_global_opt(&g, c, optarg))
			continue;
		switch (c) {
		case OPT_CASCADE:
			if (!optarg || strcmp(optarg, "true") == 0)
				cascade = true;
			else if (strcmp(optarg, "false") == 0)
				cascade = false;
			else
				return cli_usage_error(argv[0], "--cascade is true or false");
			break;
		case 'y': yes = true; break;
		case 'h': fputs(delete_usage, stdout); return 0;
		default: return cli_usage_error(argv[0], "bad flag");
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error(argv[0], "expected one NAME");
	if (!yes && isatty(STDIN_FILENO)) {
		char answer[16] = "";
		fprintf(stderr, "Delete application '%s'%s? [y/N] ", argv[optind],
			cascade ? " and its resources" : "");
		if (!fgets(answer, sizeof(answer), stdin) || (answer[0] != 'y' && answer[0] != 'Y')) {
			fprintf(stderr, "not deleted\n");
			return CLI_EXIT_ERROR;
		}
	}
	if ((rc = cli_connect(argv[0], &g, true, &conn)) != 0)
		return rc;
	path = cli_path("applications", argv[optind], NULL);
	full = str_printf("%s?cascade=%s", path ? path : "", cascade ? "true" : "false");
	snprintf(what, sizeof(what), "application \"%s\"", argv[optind]);
	if ((rc = cli_call(&conn, "DELETE", full, NULL, what, NULL)) == 0)
		printf("application '%s' deleted\n", argv[optind]);
	free(full);
	free(path);
	cli_conn_release(&conn);
	return rc;
}

/* ---- app manifests ---------------------------------------------------- */

static const char manifests_usage[] =
	"Usage: berth app manifests NAME [--source git|live]\n"
	"\n"
	"Prints the manifests of an application as a YAML stream: rendered from Git\n"
	"(the default) or as they are live in the cluster.\n"
	"\n"
	"      --source git|live        where the manifests come from\n"
	"  -h, --help                   show this help\n"
	"\n" CLI_GLOBAL_HELP "\n"
	"Exit status: 0 printed, 2 an error.\n";

/* A manifest as the API gives it: an object, or a JSON string of one. */
static json_t *manifest_value(json_t *m)
{
	json_t *v = NULL;
	if (json_is_object(m))
		return json_incref(m);
	if (json_is_string(m) && jx_parse(json_string_value(m), json_string_length(m), CLI_MAX_INPUT, 256, &v) == 0)
		return v;
	return NULL;
}

int cmd_app_manifests(int argc, char **argv)
{
	enum { OPT_SOURCE = CLI_OPT_FIRST_FREE };
	static const struct option opts[] = {{"source", required_argument, NULL, OPT_SOURCE},
					     {"help", no_argument, NULL, 'h'},
					     CLI_GLOBAL_LONGOPTS,
					     {NULL, 0, NULL, 0}};
	struct cli_global g = {0};
	struct cli_conn conn = {0};
	const char *source = "git";
	json_t *resp = NULL, *docs = json_array(), *m;
	char *path = NULL;
	struct buf out;
	size_t i;
	int c, rc;

	buf_init(&out, (size_t)512 << 20);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (cli_global_opt(&g, c, optarg))
			continue;
		if (c == OPT_SOURCE)
			source = optarg;
		else if (c == 'h') {
			fputs(manifests_usage, stdout);
			rc = 0;
			goto done;
		} else {
			rc = cli_usage_error(argv[0], "bad flag");
			goto done;
		}
	}
	if (optind + 1 != argc || (strcmp(source, "git") && strcmp(source, "live"))) {
		rc = cli_usage_error(argv[0], optind + 1 != argc ? "expected one NAME" : "--source is git or live");
		goto done;
	}
	if ((rc = cli_connect(argv[0], &g, true, &conn)) != 0)
		goto done;
	bool live = strcmp(source, "live") == 0;
	path = cli_path("applications", argv[optind], live ? "/managed-resources" : "/manifests");
	if ((rc = cli_call(&conn, "GET", path, NULL, "application", &resp)) != 0)
		goto done;
	json_array_foreach(json_object_get(resp, live ? "items" : "manifests"), i, m) {
		json_t *v = manifest_value(live ? json_object_get(m, "liveState") : m);
		if (v)
			json_array_append_new(docs, v);
	}
	if (kyaml_dump_stream(docs, &out) < 0 || !cli_write_out(&out))
		rc = cli_error(argv[0], "%s", err_msg());
done:
	buf_release(&out);
	json_decref(docs);
	json_decref(resp);
	free(path);
	cli_conn_release(&conn);
	return rc;
}

/* ---- app terminate-op ------------------------------------------------- */

static const char terminate_usage[] =
	"Usage: berth app terminate-op NAME\n"
	"\n"
	"Stops the operation (sync or rollback) the application is running.\n"
	"\n"
	"  -h, --help                   show this help\n"
	"\n" CLI_GLOBAL_HELP "\n"
	"Exit status: 0 stopped, 2 an error (no operation running).\n";

int cmd_app_terminate_op(int argc, char **argv)
{
	static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, CLI_GLOBAL_LONGOPTS,
					     {NULL, 0, NULL, 0}};
	struct cli_global g = {0};
	struct cli_conn conn = {0};
	char *path;
	int c, rc;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (cli_global_opt(&g, c, optarg))
			continue;
		if (c == 'h') {
			fputs(terminate_usage, stdout);
			return 0;
		}
		return cli_usage_error(argv[0], "bad flag");
	}
	if (optind + 1 != argc)
		return cli_usage_error(argv[0], "expected one NAME");
	if ((rc = cli_connect(argv[0], &g, true, &conn)) != 0)
		return rc;
	path = cli_path("applications", argv[optind], "/operation");
	if ((rc = cli_call(&conn, "DELETE", path, NULL, "operation of the application", NULL)) == 0)
		printf("operation of '%s' terminated\n", argv[optind]);
	free(path);
	cli_conn_release(&conn);
	return rc;
}
