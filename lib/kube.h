/*
 * kube — the Kubernetes API client every Berth daemon uses (KUBE-API.md is
 * the contract): discovery and the Kind→resource map, get / list (paged) /
 * watch / create / update / patch / apply / delete, status subresource
 * writes, dry runs, error Status mapping, retries, credential refresh and a
 * client-side QPS/burst limiter.
 *
 *     struct kube_config cfg;
 *     kube_config_load_default(NULL, NULL, &cfg);
 *     struct kube_client *kc;
 *     kube_client_new(&cfg, NULL, &kc);
 *     struct kube_target t = { .api_version = "apps/v1", .kind = "Deployment",
 *                              .namespace_ = "web", .name = "api" };
 *     json_t *obj;
 *     if ((rc = kube_get(kc, &t, NULL, &obj)) == BERR_NOTFOUND) ...
 *
 * Objects are addressed by apiVersion + kind (never by a guessed plural):
 * the client maps them to (resource, scope) with discovery (aggregated v2
 * when the server offers it, the plain documents otherwise), and refreshes
 * discovery on a miss, at most once per KUBE_DISCOVERY_MIN_INTERVAL_MS, so a
 * CRD that has just become Established is found without hammering the
 * server. A kind that stays unknown is BERR_NOTFOUND with err_status() 0.
 *
 * Errors: every non-2xx answer becomes a BERR code and err_set_status(code,
 * reason) from its Status body (a non-JSON body, e.g. from a proxy, keeps the
 * HTTP code with reason "" and the first bytes of the body in the message):
 *   400 → BERR_INVALID, 401 → BERR_UNAUTHORIZED, 403 → BERR_FORBIDDEN,
 *   404 → BERR_NOTFOUND, 405/415 → BERR_UNSUPPORTED, 409 AlreadyExists →
 *   BERR_EXISTS, other 409 → BERR_CONFLICT (the caller re-reads and retries),
 *   410 → BERR_GONE, 413 → BERR_TOOLARGE, 422 → BERR_INVALID,
 *   429/5xx (after the retries) → BERR_UNAVAILABLE, 504 → BERR_TIMEOUT.
 * The message is the Status message followed by its causes
 * ("...: spec.replicas: Invalid value (FieldValueInvalid)"); the whole
 * Status of the last failed request on this thread is kube_last_status().
 *
 * Retries, up to opts.max_attempts with capped exponential backoff and
 * jitter, honouring Retry-After (capped at max_retry_after_ms; lib/httpc):
 *   - every verb (GET, PUT, DELETE, POST, PATCH) on 429, on any 5xx that
 *     carries Retry-After, and on a failure to connect: the API server
 *     rejects these before acting on the request, so a retried write
 *     cannot be applied twice (client-go retries the same way);
 *   - GET, PUT (the resourceVersion precondition makes a replay a 409) and
 *     DELETE (a replay is a 404) also on a bare 500, 502, 503 or 504 and on
 *     a connection broken mid-request;
 *   - POST and PATCH not on a bare 5xx nor a broken connection: the write
 *     may have been applied (a JSON patch "add" would be applied twice, a
 *     generateName create would make a second object). The caller gets
 *     BERR_UNAVAILABLE and decides (re-read, then retry).
 * A 401 makes the client refresh its credential once (re-read tokenFile,
 * re-run the exec plugin) and retry. An exec plugin's client certificate
 * and key that change on a refresh (after a 401, or when its
 * expirationTimestamp is near) are presented by every connection opened and
 * every watch started afterwards; idle connections made with the old pair
 * are closed (requests and watches in flight finish with it).
 * Every request first takes a token from the per-client QPS/burst bucket;
 * time spent waiting is counted in the metrics.
 *
 * Thread safety: a client may be used from any number of threads at once.
 * Watches run on one thread owned by the client (a curl multi handle shared
 * by all watches), started on the first kube_watch_start.
 */
#ifndef BERTH_KUBE_H
#define BERTH_KUBE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "kubeconfig.h"

struct kube_client;
struct kube_watch;

#define KUBE_DISCOVERY_MIN_INTERVAL_MS 2000
#define KUBE_MAX_RESPONSE_BYTES ((size_t)256 << 20)

