/* berth local health — assess the health of objects read from files. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "err.h"
#include "health.h"
#include "jsonx.h"

static const char usage_text[] =
	"Usage: berth local health [-o text|json] [--settings FILE] FILE...\n"
	"\n"
	"Assesses the health of every Kubernetes object in the files (YAML or JSON;\n"
	"multi-document streams and List kinds are expanded; \"-\" reads stdin) with\n"
	"the rules the controller uses, and prints one line per object:\n"
	"    <Kind>/<name>: <Status> <message>\n"
	"Objects of kinds without a health rule print \"-\" as their status; they do\n"
	"not count towards an application's health.\n"
	"\n"
	"  -o, --output FORMAT   text (the default) or json: {\"health\":{\"status\"},\n"
	"                        \"resources\":[{apiVersion,kind,namespace,name,health}]};\n"
	"                        the top status is the application's (hooks excluded)\n"
	"      --settings FILE   a berth-cm ConfigMap; its\n"
	"                        resource.customizations.health.<group>_<kind> entries\n"
	"                        add custom health rules\n"
	"  -h, --help            show this help\n"
	"\n"
	"Exit status: 0 when every object was assessed, 2 on an error.\n";

static int load_settings(const char *cmd, const char *path, struct health_rules *rules)
{
	json_t *objs = NULL, *o;
	size_t i;
	int rc = 0;

	if (cli_load_objects(path, &objs) < 0)
		return cli_error(cmd, "%s", err_msg());
	json_array_foreach(objs, i, o) {
		if (strcmp(jx_str(o, "kind"), "ConfigMap") != 0)
			continue;
		if (health_rules_add_settings(rules, json_object_get(o, "data")) < 0) {
			rc = cli_error(cmd, "\"%s\": %s", path, err_msg());
			break;
		}
	}
	json_decref(objs);
	return rc;
}

static json_t *resource_json(const json_t *o, const struct health *h)
{
	const char *ns = jx_path_str(o, "metadata", "namespace", NULL);
	const char *name = jx_path_str(o, "metadata", "name", NULL);
	return json_pack("{s:s,s:s,s:s,s:s,s:o}", "apiVersion", jx_str(o, "apiVersion"), "kind", jx_str(o, "kind"),
			 "namespace", ns ? ns : "", "name", name ? name : "", "health",
			 h ? json_pack("{s:s,s:s}", "status", health_status_name(h->status), "message", h->message)
			   : json_null());
}

/* The application's health over all objects, as the controller computes it
 * (hooks and ignore-healthcheck objects do not count). */
static int app_status(const char *cmd, const json_t *objs, const struct health_rules *rules,
		      enum health_status *out)
{
	size_t n = json_array_size(objs);
	struct health_resource *res = calloc(n ? n : 1, sizeof(*res));
	int rc = 0;

	if (!res)
		return cli_error(cmd, "out of memory");
	for (size_t i = 0; i < n; i++)
		res[i].live = json_array_get(objs, i);
	if (health_app(res, n, rules, NULL, out) < 0)
		rc = cli_error(cmd, "%s", err_msg());
	free(res);
	return rc;
}

static int report(const char *cmd, const json_t *objs, const struct health_rules *rules, bool as_json)
{
	enum health_status worst = HEALTH_HEALTHY;
	json_t *list = json_array(), *o;
	struct buf out;
	char label[512];
	size_t i;
	int rc = CLI_EXIT_OK;

	buf_init(&out, CLI_MAX_INPUT);
	json_array_foreach(objs, i, o) {
		struct health h;
		int got = health_assess(o, rules, &h);
		cli_object_label(o, label, sizeof(label));
		if (got < 0) {
			rc = cli_error(cmd, "%s: %s", label, err_msg());
			goto out;
		}
		if (as_json)
			json_array_append_new(list, resource_json(o, got ? &h : NULL));
		else if (got)
			buf_printf(&out, "%s: %s%s%s\n", label, health_status_name(h.status), h.message[0] ? " " : "",
				   h.message);
		else
			buf_printf(&out, "%s: -\n", label);
	}
	if (as_json && (rc = app_status(cmd, objs, rules, &worst)) != 0)
		goto out;
	if (as_json) {
		json_t *doc = json_pack("{s:{s:s},s:O}", "health", "status", health_status_name(worst), "resources", list);
		if (jx_dump_pretty(doc, &out) < 0 || buf_putc(&out, '\n') < 0)
			rc = cli_error(cmd, "%s", err_msg());
		json_decref(doc);
	}
	if (rc == CLI_EXIT_OK && !cli_write_out(&out))
		rc = cli_error(cmd, "write: output error");
out:
	json_decref(list);
	buf_release(&out);
	return rc;
}

int cmd_local_health(int argc, char **argv)
{
	static const struct option opts[] = {
		{"output", required_argument, NULL, 'o'},
		{"settings", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *cmd = argv[0], *settings = NULL;
	struct health_rules *rules = NULL;
	json_t *objs = NULL;
	bool as_json = false;
	int c, rc;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			if (strcmp(optarg, "json") == 0)
				as_json = true;
			else if (strcmp(optarg, "text") != 0)
				return cli_usage_error(cmd, "-o: \"%s\" is not text or json", optarg);
			break;
		case 's':
			settings = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return CLI_EXIT_OK;
		default:
			return cli_usage_error(cmd, "unknown or incomplete option \"%s\"", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return cli_usage_error(cmd, "no FILE given");
	if (!(rules = health_rules_new()))
		return cli_error(cmd, "out of memory");
	if (settings && (rc = load_settings(cmd, settings, rules)) != 0)
		goto out;
	for (int i = optind; i < argc; i++) {
		if (cli_load_objects(argv[i], &objs) < 0) {
			rc = cli_error(cmd, "%s", err_msg());
			goto out;
		}
	}
	rc = report(cmd, objs, rules, as_json);
out:
	json_decref(objs);
	health_rules_free(rules);
	return rc;
}
