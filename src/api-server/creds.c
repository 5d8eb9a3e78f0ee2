/* Repositories and clusters, stored as labelled Secrets (DESIGN.md §3).
 * Responses never carry passwords, keys or tokens: the model's *_to_json
 * is always called with with_secrets false here. */
#include <string.h>

#include "err.h"
#include "jsonx.h"
#include "log.h"
#include "server.h"
#include "str.h"

#define SECRET_TARGET(s, n) {.api_version = "v1", .kind = "Secret", .namespace_ = (s)->ns, .name = (n)}

static int list_secrets(struct api_server *s, json_t **ret)
{
	struct kube_target t = SECRET_TARGET(s, NULL);
	struct kube_req_opts o = {.label_selector = MODEL_SECRET_TYPE_LABEL};

	return kube_list(s->kc, &t, &o, ret);
}

int api_repos_load(struct api_server *s, struct model_repo **ret, size_t *ret_n)
{
	json_t *list = NULL;
	struct model_repo *v = NULL;
	size_t n = 0, i;
	json_t *it;
	int rc;

	if ((rc = list_secrets(s, &list)) < 0)
		return rc;
	v = calloc(json_array_size(json_object_get(list, "items")) + 1, sizeof(*v));
	if (!v) {
		json_decref(list);
		return err_set(BERR_NOMEM, "out of memory");
	}
	json_array_foreach(json_object_get(list, "items"), i, it) {
		if (model_repo_from_secret(it, &v[n]) == 0)
			n++;
	}
	json_decref(list);
	*ret = v;
	*ret_n = n;
	return 0;
}

void api_repos_free(struct model_repo *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		model_repo_release(&v[i]);
	free(v);
}

int api_clusters_load(struct api_server *s, struct model_cluster **ret, size_t *ret_n)
{
	json_t *list = NULL;
	struct model_cluster *v = NULL;
	size_t n = 0, i;
	json_t *it;
	int rc;

	if ((rc = list_secrets(s, &list)) < 0)
		return rc;
	v = calloc(json_array_size(json_object_get(list, "items")) + 1, sizeof(*v));
	if (!v) {
		json_decref(list);
		return err_set(BERR_NOMEM, "out of memory");
	}
	json_array_foreach(json_object_get(list, "items"), i, it) {
		if (model_cluster_from_secret(it, &v[n]) == 0)
			n++;
	}
	json_decref(list);
	*ret = v;
	*ret_n = n;
	return 0;
}

void api_clusters_free(struct model_cluster *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		model_cluster_release(&v[i]);
	free(v);
}

json_t *api_repo_request_creds(struct api_server *s, const char *url)
{
	struct model_repo *v = NULL;
	size_t n = 0;
	json_t *out = json_pack("{s:s}", "url", url);

	if (api_repos_load(s, &v, &n) == 0) {
		ssize_t i = model_repo_match(v, n, url);
		if (i >= 0) {
			if (v[i].username)
				json_object_set_new(out, "username", json_string(v[i].username));
			if (v[i].password)
				json_object_set_new(out, "password", json_string(v[i].password));
			if (v[i].ssh_private_key)
				json_object_set_new(out, "sshPrivateKey", json_string(v[i].ssh_private_key));
			if (v[i].insecure)
				json_object_set_new(out, "insecure", json_true());
		}
	}
	api_repos_free(v, n);
	return out;
}

/* A Secret name from a URL: prefix + 16 hex characters of its hash. */
static void secret_name(const char *prefix, const char *url, char *out, size_t size)
{
	char *norm = NULL, hex[65] = "";
	json_t *j;

	model_repo_url_normalize(url, &norm);
	j = json_string(norm ? norm : url);
	if (!j || jx_hash_hex(j, hex) < 0)
		str_copy(hex, "0000000000000000", sizeof(hex));
	hex[16] = '\0';
	snprintf(out, size, "%s-%.16s", prefix, hex);
	json_decref(j);
	free(norm);
}

/* ---- repositories ---- */

void api_repos_list(struct httpd_req *req, void *ud)
{
	struct api_server *s = ud;
	struct principal p;
	struct model_repo *v = NULL;
	size_t n = 0;
	int rc;

	if (!api_begin(s, req, &p))
		return;
	if ((rc = api_repos_load(s, &v, &n)) < 0) {
		api_respond_err(req, rc);
		goto out;
	}
	json_t *out = json_pack("{s:[]}", "items");
	for (size_t i = 0; i < n; i++)
		if (api_can(&p, "repositories", "get", v[i].url))
			json_array_append_new(json_object_get(out, "items"), model_repo_to_json(&v[i], false));
	httpd_respond_json(req, 200, out);
	json_decref(out);
out:
	api_repos_free(v, n);
	principal_release(&p);
}