/* Client settings; zero means the default given. */
struct kube_client_opts {
	double qps;                  /* sustained requests per second; default 50 (< 0: no limit) */
	unsigned burst;              /* bucket size; default 100 */
	int64_t timeout_ms;          /* per request (not watches); default 60000 */
	unsigned max_attempts;       /* attempts for retried failures; default 5 */
	int64_t base_delay_ms;       /* first backoff; default 200 */
	int64_t max_delay_ms;        /* backoff cap; default 10000 */
	int64_t max_retry_after_ms;  /* cap on a Retry-After; default 30000 */
	int64_t token_reread_ms;     /* re-read token_file after this long; default 60000 */
	unsigned page_size;          /* list page size (limit); default 500 */
	int64_t watch_timeout_s;     /* timeoutSeconds sent on watches; default 300 */
	int64_t watch_idle_ms;       /* abort a watch silent this long; default watch_timeout_s + 30 s */
	const char *user_agent;      /* default "berth/<version>" */
	bool plain_discovery;        /* never ask for aggregated discovery (old servers, tests) */
};

/* Verbs of a resource (bitmask). */
enum kube_verb {
	KUBE_VERB_GET = 1 << 0,
	KUBE_VERB_LIST = 1 << 1,
	KUBE_VERB_WATCH = 1 << 2,
	KUBE_VERB_CREATE = 1 << 3,
	KUBE_VERB_UPDATE = 1 << 4,
	KUBE_VERB_PATCH = 1 << 5,
	KUBE_VERB_DELETE = 1 << 6,
	KUBE_VERB_DELETECOLLECTION = 1 << 7,
};

/* One top-level resource from discovery (subresources are not listed). */
struct kube_resource {
	char *group;                 /* "" for the core group */
	char *version;               /* "v1" */
	char *kind;                  /* "Deployment" */
	char *resource;              /* plural used in URLs: "deployments" */
	bool namespaced;
	unsigned verbs;              /* enum kube_verb */
	bool has_status;             /* a status subresource exists */
	bool preferred;              /* the group's preferred version */
};

/* Frees the strings r owns; NULL is a no-op. */
void kube_resource_release(struct kube_resource *r);
/* Frees an array returned by kube_resources (and its n elements). */
void kube_resources_free(struct kube_resource *v, size_t n);

/* Creates a client for cfg (copied). opts may be NULL. Reads the credential
 * once (a failing exec plugin or missing token file is an error here).
 * 0 with *ret, BERR_INVALID (no server), or the credential's error. */
int kube_client_new(const struct kube_config *cfg, const struct kube_client_opts *opts,
		    struct kube_client **ret);

/* Stops every watch (their on_end runs with BERR_CANCELED) and frees the
 * client. No request may be in flight. NULL is fine. */
void kube_client_free(struct kube_client *kc);

/* The configuration the client was made with (borrowed). */
const struct kube_config *kube_client_config(const struct kube_client *kc);

/* ---- discovery ---- */

/* Fetches discovery now (aggregated v2 if offered, plain otherwise) and
 * replaces the map. 0 or a BERR code (the old map kept). */
int kube_discover(struct kube_client *kc);

/* True when the last discovery used the aggregated documents. */
bool kube_discovery_aggregated(struct kube_client *kc);

/* Maps apiVersion + kind to its resource (a copy in *out; release it). On a
 * miss, refreshes discovery (rate-limited, see above) and looks again.
 * 0, BERR_NOTFOUND ("no resource for kind \"Widget\" in example.com/v1"),
 * BERR_INVALID (bad apiVersion), or a discovery error. */
int kube_resource_for(struct kube_client *kc, const char *api_version, const char *kind,
		      struct kube_resource *out);

/* Every resource of the current map (discovering first if never done):
 * preferred and non-preferred versions, one entry per group/version/kind.
 * New array in *ret (kube_resources_free). 0 or a BERR code. */
int kube_resources(struct kube_client *kc, struct kube_resource **ret, size_t *ret_n);

/* ---- requests ---- */

/* What a request addresses. All strings are borrowed for the call. */
struct kube_target {
	const char *api_version;     /* "v1", "apps/v1" */
	const char *kind;            /* "ConfigMap" */
	const char *namespace_;      /* NULL/"" : cluster-scoped, or every namespace for list/watch */
	const char *name;            /* object requests; NULL for list/watch/create */
	const char *subresource;     /* "status", "scale"; NULL for the object */
};

/* Fills t from obj's apiVersion, kind, metadata.namespace and .name
 * (borrowed from obj). BERR_INVALID when apiVersion or kind is missing. */
int kube_target_of(const json_t *obj, struct kube_target *t);

