/*
 * write — the write semantics of the store (store.h): create, update,
 * patch and delete with the API server's rules (KUBE-API.md §4, §5):
 * server-owned metadata, generation, status subresource split, no-op writes
 * keeping the RV, finalizers and deletionTimestamp, namespace existence and
 * termination, CRD registration and custom-resource pruning and defaulting.
 *
 * Every public function takes the store write lock for its whole decision,
 * so a write is atomic; namespace and CRD cleanup (which delete many
 * objects) run after the lock is released, one delete at a time.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "err.h"
#include "jsonx.h"
#include "osrand.h"
#include "patch.h"
#include "store.h"
#include "store_int.h"
#include "str.h"
#include "types.h"

static const char *manager_of(const struct ks_write_opts *o)
{
	return o && o->field_manager && *o->field_manager ? o->field_manager : "unknown";
}

static const char *sub_name(const struct ks_write_opts *o)
{
	if (!o)
		return NULL;
	return o->sub == KS_SUB_STATUS ? "status" : o->sub == KS_SUB_SCALE ? "scale" : NULL;
}

static void uuid_v4(char out[37])
{
	unsigned char r[16];
	if (osrand_bytes(r, sizeof(r)) < 0)
		memset(r, 0x5a, sizeof(r));
	r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
	r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2],
		 r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14], r[15]);
}

/* What the server sets on every object it creates: a new uid, the creation
 * time and, for types that have one, generation 1. */
static void stamp_created(const struct ks_type *t, json_t *meta)
{
	char uid[37], now[32];
	uuid_v4(uid);
	clock_now_rfc3339(now, sizeof(now));
	json_object_set_new(meta, "uid", json_string(uid));
	json_object_set_new(meta, "creationTimestamp", json_string(now));
	if (t->has_generation)
		json_object_set_new(meta, "generation", json_integer(1));
}

static void random_suffix(char out[6])
{
	static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
	unsigned char r[5];
	if (osrand_bytes(r, sizeof(r)) < 0)
		memset(r, 7, sizeof(r));
	for (int i = 0; i < 5; i++)
		out[i] = alphabet[r[i] % (sizeof(alphabet) - 1)];
	out[5] = '\0';
}

/* ---- validation ------------------------------------------------------------ */

static bool rfc1123_subdomain(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 253)
		return false;
	for (const char *p = s; *p; p++)
		if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '-' || *p == '.'))
			return false;
	return isalnum((unsigned char)s[0]) && isalnum((unsigned char)s[n - 1]);
}

static bool label_value_ok(const char *v)
{
	size_t n = strlen(v);
	if (n > 63)
		return false;
	for (const char *p = v; *p; p++)
		if (!(isalnum((unsigned char)*p) || *p == '-' || *p == '_' || *p == '.'))
			return false;
	return n == 0 || (isalnum((unsigned char)v[0]) && isalnum((unsigned char)v[n - 1]));
}

static bool label_key_ok(const char *k)
{
	const char *slash = strrchr(k, '/');
	const char *name = slash ? slash + 1 : k;
	if (slash) {
		char prefix[256];
		size_t pl = (size_t)(slash - k);
		if (pl == 0 || pl >= sizeof(prefix))
			return false;
		memcpy(prefix, k, pl);
		prefix[pl] = '\0';
		if (!rfc1123_subdomain(prefix))
			return false;
	}
	return *name && label_value_ok(name);
}

static int validate_meta(const struct ks_type *t, const json_t *obj)
{
	const char *name = jx_path_str(obj, "metadata", "name", NULL);
	char msg[512];
	if (!name || !*name)
		return store_invalid(t, "", "metadata.name", "FieldValueRequired",
				     "Required value: name or generateName is required");
	if (!rfc1123_subdomain(name)) {
		snprintf(msg, sizeof(msg),
			 "Invalid value: \"%s\": a lowercase RFC 1123 subdomain must consist of lower case "
			 "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
			 name);
		return store_invalid(t, name, "metadata.name", "FieldValueInvalid", msg);
	}
	json_t *labels = jx_path(obj, "metadata", "labels", NULL);
	const char *k;
	json_t *v;
	json_object_foreach(labels, k, v) {
		if (!json_is_string(v) || !label_value_ok(json_string_value(v))) {
			snprintf(msg, sizeof(msg),
				 "Invalid value: \"%s\": a valid label must be an empty string or consist of "
				 "alphanumeric characters, '-', '_' or '.', and must start and end with an "
				 "alphanumeric character; must be no more than 63 characters",
				 json_is_string(v) ? json_string_value(v) : "");
			char field[400];
			snprintf(field, sizeof(field), "metadata.labels");
			return store_invalid(t, name, field, "FieldValueInvalid", msg);
		}
		if (!label_key_ok(k)) {
			snprintf(msg, sizeof(msg), "Invalid value: \"%s\": name part must be no more than 63 characters",
				 k);
			return store_invalid(t, name, "metadata.labels", "FieldValueInvalid", msg);
		}
	}
	json_t *ann = jx_path(obj, "metadata", "annotations", NULL);
	size_t total = 0;
	json_object_foreach(ann, k, v) total += strlen(k) + (json_is_string(v) ? strlen(json_string_value(v)) : 0);
	if (total > 256 * 1024)
		return store_invalid(t, name, "metadata.annotations", "FieldValueTooLong",
				     "Too long: must have at most 262144 bytes");
	return 0;
}

/* ---- custom resources: pruning and schema defaults -------------------------------- */

