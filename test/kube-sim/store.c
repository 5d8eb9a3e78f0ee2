/*
 * store — see store.h.
 *
 * Design. Every stored object version is an immutable "blob": the jansson
 * value plus its compact serialisation, shared by reference between the
 * per-type index (kmap "ns/name" -> blob), the per-type watch history ring,
 * list snapshots for continue tokens and readers in flight. A write builds a
 * new value, serialises it once, and swaps the blob in; GET, LIST and WATCH
 * send pre-serialised bytes. The serialisation starts with apiVersion and
 * kind, so the list-item form (built-ins carry no kind/apiVersion in lists)
 * is the same bytes from item_off on.
 *
 * One read/write lock guards all maps and the RV counter. Watchers sleep on
 * a condition variable that every commit broadcasts. Subscribers are called
 * after the lock is released (see notes_flush).
 */
#include "store.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "clock.h"
#include "err.h"
#include "jsonx.h"
#include "kmap.h"
#include "osrand.h"
#include "selector.h"
#include "store_int.h"
#include "str.h"
#include "types.h"

/* ---- blobs ---------------------------------------------------------------- */

/* Paths copied into a blob's view besides metadata: what field selectors
 * read (selector.c). */
static const char *const view_paths[][2] = {
	{ "status", "phase" },   { "status", "podIP" },       { "status", "nominatedNodeName" },
	{ "status", "replicas" }, { "status", "successful" }, { "spec", "nodeName" },
	{ "spec", "restartPolicy" }, { "spec", "schedulerName" }, { "spec", "serviceAccountName" },
	{ "spec", "unschedulable" }, { "type", NULL }, { "reason", NULL }, { "source", NULL },
	{ "reportingComponent", NULL }, { "involvedObject", NULL },
};

static json_t *make_view(const json_t *obj)
{
	json_t *v = json_object();
	json_t *meta = json_object_get(obj, "metadata");
	json_t *vm = json_object();
	const char *k;
	json_t *x;
	static const char *const keep[] = { "name", "namespace", "labels", "deletionTimestamp", "finalizers", NULL };
	for (const char *const *p = keep; *p; p++) {
		x = json_object_get(meta, *p);
		if (x)
			json_object_set_new(vm, *p, json_deep_copy(x));
	}
	(void)k;
	json_object_set_new(v, "metadata", vm);
	for (size_t i = 0; i < sizeof(view_paths) / sizeof(view_paths[0]); i++) {
		json_t *top = json_object_get(obj, view_paths[i][0]);
		if (!top)
			continue;
		if (!view_paths[i][1]) {
			json_object_set_new(v, view_paths[i][0], json_deep_copy(top));
			continue;
		}
		json_t *leaf = json_is_object(top) ? json_object_get(top, view_paths[i][1]) : NULL;
		if (leaf)
			json_object_set_new(jx_obj_ensure(v, view_paths[i][0]), view_paths[i][1], json_deep_copy(leaf));
	}
	return v;
}

struct ks_blob *blob_new(const json_t *obj, const char *key, uint64_t rv)
{
	struct ks_blob *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	atomic_init(&b->refs, 1);
	b->rv = rv;
	b->key = str_dup(key);
	b->json = json_dumps(obj, JSON_COMPACT);
	b->view = make_view(obj);
	if (!b->json || !b->key || !b->view) {
		free(b->json);
		free(b->key);
		json_decref(b->view);
		free(b);
		return NULL;
	}
	b->len = strlen(b->json);
	/* The item form: skip {"apiVersion":..,"kind":.., when both lead. */
	b->item_off = 0;
	if (strncmp(b->json, "{\"apiVersion\":", 14) == 0) {
		char *k = strstr(b->json, ",\"kind\":\"");
		const char *av = jx_str(obj, "apiVersion"), *kind = jx_str(obj, "kind");
		if (k && av && kind && (size_t)(k - b->json) == 14 + strlen(av) + 2) {
			size_t off = (size_t)(k - b->json) + 9 + strlen(kind) + 1;
			if (off < b->len && b->json[off] == ',')
				b->item_off = off + 1;
		}
	}
	return b;
}

json_t *blob_full(const struct ks_blob *b)
{
	return json_loadb(b->json, b->len, 0, NULL);
}

void blob_ref(struct ks_blob *b)
{
	if (b)
		atomic_fetch_add(&b->refs, 1);
}

void blob_unref(struct ks_blob *b)
{
	if (b && atomic_fetch_sub(&b->refs, 1) == 1) {
		json_decref(b->view);
		free(b->json);
		free(b->key);
		free(b);
	}
}

/* ---- error details ---------------------------------------------------------- */

static __thread struct {
	char name[256];
	char group[256];
	char kind[256];
	char uid[64];
	json_t *causes;
	int retry_after;
} err_details;

static void details_clear(void)
{
	err_details.name[0] = err_details.group[0] = err_details.kind[0] = err_details.uid[0] = '\0';
	json_decref(err_details.causes);
	err_details.causes = NULL;
	err_details.retry_after = 0;
}

void store_err_details(const char *name, const char *group, const char *kind, json_t *causes)
{
	details_clear();
	str_copy(err_details.name, name ? name : "", sizeof(err_details.name));
	str_copy(err_details.group, group ? group : "", sizeof(err_details.group));
	str_copy(err_details.kind, kind ? kind : "", sizeof(err_details.kind));
	err_details.causes = causes;
}

void store_err_retry_after(int secs)
{
	err_details.retry_after = secs;
}

/* "deployments.apps" / "configmaps" */
static void resource_label(const struct ks_type *t, char *out, size_t size)
{
	if (*t->group)
		snprintf(out, size, "%s.%s", t->plural, t->group);
	else
		str_copy(out, t->plural, size);
}

