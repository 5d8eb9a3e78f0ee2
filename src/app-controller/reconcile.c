/* Reconcile one Application: desired (repo server) against live (the
 * cluster's cache), through the diff engine and health, into status —
 * written only when it changed — and, when the sync policy says so, an
 * automatic sync operation (DESIGN.md §5–§7).
 *
 * Nothing is applied here: a sync is requested by setting the app's
 * `operation`, which the operation workers run (sync.c). So the decision
 * and the work are both recorded in the Application, and a restart resumes
 * from there. */
#include <stdlib.h>
#include <string.h>

#include "annot.h"
#include "clock.h"
#include "ctl.h"
#include "diff.h"
#include "err.h"
#include "jsonx.h"
#include "log.h"
#include "secretmask.h"
#include "str.h"

#define LIVE_SYNC_WAIT_MS 5000
#define VERDICT_MAX_BYTES ((size_t)4 << 20)
#define MANAGED_MAX_BYTES ((size_t)16 << 20)

/* One resource of the comparison. */
struct res {
	json_t *desired;           /* borrowed from the manifests, or NULL */
	json_t *live;              /* owned, or NULL */
	bool synced;
	bool requires_pruning;
	struct health health;
	bool has_health;
	int wave;
	char key[65];              /* diff cache key, "" when not cacheable */
	json_t *verdict;           /* {"m", "d", "p"}: see diffcache.c; owned */
};

struct compare {
	struct res *v;
	size_t n;
	bool all_synced;
	enum health_status health;
	json_t *conditions;        /* {type: message} found by this pass */
};

static void compare_release(struct compare *cmp)
{
	for (size_t i = 0; i < cmp->n; i++) {
		json_decref(cmp->v[i].live);
		json_decref(cmp->v[i].verdict);
	}
	free(cmp->v);
	json_decref(cmp->conditions);
	memset(cmp, 0, sizeof(*cmp));
}

static char *res_key(const json_t *obj)
{
	char group[256];
	annot_api_group(obj, group, sizeof(group));
	const char *ns = jx_path_str(obj, "metadata", "namespace", NULL);
	const char *name = jx_path_str(obj, "metadata", "name", NULL);
	return str_printf("%s/%s/%s/%s", group, jx_str(obj, "kind") ? jx_str(obj, "kind") : "", ns ? ns : "",
			  name ? name : "");
}

int ctl_live_objects(struct cluster *cl, const char *app_name, json_t **ret)
{
	struct lc_records rs = {0};
	json_t *out = json_array();
	int rc;

	if (!out)
		return err_set(BERR_NOMEM, "out of memory");
	if ((rc = livecache_by_key(cl->lc, app_name, &rs)) < 0) {
		json_decref(out);
		return rc;
	}
	for (size_t i = 0; i < rs.n; i++) {
		json_t *obj = NULL;
		if (lc_record_object(rs.v[i], &obj) < 0) {
			err_clear();
			continue;
		}
		if (annot_tracking_matches(obj, app_name))
			json_array_append(out, obj);
		json_decref(obj);
	}
	lc_records_free(&rs);
	*ret = out;
	return 0;
}

/* The live object for desired d when this app does not track it yet:
 * a pre-existing object (adopted on sync), or one another app tracks
 * (a shared resource). New reference or NULL. */
static json_t *untracked_live(struct cluster *cl, const json_t *d, const char *app, json_t *conditions)
{
	char group[256];
	annot_api_group(d, group, sizeof(group));
	const struct lc_record *r = livecache_get(cl->lc, group, jx_str(d, "kind"),
						  jx_path_str(d, "metadata", "namespace", NULL),
						  jx_path_str(d, "metadata", "name", NULL));
	if (!r)
		return NULL;
	const char *other = jx_path_str(r->meta, "annotations", ANNOT_TRACKING_ID, NULL);
	size_t app_len = strlen(app);
	if (other && (strncmp(other, app, app_len) || other[app_len] != ':')) {
		char *msg = str_printf("%s/%s is part of applications %s and %s", r->kind, r->name, app, other);
		if (msg)
			json_object_set_new(conditions, "SharedResourceWarning", json_string(msg));
		free(msg);
	}
	struct kube_target t;
	json_t *obj = NULL;
	if (kube_target_of(d, &t) == 0 && kube_get(cl->kc, &t, NULL, &obj) < 0) {
		err_clear();
		obj = NULL;
	}
	lc_record_unref(r);
	return obj;
}

