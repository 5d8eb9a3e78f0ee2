/* types — see types.h. */
#include "types.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "jsonx.h"
#include "str.h"

/* Flags of the built-in table. */
#define NS 0x01     /* namespaced */
#define ST 0x02     /* status subresource */
#define SC 0x04     /* scale subresource */
#define GEN 0x08    /* maintains metadata.generation */

struct builtin {
	const char *group, *version, *kind, *plural, *singular, *shorts, *cats;
	unsigned flags;
};

/* Built-in types as kube-apiserver 1.32 serves them (names, short names and
 * categories as `kubectl api-resources` shows them). */
static const struct builtin builtins[] = {
	{ "", "v1", "Namespace", "namespaces", "namespace", "ns", NULL, ST },
	{ "", "v1", "ConfigMap", "configmaps", "configmap", "cm", NULL, NS },
	{ "", "v1", "Secret", "secrets", "secret", NULL, NULL, NS },
	{ "", "v1", "Service", "services", "service", "svc", "all", NS | ST },
	{ "", "v1", "ServiceAccount", "serviceaccounts", "serviceaccount", "sa", NULL, NS },
	{ "", "v1", "Pod", "pods", "pod", "po", "all", NS | ST },
	{ "", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", "persistentvolumeclaim", "pvc", NULL, NS | ST },
	{ "", "v1", "PersistentVolume", "persistentvolumes", "persistentvolume", "pv", NULL, ST },
	{ "", "v1", "Endpoints", "endpoints", "endpoints", "ep", NULL, NS },
	{ "", "v1", "Event", "events", "event", "ev", NULL, NS },
	{ "", "v1", "ReplicationController", "replicationcontrollers", "replicationcontroller", "rc", "all", NS | ST | SC | GEN },
	{ "", "v1", "Node", "nodes", "node", "no", NULL, ST },
	{ "", "v1", "LimitRange", "limitranges", "limitrange", "limits", NULL, NS },
	{ "", "v1", "ResourceQuota", "resourcequotas", "resourcequota", "quota", NULL, NS | ST },
	{ "apps", "v1", "Deployment", "deployments", "deployment", "deploy", "all", NS | ST | SC | GEN },
	{ "apps", "v1", "StatefulSet", "statefulsets", "statefulset", "sts", "all", NS | ST | SC | GEN },
	{ "apps", "v1", "DaemonSet", "daemonsets", "daemonset", "ds", "all", NS | ST | GEN },
	{ "apps", "v1", "ReplicaSet", "replicasets", "replicaset", "rs", "all", NS | ST | SC | GEN },
	{ "apps", "v1", "ControllerRevision", "controllerrevisions", "controllerrevision", NULL, NULL, NS },
	{ "batch", "v1", "Job", "jobs", "job", NULL, "all", NS | ST | GEN },
	{ "batch", "v1", "CronJob", "cronjobs", "cronjob", "cj", "all", NS | ST | GEN },
	{ "networking.k8s.io", "v1", "Ingress", "ingresses", "ingress", "ing", NULL, NS | ST | GEN },
	{ "networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", "networkpolicy", "netpol", NULL, NS | GEN },
	{ "networking.k8s.io", "v1", "IngressClass", "ingressclasses", "ingressclass", NULL, NULL, GEN },
	{ "rbac.authorization.k8s.io", "v1", "Role", "roles", "role", NULL, NULL, NS },
	{ "rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", "rolebinding", NULL, NULL, NS },
	{ "rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", "clusterrole", NULL, NULL, 0 },
	{ "rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", "clusterrolebinding", NULL, NULL, 0 },
	{ "policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", "poddisruptionbudget", "pdb", NULL, NS | ST | GEN },
	{ "autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", "horizontalpodautoscaler", "hpa", "all", NS | ST | GEN },
	{ "coordination.k8s.io", "v1", "Lease", "leases", "lease", NULL, NULL, NS },
	{ "storage.k8s.io", "v1", "StorageClass", "storageclasses", "storageclass", "sc", NULL, 0 },
	{ "apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", "customresourcedefinition", "crd,crds", "api-extensions", ST | GEN },
	{ "apiregistration.k8s.io", "v1", "APIService", "apiservices", "apiservice", NULL, "api-extensions", ST | GEN },
};

/* Splits "a,b" into a NULL-terminated array (empty array for NULL). */
static char **split_list(const char *s)
{
	size_t n = 1;
	for (const char *p = s; p && *p; p++)
		n += *p == ',';
	char **out = calloc(n + 1, sizeof(*out));
	if (!out || !s)
		return out;
	size_t i = 0;
	const char *start = s;
	for (const char *p = s;; p++) {
		if (*p == ',' || !*p) {
			out[i++] = strndup(start, (size_t)(p - start));
			if (!*p)
				break;
			start = p + 1;
		}
	}
	return out;
}

static char **list_from_json(const json_t *arr)
{
	size_t n = json_is_array(arr) ? json_array_size(arr) : 0;
	char **out = calloc(n + 1, sizeof(*out));
	size_t j = 0;
	for (size_t i = 0; out && i < n; i++)
		if (json_is_string(json_array_get(arr, i)))
			out[j++] = str_dup(json_string_value(json_array_get(arr, i)));
	return out;
}

static void free_list(char **l)
{
	for (char **p = l; p && *p; p++)
		free(*p);
	free(l);
}

static void tstate_free(struct ks_tstate *ts)
{
	if (!ts)
		return;
	free(ts->t.group);
	free(ts->t.version);
	free(ts->t.kind);
	free(ts->t.list_kind);
	free(ts->t.plural);
	free(ts->t.singular);
	free_list(ts->t.short_names);
	free_list(ts->t.categories);
	free(ts->t.crd_name);
	free(ts->t.scale_spec_path);
	free(ts->t.scale_status_path);
	free(ts->t.scale_selector_path);
	json_decref(ts->t.schema);
	kmap_release(&ts->objs);
	free(ts->ring);
	free(ts);
}

static void set_api_version(struct ks_tstate *ts)
{
	if (*ts->t.group)
		snprintf(ts->api_version, sizeof(ts->api_version), "%s/%s", ts->t.group, ts->t.version);
	else
		str_copy(ts->api_version, ts->t.version, sizeof(ts->api_version));
}

static struct ks_tstate *tstate_new(const char *group, const char *version, const char *kind, const char *plural,
				    const char *singular, size_t ring_cap)
{
	struct ks_tstate *ts = calloc(1, sizeof(*ts));
	if (!ts)
		return NULL;
	ts->t.group = str_dup(group);
	ts->t.version = str_dup(version);
	ts->t.kind = str_dup(kind);
	ts->t.list_kind = str_printf("%sList", kind);
	ts->t.plural = str_dup(plural);
	ts->t.singular = str_dup(singular);
	kmap_init(&ts->objs);
	ts->ring_cap = ring_cap ? ring_cap : 1;
	ts->ring = calloc(ts->ring_cap, sizeof(*ts->ring));
	if (!ts->t.group || !ts->t.version || !ts->t.kind || !ts->t.list_kind || !ts->t.plural || !ts->t.singular ||
	    !ts->ring) {
		tstate_free(ts);
		return NULL;
	}
	set_api_version(ts);
	return ts;
}

static int registry_push(struct ks_registry *r, struct ks_tstate *ts)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		struct ks_tstate **t = realloc(r->types, cap * sizeof(*t));
		if (!t)
			return BERR_NOMEM;
		r->types = t;
		r->cap = cap;
	}
	r->types[r->n++] = ts;
	return 0;
}

