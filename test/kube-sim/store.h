/*
 * store — kube-sim's object store: every object of every served resource
 * type, one global resourceVersion counter, per-type watch history, and the
 * write semantics of the Kubernetes API server (KUBE-API.md §4–§5).
 *
 * Objects are jansson values. The store keeps its own copies: values passed
 * in are never stolen or modified, values handed out are new references the
 * caller owns and may modify (deep copies of the stored object).
 *
 * Thread safety: every function may be called from any thread (the HTTP
 * threads and the controller threads). A store-wide read/write lock
 * (writer-preferring) guards the maps; subscriber callbacks run AFTER the
 * lock is released, on the writer's thread, in commit order per writer only.
 *
 * Storage: each object version is kept once, as compact JSON, with a slim
 * parsed view for selectors (store_int.h); reads hand out parsed copies.
 *
 * Errors: functions return 0 or a negative BERR_*; err_status()/err_reason()
 * carry the HTTP code and Kubernetes reason (404 NotFound, 409 AlreadyExists,
 * 409 Conflict, 422 Invalid, 403 Forbidden, 410 Expired, 415 ...) so the HTTP
 * layer can answer with a Status body (KUBE-API.md §7). store_status_body()
 * builds that body from the current error record.
 *
 * Identification of a type: a struct ks_type from the registry (below),
 * looked up by (group, resource) or by (apiVersion, kind). Core group is "".
 */
#ifndef KUBESIM_STORE_H
#define KUBESIM_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ks_store;

/* ---- type registry ------------------------------------------------------ */

struct ks_type {
	char *group;       /* "" for core */
	char *version;     /* "v1" */
	char *kind;        /* "Deployment" */
	char *list_kind;   /* "DeploymentList" */
	char *plural;      /* "deployments" (the URL resource) */
	char *singular;    /* "deployment" */
	char **short_names;/* NULL-terminated, may be empty */
	char **categories; /* NULL-terminated, may be empty */
	bool namespaced;
	bool has_status;   /* a /status subresource exists */
	bool has_scale;    /* a /scale subresource exists */
	bool has_generation; /* metadata.generation is maintained (not ConfigMap/Secret/...) */
	bool custom;       /* a CRD-defined type: list items keep kind/apiVersion, no SMP, PUT needs RV */
	bool served;       /* false while a CRD is not Established, or after it is deleted */
	char *crd_name;    /* the CRD's metadata.name for custom types, else NULL */
	json_t *schema;    /* custom types: openAPIV3Schema (owned), else NULL */
	/* Scale subresource paths for custom types (NULL for built-ins). */
	char *scale_spec_path, *scale_status_path, *scale_selector_path;
};

/* "apps/v1" or "v1" for t (static per type; never NULL). */
const char *ks_type_api_version(const struct ks_type *t);

/* Finds a served type by group and plural resource name. Borrowed (types
 * live as long as the store); NULL when unknown or not served. */
const struct ks_type *store_type_find(struct ks_store *s, const char *group, const char *resource);

/* Finds a served type by apiVersion ("apps/v1", "v1") and kind. Borrowed;
 * NULL when unknown. */
const struct ks_type *store_type_by_kind(struct ks_store *s, const char *api_version, const char *kind);

/* Calls fn for every type (served or not) in registration order, under the
 * registry read lock; fn must not register types. */
void store_types_foreach(struct ks_store *s, void (*fn)(void *ctx, const struct ks_type *t), void *ctx);

/* ---- hooks ---------------------------------------------------------------- */

/* Called on create and update (also dry-run) after the store has merged the
 * write and before it validates and stores it: fills server-side defaults
 * (KUBE-API.md §6) into obj in place. old is the stored object on update,
 * NULL on create. Return 0 or a BERR_* (with err_set_status for 422). Set by
 * main.c to B's kdefaults; NULL means no defaulting. Called under the store
 * write lock: must not call into the store. */
typedef int (*ks_defaults_fn)(void *ctx, const struct ks_type *t, json_t *obj, const json_t *old);
void store_set_defaults_hook(struct ks_store *s, ks_defaults_fn fn, void *ctx);