/* The verdict of a computed diff: {"m": modified} and, when modified, the
 * masked unified diff "d" and the masked predicted live object "p". */
static json_t *make_verdict(const struct res *r, const struct diff_result *dr)
{
	json_t *v = json_pack("{s:b}", "m", dr->modified);
	struct buf b;
	if (!v || !dr->modified)
		return v;
	buf_init(&b, VERDICT_MAX_BYTES);
	if (diff_unified(dr, &b) == 0)
		json_object_set_new(v, "d", json_stringn(b.ptr ? b.ptr : "", b.len));
	if (dr->predicted_live) {
		json_t *objs[3] = {r->desired ? json_deep_copy(r->desired) : NULL,
				   r->live ? json_deep_copy(r->live) : NULL, json_deep_copy(dr->predicted_live)};
		b.len = 0;
		if (objs[2] && secretmask_apply(objs, 3) == 0 && jx_dump_compact(objs[2], &b) == 0)
			json_object_set_new(v, "p", json_stringn(b.ptr ? b.ptr : "", b.len));
		for (size_t i = 0; i < 3; i++)
			json_decref(objs[i]);
	}
	err_clear();
	buf_release(&b);
	return v;
}

/* Compares one resource: the remembered verdict for its inputs when there
 * is one (diffcache.c), else the diff engine's (then remembered). */
static void compare_one(struct ctl *c, const struct model_project *proj, const struct diff_settings *ds,
			struct res *r, struct compare *cmp)
{
	struct diff_result dr;
	char group[256];
	char *why = NULL;

	annot_api_group(r->desired ? r->desired : r->live, group, sizeof(group));
	const json_t *o = r->desired ? r->desired : r->live;
	bool namespaced = jx_path_str(o, "metadata", "namespace", NULL) != NULL;
	if (r->desired && !model_project_permits_resource(proj, group, jx_str(o, "kind"), namespaced, &why)) {
		json_object_set_new(cmp->conditions, "InvalidSpecError", json_string(why ? why : "resource not permitted"));
		free(why);
	}
	if (!r->desired)
		r->requires_pruning = true;
	r->key[0] = '\0';
	if (r->desired && r->live) {
		if (diff_cache_key(r->desired, r->live, ds, r->key) == 0)
			r->verdict = ctl_diffcache_get(c, r->key);
		else
			r->key[0] = '\0';
		err_clear();
	}
	if (!r->verdict) {
		diff_result_init(&dr);
		if (diff_compute(r->desired, r->live, ds, &dr) < 0) {
			json_object_set_new(cmp->conditions, "ComparisonError", json_string(err_msg()));
			err_clear();
			r->synced = false;
			return;
		}
		r->verdict = make_verdict(r, &dr);
		diff_result_release(&dr);
		if (r->verdict && r->key[0])
			ctl_diffcache_put(c, r->key, r->verdict);
	}
	r->synced = r->desired && r->live && r->verdict && !json_is_true(json_object_get(r->verdict, "m"));
}

static int build_compare(struct ctl *c, struct cluster *cl, const struct model_app *app,
			 const struct model_project *proj, const json_t *app_obj, json_t *desired,
			 struct compare *cmp)
{
	json_t *live = NULL, *by_key = json_object();
	size_t i;
	json_t *o;
	int rc;

