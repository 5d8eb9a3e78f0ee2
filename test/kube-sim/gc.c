/* gc — see gc.h.
 *
 * The collector keeps an index owner uid → dependents, fed by store events
 * (and a scan at start). Events only queue tasks; one worker thread runs
 * them against the store, always re-reading objects first, so a stale index
 * entry or a stale task costs a lookup, never a wrong deletion: a dependent
 * is deleted only when none of its owners exists any more with the uid it
 * references. */
#include "gc.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "jsonx.h"
#include "kmap.h"
#include "log.h"
#include "str.h"
#include "store.h"

#define FIN_FOREGROUND "foregroundDeletion"
#define FIN_ORPHAN "orphan"
#define GC_MANAGER "generic-garbage-collector"

enum task_op {
	TASK_OWNER_GONE,   /* uid: the owner was deleted */
	TASK_OWNER_CHECK,  /* t/ns/name: an owner that may be deleting with a GC finalizer */
	TASK_DEP_CHECK,    /* t/ns/name: a dependent whose owners may be missing */
};

struct task {
	enum task_op op;
	const struct ks_type *t; /* NULL: resolve av/kind in the worker */
	char *ns, *name, *uid, *av, *kind;
};

/* One dependent in the index. */
struct dep {
	const struct ks_type *t;
	char *ns, *name;
};

struct deps {
	struct dep *v;
	size_t n, cap;
};

struct gc {
	struct ks_store *s;
	pthread_t thread;
	pthread_mutex_t mu; /* guards everything below */
	pthread_cond_t cv;
	bool stop, started;
	struct task *q;
	size_t qn, qcap;
	struct kmap index; /* owner uid → struct deps * */
	int sub;
};

/* ---- index and queue (any thread, under mu) ----------------------------------------- */

static void index_add(struct gc *g, const char *owner_uid, const struct ks_type *t, const char *ns, const char *name)
{
	struct deps *d = kmap_get(&g->index, owner_uid);
	if (!d) {
		if (!(d = calloc(1, sizeof(*d))))
			return;
		if (kmap_put(&g->index, owner_uid, d, NULL) < 0) {
			free(d);
			return;
		}
	}
	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].t == t && str_eq_null(d->v[i].ns, ns) && strcmp(d->v[i].name, name) == 0)
			return;
	if (d->n == d->cap) {
		size_t ncap = d->cap ? d->cap * 2 : 4;
		struct dep *nv = realloc(d->v, ncap * sizeof(*nv));
		if (!nv)
			return;
		d->v = nv;
		d->cap = ncap;
	}
	d->v[d->n++] = (struct dep){ t, str_dup(ns), str_dup(name) };
}

static void deps_free(struct deps *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].ns);
		free(d->v[i].name);
	}
	free(d->v);
	free(d);
}

static void index_remove(struct gc *g, const char *owner_uid, const struct ks_type *t, const char *ns,
			 const char *name)
{
	struct deps *d = kmap_get(&g->index, owner_uid);
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++) {
		if (d->v[i].t == t && str_eq_null(d->v[i].ns, ns) && strcmp(d->v[i].name, name) == 0) {
			free(d->v[i].ns);
			free(d->v[i].name);
			d->v[i] = d->v[--d->n];
			break;
		}
	}
	if (d->n == 0)
		deps_free(kmap_del(&g->index, owner_uid));
}

static void push_ref(struct gc *g, enum task_op op, const struct ks_type *t, const char *ns, const char *name,
		     const char *uid, const char *av, const char *kind)
{
	if (g->qn == g->qcap) {
		size_t ncap = g->qcap ? g->qcap * 2 : 64;
		struct task *nq = realloc(g->q, ncap * sizeof(*nq));
		if (!nq)
			return;
		g->q = nq;
		g->qcap = ncap;
	}
	g->q[g->qn++] = (struct task){ op, t, str_dup(ns), str_dup(name), str_dup(uid), str_dup(av), str_dup(kind) };
	pthread_cond_signal(&g->cv);
}

static void push(struct gc *g, enum task_op op, const struct ks_type *t, const char *ns, const char *name,
		 const char *uid)
{
	push_ref(g, op, t, ns, name, uid, NULL, NULL);
}

static bool has_gc_finalizer(const json_t *obj)
{
	size_t i;
	json_t *f;
	json_array_foreach(jx_path(obj, "metadata", "finalizers", NULL), i, f) {
		const char *s = json_string_value(f);
		if (s && (strcmp(s, FIN_FOREGROUND) == 0 || strcmp(s, FIN_ORPHAN) == 0))
			return true;
	}
	return false;
}

