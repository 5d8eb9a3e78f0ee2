/* Applications: list, get (with refresh), create, update, delete, sync,
 * rollback, terminate.
 *
 * Every handler authenticates, then checks RBAC on "<project>/<name>" of
 * the object as stored (and, for create/update, of the object as sent, so
 * moving an app into a project the caller may not write is refused). A
 * caller who may not see an app gets the same 403 whether it exists or not
 * (api_app_load). Specs are checked by lib/model and against the app's
 * AppProject before anything is written; the controller checks again
 * before it applies. */
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "err.h"
#include "jsonx.h"
#include "log.h"
#include "server.h"
#include "str.h"

#define APP_TARGET(s, n) {.api_version = MODEL_API_VERSION, .kind = MODEL_KIND_APP, .namespace_ = (s)->ns, .name = (n)}

void api_app_object(const json_t *app, char *out, size_t size)
{
	const char *proj = jx_path_str(app, "spec", "project", NULL);
	const char *name = jx_path_str(app, "metadata", "name", NULL);

	snprintf(out, size, "%s/%s", proj && *proj ? proj : MODEL_DEFAULT_PROJECT, name ? name : "");
}

/* Loads from the cache when cached and it can answer, else from the API. */
static int app_load(struct api_server *s, struct httpd_req *req, const struct principal *p, const char *name,
		    const char *action, bool cached, json_t **ret)
{
	struct kube_target t = APP_TARGET(s, name);
	char obj[512];
	json_t *app = NULL;
	int rc = cached ? sse_hub_get(s, name, &app) : BERR_UNAVAILABLE;

	if (rc == BERR_UNAVAILABLE)
		rc = kube_get(s->kc, &t, NULL, &app);

	if (rc == BERR_NOTFOUND) {
		/* Only a caller who could act on this name in every project
		 * learns that it does not exist. */
		snprintf(obj, sizeof(obj), "*/%s", name);
		if (api_can(p, "applications", action, obj))
			httpd_respond_error(req, 404, "application \"%s\" not found", name);
		else
			api_denied(req, "applications", action, obj);
		return rc;
	}
	if (rc < 0) {
		api_respond_err(req, rc);
		return rc;
	}
	api_app_object(app, obj, sizeof(obj));
	if (!api_can(p, "applications", action, obj)) {
		json_decref(app);
		api_denied(req, "applications", action, obj);
		return BERR_FORBIDDEN;
	}
	*ret = app;
	return 0;
}

int api_app_load(struct api_server *s, struct httpd_req *req, const struct principal *p, const char *name,
		 const char *action, json_t **ret)
{
	return app_load(s, req, p, name, action, false, ret);
}

/* ---- list ---- */

struct list_item {
	const char *name;
	const json_t *obj;
	const char *json;            /* cached compact text, or NULL */
};

static int cmp_by_name(const void *a, const void *b)
{
	return strcmp(((const struct list_item *)a)->name, ((const struct list_item *)b)->name);
}

static bool query_has(struct httpd_req *req, const char *key, const char *value)
{
	const char *v = httpd_req_query_nth(req, key, 0);

	if (!v)
		return true;
	for (size_t i = 0; (v = httpd_req_query_nth(req, key, i)); i++) {
		/* Also "a,b" in one parameter. */
		for (const char *q = v; *q;) {
			size_t n = strcspn(q, ",");
			if (value && n == strlen(value) && !strncmp(q, value, n))
				return true;
			q += n;
			q += *q == ',';
		}
	}
	return false;
}

/* The list's filters, read once per request. */
struct list_filter {
	struct httpd_req *req;
	const struct principal *p;
	const char *search;
	const char *cont;            /* only for lists from the API (the cache starts after it) */
	bool by_fields;              /* project, sync or health given */
};

static void list_filter_init(struct list_filter *f, struct httpd_req *req, const struct principal *p)
{
	f->req = req;
	f->p = p;
	f->search = httpd_req_query(req, "search");
	f->cont = NULL;
	f->by_fields = httpd_req_query(req, "project") || httpd_req_query(req, "sync") ||
		       httpd_req_query(req, "health");
}

