/* berth local diff — compare desired manifests with live objects, offline. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "annot.h"
#include "cli.h"
#include "diff.h"
#include "err.h"
#include "jsonx.h"
#include "kyaml.h"
#include "str.h"

static const char usage_text[] =
	"Usage: berth local diff [-o diff|json] [--last-applied FILE]\n"
	"                        [--ignore-differences FILE] [--settings FILE]\n"
	"                        DESIRED LIVE\n"
	"\n"
	"Compares the objects in DESIRED (as rendered from Git) with those in LIVE (as\n"
	"the cluster returned them) the way the controller does: three-way, with\n"
	"server defaults, ignored differences and Secret values masked. Files are YAML\n"
	"or JSON; multi-document streams and List kinds are expanded; \"-\" reads stdin.\n"
	"Objects are matched by group, kind, namespace and name (a desired object\n"
	"without a namespace matches the one live object of that name). An object\n"
	"only in DESIRED is to be created, one only in LIVE is extraneous.\n"
	"\n"
	"  -o, --output FORMAT          diff (the default): a unified YAML diff per\n"
	"                               changed object; json: {modified, changes,\n"
	"                               patch, resources}\n"
	"      --last-applied FILE      the last-applied configuration of the objects\n"
	"                               (replaces the kubectl last-applied annotation\n"
	"                               of the matching live objects)\n"
	"      --ignore-differences FILE\n"
	"                               ignoreDifferences rules, as in an Application's\n"
	"                               spec (a list, or an Application)\n"
	"      --settings FILE          a berth-cm ConfigMap; its\n"
	"                               resource.customizations.ignoreDifferences.<group_kind>\n"
	"                               entries apply to every object of that kind\n"
	"  -h, --help                   show this help\n"
	"\n"
	"Exit status: 0 no difference, 1 a difference, 2 an error.\n";

/* ---- matching --------------------------------------------------------- */

struct ident {
	char group[256];
	const char *kind, *ns, *name;
};

static void ident_of(const json_t *o, struct ident *id)
{
	annot_api_group(o, id->group, sizeof(id->group));
	id->kind = jx_str(o, "kind");
	id->ns = jx_path_str(o, "metadata", "namespace", NULL);
	id->name = jx_path_str(o, "metadata", "name", NULL);
	if (!id->ns)
		id->ns = "";
	if (!id->name)
		id->name = "";
}

static bool same_object(const struct ident *a, const struct ident *b, bool any_ns)
{
	return strcmp(a->group, b->group) == 0 && strcmp(a->kind, b->kind) == 0 && strcmp(a->name, b->name) == 0 &&
	       (any_ns || strcmp(a->ns, b->ns) == 0);
}

/* Index of the object in list matching want, or -1; a desired object
 * without a namespace matches a namespaced one when it is the only one. */
static long find_match(const json_t *list, const json_t *want, const bool *taken)
{
	struct ident w, c;
	long found = -1;
	size_t i, hits = 0;
	json_t *o;

	ident_of(want, &w);
	json_array_foreach(list, i, o) {
		if (taken && taken[i])
			continue;
		ident_of(o, &c);
		if (same_object(&w, &c, false))
			return (long)i;
	}
	if (w.ns[0])
		return -1;
	json_array_foreach(list, i, o) {
		if (taken && taken[i])
			continue;
		ident_of(o, &c);
		if (same_object(&w, &c, true)) {
			found = (long)i;
			hits++;
		}
	}
	return hits == 1 ? found : -1;
}

/* ---- Secret masking ----------------------------------------------------- */

/*
 * Secret values never leave the CLI. Each distinct value seen in one Secret
 * becomes a run of '+' (8 for the first, 9 for the next, ...), so equal
 * values look equal and different values different, as in Argo CD.
 */
struct masker {
	json_t *seen; /* value (canonical JSON) -> mask */
};

static json_t *mask_for(struct masker *m, const json_t *v)
{
	struct buf key;
	json_t *mask;
	char plus[72];
	size_t len;

	buf_init(&key, CLI_MAX_INPUT);
	jx_dump_canonical(v, &key);
	mask = json_object_get(m->seen, key.ptr);
	if (!mask) {
		len = 8 + json_object_size(m->seen);
		if (len > sizeof(plus) - 1)
			len = sizeof(plus) - 1;
		memset(plus, '+', len);
		plus[len] = '\0';
		mask = json_string(plus);
		json_object_set_new(m->seen, key.ptr, mask);
	}
	buf_release(&key);
	return json_incref(mask);
}