/* Feeds one object into the index and the queue. Under mu. */
static void observe(struct gc *g, const char *event, const struct ks_type *t, const json_t *obj)
{
	const char *ns = jx_path_str(obj, "metadata", "namespace", NULL);
	const char *name = jx_path_str(obj, "metadata", "name", NULL);
	const char *uid = jx_path_str(obj, "metadata", "uid", NULL);
	json_t *refs = jx_path(obj, "metadata", "ownerReferences", NULL), *ref;
	bool deleted = strcmp(event, "DELETED") == 0;
	size_t i;

	if (!name)
		return;
	json_array_foreach(refs, i, ref) {
		const char *ouid = jx_str(ref, "uid");
		if (!ouid)
			continue;
		if (deleted) {
			index_remove(g, ouid, t, ns, name);
			/* An owner waiting for its dependents may be done now. The
			 * type is resolved by the worker: no store call under mu. */
			push_ref(g, TASK_OWNER_CHECK, NULL, ns, jx_str(ref, "name"), NULL, jx_str(ref, "apiVersion"),
				 jx_str(ref, "kind"));
		} else {
			index_add(g, ouid, t, ns, name);
		}
	}
	if (!deleted && json_array_size(refs) > 0 && strcmp(event, "MODIFIED") != 0)
		push(g, TASK_DEP_CHECK, t, ns, name, NULL);
	if (deleted && uid && kmap_get(&g->index, uid))
		push(g, TASK_OWNER_GONE, NULL, NULL, NULL, uid);
	if (!deleted && jx_path(obj, "metadata", "deletionTimestamp", NULL) && has_gc_finalizer(obj))
		push(g, TASK_OWNER_CHECK, t, ns, name, NULL);
}

static void on_change(void *ctx, const char *event, const struct ks_type *t, const json_t *obj)
{
	struct gc *g = ctx;
	pthread_mutex_lock(&g->mu);
	observe(g, event, t, obj);
	pthread_mutex_unlock(&g->mu);
}

static void on_existing(void *ctx, const struct ks_type *t, const json_t *obj)
{
	/* Called under the store's read lock from the worker: mu is free. */
	struct gc *g = ctx;
	pthread_mutex_lock(&g->mu);
	observe(g, "ADDED", t, obj);
	pthread_mutex_unlock(&g->mu);
}

/* ---- the work (worker thread) ------------------------------------------------------- */

/* True when the object an ownerReference names exists with that uid, or
 * when the reference cannot be resolved: a kind nobody serves (a CRD not
 * established yet) or a namespaced owner of a cluster-scoped dependent. The
 * real collector leaves such dependents alone rather than guess. */
static bool owner_exists(struct gc *g, const json_t *ref, const char *dep_ns)
{
	const struct ks_type *ot = store_type_by_kind(g->s, jx_str(ref, "apiVersion"), jx_str(ref, "kind"));
	json_t *owner = NULL;
	bool alive;

	if (!ot || (ot->namespaced && !dep_ns))
		return true;
	if (store_get(g->s, ot, ot->namespaced ? dep_ns : NULL, jx_str(ref, "name"), &owner) < 0)
		return err_code() != BERR_NOTFOUND; /* on other errors, keep the dependent */
	alive = str_eq_null(jx_path_str(owner, "metadata", "uid", NULL), jx_str(ref, "uid"));
	json_decref(owner);
	return alive;
}

static int put(struct gc *g, const struct ks_type *t, const json_t *obj)
{
	struct ks_write_opts wo = { .field_manager = GC_MANAGER };
	return store_update(g->s, t, t->namespaced ? jx_path_str(obj, "metadata", "namespace", NULL) : NULL, obj,
			    &wo, NULL);
}

static int delete_obj(struct gc *g, const struct ks_type *t, const char *ns, const char *name, const char *uid,
		      const char *propagation)
{
	struct ks_delete_opts d = { .propagation = propagation, .precond_uid = uid };
	json_t *ret = NULL;
	bool gone;
	int rc = store_delete(g->s, t, t->namespaced ? ns : NULL, name, &d, &ret, &gone);
	json_decref(ret);
	if (rc < 0 && rc != BERR_NOTFOUND && rc != BERR_CONFLICT)
		log_debug("gc: delete failed", "kind", t->kind, "name", name, "error", err_msg(), NULL);
	return rc;
}

/* Drops the references whose owner is gone (or, with only_uid, the one to
 * that owner) from a dependent; deletes the dependent when no owner is left
 * (unless orphaning). */