/* POST /api/v1/repositories[?upsert=true] {repo, username, password, sshPrivateKey, insecure, type, project} */
void api_repo_create(struct httpd_req *req, void *ud)
{
	struct api_server *s = ud;
	struct principal p;
	struct model_repo r = {0};
	json_t *body = NULL, *sec = NULL, *out = NULL;
	char name[64];
	int rc;

	if (!api_begin(s, req, &p))
		return;
	if (httpd_req_json(req, &body) < 0 || model_repo_from_json(body, &r) < 0 || !r.url) {
		httpd_respond_error(req, 400, "body: {repo, username?, password?, sshPrivateKey?, insecure?} expected");
		goto out;
	}
	if (!api_can(&p, "repositories", "create", r.url)) {
		api_denied(req, "repositories", "create", r.url);
		goto out;
	}
	secret_name("repo", r.url, name, sizeof(name));
	if ((rc = model_repo_to_secret(&r, s->ns, name, &sec)) < 0) {
		api_respond_err(req, rc);
		goto out;
	}
	struct kube_target t = SECRET_TARGET(s, NULL);
	rc = kube_create(s->kc, &t, sec, NULL, NULL);
	const char *upsert = httpd_req_query(req, "upsert");
	if (rc == BERR_EXISTS && upsert && !strcmp(upsert, "true") && api_can(&p, "repositories", "update", r.url)) {
		t.name = name;
		rc = kube_update(s->kc, &t, sec, NULL, NULL);
	}
	if (rc < 0) {
		char red[512];
		if (rc == BERR_EXISTS)
			httpd_respond_error(req, 409, "repository \"%s\" already exists",
					    model_repo_url_redact(r.url, red, sizeof(red)));
		else
			httpd_respond_error(req, api_http_status(rc), "cannot store the repository");
		goto out;
	}
	out = model_repo_to_json(&r, false);
	httpd_respond_json(req, 200, out);
out:
	model_repo_release(&r);
	json_decref(body);
	json_decref(sec);
	json_decref(out);
	principal_release(&p);
}

/* The index of the repository whose URL equals url, or -1. */
static ssize_t find_repo(const struct model_repo *v, size_t n, const char *url)
{
	for (size_t i = 0; i < n; i++)
		if (model_repo_url_equal(v[i].url, url))
			return (ssize_t)i;
	return -1;
}

void api_repo_get(struct httpd_req *req, void *ud)
{
	struct api_server *s = ud;
	struct principal p;
	struct model_repo *v = NULL;
	size_t n = 0;
	const char *url = httpd_req_param(req, "url");
	int rc;

	if (!api_begin(s, req, &p))
		return;
	if (!api_can(&p, "repositories", "get", url)) {
		api_denied(req, "repositories", "get", url);
		goto out;
	}
	if ((rc = api_repos_load(s, &v, &n)) < 0) {
		api_respond_err(req, rc);
		goto out;
	}
	ssize_t i = find_repo(v, n, url);
	if (i < 0) {
		httpd_respond_error(req, 404, "repository not found");
		goto out;
	}
	json_t *o = model_repo_to_json(&v[i], false);
	httpd_respond_json(req, 200, o);
	json_decref(o);
out:
	api_repos_free(v, n);
	principal_release(&p);
}

void api_repo_delete(struct httpd_req *req, void *ud)
{
	struct api_server *s = ud;
	struct principal p;
	const char *url = httpd_req_param(req, "url");
	char name[64];
	int rc;

	if (!api_begin(s, req, &p))
		return;
	if (!api_can(&p, "repositories", "delete", url)) {
		api_denied(req, "repositories", "delete", url);
		goto out;
	}
	secret_name("repo", url, name, sizeof(name));
	struct kube_target t = SECRET_TARGET(s, name);
	if ((rc = kube_delete(s->kc, &t, NULL, NULL)) < 0) {
		httpd_respond_error(req, rc == BERR_NOTFOUND ? 404 : api_http_status(rc),
				    rc == BERR_NOTFOUND ? "repository not found" : "cannot delete the repository");
		goto out;
	}
	httpd_respond(req, 200, "application/json", "{}", 2);
out:
	principal_release(&p);
}

/* ---- clusters ---- */