static void schema_apply(json_t *val, const json_t *schema, bool root)
{
	if (!schema || !val)
		return;
	if (json_is_object(val)) {
		json_t *props = json_object_get(schema, "properties");
		json_t *addl = json_object_get(schema, "additionalProperties");
		bool preserve = json_is_true(json_object_get(schema, "x-kubernetes-preserve-unknown-fields"));
		const char *k;
		json_t *v;
		void *tmp;
		json_object_foreach_safe(val, tmp, k, v) {
			if (root && (strcmp(k, "apiVersion") == 0 || strcmp(k, "kind") == 0 || strcmp(k, "metadata") == 0))
				continue;
			json_t *ps = props ? json_object_get(props, k) : NULL;
			if (ps)
				schema_apply(v, ps, false);
			else if (json_is_object(addl))
				schema_apply(v, addl, false);
			else if (!preserve && !json_is_true(addl) && (props || !json_is_object(addl)))
				json_object_del(val, k);
		}
		/* Defaults of absent properties. */
		json_object_foreach(props, k, v) {
			json_t *def = json_object_get(v, "default");
			if (def && !json_object_get(val, k)) {
				json_t *copy = json_deep_copy(def);
				schema_apply(copy, v, false);
				json_object_set_new(val, k, copy);
			}
		}
	} else if (json_is_array(val)) {
		json_t *items = json_object_get(schema, "items");
		size_t i;
		json_t *v;
		json_array_foreach(val, i, v) schema_apply(v, items, false);
	}
}

static void custom_prune(const struct ks_type *t, json_t *obj)
{
	if (t->schema)
		schema_apply(obj, t->schema, true);
}

/* ---- CRDs ------------------------------------------------------------------------------ */

static json_t *condition(const char *type, const char *status, const char *reason, const char *msg, const char *now)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:s}", "type", type, "status", status, "lastTransitionTime", now, "reason",
			 reason, "message", msg);
}

static void crd_fill_status(json_t *crd)
{
	char now[32];
	clock_now_rfc3339(now, sizeof(now));
	json_t *spec = json_object_get(crd, "spec");
	json_t *names = json_deep_copy(json_object_get(spec, "names"));
	const char *kind = jx_str(names, "kind");
	if (!jx_str(names, "singular") && kind) {
		char *l = str_dup(kind);
		for (char *p = l; p && *p; p++)
			*p = (char)tolower((unsigned char)*p);
		json_object_set_new(names, "singular", json_string(l ? l : ""));
		free(l);
	}
	if (!jx_str(names, "listKind") && kind) {
		char *lk = str_printf("%sList", kind);
		json_object_set_new(names, "listKind", json_string(lk ? lk : ""));
		free(lk);
	}
	/* Spec defaults the real server fills. */
	json_t *specnames = json_object_get(spec, "names");
	if (!jx_str(specnames, "singular"))
		json_object_set(specnames, "singular", json_object_get(names, "singular"));
	if (!jx_str(specnames, "listKind"))
		json_object_set(specnames, "listKind", json_object_get(names, "listKind"));
	if (!json_object_get(spec, "conversion"))
		json_object_set_new(spec, "conversion", json_pack("{s:s}", "strategy", "None"));
	json_t *status = jx_obj_ensure(crd, "status");
	json_t *old_conds = json_object_get(status, "conditions");
	json_t *conds = json_array();
	static const char *const types[][3] = {
		{ "NamesAccepted", "NoConflicts", "no conflicts found" },
		{ "Established", "InitialNamesAccepted", "the initial names have been accepted" },
	};
	for (size_t i = 0; i < 2; i++) {
		json_t *keep = NULL;
		size_t j;
		json_t *c;
		json_array_foreach(old_conds, j, c) if (strcmp(jx_str(c, "type") ? jx_str(c, "type") : "", types[i][0]) == 0 &&
							 strcmp(jx_str(c, "status") ? jx_str(c, "status") : "", "True") == 0) keep = c;
		json_array_append_new(conds, keep ? json_deep_copy(keep) : condition(types[i][0], "True", types[i][1], types[i][2], now));
	}
	json_object_set_new(status, "conditions", conds);
	json_object_set_new(status, "acceptedNames", names);
	json_t *stored = json_array();
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(spec, "versions"), i, v) if (json_is_true(json_object_get(v, "storage")))
		json_array_append_new(stored, json_string(jx_str(v, "name")));
	json_object_set_new(status, "storedVersions", stored);
}

static bool is_kind(const struct ks_type *t, const char *group, const char *kind)
{
	return !t->custom && strcmp(t->group, group) == 0 && strcmp(t->kind, kind) == 0;
}

/* ---- namespaces ------------------------------------------------------------------------- */

static int check_namespace(struct ks_store *s, const struct ks_type *t, const char *ns, const char *name)
{
	struct ks_tstate *nts = registry_find(store_registry(s), "", "namespaces", false);
	struct ks_blob *nb = store_lookup(nts, NULL, ns);
	if (!nb) {
		err_set(BERR_NOTFOUND, "namespaces \"%s\" not found", ns);
		err_set_status(404, "NotFound");
		store_err_details(ns, "", "namespaces", NULL);
		return BERR_NOTFOUND;
	}
	if (jx_path(nb->view, "metadata", "deletionTimestamp", NULL)) {
		char rl[300];
		if (*t->group)
			snprintf(rl, sizeof(rl), "%s.%s", t->plural, t->group);
		else
			str_copy(rl, t->plural, sizeof(rl));
		err_set(BERR_FORBIDDEN, "%s \"%s\" is forbidden: unable to create new content in namespace %s because it is being terminated", rl, name, ns);
		err_set_status(403, "Forbidden");
		json_t *causes = json_pack("[{s:s,s:s,s:s}]", "reason", "NamespaceTerminating", "message",
					   "namespace is being terminated", "field", "metadata.namespace");
		store_err_details(name, t->group, t->plural, causes);
		return BERR_FORBIDDEN;
	}
	return 0;
}

