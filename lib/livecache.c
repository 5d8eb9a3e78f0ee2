/*
 * livecache — the sync machinery (see livecache.h).
 *
 * Threads: LC_WORKERS worker threads run the blocking steps (discovery,
 * LISTs, starting watches) from a per-type state machine, each type taken
 * by one worker at a time (so the initial lists of several types overlap); the client's watch
 * thread applies watch events; a dispatcher thread delivers event batches.
 * One mutex (lc->mu) guards the types, the indexes and the pending events.
 *
 * Per type:  NEED_RESOLVE → NEED_LIST → (list) → NEED_WATCH → (watch
 * started) WATCHING. A watch that ends cleanly goes back to NEED_WATCH at
 * once (resume from the last RV); one that ends with 410 goes to NEED_LIST;
 * any other failure to NEED_WATCH after a backoff that doubles up to
 * backoff_max_ms and resets once events flow again. A relist compares what
 * it got with what was held, so consumers see the same adds, changes and
 * deletes a watch would have told them.
 *
 * Records are swapped, never changed: the maps hold one reference, every
 * pending event one per record it names, and readers take their own.
 */
#include "livecache.h"

#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "err.h"
#include "jscan.h"
#include "jsonx.h"
#include "kube.h"
#include "lcmap.h"
#include "livecache_int.h"
#include "str.h"

/* Ten types listed by five workers overlap the round trips of their pages
 * (bench/RESULTS.md); once synced, workers only restart watches. */
#define LC_WORKERS 5

enum lc_state { ST_NEED_RESOLVE, ST_NEED_LIST, ST_NEED_WATCH, ST_WATCHING, ST_REMOVED };

struct lc_type {
	struct livecache *lc;
	char *group, *version, *kind, *api_version;
	enum lc_state state;
	bool listed;                 /* first list done */
	bool watch_active;           /* a watch is running (until its on_end) */
	bool busy;                   /* a worker is listing it or starting its watch */
	struct kube_watch *watch;
	char rv[128];
	int64_t retry_at_ms;
	int64_t backoff_ms;
	int last_err;
	struct lcmap objects;        /* (namespace, name) → struct lc_rec * */
	size_t n_full, bytes_compact, bytes_full;
	uint64_t relists, restarts, events;
};

struct pend {
	const struct lc_record *old, *new_;
};

struct livecache {
	struct kube_client *kc;
	/* options (copied) */
	struct lc_type_spec *want;
	size_t n_want;
	struct lc_type_spec *exclude;
	size_t n_exclude;
	char *namespace_, *label_selector;
	char **annotations;
	lc_keep_fn keep_full;
	void *keep_full_data;
	lc_key_fn caller_key;
	void *caller_key_data;
	lc_batch_fn on_batch;
	void *on_batch_data;
	bool skip_initial_events;
	int64_t window_ms, backoff_base_ms, backoff_max_ms, rediscover_ms;

	pthread_mutex_t mu;
	pthread_cond_t worker_cond, disp_cond, sync_cond;
	bool stop;
	bool stopped;            /* livecache_stop ran (threads joined, watches ended) */
	pthread_t workers[LC_WORKERS], dispatcher;
	size_t n_workers;
	bool dispatcher_started;
	bool disc_busy;              /* a worker is running discovery */
	unsigned lists_running;      /* workers in do_list */
	bool quiet;                  /* applying a first list with skip_initial_events */

	struct lc_type **types;
	size_t n_types;
	bool discovered;             /* all-types mode: first discovery done */
	int64_t rediscover_at_ms;
	int disc_err;
	unsigned active_watches;

	struct lc_intern *intern;    /* shared meta values */
	struct lcmap owners;         /* owner uid → record */
	struct lcmap keys;           /* caller key → record */

	struct lcmap pend_index;     /* (type kind, ns, name) → index+1 in pend */
	struct pend *pend;
	size_t n_pend, cap_pend;
	int64_t pend_since_ms;
	bool delivering;

	uint64_t batches;
};

/* ---- options ---- */

static int copy_specs(const struct lc_type_spec *src, size_t n, struct lc_type_spec **ret)
{
	struct lc_type_spec *v;
	*ret = NULL;
	if (!n)
		return 0;
	if (!(v = calloc(n, sizeof(*v))))
		return BERR_NOMEM;
	*ret = v;
	for (size_t i = 0; i < n; i++) {
		v[i].group = strdup(src[i].group ? src[i].group : "");
		v[i].kind = strdup(src[i].kind ? src[i].kind : "*");
		if (!v[i].group || !v[i].kind)
			return BERR_NOMEM;
	}
	return 0;
}

static void free_specs(struct lc_type_spec *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free((char *)v[i].group);
		free((char *)v[i].kind);
	}
	free(v);
}

static bool excluded(const struct livecache *lc, const char *group, const char *kind)
{
	for (size_t i = 0; i < lc->n_exclude; i++)
		if (strcmp(lc->exclude[i].group, group) == 0 &&
		    (strcmp(lc->exclude[i].kind, "*") == 0 || strcmp(lc->exclude[i].kind, kind) == 0))
			return true;
	return false;
}

/* ---- indexes and events (lc->mu held) ---- */

static int64_t next_backoff(struct livecache *lc, struct lc_type *t)
{
	t->backoff_ms = t->backoff_ms ? t->backoff_ms * 2 : lc->backoff_base_ms;
	if (t->backoff_ms > lc->backoff_max_ms)
		t->backoff_ms = lc->backoff_max_ms;
	/* Up to +25% jitter so many types do not retry in lockstep. */
	return t->backoff_ms + (int64_t)(random() % (t->backoff_ms / 4 + 1));
}

