/* discovery — see discovery.h. */
#include "discovery.h"

#include <string.h>

#include "jsonx.h"
#include "str.h"

bool discovery_wants_v2(const char *accept)
{
	return accept && strstr(accept, "g=apidiscovery.k8s.io") && strstr(accept, "as=APIGroupDiscoveryList") &&
	       (strstr(accept, "v=v2;") || strstr(accept, "v=v2,") || str_ends_with(accept, "v=v2"));
}

static json_t *verbs(const struct ks_type *t)
{
	(void)t;
	return json_pack("[s,s,s,s,s,s,s,s]", "create", "delete", "deletecollection", "get", "list", "patch", "update",
			 "watch");
}

static json_t *strlist(char **l)
{
	json_t *a = json_array();
	for (char **p = l; p && *p; p++)
		json_array_append_new(a, json_string(*p));
	return a;
}

json_t *discovery_api_versions(void)
{
	return json_pack("{s:s,s:[s],s:[{s:s,s:s}]}", "kind", "APIVersions", "versions", "v1",
			 "serverAddressByClientCIDRs", "clientCIDR", "0.0.0.0/0", "serverAddress", "127.0.0.1:6443");
}

struct gather {
	json_t *groups; /* name -> [versions] */
	json_t *order;  /* names in first-seen order */
	const char *group, *version;
	json_t *resources;
	bool core;
	bool v2;
};

static void collect_group(void *ctx, const struct ks_type *t)
{
	struct gather *g = ctx;
	if (!t->served || !*t->group)
		return;
	json_t *vers = json_object_get(g->groups, t->group);
	if (!vers) {
		vers = json_array();
		json_object_set_new(g->groups, t->group, vers);
		json_array_append_new(g->order, json_string(t->group));
	}
	size_t i;
	json_t *v;
	json_array_foreach(vers, i, v) if (strcmp(json_string_value(v), t->version) == 0) return;
	json_array_append_new(vers, json_string(t->version));
}

json_t *discovery_group_list(struct ks_store *s)
{
	struct gather g = { .groups = json_object(), .order = json_array() };
	store_types_foreach(s, collect_group, &g);
	json_t *list = json_pack("{s:s,s:s,s:[]}", "kind", "APIGroupList", "apiVersion", "v1", "groups");
	json_t *arr = json_object_get(list, "groups");
	size_t i;
	json_t *name;
	json_array_foreach(g.order, i, name) {
		const char *gn = json_string_value(name);
		json_t *vers = json_object_get(g.groups, gn);
		json_t *va = json_array();
		size_t j;
		json_t *v;
		json_array_foreach(vers, j, v) {
			char *gv = str_printf("%s/%s", gn, json_string_value(v));
			json_array_append_new(va, json_pack("{s:s,s:s}", "groupVersion", gv, "version", json_string_value(v)));
			free(gv);
		}
		json_t *pref = json_deep_copy(json_array_get(va, 0));
		json_array_append_new(arr, json_pack("{s:s,s:o,s:o}", "name", gn, "versions", va, "preferredVersion", pref));
	}
	json_decref(g.groups);
	json_decref(g.order);
	return list;
}

static void collect_resources(void *ctx, const struct ks_type *t)
{
	struct gather *g = ctx;
	if (!t->served || strcmp(t->group, g->group) != 0 || strcmp(t->version, g->version) != 0)
		return;
	json_t *r = json_pack("{s:s,s:s,s:b,s:s,s:o}", "name", t->plural, "singularName", t->singular, "namespaced",
			      t->namespaced, "kind", t->kind, "verbs", verbs(t));
	if (t->short_names && t->short_names[0])
		json_object_set_new(r, "shortNames", strlist(t->short_names));
	if (t->categories && t->categories[0])
		json_object_set_new(r, "categories", strlist(t->categories));
	json_object_set_new(r, "storageVersionHash", json_string("kubesim0000="));
	json_array_append_new(g->resources, r);
	if (t->has_status)
		json_array_append_new(g->resources,
				      json_pack("{s:s,s:s,s:b,s:s,s:[s,s,s]}", "name", "", "singularName", "", "namespaced",
						t->namespaced, "kind", t->kind, "verbs", "get", "patch", "update"));
	if (t->has_status) {
		json_t *last = json_array_get(g->resources, json_array_size(g->resources) - 1);
		char *n = str_printf("%s/status", t->plural);
		json_object_set_new(last, "name", json_string(n));
		free(n);
	}
	if (t->has_scale) {
		char *n = str_printf("%s/scale", t->plural);
		json_array_append_new(g->resources,
				      json_pack("{s:s,s:s,s:b,s:s,s:s,s:s,s:[s,s,s]}", "name", n, "singularName", "",
						"namespaced", t->namespaced, "group", "autoscaling", "version", "v1", "kind",
						"Scale", "verbs", "get", "patch", "update"));
		free(n);
	}
}

