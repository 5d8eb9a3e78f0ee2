/* Destination clusters: the control-plane cluster (always known as
 * https://kubernetes.default.svc / in-cluster) and those of cluster
 * Secrets. Each has its own client and live cache, created on first use, so
 * a slow or unreachable cluster holds up only its own apps. */
#include <stdlib.h>
#include <string.h>

#include "annot.h"
#include "clock.h"
#include "ctl.h"
#include "err.h"
#include "jsonx.h"
#include "kubeconfig.h"
#include "log.h"
#include "str.h"

static const char *const kept_annotations[] = {ANNOT_TRACKING_ID, NULL};
static const struct lc_type_spec excluded[] = {
	{"", "Event"}, {"events.k8s.io", "Event"}, {"coordination.k8s.io", "Lease"},
	{"", "Endpoints"}, {"discovery.k8s.io", "EndpointSlice"},
	{"authorization.k8s.io", "*"}, {"authentication.k8s.io", "*"},
};

char *ctl_tracking_app(const json_t *obj, void *userdata)
{
	(void)userdata;
	const char *id = jx_path_str(obj, "metadata", "annotations", ANNOT_TRACKING_ID, NULL);
	const char *colon = id ? strchr(id, ':') : NULL;
	if (!colon || colon == id)
		return NULL;
	return strndup(id, (size_t)(colon - id));
}

static bool keep_full(const json_t *obj, void *userdata)
{
	(void)userdata;
	if (jx_path_str(obj, "metadata", "annotations", ANNOT_TRACKING_ID, NULL))
		return true;
	const char *kind = jx_str(obj, "kind");
	return kind && !strcmp(kind, "CustomResourceDefinition");
}

static void cluster_free(struct cluster *cl)
{
	if (!cl)
		return;
	livecache_free(cl->lc);
	pthread_mutex_destroy(&cl->probe_mu);
	if (cl->owned_client)
		kube_client_free(cl->kc);
	free(cl->name);
	free(cl->server);
	free(cl->secret_rv);
	free(cl);
}

void ctl_clusters_free(struct ctl *c)
{
	for (size_t i = 0; i < c->n_clusters; i++)
		cluster_free(c->clusters[i]);
	free(c->clusters);
	c->clusters = NULL;
	c->n_clusters = 0;
}

int ctl_cluster_list(struct ctl *c, struct model_cluster **ret, size_t *ret_n)
{
	struct lc_records rs = {0};
	struct model_cluster *v = NULL;
	size_t n = 0;
	int rc = livecache_list(c->cp, "", "Secret", c->ns, &rs);
	if (rc < 0)
		return rc;
	v = calloc(rs.n + 1, sizeof(*v));
	if (!v) {
		lc_records_free(&rs);
		return err_set(BERR_NOMEM, "out of memory");
	}
	for (size_t i = 0; i < rs.n; i++) {
		const char *type = jx_path_str(rs.v[i]->meta, "labels", MODEL_SECRET_TYPE_LABEL, NULL);
		json_t *obj = NULL;
		if (!type || strcmp(type, "cluster") || lc_record_object(rs.v[i], &obj) < 0)
			continue;
		if (model_cluster_from_secret(obj, &v[n]) == 0)
			n++;
		json_decref(obj);
	}
	lc_records_free(&rs);
	*ret = v;
	*ret_n = n;
	return 0;
}