/* Change subscription. Called after every committed change with the event
 * type ("ADDED", "MODIFIED", "DELETED"), the type, and the object as stored
 * (borrowed: valid only during the call; its metadata.resourceVersion is the
 * change's RV). Runs on the writer's thread after the store lock is released,
 * so the callback may call store functions (prefer queuing work). Returns a
 * subscription id >= 0 or a BERR_*. */
typedef void (*ks_change_fn)(void *ctx, const char *event, const struct ks_type *t, const json_t *obj);
int store_subscribe(struct ks_store *s, ks_change_fn fn, void *ctx);
void store_unsubscribe(struct ks_store *s, int id);

/* ---- lifecycle -------------------------------------------------------------- */

struct ks_store_opts {
	size_t watch_window;     /* events kept per type for watch resume (default 10000) */
	int64_t continue_ttl_ms; /* lifetime of a continue token (default 5 min) */
};

/* A new store with all built-in types registered and the namespaces
 * default, kube-system, kube-public, kube-node-lease created. opts may be
 * NULL. NULL on allocation failure. */
struct ks_store *store_new(const struct ks_store_opts *opts);
void store_free(struct ks_store *s);

/* The current global resourceVersion (the RV of the last write). */
uint64_t store_rv(struct ks_store *s);

/* ---- reads -------------------------------------------------------------------- */

/* The object ns/name (ns NULL or "" for cluster-scoped types), with kind and
 * apiVersion. *ret is a new reference. BERR_NOTFOUND (404). */
int store_get(struct ks_store *s, const struct ks_type *t, const char *ns, const char *name, json_t **ret);

struct ks_list_opts {
	const char *label_selector;  /* NULL = all */
	const char *field_selector;  /* NULL = all */
	int64_t limit;               /* 0 = no limit */
	const char *continue_token;  /* NULL = first page */
};

/* Lists objects of t in ns (NULL = all namespaces) as a complete list
 * object ({"kind":"<Kind>List","apiVersion":..,"metadata":{"resourceVersion",
 * "continue"?,"remainingItemCount"?},"items":[...]}), sorted by namespace
 * and name. Items of built-in types carry no kind/apiVersion. Errors:
 * BERR_INVALID (400: bad selector), BERR_GONE (410: expired token). */
int store_list(struct ks_store *s, const struct ks_type *t, const char *ns, const struct ks_list_opts *o,
	       json_t **ret);

/* Calls fn(ctx, t, obj) for every stored object (borrowed obj) under the read
 * lock, for persistence snapshots. fn must not call into the store. */
void store_foreach(struct ks_store *s, void (*fn)(void *ctx, const struct ks_type *t, const json_t *obj), void *ctx);

/* ---- writes --------------------------------------------------------------------- */

enum ks_subresource { KS_SUB_NONE = 0, KS_SUB_STATUS, KS_SUB_SCALE };

struct ks_write_opts {
	bool dry_run;              /* dryRun=All: run everything, store nothing */
	const char *field_manager; /* for managedFields; NULL = "unknown" */
	enum ks_subresource sub;   /* write through /status (only .status is taken) */
	bool force;                /* server-side apply: take ownership on conflict */
};

/* Creates obj (a complete object with kind, apiVersion, metadata.name or
 * generateName; metadata.namespace is taken from ns when absent and must
 * match it otherwise). Sets uid, resourceVersion, creationTimestamp,
 * generation; drops status where t has a status subresource. *ret (may be
 * NULL) receives the stored object. Errors: 409 AlreadyExists, 404 namespace
 * missing, 403 namespace terminating, 422 Invalid, 400 BadRequest. */
int store_create(struct ks_store *s, const struct ks_type *t, const char *ns, const json_t *obj,
		 const struct ks_write_opts *o, json_t **ret);

/* Replaces the object named by obj's metadata (PUT). A resourceVersion in obj
 * is a precondition (409 Conflict when stale); custom types require one
 * (422). With o->sub == KS_SUB_STATUS only .status is taken from obj. A
 * write that changes nothing keeps the stored object and its RV. Emptying
 * finalizers of an object being deleted removes it. */
