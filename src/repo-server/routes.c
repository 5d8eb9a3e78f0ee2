/* berth-repo-server: request plumbing and the small routes (resolve,
 * app-details, healthz, metrics). */
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fsx.h"
#include "jsonx.h"
#include "log.h"
#include "server.h"
#include "str.h"

static unsigned status_for(int code)
{
	switch (code) {
	case BERR_INVALID: return 400;
	case BERR_UNAUTHORIZED: return 401;
	case BERR_FORBIDDEN: return 403;
	case BERR_NOTFOUND: return 404;
	case BERR_TOOLARGE: return 413;
	case BERR_UNSUPPORTED: return 501;
	case BERR_UNAVAILABLE: return 503;
	case BERR_TIMEOUT: return 504;
	default: return 500;
	}
}

void repo_respond_error(struct httpd_req *req, int code)
{
	json_t *body = json_pack("{s:s, s:s}", "error", err_msg(), "reason", err_name(code));
	unsigned status = status_for(code);

	log_limited(LOG_LEVEL_WARN, "request failed", "path", httpd_req_path(req), "error", err_msg(), NULL);
	if (body)
		httpd_respond_json(req, status, body);
	else
		httpd_respond(req, 500, "text/plain", "out of memory\n", 14);
	json_decref(body);
}

int repo_creds_from_json(const json_t *repo, const char **ret_url, struct gitrepo_creds *ret)
{
	const char *url = jx_str(repo, "url");

	if (!json_is_object(repo) || !url || !*url)
		return err_set(BERR_INVALID, "request needs repo.url");
	*ret = (struct gitrepo_creds){
		.username = jx_str(repo, "username"),
		.password = jx_str(repo, "password"),
		.ssh_private_key = jx_str(repo, "sshPrivateKey"),
		.ssh_known_hosts = jx_str(repo, "sshKnownHosts"),
		.insecure = json_is_true(json_object_get(repo, "insecure")),
	};
	*ret_url = url;
	return 0;
}

int repo_checkout(struct repo_server *s, const char *url, const char *sha, char **ret_root)
{
	char *dir = NULL, resolved[4096];
	int rc;

	if ((rc = fsx_private_dir(s->work_dir, "co-", &dir)) < 0)
		return rc;
	if (!realpath(dir, resolved)) {
		rc = err_set(BERR_IO, "checkout folder vanished");
		goto fail;
	}
	if ((rc = gitrepo_export(s->git, url, sha, dir, NULL)) < 0)
		goto fail;
	free(dir);
	if (!(*ret_root = strdup(resolved)))
		return err_set(BERR_NOMEM, "out of memory");
	return 0;
fail:
	fsx_remove_tree(dir);
	free(dir);
	return rc;
}

/* Parses the body and the repository part shared by every POST route. */
static int parse_common(struct httpd_req *req, json_t **ret_body, const char **ret_url, struct gitrepo_creds *creds)
{
	json_t *body = NULL;
	int rc = httpd_req_json(req, &body);

	if (rc < 0)
		return rc;
	if (!json_is_object(body)) {
		json_decref(body);
		return err_set(BERR_INVALID, "request body must be a JSON object");
	}
	if ((rc = repo_creds_from_json(json_object_get(body, "repo"), ret_url, creds)) < 0) {
		json_decref(body);
		return rc;
	}
	*ret_body = body;
	return 0;
}

void repo_handle_resolve(struct httpd_req *req, void *ud)
{
	struct repo_server *s = ud;
	struct gitrepo_creds creds;
	json_t *body = NULL, *resp;
	const char *url;
	char sha[41];
	int rc;

	repo_metrics_count(&s->metrics, &s->metrics.requests[1], 1);
	if ((rc = parse_common(req, &body, &url, &creds)) < 0 ||
	    (rc = gitrepo_resolve(s->git, url, &creds, jx_str(body, "revision"),
				  json_is_true(json_object_get(body, "noCache")), sha)) < 0) {
		repo_metrics_count(&s->metrics, &s->metrics.requests[3], 1);
		repo_respond_error(req, rc);
		goto out;
	}
	resp = json_pack("{s:s}", "revision", sha);
	httpd_respond_json(req, 200, resp);
	json_decref(resp);
out:
	json_decref(body);
}

void repo_handle_app_details(struct httpd_req *req, void *ud)
{
	struct repo_server *s = ud;
	struct gitrepo_creds creds;
	json_t *body = NULL, *details = NULL;
	const char *url;
	char sha[41], *root = NULL;
	int rc;

	repo_metrics_count(&s->metrics, &s->metrics.requests[2], 1);
	if ((rc = parse_common(req, &body, &url, &creds)) < 0 ||
	    (rc = gitrepo_resolve(s->git, url, &creds, jx_str(body, "revision"), false, sha)) < 0 ||
	    (rc = repo_checkout(s, url, sha, &root)) < 0)
		goto fail;
	struct render_opts o = {.root = root,
				.path = jx_str(body, "path"),
				.app_name = jx_str(body, "appName"),
				.namespace = jx_str(body, "namespace"),
				.source = json_object_get(body, "source"),
				.tool_path = s->tool_path,
				.scratch_dir = s->work_dir,
				.exec_timeout_ms = s->exec_timeout_ms,
				.max_manifest_bytes = s->max_manifest_bytes};
	sem_wait(&s->render_slots);
	rc = render_app_details(&o, &details);
	sem_post(&s->render_slots);
	if (rc < 0)
		goto fail;
	httpd_respond_json(req, 200, details);
	goto out;
fail:
	repo_metrics_count(&s->metrics, &s->metrics.requests[3], 1);
	repo_respond_error(req, rc);
out:
	if (root) {
		fsx_remove_tree(root);
		free(root);
	}
	json_decref(details);
	json_decref(body);
}

void repo_handle_healthz(struct httpd_req *req, void *ud)
{
	(void)ud;
	httpd_respond(req, 200, "text/plain", "ok\n", 3);
}

void repo_handle_metrics(struct httpd_req *req, void *ud)
{
	char *text = repo_metrics_text(ud);
	if (!text) {
		httpd_respond(req, 500, "text/plain", "out of memory\n", 14);
		return;
	}
	httpd_respond(req, 200, "text/plain; version=0.0.4", text, strlen(text));
	free(text);
}
