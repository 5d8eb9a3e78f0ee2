/* berth app sync, wait, rollback and diff: operations on an application and
 * waiting for their outcome, with per-resource progress on a terminal. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "cli.h"
#include "client.h"
#include "clock.h"
#include "err.h"
#include "jsonx.h"
#include "kyaml.h"
#include "linediff.h"
#include "str.h"

/* ---- waiting ---------------------------------------------------------- */

static bool op_terminal(const char *phase)
{
	return phase && (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0 ||
			 strcmp(phase, "Error") == 0);
}

static bool conditions_hold(const json_t *app, unsigned what, const char *prev_started)
{
	const json_t *op = jx_path(app, "status", "operationState", NULL);
	const char *phase = jx_str(op, "phase");
	bool busy = json_object_get(app, "operation") != NULL || (phase && !op_terminal(phase));

	if ((what & APP_WAIT_SYNC) && !str_eq_null(cli_str(app, NULL, "status", "sync", "status", NULL), "Synced"))
		return false;
	if ((what & APP_WAIT_HEALTH) &&
	    !str_eq_null(cli_str(app, NULL, "status", "health", "status", NULL), "Healthy"))
		return false;
	if ((what & (APP_WAIT_OPERATION | APP_WAIT_NEW_OP)) && busy)
		return false;
	if (what & APP_WAIT_NEW_OP) {
		if (!op || !op_terminal(phase))
			return false;
		if (prev_started && str_eq_null(jx_str(op, "startedAt"), prev_started))
			return false;
	}
	return true;
}

/* On a terminal, prints each resource whose sync status or health changed
 * since the last poll; seen maps "kind/ns/name" → "status health". */
static void print_progress(const json_t *app, json_t *seen)
{
	json_t *r;
	size_t i;
	char key[768], val[256];

	if (!cli_is_tty())
		return;
	json_array_foreach(jx_path(app, "status", "resources", NULL), i, r) {
		const char *st = cli_str(r, "", "status", NULL), *h = cli_str(r, "", "health", "status", NULL);
		snprintf(key, sizeof(key), "%s/%s/%s", cli_str(r, "", "kind", NULL), cli_str(r, "", "namespace", NULL),
			 cli_str(r, "", "name", NULL));
		snprintf(val, sizeof(val), "%s %s", st, h);
		if (str_eq_null(jx_str(seen, key), val))
			continue;
		json_object_set_new(seen, key, json_string(val));
		const char *cs = cli_status_colour(st), *ch = cli_status_colour(h);
		printf("  %-40s %s%-10s%s %s%s%s\n", key, cs, st, *cs ? cli_colour_reset() : "", ch, h,
		       *ch ? cli_colour_reset() : "");
		fflush(stdout);
	}
	/* Results of the running operation as the controller records them. */
	json_array_foreach(jx_path(app, "status", "operationState", "syncResult", "resources", NULL), i, r) {
		const char *st = cli_str(r, "", "status", NULL), *msg = cli_str(r, "", "message", NULL);
		snprintf(key, sizeof(key), "op:%s/%s/%s", cli_str(r, "", "kind", NULL), cli_str(r, "", "namespace", NULL),
			 cli_str(r, "", "name", NULL));
		snprintf(val, sizeof(val), "%s %s", st, msg);
		if (str_eq_null(jx_str(seen, key), val))
			continue;
		json_object_set_new(seen, key, json_string(val));
		const char *cs = cli_status_colour(st);
		printf("  %-40s %s%-10s%s %s\n", key + 3, cs, st, *cs ? cli_colour_reset() : "", msg);
		fflush(stdout);
	}
}

