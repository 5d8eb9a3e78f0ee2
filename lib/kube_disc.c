/*
 * kube_disc — discovery and the Kind→resource map (KUBE-API.md §1).
 *
 * Aggregated discovery is asked for first (two requests, /api and /apis,
 * with the apidiscovery Accept list); a server that answers with plain
 * documents (no "g=apidiscovery.k8s.io" in the Content-Type) is then read
 * the plain way: /api, /api/v1, /apis and every /apis/{g}/{v}. A group
 * version that fails to load (an aggregated API server down: 503) is
 * skipped rather than failing the whole discovery.
 */
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "err.h"
#include "jsonx.h"
#include "kube.h"
#include "kube_int.h"
#include "str.h"

#define AGG_ACCEPT                                                                     \
	"application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"          \
	"application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,"     \
	"application/json"
#define MAX_RESOURCES 20000

struct res_vec {
	struct kube_resource *v;
	size_t n, cap;
};

static unsigned verbs_of(const json_t *arr)
{
	static const char *const names[] = {"get", "list", "watch", "create", "update", "patch", "delete",
					    "deletecollection"};
	unsigned v = 0;
	size_t i;
	json_t *e;
	json_array_foreach(arr, i, e) {
		const char *s = json_string_value(e);
		for (size_t k = 0; s && k < sizeof(names) / sizeof(names[0]); k++)
			if (strcmp(s, names[k]) == 0)
				v |= 1u << k;
	}
	return v;
}

static int push(struct res_vec *rv, const char *group, const char *version, const char *kind, const char *resource,
		bool namespaced, unsigned verbs, bool preferred)
{
	if (rv->n == rv->cap) {
		if (rv->n >= MAX_RESOURCES)
			return err_set(BERR_TOOLARGE, "discovery: more than %d resources", MAX_RESOURCES);
		size_t cap = rv->cap ? rv->cap * 2 : 64;
		struct kube_resource *nv = realloc(rv->v, cap * sizeof(*nv));
		if (!nv)
			return err_set(BERR_NOMEM, "discovery: out of memory");
		rv->v = nv;
		rv->cap = cap;
	}
	struct kube_resource *r = &rv->v[rv->n];
	memset(r, 0, sizeof(*r));
	r->group = strdup(group);
	r->version = strdup(version);
	r->kind = strdup(kind);
	r->resource = strdup(resource);
	r->namespaced = namespaced;
	r->verbs = verbs;
	r->preferred = preferred;
	if (!r->group || !r->version || !r->kind || !r->resource) {
		kube_resource_release(r);
		return err_set(BERR_NOMEM, "discovery: out of memory");
	}
	rv->n++;
	return 0;
}

/* Marks has_status on the entry of resource name "<res>/status". */
static void mark_status(struct res_vec *rv, size_t from, const char *group, const char *version, const char *sub)
{
	const char *slash = strchr(sub, '/');
	if (!slash || strcmp(slash + 1, "status") != 0)
		return;
	size_t len = (size_t)(slash - sub);
	for (size_t i = from; i < rv->n; i++) {
		struct kube_resource *r = &rv->v[i];
		if (strlen(r->resource) == len && strncmp(r->resource, sub, len) == 0 && strcmp(r->group, group) == 0 &&
		    strcmp(r->version, version) == 0)
			r->has_status = true;
	}
}

/* One APIResourceList. */
static int parse_plain_list(struct res_vec *rv, const char *group, const char *version, bool preferred,
			    const json_t *doc)
{
	json_t *arr = json_object_get(doc, "resources"), *e;
	size_t i, from = rv->n;
	int rc;
	json_array_foreach(arr, i, e) {
		const char *name = jx_str(e, "name"), *kind = jx_str(e, "kind");
		if (!name || !kind || strchr(name, '/'))
			continue;
		if ((rc = push(rv, group, version, kind, name, json_is_true(json_object_get(e, "namespaced")),
			       verbs_of(json_object_get(e, "verbs")), preferred)) < 0)
			return rc;
	}
	json_array_foreach(arr, i, e) {
		const char *name = jx_str(e, "name");
		if (name && strchr(name, '/'))
			mark_status(rv, from, group, version, name);
	}
	return 0;
}

