/*
 * diff — normalisation, three-way prediction and comparison (see diff.h).
 *
 * Copy-on-write: normalising shares every subtree it does not change with
 * the input (json_copy is shallow), so an object whose normalisation only
 * drops metadata costs a few small objects, not a deep copy. The predicted
 * object is the normalised live object itself when the three-way patch is
 * empty (the common, unchanged case); only a non-empty patch makes a deep
 * copy to apply it to. The comparison short-cuts on shared subtrees.
 */
#include "diff.h"

#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "err.h"
#include "jqpath.h"
#include "jsonx.h"
#include "kdefaults.h"
#include "kyaml.h"
#include "linediff.h"
#include "mergekeys.h"
#include "patch.h"
#include "quantity.h"
#include "str.h"

#define LAST_APPLIED_MAX_BYTES ((size_t)1 << 20)
#define TRACKING_ID "berth.dev/tracking-id"

struct ctx {
	const struct diff_settings *s;
	char group[256];
	const char *kind;
	bool cluster_scoped;
	bool secret;
	/* ignore rules that apply to this object (borrowed from settings) */
	const json_t *rules[64];
	size_t n_rules;
	const json_t *live; /* for managedFieldsManagers */
};

/* ---- object identity and bounds ---- */

static void group_of(const char *api_version, char *out, size_t size)
{
	const char *slash = strchr(api_version, '/');
	size_t n = slash ? (size_t)(slash - api_version) : 0;
	if (n >= size)
		n = size - 1;
	memcpy(out, api_version, n);
	out[n] = '\0';
}

static int check_identity(const json_t *obj, const char *side)
{
	if (!json_is_object(obj))
		return err_set(BERR_INVALID, "%s object is not a JSON object", side);
	if (!jx_str(obj, "apiVersion") || !*jx_str(obj, "apiVersion"))
		return err_set(BERR_INVALID, "%s object has no apiVersion", side);
	if (!jx_str(obj, "kind") || !*jx_str(obj, "kind"))
		return err_set(BERR_INVALID, "%s object has no kind", side);
	json_t *md = json_object_get(obj, "metadata");
	if (md && !json_is_object(md))
		return err_set(BERR_INVALID, "%s object: metadata is not a map", side);
	json_t *ann = json_object_get(md, "annotations"), *labels = json_object_get(md, "labels");
	if ((ann && !json_is_object(ann) && !json_is_null(ann)) ||
	    (labels && !json_is_object(labels) && !json_is_null(labels)))
		return err_set(BERR_INVALID, "%s object: metadata.annotations and labels must be maps", side);
	return 0;
}

/* Counts values up to the bounds; stops descending past max depth. */
static int check_bounds(const json_t *v, size_t depth, size_t *nodes, const char *side)
{
	if (++*nodes > DIFF_MAX_NODES)
		return err_set(BERR_TOOLARGE, "%s object has more than %zu values", side, DIFF_MAX_NODES);
	if (depth > DIFF_MAX_DEPTH)
		return err_set(BERR_TOOLARGE, "%s object is nested deeper than %d", side, DIFF_MAX_DEPTH);
	int rc;
	if (json_is_object(v)) {
		const char *k;
		json_t *c;
		json_object_foreach((json_t *)v, k, c)
			if ((rc = check_bounds(c, depth + 1, nodes, side)) < 0)
				return rc;
	} else if (json_is_array(v)) {
		size_t i;
		json_t *c;
		json_array_foreach(v, i, c)
			if ((rc = check_bounds(c, depth + 1, nodes, side)) < 0)
				return rc;
	}
	return 0;
}

static const char *const cluster_kinds[] = {
	"APIService", "CSIDriver", "CSINode", "CertificateSigningRequest", "ClusterRole",
	"ClusterRoleBinding", "ComponentStatus", "CustomResourceDefinition", "FlowSchema",
	"IngressClass", "MutatingWebhookConfiguration", "Namespace", "Node", "PersistentVolume",
	"PodSecurityPolicy", "PriorityClass", "PriorityLevelConfiguration", "RuntimeClass",
	"StorageClass", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
	"ValidatingWebhookConfiguration", "VolumeAttachment",
};

static bool builtin_cluster_scoped(const char *group, const char *kind)
{
	if (!mk_is_builtin(group, kind))
		return false;
	for (size_t i = 0; i < sizeof(cluster_kinds) / sizeof(cluster_kinds[0]); i++)
		if (strcmp(kind, cluster_kinds[i]) == 0)
			return true;
	return false;
}

/* ---- ignore rules ---- */

static bool str_match(const char *rule, const char *v)
{
	return !rule || strcmp(rule, "*") == 0 || strcmp(rule, v ? v : "") == 0;
}

/* Rules that apply to obj, in order. More than fit is refused rather than
 * silently ignored. */
static int collect_rules(struct ctx *c, const json_t *obj)
{
	const struct diff_settings *s = c->s;
	const char *name = jx_path_str(obj, "metadata", "name", NULL);
	const char *ns = jx_path_str(obj, "metadata", "namespace", NULL);
	size_t i;
	json_t *r;

	c->n_rules = 0;
	if (!s)
		return 0;
	json_array_foreach(s->ignore_differences, i, r) {
		const char *g = jx_str(r, "group"), *k = jx_str(r, "kind");
		if (!k || !str_match(g ? g : "", c->group) || !str_match(k, c->kind))
			continue;
		if (!str_match(jx_str(r, "name"), name) || !str_match(jx_str(r, "namespace"), ns))
			continue;
		if (c->n_rules == sizeof(c->rules) / sizeof(c->rules[0]))
			return err_set(BERR_TOOLARGE, "more than %zu ignoreDifferences rules match", c->n_rules);
		c->rules[c->n_rules++] = r;
	}
	if (json_is_object(s->customizations)) {
		char key[512];
		const char *keys[4];
		size_t nk = 0;
		snprintf(key, sizeof(key), "%s_%s", c->group, c->kind);
		keys[nk++] = key;
		if (!c->group[0])
			keys[nk++] = c->kind;
		keys[nk++] = "all";
		for (size_t j = 0; j < nk; j++) {
			r = json_object_get(s->customizations, keys[j]);
			if (!json_is_object(r))
				continue;
			if (c->n_rules == sizeof(c->rules) / sizeof(c->rules[0]))
				return err_set(BERR_TOOLARGE, "more than %zu ignoreDifferences rules match", c->n_rules);
			c->rules[c->n_rules++] = r;
		}
	}
	return 0;
}