/* An error about object name of type t: sets the record, status and details
 * (details.kind = resource plural). */
static int __attribute__((format(printf, 6, 7)))
obj_err(int code, int http, const char *reason, const struct ks_type *t, const char *name, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	err_setv(code, fmt, ap);
	va_end(ap);
	err_set_status(http, reason);
	store_err_details(name, t ? t->group : "", t ? t->plural : "", NULL);
	return code;
}

int store_not_found(const struct ks_type *t, const char *name)
{
	char rl[256];
	resource_label(t, rl, sizeof(rl));
	return obj_err(BERR_NOTFOUND, 404, "NotFound", t, name, "%s \"%s\" not found", rl, name);
}

int store_conflict_modified(const struct ks_type *t, const char *name)
{
	char rl[256];
	resource_label(t, rl, sizeof(rl));
	return obj_err(BERR_CONFLICT, 409, "Conflict", t, name,
		       "Operation cannot be fulfilled on %s \"%s\": the object has been modified; please apply your "
		       "changes to the latest version and try again",
		       rl, name);
}

/* 422 Invalid: "<Kind>[.group] "name" is invalid: <field>: <detail>"
 * (details.kind is the Kind, with one cause). */
int store_invalid(const struct ks_type *t, const char *name, const char *field, const char *reason_cause,
		  const char *detail)
{
	char kl[300];
	if (t && *t->group)
		snprintf(kl, sizeof(kl), "%s.%s", t->kind, t->group);
	else
		str_copy(kl, t ? t->kind : "", sizeof(kl));
	err_set(BERR_INVALID, "%s \"%s\" is invalid: %s: %s", kl, name ? name : "", field, detail);
	err_set_status(422, "Invalid");
	json_t *causes = json_pack("[{s:s,s:s,s:s}]", "reason", reason_cause ? reason_cause : "FieldValueInvalid",
				   "message", detail, "field", field);
	store_err_details(name, t ? t->group : "", t ? t->kind : "", causes);
	return BERR_INVALID;
}

int store_bad_request(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	err_setv(BERR_INVALID, fmt, ap);
	va_end(ap);
	err_set_status(400, "BadRequest");
	details_clear();
	return BERR_INVALID;
}

json_t *store_status_body(void)
{
	int code = err_status();
	const char *reason = err_reason();
	if (!code) {
		switch (err_code()) {
		case BERR_NOTFOUND: code = 404; reason = "NotFound"; break;
		case BERR_EXISTS: code = 409; reason = "AlreadyExists"; break;
		case BERR_CONFLICT: code = 409; reason = "Conflict"; break;
		case BERR_INVALID: code = 400; reason = "BadRequest"; break;
		case BERR_FORBIDDEN: code = 403; reason = "Forbidden"; break;
		case BERR_UNAUTHORIZED: code = 401; reason = "Unauthorized"; break;
		case BERR_GONE: code = 410; reason = "Expired"; break;
		case BERR_UNSUPPORTED: code = 415; reason = "UnsupportedMediaType"; break;
		case BERR_TOOLARGE: code = 413; reason = "RequestEntityTooLarge"; break;
		case BERR_TIMEOUT: code = 504; reason = "Timeout"; break;
		case BERR_UNAVAILABLE: code = 503; reason = "ServiceUnavailable"; break;
		default: code = 500; reason = "InternalError"; break;
		}
	}
	json_t *st = json_pack("{s:s,s:s,s:{},s:s,s:s}", "kind", "Status", "apiVersion", "v1", "metadata", "status",
			       "Failure", "message", err_msg());
	if (reason && *reason)
		json_object_set_new(st, "reason", json_string(reason));
	json_t *d = json_object();
	if (err_details.name[0])
		json_object_set_new(d, "name", json_string(err_details.name));
	if (err_details.group[0])
		json_object_set_new(d, "group", json_string(err_details.group));
	if (err_details.kind[0])
		json_object_set_new(d, "kind", json_string(err_details.kind));
	if (err_details.uid[0])
		json_object_set_new(d, "uid", json_string(err_details.uid));
	if (err_details.causes)
		json_object_set(d, "causes", err_details.causes);
	if (err_details.retry_after)
		json_object_set_new(d, "retryAfterSeconds", json_integer(err_details.retry_after));
	if (json_object_size(d))
		json_object_set_new(st, "details", d);
	else
		json_decref(d);
	json_object_set_new(st, "code", json_integer(code));
	return st;
}

/* ---- the store ------------------------------------------------------------------ */

struct sub {
	int id;
	ks_change_fn fn;
	void *ctx;
};

struct cont_snapshot {
	char id[33];
	int64_t expires_ms;
	uint64_t rv;
	struct ks_blob **items;
	size_t n, pos;
	bool item_form;
	struct cont_snapshot *next;
};

struct ks_store {
	pthread_rwlock_t lock;
	struct ks_registry reg;
	uint64_t rv;
	size_t ring_cap;
	int64_t cont_ttl_ms;
	ks_defaults_fn defaults;
	void *defaults_ctx;

	pthread_mutex_t sub_mu;
	struct sub *subs;
	size_t nsubs;
	int next_sub;

	pthread_mutex_t wmu;
	pthread_cond_t wcond;
	uint64_t wseq;       /* bumped on every commit and drop */
	uint64_t drop_gen;   /* bumped by store_drop_watches */
	uint64_t watches_opened; /* ever (store_watch_counts) */
	size_t watches_open;

	pthread_mutex_t cmu;
	struct cont_snapshot *conts;
};