static void queue_event(struct livecache *lc, const struct lc_record *old, const struct lc_record *new_)
{
	const struct lc_record *id = new_ ? new_ : old;
	if (!lc->on_batch || lc->quiet)
		return;
	uintptr_t idx = (uintptr_t)lcmap_get(&lc->pend_index, id->kind, id->namespace_, id->name);
	if (idx && strcmp(lc->pend[idx - 1].old ? lc->pend[idx - 1].old->group : lc->pend[idx - 1].new_->group,
			  id->group) == 0) {
		struct pend *p = &lc->pend[idx - 1];
		/* Fold: keep the oldest old, take the newest new. The index key
		 * points into a record the entry keeps alive: re-key it. */
		const struct lc_record *keyrec = p->new_ ? p->new_ : p->old;
		lcmap_del(&lc->pend_index, keyrec->kind, keyrec->namespace_, keyrec->name, (void *)idx);
		lc_record_unref(p->new_);
		p->new_ = lc_record_ref(new_);
		keyrec = p->new_ ? p->new_ : p->old;
		if (!keyrec || lcmap_add(&lc->pend_index, keyrec->kind, keyrec->namespace_, keyrec->name, (void *)idx) < 0)
			err_clear();
		return;
	}
	if (lc->n_pend == lc->cap_pend) {
		size_t cap = lc->cap_pend ? lc->cap_pend * 2 : 256;
		struct pend *np = realloc(lc->pend, cap * sizeof(*np));
		if (!np)
			return; /* event lost under memory exhaustion; the cache itself stays right */
		lc->pend = np;
		lc->cap_pend = cap;
	}
	lc->pend[lc->n_pend].old = lc_record_ref(old);
	lc->pend[lc->n_pend].new_ = lc_record_ref(new_);
	lc->n_pend++;
	if (lcmap_add(&lc->pend_index, id->kind, id->namespace_, id->name, (void *)(uintptr_t)lc->n_pend) < 0)
		err_clear();
	if (lc->n_pend == 1) {
		lc->pend_since_ms = clock_mono_ms();
		pthread_cond_signal(&lc->disp_cond);
	}
}

static void index_add(struct livecache *lc, struct lc_type *t, const struct lc_record *r)
{
	if (lcmap_add(&t->objects, r->namespace_, r->name, NULL, (void *)r) < 0)
		err_clear();
	json_t *owners = json_object_get(r->meta, "ownerReferences"), *o;
	size_t i;
	json_array_foreach(owners, i, o) {
		const char *uid = jx_str(o, "uid");
		if (uid && *uid && lcmap_add(&lc->owners, uid, NULL, NULL, (void *)r) < 0)
			err_clear();
	}
	if (*r->caller_key && lcmap_add(&lc->keys, r->caller_key, NULL, NULL, (void *)r) < 0)
		err_clear();
	const struct lc_rec *rec = (const struct lc_rec *)r;
	t->bytes_compact += r->bytes_;
	if (r->full) {
		t->n_full++;
		t->bytes_full += rec->full_len + 1;
	}
}

static void index_del(struct livecache *lc, struct lc_type *t, const struct lc_record *r)
{
	lcmap_del(&t->objects, r->namespace_, r->name, NULL, r);
	json_t *owners = json_object_get(r->meta, "ownerReferences"), *o;
	size_t i;
	json_array_foreach(owners, i, o) {
		const char *uid = jx_str(o, "uid");
		if (uid && *uid)
			lcmap_del(&lc->owners, uid, NULL, NULL, r);
	}
	if (*r->caller_key)
		lcmap_del(&lc->keys, r->caller_key, NULL, NULL, r);
	const struct lc_rec *rec = (const struct lc_rec *)r;
	t->bytes_compact -= r->bytes_;
	if (r->full) {
		t->n_full--;
		t->bytes_full -= rec->full_len + 1;
	}
}

/* Puts rec (reference handed over) in place of whatever the type held for
 * its name; queues the change unless nothing changed. */
static void apply_upsert(struct livecache *lc, struct lc_type *t, const struct lc_record *rec)
{
	const struct lc_record *old = lcmap_get(&t->objects, rec->namespace_, rec->name, NULL);
	if (old && strcmp(old->uid, rec->uid) == 0 && strcmp(old->resource_version, rec->resource_version) == 0) {
		lc_record_unref(rec);
		return;
	}
	if (old)
		index_del(lc, t, old);
	index_add(lc, t, rec);
	queue_event(lc, old, rec);
	lc_record_unref(old);
}

static void apply_delete(struct livecache *lc, struct lc_type *t, const char *ns, const char *name)
{
	const struct lc_record *old = lcmap_get(&t->objects, ns ? ns : "", name, NULL);
	if (!old)
		return;
	index_del(lc, t, old);
	queue_event(lc, old, NULL);
	lc_record_unref(old);
}

static bool unref_cb(void *val, void *ud)
{
	(void)ud;
	lc_record_unref(val);
	return true;
}

/* ---- records from objects (no lock) ---- */

static const struct lc_record *make_record(struct livecache *lc, struct lc_type *t, const json_t *obj)
{
	char *key = lc->caller_key ? lc->caller_key(obj, lc->caller_key_data) : NULL;
	struct lc_rec_opts o = {
		.annotations = (const char *const *)lc->annotations,
		.full = lc->keep_full && lc->keep_full(obj, lc->keep_full_data),
		.caller_key = key,
		.intern = lc->intern,
	};
	struct lc_rec *r = lc_rec_new(obj, t->group, t->version, t->kind, &o);
	free(key);
	return r ? &r->pub : NULL;
}

/* ---- watch callbacks (client's watch thread) ---- */

static int on_event(enum kube_event_type type, json_t *obj, void *userdata)
{
	struct lc_type *t = userdata;
	struct livecache *lc = t->lc;
	const char *rv = jx_path_str(obj, "metadata", "resourceVersion", NULL);
	const struct lc_record *rec = NULL;

	const char *name = jx_path_str(obj, "metadata", "name", NULL);
	if (type != KUBE_EV_BOOKMARK && (!name || !*name))
		return 0; /* not an object this cache can hold */
	if (type == KUBE_EV_ADDED || type == KUBE_EV_MODIFIED) {
		if (!(rec = make_record(lc, t, obj)))
			return BERR_NOMEM; /* the watch ends; it resumes from the last RV applied */
	}
	pthread_mutex_lock(&lc->mu);
	if (type != KUBE_EV_BOOKMARK) {
		t->events++;
		if (rec)
			apply_upsert(lc, t, rec);
		else
			apply_delete(lc, t, jx_path_str(obj, "metadata", "namespace", NULL),
				     jx_path_str(obj, "metadata", "name", NULL));
		/* A CRD changed: the set of types may change (all-types mode). */
		if (lc->n_want == 0 && strcmp(t->group, "apiextensions.k8s.io") == 0 &&
		    strcmp(t->kind, "CustomResourceDefinition") == 0) {
			lc->rediscover_at_ms = clock_mono_ms() + 500;
			pthread_cond_signal(&lc->worker_cond);
		}
	}
	if (rv && *rv)
		str_copy(t->rv, rv, sizeof(t->rv));
	t->backoff_ms = 0;
	pthread_mutex_unlock(&lc->mu);
	return 0;
}