/* The list filters and the RBAC check; true when app is listed. object is
 * "<project>/<name>" when the caller knows it (NULL: computed here). */
static bool list_wants(const struct list_filter *f, const json_t *app, const char *object)
{
	const char *name = jx_path_str(app, "metadata", "name", NULL);
	char obj[512];

	if (!name || (f->search && *f->search && !strstr(name, f->search)) ||
	    (f->cont && *f->cont && strcmp(name, f->cont) <= 0))
		return false;
	if (f->by_fields) {
		const char *proj = jx_path_str(app, "spec", "project", NULL);
		if (!query_has(f->req, "project", proj && *proj ? proj : MODEL_DEFAULT_PROJECT) ||
		    !query_has(f->req, "sync", jx_path_str(app, "status", "sync", "status", NULL)) ||
		    !query_has(f->req, "health", jx_path_str(app, "status", "health", "status", NULL)))
			return false;
	}
	if (!object) {
		api_app_object(app, obj, sizeof(obj));
		object = obj;
	}
	return api_can(f->p, "applications", "get", object);
}

static bool list_accept(json_t *entry, void *ud)
{
	return list_wants(ud, json_object_get(entry, "obj"), jx_str(entry, "object"));
}

/* Names the caller for the cache's visibility memo: which apps a caller
 * may see depends only on its subject, groups and the settings snapshot
 * (without filters). NULL when the page must be counted afresh: filters,
 * project tokens (their policy comes with the token). */
static char *list_memo_key(const struct list_filter *f, const struct principal *p)
{
	struct buf b;
	char *out = NULL;

	if (f->by_fields || (f->search && *f->search) || p->proj_policy || !p->settings)
		return NULL;
	buf_init(&b, 64 << 10);
	int rc = buf_printf(&b, "%llu\n%s", (unsigned long long)p->settings->gen, p->sub ? p->sub : "");
	for (size_t i = 0; rc == 0 && i < p->groups.n; i++)
		rc = buf_printf(&b, "\n%s", p->groups.v[i]);
	if (rc == 0)
		out = buf_detach(&b, NULL);
	buf_release(&b);
	return out;
}

/* Writes the list by hand so cached items go out as the text they were
 * dumped to when they changed, not dumped again per request. remaining > 0:
 * a page, continued after its last item. */
static void respond_list(struct httpd_req *req, const struct list_item *v, size_t n, size_t remaining,
			 uint64_t version)
{
	struct buf b;
	int rc;

	buf_init(&b, (size_t)1 << 30);
	rc = buf_printf(&b, "{\"apiVersion\":\"%s\",\"kind\":\"ApplicationList\",\"metadata\":{", MODEL_API_VERSION);
	/* The version the stream resumes from (only when the list came from
	 * the hub: the API server's own numbering, opaque to clients). */
	if (rc == 0 && version)
		rc = buf_printf(&b, "\"resourceVersion\":\"%llu\"%s", (unsigned long long)version,
				remaining && n ? "," : "");
	if (rc == 0 && remaining && n) {
		json_t *c = json_string(v[n - 1].name);
		rc = buf_puts(&b, "\"continue\":");
		if (rc == 0)
			rc = jx_dump_compact(c, &b);
		if (rc == 0)
			rc = buf_printf(&b, ",\"remainingItemCount\":%zu", remaining);
		json_decref(c);
	}
	if (rc == 0)
		rc = buf_puts(&b, "},\"items\":[");
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (i)
			rc = buf_putc(&b, ',');
		if (rc == 0)
			rc = v[i].json ? buf_puts(&b, v[i].json) : jx_dump_compact(v[i].obj, &b);
	}
	if (rc == 0)
		rc = buf_puts(&b, "]}");
	if (rc < 0)
		httpd_respond_error(req, 500, "cannot write the list");
	else
		httpd_respond(req, 200, "application/json", b.ptr, b.len);
	buf_release(&b);
}