/* Replaces every value of the data/stringData maps in obj. */
static void mask_data_maps(struct masker *m, json_t *obj)
{
	static const char *const maps[] = {"data", "stringData"};
	const char *k;
	json_t *v;
	void *tmp;

	for (size_t i = 0; i < 2; i++) {
		json_t *data = json_object_get(obj, maps[i]);
		if (!json_is_object(data))
			continue;
		json_object_foreach_safe(data, tmp, k, v) {
			json_object_set_new(data, k, mask_for(m, v));
		}
	}
	json_t *ann = jx_path(obj, "metadata", "annotations", NULL);
	if (json_is_object(ann) && json_object_get(ann, ANNOT_LAST_APPLIED))
		json_object_set_new(ann, ANNOT_LAST_APPLIED, json_string("++++++++"));
}

/* A change value at pointer p of a Secret, masked. */
static json_t *mask_change_value(struct masker *m, const char *p, const json_t *v)
{
	json_t *copy;

	if (!v)
		return json_null();
	if (str_starts_with(p, "/data/") || str_starts_with(p, "/stringData/"))
		return mask_for(m, v);
	copy = json_deep_copy(v);
	if (strcmp(p, "") == 0)
		mask_data_maps(m, copy);
	else if ((strcmp(p, "/data") == 0 || strcmp(p, "/stringData") == 0) && json_is_object(copy)) {
		json_t *wrap = json_pack("{s:O}", p + 1, copy);
		mask_data_maps(m, wrap);
		json_decref(copy);
		copy = json_incref(json_object_get(wrap, p + 1));
		json_decref(wrap);
	} else if (str_starts_with(p, "/metadata") && strstr(p, "last-applied-configuration")) {
		json_decref(copy);
		copy = json_string("++++++++");
	} else if (strcmp(p, "/metadata") == 0 || strcmp(p, "/metadata/annotations") == 0) {
		json_t *wrap = strcmp(p, "/metadata") == 0 ? json_pack("{s:O}", "metadata", copy)
							   : json_pack("{s:{s:O}}", "metadata", "annotations", copy);
		mask_data_maps(m, wrap);
		json_decref(wrap);
	}
	return copy;
}

/* ---- one resource ------------------------------------------------------- */

static const char *op_name(enum diff_op op)
{
	return op == DIFF_OP_ADD ? "add" : op == DIFF_OP_REMOVE ? "remove" : "replace";
}

static json_t *result_json(const struct diff_result *r, const struct ident *id, json_t *all_changes)
{
	struct masker m = {.seen = json_object()};
	json_t *changes = json_array(), *patch = NULL, *res;
	char label[1024];

	snprintf(label, sizeof(label), "%s/%s/%s/%s", id->group, id->kind, id->ns, id->name);
	for (size_t i = 0; i < r->n_changes; i++) {
		const struct diff_change *c = &r->changes[i];
		json_t *oldv, *newv, *ch;
		if (r->is_secret) {
			oldv = mask_change_value(&m, c->pointer, c->old_value);
			newv = mask_change_value(&m, c->pointer, c->new_value);
		} else {
			oldv = c->old_value ? json_incref(c->old_value) : json_null();
			newv = c->new_value ? json_incref(c->new_value) : json_null();
		}
		ch = json_pack("{s:s,s:s,s:o,s:o}", "path", c->pointer, "op", op_name(c->op), "old", oldv, "new", newv);
		json_array_append(changes, ch);
		json_object_set_new(ch, "resource", json_string(label));
		json_array_append_new(all_changes, ch);
	}
	if (r->patch) {
		patch = json_deep_copy(r->patch);
		if (r->is_secret)
			mask_data_maps(&m, patch);
	}
	res = json_pack("{s:s,s:s,s:s,s:s,s:b,s:o,s:o,s:s}", "group", id->group, "kind", id->kind, "namespace", id->ns,
			"name", id->name, "modified", r->modified, "changes", changes, "patch",
			patch ? patch : json_null(), "patchType",
			!r->patch ? "" : r->patch_is_strategic ? "strategic" : "merge");
	json_decref(m.seen);
	return res;
}

struct run {
	const char *cmd;
	bool as_json;
	struct diff_settings settings;
	struct buf out;
	json_t *resources, *changes;
	bool modified;
};

