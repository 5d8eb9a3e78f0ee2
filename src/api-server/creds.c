/* Repositories and clusters, stored as labelled Secrets (DESIGN.md §3).
 * Responses never carry passwords, keys or tokens: the model's *_to_json
 * is always called with with_secrets false for answers.
 *
 * Both are the same CRUD over Secrets, so one set of handlers serves them,
 * driven by a table of the kind's model functions (struct cred_kind):
 * list, create (?upsert=true), get, update (PUT, as Argo CD: the body is
 * merged over the stored object, so a client that never saw the password
 * keeps it by leaving it out and clears it with null), delete. */
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "jsonx.h"
#include "log.h"
#include "server.h"
#include "str.h"

#define SECRET_TARGET(s, n) {.api_version = "v1", .kind = "Secret", .namespace_ = (s)->ns, .name = (n)}

/* One kind of secret-backed credential. Model structs are handled through
 * void pointers to arrays of `size` bytes. */
struct cred_kind {
	const char *resource;        /* RBAC resource */
	const char *prefix;          /* Secret name prefix */
	const char *param;           /* route parameter naming one */
	const char *key_field;       /* the JSON field holding that name */
	const char *noun;
	const char *usage;           /* the 400 answer for a bad body */
	size_t size;
	int (*from_json)(const json_t *obj, void *out);
	int (*from_secret)(const json_t *secret, void *out);
	int (*to_secret)(const void *m, const char *ns, const char *name, json_t **ret);
	json_t *(*to_json)(const void *m, bool with_secrets);
	void (*release)(void *m);
	const char *(*key)(const void *m);
	/* m answers to the name given in a request path. */
	bool (*named)(const void *m, const char *name);
	/* Appended to a list when absent (may be NULL). */
	int (*implicit)(void *out);
};

static int repo_from_json(const json_t *o, void *m) { return model_repo_from_json(o, m); }
static int repo_from_secret(const json_t *o, void *m) { return model_repo_from_secret(o, m); }
static int repo_to_secret(const void *m, const char *ns, const char *name, json_t **ret)
{
	return model_repo_to_secret(m, ns, name, ret);
}
static json_t *repo_to_json(const void *m, bool with) { return model_repo_to_json(m, with); }
static void repo_release(void *m) { model_repo_release(m); }
static const char *repo_key(const void *m) { return ((const struct model_repo *)m)->url; }
static bool repo_named(const void *m, const char *name) { return model_repo_url_equal(repo_key(m), name); }

static int cluster_from_json(const json_t *o, void *m) { return model_cluster_from_json(o, m); }
static int cluster_from_secret(const json_t *o, void *m) { return model_cluster_from_secret(o, m); }
static int cluster_to_secret(const void *m, const char *ns, const char *name, json_t **ret)
{
	return model_cluster_to_secret(m, ns, name, ret);
}
static json_t *cluster_to_json(const void *m, bool with) { return model_cluster_to_json(m, with); }
static void cluster_release(void *m) { model_cluster_release(m); }
static const char *cluster_key(const void *m) { return ((const struct model_cluster *)m)->server; }
static bool cluster_named(const void *m, const char *name)
{
	const struct model_cluster *c = m;
	return str_eq_null(c->server, name) || str_eq_null(c->name, name);
}
static int cluster_implicit(void *out) { return model_cluster_init_in_cluster(out); }

static const struct cred_kind REPOS = {
	"repositories", "repo", "url", "repo", "repository",
	"body: {repo, username?, password?, sshPrivateKey?, insecure?} expected",
	sizeof(struct model_repo), repo_from_json, repo_from_secret, repo_to_secret, repo_to_json,
	repo_release, repo_key, repo_named, NULL,
};

static const struct cred_kind CLUSTERS = {
	"clusters", "cluster", "server", "server", "cluster",
	"body: {server, name, config{...}} expected",
	sizeof(struct model_cluster), cluster_from_json, cluster_from_secret, cluster_to_secret,
	cluster_to_json, cluster_release, cluster_key, cluster_named, cluster_implicit,
};