/* GET /api/v1/applications?project=&selector=&sync=&health=&search=&limit=&continue=
 * From the cache when it can answer (walked in name order from the
 * continue token, stopping at the page's end), else from the API. */
void api_apps_list(struct httpd_req *req, void *ud)
{
	struct api_server *s = ud;
	struct principal p;
	struct kube_target t = APP_TARGET(s, NULL);
	struct list_filter f;
	json_t *list = NULL, *held = NULL;
	struct list_item *v = NULL;
	size_t n = 0, i;
	int limit = 0, rc;
	const char *lim = httpd_req_query(req, "limit"), *cont = httpd_req_query(req, "continue");
	const char *sel = httpd_req_query(req, "selector");

	if (!api_begin(s, req, &p))
		return;
	if (lim && *lim && str_to_int(lim, 0, 100000, &limit) < 0) {
		httpd_respond_error(req, 400, "limit: not a number");
		goto out;
	}
	list_filter_init(&f, req, &p);
	size_t remaining = 0;
	uint64_t version = 0;
	char *memo = list_memo_key(&f, &p);
	rc = sel && *sel ? BERR_UNAVAILABLE
			 : sse_hub_page(s, cont, (size_t)limit, list_accept, &f, memo, &held, &remaining, &version);
	free(memo);
	if (rc == 0) {
		n = json_array_size(held);
		if (!(v = calloc(n + 1, sizeof(*v)))) {
			httpd_respond_error(req, 500, "out of memory");
			goto out;
		}
		json_t *e;
		json_array_foreach(held, i, e) {
			v[i].name = jx_str(e, "name");
			v[i].obj = json_object_get(e, "obj");
			v[i].json = jx_str(e, "json");
		}
		respond_list(req, v, n, remaining, version);
		goto out;
	}
	struct kube_req_opts o = {.label_selector = sel};
	if ((rc = kube_list(s->kc, &t, &o, &list)) < 0) {
		api_respond_err(req, rc);
		goto out;
	}
	json_t *items = json_object_get(list, "items"), *app;
	if (!(v = calloc(json_array_size(items) + 1, sizeof(*v)))) {
		httpd_respond_error(req, 500, "out of memory");
		goto out;
	}
	f.cont = cont;
	json_array_foreach(items, i, app) {
		if (!list_wants(&f, app, NULL))
			continue;
		v[n].name = jx_path_str(app, "metadata", "name", NULL);
		v[n].obj = app;
		n++;
	}
	qsort(v, n, sizeof(*v), cmp_by_name);
	bool more = limit > 0 && (size_t)limit < n;
	respond_list(req, v, more ? (size_t)limit : n, more ? n - (size_t)limit : 0, 0);
out:
	free(v);
	json_decref(list);
	json_decref(held);
	principal_release(&p);
}

/* ---- get ---- */

static int patch_app(struct api_server *s, const char *name, const char *sub, json_t *patch, json_t **ret)
{
	struct kube_target t = APP_TARGET(s, name);
	json_t *out = NULL;
	t.subresource = sub;
	int rc = kube_patch(s->kc, &t, KUBE_PATCH_MERGE, patch, NULL, &out);
	json_decref(patch);
	if (rc == 0) {
		sse_hub_expect(s, name, out);
		if (ret)
			*ret = out;
		else
			json_decref(out);
	}
	return rc;
}

/* GET /api/v1/applications/{name}[?refresh=normal|hard] */
void api_app_get(struct httpd_req *req, void *ud)
{
	struct api_server *s = ud;
	struct principal p;
	json_t *app = NULL, *upd = NULL;
	const char *name = httpd_req_param(req, "name"), *refresh = httpd_req_query(req, "refresh");
	int rc;

	if (!api_begin(s, req, &p))
		return;
	if (app_load(s, req, &p, name, "get", !refresh, &app) < 0)
		goto out;
	if (refresh) {
		if (strcmp(refresh, "normal") && strcmp(refresh, "hard")) {
			httpd_respond_error(req, 400, "refresh: normal or hard");
			goto out;
		}
		json_t *patch = json_pack("{s:{s:{s:s}}}", "metadata", "annotations", "berth.dev/refresh", refresh);
		if ((rc = patch_app(s, name, NULL, patch, &upd)) < 0) {
			api_respond_err(req, rc);
			goto out;
		}
	}
	httpd_respond_json(req, 200, upd ? upd : app);
out:
	json_decref(app);
	json_decref(upd);
	principal_release(&p);
}