json_t *discovery_resource_list(struct ks_store *s, const char *group, const char *version)
{
	struct gather g = { .group = group, .version = version, .resources = json_array() };
	store_types_foreach(s, collect_resources, &g);
	if (json_array_size(g.resources) == 0) {
		json_decref(g.resources);
		return NULL;
	}
	char *gv = *group ? str_printf("%s/%s", group, version) : str_dup(version);
	json_t *list = json_pack("{s:s,s:s,s:s,s:o}", "kind", "APIResourceList", "apiVersion", "v1", "groupVersion", gv,
				 "resources", g.resources);
	free(gv);
	return list;
}

/* Aggregated: one item per group, versions each with resources. */
struct agg {
	json_t *groups; /* name -> item */
	json_t *order;
	bool core;
};

static json_t *response_kind(const char *group, const char *version, const char *kind)
{
	return json_pack("{s:s,s:s,s:s}", "group", group, "version", version, "kind", kind);
}

static void collect_agg(void *ctx, const struct ks_type *t)
{
	struct agg *a = ctx;
	if (!t->served || (a->core != (*t->group == '\0')))
		return;
	json_t *item = json_object_get(a->groups, t->group);
	if (!item) {
		item = json_pack("{s:{},s:[]}", "metadata", "versions");
		if (*t->group)
			json_object_set_new(json_object_get(item, "metadata"), "name", json_string(t->group));
		json_object_set_new(a->groups, t->group, item);
		json_array_append_new(a->order, json_string(t->group));
	}
	json_t *vers = json_object_get(item, "versions");
	json_t *ver = NULL;
	size_t i;
	json_t *v;
	json_array_foreach(vers, i, v) if (strcmp(jx_str(v, "version"), t->version) == 0) ver = v;
	if (!ver) {
		ver = json_pack("{s:s,s:[],s:s}", "version", t->version, "resources", "freshness", "Current");
		json_array_append_new(vers, ver);
	}
	json_t *r = json_pack("{s:s,s:s,s:s,s:o,s:o}", "resource", t->plural, "singularResource", t->singular, "scope",
			      t->namespaced ? "Namespaced" : "Cluster", "responseKind",
			      response_kind(t->group, t->version, t->kind), "verbs", verbs(t));
	if (t->short_names && t->short_names[0])
		json_object_set_new(r, "shortNames", strlist(t->short_names));
	if (t->categories && t->categories[0])
		json_object_set_new(r, "categories", strlist(t->categories));
	json_t *subs = json_array();
	if (t->has_status)
		json_array_append_new(subs, json_pack("{s:s,s:o,s:[s,s,s]}", "subresource", "status", "responseKind",
						      response_kind(t->group, t->version, t->kind), "verbs", "get", "patch",
						      "update"));
	if (t->has_scale)
		json_array_append_new(subs, json_pack("{s:s,s:o,s:[s,s,s]}", "subresource", "scale", "responseKind",
						      response_kind("autoscaling", "v1", "Scale"), "verbs", "get", "patch",
						      "update"));
	if (json_array_size(subs))
		json_object_set_new(r, "subresources", subs);
	else
		json_decref(subs);
	json_array_append_new(json_object_get(ver, "resources"), r);
}

