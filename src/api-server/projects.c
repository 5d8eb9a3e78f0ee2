/* AppProjects: CRUD, project role tokens, and the project rules every
 * Application write and sync goes through. */
#include <string.h>

#include "clock.h"
#include "err.h"
#include "jsonx.h"
#include "jwtauth.h"
#include "log.h"
#include "server.h"
#include "str.h"

#define PROJ_TARGET(s, n) {.api_version = MODEL_API_VERSION, .kind = MODEL_KIND_PROJECT, .namespace_ = (s)->ns, .name = (n)}

int api_project_fetch(struct api_server *s, const char *name, struct model_project *out)
{
	struct kube_target t = PROJ_TARGET(s, name);
	json_t *obj = NULL;
	int rc = kube_get(s->kc, &t, NULL, &obj);

	if (rc == BERR_NOTFOUND && !strcmp(name, MODEL_DEFAULT_PROJECT))
		return model_project_init_default(out, s->ns);
	if (rc < 0)
		return rc;
	rc = model_project_parse(obj, out);
	json_decref(obj);
	return rc;
}

bool api_project_check_app(struct api_server *s, struct httpd_req *req, const struct model_app *app)
{
	struct model_project proj = {0};
	struct model_cluster *cl = NULL;
	size_t ncl = 0;
	struct model_destination dst = {0};
	char *reason = NULL;
	bool ok = false;
	int rc;

	if ((rc = api_project_fetch(s, app->project, &proj)) < 0) {
		if (rc == BERR_NOTFOUND)
			httpd_respond_error(req, 400, "spec.project: project \"%s\" does not exist", app->project);
		else
			api_respond_err(req, rc);
		goto out;
	}
	if ((rc = api_clusters_load(s, &cl, &ncl)) < 0) {
		api_respond_err(req, rc);
		goto out;
	}
	if (model_destination_resolve(&app->destination, cl, ncl, &dst) < 0) {
		httpd_respond_error(req, 400, "%s", err_msg());
		goto out;
	}
	struct model_app tmp = *app; /* shallow: only the destination differs */
	tmp.destination = dst;
	if (!model_project_permits_app(&proj, &tmp, &reason)) {
		httpd_respond_error(req, 403, "%s", reason ? reason : "refused by the project");
		goto out;
	}
	ok = true;
out:
	free(reason);
	model_destination_release(&dst);
	api_clusters_free(cl, ncl);
	model_project_release(&proj);
	return ok;
}

/* The group of an object ({apiVersion} or {group}) into out. */
static void object_group(const json_t *o, char *out, size_t size)
{
	const char *g = jx_str(o, "group"), *av = jx_str(o, "apiVersion");
	const char *slash = av ? strchr(av, '/') : NULL;

	if (g)
		snprintf(out, size, "%s", g);
	else if (slash)
		snprintf(out, size, "%.*s", (int)(slash - av), av);
	else
		out[0] = '\0';
}

/* Whether group/kind is namespaced, from the API server's discovery
 * (a kind it does not know counts as namespaced, as Argo CD does). */
static bool kind_namespaced(const struct kube_resource *v, size_t n, const char *group, const char *kind)
{
	for (size_t i = 0; i < n; i++)
		if (str_eq_null(v[i].group, group) && str_eq_null(v[i].kind, kind))
			return v[i].namespaced;
	return true;
}

bool api_project_check_kinds(struct api_server *s, struct httpd_req *req, const char *project,
			     const json_t *objects)
{
	struct model_project proj = {0};
	struct kube_resource *res = NULL;
	size_t nres = 0, i;
	char *reason = NULL;
	json_t *it;
	bool ok = false;
	int rc;

	if (!json_array_size(objects))
		return true;
	if ((rc = api_project_fetch(s, project, &proj)) < 0) {
		if (rc == BERR_NOTFOUND)
			httpd_respond_error(req, 400, "spec.project: project \"%s\" does not exist", project);
		else
			api_respond_err(req, rc);
		goto out;
	}
	if (kube_resources(s->kc, &res, &nres) < 0) {
		res = NULL;
		nres = 0;
	}
	json_array_foreach(objects, i, it) {
		json_t *parsed = NULL;
		const json_t *o = it;
		char group[256];
		if (json_is_string(it)) {
			if (jx_parse(json_string_value(it), json_string_length(it), json_string_length(it) + 1, 64,
				     &parsed) < 0)
				continue;
			o = parsed;
		}
		const char *kind = jx_str(o, "kind");
		object_group(o, group, sizeof(group));
		bool permitted = !kind || model_project_permits_resource(&proj, group, kind,
									 kind_namespaced(res, nres, group, kind),
									 &reason);
		json_decref(parsed);
		if (!permitted) {
			httpd_respond_error(req, 403, "%s", reason ? reason : "resource kind refused by the project");
			goto out;
		}
	}
	ok = true;
out:
	free(reason);
	kube_resources_free(res, nres);
	model_project_release(&proj);
	return ok;
}