/* ---- create / update ---- */

/* Parses and checks a body as an Application: conversion from Argo CD,
 * shape, meaning. Answers 400 and returns < 0 on failure. */
static int parse_app_body(struct api_server *s, struct httpd_req *req, json_t **ret_obj, struct model_app *app)
{
	json_t *obj = NULL;
	int rc;

	if ((rc = httpd_req_json(req, &obj)) < 0 || !json_is_object(obj)) {
		httpd_respond_error(req, 400, "body: an Application object is required");
		json_decref(obj);
		return BERR_INVALID;
	}
	if (!json_object_get(obj, "apiVersion"))
		json_object_set_new(obj, "apiVersion", json_string(MODEL_API_VERSION));
	if (!json_object_get(obj, "kind"))
		json_object_set_new(obj, "kind", json_string(MODEL_KIND_APP));
	json_t *meta = jx_obj_ensure(obj, "metadata");
	if (!meta) {
		httpd_respond_error(req, 400, "metadata: must be an object");
		json_decref(obj);
		return BERR_INVALID;
	}
	json_object_set_new(meta, "namespace", json_string(s->ns));
	if ((rc = model_convert_argocd(obj)) < 0 || (rc = model_app_parse(obj, app)) < 0) {
		httpd_respond_error(req, 400, "%s", err_msg());
		json_decref(obj);
		return rc;
	}
	if ((rc = model_app_validate(app)) < 0) {
		httpd_respond_error(req, 400, "%s", err_msg());
		model_app_release(app);
		json_decref(obj);
		return rc;
	}
	*ret_obj = obj;
	return 0;
}

/* Asks the repo server whether each source can be read (repository,
 * revision, path). Skipped without --repo-server. */
static bool check_sources(struct api_server *s, struct httpd_req *req, const struct model_app *app)
{
	if (!s->repo_server)
		return true;
	for (size_t i = 0; i < app->sources.n; i++) {
		const struct model_source *src = &app->sources.v[i];
		if (!src->repo_url || src->chart)
			continue;
		json_t *creds = api_repo_request_creds(s, src->repo_url), *ans = NULL;
		json_t *body = json_pack("{s:o,s:s,s:s}", "repo", creds, "revision",
					 src->target_revision ? src->target_revision : "HEAD", "path",
					 src->path ? src->path : ".");
		int rc = api_repo_server_call(s, "/v1/app-details", body, &ans);
		json_decref(body);
		json_decref(ans);
		if (rc < 0) {
			httpd_respond_error(req, rc == BERR_UNAVAILABLE ? 503 : 400, "spec.source: %s", err_msg());
			return false;
		}
	}
	return true;
}

/* Renders each source through the repo server and checks the kinds of
 * what it would apply against the project (Argo CD's API server refuses
 * those too, not only its controller). Skipped without --repo-server.
 * Only a refused kind refuses: a source that does not render alone (a
 * multi-source app's $ref values, a chart repository that is down) is
 * left to the controller, which checks every kind again before applying. */