/* True when namespace ns holds no object of any namespaced type. */
static bool namespace_empty(struct ks_store *s, const char *ns)
{
	struct ks_registry *r = store_registry(s);
	size_t plen = strlen(ns);
	pthread_rwlock_rdlock(&r->lock);
	bool empty = true;
	for (size_t i = 0; i < r->n && empty; i++) {
		struct ks_tstate *ts = r->types[i];
		if (!ts->t.namespaced || !ts->objs.count)
			continue;
		size_t it;
		for (struct kmap_entry *e = kmap_first(&ts->objs, &it); e; e = kmap_next(&ts->objs, e, &it)) {
			if (strncmp(e->key, ns, plen) == 0 && e->key[plen] == '/') {
				empty = false;
				break;
			}
		}
	}
	pthread_rwlock_unlock(&r->lock);
	return empty;
}

/* Under the write lock: removes a terminating namespace once it is empty. */
static void namespace_try_finish(struct ks_store *s, const char *ns, struct notes *n)
{
	struct ks_tstate *nts = registry_find(store_registry(s), "", "namespaces", false);
	struct ks_blob *nb = store_lookup(nts, NULL, ns);
	if (!nb || !jx_path(nb->view, "metadata", "deletionTimestamp", NULL))
		return;
	json_t *fin = jx_path(nb->view, "metadata", "finalizers", NULL);
	if (json_array_size(fin) > 0)
		return;
	if (namespace_empty(s, ns))
		commit_del(s, nts, ns, n);
}

/* Under the write lock: removes a terminating CRD once it has no objects. */
static void crd_try_finish(struct ks_store *s, const struct ks_type *ct, struct notes *n)
{
	struct ks_tstate *cts = registry_find(store_registry(s), "apiextensions.k8s.io", "customresourcedefinitions", false);
	struct ks_blob *cb = store_lookup(cts, NULL, ct->crd_name);
	if (!cb || !jx_path(cb->view, "metadata", "deletionTimestamp", NULL))
		return;
	if (store_tstate(ct)->objs.count)
		return;
	json_t *fin = jx_path(cb->view, "metadata", "finalizers", NULL);
	json_t *copy = blob_full(cb);
	if (!copy)
		return;
	json_t *nf = json_array();
	size_t i;
	json_t *v;
	json_array_foreach(fin, i, v) if (strcmp(json_string_value(v) ? json_string_value(v) : "",
						 "customresourcecleanup.apiextensions.k8s.io") != 0)
		json_array_append(nf, v);
	if (json_array_size(nf) == 0) {
		json_decref(nf);
		json_decref(copy);
		registry_unserve_crd(store_registry(s), ct->crd_name);
		commit_del(s, cts, ct->crd_name, n);
		return;
	}
	json_object_set_new(json_object_get(copy, "metadata"), "finalizers", nf);
	commit_put(s, cts, ct->crd_name, copy, n, NULL);
}

/* After an object left the store (under the write lock): finish the
 * namespace or CRD waiting for it. */
static void after_removal(struct ks_store *s, const struct ks_type *t, const char *ns, struct notes *n)
{
	if (t->namespaced && ns)
		namespace_try_finish(s, ns, n);
	if (t->custom)
		crd_try_finish(s, t, n);
}

/* ---- the common write path --------------------------------------------------------------- */

/* True when a and b differ outside metadata (and outside status when the
 * type has a status subresource): a generation change. */
static bool spec_changed(const struct ks_type *t, const json_t *a, const json_t *b)
{
	json_t *x = json_copy((json_t *)a), *y = json_copy((json_t *)b);
	json_object_del(x, "metadata");
	json_object_del(y, "metadata");
	if (t->has_status || !t->custom) {
		json_object_del(x, "status");
		json_object_del(y, "status");
	}
	bool changed = !jx_equal(x, y);
	json_decref(x);
	json_decref(y);
	return changed;
}

/* True when a and b are the same stored state (managedFields and the RV
 * aside). */
static bool same_state(const json_t *a, const json_t *b)
{
	json_t *x = json_deep_copy(a), *y = json_deep_copy(b);
	json_t *mx = json_object_get(x, "metadata"), *my = json_object_get(y, "metadata");
	json_object_del(mx, "managedFields");
	json_object_del(my, "managedFields");
	json_object_del(mx, "resourceVersion");
	json_object_del(my, "resourceVersion");
	bool same = jx_equal(x, y);
	json_decref(x);
	json_decref(y);
	return same;
}

/* Type-specific work before storing (both create and update). */
static int type_hooks(const struct ks_type *t, json_t *obj)
{
	int rc;
	if (t->custom) {
		custom_prune(t, obj);
	} else if (is_kind(t, "", "Namespace")) {
		const char *name = jx_path_str(obj, "metadata", "name", NULL);
		json_t *labels = jx_obj_ensure(jx_obj_ensure(obj, "metadata"), "labels");
		json_object_set_new(labels, "kubernetes.io/metadata.name", json_string(name ? name : ""));
		json_t *status = jx_obj_ensure(obj, "status");
		if (!jx_str(status, "phase"))
			json_object_set_new(status, "phase", json_string("Active"));
	} else if (is_kind(t, "apiextensions.k8s.io", "CustomResourceDefinition")) {
		if ((rc = registry_validate_crd(obj)) < 0) {
			char msg[512];
			str_copy(msg, err_msg(), sizeof(msg));
			char *colon = strstr(msg, ": ");
			if (colon)
				*colon = '\0';
			return store_invalid(t, jx_path_str(obj, "metadata", "name", NULL), msg, "FieldValueInvalid",
					     colon ? colon + 2 : msg);
		}
		if (!jx_path(obj, "metadata", "deletionTimestamp", NULL))
			crd_fill_status(obj);
	}
	return 0;
}

