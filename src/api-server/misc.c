/* Small endpoints (version, health, metrics) and the helpers handlers share
 * for errors and calls to the repo server. */
#include <string.h>

#include "err.h"
#include "jsonx.h"
#include "log.h"
#include "server.h"
#include "str.h"

void api_version(struct httpd_req *req, void *ud)
{
	(void)ud;
	json_t *o = json_pack("{s:s}", "Version", API_VERSION_STRING);
	httpd_respond_json(req, 200, o);
	json_decref(o);
}

void api_healthz(struct httpd_req *req, void *ud)
{
	struct api_server *s = ud;
	struct settings *st = settings_get(s);
	bool ok = st && st->key;

	settings_put(st);
	if (ok)
		httpd_respond(req, 200, "text/plain", "ok", 2);
	else
		httpd_respond(req, 503, "text/plain", "not ready", 9);
}

void api_metrics(struct httpd_req *req, void *ud)
{
	struct api_server *s = ud;
	struct httpd_stats hs;
	struct kube_metrics km;
	struct buf b;

	buf_init(&b, 1 << 20);
	httpd_get_stats(httpd_req_server(req), &hs);
	kube_client_metrics(s->kc, &km);
	httpd_stats_prometheus(&hs, "berth_api_server", &b);
	buf_printf(&b,
		   "# HELP berth_api_server_kube_requests_total Requests made to the Kubernetes API.\n"
		   "# TYPE berth_api_server_kube_requests_total counter\n"
		   "berth_api_server_kube_requests_total %llu\n"
		   "# HELP berth_api_server_kube_errors_total Kubernetes API requests that failed.\n"
		   "# TYPE berth_api_server_kube_errors_total counter\n"
		   "berth_api_server_kube_errors_total %llu\n"
		   "# HELP berth_api_server_redis_up Whether Redis answered the last command.\n"
		   "# TYPE berth_api_server_redis_up gauge\n"
		   "berth_api_server_redis_up %d\n",
		   (unsigned long long)km.requests, (unsigned long long)km.errors,
		   s->cache && rcache_up(s->cache) ? 1 : 0);
	httpd_respond(req, 200, "text/plain; version=0.0.4", b.ptr, b.len);
	buf_release(&b);
}

unsigned api_http_status(int rc)
{
	switch (rc) {
	case BERR_INVALID: return 400;
	case BERR_UNAUTHORIZED: return 401;
	case BERR_FORBIDDEN: return 403;
	case BERR_NOTFOUND: return 404;
	case BERR_EXISTS:
	case BERR_CONFLICT: return 409;
	case BERR_TOOLARGE: return 413;
	case BERR_UNSUPPORTED: return 415;
	case BERR_UNAVAILABLE: return 503;
	case BERR_TIMEOUT: return 504;
	default: return 500;
	}
}

void api_respond_err(struct httpd_req *req, int rc)
{
	unsigned code = api_http_status(rc);

	if (code >= 500)
		log_warn("request failed", "path", httpd_req_path(req), "error", err_msg(), NULL);
	httpd_respond_error(req, code, "%s", err_msg());
}

int api_repo_server_call(struct api_server *s, const char *path, const json_t *body, json_t **ret)
{
	struct httpc_resp resp;
	struct buf b;
	char *url = NULL;
	int rc;

	if (!s->repo_server || !s->hc)
		return err_set(BERR_UNAVAILABLE, "no repo server configured (--repo-server)");
	buf_init(&b, 8u << 20);
	httpc_resp_init(&resp);
	if ((rc = jx_dump_compact(body, &b)) < 0)
		goto out;
	url = str_printf("%s%s", s->repo_server, path);
	struct httpc_req r = {.method = "POST", .url = url, .body = b.ptr, .body_len = b.len,
			      .content_type = "application/json", .retry_unsafe = true};
	if ((rc = httpc_request(s->hc, &r, &resp)) < 0)
		goto out;
	json_t *v = NULL;
	if (jx_parse(resp.body.ptr, resp.body.len, resp.body.len + 1, 64, &v) < 0) {
		rc = err_set(BERR_UNAVAILABLE, "repo server: answer is not JSON (HTTP %ld)", resp.status);
		goto out;
	}
	if (resp.status >= 400) {
		const char *e = jx_str(v, "error");
		/* The repo server's errors never carry credentials (it redacts
		 * URLs); pass its message on. */
		rc = err_set(resp.status >= 500 ? BERR_UNAVAILABLE : BERR_INVALID, "repo server: %s",
			     e ? e : "error");
		json_decref(v);
		goto out;
	}
	*ret = v;
out:
	free(url);
	buf_release(&b);
	httpc_resp_release(&resp);
	return rc;
}