static bool rules_need_edit(const struct ctx *c)
{
	for (size_t i = 0; i < c->n_rules; i++) {
		const json_t *r = c->rules[i];
		if (json_array_size(json_object_get(r, "jsonPointers")) ||
		    json_array_size(json_object_get(r, "jqPathExpressions")) ||
		    json_array_size(json_object_get(r, "managedFieldsManagers")))
			return true;
	}
	return false;
}

/* Removes from obj what a managedFields fieldsV1 tree owns (leaves only:
 * a node with children is descended, a node that is empty or only "." is
 * deleted). */
static void remove_owned(json_t *obj, const json_t *fields, int depth)
{
	const char *k;
	json_t *sub;

	if (depth > DIFF_MAX_DEPTH || !json_is_object(fields))
		return;
	json_object_foreach((json_t *)fields, k, sub) {
		bool leaf = json_object_size(sub) == 0 ||
			    (json_object_size(sub) == 1 && json_object_get(sub, "."));
		if (strncmp(k, "f:", 2) == 0 && json_is_object(obj)) {
			json_t *child = json_object_get(obj, k + 2);
			if (!child)
				continue;
			if (leaf)
				json_object_del(obj, k + 2);
			else
				remove_owned(child, sub, depth + 1);
		} else if (strncmp(k, "k:", 2) == 0 && json_is_array(obj)) {
			json_t *key = json_loads(k + 2, 0, NULL);
			size_t i;
			json_t *item;
			if (!json_is_object(key)) {
				json_decref(key);
				continue;
			}
			json_array_foreach(obj, i, item) {
				const char *kk;
				json_t *kv;
				bool match = json_is_object(item);
				json_object_foreach(key, kk, kv)
					if (match && !jx_equal(json_object_get(item, kk), kv))
						match = false;
				if (!match)
					continue;
				if (leaf)
					json_array_remove(obj, i);
				else
					remove_owned(item, sub, depth + 1);
				break;
			}
			json_decref(key);
		} else if (strncmp(k, "v:", 2) == 0 && json_is_array(obj)) {
			json_t *val = json_loads(k + 2, JSON_DECODE_ANY, NULL);
			size_t i;
			json_t *item;
			json_array_foreach(obj, i, item) {
				if (val && jx_equal(item, val)) {
					json_array_remove(obj, i);
					break;
				}
			}
			json_decref(val);
		}
	}
}

static int apply_rule(const struct ctx *c, const json_t *r, json_t *obj)
{
	size_t i;
	json_t *v;
	int rc;

	json_array_foreach(json_object_get(r, "jsonPointers"), i, v) {
		const char *ptr = json_string_value(v);
		if (!ptr || (*ptr && *ptr != '/'))
			return err_set(BERR_INVALID, "ignoreDifferences: bad JSON pointer \"%s\"", ptr ? ptr : "");
		if (*ptr)
			jx_ptr_del(obj, ptr);
	}
	json_array_foreach(json_object_get(r, "jqPathExpressions"), i, v) {
		struct jqpath *p = NULL;
		if (!json_is_string(v))
			return err_set(BERR_INVALID, "ignoreDifferences: jq path is not a string");
		if ((rc = jqpath_compile(json_string_value(v), &p)) < 0)
			return err_prefix(rc, "ignoreDifferences");
		rc = jqpath_delete(p, obj, DIFF_JQ_MAX_STEPS, NULL);
		jqpath_free(p);
		if (rc < 0)
			return err_prefix(rc, "ignoreDifferences \"%s\"", json_string_value(v));
	}
	json_t *managers = json_object_get(r, "managedFieldsManagers");
	json_t *mf = c->live ? jx_path(c->live, "metadata", "managedFields", NULL) : NULL;
	json_array_foreach(managers, i, v) {
		size_t j;
		json_t *entry;
		json_array_foreach(mf, j, entry) {
			const char *m = jx_str(entry, "manager");
			if (m && json_is_string(v) && strcmp(m, json_string_value(v)) == 0 &&
			    !jx_str(entry, "subresource"))
				remove_owned(obj, json_object_get(entry, "fieldsV1"), 0);
		}
	}
	return 0;
}

/* Kubernetes decodes Secret data with Go's padded standard encoding:
 * the length must be a multiple of four and lib/b64 must accept it. */
static bool base64_valid(const char *s, size_t n)
{
	uint8_t *out = NULL;
	if (n % 4 || memchr(s, '\n', n) || memchr(s, '\r', n) || strlen(s) != n)
		return false;
	if (b64_decode(s, false, n, &out, NULL) < 0) {
		err_clear();
		return false;
	}
	free(out);
	return true;
}

static json_t *base64_encode(const char *s, size_t n)
{
	char *enc = b64_encode(s, n, false);
	json_t *r = enc ? json_string(enc) : NULL;
	free(enc);
	return r;
}

/* ---- normalisation ---- */

/* A shallow copy of obj[key] stored back into obj (obj must be private),
 * or NULL when absent or not an object. Borrowed. */
static json_t *cow_child(json_t *obj, const char *key)
{
	json_t *c = json_object_get(obj, key);
	if (!json_is_object(c))
		return NULL;
	json_t *copy = json_copy(c);
	if (!copy || json_object_set_new(obj, key, copy) < 0)
		return NULL;
	return copy;
}

static bool annotation_ignored(const struct ctx *c, const char *k)
{
	if (strcmp(k, DIFF_LAST_APPLIED) == 0 || strcmp(k, "deployment.kubernetes.io/revision") == 0 ||
	    strcmp(k, TRACKING_ID) == 0)
		return true;
	if (!c->s || !c->s->ignore_annotations)
		return false;
	for (const char *const *a = c->s->ignore_annotations; *a; a++) {
		size_t n = strlen(*a);
		if (n && (*a)[n - 1] == '/' ? strncmp(k, *a, n) == 0 : strcmp(k, *a) == 0)
			return true;
	}
	return false;
}