static bool check_kinds(struct api_server *s, struct httpd_req *req, const struct model_app *app)
{
	if (!s->repo_server)
		return true;
	for (size_t i = 0; i < app->sources.n; i++) {
		const struct model_source *src = &app->sources.v[i];
		json_t *ans = NULL;
		if (!src->repo_url || (src->ref && !src->path && !src->chart))
			continue; /* a values-only source: nothing of its own to apply */
		json_t *body = json_pack("{s:o,s:s,s:s,s:s,s:s,s:o}", "repo", api_repo_request_creds(s, src->repo_url),
					 "revision", src->target_revision ? src->target_revision : "HEAD", "path",
					 src->path ? src->path : ".", "appName", app->meta.name ? app->meta.name : "",
					 "namespace", app->destination.namespace_ ? app->destination.namespace_ : "",
					 "source", model_source_to_json(src));
		int rc = api_repo_server_call(s, "/v1/manifests", body, &ans);
		json_decref(body);
		if (rc < 0) {
			log_debug("kind check skipped: the source does not render alone", "app",
				  app->meta.name ? app->meta.name : "", "error", err_msg(), NULL);
			continue;
		}
		bool ok = api_project_check_kinds(s, req, app->project, json_object_get(ans, "manifests"));
		json_decref(ans);
		if (!ok)
			return false;
	}
	return true;
}

static json_t *app_for_write(const struct model_app *app)
{
	json_t *o = model_app_to_json(app, false);
	if (o)
		json_object_del(o, "operation");
	return o;
}

/* POST /api/v1/applications[?upsert=true] */
void api_app_create(struct httpd_req *req, void *ud)
{
	struct api_server *s = ud;
	struct principal p;
	struct model_app app = {0};
	json_t *obj = NULL, *w = NULL, *created = NULL;
	struct kube_target t = APP_TARGET(s, NULL);
	char o[512];
	int rc;

	if (!api_begin(s, req, &p))
		return;
	if (parse_app_body(s, req, &obj, &app) < 0)
		goto out;
	snprintf(o, sizeof(o), "%s/%s", app.project, app.meta.name);
	if (!api_can(&p, "applications", "create", o)) {
		api_denied(req, "applications", "create", o);
		goto out;
	}
	if (!api_project_check_app(s, req, &app) || !check_sources(s, req, &app) || !check_kinds(s, req, &app))
		goto out;
	if (!(w = app_for_write(&app))) {
		httpd_respond_error(req, 500, "out of memory");
		goto out;
	}
	json_t *meta = json_object_get(w, "metadata");
	json_object_del(meta, "resourceVersion");
	json_object_del(meta, "uid");
	json_object_del(meta, "creationTimestamp");
	if ((rc = kube_create(s->kc, &t, w, NULL, &created)) < 0) {
		if (rc == BERR_EXISTS)
			httpd_respond_error(req, 409, "application \"%s\" already exists", app.meta.name);
		else
			api_respond_err(req, rc);
		goto out;
	}
	sse_hub_expect(s, app.meta.name, created);
	log_info("application created", "app", app.meta.name, "project", app.project, "by", p.sub, NULL);
	httpd_respond_json(req, 200, created);
out:
	model_app_release(&app);
	json_decref(obj);
	json_decref(w);
	json_decref(created);
	principal_release(&p);
}

/* PUT /api/v1/applications/{name}: replaces metadata labels/annotations and
 * the spec; status and operation stay as stored. */