static void on_end(int rc, const char *last_rv, const char *message, void *userdata)
{
	struct lc_type *t = userdata;
	struct livecache *lc = t->lc;
	(void)message;
	pthread_mutex_lock(&lc->mu);
	t->watch = NULL;
	t->watch_active = false;
	lc->active_watches--;
	if (last_rv && *last_rv)
		str_copy(t->rv, last_rv, sizeof(t->rv));
	if (t->state == ST_WATCHING) {
		t->restarts++;
		if (rc == BERR_GONE) {
			t->state = ST_NEED_LIST;
			t->retry_at_ms = clock_mono_ms();
		} else if (rc == 0) {
			t->state = ST_NEED_WATCH;
			t->retry_at_ms = clock_mono_ms();
		} else {
			t->state = ST_NEED_WATCH;
			t->retry_at_ms = clock_mono_ms() + next_backoff(lc, t);
		}
	}
	pthread_cond_broadcast(&lc->worker_cond);
	pthread_cond_broadcast(&lc->sync_cond);
	pthread_mutex_unlock(&lc->mu);
}

/* ---- list (worker thread) ---- */

struct list_ctx {
	struct livecache *lc;
	struct lc_type *t;
	struct lcmap fresh;          /* (ns, name) → record */
	char rv[128];
	int err;
};

static bool drop_fresh_cb(void *val, void *ud)
{
	(void)ud;
	lc_record_unref(val);
	return true;
}

/* Parses value text into member key of obj. */
static int set_parsed(json_t *obj, const struct jscan_span *k, const struct jscan_span *v)
{
	json_t *val = NULL;
	int rc = jx_parse(v->p, v->len, v->len + 1, JX_MAX_DEPTH, &val);
	if (rc < 0)
		return rc;
	if (json_object_setn_new(obj, k->p, k->len, val) < 0)
		return err_set(BERR_NOMEM, "list: out of memory");
	return 0;
}

/* The parts of a list item a compact record and the callers' predicates
 * read (livecache.h): every top-level member but spec and the data of
 * ConfigMaps and Secrets, and metadata without managedFields. NULL with
 * *err 0 when the item should be parsed whole instead (escaped keys), or
 * with *err a BERR code. */
static json_t *partial_item(const char *text, size_t len, int *err)
{
	struct jscan it, mit;
	struct jscan_span k, v, mk, mv;
	json_t *o = json_object(), *md = NULL;
	int rc = 0, more;

	*err = 0;
	if (!o) {
		*err = BERR_NOMEM;
		return NULL;
	}
	if ((rc = jscan_open(&it, text, len, '{')) < 0)
		goto fail;
	while ((more = jscan_next(&it, &k, &v)) == 1) {
		if (jscan_key_escaped(&k))
			goto whole;
		if (jscan_key_is(&k, "spec") || jscan_key_is(&k, "data") || jscan_key_is(&k, "stringData") ||
		    jscan_key_is(&k, "binaryData"))
			continue;
		if (!jscan_key_is(&k, "metadata") || v.p[0] != '{') {
			if ((rc = set_parsed(o, &k, &v)) < 0)
				goto fail;
			continue;
		}
		if (!(md = json_object()) || json_object_set_new_nocheck(o, "metadata", md) < 0) {
			rc = BERR_NOMEM;
			goto fail;
		}
		if ((rc = jscan_open(&mit, v.p, v.len, '{')) < 0)
			goto fail;
		while ((more = jscan_next(&mit, &mk, &mv)) == 1) {
			if (jscan_key_escaped(&mk))
				goto whole;
			if (!jscan_key_is(&mk, "managedFields") && (rc = set_parsed(md, &mk, &mv)) < 0)
				goto fail;
		}
		if ((rc = more) < 0)
			goto fail;
	}
	if ((rc = more) < 0)
		goto fail;
	return o;
whole:
	json_decref(o);
	return NULL;
fail:
	json_decref(o);
	*err = rc;
	return NULL;
}

/* Gives obj kind and apiVersion when it has none (list items do not). */
static int complete_item(json_t *obj, const struct lc_type *t)
{
	if (!json_object_get(obj, "kind") && json_object_set_new(obj, "kind", json_string(t->kind)) < 0)
		return BERR_NOMEM;
	if (!json_object_get(obj, "apiVersion") && json_object_set_new(obj, "apiVersion", json_string(t->api_version)) < 0)
		return BERR_NOMEM;
	return 0;
}

/* One item of a page as a record: from its partial parse when the record
 * is compact, from the whole item when it is kept full. NULL (skip it) when
 * it has no name; *err a BERR code on failure. */
static const struct lc_record *item_record(struct list_ctx *c, const char *text, size_t len, int *err)
{
	json_t *obj = partial_item(text, len, err);
	const struct lc_record *r = NULL;
	if (*err < 0)
		return NULL;
	if ((obj && (*err = complete_item(obj, c->t)) < 0))
		goto out;
	if (!obj || (c->lc->keep_full && c->lc->keep_full(obj, c->lc->keep_full_data))) {
		json_decref(obj);
		obj = NULL;
		if ((*err = jx_parse(text, len, len + 1, JX_MAX_DEPTH, &obj)) < 0 || (*err = complete_item(obj, c->t)) < 0)
			goto out;
	}
	const char *name = jx_path_str(obj, "metadata", "name", NULL);
	if (name && *name && !(r = make_record(c->lc, c->t, obj)))
		*err = err_set(BERR_NOMEM, "list %s: out of memory", c->t->kind);
out:
	json_decref(obj);
	return r;
}