static int normalize_metadata(const struct ctx *c, json_t *top)
{
	static const char *const server_owned[] = {"uid", "resourceVersion", "generation",
						   "creationTimestamp", "managedFields", "selfLink"};
	json_t *md = json_object_get(top, "metadata");
	if (!json_is_object(md))
		return 0;
	md = cow_child(top, "metadata");
	if (!md)
		return err_set(BERR_NOMEM, "out of memory");
	for (size_t i = 0; i < sizeof(server_owned) / sizeof(server_owned[0]); i++)
		json_object_del(md, server_owned[i]);
	if (c->cluster_scoped)
		json_object_del(md, "namespace");
	json_t *ann = json_object_get(md, "annotations");
	if (json_is_object(ann)) {
		const char *k;
		json_t *v;
		bool any = false;
		json_object_foreach(ann, k, v)
			if (annotation_ignored(c, k))
				any = true;
		if (any) {
			void *tmp;
			ann = cow_child(md, "annotations");
			if (!ann)
				return err_set(BERR_NOMEM, "out of memory");
			json_object_foreach_safe(ann, tmp, k, v)
				if (annotation_ignored(c, k))
					json_object_del(ann, k);
		}
		if (json_object_size(ann) == 0)
			json_object_del(md, "annotations");
	}
	json_t *labels = json_object_get(md, "labels");
	if (strcmp(c->kind, "Namespace") == 0 && !c->group[0] && json_object_get(labels, "kubernetes.io/metadata.name")) {
		labels = cow_child(md, "labels");
		if (!labels)
			return err_set(BERR_NOMEM, "out of memory");
		json_object_del(labels, "kubernetes.io/metadata.name");
		if (json_object_size(labels) == 0)
			json_object_del(md, "labels");
	}
	return 0;
}

/* Drops "creationTimestamp": null from the pod/job templates' metadata. */
static int normalize_templates(json_t *top)
{
	static const char *const paths[][5] = {
		{"spec", "template", "metadata", NULL},
		{"spec", "jobTemplate", "metadata", NULL},
		{"spec", "jobTemplate", "spec", "template", "metadata"},
	};
	for (size_t p = 0; p < sizeof(paths) / sizeof(paths[0]); p++) {
		const json_t *v = top;
		size_t n = 0;
		while (n < 5 && paths[p][n] && v) {
			v = json_object_get(v, paths[p][n]);
			n++;
		}
		if (!json_is_object(v) || !json_is_null(json_object_get(v, "creationTimestamp")))
			continue;
		json_t *cur = top;
		for (size_t i = 0; i < n && cur; i++)
			cur = cow_child(cur, paths[p][i]);
		if (!cur)
			return err_set(BERR_NOMEM, "out of memory");
		json_object_del(cur, "creationTimestamp");
	}
	return 0;
}

static int normalize_secret(json_t *top)
{
	json_t *data = json_object_get(top, "data");
	json_t *sd = json_object_get(top, "stringData");
	const char *k;
	json_t *v;

	if (data && !json_is_object(data) && !json_is_null(data))
		return err_set(BERR_INVALID, "Secret data is not a map");
	bool has_null = false;
	json_object_foreach(data, k, v) {
		if (json_is_null(v)) {
			has_null = true;
			continue;
		}
		if (!json_is_string(v) || !base64_valid(json_string_value(v), json_string_length(v)))
			return err_set(BERR_INVALID, "Secret data \"%s\": value is not valid base64", k);
	}
	if (has_null) {
		/* the API server stores null as an empty value */
		json_t *nd = json_copy(data);
		if (!nd || json_object_set_new(top, "data", nd) < 0)
			return err_set(BERR_NOMEM, "out of memory");
		json_object_foreach(nd, k, v)
			if (json_is_null(v))
				json_object_set_new(nd, k, json_string(""));
		data = nd;
	}
	if (!sd)
		return 0;
	if (!json_is_object(sd))
		return err_set(BERR_INVALID, "Secret stringData is not a map");
	data = json_is_object(data) ? json_copy(data) : json_object();
	if (!data)
		return err_set(BERR_NOMEM, "out of memory");
	json_object_foreach(sd, k, v) {
		if (!json_is_string(v)) {
			json_decref(data);
			return err_set(BERR_INVALID, "Secret stringData \"%s\": value is not a string", k);
		}
		json_object_set_new(data, k, base64_encode(json_string_value(v), json_string_length(v)));
	}
	json_object_set_new(top, "data", data);
	json_object_del(top, "stringData");
	return 0;
}

/* Kind-specific fields the server or a controller owns:
 * - StatefulSet volumeClaimTemplates[].status (the server adds
 *   {phase: Pending}) and their creationTimestamp: null;
 * - the rules of an aggregated ClusterRole (filled by the aggregation
 *   controller from other roles; Git only states the aggregationRule). */
static int normalize_kind(const struct ctx *c, json_t *top)
{
	if (strcmp(c->group, "apps") == 0 && strcmp(c->kind, "StatefulSet") == 0) {
		json_t *vcts = jx_path(top, "spec", "volumeClaimTemplates", NULL);
		size_t i;
		json_t *t;
		bool touch = false;
		json_array_foreach(vcts, i, t)
			if (json_object_get(t, "status") ||
			    json_is_null(jx_path(t, "metadata", "creationTimestamp", NULL)))
				touch = true;
		if (touch) {
			json_t *spec = cow_child(top, "spec");
			json_t *nv = spec ? json_deep_copy(vcts) : NULL;
			if (!nv || json_object_set_new(spec, "volumeClaimTemplates", nv) < 0)
				return err_set(BERR_NOMEM, "out of memory");
			json_array_foreach(nv, i, t) {
				json_object_del(t, "status");
				json_t *md = json_object_get(t, "metadata");
				if (json_is_null(json_object_get(md, "creationTimestamp")))
					json_object_del(md, "creationTimestamp");
			}
		}
	}
	if (strcmp(c->group, "rbac.authorization.k8s.io") == 0 && strcmp(c->kind, "ClusterRole") == 0 &&
	    json_is_object(json_object_get(top, "aggregationRule")))
		json_object_del(top, "rules");
	return 0;
}

/* A new reference to the normalised form of obj (sharing unchanged
 * subtrees with it). */
static int normalize(const struct ctx *c, const json_t *obj, json_t **ret)
{
	json_t *top = json_copy((json_t *)obj);
	int rc;

	if (!top)
		return err_set(BERR_NOMEM, "out of memory");
	json_object_del(top, "status");
	if ((rc = normalize_metadata(c, top)) < 0 || (rc = normalize_templates(top)) < 0)
		goto fail;
	if (c->secret && (rc = normalize_secret(top)) < 0)
		goto fail;
	if ((rc = normalize_kind(c, top)) < 0)
		goto fail;
	if (rules_need_edit(c)) {
		json_t *deep = json_deep_copy(top);
		json_decref(top);
		top = deep;
		if (!top)
			return err_set(BERR_NOMEM, "out of memory");
		for (size_t i = 0; i < c->n_rules; i++)
			if ((rc = apply_rule(c, c->rules[i], top)) < 0)
				goto fail;
	}
	*ret = top;
	return 0;
fail:
	json_decref(top);
	return rc;
}