/* Room for either kind's model struct, aligned for both. */
union cred_model {
	struct model_repo repo;
	struct model_cluster cluster;
};

#define AT(k, v, i) ((void *)((char *)(v) + (i) * (k)->size))

static void creds_free(const struct cred_kind *k, void *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		k->release(AT(k, v, i));
	free(v);
}

/* Every Secret of this kind, parsed: *ret (creds_free) with *ret_n items. */
static int creds_load(struct api_server *s, const struct cred_kind *k, void **ret, size_t *ret_n)
{
	struct kube_target t = SECRET_TARGET(s, NULL);
	struct kube_req_opts o = {.label_selector = MODEL_SECRET_TYPE_LABEL};
	json_t *list = NULL, *it;
	size_t n = 0, i;
	void *v;
	int rc;

	if ((rc = kube_list(s->kc, &t, &o, &list)) < 0)
		return rc;
	if (!(v = calloc(json_array_size(json_object_get(list, "items")) + 1, k->size))) {
		json_decref(list);
		return err_set(BERR_NOMEM, "out of memory");
	}
	json_array_foreach(json_object_get(list, "items"), i, it) {
		if (k->from_secret(it, AT(k, v, n)) == 0)
			n++;
	}
	json_decref(list);
	*ret = v;
	*ret_n = n;
	return 0;
}

int api_repos_load(struct api_server *s, struct model_repo **ret, size_t *ret_n)
{
	void *v = NULL;
	int rc = creds_load(s, &REPOS, &v, ret_n);

	if (rc == 0)
		*ret = v;
	return rc;
}

void api_repos_free(struct model_repo *v, size_t n)
{
	creds_free(&REPOS, v, n);
}

int api_clusters_load(struct api_server *s, struct model_cluster **ret, size_t *ret_n)
{
	void *v = NULL;
	int rc = creds_load(s, &CLUSTERS, &v, ret_n);

	if (rc == 0)
		*ret = v;
	return rc;
}