/* Finishes a create or update of obj (stolen) under the write lock: hooks,
 * validation, no-op check, generation, commit. old is the stored blob (NULL
 * on create). */
static int finish_write(struct ks_store *s, struct ks_tstate *ts, const char *key, json_t *obj, const json_t *old,
			const struct ks_write_opts *o, bool apply, struct notes *n, json_t **ret)
{
	const struct ks_type *t = &ts->t;
	int rc;
	if (!(o && o->sub == KS_SUB_STATUS)) {
		if ((rc = store_defaults(s, t, obj, old)) < 0)
			goto fail;
	}
	if ((rc = type_hooks(t, obj)) < 0)
		goto fail;
	if ((rc = validate_meta(t, obj)) < 0)
		goto fail;
	json_t *meta = json_object_get(obj, "metadata");
	if (old) {
		json_t *ometa = json_object_get(old, "metadata");
		/* Finalizers may not grow while the object is being deleted. */
		if (json_object_get(ometa, "deletionTimestamp")) {
			json_t *of = json_object_get(ometa, "finalizers"), *nf = json_object_get(meta, "finalizers");
			size_t i;
			json_t *v;
			json_array_foreach(nf, i, v) {
				bool found = false;
				size_t j;
				json_t *w;
				json_array_foreach(of, j, w) if (json_equal(v, w)) found = true;
				if (!found) {
					rc = store_invalid(t, jx_str(meta, "name"), "metadata.finalizers", "FieldValueForbidden",
							   "Forbidden: no new finalizers can be added if the object is being deleted");
					goto fail;
				}
			}
		}
		if (!apply)
			managed_update(t, old, obj, manager_of(o), sub_name(o));
		if (same_state(old, obj)) {
			/* A no-op: nothing stored, the RV stays. */
			json_decref(obj);
			if (ret)
				*ret = json_deep_copy(old);
			return 0;
		}
		if (t->has_generation) {
			json_int_t gen = json_integer_value(json_object_get(ometa, "generation"));
			if (spec_changed(t, old, obj))
				gen++;
			json_object_set_new(meta, "generation", json_integer(gen ? gen : 1));
		}
	} else if (!apply) {
		managed_update(t, NULL, obj, manager_of(o), sub_name(o));
	}
	if (o && o->dry_run) {
		if (ret)
			*ret = obj;
		else
			json_decref(obj);
		return 0;
	}
	/* Emptied finalizers on an object being deleted remove it. */
	if (old && json_object_get(meta, "deletionTimestamp") && json_array_size(json_object_get(meta, "finalizers")) == 0 &&
	    !is_kind(t, "", "Namespace")) {
		char ns[256];
		str_copy(ns, jx_str(meta, "namespace") ? jx_str(meta, "namespace") : "", sizeof(ns));
		commit_del(s, ts, key, n);
		if (ret)
			*ret = obj;
		else
			json_decref(obj);
		after_removal(s, t, ns, n);
		return 0;
	}
	json_t *stored = NULL;
	struct ks_blob *b = commit_put(s, ts, key, obj, n, &stored);
	if (!b)
		return err_set(BERR_NOMEM, "store: out of memory");
	if (is_kind(t, "apiextensions.k8s.io", "CustomResourceDefinition") && !jx_path(stored, "metadata", "deletionTimestamp", NULL))
		registry_add_crd(store_registry(s), stored, store_ring_cap(s), NULL);
	if (is_kind(t, "", "Namespace"))
		namespace_try_finish(s, jx_path_str(stored, "metadata", "name", NULL), n);
	if (ret)
		*ret = json_deep_copy(stored);
	json_decref(stored);
	return 0;
fail:
	json_decref(obj);
	return rc;
}

/* ---- create ------------------------------------------------------------------------------ */

static const char *const server_meta[] = { "uid", "resourceVersion", "creationTimestamp", "generation",
					   "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink", NULL };