int app_refresh(struct cli_conn *c, const char *name, const char *kind, int64_t timeout_s, json_t **ret)
{
	int64_t deadline = clock_mono_ms() + timeout_s * 1000, delay = 100;
	json_t *app = NULL;
	int rc;

	if ((rc = app_fetch(c, name, kind, &app)) != 0)
		return rc;
	for (;;) {
		const json_t *ann = jx_path(app, "metadata", "annotations", NULL);
		if (!json_object_get(ann, "berth.dev/refresh") && !json_object_get(ann, "argocd.argoproj.io/refresh"))
			break;
		if (clock_mono_ms() >= deadline) {
			fprintf(stderr, "berth %s: warning: the controller has not refreshed application '%s' within %llds; "
					"showing the last comparison\n",
				c->cmd, name, (long long)timeout_s);
			break;
		}
		clock_sleep_ms(delay);
		if (delay < 500)
			delay += 100;
		json_decref(app);
		app = NULL;
		if ((rc = app_fetch(c, name, NULL, &app)) != 0)
			return rc;
	}
	*ret = app;
	return 0;
}

int app_wait(struct cli_conn *c, const char *name, unsigned what, const char *prev_started,
	     int64_t timeout_s, json_t **ret)
{
	int64_t deadline = timeout_s > 0 ? clock_mono_ms() + timeout_s * 1000 : 0, delay = 250;
	json_t *seen = json_object(), *app = NULL;
	int rc;

	for (;;) {
		json_decref(app);
		app = NULL;
		if ((rc = app_fetch(c, name, NULL, &app)) != 0)
			break;
		print_progress(app, seen);
		if (conditions_hold(app, what, prev_started)) {
			rc = 0;
			break;
		}
		if (deadline && clock_mono_ms() >= deadline) {
			fprintf(stderr,
				"berth %s: timed out after %llds waiting for application '%s' (sync %s, health %s, "
				"%s, last operation %s)\n",
				c->cmd, (long long)timeout_s, name, cli_str(app, "Unknown", "status", "sync", "status", NULL),
				cli_str(app, "Unknown", "status", "health", "status", NULL),
				json_object_get(app, "operation") ? "an operation requested" : "no operation requested",
				cli_str(app, "none", "status", "operationState", "phase", NULL));
			rc = 1;
			break;
		}
		clock_sleep_ms(delay);
		if (delay < 1000)
			delay += 250;
	}
	json_decref(seen);
	if (ret)
		*ret = app;
	else
		json_decref(app);
	return rc;
}

int app_print_operation(const json_t *app)
{
	const json_t *op = jx_path(app, "status", "operationState", NULL), *r;
	json_t *rows = json_array();
	size_t i;

	cli_table_row(rows, 7, "GROUP", "KIND", "NAMESPACE", "NAME", "STATUS", "HOOK", "MESSAGE");
	json_array_foreach(jx_path(op, "syncResult", "resources", NULL), i, r)
		cli_table_row(rows, 7, cli_str(r, "", "group", NULL), cli_str(r, "", "kind", NULL),
			      cli_str(r, "", "namespace", NULL), cli_str(r, "", "name", NULL), cli_str(r, "", "status", NULL),
			      cli_str(r, "", "hookType", NULL), cli_str(r, "", "message", NULL));
	if (json_array_size(rows) > 1)
		cli_table_print(rows);
	json_decref(rows);
	const char *phase = cli_str(op, "Unknown", "phase", NULL);
	const char *col = cli_status_colour(phase);
	printf("\n%-20s%s%s%s\n", "Phase:", col, phase, *col ? cli_colour_reset() : "");
	if (jx_str(op, "message"))
		printf("%-20s%s\n", "Message:", jx_str(op, "message"));
	if (jx_path_str(op, "syncResult", "revision", NULL))
		printf("%-20s%s\n", "Revision:", jx_path_str(op, "syncResult", "revision", NULL));
	return strcmp(phase, "Succeeded") == 0 ? 0 : 1;
}

/* Requests an operation (POST body to path), then waits for it unless
 * async, prints the results; exit status. */