	cmp->conditions = json_object();
	if (!by_key || !cmp->conditions)
		return err_set(BERR_NOMEM, "out of memory");
	if ((rc = ctl_live_objects(cl, app->meta.name, &live)) < 0)
		goto out;
	cmp->v = calloc(json_array_size(desired) + json_array_size(live) + 1, sizeof(*cmp->v));
	if (!cmp->v) {
		rc = err_set(BERR_NOMEM, "out of memory");
		goto out;
	}
	json_array_foreach(live, i, o) {
		char *k = res_key(o);
		if (k)
			json_object_set(by_key, k, o);
		free(k);
	}
	json_array_foreach(desired, i, o) {
		struct annot an;
		if (annot_parse(o, &an) < 0) {
			json_object_set_new(cmp->conditions, "ComparisonError", json_string(err_msg()));
			err_clear();
			continue;
		}
		bool skip = an.is_hook || an.skip;
		int wave = an.wave;
		annot_release(&an);
		if (skip)
			continue;
		struct res *r = &cmp->v[cmp->n++];
		r->desired = o;
		r->wave = wave;
		char *k = res_key(o);
		json_t *l = k ? json_object_get(by_key, k) : NULL;
		if (l) {
			r->live = json_incref(l);
			json_object_del(by_key, k);
		} else {
			r->live = untracked_live(cl, o, app->meta.name, cmp->conditions);
		}
		free(k);
	}
	const char *key;
	json_object_foreach(by_key, key, o) {
		struct annot an;
		bool hook = annot_parse(o, &an) == 0 && (an.is_hook || an.skip);
		annot_release(&an);
		err_clear();
		if (hook)
			continue;
		struct res *r = &cmp->v[cmp->n++];
		r->live = json_incref(o);
	}
	const json_t *ignore = jx_path(app_obj, "spec", "ignoreDifferences", NULL);
	json_t *settings = ctl_settings(c);
	json_t *custom = settings ? ctl_diff_customizations(settings) : NULL;
	json_decref(settings);
	struct diff_settings ds = {.ignore_differences = ignore, .customizations = json_object_size(custom) ? custom : NULL,
				   .compare_only = true};
	cmp->all_synced = true;
	for (i = 0; i < cmp->n; i++) {
		compare_one(c, proj, &ds, &cmp->v[i], cmp);
		if (!cmp->v[i].synced)
			cmp->all_synced = false;
	}
	json_decref(custom);
	rc = 0;
out:
	json_decref(live);
	json_decref(by_key);
	return rc;
}

/* Custom health rules of berth-cm, or NULL. */
static struct health_rules *settings_health_rules(struct ctl *c)
{
	const struct lc_record *r = livecache_get(c->cp, "", "ConfigMap", c->ns, "berth-cm");
	json_t *cm = NULL;
	struct health_rules *rules = NULL;
	if (r && lc_record_object(r, &cm) == 0 && json_is_object(json_object_get(cm, "data"))) {
		rules = health_rules_new();
		if (rules && health_rules_add_settings(rules, json_object_get(cm, "data")) < 0) {
			log_limited(LOG_LEVEL_WARN, "berth-cm: bad health customization", "error", err_msg(), NULL);
			err_clear();
		}
	}
	lc_record_unref(r);
	json_decref(cm);
	return rules;
}

static void assess_health(struct ctl *c, const struct model_app *app, struct compare *cmp)
{
	struct health_rules *rules = settings_health_rules(c);
	struct health_resource *hr = calloc(cmp->n + 1, sizeof(*hr));
	cmp->health = HEALTH_HEALTHY;
	if (!hr) {
		health_rules_free(rules);
		return;
	}
	for (size_t i = 0; i < cmp->n; i++) {
		hr[i].desired = cmp->v[i].desired;
		hr[i].live = cmp->v[i].live;
	}
	if (health_app(hr, cmp->n, rules, app->meta.name, &cmp->health) < 0) {
		err_clear();
		cmp->health = HEALTH_UNKNOWN;
	}
	for (size_t i = 0; i < cmp->n; i++) {
		cmp->v[i].health = hr[i].health;
		cmp->v[i].has_health = hr[i].has_health;
	}
	free(hr);
	health_rules_free(rules);
}

static json_t *resource_json(const struct res *r)
{
	const json_t *o = r->desired ? r->desired : r->live;
	char group[256];
	const char *av = jx_str(o, "apiVersion");
	const char *slash = av ? strchr(av, '/') : NULL;
	annot_api_group(o, group, sizeof(group));
	json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s}", "group", group, "version", slash ? slash + 1 : av ? av : "",
			      "kind", jx_str(o, "kind") ? jx_str(o, "kind") : "", "name",
			      jx_path_str(o, "metadata", "name", NULL) ? jx_path_str(o, "metadata", "name", NULL) : "",
			      "status", r->synced ? "Synced" : "OutOfSync");
	if (!j)
		return NULL;
	const char *ns = jx_path_str(o, "metadata", "namespace", NULL);
	if (ns)
		json_object_set_new(j, "namespace", json_string(ns));
	if (r->has_health) {
		json_t *h = json_pack("{s:s}", "status", health_status_name(r->health.status));
		if (h && r->health.message[0])
			json_object_set_new(h, "message", json_string(r->health.message));
		json_object_set_new(j, "health", h);
	} else if (r->desired && !r->live) {
		json_object_set_new(j, "health", json_pack("{s:s}", "status", "Missing"));
	}
	if (r->requires_pruning)
		json_object_set_new(j, "requiresPruning", json_true());
	if (r->wave)
		json_object_set_new(j, "syncWave", json_integer(r->wave));
	return j;
}