static int on_page(const char *items, size_t items_len, const json_t *meta, const char *list_kind,
		   const char *api_version, bool restarted, void *userdata)
{
	struct list_ctx *c = userdata;
	struct jscan it;
	struct jscan_span k, v;
	int rc, more;
	(void)list_kind;
	(void)api_version;
	if (restarted) {
		lcmap_each(&c->fresh, drop_fresh_cb, NULL);
		lcmap_release(&c->fresh);
	}
	if ((rc = jscan_open(&it, items, items_len, '[')) < 0)
		return rc;
	while ((more = jscan_next(&it, &k, &v)) == 1) {
		if (v.p[0] != '{')
			continue;
		const struct lc_record *r = item_record(c, v.p, v.len, &rc);
		if (rc < 0)
			return err_prefix(rc, "list %s", c->t->kind);
		if (!r)
			continue;
		const struct lc_record *dup = lcmap_del(&c->fresh, r->namespace_, r->name, NULL, NULL);
		lc_record_unref(dup);
		if (lcmap_add(&c->fresh, r->namespace_, r->name, NULL, (void *)r) < 0) {
			lc_record_unref(r);
			return BERR_NOMEM;
		}
	}
	if (more < 0)
		return err_prefix(more, "list %s", c->t->kind);
	const char *rv = jx_str(meta, "resourceVersion");
	if (rv)
		str_copy(c->rv, rv, sizeof(c->rv));
	return 0;
}

struct diff_ctx {
	struct livecache *lc;
	struct lc_type *t;
	struct lcmap *fresh;
	const struct lc_record **gone;
	size_t n_gone;
};

static bool collect_gone(void *val, void *ud)
{
	struct diff_ctx *d = ud;
	const struct lc_record *r = val;
	if (!lcmap_get(d->fresh, r->namespace_, r->name, NULL))
		d->gone[d->n_gone++] = r;
	return true;
}

static bool upsert_fresh(void *val, void *ud)
{
	struct diff_ctx *d = ud;
	apply_upsert(d->lc, d->t, val);
	return true;
}

/* Replaces the type's content with a fresh list (lc->mu held). */
static int apply_list(struct livecache *lc, struct lc_type *t, struct lcmap *fresh)
{
	struct diff_ctx d = {lc, t, fresh, NULL, 0};
	if (t->objects.n && !(d.gone = calloc(t->objects.n, sizeof(*d.gone))))
		return BERR_NOMEM;
	if (d.gone)
		lcmap_each(&t->objects, collect_gone, &d);
	for (size_t i = 0; i < d.n_gone; i++)
		apply_delete(lc, t, d.gone[i]->namespace_, d.gone[i]->name);
	free(d.gone);
	/* apply_upsert takes over each record's reference. */
	lcmap_each(fresh, upsert_fresh, &d);
	lcmap_release(fresh);
	return 0;
}

static int do_list(struct livecache *lc, struct lc_type *t)
{
	struct list_ctx c;
	int rc;
	memset(&c, 0, sizeof(c));
	c.lc = lc;
	c.t = t;
	lcmap_init(&c.fresh);
	struct kube_target kt = {.api_version = t->api_version, .kind = t->kind, .namespace_ = lc->namespace_};
	struct kube_req_opts o = {.label_selector = lc->label_selector};
	rc = kube_list_pages_raw(lc->kc, &kt, &o, on_page, &c);
	pthread_mutex_lock(&lc->mu);
	if (rc == 0 && t->state != ST_REMOVED) {
		lc->quiet = lc->skip_initial_events && !t->listed;
		rc = apply_list(lc, t, &c.fresh);
		lc->quiet = false;
		if (rc == 0) {
			str_copy(t->rv, c.rv, sizeof(t->rv));
			t->relists += t->listed ? 1 : 0;
			t->listed = true;
			t->state = ST_NEED_WATCH;
			t->retry_at_ms = 0;
		}
	}
	pthread_mutex_unlock(&lc->mu);
	lcmap_each(&c.fresh, drop_fresh_cb, NULL);
	lcmap_release(&c.fresh);
	return rc;
}

static int do_watch(struct livecache *lc, struct lc_type *t)
{
	struct kube_target kt = {.api_version = t->api_version, .kind = t->kind, .namespace_ = lc->namespace_};
	struct kube_req_opts o = {.label_selector = lc->label_selector};
	char rv[128];
	int rc;
	pthread_mutex_lock(&lc->mu);
	str_copy(rv, t->rv, sizeof(rv));
	/* Counted before the start: on_end may run before kube_watch_start returns. */
	t->watch_active = true;
	t->state = ST_WATCHING;
	lc->active_watches++;
	pthread_mutex_unlock(&lc->mu);
	struct kube_watch *w = NULL;
	rc = kube_watch_start(lc->kc, &kt, &o, rv, on_event, on_end, t, &w);
	pthread_mutex_lock(&lc->mu);
	if (rc < 0) {
		t->watch_active = false;
		t->state = ST_NEED_WATCH;
		lc->active_watches--;
	} else if (t->watch_active) {
		t->watch = w;
		if (lc->stop || t->state == ST_REMOVED)
			kube_watch_stop(lc->kc, w);
	}
	pthread_mutex_unlock(&lc->mu);
	return rc;
}

/* ---- types ---- */

static struct lc_type *type_new(struct livecache *lc, const struct kube_resource *r)
{
	struct lc_type *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->lc = lc;
	t->group = strdup(r->group);
	t->version = strdup(r->version);
	t->kind = strdup(r->kind);
	t->api_version = r->group[0] ? str_printf("%s/%s", r->group, r->version) : strdup(r->version);
	lcmap_init(&t->objects);
	t->state = ST_NEED_LIST;
	if (!t->group || !t->version || !t->kind || !t->api_version) {
		free(t->group);
		free(t->version);
		free(t->kind);
		free(t->api_version);
		free(t);
		return NULL;
	}
	return t;
}

static struct lc_type *find_type(struct livecache *lc, const char *group, const char *kind)
{
	for (size_t i = 0; i < lc->n_types; i++) {
		struct lc_type *t = lc->types[i];
		if (t->state != ST_REMOVED && strcmp(t->group, group ? group : "") == 0 && strcmp(t->kind, kind) == 0)
			return t;
	}
	return NULL;
}

static int add_type(struct livecache *lc, struct lc_type *t)
{
	struct lc_type **nv = realloc(lc->types, (lc->n_types + 1) * sizeof(*nv));
	if (!nv)
		return BERR_NOMEM;
	lc->types = nv;
	lc->types[lc->n_types++] = t;
	return 0;
}

static bool take_all(void *val, void *ud)
{
	const struct lc_record ***pp = ud;
	*(*pp)++ = val;
	return true;
}