static int run_operation(struct cli_conn *c, const char *name, const char *suffix, const json_t *body,
			 bool async, int64_t timeout_s)
{
	json_t *before = NULL, *after = NULL, *resp = NULL;
	char *path = cli_path("applications", name, suffix), *prev = NULL;
	int rc;

	if ((rc = app_fetch(c, name, NULL, &before)) != 0)
		goto out;
	prev = str_dup(jx_path_str(before, "status", "operationState", "startedAt", NULL));
	if ((rc = cli_call(c, "POST", path, body, NULL, &resp)) != 0)
		goto out;
	if (async) {
		printf("%s of application '%s' requested\n", suffix + 1, name);
		goto out;
	}
	if (cli_is_tty()) {
		printf("%s of application '%s' started; waiting for it to end\n", suffix + 1, name);
		fflush(stdout);
	}
	if ((rc = app_wait(c, name, APP_WAIT_NEW_OP, prev, timeout_s, &after)) != 0)
		goto out;
	rc = app_print_operation(after);
	if (rc != 0)
		fprintf(stderr, "berth %s: the %s of application '%s' did not succeed\n", c->cmd, suffix + 1, name);
out:
	free(prev);
	free(path);
	json_decref(before);
	json_decref(after);
	json_decref(resp);
	return rc;
}

/* ---- app sync --------------------------------------------------------- */

static const char sync_usage[] =
	"Usage: berth app sync NAME [--prune] [--dry-run] [--revision R]\n"
	"                      [--resource GROUP:KIND:NAME]... [--force] [--replace]\n"
	"                      [--server-side] [--async] [--timeout S]\n"
	"\n"
	"Makes the cluster match Git for an application, waits for the sync to end and\n"
	"prints the result of each resource.\n"
	"\n"
	"      --prune                  delete resources Git no longer has\n"
	"      --dry-run                only check what would be applied\n"
	"      --revision R             sync this revision instead of the target\n"
	"      --resource G:K:N         only this resource (GROUP may be empty; NAME\n"
	"                               may be NAMESPACE/NAME); repeatable\n"
	"      --force                  delete and re-create resources that cannot be patched\n"
	"      --replace                replace (PUT) instead of patching\n"
	"      --server-side            use server-side apply\n"
	"      --async                  do not wait for the sync to end\n"
	"      --timeout S              give up waiting after S seconds (default: none)\n"
	"  -h, --help                   show this help\n"
	"\n" CLI_GLOBAL_HELP "\n"
	"Exit status: 0 the sync succeeded, 1 it failed or timed out, 2 an error.\n";

static int parse_resource(const char *spec, json_t *out)
{
	const char *a = strchr(spec, ':'), *b = a ? strchr(a + 1, ':') : NULL;
	if (!a || !b || b == a + 1 || !b[1])
		return -1;
	char *group = strndup(spec, (size_t)(a - spec)), *kind = strndup(a + 1, (size_t)(b - a - 1));
	const char *name = b + 1, *slash = strchr(name, '/');
	json_t *r = json_pack("{s:s,s:s}", "group", group ? group : "", "kind", kind ? kind : "");
	if (slash) {
		char *ns = strndup(name, (size_t)(slash - name));
		json_object_set_new(r, "namespace", json_string(ns ? ns : ""));
		json_object_set_new(r, "name", json_string(slash + 1));
		free(ns);
	} else {
		json_object_set_new(r, "name", json_string(name));
	}
	json_array_append_new(out, r);
	free(group);
	free(kind);
	return 0;
}

static int parse_timeout(const char *arg, int64_t *out)
{
	int64_t v;
	if (str_to_i64(arg, &v) < 0 || v < 0)
		return -1;
	*out = v;
	return 0;
}