/* Conditions of this pass, keeping lastTransitionTime of unchanged ones. */
static json_t *conditions_json(const json_t *old_status, const json_t *found)
{
	json_t *arr = json_array(), *v;
	const char *type;
	char now[64];
	clock_now_rfc3339(now, sizeof(now));
	json_object_foreach((json_t *)found, type, v) {
		const char *ts = now;
		size_t i;
		json_t *oc;
		json_array_foreach(json_object_get(old_status, "conditions"), i, oc) {
			if (str_eq_null(jx_str(oc, "type"), type) && jx_equal(json_object_get(oc, "message"), v) &&
			    jx_str(oc, "lastTransitionTime"))
				ts = jx_str(oc, "lastTransitionTime");
		}
		json_array_append_new(arr, json_pack("{s:s,s:O,s:s}", "type", type, "message", v,
						     "lastTransitionTime", ts));
	}
	return arr;
}

/* The new status: the old one (operationState, history kept) with this
 * pass's comparison laid over it. */
static json_t *status_json(const json_t *app_obj, const struct model_app *app, const struct compare *cmp,
			   const char *sync_status, const char *health, const char *health_msg, const char *rev,
			   const char *source_type)
{
	const json_t *old = json_object_get(app_obj, "status");
	json_t *st = json_is_object(old) ? json_deep_copy(old) : json_object();
	char now[64];
	if (!st)
		return NULL;
	clock_now_rfc3339(now, sizeof(now));
	json_t *sync = json_pack("{s:s}", "status", sync_status);
	if (sync && rev && *rev)
		json_object_set_new(sync, "revision", json_string(rev));
	json_t *compared = json_object();
	const json_t *spec = json_object_get(app_obj, "spec");
	if (compared) {
		if (json_object_get(spec, "source"))
			json_object_set(compared, "source", json_object_get(spec, "source"));
		if (json_object_get(spec, "sources"))
			json_object_set(compared, "sources", json_object_get(spec, "sources"));
		if (json_object_get(spec, "destination"))
			json_object_set(compared, "destination", json_object_get(spec, "destination"));
		json_object_set_new(sync, "comparedTo", compared);
	}
	json_object_set_new(st, "sync", sync);
	json_t *h = json_pack("{s:s}", "status", health);
	if (h && health_msg && *health_msg)
		json_object_set_new(h, "message", json_string(health_msg));
	json_object_set_new(st, "health", h);
	json_t *res = json_array();
	for (size_t i = 0; cmp && i < cmp->n; i++)
		json_array_append_new(res, resource_json(&cmp->v[i]));
	json_object_set_new(st, "resources", res);
	json_t *conds = conditions_json(old, cmp ? cmp->conditions : NULL);
	if (json_array_size(conds))
		json_object_set_new(st, "conditions", conds);
	else {
		json_decref(conds);
		json_object_del(st, "conditions");
	}
	json_object_set_new(st, "reconciledAt", json_string(now));
	if (source_type && *source_type)
		json_object_set_new(st, "sourceType", json_string(source_type));
	json_object_set_new(st, "observedGeneration", json_integer(app->meta.generation));
	return st;
}

/* A status with only an error condition (spec, project or cluster
 * problems: nothing compared, nothing applied). */
static int write_error_status(struct ctl *c, const json_t *app_obj, const struct model_app *app,
			      const char *cond, const char *msg, const char *health)
{
	struct compare cmp = {0};
	cmp.conditions = json_pack("{s:s}", cond, msg);
	json_t *st = status_json(app_obj, app, &cmp, "Unknown", health, NULL, NULL, NULL);
	json_object_del(st, "resources");
	json_t *keep = jx_path((json_t *)app_obj, "status", "resources", NULL);
	if (keep)
		json_object_set(st, "resources", keep);
	int rc = st ? ctl_status_write(c, app_obj, st) : err_set(BERR_NOMEM, "out of memory");
	json_decref(st);
	compare_release(&cmp);
	return rc < 0 ? rc : 0;
}

static int get_project(struct ctl *c, const char *name, struct model_project *out)
{
	const struct lc_record *r = livecache_get(c->cp, MODEL_GROUP, MODEL_KIND_PROJECT, c->ns, name);
	if (!r) {
		if (!strcmp(name, MODEL_DEFAULT_PROJECT))
			return model_project_init_default(out, c->ns);
		return err_set(BERR_NOTFOUND, "application references project %s which does not exist", name);
	}
	json_t *obj = NULL;
	int rc = lc_record_object(r, &obj);
	lc_record_unref(r);
	if (rc == 0)
		rc = model_project_parse(obj, out);
	json_decref(obj);
	return rc;
}