static int ctx_init(struct ctx *c, const json_t *obj, const json_t *live, const struct diff_settings *s)
{
	memset(c, 0, sizeof(*c));
	c->s = s;
	c->live = live;
	group_of(jx_str(obj, "apiVersion"), c->group, sizeof(c->group));
	c->kind = jx_str(obj, "kind");
	c->secret = !c->group[0] && strcmp(c->kind, "Secret") == 0;
	if (s && s->cluster_scoped)
		c->cluster_scoped = s->cluster_scoped(s->ctx, c->group, c->kind);
	else
		c->cluster_scoped = builtin_cluster_scoped(c->group, c->kind);
	return collect_rules(c, obj);
}

/* One object checked (identity, bounds) and normalised on its own (no live
 * object). *ret is a new reference that may share children with obj. */
static int normalize_alone(const json_t *obj, const struct diff_settings *s, json_t **ret)
{
	struct ctx c;
	size_t nodes = 0;
	int rc;

	if ((rc = check_identity(obj, "the")) < 0 || (rc = check_bounds(obj, 0, &nodes, "the")) < 0)
		return rc;
	if ((rc = ctx_init(&c, obj, obj, s)) < 0)
		return rc;
	return normalize(&c, obj, ret);
}

int diff_normalize(json_t *obj, const struct diff_settings *s)
{
	json_t *n = NULL;
	int rc;

	if ((rc = normalize_alone(obj, s, &n)) < 0)
		return rc;
	/* n shares children with obj; make it private before moving it in */
	json_t *deep = json_deep_copy(n);
	json_decref(n);
	if (!deep)
		return err_set(BERR_NOMEM, "out of memory");
	json_object_clear(obj);
	json_object_update(obj, deep);
	json_decref(deep);
	return 0;
}

/* ---- comparison ---- */

/* The path being compared, as segments; turned into a JSON pointer only
 * when a change is recorded (most of the walk records nothing). */
struct seg {
	const char *key; /* NULL for an array index */
	size_t index;
};

struct cmp {
	struct diff_result *r;
	struct seg path[DIFF_MAX_DEPTH + 2];
	size_t depth;
	int rc;
};

static int build_pointer(const struct cmp *c, char **ret)
{
	struct buf b;
	int rc = 0;
	buf_init(&b, (size_t)1 << 20);
	for (size_t i = 0; i < c->depth && rc == 0; i++) {
		if (c->path[i].key)
			rc = buf_putc(&b, '/') < 0 ? -1 : jx_ptr_escape(&b, c->path[i].key);
		else
			rc = buf_printf(&b, "/%zu", c->path[i].index);
	}
	if (rc < 0) {
		buf_release(&b);
		return err_set(BERR_NOMEM, "out of memory");
	}
	*ret = buf_detach(&b, NULL);
	return *ret ? 0 : err_set(BERR_NOMEM, "out of memory");
}

static bool is_empty(const json_t *v)
{
	return !v || json_is_null(v) || (json_is_object(v) && json_object_size(v) == 0) ||
	       (json_is_array(v) && json_array_size(v) == 0);
}

/* Keys whose values are maps of quantities. */
static bool quantity_map_key(const char *k)
{
	if (!strchr("lrchamdo", k[0]))
		return false;
	static const char *const keys[] = {"limits", "requests", "capacity", "hard", "allocatable",
					   "overhead", "min", "max", "default", "defaultRequest"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(k, keys[i]) == 0)
			return true;
	return false;
}

static bool scalar_equal(const json_t *a, const json_t *b, bool quantities)
{
	if (jx_equal(a, b))
		return true;
	if (quantities && (json_is_string(a) || json_is_number(a)) && (json_is_string(b) || json_is_number(b))) {
		struct quantity qa, qb;
		if (quantity_from_json(a, &qa) == 0 && quantity_from_json(b, &qb) == 0)
			return quantity_cmp(&qa, &qb) == 0;
	}
	return false;
}

static void add_change(struct cmp *c, enum diff_op op, const json_t *old, const json_t *nw)
{
	struct diff_result *r = c->r;
	r->modified = true;
	if (r->n_changes >= DIFF_MAX_CHANGES) {
		r->changes_truncated = true;
		return;
	}
	if (r->n_changes % 16 == 0) {
		struct diff_change *n = realloc(r->changes, (r->n_changes + 16) * sizeof(*n));
		if (!n) {
			c->rc = err_set(BERR_NOMEM, "out of memory");
			return;
		}
		r->changes = n;
	}
	struct diff_change *ch = &r->changes[r->n_changes];
	if ((c->rc = build_pointer(c, &ch->pointer)) < 0)
		return;
	ch->op = op;
	ch->old_value = old ? json_deep_copy(old) : NULL;
	ch->new_value = nw ? json_deep_copy(nw) : NULL;
	r->n_changes++;
}

/* node: the schema of the value when it is an object (its fields); f: the
 * field the value is stored in (its list strategy when it is a list). */
static void cmp_value(struct cmp *c, const json_t *live, const json_t *pred, bool quantities,
		      const struct mk_node *node, const struct mk_field *f);

static bool push(struct cmp *c, const char *key, size_t index)
{
	if (c->depth >= DIFF_MAX_DEPTH + 2)
		return false; /* cannot happen: inputs are depth-checked */
	c->path[c->depth++] = (struct seg){key, index};
	return true;
}

static void cmp_member(struct cmp *c, const struct mk_node *node, const char *k, const json_t *lv,
		       const json_t *pv, bool quantities)
{
	if (!push(c, k, 0))
		return;
	if (!lv)
		add_change(c, DIFF_OP_ADD, NULL, pv);
	else if (!pv)
		add_change(c, DIFF_OP_REMOVE, lv, NULL);
	else {
		const struct mk_field *f = mk_node_field(node, k);
		cmp_value(c, lv, pv, quantities || quantity_map_key(k), f ? f->child : NULL, f);
	}
	c->depth--;
}

static ssize_t index_by_key(const json_t *list, const char *key, const json_t *kv)
{
	size_t i;
	json_t *x;
	json_array_foreach(list, i, x)
		if (jx_equal(json_object_get(x, key), kv))
			return (ssize_t)i;
	return -1;
}

/* A list merged by key: items are matched by key, so an added container
 * reads as one ADD (at its index in predicted), a removed one as one
 * REMOVE (at its index in live), and a changed field inside one as a
 * change at that field. A pure reordering is one REPLACE of the list. */
