/* Desired state: the app's manifests from the repo server (DESIGN.md §9
 * POST /v1/manifests), with the repository's credentials from its Secret,
 * then prepared for comparing and applying: the destination namespace on
 * namespaced objects that have none, and Berth's tracking id. */
#include <stdlib.h>
#include <string.h>

#include "annot.h"
#include "ctl.h"
#include "err.h"
#include "httpc.h"
#include "jsonx.h"
#include "kyaml.h"
#include "log.h"
#include "str.h"

#define MANIFESTS_TIMEOUT_MS 180000
#define MANIFESTS_MAX_BYTES ((size_t)256 << 20)

static const char *const cluster_scoped_kinds[] = {
	"Namespace", "Node", "PersistentVolume", "StorageClass", "CustomResourceDefinition", "ClusterRole",
	"ClusterRoleBinding", "PriorityClass", "IngressClass", "APIService", "ValidatingWebhookConfiguration",
	"MutatingWebhookConfiguration", "CSIDriver", "RuntimeClass", NULL,
};

bool ctl_kind_namespaced(struct cluster *cl, const char *api_version, const char *kind)
{
	struct kube_resource res;
	if (kube_resource_for(cl->kc, api_version, kind, &res) == 0) {
		bool ns = res.namespaced;
		kube_resource_release(&res);
		return ns;
	}
	err_clear();
	for (size_t i = 0; cluster_scoped_kinds[i]; i++)
		if (!strcmp(kind, cluster_scoped_kinds[i]))
			return false;
	return true;
}

json_t *ctl_settings(struct ctl *c)
{
	const struct lc_record *r = livecache_get(c->cp, "", "ConfigMap", c->ns, "berth-cm");
	json_t *cm = NULL, *data = NULL;
	if (r && lc_record_object(r, &cm) == 0 && json_is_object(json_object_get(cm, "data")))
		data = json_incref(json_object_get(cm, "data"));
	err_clear();
	lc_record_unref(r);
	json_decref(cm);
	return data;
}

#define IGNORE_PREFIX "resource.customizations.ignoreDifferences."

json_t *ctl_diff_customizations(const json_t *settings)
{
	json_t *out = json_object(), *v;
	const char *k;
	json_object_foreach((json_t *)settings, k, v) {
		json_t *rule = NULL;
		const char *text = json_string_value(v);
		if (!str_starts_with(k, IGNORE_PREFIX) || !text)
			continue;
		if (kyaml_load_any(text, strlen(text), NULL, &rule) == 0 && json_is_object(rule))
			json_object_set(out, k + strlen(IGNORE_PREFIX), rule);
		json_decref(rule);
		err_clear();
	}
	return out;
}

static bool any_glob(const json_t *list, const char *s)
{
	size_t i;
	json_t *p;
	if (!json_is_array(list) || json_array_size(list) == 0)
		return true; /* absent: matches everything */
	json_array_foreach(list, i, p)
		if (json_string_value(p) && str_glob(json_string_value(p), s))
			return true;
	return false;
}

bool ctl_excluded(const json_t *settings, const char *group, const char *kind, const char *server)
{
	const char *text = jx_str(settings, "resource.exclusions");
	json_t *rules = NULL, *r;
	size_t i;
	bool hit = false;
	if (!text || kyaml_load_any(text, strlen(text), NULL, &rules) < 0 || !json_is_array(rules)) {
		err_clear();
		json_decref(rules);
		return false;
	}
	json_array_foreach(rules, i, r) {
		if (any_glob(json_object_get(r, "apiGroups"), group) && any_glob(json_object_get(r, "kinds"), kind) &&
		    any_glob(json_object_get(r, "clusters"), server ? server : "")) {
			hit = true;
			break;
		}
	}
	json_decref(rules);
	return hit;
}

/* The repo object of the request: url plus credentials from the matching
 * repository Secret. New reference. */
static json_t *repo_json(struct ctl *c, const char *url)
{
	struct lc_records rs = {0};
	json_t *out = json_pack("{s:s}", "url", url);
	if (!out || livecache_list(c->cp, "", "Secret", c->ns, &rs) < 0)
		return out;
	struct model_repo *repos = calloc(rs.n + 1, sizeof(*repos));
	size_t n = 0;
	for (size_t i = 0; repos && i < rs.n; i++) {
		const char *type = jx_path_str(rs.v[i]->meta, "labels", MODEL_SECRET_TYPE_LABEL, NULL);
		json_t *obj = NULL;
		if (!type || (strcmp(type, "repository") && strcmp(type, "repo-creds")))
			continue;
		if (lc_record_object(rs.v[i], &obj) == 0 && model_repo_from_secret(obj, &repos[n]) == 0)
			n++;
		json_decref(obj);
	}
	ssize_t m = repos ? model_repo_match(repos, n, url) : -1;
	if (m >= 0) {
		const struct model_repo *r = &repos[m];
		if (r->username)
			json_object_set_new(out, "username", json_string(r->username));
		if (r->password)
			json_object_set_new(out, "password", json_string(r->password));
		if (r->ssh_private_key)
			json_object_set_new(out, "sshPrivateKey", json_string(r->ssh_private_key));
		if (r->insecure)
			json_object_set_new(out, "insecure", json_true());
	}
	for (size_t i = 0; i < n; i++)
		model_repo_release(&repos[i]);
	free(repos);
	lc_records_free(&rs);
	return out;
}