/* Resolves the destination and checks the project. Returns the cluster or
 * writes the error condition and returns NULL. */
static struct cluster *check_app(struct ctl *c, const json_t *obj, struct model_app *app,
				 struct model_project *proj, int *ret_rc)
{
	struct model_cluster *cls = NULL;
	size_t n = 0;
	struct model_destination dst = {0};
	struct cluster *cl = NULL;
	char *why = NULL;

	*ret_rc = 0;
	if (get_project(c, app->project, proj) < 0) {
		*ret_rc = write_error_status(c, obj, app, "InvalidSpecError", err_msg(), "Unknown");
		return NULL;
	}
	if (ctl_cluster_list(c, &cls, &n) < 0 || model_destination_resolve(&app->destination, cls, n, &dst) < 0) {
		*ret_rc = write_error_status(c, obj, app, "InvalidSpecError", err_msg(), "Unknown");
		goto out;
	}
	if (!ctl_cluster_in_shard(c, dst.server))
		goto out;
	free(app->destination.server);
	free(app->destination.name);
	app->destination.server = str_dup(dst.server);
	app->destination.name = str_dup(dst.name);
	if (!model_project_permits_app(proj, app, &why)) {
		*ret_rc = write_error_status(c, obj, app, "InvalidSpecError", why ? why : "not permitted", "Unknown");
		goto out;
	}
	if (ctl_cluster_get(c, dst.server, &cl) < 0) {
		*ret_rc = write_error_status(c, obj, app, "UnknownError", err_msg(), "Unknown");
		cl = NULL;
		goto out;
	}
	if (ctl_cluster_probe(cl) < 0 || livecache_wait_synced(cl->lc, LIVE_SYNC_WAIT_MS) < 0) {
		char *msg = str_printf("cluster %s is unreachable: %s", dst.server, err_msg());
		atomic_store(&cl->reachable, false);
		*ret_rc = write_error_status(c, obj, app, "UnknownError", msg ? msg : "cluster unreachable", "Unknown");
		free(msg);
		cl = NULL;
		goto out;
	}
	atomic_store(&cl->reachable, true);
out:
	free(why);
	model_destination_release(&dst);
	for (size_t i = 0; i < n; i++)
		model_cluster_release(&cls[i]);
	free(cls);
	return cl;
}

#define SELF_HEAL_DELAY_MS 5000

/* Should an automated sync start now? (DESIGN.md §7 guards) */
static bool want_auto_sync(struct ctl *c, const json_t *obj, const struct model_app *app, const char *rev,
			   const struct compare *cmp, size_t n_desired)
{
	if (!app->sync_policy.automated || cmp->all_synced || app->operation.present)
		return false;
	const json_t *os = jx_path((json_t *)obj, "status", "operationState", NULL);
	const char *phase = jx_str(os, "phase");
	const char *last_rev = jx_path_str(os, "syncResult", "revision", NULL);
	if (phase && (!strcmp(phase, "Running") || !strcmp(phase, "Terminating")))
		return false;
	if (phase && last_rev && !strcmp(last_rev, rev)) {
		if (strcmp(phase, "Succeeded")) {
			/* failed on this revision: only retry when asked, with backoff */
			const struct model_retry *rt = &app->sync_policy.retry;
			int64_t count = json_integer_value(json_object_get(os, "retryCount"));
			if (!rt->present || (rt->limit >= 0 && count >= rt->limit))
				return false;
			int64_t delay = rt->backoff.duration_ms;
			for (int64_t i = 0; i < count && delay < rt->backoff.max_duration_ms; i++)
				delay *= rt->backoff.factor > 0 ? rt->backoff.factor : 2;
			if (delay > rt->backoff.max_duration_ms)
				delay = rt->backoff.max_duration_ms;
			time_t fin;
			const char *fs = jx_str(os, "finishedAt");
			if (fs && clock_parse_rfc3339(fs, &fin) == 0 && (int64_t)fin * 1000 + delay > clock_wall_ms()) {
				workq_add_after(c->status_q, app->meta.name, (int64_t)fin * 1000 + delay - clock_wall_ms());
				return false;
			}
		} else if (!app->sync_policy.self_heal) {
			return false; /* this revision was synced; drift is corrected only by self-heal */
		} else {
			/* self-heal waits SELF_HEAL_DELAY_MS after the last sync (as Argo CD's
			 * self-heal timeout): a compare right after it may still see a live
			 * cache without the sync's own writes, and must not sync again */
			time_t fin;
			const char *fs = jx_str(os, "finishedAt");
			int64_t due = fs && clock_parse_rfc3339(fs, &fin) == 0
					      ? (int64_t)fin * 1000 + SELF_HEAL_DELAY_MS - clock_wall_ms() : 0;
			if (due > 0) {
				workq_add_after(c->status_q, app->meta.name, due);
				return false;
			}
		}
	}
	if (app->sync_policy.prune && n_desired == 0 && !app->sync_policy.allow_empty) {
		log_warn("auto-sync refused: it would prune every resource (allowEmpty is off)", "app", app->meta.name,
			 NULL);
		return false;
	}
	return true;
}