static int parse_aggregated(struct res_vec *rv, const json_t *doc)
{
	json_t *items = json_object_get(doc, "items"), *g;
	size_t i;
	int rc;
	json_array_foreach(items, i, g) {
		const char *group = jx_path_str(g, "metadata", "name", NULL);
		json_t *versions = json_object_get(g, "versions"), *v;
		size_t k;
		if (!group)
			group = "";
		json_array_foreach(versions, k, v) {
			const char *version = jx_str(v, "version");
			json_t *resources = json_object_get(v, "resources"), *r;
			size_t j;
			if (!version)
				continue;
			json_array_foreach(resources, j, r) {
				const char *res = jx_str(r, "resource"), *scope = jx_str(r, "scope"),
					   *kind = jx_path_str(r, "responseKind", "kind", NULL);
				if (!res || !kind || strchr(res, '/'))
					continue;
				if ((rc = push(rv, group, version, kind, res, scope && strcmp(scope, "Namespaced") == 0,
					       verbs_of(json_object_get(r, "verbs")), k == 0)) < 0)
					return rc;
				json_t *subs = json_object_get(r, "subresources"), *s;
				size_t m;
				json_array_foreach(subs, m, s) {
					const char *sn = jx_str(s, "subresource");
					if (sn && strcmp(sn, "status") == 0)
						rv->v[rv->n - 1].has_status = true;
				}
			}
		}
	}
	return 0;
}

/* GET path; *ret the JSON body, *ret_agg whether the answer is aggregated. */
static int get_doc(struct kube_client *kc, const char *path, const char *accept, json_t **ret, bool *ret_agg)
{
	struct httpc_resp resp;
	int rc;
	httpc_resp_init(&resp);
	if ((rc = kube_do(kc, "GET", path, accept, NULL, NULL, 0, &resp)) < 0)
		goto out;
	if (resp.status != 200) {
		char what[300];
		snprintf(what, sizeof(what), "discovery GET %s", path);
		rc = kube_map_error(what, resp.status, resp.body.ptr, resp.body.len);
		goto out;
	}
	if ((rc = jx_parse(resp.body.ptr, resp.body.len, KUBE_MAX_RESPONSE_BYTES, JX_MAX_DEPTH, ret)) < 0) {
		rc = err_prefix(rc, "discovery GET %s", path);
		goto out;
	}
	if (ret_agg) {
		const char *ct = httpc_resp_header(&resp, "Content-Type");
		*ret_agg = ct && strstr(ct, "g=apidiscovery.k8s.io");
	}
out:
	httpc_resp_release(&resp);
	return rc;
}

