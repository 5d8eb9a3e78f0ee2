/* berth local plan — show the order a sync would apply objects in. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "annot.h"
#include "cli.h"
#include "err.h"
#include "jsonx.h"
#include "syncplan.h"

static const char usage_text[] =
	"Usage: berth local plan [-o text|json] [--prune FILE] [--prune-last] FILE...\n"
	"\n"
	"Prints the order in which a sync would apply the objects in the files: by\n"
	"phase (PreSync, Sync, PostSync), wave, kind and name, with hooks and their\n"
	"delete policies, as Argo CD orders them. SyncFail hooks, which run only when\n"
	"a sync fails, are listed after the plan. One line per step:\n"
	"    <phase> <wave> <Kind>/<name> [hook delete=<policies>] [prune]\n"
	"\n"
	"  -o, --output FORMAT   text (the default) or json: {tasks, syncFail,\n"
	"                        skipped, pruneDisabled}\n"
	"      --prune FILE      live objects that Git no longer has: they are pruned,\n"
	"                        last wave first\n"
	"      --prune-last      prune after every other Sync-phase wave (the\n"
	"                        PruneLast=true sync option)\n"
	"  -h, --help            show this help\n"
	"\n"
	"Exit status: 0 on success, 2 on an error (such as a sync-wave that is not an\n"
	"integer).\n";

static void policies_text(unsigned bits, char *out, size_t size)
{
	size_t used = 0;
	out[0] = '\0';
	for (unsigned b = 1; b && b <= ANNOT_DELETE_BEFORE_HOOK_CREATION; b <<= 1) {
		if (!(bits & b) || used >= size)
			continue;
		used += (size_t)snprintf(out + used, size - used, "%s%s", used ? "," : "", annot_delete_policy_name(b));
	}
}

static json_t *task_json(const struct syncplan_task *t)
{
	char pol[128];
	json_t *o;

	policies_text(t->delete_policies, pol, sizeof(pol));
	o = json_pack("{s:s,s:i,s:s,s:s,s:s,s:b,s:b}", "phase", syncplan_phase_name(t->phase), "wave", t->wave,
		      "kind", t->kind, "namespace", t->ns, "name", t->name, "hook", t->hook, "prune", t->prune);
	if (o && t->hook)
		json_object_set_new(o, "deletePolicies", json_string(pol));
	return o;
}

static int print_text(const struct syncplan_task *tasks, size_t n, struct buf *out)
{
	char label[512], pol[128];
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++) {
		const struct syncplan_task *t = &tasks[i];
		cli_object_label(t->obj, label, sizeof(label));
		policies_text(t->delete_policies, pol, sizeof(pol));
		rc = buf_printf(out, "%-8s %4d %s%s%s%s\n", syncplan_phase_name(t->phase), t->wave, label,
				t->hook ? " hook delete=" : "", t->hook ? pol : "", t->prune ? " prune" : "");
	}
	return rc;
}

static int report(const char *cmd, const struct syncplan *p, bool as_json)
{
	struct buf out;
	int rc = 0;

	buf_init(&out, CLI_MAX_INPUT);
	if (as_json) {
		json_t *tasks = json_array(), *fail = json_array(), *doc;
		for (size_t i = 0; i < p->n; i++)
			json_array_append_new(tasks, task_json(&p->tasks[i]));
		for (size_t i = 0; i < p->n_fail; i++)
			json_array_append_new(fail, task_json(&p->fail_tasks[i]));
		doc = json_pack("{s:o,s:o,s:I,s:I}", "tasks", tasks, "syncFail", fail, "skipped",
				(json_int_t)p->n_skipped, "pruneDisabled", (json_int_t)p->n_prune_disabled);
		rc = jx_dump_pretty(doc, &out);
		if (rc == 0)
			rc = buf_putc(&out, '\n');
		json_decref(doc);
	} else {
		rc = print_text(p->tasks, p->n, &out);
		if (rc == 0 && p->n_fail)
			rc = buf_puts(&out, "# on failure:\n");
		if (rc == 0)
			rc = print_text(p->fail_tasks, p->n_fail, &out);
	}
	if (rc < 0)
		return cli_error(cmd, "output: %s", err_msg());
	if (!cli_write_out(&out))
		rc = cli_error(cmd, "write: output error");
	buf_release(&out);
	return rc;
}

int cmd_local_plan(int argc, char **argv)
{
	static const struct option opts[] = {
		{"output", required_argument, NULL, 'o'},
		{"prune", required_argument, NULL, 'p'},
		{"prune-last", no_argument, NULL, 'l'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *cmd = argv[0], *prune_path = NULL;
	struct syncplan_options plan_opts = {0};
	struct syncplan plan = {0};
	json_t *objs = NULL, *prune = NULL;
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
		case 'p':
			prune_path = optarg;
			break;
		case 'l':
			plan_opts.prune_last = true;
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
	for (int i = optind; i < argc; i++) {
		if (cli_load_objects(argv[i], &objs) < 0) {
			rc = cli_error(cmd, "%s", err_msg());
			goto out;
		}
	}
	if (prune_path && cli_load_objects(prune_path, &prune) < 0) {
		rc = cli_error(cmd, "%s", err_msg());
		goto out;
	}
	if (syncplan_build(objs, prune, &plan_opts, &plan) < 0) {
		rc = cli_error(cmd, "%s", err_msg());
		goto out;
	}
	rc = report(cmd, &plan, as_json);
out:
	syncplan_release(&plan);
	json_decref(objs);
	json_decref(prune);
	return rc;
}