static int start_auto_sync(struct ctl *c, const json_t *obj, const struct model_app *app, const char *rev,
			   int64_t retry_count)
{
	json_t *opts = json_array();
	for (size_t i = 0; i < app->sync_policy.sync_options.n; i++)
		json_array_append_new(opts, json_string(app->sync_policy.sync_options.v[i]));
	json_t *op = json_pack("{s:{s:s,s:b,s:o},s:{s:s,s:b},s:{s:I}}", "sync", "revision", rev, "prune",
			       app->sync_policy.prune, "syncOptions", opts, "initiatedBy", "username", "automated",
			       "automated", 1, "retry", "limit", (json_int_t)retry_count);
	if (!op)
		return err_set(BERR_NOMEM, "out of memory");
	int rc = ctl_operation_start(c, obj, op);
	if (rc == 1) {
		log_info("auto-sync", "app", app->meta.name, "revision", rev, NULL);
		workq_add(c->op_q, app->meta.name);
	} else if (rc == 0) { /* gave way: decide again once the cache has the change */
		log_info("auto-sync gave way to a newer state of the app", "app", app->meta.name, NULL);
		workq_add_after(c->status_q, app->meta.name, 1000);
	}
	return rc < 0 ? rc : 0;
}

/* Signature of what the managed-resources view shows: per resource its
 * diff inputs (or what it has), sync and health. */
static bool managed_signature(const struct compare *cmp, char sig[65])
{
	json_t *parts = json_array();
	for (size_t i = 0; parts && i < cmp->n; i++) {
		const struct res *r = &cmp->v[i];
		char h[65] = "";
		if (r->key[0])
			memcpy(h, r->key, sizeof(h));
		else if (r->desired && jx_hash_hex(r->desired, h) < 0)
			h[0] = '\0';
		const char *uid = r->live ? jx_path_str(r->live, "metadata", "uid", NULL) : NULL;
		const char *rv = r->live ? jx_path_str(r->live, "metadata", "resourceVersion", NULL) : NULL;
		json_array_append_new(parts, json_pack("[s,s?,s?,b,O?,i,s]", h, uid, rv, r->synced,
						       r->verdict, r->has_health ? (int)r->health.status : -1,
						       r->has_health ? r->health.message : ""));
	}
	bool ok = parts && jx_hash_hex(parts, sig) == 0;
	err_clear();
	json_decref(parts);
	return ok;
}

/* Text of obj for a view, without managedFields (new string in *ret, or
 * NULL for no object). */
static json_t *state_text(json_t *obj, size_t *budget)
{
	if (!obj)
		return json_null();
	json_object_del(jx_path(obj, "metadata", NULL), "managedFields");
	struct buf b;
	buf_init(&b, *budget);
	json_t *s = jx_dump_compact(obj, &b) == 0 ? json_stringn(b.ptr ? b.ptr : "", b.len) : NULL;
	*budget -= b.len < *budget ? b.len : *budget;
	buf_release(&b);
	err_clear();
	return s;
}

/* app:<ns>:<name>:managed-resources: {"items": [{group, version, kind,
 * namespace, name, status, health, liveState, targetState,
 * predictedLiveState, diff}]} as the dashboard and `berth app diff` read it
 * (states as JSON text, Secret values masked). Bounded: once states and
 * diffs have used MANAGED_MAX_BYTES, later items carry neither (diff "")
 * and the view is marked "truncated". Written only when its signature
 * changed. */