struct ks_tstate *store_tstate(const struct ks_type *t)
{
	return (struct ks_tstate *)t;
}

const char *ks_type_api_version(const struct ks_type *t)
{
	return store_tstate(t)->api_version;
}

const struct ks_type *store_type_find(struct ks_store *s, const char *group, const char *resource)
{
	struct ks_tstate *ts = registry_find(&s->reg, group ? group : "", resource, true);
	return ts ? &ts->t : NULL;
}

const struct ks_type *store_type_by_kind(struct ks_store *s, const char *api_version, const char *kind)
{
	struct ks_tstate *ts = registry_by_kind(&s->reg, api_version, kind, true);
	return ts ? &ts->t : NULL;
}

void store_types_foreach(struct ks_store *s, void (*fn)(void *ctx, const struct ks_type *t), void *ctx)
{
	pthread_rwlock_rdlock(&s->reg.lock);
	for (size_t i = 0; i < s->reg.n; i++)
		fn(ctx, &s->reg.types[i]->t);
	pthread_rwlock_unlock(&s->reg.lock);
}

void store_set_defaults_hook(struct ks_store *s, ks_defaults_fn fn, void *ctx)
{
	s->defaults = fn;
	s->defaults_ctx = ctx;
}

int store_subscribe(struct ks_store *s, ks_change_fn fn, void *ctx)
{
	pthread_mutex_lock(&s->sub_mu);
	struct sub *n = realloc(s->subs, (s->nsubs + 1) * sizeof(*n));
	if (!n) {
		pthread_mutex_unlock(&s->sub_mu);
		return BERR_NOMEM;
	}
	s->subs = n;
	int id = s->next_sub++;
	n[s->nsubs++] = (struct sub){ id, fn, ctx };
	pthread_mutex_unlock(&s->sub_mu);
	return id;
}

void store_unsubscribe(struct ks_store *s, int id)
{
	pthread_mutex_lock(&s->sub_mu);
	for (size_t i = 0; i < s->nsubs; i++) {
		if (s->subs[i].id == id) {
			memmove(&s->subs[i], &s->subs[i + 1], (s->nsubs - i - 1) * sizeof(*s->subs));
			s->nsubs--;
			break;
		}
	}
	pthread_mutex_unlock(&s->sub_mu);
}

uint64_t store_rv(struct ks_store *s)
{
	pthread_rwlock_rdlock(&s->lock);
	uint64_t rv = s->rv;
	pthread_rwlock_unlock(&s->lock);
	return rv;
}

struct ks_registry *store_registry(struct ks_store *s)
{
	return &s->reg;
}

/* ---- notes: changes to report after unlocking -------------------------------- */

void notes_init(struct notes *n)
{
	n->items = NULL;
	n->n = 0;
}

static void notes_add(struct notes *n, const char *event, struct ks_tstate *ts, json_t *obj)
{
	struct note *ni = realloc(n->items, (n->n + 1) * sizeof(*ni));
	if (!ni)
		return; /* subscribers miss one change; watches still see it */
	n->items = ni;
	ni[n->n++] = (struct note){ event, ts, json_incref(obj) };
}

void notes_flush(struct ks_store *s, struct notes *n)
{
	if (n->n) {
		pthread_mutex_lock(&s->wmu);
		s->wseq++;
		pthread_cond_broadcast(&s->wcond);
		pthread_mutex_unlock(&s->wmu);
	}
	for (size_t i = 0; i < n->n; i++) {
		pthread_mutex_lock(&s->sub_mu);
		size_t nsubs = s->nsubs;
		struct sub subs[16];
		if (nsubs > 16)
			nsubs = 16;
		if (nsubs)
			memcpy(subs, s->subs, nsubs * sizeof(*subs));
		pthread_mutex_unlock(&s->sub_mu);
		for (size_t j = 0; j < nsubs; j++)
			subs[j].fn(subs[j].ctx, n->items[i].event, &n->items[i].ts->t, n->items[i].obj);
		json_decref(n->items[i].obj);
	}
	free(n->items);
	notes_init(n);
}

/* ---- commit (under the write lock) ---------------------------------------------- */

static void ring_push(struct ks_tstate *ts, uint64_t rv, const char *type, struct ks_blob *obj, struct ks_blob *prev)
{
	if (ts->ring_len == ts->ring_cap) {
		struct ks_event *old = &ts->ring[ts->ring_start];
		ts->horizon = old->rv; /* events at or below this RV are gone */
		blob_unref(old->obj);
		blob_unref(old->prev);
		ts->ring_start = (ts->ring_start + 1) % ts->ring_cap;
		ts->ring_len--;
	}
	struct ks_event *e = &ts->ring[(ts->ring_start + ts->ring_len) % ts->ring_cap];
	e->rv = rv;
	e->type = type;
	e->obj = obj;
	e->prev = prev;
	blob_ref(obj);
	blob_ref(prev);
	ts->ring_len++;
}

void obj_key(const struct ks_type *t, const char *ns, const char *name, char *out, size_t size)
{
	if (t->namespaced)
		snprintf(out, size, "%s/%s", ns ? ns : "", name);
	else
		str_copy(out, name, size);
}

/* Rebuilds obj with apiVersion and kind as its first keys (stolen). */
static json_t *order_keys(json_t *obj, const struct ks_tstate *ts)
{
	json_t *out = json_object();
	json_object_set_new(out, "apiVersion", json_string(ts->api_version));
	json_object_set_new(out, "kind", json_string(ts->t.kind));
	const char *k;
	json_t *v;
	json_object_foreach(obj, k, v) {
		if (strcmp(k, "apiVersion") != 0 && strcmp(k, "kind") != 0)
			json_object_set(out, k, v);
	}
	json_decref(obj);
	return out;
}

