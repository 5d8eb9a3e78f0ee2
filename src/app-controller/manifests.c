/* Desired state: the app's manifests from the repo server (DESIGN.md §9
 * POST /v1/manifests), with the repository's credentials from its Secret,
 * then prepared for comparing and applying: the destination namespace on
 * namespaced objects that have none, and Berth's tracking id. */
#include <stdlib.h>
#include <string.h>

#include <pthread.h>

#include "annot.h"
#include "clock.h"
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

static int post_json(struct ctl *c, const char *path, const json_t *req, json_t **ret)
{
	struct buf body, url;
	struct httpc_resp resp;
	int rc;

	buf_init(&body, MANIFESTS_MAX_BYTES);
	buf_init(&url, 4096);
	httpc_resp_init(&resp);
	if ((rc = jx_dump_compact(req, &body)) < 0 || (rc = buf_printf(&url, "%s%s", c->repo_server, path)) < 0)
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

/*
 * Answers remembered between reconciles (DESIGN.md §5: the controller is the
 * hot path, the repo server the slow one). Many apps share one repository
 * and revision, and a periodic refresh asks again for what it asked three
 * minutes before, so:
 *
 *  - revisions: (repository with its credentials, revision) → commit, for
 *    RESOLVE_TTL_MS. The repo server caches its ref listings for 3 minutes
 *    anyway; this only coalesces the thousands of apps that ask within a few
 *    seconds of each other into one request. The credentials are part of
 *    the key, so the repo server's access check (a listing with the
 *    caller's credentials) still ran for exactly these credentials.
 *  - manifests: the repo server's answer per request with the revision
 *    replaced by its commit. A "Directory" answer (plain YAML, no jsonnet
 *    settings) does not depend on the app's name or namespace, so it is
 *    shared by every app of the same repository, commit, path and source
 *    settings; other types are remembered per app. Bounded by
 *    MEMO_MAX_ENTRIES (then the oldest half is dropped).
 *
 * A hard refresh (no_cache) skips both and refreshes them. Answers are
 * immutable once remembered; callers get prepared deep copies.
 */
#define RESOLVE_TTL_MS 5000
#define MEMO_MAX_ENTRIES 20000
#define MEMO_MAX_OBJECTS 200000

static pthread_mutex_t memo_mu = PTHREAD_MUTEX_INITIALIZER;
static json_t *memo_revs;      /* key → {"sha", "at"} */
static json_t *memo_answers;   /* key → {"ans", "at"} */
static size_t memo_objects;    /* manifests held by memo_answers */

static int64_t now_ms(void)
{
	return clock_mono_ms();
}

/* Drops the older half of a memo map (by "at"). Caller holds memo_mu. */
static void memo_trim(json_t *map, bool answers)
{
	const char *k;
	json_t *v;
	void *tmp;
	int64_t sum = 0;
	size_t n = json_object_size(map);
	json_object_foreach(map, k, v)
		sum += json_integer_value(json_object_get(v, "at")) / (int64_t)(n ? n : 1);
	json_object_foreach_safe(map, tmp, k, v) {
		if (json_integer_value(json_object_get(v, "at")) > sum)
			continue;
		if (answers)
			memo_objects -= json_array_size(jx_path(v, "ans", "manifests", NULL));
		json_object_del(map, k);
	}
}

/* Hex SHA-256 of the canonical form of v into out; false on failure. */
static bool memo_key(const json_t *v, char out[65])
{
	if (jx_hash_hex(v, out) < 0) {
		err_clear();
		return false;
	}
	return true;
}

static bool memo_rev_get(const char *key, char out[41])
{
	bool hit = false;
	pthread_mutex_lock(&memo_mu);
	json_t *e = memo_revs ? json_object_get(memo_revs, key) : NULL;
	if (e && now_ms() - json_integer_value(json_object_get(e, "at")) < RESOLVE_TTL_MS &&
	    str_copy(out, jx_str(e, "sha") ? jx_str(e, "sha") : "", 41) == 40)
		hit = true;
	pthread_mutex_unlock(&memo_mu);
	return hit;
}

static void memo_rev_put(const char *key, const char *sha)
{
	pthread_mutex_lock(&memo_mu);
	if (!memo_revs)
		memo_revs = json_object();
	if (memo_revs) {
		if (json_object_size(memo_revs) >= MEMO_MAX_ENTRIES)
			memo_trim(memo_revs, false);
		json_object_set_new(memo_revs, key, json_pack("{s:s,s:I}", "sha", sha, "at", (json_int_t)now_ms()));
	}
	pthread_mutex_unlock(&memo_mu);
}

/* The remembered answer (new reference) or NULL. */
static json_t *memo_answer_get(const char *key)
{
	pthread_mutex_lock(&memo_mu);
	json_t *e = memo_answers ? json_object_get(memo_answers, key) : NULL;
	json_t *ans = e ? json_incref(json_object_get(e, "ans")) : NULL;
	pthread_mutex_unlock(&memo_mu);
	return ans;
}

static void memo_answer_put(const char *key, json_t *ans)
{
	size_t n = json_array_size(json_object_get(ans, "manifests"));
	if (n > MEMO_MAX_OBJECTS / 4)
		return; /* one huge app would evict everything else */
	pthread_mutex_lock(&memo_mu);
	if (!memo_answers)
		memo_answers = json_object();
	if (memo_answers) {
		json_t *old = json_object_get(memo_answers, key);
		if (old)
			memo_objects -= json_array_size(jx_path(old, "ans", "manifests", NULL));
		if (json_object_size(memo_answers) >= MEMO_MAX_ENTRIES || memo_objects + n > MEMO_MAX_OBJECTS)
			memo_trim(memo_answers, true);
		if (json_object_set_new(memo_answers, key, json_pack("{s:O,s:I}", "ans", ans, "at",
								     (json_int_t)now_ms())) == 0)
			memo_objects += n;
	}
	pthread_mutex_unlock(&memo_mu);
}

/* The memo key of the request's (repository, revision). */
static bool revision_key(const json_t *req, char key[65])
{
	const char *rev = jx_str(req, "revision");
	json_t *kv = json_pack("{s:O,s:s}", "repo", json_object_get(req, "repo"), "revision", rev ? rev : "");
	bool keyed = kv && memo_key(kv, key);
	json_decref(kv);
	return keyed;
}

/* The commit of the request's revision: from the memo, or asked (and
 * remembered). A 40-hex revision is its own commit. 0 or a BERR code. */
static int resolve_revision(struct ctl *c, const json_t *req, char out[41])
{
	const char *rev = jx_str(req, "revision");
	char key[65];
	bool keyed = revision_key(req, key);
	if (rev && strlen(rev) == 40 && strspn(rev, "0123456789abcdef") == 40) {
		str_copy(out, rev, 41);
		return 0;
	}
	if (keyed && memo_rev_get(key, out))
		return 0;
	json_t *rq = json_pack("{s:O,s:s}", "repo", json_object_get(req, "repo"), "revision", rev ? rev : "");
	json_t *ans = NULL;
	int rc = rq ? post_json(c, "/v1/resolve", rq, &ans) : err_set(BERR_NOMEM, "out of memory");
	json_decref(rq);
	if (rc < 0)
		return rc;
	const char *sha = jx_str(ans, "revision");
	if (!sha || strlen(sha) != 40)
		rc = err_set(BERR_INVALID, "repo server: resolve answered without a commit");
	else {
		str_copy(out, sha, 41);
		if (keyed)
			memo_rev_put(key, sha);
	}
	json_decref(ans);
	return rc;
}

/* Keys of a request for the memo: shared (Directory answers: without the
 * app's name and namespace) and per app. */
static bool answer_keys(const json_t *req, const char *sha, char shared[65], char own[65])
{
	json_t *k = json_copy((json_t *)req);
	bool ok = false;
	if (k) {
		json_object_set_new(k, "revision", json_string(sha));
		json_object_del(k, "noCache");
		ok = memo_key(k, own);
		json_object_del(k, "appName");
		json_object_del(k, "namespace");
		ok = ok && memo_key(k, shared);
	}
	json_decref(k);
	return ok;
}

static bool shareable(const json_t *req, const json_t *ans)
{
	return str_eq_null(jx_str(ans, "sourceType"), "Directory") &&
	       !jx_path(req, "source", "directory", "jsonnet", NULL) && !jx_path(req, "source", "plugin", NULL);
}

/* The repo server's answer for req: from the memo when the revision's
 * commit is known and was rendered before, else asked. New reference. */
static int fetch_manifests(struct ctl *c, json_t *req, bool no_cache, json_t **ret)
{
	char sha[41], shared[65], own[65], rev_key[65];
	bool keyed = false, rev_keyed = false;
	int rc;

	if (no_cache) {
		rev_keyed = revision_key(req, rev_key);
	} else {
		if ((rc = resolve_revision(c, req, sha)) < 0)
			return rc;
		keyed = answer_keys(req, sha, shared, own);
		json_t *ans = keyed ? memo_answer_get(own) : NULL;
		if (!ans && keyed)
			ans = memo_answer_get(shared);
		if (ans) {
			*ret = ans;
			return 0;
		}
		json_object_set_new(req, "revision", json_string(sha));
	}
	if ((rc = post_json(c, "/v1/manifests", req, ret)) < 0)
		return rc;
	if (!json_is_array(json_object_get(*ret, "manifests"))) {
		json_decref(*ret);
		*ret = NULL;
		return err_set(BERR_INVALID, "repo server: answer without manifests");
	}
	const char *got = jx_str(*ret, "revision");
	if (no_cache && got && strlen(got) == 40) {
		/* a hard refresh also refreshes what the revision means, so a
		 * sync right after it uses the same commit */
		if (rev_keyed)
			memo_rev_put(rev_key, got);
		keyed = answer_keys(req, got, shared, own);
	}
	if (keyed)
		memo_answer_put(shareable(req, *ret) ? shared : own, *ret);
	return 0;
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
		rc = fetch_manifests(c, req, no_cache, &ans);
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
			json_t *own = json_deep_copy(m);
			if (!own || (rc = prepare(cl, app, own)) < 0) {
				rc = own ? rc : err_set(BERR_NOMEM, "out of memory");
				json_decref(own);
				json_decref(ans);
				goto out;
			}
			json_array_append_new(objs, own);
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