static void store_managed(struct ctl *c, const char *name, const struct compare *cmp)
{
	char sig[65];
	char *key = str_printf("app:%s:%s:managed-resources", c->ns, name);
	json_t *items = json_array();
	size_t budget = MANAGED_MAX_BYTES;
	bool truncated = false;
	struct buf b;

	buf_init(&b, MANAGED_MAX_BYTES * 2);
	if (!c->cache || !key || !items || !managed_signature(cmp, sig) || ctl_view_unchanged(key, sig))
		goto out;
	for (size_t i = 0; i < cmp->n; i++) {
		const struct res *r = &cmp->v[i];
		json_t *it = resource_json(r);
		if (!it)
			continue;
		json_object_del(it, "requiresPruning");
		json_object_del(it, "syncWave");
		const char *d = jx_str(r->verdict, "d"), *p = jx_str(r->verdict, "p");
		size_t dl = d ? strlen(d) : 0;
		if (dl > budget) {
			dl = 0;
			d = NULL;
			truncated = true;
		}
		budget -= dl;
		json_object_set_new(it, "diff", json_string(d ? d : ""));
		if (budget > 0) {
			json_t *objs[2] = {r->desired ? json_deep_copy(r->desired) : NULL,
					   r->live ? json_deep_copy(r->live) : NULL};
			if (secretmask_apply(objs, 2) == 0) {
				json_object_set_new(it, "targetState", state_text(objs[0], &budget));
				json_object_set_new(it, "liveState", state_text(objs[1], &budget));
				if (p && strlen(p) <= budget) {
					json_object_set_new(it, "predictedLiveState", json_string(p));
					budget -= strlen(p);
				}
			}
			err_clear();
			json_decref(objs[0]);
			json_decref(objs[1]);
		}
		if (budget == 0)
			truncated = true;
		json_array_append_new(items, it);
	}
	json_t *view = json_pack("{s:O}", "items", items);
	if (view && truncated)
		json_object_set_new(view, "truncated", json_true());
	if (view && jx_dump_compact(view, &b) == 0)
		ctl_view_write(c, key, sig, b.ptr, b.len);
	err_clear();
	json_decref(view);
out:
	buf_release(&b);
	json_decref(items);
	free(key);
}

static int reconcile_app(struct ctl *c, const json_t *obj, struct model_app *app)
{
	struct model_project proj = {0};
	struct compare cmp = {0};
	json_t *desired = NULL, *st = NULL;
	char *rev = NULL, *type = NULL;
	int rc;

	struct cluster *cl = check_app(c, obj, app, &proj, &rc);
	if (!cl)
		goto out;
	const char *refresh = model_app_annotation(app, "refresh");
	bool hard = refresh && !strcmp(refresh, "hard");
	if ((rc = ctl_manifests(c, cl, app, &app->sources, NULL, hard, &desired, &rev, &type)) < 0) {
		rc = write_error_status(c, obj, app, "ComparisonError", err_msg(), "Unknown");
		goto out;
	}
	if ((rc = build_compare(c, cl, app, &proj, obj, desired, &cmp)) < 0)
		goto out;
	assess_health(c, app, &cmp);
	st = status_json(obj, app, &cmp, cmp.all_synced ? "Synced" : "OutOfSync", health_status_name(cmp.health),
			 NULL, rev, type);
	if (!st) {
		rc = err_set(BERR_NOMEM, "out of memory");
		goto out;
	}
	if ((rc = ctl_status_write(c, obj, st)) < 0)
		goto out;
	store_managed(c, app->meta.name, &cmp);
	ctl_view_store_tree(c, cl, app->meta.name);
	if (refresh) {
		json_t *p = json_pack("{s:{s:{s:n,s:n}}}", "metadata", "annotations", ANNOT_REFRESH,
				      "argocd.argoproj.io/refresh");
		struct kube_target t = {.api_version = MODEL_API_VERSION, .kind = MODEL_KIND_APP, .namespace_ = c->ns,
					.name = app->meta.name};
		if (p && kube_patch(c->kc, &t, KUBE_PATCH_MERGE, p, NULL, NULL) < 0)
			err_clear();
		json_decref(p);
	}
	size_t n_desired = 0;
	for (size_t i = 0; i < cmp.n; i++)
		n_desired += cmp.v[i].desired != NULL;
	if (json_object_size(cmp.conditions) == 0 && want_auto_sync(c, obj, app, rev, &cmp, n_desired)) {
		const json_t *os = jx_path((json_t *)obj, "status", "operationState", NULL);
		int64_t count = 0;
		if (str_eq_null(jx_path_str(os, "syncResult", "revision", NULL), rev) &&
		    str_eq_null(jx_str(os, "phase"), "Failed"))
			count = json_integer_value(json_object_get(os, "retryCount")) + 1;
		rc = start_auto_sync(c, obj, app, rev, count);
	}
	rc = rc < 0 ? rc : 0;
out:
	compare_release(&cmp);
	json_decref(desired);
	json_decref(st);
	free(rev);
	free(type);
	model_project_release(&proj);
	return rc;
}

