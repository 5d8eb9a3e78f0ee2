/* syncplan — see syncplan.h. */
#include "syncplan.h"

#include <stdlib.h>
#include <string.h>

#include "annot.h"
#include "err.h"
#include "jsonx.h"
#include "str.h"

#define SYNCPLAN_MAX_OBJECTS 100000

/* Helm's install order, as gitops-engine uses it. */
static const char *const kind_order[] = {
	"Namespace",
	"NetworkPolicy",
	"ResourceQuota",
	"LimitRange",
	"PodSecurityPolicy",
	"PodDisruptionBudget",
	"ServiceAccount",
	"Secret",
	"SecretList",
	"ConfigMap",
	"StorageClass",
	"PersistentVolume",
	"PersistentVolumeClaim",
	"CustomResourceDefinition",
	"ClusterRole",
	"ClusterRoleList",
	"ClusterRoleBinding",
	"ClusterRoleBindingList",
	"Role",
	"RoleList",
	"RoleBinding",
	"RoleBindingList",
	"Service",
	"DaemonSet",
	"Pod",
	"ReplicationController",
	"ReplicaSet",
	"Deployment",
	"HorizontalPodAutoscaler",
	"StatefulSet",
	"Job",
	"CronJob",
	"IngressClass",
	"Ingress",
	"APIService",
};

#define N_KINDS ((int)(sizeof(kind_order) / sizeof(kind_order[0])))

int syncplan_kind_order(const char *kind)
{
	for (int i = 0; kind && i < N_KINDS; i++)
		if (strcmp(kind_order[i], kind) == 0)
			return i - N_KINDS;
	return 0;
}

const char *syncplan_phase_name(enum syncplan_phase phase)
{
	switch (phase) {
	case SYNCPLAN_PRESYNC:
		return "PreSync";
	case SYNCPLAN_SYNC:
		return "Sync";
	case SYNCPLAN_POSTSYNC:
		return "PostSync";
	case SYNCPLAN_SYNCFAIL:
		return "SyncFail";
	}
	return "Sync";
}

/* ---- building tasks -------------------------------------------------- */

struct tasks {
	struct syncplan_task *v;
	size_t n, cap;
};

static int tasks_push(struct tasks *t, const struct syncplan_task *task)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		struct syncplan_task *v = realloc(t->v, cap * sizeof(*v));
		if (!v)
			return err_set(BERR_NOMEM, "out of memory");
		t->v = v;
		t->cap = cap;
	}
	t->v[t->n++] = *task;
	return 0;
}

static void task_init(struct syncplan_task *t, const json_t *obj, size_t input)
{
	const char *name = jx_path_str(obj, "metadata", "name", NULL);
	const char *ns = jx_path_str(obj, "metadata", "namespace", NULL);

	memset(t, 0, sizeof(*t));
	t->obj = obj;
	t->kind = jx_str(obj, "kind");
	t->name = name ? name : "";
	t->ns = ns ? ns : "";
	t->kind_order = syncplan_kind_order(t->kind);
	t->input = input;
	t->phase = SYNCPLAN_SYNC;
}

static int add_desired(struct tasks *run, struct tasks *fail, const json_t *obj, size_t idx,
		       size_t *n_skipped)
{
	static const struct {
		unsigned bit;
		enum syncplan_phase phase;
	} phases[] = {
		{ANNOT_HOOK_PRESYNC, SYNCPLAN_PRESYNC},
		{ANNOT_HOOK_SYNC, SYNCPLAN_SYNC},
		{ANNOT_HOOK_POSTSYNC, SYNCPLAN_POSTSYNC},
		{ANNOT_HOOK_SYNCFAIL, SYNCPLAN_SYNCFAIL},
	};
	struct syncplan_task t;
	struct annot a;
	bool any = false;
	int rc;

	if ((rc = annot_parse(obj, &a)) < 0)
		return rc;
	task_init(&t, obj, idx);
	t.wave = a.wave;
	t.sync_options = a.sync_options;
	if (a.skip) {
		(*n_skipped)++;
		goto out;
	}
	if (!a.is_hook) {
		rc = tasks_push(run, &t);
		goto out;
	}
	t.hook = true;
	t.delete_policies = a.delete_policies;
	for (size_t i = 0; i < sizeof(phases) / sizeof(phases[0]) && rc == 0; i++) {
		if (!(a.hooks & phases[i].bit))
			continue;
		any = true;
		t.phase = phases[i].phase;
		rc = tasks_push(t.phase == SYNCPLAN_SYNCFAIL ? fail : run, &t);
	}
	if (!any)
		(*n_skipped)++;
out:
	annot_release(&a);
	return rc;
}