/* Stores obj (stolen) as the new version of key with a fresh RV and records
 * the event. Returns the new blob (borrowed: owned by the index) or NULL. */
struct ks_blob *commit_put(struct ks_store *s, struct ks_tstate *ts, const char *key, json_t *obj, struct notes *n,
			   json_t **ret_full)
{
	uint64_t rv = s->rv + 1;
	char rvs[32];
	snprintf(rvs, sizeof(rvs), "%llu", (unsigned long long)rv);
	json_object_set_new(jx_obj_ensure(obj, "metadata"), "resourceVersion", json_string(rvs));
	obj = order_keys(obj, ts);
	struct ks_blob *b = blob_new(obj, key, rv);
	void *old = NULL;
	if (!b || kmap_put(&ts->objs, key, b, &old) < 0) {
		blob_unref(b);
		json_decref(obj);
		return NULL;
	}
	s->rv = rv;
	ring_push(ts, rv, old ? "MODIFIED" : "ADDED", b, old);
	notes_add(n, old ? "MODIFIED" : "ADDED", ts, obj);
	blob_unref(old);
	if (ret_full)
		*ret_full = obj;
	else
		json_decref(obj);
	return b;
}

/* Removes key; the DELETED event carries the last state with a new RV. */
void commit_del(struct ks_store *s, struct ks_tstate *ts, const char *key, struct notes *n)
{
	struct ks_blob *old = kmap_del(&ts->objs, key);
	if (!old)
		return;
	uint64_t rv = s->rv + 1;
	char rvs[32];
	snprintf(rvs, sizeof(rvs), "%llu", (unsigned long long)rv);
	json_t *last = blob_full(old);
	if (last)
		json_object_set_new(jx_obj_ensure(last, "metadata"), "resourceVersion", json_string(rvs));
	struct ks_blob *b = last ? blob_new(last, key, rv) : NULL;
	s->rv = rv;
	if (b) {
		ring_push(ts, rv, "DELETED", b, NULL);
		notes_add(n, "DELETED", ts, last);
		blob_unref(b);
	}
	json_decref(last);
	blob_unref(old);
}

struct ks_blob *store_lookup(struct ks_tstate *ts, const char *ns, const char *name)
{
	char key[512];
	obj_key(&ts->t, ns, name, key, sizeof(key));
	return kmap_get(&ts->objs, key);
}

/* ---- lifecycle ------------------------------------------------------------------- */

static int bootstrap_namespace(struct ks_store *s, const char *name)
{
	json_t *ns = json_pack("{s:s,s:s,s:{s:s}}", "apiVersion", "v1", "kind", "Namespace", "metadata", "name", name);
	struct ks_write_opts o = { .field_manager = "kube-apiserver" };
	const struct ks_type *t = store_type_find(s, "", "namespaces");
	int rc = store_create(s, t, NULL, ns, &o, NULL);
	json_decref(ns);
	return rc;
}

struct ks_store *store_new(const struct ks_store_opts *opts)
{
	struct ks_store *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->ring_cap = opts && opts->watch_window ? opts->watch_window : 10000;
	s->cont_ttl_ms = opts && opts->continue_ttl_ms ? opts->continue_ttl_ms : 5 * 60 * 1000;
	/* Writers first: long list scans must not starve commits. (No thread
	 * takes the read lock twice, so writer preference cannot deadlock.) */
	pthread_rwlockattr_t la;
	pthread_rwlockattr_init(&la);
	pthread_rwlockattr_setkind_np(&la, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&s->lock, &la);
	pthread_rwlockattr_destroy(&la);
	pthread_mutex_init(&s->sub_mu, NULL);
	pthread_mutex_init(&s->wmu, NULL);
	pthread_mutex_init(&s->cmu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->wcond, &ca);
	pthread_condattr_destroy(&ca);
	if (registry_init(&s->reg, s->ring_cap) < 0)
		goto fail;
	static const char *const initial[] = { "default", "kube-system", "kube-public", "kube-node-lease" };
	for (size_t i = 0; i < 4; i++)
		if (bootstrap_namespace(s, initial[i]) < 0)
			goto fail;
	return s;
fail:
	store_free(s);
	return NULL;
}

static void cont_free(struct cont_snapshot *c)
{
	for (size_t i = c->pos; i < c->n; i++)
		blob_unref(c->items[i]);
	free(c->items);
	free(c);
}

void store_free(struct ks_store *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->reg.n; i++) {
		struct ks_tstate *ts = s->reg.types[i];
		size_t it;
		for (struct kmap_entry *e = kmap_first(&ts->objs, &it); e; e = kmap_next(&ts->objs, e, &it))
			blob_unref(e->value);
		for (size_t j = 0; j < ts->ring_len; j++) {
			struct ks_event *ev = &ts->ring[(ts->ring_start + j) % ts->ring_cap];
			blob_unref(ev->obj);
			blob_unref(ev->prev);
		}
	}
	while (s->conts) {
		struct cont_snapshot *c = s->conts;
		s->conts = c->next;
		cont_free(c);
	}
	registry_release(&s->reg);
	free(s->subs);
	pthread_rwlock_destroy(&s->lock);
	pthread_mutex_destroy(&s->sub_mu);
	pthread_mutex_destroy(&s->wmu);
	pthread_mutex_destroy(&s->cmu);
	pthread_cond_destroy(&s->wcond);
	free(s);
}

/* ---- reads ------------------------------------------------------------------------ */

