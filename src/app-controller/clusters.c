/* Destination clusters: the control-plane cluster (always known as
 * https://kubernetes.default.svc / in-cluster) and those of cluster
 * Secrets. Each has its own client and live cache, created on first use, so
 * a slow or unreachable cluster holds up only its own apps.
 *
 * A changed cluster Secret (rotated token, new CA or certificates) is
 * picked up without a restart: every Secret event bumps ctl.secrets_gen, and
 * the next ctl_cluster_get of each cluster compares the identity of its
 * Secret (name/resourceVersion) with the one its client was built from;
 * when it differs, a new client and cache replace the old ones. Workers
 * hold struct cluster pointers and read cl->kc / cl->lc on each use, so the
 * struct stays and the old client and cache are retired: freed
 * CLUSTER_RETIRE_MS later, when no request can still be using them. A Secret
 * that names a new server URL is a new cluster for the apps that resolve to
 * it; a cluster no Secret names any more (deleted or moved) is retired
 * whole by ctl_clusters_sweep: its cache stops watching at once, the struct
 * is freed after the same grace period. */
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

/* Frees the retired clients and caches older than CLUSTER_RETIRE_MS (all
 * of them with force). */
static void reap_retired(struct cluster *cl, bool force)
{
	int64_t now = clock_mono_ms();
	struct cluster_retired **p = &cl->retired;
	while (*p) {
		struct cluster_retired *r = *p;
		if (!force && now - r->since_ms < CLUSTER_RETIRE_MS) {
			p = &r->next;
			continue;
		}
		*p = r->next;
		livecache_free(r->lc);
		if (r->owned_client)
			kube_client_free(r->kc);
		free(r);
	}
}

static void cluster_free(struct cluster *cl)
{
	if (!cl)
		return;
	livecache_free(cl->lc);
	reap_retired(cl, true);
	pthread_mutex_destroy(&cl->probe_mu);
	if (cl->owned_client)
		kube_client_free(cl->kc);
	free(cl->name);
	free(cl->server);
	free(cl->secret_rv);
	free(cl);
}

/* Frees the retired clusters older than CLUSTER_RETIRE_MS (all with force).
 * Caller holds clusters_mu (or is the only thread left). */
static void reap_gone(struct ctl *c, bool force)
{
	int64_t now = clock_mono_ms();
	struct cluster **p = &c->gone_clusters;
	while (*p) {
		struct cluster *cl = *p;
		if (!force && now - cl->gone_since_ms < CLUSTER_RETIRE_MS) {
			p = &cl->gone_next;
			continue;
		}
		*p = cl->gone_next;
		cluster_free(cl);
	}
}

void ctl_clusters_free(struct ctl *c)
{
	for (size_t i = 0; i < c->n_clusters; i++)
		cluster_free(c->clusters[i]);
	free(c->clusters);
	c->clusters = NULL;
	c->n_clusters = 0;
	reap_gone(c, true);
}

/* Whether a cluster Secret still names server (true on a listing error:
 * keep the cluster rather than drop a live one). */
static bool secret_names_server(struct ctl *c, const char *server)
{
	struct lc_records rs = {0};
	bool found = false;
	if (livecache_list(c->cp, "", "Secret", c->ns, &rs) < 0) {
		err_clear();
		return true;
	}
	for (size_t i = 0; i < rs.n && !found; i++) {
		const char *type = jx_path_str(rs.v[i]->meta, "labels", MODEL_SECRET_TYPE_LABEL, NULL);
		struct model_cluster mc = {0};
		json_t *obj = NULL;
		if (!type || strcmp(type, "cluster") || lc_record_object(rs.v[i], &obj) < 0)
			continue;
		if (model_cluster_from_secret(obj, &mc) == 0 && mc.server && !strcmp(mc.server, server))
			found = true;
		err_clear();
		model_cluster_release(&mc);
		json_decref(obj);
	}
	lc_records_free(&rs);
	return found;
}

