/*
 * livecache_rec — building the compact record of an object (see
 * livecache.h for what is kept): one allocation holds the record and its
 * strings; "meta" is a small jansson object of what is set among labels,
 * named annotations, trimmed ownerReferences, generation and the status
 * fields health assessment reads; the full object, when kept, is its
 * compact JSON text.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "jsonx.h"
#include "lcmap.h"
#include "livecache_int.h"

/* Status members kept in compact records: what lib/health reads for the
 * built-in kinds, minus the bulky parts. */
static const char *const status_keys[] = {
	"phase", "observedGeneration", "replicas", "readyReplicas", "availableReplicas", "updatedReplicas",
	"currentReplicas", "unavailableReplicas", "numberReady", "numberAvailable", "numberUnavailable",
	"desiredNumberScheduled", "updatedNumberScheduled", "currentNumberScheduled", "numberMisscheduled",
	"active", "succeeded", "failed", "startTime", "completionTime", "currentRevision", "updateRevision",
	"loadBalancer", "health", "sync", "reason", "message", NULL,
};
static const char *const condition_keys[] = {"type", "status", "reason", "message", NULL};
static const char *const owner_keys[] = {"apiVersion", "kind", "name", "uid", "controller", NULL};

static json_t *empty_meta;
static pthread_once_t empty_once = PTHREAD_ONCE_INIT;

static void empty_init(void)
{
	empty_meta = json_object();
}

static json_t *pick(const json_t *src, const char *const *keys)
{
	json_t *out = json_object();
	if (!out)
		return NULL;
	for (const char *const *k = keys; *k; k++) {
		json_t *v = json_object_get(src, *k);
		if (v && json_object_set(out, *k, v) < 0) {
			json_decref(out);
			return NULL;
		}
	}
	return out;
}

static json_t *pick_array(const json_t *arr, const char *const *keys)
{
	json_t *out = json_array(), *e;
	size_t i;
	if (!out)
		return NULL;
	json_array_foreach(arr, i, e) {
		if (json_array_append_new(out, pick(e, keys)) < 0) {
			json_decref(out);
			return NULL;
		}
	}
	return out;
}

static json_t *container_states(const json_t *arr)
{
	static const char *const keys[] = {"name", "ready", "restartCount", "state", "lastState", NULL};
	return pick_array(arr, keys);
}

static int build_meta(const json_t *obj, const struct lc_rec_opts *o, json_t **ret)
{
	json_t *md = json_object_get(obj, "metadata"), *m = json_object(), *v;
	bool bad = !m;
	if (bad)
		return BERR_NOMEM;
	v = json_object_get(md, "labels");
	if (json_is_object(v) && json_object_size(v))
		bad |= json_object_set(m, "labels", v) < 0;
	json_t *ann = json_object_get(md, "annotations");
	if (json_is_object(ann) && o->annotations) {
		json_t *keep = json_object();
		for (const char *const *a = o->annotations; keep && *a; a++)
			if ((v = json_object_get(ann, *a)))
				bad |= json_object_set(keep, *a, v) < 0;
		if (keep && json_object_size(keep))
			bad |= json_object_set(m, "annotations", keep) < 0;
		json_decref(keep);
	}
	v = json_object_get(md, "ownerReferences");
	if (json_is_array(v) && json_array_size(v))
		bad |= json_object_set_new(m, "ownerReferences", pick_array(v, owner_keys)) < 0;
	v = json_object_get(md, "generation");
	if (v)
		bad |= json_object_set(m, "generation", v) < 0;
	v = jx_path(obj, "spec", "replicas", NULL);
	if (v)
		bad |= json_object_set(m, "specReplicas", v) < 0;
	json_t *st = json_object_get(obj, "status");
	if (json_is_object(st)) {
		json_t *s = pick(st, status_keys);
		json_t *conds = json_object_get(st, "conditions");
		if (s && json_is_array(conds))
			bad |= json_object_set_new(s, "conditions", pick_array(conds, condition_keys)) < 0;
		json_t *cs = json_object_get(st, "containerStatuses");
		if (s && json_is_array(cs))
			bad |= json_object_set_new(s, "containerStatuses", container_states(cs)) < 0;
		if (s && json_object_size(s))
			bad |= json_object_set(m, "status", s) < 0;
		bad |= !s;
		json_decref(s);
	}
	if (bad) {
		json_decref(m);
		return BERR_NOMEM;
	}
	if (json_object_size(m) == 0) {
		json_decref(m);
		pthread_once(&empty_once, empty_init);
		m = empty_meta;
	}
	*ret = m;
	return 0;
}