static bool cmp_keyed_list(struct cmp *c, const json_t *live, const json_t *pred, bool quantities,
			   const struct mk_field *f)
{
	size_t i, before = c->r->n_changes;
	bool was_modified = c->r->modified;
	json_t *x;

	if (json_array_size(live) > PATCH_MAX_MERGE_ITEMS || json_array_size(pred) > PATCH_MAX_MERGE_ITEMS)
		return false; /* compared by index: linear */

	json_array_foreach(pred, i, x)
		if (!json_object_get(x, f->key))
			return false;
	json_array_foreach(live, i, x)
		if (!json_object_get(x, f->key))
			return false;
	json_array_foreach(pred, i, x) {
		ssize_t j = index_by_key(live, f->key, json_object_get(x, f->key));
		if (!push(c, NULL, i))
			return true;
		if (j < 0)
			add_change(c, DIFF_OP_ADD, NULL, x);
		else
			cmp_value(c, json_array_get(live, (size_t)j), x, quantities, f->child, NULL);
		c->depth--;
	}
	json_array_foreach(live, i, x) {
		if (index_by_key(pred, f->key, json_object_get(x, f->key)) >= 0)
			continue;
		if (!push(c, NULL, i))
			return true;
		add_change(c, DIFF_OP_REMOVE, x, NULL);
		c->depth--;
	}
	if (c->r->n_changes == before && c->r->modified == was_modified &&
	    json_array_size(live) == json_array_size(pred)) {
		json_array_foreach(pred, i, x)
			if (!jx_equal(json_object_get(x, f->key), json_object_get(json_array_get(live, i), f->key))) {
				add_change(c, DIFF_OP_REPLACE, live, pred);
				break;
			}
	}
	return true;
}

static void cmp_value(struct cmp *c, const json_t *live, const json_t *pred, bool quantities,
		      const struct mk_node *node, const struct mk_field *f)
{
	if (live == pred || c->rc < 0)
		return;
	if (c->r->changes_truncated)
		return; /* modified is known; nothing more will be recorded */
	if (json_is_object(live) && json_is_object(pred)) {
		const char *k;
		json_t *pv, *lv;
		json_object_foreach((json_t *)pred, k, pv) {
			lv = json_object_get(live, k);
			if (!lv && is_empty(pv))
				continue;
			cmp_member(c, node, k, lv, pv, quantities);
		}
		json_object_foreach((json_t *)live, k, lv) {
			if (json_object_get(pred, k) || is_empty(lv))
				continue;
			cmp_member(c, node, k, lv, NULL, quantities);
		}
		return;
	}
	if (json_is_array(live) && json_is_array(pred)) {
		if (f && f->list == MK_LIST_MAP && cmp_keyed_list(c, live, pred, quantities, f))
			return;
		if (json_array_size(live) == json_array_size(pred)) {
			for (size_t i = 0; i < json_array_size(live); i++) {
				if (!push(c, NULL, i))
					return;
				cmp_value(c, json_array_get(live, i), json_array_get(pred, i), quantities,
					  f ? f->child : NULL, NULL);
				c->depth--;
			}
			return;
		}
	}
	if (is_empty(live) && is_empty(pred))
		return;
	if (!scalar_equal(live, pred, quantities))
		add_change(c, DIFF_OP_REPLACE, live, pred);
}

/* ---- compute ---- */

void diff_result_init(struct diff_result *r)
{
	memset(r, 0, sizeof(*r));
}

void diff_result_release(struct diff_result *r)
{
	for (size_t i = 0; i < r->n_changes; i++) {
		free(r->changes[i].pointer);
		json_decref(r->changes[i].old_value);
		json_decref(r->changes[i].new_value);
	}
	free(r->changes);
	json_decref(r->normalized_live);
	json_decref(r->predicted_live);
	json_decref(r->patch);
	memset(r, 0, sizeof(*r));
}

struct prefix_cmp {
	const char *s;
	size_t n, off;
};

/* json_dump_callback sink that compares instead of writing, and stops the
 * dump at the first difference. */
static int prefix_cmp_cb(const char *data, size_t size, void *arg)
{
	struct prefix_cmp *p = arg;
	if (size > p->n - p->off || memcmp(p->s + p->off, data, size) != 0)
		return -1;
	p->off += size;
	return 0;
}

/* True when the annotation text is exactly the canonical JSON of desired
 * (what Berth writes, and what kubectl's sorted-key marshalling writes for
 * most objects), with or without kubectl's trailing newline. The canonical
 * form is compared while it is produced, so a mismatch costs little. */
static bool annotation_is(const char *s, size_t n, const json_t *desired)
{
	struct prefix_cmp p = {s, n, 0};
	if (n && s[n - 1] == '\n')
		p.n--;
	if (json_dump_callback(desired, prefix_cmp_cb, &p, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(17)) < 0)
		return false;
	return p.off == p.n;
}

/* The parsed last-applied annotation of live, or NULL when absent or not a
 * JSON object (then the diff is two-way). When the annotation is the
 * canonical form of desired, desired itself is returned (a new reference)
 * without parsing: the common case of an object Git has not changed since
 * the last sync. */
static json_t *last_applied(const json_t *live, const json_t *desired)
{
	json_t *a = jx_path(live, "metadata", "annotations", DIFF_LAST_APPLIED, NULL);
	const char *s = json_string_value(a);
	json_t *v = NULL;
	if (s && annotation_is(s, json_string_length(a), desired))
		return json_incref((json_t *)desired);
	if (!s || jx_parse(s, json_string_length(a), LAST_APPLIED_MAX_BYTES, DIFF_MAX_DEPTH, &v) < 0) {
		err_clear();
		return NULL;
	}
	if (!json_is_object(v)) {
		json_decref(v);
		return NULL;
	}
	return v;
}

static int apply_patch(const struct ctx *c, json_t *doc, const json_t *patch)
{
	if (mk_is_builtin(c->group, c->kind))
		return patch_apply_strategic_nocopy(doc, patch, c->group, c->kind);
	return patch_apply_merge_nocopy(doc, patch);
}

/* True when every field a sets is set to the same value in b (b may have
 * more): a is b without some server-filled fields. */
static bool subset_of(const json_t *a, const json_t *b, int depth)
{
	if (depth > DIFF_MAX_DEPTH)
		return false;
	if (json_is_object(a) && json_is_object(b)) {
		const char *k;
		json_t *v;
		json_object_foreach((json_t *)a, k, v) {
			json_t *w = json_object_get(b, k);
			if (!w ? !is_empty(v) : !subset_of(v, w, depth + 1))
				return false;
		}
		return true;
	}
	if (json_is_array(a) && json_is_array(b)) {
		if (json_array_size(a) != json_array_size(b))
			return false;
		for (size_t i = 0; i < json_array_size(a); i++)
			if (!subset_of(json_array_get(a, i), json_array_get(b, i), depth + 1))
				return false;
		return true;
	}
	return scalar_equal(a, b, true);
}