static void check_dependent(struct gc *g, const struct ks_type *t, const char *ns, const char *name,
			    const char *only_uid, bool orphaning, const char *propagation)
{
	json_t *obj = NULL, *refs, *keep, *ref;
	size_t i;
	int tries = 0;

again:
	if (store_get(g->s, t, t->namespaced ? ns : NULL, name, &obj) < 0)
		return;
	refs = jx_path(obj, "metadata", "ownerReferences", NULL);
	keep = json_array();
	json_array_foreach(refs, i, ref) {
		bool drop = only_uid ? str_eq_null(jx_str(ref, "uid"), only_uid) && (orphaning || !owner_exists(g, ref, ns))
				     : !owner_exists(g, ref, ns);
		if (!drop)
			json_array_append(keep, ref);
	}
	if (json_array_size(keep) == json_array_size(refs)) {
		/* nothing to do */
	} else if (json_array_size(keep) == 0 && !orphaning) {
		delete_obj(g, t, ns, name, jx_path_str(obj, "metadata", "uid", NULL), propagation);
	} else {
		json_t *md = json_object_get(obj, "metadata");
		if (json_array_size(keep))
			json_object_set(md, "ownerReferences", keep);
		else
			json_object_del(md, "ownerReferences");
		if (put(g, t, obj) == BERR_CONFLICT && ++tries < 5) {
			json_decref(keep);
			json_decref(obj);
			goto again;
		}
	}
	json_decref(keep);
	json_decref(obj);
}

/* A copy of the dependents listed for uid (the index may change while we
 * work). */
static struct deps *deps_of(struct gc *g, const char *uid)
{
	struct deps *out = calloc(1, sizeof(*out)), *d;
	pthread_mutex_lock(&g->mu);
	d = kmap_get(&g->index, uid);
	if (out && d && d->n) {
		out->v = calloc(d->n, sizeof(*out->v));
		for (size_t i = 0; out->v && i < d->n; i++)
			out->v[out->n++] = (struct dep){ d->v[i].t, str_dup(d->v[i].ns), str_dup(d->v[i].name) };
	}
	pthread_mutex_unlock(&g->mu);
	return out;
}

static bool refers_to(const json_t *obj, const char *uid, bool *ret_blocking)
{
	size_t i;
	json_t *ref;
	json_array_foreach(jx_path(obj, "metadata", "ownerReferences", NULL), i, ref) {
		if (str_eq_null(jx_str(ref, "uid"), uid)) {
			*ret_blocking = json_is_true(json_object_get(ref, "blockOwnerDeletion"));
			return true;
		}
	}
	return false;
}

/* Removes finalizer fin from obj and writes it. */
static void drop_finalizer(struct gc *g, const struct ks_type *t, json_t *obj, const char *fin)
{
	json_t *fins = jx_path(obj, "metadata", "finalizers", NULL), *keep = json_array(), *f;
	size_t i;
	json_array_foreach(fins, i, f)
		if (!str_eq_null(json_string_value(f), fin))
			json_array_append(keep, f);
	if (json_array_size(keep))
		json_object_set_new(json_object_get(obj, "metadata"), "finalizers", keep);
	else {
		json_decref(keep);
		json_object_del(json_object_get(obj, "metadata"), "finalizers");
	}
	put(g, t, obj);
}

static bool has_finalizer(const json_t *obj, const char *fin)
{
	size_t i;
	json_t *f;
	json_array_foreach(jx_path(obj, "metadata", "finalizers", NULL), i, f)
		if (str_eq_null(json_string_value(f), fin))
			return true;
	return false;
}