int cmd_app_sync(int argc, char **argv)
{
	enum { OPT_PRUNE = CLI_OPT_FIRST_FREE, OPT_DRY, OPT_REV, OPT_RES, OPT_FORCE, OPT_REPLACE, OPT_SSA,
	       OPT_ASYNC, OPT_TIMEOUT };
	static const struct option opts[] = {
		{"prune", no_argument, NULL, OPT_PRUNE},       {"dry-run", no_argument, NULL, OPT_DRY},
		{"revision", required_argument, NULL, OPT_REV}, {"resource", required_argument, NULL, OPT_RES},
		{"force", no_argument, NULL, OPT_FORCE},       {"replace", no_argument, NULL, OPT_REPLACE},
		{"server-side", no_argument, NULL, OPT_SSA},   {"async", no_argument, NULL, OPT_ASYNC},
		{"timeout", required_argument, NULL, OPT_TIMEOUT}, {"help", no_argument, NULL, 'h'},
		CLI_GLOBAL_LONGOPTS,                           {NULL, 0, NULL, 0}};
	struct cli_global g = {0};
	struct cli_conn conn = {0};
	json_t *body = json_object(), *resources = json_array(), *sync_opts = json_array();
	bool async = false, force = false;
	int64_t timeout_s = 0;
	int c, rc;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (cli_global_opt(&g, c, optarg))
			continue;
		switch (c) {
		case OPT_PRUNE: json_object_set_new(body, "prune", json_true()); break;
		case OPT_DRY: json_object_set_new(body, "dryRun", json_true()); break;
		case OPT_REV: json_object_set_new(body, "revision", json_string(optarg)); break;
		case OPT_RES:
			if (parse_resource(optarg, resources) < 0) {
				rc = cli_usage_error(argv[0], "--resource wants GROUP:KIND:NAME, not \"%s\"", optarg);
				goto out;
			}
			break;
		case OPT_FORCE: force = true; break;
		case OPT_REPLACE: json_array_append_new(sync_opts, json_string("Replace=true")); break;
		case OPT_SSA: json_array_append_new(sync_opts, json_string("ServerSideApply=true")); break;
		case OPT_ASYNC: async = true; break;
		case OPT_TIMEOUT:
			if (parse_timeout(optarg, &timeout_s) < 0) {
				rc = cli_usage_error(argv[0], "--timeout wants seconds, not \"%s\"", optarg);
				goto out;
			}
			break;
		case 'h': fputs(sync_usage, stdout); rc = 0; goto out;
		default: rc = cli_usage_error(argv[0], "bad flag"); goto out;
		}
	}
	if (optind + 1 != argc) {
		rc = cli_usage_error(argv[0], "expected one NAME");
		goto out;
	}
	json_object_set_new(body, "name", json_string(argv[optind]));
	if (json_array_size(resources))
		json_object_set(body, "resources", resources);
	if (force) {
		json_array_append_new(sync_opts, json_string("Force=true"));
		json_object_set_new(body, "strategy", json_pack("{s:{s:b}}", "apply", "force", 1));
	}
	if (json_array_size(sync_opts))
		json_object_set(body, "syncOptions", sync_opts);
	if ((rc = cli_connect(argv[0], &g, true, &conn)) != 0)
		goto out;
	rc = run_operation(&conn, argv[optind], "/sync", body, async, timeout_s);
out:
	json_decref(body);
	json_decref(resources);
	json_decref(sync_opts);
	cli_conn_release(&conn);
	return rc;
}

/* ---- app rollback ----------------------------------------------------- */

static const char rollback_usage[] =
	"Usage: berth app rollback NAME [ID] [--prune] [--timeout S]\n"
	"\n"
	"Deploys again what history entry ID (see app history; default: the one\n"
	"before the last) deployed, and waits for it. Refused while automated sync is\n"
	"on.\n"
	"\n"
	"      --prune                  delete resources the old revision does not have\n"
	"      --timeout S              give up waiting after S seconds (default: none)\n"
	"  -h, --help                   show this help\n"
	"\n" CLI_GLOBAL_HELP "\n"
	"Exit status: 0 the rollback succeeded, 1 it failed or timed out, 2 an error.\n";