static int add_prune(struct tasks *run, const json_t *live, size_t idx, size_t *n_disabled)
{
	struct syncplan_task t;
	struct annot a;

	task_init(&t, live, idx);
	t.prune = true;
	/* A live object's annotations may be anything; a bad wave reads as 0
	 * rather than blocking the prune. */
	if (annot_parse(live, &a) < 0) {
		err_clear();
		return tasks_push(run, &t);
	}
	t.wave = a.wave;
	t.sync_options = a.sync_options;
	annot_release(&a);
	if (t.sync_options & ANNOT_SYNC_PRUNE_FALSE) {
		(*n_disabled)++;
		return 0;
	}
	return tasks_push(run, &t);
}

static int int_cmp(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

/* The last wave created is pruned first: swap prune waves symmetrically
 * (sorted unique waves w0 < w1 < ... < wk: w0 <-> wk, w1 <-> wk-1, ...). */
static int mirror_prune_waves(struct tasks *t)
{
	int *waves;
	size_t n = 0;

	if (!(waves = malloc((t->n ? t->n : 1) * sizeof(*waves))))
		return err_set(BERR_NOMEM, "out of memory");
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].prune)
			waves[n++] = t->v[i].wave;
	qsort(waves, n, sizeof(*waves), int_cmp);
	{
		size_t u = 0;
		for (size_t i = 0; i < n; i++)
			if (u == 0 || waves[u - 1] != waves[i])
				waves[u++] = waves[i];
		n = u;
	}
	for (size_t i = 0; i < t->n; i++) {
		if (!t->v[i].prune)
			continue;
		int *w = bsearch(&t->v[i].wave, waves, n, sizeof(*waves), int_cmp);
		t->v[i].wave = waves[n - 1 - (size_t)(w - waves)];
	}
	free(waves);
	return 0;
}

static void prune_last(struct tasks *t, bool app_prune_last)
{
	int last = 0;

	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].phase == SYNCPLAN_SYNC && t->v[i].wave > last)
			last = t->v[i].wave;
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].prune && (app_prune_last || (t->v[i].sync_options & ANNOT_SYNC_PRUNE_LAST)))
			t->v[i].wave = last + 1;
}

static int task_cmp(const void *pa, const void *pb)
{
	const struct syncplan_task *a = pa, *b = pb;
	int d;

	if (a->phase != b->phase)
		return a->phase < b->phase ? -1 : 1;
	if (a->wave != b->wave)
		return a->wave < b->wave ? -1 : 1;
	if (a->kind_order != b->kind_order)
		return a->kind_order < b->kind_order ? -1 : 1;
	if ((d = strcmp(a->name, b->name)) != 0)
		return d;
	if ((d = strcmp(a->ns, b->ns)) != 0)
		return d;
	if (a->input != b->input)
		return a->input < b->input ? -1 : 1;
	return (int)a->prune - (int)b->prune;
}

/* ---- dependencies: namespaces and CRDs first -------------------------- */

struct dep_index {
	char **keys;
	size_t *first;
	size_t n;
};

static void dep_index_release(struct dep_index *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->keys[i]);
	free(d->keys);
	free(d->first);
}

static size_t *dep_find(struct dep_index *d, const char *key)
{
	for (size_t i = 0; i < d->n; i++)
		if (strcmp(d->keys[i], key) == 0)
			return &d->first[i];
	return NULL;
}

static int dep_add(struct dep_index *d, const char *key, size_t index)
{
	char **keys = realloc(d->keys, (d->n + 1) * sizeof(*keys));
	size_t *first;
	if (!keys)
		return err_set(BERR_NOMEM, "out of memory");
	d->keys = keys;
	if (!(first = realloc(d->first, (d->n + 1) * sizeof(*first))))
		return err_set(BERR_NOMEM, "out of memory");
	d->first = first;
	if (!(d->keys[d->n] = str_dup(key)))
		return err_set(BERR_NOMEM, "out of memory");
	d->first[d->n++] = index;
	return 0;
}

enum dep_kind { DEP_NAMESPACE, DEP_CRD };

/* Writes the key a task provides (when it is a dependency) or refers to.
 * Returns 1 for a dependency, 2 for a reference, 0 for neither. */