int registry_init(struct ks_registry *r, size_t ring_cap)
{
	memset(r, 0, sizeof(*r));
	pthread_rwlock_init(&r->lock, NULL);
	r->graveyard = json_array();
	if (!r->graveyard)
		return BERR_NOMEM;
	for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++) {
		const struct builtin *b = &builtins[i];
		struct ks_tstate *ts = tstate_new(b->group, b->version, b->kind, b->plural, b->singular, ring_cap);
		if (!ts)
			return BERR_NOMEM;
		ts->t.short_names = split_list(b->shorts);
		ts->t.categories = split_list(b->cats);
		ts->t.namespaced = b->flags & NS;
		ts->t.has_status = b->flags & ST;
		ts->t.has_scale = b->flags & SC;
		ts->t.has_generation = b->flags & GEN;
		ts->t.served = true;
		if (!ts->t.short_names || !ts->t.categories || registry_push(r, ts) < 0) {
			tstate_free(ts);
			return BERR_NOMEM;
		}
	}
	return 0;
}

void registry_release(struct ks_registry *r)
{
	for (size_t i = 0; i < r->n; i++)
		tstate_free(r->types[i]);
	free(r->types);
	json_decref(r->graveyard);
	for (size_t i = 0; i < r->nold; i++)
		free(r->old_strings[i]);
	free(r->old_strings);
	pthread_rwlock_destroy(&r->lock);
	memset(r, 0, sizeof(*r));
}