json_t *discovery_aggregated(struct ks_store *s, bool core)
{
	struct agg a = { .groups = json_object(), .order = json_array(), .core = core };
	store_types_foreach(s, collect_agg, &a);
	json_t *list = json_pack("{s:s,s:s,s:{},s:[]}", "kind", "APIGroupDiscoveryList", "apiVersion",
				 "apidiscovery.k8s.io/v2", "metadata", "items");
	json_t *items = json_object_get(list, "items");
	size_t i;
	json_t *name;
	json_array_foreach(a.order, i, name) json_array_append(items, json_object_get(a.groups, json_string_value(name)));
	json_decref(a.groups);
	json_decref(a.order);
	return list;
}

json_t *discovery_version(void)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "major", "1", "minor", "32", "gitVersion",
			 "v1.32.0-kubesim", "gitCommit", "0000000000000000000000000000000000000000", "gitTreeState",
			 "clean", "buildDate", "2026-01-01T00:00:00Z", "goVersion", "go1.23", "compiler", "gc",
			 "platform", "linux/amd64");
}

/* ---- OpenAPI v3 -------------------------------------------------------------
 * No schemas: only, per group-version, the object paths with a PATCH
 * operation tagged with its group-version-kind and the query parameters the
 * server supports. kubectl reads that to decide that the server validates
 * fields itself (fieldValidation) and then skips client-side validation. */

struct oa {
	json_t *out;
	const char *group, *version;
	char hash[32];
};

static void collect_gv_index(void *ctx, const struct ks_type *t)
{
	struct oa *o = ctx;
	if (!t->served)
		return;
	char *key = *t->group ? str_printf("apis/%s/%s", t->group, t->version) : str_printf("api/%s", t->version);
	if (key && !json_object_get(o->out, key)) {
		char *url = str_printf("/openapi/v3/%s?hash=%s", key, o->hash);
		json_object_set_new(o->out, key, json_pack("{s:s}", "serverRelativeURL", url ? url : ""));
		free(url);
	}
	free(key);
}

json_t *discovery_openapi_index(struct ks_store *s)
{
	struct oa o = { .out = json_object() };
	snprintf(o.hash, sizeof(o.hash), "%016llX", (unsigned long long)store_rv(s));
	store_types_foreach(s, collect_gv_index, &o);
	return json_pack("{s:o}", "paths", o.out);
}

static void collect_gv_paths(void *ctx, const struct ks_type *t)
{
	struct oa *o = ctx;
	if (!t->served || strcmp(t->group, o->group) != 0 || strcmp(t->version, o->version) != 0)
		return;
	char *path;
	const char *base = *t->group ? "/apis/" : "/api";
	if (t->namespaced)
		path = *t->group ? str_printf("%s%s/%s/namespaces/{namespace}/%s/{name}", base, t->group, t->version, t->plural)
				 : str_printf("%s/%s/namespaces/{namespace}/%s/{name}", base, t->version, t->plural);
	else
		path = *t->group ? str_printf("%s%s/%s/%s/{name}", base, t->group, t->version, t->plural)
				 : str_printf("%s/%s/%s/{name}", base, t->version, t->plural);
	if (!path)
		return;
	json_t *params = json_array();
	static const char *const names[] = { "dryRun", "fieldManager", "fieldValidation", "force", NULL };
	for (const char *const *n = names; *n; n++)
		json_array_append_new(params, json_pack("{s:s,s:s,s:{s:s},s:b}", "name", *n, "in", "query", "schema", "type",
							*n[0] == 'f' && (*n)[1] == 'o' ? "boolean" : "string", "uniqueItems", 1));
	json_t *op = json_pack("{s:o,s:{s:s,s:s,s:s},s:s}", "parameters", params, "x-kubernetes-group-version-kind",
			       "group", t->group, "version", t->version, "kind", t->kind, "x-kubernetes-action", "patch");
	json_object_set_new(o->out, path, json_pack("{s:o}", "patch", op));
	free(path);
}

json_t *discovery_openapi_gv(struct ks_store *s, const char *group, const char *version)
{
	struct oa o = { .out = json_object(), .group = group, .version = version };
	store_types_foreach(s, collect_gv_paths, &o);
	if (json_object_size(o.out) == 0) {
		json_decref(o.out);
		return NULL;
	}
	return json_pack("{s:s,s:{s:s,s:s},s:o,s:{s:{}}}", "openapi", "3.0.0", "info", "title", "Kubernetes", "version",
			 "v1.32.0", "paths", o.out, "components", "schemas");
}
