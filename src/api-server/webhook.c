/* POST /api/webhook — Git push notifications from GitHub, GitLab and
 * Bitbucket Cloud. Refreshes (annotation berth.dev/refresh=normal) every
 * Application with a source whose normalised repository URL is the pushed
 * repository and whose target revision is the pushed branch or tag (HEAD
 * and "" match the default branch).
 *
 * Unauthenticated by design (Git hosts cannot log in), so: the body is
 * capped (--webhook-max-bytes), the signature is checked when a secret is
 * set in berth-secret (webhook.github.secret: X-Hub-Signature-256 HMAC;
 * webhook.gitlab.secret: X-Gitlab-Token; webhook.bitbucket.uuid:
 * X-Hook-UUID), every field is type-checked, and the worst a valid
 * payload can do is ask for a refresh. */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#include "err.h"
#include "jsonx.h"
#include "log.h"
#include "server.h"
#include "str.h"

#define MAX_URLS 8

struct push {
	const char *urls[MAX_URLS];
	size_t n_urls;
	char ref[512];               /* branch or tag name */
	const char *default_branch;
};

static bool github_signature_ok(const char *secret, const char *body, size_t len, const char *header)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	char hex[2 * EVP_MAX_MD_SIZE + 8];

	if (!header || !str_starts_with(header, "sha256="))
		return false;
	if (!HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)body, len, mac, &maclen))
		return false;
	for (unsigned i = 0; i < maclen; i++)
		snprintf(hex + 2 * i, 3, "%02x", mac[i]);
	header += 7;
	return str_secure_eq(hex, 2 * maclen, header, strlen(header));
}

static void add_url(struct push *p, const json_t *v)
{
	if (json_is_string(v) && p->n_urls < MAX_URLS && json_string_length(v) > 0)
		p->urls[p->n_urls++] = json_string_value(v);
}

/* "refs/heads/x" or "refs/tags/x" → "x". */
static void set_ref(struct push *p, const char *ref)
{
	if (str_starts_with(ref, "refs/heads/"))
		ref += 11;
	else if (str_starts_with(ref, "refs/tags/"))
		ref += 10;
	str_copy(p->ref, ref, sizeof(p->ref));
}

static int parse_github(const json_t *b, struct push *p)
{
	const json_t *repo = json_object_get(b, "repository");
	const char *ref = jx_str(b, "ref");

	if (!json_is_object(repo) || !ref)
		return err_set(BERR_INVALID, "push event: repository and ref are required");
	add_url(p, json_object_get(repo, "html_url"));
	add_url(p, json_object_get(repo, "clone_url"));
	add_url(p, json_object_get(repo, "ssh_url"));
	add_url(p, json_object_get(repo, "git_url"));
	p->default_branch = jx_str(repo, "default_branch");
	set_ref(p, ref);
	return 0;
}

static int parse_gitlab(const json_t *b, struct push *p)
{
	const json_t *proj = json_object_get(b, "project");
	const char *ref = jx_str(b, "ref");

	if (!json_is_object(proj) || !ref)
		return err_set(BERR_INVALID, "push event: project and ref are required");
	add_url(p, json_object_get(proj, "web_url"));
	add_url(p, json_object_get(proj, "git_http_url"));
	add_url(p, json_object_get(proj, "git_ssh_url"));
	p->default_branch = jx_str(proj, "default_branch");
	set_ref(p, ref);
	return 0;
}

static int parse_bitbucket(const json_t *b, struct push *p)
{
	const json_t *changes = jx_path(b, "push", "changes", NULL);
	const json_t *html = jx_path(b, "repository", "links", "html", "href", NULL);
	const char *name = NULL;

	if (!json_is_string(html) || !json_is_array(changes))
		return err_set(BERR_INVALID, "push event: repository.links.html.href and push.changes are required");
	add_url(p, html);
	if (json_array_size(changes) > 0)
		name = jx_path_str(json_array_get(changes, 0), "new", "name", NULL);
	if (!name)
		return err_set(BERR_INVALID, "push event: push.changes[0].new.name is required");
	p->default_branch = jx_path_str(b, "repository", "mainbranch", "name", NULL);
	set_ref(p, name);
	return 0;
}

static bool revision_matches(const char *target, const struct push *p)
{
	if (!target || !*target || !strcmp(target, "HEAD"))
		return p->default_branch && !strcmp(p->default_branch, p->ref);
	if (str_starts_with(target, "refs/heads/"))
		target += 11;
	else if (str_starts_with(target, "refs/tags/"))
		target += 10;
	return !strcmp(target, p->ref);
}