/* The live object with the last-applied annotation taken from last (when
 * given): a new reference. */
static json_t *live_with_last_applied(const json_t *live, const json_t *last)
{
	json_t *copy = json_deep_copy(live), *ann;
	struct buf text;

	if (!last || !copy)
		return copy;
	buf_init(&text, CLI_MAX_INPUT);
	jx_dump_compact(last, &text);
	ann = jx_obj_ensure(jx_obj_ensure(copy, "metadata"), "annotations");
	if (ann)
		json_object_set_new(ann, ANNOT_LAST_APPLIED, json_string(text.ptr));
	buf_release(&text);
	return copy;
}

static int diff_pair(struct run *run, const json_t *desired, const json_t *live, const json_t *last)
{
	struct diff_result r;
	struct ident id;
	json_t *live_used = live ? live_with_last_applied(live, last) : NULL;
	json_t *desired_used = desired ? json_incref((json_t *)desired) : NULL;
	const char *live_ns = live ? jx_path_str(live, "metadata", "namespace", NULL) : NULL;
	char label[512];
	int rc;

	/* The controller defaults the namespace of what it renders; do the
	 * same with the live object's namespace when desired has none. */
	if (desired && live_ns && !jx_path_str(desired, "metadata", "namespace", NULL)) {
		json_decref(desired_used);
		desired_used = json_deep_copy(desired);
		json_object_set_new(jx_obj_ensure(desired_used, "metadata"), "namespace", json_string(live_ns));
	}
	ident_of(desired_used ? desired_used : live, &id);
	diff_result_init(&r);
	if (diff_compute(desired_used, live_used, &run->settings, &r) < 0) {
		rc = cli_error(run->cmd, "%s: %s", cli_object_label(desired ? desired : live, label, sizeof(label)),
			       err_msg());
		goto out;
	}
	run->modified |= r.modified;
	if (run->as_json) {
		json_array_append_new(run->resources, result_json(&r, &id, run->changes));
	} else if (r.modified) {
		if (buf_printf(&run->out, "===== %s/%s %s/%s ======\n", id.group, id.kind, id.ns, id.name) < 0 ||
		    diff_unified(&r, &run->out) < 0) {
			rc = cli_error(run->cmd, "output: %s", err_msg());
			goto out;
		}
	}
	rc = 0;
out:
	diff_result_release(&r);
	json_decref(live_used);
	json_decref(desired_used);
	return rc;
}

static int diff_all(struct run *run, const json_t *desired, const json_t *live, const json_t *last)
{
	size_t n_live = json_array_size(live), i;
	bool *taken = calloc(n_live ? n_live : 1, sizeof(bool));
	json_t *o;
	int rc = 0;

	if (!taken)
		return cli_error(run->cmd, "out of memory");
	json_array_foreach(desired, i, o) {
		long at = find_match(live, o, taken);
		long la = last ? find_match(last, o, NULL) : -1;
		if (at >= 0)
			taken[at] = true;
		if ((rc = diff_pair(run, o, at >= 0 ? json_array_get(live, (size_t)at) : NULL,
				    la >= 0 ? json_array_get(last, (size_t)la) : NULL)) != 0)
			break;
	}
	for (i = 0; rc == 0 && i < n_live; i++)
		if (!taken[i])
			rc = diff_pair(run, NULL, json_array_get(live, i), NULL);
	free(taken);
	return rc;
}

static int print_json(struct run *run)
{
	json_t *doc = json_pack("{s:b,s:O,s:O,s:O}", "modified", run->modified, "changes", run->changes, "patch",
				json_array_size(run->resources) == 1
					? json_object_get(json_array_get(run->resources, 0), "patch")
					: json_null(),
				"resources", run->resources);
	int rc = 0;

	if (!doc || jx_dump_pretty(doc, &run->out) < 0 || buf_putc(&run->out, '\n') < 0)
		rc = cli_error(run->cmd, "output: %s", err_msg());
	json_decref(doc);
	return rc;
}

/* resource.customizations.ignoreDifferences.<key> entries of berth-cm
 * ConfigMaps in the file → {"<key>": {jsonPointers, ...}}. */
