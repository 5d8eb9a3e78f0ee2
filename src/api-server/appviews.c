/* Read-only views of an Application: its resource tree and managed
 * resources (the controller's Redis cache, else the Application status),
 * and its rendered manifests (the repo server). Secret values are masked
 * in every view.
 *
 * The controller's keys (the contract with src/app-controller):
 *   app:<ns>:<name>:resource-tree      {"nodes":[{..., parentRefs:[...]}]}
 *   app:<ns>:<name>:managed-resources  {"items":[{group, version, kind,
 *       namespace, name, status, health, liveState, targetState,
 *       predictedLiveState?, diff}]}  (states are JSON text or null) */
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "jsonx.h"
#include "secretmask.h"
#include "server.h"
#include "str.h"

#define MASK "++++++++"

/* Replaces every value of data and stringData of Secrets in v (an object
 * or an array of objects, searched to a bounded depth) with the mask. */
static void mask_secrets(json_t *v, int depth)
{
	if (depth > 8 || !v)
		return;
	if (json_is_array(v)) {
		size_t i;
		json_t *e;
		json_array_foreach(v, i, e)
			mask_secrets(e, depth + 1);
		return;
	}
	if (!json_is_object(v))
		return;
	if (str_eq_null(jx_str(v, "kind"), "Secret")) {
		const char *keys[] = {"data", "stringData"};
		for (size_t k = 0; k < 2; k++) {
			json_t *d = json_object_get(v, keys[k]);
			const char *key;
			json_t *val;
			json_object_foreach(d, key, val)
				json_object_set_new(d, key, json_string(MASK));
		}
		json_t *ann = jx_path(v, "metadata", "annotations", NULL);
		json_object_del(ann, "kubectl.kubernetes.io/last-applied-configuration");
	}
	const char *key;
	json_t *val;
	json_object_foreach(v, key, val) {
		if (json_is_object(val) || json_is_array(val))
			mask_secrets(val, depth + 1);
	}
}

/* The controller's cached JSON under key (NULL on a miss or without Redis). */
static json_t *cached(struct api_server *s, const char *what, const char *name)
{
	struct buf b;
	json_t *v = NULL;
	char key[512];

	if (!s->cache)
		return NULL;
	/* The controller's keys (src/app-controller/reconcile.c). */
	snprintf(key, sizeof(key), "app:%s:%s:%s", s->ns, name, what);
	buf_init(&b, 64u << 20);
	if (rcache_get(s->cache, key, &b) == 0)
		jx_parse(b.ptr, b.len, b.len + 1, 128, &v);
	buf_release(&b);
	return v;
}

static json_t *nodes_from_status(const json_t *app, bool managed)
{
	json_t *nodes = json_array();
	size_t i;
	json_t *r;

	json_array_foreach(jx_path(app, "status", "resources", NULL), i, r) {
		json_t *n = json_object();
		const char *keys[] = {"group", "version", "kind", "namespace", "name", "health", "status",
				      "syncWave", "hook", "requiresPruning"};
		for (size_t k = 0; k < sizeof(keys) / sizeof(*keys); k++) {
			json_t *v = json_object_get(r, keys[k]);
			if (v)
				json_object_set(n, keys[k], v);
		}
		json_array_append_new(nodes, n);
	}
	return managed ? json_pack("{s:o}", "items", nodes) : json_pack("{s:o}", "nodes", nodes);
}