int store_create(struct ks_store *s, const struct ks_type *t, const char *ns, const json_t *in,
		 const struct ks_write_opts *o, json_t **ret)
{
	struct ks_tstate *ts = store_tstate(t);
	if (!json_is_object(in))
		return store_bad_request("the body of the request was in an unknown format");
	json_t *obj = json_deep_copy(in);
	json_t *meta = jx_obj_ensure(obj, "metadata");
	const char *bns = jx_str(meta, "namespace");
	if (t->namespaced) {
		if (bns && *bns && ns && *ns && strcmp(bns, ns) != 0) {
			json_decref(obj);
			return store_bad_request("the namespace of the provided object does not match the namespace sent on the request");
		}
		if (!ns || !*ns)
			ns = bns;
		if (!ns || !*ns) {
			json_decref(obj);
			return store_bad_request("namespace is required for namespaced resource %s", t->plural);
		}
		json_object_set_new(meta, "namespace", json_string(ns));
	} else {
		json_object_del(meta, "namespace");
	}
	for (const char *const *k = server_meta; *k; k++)
		json_object_del(meta, *k);
	json_object_set_new(obj, "apiVersion", json_string(ks_type_api_version(t)));
	json_object_set_new(obj, "kind", json_string(t->kind));
	if (t->has_status && !is_kind(t, "", "Namespace"))
		json_object_del(obj, "status");

	char suffix[6];
	stamp_created(t, meta);

	store_wrlock(s);
	struct notes n;
	notes_init(&n);
	int rc = 0;
	const char *gen_name = jx_str(meta, "generateName");
	if (!jx_str(meta, "name") && gen_name && *gen_name) {
		for (int tries = 0; tries < 8; tries++) {
			random_suffix(suffix);
			char *name = str_printf("%s%s", gen_name, suffix);
			bool taken = store_lookup(ts, ns, name) != NULL;
			json_object_set_new(meta, "name", json_string(name));
			free(name);
			if (!taken)
				break;
		}
	}
	const char *name = jx_str(meta, "name");
	if (!name || !*name) {
		rc = store_invalid(t, "", "metadata.name", "FieldValueRequired",
				   "Required value: name or generateName is required");
		json_decref(obj);
		goto out;
	}
	if (t->namespaced && (rc = check_namespace(s, t, ns, name)) < 0) {
		json_decref(obj);
		goto out;
	}
	char key[512];
	obj_key(t, ns, name, key, sizeof(key));
	if (store_lookup(ts, ns, name)) {
		char rl[300];
		if (*t->group)
			snprintf(rl, sizeof(rl), "%s.%s", t->plural, t->group);
		else
			str_copy(rl, t->plural, sizeof(rl));
		err_set(BERR_EXISTS, "%s \"%s\" already exists", rl, name);
		err_set_status(409, "AlreadyExists");
		store_err_details(name, t->group, t->plural, NULL);
		rc = BERR_EXISTS;
		json_decref(obj);
		goto out;
	}
	rc = finish_write(s, ts, key, obj, NULL, o, false, &n, ret);
out:
	store_unlock(s);
	notes_flush(s, &n);
	return rc;
}

/* Creation through apply: obj is the merged object (stolen). */
static int create_applied(struct ks_store *s, struct ks_tstate *ts, const char *ns, json_t *obj,
			  const struct ks_write_opts *o, struct notes *n, json_t **ret)
{
	const struct ks_type *t = &ts->t;
	json_t *meta = jx_obj_ensure(obj, "metadata");
	const char *name = jx_str(meta, "name");
	int rc;
	if (t->namespaced) {
		json_object_set_new(meta, "namespace", json_string(ns ? ns : ""));
		if ((rc = check_namespace(s, t, ns, name)) < 0) {
			json_decref(obj);
			return rc;
		}
	}
	char key[512];
	stamp_created(t, meta);
	if (t->has_status && o->sub != KS_SUB_STATUS)
		json_object_del(obj, "status");
	obj_key(t, ns, name, key, sizeof(key));
	return finish_write(s, ts, key, obj, NULL, o, true, n, ret);
}

/* ---- update ------------------------------------------------------------------------------ */

/* Builds the object to store for a replace of old by in (PUT or a patched
 * copy): server-owned metadata kept, status split by subresource. */
static json_t *merge_replace(const struct ks_type *t, const json_t *old, const json_t *in, enum ks_subresource sub)
{
	json_t *obj;
	if (sub == KS_SUB_STATUS) {
		obj = json_deep_copy(old);
		json_t *st = json_object_get(in, "status");
		if (st)
			json_object_set_new(obj, "status", json_deep_copy(st));
		else
			json_object_del(obj, "status");
		/* The RV in the body still acts as a precondition. */
		const char *rv = jx_path_str(in, "metadata", "resourceVersion", NULL);
		if (rv)
			json_object_set_new(json_object_get(obj, "metadata"), "resourceVersion", json_string(rv));
		return obj;
	}
	obj = json_deep_copy(in);
	json_t *meta = jx_obj_ensure(obj, "metadata");
	json_t *ometa = json_object_get(old, "metadata");
	static const char *const keep[] = { "uid", "creationTimestamp", "generation", "deletionTimestamp",
					    "deletionGracePeriodSeconds", "namespace", "name", NULL };
	for (const char *const *k = keep; *k; k++) {
		json_t *v = json_object_get(ometa, *k);
		if (v)
			json_object_set(meta, *k, v);
		else
			json_object_del(meta, *k);
	}
	if (!json_object_get(meta, "managedFields") && json_object_get(ometa, "managedFields"))
		json_object_set(meta, "managedFields", json_object_get(ometa, "managedFields"));
	json_object_del(meta, "selfLink");
	json_object_set(obj, "apiVersion", json_object_get(old, "apiVersion"));
	json_object_set(obj, "kind", json_object_get(old, "kind"));
	if (t->has_status) {
		json_t *st = json_object_get(old, "status");
		if (st)
			json_object_set(obj, "status", st);
		else
			json_object_del(obj, "status");
	}
	return obj;
}

/* The precondition check shared by PUT and PATCH: obj's RV (when present)
 * must equal old's. */
static int check_rv(const struct ks_type *t, const json_t *obj, const struct ks_blob *old, const char *name)
{
	const char *rv = jx_path_str(obj, "metadata", "resourceVersion", NULL);
	char orv[32];
	snprintf(orv, sizeof(orv), "%llu", (unsigned long long)old->rv);
	if (rv && *rv && strcmp(rv, orv) != 0)
		return store_conflict_modified(t, name);
	return 0;
}