/*
 * An atomic list the patch wrote replaces live's list with desired's, which
 * lacks what the server fills into each item (Endpoints port protocol,
 * webhook rule scope, CRD schema defaults...). Where an item of the new list
 * is a subset of live's item at the same position, live's item is what the
 * server will store again after the sync, so it is taken as predicted. This
 * covers defaults of every kind, including those lib/kdefaults does not
 * know; a value Git sets differently is never a subset and stays a change.
 */
static void fill_atomic_from_live(json_t *pred, const json_t *live, const json_t *patch,
				  const struct mk_node *node, bool strategic, int depth)
{
	const char *k;
	json_t *pv;

	if (depth > DIFF_MAX_DEPTH || !json_is_object(pred) || !json_is_object(live))
		return;
	json_object_foreach((json_t *)patch, k, pv) {
		if (strategic && k[0] == '$')
			continue;
		const struct mk_field *f = strategic ? mk_node_field(node, k) : NULL;
		json_t *P = json_object_get(pred, k), *L = json_object_get(live, k);
		if (!P || !L)
			continue;
		if (json_is_object(pv)) {
			fill_atomic_from_live(P, L, pv, f ? f->child : NULL, strategic, depth + 1);
		} else if (json_is_array(pv) && json_is_array(P) && json_is_array(L)) {
			if (f && f->list == MK_LIST_MAP) {
				size_t i;
				json_t *item;
				if (json_array_size(P) > PATCH_MAX_MERGE_ITEMS ||
				    json_array_size(L) > PATCH_MAX_MERGE_ITEMS)
					continue;
				json_array_foreach(pv, i, item) {
					json_t *kv = json_object_get(item, f->key);
					if (!kv)
						continue;
					json_t *pi = NULL, *li = NULL, *x;
					size_t j;
					json_array_foreach(P, j, x)
						if (!pi && jx_equal(json_object_get(x, f->key), kv))
							pi = x;
					json_array_foreach(L, j, x)
						if (!li && jx_equal(json_object_get(x, f->key), kv))
							li = x;
					if (pi && li)
						fill_atomic_from_live(pi, li, item, f->child, strategic, depth + 1);
				}
			} else if ((!f || f->list == MK_LIST_ATOMIC) && json_array_size(P) == json_array_size(L)) {
				for (size_t i = 0; i < json_array_size(P); i++) {
					json_t *pi = json_array_get(P, i), *li = json_array_get(L, i);
					/* a copy: defaulting later edits predicted in place,
					 * and live's nodes are shared with the caller's */
					if (pi != li && (json_is_object(pi) || json_is_array(pi)) && subset_of(pi, li, depth))
						json_array_set_new(P, i, json_deep_copy(li));
				}
			}
		}
	}
}

/*
 * Drops what defaulting added where live does not have it: predicted is
 * live + patch + defaults, so a field in predicted that is neither in live
 * nor written by the patch came from defaulting. Such a default (an older
 * server, a default that differs by version) is not something a sync would
 * change, so it must not read as drift. Where live has no counterpart (a
 * new container, a new object) the defaults stay: the server will add them.
 * patch may be NULL (subtree the patch did not touch).
 */
static void prune_defaults(json_t *pred, const json_t *live, const json_t *patch,
			   const struct mk_node *node, bool strategic, int depth);

static json_t *find_by_key(const json_t *list, const char *key, const json_t *kv)
{
	size_t i;
	json_t *x;
	json_array_foreach(list, i, x)
		if (jx_equal(json_object_get(x, key), kv))
			return x;
	return NULL;
}

static void prune_list(json_t *P, const json_t *L, const json_t *pv, const struct mk_field *f,
		       bool strategic, int depth)
{
	size_t i;
	json_t *pi;
	/* keyed lookups only where they stay cheap; past that, by index */
	if (f && f->list == MK_LIST_MAP && json_array_size(P) <= PATCH_MAX_MERGE_ITEMS &&
	    json_array_size(L) <= PATCH_MAX_MERGE_ITEMS) {
		json_array_foreach(P, i, pi) {
			json_t *kv = json_object_get(pi, f->key);
			json_t *li = kv ? find_by_key(L, f->key, kv) : NULL;
			if (li)
				prune_defaults(pi, li, json_is_array(pv) ? find_by_key(pv, f->key, kv) : NULL,
					       f->child, strategic, depth + 1);
		}
	} else if (json_array_size(P) == json_array_size(L)) {
		json_array_foreach(P, i, pi)
			prune_defaults(pi, json_array_get(L, i), json_array_get(pv, i), f ? f->child : NULL,
				       strategic, depth + 1);
	}
}

static void prune_defaults(json_t *pred, const json_t *live, const json_t *patch,
			   const struct mk_node *node, bool strategic, int depth)
{
	const char *k;
	json_t *v;
	void *tmp;

	if (depth > DIFF_MAX_DEPTH || !json_is_object(pred) || !json_is_object(live))
		return;
	if (!json_is_object(patch))
		patch = NULL;
	json_object_foreach_safe(pred, tmp, k, v) {
		json_t *lv = json_object_get(live, k), *pv = patch ? json_object_get(patch, k) : NULL;
		const struct mk_field *f = strategic ? mk_node_field(node, k) : NULL;
		if (!lv) {
			if (!pv)
				json_object_del(pred, k);
		} else if (json_is_object(v)) {
			prune_defaults(v, lv, pv, f ? f->child : NULL, strategic, depth + 1);
		} else if (json_is_array(v) && json_is_array(lv)) {
			prune_list(v, lv, pv, f, strategic, depth);
		}
	}
}

/* Fills server defaults into what the patch wrote (see prune_defaults for
 * the ones live does not have). live and patch are NULL for an object to be
 * created: then all defaults stay. */
static int fill_defaults(json_t *pred, const json_t *live, const json_t *patch, const struct ctx *c)
{
	int rc = kdefaults_apply(pred, NULL);
	if (rc < 0)
		return err_prefix(rc, "server defaults");
	if (live) {
		bool strategic = mk_is_builtin(c->group, c->kind);
		prune_defaults(pred, live, patch, strategic ? mk_kind_schema(c->group, c->kind) : NULL,
			       strategic, 0);
	}
	/* defaulting writes template creationTimestamp: null back */
	return normalize_templates(pred);
}