void api_clusters_free(struct model_cluster *v, size_t n)
{
	creds_free(&CLUSTERS, v, n);
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

/* ---- the handlers, for either kind ---- */

static void creds_list(struct httpd_req *req, struct api_server *s, const struct cred_kind *k)
{
	struct principal p;
	void *v = NULL;
	size_t n = 0;
	bool implicit_seen = false;
	int rc;

	if (!api_begin(s, req, &p))
		return;
	if ((rc = creds_load(s, k, &v, &n)) < 0) {
		api_respond_err(req, rc);
		goto out;
	}
	/* A zeroed model struct for the implicit entry (in-cluster). */
	union cred_model ic;
	memset(&ic, 0, sizeof(ic));
	bool have_ic = k->implicit && k->implicit(&ic) == 0;
	json_t *out = json_pack("{s:[]}", "items");
	for (size_t i = 0; i < n; i++) {
		const char *key = k->key(AT(k, v, i));
		implicit_seen |= have_ic && str_eq_null(key, k->key(&ic));
		if (api_can(&p, k->resource, "get", key))
			json_array_append_new(json_object_get(out, "items"), k->to_json(AT(k, v, i), false));
	}
	if (have_ic && !implicit_seen && api_can(&p, k->resource, "get", k->key(&ic)))
		json_array_append_new(json_object_get(out, "items"), k->to_json(&ic, false));
	if (k->implicit)
		k->release(&ic);
	httpd_respond_json(req, 200, out);
	json_decref(out);
out:
	creds_free(k, v, n);
	principal_release(&p);
}

/* Answers a failed store (create or update) of key. */
static void store_failed(struct httpd_req *req, const struct cred_kind *k, const char *key, int rc)
{
	char red[512];

	if (rc == BERR_EXISTS)
		httpd_respond_error(req, 409, "%s \"%s\" already exists", k->noun,
				    model_repo_url_redact(key, red, sizeof(red)));
	else if (rc == BERR_NOTFOUND)
		httpd_respond_error(req, 404, "%s not found", k->noun);
	else
		httpd_respond_error(req, api_http_status(rc), "cannot store the %s", k->noun);
}

/* POST: create (?upsert=true: or replace, when the caller may update). */
static void creds_create(struct httpd_req *req, struct api_server *s, const struct cred_kind *k)
{
	struct principal p;
	union cred_model m;
	bool parsed = false;
	json_t *body = NULL, *sec = NULL, *out = NULL;
	char name[64];
	int rc;

	memset(&m, 0, sizeof(m));
	if (!api_begin(s, req, &p))
		return;
	if (httpd_req_json(req, &body) < 0 || k->from_json(body, &m) < 0) {
		httpd_respond_error(req, 400, "%s", k->usage);
		goto out;
	}
	parsed = true;
	const char *key = k->key(&m);
	if (!api_can(&p, k->resource, "create", key)) {
		api_denied(req, k->resource, "create", key);
		goto out;
	}
	secret_name(k->prefix, key, name, sizeof(name));
	if ((rc = k->to_secret(&m, s->ns, name, &sec)) < 0) {
		api_respond_err(req, rc);
		goto out;
	}
	struct kube_target t = SECRET_TARGET(s, NULL);
	rc = kube_create(s->kc, &t, sec, NULL, NULL);
	const char *upsert = httpd_req_query(req, "upsert");
	if (rc == BERR_EXISTS && upsert && !strcmp(upsert, "true") && api_can(&p, k->resource, "update", key)) {
		t.name = name;
		rc = kube_update(s->kc, &t, sec, NULL, NULL);
	}
	if (rc < 0) {
		store_failed(req, k, key, rc);
		goto out;
	}
	out = k->to_json(&m, false);
	httpd_respond_json(req, 200, out);
out:
	if (parsed)
		k->release(&m);
	json_decref(body);
	json_decref(sec);
	json_decref(out);
	principal_release(&p);
}

/* RFC 7386 merge of patch into target (null deletes). */
static void merge_patch(json_t *target, const json_t *patch)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)patch, key, v) {
		json_t *cur = json_object_get(target, key);
		if (json_is_null(v))
			json_object_del(target, key);
		else if (json_is_object(v) && json_is_object(cur))
			merge_patch(cur, v);
		else
			json_object_set(target, key, v);
	}
}

/* PUT /api/v1/{repositories/{url},clusters/{server}}: the body merged over
 * the stored object, validated as a create is, stored in the same Secret.
 * The key (URL / server) cannot change. */
static void creds_update(struct httpd_req *req, struct api_server *s, const struct cred_kind *k)
{
	struct principal p;
	union cred_model cur;
	union cred_model m;
	bool have_cur = false, parsed = false;
	json_t *body = NULL, *stored = NULL, *merged = NULL, *sec = NULL, *out = NULL;
	const char *key = httpd_req_param(req, k->param);
	char name[64];
	int rc;

	memset(&cur, 0, sizeof(cur));
	memset(&m, 0, sizeof(m));
	if (!api_begin(s, req, &p))
		return;
	if (!api_can(&p, k->resource, "update", key)) {
		api_denied(req, k->resource, "update", key);
		goto out;
	}
	if (httpd_req_json(req, &body) < 0 || !json_is_object(body)) {
		httpd_respond_error(req, 400, "%s", k->usage);
		goto out;
	}
	secret_name(k->prefix, key, name, sizeof(name));
	struct kube_target t = SECRET_TARGET(s, name);
	if ((rc = kube_get(s->kc, &t, NULL, &stored)) < 0 || (rc = k->from_secret(stored, &cur)) < 0) {
		store_failed(req, k, key, rc == BERR_INVALID ? BERR_NOTFOUND : rc);
		goto out;
	}
	have_cur = true;
	if (!(merged = k->to_json(&cur, true))) {
		httpd_respond_error(req, 500, "out of memory");
		goto out;
	}
	merge_patch(merged, body);
	if (k->from_json(merged, &m) < 0) {
		httpd_respond_error(req, 400, "%s: %s", k->noun, err_msg());
		goto out;
	}
	parsed = true;
	if (!k->named(&m, key) || !str_eq_null(k->key(&m), k->key(&cur))) {
		httpd_respond_error(req, 400, "%s: the %s cannot change (create the new one, delete the old)", k->noun,
				    k->key_field);
		goto out;
	}
	if ((rc = k->to_secret(&m, s->ns, name, &sec)) < 0) {
		api_respond_err(req, rc);
		goto out;
	}
	if ((rc = kube_update(s->kc, &t, sec, NULL, NULL)) < 0) {
		store_failed(req, k, key, rc);
		goto out;
	}
	out = k->to_json(&m, false);
	httpd_respond_json(req, 200, out);
out:
	if (have_cur)
		k->release(&cur);
	if (parsed)
		k->release(&m);
	json_decref(body);
	json_decref(stored);
	json_decref(merged);
	json_decref(sec);
	json_decref(out);
	principal_release(&p);
}