bool ctl_cluster_in_shard(const struct ctl *c, const char *server)
{
	if (c->shards <= 1)
		return true;
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (const char *p = server; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	int shard = (int)(h % (uint64_t)c->shards);
	return c->leases ? leases_owns(c->leases, shard) : shard == c->shard;
}

bool ctl_app_in_shard(struct ctl *c, const struct model_app *app)
{
	struct model_cluster *cls = NULL;
	struct model_destination dst = {0};
	size_t n = 0;
	bool ours = true;

	if (c->shards <= 1)
		return true;
	/* an unresolvable destination is reported by every replica alike */
	if (ctl_cluster_list(c, &cls, &n) == 0 && model_destination_resolve(&app->destination, cls, n, &dst) >= 0)
		ours = ctl_cluster_in_shard(c, dst.server);
	err_clear();
	model_destination_release(&dst);
	for (size_t i = 0; i < n; i++)
		model_cluster_release(&cls[i]);
	free(cls);
	return ours;
}

static int cluster_client(struct ctl *c, const char *server, struct kube_client **ret, bool *owned)
{
	struct model_cluster *v = NULL;
	size_t n = 0;
	struct kube_config cfg = {0};
	int rc;

	if ((rc = ctl_cluster_list(c, &v, &n)) < 0)
		return rc;
	rc = BERR_NOTFOUND;
	for (size_t i = 0; i < n && rc == BERR_NOTFOUND; i++) {
		if (!v[i].server || strcmp(v[i].server, server))
			continue;
		if ((rc = kube_config_from_cluster(&v[i], &cfg)) == 0) {
			struct kube_client_opts o = {.qps = c->kube_qps, .burst = c->kube_burst};
			rc = kube_client_new(&cfg, &o, ret);
			kube_config_release(&cfg);
			*owned = true;
		}
	}
	for (size_t i = 0; i < n; i++)
		model_cluster_release(&v[i]);
	free(v);
	if (rc == BERR_NOTFOUND && !strcmp(server, MODEL_IN_CLUSTER_SERVER)) {
		*ret = c->kc;
		*owned = false;
		return 0;
	}
	if (rc == BERR_NOTFOUND)
		return err_set(BERR_NOTFOUND, "no cluster with server \"%s\"", server);
	return rc;
}

int ctl_cluster_probe(struct cluster *cl)
{
	int rc;
	pthread_mutex_lock(&cl->probe_mu);
	int64_t now = clock_mono_ms();
	if (cl->last_probe_ms && now - cl->last_probe_ms < CLUSTER_PROBE_MS) {
		rc = cl->last_probe_rc;
	} else {
		json_t *v = NULL;
		rc = kube_raw(cl->kc, "GET", "/version", NULL, NULL, 0, &v);
		json_decref(v);
		cl->last_probe_rc = rc;
		cl->last_probe_ms = clock_mono_ms();
		if (rc < 0) {
			str_copy(cl->last_error, err_msg(), sizeof(cl->last_error));
			err_clear();
		}
		atomic_store(&cl->reachable, rc == 0);
	}
	if (rc < 0)
		err_set(rc, "%s", cl->last_error);
	pthread_mutex_unlock(&cl->probe_mu);
	return rc;
}

int ctl_cluster_get(struct ctl *c, const char *server, struct cluster **ret)
{
	struct cluster *cl = NULL;
	int rc = 0;

	pthread_mutex_lock(&c->clusters_mu);
	for (size_t i = 0; i < c->n_clusters; i++) {
		if (!strcmp(c->clusters[i]->server, server)) {
			*ret = c->clusters[i];
			goto out;
		}
	}
	struct cluster **grown = realloc(c->clusters, (c->n_clusters + 1) * sizeof(*grown));
	if (!grown || !(cl = calloc(1, sizeof(*cl))) || !(cl->server = str_dup(server))) {
		if (grown)
			c->clusters = grown;
		free(cl);
		rc = err_set(BERR_NOMEM, "out of memory");
		goto out;
	}
	c->clusters = grown;
	pthread_mutex_init(&cl->probe_mu, NULL);
	if ((rc = cluster_client(c, server, &cl->kc, &cl->owned_client)) < 0) {
		cluster_free(cl);
		goto out;
	}
	struct livecache_opts lo = {
		.exclude = excluded, .n_exclude = sizeof(excluded) / sizeof(excluded[0]),
		.keep_full = keep_full, .annotations = kept_annotations,
		.caller_key = ctl_tracking_app, .on_batch = ctl_live_batch, .on_batch_data = c,
		.batch_window_ms = 100,
	};
	if ((rc = livecache_new(cl->kc, &lo, &cl->lc)) < 0) {
		cluster_free(cl);
		goto out;
	}
	atomic_store(&cl->reachable, true);
	c->clusters[c->n_clusters++] = cl;
	log_info("watching cluster", "server", server, NULL);
	*ret = cl;
out:
	pthread_mutex_unlock(&c->clusters_mu);
	return rc;
}