static void owner_check(struct gc *g, const struct ks_type *t, const char *ns, const char *name)
{
	json_t *owner = NULL;
	const char *uid;
	struct deps *d;

	if (store_get(g->s, t, t->namespaced ? ns : NULL, name, &owner) < 0)
		return;
	uid = jx_path_str(owner, "metadata", "uid", NULL);
	if (!uid || !jx_path(owner, "metadata", "deletionTimestamp", NULL) || !has_gc_finalizer(owner)) {
		json_decref(owner);
		return;
	}
	d = deps_of(g, uid);
	if (has_finalizer(owner, FIN_ORPHAN)) {
		for (size_t i = 0; d && i < d->n; i++)
			check_dependent(g, d->v[i].t, d->v[i].ns, d->v[i].name, uid, true, NULL);
		drop_finalizer(g, t, owner, FIN_ORPHAN);
	} else {
		/* Foreground: delete dependents, wait for the blocking ones. */
		bool waiting = false;
		for (size_t i = 0; d && i < d->n; i++) {
			json_t *dep = NULL;
			bool blocking = false;
			if (store_get(g->s, d->v[i].t, d->v[i].t->namespaced ? d->v[i].ns : NULL, d->v[i].name, &dep) < 0)
				continue;
			if (refers_to(dep, uid, &blocking)) {
				if (!jx_path(dep, "metadata", "deletionTimestamp", NULL))
					delete_obj(g, d->v[i].t, d->v[i].ns, d->v[i].name,
						   jx_path_str(dep, "metadata", "uid", NULL), "Foreground");
				if (blocking) {
					/* still there after the delete? */
					json_t *again = NULL;
					if (store_get(g->s, d->v[i].t, d->v[i].t->namespaced ? d->v[i].ns : NULL,
						      d->v[i].name, &again) == 0 &&
					    str_eq_null(jx_path_str(again, "metadata", "uid", NULL),
							jx_path_str(dep, "metadata", "uid", NULL)))
						waiting = true;
					json_decref(again);
				}
			}
			json_decref(dep);
		}
		if (!waiting)
			drop_finalizer(g, t, owner, FIN_FOREGROUND);
	}
	deps_free(d);
	json_decref(owner);
}

static void owner_gone(struct gc *g, const char *uid)
{
	struct deps *d = deps_of(g, uid);
	for (size_t i = 0; d && i < d->n; i++)
		check_dependent(g, d->v[i].t, d->v[i].ns, d->v[i].name, uid, false, "Background");
	deps_free(d);
}

static void *worker(void *arg)
{
	struct gc *g = arg;

	store_foreach(g->s, on_existing, g);
	pthread_mutex_lock(&g->mu);
	while (!g->stop) {
		if (g->qn == 0) {
			pthread_cond_wait(&g->cv, &g->mu);
			continue;
		}
		struct task t = g->q[0];
		memmove(g->q, g->q + 1, (g->qn - 1) * sizeof(*g->q));
		g->qn--;
		pthread_mutex_unlock(&g->mu);
		switch (t.op) {
		case TASK_OWNER_GONE:
			owner_gone(g, t.uid);
			break;
		case TASK_OWNER_CHECK:
			if (!t.t && t.av && t.kind)
				t.t = store_type_by_kind(g->s, t.av, t.kind);
			if (t.t)
				owner_check(g, t.t, t.t->namespaced ? t.ns : NULL, t.name);
			break;
		case TASK_DEP_CHECK:
			check_dependent(g, t.t, t.ns, t.name, NULL, false, "Background");
			break;
		}
		free(t.ns);
		free(t.name);
		free(t.uid);
		free(t.av);
		free(t.kind);
		pthread_mutex_lock(&g->mu);
	}
	pthread_mutex_unlock(&g->mu);
	return NULL;
}

int gc_start(struct ks_store *s, struct gc **ret)
{
	struct gc *g = calloc(1, sizeof(*g));

	if (!g)
		return err_set(BERR_NOMEM, "gc: out of memory");
	g->s = s;
	kmap_init(&g->index);
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->cv, NULL);
	g->sub = store_subscribe(s, on_change, g);
	if (g->sub < 0 || pthread_create(&g->thread, NULL, worker, g) != 0) {
		if (g->sub >= 0)
			store_unsubscribe(s, g->sub);
		kmap_release(&g->index);
		pthread_mutex_destroy(&g->mu);
		pthread_cond_destroy(&g->cv);
		free(g);
		return err_set(BERR_INTERNAL, "gc: cannot start the worker");
	}
	g->started = true;
	*ret = g;
	return 0;
}

void gc_stop(struct gc *g)
{
	size_t it;

	if (!g)
		return;
	store_unsubscribe(g->s, g->sub);
	pthread_mutex_lock(&g->mu);
	g->stop = true;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
	if (g->started)
		pthread_join(g->thread, NULL);
	for (size_t i = 0; i < g->qn; i++) {
		free(g->q[i].ns);
		free(g->q[i].name);
		free(g->q[i].uid);
		free(g->q[i].av);
		free(g->q[i].kind);
	}
	free(g->q);
	for (struct kmap_entry *e = kmap_first(&g->index, &it); e; e = kmap_next(&g->index, e, &it))
		deps_free(e->value);
	kmap_release(&g->index);
	pthread_mutex_destroy(&g->mu);
	pthread_cond_destroy(&g->cv);
	free(g);
}