int cmd_app_rollback(int argc, char **argv)
{
	enum { OPT_PRUNE = CLI_OPT_FIRST_FREE, OPT_TIMEOUT };
	static const struct option opts[] = {{"prune", no_argument, NULL, OPT_PRUNE},
					     {"timeout", required_argument, NULL, OPT_TIMEOUT},
					     {"help", no_argument, NULL, 'h'},
					     CLI_GLOBAL_LONGOPTS,
					     {NULL, 0, NULL, 0}};
	struct cli_global g = {0};
	struct cli_conn conn = {0};
	bool prune = false;
	int64_t timeout_s = 0, id = -1;
	json_t *app = NULL, *body = NULL;
	int c, rc;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (cli_global_opt(&g, c, optarg))
			continue;
		switch (c) {
		case OPT_PRUNE: prune = true; break;
		case OPT_TIMEOUT:
			if (parse_timeout(optarg, &timeout_s) < 0)
				return cli_usage_error(argv[0], "--timeout wants seconds, not \"%s\"", optarg);
			break;
		case 'h': fputs(rollback_usage, stdout); return 0;
		default: return cli_usage_error(argv[0], "bad flag");
		}
	}
	if (optind + 1 != argc && optind + 2 != argc)
		return cli_usage_error(argv[0], "expected NAME [ID]");
	if (optind + 2 == argc && (str_to_i64(argv[optind + 1], &id) < 0 || id < 0))
		return cli_usage_error(argv[0], "ID is a history number, not \"%s\"", argv[optind + 1]);
	if ((rc = cli_connect(argv[0], &g, true, &conn)) != 0)
		return rc;
	if (id < 0) {
		if ((rc = app_fetch(&conn, argv[optind], NULL, &app)) != 0)
			goto out;
		json_t *hist = jx_path(app, "status", "history", NULL);
		size_t n = json_array_size(hist);
		if (n < 2) {
			rc = cli_error(argv[0], "application '%s' has no earlier deployment to roll back to",
				       argv[optind]);
			goto out;
		}
		id = json_integer_value(json_object_get(json_array_get(hist, n - 2), "id"));
	}
	body = json_pack("{s:s,s:I,s:b}", "name", argv[optind], "id", (json_int_t)id, "prune", prune);
	rc = run_operation(&conn, argv[optind], "/rollback", body, false, timeout_s);
out:
	json_decref(app);
	json_decref(body);
	cli_conn_release(&conn);
	return rc;
}

/* ---- app wait --------------------------------------------------------- */

static const char wait_usage[] =
	"Usage: berth app wait NAME... [--sync] [--health] [--operation] [--timeout S]\n"
	"\n"
	"Waits until each application is synced, healthy and has no operation\n"
	"running; with flags, only for what they name.\n"
	"\n"
	"      --sync                   wait until Synced\n"
	"      --health                 wait until Healthy\n"
	"      --operation              wait until no operation is running\n"
	"      --timeout S              give up after S seconds (default: none)\n"
	"  -h, --help                   show this help\n"
	"\n" CLI_GLOBAL_HELP "\n"
	"Exit status: 0 the conditions hold, 1 timed out, 2 an error.\n";

int cmd_app_wait(int argc, char **argv)
{
	enum { OPT_SYNC = CLI_OPT_FIRST_FREE, OPT_HEALTH, OPT_OP, OPT_TIMEOUT };
	static const struct option opts[] = {{"sync", no_argument, NULL, OPT_SYNC},
					     {"health", no_argument, NULL, OPT_HEALTH},
					     {"operation", no_argument, NULL, OPT_OP},
					     {"timeout", required_argument, NULL, OPT_TIMEOUT},
					     {"help", no_argument, NULL, 'h'},
					     CLI_GLOBAL_LONGOPTS,
					     {NULL, 0, NULL, 0}};
	struct cli_global g = {0};
	struct cli_conn conn = {0};
	unsigned what = 0;
	int64_t timeout_s = 0, start = clock_mono_ms();
	int c, rc = 0;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (cli_global_opt(&g, c, optarg))
			continue;
		switch (c) {
		case OPT_SYNC: what |= APP_WAIT_SYNC; break;
		case OPT_HEALTH: what |= APP_WAIT_HEALTH; break;
		case OPT_OP: what |= APP_WAIT_OPERATION; break;
		case OPT_TIMEOUT:
			if (parse_timeout(optarg, &timeout_s) < 0)
				return cli_usage_error(argv[0], "--timeout wants seconds, not \"%s\"", optarg);
			break;
		case 'h': fputs(wait_usage, stdout); return 0;
		default: return cli_usage_error(argv[0], "bad flag");
		}
	}
	if (optind >= argc)
		return cli_usage_error(argv[0], "expected NAME");
	if (!what)
		what = APP_WAIT_SYNC | APP_WAIT_HEALTH | APP_WAIT_OPERATION;
	if ((rc = cli_connect(argv[0], &g, true, &conn)) != 0)
		return rc;
	for (int i = optind; i < argc && rc == 0; i++) {
		int64_t left = 0;
		if (timeout_s > 0) {
			left = timeout_s - (clock_mono_ms() - start) / 1000;
			if (left < 1)
				left = 1;
		}
		json_t *app = NULL;
		if ((rc = app_wait(&conn, argv[i], what, NULL, left, &app)) == 0)
			printf("application '%s': %s, %s\n", argv[i], cli_str(app, "Unknown", "status", "sync", "status", NULL),
			       cli_str(app, "Unknown", "status", "health", "status", NULL));
		json_decref(app);
	}
	cli_conn_release(&conn);
	return rc;
}