static int post_manifests(struct ctl *c, json_t *req, json_t **ret)
{
	struct buf body, url;
	struct httpc_resp resp;
	int rc;

	buf_init(&body, MANIFESTS_MAX_BYTES);
	buf_init(&url, 4096);
	httpc_resp_init(&resp);
	if ((rc = jx_dump_compact(req, &body)) < 0 || (rc = buf_printf(&url, "%s/v1/manifests", c->repo_server)) < 0)
		goto out;
	struct httpc_req hr = {.method = "POST", .url = url.ptr, .body = body.ptr, .body_len = body.len,
			       .content_type = "application/json", .timeout_ms = MANIFESTS_TIMEOUT_MS,
			       .max_response_bytes = MANIFESTS_MAX_BYTES, .retry_unsafe = true};
	if ((rc = httpc_request(c->http, &hr, &resp)) < 0) {
		err_prefix(rc, "repo server");
		goto out;
	}
	json_t *v = NULL;
	if (jx_parse(resp.body.ptr ? resp.body.ptr : "", resp.body.len, MANIFESTS_MAX_BYTES, JX_MAX_DEPTH, &v) < 0)
		v = NULL;
	if (resp.status != 200) {
		const char *msg = jx_str(v, "error");
		rc = err_set(resp.status >= 500 ? BERR_UNAVAILABLE : BERR_INVALID, "repo server: %s",
			     msg ? msg : "request failed");
		json_decref(v);
		goto out;
	}
	if (!json_is_array(json_object_get(v, "manifests"))) {
		json_decref(v);
		rc = err_set(BERR_INVALID, "repo server: answer without manifests");
		goto out;
	}
	*ret = v;
out:
	buf_release(&body);
	buf_release(&url);
	httpc_resp_release(&resp);
	return rc;
}

/* Namespace and tracking id on one desired object. */
static int prepare(struct cluster *cl, const struct model_app *app, json_t *obj)
{
	const char *av = jx_str(obj, "apiVersion"), *kind = jx_str(obj, "kind");
	struct buf id;
	int rc;

	if (!av || !kind || !json_is_object(json_object_get(obj, "metadata")))
		return err_set(BERR_INVALID, "manifest without apiVersion, kind or metadata");
	json_t *md = json_object_get(obj, "metadata");
	bool namespaced = ctl_kind_namespaced(cl, av, kind);
	const char *ns = jx_str(md, "namespace");
	if (namespaced && (!ns || !*ns) && app->destination.namespace_ && *app->destination.namespace_)
		json_object_set_new(md, "namespace", json_string(app->destination.namespace_));
	else if (!namespaced && ns)
		json_object_del(md, "namespace");
	if (!jx_str(md, "name"))
		return 0; /* generateName hooks: no tracking id until created */
	buf_init(&id, 4096);
	if ((rc = annot_tracking_id_of(&id, app->meta.name, obj)) == 0) {
		json_t *ann = jx_obj_ensure(md, "annotations");
		if (!ann)
			rc = err_set(BERR_NOMEM, "out of memory");
		else
			json_object_set_new(ann, ANNOT_TRACKING_ID, json_stringn(id.ptr, id.len));
	}
	buf_release(&id);
	return rc;
}

static json_t *manifest_request(struct ctl *c, const struct model_app *app, const struct model_source *s,
				const char *revision, bool no_cache)
{
	json_t *src = model_source_to_json(s);
	json_t *req = json_pack("{s:o,s:s,s:s,s:s,s:s,s:o,s:b}", "repo", repo_json(c, s->repo_url), "revision",
				revision ? revision : s->target_revision ? s->target_revision : "HEAD",
				"path", s->path ? s->path : "", "appName", app->meta.name, "namespace",
				app->destination.namespace_ ? app->destination.namespace_ : "",
				"source", src ? src : json_object(), "noCache", no_cache);
	return req;
}

int ctl_manifests(struct ctl *c, struct cluster *cl, const struct model_app *app,
		  const struct model_sources *srcs, const char *revision, bool no_cache, json_t **ret_objs,
		  char **ret_rev, char **ret_type)
{
	json_t *objs = json_array(), *settings = NULL;
	char *rev = NULL, *type = NULL;
	int rc = 0;

	if (!objs)
		return err_set(BERR_NOMEM, "out of memory");
	if (!srcs || srcs->n == 0) {
		rc = err_set(BERR_INVALID, "spec.source: no source");
		goto out;
	}
	settings = ctl_settings(c);
	for (size_t i = 0; i < srcs->n; i++) {
		const struct model_source *s = &srcs->v[i];
		json_t *req, *ans = NULL;
		if (!s->path && !s->chart && srcs->multi)
			continue; /* a $ref-only source */
		if (!(req = manifest_request(c, app, s, i == 0 ? revision : NULL, no_cache))) {
			rc = err_set(BERR_NOMEM, "out of memory");
			goto out;
		}
		rc = post_manifests(c, req, &ans);
		json_decref(req);
		if (rc < 0)
			goto out;
		if (!rev) {
			rev = str_dup(jx_str(ans, "revision") ? jx_str(ans, "revision") : "");
			type = str_dup(jx_str(ans, "sourceType") ? jx_str(ans, "sourceType") : "");
		}
		size_t k;
		json_t *m;
		json_array_foreach(json_object_get(ans, "manifests"), k, m) {
			char group[256];
			if (!json_is_object(m) || !jx_str(m, "kind"))
				continue;
			annot_api_group(m, group, sizeof(group));
			if (settings && ctl_excluded(settings, group, jx_str(m, "kind"), cl->server))
				continue;
			if ((rc = prepare(cl, app, m)) < 0) {
				json_decref(ans);
				goto out;
			}
			json_array_append(objs, m);
		}
		json_decref(ans);
	}
	json_decref(settings);
	*ret_objs = objs;
	*ret_rev = rev ? rev : str_dup("");
	*ret_type = type ? type : str_dup("");
	return 0;
out:
	json_decref(settings);
	json_decref(objs);
	free(rev);
	free(type);
	return rc;
}