void api_clusters_list(struct httpd_req *req, void *ud)
{
	struct api_server *s = ud;
	struct principal p;
	struct model_cluster *v = NULL;
	size_t n = 0;
	bool in_cluster = false;
	int rc;

	if (!api_begin(s, req, &p))
		return;
	if ((rc = api_clusters_load(s, &v, &n)) < 0) {
		api_respond_err(req, rc);
		goto out;
	}
	json_t *out = json_pack("{s:[]}", "items");
	for (size_t i = 0; i < n; i++) {
		in_cluster |= str_eq_null(v[i].server, MODEL_IN_CLUSTER_SERVER);
		if (api_can(&p, "clusters", "get", v[i].server))
			json_array_append_new(json_object_get(out, "items"), model_cluster_to_json(&v[i], false));
	}
	if (!in_cluster && api_can(&p, "clusters", "get", MODEL_IN_CLUSTER_SERVER)) {
		struct model_cluster ic = {0};
		if (model_cluster_init_in_cluster(&ic) == 0)
			json_array_append_new(json_object_get(out, "items"), model_cluster_to_json(&ic, false));
		model_cluster_release(&ic);
	}
	httpd_respond_json(req, 200, out);
	json_decref(out);
out:
	api_clusters_free(v, n);
	principal_release(&p);
}

/* POST /api/v1/clusters[?upsert=true] {server, name, config{bearerToken, tlsClientConfig{...}}} */
void api_cluster_create(struct httpd_req *req, void *ud)
{
	struct api_server *s = ud;
	struct principal p;
	struct model_cluster c = {0};
	json_t *body = NULL, *sec = NULL, *out = NULL;
	char name[64];
	int rc;

	if (!api_begin(s, req, &p))
		return;
	if (httpd_req_json(req, &body) < 0 || model_cluster_from_json(body, &c) < 0 || !c.server) {
		httpd_respond_error(req, 400, "body: {server, name, config{...}} expected");
		goto out;
	}
	if (!api_can(&p, "clusters", "create", c.server)) {
		api_denied(req, "clusters", "create", c.server);
		goto out;
	}
	secret_name("cluster", c.server, name, sizeof(name));
	if ((rc = model_cluster_to_secret(&c, s->ns, name, &sec)) < 0) {
		api_respond_err(req, rc);
		goto out;
	}
	struct kube_target t = SECRET_TARGET(s, NULL);
	rc = kube_create(s->kc, &t, sec, NULL, NULL);
	const char *upsert = httpd_req_query(req, "upsert");
	if (rc == BERR_EXISTS && upsert && !strcmp(upsert, "true") && api_can(&p, "clusters", "update", c.server)) {
		t.name = name;
		rc = kube_update(s->kc, &t, sec, NULL, NULL);
	}
	if (rc < 0) {
		httpd_respond_error(req, rc == BERR_EXISTS ? 409 : api_http_status(rc),
				    rc == BERR_EXISTS ? "cluster already exists" : "cannot store the cluster");
		goto out;
	}
	out = model_cluster_to_json(&c, false);
	httpd_respond_json(req, 200, out);
out:
	model_cluster_release(&c);
	json_decref(body);
	json_decref(sec);
	json_decref(out);
	principal_release(&p);
}

void api_cluster_get(struct httpd_req *req, void *ud)
{
	struct api_server *s = ud;
	struct principal p;
	struct model_cluster *v = NULL;
	size_t n = 0;
	const char *server = httpd_req_param(req, "server");
	int rc;

	if (!api_begin(s, req, &p))
		return;
	if (!api_can(&p, "clusters", "get", server)) {
		api_denied(req, "clusters", "get", server);
		goto out;
	}
	if ((rc = api_clusters_load(s, &v, &n)) < 0) {
		api_respond_err(req, rc);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (str_eq_null(v[i].server, server) || str_eq_null(v[i].name, server)) {
			json_t *o = model_cluster_to_json(&v[i], false);
			httpd_respond_json(req, 200, o);
			json_decref(o);
			goto out;
		}
	}
	httpd_respond_error(req, 404, "cluster not found");
out:
	api_clusters_free(v, n);
	principal_release(&p);
}

void api_cluster_delete(struct httpd_req *req, void *ud)
{
	struct api_server *s = ud;
	struct principal p;
	const char *server = httpd_req_param(req, "server");
	char name[64];
	int rc;

	if (!api_begin(s, req, &p))
		return;
	if (!api_can(&p, "clusters", "delete", server)) {
		api_denied(req, "clusters", "delete", server);
		goto out;
	}
	secret_name("cluster", server, name, sizeof(name));
	struct kube_target t = SECRET_TARGET(s, name);
	if ((rc = kube_delete(s->kc, &t, NULL, NULL)) < 0) {
		httpd_respond_error(req, rc == BERR_NOTFOUND ? 404 : api_http_status(rc),
				    rc == BERR_NOTFOUND ? "cluster not found" : "cannot delete the cluster");
		goto out;
	}
	httpd_respond(req, 200, "application/json", "{}", 2);
out:
	principal_release(&p);
}