void ctl_clusters_sweep(struct ctl *c)
{
	pthread_mutex_lock(&c->clusters_mu);
	reap_gone(c, false);
	for (size_t i = 0; i < c->n_clusters;) {
		struct cluster *cl = c->clusters[i];
		if (!strcmp(cl->server, MODEL_IN_CLUSTER_SERVER) || secret_names_server(c, cl->server)) {
			i++;
			continue;
		}
		memmove(&c->clusters[i], &c->clusters[i + 1], (c->n_clusters - i - 1) * sizeof(c->clusters[0]));
		c->n_clusters--;
		livecache_stop(cl->lc);
		for (struct cluster_retired *r = cl->retired; r; r = r->next)
			livecache_stop(r->lc);
		cl->gone_since_ms = clock_mono_ms();
		cl->gone_next = c->gone_clusters;
		c->gone_clusters = cl;
		log_info("cluster secret gone: cache stopped", "server", cl->server, NULL);
	}
	pthread_mutex_unlock(&c->clusters_mu);
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

/* The client for server: from the cluster Secret naming it (its identity,
 * "<name>/<resourceVersion>", in *ret_id), else the control-plane client
 * for https://kubernetes.default.svc (identity ""). 1 and nothing built
 * when the identity equals known_id (NULL: always build). */
static int cluster_client(struct ctl *c, const char *server, const char *known_id, struct kube_client **ret,
			  bool *owned, char **ret_id)
{
	struct lc_records rs = {0};
	int rc = livecache_list(c->cp, "", "Secret", c->ns, &rs);
	if (rc < 0)
		return rc;
	rc = BERR_NOTFOUND;
	for (size_t i = 0; i < rs.n && rc == BERR_NOTFOUND; i++) {
		const char *type = jx_path_str(rs.v[i]->meta, "labels", MODEL_SECRET_TYPE_LABEL, NULL);
		struct model_cluster mc = {0};
		struct kube_config cfg = {0};
		json_t *obj = NULL;
		if (!type || strcmp(type, "cluster") || lc_record_object(rs.v[i], &obj) < 0)
			continue;
		if (model_cluster_from_secret(obj, &mc) == 0 && mc.server && !strcmp(mc.server, server)) {
			char *id = str_printf("%s/%s", rs.v[i]->name, rs.v[i]->resource_version);
			if (!id)
				rc = err_set(BERR_NOMEM, "out of memory");
			else if (known_id && !strcmp(id, known_id))
				rc = 1;
			else if ((rc = kube_config_from_cluster(&mc, &cfg)) == 0) {
				struct kube_client_opts o = {.qps = c->kube_qps, .burst = c->kube_burst};
				rc = kube_client_new(&cfg, &o, ret);
				kube_config_release(&cfg);
			}
			if (rc == 0) {
				*owned = true;
				*ret_id = id;
			} else {
				free(id);
			}
		}
		if (rc == BERR_NOTFOUND)
			err_clear();
		model_cluster_release(&mc);
		json_decref(obj);
	}
	lc_records_free(&rs);
	if (rc == 1) {
		err_clear();
		return 1;
	}
	if (rc == BERR_NOTFOUND && !strcmp(server, MODEL_IN_CLUSTER_SERVER)) {
		if (known_id && !*known_id)
			return 1;
		if (!(*ret_id = str_dup("")))
			return err_set(BERR_NOMEM, "out of memory");
		*ret = c->kc;
		*owned = false;
		return 0;
	}
	if (rc == BERR_NOTFOUND)
		return err_set(BERR_NOTFOUND, "no cluster with server \"%s\"", server);
	return rc;
}

static int cluster_cache_new(struct ctl *c, struct kube_client *kc, struct livecache **ret)
{
	struct livecache_opts lo = {
		.exclude = excluded, .n_exclude = sizeof(excluded) / sizeof(excluded[0]),
		.keep_full = keep_full, .annotations = kept_annotations,
		.caller_key = ctl_tracking_app, .on_batch = ctl_live_batch, .on_batch_data = c,
		.batch_window_ms = 100,
	};
	return livecache_new(kc, &lo, ret);
}

/* The cluster Secret changed (server, credentials, CA ...): a new client and
 * live cache replace the old ones, which are retired — kept until no worker
 * can still be using them — rather than freed. Caller holds clusters_mu. */
static int cluster_rebuild(struct ctl *c, struct cluster *cl)
{
	struct kube_client *kc = NULL;
	struct livecache *lc = NULL;
	struct cluster_retired *r = calloc(1, sizeof(*r));
	bool owned = false;
	char *id = NULL;
	int rc;

	if (!r)
		return err_set(BERR_NOMEM, "out of memory");
	if ((rc = cluster_client(c, cl->server, cl->secret_rv ? cl->secret_rv : "", &kc, &owned, &id)) != 0) {
		free(r);
		return rc < 0 ? rc : 0; /* 1: unchanged (another Secret changed) */
	}
	if ((rc = cluster_cache_new(c, kc, &lc)) < 0) {
		if (owned)
			kube_client_free(kc);
		free(id);
		free(r);
		return rc;
	}
	r->kc = cl->kc;
	r->lc = cl->lc;
	r->owned_client = cl->owned_client;
	r->since_ms = clock_mono_ms();
	r->next = cl->retired;
	cl->retired = r;
	atomic_store(&cl->kc, kc);
	atomic_store(&cl->lc, lc);
	cl->owned_client = owned;
	free(cl->secret_rv);
	cl->secret_rv = id;
	pthread_mutex_lock(&cl->probe_mu);
	cl->last_probe_ms = 0;
	pthread_mutex_unlock(&cl->probe_mu);
	log_info("cluster secret changed: new client and cache", "server", cl->server, "secret", id, NULL);
	return 0;
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
	reap_gone(c, false);
	unsigned gen = atomic_load(&c->secrets_gen);
	for (size_t i = 0; i < c->n_clusters; i++) {
		if (strcmp(c->clusters[i]->server, server))
			continue;
		cl = c->clusters[i];
		reap_retired(cl, false);
		if (cl->secrets_gen != gen) {
			if ((rc = cluster_rebuild(c, cl)) < 0)
				goto out; /* tried again on the next call */
			cl->secrets_gen = gen;
		}
		*ret = cl;
		goto out;
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
	cl->secrets_gen = gen;
	struct kube_client *kc = NULL;
	struct livecache *lc = NULL;
	if ((rc = cluster_client(c, server, NULL, &kc, &cl->owned_client, &cl->secret_rv)) < 0) {
		cluster_free(cl);
		goto out;
	}
	atomic_store(&cl->kc, kc);
	if ((rc = cluster_cache_new(c, kc, &lc)) < 0) {
		cluster_free(cl);
		goto out;
	}
	atomic_store(&cl->lc, lc);
	atomic_store(&cl->reachable, true);
	c->clusters[c->n_clusters++] = cl;
	log_info("watching cluster", "server", server, NULL);
	*ret = cl;
out:
	pthread_mutex_unlock(&c->clusters_mu);
	return rc;
}