static bool has_resource(const struct ks_tstate *ts, const char *group, const char *resource)
{
	return strcmp(ts->t.group, group) == 0 && strcmp(ts->t.plural, resource) == 0;
}

static bool has_kind(const struct ks_tstate *ts, const char *api_version, const char *kind)
{
	return strcmp(ts->api_version, api_version) == 0 && strcmp(ts->t.kind, kind) == 0;
}

/* The first type (served ones only, if asked) for which match(ts, a, b). */
static struct ks_tstate *registry_first(struct ks_registry *r, bool served_only,
					bool (*match)(const struct ks_tstate *, const char *, const char *),
					const char *a, const char *b)
{
	struct ks_tstate *found = NULL;
	pthread_rwlock_rdlock(&r->lock);
	for (size_t i = 0; i < r->n && !found; i++) {
		struct ks_tstate *ts = r->types[i];
		if ((!served_only || ts->t.served) && match(ts, a, b))
			found = ts;
	}
	pthread_rwlock_unlock(&r->lock);
	return found;
}

struct ks_tstate *registry_find(struct ks_registry *r, const char *group, const char *resource, bool served_only)
{
	return registry_first(r, served_only, has_resource, group, resource);
}

struct ks_tstate *registry_by_kind(struct ks_registry *r, const char *api_version, const char *kind, bool served_only)
{
	return registry_first(r, served_only, has_kind, api_version, kind);
}

static int crd_invalid(const char *field, const char *msg)
{
	err_set(BERR_INVALID, "%s: %s", field, msg);
	err_set_status(422, "Invalid");
	return BERR_INVALID;
}

static bool dns_label_ok(const char *s, bool allow_dots)
{
	if (!s || !*s || strlen(s) > 253)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || (allow_dots && *p == '.')))
			return false;
	return s[0] != '-' && s[strlen(s) - 1] != '-';
}

int registry_validate_crd(const json_t *crd)
{
	const char *name = jx_path_str(crd, "metadata", "name", NULL);
	json_t *spec = json_object_get(crd, "spec");
	const char *group = jx_str(spec, "group");
	json_t *names = json_object_get(spec, "names");
	const char *plural = jx_str(names, "plural");
	const char *kind = jx_str(names, "kind");
	const char *scope = jx_str(spec, "scope");
	json_t *versions = json_object_get(spec, "versions");
	if (!group || !dns_label_ok(group, true) || !strchr(group, '.'))
		return crd_invalid("spec.group", "Invalid value: should be a domain with at least one dot");
	if (!plural || !dns_label_ok(plural, false))
		return crd_invalid("spec.names.plural", "Required value");
	if (!kind || !*kind)
		return crd_invalid("spec.names.kind", "Required value");
	if (!scope || (strcmp(scope, "Namespaced") != 0 && strcmp(scope, "Cluster") != 0))
		return crd_invalid("spec.scope", "Unsupported value: must be Namespaced or Cluster");
	char *want = str_printf("%s.%s", plural, group);
	bool ok = want && name && strcmp(want, name) == 0;
	free(want);
	if (!ok)
		return crd_invalid("metadata.name", "Invalid value: must be spec.names.plural+\".\"+spec.group");
	if (!json_is_array(versions) || json_array_size(versions) == 0)
		return crd_invalid("spec.versions", "Invalid value: must have exactly one version marked as storage version");
	size_t storage = 0, i;
	json_t *v;
	json_array_foreach(versions, i, v) {
		if (!jx_str(v, "name"))
			return crd_invalid("spec.versions[].name", "Required value");
		storage += json_is_true(json_object_get(v, "storage"));
	}
	if (storage != 1)
		return crd_invalid("spec.versions", "Invalid value: must have exactly one version marked as storage version");
	return 0;
}

/* The version entry a custom type is served as: the storage version if it is
 * served, else the first served one. */
static json_t *crd_pick_version(const json_t *versions)
{
	size_t i;
	json_t *v, *first_served = NULL;
	json_array_foreach(versions, i, v) {
		bool served = json_is_true(json_object_get(v, "served"));
		if (served && json_is_true(json_object_get(v, "storage")))
			return v;
		if (served && !first_served)
			first_served = v;
	}
	return first_served;
}