static int finalize(struct ctl *c, const json_t *obj, struct model_app *app)
{
	bool ours = model_strv_has(&app->meta.finalizers, MODEL_FINALIZER);
	if (!ours)
		return 0;
	struct model_cluster *cls = NULL;
	size_t n = 0;
	struct model_destination dst = {0};
	struct cluster *cl = NULL;
	int rc = ctl_cluster_list(c, &cls, &n);
	if (rc == 0 && model_destination_resolve(&app->destination, cls, n, &dst) >= 0 &&
	    ctl_cluster_get(c, dst.server, &cl) == 0) {
		livecache_wait_synced(cl->lc, LIVE_SYNC_WAIT_MS);
		rc = ctl_delete_resources(c, cl, app);
	} else {
		rc = 1; /* destination gone: nothing we can delete */
		err_clear();
	}
	model_destination_release(&dst);
	for (size_t i = 0; i < n; i++)
		model_cluster_release(&cls[i]);
	free(cls);
	if (rc == 0) {
		workq_add_after(c->status_q, app->meta.name, 1000);
		return 0;
	}
	if (rc < 0)
		return rc;
	/* all gone: drop our finalizer */
	json_t *fins = json_array();
	size_t i;
	json_t *f;
	json_array_foreach(jx_path((json_t *)obj, "metadata", "finalizers", NULL), i, f)
		if (strcmp(json_string_value(f) ? json_string_value(f) : "", MODEL_FINALIZER) &&
		    strcmp(json_string_value(f) ? json_string_value(f) : "", MODEL_ARGO_FINALIZER))
			json_array_append(fins, f);
	json_t *p = json_pack("{s:{s:o}}", "metadata", "finalizers", fins);
	struct kube_target t = {.api_version = MODEL_API_VERSION, .kind = MODEL_KIND_APP, .namespace_ = c->ns,
				.name = app->meta.name};
	rc = p ? kube_patch(c->kc, &t, KUBE_PATCH_MERGE, p, NULL, NULL) : err_set(BERR_NOMEM, "out of memory");
	json_decref(p);
	if (rc == BERR_NOTFOUND)
		rc = 0;
	return rc;
}

int ctl_reconcile(struct ctl *c, const char *name)
{
	json_t *obj = NULL;
	struct model_app app = {0};
	int64_t t0 = clock_mono_ms();
	int rc;

	if ((rc = ctl_app_get(c, name, false, &obj)) < 0) {
		if (rc == BERR_NOTFOUND) {
			err_clear();
			return 0;
		}
		return rc;
	}
	if ((rc = model_app_parse(obj, &app)) < 0 || (rc = model_app_validate(&app)) < 0) {
		struct model_app bare = {0};
		bare.meta.name = (char *)name;
		rc = write_error_status(c, obj, &bare, "InvalidSpecError", err_msg(), "Unknown");
		goto out;
	}
	if (!ctl_app_in_shard(c, &app))
		goto out; /* another replica's shard */
	if (app.meta.deletion_timestamp) {
		rc = finalize(c, obj, &app);
		goto out;
	}
	const char *phase = jx_path_str(obj, "status", "operationState", "phase", NULL);
	bool running = phase && (!strcmp(phase, "Running") || !strcmp(phase, "Terminating"));
	if (app.operation.present || running)
		workq_add(c->op_q, name);
	int64_t delay = ctl_compare_delay(c, name, running || (app.operation.present && app.operation.sync_present));
	if (delay > 0) {
		workq_add_after(c->status_q, name, delay);
		goto skip;
	}
	rc = reconcile_app(c, obj, &app);
	int64_t jitter = c->resync_ms / 10 ? (int64_t)(random() % (c->resync_ms / 10)) : 0;
	workq_add_after(c->status_q, name, c->resync_ms + jitter);
out:
	atomic_fetch_add(&c->m.reconciles, 1);
	atomic_fetch_add(&c->m.reconcile_ms, (unsigned long long)(clock_mono_ms() - t0));
skip:
	model_app_release(&app);
	json_decref(obj);
	return rc;
}
