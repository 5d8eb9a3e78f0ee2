/* berth-app-controller internals: the controller's shared state and the
 * functions its files give each other. main.c wires; clusters.c knows the
 * destination clusters and their live caches; watch.c turns events into
 * work; manifests.c asks the repo server and prepares desired objects;
 * reconcile.c compares and writes status; sync.c runs operations;
 * appstatus.c reads and writes Application objects. */
#ifndef BERTH_CTL_H
#define BERTH_CTL_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "health.h"
#include "kube.h"
#include "lease.h"
#include "livecache.h"
#include "model.h"
#include "rcache.h"
#include "workq.h"

struct httpc;

/* A client and cache replaced after a cluster Secret changed, kept until
 * no worker can still be using them (clusters.c). */
struct cluster_retired {
	struct kube_client *kc;
	struct livecache *lc;
	bool owned_client;
	int64_t since_ms;           /* monotonic */
	struct cluster_retired *next;
};
#define CLUSTER_RETIRE_MS 120000

/* One destination cluster: its client and live-object cache. kc and lc are
 * replaced (atomically) when the cluster Secret changes: read them on each
 * use rather than keeping them across long waits. */
struct cluster {
	char *name;
	char *server;
	char *secret_rv;            /* "<name>/<resourceVersion>" of its Secret ("" in-cluster) */
	unsigned secrets_gen;       /* ctl.secrets_gen when the Secret was last compared */
	struct cluster_retired *retired;
	struct kube_client *_Atomic kc;
	struct livecache *_Atomic lc;
	bool owned_client;          /* kc is ours to free (not the control-plane client) */
	atomic_bool reachable;
	pthread_mutex_t probe_mu;
	int64_t last_probe_ms;      /* monotonic time of the last reachability probe */
	int last_probe_rc;
	char last_error[256];
	int64_t gone_since_ms;      /* monotonic; set when its Secret went (on ctl.gone_clusters) */
	struct cluster *gone_next;
};

struct ctl_metrics {
	atomic_ullong reconciles, reconcile_ms, syncs, sync_ms, status_writes, status_skipped, errors;
};

struct ctl {
	/* settings */
	char *ns;
	char *repo_server;
	int64_t resync_ms;          /* periodic refresh (timeout.reconciliation) */
	int64_t app_min_interval_ms;
	int shard, shards;
	struct leases *leases;      /* shard Leases held (NULL without --shards) */
	int status_processors, operation_processors;
	double kube_qps;            /* per cluster client; < 0: no limit */
	unsigned kube_burst;

	struct kube_client *kc;     /* control-plane cluster (also in-cluster destination) */
	struct livecache *cp;       /* Applications, AppProjects, Secrets, ConfigMaps of ns */
	struct rcache *cache;       /* may be NULL */
	struct httpc *http;         /* repo server client */
	struct workq *status_q;
	struct workq *op_q;

	pthread_mutex_t clusters_mu;
	struct cluster **clusters;
	size_t n_clusters;
	struct cluster *gone_clusters; /* retired: caches stopped, freed CLUSTER_RETIRE_MS later */
	atomic_uint secrets_gen;    /* bumped on every Secret event (clusters compare theirs) */

	struct ctl_metrics m;
	atomic_bool stopping;
};

/* ---- clusters.c ---- */
/* The cluster for a resolved destination (server), creating its client and
 * live cache on first use. Borrowed (lives as long as ctl). 0 or a BERR. */
int ctl_cluster_get(struct ctl *c, const char *server, struct cluster **ret);
/* The clusters known from Secrets (plus in-cluster), as model structs for
 * model_destination_resolve. New array (release each, free). */
int ctl_cluster_list(struct ctl *c, struct model_cluster **ret, size_t *ret_n);
/* True when this replica works on the cluster with this server URL: its
 * shard (FNV-1a of the URL modulo shards) is one whose Lease this replica
 * holds (its own or adopted), or there is no sharding. */
bool ctl_cluster_in_shard(const struct ctl *c, const char *server);
/* ctl_cluster_in_shard for the app's destination (true when it cannot be
 * resolved, so the error is reported). Compares, syncs and finalizers of
 * apps of other shards are left to their replicas. */
bool ctl_app_in_shard(struct ctl *c, const struct model_app *app);
void ctl_clusters_free(struct ctl *c);
/* After a Secret event: retires every cluster no cluster Secret names any
 * more (deleted, or moved to a new server URL): it leaves the list (and the
 * metrics), its cache stops watching at once, and the struct, client and
 * cache are freed CLUSTER_RETIRE_MS later (workers may still hold it). */
void ctl_clusters_sweep(struct ctl *c);
/* Whether the cluster answered a GET /version within the last
 * CLUSTER_PROBE_MS (probed again when older). 0 or the probe's BERR code
 * with the message in cl->last_error. */
#define CLUSTER_PROBE_MS 5000
int ctl_cluster_probe(struct cluster *cl);
/* The app name a live object is tracked for (new string) or NULL. */
char *ctl_tracking_app(const json_t *obj, void *userdata);

/* ---- watch.c ---- */
/* Starts the control-plane cache and hooks its events to the queues. */
int ctl_watch_start(struct ctl *c);
/* Enqueues every Application of the control-plane cache for a compare. */
void ctl_enqueue_all_apps(struct ctl *c);
/* Enqueues every app whose destination is on cluster (after a live event). */
void ctl_live_batch(const struct lc_event *ev, size_t n, void *userdata);