static json_t *mask_string(size_t n)
{
	static const char plus[] = "++++++++++++++++";
	return json_stringn(plus, n < sizeof(plus) - 1 ? n : sizeof(plus) - 1);
}

/* Replaces every member value of a data map by a mask of length n. */
static void mask_map(json_t *map, size_t n)
{
	const char *k;
	json_t *v;
	json_object_foreach(map, k, v)
		json_object_set_new(map, k, mask_string(n));
}

/* Secret values never leave the engine in the change list: a change under
 * /data shows 8 '+' for the desired value and 12 for a different live one
 * (as diff_unified and Argo CD do); whole-object and whole-map changes get
 * their data values masked with 8. */
static void mask_secret_changes(struct diff_result *r)
{
	for (size_t i = 0; i < r->n_changes; i++) {
		struct diff_change *ch = &r->changes[i];
		const char *p = ch->pointer;
		json_t *vals[2] = {ch->old_value, ch->new_value};
		for (int j = 0; j < 2; j++) {
			size_t n = j == 0 ? 12 : 8;
			if (!vals[j])
				continue;
			if (str_starts_with(p, "/data/")) {
				json_decref(vals[j]);
				vals[j] = mask_string(n);
			} else if (strcmp(p, "/data") == 0) {
				mask_map(vals[j], 8);
			} else if (*p == '\0') {
				mask_map(json_object_get(vals[j], "data"), 8);
			}
		}
		ch->old_value = vals[0];
		ch->new_value = vals[1];
	}
}

static int compare_into(struct diff_result *r, const json_t *live, const json_t *pred,
			const struct mk_node *node)
{
	struct cmp c = {.r = r};
	if (!live)
		add_change(&c, DIFF_OP_ADD, NULL, pred);
	else if (!pred)
		add_change(&c, DIFF_OP_REMOVE, live, NULL);
	else
		cmp_value(&c, live, pred, false, node, NULL);
	if (r->is_secret)
		mask_secret_changes(r);
	return c.rc;
}

static int check_inputs(const json_t *desired, const json_t *live)
{
	size_t nodes = 0;
	int rc;
	if (!desired && !live)
		return err_set(BERR_INVALID, "diff: neither desired nor live object given");
	if (desired && ((rc = check_identity(desired, "desired")) < 0 ||
			(rc = check_bounds(desired, 0, &nodes, "desired")) < 0))
		return rc;
	nodes = 0;
	if (live && ((rc = check_identity(live, "live")) < 0 || (rc = check_bounds(live, 0, &nodes, "live")) < 0))
		return rc;
	if (desired && live) {
		char gd[256], gl[256];
		group_of(jx_str(desired, "apiVersion"), gd, sizeof(gd));
		group_of(jx_str(live, "apiVersion"), gl, sizeof(gl));
		if (strcmp(gd, gl) != 0 || strcmp(jx_str(desired, "kind"), jx_str(live, "kind")) != 0)
			return err_set(BERR_INVALID, "diff: desired %s/%s and live %s/%s are different kinds",
				       gd, jx_str(desired, "kind"), gl, jx_str(live, "kind"));
	}
	return 0;
}

/*
 * The patch kubectl apply would send: desired carries the new last-applied
 * annotation (the canonical JSON of desired itself), so the annotation is
 * updated by the same patch and the annotations map is never dropped.
 */
/* What the last-applied annotation records of desired. For a Secret the
 * values of data and stringData are recorded as "": the keys are all the
 * three-way patch needs (to delete keys Git dropped), and an annotation
 * anyone who can read the object sees must not repeat its secrets.
 * kubectl's own three-way patch works the same from such an annotation,
 * since it takes values from the live object. New reference. */
static json_t *recorded_form(const struct ctx *c, const json_t *desired)
{
	static const char *const maps[] = {"data", "stringData"};
	json_t *rec = json_copy((json_t *)desired);
	if (!rec || !c->secret)
		return rec;
	for (size_t i = 0; i < 2; i++) {
		json_t *m = json_object_get(rec, maps[i]);
		const char *k;
		json_t *v;
		if (!json_is_object(m))
			continue;
		m = json_copy(m);
		if (!m || json_object_set_new(rec, maps[i], m) < 0) {
			json_decref(rec);
			return NULL;
		}
		json_object_foreach(m, k, v)
			json_object_set_new(m, k, json_string(""));
	}
	return rec;
}

static int sync_patch(const struct ctx *c, const json_t *la, const json_t *desired, const json_t *live,
		      json_t **ret)
{
	json_t *modified = NULL, *rec = NULL;
	struct buf b;
	int rc;

	if (jx_path_str(desired, "metadata", "annotations", DIFF_LAST_APPLIED, NULL))
		return patch_create_three_way(la, desired, live, c->group, c->kind, ret);
	buf_init(&b, BUF_DEFAULT_MAX);
	modified = json_copy((json_t *)desired);
	json_t *md = modified ? cow_child(modified, "metadata") : NULL;
	if (!md && modified && !json_object_get(modified, "metadata")) {
		md = json_object();
		json_object_set_new(modified, "metadata", md);
	}
	json_t *ann = md ? cow_child(md, "annotations") : NULL;
	if (md && !ann) {
		ann = json_object();
		json_object_set_new(md, "annotations", ann);
	}
	if (!ann) {
		rc = err_set(BERR_NOMEM, "out of memory");
		goto out;
	}
	if (!(rec = recorded_form(c, desired))) {
		rc = err_set(BERR_NOMEM, "out of memory");
		goto out;
	}
	if ((rc = jx_dump_canonical(rec, &b)) < 0 || (rc = buf_putc(&b, '\n')) < 0)
		goto out;
	json_object_set_new(ann, DIFF_LAST_APPLIED, json_stringn(b.ptr, b.len));
	rc = patch_create_three_way(la, modified, live, c->group, c->kind, ret);
out:
	buf_release(&b);
	json_decref(modified);
	json_decref(rec);
	return rc;
}

