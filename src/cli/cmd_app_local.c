/* berth app diff --local DIR: the live resources of an application compared
 * with a folder rendered on this machine, by the offline diff engine of
 * `berth local diff`. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "cli.h"
#include "client.h"
#include "err.h"
#include "fsx.h"
#include "jsonx.h"
#include "render.h"
#include "str.h"

static int write_json(const char *path, const json_t *v)
{
	FILE *f = fopen(path, "we");
	struct buf b;
	int rc;

	if (!f)
		return err_set(BERR_IO, "create \"%s\"", path);
	buf_init(&b, (size_t)512 << 20);
	rc = jx_dump_compact(v, &b);
	if (rc == 0 && fwrite(b.ptr, 1, b.len, f) != b.len)
		rc = err_set(BERR_IO, "write \"%s\"", path);
	if (fclose(f) != 0 && rc == 0)
		rc = err_set(BERR_IO, "write \"%s\"", path);
	buf_release(&b);
	return rc;
}

/* Gives objects without a namespace the destination's, as the controller
 * does, except kinds that are cluster-scoped. */
static void default_namespace(json_t *objs, const char *ns)
{
	static const char *const cluster_kinds[] = {
		"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "PersistentVolume",
		"StorageClass", "PriorityClass", "APIService", "MutatingWebhookConfiguration",
		"ValidatingWebhookConfiguration", "IngressClass", "RuntimeClass", "Node", NULL};
	json_t *o;
	size_t i;

	if (!ns)
		return;
	json_array_foreach(objs, i, o) {
		json_t *meta = json_object_get(o, "metadata");
		const char *kind = jx_str(o, "kind");
		bool cluster = false;
		for (int k = 0; kind && cluster_kinds[k]; k++)
			cluster = cluster || strcmp(kind, cluster_kinds[k]) == 0;
		if (json_is_object(meta) && !cluster && !jx_str(meta, "namespace"))
			json_object_set_new(meta, "namespace", json_string(ns));
	}
}

int cli_diff_local(struct cli_conn *c, const json_t *app, const json_t *items, const char *dir)
{
	char *root = NULL, *scratch = NULL, *desired_path = NULL, *live_path = NULL;
	char resolved[PATH_MAX];
	json_t *source = NULL, *objs = NULL, *live = json_array(), *item;
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	enum render_type type;
	size_t i;
	int rc;

	if (fsx_private_dir(tmp, "berth-app-diff-", &root) < 0 || fsx_private_dir(tmp, "berth-app-diff-out-", &scratch) < 0) {
		rc = cli_error(c->cmd, "%s", err_msg());
		goto out;
	}
	if (fsx_copy_tree(dir, root, 0, 0) < 0 || !realpath(root, resolved)) {
		rc = cli_error(c->cmd, "\"%s\": %s", dir, err_msg());
		goto out;
	}
	source = json_deep_copy(jx_path(app, "spec", "source", NULL));
	if (source) {
		json_object_del(source, "path");
		json_object_del(source, "repoURL");
	}
	struct render_opts o = {.root = resolved,
				.path = ".",
				.app_name = cli_str(app, "release", "metadata", "name", NULL),
				.namespace = cli_str(app, NULL, "spec", "destination", "namespace", NULL),
				.source = source};
	if (render_run(&o, &type, &objs, NULL) < 0) {
		rc = cli_error(c->cmd, "render \"%s\": %s", dir, err_msg());
		goto out;
	}
	default_namespace(objs, cli_str(app, NULL, "spec", "destination", "namespace", NULL));
	json_array_foreach(items, i, item) {
		json_t *v = json_object_get(item, "liveState"), *p = NULL;
		if (json_is_object(v))
			json_array_append(live, v);
		else if (json_is_string(v) && jx_parse(json_string_value(v), json_string_length(v), CLI_MAX_INPUT, 256, &p) == 0 &&
			 json_is_object(p))
			json_array_append(live, p);
		json_decref(p);
	}
	desired_path = str_printf("%s/desired.json", scratch);
	live_path = str_printf("%s/live.json", scratch);
	if (!desired_path || !live_path || write_json(desired_path, objs) < 0 || write_json(live_path, live) < 0) {
		rc = cli_error(c->cmd, "%s", err_msg());
		goto out;
	}
	{
		char *args[] = {(char *)c->cmd, desired_path, live_path, NULL};
		optind = 0;
		rc = cmd_local_diff(3, args);
	}
out:
	if (root)
		fsx_remove_tree(root);
	if (scratch)
		fsx_remove_tree(scratch);
	free(root);
	free(scratch);
	free(desired_path);
	free(live_path);
	json_decref(source);
	json_decref(objs);
	json_decref(live);
	return rc;
}