/* Drops a type whose resource went away: its objects are reported deleted. */
static void remove_type(struct livecache *lc, struct lc_type *t)
{
	t->state = ST_REMOVED;
	if (t->watch_active && t->watch)
		kube_watch_stop(lc->kc, t->watch);
	size_t n = t->objects.n;
	const struct lc_record **v = n ? calloc(n, sizeof(*v)) : NULL, **p = v;
	if (v) {
		lcmap_each(&t->objects, take_all, &p);
		for (size_t i = 0; i < n; i++)
			apply_delete(lc, t, v[i]->namespace_, v[i]->name);
	}
	free(v);
}

/* Reconciles the set of types with discovery (worker thread). */
static int sync_types(struct livecache *lc)
{
	struct kube_resource *res = NULL;
	size_t n = 0;
	int rc;
	if ((lc->n_want == 0 || lc->discovered) && (rc = kube_discover(lc->kc)) < 0)
		return rc;
	if ((rc = kube_resources(lc->kc, &res, &n)) < 0)
		return rc;
	pthread_mutex_lock(&lc->mu);
	if (lc->n_want) {
		for (size_t w = 0; w < lc->n_want; w++) {
			if (find_type(lc, lc->want[w].group, lc->want[w].kind))
				continue;
			for (size_t i = 0; i < n; i++) {
				if (!res[i].preferred || strcmp(res[i].group, lc->want[w].group) != 0 ||
				    strcmp(res[i].kind, lc->want[w].kind) != 0)
					continue;
				struct lc_type *t = type_new(lc, &res[i]);
				if (!t || add_type(lc, t) < 0) {
					free(t);
					rc = BERR_NOMEM;
				}
				break;
			}
		}
	} else {
		unsigned need = KUBE_VERB_LIST | KUBE_VERB_WATCH;
		for (size_t i = 0; i < n; i++) {
			if (!res[i].preferred || (res[i].verbs & need) != need || excluded(lc, res[i].group, res[i].kind) ||
			    find_type(lc, res[i].group, res[i].kind))
				continue;
			struct lc_type *t = type_new(lc, &res[i]);
			if (!t || add_type(lc, t) < 0) {
				free(t);
				rc = BERR_NOMEM;
			}
		}
		for (size_t k = 0; k < lc->n_types; k++) {
			struct lc_type *t = lc->types[k];
			bool present = false;
			for (size_t i = 0; i < n && !present; i++)
				present = res[i].preferred && strcmp(res[i].group, t->group) == 0 &&
					  strcmp(res[i].kind, t->kind) == 0;
			if (!present && t->state != ST_REMOVED)
				remove_type(lc, t);
		}
	}
	lc->discovered = true;
	pthread_cond_broadcast(&lc->sync_cond);
	pthread_mutex_unlock(&lc->mu);
	kube_resources_free(res, n);
	return rc;
}

/* ---- worker ---- */

static bool types_all_resolved(struct livecache *lc)
{
	for (size_t w = 0; w < lc->n_want; w++)
		if (!find_type(lc, lc->want[w].group, lc->want[w].kind))
			return false;
	return true;
}

/* Runs discovery with lc->mu released, then schedules the next one: soon
 * (with a doubling backoff) after a failure or while wanted types are still
 * unresolved, after rediscover_ms when nothing is wanted. Called and returns
 * with lc->mu held. */
static void worker_discover_locked(struct livecache *lc, int64_t *disc_backoff)
{
	lc->disc_busy = true;
	lc->rediscover_at_ms = 0;
	pthread_mutex_unlock(&lc->mu);
	int rc = sync_types(lc);
	pthread_mutex_lock(&lc->mu);
	lc->disc_busy = false;
	lc->disc_err = rc;
	pthread_cond_broadcast(&lc->worker_cond);
	if (rc < 0 || (lc->n_want && !types_all_resolved(lc))) {
		*disc_backoff = *disc_backoff ? *disc_backoff * 2 : lc->backoff_base_ms;
		if (*disc_backoff > lc->backoff_max_ms)
			*disc_backoff = lc->backoff_max_ms;
		lc->rediscover_at_ms = clock_mono_ms() + *disc_backoff;
	} else {
		*disc_backoff = 0;
		if (lc->n_want == 0)
			lc->rediscover_at_ms = clock_mono_ms() + lc->rediscover_ms;
	}
}

/* The first idle type due for a list or a watch, or NULL; lowers *next to
 * the earliest retry time of those not yet due. Under lc->mu. */
static struct lc_type *worker_next_type_locked(struct livecache *lc, int64_t now, int64_t *next)
{
	for (size_t i = 0; i < lc->n_types; i++) {
		struct lc_type *t = lc->types[i];
		if ((t->state != ST_NEED_LIST && t->state != ST_NEED_WATCH) || t->busy)
			continue;
		if (t->retry_at_ms <= now)
			return t;
		if (t->retry_at_ms < *next)
			*next = t->retry_at_ms;
	}
	return NULL;
}

/* Lists or watches t with lc->mu released, then records the outcome (a
 * failure schedules a retry with backoff). Called and returns with lc->mu
 * held. */
static void worker_run_type_locked(struct livecache *lc, struct lc_type *t)
{
	enum lc_state st = t->state;
	t->busy = true;
	if (st == ST_NEED_LIST)
		lc->lists_running++;
	pthread_mutex_unlock(&lc->mu);
	int rc = st == ST_NEED_LIST ? do_list(lc, t) : do_watch(lc, t);
	pthread_mutex_lock(&lc->mu);
	if (st == ST_NEED_LIST && --lc->lists_running == 0) {
		/* Give the parsed pages back to the system once no list runs:
		 * trimming after each one cost ~15% of the initial sync's CPU
		 * (consolidating the heap while the other lists allocate). */
		pthread_mutex_unlock(&lc->mu);
		malloc_trim(0);
		pthread_mutex_lock(&lc->mu);
	}
	t->busy = false;
	pthread_cond_broadcast(&lc->worker_cond);
	if (rc < 0) {
		t->last_err = rc;
		if (t->state != ST_REMOVED)
			t->retry_at_ms = clock_mono_ms() + next_backoff(lc, t);
	} else {
		t->last_err = 0;
	}
	pthread_cond_broadcast(&lc->sync_cond);
}