static int discover_plain(struct kube_client *kc, json_t *core, json_t *apis, struct res_vec *rv)
{
	json_t *doc = NULL, *g, *vs = json_object_get(core, "versions"), *v;
	size_t i, k;
	int rc;
	/* Core group: every version listed (in practice v1). */
	json_array_foreach(vs, i, v) {
		const char *ver = json_string_value(v);
		char path[128];
		if (!ver)
			continue;
		snprintf(path, sizeof(path), "/api/%s", ver);
		if ((rc = get_doc(kc, path, NULL, &doc, NULL)) < 0)
			return rc;
		rc = parse_plain_list(rv, "", ver, i == 0, doc);
		json_decref(doc);
		if (rc < 0)
			return rc;
	}
	json_array_foreach(json_object_get(apis, "groups"), i, g) {
		const char *gname = jx_str(g, "name"), *pref = jx_path_str(g, "preferredVersion", "version", NULL);
		json_array_foreach(json_object_get(g, "versions"), k, v) {
			const char *ver = jx_str(v, "version");
			char path[512];
			if (!gname || !ver)
				continue;
			snprintf(path, sizeof(path), "/apis/%s/%s", gname, ver);
			if ((rc = get_doc(kc, path, NULL, &doc, NULL)) < 0) {
				/* An unavailable group version is skipped (aggregated server down). */
				if (rc == BERR_NOMEM)
					return rc;
				err_clear();
				continue;
			}
			rc = parse_plain_list(rv, gname, ver, pref ? strcmp(pref, ver) == 0 : k == 0, doc);
			json_decref(doc);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

int kube_discover(struct kube_client *kc)
{
	json_t *core = NULL, *apis = NULL;
	bool agg_core = false, agg_apis = false;
	struct res_vec rv = {0};
	int rc;

	const char *accept = kc->o.plain_discovery ? NULL : AGG_ACCEPT;
	if ((rc = get_doc(kc, "/api", accept, &core, &agg_core)) < 0 ||
	    (rc = get_doc(kc, "/apis", accept, &apis, &agg_apis)) < 0)
		goto out;
	if (agg_core && agg_apis) {
		if ((rc = parse_aggregated(&rv, core)) < 0 || (rc = parse_aggregated(&rv, apis)) < 0)
			goto out;
	} else if ((rc = discover_plain(kc, core, apis, &rv)) < 0) {
		goto out;
	}
	pthread_mutex_lock(&kc->disc_mu);
	kube_resources_free(kc->res, kc->n_res);
	kc->res = rv.v;
	kc->n_res = rv.n;
	kc->discovered = true;
	kc->aggregated = agg_core && agg_apis;
	kc->disc_ms = clock_mono_ms();
	pthread_mutex_unlock(&kc->disc_mu);
	memset(&rv, 0, sizeof(rv));
	kube_count(kc, &kc->m.discoveries, 1);
out:
	kube_resources_free(rv.v, rv.n);
	json_decref(core);
	json_decref(apis);
	return rc;
}

bool kube_discovery_aggregated(struct kube_client *kc)
{
	pthread_mutex_lock(&kc->disc_mu);
	bool a = kc->aggregated;
	pthread_mutex_unlock(&kc->disc_mu);
	return a;
}

static int copy_resource(const struct kube_resource *r, struct kube_resource *out)
{
	struct kube_resource c = *r;
	c.group = strdup(r->group);
	c.version = strdup(r->version);
	c.kind = strdup(r->kind);
	c.resource = strdup(r->resource);
	if (!c.group || !c.version || !c.kind || !c.resource) {
		kube_resource_release(&c);
		return err_set(BERR_NOMEM, "discovery: out of memory");
	}
	*out = c;
	return 0;
}

/* Looks g/v/kind up in the current map: 0 (copied), BERR_NOTFOUND. */
static int lookup(struct kube_client *kc, const char *group, const char *version, const char *kind,
		  struct kube_resource *out, int64_t *ret_disc_ms, bool *ret_discovered)
{
	int rc = BERR_NOTFOUND;
	pthread_mutex_lock(&kc->disc_mu);
	for (size_t i = 0; i < kc->n_res; i++) {
		struct kube_resource *r = &kc->res[i];
		if (strcmp(r->kind, kind) == 0 && strcmp(r->group, group) == 0 && strcmp(r->version, version) == 0) {
			rc = copy_resource(r, out);
			break;
		}
	}
	*ret_disc_ms = kc->disc_ms;
	*ret_discovered = kc->discovered;
	pthread_mutex_unlock(&kc->disc_mu);
	return rc;
}

int kube_resource_for(struct kube_client *kc, const char *api_version, const char *kind, struct kube_resource *out)
{
	char group[256], version[64];
	int64_t disc_ms;
	bool discovered;
	int rc;
	if ((rc = kube_split_api_version(api_version, group, sizeof(group), version, sizeof(version))) < 0)
		return rc;
	if (!kind || !*kind)
		return err_set(BERR_INVALID, "kind is empty");
	rc = lookup(kc, group, version, kind, out, &disc_ms, &discovered);
	if (rc != BERR_NOTFOUND)
		return rc;
	/* A miss: refresh discovery, but not more often than the minimum
	 * interval (wait for it: a CRD just established shows up on the
	 * next refresh). */
	if (discovered) {
		int64_t wait = disc_ms + KUBE_DISCOVERY_MIN_INTERVAL_MS - clock_mono_ms();
		if (wait > 0)
			clock_sleep_ms(wait);
		rc = lookup(kc, group, version, kind, out, &disc_ms, &discovered);
		if (rc != BERR_NOTFOUND)
			return rc;
	}
	if ((rc = kube_discover(kc)) < 0)
		return err_prefix(rc, "resolve %s %s", api_version, kind);
	rc = lookup(kc, group, version, kind, out, &disc_ms, &discovered);
	if (rc == BERR_NOTFOUND)
		return err_set(BERR_NOTFOUND, "no resource for kind \"%s\" in %s", kind, api_version);
	return rc;
}

int kube_resources(struct kube_client *kc, struct kube_resource **ret, size_t *ret_n)
{
	int rc;
	pthread_mutex_lock(&kc->disc_mu);
	bool discovered = kc->discovered;
	pthread_mutex_unlock(&kc->disc_mu);
	if (!discovered && (rc = kube_discover(kc)) < 0)
		return rc;
	pthread_mutex_lock(&kc->disc_mu);
	struct kube_resource *v = calloc(kc->n_res ? kc->n_res : 1, sizeof(*v));
	size_t n = 0;
	rc = v ? 0 : err_set(BERR_NOMEM, "discovery: out of memory");
	for (size_t i = 0; rc == 0 && i < kc->n_res; i++, n++)
		rc = copy_resource(&kc->res[i], &v[i]);
	pthread_mutex_unlock(&kc->disc_mu);
	if (rc < 0) {
		kube_resources_free(v, n);
		return rc;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}