enum kube_patch_type {
	KUBE_PATCH_JSON,             /* application/json-patch+json (RFC 6902) */
	KUBE_PATCH_MERGE,            /* application/merge-patch+json (RFC 7386) */
	KUBE_PATCH_STRATEGIC,        /* application/strategic-merge-patch+json */
	KUBE_PATCH_APPLY,            /* application/apply-patch+yaml (server-side apply) */
};

/* Options for a request; every member optional. Borrowed for the call. */
struct kube_req_opts {
	bool dry_run;                       /* dryRun=All */
	const char *field_manager;          /* fieldManager (required by apply: default "berth") */
	bool force;                         /* apply only: force=true */
	const char *field_validation;       /* Ignore | Warn | Strict */
	const char *label_selector;         /* list/watch */
	const char *field_selector;         /* list/watch */
	const char *resource_version;       /* get/list: RV semantics of KUBE-API.md §2 */
	const char *resource_version_match; /* NotOlderThan | Exact */
	unsigned limit;                     /* list page size (0: the client's page_size) */
	const char *propagation_policy;     /* delete: Foreground | Background | Orphan (default Background) */
	int64_t grace_period_s;             /* delete: >0 sends gracePeriodSeconds; 0 not sent */
	bool grace_period_zero;             /* delete: send gracePeriodSeconds=0 */
	const char *precondition_uid;       /* delete */
	const char *precondition_rv;        /* delete */
};

/* GET one object. New reference in *ret. */
int kube_get(struct kube_client *kc, const struct kube_target *t, const struct kube_req_opts *o, json_t **ret);

/* LIST every page (limit/continue; a 410 on a continue token restarts the
 * list from the start, at most 3 times) into one List object: items[] with
 * kind and apiVersion filled in on every item, metadata.resourceVersion of
 * the (first) page's snapshot. New reference in *ret. */
int kube_list(struct kube_client *kc, const struct kube_target *t, const struct kube_req_opts *o, json_t **ret);

/* Called once per page of kube_list_pages with the page (borrowed; items
 * completed as above) and whether it is a restart after 410 (the caller
 * drops what it collected). Return 0 to go on or a BERR code to stop. */
typedef int (*kube_page_fn)(json_t *page, bool restarted, void *userdata);

/* LIST page by page without holding every page in memory. The RV of the
 * snapshot is the last page's metadata.resourceVersion. */
int kube_list_pages(struct kube_client *kc, const struct kube_target *t, const struct kube_req_opts *o,
		    kube_page_fn on_page, void *userdata);

/* A page of kube_list_pages_raw: items is the raw JSON text of the page's
 * items array ("[...]", borrowed for the call; walk it with lib/jscan),
 * meta the page's metadata (borrowed), list_kind and api_version the
 * page's kind ("ConfigMapList") and apiVersion (NULL when absent); items
 * do not carry kind and apiVersion. restarted as for kube_page_fn. Return
 * 0 to go on or a BERR code to stop. */
typedef int (*kube_raw_page_fn)(const char *items, size_t items_len, const json_t *meta, const char *list_kind,
				const char *api_version, bool restarted, void *userdata);

/* kube_list_pages without parsing the items: for callers that read only
 * part of each object (the live cache). BERR_INVALID when a page is not a
 * JSON object with an items array. */
int kube_list_pages_raw(struct kube_client *kc, const struct kube_target *t, const struct kube_req_opts *o,
			kube_raw_page_fn on_page, void *userdata);

/* POST obj to the collection of t (name ignored). ret may be NULL. */
int kube_create(struct kube_client *kc, const struct kube_target *t, const json_t *obj,
		const struct kube_req_opts *o, json_t **ret);

/* PUT obj (its metadata.resourceVersion is the precondition: a stale one is
 * BERR_CONFLICT). t->subresource "status" writes the status. ret may be NULL. */
int kube_update(struct kube_client *kc, const struct kube_target *t, const json_t *obj,
		const struct kube_req_opts *o, json_t **ret);

/* PATCH with the given type. For KUBE_PATCH_APPLY patch is the desired
 * partial object (sent as JSON, which is YAML) and o->field_manager defaults
 * to "berth"; force from o. ret may be NULL. */
int kube_patch(struct kube_client *kc, const struct kube_target *t, enum kube_patch_type type,
	       const json_t *patch, const struct kube_req_opts *o, json_t **ret);