int store_get(struct ks_store *s, const struct ks_type *t, const char *ns, const char *name, json_t **ret)
{
	struct ks_blob *b = store_get_blob(s, t, ns, name);
	if (!b)
		return store_not_found(t, name);
	*ret = blob_full(b);
	blob_unref(b);
	return *ret ? 0 : BERR_NOMEM;
}

struct ks_blob *store_get_blob(struct ks_store *s, const struct ks_type *t, const char *ns, const char *name)
{
	pthread_rwlock_rdlock(&s->lock);
	struct ks_blob *b = store_lookup(store_tstate(t), ns, name);
	blob_ref(b);
	pthread_rwlock_unlock(&s->lock);
	return b;
}

static int cmp_blob_key(const void *a, const void *b)
{
	const struct ks_blob *x = *(struct ks_blob *const *)a, *y = *(struct ks_blob *const *)b;
	return strcmp(x->key, y->key);
}

/* The object name a field selector pins with metadata.name=X, or NULL. */
static const char *pinned_name(const struct selector *fs)
{
	for (size_t i = 0; i < fs->n; i++)
		if (fs->reqs[i].op == SEL_EQ && strcmp(fs->reqs[i].key, "metadata.name") == 0)
			return fs->reqs[i].values[0];
	return NULL;
}

/* Collects the blobs of ts in ns (NULL: all) matching both selectors into
 * items (capacity ts->objs.count + 1), each with a reference. A selector
 * pinning one name in a namespace (or of a cluster-scoped type) is a
 * direct lookup. Under the read lock. */
static size_t collect_matching(struct ks_tstate *ts, const char *ns, const struct selector *ls,
			       const struct selector *fs, struct ks_blob **items)
{
	size_t n = 0;
	const char *name = pinned_name(fs);
	if (name && (ns || !ts->t.namespaced)) {
		struct ks_blob *b = store_lookup(ts, ns, name);
		if (b && selector_match_labels(ls, b->view) && selector_match_fields(fs, b->view)) {
			blob_ref(b);
			items[n++] = b;
		}
		return n;
	}
	size_t it;
	for (struct kmap_entry *e = kmap_first(&ts->objs, &it); e; e = kmap_next(&ts->objs, e, &it)) {
		struct ks_blob *b = e->value;
		if (ns && ts->t.namespaced) {
			const char *ons = jx_path_str(b->view, "metadata", "namespace", NULL);
			if (!ons || strcmp(ons, ns) != 0)
				continue;
		}
		if (ls->n && !selector_match_labels(ls, b->view))
			continue;
		if (fs->n && !selector_match_fields(fs, b->view))
			continue;
		blob_ref(b);
		items[n++] = b;
	}
	return n;
}

static void random_hex(char *out, size_t nbytes)
{
	unsigned char raw[32];
	if (nbytes > sizeof(raw))
		nbytes = sizeof(raw);
	if (osrand_bytes(raw, nbytes) < 0)
		memset(raw, 0, sizeof(raw));
	str_hex(raw, nbytes, out);
}

/* Writes one page of items [pos, pos+count) followed by the list tail. */
static int list_write_items(struct buf *out, struct ks_blob **items, size_t count, bool item_form)
{
	int rc = 0;
	for (size_t i = 0; i < count && rc == 0; i++) {
		struct ks_blob *b = items[i];
		if (i)
			rc = buf_putc(out, ',');
		if (rc == 0 && item_form && b->item_off) {
			rc = buf_putc(out, '{');
			if (rc == 0)
				rc = buf_append(out, b->json + b->item_off, b->len - b->item_off);
		} else if (rc == 0) {
			rc = buf_append(out, b->json, b->len);
		}
	}
	return rc;
}

static void conts_expire(struct ks_store *s)
{
	int64_t now = clock_mono_ms();
	struct cont_snapshot **pp = &s->conts;
	while (*pp) {
		if ((*pp)->expires_ms < now) {
			struct cont_snapshot *c = *pp;
			*pp = c->next;
			cont_free(c);
		} else {
			pp = &(*pp)->next;
		}
	}
}

/* Takes the snapshot of a continue token out of the table (the caller
 * puts it back, or frees it after the last page). NULL with 410 Expired when
 * unknown or expired. */
static struct cont_snapshot *take_snapshot(struct ks_store *s, const char *token)
{
	pthread_mutex_lock(&s->cmu);
	conts_expire(s);
	struct cont_snapshot **pp = &s->conts;
	for (; *pp; pp = &(*pp)->next)
		if (strcmp((*pp)->id, token) == 0)
			break;
	struct cont_snapshot *snap = *pp;
	if (snap)
		*pp = snap->next;
	pthread_mutex_unlock(&s->cmu);
	if (!snap) {
		err_set(BERR_GONE, "The provided continue parameter is too old to display a consistent list result. You "
				   "can start a new list without the continue parameter, or use the continue token in "
				   "this response to retrieve the remainder of the results. Continuing with the provided "
				   "token results in an inconsistent list - objects that were created, modified, or "
				   "deleted between the time the first chunk was returned and now may show up in the list.");
		err_set_status(410, "Expired");
		details_clear();
	}
	return snap;
}