/* ---- interning ---- */

struct intern_entry {
	char *key;                   /* canonical JSON of v */
	json_t *v;
};

struct lc_intern {
	pthread_mutex_t mu;
	struct lcmap map;            /* key → struct intern_entry */
	size_t adds_since_sweep;
};

struct lc_intern *lc_intern_new(void)
{
	struct lc_intern *in = calloc(1, sizeof(*in));
	if (!in)
		return NULL;
	pthread_mutex_init(&in->mu, NULL);
	lcmap_init(&in->map);
	return in;
}

static bool free_entry(void *val, void *ud)
{
	struct intern_entry *e = val;
	(void)ud;
	json_decref(e->v);
	free(e->key);
	free(e);
	return true;
}

void lc_intern_free(struct lc_intern *in)
{
	if (!in)
		return;
	lcmap_each(&in->map, free_entry, NULL);
	lcmap_release(&in->map);
	pthread_mutex_destroy(&in->mu);
	free(in);
}

size_t lc_intern_size(struct lc_intern *in)
{
	pthread_mutex_lock(&in->mu);
	size_t n = in->map.n;
	pthread_mutex_unlock(&in->mu);
	return n;
}

struct sweep {
	struct intern_entry **v;
	size_t n;
};

static bool collect_unused(void *val, void *ud)
{
	struct intern_entry *e = val;
	struct sweep *s = ud;
	/* Only the table holds it, and only the table (under in->mu) can hand
	 * it out again: safe to drop. */
	if (__atomic_load_n(&e->v->refcount, __ATOMIC_ACQUIRE) == 1)
		s->v[s->n++] = e;
	return true;
}

static void sweep(struct lc_intern *in)
{
	struct sweep s = {calloc(in->map.n ? in->map.n : 1, sizeof(*s.v)), 0};
	if (!s.v)
		return;
	lcmap_each(&in->map, collect_unused, &s);
	for (size_t i = 0; i < s.n; i++) {
		lcmap_del(&in->map, s.v[i]->key, NULL, NULL, s.v[i]);
		free_entry(s.v[i], NULL);
	}
	free(s.v);
}

/* Replaces *meta by the shared equal value (stealing the reference);
 * *shared tells whether an existing value was reused. */
static void intern(struct lc_intern *in, json_t **meta, bool *shared)
{
	struct buf key;
	*shared = false;
	buf_init(&key, 1 << 20);
	if (jx_dump_canonical(*meta, &key) < 0) {
		buf_release(&key);
		return;
	}
	pthread_mutex_lock(&in->mu);
	struct intern_entry *e = lcmap_get(&in->map, key.ptr, NULL, NULL);
	if (e) {
		json_incref(e->v);
		json_decref(*meta);
		*meta = e->v;
		*shared = true;
	} else if ((e = calloc(1, sizeof(*e)))) {
		e->key = buf_detach(&key, NULL);
		e->v = json_incref(*meta);
		if (!e->key || lcmap_add(&in->map, e->key, NULL, NULL, e) < 0) {
			json_decref(e->v);
			free(e->key);
			free(e);
			err_clear();
		}
		if (++in->adds_since_sweep > in->map.n / 2 + 1024) {
			sweep(in);
			in->adds_since_sweep = 0;
		}
	}
	pthread_mutex_unlock(&in->mu);
	buf_release(&key);
}

size_t lc_json_bytes(const json_t *v)
{
	size_t n = 0, i;
	const char *k;
	json_t *e;
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		n = 64 + 16 * json_object_size(v);
		json_object_foreach((json_t *)v, k, e)
			n += 48 + strlen(k) + lc_json_bytes(e);
		return n;
	case JSON_ARRAY:
		n = 48 + 8 * json_array_size(v);
		json_array_foreach(v, i, e)
			n += lc_json_bytes(e);
		return n;
	case JSON_STRING:
		return 40 + json_string_length(v);
	case JSON_INTEGER:
	case JSON_REAL:
		return 32;
	default:
		return 0; /* true, false, null are shared singletons */
	}
}