int store_update(struct ks_store *s, const struct ks_type *t, const char *ns, const json_t *in,
		 const struct ks_write_opts *o, json_t **ret)
{
	struct ks_tstate *ts = store_tstate(t);
	const char *name = jx_path_str(in, "metadata", "name", NULL);
	if (!json_is_object(in) || !name)
		return store_bad_request("the body of the request was in an unknown format");
	const char *bns = jx_path_str(in, "metadata", "namespace", NULL);
	if (t->namespaced && (!ns || !*ns))
		ns = bns;
	if (t->namespaced && bns && *bns && ns && strcmp(bns, ns) != 0)
		return store_bad_request("the namespace of the provided object does not match the namespace sent on the request");
	struct notes n;
	notes_init(&n);
	int rc;
	store_wrlock(s);
	struct ks_blob *old = store_lookup(ts, ns, name);
	if (!old) {
		rc = store_not_found(t, name);
		goto out;
	}
	const char *rv = jx_path_str(in, "metadata", "resourceVersion", NULL);
	if ((!rv || !*rv) && t->custom && (!o || o->sub == KS_SUB_NONE)) {
		rc = store_invalid(t, name, "metadata.resourceVersion", "FieldValueInvalid",
				   "Invalid value: 0x0: must be specified for an update");
		goto out;
	}
	if ((rc = check_rv(t, in, old, name)) < 0)
		goto out;
	json_t *old_obj = blob_full(old);
	if (!old_obj) {
		rc = BERR_NOMEM;
		goto out;
	}
	json_t *obj = merge_replace(t, old_obj, in, o ? o->sub : KS_SUB_NONE);
	char key[512];
	obj_key(t, ns, name, key, sizeof(key));
	rc = finish_write(s, ts, key, obj, old_obj, o, false, &n, ret);
	json_decref(old_obj);
out:
	store_unlock(s);
	notes_flush(s, &n);
	return rc;
}

/* ---- patch ------------------------------------------------------------------------------- */

static int patch_failed(const struct ks_type *t, const char *name, int rc)
{
	char msg[1024];
	str_copy(msg, err_msg(), sizeof(msg));
	if (rc == BERR_TOOLARGE)
		return store_bad_request("%s", msg);
	err_set(BERR_INVALID, "%s", msg);
	err_set_status(422, "Invalid");
	store_err_details(name, t->group, t->kind, NULL);
	return BERR_INVALID;
}

/* Checks a patch before any lookup: 415 for SMP on custom resources, 400
 * for malformed bodies and apply bodies naming another object. */
static int check_patch(const struct ks_type *t, const char *name, enum ks_patch_type type, const json_t *patch)
{
	if (type == KS_PATCH_STRATEGIC && t->custom) {
		err_set(BERR_UNSUPPORTED, "the body of the request was in an unknown format - accepted media types "
					  "include: application/json-patch+json, application/merge-patch+json, "
					  "application/apply-patch+yaml");
		err_set_status(415, "UnsupportedMediaType");
		store_err_details(NULL, NULL, NULL, NULL);
		return BERR_UNSUPPORTED;
	}
	if (type != KS_PATCH_JSON && !json_is_object(patch))
		return store_bad_request("the body of the request was in an unknown format");
	if (type == KS_PATCH_APPLY) {
		const char *pn = jx_path_str(patch, "metadata", "name", NULL);
		if (pn && strcmp(pn, name) != 0)
			return store_bad_request("the name of the object (%s) does not match the name on the URL (%s)", pn, name);
		if (jx_path(patch, "metadata", "managedFields", NULL))
			return store_bad_request("metadata.managedFields must be nil");
	}
	return 0;
}

/* Applies patch of type to *work (replaced for apply). 0 or an error with
 * its Status (422 for a patch that does not apply). */
static int apply_patch_body(const struct ks_type *t, const char *name, enum ks_patch_type type, const json_t *patch,
			    const struct ks_write_opts *o, json_t **work)
{
	int rc;
	json_t *merged = NULL;
	switch (type) {
	case KS_PATCH_JSON:
		rc = patch_apply_json_patch(*work, patch);
		break;
	case KS_PATCH_MERGE:
		rc = patch_apply_merge(*work, patch);
		break;
	case KS_PATCH_STRATEGIC:
		rc = patch_apply_strategic(*work, patch, t->group, t->kind);
		break;
	case KS_PATCH_APPLY:
		rc = apply_merge(t, *work, patch, manager_of(o), o->force, sub_name(o), &merged);
		if (rc == 0) {
			json_decref(*work);
			*work = merged;
		}
		break;
	default:
		return store_bad_request("unknown patch type");
	}
	if (rc < 0 && !err_status())
		rc = patch_failed(t, name, rc);
	if (rc == 0 && !json_is_object(*work))
		rc = store_bad_request("the patched object is not an object");
	return rc;
}

/* Apply on a missing object creates it (under the write lock). */
static int patch_creates(struct ks_store *s, struct ks_tstate *ts, const char *ns, const char *name,
			 const json_t *patch, const struct ks_write_opts *o, struct notes *n, json_t **ret)
{
	const struct ks_type *t = &ts->t;
	json_t *work = NULL;
	if (!jx_str(patch, "apiVersion") || !jx_str(patch, "kind"))
		return store_bad_request("apiVersion and kind must be set");
	int rc = apply_merge(t, NULL, patch, manager_of(o), o->force, sub_name(o), &work);
	if (rc < 0)
		return rc;
	json_object_set_new(jx_obj_ensure(work, "metadata"), "name", json_string(name));
	json_object_set_new(work, "apiVersion", json_string(ks_type_api_version(t)));
	json_object_set_new(work, "kind", json_string(t->kind));
	return create_applied(s, ts, ns, work, o, n, ret);
}

