/* Events to work: the control-plane cache (Applications, AppProjects,
 * Secrets and ConfigMaps of the control-plane namespace) and every
 * cluster's live cache deliver batches; each names the apps to look at
 * again, and they go to the status queue (which de-duplicates them). */
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "err.h"
#include "jsonx.h"
#include "log.h"
#include "str.h"

static const struct lc_type_spec cp_types[] = {
	{MODEL_GROUP, MODEL_KIND_APP}, {MODEL_GROUP, MODEL_KIND_PROJECT}, {"", "Secret"}, {"", "ConfigMap"},
};

static bool keep_all(const json_t *obj, void *userdata)
{
	(void)obj;
	(void)userdata;
	return true;
}

void ctl_enqueue_all_apps(struct ctl *c)
{
	struct lc_records rs = {0};
	if (livecache_list(c->cp, MODEL_GROUP, MODEL_KIND_APP, c->ns, &rs) < 0)
		return;
	for (size_t i = 0; i < rs.n; i++)
		workq_add(c->status_q, rs.v[i]->name);
	lc_records_free(&rs);
}

/* The Application without what the reconciler itself writes (new
 * reference, or NULL). */
static json_t *outside_reconciler(const struct lc_record *r)
{
	static const char *const owned[] = {"reconciledAt", "sync", "health", "resources", "conditions",
					    "observedGeneration", "sourceType", NULL};
	json_t *obj = NULL;
	if (!r->full || lc_record_object(r, &obj) < 0) {
		err_clear();
		return NULL;
	}
	json_t *md = json_object_get(obj, "metadata"), *st = json_object_get(obj, "status");
	json_object_del(md, "resourceVersion");
	json_object_del(md, "managedFields");
	for (size_t i = 0; owned[i]; i++)
		json_object_del(st, owned[i]);
	return obj;
}

/* True when an Application changed only in what the reconciler writes:
 * its own status write coming back. Comparing again would find the same
 * (live changes come as their own events), so it is not queued; this saves
 * one reconcile per status write. A change by anyone else (spec,
 * operation, annotations, operationState and history from the operation
 * workers, deletion) is queued. */
static bool own_status_write(const struct lc_event *e)
{
	if (!e->old || !e->new_)
		return false;
	/* spec or operation changed (the generation moved), or deletion: no
	 * need to parse to know */
	if (!json_equal(json_object_get(e->old->meta, "generation"), json_object_get(e->new_->meta, "generation")) ||
	    !str_eq_null(e->old->deletion_timestamp, e->new_->deletion_timestamp))
		return false;
	json_t *a = outside_reconciler(e->old), *b = outside_reconciler(e->new_);
	bool same = a && b && json_equal(a, b);
	json_decref(a);
	json_decref(b);
	return same;
}

static void cp_batch(const struct lc_event *ev, size_t n, void *userdata)
{
	struct ctl *c = userdata;
	bool all = false, secrets = false;
	for (size_t i = 0; i < n; i++) {
		const struct lc_record *r = ev[i].new_ ? ev[i].new_ : ev[i].old;
		if (!strcmp(r->kind, MODEL_KIND_APP) && !strcmp(r->group, MODEL_GROUP)) {
			if (!own_status_write(&ev[i]))
				workq_add(c->status_q, r->name);
		}
		else if (!strcmp(r->kind, MODEL_KIND_PROJECT) || !strcmp(r->kind, "Secret") ||
			 !strcmp(r->name, "berth-cm"))
			all = true;
		if (!strcmp(r->kind, "Secret")) {
			atomic_fetch_add(&c->secrets_gen, 1); /* clusters compare their Secret */
			secrets = true;
		}
	}
	if (secrets)
		ctl_clusters_sweep(c); /* caches of clusters whose Secret went */
	if (all)
		ctl_enqueue_all_apps(c);
}

void ctl_live_batch(const struct lc_event *ev, size_t n, void *userdata)
{
	struct ctl *c = userdata;
	for (size_t i = 0; i < n; i++) {
		const char *k = ev[i].new_ ? ev[i].new_->caller_key : "";
		if (*k)
			workq_add(c->status_q, k);
		k = ev[i].old ? ev[i].old->caller_key : "";
		if (*k)
			workq_add(c->status_q, k);
	}
}

int ctl_watch_start(struct ctl *c)
{
	struct livecache_opts lo = {
		.types = cp_types, .n_types = sizeof(cp_types) / sizeof(cp_types[0]),
		.namespace_ = c->ns, .keep_full = keep_all,
		.on_batch = cp_batch, .on_batch_data = c, .batch_window_ms = 50,
	};
	int rc = livecache_new(c->kc, &lo, &c->cp);
	if (rc < 0)
		return err_prefix(rc, "watch namespace \"%s\"", c->ns);
	return 0;
}