/* True when v (n bytes) is already a mask: a run of '+' (lib/secretmask). */
static bool is_mask(const char *v, size_t n)
{
	while (n && (v[n - 1] == ' ' || v[n - 1] == '\r'))
		n--;
	if (!n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (v[i] != '+')
			return false;
	return true;
}

/* Masks the values of data/stringData in a Secret's diff text: every line
 * indented under a "data:" or "stringData:" line keeps its key only,
 * unless its value is a mask already (the controller's masks tell equal
 * from different values; they are kept). */
static json_t *mask_diff_text(const char *diff)
{
	struct buf b;
	json_t *out = NULL;
	int in_data = -1;            /* indentation of the data key, or -1 */

	buf_init(&b, 64u << 20);
	for (const char *line = diff; *line;) {
		size_t len = strcspn(line, "\n");
		const char *body = len && strchr(" +-", *line) ? line + 1 : line;
		size_t blen = len - (size_t)(body - line);
		int ind = (int)strspn(body, " ");
		if (in_data >= 0 && blen > (size_t)ind && ind <= in_data)
			in_data = -1;
		const char *colon = memchr(body, ':', blen);
		int rc;
		if (in_data >= 0 && colon && ind > in_data) {
			const char *val = colon + 1 + (colon + 1 < line + len && colon[1] == ' ');
			if (is_mask(val, (size_t)(line + len - val)))
				rc = buf_printf(&b, "%.*s", (int)len, line);
			else
				rc = buf_printf(&b, "%.*s: " MASK, (int)(colon - line), line);
		} else {
			rc = buf_printf(&b, "%.*s", (int)len, line);
		}
		if (in_data < 0 && (!strncmp(body + ind, "data:", 5) || !strncmp(body + ind, "stringData:", 11)))
			in_data = ind;
		if (rc == 0 && line[len])
			rc = buf_putc(&b, '\n');
		if (rc < 0)
			goto out;
		line += len + (line[len] != 0);
	}
	out = json_stringn(b.ptr ? b.ptr : "", b.len);
out:
	buf_release(&b);
	return out;
}

/* Re-masks a Secret item of the controller's managed-resources list: its
 * states (JSON text) together, as the controller masks them (so its masks,
 * which tell equal from different values, come out the same), and its
 * diff. The controller masks already; this is the API server's own
 * guarantee. A state that does not parse is dropped. */
static void mask_managed_item(json_t *it)
{
	const char *states[] = {"targetState", "liveState", "predictedLiveState"};
	json_t *objs[3] = {NULL, NULL, NULL};

	if (!str_eq_null(jx_str(it, "kind"), "Secret"))
		return;
	for (size_t k = 0; k < 3; k++) {
		const char *text = jx_str(it, states[k]);
		if (text && jx_parse(text, strlen(text), strlen(text) + 1, 64, &objs[k]) < 0) {
			objs[k] = NULL;
			json_object_set_new(it, states[k], json_null());
		}
	}
	if (secretmask_apply(objs, 3) < 0) {
		for (size_t k = 0; k < 3; k++)
			mask_secrets(objs[k], 0);
	}
	for (size_t k = 0; k < 3; k++) {
		if (!objs[k])
			continue;
		char *t = json_dumps(objs[k], JSON_COMPACT);
		json_object_set_new(it, states[k], t ? json_string(t) : json_null());
		free(t);
		json_decref(objs[k]);
	}
	const char *diff = jx_str(it, "diff");
	if (diff) {
		json_t *m = mask_diff_text(diff);
		json_object_set_new(it, "diff", m ? m : json_string(""));
	}
}

/* GET .../managed-resources from the controller's list
 * (app:<ns>:<name>:managed-resources, {"items":[...]}): NULL when absent. */
static json_t *managed_from_cache(struct api_server *s, const char *name)
{
	json_t *v = cached(s, "managed-resources", name), *out = NULL, *it;
	size_t i;

	if (!json_is_array(json_object_get(v, "items")))
		goto out;
	out = json_pack("{s:[]}", "items");
	json_array_foreach(json_object_get(v, "items"), i, it) {
		if (!json_is_object(it))
			continue;
		mask_managed_item(it);
		json_array_append(json_object_get(out, "items"), it);
	}
out:
	json_decref(v);
	return out;
}

static void view(struct httpd_req *req, void *ud, const char *what, bool managed)
{
	struct api_server *s = ud;
	struct principal p;
	json_t *app = NULL, *v = NULL;
	const char *name = httpd_req_param(req, "name");

	if (!api_begin(s, req, &p))
		return;
	if (api_app_load(s, req, &p, name, "get", &app) < 0)
		goto out;
	if (!(v = managed ? managed_from_cache(s, name) : cached(s, what, name)))
		v = nodes_from_status(app, managed);
	mask_secrets(v, 0);
	httpd_respond_json(req, 200, v);
out:
	json_decref(app);
	json_decref(v);
	principal_release(&p);
}

void api_app_resource_tree(struct httpd_req *req, void *ud)
{
	view(req, ud, "resource-tree", false);
}

void api_app_managed_resources(struct httpd_req *req, void *ud)
{
	view(req, ud, "managed-resources", true);
}

/* GET /api/v1/applications/{name}/manifests[?revision=] */
void api_app_manifests(struct httpd_req *req, void *ud)
{
	struct api_server *s = ud;
	struct principal p;
	struct model_app app = {0};
	json_t *cur = NULL, *body = NULL, *ans = NULL;
	const char *name = httpd_req_param(req, "name"), *rev = httpd_req_query(req, "revision");
	int rc;

	if (!api_begin(s, req, &p))
		return;
	if (api_app_load(s, req, &p, name, "get", &cur) < 0)
		goto out;
	if ((rc = model_app_parse(cur, &app)) < 0) {
		httpd_respond_error(req, 500, "stored application: %s", err_msg());
		goto out;
	}
	const struct model_source *src = model_app_source(&app);
	if (!src) {
		httpd_respond_error(req, 400, "application has no source");
		goto out;
	}
	body = json_pack("{s:o,s:s,s:s,s:s,s:s,s:o}", "repo", api_repo_request_creds(s, src->repo_url),
			 "revision", rev && *rev ? rev : src->target_revision, "path", src->path ? src->path : ".",
			 "appName", name, "namespace",
			 app.destination.namespace_ ? app.destination.namespace_ : "", "source",
			 model_source_to_json(src));
	if ((rc = api_repo_server_call(s, "/v1/manifests", body, &ans)) < 0) {
		httpd_respond_error(req, api_http_status(rc), "%s", err_msg());
		goto out;
	}
	json_object_del(ans, "cached");
	mask_secrets(ans, 0);
	httpd_respond_json(req, 200, ans);
out:
	model_app_release(&app);
	json_decref(cur);
	json_decref(body);
	json_decref(ans);
	principal_release(&p);
}