/* GET /api/v1/projects */
void api_projects_list(struct httpd_req *req, void *ud)
{
	struct api_server *s = ud;
	struct principal p;
	struct kube_target t = PROJ_TARGET(s, NULL);
	json_t *list = NULL, *out = NULL;
	bool have_default = false;
	int rc;

	if (!api_begin(s, req, &p))
		return;
	if ((rc = kube_list(s->kc, &t, NULL, &list)) < 0) {
		api_respond_err(req, rc);
		goto out;
	}
	out = json_pack("{s:s,s:s,s:[]}", "apiVersion", MODEL_API_VERSION, "kind", "AppProjectList", "items");
	size_t i;
	json_t *it;
	json_array_foreach(json_object_get(list, "items"), i, it) {
		const char *name = jx_path_str(it, "metadata", "name", NULL);
		if (!name)
			continue;
		have_default |= !strcmp(name, MODEL_DEFAULT_PROJECT);
		if (api_can(&p, "projects", "get", name))
			json_array_append(json_object_get(out, "items"), it);
	}
	if (!have_default && api_can(&p, "projects", "get", MODEL_DEFAULT_PROJECT)) {
		struct model_project d = {0};
		if (model_project_init_default(&d, s->ns) == 0)
			json_array_append_new(json_object_get(out, "items"), model_project_to_json(&d));
		model_project_release(&d);
	}
	httpd_respond_json(req, 200, out);
out:
	json_decref(list);
	json_decref(out);
	principal_release(&p);
}

/* Loads a project's raw object for action; answered on failure. */
static int project_load(struct api_server *s, struct httpd_req *req, const struct principal *p, const char *name,
			const char *action, json_t **ret)
{
	struct kube_target t = PROJ_TARGET(s, name);
	int rc;

	if (!api_can(p, "projects", action, name)) {
		api_denied(req, "projects", action, name);
		return BERR_FORBIDDEN;
	}
	if ((rc = kube_get(s->kc, &t, NULL, ret)) < 0) {
		if (rc == BERR_NOTFOUND && !strcmp(name, MODEL_DEFAULT_PROJECT)) {
			struct model_project d = {0};
			model_project_init_default(&d, s->ns);
			*ret = model_project_to_json(&d);
			model_project_release(&d);
			return 0;
		}
		if (rc == BERR_NOTFOUND)
			httpd_respond_error(req, 404, "project \"%s\" not found", name);
		else
			api_respond_err(req, rc);
		return rc;
	}
	return 0;
}

void api_project_get(struct httpd_req *req, void *ud)
{
	struct api_server *s = ud;
	struct principal p;
	json_t *obj = NULL;

	if (!api_begin(s, req, &p))
		return;
	if (project_load(s, req, &p, httpd_req_param(req, "name"), "get", &obj) == 0)
		httpd_respond_json(req, 200, obj);
	json_decref(obj);
	principal_release(&p);
}

static int parse_project_body(struct api_server *s, struct httpd_req *req, json_t **ret)
{
	json_t *obj = NULL;
	struct model_project proj = {0};
	int rc;

	if (httpd_req_json(req, &obj) < 0 || !json_is_object(obj)) {
		httpd_respond_error(req, 400, "body: an AppProject object is required");
		json_decref(obj);
		return BERR_INVALID;
	}
	if (!json_object_get(obj, "apiVersion"))
		json_object_set_new(obj, "apiVersion", json_string(MODEL_API_VERSION));
	if (!json_object_get(obj, "kind"))
		json_object_set_new(obj, "kind", json_string(MODEL_KIND_PROJECT));
	json_t *meta = jx_obj_ensure(obj, "metadata");
	if (meta)
		json_object_set_new(meta, "namespace", json_string(s->ns));
	if (!meta || (rc = model_convert_argocd(obj)) < 0 || (rc = model_project_parse(obj, &proj)) < 0 ||
	    (rc = model_project_validate(&proj)) < 0) {
		httpd_respond_error(req, 400, "%s", meta ? err_msg() : "metadata: must be an object");
		json_decref(obj);
		model_project_release(&proj);
		return BERR_INVALID;
	}
	json_decref(obj);
	*ret = model_project_to_json(&proj);
	model_project_release(&proj);
	return *ret ? 0 : BERR_NOMEM;
}