/* A new snapshot of the matching objects, sorted, at the current RV. */
static int snapshot_matching(struct ks_store *s, struct ks_tstate *ts, const char *ns, const struct ks_list_opts *o,
			     struct cont_snapshot **ret)
{
	struct selector ls = { 0 }, fs = { 0 };
	int rc;
	if ((rc = selector_parse_labels(o ? o->label_selector : NULL, &ls)) < 0 ||
	    (rc = selector_parse_fields(o ? o->field_selector : NULL, &ts->t, &fs)) < 0) {
		selector_release(&ls);
		err_set_status(400, "BadRequest");
		details_clear();
		return rc;
	}
	struct cont_snapshot *c = calloc(1, sizeof(*c));
	pthread_rwlock_rdlock(&s->lock);
	if (c)
		c->items = malloc((ts->objs.count + 1) * sizeof(*c->items));
	if (c && c->items) {
		c->rv = s->rv;
		c->n = collect_matching(ts, ns, &ls, &fs, c->items);
	}
	pthread_rwlock_unlock(&s->lock);
	selector_release(&ls);
	selector_release(&fs);
	if (!c || !c->items) {
		free(c);
		return BERR_NOMEM;
	}
	qsort(c->items, c->n, sizeof(*c->items), cmp_blob_key);
	*ret = c;
	return 0;
}

int store_list_write(struct ks_store *s, const struct ks_type *t, const char *ns, const struct ks_list_opts *o,
		     struct buf *out)
{
	struct ks_tstate *ts = store_tstate(t);
	struct cont_snapshot *c = NULL;
	int rc = 0;
	if (o && o->continue_token && *o->continue_token) {
		if (!(c = take_snapshot(s, o->continue_token)))
			return BERR_GONE;
	} else if ((rc = snapshot_matching(s, ts, ns, o, &c)) < 0) {
		return rc;
	}
	size_t left = c->n - c->pos, page = left;
	if (o && o->limit > 0 && (size_t)o->limit < left)
		page = (size_t)o->limit;
	struct ks_blob **items = c->items + c->pos;
	/* One allocation for the whole page instead of repeated doubling. */
	size_t total = 256;
	for (size_t i = 0; i < page; i++)
		total += items[i]->len + 1;
	buf_grow(out, total);
	rc = buf_printf(out, "{\"kind\":\"%s\",\"apiVersion\":\"%s\",\"metadata\":{\"resourceVersion\":\"%llu\"",
			t->list_kind, ts->api_version, (unsigned long long)c->rv);
	if (page < left) {
		/* More to come: the rest stays as a snapshot under a new token. */
		random_hex(c->id, 16);
		c->expires_ms = clock_mono_ms() + s->cont_ttl_ms;
		if (rc == 0)
			rc = buf_printf(out, ",\"continue\":\"%s\",\"remainingItemCount\":%zu", c->id, left - page);
	}
	if (rc == 0)
		rc = buf_puts(out, "},\"items\":[");
	if (rc == 0)
		rc = list_write_items(out, items, page, !t->custom);
	if (rc == 0)
		rc = buf_puts(out, "]}");
	for (size_t i = 0; i < page; i++)
		blob_unref(items[i]);
	c->pos += page;
	if (c->pos < c->n) {
		pthread_mutex_lock(&s->cmu);
		c->next = s->conts;
		s->conts = c;
		pthread_mutex_unlock(&s->cmu);
	} else {
		cont_free(c);
	}
	return rc;
}

int store_list(struct ks_store *s, const struct ks_type *t, const char *ns, const struct ks_list_opts *o,
	       json_t **ret)
{
	struct buf b;
	buf_init(&b, (size_t)1 << 30);
	int rc = store_list_write(s, t, ns, o, &b);
	if (rc == 0)
		rc = jx_parse(b.ptr, b.len, b.max, JX_MAX_DEPTH, ret);
	buf_release(&b);
	return rc;
}

void store_foreach(struct ks_store *s, void (*fn)(void *ctx, const struct ks_type *t, const json_t *obj), void *ctx)
{
	pthread_rwlock_rdlock(&s->lock);
	for (size_t i = 0; i < s->reg.n; i++) {
		struct ks_tstate *ts = s->reg.types[i];
		size_t it;
		for (struct kmap_entry *e = kmap_first(&ts->objs, &it); e; e = kmap_next(&ts->objs, e, &it)) {
			json_t *full = blob_full(e->value);
			if (full)
				fn(ctx, &ts->t, full);
			json_decref(full);
		}
	}
	pthread_rwlock_unlock(&s->lock);
}

/* ---- locking helpers for write.c -------------------------------------------------- */

void store_wrlock(struct ks_store *s)
{
	pthread_rwlock_wrlock(&s->lock);
}

void store_unlock(struct ks_store *s)
{
	pthread_rwlock_unlock(&s->lock);
}

uint64_t store_rv_locked(struct ks_store *s)
{
	return s->rv;
}

size_t store_ring_cap(struct ks_store *s)
{
	return s->ring_cap;
}

int store_defaults(struct ks_store *s, const struct ks_type *t, json_t *obj, const json_t *old)
{
	return s->defaults ? s->defaults(s->defaults_ctx, t, obj, old) : 0;
}

/* ---- watch ------------------------------------------------------------------------ */

struct ks_watch {
	struct ks_store *s;
	struct ks_tstate *ts;
	char *ns;
	struct selector ls, fs;
	uint64_t cursor;        /* last RV delivered */
	uint64_t drop_gen;
	bool counted;           /* in ks_store.watches_open */
	bool bookmarks;
	bool expired;           /* deliver the 410 ERROR, then end */
	bool ended;
	struct ks_blob **initial; /* synthetic ADDED events still to send */
	size_t ninitial, pos;
	bool initial_bookmark;  /* sendInitialEvents: end the phase with a bookmark */
	int64_t last_bookmark_ms;
};