void api_app_update(struct httpd_req *req, void *ud)
{
	struct api_server *s = ud;
	struct principal p;
	struct model_app app = {0};
	json_t *obj = NULL, *cur = NULL, *w = NULL, *upd = NULL;
	const char *name = httpd_req_param(req, "name");
	struct kube_target t = APP_TARGET(s, name);
	char o[512];
	int rc;

	if (!api_begin(s, req, &p))
		return;
	if (api_app_load(s, req, &p, name, "update", &cur) < 0)
		goto out;
	if (parse_app_body(s, req, &obj, &app) < 0)
		goto out;
	if (strcmp(app.meta.name, name)) {
		httpd_respond_error(req, 400, "metadata.name: \"%s\" does not match the path", app.meta.name);
		goto out;
	}
	snprintf(o, sizeof(o), "%s/%s", app.project, app.meta.name);
	if (!api_can(&p, "applications", "update", o)) {
		api_denied(req, "applications", "update", o);
		goto out;
	}
	if (!api_project_check_app(s, req, &app) || !check_sources(s, req, &app) || !check_kinds(s, req, &app))
		goto out;
	if (!(w = app_for_write(&app))) {
		httpd_respond_error(req, 500, "out of memory");
		goto out;
	}
	/* Server-owned parts come from the stored object. */
	json_t *meta = json_object_get(w, "metadata"), *cmeta = json_object_get(cur, "metadata");
	const char *keep[] = {"uid", "creationTimestamp", "finalizers", "generation"};
	for (size_t i = 0; i < sizeof(keep) / sizeof(*keep); i++) {
		json_t *v = json_object_get(cmeta, keep[i]);
		if (v)
			json_object_set(meta, keep[i], v);
		else
			json_object_del(meta, keep[i]);
	}
	if (!json_object_get(meta, "resourceVersion"))
		json_object_set(meta, "resourceVersion", json_object_get(cmeta, "resourceVersion"));
	if (json_object_get(cur, "operation"))
		json_object_set(w, "operation", json_object_get(cur, "operation"));
	if (json_object_get(cur, "status"))
		json_object_set(w, "status", json_object_get(cur, "status"));
	if ((rc = kube_update(s->kc, &t, w, NULL, &upd)) < 0) {
		api_respond_err(req, rc);
		goto out;
	}
	sse_hub_expect(s, name, upd);
	log_info("application updated", "app", name, "by", p.sub, NULL);
	httpd_respond_json(req, 200, upd);
out:
	model_app_release(&app);
	json_decref(obj);
	json_decref(cur);
	json_decref(w);
	json_decref(upd);
	principal_release(&p);
}

/* ---- delete ---- */

static bool is_resources_finalizer(const char *f)
{
	return f && (str_starts_with(f, MODEL_FINALIZER) || str_starts_with(f, MODEL_ARGO_FINALIZER));
}

/* DELETE /api/v1/applications/{name}?cascade=true|false&propagationPolicy=foreground|background */
void api_app_delete(struct httpd_req *req, void *ud)
{
	struct api_server *s = ud;
	struct principal p;
	json_t *cur = NULL, *fins = NULL;
	const char *name = httpd_req_param(req, "name");
	const char *cascade = httpd_req_query(req, "cascade"), *pp = httpd_req_query(req, "propagationPolicy");
	struct kube_target t = APP_TARGET(s, name);
	bool casc = !cascade || !strcmp(cascade, "true") || !*cascade;
	const char *policy = "Foreground";
	int rc;

	if (!api_begin(s, req, &p))
		return;
	if (api_app_load(s, req, &p, name, "delete", &cur) < 0)
		goto out;
	if (cascade && *cascade && strcmp(cascade, "true") && strcmp(cascade, "false")) {
		httpd_respond_error(req, 400, "cascade: true or false");
		goto out;
	}
	if (pp && *pp) {
		if (!strcasecmp(pp, "foreground"))
			policy = "Foreground";
		else if (!strcasecmp(pp, "background"))
			policy = "Background";
		else {
			httpd_respond_error(req, 400, "propagationPolicy: foreground or background");
			goto out;
		}
	}
	/* The finalizer tells the controller to delete the app's resources
	 * before the Application goes; without cascade it is removed. */
	fins = json_array();
	json_t *old = jx_path(cur, "metadata", "finalizers", NULL);
	size_t i;
	json_t *f;
	bool had = false;
	json_array_foreach(old, i, f) {
		if (is_resources_finalizer(json_string_value(f))) {
			had = true;
			if (!casc)
				continue;
		}
		json_array_append(fins, f);
	}
	if (casc && !had)
		json_array_append_new(fins, json_string(strcmp(policy, "Background") ? MODEL_FINALIZER
								       : MODEL_FINALIZER "/background"));
	if (casc != had || (!casc && had)) {
		json_t *patch = json_pack("{s:{s:O,s:O}}", "metadata", "finalizers", fins, "resourceVersion",
					  jx_path(cur, "metadata", "resourceVersion", NULL));
		if ((rc = patch_app(s, name, NULL, patch, NULL)) < 0) {
			api_respond_err(req, rc);
			goto out;
		}
	}
	struct kube_req_opts o = {.propagation_policy = "Background"};
	json_t *gone = NULL;
	if ((rc = kube_delete(s->kc, &t, &o, &gone)) < 0 && rc != BERR_NOTFOUND) {
		api_respond_err(req, rc);
		goto out;
	}
	/* Pending (finalizers): the object comes back; gone: a Status. */
	sse_hub_expect(s, name, gone && !str_eq_null(jx_str(gone, "kind"), "Status") ? gone : NULL);
	json_decref(gone);
	log_info("application deleted", "app", name, "cascade", casc ? "true" : "false", "by", p.sub, NULL);
	httpd_respond(req, 200, "application/json", "{}", 2);
out:
	json_decref(cur);
	json_decref(fins);
	principal_release(&p);
}