static bool app_matches(const json_t *app, const struct push *p)
{
	struct model_app a = {0};
	bool hit = false;

	if (model_app_parse(app, &a) < 0)
		return false;
	for (size_t i = 0; i < a.sources.n && !hit; i++) {
		const struct model_source *src = &a.sources.v[i];
		if (!src->repo_url || !revision_matches(src->target_revision, p))
			continue;
		for (size_t u = 0; u < p->n_urls && !hit; u++)
			hit = model_repo_url_equal(src->repo_url, p->urls[u]);
	}
	model_app_release(&a);
	return hit;
}

static int refresh_matching(struct api_server *s, const struct push *p, size_t *ret_n)
{
	struct kube_target t = {.api_version = MODEL_API_VERSION, .kind = MODEL_KIND_APP, .namespace_ = s->ns};
	json_t *list = NULL;
	size_t i, n = 0;
	json_t *app;
	int rc;

	if ((rc = kube_list(s->kc, &t, NULL, &list)) < 0)
		return rc;
	json_array_foreach(json_object_get(list, "items"), i, app) {
		if (!app_matches(app, p))
			continue;
		struct kube_target at = t;
		at.name = jx_path_str(app, "metadata", "name", NULL);
		json_t *patch = json_pack("{s:{s:{s:s}}}", "metadata", "annotations", "berth.dev/refresh", "normal");
		if (kube_patch(s->kc, &at, KUBE_PATCH_MERGE, patch, NULL, NULL) == 0)
			n++;
		json_decref(patch);
	}
	json_decref(list);
	*ret_n = n;
	return 0;
}

void api_webhook(struct httpd_req *req, void *ud)
{
	struct api_server *s = ud;
	struct settings *st = settings_get(s);
	const char *gh = httpd_req_header(req, "X-GitHub-Event"), *gl = httpd_req_header(req, "X-Gitlab-Event");
	const char *bb = httpd_req_header(req, "X-Event-Key");
	size_t len = 0;
	const char *body = httpd_req_body(req, &len);
	struct push p = {0};
	json_t *b = NULL;
	size_t n = 0;
	int rc;

	if (len > s->webhook_max_bytes) {
		httpd_respond_error(req, 413, "webhook body over %zu bytes", s->webhook_max_bytes);
		goto out;
	}
	if (gh) {
		const char *secret = settings_secret(st, "webhook.github.secret");
		if (secret && *secret &&
		    !github_signature_ok(secret, body, len, httpd_req_header(req, "X-Hub-Signature-256"))) {
			httpd_respond_error(req, 401, "webhook signature does not match");
			goto out;
		}
	} else if (gl) {
		const char *secret = settings_secret(st, "webhook.gitlab.secret");
		const char *tok = httpd_req_header(req, "X-Gitlab-Token");
		if (secret && *secret && (!tok || !str_secure_eq(secret, strlen(secret), tok, strlen(tok)))) {
			httpd_respond_error(req, 401, "webhook token does not match");
			goto out;
		}
	} else if (bb) {
		const char *uuid = settings_secret(st, "webhook.bitbucket.uuid");
		const char *hook = httpd_req_header(req, "X-Hook-UUID");
		if (uuid && *uuid && (!hook || !str_secure_eq(uuid, strlen(uuid), hook, strlen(hook)))) {
			httpd_respond_error(req, 401, "webhook UUID does not match");
			goto out;
		}
	} else {
		httpd_respond_error(req, 400, "unknown webhook (no X-GitHub-Event, X-Gitlab-Event or X-Event-Key)");
		goto out;
	}
	if ((gh && !strcmp(gh, "ping"))) {
		httpd_respond(req, 200, "application/json", "{}", 2);
		goto out;
	}
	if ((gh && strcmp(gh, "push")) || (gl && strcmp(gl, "Push Hook") && strcmp(gl, "Tag Push Hook")) ||
	    (bb && strcmp(bb, "repo:push"))) {
		httpd_respond(req, 200, "application/json", "{\"refreshed\":0}", 15);
		goto out;
	}
	if (jx_parse(body, len, len + 1, 64, &b) < 0 || !json_is_object(b)) {
		httpd_respond_error(req, 400, "webhook body: not a JSON object");
		goto out;
	}
	rc = gh ? parse_github(b, &p) : gl ? parse_gitlab(b, &p) : parse_bitbucket(b, &p);
	if (rc < 0) {
		httpd_respond_error(req, 400, "%s", err_msg());
		goto out;
	}
	if ((rc = refresh_matching(s, &p, &n)) < 0) {
		api_respond_err(req, rc);
		goto out;
	}
	log_info("webhook", "ref", p.ref, "refreshed", n ? "some" : "none", NULL);
	json_t *o = json_pack("{s:I}", "refreshed", (json_int_t)n);
	httpd_respond_json(req, 200, o);
	json_decref(o);
out:
	json_decref(b);
	settings_put(st);
}