static void creds_get(struct httpd_req *req, struct api_server *s, const struct cred_kind *k)
{
	struct principal p;
	void *v = NULL;
	size_t n = 0;
	const char *key = httpd_req_param(req, k->param);
	int rc;

	if (!api_begin(s, req, &p))
		return;
	if (!api_can(&p, k->resource, "get", key)) {
		api_denied(req, k->resource, "get", key);
		goto out;
	}
	if ((rc = creds_load(s, k, &v, &n)) < 0) {
		api_respond_err(req, rc);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (k->named(AT(k, v, i), key)) {
			json_t *o = k->to_json(AT(k, v, i), false);
			httpd_respond_json(req, 200, o);
			json_decref(o);
			goto out;
		}
	}
	httpd_respond_error(req, 404, "%s not found", k->noun);
out:
	creds_free(k, v, n);
	principal_release(&p);
}

static void creds_delete(struct httpd_req *req, struct api_server *s, const struct cred_kind *k)
{
	struct principal p;
	const char *key = httpd_req_param(req, k->param);
	char name[64];
	int rc;

	if (!api_begin(s, req, &p))
		return;
	if (!api_can(&p, k->resource, "delete", key)) {
		api_denied(req, k->resource, "delete", key);
		goto out;
	}
	secret_name(k->prefix, key, name, sizeof(name));
	struct kube_target t = SECRET_TARGET(s, name);
	if ((rc = kube_delete(s->kc, &t, NULL, NULL)) < 0) {
		if (rc == BERR_NOTFOUND)
			httpd_respond_error(req, 404, "%s not found", k->noun);
		else
			httpd_respond_error(req, api_http_status(rc), "cannot delete the %s", k->noun);
		goto out;
	}
	httpd_respond(req, 200, "application/json", "{}", 2);
out:
	principal_release(&p);
}

void api_repos_list(struct httpd_req *req, void *ud) { creds_list(req, ud, &REPOS); }
void api_repo_create(struct httpd_req *req, void *ud) { creds_create(req, ud, &REPOS); }
void api_repo_get(struct httpd_req *req, void *ud) { creds_get(req, ud, &REPOS); }
void api_repo_update(struct httpd_req *req, void *ud) { creds_update(req, ud, &REPOS); }
void api_repo_delete(struct httpd_req *req, void *ud) { creds_delete(req, ud, &REPOS); }
void api_clusters_list(struct httpd_req *req, void *ud) { creds_list(req, ud, &CLUSTERS); }
void api_cluster_create(struct httpd_req *req, void *ud) { creds_create(req, ud, &CLUSTERS); }
void api_cluster_get(struct httpd_req *req, void *ud) { creds_get(req, ud, &CLUSTERS); }
void api_cluster_update(struct httpd_req *req, void *ud) { creds_update(req, ud, &CLUSTERS); }
void api_cluster_delete(struct httpd_req *req, void *ud) { creds_delete(req, ud, &CLUSTERS); }