int store_watch_open(struct ks_store *s, const struct ks_type *t, const char *ns, const struct ks_watch_opts *o,
		     struct ks_watch **ret)
{
	struct ks_watch *w = calloc(1, sizeof(*w));
	if (!w)
		return BERR_NOMEM;
	w->s = s;
	w->ts = store_tstate(t);
	w->ns = ns ? str_dup(ns) : NULL;
	w->bookmarks = o && o->bookmarks;
	w->last_bookmark_ms = clock_mono_ms();
	int rc;
	if ((rc = selector_parse_labels(o ? o->label_selector : NULL, &w->ls)) < 0 ||
	    (rc = selector_parse_fields(o ? o->field_selector : NULL, t, &w->fs)) < 0) {
		err_set_status(400, "BadRequest");
		details_clear();
		store_watch_close(w);
		return rc;
	}
	const char *rvs = o ? o->resource_version : NULL;
	bool initial = !rvs || !*rvs || strcmp(rvs, "0") == 0 || (o && o->send_initial_events);
	pthread_mutex_lock(&s->wmu);
	w->drop_gen = s->drop_gen;
	w->counted = true;
	s->watches_open++;
	s->watches_opened++;
	pthread_mutex_unlock(&s->wmu);
	pthread_rwlock_rdlock(&s->lock);
	if (initial) {
		w->cursor = s->rv;
		w->initial = malloc((w->ts->objs.count + 1) * sizeof(*w->initial));
		if (w->initial)
			w->ninitial = collect_matching(w->ts, w->ns, &w->ls, &w->fs, w->initial);
		w->initial_bookmark = o && o->send_initial_events;
	} else {
		uint64_t rv = 0;
		if (str_to_u64(rvs, &rv) < 0) {
			pthread_rwlock_unlock(&s->lock);
			store_bad_request("invalid resource version: %s", rvs);
			store_watch_close(w);
			return BERR_INVALID;
		}
		w->cursor = rv;
		if (rv < w->ts->horizon)
			w->expired = true;
	}
	pthread_rwlock_unlock(&s->lock);
	if (w->initial)
		qsort(w->initial, w->ninitial, sizeof(*w->initial), cmp_blob_key);
	*ret = w;
	return 0;
}

void store_watch_close(struct ks_watch *w)
{
	if (!w)
		return;
	if (w->counted) {
		pthread_mutex_lock(&w->s->wmu);
		w->s->watches_open--;
		pthread_mutex_unlock(&w->s->wmu);
	}
	for (size_t i = w->pos; i < w->ninitial; i++)
		blob_unref(w->initial[i]);
	free(w->initial);
	selector_release(&w->ls);
	selector_release(&w->fs);
	free(w->ns);
	free(w);
}

static int put_event(struct buf *out, const char *type, const struct ks_blob *b)
{
	int rc = buf_printf(out, "{\"type\":\"%s\",\"object\":", type);
	if (rc == 0)
		rc = buf_append(out, b->json, b->len);
	if (rc == 0)
		rc = buf_puts(out, "}\n");
	return rc;
}

static int put_bookmark(struct ks_watch *w, struct buf *out, bool initial_end)
{
	return buf_printf(out,
			  "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"%s\",\"apiVersion\":\"%s\",\"metadata\":{"
			  "\"resourceVersion\":\"%llu\"%s}}}\n",
			  w->ts->t.kind, w->ts->api_version, (unsigned long long)w->cursor,
			  initial_end ? ",\"annotations\":{\"k8s.io/initial-events-end\":\"true\"}" : "");
}

static bool watch_matches(struct ks_watch *w, const struct ks_blob *b)
{
	if (!b)
		return false;
	if (w->ns && w->ts->t.namespaced) {
		const char *ons = jx_path_str(b->view, "metadata", "namespace", NULL);
		if (!ons || strcmp(ons, w->ns) != 0)
			return false;
	}
	return selector_match_labels(&w->ls, b->view) && selector_match_fields(&w->fs, b->view);
}

/* Scans the ring for the first event after the cursor that this watch
 * delivers; appends it. 1 when appended, 0 when none, BERR_GONE when the
 * cursor fell out of the window. Under the read lock. */
static int watch_scan(struct ks_watch *w, struct buf *out)
{
	struct ks_tstate *ts = w->ts;
	if (w->cursor < ts->horizon)
		return BERR_GONE;
	/* The ring is ordered by RV: find the first event after the cursor. */
	size_t lo = 0, hi = ts->ring_len;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ts->ring[(ts->ring_start + mid) % ts->ring_cap].rv <= w->cursor)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < ts->ring_len; i++) {
		struct ks_event *e = &ts->ring[(ts->ring_start + i) % ts->ring_cap];
		w->cursor = e->rv;
		bool now = watch_matches(w, e->obj);
		bool before = e->prev ? watch_matches(w, e->prev) : false;
		const char *type = e->type;
		if (strcmp(type, "MODIFIED") == 0) {
			if (now && !before)
				type = "ADDED";
			else if (!now && before)
				type = "DELETED";
			else if (!now)
				continue;
		} else if (!now) {
			continue;
		}
		int rc = put_event(out, type, e->obj);
		return rc < 0 ? rc : 1;
	}
	return 0;
}

static int put_expired(struct ks_watch *w, struct buf *out)
{
	return buf_printf(out,
			  "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
			  "\"status\":\"Failure\",\"message\":\"too old resource version: %llu (%llu)\","
			  "\"reason\":\"Expired\",\"code\":410}}\n",
			  (unsigned long long)w->cursor, (unsigned long long)w->ts->horizon);
}

int64_t store_bookmark_interval_ms = 60000;