/* POST /api/v1/projects */
void api_project_create(struct httpd_req *req, void *ud)
{
	struct api_server *s = ud;
	struct principal p;
	json_t *obj = NULL, *created = NULL;
	struct kube_target t = PROJ_TARGET(s, NULL);
	int rc;

	if (!api_begin(s, req, &p))
		return;
	if (parse_project_body(s, req, &obj) < 0)
		goto out;
	const char *name = jx_path_str(obj, "metadata", "name", NULL);
	if (!api_can(&p, "projects", "create", name)) {
		api_denied(req, "projects", "create", name);
		goto out;
	}
	json_object_del(json_object_get(obj, "metadata"), "resourceVersion");
	if ((rc = kube_create(s->kc, &t, obj, NULL, &created)) < 0) {
		if (rc == BERR_EXISTS)
			httpd_respond_error(req, 409, "project \"%s\" already exists", name);
		else
			api_respond_err(req, rc);
		goto out;
	}
	log_info("project created", "project", name, "by", p.sub, NULL);
	httpd_respond_json(req, 200, created);
out:
	json_decref(obj);
	json_decref(created);
	principal_release(&p);
}

/* PUT /api/v1/projects/{name} */
void api_project_update(struct httpd_req *req, void *ud)
{
	struct api_server *s = ud;
	struct principal p;
	json_t *obj = NULL, *cur = NULL, *upd = NULL;
	const char *name = httpd_req_param(req, "name");
	struct kube_target t = PROJ_TARGET(s, name);
	int rc;

	if (!api_begin(s, req, &p))
		return;
	if (project_load(s, req, &p, name, "update", &cur) < 0 || parse_project_body(s, req, &obj) < 0)
		goto out;
	if (strcmp(jx_path_str(obj, "metadata", "name", NULL), name)) {
		httpd_respond_error(req, 400, "metadata.name: does not match the path");
		goto out;
	}
	json_t *meta = json_object_get(obj, "metadata");
	if (!json_object_get(meta, "resourceVersion"))
		json_object_set(meta, "resourceVersion", jx_path(cur, "metadata", "resourceVersion", NULL));
	if (!json_object_get(meta, "resourceVersion"))
		rc = kube_create(s->kc, &t, obj, NULL, &upd); /* the built-in default, first write */
	else
		rc = kube_update(s->kc, &t, obj, NULL, &upd);
	if (rc < 0) {
		api_respond_err(req, rc);
		goto out;
	}
	httpd_respond_json(req, 200, upd);
out:
	json_decref(obj);
	json_decref(cur);
	json_decref(upd);
	principal_release(&p);
}

/* DELETE /api/v1/projects/{name}: refused while applications use it. */
void api_project_delete(struct httpd_req *req, void *ud)
{
	struct api_server *s = ud;
	struct principal p;
	json_t *cur = NULL, *apps = NULL;
	const char *name = httpd_req_param(req, "name");
	struct kube_target t = PROJ_TARGET(s, name);
	struct kube_target at = {.api_version = MODEL_API_VERSION, .kind = MODEL_KIND_APP, .namespace_ = s->ns};
	int rc;

	if (!api_begin(s, req, &p))
		return;
	if (project_load(s, req, &p, name, "delete", &cur) < 0)
		goto out;
	if ((rc = kube_list(s->kc, &at, NULL, &apps)) < 0) {
		api_respond_err(req, rc);
		goto out;
	}
	size_t i, used = 0;
	json_t *a;
	json_array_foreach(json_object_get(apps, "items"), i, a) {
		const char *pr = jx_path_str(a, "spec", "project", NULL);
		used += str_eq_null(pr ? pr : MODEL_DEFAULT_PROJECT, name);
	}
	if (used) {
		httpd_respond_error(req, 409, "project \"%s\" is used by %zu applications", name, used);
		goto out;
	}
	if ((rc = kube_delete(s->kc, &t, NULL, NULL)) < 0 && rc != BERR_NOTFOUND) {
		api_respond_err(req, rc);
		goto out;
	}
	httpd_respond(req, 200, "application/json", "{}", 2);
out:
	json_decref(cur);
	json_decref(apps);
	principal_release(&p);
}