/* ---- operations ---- */

/* Loads name for a sync-like action and checks the app against its
 * project. 0 with *ret_obj and *app; else answered. */
static int load_for_sync(struct api_server *s, struct httpd_req *req, const struct principal *p,
			 const char *name, json_t **ret_obj, struct model_app *app)
{
	json_t *cur = NULL;
	int rc;

	if ((rc = api_app_load(s, req, p, name, "sync", &cur)) < 0)
		return rc;
	if ((rc = model_app_parse(cur, app)) < 0) {
		httpd_respond_error(req, 500, "stored application: %s", err_msg());
		json_decref(cur);
		return rc;
	}
	if (!api_project_check_app(s, req, app)) {
		model_app_release(app);
		json_decref(cur);
		return BERR_FORBIDDEN;
	}
	if (json_object_get(cur, "operation")) {
		httpd_respond_error(req, 409, "another operation is already in progress");
		model_app_release(app);
		json_decref(cur);
		return BERR_CONFLICT;
	}
	*ret_obj = cur;
	return 0;
}

static int write_operation(struct api_server *s, const char *name, const char *rv, json_t *sync,
			   const struct principal *p, json_t **ret)
{
	json_t *patch = json_pack("{s:{s:s},s:{s:o,s:{s:s}}}", "metadata", "resourceVersion", rv ? rv : "",
				  "operation", "sync", sync, "initiatedBy", "username", p->sub);
	if (!rv)
		json_object_del(json_object_get(patch, "metadata"), "resourceVersion");
	return patch_app(s, name, NULL, patch, ret);
}

/* POST /api/v1/applications/{name}/sync {revision, prune, dryRun, resources[], syncOptions[]} */
void api_app_sync(struct httpd_req *req, void *ud)
{
	struct api_server *s = ud;
	struct principal p;
	struct model_app app = {0};
	json_t *cur = NULL, *body = NULL, *upd = NULL;
	const char *name = httpd_req_param(req, "name");
	size_t blen = 0;
	int rc;

	if (!api_begin(s, req, &p))
		return;
	httpd_req_body(req, &blen);
	if (blen && (httpd_req_json(req, &body) < 0 || !json_is_object(body))) {
		httpd_respond_error(req, 400, "body: a JSON object is expected");
		goto out;
	}
	if (load_for_sync(s, req, &p, name, &cur, &app) < 0)
		goto out;
	json_t *sync = json_object();
	const char *keys[] = {"revision", "prune", "dryRun", "resources", "syncOptions"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++) {
		json_t *v = json_object_get(body, keys[i]);
		if (v)
			json_object_set(sync, keys[i], v);
	}
	/* A selective sync names resources: their kinds must be allowed. */
	if (!api_project_check_kinds(s, req, app.project, json_object_get(sync, "resources"))) {
		json_decref(sync);
		goto out;
	}
	/* Check the operation's shape before it is written. */
	struct model_operation op = {0};
	json_t *opobj = json_pack("{s:O}", "sync", sync);
	rc = model_operation_parse(opobj, "body", &op);
	json_decref(opobj);
	model_operation_release(&op);
	if (rc < 0) {
		json_decref(sync);
		httpd_respond_error(req, 400, "%s", err_msg());
		goto out;
	}
	if ((rc = write_operation(s, name, jx_path_str(cur, "metadata", "resourceVersion", NULL), sync, &p,
				  &upd)) < 0) {
		api_respond_err(req, rc);
		goto out;
	}
	log_info("sync requested", "app", name, "by", p.sub, NULL);
	httpd_respond_json(req, 200, upd);
out:
	model_app_release(&app);
	json_decref(cur);
	json_decref(body);
	json_decref(upd);
	principal_release(&p);
}