int store_update(struct ks_store *s, const struct ks_type *t, const char *ns, const json_t *obj,
		 const struct ks_write_opts *o, json_t **ret);

enum ks_patch_type { KS_PATCH_JSON = 0, KS_PATCH_MERGE, KS_PATCH_STRATEGIC, KS_PATCH_APPLY };

/* Patches ns/name with patch (see KUBE-API.md §5.3). KS_PATCH_APPLY creates a
 * missing object (then *ret_created is set true). Other errors as update, plus
 * 415 for strategic merge on custom types, 422 for a failed JSON patch. */
int store_patch(struct ks_store *s, const struct ks_type *t, const char *ns, const char *name,
		enum ks_patch_type type, const json_t *patch, const struct ks_write_opts *o, json_t **ret,
		bool *ret_created);

struct ks_delete_opts {
	const char *propagation;     /* "Background", "Foreground", "Orphan" or NULL = type default */
	const char *precond_uid;     /* NULL = none */
	const char *precond_rv;      /* NULL = none */
	bool dry_run;
};

/* Deletes ns/name. When the object goes at once, *ret_gone is true and *ret
 * holds its last state; when deletion is pending (finalizers, Foreground,
 * Orphan) *ret_gone is false and *ret is the object with deletionTimestamp.
 * Foreground adds finalizer "foregroundDeletion", Orphan adds "orphan" (B's
 * garbage collector removes them). Errors: 404, 409 (precondition). */
int store_delete(struct ks_store *s, const struct ks_type *t, const char *ns, const char *name,
		 const struct ks_delete_opts *o, json_t **ret, bool *ret_gone);

/* ---- watch ---------------------------------------------------------------------- */

struct ks_watch;

struct ks_watch_opts {
	const char *resource_version; /* NULL/"" = start with ADDED for current state; "0" same */
	const char *label_selector;
	const char *field_selector;
	bool bookmarks;               /* allowWatchBookmarks */
	bool send_initial_events;     /* sendInitialEvents=true */
};

/* Opens a watch on t in ns (NULL = all). BERR_INVALID (400 bad selector).
 * A too-old RV does NOT fail here: the watch's first event is the 410 ERROR
 * event, then it ends (KUBE-API.md §3). */
int store_watch_open(struct ks_store *s, const struct ks_type *t, const char *ns, const struct ks_watch_opts *o,
		     struct ks_watch **ret);

/* Waits up to timeout_ms for the next event and appends it as one line
 * ({"type":..,"object":..}\n) to out. Returns 1 when a line was appended
 * (an event, a due BOOKMARK, or the 410 ERROR), 0 on timeout, BERR_CANCELED
 * when the stream should end (after the ERROR event, or after
 * store_drop_watches()). */
struct buf;
int store_watch_next(struct ks_watch *w, int64_t timeout_ms, struct buf *out);
/* Frees the watch (NULL is fine). */
void store_watch_close(struct ks_watch *w);

/* ---- test hooks (faults, admin) ----------------------------------------------- */

/* Drops all watch history: watches resuming from an older RV get 410. */
void store_compact(struct ks_store *s);
/* Ends every open watch stream (clients see the stream close). */
void store_drop_watches(struct ks_store *s);
/* Watches open now and ever opened (GET /_admin/watches). */
void store_watch_counts(struct ks_store *s, size_t *open, uint64_t *opened);

/* ---- persistence ---------------------------------------------------------------- */

/* Inserts obj as stored (uid, resourceVersion etc. kept), without events or
 * defaulting; registers CRDs it meets. For loading a snapshot at start,
 * before serving. */
int store_restore(struct ks_store *s, const json_t *obj);
/* Raises the global RV counter to at least rv (after a restore). */
void store_restore_rv(struct ks_store *s, uint64_t rv);

/* ---- errors -------------------------------------------------------------------- */

/* Builds a Kubernetes Status body (KUBE-API.md §7) from the current error
 * record (err_status/err_reason/err_msg, and details set by the store). New
 * reference. */
json_t *store_status_body(void);

#endif