static int dep_key(enum dep_kind which, const struct syncplan_task *t, char *key, size_t size)
{
	char group[256];

	annot_api_group(t->obj, group, sizeof(group));
	if (which == DEP_NAMESPACE) {
		if (strcmp(t->kind, "Namespace") == 0 && group[0] == '\0') {
			snprintf(key, size, "%s", t->name);
			return 1;
		}
		if (t->ns[0]) {
			snprintf(key, size, "%s", t->ns);
			return 2;
		}
		return 0;
	}
	if (strcmp(t->kind, "CustomResourceDefinition") == 0 && strcmp(group, "apiextensions.k8s.io") == 0) {
		const char *g = jx_path_str(t->obj, "spec", "group", NULL);
		const char *k = jx_path_str(t->obj, "spec", "names", "kind", NULL);
		if (!g || !k)
			return 0;
		snprintf(key, size, "%s/%s", g, k);
		return 1;
	}
	snprintf(key, size, "%s/%s", group, t->kind);
	return 2;
}

/* gitops-engine's adjustDeps: walk the sorted tasks; a dependency found
 * after a task that refers to it moves in front of that task and takes its
 * phase and wave. Prune tasks neither provide nor refer. */
static int adjust_deps(struct tasks *t, enum dep_kind which)
{
	struct dep_index d = {0};
	char key[600];
	int rc = 0;

	for (size_t i = 0; i < t->n && rc == 0; i++) {
		struct syncplan_task cur = t->v[i];
		size_t *first;
		int kind;

		if (cur.prune)
			continue;
		kind = dep_key(which, &cur, key, sizeof(key));
		if (kind == 1 && (first = dep_find(&d, key))) {
			size_t at = *first;
			cur.wave = t->v[at].wave;
			cur.phase = t->v[at].phase;
			memmove(&t->v[at + 1], &t->v[at], (i - at) * sizeof(*t->v));
			t->v[at] = cur;
			for (size_t k = 0; k < d.n; k++)
				if (d.first[k] >= at)
					d.first[k]++;
		} else if (kind == 2 && !dep_find(&d, key)) {
			rc = dep_add(&d, key, i);
		}
	}
	dep_index_release(&d);
	return rc;
}

/* ---- public ------------------------------------------------------------ */

static int check_input(const json_t *arr, const char *what)
{
	size_t i;
	json_t *o;

	if (!json_is_array(arr))
		return err_set(BERR_INVALID, "sync plan: %s is not a list of objects", what);
	if (json_array_size(arr) > SYNCPLAN_MAX_OBJECTS)
		return err_set(BERR_TOOLARGE, "sync plan: %zu %s objects, at most %d", json_array_size(arr), what,
			       SYNCPLAN_MAX_OBJECTS);
	json_array_foreach(arr, i, o) {
		if (!json_is_object(o) || !jx_str(o, "kind"))
			return err_set(BERR_INVALID, "sync plan: %s object %zu has no kind", what, i);
	}
	return 0;
}

int syncplan_build(const json_t *desired, const json_t *prune, const struct syncplan_options *opts,
		   struct syncplan *out)
{
	struct tasks run = {0}, fail = {0};
	struct syncplan p = {0};
	size_t i;
	json_t *o;
	int rc;

	if ((rc = check_input(desired, "desired")) < 0 || (prune && (rc = check_input(prune, "prune")) < 0))
		return rc;
	json_array_foreach(desired, i, o) {
		if ((rc = add_desired(&run, &fail, o, i, &p.n_skipped)) < 0)
			goto fail;
	}
	if (prune) {
		json_array_foreach(prune, i, o) {
			if ((rc = add_prune(&run, o, i, &p.n_prune_disabled)) < 0)
				goto fail;
		}
	}
	if ((rc = mirror_prune_waves(&run)) < 0)
		goto fail;
	prune_last(&run, opts && opts->prune_last);
	if (run.n)
		qsort(run.v, run.n, sizeof(*run.v), task_cmp);
	if (fail.n)
		qsort(fail.v, fail.n, sizeof(*fail.v), task_cmp);
	if ((rc = adjust_deps(&run, DEP_NAMESPACE)) < 0 || (rc = adjust_deps(&run, DEP_CRD)) < 0)
		goto fail;
	p.tasks = run.v;
	p.n = run.n;
	p.fail_tasks = fail.v;
	p.n_fail = fail.n;
	*out = p;
	return 0;
fail:
	free(run.v);
	free(fail.v);
	return rc;
}

void syncplan_release(struct syncplan *p)
{
	if (!p)
		return;
	free(p->tasks);
	free(p->fail_tasks);
	memset(p, 0, sizeof(*p));
}

size_t syncplan_step(const struct syncplan *p, size_t from)
{
	size_t i;

	if (from >= p->n)
		return from;
	for (i = from + 1; i < p->n; i++)
		if (p->tasks[i].phase != p->tasks[from].phase || p->tasks[i].wave != p->tasks[from].wave)
			break;
	return i;
}