int store_patch(struct ks_store *s, const struct ks_type *t, const char *ns, const char *name,
		enum ks_patch_type type, const json_t *patch, const struct ks_write_opts *o, json_t **ret,
		bool *ret_created)
{
	struct ks_tstate *ts = store_tstate(t);
	struct ks_write_opts dflt = { 0 };
	if (!o)
		o = &dflt;
	if (ret_created)
		*ret_created = false;
	int rc = check_patch(t, name, type, patch);
	if (rc < 0)
		return rc;
	struct notes n;
	notes_init(&n);
	json_t *work = NULL, *old_obj = NULL;
	store_wrlock(s);
	struct ks_blob *old = store_lookup(ts, ns, name);
	if (!old && type != KS_PATCH_APPLY) {
		rc = store_not_found(t, name);
		goto out;
	}
	if (!old) {
		rc = patch_creates(s, ts, ns, name, patch, o, &n, ret);
		if (rc == 0 && ret_created)
			*ret_created = true;
		goto out;
	}
	old_obj = blob_full(old);
	work = old_obj ? json_deep_copy(old_obj) : NULL;
	if (!work) {
		rc = BERR_NOMEM;
		goto out;
	}
	if ((rc = apply_patch_body(t, name, type, patch, o, &work)) < 0 || (rc = check_rv(t, work, old, name)) < 0)
		goto out;
	json_t *obj = merge_replace(t, old_obj, work, o->sub);
	if (type == KS_PATCH_APPLY)
		json_object_set(json_object_get(obj, "metadata"), "managedFields", jx_path(work, "metadata", "managedFields", NULL));
	char key[512];
	obj_key(t, ns, name, key, sizeof(key));
	rc = finish_write(s, ts, key, obj, old_obj, o, type == KS_PATCH_APPLY, &n, ret);
out:
	json_decref(work);
	json_decref(old_obj);
	store_unlock(s);
	notes_flush(s, &n);
	return rc;
}

/* ---- delete ------------------------------------------------------------------------------ */

static void array_add_unique(json_t *arr, const char *s)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) if (json_is_string(v) && strcmp(json_string_value(v), s) == 0) return;
	json_array_append_new(arr, json_string(s));
}

static void cleanup_namespace(struct ks_store *s, const char *ns);
static void cleanup_crd(struct ks_store *s, const char *crd_name);

/* The delete preconditions (uid, resourceVersion) against the stored
 * object: 0 or 409. */
static int check_delete_preconditions(const struct ks_type *t, const char *name, const struct ks_blob *old,
				      const struct ks_delete_opts *o, const json_t *old_obj)
{
	const char *uid = jx_path_str(old_obj, "metadata", "uid", NULL);
	char orv[32], rl[300];
	snprintf(orv, sizeof(orv), "%llu", (unsigned long long)old->rv);
	snprintf(rl, sizeof(rl), "%s%s%s", t->plural, *t->group ? "." : "", t->group);
	const char *what = NULL, *want = NULL, *have = NULL;
	if (o && o->precond_uid && *o->precond_uid && strcmp(o->precond_uid, uid ? uid : "") != 0)
		what = "UID", want = o->precond_uid, have = uid ? uid : "";
	else if (o && o->precond_rv && *o->precond_rv && strcmp(o->precond_rv, orv) != 0)
		what = "ResourceVersion", want = o->precond_rv, have = orv;
	if (!what)
		return 0;
	err_set(BERR_CONFLICT, "Operation cannot be fulfilled on %s \"%s\": Precondition failed: %s in precondition: %s, "
			       "%s in object meta: %s", rl, name, what, want, what, have);
	err_set_status(409, "Conflict");
	store_err_details(name, t->group, t->plural, NULL);
	return BERR_CONFLICT;
}

/* Adds the finalizers the propagation policy (and the kind) ask for; true
 * when deletion must wait (finalizers present, or a namespace). */
static bool add_deletion_finalizers(const struct ks_type *t, json_t *obj, const char *policy)
{
	json_t *meta = json_object_get(obj, "metadata");
	bool is_ns = is_kind(t, "", "Namespace");
	bool is_crd = is_kind(t, "apiextensions.k8s.io", "CustomResourceDefinition");
	json_t *fin = json_object_get(meta, "finalizers");
	if (strcmp(policy, "Foreground") == 0 || strcmp(policy, "Orphan") == 0 || is_crd) {
		if (!fin) {
			fin = json_array();
			json_object_set_new(meta, "finalizers", fin);
		}
		if (strcmp(policy, "Foreground") == 0)
			array_add_unique(fin, "foregroundDeletion");
		else if (strcmp(policy, "Orphan") == 0 && !is_crd && !is_ns)
			array_add_unique(fin, "orphan");
		if (is_crd)
			array_add_unique(fin, "customresourcecleanup.apiextensions.k8s.io");
		if (json_array_size(fin) == 0)
			json_object_del(meta, "finalizers");
	}
	return is_ns || json_array_size(json_object_get(meta, "finalizers")) > 0;
}

/* Marks obj as being deleted: deletionTimestamp, generation, Terminating. */
static void mark_deleting(const struct ks_type *t, json_t *obj)
{
	json_t *meta = json_object_get(obj, "metadata");
	char now[32];
	clock_now_rfc3339(now, sizeof(now));
	json_object_set_new(meta, "deletionTimestamp", json_string(now));
	json_object_set_new(meta, "deletionGracePeriodSeconds", json_integer(0));
	if (t->has_generation)
		json_object_set_new(meta, "generation", json_integer(json_integer_value(json_object_get(meta, "generation")) + 1));
	if (is_kind(t, "", "Namespace"))
		json_object_set_new(jx_obj_ensure(obj, "status"), "phase", json_string("Terminating"));
	json_t *conds = jx_path(obj, "status", "conditions", NULL);
	if (is_kind(t, "apiextensions.k8s.io", "CustomResourceDefinition") && json_is_array(conds))
		json_array_append_new(conds, condition("Terminating", "True", "InstanceDeletionInProgress",
						       "CustomResource deletion is in progress", now));
}