static int load_customizations(const char *cmd, const char *path, json_t **ret)
{
	static const char prefix[] = "resource.customizations.ignoreDifferences.";
	json_t *objs = NULL, *o, *out = json_object();
	const char *k;
	json_t *v;
	size_t i;
	int rc = 0;

	if (cli_load_objects(path, &objs) < 0) {
		json_decref(out);
		return cli_error(cmd, "%s", err_msg());
	}
	json_array_foreach(objs, i, o) {
		json_t *data = json_object_get(o, "data");
		if (strcmp(jx_str(o, "kind"), "ConfigMap") != 0 || !json_is_object(data))
			continue;
		json_object_foreach(data, k, v) {
			json_t *rule = NULL;
			if (!str_starts_with(k, prefix))
				continue;
			err_clear();
			if (!json_is_string(v) ||
			    kyaml_load_any(json_string_value(v), json_string_length(v), NULL, &rule) < 0 ||
			    !json_is_object(rule)) {
				rc = cli_error(cmd, "\"%s\": %s: not a map of jsonPointers/jqPathExpressions%s%s", path, k,
					       err_msg()[0] ? ": " : "", err_msg());
				json_decref(rule);
				goto out;
			}
			json_object_set_new(out, k + sizeof(prefix) - 1, rule);
		}
	}
	*ret = out;
	out = NULL;
out:
	json_decref(out);
	json_decref(objs);
	return rc;
}

static int load_ignore(const char *cmd, const char *path, json_t **ret)
{
	json_t *v = NULL, *list;

	if (cli_load_value(path, &v) < 0)
		return cli_error(cmd, "%s", err_msg());
	list = json_is_object(v) ? jx_path(v, "spec", "ignoreDifferences", NULL) : v;
	if (!json_is_array(list)) {
		json_decref(v);
		return cli_error(cmd, "\"%s\": not a list of ignoreDifferences rules (nor an Application with them)",
				 path);
	}
	*ret = json_incref(list);
	json_decref(v);
	return 0;
}

int cmd_local_diff(int argc, char **argv)
{
	static const struct option opts[] = {
		{"output", required_argument, NULL, 'o'},
		{"last-applied", required_argument, NULL, 'l'},
		{"ignore-differences", required_argument, NULL, 'i'},
		{"settings", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct run run = {.cmd = argv[0]};
	const char *last_path = NULL, *ignore_path = NULL, *settings_path = NULL;
	json_t *desired = NULL, *live = NULL, *last = NULL, *ignore = NULL, *custom = NULL;
	int c, rc;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			if (strcmp(optarg, "json") == 0)
				run.as_json = true;
			else if (strcmp(optarg, "diff") != 0)
				return cli_usage_error(run.cmd, "-o: \"%s\" is not diff or json", optarg);
			break;
		case 'l':
			last_path = optarg;
			break;
		case 'i':
			ignore_path = optarg;
			break;
		case 's':
			settings_path = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return CLI_EXIT_OK;
		default:
			return cli_usage_error(run.cmd, "unknown or incomplete option \"%s\"", argv[optind - 1]);
		}
	}
	if (argc - optind != 2)
		return cli_usage_error(run.cmd, "need DESIRED and LIVE files");
	buf_init(&run.out, CLI_MAX_INPUT);
	run.resources = json_array();
	run.changes = json_array();
	if (cli_load_objects(argv[optind], &desired) < 0 || cli_load_objects(argv[optind + 1], &live) < 0 ||
	    (last_path && cli_load_objects(last_path, &last) < 0)) {
		rc = cli_error(run.cmd, "%s", err_msg());
		goto out;
	}
	if (ignore_path && (rc = load_ignore(run.cmd, ignore_path, &ignore)) != 0)
		goto out;
	if (settings_path && (rc = load_customizations(run.cmd, settings_path, &custom)) != 0)
		goto out;
	run.settings.ignore_differences = ignore;
	run.settings.customizations = custom;
	if ((rc = diff_all(&run, desired, live, last)) != 0)
		goto out;
	if (run.as_json && (rc = print_json(&run)) != 0)
		goto out;
	if (!cli_write_out(&run.out)) {
		rc = cli_error(run.cmd, "write: output error");
		goto out;
	}
	rc = run.modified ? CLI_EXIT_DIFF : CLI_EXIT_OK;
out:
	json_decref(desired);
	json_decref(live);
	json_decref(last);
	json_decref(ignore);
	json_decref(custom);
	json_decref(run.resources);
	json_decref(run.changes);
	buf_release(&run.out);
	return rc;
}
