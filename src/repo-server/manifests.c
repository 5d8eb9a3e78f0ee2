/* berth-repo-server: POST /v1/manifests.
 *
 * resolve the revision (ls-remote answers are cached 3 minutes in memory)
 * → look the rendered result up in Redis under (repo URL, commit, hash of
 * path + app + namespace + source + tool versions) → on a miss, export the
 * commit into a private folder, render, remove the folder, store the
 * result for 24 h. A hit runs neither git nor a renderer. noCache skips the
 * lookup and the ls-remote cache (the result is still stored). With Redis
 * down every request renders. */
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "err.h"
#include "fsx.h"
#include "jsonx.h"
#include "log.h"
#include "server.h"
#include "str.h"

#define MAX_CACHED_BYTES ((size_t)256 << 20)

struct manifest_request {
	json_t *body;
	const char *url;
	struct gitrepo_creds creds;
	const char *path, *app_name, *ns;
	const json_t *source;
	bool no_cache;
	const char *kube_version;
	const char *api_versions[33];
};

static int parse_request(struct httpd_req *req, struct manifest_request *m)
{
	json_t *body = NULL, *v;
	size_t i;
	int rc;

	memset(m, 0, sizeof(*m));
	if ((rc = httpd_req_json(req, &body)) < 0)
		return rc;
	m->body = body;
	if (!json_is_object(body))
		return err_set(BERR_INVALID, "request body must be a JSON object");
	if ((rc = repo_creds_from_json(json_object_get(body, "repo"), &m->url, &m->creds)) < 0)
		return rc;
	m->path = jx_str(body, "path");
	m->app_name = jx_str(body, "appName");
	m->ns = jx_str(body, "namespace");
	m->source = json_object_get(body, "source");
	if (m->source && !json_is_object(m->source))
		return err_set(BERR_INVALID, "source must be an object");
	if (jx_str(m->source, "chart"))
		return err_set(BERR_UNSUPPORTED, "source.chart: Helm chart repositories are not supported; "
						 "point repoURL at a Git repository and path at the chart");
	m->no_cache = json_is_true(json_object_get(body, "noCache"));
	m->kube_version = jx_str(body, "kubeVersion");
	json_array_foreach(json_object_get(body, "apiVersions"), i, v) {
		if (i >= 32 || !json_is_string(v))
			return err_set(BERR_INVALID, "apiVersions: at most 32 strings");
		m->api_versions[i] = json_string_value(v);
	}
	return 0;
}

/* "manifests:<url hash>:<commit>:<settings hash>" */
static char *cache_key(const struct repo_server *s, const struct manifest_request *m, const char *sha)
{
	json_t *settings = json_pack("{s:s?, s:s?, s:s?, s:O?, s:s?, s:O?, s:s}", "path", m->path, "appName",
				     m->app_name, "namespace", m->ns, "source", m->source, "kubeVersion",
				     m->kube_version, "apiVersions", json_object_get(m->body, "apiVersions"), "tools",
				     s->tool_versions);
	json_t *url = json_string(m->url);
	char sh[65], uh[65];
	char *key = NULL;

	if (settings && url && jx_hash_hex(settings, sh) == 0 && jx_hash_hex(url, uh) == 0)
		key = str_printf("manifests:%.32s:%s:%s", uh, sha, sh);
	json_decref(settings);
	json_decref(url);
	return key;
}

/* The cached {"sourceType":...,"manifests":[...]} text, or false on a miss.
 * The entry is HMAC-verified by rcache, so it is what we stored: answering
 * splices it into the response instead of parsing it (the hit path stays
 * well under a millisecond even for large apps). */
static bool cache_lookup(struct repo_server *s, const char *key, struct buf *out)
{
	int rc = rcache_get(s->cache, key, out);
	bool hit = rc == 0 && out->len > 2 && out->ptr[0] == '{' && out->ptr[out->len - 1] == '}';

	repo_metrics_count(&s->metrics, hit ? &s->metrics.cache_hits : &s->metrics.cache_misses, 1);
	return hit;
}