/* Waits on worker_cond until woken or wait_ms (at least 1) passes. */
static void worker_sleep_locked(struct livecache *lc, int64_t wait_ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (wait_ms < 1)
		wait_ms = 1;
	ts.tv_sec += wait_ms / 1000;
	ts.tv_nsec += (wait_ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_cond_timedwait(&lc->worker_cond, &lc->mu, &ts);
}

/* Each worker thread: discovery first when due (one worker at a time), else
 * the next type that needs a list or a watch, else sleep until the earliest
 * due time. */
static void *worker_main(void *arg)
{
	struct livecache *lc = arg;
	int64_t disc_backoff = 0;
	pthread_mutex_lock(&lc->mu);
	while (!lc->stop) {
		int64_t now = clock_mono_ms(), next = now + 60000;
		bool want_disc = !lc->discovered || (lc->rediscover_at_ms && now >= lc->rediscover_at_ms) ||
				 (lc->n_want && !types_all_resolved(lc) && now >= lc->rediscover_at_ms);
		if (want_disc && !lc->disc_busy) {
			worker_discover_locked(lc, &disc_backoff);
			continue;
		}
		if (lc->rediscover_at_ms && lc->rediscover_at_ms < next)
			next = lc->rediscover_at_ms;
		struct lc_type *todo = worker_next_type_locked(lc, now, &next);
		if (todo) {
			worker_run_type_locked(lc, todo);
			continue;
		}
		worker_sleep_locked(lc, next - now);
	}
	pthread_mutex_unlock(&lc->mu);
	return NULL;
}

/* ---- dispatcher ---- */

static void timed_wait(pthread_cond_t *c, pthread_mutex_t *mu, int64_t ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_cond_timedwait(c, mu, &ts);
}

static void *dispatcher_main(void *arg)
{
	struct livecache *lc = arg;
	pthread_mutex_lock(&lc->mu);
	while (!lc->stop) {
		if (lc->n_pend == 0) {
			timed_wait(&lc->disp_cond, &lc->mu, 1000);
			continue;
		}
		int64_t due = lc->pend_since_ms + lc->window_ms - clock_mono_ms();
		if (due > 0) {
			timed_wait(&lc->disp_cond, &lc->mu, due);
			continue;
		}
		struct pend *batch = lc->pend;
		size_t n = lc->n_pend;
		lc->pend = NULL;
		lc->n_pend = lc->cap_pend = 0;
		lcmap_release(&lc->pend_index);
		lc->delivering = true;
		lc->batches++;
		pthread_mutex_unlock(&lc->mu);
		/* Drop folded no-ops (created and deleted within the window). */
		struct lc_event *ev = calloc(n, sizeof(*ev));
		size_t k = 0;
		for (size_t i = 0; ev && i < n; i++)
			if (batch[i].old || batch[i].new_) {
				ev[k].old = batch[i].old;
				ev[k].new_ = batch[i].new_;
				k++;
			}
		if (k)
			lc->on_batch(ev, k, lc->on_batch_data);
		free(ev);
		for (size_t i = 0; i < n; i++) {
			lc_record_unref(batch[i].old);
			lc_record_unref(batch[i].new_);
		}
		free(batch);
		pthread_mutex_lock(&lc->mu);
		lc->delivering = false;
		pthread_cond_broadcast(&lc->sync_cond);
	}
	pthread_mutex_unlock(&lc->mu);
	return NULL;
}

/* ---- public ---- */

static void cond_init_mono(pthread_cond_t *c)
{
	pthread_condattr_t a;
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(c, &a);
	pthread_condattr_destroy(&a);
}

int livecache_new(struct kube_client *kc, const struct livecache_opts *opts, struct livecache **ret)
{
	struct livecache *lc = calloc(1, sizeof(*lc));
	int rc = 0;
	if (!lc)
		return err_set(BERR_NOMEM, "live cache: out of memory");
	lc->kc = kc;
	pthread_mutex_init(&lc->mu, NULL);
	cond_init_mono(&lc->worker_cond);
	cond_init_mono(&lc->disp_cond);
	cond_init_mono(&lc->sync_cond);
	lcmap_init(&lc->owners);
	lcmap_init(&lc->keys);
	lcmap_init(&lc->pend_index);
	if (!(lc->intern = lc_intern_new()))
		goto nomem;
	if ((rc = copy_specs(opts->types, opts->n_types, &lc->want)) < 0)
		goto nomem;
	lc->n_want = opts->n_types;
	if ((rc = copy_specs(opts->exclude, opts->n_exclude, &lc->exclude)) < 0)
		goto nomem;
	lc->n_exclude = opts->n_exclude;
	if ((opts->namespace_ && !(lc->namespace_ = strdup(opts->namespace_))) ||
	    (opts->label_selector && !(lc->label_selector = strdup(opts->label_selector))))
		goto nomem;
	if (opts->annotations) {
		size_t n = 0;
		while (opts->annotations[n])
			n++;
		if (!(lc->annotations = calloc(n + 1, sizeof(char *))))
			goto nomem;
		for (size_t i = 0; i < n; i++)
			if (!(lc->annotations[i] = strdup(opts->annotations[i])))
				goto nomem;
	}
	lc->keep_full = opts->keep_full;
	lc->keep_full_data = opts->keep_full_data;
	lc->caller_key = opts->caller_key;
	lc->caller_key_data = opts->caller_key_data;
	lc->on_batch = opts->on_batch;
	lc->on_batch_data = opts->on_batch_data;
	lc->skip_initial_events = opts->skip_initial_events;
	lc->window_ms = opts->batch_window_ms > 0 ? opts->batch_window_ms : 100;
	lc->backoff_base_ms = opts->backoff_base_ms > 0 ? opts->backoff_base_ms : 500;
	lc->backoff_max_ms = opts->backoff_max_ms > 0 ? opts->backoff_max_ms : 30000;
	lc->rediscover_ms = opts->rediscover_ms > 0 ? opts->rediscover_ms : 60000;
	for (size_t i = 0; i < LC_WORKERS; i++) {
		if (pthread_create(&lc->workers[i], NULL, worker_main, lc) != 0) {
			rc = err_set(BERR_NOMEM, "live cache: cannot start a thread");
			goto fail;
		}
		lc->n_workers++;
	}
	if (pthread_create(&lc->dispatcher, NULL, dispatcher_main, lc) != 0) {
		rc = err_set(BERR_NOMEM, "live cache: cannot start a thread");
		goto fail;
	}
	lc->dispatcher_started = true;
	*ret = lc;
	return 0;
nomem:
	rc = err_set(BERR_NOMEM, "live cache: out of memory");
fail:
	livecache_free(lc);
	return rc;
}

void livecache_stop(struct livecache *lc)
{
	if (!lc)
		return;
	pthread_mutex_lock(&lc->mu);
	if (lc->stopped) {
		pthread_mutex_unlock(&lc->mu);
		return;
	}
	lc->stopped = true;
	lc->stop = true;
	pthread_cond_broadcast(&lc->worker_cond);
	pthread_cond_broadcast(&lc->disp_cond);
	pthread_mutex_unlock(&lc->mu);
	for (size_t i = 0; i < lc->n_workers; i++)
		pthread_join(lc->workers[i], NULL);
	if (lc->dispatcher_started)
		pthread_join(lc->dispatcher, NULL);
	/* Stop the watches and wait for their on_end (which touches the types).
	 * The types keep their state and objects: a stopped cache stays
	 * readable. */
	pthread_mutex_lock(&lc->mu);
	for (size_t i = 0; i < lc->n_types; i++) {
		struct lc_type *t = lc->types[i];
		if (t->watch_active && t->watch)
			kube_watch_stop(lc->kc, t->watch);
	}
	while (lc->active_watches > 0)
		timed_wait(&lc->sync_cond, &lc->mu, 100);
	pthread_mutex_unlock(&lc->mu);
}

void livecache_free(struct livecache *lc)
{
	if (!lc)
		return;
	livecache_stop(lc);
	for (size_t i = 0; i < lc->n_pend; i++) {
		lc_record_unref(lc->pend[i].old);
		lc_record_unref(lc->pend[i].new_);
	}
	free(lc->pend);
	lcmap_release(&lc->pend_index);
	lcmap_release(&lc->owners);
	lcmap_release(&lc->keys);
	for (size_t i = 0; i < lc->n_types; i++) {
		struct lc_type *t = lc->types[i];
		lcmap_each(&t->objects, unref_cb, NULL);
		lcmap_release(&t->objects);
		free(t->group);
		free(t->version);
		free(t->kind);
		free(t->api_version);
		free(t);
	}
	free(lc->types);
	lc_intern_free(lc->intern);
	free_specs(lc->want, lc->n_want);
	free_specs(lc->exclude, lc->n_exclude);
	free(lc->namespace_);
	free(lc->label_selector);
	for (char **a = lc->annotations; a && *a; a++)
		free(*a);
	free(lc->annotations);
	pthread_cond_destroy(&lc->worker_cond);
	pthread_cond_destroy(&lc->disp_cond);
	pthread_cond_destroy(&lc->sync_cond);
	pthread_mutex_destroy(&lc->mu);
	free(lc);
}

/* lc->mu held. 1 when synced, 0 not yet, < 0 a type's persistent error. */
static int sync_state(struct livecache *lc, bool strict)
{
	if (!lc->discovered)
		return 0;
	if (lc->n_want && !types_all_resolved(lc))
		return 0;
	for (size_t i = 0; i < lc->n_types; i++) {
		struct lc_type *t = lc->types[i];
		if (t->state == ST_REMOVED)
			continue;
		if (!t->listed || (strict && t->state != ST_WATCHING))
			return 0;
	}
	if (strict && (lc->n_pend || lc->delivering))
		return 0;
	return 1;
}

int livecache_wait_synced(struct livecache *lc, int64_t timeout_ms)
{
	int64_t deadline = clock_mono_ms() + timeout_ms;
	int rc = 0;
	pthread_mutex_lock(&lc->mu);
	while (sync_state(lc, false) != 1) {
		int64_t left = deadline - clock_mono_ms();
		if (left <= 0) {
			int last = lc->disc_err;
			for (size_t i = 0; i < lc->n_types && !last; i++)
				if (!lc->types[i]->listed)
					last = lc->types[i]->last_err;
			rc = last ? err_set(last, "live cache: not synced after %lld ms (%s)", (long long)timeout_ms,
					    err_name(last))
				  : err_set(BERR_TIMEOUT, "live cache: not synced after %lld ms", (long long)timeout_ms);
			break;
		}
		timed_wait(&lc->sync_cond, &lc->mu, left < 100 ? left : 100);
	}
	pthread_mutex_unlock(&lc->mu);
	return rc;
}

bool livecache_synced(struct livecache *lc)
{
	pthread_mutex_lock(&lc->mu);
	bool s = sync_state(lc, true) == 1;
	pthread_mutex_unlock(&lc->mu);
	return s;
}

const struct lc_record *livecache_get(struct livecache *lc, const char *group, const char *kind,
				      const char *namespace_, const char *name)
{
	const struct lc_record *r = NULL;
	pthread_mutex_lock(&lc->mu);
	struct lc_type *t = find_type(lc, group, kind);
	if (t)
		r = lc_record_ref(lcmap_get(&t->objects, namespace_ ? namespace_ : "", name, NULL));
	pthread_mutex_unlock(&lc->mu);
	return r;
}

void lc_records_free(struct lc_records *rs)
{
	if (!rs)
		return;
	for (size_t i = 0; i < rs->n; i++)
		lc_record_unref(rs->v[i]);
	free(rs->v);
	rs->v = NULL;
	rs->n = 0;
}

struct collect {
	const struct lc_record **v;
	size_t n, cap;
	const char *ns;
	bool failed;
};

static bool collect_cb(void *val, void *ud)
{
	struct collect *c = ud;
	const struct lc_record *r = val;
	if (c->ns && *c->ns && strcmp(r->namespace_, c->ns) != 0)
		return true;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		const struct lc_record **nv = realloc(c->v, cap * sizeof(*nv));
		if (!nv) {
			c->failed = true;
			return false;
		}
		c->v = nv;
		c->cap = cap;
	}
	c->v[c->n++] = lc_record_ref(r);
	return true;
}