/* DELETE with propagationPolicy (always sent; default Background) and
 * optional preconditions (DeleteOptions body). *ret (may be NULL) receives
 * the object when the deletion is pending (finalizers, foreground), or the
 * Success Status when the object is gone. */
int kube_delete(struct kube_client *kc, const struct kube_target *t, const struct kube_req_opts *o, json_t **ret);

/* A raw request to path (appended to the server URL, with its query) with
 * the client's auth, limiter, retries and error mapping. body may be NULL.
 * *ret (may be NULL) receives the parsed JSON body of a 2xx answer. */
int kube_raw(struct kube_client *kc, const char *method, const char *path, const char *content_type,
	     const char *body, size_t body_len, json_t **ret);

/* The Status body of the last failed request on this thread, or NULL
 * (borrowed; valid until the next kube_* call on this thread). Holds code,
 * reason, message and details (causes, retryAfterSeconds). */
const json_t *kube_last_status(void);

/* ---- watch ---- */

enum kube_event_type { KUBE_EV_ADDED, KUBE_EV_MODIFIED, KUBE_EV_DELETED, KUBE_EV_BOOKMARK };

/* Called on the client's watch thread for every event, with the object
 * (borrowed for the call; take a reference to keep it). kind and apiVersion
 * are present. Return 0 to go on, a BERR code to end the watch (on_end gets
 * that code). Must not block long: every watch shares the thread. */
typedef int (*kube_event_fn)(enum kube_event_type type, json_t *obj, void *userdata);

/* Called once when the watch ends, on the watch thread (or in
 * kube_watch_stop/kube_client_free's thread for BERR_CANCELED):
 *   0                 the server ended the stream (timeoutSeconds, a
 *                     dropped connection after data): watch again from
 *                     last_rv;
 *   BERR_GONE         410 (ERROR event or HTTP 410): relist;
 *   BERR_CANCELED     kube_watch_stop or kube_client_free;
 *   other BERR code   an HTTP error (err detail is not kept across
 *                     threads; see message) or a broken connection: back
 *                     off, then watch again from last_rv.
 * last_rv is the resourceVersion of the last event (or bookmark) on_event
 * accepted, or the one the watch started from; message a short description
 * of the failure.
 * The watch handle is invalid after on_end. */
typedef void (*kube_watch_end_fn)(int rc, const char *last_rv, const char *message, void *userdata);

/* Starts a watch of t's collection (t->name NULL; namespace_ NULL for every
 * namespace) from resource_version (NULL: from now, with synthetic ADDED
 * events for the current state), with allowWatchBookmarks and the client's
 * timeoutSeconds, and o's selectors. *ret (may be NULL) is a handle for
 * kube_watch_stop, valid until on_end has run. 0 or a BERR code (the kind
 * unknown...). */
int kube_watch_start(struct kube_client *kc, const struct kube_target *t, const struct kube_req_opts *o,
		     const char *resource_version, kube_event_fn on_event, kube_watch_end_fn on_end,
		     void *userdata, struct kube_watch **ret);

/* Asks the watch to stop; its on_end runs with BERR_CANCELED soon. Call at
 * most once, and only before on_end has run. */
void kube_watch_stop(struct kube_client *kc, struct kube_watch *w);

/* ---- metrics ---- */

struct kube_metrics {
	uint64_t requests;           /* HTTP requests completed (attempts included) */
	uint64_t errors;             /* requests that ended in a BERR code */
	uint64_t retries;            /* extra attempts made by the retry logic */
	uint64_t credential_refreshes;
	uint64_t latency_ms_sum;     /* total wall time of requests */
	uint64_t throttle_waits;     /* requests that waited for the limiter */
	uint64_t throttle_wait_ms;   /* total time waited */
	uint64_t watches_started;
	uint64_t watch_events;
	uint64_t discoveries;
};

/* A snapshot of the client's counters. */
void kube_client_metrics(struct kube_client *kc, struct kube_metrics *out);

/* ---- helpers ---- */

/* Splits apiVersion into group and version ("v1" → "", "v1"; "apps/v1" →
 * "apps", "v1") into the caller's buffers. BERR_INVALID when empty or too
 * long for the buffers. */
int kube_split_api_version(const char *api_version, char *group, size_t gsize, char *version, size_t vsize);

/* Appends the URL path of t (resolved resource res) to out:
 * /api/v1/namespaces/ns/configmaps/name/status. Names are path-escaped. */
int kube_path(const struct kube_resource *res, const struct kube_target *t, struct buf *out);

#endif