static void respond_cached(struct httpd_req *req, const char *sha, const struct buf *cached)
{
	struct buf b;
	buf_init(&b, cached->len + 128);
	if (buf_printf(&b, "{\"revision\":\"%s\",\"cached\":true,", sha) == 0 &&
	    buf_append(&b, cached->ptr + 1, cached->len - 1) == 0)
		httpd_respond(req, 200, "application/json", b.ptr, b.len);
	else
		httpd_respond(req, 500, "text/plain", "out of memory\n", 14);
	buf_release(&b);
}

static void cache_store(struct repo_server *s, const char *key, const json_t *result)
{
	struct buf b;
	buf_init(&b, MAX_CACHED_BYTES);
	if (jx_dump_compact(result, &b) == 0)
		rcache_set(s->cache, key, b.ptr, b.len, MANIFEST_TTL_S); /* failure = no cache; logged once */
	buf_release(&b);
}

static int render_commit(struct repo_server *s, const struct manifest_request *m, const char *sha,
			 json_t **ret_result)
{
	struct render_counters counters = {0};
	enum render_type type;
	json_t *manifests = NULL;
	char *root = NULL;
	int64_t t0 = clock_mono_ms();
	int rc;

	sem_wait(&s->render_slots);
	if ((rc = repo_checkout(s, m->url, sha, &root)) == 0) {
		struct render_opts o = {.root = root,
					.path = m->path,
					.app_name = m->app_name,
					.namespace = m->ns,
					.source = m->source,
					.tool_path = s->tool_path,
					.scratch_dir = s->work_dir,
					.exec_timeout_ms = s->exec_timeout_ms,
					.max_manifest_bytes = s->max_manifest_bytes,
					.kube_version = m->kube_version,
					.api_versions = m->api_versions[0] ? m->api_versions : NULL};
		rc = render_run(&o, &type, &manifests, &counters);
		fsx_remove_tree(root);
		free(root);
	}
	sem_post(&s->render_slots);
	repo_metrics_count(&s->metrics, &s->metrics.tool_runs, counters.tool_runs);
	if (rc < 0) {
		repo_metrics_count(&s->metrics, &s->metrics.render_errors, 1);
		return rc;
	}
	pthread_mutex_lock(&s->metrics.mu);
	s->metrics.renders[type]++;
	s->metrics.render_count++;
	s->metrics.render_ms_sum += (uint64_t)(clock_mono_ms() - t0);
	pthread_mutex_unlock(&s->metrics.mu);
	*ret_result = json_pack("{s:s, s:o}", "sourceType", render_type_name(type), "manifests", manifests);
	return *ret_result ? 0 : err_set(BERR_NOMEM, "out of memory");
}

void repo_handle_manifests(struct httpd_req *req, void *ud)
{
	struct repo_server *s = ud;
	struct manifest_request m;
	json_t *result = NULL;
	char sha[41], *key = NULL;
	struct buf hit;
	int rc;

	buf_init(&hit, 0);

	repo_metrics_count(&s->metrics, &s->metrics.requests[0], 1);
	if ((rc = parse_request(req, &m)) < 0 ||
	    (rc = gitrepo_resolve(s->git, m.url, &m.creds, jx_str(m.body, "revision"), m.no_cache, sha)) < 0)
		goto fail;
	if (s->cache && !(key = cache_key(s, &m, sha))) {
		rc = err_set(BERR_NOMEM, "out of memory");
		goto fail;
	}
	if (key && !m.no_cache) {
		buf_init(&hit, MAX_CACHED_BYTES);
		if (cache_lookup(s, key, &hit)) {
			respond_cached(req, sha, &hit);
			goto out;
		}
	}
	if ((rc = render_commit(s, &m, sha, &result)) < 0)
		goto fail;
	if (key)
		cache_store(s, key, result);
	json_object_set_new(result, "revision", json_string(sha));
	json_object_set_new(result, "cached", json_false());
	httpd_respond_json(req, 200, result);
	goto out;
fail:
	repo_metrics_count(&s->metrics, &s->metrics.requests[3], 1);
	repo_respond_error(req, rc);
out:
	buf_release(&hit);
	free(key);
	json_decref(result);
	json_decref(m.body);
}