static int cmp_records(const void *a, const void *b)
{
	const struct lc_record *x = *(const struct lc_record *const *)a, *y = *(const struct lc_record *const *)b;
	int c = strcmp(x->namespace_, y->namespace_);
	if (!c)
		c = strcmp(x->name, y->name);
	if (!c)
		c = strcmp(x->kind, y->kind);
	return c;
}

static int finish_collect(struct collect *c, struct lc_records *out)
{
	if (c->failed) {
		for (size_t i = 0; i < c->n; i++)
			lc_record_unref(c->v[i]);
		free(c->v);
		return err_set(BERR_NOMEM, "live cache: out of memory");
	}
	if (c->n > 1)
		qsort(c->v, c->n, sizeof(*c->v), cmp_records);
	out->v = c->v;
	out->n = c->n;
	return 0;
}

int livecache_list(struct livecache *lc, const char *group, const char *kind, const char *namespace_,
		   struct lc_records *out)
{
	struct collect c = {.ns = namespace_};
	pthread_mutex_lock(&lc->mu);
	struct lc_type *t = find_type(lc, group, kind);
	if (t)
		lcmap_each(&t->objects, collect_cb, &c);
	pthread_mutex_unlock(&lc->mu);
	return finish_collect(&c, out);
}

int livecache_by_owner(struct livecache *lc, const char *owner_uid, struct lc_records *out)
{
	struct collect c = {0};
	pthread_mutex_lock(&lc->mu);
	lcmap_each_key(&lc->owners, owner_uid, NULL, NULL, collect_cb, &c);
	pthread_mutex_unlock(&lc->mu);
	return finish_collect(&c, out);
}