/* ---- app diff --------------------------------------------------------- */

static const char diff_usage[] =
	"Usage: berth app diff NAME [--local DIR] [--hard-refresh]\n"
	"\n"
	"Shows how the live resources of an application differ from Git, as a unified\n"
	"YAML diff per resource (Secret values masked by the server). With --local,\n"
	"compares the live resources with DIR rendered here instead (plain YAML,\n"
	"Kustomize, Helm or Jsonnet, as the repo server renders it).\n"
	"\n"
	"      --local DIR              render DIR instead of the application's source\n"
	"      --hard-refresh           render again from Git without the cache first\n"
	"                               (default: a normal refresh)\n"
	"  -h, --help                   show this help\n"
	"\n" CLI_GLOBAL_HELP "\n"
	"Exit status: 0 no difference, 1 a difference, 2 an error.\n";

/* The object of a state field: an object, or a JSON string of one; NULL for
 * none. New reference. */
static json_t *state_of(const json_t *item, const char *key)
{
	json_t *v = json_object_get(item, key), *p = NULL;
	if (json_is_object(v))
		return json_incref(v);
	if (json_is_string(v) && json_string_length(v) > 0 && strcmp(json_string_value(v), "null") != 0 &&
	    jx_parse(json_string_value(v), json_string_length(v), CLI_MAX_INPUT, 256, &p) == 0 && json_is_object(p))
		return p;
	json_decref(p);
	return NULL;
}

static int yaml_of(const json_t *v, struct buf *out)
{
	buf_reset(out);
	return v ? kyaml_dump_ex(v, KYAML_DUMP_SORT_KEYS, out) : 0;
}

static int diff_item(const json_t *item, struct buf *out, bool *differs)
{
	json_t *live = state_of(item, "normalizedLiveState"), *want = state_of(item, "predictedLiveState");
	struct buf a, b;
	char label[768];
	int rc = 0;

	bool normalized = live && want;

	if (!live)
		live = state_of(item, "liveState");
	if (!want)
		want = state_of(item, "targetState");
	buf_init(&a, CLI_MAX_INPUT);
	buf_init(&b, CLI_MAX_INPUT);
	if ((rc = yaml_of(live, &a)) < 0 || (rc = yaml_of(want, &b)) < 0)
		goto out;
	/* The verdict, most direct first: the server's "modified"; the
	 * controller's masked diff text (empty: no difference); the normalised
	 * live and predicted states; else the sync status alone (raw liveState
	 * and targetState always differ in server-set fields). */
	json_t *mod = json_object_get(item, "modified"), *diff = json_object_get(item, "diff");
	bool changed;
	if (json_is_boolean(mod))
		changed = json_is_true(mod);
	else if (json_is_string(diff))
		changed = json_string_length(diff) > 0;
	else if (normalized)
		changed = a.len != b.len || (a.len && memcmp(a.ptr, b.ptr, a.len) != 0);
	else
		changed = str_eq_null(jx_str(item, "status"), "OutOfSync") ||
			  json_is_true(json_object_get(item, "requiresPruning"));
	if (!changed)
		goto out;
	*differs = true;
	snprintf(label, sizeof(label), "%s/%s %s/%s", cli_str(item, "", "group", NULL), cli_str(item, "", "kind", NULL),
		 cli_str(item, "", "namespace", NULL), cli_str(item, "", "name", NULL));
	buf_printf(out, "\n===== %s ======\n", label);
	if (jx_str(item, "diff") && *jx_str(item, "diff"))
		rc = buf_puts(out, jx_str(item, "diff"));
	else if (!live && !want)
		rc = buf_printf(out, "%s (no detail: the server has no cached states)\n",
				json_is_true(json_object_get(item, "requiresPruning")) ? "to be pruned" : "OutOfSync");
	else
		rc = linediff_unified(a.ptr ? a.ptr : "", a.len, b.ptr ? b.ptr : "", b.len, "live", "desired", 3, out);
out:
	buf_release(&a);
	buf_release(&b);
	json_decref(live);
	json_decref(want);
	return rc;
}