struct lc_rec *lc_rec_new(const json_t *obj, const char *group, const char *version, const char *kind,
			  const struct lc_rec_opts *o)
{
	const char *ns = jx_path_str(obj, "metadata", "namespace", NULL),
		   *name = jx_path_str(obj, "metadata", "name", NULL),
		   *uid = jx_path_str(obj, "metadata", "uid", NULL),
		   *rv = jx_path_str(obj, "metadata", "resourceVersion", NULL),
		   *ct = jx_path_str(obj, "metadata", "creationTimestamp", NULL),
		   *dt = jx_path_str(obj, "metadata", "deletionTimestamp", NULL);
	const char *src[10] = {group, version, kind, ns, name, uid, rv, ct, dt, o->caller_key};
	size_t len[10], total = 0;
	json_t *meta = NULL;

	if (!name || !*name)
		return NULL;
	for (int i = 0; i < 10; i++) {
		if (!src[i])
			src[i] = "";
		len[i] = strlen(src[i]);
		total += len[i] + 1;
	}
	bool shared = false;
	if (build_meta(obj, o, &meta) < 0)
		return NULL;
	if (o->intern && meta != empty_meta)
		intern(o->intern, &meta, &shared);
	struct lc_rec *r = malloc(sizeof(*r) + total);
	if (!r)
		goto fail;
	memset(r, 0, sizeof(*r));
	const char **dst[10] = {&r->pub.group, &r->pub.version, &r->pub.kind, &r->pub.namespace_, &r->pub.name,
				&r->pub.uid, &r->pub.resource_version, &r->pub.creation_timestamp,
				&r->pub.deletion_timestamp, &r->pub.caller_key};
	char *p = r->arena;
	for (int i = 0; i < 10; i++) {
		memcpy(p, src[i], len[i] + 1);
		*dst[i] = p;
		p += len[i] + 1;
	}
	r->pub.meta = meta;
	r->pub.refs_ = 1;
	r->pub.bytes_ = sizeof(*r) + total + (meta == empty_meta || shared ? 0 : lc_json_bytes(meta));
	if (o->full) {
		r->full_json = json_dumps(obj, JSON_COMPACT);
		if (!r->full_json) {
			free(r);
			goto fail;
		}
		r->full_len = strlen(r->full_json);
		r->pub.full = true;
	}
	return r;
fail:
	if (meta != empty_meta)
		json_decref(meta);
	return NULL;
}

const struct lc_record *lc_record_ref(const struct lc_record *r)
{
	if (r)
		__atomic_add_fetch(&((struct lc_record *)r)->refs_, 1, __ATOMIC_RELAXED);
	return r;
}

void lc_record_unref(const struct lc_record *r)
{
	if (!r)
		return;
	struct lc_rec *rec = (struct lc_rec *)r;
	if (__atomic_sub_fetch(&rec->pub.refs_, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	if (rec->pub.meta != empty_meta)
		json_decref((json_t *)rec->pub.meta);
	free(rec->full_json);
	free(rec);
}

int lc_record_object(const struct lc_record *r, json_t **ret)
{
	const struct lc_rec *rec = (const struct lc_rec *)r;
	if (!rec->full_json)
		return err_set(BERR_NOTFOUND, "%s \"%s\": only a compact record is cached", r->kind, r->name);
	return jx_parse(rec->full_json, rec->full_len, rec->full_len + 1, JX_MAX_DEPTH, ret);
}

json_t *lc_record_to_json(const struct lc_record *r)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "group", r->group, "version", r->version, "kind",
			      r->kind, "namespace", r->namespace_, "name", r->name, "uid", r->uid, "resourceVersion",
			      r->resource_version);
	if (!o)
		return NULL;
	if (*r->creation_timestamp)
		json_object_set_new(o, "creationTimestamp", json_string(r->creation_timestamp));
	if (*r->deletion_timestamp)
		json_object_set_new(o, "deletionTimestamp", json_string(r->deletion_timestamp));
	if (*r->caller_key)
		json_object_set_new(o, "key", json_string(r->caller_key));
	json_object_set_new(o, "meta", json_deep_copy(r->meta));
	if (r->full) {
		json_t *full = NULL;
		if (lc_record_object(r, &full) == 0)
			json_object_set_new(o, "object", full);
	}
	return o;
}