int registry_add_crd(struct ks_registry *r, const json_t *crd, size_t ring_cap, struct ks_tstate **ret)
{
	json_t *spec = json_object_get(crd, "spec");
	json_t *names = json_object_get(spec, "names");
	const char *group = jx_str(spec, "group");
	const char *plural = jx_str(names, "plural");
	const char *kind = jx_str(names, "kind");
	const char *singular = jx_str(names, "singular");
	const char *crd_name = jx_path_str(crd, "metadata", "name", NULL);
	json_t *ver = crd_pick_version(json_object_get(spec, "versions"));
	if (!group || !plural || !kind || !ver || !crd_name)
		return err_set(BERR_INVALID, "customresourcedefinition: incomplete");
	char *lower = NULL;
	if (!singular) {
		lower = str_dup(kind);
		for (char *p = lower; p && *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		singular = lower;
	}
	int rc = 0;
	pthread_rwlock_wrlock(&r->lock);
	struct ks_tstate *ts = NULL;
	for (size_t i = 0; i < r->n; i++) {
		if (r->types[i]->t.crd_name && strcmp(r->types[i]->t.crd_name, crd_name) == 0) {
			ts = r->types[i];
			break;
		}
	}
	if (ts && strcmp(ts->t.version, jx_str(ver, "name")) != 0) {
		/* The served version changed: keep the entry, rename. */
		free(ts->t.version);
		ts->t.version = str_dup(jx_str(ver, "name"));
		set_api_version(ts);
	}
	if (!ts) {
		ts = tstate_new(group, jx_str(ver, "name"), kind, plural, singular ? singular : "", ring_cap);
		if (!ts) {
			rc = BERR_NOMEM;
			goto out;
		}
		ts->t.crd_name = str_dup(crd_name);
		ts->t.custom = true;
		ts->t.has_generation = true;
		if ((rc = registry_push(r, ts)) < 0) {
			tstate_free(ts);
			goto out;
		}
	}
	free_list(ts->t.short_names);
	free_list(ts->t.categories);
	ts->t.short_names = list_from_json(json_object_get(names, "shortNames"));
	ts->t.categories = list_from_json(json_object_get(names, "categories"));
	/* Readers use list_kind without the registry lock: replace it only
	 * when it really changes (the old string goes to the graveyard). */
	const char *lk = jx_str(names, "listKind");
	if (lk && strcmp(lk, ts->t.list_kind) != 0) {
		char **old = realloc(r->old_strings, (r->nold + 1) * sizeof(*old));
		if (old) {
			r->old_strings = old;
			r->old_strings[r->nold++] = ts->t.list_kind;
			ts->t.list_kind = str_dup(lk);
		}
	}
	ts->t.namespaced = strcmp(jx_str(spec, "scope") ? jx_str(spec, "scope") : "", "Namespaced") == 0;
	json_t *sub = json_object_get(ver, "subresources");
	ts->t.has_status = json_object_get(sub, "status") != NULL;
	json_t *scale = json_object_get(sub, "scale");
	ts->t.has_scale = scale != NULL;
	free(ts->t.scale_spec_path);
	free(ts->t.scale_status_path);
	free(ts->t.scale_selector_path);
	ts->t.scale_spec_path = str_dup(jx_str(scale, "specReplicasPath"));
	ts->t.scale_status_path = str_dup(jx_str(scale, "statusReplicasPath"));
	ts->t.scale_selector_path = str_dup(jx_str(scale, "labelSelectorPath"));
	if (ts->t.schema)
		json_array_append_new(r->graveyard, ts->t.schema);
	ts->t.schema = json_deep_copy(jx_path(ver, "schema", "openAPIV3Schema", NULL));
	ts->t.served = true;
	if (ret)
		*ret = ts;
out:
	pthread_rwlock_unlock(&r->lock);
	free(lower);
	return rc;
}

void registry_unserve_crd(struct ks_registry *r, const char *crd_name)
{
	pthread_rwlock_wrlock(&r->lock);
	for (size_t i = 0; i < r->n; i++)
		if (r->types[i]->t.crd_name && strcmp(r->types[i]->t.crd_name, crd_name) == 0)
			r->types[i]->t.served = false;
	pthread_rwlock_unlock(&r->lock);
}