int cmd_app_diff(int argc, char **argv)
{
	enum { OPT_LOCAL = CLI_OPT_FIRST_FREE, OPT_HARD };
	static const struct option opts[] = {{"local", required_argument, NULL, OPT_LOCAL},
					     {"hard-refresh", no_argument, NULL, OPT_HARD},
					     {"help", no_argument, NULL, 'h'},
					     CLI_GLOBAL_LONGOPTS,
					     {NULL, 0, NULL, 0}};
	struct cli_global g = {0};
	struct cli_conn conn = {0};
	const char *local = NULL, *refresh = "normal";
	json_t *resp = NULL, *item, *app = NULL;
	char *path = NULL;
	struct buf out;
	bool differs = false;
	size_t i;
	int c, rc;

	buf_init(&out, (size_t)512 << 20);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (cli_global_opt(&g, c, optarg))
			continue;
		if (c == OPT_LOCAL)
			local = optarg;
		else if (c == OPT_HARD)
			refresh = "hard";
		else if (c == 'h') {
			fputs(diff_usage, stdout);
			rc = 0;
			goto done;
		} else {
			rc = cli_usage_error(argv[0], "bad flag");
			goto done;
		}
	}
	if (optind + 1 != argc) {
		rc = cli_usage_error(argv[0], "expected one NAME");
		goto done;
	}
	if ((rc = cli_connect(argv[0], &g, true, &conn)) != 0)
		goto done;
	if ((rc = app_refresh(&conn, argv[optind], refresh, 60, &app)) != 0)
		goto done;
	path = cli_path("applications", argv[optind], "/managed-resources");
	if ((rc = cli_call(&conn, "GET", path, NULL, "application", &resp)) != 0)
		goto done;
	if (local) {
		rc = cli_diff_local(&conn, app, json_object_get(resp, "items"), local);
		goto done;
	}
	if (!json_object_get(resp, "items")) {
		/* A map of resource key → unified diff text. */
		const char *key;
		json_t *d;
		json_object_foreach(resp, key, d) {
			if (!json_is_string(d) || json_string_length(d) == 0)
				continue;
			differs = true;
			buf_printf(&out, "\n===== %s ======\n%s", key, json_string_value(d));
		}
	}
	json_array_foreach(json_object_get(resp, "items"), i, item) {
		if (diff_item(item, &out, &differs) < 0) {
			rc = cli_error(argv[0], "%s", err_msg());
			goto done;
		}
	}
	if (!cli_write_out(&out)) {
		rc = cli_error(argv[0], "write to stdout failed");
		goto done;
	}
	rc = differs ? CLI_EXIT_DIFF : CLI_EXIT_OK;
done:
	buf_release(&out);
	json_decref(resp);
	json_decref(app);
	free(path);
	cli_conn_release(&conn);
	return rc;
}