int store_delete(struct ks_store *s, const struct ks_type *t, const char *ns, const char *name,
		 const struct ks_delete_opts *o, json_t **ret, bool *ret_gone)
{
	struct ks_tstate *ts = store_tstate(t);
	struct notes n;
	notes_init(&n);
	int rc = 0;
	bool pending_cleanup = false;
	char key[512];
	obj_key(t, ns, name, key, sizeof(key));
	store_wrlock(s);
	struct ks_blob *old = store_lookup(ts, ns, name);
	if (!old) {
		rc = store_not_found(t, name);
		goto out;
	}
	json_t *obj = blob_full(old);
	if (!obj) {
		rc = BERR_NOMEM;
		goto out;
	}
	if ((rc = check_delete_preconditions(t, name, old, o, obj)) < 0) {
		json_decref(obj);
		goto out;
	}
	*ret_gone = false;
	if (jx_path(old->view, "metadata", "deletionTimestamp", NULL)) {
		*ret = obj; /* already pending: the same answer again */
		goto out;
	}
	const char *policy = o && o->propagation && *o->propagation ? o->propagation
			     : (is_kind(t, "batch", "Job") || is_kind(t, "", "ReplicationController")) ? "Orphan"
												: "Background";
	if (add_deletion_finalizers(t, obj, policy)) {
		mark_deleting(t, obj);
		if (o && o->dry_run) {
			*ret = obj;
			goto out;
		}
		json_t *stored = NULL;
		commit_put(s, ts, key, obj, &n, &stored);
		*ret = stored;
		pending_cleanup = true;
		goto out;
	}
	*ret = obj;
	*ret_gone = true;
	if (o && o->dry_run)
		goto out;
	commit_del(s, ts, key, &n);
	after_removal(s, t, ns, &n);
out:
	store_unlock(s);
	notes_flush(s, &n);
	if (pending_cleanup && is_kind(t, "", "Namespace"))
		cleanup_namespace(s, name);
	if (pending_cleanup && is_kind(t, "apiextensions.k8s.io", "CustomResourceDefinition"))
		cleanup_crd(s, name);
	return rc;
}

/* Collects the names of objects in namespace ns (or all, ns NULL) of ts. */
static json_t *collect_names(struct ks_store *s, struct ks_tstate *ts, const char *ns)
{
	json_t *names = json_array();
	store_wrlock(s);
	size_t it;
	for (struct kmap_entry *e = kmap_first(&ts->objs, &it); e; e = kmap_next(&ts->objs, e, &it)) {
		struct ks_blob *b = e->value;
		const char *ons = jx_path_str(b->view, "metadata", "namespace", NULL);
		if (ns && (!ons || strcmp(ons, ns) != 0))
			continue;
		json_array_append_new(names, json_pack("[s,s]", ons ? ons : "", jx_path_str(b->view, "metadata", "name", NULL)));
	}
	store_unlock(s);
	return names;
}

static void delete_all(struct ks_store *s, struct ks_tstate *ts, const char *ns)
{
	json_t *names = collect_names(s, ts, ns);
	size_t i;
	json_t *v;
	struct ks_delete_opts dopts = { .propagation = "Background" };
	json_array_foreach(names, i, v) {
		json_t *ret = NULL;
		bool gone;
		if (store_delete(s, &ts->t, json_string_value(json_array_get(v, 0)), json_string_value(json_array_get(v, 1)),
				 &dopts, &ret, &gone) == 0)
			json_decref(ret);
	}
	json_decref(names);
}

static void cleanup_namespace(struct ks_store *s, const char *ns_in)
{
	char ns[256];
	str_copy(ns, ns_in, sizeof(ns));
	struct ks_registry *r = store_registry(s);
	pthread_rwlock_rdlock(&r->lock);
	size_t n = r->n;
	struct ks_tstate **types = malloc(n * sizeof(*types));
	if (types)
		memcpy(types, r->types, n * sizeof(*types));
	pthread_rwlock_unlock(&r->lock);
	for (size_t i = 0; types && i < n; i++)
		if (types[i]->t.namespaced)
			delete_all(s, types[i], ns);
	free(types);
	struct notes nt;
	notes_init(&nt);
	store_wrlock(s);
	namespace_try_finish(s, ns, &nt);
	store_unlock(s);
	notes_flush(s, &nt);
}

static void cleanup_crd(struct ks_store *s, const char *crd_name)
{
	struct ks_registry *r = store_registry(s);
	struct ks_tstate *ct = NULL;
	pthread_rwlock_rdlock(&r->lock);
	for (size_t i = 0; i < r->n; i++)
		if (r->types[i]->t.crd_name && strcmp(r->types[i]->t.crd_name, crd_name) == 0)
			ct = r->types[i];
	pthread_rwlock_unlock(&r->lock);
	struct notes nt;
	notes_init(&nt);
	if (!ct) {
		/* No type was ever registered: just drop the finalizer. */
		struct ks_tstate *cts = registry_find(r, "apiextensions.k8s.io", "customresourcedefinitions", false);
		store_wrlock(s);
		commit_del(s, cts, crd_name, &nt);
		store_unlock(s);
		notes_flush(s, &nt);
		return;
	}
	delete_all(s, ct, NULL);
	store_wrlock(s);
	crd_try_finish(s, &ct->t, &nt);
	store_unlock(s);
	notes_flush(s, &nt);
}