static json_t *find_role(json_t *proj, const char *role)
{
	size_t i;
	json_t *r;

	json_array_foreach(jx_path(proj, "spec", "roles", NULL), i, r) {
		if (str_eq_null(jx_str(r, "name"), role))
			return r;
	}
	return NULL;
}

/* POST /api/v1/projects/{name}/roles/{role}/token {expiresIn?: seconds} -> {token}
 * The token's id is recorded in the role's jwtTokens; deleting it revokes. */
void api_project_token_create(struct httpd_req *req, void *ud)
{
	struct api_server *s = ud;
	struct principal p;
	json_t *cur = NULL, *body = NULL, *out = NULL;
	const char *name = httpd_req_param(req, "name"), *role = httpd_req_param(req, "role");
	struct kube_target t = PROJ_TARGET(s, name);
	char *sub = NULL, *token = NULL, jti[33];
	int64_t now = clock_wall_ms() / 1000;
	struct jwtauth_claims c = {0};
	int rc;

	if (!api_begin(s, req, &p))
		return;
	if (project_load(s, req, &p, name, "update", &cur) < 0)
		goto out;
	size_t blen = 0;
	httpd_req_body(req, &blen);
	if (blen && httpd_req_json(req, &body) < 0) {
		httpd_respond_error(req, 400, "body: bad JSON");
		goto out;
	}
	json_t *r = find_role(cur, role);
	if (!r) {
		httpd_respond_error(req, 404, "project \"%s\" has no role \"%s\"", name, role);
		goto out;
	}
	json_int_t ttl = json_integer_value(json_object_get(body, "expiresIn"));
	if (jwtauth_random_id(jti) < 0 || jwtauth_project_subject(name, role, &sub) < 0) {
		httpd_respond_error(req, 500, "cannot issue a token");
		goto out;
	}
	struct jwtauth_issue iss = {.subject = sub, .jti = jti, .ttl_s = ttl > 0 ? ttl : -1};
	if (jwtauth_issue_hs256(p.settings->key, p.settings->key_len, &iss, now, &token, &c) < 0) {
		httpd_respond_error(req, 500, "cannot issue a token");
		goto out;
	}
	json_t *toks = json_object_get(r, "jwtTokens");
	if (!json_is_array(toks)) {
		toks = json_array();
		json_object_set_new(r, "jwtTokens", toks);
	}
	json_array_append_new(toks, json_pack("{s:I,s:I,s:s}", "iat", (json_int_t)c.iat, "exp", (json_int_t)c.exp,
					      "id", jti));
	if ((rc = kube_update(s->kc, &t, cur, NULL, NULL)) < 0) {
		api_respond_err(req, rc);
		goto out;
	}
	out = json_pack("{s:s}", "token", token);
	httpd_respond_json(req, 200, out);
	log_info("project token issued", "project", name, "role", role, "id", jti, "by", p.sub, NULL);
out:
	jwtauth_claims_release(&c);
	free(sub);
	if (token) {
		explicit_bzero(token, strlen(token));
		free(token);
	}
	json_decref(cur);
	json_decref(body);
	json_decref(out);
	principal_release(&p);
}

/* DELETE /api/v1/projects/{name}/roles/{role}/token/{id} */
void api_project_token_delete(struct httpd_req *req, void *ud)
{
	struct api_server *s = ud;
	struct principal p;
	json_t *cur = NULL;
	const char *name = httpd_req_param(req, "name"), *role = httpd_req_param(req, "role");
	const char *id = httpd_req_param(req, "id");
	struct kube_target t = PROJ_TARGET(s, name);
	int rc;

	if (!api_begin(s, req, &p))
		return;
	if (project_load(s, req, &p, name, "update", &cur) < 0)
		goto out;
	json_t *r = find_role(cur, role), *toks = json_object_get(r, "jwtTokens");
	size_t i;
	json_t *tk;
	bool found = false;
	json_array_foreach(toks, i, tk) {
		if (str_eq_null(jx_str(tk, "id"), id)) {
			json_array_remove(toks, i);
			found = true;
			break;
		}
	}
	if (!found) {
		httpd_respond_error(req, 404, "no token \"%s\" in role \"%s\"", id, role);
		goto out;
	}
	if ((rc = kube_update(s->kc, &t, cur, NULL, NULL)) < 0) {
		api_respond_err(req, rc);
		goto out;
	}
	httpd_respond(req, 200, "application/json", "{}", 2);
out:
	json_decref(cur);
	principal_release(&p);
}