int livecache_by_key(struct livecache *lc, const char *key, struct lc_records *out)
{
	struct collect c = {0};
	pthread_mutex_lock(&lc->mu);
	lcmap_each_key(&lc->keys, key, NULL, NULL, collect_cb, &c);
	pthread_mutex_unlock(&lc->mu);
	return finish_collect(&c, out);
}

int livecache_metrics(struct livecache *lc, struct lc_metrics *out, struct lc_type_metrics **per_type,
		      size_t *n_types)
{
	struct lc_metrics m;
	struct lc_type_metrics *pt = NULL;
	size_t k = 0;
	memset(&m, 0, sizeof(m));
	pthread_mutex_lock(&lc->mu);
	if (per_type && !(pt = calloc(lc->n_types ? lc->n_types : 1, sizeof(*pt)))) {
		pthread_mutex_unlock(&lc->mu);
		return err_set(BERR_NOMEM, "live cache: out of memory");
	}
	for (size_t i = 0; i < lc->n_types; i++) {
		struct lc_type *t = lc->types[i];
		if (t->state == ST_REMOVED)
			continue;
		m.types++;
		m.objects += t->objects.n;
		m.full_objects += t->n_full;
		m.bytes_compact += t->bytes_compact;
		m.bytes_full += t->bytes_full;
		m.relists += t->relists;
		m.watch_restarts += t->restarts;
		m.events += t->events;
		if (pt) {
			struct lc_type_metrics *e = &pt[k++];
			str_copy(e->group, t->group, sizeof(e->group));
			str_copy(e->kind, t->kind, sizeof(e->kind));
			e->objects = t->objects.n;
			e->full_objects = t->n_full;
			e->bytes_compact = t->bytes_compact;
			e->bytes_full = t->bytes_full;
			e->relists = t->relists;
			e->watch_restarts = t->restarts;
			e->events = t->events;
			e->synced = t->listed && t->state == ST_WATCHING;
		}
	}
	m.batches = lc->batches;
	pthread_mutex_unlock(&lc->mu);
	*out = m;
	if (per_type) {
		*per_type = pt;
		*n_types = k;
	}
	return 0;
}

int livecache_metrics_write(struct livecache *lc, const char *cluster, struct buf *out)
{
	struct lc_metrics m;
	struct lc_type_metrics *pt = NULL;
	struct kube_metrics km;
	size_t n = 0;
	int rc;
	if ((rc = livecache_metrics(lc, &m, &pt, &n)) < 0)
		return rc;
	kube_client_metrics(lc->kc, &km);
	const char *cl = cluster ? cluster : "";
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct lc_type_metrics *e = &pt[i];
		rc = buf_printf(out,
				"berth_livecache_objects{cluster=\"%s\",group=\"%s\",kind=\"%s\"} %zu\n"
				"berth_livecache_full_objects{cluster=\"%s\",group=\"%s\",kind=\"%s\"} %zu\n"
				"berth_livecache_bytes{cluster=\"%s\",group=\"%s\",kind=\"%s\",form=\"compact\"} %zu\n"
				"berth_livecache_bytes{cluster=\"%s\",group=\"%s\",kind=\"%s\",form=\"full\"} %zu\n"
				"berth_livecache_relists_total{cluster=\"%s\",group=\"%s\",kind=\"%s\"} %llu\n"
				"berth_livecache_watch_restarts_total{cluster=\"%s\",group=\"%s\",kind=\"%s\"} %llu\n",
				cl, e->group, e->kind, e->objects, cl, e->group, e->kind, e->full_objects, cl, e->group,
				e->kind, e->bytes_compact, cl, e->group, e->kind, e->bytes_full, cl, e->group, e->kind,
				(unsigned long long)e->relists, cl, e->group, e->kind,
				(unsigned long long)e->watch_restarts);
	}
	if (rc == 0)
		rc = buf_printf(out,
				"berth_livecache_batches_total{cluster=\"%s\"} %llu\n"
				"berth_kube_requests_total{cluster=\"%s\"} %llu\n"
				"berth_kube_request_errors_total{cluster=\"%s\"} %llu\n"
				"berth_kube_request_retries_total{cluster=\"%s\"} %llu\n"
				"berth_kube_request_latency_ms_sum{cluster=\"%s\"} %llu\n"
				"berth_kube_throttle_waits_total{cluster=\"%s\"} %llu\n"
				"berth_kube_throttle_wait_ms_total{cluster=\"%s\"} %llu\n"
				"berth_kube_watch_events_total{cluster=\"%s\"} %llu\n",
				cl, (unsigned long long)m.batches, cl, (unsigned long long)km.requests, cl,
				(unsigned long long)km.errors, cl, (unsigned long long)km.retries, cl,
				(unsigned long long)km.latency_ms_sum, cl, (unsigned long long)km.throttle_waits, cl,
				(unsigned long long)km.throttle_wait_ms, cl, (unsigned long long)km.watch_events);
	free(pt);
	return rc;
}