/* ---- appstatus.c ---- */
/* The Application object (new reference) from the control-plane cache,
 * or by GET when fresh is true. BERR_NOTFOUND when gone. */
int ctl_app_get(struct ctl *c, const char *name, bool fresh, json_t **ret);
/* Writes status (borrowed; may be modified) to the Application unless
 * equal to the one in obj (ignoring reconciledAt and observedGeneration). On a conflict it reads
 * the app again, keeps the stored operationState and history (written by
 * the operation workers) and retries once. Returns 1 when written, 0 when
 * skipped, or a BERR code. */
int ctl_status_write(struct ctl *c, const json_t *obj, json_t *status);
/* Removes the top-level operation of the app. */
int ctl_operation_clear(struct ctl *c, const char *name);
/* Starts an operation (new reference consumed) on the app read as obj,
 * unless it changed since: reads the app afresh and gives way when it
 * already has an operation (a user's request made meanwhile) or another
 * generation (spec or operation changed), then patches with its
 * resourceVersion as a precondition. Returns 1 when set, 0 when it gave
 * way (the caller should decide again from the new state), or a BERR code. */
int ctl_operation_start(struct ctl *c, const json_t *obj, json_t *operation);
/* Publishes an app change on the event channel (no-op without Redis). */
void ctl_publish(struct ctl *c, const char *name, const char *what);

/* ---- manifests.c ---- */
/* The app's desired objects for revision (NULL: the source's
 * targetRevision) from the repo server: a new array in *ret_objs, the
 * resolved commit in *ret_rev (free it), the source type in *ret_type.
 * Objects get the destination namespace when namespaced and without one,
 * excluded kinds dropped, and the tracking annotation set. */
int ctl_manifests(struct ctl *c, struct cluster *cl, const struct model_app *app,
		  const struct model_sources *srcs, const char *revision, bool no_cache, json_t **ret_objs,
		  char **ret_rev, char **ret_type);
/* The data of ConfigMap berth-cm (new reference), or NULL. */
json_t *ctl_settings(struct ctl *c);
/* resource.customizations.ignoreDifferences.<key> of the settings as the
 * diff engine takes them ({key: {jsonPointers, ...}}; new reference). */
json_t *ctl_diff_customizations(const json_t *settings);
/* True when resource.exclusions of the settings exclude (group, kind) on
 * the cluster with this server. */
bool ctl_excluded(const json_t *settings, const char *group, const char *kind, const char *server);
/* True when the kind is namespaced on this cluster (discovery; unknown kinds:
 * true unless in the built-in cluster-scoped list). */
bool ctl_kind_namespaced(struct cluster *cl, const char *api_version, const char *kind);

/* ---- reconcile.c ---- */
/* Compares one app and writes its status; may start an auto-sync. */
int ctl_reconcile(struct ctl *c, const char *name);

/* ---- sync.c ---- */
/* Runs (or resumes) the app's operation to its end. */
int ctl_sync(struct ctl *c, const char *name);
/* How long the app's compare should wait, 0 when it may run now. busy: the
 * app has an operation pending or running. While busy, the compares its
 * own applies and operationState writes trigger would only compete with
 * it for CPU and write status that is stale at once: one runs at most every
 * SYNC_COMPARE_INTERVAL_MS (the first that long after the app became busy),
 * and the end of the sync lets the next one run at once. Not busy: 0. */
#define SYNC_COMPARE_INTERVAL_MS 5000
int64_t ctl_compare_delay(struct ctl *c, const char *name, bool busy);
/* Deletes an app's resources (finalizer) in reverse wave order. 1 when all
 * are gone, 0 while some remain, or a BERR code. */
int ctl_delete_resources(struct ctl *c, struct cluster *cl, const struct model_app *app);

/* ---- diffcache.c ---- */
/* The remembered diff verdict for a diff_cache_key (new reference:
 * {"m": modified, "d": masked diff text, "p": masked predicted JSON text}),
 * from memory or Redis; NULL on a miss. */
json_t *ctl_diffcache_get(struct ctl *c, const char *key);
/* Remembers a verdict just computed (borrowed) in memory and Redis. */
void ctl_diffcache_put(struct ctl *c, const char *key, json_t *verdict);
/* Appends the cache's counters (computed / memory / Redis) to out. */
void ctl_diffcache_metrics(struct buf *out);

/* ---- views.c ---- */
/* Stores the app's resource tree in Redis (app:<ns>:<name>:resource-tree)
 * when it changed since the last write (or the last write is old). */
void ctl_view_store_tree(struct ctl *c, struct cluster *cl, const char *name);
/* True when the view (a Redis key) was written with this signature
 * recently enough that its TTL is far; then nothing needs writing. */
bool ctl_view_unchanged(const char *key, const char sig[65]);
/* Writes text under the view's key with the views' TTL and remembers the
 * signature (forgotten when the write fails). */
void ctl_view_write(struct ctl *c, const char *key, const char sig[65], const char *text, size_t len);

/* The live objects of app on cluster (full objects; new array). */
int ctl_live_objects(struct cluster *cl, const char *app_name, json_t **ret);

#endif
