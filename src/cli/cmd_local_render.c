/* berth local render — render a folder offline with the repo server's code
 * (lib/render): the same detection, tools, confinement and bounds. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "err.h"
#include "fsx.h"
#include "jsonx.h"
#include "kyaml.h"
#include "render.h"
#include "str.h"

static const char usage_text[] =
	"Usage: berth local render DIR [options]\n"
	"\n"
	"Renders the application folder DIR as berth-repo-server would — Helm when it\n"
	"holds Chart.yaml, Kustomize when it holds a kustomization, Jsonnet when it\n"
	"holds only Jsonnet, else the YAML/JSON files of the folder — and prints the\n"
	"objects. DIR is copied to a private folder first, so it is never changed;\n"
	"a symlink in it that leads outside it is refused.\n"
	"\n"
	"  -o, --output FORMAT        yaml (the default: a multi-document stream) or json\n"
	"                             (an array)\n"
	"      --namespace NS         destination namespace (helm template --namespace)\n"
	"      --release-name NAME    Helm release name (default: the folder's name)\n"
	"      --helm-set KEY=VALUE   a Helm parameter (repeatable)\n"
	"      --values FILE          a Helm values file (repeatable; read from anywhere)\n"
	"      --kustomize-image IMG  a Kustomize image override, e.g. nginx=nginx:1.25\n"
	"                             (repeatable)\n"
	"  -h, --help                 show this help\n"
	"\n"
	"Exit status: 0 when the folder rendered, 2 on an error.\n";

struct render_args {
	const char *dir, *ns, *release;
	bool as_json;
	json_t *helm_params, *values, *images; /* arrays */
};

/* Copies each --values file into the private tree (values are the user's own
 * files, so they may live anywhere) and names them relative to the app. */
static int stage_values(const char *cmd, const char *root, json_t *values, json_t *value_files)
{
	size_t i;
	json_t *v;

	json_array_foreach(values, i, v) {
		struct buf data;
		char *name = str_printf(".berth-values-%zu.yaml", i), *dst = str_printf("%s/%s", root, name);
		int rc;
		buf_init(&data, CLI_MAX_INPUT);
		rc = fsx_read_file(json_string_value(v), &data);
		if (rc == 0) {
			FILE *f = fopen(dst, "wxe");
			if (!f || fwrite(data.ptr, 1, data.len, f) != data.len)
				rc = err_set(BERR_IO, "cannot stage values file");
			if (f)
				fclose(f);
		}
		buf_release(&data);
		if (rc == 0)
			json_array_append_new(value_files, json_string(name));
		free(name);
		free(dst);
		if (rc < 0)
			return cli_error(cmd, "--values \"%s\": %s", json_string_value(v), err_msg());
	}
	return 0;
}

static json_t *build_source(const struct render_args *a, json_t *value_files)
{
	json_t *src = json_object(), *helm = json_object();

	if (json_array_size(a->helm_params))
		json_object_set(helm, "parameters", a->helm_params);
	if (json_array_size(value_files))
		json_object_set(helm, "valueFiles", value_files);
	if (a->release)
		json_object_set_new(helm, "releaseName", json_string(a->release));
	if (json_object_size(helm))
		json_object_set(src, "helm", helm);
	if (json_array_size(a->images))
		json_object_set_new(src, "kustomize", json_pack("{s:O}", "images", a->images));
	json_decref(helm);
	return src;
}

static int print_objects(const char *cmd, const json_t *objs, bool as_json)
{
	struct buf out;
	int rc;

	buf_init(&out, (size_t)256 << 20);
	rc = as_json ? jx_dump_pretty(objs, &out) : kyaml_dump_stream(objs, &out);
	if (rc == 0 && as_json)
		rc = buf_putc(&out, '\n');
	if (rc < 0) {
		buf_release(&out);
		return cli_error(cmd, "%s", err_msg());
	}
	rc = cli_write_out(&out) ? CLI_EXIT_OK : cli_error(cmd, "cannot write the output");
	buf_release(&out);
	return rc;
}

static int render_dir(const char *cmd, const struct render_args *a)
{
	char *root = NULL, resolved[PATH_MAX], *base = NULL;
	json_t *value_files = json_array(), *source = NULL, *objs = NULL;
	enum render_type type;
	int rc;

	if (fsx_private_dir(getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", "berth-local-render-", &root) < 0)
		return cli_error(cmd, "%s", err_msg());
	if (fsx_copy_tree(a->dir, root, 0, 0) < 0 || !realpath(root, resolved)) {
		rc = cli_error(cmd, "\"%s\": %s", a->dir, err_msg());
		goto out;
	}
	if ((rc = stage_values(cmd, resolved, a->values, value_files)) != 0)
		goto out;
	source = build_source(a, value_files);
	char abs_dir[PATH_MAX];
	base = realpath(a->dir, abs_dir) ? strrchr(abs_dir, '/') : NULL;
	struct render_opts o = {.root = resolved,
				.path = ".",
				.app_name = base && base[1] ? base + 1 : "release",
				.namespace = a->ns,
				.source = source};
	if (render_run(&o, &type, &objs, NULL) < 0) {
		rc = cli_error(cmd, "%s", err_msg());
		goto out;
	}
	rc = print_objects(cmd, objs, a->as_json);
out:
	fsx_remove_tree(root);
	free(root);
	json_decref(objs);
	json_decref(source);
	json_decref(value_files);
	return rc;
}

static int add_param(const char *cmd, json_t *params, const char *kv)
{
	const char *eq = strchr(kv, '=');
	if (!eq || eq == kv)
		return cli_usage_error(cmd, "--helm-set \"%s\": want KEY=VALUE", kv);
	char *name = strndup(kv, (size_t)(eq - kv));
	json_array_append_new(params, json_pack("{s:s, s:s}", "name", name ? name : "", "value", eq + 1));
	free(name);
	return 0;
}

int cmd_local_render(int argc, char **argv)
{
	static const struct option opts[] = {
		{"output", required_argument, NULL, 'o'},
		{"namespace", required_argument, NULL, 'n'},
		{"release-name", required_argument, NULL, 'r'},
		{"helm-set", required_argument, NULL, 's'},
		{"values", required_argument, NULL, 'f'},
		{"kustomize-image", required_argument, NULL, 'i'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *cmd = argv[0];
	struct render_args a = {.helm_params = json_array(), .values = json_array(), .images = json_array()};
	int c, rc = CLI_EXIT_OK;

	optind = 1;
	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			if (!strcmp(optarg, "json"))
				a.as_json = true;
			else if (strcmp(optarg, "yaml") != 0)
				rc = cli_usage_error(cmd, "-o: \"%s\" is not yaml or json", optarg);
			break;
		case 'n': a.ns = optarg; break;
		case 'r': a.release = optarg; break;
		case 's': rc = add_param(cmd, a.helm_params, optarg); break;
		case 'f': json_array_append_new(a.values, json_string(optarg)); break;
		case 'i': json_array_append_new(a.images, json_string(optarg)); break;
		case 'h':
			fputs(usage_text, stdout);
			goto out;
		default:
			rc = cli_usage_error(cmd, "unknown or incomplete option \"%s\"", argv[optind - 1]);
		}
		if (rc != CLI_EXIT_OK)
			goto out;
	}
	if (optind != argc - 1) {
		rc = cli_usage_error(cmd, optind >= argc ? "no DIR given" : "more than one DIR given");
		goto out;
	}
	a.dir = argv[optind];
	rc = render_dir(cmd, &a);
out:
	json_decref(a.helm_params);
	json_decref(a.values);
	json_decref(a.images);
	return rc;
}
