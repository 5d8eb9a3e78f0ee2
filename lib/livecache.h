/*
 * livecache — the per-cluster cache of live Kubernetes objects that the
 * application controller diffs against and builds resource trees from.
 *
 * For every resource type the caller asks for (or every listable and
 * watchable type, minus exclusions), the cache LISTs, then WATCHes from the
 * list's resourceVersion; it resumes a broken watch from the last RV seen
 * (bookmarks included), relists on 410 (computing the adds, changes and
 * deletes against what it held), reconnects with capped backoff, and, when
 * watching every type, follows CustomResourceDefinitions: a type added by a
 * new CRD is picked up and one that disappears is dropped (its objects
 * reported deleted).
 *
 * Memory is what this module is about. Each object is kept as a compact
 * record: group/version/kind, namespace, name, uid, resourceVersion,
 * creation and deletion timestamps, and a small JSON "meta" object holding
 * only what is set of: labels, the annotations the caller names,
 * ownerReferences (apiVersion, kind, name, uid, controller) and the few
 * status fields health assessment needs (status.phase, conditions'
 * type/status/reason, replicas counts, observedGeneration, metadata
 * generation). Only objects the caller's predicate selects ("carries a Berth
 * tracking annotation", "is a CRD") also keep the full object, stored as
 * compact JSON text and parsed on demand.
 *
 * Records are immutable and reference counted: a lookup returns a record
 * with a reference the caller drops with lc_record_unref; an update
 * replaces the record in the cache, so a reader never sees one change half
 * way. Indexes: by type + namespace + name, by owner uid (resource trees)
 * and by a key the caller computes from the object (the app name).
 *
 * Events: changes are gathered and delivered in batches, after a window
 * (default 100 ms) from the first change, on the cache's own thread, so a
 * burst of watch events becomes one call. Several changes of one object in
 * a window are folded into one event with the oldest old and the newest new
 * record (an object created and deleted within the window is not reported).
 *
 * Thread safety: every function may be called from any thread; callbacks
 * (predicate, key function) run on internal threads and must not call back
 * into the cache; the batch callback may.
 */
#ifndef BERTH_LIVECACHE_H
#define BERTH_LIVECACHE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct kube_client;
struct livecache;

/* A cached object. Read-only; strings are never NULL ("" when absent,
 * group "" for the core group). */
struct lc_record {
	const char *group;
	const char *version;
	const char *kind;
	const char *namespace_;
	const char *name;
	const char *uid;
	const char *resource_version;
	const char *creation_timestamp;
	const char *deletion_timestamp;
	const char *caller_key;      /* from the key function ("" when none) */
	/* Borrowed, never NULL: an object with those of these members that are
	 * set: "labels", "annotations" (the named ones), "ownerReferences"
	 * (apiVersion, kind, name, uid, controller), "generation",
	 * "specReplicas" (spec.replicas) and "status" (the subset health reads:
	 * phase, conditions[type,status,reason,message], replica counts,
	 * observedGeneration, containerStatuses[name,ready,restartCount,state,
	 * lastState], ...). Equal values are shared between records: never
	 * modify it. */
	const json_t *meta;
	bool full;                   /* the full object is kept (lc_record_object) */
	/* private */
	int refs_;
	size_t bytes_;
};

/* Takes / drops a reference. unref with NULL is fine. */
const struct lc_record *lc_record_ref(const struct lc_record *r);
void lc_record_unref(const struct lc_record *r);

/* The full object of a record kept full, parsed anew (new reference in
 * *ret). BERR_NOTFOUND when the record is compact. */
int lc_record_object(const struct lc_record *r, json_t **ret);

/* The record as one JSON object (its compact fields and meta, plus
 * "object" when full); for tests, dumps and the API server. New reference
 * or NULL on allocation failure. */
json_t *lc_record_to_json(const struct lc_record *r);

/* One change, delivered in a batch: old NULL for an added object, new_ NULL
 * for a deleted one. Both borrowed for the callback (ref them to keep). */
struct lc_event {
	const struct lc_record *old;
	const struct lc_record *new_;
};

/* Decides whether obj (borrowed) is kept full. It must decide from
 * apiVersion, kind, metadata (managedFields aside) and status: while a LIST
 * is applied the cache parses only those parts of the items it will keep
 * compact (spec, and the data of ConfigMaps and Secrets, are most of the
 * bytes), and parses the whole item once this says full. Watch events give
 * the whole object. */
typedef bool (*lc_keep_fn)(const json_t *obj, void *userdata);
/* Returns the caller key of obj as a new malloc'd string, or NULL for none.
 * Sees what lc_keep_fn sees (from a LIST, the whole object only when it is
 * kept full). */
typedef char *(*lc_key_fn)(const json_t *obj, void *userdata);
/* Receives a batch of n >= 1 changes (borrowed for the call). */
typedef void (*lc_batch_fn)(const struct lc_event *events, size_t n, void *userdata);

/* A resource type to cache: "group/Kind" form via the two strings. */
struct lc_type_spec {
	const char *group;           /* "" core, "apps", ... */
	const char *kind;            /* "Deployment" */
};