/* POST /api/v1/applications/{name}/rollback {id, prune?, dryRun?} */
void api_app_rollback(struct httpd_req *req, void *ud)
{
	struct api_server *s = ud;
	struct principal p;
	struct model_app app = {0};
	json_t *cur = NULL, *body = NULL, *upd = NULL, *entry = NULL;
	const char *name = httpd_req_param(req, "name");
	int rc;

	if (!api_begin(s, req, &p))
		return;
	if (httpd_req_json(req, &body) < 0 || !json_is_integer(json_object_get(body, "id"))) {
		httpd_respond_error(req, 400, "id: a history id is required");
		goto out;
	}
	if (load_for_sync(s, req, &p, name, &cur, &app) < 0)
		goto out;
	if (app.sync_policy.automated) {
		httpd_respond_error(req, 400, "rollback cannot be initiated when auto-sync is enabled");
		goto out;
	}
	json_int_t id = json_integer_value(json_object_get(body, "id"));
	size_t i;
	json_t *h;
	json_array_foreach(jx_path(cur, "status", "history", NULL), i, h) {
		if (json_integer_value(json_object_get(h, "id")) == id)
			entry = h;
	}
	if (!entry) {
		httpd_respond_error(req, 400, "history id %lld not found", (long long)id);
		goto out;
	}
	json_t *sync = json_object();
	const char *keys[] = {"revision", "revisions", "source", "sources"};
	for (i = 0; i < sizeof(keys) / sizeof(*keys); i++) {
		json_t *v = json_object_get(entry, keys[i]);
		if (v)
			json_object_set(sync, keys[i], v);
	}
	json_object_set_new(sync, "prune", json_boolean(json_is_true(json_object_get(body, "prune"))));
	if (json_is_true(json_object_get(body, "dryRun")))
		json_object_set_new(sync, "dryRun", json_true());
	if ((rc = write_operation(s, name, jx_path_str(cur, "metadata", "resourceVersion", NULL), sync, &p,
				  &upd)) < 0) {
		api_respond_err(req, rc);
		goto out;
	}
	log_info("rollback requested", "app", name, "by", p.sub, NULL);
	httpd_respond_json(req, 200, upd);
out:
	model_app_release(&app);
	json_decref(cur);
	json_decref(body);
	json_decref(upd);
	principal_release(&p);
}

/* DELETE /api/v1/applications/{name}/operation: asks the controller to
 * stop the running operation (operationState.phase Terminating). */
void api_app_terminate(struct httpd_req *req, void *ud)
{
	struct api_server *s = ud;
	struct principal p;
	json_t *cur = NULL;
	const char *name = httpd_req_param(req, "name");
	int rc;

	if (!api_begin(s, req, &p))
		return;
	if (api_app_load(s, req, &p, name, "sync", &cur) < 0)
		goto out;
	const char *phase = jx_path_str(cur, "status", "operationState", "phase", NULL);
	if (!phase || strcmp(phase, "Running")) {
		httpd_respond_error(req, 400, "no operation is in progress");
		goto out;
	}
	json_t *patch = json_pack("{s:{s:{s:s}}}", "status", "operationState", "phase", "Terminating");
	if ((rc = patch_app(s, name, "status", patch, NULL)) < 0) {
		api_respond_err(req, rc);
		goto out;
	}
	httpd_respond(req, 200, "application/json", "{}", 2);
out:
	json_decref(cur);
	principal_release(&p);
}