int store_watch_next(struct ks_watch *w, int64_t timeout_ms, struct buf *out)
{
	struct ks_store *s = w->s;
	if (w->ended)
		return BERR_CANCELED;
	if (w->expired) {
		w->ended = true;
		return put_expired(w, out) < 0 ? BERR_NOMEM : 1;
	}
	if (w->pos < w->ninitial) {
		struct ks_blob *b = w->initial[w->pos++];
		int rc = put_event(out, "ADDED", b);
		blob_unref(b);
		return rc < 0 ? rc : 1;
	}
	if (w->initial_bookmark) {
		w->initial_bookmark = false;
		return put_bookmark(w, out, true) < 0 ? BERR_NOMEM : 1;
	}
	int64_t deadline = clock_mono_ms() + timeout_ms;
	for (;;) {
		pthread_mutex_lock(&s->wmu);
		uint64_t seq = s->wseq;
		bool dropped = s->drop_gen != w->drop_gen;
		pthread_mutex_unlock(&s->wmu);
		if (dropped) {
			w->ended = true;
			return BERR_CANCELED;
		}
		pthread_rwlock_rdlock(&s->lock);
		int rc = watch_scan(w, out);
		pthread_rwlock_unlock(&s->lock);
		if (rc == BERR_GONE) {
			w->ended = true;
			return put_expired(w, out) < 0 ? BERR_NOMEM : 1;
		}
		if (rc != 0)
			return rc;
		int64_t now = clock_mono_ms();
		if (w->bookmarks && now - w->last_bookmark_ms >= store_bookmark_interval_ms) {
			w->last_bookmark_ms = now;
			return put_bookmark(w, out, false) < 0 ? BERR_NOMEM : 1;
		}
		if (now >= deadline)
			return 0;
		int64_t wait_ms = deadline - now;
		if (w->bookmarks && store_bookmark_interval_ms - (now - w->last_bookmark_ms) < wait_ms)
			wait_ms = store_bookmark_interval_ms - (now - w->last_bookmark_ms);
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += wait_ms / 1000;
		ts.tv_nsec += (wait_ms % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&s->wmu);
		while (s->wseq == seq && s->drop_gen == w->drop_gen) {
			if (pthread_cond_timedwait(&s->wcond, &s->wmu, &ts) != 0)
				break;
		}
		pthread_mutex_unlock(&s->wmu);
	}
}

uint64_t store_type_horizon(struct ks_store *s, const struct ks_type *t)
{
	pthread_rwlock_rdlock(&s->lock);
	uint64_t h = store_tstate(t)->horizon;
	pthread_rwlock_unlock(&s->lock);
	return h;
}

void store_compact(struct ks_store *s)
{
	pthread_rwlock_wrlock(&s->lock);
	for (size_t i = 0; i < s->reg.n; i++) {
		struct ks_tstate *ts = s->reg.types[i];
		for (size_t j = 0; j < ts->ring_len; j++) {
			struct ks_event *ev = &ts->ring[(ts->ring_start + j) % ts->ring_cap];
			blob_unref(ev->obj);
			blob_unref(ev->prev);
		}
		ts->ring_len = 0;
		ts->ring_start = 0;
		ts->horizon = s->rv;
	}
	pthread_rwlock_unlock(&s->lock);
}

void store_drop_watches(struct ks_store *s)
{
	pthread_mutex_lock(&s->wmu);
	s->drop_gen++;
	s->wseq++;
	pthread_cond_broadcast(&s->wcond);
	pthread_mutex_unlock(&s->wmu);
}

void store_watch_counts(struct ks_store *s, size_t *open, uint64_t *opened)
{
	pthread_mutex_lock(&s->wmu);
	*open = s->watches_open;
	*opened = s->watches_opened;
	pthread_mutex_unlock(&s->wmu);
}

/* ---- persistence ------------------------------------------------------------------ */

int store_restore(struct ks_store *s, const json_t *obj)
{
	const char *av = jx_str(obj, "apiVersion"), *kind = jx_str(obj, "kind");
	const char *name = jx_path_str(obj, "metadata", "name", NULL);
	const char *ns = jx_path_str(obj, "metadata", "namespace", NULL);
	const char *rvs = jx_path_str(obj, "metadata", "resourceVersion", NULL);
	if (!av || !kind || !name)
		return err_set(BERR_INVALID, "restore: object without apiVersion, kind or name");
	struct ks_tstate *ts = registry_by_kind(&s->reg, av, kind, false);
	if (!ts)
		return err_set(BERR_NOTFOUND, "restore: unknown kind %s %s", av, kind);
	uint64_t rv = 0;
	if (rvs)
		str_to_u64(rvs, &rv);
	if (!ts->t.custom && strcmp(kind, "CustomResourceDefinition") == 0) {
		int rc = registry_add_crd(&s->reg, obj, s->ring_cap, NULL);
		if (rc < 0)
			return rc;
	}
	char key[512];
	obj_key(&ts->t, ns, name, key, sizeof(key));
	json_t *ordered = order_keys(json_deep_copy(obj), ts);
	struct ks_blob *b = blob_new(ordered, key, rv);
	json_decref(ordered);
	if (!b)
		return BERR_NOMEM;
	pthread_rwlock_wrlock(&s->lock);
	void *old = NULL;
	int rc = kmap_put(&ts->objs, key, b, &old);
	if (rc < 0)
		blob_unref(b);
	blob_unref(old);
	if (rv > s->rv)
		s->rv = rv;
	pthread_rwlock_unlock(&s->lock);
	return rc;
}

void store_restore_rv(struct ks_store *s, uint64_t rv)
{
	pthread_rwlock_wrlock(&s->lock);
	if (rv > s->rv)
		s->rv = rv;
	for (size_t i = 0; i < s->reg.n; i++)
		s->reg.types[i]->horizon = s->rv;
	pthread_rwlock_unlock(&s->lock);
}