struct livecache_opts {
	/* Which types: the listed ones, or (when n_types is 0) every type
	 * discovery reports with list and watch, minus the excluded ones. */
	const struct lc_type_spec *types;
	size_t n_types;
	const struct lc_type_spec *exclude;  /* kind "*" excludes a whole group */
	size_t n_exclude;
	const char *namespace_;      /* only this namespace (NULL: all) */
	const char *label_selector;  /* only objects matching (NULL: all) */

	lc_keep_fn keep_full;        /* NULL: keep nothing full */
	void *keep_full_data;
	const char *const *annotations; /* annotation names kept in compact records, NULL-terminated */
	lc_key_fn caller_key;        /* NULL: no caller index */
	void *caller_key_data;

	lc_batch_fn on_batch;        /* NULL: no events */
	void *on_batch_data;
	int64_t batch_window_ms;     /* default 100 */

	int64_t backoff_base_ms;     /* watch/list retry backoff; default 500 */
	int64_t backoff_max_ms;      /* default 30000 */
	int64_t rediscover_ms;       /* all-types mode: discovery refresh period; default 60000 */
	/* No events for what a type's first LIST finds (the caller reads the
	 * cache after livecache_wait_synced instead); later changes, relists
	 * included, are reported. */
	bool skip_initial_events;
};

/* Creates a cache over kc (which must outlive it) and starts syncing in the
 * background. Strings in opts are copied. 0 with *ret, BERR_INVALID,
 * BERR_NOMEM. */
int livecache_new(struct kube_client *kc, const struct livecache_opts *opts, struct livecache **ret);

/* Stops the watches and threads but keeps the cache readable (lookups
 * answer from what it held; it no longer changes, and livecache_wait_synced
 * may time out). For a cache that is retired but may still be read by
 * threads that picked it up before. Idempotent; NULL is fine. */
void livecache_stop(struct livecache *lc);

/* Stops the watches and threads (livecache_stop) and frees the cache (records still
 * referenced by the caller stay valid until unref'd). NULL is fine. */
void livecache_free(struct livecache *lc);

/* Waits until every type has completed its first list (and started its
 * watch), up to timeout_ms. 0, BERR_TIMEOUT, or the last list error of a
 * type that cannot be listed. */
int livecache_wait_synced(struct livecache *lc, int64_t timeout_ms);

/* True when every type is listed and watched, no relist pending, and no
 * event is waiting for delivery. */
bool livecache_synced(struct livecache *lc);

/* The record of one object, referenced (lc_record_unref), or NULL when not
 * cached. namespace_ NULL/"" for cluster-scoped. */
const struct lc_record *livecache_get(struct livecache *lc, const char *group, const char *kind,
				      const char *namespace_, const char *name);

/* A list of referenced records; free with lc_records_free. */
struct lc_records {
	const struct lc_record **v;
	size_t n;
};
/* Drops the references rs holds and frees its array, leaving rs empty and
 * reusable (rs itself is the caller's); NULL is a no-op. */
void lc_records_free(struct lc_records *rs);

/* Every record of a type (namespace_ NULL: all namespaces), of the objects
 * owned by owner_uid (direct dependents), or with caller key key. Order:
 * namespace then name. 0 with *out (possibly empty) or BERR_NOMEM. */
int livecache_list(struct livecache *lc, const char *group, const char *kind, const char *namespace_,
		   struct lc_records *out);
int livecache_by_owner(struct livecache *lc, const char *owner_uid, struct lc_records *out);
int livecache_by_key(struct livecache *lc, const char *key, struct lc_records *out);

/* Metrics of one type or of the whole cache. */
struct lc_type_metrics {
	char group[64];
	char kind[64];
	size_t objects;
	size_t full_objects;
	size_t bytes_compact;        /* memory of compact records (estimate) */
	size_t bytes_full;           /* memory of the full JSON text */
	uint64_t relists;
	uint64_t watch_restarts;
	uint64_t events;
	bool synced;
};

struct lc_metrics {
	size_t types;
	size_t objects;
	size_t full_objects;
	size_t bytes_compact;
	size_t bytes_full;
	uint64_t relists;
	uint64_t watch_restarts;
	uint64_t events;
	uint64_t batches;
};

/* Totals (and, when per_type is not NULL, a new array of one entry per type
 * in *per_type with its count in *n_types; free() it). 0 or BERR_NOMEM. */
int livecache_metrics(struct livecache *lc, struct lc_metrics *out, struct lc_type_metrics **per_type,
		      size_t *n_types);

/* Appends the cache's and its client's metrics in Prometheus text format
 * (berth_livecache_objects{group,kind}, ..._bytes{form="compact|full"},
 * ..._relists_total, ..._watch_restarts_total, berth_kube_requests_total,
 * berth_kube_request_latency_ms_sum, berth_kube_throttle_wait_ms_total).
 * cluster labels every series. */
int livecache_metrics_write(struct livecache *lc, const char *cluster, struct buf *out);

#endif