static int compute_both(const struct ctx *c, const json_t *desired, const json_t *live, struct diff_result *r)
{
	json_t *la = last_applied(live, desired), *nd = NULL, *no = NULL, *npatch = NULL;
	int rc;

	r->three_way = la != NULL;
	if ((rc = normalize(c, desired, &nd)) < 0 || (rc = normalize(c, live, &r->normalized_live)) < 0)
		goto out;
	if (la == desired) {
		no = json_incref(nd);
	} else if (la) {
		if ((rc = normalize(c, la, &no)) < 0)
			goto out;
	} else {
		no = json_incref(nd);
	}
	rc = patch_create_three_way(no, nd, r->normalized_live, c->group, c->kind, &npatch);
	if (rc < 0)
		goto out;
	if (json_object_size(npatch) == 0) {
		r->predicted_live = json_incref(r->normalized_live);
	} else {
		r->predicted_live = json_deep_copy(r->normalized_live);
		if (!r->predicted_live) {
			rc = err_set(BERR_NOMEM, "out of memory");
			goto out;
		}
		if ((rc = apply_patch(c, r->predicted_live, npatch)) < 0)
			goto out;
		bool strategic = mk_is_builtin(c->group, c->kind);
		fill_atomic_from_live(r->predicted_live, r->normalized_live, npatch,
				      strategic ? mk_kind_schema(c->group, c->kind) : NULL, strategic, 0);
		if ((rc = fill_defaults(r->predicted_live, r->normalized_live, npatch, c)) < 0)
			goto out;
		if ((rc = compare_into(r, r->normalized_live, r->predicted_live,
				       mk_kind_schema(c->group, c->kind))) < 0)
			goto out;
	}
	if (r->modified && c->s && c->s->compare_only)
		rc = 0;
	else if (r->modified)
		rc = sync_patch(c, la, desired, live, &r->patch);
	else
		rc = (r->patch = json_object()) ? 0 : err_set(BERR_NOMEM, "out of memory");
out:
	json_decref(la);
	json_decref(nd);
	json_decref(no);
	json_decref(npatch);
	return rc;
}

int diff_compute(const json_t *desired, const json_t *live, const struct diff_settings *s,
		 struct diff_result *out)
{
	struct diff_result r;
	struct ctx c;
	int rc;

	if ((rc = check_inputs(desired, live)) < 0)
		return rc;
	if ((rc = ctx_init(&c, desired ? desired : live, live, s)) < 0)
		return rc;
	diff_result_init(&r);
	r.patch_is_strategic = mk_is_builtin(c.group, c.kind);
	r.is_secret = c.secret;
	if (desired && live) {
		rc = compute_both(&c, desired, live, &r);
	} else if (live) {
		/* in the cluster, not in Git */
		if ((rc = normalize(&c, live, &r.normalized_live)) == 0)
			rc = compare_into(&r, r.normalized_live, NULL, NULL);
	} else {
		/* in Git, not in the cluster: predicted is desired + defaults */
		json_t *nd = NULL;
		if ((rc = normalize(&c, desired, &nd)) == 0) {
			r.predicted_live = json_deep_copy(nd);
			rc = r.predicted_live ? fill_defaults(r.predicted_live, NULL, NULL, &c) : err_set(BERR_NOMEM, "out of memory");
			if (rc == 0)
				rc = compare_into(&r, NULL, r.predicted_live, NULL);
		}
		json_decref(nd);
	}
	if (rc < 0) {
		diff_result_release(&r);
		const char *name = jx_path_str(desired ? desired : live, "metadata", "name", NULL);
		return err_prefix(rc, "diff %s \"%s\"", c.kind, name ? name : "");
	}
	*out = r;
	return 0;
}

/* ---- rendering ---- */

/* Replaces the Secret data values of a and b (private copies) by runs of
 * '+': equal values get equal masks, different values different lengths,
 * as Argo CD does, so a reader sees that a value changed but not what it
 * is. */
static void mask_secret_pair(json_t *a, json_t *b)
{
	json_t *da = json_object_get(a, "data"), *db = json_object_get(b, "data");
	const char *k;
	json_t *v;

	/* per key, as Argo CD: the desired value gets 8 '+', a live value
	 * equal to it the same, a different one 12 */
	json_object_foreach(da, k, v) {
		json_t *w = json_object_get(db, k);
		json_object_set_new(da, k, mask_string(w && !jx_equal(v, w) ? 12 : 8));
	}
	json_object_foreach(db, k, v)
		json_object_set_new(db, k, mask_string(8));
}

static int render(const json_t *v, struct buf *out)
{
	if (!v)
		return 0;
	return kyaml_dump_ex(v, KYAML_DUMP_SORT_KEYS, out);
}

int diff_unified(const struct diff_result *r, struct buf *out)
{
	json_t *a = NULL, *b = NULL;
	struct buf ta, tb;
	int rc;

	if (!r->modified)
		return 0;
	buf_init(&ta, out->max);
	buf_init(&tb, out->max);
	a = r->normalized_live ? json_deep_copy(r->normalized_live) : NULL;
	b = r->predicted_live ? json_deep_copy(r->predicted_live) : NULL;
	if ((r->normalized_live && !a) || (r->predicted_live && !b)) {
		rc = err_set(BERR_NOMEM, "out of memory");
		goto out;
	}
	if (r->is_secret) {
		json_t *empty = json_object();
		mask_secret_pair(a ? a : empty, b ? b : empty);
		json_decref(empty);
	}
	if ((rc = render(a, &ta)) < 0 || (rc = render(b, &tb)) < 0)
		goto out;
	rc = linediff_unified(ta.ptr, ta.len, tb.ptr, tb.len, "live", "desired", 3, out);
out:
	json_decref(a);
	json_decref(b);
	buf_release(&ta);
	buf_release(&tb);
	return rc;
}

int diff_normalized_hash(const json_t *obj, const struct diff_settings *s, char out[65])
{
	json_t *n = NULL;
	int rc;

	if ((rc = normalize_alone(obj, s, &n)) < 0)
		return rc;
	rc = jx_hash_hex(n, out);
	json_decref(n);
	return rc;
}

int diff_cache_key(const json_t *desired, const json_t *live, const struct diff_settings *s,
		   char out[65])
{
	const char *uid = live ? jx_path_str(live, "metadata", "uid", NULL) : "";
	const char *rv = live ? jx_path_str(live, "metadata", "resourceVersion", NULL) : "";
	json_t *key;
	int rc;

	if (!uid || !rv)
		return err_set(BERR_INVALID, "diff cache key: live object has no uid or resourceVersion");
	json_t *ann = json_array();
	for (const char *const *a = s ? s->ignore_annotations : NULL; a && *a; a++)
		json_array_append_new(ann, json_string(*a));
	key = json_pack("{s:i, s:O?, s:s, s:s, s:O?, s:O?, s:o}", "v", 1, "desired", (json_t *)desired,
			"uid", uid, "rv", rv, "ignore", s ? (json_t *)s->ignore_differences : NULL,
			"custom", s ? (json_t *)s->customizations : NULL, "annotations", ann);
	if (!key)
		return err_set(BERR_NOMEM, "diff cache key: out of memory");
	rc = jx_hash_hex(key, out);
	json_decref(key);
	return rc;
}
